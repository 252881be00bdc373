"""Benchmark: whole-process MinHash dedup on real prose, ours (`curate dedup`, modes fineweb2 and robust) against
datatrove's four MinHash stages, each process pinned to one core.

    .venv/bin/python benchmarks/dedup_prose.py                      # real prose (see below), ~6,000 documents
    .venv/bin/python benchmarks/dedup_prose.py --docs 3000 --repeat 1
    .venv/bin/python benchmarks/dedup_prose.py --words 350,750      # longer documents (median ~420 words)
    .venv/bin/python benchmarks/dedup_prose.py --udhr               # the UDHR corpus of benchmarks/dedup_corpus.py
    .venv/bin/python benchmarks/dedup_prose.py --json out.json

Real prose: the README / METADATA descriptions and the module, class and function docstrings of the Python
packages installed next to this one (`--site`, default this interpreter's site-packages), cut into documents
of 80 to 2,000 words, plus the English XQuAD contexts and NTREX-128 news (`--corpora`, default
/work/corpora; get them from github.com/deepmind/xquad and github.com/MicrosoftTranslator/NTREX). That text
is full of what slows word splitting on web pages: paths, URLs, option lists, code, long runs of punctuation.
About a quarter of the originals get 1 to 3 web-style copies with known clusters (site chrome added around
them, a few words changed, truncated, lines re-wrapped, or exact); chrome lines are shared by unrelated pages
of one site (hard negatives for any method that shingles whole pages).

Each method runs as its own process (`taskset -c CPU`, NUMBA_NUM_THREADS=1), imports and start-up included,
as a user runs it: `curate dedup IN.parquet -o OUT --mode fineweb2 --language eng_Latn` (and the default
mode robust), and a script running datatrove's MinhashDedupSignature, MinhashDedupBuckets (14 tasks, one
after the other), MinhashDedupCluster and MinhashDedupFilter + JsonlWriter on a LocalPipelineExecutor over
the same documents as JSONL. Reported: wall seconds and CPU seconds of each process (the best of
`--repeat` runs, interleaved; on a shared machine the CPU seconds are the steadier figure), the ratios, and
whether mode fineweb2 kept exactly the documents datatrove kept. Quality: precision, recall and F1 of the
removals against the known clusters, where any one member of a true cluster may be kept.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROME = [
    ["Home | Docs | Blog | Pricing | Sign in", "Skip to main content"],
    ["Navigation: Products Solutions Resources Company", "Search this site"],
    ["This site uses cookies to improve your experience. Accept all cookies", "Menu"],
]
FOOTERS = [
    ["Copyright (c) 2024 Example Corp. All rights reserved.", "Privacy policy | Terms of use | Contact"],
    ["Follow us on https://twitter.com/example and https://github.com/example", "Subscribe to our newsletter"],
    ["Powered by Sphinx 7.2.6 & Alabaster 0.7.16 | Page source", "(c) The authors, MIT licence"],
]

DATATROVE = r"""
import sys, os
from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.dedup.minhash import (MinhashConfig, MinhashDedupBuckets, MinhashDedupCluster,
                                              MinhashDedupFilter, MinhashDedupSignature)
from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.writers import JsonlWriter
inp, work = sys.argv[1], sys.argv[2]
cfg = MinhashConfig()
sigs, bkts, clus, outp = (os.path.join(work, d) for d in ("signatures", "buckets", "remove_ids", "output"))
for name, steps, tasks in [
    ("1", [JsonlReader(inp), MinhashDedupSignature(output_folder=sigs, config=cfg)], 1),
    ("2", [MinhashDedupBuckets(input_folder=sigs, output_folder=bkts, config=cfg)], cfg.num_buckets),
    ("3", [MinhashDedupCluster(input_folder=bkts, output_folder=clus, config=cfg, save_cluster_id=True)], 1),
    ("4", [JsonlReader(inp), MinhashDedupFilter(input_folder=clus, load_cluster_ids=True,
                                                exclusion_writer=JsonlWriter(outp + "_removed", compression=None)),
           JsonlWriter(outp, compression=None)], 1)]:
    LocalPipelineExecutor(steps, tasks=tasks, workers=1, logging_dir=os.path.join(work, "logs" + name)).run()
