"""What `curate crawl sync` costs on top of the pipeline, and what the ledger costs at Common Crawl's scale.

1. Ledger at scale: a 90,000-entry warc.paths.gz (a full snapshot's worth of WARC files) read and recorded,
   the to-do query, batch transitions (start + finish, one transaction each) and the status summary.
2. Sync vs run: the demo crawl cut into N WARC files in a local mirror (one snapshot), processed by
   `curate crawl sync` with one file per batch and with every file in one batch, against `curate run` over the
   same files in one run (the peer: the pipeline without ledger, lock and per-batch runs). Same manifest
   (extract with resiliparse, langid, MinHash dedup, write), same process, one after the other.
   The one-batch sync must write exactly the documents the plain run writes.

    .venv/bin/python benchmarks/crawl.py                 # ~2 min on a 2-core machine
    .venv/bin/python benchmarks/crawl.py --files 4 --paths 90000 --json /tmp/crawl.json
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from curation.crawl.index import locate, read_paths  # noqa: E402
from curation.crawl.ledger import Ledger  # noqa: E402
from curation.crawl.sync import sync  # noqa: E402
from curation.manifest import parse_manifest  # noqa: E402
from curation.run.runner import run_manifest  # noqa: E402

SNAP = "CC-MAIN-2024-10"


def ledger_at_scale(work: Path, n_paths: int, transitions: int) -> dict:
    root = work / "scale"
    (root / "crawl-data" / SNAP).mkdir(parents=True)
    paths = [f"crawl-data/{SNAP}/segments/1707947473347.{i // 1000}/warc/CC-MAIN-20240220-{i:05d}.warc.gz"
             for i in range(n_paths)]
    (root / "crawl-data" / SNAP / "warc.paths.gz").write_bytes(gzip.compress("\n".join(paths).encode()))
    loc = locate(str(root))
    out = {"paths": n_paths}
    t = time.perf_counter()
    listed = read_paths(loc, SNAP, "warc")
    out["read_paths_s"] = time.perf_counter() - t
    with Ledger(root / "ledger.sqlite") as ledger:
        from curation.crawl.index import Snapshot

        ledger.add_snapshots([Snapshot(SNAP, "", "2024-02-20")])
        t = time.perf_counter()
        ledger.add_files(SNAP, "warc", [(p, loc.file_url(p)) for p in listed])
        out["record_files_s"] = time.perf_counter() - t
        t = time.perf_counter()
        todo = ledger.todo(SNAP)
        out["todo_query_s"] = time.perf_counter() - t
        t = time.perf_counter()
        for f in todo[:transitions]:
            batch, _ = ledger.start_batch(SNAP, [f], str(root / "out"), os.getpid())
            ledger.finish_batch(batch, 1000, 500)
        out["batch_transition_ms"] = (time.perf_counter() - t) / transitions * 1000
        t = time.perf_counter()
        summary = ledger.summary()
        out["status_summary_s"] = time.perf_counter() - t
        assert summary[0]["done"] == transitions
    out["ledger_mb"] = (root / "ledger.sqlite").stat().st_size / 2**20
    return out


def mirror(work: Path, warc: Path, truth: Path, n_files: int) -> tuple[Path, list[Path]]:
    """The demo crawl cut into `n_files` WARC files (whole gzip members) of one snapshot."""
    raw = warc.read_bytes()
    pages = [json.loads(line) for line in truth.read_text().splitlines()]
    root = work / "cc"
    files, rels = [], []
    for i in range(n_files):
        rel = f"crawl-data/{SNAP}/segments/1/warc/part-{i:05d}.warc.gz"
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"".join(raw[p["offset"]:p["offset"] + p["length"]] for p in pages[i::n_files]))
        files.append(path)
        rels.append(rel)
    (root / "crawl-data" / SNAP / "warc.paths.gz").write_bytes(gzip.compress("\n".join(rels).encode()))
    (root / "collinfo.json").write_text(json.dumps([{"id": SNAP, "name": "bench", "from": "2024-02-20T00:00:00"}]))
    return root, files


def manifest(work: Path, name: str, inputs: list[Path], root: Path | None = None, per_batch: int = 1):
    crawl = (f"crawl: {{index_url: '{root}', ledger: '{work / name}.sqlite', files_per_batch: {per_batch}, "
             f"dedup_index: '{work / name}-index'}}\n") if root else ""
    return parse_manifest(f"""
input: {{paths: {json.dumps([str(p) for p in inputs])}, format: warc}}
output: {work / name}
executor: {{tasks: 1, workers: 1}}
{crawl}stages:
  - {{stage: extract, engine: resiliparse}}
  - {{stage: langid}}
  - {{stage: dedup}}
  - {{stage: write}}
""", source=f"{name}.yml")


def kept_ids(folder: Path) -> set[str]:
    import pyarrow.parquet as pq

    files = [f for f in folder.rglob("*.parquet") if not any(p.startswith(("_",
                                                                           ".")) for p in f.relative_to(folder).parts)]
    return {i for f in files for i in pq.read_table(f, columns=["id"]).column("id").to_pylist()}


def sync_vs_run(work: Path, n_files: int) -> dict:
    root, files = mirror(work, ROOT / "data/demo/crawl.warc.gz", ROOT / "data/demo/truth.jsonl", n_files)
    run_manifest(manifest(work, "warmup", files[:1]), progress=False)  # imports, models, tokenizers: paid once
    out = {"files": n_files}
    for name, fn in [
        ("run", lambda: run_manifest(manifest(work, "run", files), progress=False)),
        ("sync_one_batch", lambda: sync(manifest(work, "sync1", files, root, per_batch=n_files), progress=False,
                                        echo=lambda *_: None)),
        ("sync_per_file", lambda: sync(manifest(work, "syncN", files, root, per_batch=1), progress=False,
                                       echo=lambda *_: None)),
    ]:
        t = time.perf_counter()
        fn()
        out[f"{name}_s"] = time.perf_counter() - t
    t = time.perf_counter()
    again = sync(manifest(work, "syncN", files, root, per_batch=1), progress=False, echo=lambda *_: None)
    out["sync_again_s"] = time.perf_counter() - t
    assert again.batches == 0
    ids = {k: kept_ids(work / k) for k in ("run", "sync1", "syncN")}
    out["written"] = {k: len(v) for k, v in ids.items()}
    out["one_batch_equals_run"] = ids["sync1"] == ids["run"]
    out["per_file_jaccard_vs_run"] = len(ids["syncN"] & ids["run"]) / max(1, len(ids["syncN"] | ids["run"]))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--paths", type=int, default=90_000, help="entries of the synthetic paths file")
    ap.add_argument("--transitions", type=int, default=500, help="batches started and finished in the ledger")
    ap.add_argument("--files", type=int, default=4, help="files the demo crawl is cut into")
    ap.add_argument("--skip-sync", action="store_true", help="only the ledger at scale")
    ap.add_argument("--json", help="write the numbers here")
    args = ap.parse_args()
    print(f"load average {os.getloadavg()}")
    with tempfile.TemporaryDirectory(prefix="bench-crawl-") as tmp:
        work = Path(tmp)
        res = {"ledger": ledger_at_scale(work, args.paths, args.transitions)}
        print(json.dumps(res["ledger"], indent=1))
        if not args.skip_sync:
            res["sync"] = sync_vs_run(work, args.files)
            s = res["sync"]
            s["overhead_one_batch"] = s["sync_one_batch_s"] / s["run_s"]
            s["overhead_per_file"] = s["sync_per_file_s"] / s["run_s"]
            print(json.dumps(s, indent=1))
    print(f"load average {os.getloadavg()}")
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
