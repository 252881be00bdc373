"""Benchmark: our MinHash dedup (`dedup.minhash`) vs datatrove, datasketch and rensa, on one pinned core.

    .venv/bin/python benchmarks/dedup.py                 # 20,000 documents (~10 min on one core)
    .venv/bin/python benchmarks/dedup.py --quick         # 2,000 documents
    .venv/bin/python benchmarks/dedup.py --memory        # + peak memory of ours at 20k, 200k and 1M documents
    .venv/bin/python benchmarks/dedup.py --json out.json
    .venv/bin/python benchmarks/dedup.py --web           # web-style pages: precision/recall/F1 per kind of copy,
                                                         # false merges of chrome-sharing pages (dedup_web.py)

The corpus is `benchmarks/dedup_corpus.py` (real UDHR sentences in ~380 Latin-script languages, ~470 words
per document, ~20% near-duplicates in known clusters, ~4% exact copies, the rest unique; see its docstring).
Every method tokenizes it with the English tokenizer. Everything runs in this one process, pinned to one CPU
(`--cpu`, default 0), NUMBA_NUM_THREADS=1, one method after the other, on the same texts.

1. Signature throughput, documents per second, every method timed from the raw text (normalisation and word
   splitting included):
   - ours: `dedup.minhash.signatures` (its own normalisation, our fast word tokenizer, Numba hashing), in
     batches of 4096 documents as `dedup_texts` calls it;
   - datatrove: `MinhashDedupSignature.get_shingles` + `get_signature` per document, in process (14x8,
     5-grams, xxhash64; datatrove's own `simplify_text` and spaCy word tokenizer with its sentencizer);
   - datatrove-fastwords: the same hashing (`xxh64` per shingle string, `get_signature`) on the words of
     `simplify_text` + our fast tokenizer, to separate datatrove's tokenizer cost from its hashing cost;
   - datasketch: `MinHash(num_perm=112)` (default affine32 scheme, sha1 of each shingle) fed the 5-gram
     strings of `simplify_text` + our tokenizer with `update_batch`; shingle building included. The
     permutations are drawn once and passed to every MinHash (drawing them per document costs 115 us);
   - rensa: `RMinHash(num_perm=112, seed=42).update(shingle strings)`, same shingles, shingle building
     included;
   - prefix: `simplify_text` + our tokenizer alone (the cost every line above except datatrove includes);
   - floor: xxh64 of every 5-gram once, on already split words (no normalisation, no tokenizer): with the
     `xxhash` package in a Python loop, and with `dedup.kernels.shingle_hashes` (Numba) when it exists.
   "Our tokenizer" everywhere is `filters.words.normalized_word_splitter("eng_Latn")` (spaCy's English
   tokenizer rules, cached per space-separated chunk, for text that is already normalised to single
   spaces; the same words as datatrove's spaCy tokenizer, checked by `datatrove_fastwords_equals_datatrove`).
   Its caches (and spaCy's per-string token cache) are emptied before every method.
2. Bit-for-bit check of our signatures against datatrove's, on every document: against datatrove's stage-1
   bucket files (the signatures of the timed datatrove run, reassembled per document) and against the
   in-process `get_signature` rows of step 1.
3. Whole dedup: ours (`dedup_texts`) vs datatrove's four stages on a LocalPipelineExecutor, reading a JSONL of
   the corpus written beforehand (not timed): MinhashDedupSignature (tasks=1), MinhashDedupBuckets (tasks=14:
   datatrove asserts tasks % num_buckets == 0, so one task per bucket, run one after the other, workers=1),
   MinhashDedupCluster (tasks=1), MinhashDedupFilter + JsonlWriter (tasks=1). Each stage is timed; datatrove's
   own per-step times (reader, writer) are shown too.
4. Quality against the known clusters. A true cluster of size s holds s-1 "true duplicates" (any s-1 of its
   documents: which one a method keeps is its choice). A predicted removal is correct if the document
   belongs to a true cluster of size > 1, counting at most s-1 correct removals per true cluster (a method
   that removes every member of a true cluster, because it merged the cluster with another one whose
   representative it kept, gets s-1 correct and 1 wrong). precision = correct / removed,
   recall = correct / true duplicates. Also: for every copy (near or exact) whether the method put it in
   the same cluster as the document it was made from, by the true 5-gram Jaccard of the two; and merges of
   different true clusters. For ours, datatrove, and datasketch MinHashLSH (threshold 0.72, 112 perms: it
   picks 12 bands x 9 rows; also with params=(14, 8) as datatrove) keeping the first document of each
   LSH-connected group.
5. `--memory`: ours (`dedup_texts` on `SyntheticDocs`, documents made on the fly) at 20k, 200k and 1M
   documents, each in a fresh subprocess; its peak RSS (ru_maxrss), wall time and work-dir size; plus a
   baseline subprocess (the same imports and generator, no dedup).

While `dedup.minhash` cannot be imported, everything about ours is skipped with a note and the peers run alone.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import io
import json
import os
import platform
import resource
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.dedup_corpus import Corpus, SyntheticDocs, build_corpus  # noqa: E402

LANG = "eng_Latn"
N_GRAMS, NUM_BUCKETS, HASHES_PER_BUCKET, NUM_PERM = 5, 14, 8, 112
BATCH = 4096
J_BINS = [0.0, 0.5, 0.6, 0.72, 0.8, 0.9, 0.999, 1.0001]
J_LABELS = ["<0.5", "0.5-0.6", "0.6-0.72", "0.72-0.8", "0.8-0.9", "0.9-1", "=1"]


# ------------------------------------------------------------------------------------------------ helpers
def fresh_tokenizer():
    """Our English word splitter for normalised text (what `curate dedup` uses), with empty caches (loaded
    outside the timed region): the same words as datatrove's spaCy tokenizer, checked bit for bit below."""
    from filters.words import normalized_word_splitter, word_tokenizer

    word_tokenizer.cache_clear()
    normalized_word_splitter.cache_clear()
    tok = normalized_word_splitter(LANG)
    tok("warm up")
    return tok