"""


# ------------------------------------------------------------------------------------------------ corpus


def _docstrings(path: Path) -> list[str]:
    try:
        tree = ast.parse(path.read_text("utf-8", errors="replace"))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    out = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            doc = ast.get_docstring(node, clean=True)
            if doc:
                out.append(doc)
    return out


CHUNK_WORDS = (80, 600)  # --words: each document aims at a random length in this range (then ends at a line end)


def _chunks(text: str, rng: random.Random, lo: int = 80) -> list[str]:
    """Documents of about CHUNK_WORDS words from a text (at least `lo`), cut at line ends."""
    lines = text.splitlines()
    out, cur, words = [], [], 0
    target = rng.randint(*CHUNK_WORDS)
    for line in lines:
        cur.append(line)
        words += len(line.split())
        if words >= target:
            out.append("\n".join(cur).strip())
            cur, words, target = [], 0, rng.randint(*CHUNK_WORDS)
    if words >= lo:
        out.append("\n".join(cur).strip())
    return out


def real_prose(site: Path, corpora: Path, n: int, rng: random.Random) -> list[str]:
    """Originals: package descriptions and docstrings, XQuAD contexts, NTREX news; deterministic order."""
    docs: list[str] = []
    for meta in sorted(site.glob("*.dist-info/METADATA")):
        text = meta.read_text("utf-8", errors="replace")
        body = text.split("\n\n", 1)[1] if "\n\n" in text else ""
        docs += _chunks(body, rng)
    for readme in sorted(site.glob("*/README*")):
        if readme.is_file() and readme.stat().st_size < 500_000:
            docs += _chunks(readme.read_text("utf-8", errors="replace"), rng)
    xquad = corpora / "deepmind+xquad" / "xquad.en.json"
    if xquad.exists():
        data = json.loads(xquad.read_text())
        for article in data["data"]:
            docs += ["\n".join(p["context"] for p in article["paragraphs"][i:i + 3])
                     for i in range(0, len(article["paragraphs"]), 3)]
    ntrex = corpora / "MicrosoftTranslator+NTREX" / "NTREX-128" / "newstest2019-ref.eng-US.txt"
    if ntrex.exists():
        lines = ntrex.read_text("utf-8").splitlines()
        docs += ["\n".join(lines[i:i + 15]) for i in range(0, len(lines), 15)]
    for path in sorted(site.rglob("*.py")):
        if len(docs) >= n * 3:
            break
        if path.stat().st_size > 300_000:
            continue
        text = "\n\n".join(_docstrings(path))
        if len(text.split()) >= 80:
            docs += _chunks(text, rng)
    seen, unique = set(), []
    for d in docs:  # the corpus's own exact repeats (vendored copies) would be unknown duplicates
        key = " ".join(d.split())
        if len(key.split()) >= 50 and key not in seen:
            seen.add(key)
            unique.append(d)
    rng.shuffle(unique)
    return unique[:n]


def near_copy(text: str, rng: random.Random) -> tuple[str, str]:
    kind = rng.choice(["chrome", "substitute", "truncate", "rewrap", "exact", "chrome+substitute"])
    words = text.split(" ")
    if "substitute" in kind:
        for _ in range(max(1, len(words) // 50)):
            words[rng.randrange(len(words))] = rng.choice(["the", "new", "updated", "see", "example"])
        text = " ".join(words)
    if kind == "truncate":
        text = " ".join(words[: int(len(words) * rng.uniform(0.7, 0.95))])
    if kind == "rewrap":
        text = re.sub(r"\s+", lambda m: rng.choice([" ", "\n", "  "]), text)
    return text, kind


def wrap(text: str, site: int) -> str:
    return "\n".join(CHROME[site % 3] + [text] + FOOTERS[site % 3])


def build(originals: list[str], rng: random.Random, copy_share: float = 0.25):
    """(texts, urls, true cluster per document, kind per document) with copies placed at random."""
    items = []
    for c, text in enumerate(originals):
        site = rng.randrange(40)
        page = wrap(text, site) if rng.random() < 0.5 else text
        items.append((page, f"https://site{site}.example/{c}", c, "original"))
        if rng.random() < copy_share:
            for k in range(rng.randint(1, 3)):
                copy, kind = near_copy(text, rng)
                s2 = rng.randrange(40)
                items.append((wrap(copy, s2) if "chrome" in kind or rng.random() < 0.5 else copy,
                              f"https://site{s2}.example/{c}-{k}", c, kind))
    rng.shuffle(items)
    return [i[0] for i in items], [i[1] for i in items], [i[2] for i in items], [i[3] for i in items]


def udhr(n: int, seed: int):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from dedup_corpus import build_corpus

    c = build_corpus(n, seed)
    return list(c.texts), [None] * len(c.texts), [int(x) for x in c.cluster], list(c.kind)


# ------------------------------------------------------------------------------------------------ scoring


def quality(truth: list[int], kept: set[int]) -> dict:
    from collections import Counter

    sizes = Counter(truth)
    removed = Counter(truth[i] for i in range(len(truth)) if i not in kept)
    correct = sum(min(r, sizes[c] - 1) for c, r in removed.items())
    n_removed = sum(removed.values())
    true_dups = sum(s - 1 for s in sizes.values())
    p = correct / n_removed if n_removed else 1.0
    r = correct / true_dups if true_dups else 1.0
    return {"removed": n_removed, "true_duplicates": true_dups, "precision": round(p, 4), "recall": round(r, 4),
            "f1": round(2 * p * r / (p + r), 4) if p + r else 0.0}


# ------------------------------------------------------------------------------------------------ runs


def _partition(rep: dict) -> set[frozenset]:
    """Clusters of more than one document from {document: its cluster's label}."""
    groups: dict = {}
    for doc, label in rep.items():
        groups.setdefault(label, set()).add(str(doc))
    return {frozenset(g) for g in groups.values() if len(g) > 1}


def timed(cmd: list[str], cpu: int, env: dict) -> tuple[float, float]:
    """Wall and CPU seconds (user + system, of the process and its children) of one command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.monotonic()
    done = subprocess.run(["taskset", "-c", str(cpu), *cmd], env=env, capture_output=True, text=True)
    wall = time.monotonic() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr[-3000:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=int, default=6000, help="originals (copies come on top)")
    ap.add_argument("--udhr", action="store_true", help="the UDHR corpus of dedup_corpus.py instead")
    ap.add_argument("--site", default=next(p for p in sys.path if p.endswith("site-packages")))
    ap.add_argument("--corpora", default="/work/corpora")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cpu", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--words", default="80,600",
                    help="LO,HI: the range each real-prose document's length is drawn from (80,600 gives a median "
                         "of about 280 words; 350,750 about 420, as the issue's hidden web pages)")
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    global CHUNK_WORDS
    CHUNK_WORDS = tuple(int(x) for x in args.words.split(","))
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = random.Random(args.seed)
    if args.udhr:
        texts, urls, truth, kinds = udhr(args.docs, args.seed)
    else:
        texts, urls, truth, kinds = build(real_prose(Path(args.site), Path(args.corpora), args.docs, rng), rng)
    words = sorted(len(t.split()) for t in texts)
    long_tokens = sum(1 for t in texts for w in t.split() if len(w) >= 30)
    print(f"{len(texts)} documents ({'UDHR' if args.udhr else 'real prose'}), median {words[len(words) // 2]} words, "
          f"{long_tokens} tokens of 30+ characters, {len(texts) - len(set(truth))} true duplicates", flush=True)
    work = Path(tempfile.mkdtemp(prefix="dedup-prose-"))
    try:
        ids = [str(i) for i in range(len(texts))]
        pq.write_table(pa.table({"id": ids, "text": texts, "url": urls}), work / "in.parquet")
        (work / "jsonl").mkdir()
        with open(work / "jsonl" / "in.jsonl", "w") as f:
            for i, t in zip(ids, texts):
                f.write(json.dumps({"id": i, "text": t}) + "\n")
        env = dict(os.environ, NUMBA_NUM_THREADS="1", OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
        curate = [sys.executable, "-m", "curation.cli", "dedup", str(work / "in.parquet"), "--language", "eng_Latn",
                  "--no-progress", "-o"]
        methods = {
            "ours fineweb2": lambda out: curate + [str(out), "--mode", "fineweb2", "--exclusions", f"{out}_removed"],
            "ours robust": lambda out: curate + [str(out)],
            "datatrove": lambda out: [sys.executable, "-c", DATATROVE, str(work / "jsonl"), str(out)],
        }
        for name in ("ours fineweb2", "ours robust"):  # Numba's cache and the tokenizer's rules (first use only)
            subprocess.run(methods[name](work / f"warm_{name[5:]}"), env=env, capture_output=True)
        best: dict[str, tuple[float, float]] = {}
        for r in range(args.repeat):
            for name, cmd in methods.items():
                out = work / f"{name.replace(' ', '_')}_{r}"
                wall, cpu = timed(cmd(out), args.cpu, env)
                print(f"  run {r + 1}: {name:<14} wall {wall:7.2f} s  cpu {cpu:7.2f} s", flush=True)
                b = best.get(name)
                best[name] = (min(wall, b[0]), min(cpu, b[1])) if b else (wall, cpu)
        kept, clusters = {}, {}
        for name in methods:
            out = work / f"{name.replace(' ', '_')}_0"
            if name == "datatrove":
                rows = [json.loads(line) for p in (out / "output").glob("*.jsonl") for line in open(p)]
                kept[name] = {int(r["id"]) for r in rows}
                rows += [json.loads(line) for p in (out / "output_removed").glob("*.jsonl") for line in open(p)]
                clusters[name] = _partition({r["id"]: r["metadata"]["minhash_cluster_id"] for r in rows
                                             if r["metadata"]["minhash_cluster_id"] != -1})
            else:
                kept[name] = {int(i) for p in out.glob("*.parquet")
                              for i in pq.read_table(p, columns=["id"])["id"].to_pylist()}
            if name == "ours fineweb2":
                removed = [r for p in Path(f"{out}_removed").glob("*.parquet")
                           for r in pq.read_table(p, columns=["id", "duplicate_of"]).to_pylist()]
                clusters[name] = _partition({**{r["id"]: r["duplicate_of"] for r in removed},
                                             **{r["duplicate_of"]: r["duplicate_of"] for r in removed}})
        dt_wall, dt_cpu = best["datatrove"]
        res = {"corpus": "udhr" if args.udhr else "real prose", "documents": len(texts),
               "median_words": words[len(words) // 2], "long_tokens": long_tokens, "methods": {}}
        print(f"\n{'method':<16}{'wall s':>9}{'cpu s':>9}{'x wall':>9}{'x cpu':>8}  quality")
        for name, (wall, cpu) in best.items():
            q = quality(truth, kept[name])
            res["methods"][name] = {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
                                    "speedup_wall": round(dt_wall / wall, 2), "speedup_cpu": round(dt_cpu / cpu, 2),
                                    "quality": q}
            print(f"{name:<16}{wall:9.2f}{cpu:9.2f}{dt_wall / wall:9.1f}{dt_cpu / cpu:8.1f}  "
                  f"P {q['precision']:.3f} R {q['recall']:.3f} F1 {q['f1']:.3f} (removed {q['removed']})")
        same = clusters["ours fineweb2"] == clusters["datatrove"]
        same_kept = kept["ours fineweb2"] == kept["datatrove"]
        res["fineweb2_same_clusters_as_datatrove"] = same
        res["fineweb2_same_kept_documents_as_datatrove"] = same_kept
        print(f"\nmode fineweb2 finds exactly datatrove's clusters: {same} ({len(clusters['datatrove'])} clusters); "
              f"keeps the same member of each: {same_kept}"
              + ("" if same_kept else f" ({len(kept['ours fineweb2'] ^ kept['datatrove'])} documents differ: "
                 "datatrove keeps the root of a union by size, we keep the first in reading order)"))
        with open("/proc/loadavg") as f:
            res["loadavg"] = f.read().split()[:3]
        if args.json:
            Path(args.json).write_text(json.dumps(res, indent=2))
        return 0 if same else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
