"""Scale run: the MinHash dedup steps (curation.apply.dedup_steps) over a generated corpus with a known duplicate
structure, every task a process of its own, `--workers` at a time: peak memory of each task, disk used, time
per step, documents per second per core, and precision / recall / F1 of the removals.

    .venv/bin/python benchmarks/dedup_scale.py --docs 1000000 --json /tmp/scale_1m.json
    nice -n 10 .venv/bin/python benchmarks/dedup_scale.py --docs 10000000 --docs-per-task 250000 \
        --band-parts 10 --verify-parts 160 --work /big/disk/scale-work      # about 22 GB of work files

The corpus (`GeneratedDocs`, a datatrove reader step that makes its shard's documents on the fly, so that
the filter step sees the same ones and nothing is stored): one language, `--words` words per document from a
vocabulary of 65,536 made-up words (lowercase letters: nothing for normalisation to fold). Document i is a
copy when a hash of i falls in the copy share (20%): of a random original (a document that is not a copy),
exact (30% of copies), with 4% of its words replaced (50%), or truncated to 70% with 2% of its words
replaced (20%, found by the containment rule). A true cluster is an original and its copies; any one member
may be kept (see benchmarks/dedup.py for the scoring). Documents are numbered across tasks in order, so
copies and their originals land in different tasks.

Peak memory is each task process's maximum resident set (ru_maxrss of the child, from os.wait4), imports
included. Disk is the work folder's size after each step (nothing is deleted before the end, so the last is the peak:
signatures, n-gram counts, shingle sets, bucket files, pairs and decisions all present).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from datatrove.data import Document  # noqa: E402
from datatrove.pipeline.base import PipelineStep  # noqa: E402

M64 = (1 << 64) - 1
COPY_SHARE, EXACT, SUBST = 20, 30, 50  # percent of documents that are copies; percent of copies by kind


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 of uint64s."""
    with np.errstate(over="ignore"):
        z = x + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def vocabulary(size: int = 65536) -> np.ndarray:
    syll = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"] + ["qu", "th", "sh", "ch"]
    rng = np.random.default_rng(7)
    words = set()
    while len(words) < size:
        k = rng.integers(2, 5)
        words.add("".join(syll[j] for j in rng.integers(0, len(syll), k)))
    return np.array(sorted(words), dtype=object)