def load_ours():
    try:
        from dedup import minhash
        getattr(minhash, "signatures")
        getattr(minhash, "dedup_texts")
        return minhash, None
    except Exception as e:  # not written yet, or broken while someone edits it
        return None, f"{type(e).__name__}: {e}"


def load_kernels():
    try:
        from dedup import kernels
        return kernels
    except Exception:
        return None


def unpack_dedup_result(res):
    if isinstance(res, tuple):
        keep, cid, size = res
    else:
        keep, cid, size = res.keep, res.cluster_id, res.cluster_size
    return np.asarray(keep, bool), np.asarray(cid, np.int64), np.asarray(size, np.int64)


class Timer:
    def __enter__(self):
        gc.collect()
        self.c0, self.t0 = time.process_time(), time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.t0
        self.cpu = time.process_time() - self.c0


def labels_from_pairs(n: int, pairs) -> np.ndarray:
    """Each document's cluster label = the smallest index in its connected component."""
    parent = list(range(n))

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs:
        ra, rb = find(a), find(b)
        if ra != rb:
            if ra < rb:
                parent[rb] = ra
            else:
                parent[ra] = rb
    return np.array([find(i) for i in range(n)], dtype=np.int64)


def canonical(labels: np.ndarray) -> np.ndarray:
    """Relabel clusters by their smallest member, so two partitions compare with ==."""
    labels = np.asarray(labels)
    first = {}
    for i, lab in enumerate(labels.tolist()):
        first.setdefault(lab, i)
    return np.array([first[lab] for lab in labels.tolist()], dtype=np.int64)


def shingle_strings(words: list[str]) -> list[str]:
    return [" ".join(words[i:i + N_GRAMS]) for i in range(len(words) - N_GRAMS + 1)]


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor()


def loadavg() -> str:
    with contextlib.suppress(OSError):
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    return "?"


