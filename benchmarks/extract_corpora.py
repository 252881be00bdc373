"""Real pages with ground truth for the extraction benchmarks: WCXB and the Article Extraction Benchmark.

Neither corpus ships with this project (licences, size); the benchmarks take their folders as arguments:

- WCXB (Web Content eXtraction Benchmark, CC-BY-4.0): https://github.com/Murrough-Foley/web-content-extraction-benchmark
  `git clone` it; the folder holds `dev/` and `test/` (each `html/*.html.gz` and `ground-truth/*.json`).
  2,008 English pages of 7 page types, human-reviewed main text plus must-include (`with`) and must-exclude
  (`without`) snippets. Tune on `dev`, report on `test`.
- Article Extraction Benchmark (scrapinghub, MIT): https://github.com/scrapinghub/article-extraction-benchmark
  `html/*.html.gz` and `ground-truth.json` (181 news articles, `articleBody` only, no snippets).

`build_warc` writes the pages as a gzip-per-record WARC (warcinfo + one HTTP response record each), so the
pipeline benchmark can read real pages the way it reads a crawl.
"""

from __future__ import annotations

import gzip
import io
import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Page:
    id: str  # "wcxb-test/4011", "aeb/042bb7..."
    corpus: str  # "wcxb-dev", "wcxb-test", "aeb"
    page_type: str
    url: str
    html: bytes  # the page as stored (all pages of both corpora are UTF-8)
    main: str  # the reference main text
    with_: list[str] = field(default_factory=list)  # must-include snippets
    without: list[str] = field(default_factory=list)  # must-exclude snippets


def _page_type(data: dict) -> str:
    pt = (data.get("_internal") or {}).get("page_type", "article")
    pt = pt.get("primary", "article") if isinstance(pt, dict) else (pt if isinstance(pt, str) else "article")
    return "collection" if pt == "category" else pt  # as WCXB's evaluate.py


def load_wcxb(root: str | Path, split: str, limit: int = -1) -> list[Page]:
    root = Path(root)
    gt_dir, html_dir = root / split / "ground-truth", root / split / "html"
    if not gt_dir.is_dir() or not html_dir.is_dir():
        raise SystemExit(f"{root}: no {split}/ground-truth and {split}/html folders; is this a WCXB checkout?")
    pages = []
    for f in sorted(gt_dir.glob("*.json")):
        if 0 <= limit <= len(pages):
            break
        data = json.loads(f.read_text())
        gt = data.get("ground_truth")
        html_path = html_dir / f"{f.stem}.html.gz"
        if not isinstance(gt, dict) or not html_path.exists():
            continue
        pages.append(Page(id=f"wcxb-{split}/{f.stem}", corpus=f"wcxb-{split}", page_type=_page_type(data),
                          url=data.get("url") or f"https://wcxb.invalid/{f.stem}",
                          html=gzip.decompress(html_path.read_bytes()), main=gt.get("main_content") or "",
                          with_=list(gt.get("with") or []), without=list(gt.get("without") or [])))
    return pages


def load_aeb(root: str | Path, limit: int = -1) -> list[Page]:
    """The pages whose HTML is present (a partial checkout may lack some; they are counted by the caller)."""
    root = Path(root)
    truth_file = root / "ground-truth.json"
    if not truth_file.exists():
        raise SystemExit(f"{root}: no ground-truth.json; is this an article-extraction-benchmark checkout?")
    truth = json.loads(truth_file.read_text())
    pages = []
    for key in sorted(truth):
        if 0 <= limit <= len(pages):
            break
        html_path = root / "html" / f"{key}.html.gz"
        if not html_path.exists():
            continue
        item = truth[key]
        pages.append(Page(id=f"aeb/{key}", corpus="aeb", page_type="article", url=item.get("url") or "",
                          html=gzip.decompress(html_path.read_bytes()), main=item.get("articleBody") or ""))
    return pages


def http_response(html: bytes, charset: str | None = None) -> bytes:
    """The HTTP response block a crawler would have stored for the page (by default no charset: the reader
    decodes)."""
    ctype = f"text/html; charset={charset}" if charset else "text/html"
    head = (f"HTTP/1.1 200 OK\r\nContent-Type: {ctype}\r\n"
            + f"Content-Length: {len(html)}\r\n\r\n").encode()
    return head + html


def warc_headers(page: Page) -> dict:
    """The WARC headers of the page's response record, as our reader's `record_to_doc` receives them."""
    return {"warc-type": "response", "warc-target-uri": page.url,
            "warc-record-id": f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, page.id)}",
            "warc-date": "2026-01-01T00:00:00Z"}


def _record(headers: list[tuple[str, str]], block: bytes) -> bytes:
    out = io.BytesIO()
    out.write(b"WARC/1.0\r\n")
    for k, v in headers + [("Content-Length", str(len(block)))]:
        out.write(f"{k}: {v}\r\n".encode())
    out.write(b"\r\n" + block + b"\r\n\r\n")
    return gzip.compress(out.getvalue(), compresslevel=6, mtime=0)


def build_warc(pages: list[Page], dest: str | Path) -> int:
    """Write `pages` as a gzip-per-record WARC at `dest`; returns the number of response records."""
    info = b"software: curation benchmarks/extract_corpora.py\r\nisPartOf: real-pages\r\n"
    with open(dest, "wb") as f:
        f.write(_record([("WARC-Type", "warcinfo"), ("WARC-Date", "2026-01-01T00:00:00Z"),
                         ("WARC-Record-ID", f"<urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, 'warcinfo')}>"),
                         ("Content-Type", "application/warc-fields")], info))
        for page in pages:
            h = warc_headers(page)
            # Common Crawl's records carry the identified payload type; without it datatrove's reader asks
            # libmagic, which calls 106 of these 692 pages something other than HTML and drops them
            f.write(_record([("WARC-Type", "response"), ("WARC-Target-URI", h["warc-target-uri"]),
                             ("WARC-Date", h["warc-date"]), ("WARC-Record-ID", f"<{h['warc-record-id']}>"),
                             ("Content-Type", "application/http; msgtype=response"),
                             ("WARC-Identified-Payload-Type", "text/html")], http_response(page.html)))
    return len(pages)