def structure(docs: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(source original, copy kind 0 original / 1 exact / 2 substituted / 3 truncated) of documents `docs`."""
    h = _mix(docs.astype(np.uint64) ^ np.uint64(0x5EED))
    is_copy = (h % np.uint64(100)) < COPY_SHARE
    src = docs.copy()
    j = (_mix(h) % np.uint64(n)).astype(np.int64)
    for _ in range(64):  # the source must be an original: step forward until one is
        hj = _mix(j.astype(np.uint64) ^ np.uint64(0x5EED))
        bad = (hj % np.uint64(100)) < COPY_SHARE
        if not bad[is_copy].any():
            break
        j = np.where(bad, (j + 1) % n, j)
    src[is_copy] = j[is_copy]
    r = (_mix(h ^ np.uint64(1)) % np.uint64(100)).astype(np.int64)
    kind = np.where(~is_copy, 0, np.where(r < EXACT, 1, np.where(r < EXACT + SUBST, 2, 3)))
    return src, kind


def texts(docs: np.ndarray, n: int, words: int, vocab: np.ndarray) -> list[str]:
    src, kind = structure(docs, n)
    pos = np.arange(words, dtype=np.uint64)
    with np.errstate(over="ignore"):
        w = _mix(src.astype(np.uint64)[:, None] * np.uint64(1_000_003) + pos[None, :]) % np.uint64(len(vocab))
        e = _mix(docs.astype(np.uint64)[:, None] * np.uint64(7_919) + pos[None, :] + np.uint64(1 << 40))
    rate = np.where(kind == 2, 4, np.where(kind == 3, 2, 0))[:, None]
    edit = (e % np.uint64(100)).astype(np.int64) < rate
    w = np.where(edit, (e >> np.uint64(20)) % np.uint64(len(vocab)), w).astype(np.int64)
    out = []
    keep = np.where(kind == 3, int(words * 0.7), words)
    for row, k in zip(vocab[w], keep):
        out.append(" ".join(row[:k]))
    return out


class GeneratedDocs(PipelineStep):
    """Reader step: this task's share of the corpus, made on the fly (contiguous ranges of document numbers)."""

    name = "🎲 Generated documents"
    type = "📖 - READER"

    def __init__(self, n: int, words: int, batch: int = 8192):
        super().__init__()
        self.n, self.words, self.batch = n, words, batch

    def run(self, data=None, rank: int = 0, world_size: int = 1):
        vocab = vocabulary()
        lo, hi = self.n * rank // world_size, self.n * (rank + 1) // world_size
        for start in range(lo, hi, self.batch):
            docs = np.arange(start, min(hi, start + self.batch))
            for i, t in zip(docs, texts(docs, self.n, self.words, vocab)):
                yield Document(text=t, id=str(i), metadata={"language": "eng_Latn"})


class KeptIds(PipelineStep):
    """After the filter: the kept documents' numbers, to a file per task (for the F1)."""

    def __init__(self, folder: str):
        super().__init__()
        self.folder = folder

    def run(self, data, rank: int = 0, world_size: int = 1):
        kept = [int(d.id) for d in data]
        np.save(Path(self.folder) / f"kept_{rank:05d}.npy", np.asarray(kept, dtype=np.int64))
        yield from ()


def quality(n: int, kept: np.ndarray) -> dict:
    src, _ = structure(np.arange(n), n)
    sizes = np.bincount(src, minlength=n)
    removed = np.ones(n, bool)
    removed[kept] = False
    per = np.bincount(src[removed], minlength=n)
    correct = int(np.minimum(per, np.maximum(sizes - 1, 0)).sum())
    true_dups = int((sizes - 1).clip(0).sum())
    n_removed = int(removed.sum())
    p = correct / n_removed if n_removed else 1.0
    r = correct / true_dups if true_dups else 1.0
    return {"removed": n_removed, "true_duplicates": true_dups, "precision": round(p, 5), "recall": round(r, 5),
            "f1": round(2 * p * r / (p + r), 5) if p + r else 0.0}


# ------------------------------------------------------------------------------------------------ driver


def task_main(args) -> None:
    """One task of one step, in this process (what datatrove's executor does for a rank)."""
    import pickle
    from collections import deque

    pipeline = pickle.loads(Path(args.task_pipeline).read_bytes())
    data = None
    for step in pipeline:
        data = step(data, args.rank, args.world)
    deque(data or (), maxlen=0)


def du(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=int, default=1_000_000)
    ap.add_argument("--words", type=int, default=60)
    ap.add_argument("--docs-per-task", type=int, default=250_000)
    ap.add_argument("--workers", type=int, default=2, help="task processes at a time")
    ap.add_argument("--mode", default="robust", choices=["robust", "fineweb2"])
    ap.add_argument("--band-parts", type=int, default=1,
                    help="hash ranges per band, one buckets job each (the manifest's band_parts)")
    ap.add_argument("--verify-parts", type=int, default=16,
                    help="partitions of the candidate pairs, one verify job each (the manifest's verify_parts)")
    ap.add_argument("--work", default=None, help="work folder (default: a temporary one, removed after)")
    ap.add_argument("--json")
    ap.add_argument("--_task", help=argparse.SUPPRESS, dest="task_pipeline")
    ap.add_argument("--_rank", type=int, dest="rank")
    ap.add_argument("--_world", type=int, dest="world")
    args = ap.parse_args(argv)
    if args.task_pipeline:
        task_main(args)
        return 0

    import pickle
    import tempfile

    from curation.apply.dedup_steps import step_plan
    from dedup.minhash import config_for

    tasks = max(1, -(-args.docs // args.docs_per_task))
    work = Path(args.work or tempfile.mkdtemp(prefix="dedup-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    kept_dir = work / "kept"
    kept_dir.mkdir(exist_ok=True)
    config = config_for(args.mode)
    plan = step_plan(lambda: GeneratedDocs(args.docs, args.words), str(work / "dedup"), config, tasks,
                     after=[KeptIds(str(kept_dir))], band_parts=args.band_parts, verify_parts=args.verify_parts)
    env = dict(os.environ, NUMBA_NUM_THREADS="1", OMP_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    res = {"docs": args.docs, "words": args.words, "tasks": tasks, "workers": args.workers, "mode": args.mode,
           "band_parts": args.band_parts, "verify_parts": args.verify_parts, "steps": {}}
    total_cpu = total_wall = 0.0
    print(f"{args.docs:,} documents, {tasks} tasks, {args.workers} at a time, mode {args.mode}", flush=True)
    for name, pipeline, n_tasks in plan:
        pik = work / f"{name}.pik"
        pik.write_bytes(pickle.dumps(pipeline))
        t0 = time.monotonic()
        # the Popen objects stay referenced until reaped here: a dropped one is reaped by subprocess's own
        # clean-up when the next one starts, and os.wait4 would never see it (nor its resource usage)
        running: dict[int, tuple[int, subprocess.Popen]] = {}
        peaks, cpus, queue = [], [], list(range(n_tasks))
        while queue or running:
            while queue and len(running) < args.workers:
                r = queue.pop(0)
                p = subprocess.Popen([sys.executable, __file__, "--_task", str(pik), "--_rank", str(r),
                                      "--_world", str(n_tasks)], env=env)
                running[p.pid] = (r, p)
            pid, status, usage = os.wait4(-1, 0)
            if pid not in running:
                continue
            rank, proc = running.pop(pid)
            proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait for it again
            if status:
                raise SystemExit(f"step {name} task {rank} failed (status {status})")
            peaks.append(usage.ru_maxrss / 1024)
            cpus.append(usage.ru_utime + usage.ru_stime)
        wall = time.monotonic() - t0
        total_cpu += sum(cpus)
        total_wall += wall
        entry = {"tasks": n_tasks, "wall_s": round(wall, 1), "cpu_s": round(sum(cpus), 1),
                 "peak_rss_mb_max": round(max(peaks), 1), "peak_rss_mb_median": round(float(np.median(peaks)), 1)}
        entry["work_disk_mb"] = round(du(work / "dedup") / 2**20, 1)
        res["steps"][name] = entry
        print(f"  {name:<12} {n_tasks:>3} tasks  wall {wall:8.1f} s  cpu {sum(cpus):8.1f} s  "
              f"peak RSS per task max {max(peaks):7.1f} MB  {entry.get('work_disk_mb', '')}", flush=True)
    kept = np.concatenate([np.load(p) for p in sorted(kept_dir.glob("kept_*.npy"))])
    res["quality"] = quality(args.docs, kept)
    res["wall_s"], res["cpu_s"] = round(total_wall, 1), round(total_cpu, 1)
    res["docs_per_s_per_core"] = round(args.docs / total_cpu, 1)
    res["peak_rss_mb_any_task"] = max(s["peak_rss_mb_max"] for s in res["steps"].values())
    res["work_disk_mb"] = max(s.get("work_disk_mb", 0) for s in res["steps"].values())
    with open("/proc/loadavg") as f:
        res["loadavg_end"] = f.read().split()[:3]
    print(json.dumps(res, indent=2), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=2))
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