# ------------------------------------------------------------------------------------------------ 1. signatures
def bench_signatures(corpus: Corpus, ours, kernels, res: dict) -> dict:
    """Returns per-method arrays needed later: words, shingle hashes, signatures, datasketch objects."""
    import xxhash
    from datatrove.pipeline.dedup.minhash import MinhashConfig as DTConfig
    from datatrove.pipeline.dedup.minhash import MinhashDedupSignature
    from datatrove.utils.text import simplify_text

    texts = corpus.texts
    n = len(texts)
    rows = {}
    art: dict = {}

    def row(name, t: Timer, note=""):
        rows[name] = {"wall_s": round(t.wall, 3), "cpu_s": round(t.cpu, 3), "docs_per_s": round(n / t.wall, 1),
                      "note": note}
        print(f"  {name:<24} {t.wall:8.2f} s  {n / t.wall:9.1f} docs/s  {note}", flush=True)

    warm = texts[:50]
    # --- warm-ups (imports, Numba JIT, datatrove's spaCy pipeline) outside every clock
    tmp = tempfile.mkdtemp(prefix="dedup-bench-warm-")
    dt_step = MinhashDedupSignature(output_folder=tmp, config=DTConfig())
    for t in warm:
        sh = dt_step.get_shingles(t)
        if sh.size:
            dt_step.get_signature(sh)
    if ours is not None:
        ours.signatures(warm, fresh_tokenizer(), ours.MinhashConfig())
    from datasketch import MinHash
    template = MinHash(num_perm=NUM_PERM)
    try:
        import rensa
    except ImportError:
        rensa = None

    print(f"\n== 1. signature throughput, {n} documents, one core ==", flush=True)

    # prefix: normalisation + word splitting alone
    tok = fresh_tokenizer()
    with Timer() as t:
        words = [tok(simplify_text(x)) for x in texts]
    row("prefix simplify+words", t, "datatrove simplify_text + our tokenizer, no hashing")
    art["words"] = words
    n_words = sum(len(w) for w in words)
    n_shingles = sum(max(0, len(w) - N_GRAMS + 1) for w in words)
    res["corpus_tokens"] = {"words": n_words, "shingles": n_shingles, "words_per_doc": round(n_words / n, 1)}

    # floor: xxh64 of every shingle, on split words
    h64 = xxhash.xxh64_intdigest
    with Timer() as t:
        hashes = [[h64(" ".join(w[i:i + N_GRAMS])) for i in range(len(w) - N_GRAMS + 1)] for w in words]
    row("floor xxhash (Python)", t, f"{n_shingles / t.wall / 1e6:.2f} M shingles/s, words already split")
    art["shingle_sets"] = [np.unique(np.array(h, dtype=np.uint64)) for h in hashes]
    del hashes
    if kernels is not None and hasattr(kernels, "shingle_hashes"):
        with Timer() as tp:
            parts = [" ".join(w).encode("utf-8") for w in words]
            offsets = np.zeros(n + 1, dtype=np.int64)
            np.cumsum([len(p) for p in parts], out=offsets[1:])
            buf = np.frombuffer(b"".join(parts), dtype=np.uint8)
        kernels.shingle_hashes(buf[:offsets[5]], offsets[:6], N_GRAMS)  # JIT / cache load
        with Timer() as t:
            kernels.shingle_hashes(buf, offsets, N_GRAMS)
        row("floor xxh64 (Numba)", t, f"{n_shingles / t.wall / 1e6:.2f} M shingles/s; "
                                      f"+{tp.wall:.2f} s to pack the words into one buffer (not included)")
        del parts, buf

    # ours
    if ours is not None:
        tok = fresh_tokenizer()
        cfg = ours.MinhashConfig()
        with Timer() as t:
            sig = np.concatenate([ours.signatures(texts[i:i + BATCH], tok, cfg) for i in range(0, n, BATCH)])
        row("ours", t, "dedup.minhash.signatures, batches of 4096")
        art["ours_sig"] = sig

    # datatrove, in process, its own tokenizer
    dt_step = MinhashDedupSignature(output_folder=tmp, config=DTConfig())
    for x in warm:
        dt_step.get_shingles(x)
    empty = np.full(NUM_PERM, np.iinfo(np.uint64).max, dtype=np.uint64)
    with Timer() as t:
        dt_rows = []
        for x in texts:
            sh = dt_step.get_shingles(x)
            dt_rows.append(dt_step.get_signature(sh) if sh.size else None)
    row("datatrove", t, "get_shingles + get_signature per doc (its spaCy tokenizer)")
    art["dt_sig"] = np.stack([np.concatenate([np.asarray(b, dtype=np.uint64) for b in r]) if r is not None else empty
                              for r in dt_rows])
    del dt_rows

    # datatrove hashing on our fast words
    tok = fresh_tokenizer()
    dt_step2 = MinhashDedupSignature(output_folder=tmp, config=DTConfig())
    dt_step2.get_signature(np.zeros((1, 1), dtype=np.uint64))
    with Timer() as t:
        fast_rows = []
        for x in texts:
            w = tok(simplify_text(x))
            sh = np.fromiter([h64(s) for s in shingle_strings(w)], dtype=np.uint64).reshape((-1, 1))
            fast_rows.append(dt_step2.get_signature(sh) if sh.size else None)
    row("datatrove-fastwords", t, "simplify_text + our tokenizer + datatrove hashing/get_signature")
    fast = np.stack([np.concatenate([np.asarray(b, dtype=np.uint64) for b in r]) if r is not None else empty
                     for r in fast_rows])
    res["datatrove_fastwords_equals_datatrove"] = bool(np.array_equal(fast, art["dt_sig"]))
    del fast_rows, fast

    # datasketch
    tok = fresh_tokenizer()
    perms, scheme = template.permutations, template.scheme
    with Timer() as t:
        ds = []
        for x in texts:
            m = MinHash(num_perm=NUM_PERM, permutations=perms, scheme=scheme)
            m.update_batch([s.encode("utf-8") for s in shingle_strings(tok(simplify_text(x)))])
            ds.append(m)
    row("datasketch", t, "simplify+words+shingle strings + MinHash(112).update_batch (sha1)")
    art["datasketch"] = ds

    # rensa
    if rensa is not None:
        tok = fresh_tokenizer()
        RMinHash = rensa.RMinHash
        with Timer() as t:
            rs = []
            for x in texts:
                m = RMinHash(num_perm=NUM_PERM, seed=42)
                m.update(shingle_strings(tok(simplify_text(x))))
                rs.append(m.digest())
        row("rensa", t, "simplify+words+shingle strings + RMinHash(112).update")
        del rs
    else:
        rows["rensa"] = {"note": "not installed"}

    base = rows["datatrove"]["docs_per_s"]
    print("  ratios vs datatrove (docs/s): " + ", ".join(
        f"{k} {v['docs_per_s'] / base:.2f}x" for k, v in rows.items() if "docs_per_s" in v))
    for v in rows.values():
        if "docs_per_s" in v:
            v["x_datatrove"] = round(v["docs_per_s"] / base, 3)
    res["signatures"] = rows
    shutil.rmtree(tmp, ignore_errors=True)
    return art


