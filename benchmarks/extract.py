"""Benchmark: HTML -> main text on real pages with ground truth, every engine in one run, on one core.

    nice -n 10 .venv/bin/python benchmarks/extract.py --wcxb PATH/web-content-extraction-benchmark \\
        --aeb PATH/article-extraction-benchmark                       # WCXB test + AEB, all engines (~3 min)
    ... --split dev                                                    # the split the hybrid engine was tuned on
    ... --engines trafilatura,ours:trafilatura --limit 100 --json out.json --save outputs/

Corpora (not shipped; see benchmarks/extract_corpora.py for where to get them): WCXB's `test` split (or `dev`)
and the Article Extraction Benchmark's pages whose HTML is present.

Engines (`--engines`, comma-separated; default all):
- `trafilatura`: trafilatura called directly with FineWeb2's settings, i.e. datatrove's `Trafilatura` step
  (`extract(html, favor_precision=True, include_comments=False, deduplicate=True)`), on the page as a string.
- `resiliparse`: resiliparse called directly: `extract_plain_text(HTMLTree.parse(html), main_content=True)`.
- `ours:trafilatura`, `ours:resiliparse`, `ours:hybrid`, `ours:hybrid+cascade` (`cascade: true`): our `extract`
  stage. Each page goes the way it goes in
  `curate run`: an HTTP response record through our WARC reader's `record_to_doc` (decoding included, not
  timed), then `Extract.filter` (timed: the stage's per-page timeout, size check and extraction).

Scoring, per corpus and per page type:
- snippets (WCXB, as trafilatura's own evaluation scores them): over all pages, a must-include snippet found in
  the output is a true positive, one missing a false negative; a must-exclude snippet found is a false positive.
  Precision = TP/(TP+FP), recall = TP/(TP+FN), F1 their harmonic mean. Matching is case-insensitive on
  whitespace-collapsed text (WCXB's evaluate.py lower-cases). A page with no output scores all its
  must-include snippets as missed.
- word F1 (WCXB's evaluate.py `word_f1`: bag of lower-cased `\\w+` words against the reference main text, the
  mean over pages); the only score on AEB, which has no snippets.
- ms per page: the extraction call alone, in CPU seconds of the process (`time.process_time`; wall seconds
  beside them), the process pinned to one CPU. Engines run page by page in turn, so machine load hits all
  alike; on a shared machine wall seconds also count the waits for a core, CPU seconds do not.
  trafilatura's cross-page paragraph cache (`deduplicate=True`) is emptied before every page for both
  trafilatura engines (outside the clock): the pages are unrelated and each engine must see the same state.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for p in (ROOT, ROOT / "benchmarks"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

from extract_corpora import Page, http_response, load_aeb, load_wcxb, warc_headers  # noqa: E402

ENGINES = ("trafilatura", "resiliparse", "ours:trafilatura", "ours:resiliparse", "ours:hybrid",
           "ours:hybrid+cascade")
TYPE_ORDER = ("article", "forum", "product", "collection", "listing", "documentation", "service")
_WS = re.compile(r"\s+")
_WORD = re.compile(r"\w+")


# ------------------------------------------------------------------------------------------ scoring


def norm(text: str) -> str:
    return _WS.sub(" ", text).strip().lower()


def snippet_counts(output: str | None, page: Page) -> tuple[int, int, int, int]:
    """(TP, FN, FP, TN) of the page's must-include / must-exclude snippets in `output`."""
    text = norm(output or "")
    found_with = sum(1 for s in page.with_ if norm(s) in text) if text else 0
    found_without = sum(1 for s in page.without if norm(s) in text) if text else 0
    return found_with, len(page.with_) - found_with, found_without, len(page.without) - found_without


