"""Mixture benchmark: `curate mix` (curation.mixture) against a straightforward polars script, same input, same run.

Both build the same mixture from synthetic Parquet rows laid out like a pipeline output (out/<language>/*.parquet
with minhash_cluster_size): FineWeb2's rehydration table, proportional sampling with a total of 1.2x the
rehydrated rows (so a partial pass is drawn), a seeded shuffle, sharded zstd Parquet per language with
1,000-row row groups and 64 MB shards. Each build runs in a fresh process; its wall time and peak resident memory
(ru_maxrss) are reported, for several input sizes, so memory growth with rows shows.

    .venv/bin/python benchmarks/mix.py                       # 1M, 3M and 10M rows (about 10 minutes)
    .venv/bin/python benchmarks/mix.py --rows 200000         # a quick check
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

LANGS = {"eng_Latn": 0.45, "fra_Latn": 0.2, "deu_Latn": 0.15, "tha_Thai": 0.1, "swh_Latn": 0.07, "yor_Latn": 0.03}
WORDS = np.array("the of and a to in is was for on that with as by at from his her it an were are which be this"
                 .split())
FILE_ROWS = 500_000


def make_input(root: Path, rows: int, seed: int = 0) -> None:
    """Rows of 8-16 random words (60-110 bytes) with Zipf-like cluster sizes, 500k rows per file."""
    rng = np.random.default_rng(seed)
    for lang, share in LANGS.items():
        n = int(rows * share)
        folder = root / lang
        folder.mkdir(parents=True, exist_ok=True)
        for f, start in enumerate(range(0, n, FILE_ROWS)):
            m = min(FILE_ROWS, n - start)
            lengths = rng.integers(8, 17, m)
            words = WORDS[rng.integers(0, len(WORDS), lengths.sum())]
            cuts = np.cumsum(lengths)[:-1]
            text = [" ".join(p) for p in np.split(words, cuts)]
            sizes = np.minimum(rng.zipf(2.2, m), 5000)
            table = pa.table({"id": pa.array([f"{lang}-{start + i}" for i in range(m)]), "text": text,
                              "language": pa.array([lang] * m), "minhash_cluster_size": pa.array(sizes, pa.int64())})
            pq.write_table(table, folder / f"000_{f:05d}.parquet", compression="zstd", row_group_size=10_000)


OURS = """
import json, sys
from curation.mixture import MixtureSpec, build_mixture
inp, out, total = sys.argv[1], sys.argv[2], float(sys.argv[3])
s = build_mixture(MixtureSpec(input=inp, output=out, seed=0, sampling={"strategy": "proportional", "total": total},
                              row_group_size=1000, shard_size_mb=64), progress=False, log=lambda m: None)
print(json.dumps({"documents": s["documents"]}))
"""

# the script a person would write with polars: everything in memory
BASELINE = """
import json, math, sys
from pathlib import Path
import numpy as np
import polars as pl
inp, out, total = sys.argv[1], sys.argv[2], float(sys.argv[3])
df = pl.read_parquet(f"{inp}/*/*.parquet", columns=["id", "text", "language", "minhash_cluster_size"])
s = pl.col("minhash_cluster_size")
df = df.with_columns(pl.when(s >= 1000).then(1).when(s >= 100).then(8).when(s >= 5).then(5).when(s == 4).then(3)
                     .otherwise(s).alias("w"))
scale = total / df["w"].sum()
full = math.floor(scale)
rng = np.random.default_rng(0)
parts = []
for (lang,), g in df.group_by("language", maintain_order=True):
    extra = np.zeros(g.height, dtype=np.int64)
    extra[rng.choice(g.height, round((scale - full) * g.height), replace=False)] = 1
    n = g["w"].to_numpy() * (full + extra)
    idx = np.repeat(np.arange(g.height), n)
    rows = g[idx].sample(fraction=1.0, shuffle=True, seed=0)
    folder = Path(out) / "data" / lang
    folder.mkdir(parents=True, exist_ok=True)
    shards = max(1, math.ceil(rows["text"].str.len_bytes().sum() / (64 * 2**20)))
    for i in range(shards):
        rows[i * rows.height // shards:(i + 1) * rows.height // shards].drop("w").write_parquet(
            folder / f"train-{i:05d}-of-{shards:05d}.parquet", compression="zstd", row_group_size=1000)
    parts.append(rows.height)
print(json.dumps({"documents": int(sum(parts))}))
"""


def run(code: str, inp: Path, out: Path, total: float) -> dict:
    shutil.rmtree(out, ignore_errors=True)
    wrapper = (code + "\nimport resource\n"
               "print(json.dumps({'peak_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))\n")
    t = time.perf_counter()
    p = subprocess.run([sys.executable, "-c", wrapper, str(inp), str(out), str(total)], capture_output=True, text=True,
                       cwd=Path(__file__).resolve().parents[1])
    wall = time.perf_counter() - t
    if p.returncode:
        raise SystemExit(p.stderr[-3000:])
    lines = [json.loads(x) for x in p.stdout.splitlines() if x.startswith("{")]
    return {"wall_s": round(wall, 2), **lines[0], **lines[1]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 3_000_000, 10_000_000])
    ap.add_argument("--work", default=None, help="scratch folder (default: a temporary one, removed at the end)")
    ap.add_argument("--only", default="ours,baseline")
    ap.add_argument("--json", help="save the numbers here")
    args = ap.parse_args()
    work = Path(args.work or tempfile.mkdtemp(prefix="mixbench-"))
    results = []
    print(f"load average {os.getloadavg()[0]:.2f}; {os.cpu_count()} CPUs")
    print(f"{'rows in':>11} {'rows out':>11} | {'ours s':>7} {'ours MB':>8} | {'polars s':>8} {'polars MB':>9} | "
          f"{'x time':>6} {'x mem':>6}")
    try:
        for rows in args.rows:
            inp = work / f"in-{rows}"
            if not inp.exists():
                make_input(inp, rows)
            import polars as pl

            pool = pl.scan_parquet(f"{inp}/*/*.parquet").select(
                pl.col("minhash_cluster_size").alias("s")).with_columns(
                pl.when(pl.col("s") >= 1000).then(1).when(pl.col("s") >= 100).then(8).when(pl.col("s") >= 5).then(5)
                .when(pl.col("s") == 4).then(3).otherwise(pl.col("s")).alias("w")
            ).select(pl.col("w").sum()).collect().item()
            total = 1.2 * pool
            r = {"rows": rows, "rehydrated": int(pool)}
            if "ours" in args.only:
                r["ours"] = run(OURS, inp, work / "ours", total)
            if "baseline" in args.only:
                r["baseline"] = run(BASELINE, inp, work / "baseline", total)
            results.append(r)
            o, b = r.get("ours", {}), r.get("baseline", {})
            out_rows = o.get("documents") or b.get("documents")
            ratio_t = f"{b['wall_s'] / o['wall_s']:.2f}" if o and b else "-"
            ratio_m = f"{b['peak_mb'] / o['peak_mb']:.2f}" if o and b else "-"
            print(f"{rows:>11,} {out_rows:>11,} | {o.get('wall_s', 0):>7.1f} {o.get('peak_mb', 0):>8.0f} | "
                  f"{b.get('wall_s', 0):>8.1f} {b.get('peak_mb', 0):>9.0f} | {ratio_t:>6} {ratio_m:>6}", flush=True)
            shutil.rmtree(work / "ours", ignore_errors=True)
            shutil.rmtree(work / "baseline", ignore_errors=True)
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