# ------------------------------------------------------------------------------------------------ 3. whole dedup
def run_datatrove_dedup(corpus: Corpus, work: Path) -> dict:
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.dedup.minhash import MinhashConfig as DTConfig
    from datatrove.pipeline.dedup.minhash import (
        MinhashDedupBuckets,
        MinhashDedupCluster,
        MinhashDedupFilter,
        MinhashDedupSignature,
    )
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import JsonlWriter

    inp = work / "input"
    inp.mkdir(parents=True)
    with open(inp / "corpus.jsonl", "w", encoding="utf-8") as f:
        for i, t in enumerate(corpus.texts):
            f.write(json.dumps({"id": str(i), "text": t}, ensure_ascii=False) + "\n")
    cfg = DTConfig()
    sigs, bkts, clus, outp = work / "signatures", work / "buckets", work / "remove_ids", work / "output"
    stages = [
        ("1 signatures", [JsonlReader(str(inp)), MinhashDedupSignature(output_folder=str(sigs), config=cfg)], 1),
        ("2 buckets", [MinhashDedupBuckets(input_folder=str(sigs), output_folder=str(bkts), config=cfg)],
         cfg.num_buckets),
        ("3 cluster", [MinhashDedupCluster(input_folder=str(bkts), output_folder=str(clus), config=cfg)], 1),
        ("4 filter", [JsonlReader(str(inp)), MinhashDedupFilter(input_folder=str(clus)),
                      JsonlWriter(str(outp), compression=None)], 1),
    ]
    out = {"stages": {}}
    total = total_cpu = 0.0
    for name, steps, tasks in stages:
        logs = work / f"logs_{name.split()[0]}"
        ex = LocalPipelineExecutor(steps, tasks=tasks, workers=1, logging_dir=str(logs), skip_completed=False)
        with contextlib.redirect_stderr(io.StringIO()), Timer() as t:
            ex.run()
        total += t.wall
        total_cpu += t.cpu
        step_times = {}
        with contextlib.suppress(Exception):
            for s in json.loads((logs / "stats.json").read_text()):
                ts = s.get("time_stats") or {}
                step_times[s.get("name", "?")] = round(ts.get("total", ts.get("global_mean", 0)) or 0, 3)
        out["stages"][name] = {"wall_s": round(t.wall, 3), "tasks": tasks, "step_time_s": step_times}
        print(f"  datatrove stage {name:<13} {t.wall:8.2f} s  (tasks={tasks}) steps: {step_times}", flush=True)
    out["wall_s"] = round(total, 3)
    out["cpu_s"] = round(total_cpu, 3)
    # what it kept
    kept = set()
    for p in outp.glob("*.jsonl"):
        with open(p, encoding="utf-8") as f:
            for line in f:
                kept.add(int(json.loads(line)["id"]))
    n = len(corpus)
    keep = np.zeros(n, bool)
    keep[list(kept)] = True
    # its clusters, from the .dups files of stage 2 (file id is always 0 with one stage-1 task)
    pairs = []
    for p in sorted(bkts.glob("*.dups")):
        data = p.read_bytes()
        for f1, d1, f2, d2 in struct.iter_unpack("<4I", data):
            pairs.append((d1, d2))
    out["pairs"] = len(pairs)
    labels = labels_from_pairs(n, pairs)
    # signatures from stage 1 bucket files, reassembled per document (sorted records: 8 x u64 + u32 doc)
    sig = np.full((n, cfg.num_buckets * cfg.hashes_per_bucket), np.iinfo(np.uint64).max, dtype=np.uint64)
    dtype = np.dtype([("h", "<u8", (cfg.hashes_per_bucket,)), ("doc", "<u4")])
    for b in range(cfg.num_buckets):
        rec = np.fromfile(sigs / f"bucket_{b:03d}" / "00000.minhash.sig", dtype=dtype)
        sig[rec["doc"], b * cfg.hashes_per_bucket:(b + 1) * cfg.hashes_per_bucket] = rec["h"]
    return {"timing": out, "keep": keep, "labels": labels, "sig": sig}