def word_prf(predicted: str | None, reference: str) -> tuple[float, float, float]:
    """WCXB evaluate.py's word_f1."""
    pred, ref = Counter(_WORD.findall((predicted or "").lower())), Counter(_WORD.findall(reference.lower()))
    if not ref:
        return (1.0, 1.0, 1.0) if not pred else (0.0, 0.0, 0.0)
    if not pred:
        return 0.0, 0.0, 0.0
    overlap = sum((pred & ref).values())
    p, r = overlap / sum(pred.values()), overlap / sum(ref.values())
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def prf(tp: int, fn: int, fp: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def summarize(rows: list[dict]) -> dict:
    """Rows of one engine on a set of pages -> snippet P/R/F1, word P/R/F1, ms/page, pages without output."""
    tp, fn, fp, tn = (sum(r["counts"][i] for r in rows) for i in range(4))
    p, r, f = prf(tp, fn, fp)
    n = len(rows) or 1
    return {"pages": len(rows), "snippet_p": p, "snippet_r": r, "snippet_f1": f, "tp": tp, "fn": fn, "fp": fp,
            "tn": tn, "word_p": sum(x["word"][0] for x in rows) / n, "word_r": sum(x["word"][1] for x in rows) / n,
            "word_f1": sum(x["word"][2] for x in rows) / n, "ms": 1000 * sum(x["cpu"] for x in rows) / n,
            "ms_wall": 1000 * sum(x["s"] for x in rows) / n,
            "no_output": sum(1 for x in rows if not x["ok"])}


# ------------------------------------------------------------------------------------------ engines


class Clock:
    """Wall and CPU seconds of one call. On a shared machine the CPU seconds are the figure to compare: wall
    seconds include the time the process waited for a core."""

    def __enter__(self):
        self.w, self.c = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall, self.cpu = time.perf_counter() - self.w, time.process_time() - self.c


def make_engines(names: list[str], http_charset: str | None = None) -> dict:
    """name -> callable(page) -> (text or None, reason, (wall s, CPU s)). Setup happens outside the clock."""
    from trafilatura import extract as traf_extract
    from trafilatura.meta import reset_caches

    from curation.io.extract import Extract
    from curation.io.readers import WarcReader

    reader = WarcReader(paths=[])
    engines = {}

    def as_str(page: Page) -> str:
        return page.html.decode("utf-8", "replace")

    def direct_trafilatura(page: Page):
        html = as_str(page)
        reset_caches()
        with Clock() as c:
            text = traf_extract(html, favor_precision=True, include_comments=False, deduplicate=True)
        return text, None if text else "no_text", (c.wall, c.cpu)

    def direct_resiliparse(page: Page):
        from resiliparse.extract.html2text import extract_plain_text
        from resiliparse.parse.html import HTMLTree

        html = as_str(page)
        with Clock() as c:
            text = extract_plain_text(HTMLTree.parse(html), main_content=True)
        return text, None if text.strip() else "no_text", (c.wall, c.cpu)

    def ours(engine: str):
        stage = Extract(engine="hybrid", cascade=True) if engine == "hybrid+cascade" else Extract(engine=engine)

        def run(page: Page):
            doc = reader.record_to_doc(warc_headers(page), http_response(page.html, http_charset), "bench.warc.gz")
            if doc is None:
                return None, "reader_skipped", (0.0, 0.0)
            if engine != "resiliparse":  # the hybrid engine calls trafilatura for some pages
                reset_caches()
            with Clock() as c:
                result = stage.filter(doc)
            return (doc.text, None, (c.wall, c.cpu)) if result is True else (None, str(result), (c.wall, c.cpu))

        return run

    for name in names:
        if name == "trafilatura":
            engines[name] = direct_trafilatura
        elif name == "resiliparse":
            engines[name] = direct_resiliparse
        elif name.startswith("ours:") and name[5:] in ("trafilatura", "resiliparse", "hybrid", "hybrid+cascade"):
            engines[name] = ours(name[5:])
        else:
            raise SystemExit(f"--engines: unknown engine '{name}' (known: {', '.join(ENGINES)})")
    return engines


def warm_up(engines: dict, pages: list[Page]) -> None:
    """First calls load modules, models and caches; not part of any measurement."""
    for fn in engines.values():
        for page in pages[:2]:
            fn(page)


# ------------------------------------------------------------------------------------------ run + report


def run(pages: list[Page], engines: dict, progress: bool = True) -> dict[str, list[dict]]:
    rows: dict[str, list[dict]] = {name: [] for name in engines}
    t0 = time.perf_counter()
    for i, page in enumerate(pages):
        for name, fn in engines.items():
            text, reason, s = fn(page)
            rows[name].append({"id": page.id, "type": page.page_type, "corpus": page.corpus, "ok": bool(text),
                               "reason": reason, "s": s[0], "cpu": s[1], "counts": snippet_counts(text, page),
                               "word": word_prf(text, page.main), "text": text})
        if progress and (i + 1) % 50 == 0:
            el = time.perf_counter() - t0
            print(f"  {i + 1}/{len(pages)} pages, {el:.0f} s, ~{el / (i + 1) * (len(pages) - i - 1):.0f} s left",
                  file=sys.stderr, flush=True)
    return rows


def fmt_row(name: str, s: dict, base_ms: float | None, snippets: bool) -> str:
    speed = f"{base_ms / s['ms']:.1f}x" if base_ms and s["ms"] else "-"
    snip = (f"{s['snippet_f1']:.3f} | {s['snippet_p']:.3f} / {s['snippet_r']:.3f} | "
            if snippets else "")
    return (f"| {name} | {s['pages']} | {snip}{s['word_f1']:.3f} | {s['ms']:.2f} | {s['ms_wall']:.2f} | {speed} | "
            f"{s['no_output']} |")


def report(corpus: str, pages: list[Page], rows: dict[str, list[dict]], out: dict) -> None:
    names = list(rows)
    snippets = any(p.with_ or p.without for p in pages)
    summ = {n: summarize(rows[n]) for n in names}
    base = summ.get("trafilatura", {}).get("ms")
    head = "| engine | pages | " + ("snippet F1 | P / R | " if snippets else "") + \
        "word F1 | CPU ms/page | wall ms/page | speed vs trafilatura (CPU) | no output |"
    print(f"\n### {corpus}: {len(pages)} pages\n\n{head}\n|" + "---|" * (head.count("|") - 1))
    for n in names:
        print(fmt_row(n, summ[n], base, snippets))
    out[corpus] = {"summary": summ, "per_type": {}}
    types = [t for t in TYPE_ORDER if any(p.page_type == t for p in pages)]
    if snippets and len(types) > 1:
        print(f"\n{corpus}, snippet F1 (P / R) per page type; in brackets: must-include missed, must-exclude kept\n")
        print("| type | pages | " + " | ".join(names) + " |\n|" + "---|" * (len(names) + 2))
        for t in types:
            cells = []
            for n in names:
                s = summarize([r for r in rows[n] if r["type"] == t])
                out[corpus]["per_type"].setdefault(t, {})[n] = s
                cells.append(f"{s['snippet_f1']:.3f} ({s['snippet_p']:.2f} / {s['snippet_r']:.2f}) "
                             f"[{s['fn']}, {s['fp']}]")
            print(f"| {t} | {sum(p.page_type == t for p in pages)} | " + " | ".join(cells) + " |")
    # ours vs the direct call on the same pages
    for engine in ("trafilatura", "resiliparse"):
        a, b = rows.get(engine), rows.get(f"ours:{engine}")
        if not a or not b:
            continue
        differ = [(x, y) for x, y in zip(a, b) if norm(x["text"] or "") != norm(y["text"] or "")]
        lost = [(x, y) for x, y in zip(a, b) if x["ok"] and not y["ok"]]
        dsn = sum(x["counts"][0] - y["counts"][0] for x, y in zip(a, b))
        print(f"\nours:{engine} vs {engine} called directly: {len(differ)} of {len(a)} pages with different "
              f"text (whitespace aside), {len(lost)} pages with output only from the direct call, "
              f"{dsn:+d} must-include snippets found by the direct call and not by ours")
        for x, y in differ[:8]:
            print(f"  {x['id']}: direct {len(x['text'] or '')} chars, ours {len(y['text'] or '')} chars"
                  + (f" (ours: {y['reason']})" if y["reason"] else "")
                  + f", must-include found {x['counts'][0]} vs {y['counts'][0]}")
        out[corpus][f"ours_vs_direct_{engine}"] = {"pages_differ": len(differ), "pages_lost": len(lost),
                                                   "snippets_lost": dsn,
                                                   "differ": [x["id"] for x, _ in differ]}
    reasons = {n: Counter(r["reason"] for r in rows[n] if r["reason"]) for n in names}
    print("\npages without output, by reason: " + "; ".join(
        f"{n}: {dict(c) if c else 0}" for n, c in reasons.items()))


def machine() -> dict:
    cpu = "?"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    from importlib.metadata import version

    return {"nproc": os.cpu_count(), "cpu": cpu, "python": platform.python_version(),
            "versions": {p: version(p) for p in ("trafilatura", "resiliparse", "lxml", "datatrove")},
            "load": " ".join(Path("/proc/loadavg").read_text().split()[:3])}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--wcxb", help="folder of a WCXB checkout (with dev/ and test/)")
    ap.add_argument("--split", default="test", choices=["dev", "test"], help="WCXB split (default test; dev is "
                    "what the hybrid engine was tuned on)")
    ap.add_argument("--aeb", help="folder of an article-extraction-benchmark checkout (html/, ground-truth.json)")
    ap.add_argument("--engines", default=",".join(ENGINES), help="comma-separated, from: " + ", ".join(ENGINES))
    ap.add_argument("--limit", type=int, default=-1, help="only the first N pages of each corpus")
    ap.add_argument("--cpu", type=int, default=0, help="the one CPU to pin the process to (default 0)")
    ap.add_argument("--http-charset", help="the charset the HTTP header declares for every page in the ours:* "
                    "engines (default none). ISO-8859-1 checks the common lie: UTF-8 pages labelled Latin-1")
    ap.add_argument("--json", help="write all numbers (and per-page rows) to this file")
    ap.add_argument("--save", help="folder: write each engine's outputs as {page id: text} JSON per corpus "
                    "(the format WCXB's evaluate.py --results reads, ids without the corpus prefix)")
    args = ap.parse_args(argv)
    if not args.wcxb and not args.aeb:
        ap.error("give --wcxb and/or --aeb (the corpus folders; see benchmarks/extract_corpora.py)")
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.cpu})
    corpora = {}
    if args.wcxb:
        corpora[f"WCXB {args.split}"] = load_wcxb(args.wcxb, args.split, args.limit)
    if args.aeb:
        pages = load_aeb(args.aeb, args.limit)
        n_truth = len(json.loads((Path(args.aeb) / "ground-truth.json").read_text()))
        print(f"AEB: {len(pages)} of {n_truth} ground-truth pages have their HTML here", file=sys.stderr)
        corpora["AEB"] = pages
    engines = make_engines([n.strip() for n in args.engines.split(",") if n.strip()], args.http_charset)
    warm_up(engines, next(iter(corpora.values())))
    info = machine()
    print(f"machine: {info['nproc']} CPUs ({info['cpu']}), pinned to CPU {args.cpu}; python {info['python']}; "
          + ", ".join(f"{k} {v}" for k, v in info["versions"].items()) + f"; load before: {info['load']}")
    out: dict = {"machine": info, "corpora": {}}
    for corpus, pages in corpora.items():
        print(f"{corpus}: {len(pages)} pages", file=sys.stderr)
        rows = run(pages, engines)
        report(corpus, pages, rows, out["corpora"])
        out["corpora"][corpus]["rows"] = {n: [{k: v for k, v in r.items() if k != "text"} for r in rs]
                                          for n, rs in rows.items()}
        if args.save:
            folder = Path(args.save)
            folder.mkdir(parents=True, exist_ok=True)
            for n, rs in rows.items():
                name = f"{corpus.replace(' ', '-').lower()}.{n.replace(':', '-')}.json"
                (folder / name).write_text(json.dumps({r["id"].split("/", 1)[1]: r["text"] or "" for r in rs},
                                                      ensure_ascii=False))
    print(f"\nload after: {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1, default=str))
    return out


if __name__ == "__main__":
    main()
