"""Seed corpora for the fuzz targets, generated from the test data builders (curation.demo.warc, the project's
manifests) instead of committed binaries: `python tests/fuzz/seeds.py OUT` writes OUT/<target>/seed-*."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(Path(__file__).parent)]

DATE = "2024-03-01T12:00:00Z"


def _warc_seeds() -> list[bytes]:
    from curation.demo import warc as warcgen

    seeds = []

    def plain(build) -> bytes:
        buf = io.BytesIO()
        w = warcgen.WarcWriter(buf, seed=len(seeds))
        w.member = lambda record: record  # plain records: the target picks the compression
        build(w)
        return buf.getvalue()

    def good(w, i):
        w.response(f"https://good.example/{i}", warcgen.simple_html(f"Good {i}", [f"Page {i} is good."] * 2).encode(),
                   DATE)

    seeds.append(plain(lambda w: [w.warcinfo("a.warc", DATE, {"isPartOf": "CC-MAIN-2024-10"}), good(w, 0),
                                  w.request("https://good.example/1", DATE), good(w, 1),
                                  w.metadata("https://good.example/1", DATE)]))
    for kind in warcgen.ODD_BODY_KINDS:
        body, charset, ctype = warcgen.odd_body(kind, "Odd", ["Text of an odd page."])
        seeds.append(plain(lambda w, b=body, c=ctype, ch=charset: w.response(
            f"https://odd.example/{kind}", b, DATE, content_type=c, charset=ch)))
    seeds.append(plain(lambda w: w.conversion("https://wet.example/", "Plain text of a page.\nLine two.", DATE)))
    seeds.append(plain(lambda w: warcgen.write_broken_samples(w, DATE, include_huge=False)))
    # mode byte: 0 plain WARC, 1 gzip per record, 2 one gzip stream; +4 read as WET
    return [bytes([mode]) + s for s in seeds for mode in (0, 1, 2, 4)]


def _payload_seeds() -> list[bytes]:
    return [bytes([i % 256] * 12) + b"<html><head><meta charset=windows-1251></head><body><p>\xcf\xf0\xe8\xe2\xe5\xf2"
            b"</p></body></html>" for i in range(0, 200, 17)] + \
           [b"\x00" * 12 + "<p>Grüße \x0b\x0c\x1b aus Köln</p>".encode()]


def _html_seeds() -> list[bytes]:
    from curation.demo import warc as warcgen

    pages = [warcgen.simple_html("A page", ["All human beings are born free."] * 3).encode(),
             b"<html><body><p>VT\x0b FF\x0c ESC\x1b[0m text</p></body></html>",
             "<meta charset=shift_jis><p>日本語のページ</p>".encode("shift_jis"),
             b"\xef\xbb\xbf<p>BOM page</p>", "<p>UTF-16 page</p>".encode("utf-16"),
             warcgen.invalid_utf8_html("<p>broken \u00e9 bytes</p>")]
    return pages + [b"\x01" + p for p in pages]


def _jsonl_seeds() -> list[bytes]:
    rows = [json.dumps({"id": f"r{i}", "text": f"Record {i}: all human beings are born free.", "language": "eng_Latn",
                        "language_score": 0.9, "metadata": {"k": i}}) for i in range(3)]
    plain = "\n".join(rows).encode()
    odd = [b"\xef\xbb\xbf" + "\r\n".join(rows).encode() + b"\r\n",
           b'{"text": "lone \\ud800 surrogate"}\n{"text": "big int", "n": 123456789012345678901234567890}\n',
           b'{"text": "ok"}\nnot json\n[1,2]\n{"text": 5}\n{"text": "\\u0000nul"}\n']
    return [bytes([m]) + s for s in [plain, *odd] for m in range(4)]


def _parquet_seeds() -> list[bytes]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    out = [bytes([0]) + bytes(range(1, 200))]  # structured mode: the provider's choices
    tables = [pa.table({"id": ["a", "b"], "text": ["first document", "second document"]}),
              pa.table({"text": pa.array([b"bytes text", b"\xff\xfe bad"], pa.binary())}),
              pa.table({"text": pa.array(["large"], pa.large_string()),
                        "metadata": pa.array([{"a": "x"}], pa.struct([("a", pa.string())]))})]
    for t, comp in zip(tables, ("zstd", "snappy", "gzip")):
        buf = io.BytesIO()
        pq.write_table(t, buf, compression=comp)
        out.append(bytes([1]) + buf.getvalue())
    return out


def _manifest_seeds() -> list[bytes]:
    seeds = [p.read_bytes() for p in sorted((ROOT / "manifests").rglob("*.yml"))]
    seeds += [b"a: " + b"[" * 100 + b"]" * 100, b"a: &a [1, *a]\n", b"", b"input: 5\noutput: [1]\nstages: {a: b}\n",
              b"input: {paths: [x]}\noutput: y\nstages:\n  - stage: 'os:system'\n"]
    return seeds


def _dedup_seeds() -> list[bytes]:
    return [bytes([(i * 37 + k) % 256 for k in range(300)]) for i in range(8)]


SEEDS = {"warc": _warc_seeds, "http_payload": _payload_seeds, "html": _html_seeds, "jsonl": _jsonl_seeds,
         "parquet": _parquet_seeds, "manifest": _manifest_seeds, "dedup_filter": _dedup_seeds}


def write_seeds(out: Path, targets=None) -> dict[str, int]:
    counts = {}
    for name in targets or SEEDS:
        folder = out / name
        folder.mkdir(parents=True, exist_ok=True)
        seeds = SEEDS[name]()
        for i, seed in enumerate(seeds):
            (folder / f"seed-{i:03d}").write_bytes(seed)
        counts[name] = len(seeds)
    return counts


if __name__ == "__main__":
    target_dir = Path(sys.argv[1] if len(sys.argv) > 1 else "build/fuzz/corpus")
    print(write_seeds(target_dir, sys.argv[2:] or None))