def run_ours_dedup(corpus: Corpus, ours, work: Path) -> dict:
    tok = fresh_tokenizer()
    cfg = ours.MinhashConfig()
    ours.dedup_texts(corpus.texts[:200], tok, cfg, work / "warm")  # JIT/cache load outside the clock
    tok = fresh_tokenizer()
    with Timer() as t:
        r = ours.dedup_texts(corpus.texts, tok, cfg, work / "ours")
    keep, cid, size = unpack_dedup_result(r)
    print(f"  ours dedup_texts         {t.wall:8.2f} s", flush=True)
    return {"timing": {"wall_s": round(t.wall, 3), "cpu_s": round(t.cpu, 3)}, "keep": keep, "labels": cid,
            "cluster_size": size}


def run_datasketch_lsh(ds_minhashes, params=None) -> dict:
    from datasketch import MinHashLSH

    n = len(ds_minhashes)
    with Timer() as t:
        lsh = MinHashLSH(threshold=0.72, num_perm=NUM_PERM, params=params)
        pairs = []
        for i, m in enumerate(ds_minhashes):
            for j in lsh.query(m):
                pairs.append((j, i))
            lsh.insert(i, m)
        labels = labels_from_pairs(n, pairs)
    keep = labels == np.arange(n)
    return {"timing": {"wall_s": round(t.wall, 3), "bands": lsh.b, "rows": lsh.r}, "keep": keep, "labels": labels}


# ------------------------------------------------------------------------------------------------ 4. quality
def quality(corpus: Corpus, keep: np.ndarray, labels: np.ndarray, true_j: np.ndarray) -> dict:
    truth = corpus.cluster
    sizes = np.bincount(truth)
    removed = ~keep
    n_removed = int(removed.sum())
    per_cluster = np.bincount(truth[removed], minlength=len(sizes))
    correct = int(np.minimum(per_cluster, np.maximum(sizes - 1, 0)).sum())
    true_dups = int((sizes - 1).sum())
    p = correct / n_removed if n_removed else 1.0
    r = correct / true_dups if true_dups else 1.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    # copies found together with the document they were made from, by true Jaccard
    has_parent = corpus.parent >= 0
    together = labels[has_parent] == labels[corpus.parent[has_parent]]
    kinds = np.array(corpus.kind)[has_parent]
    by_bin = {}
    bins = np.digitize(true_j, J_BINS) - 1
    for bi, lab in enumerate(J_LABELS):
        m = (bins == bi) & (kinds == "near")
        if m.any():
            by_bin[lab] = {"pairs": int(m.sum()), "found": round(float(together[m].mean()), 4)}
    exact = kinds == "exact"
    # merges across true clusters: predicted clusters holding documents of more than one true cluster
    pred = {}
    for lab, tc in zip(labels.tolist(), truth.tolist()):
        pred.setdefault(lab, set()).add(tc)
    mixed = sum(1 for s in pred.values() if len(s) > 1)
    uniques_removed = int((removed & (sizes[truth] == 1)).sum())
    wiped = int(((per_cluster == sizes) & (sizes > 1)).sum())
    return {"removed": n_removed, "correct": correct, "true_duplicates": true_dups,
            "precision": round(p, 4), "recall": round(r, 4), "f1": round(f1, 4),
            "uniques_removed": uniques_removed, "pred_clusters_mixing_true_clusters": mixed,
            "true_clusters_fully_removed": wiped,
            "exact_copies_found": round(float(together[exact].mean()), 4) if exact.any() else None,
            "near_copies_found_by_true_jaccard": by_bin}


def true_jaccards(corpus: Corpus, shingle_sets) -> np.ndarray:
    out = []
    for i in np.flatnonzero(corpus.parent >= 0):
        a, b = shingle_sets[i], shingle_sets[corpus.parent[i]]
        inter = len(np.intersect1d(a, b, assume_unique=True))
        union = len(a) + len(b) - inter
        out.append(inter / union if union else 1.0)
    return np.array(out)


# ------------------------------------------------------------------------------------------------ 5. memory
def memory_child(n: int, seed: int, baseline: bool) -> None:
    """Runs in a fresh subprocess: ours on n synthetic documents (or only the generator); prints one JSON line."""
    ours, err = load_ours()
    tok = fresh_tokenizer()
    docs = SyntheticDocs(n, seed)
    work = Path(tempfile.mkdtemp(prefix="dedup-mem-"))
    try:
        t0 = time.perf_counter()
        if baseline or ours is None:
            count = sum(1 for _ in docs)
            out = {"n": n, "baseline": True, "docs": count, "error": err}
        else:
            r = ours.dedup_texts(docs, tok, ours.MinhashConfig(), work)
            keep, _, _ = unpack_dedup_result(r)
            disk = sum(p.stat().st_size for p in work.rglob("*") if p.is_file())
            out = {"n": n, "baseline": False, "docs": int(len(keep)), "removed": int((~keep).sum()),
                   "work_dir_bytes_at_end": disk}
        out["wall_s"] = round(time.perf_counter() - t0, 2)
        out["maxrss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("MEMJSON " + json.dumps(out), flush=True)


def bench_memory(sizes: list[int], seed: int, cpu: int, res: dict) -> None:
    print("\n== 5. peak memory of ours (each size in a fresh subprocess, pinned to the same CPU) ==", flush=True)
    rows = []
    for n, baseline in [(sizes[0], True)] + [(n, False) for n in sizes]:
        cmd = [sys.executable, str(Path(__file__).resolve()), "--_memory-child", str(n), "--seed", str(seed),
               "--cpu", str(cpu)] + (["--_baseline"] if baseline else [])
        t0 = time.perf_counter()
        p = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        children_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        line = next((x for x in p.stdout.splitlines() if x.startswith("MEMJSON ")), None)
        if p.returncode != 0 or line is None:
            print(f"  n={n}: child failed (rc {p.returncode}): {p.stderr.strip()[-800:]}", flush=True)
            rows.append({"n": n, "baseline": baseline, "error": p.stderr.strip()[-800:]})
            continue
        out = json.loads(line[len("MEMJSON "):])
        out["process_wall_s"] = round(wall, 1)
        out["rusage_children_maxrss_mib_so_far"] = round(children_rss, 1)
        rows.append(out)
        what = "baseline (imports + generator, no dedup)" if out["baseline"] else "ours dedup_texts"
        extra = "" if out["baseline"] else (f", removed {out['removed']}, work dir at end "
                                            f"{out['work_dir_bytes_at_end'] / 2**20:.0f} MiB")
        print(f"  n={n:>8}  {what}: peak RSS {out['maxrss_mib']:8.1f} MiB, {out['wall_s']:8.1f} s "
              f"({n / out['wall_s']:.0f} docs/s incl. generating them){extra}", flush=True)
    res["memory"] = rows


# ------------------------------------------------------------------------------------------------ main
def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if "--web" in argv:  # web-style pages: duplicates in other chrome, hard negatives (benchmarks/dedup_web.py)
        from benchmarks.dedup_web import main as web_main

        return web_main([x for x in argv if x != "--web"])
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=int, default=20_000)
    ap.add_argument("--quick", action="store_true", help="2,000 documents")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cpu", type=int, default=0, help="CPU to pin to (default 0)")
    ap.add_argument("--memory", action="store_true", help="also peak memory of ours at --memory-sizes")
    ap.add_argument("--memory-sizes", default="20000,200000,1000000")
    ap.add_argument("--memory-only", action="store_true", help="only the memory part")
    ap.add_argument("--json", help="write all numbers to this file")
    ap.add_argument("--_memory-child", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--_baseline", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    with contextlib.suppress(OSError):
        os.sched_setaffinity(0, {a.cpu})
    if a._memory_child is not None:
        memory_child(a._memory_child, a.seed, a._baseline)
        return 0

    n = 2000 if a.quick else a.docs
    from curation.run.runner import quiet_datatrove

    quiet_datatrove(False)
    ours, ours_err = load_ours()
    kernels = load_kernels()
    res: dict = {"machine": {"cpu": cpu_model(), "pinned_cpu": a.cpu, "python": platform.python_version(),
                             "load_before": loadavg()},
                 "ours_available": ours is not None, "ours_error": ours_err}
    print(f"CPU: {res['machine']['cpu']}, pinned to CPU {a.cpu}; load average {res['machine']['load_before']}")
    if ours is None:
        print(f"NOTE: dedup.minhash is not available ({ours_err}); ours is skipped, the peers run alone.")
    sizes = [int(x) for x in a.memory_sizes.split(",") if x]
    if not a.memory_only:
        with Timer() as t:
            corpus = build_corpus(n, a.seed)
        summ = corpus.summary()
        res["corpus"] = summ
        print(f"corpus: {summ['docs']} docs in {t.wall:.1f} s, {summ['languages']} languages, "
              f"{summ['words_mean']} words/doc (median {summ['words_median']}), kinds {summ['kinds']}, "
              f"{summ['clusters_size_gt1']} true clusters of size>1 holding {summ['true_duplicates']} true duplicates,"
              f" largest {summ['largest_cluster']}")

        art = bench_signatures(corpus, ours, kernels, res)

        print("\n== 2./3. whole dedup ==", flush=True)
        work = Path(tempfile.mkdtemp(prefix="dedup-bench-"))
        try:
            dt = run_datatrove_dedup(corpus, work / "datatrove")
            results = {"datatrove": dt}
            if ours is not None:
                results["ours"] = run_ours_dedup(corpus, ours, work)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        res["dedup"] = {k: v["timing"] for k, v in results.items()}
        if "ours" in results:
            ratio = dt["timing"]["wall_s"] / results["ours"]["timing"]["wall_s"]
            res["dedup"]["ours_x_datatrove"] = round(ratio, 2)
            print(f"  whole dedup: datatrove {dt['timing']['wall_s']:.2f} s, ours "
                  f"{results['ours']['timing']['wall_s']:.2f} s -> ours {ratio:.2f}x faster")
        else:
            print(f"  whole dedup: datatrove {dt['timing']['wall_s']:.2f} s")

        # bit-for-bit
        print("\n== 2. signatures bit for bit ==")
        eq = {"datatrove_inprocess_vs_datatrove_stage1": int((art["dt_sig"] != dt["sig"]).any(axis=1).sum())}
        if "ours_sig" in art:
            eq["ours_vs_datatrove_stage1_mismatched_docs"] = int((art["ours_sig"] != dt["sig"]).any(axis=1).sum())
            eq["ours_vs_datatrove_inprocess_mismatched_docs"] = int(
                (art["ours_sig"] != art["dt_sig"]).any(axis=1).sum())
            eq["ours_vs_datatrove_mismatched_values"] = int((art["ours_sig"] != dt["sig"]).sum())
        eq["datatrove_fastwords_equals_datatrove"] = res.pop("datatrove_fastwords_equals_datatrove")
        eq["docs_compared"] = n
        res["bit_equality"] = eq
        for k, v in eq.items():
            print(f"  {k}: {v}")

        # quality
        print("\n== 4. quality vs the known clusters ==", flush=True)
        results["datasketch-lsh-0.72"] = run_datasketch_lsh(art["datasketch"])
        results["datasketch-lsh-14x8"] = run_datasketch_lsh(art["datasketch"], params=(NUM_BUCKETS, HASHES_PER_BUCKET))
        for k in ("datasketch-lsh-0.72", "datasketch-lsh-14x8"):
            res["dedup"][k] = results[k]["timing"]
        true_j = true_jaccards(corpus, art["shingle_sets"])
        res["true_jaccard_near_hist"] = dict(zip(J_LABELS, np.histogram(
            true_j[np.array(corpus.kind)[corpus.parent >= 0] == "near"], J_BINS)[0].tolist()))
        print(f"  true 5-gram Jaccard of near copies to their source: {res['true_jaccard_near_hist']}")
        res["quality"] = {}
        for k, v in results.items():
            q = quality(corpus, v["keep"], v["labels"], true_j)
            res["quality"][k] = q
            found = ", ".join(f"{b}: {x['found']:.2f}" for b, x in q["near_copies_found_by_true_jaccard"].items())
            print(f"  {k:<20} removed {q['removed']:>6}  P {q['precision']:.4f}  R {q['recall']:.4f}  "
                  f"F1 {q['f1']:.4f}  uniques removed {q['uniques_removed']}, mixed clusters "
                  f"{q['pred_clusters_mixing_true_clusters']}, exact copies found {q['exact_copies_found']}")
            print(f"  {'':<20} near copies found with their source, by true Jaccard: {found}")
        if "ours" in results:
            same = np.array_equal(canonical(results["ours"]["labels"]), canonical(dt["labels"]))
            same_keep = np.array_equal(results["ours"]["keep"], dt["keep"])
            res["ours_vs_datatrove"] = {"same_partition": bool(same), "same_kept_documents": bool(same_keep),
                                        "kept_differs_on": int((results["ours"]["keep"] != dt["keep"]).sum())}
            print(f"  ours vs datatrove: same clusters {same}, same kept documents {same_keep} "
                  f"(differ on {res['ours_vs_datatrove']['kept_differs_on']} docs; datatrove keeps the union-find "
                  f"root of each cluster, ours the smallest index)")
        # datatrove's kept docs vs its own clusters
        dtk = dt["keep"]
        res["datatrove_keep_is_one_per_cluster"] = bool(
            len(np.unique(dt["labels"][dtk])) == len(np.unique(dt["labels"])) == int(dtk.sum()))

    if a.memory or a.memory_only:
        bench_memory(sizes, a.seed, a.cpu, res)

    res["machine"]["load_after"] = loadavg()
    print(f"\nload average after: {res['machine']['load_after']}")
    if a.json:
        Path(a.json).write_text(json.dumps(res, indent=2, default=str))
        print(f"wrote {a.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
