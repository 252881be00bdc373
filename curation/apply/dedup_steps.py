"""MinHash dedup as datatrove steps, for runs split over many tasks or machines (Local, Slurm, Ray), in both
modes. Each step is an executor run of its own (a job array on Slurm, Ray tasks), after the one before:

    MinhashLines       robust, after a reader, N tasks  normalised line hashes -> 64 partition files per task
    MinhashLinesMerge  robust, up to 64 tasks           per partition: every task's keys counted -> boilerplate
    MinhashSignatures  after a reader, N tasks          per language: sorted band records, ids, order keys;
                                                        robust: whole signatures, n-gram counts, shingle sets,
                                                        and which documents match the persistent index
    MinhashBuckets     up to bands x languages          per (language, band): every task's records merged;
                                                        fineweb2: matching pairs; robust: candidate pairs,
                                                        split into `partitions` by the earlier document
    MinhashVerify      robust, up to languages x parts  per (language, partition): the candidate pairs of
                                                        every band, checked on both documents' signatures
    MinhashClusters    one task per language at most    fineweb2: union-find over all pairs; robust:
                                                        clusters around representatives over the verified
                                                        pairs; -> keep / size / kept id per document
    MinhashFilter      the same reader, N tasks         drops duplicates, adds minhash_cluster_size and _id

The kernels, file formats and decision rules are those of `curate dedup` (dedup.minhash), and the order is
dedup.order's (a hash of each document's id, then of its text), so the decisions equal the one-process
path's with `order="id"` whatever the number of tasks. `work_folder` must be visible to every task (a
shared filesystem on a cluster):

    lines/rank_<r>/lines_<p>.u64            a task's line keys of partition p (robust)
    lines/boilerplate_<p>.u64               the boilerplate keys of partition p, sorted (robust)
    sigs/<lang>/rank_<r>/band_<b>.bucket    the task's records of that band, sorted, checksummed
    sigs/<lang>/rank_<r>/ids.json, keys.u64 the task's document ids in that language, their order keys
    sigs/<lang>/rank_<r>/signatures.u64, ngrams.u32, shingles.*, index_hits.npy   (robust)
    sigs/rank_<r>.json                      documents per language; written last (the task's completion mark)
    pairs/<lang>/band_<b>.npy               fineweb2: matching (first, later) pairs, global document numbers
    pairs/<lang>/band_<b>.part_<k>.npy      robust: candidate pairs whose earlier document falls in part k
    verified/<lang>/part_<k>.npz            robust: verified pairs and their estimated Jaccard
    clusters/<lang>/rank_<r>.parquet        id, keep, minhash_cluster_size, minhash_cluster_id per document

Memory per task: Signatures as `curate dedup` per batch; Buckets one band's records of one language
(8 x hashes per band + 20 bytes per document); Verify the pairs of its partition and the signatures of
their documents (8 x hashes per document in a pair); Clusters: fineweb2 24 bytes per document of the
language (union-find, order keys), robust 40 bytes per document that is in a verified pair (the others
are their own cluster and never loaded) plus the pairs (20 bytes each), and one signature task's ids at a
time. Every output is written under a temporary name and renamed, and each step skips what it finished,
so a killed step is resumed by running it again.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from datatrove.pipeline.base import PipelineStep

from curation import atomic
from curation.core import CurationError, StageKind
from dedup import kernels
from dedup.index import BandIndex, band_digests
from dedup.minhash import Deduper, MinhashConfig, band_pairs, cluster_verified, read_bucket, record_dtype, verify_pairs
from dedup.order import first_in_order, order_keys, ranks

PARTITIONS = 16  # robust: candidate pairs are split this many ways by their earlier document for verification


def _splitter(language: str) -> Callable[[str], list[str]]:
    from filters.words import normalized_word_splitter

    return normalized_word_splitter(language)


def _language(doc, fixed: str | None) -> str:
    return fixed or doc.metadata.get("language") or "und"


def _safe(lang: str) -> str:
    return "".join(c if c.isalnum() or c in "_-" else "_" for c in str(lang)) or "und"


def _host(doc) -> str | None:
    from curation.apply.dedup import _host as host

    return host(doc.metadata.get("url"))


def _signature_tasks(work: Path) -> list[dict]:
    """The completion marks of every signature task, in rank order; an unfinished task is an error."""
    marks = sorted((work / "sigs").glob("rank_*.json"))
    if not marks:
        raise CurationError(f"{work / 'sigs'}: no finished MinHash signature task; run MinhashSignatures first")
    done = [json.loads(p.read_text()) for p in marks]
    world = done[0]["world_size"]
    missing = sorted(set(range(world)) - {d["rank"] for d in done})
    if missing:
        raise CurationError(f"{work / 'sigs'}: signature tasks {missing} of {world} have not finished; "
                            "run the signature step again (finished tasks are skipped)")
    return sorted(done, key=lambda d: d["rank"])


def _config(tasks: list[dict]) -> MinhashConfig:
    """The configuration the signature tasks used (recorded in their marks): later steps follow it."""
    configs = {json.dumps(t["config"], sort_keys=True) for t in tasks}
    if len(configs) != 1:
        raise CurationError(f"signature tasks used different MinHash settings: {sorted(configs)}")
    return MinhashConfig(**tasks[0]["config"])


def _offsets(tasks: list[dict], lang: str) -> np.ndarray:
    counts = [t["documents"].get(lang, 0) for t in tasks]
    return np.concatenate(([0], np.cumsum(counts))).astype(np.int64)


def _languages(tasks: list[dict]) -> list[str]:
    return sorted({lang for t in tasks for lang in t["documents"]})


def _task_dir(work: Path, lang: str, rank: int) -> Path:
    return work / "sigs" / _safe(lang) / f"rank_{rank:05d}"


def _save(path: Path, array: np.ndarray) -> None:
    with open(path, "wb") as f:
        np.save(f, array)


def _save_npz(path: Path, **arrays) -> None:
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def _texts(doc) -> str:
    return doc.text if isinstance(doc.text, str) else ""


# ------------------------------------------------------------------------------------ boilerplate (robust)


class MinhashLines(PipelineStep):
    """Robust, step 1 of 2 of the boilerplate lines: this task's pages' line keys (whole input and per host),
    spilled into the 64 partitions of dedup.boilerplate. Yields nothing."""

    name = "🫂 MinHash lines"
    type = StageKind.DEDUP

    def __init__(self, work_folder: str, config: MinhashConfig, batch_size: int = 4096):
        super().__init__()
        self.work, self.config, self.batch_size = Path(work_folder), config, batch_size

    def run(self, data, rank: int = 0, world_size: int = 1):
        from dedup.boilerplate import LineCounts

        mark = self.work / "lines" / f"rank_{rank:05d}.json"
        if mark.exists():
            return
        counts = LineCounts(self.config.boilerplate_host_docs, self.config.boilerplate_docs,
                            self.work / "lines" / f"rank_{rank:05d}")
        texts, hosts = [], []
        for doc in data or ():
            if not _texts(doc).strip():  # as `curate dedup`: a row without text is no page
                continue
            texts.append(doc.text)
            hosts.append(_host(doc))
            if len(texts) >= self.batch_size:
                with self.track_time():
                    counts.add(texts, hosts)
                texts, hosts = [], []
        with self.track_time():
            counts.add(texts, hosts)
            counts.close_spills()
        self.stat_update("pages", value=counts.pages)
        atomic.write_with(mark, lambda p: p.write_text(json.dumps({"rank": rank, "world_size": world_size,
                                                                    "pages": counts.pages})))
        yield from ()


class MinhashLinesMerge(PipelineStep):
    """Robust, step 2 of 2: per partition (split over tasks), every task's keys counted; the boilerplate keys
    kept. A partition holds 1/64 of every page's distinct lines, twice (about 2.5 billion keys for a billion
    pages of 80 lines): it is split into ranges of about dedup.boilerplate.COUNT_BYTES of keys in a temporary
    folder (each task's file read once) and counted one range at a time (about 0.8 GB of memory)."""

    name = "🫂 MinHash lines merge"
    type = StageKind.DEDUP

    def __init__(self, work_folder: str, config: MinhashConfig):
        super().__init__()
        self.work, self.config = Path(work_folder), config

    def run(self, data, rank: int = 0, world_size: int = 1):
        from dedup.boilerplate import PARTITIONS as PARTS
        from dedup.boilerplate import count_partition

        marks = sorted((self.work / "lines").glob("rank_*.json"))
        if not marks:
            raise CurationError(f"{self.work / 'lines'}: no finished line-count task; run MinhashLines first")
        world = json.loads(marks[0].read_text())["world_size"]
        missing = sorted(set(range(world)) - {json.loads(m.read_text())["rank"] for m in marks})
        if missing:
            raise CurationError(f"{self.work / 'lines'}: line-count tasks {missing} of {world} have not finished")
        for part in range(PARTS)[rank::world_size]:
            out = self.work / "lines" / f"boilerplate_{part:02d}.u64"
            if out.exists():
                continue
            with self.track_time():
                paths = [self.work / "lines" / f"rank_{r:05d}" / f"lines_{part:02d}.u64" for r in range(world)]
                keys = count_partition(paths, self.config.boilerplate_host_docs, self.config.boilerplate_docs)
                self.stat_update("boilerplate_lines", value=len(keys))
                atomic.write_with(out, lambda p, k=keys: k.tofile(p))
        yield from ()


def boilerplate_lines(work: Path, config: MinhashConfig):
    """The frozen dedup.boilerplate.LineCounts of the merged partitions."""
    from dedup.boilerplate import PARTITIONS as PARTS
    from dedup.boilerplate import LineCounts

    parts = [work / "lines" / f"boilerplate_{p:02d}.u64" for p in range(PARTS)]
    missing = [p.name for p in parts if not p.exists()]
    if missing:
        raise CurationError(f"{work / 'lines'}: boilerplate partitions {missing[:4]} are missing; "
                            "run MinhashLinesMerge first")
    keys = np.concatenate([np.fromfile(p, dtype=np.uint64) for p in parts])
    return LineCounts.frozen(keys, config.boilerplate_host_docs, config.boilerplate_docs)


# ------------------------------------------------------------------------------------------------ signatures


class MinhashSignatures(PipelineStep):
    """Signatures of this task's documents, per language, to sorted band files (and in mode robust the
    whole signatures, n-gram counts and shingle sets, for verification). Yields nothing."""

    name = "🫂 MinHash signatures"
    type = StageKind.DEDUP

    def __init__(self, work_folder: str, config: MinhashConfig = MinhashConfig(), language: str | None = None,
                 batch_size: int = 4096, index: str | None = None):
        super().__init__()
        self.work, self.config, self.language, self.batch_size = Path(work_folder), config, language, batch_size
        self.index = index

    def run(self, data, rank: int = 0, world_size: int = 1):
        mark = self.work / "sigs" / f"rank_{rank:05d}.json"
        if mark.exists():  # finished before: a resumed run skips it
            return
        lines = boilerplate_lines(self.work, self.config) if self.config.strips_boilerplate else None
        dedupers: dict[str, Deduper] = {}
        ids: dict[str, list[str]] = {}
        pending: dict[str, list] = {}
        no_text = 0

        def flush(lang):
            texts, hosts, doc_ids = zip(*pending[lang])
            with self.track_time():
                dedupers[lang].add(list(texts), list(hosts), order_keys(doc_ids, texts))
            pending[lang] = []

        for doc in data or ():
            lang = _language(doc, self.language)
            text = _texts(doc)
            if not text.strip():  # as `curate dedup`: no text, nothing to compare (and kept by the filter)
                self.stat_update("no_text")
                no_text += 1
                continue
            self.stat_update("documents", f"documents_{lang}")
            if lang not in dedupers:
                index = BandIndex(self.index, _safe(lang), self.config) if self.index and self.config.robust else None
                dedupers[lang] = Deduper(_splitter(lang), self.config, _task_dir(self.work, lang, rank),
                                         index=index, lines=lines)
                ids[lang], pending[lang] = [], []
            ids[lang].append(doc.id)
            pending[lang].append((text, _host(doc) if lines is not None else None, doc.id))
            if len(pending[lang]) >= self.batch_size:
                flush(lang)
        with self.track_time():
            for lang, d in dedupers.items():
                if pending[lang]:
                    flush(lang)
                d.close()
                d.write_buckets()
                keys = d.order_keys()
                atomic.write_with(d.work / "keys.u64", lambda p, k=keys: np.ascontiguousarray(k).tofile(p))
                if d.index is not None:  # which documents match one kept by an earlier run (verified as a pair)
                    hits = np.flatnonzero(d._verified_index_hits())
                    atomic.write_with(d.work / "index_hits.npy", lambda p, h=hits: _save(p, h))
                atomic.write_with(d.work / "ids.json", lambda p, i=ids[lang]: p.write_text(json.dumps(i)))
        atomic.write_with(mark, lambda p: p.write_text(json.dumps(
            {"rank": rank, "world_size": world_size, "config": self.config.__dict__, "no_text": no_text,
             "documents": {lang: d.n for lang, d in dedupers.items()}})))
        yield from ()


def _bk(band: int, part: int, band_parts: int) -> str:
    """The file stem of one band part's outputs."""
    return f"band_{band:03d}" if band_parts == 1 else f"band_{band:03d}_{part:03d}"


def _band_keys(config: MinhashConfig, band_parts: int) -> list[tuple[int, str]]:
    return [(b, _bk(b, p, band_parts)) for b in range(config.num_buckets) for p in range(band_parts)]


def _bucket_records(path: Path, config: MinhashConfig) -> np.ndarray:
    """A sorted bucket file's records, memory-mapped (nothing read until used)."""
    from dedup.minhash import _HEADER

    with open(path, "rb") as f:
        count = _HEADER.unpack_from(f.read(_HEADER.size))[3]
    return np.memmap(path, dtype=record_dtype(config.hashes_per_bucket), mode="r", offset=_HEADER.size,
                     shape=(count,))


def band_cuts(paths: list[Path], band_parts: int, config: MinhashConfig) -> list[int]:
    """The band_parts - 1 values of the first band hash that cut a band into parts of about equal size: quantiles
    of an even sample of every task's records (about 1,000 per part). The first hash is a MinHash minimum, so
    its values crowd near 0 and equal ranges of [0, 2^61) would put nearly every record in the first part.
    Every job of the band computes the same cuts from the same files."""
    if band_parts == 1:
        return []
    files = [_bucket_records(p, config) for p in paths]
    stride = max(1, sum(len(r) for r in files) // (1000 * band_parts))
    sample = np.sort(np.concatenate([np.asarray(r["h"][::stride, 0]) for r in files] + [np.empty(0, np.uint64)]))
    if not len(sample):
        return [0] * (band_parts - 1)
    return [int(sample[len(sample) * k // band_parts]) for k in range(1, band_parts)]


def _slice(path: Path, part: int, cuts: list[int], config: MinhashConfig) -> np.ndarray:
    """The records of a sorted bucket file whose first band hash falls in part `part` (between cuts[part - 1]
    and cuts[part]): a contiguous slice, found by binary search and read without the rest of the file (equal
    band hashes share their first hash, so no run of equal hashes is cut)."""
    if not cuts:
        return read_bucket(path).copy()
    import bisect

    rec = _bucket_records(path, config)
    h0 = rec["h"][:, 0]  # a strided view: bisect reads a few records (np.searchsorted would copy the column)
    lo = bisect.bisect_left(h0, np.uint64(cuts[part - 1])) if part > 0 else 0
    hi = bisect.bisect_left(h0, np.uint64(cuts[part])) if part < len(cuts) else len(rec)
    return np.array(rec[lo:hi])


def _band_records(work: Path, tasks: list[dict], lang: str, band: int, config: MinhashConfig, part: int = 0,
                  band_parts: int = 1):
    """Every task's records of a band (of one part of its hash range) with global document numbers, sorted by
    band hashes, then by the documents' order keys (so runs of equal hashes list documents in dedup.order's
    order). Memory: the part's records, 8 x hashes per band + 4 bytes each, and 16 bytes of order key."""
    offsets = _offsets(tasks, lang)
    if offsets[-1] >= 2**32:
        raise CurationError(f"{lang}: {offsets[-1]} documents in one language exceed the 2^32 "
                            "the bucket records can number")
    paths = {t["rank"]: _task_dir(work, lang, t["rank"]) / f"band_{band:03d}.bucket" for t in tasks}
    cuts = band_cuts([p for p in paths.values() if p.exists()], band_parts, config)
    parts, keys = [], []
    for t in tasks:
        folder = _task_dir(work, lang, t["rank"])
        path = paths[t["rank"]]
        if path.exists():
            rec = _slice(path, part, cuts, config)
            task_keys = np.memmap(folder / "keys.u64", dtype=np.uint64, mode="r").reshape(-1, 2)
            keys.append(task_keys[rec["doc"].astype(np.int64)])
            rec["doc"] += np.uint32(offsets[t["rank"]])  # global numbers (checked above)
            parts.append(rec)
    if not parts:
        return np.empty(0, record_dtype(config.hashes_per_bucket))
    records, keys = np.concatenate(parts), np.concatenate(keys)
    h = records["h"]
    order = np.lexsort((keys[:, 1], keys[:, 0]) + tuple(h[:, k] for k in range(h.shape[1] - 1, -1, -1)))
    return records[order]


class MinhashBuckets(PipelineStep):
    """For each (language, band) of this task, every signature task's records merged and sorted; fineweb2: the
    matching pairs (and with `index`, which documents match an earlier run's kept ones); robust: the
    candidate pairs (every earlier record of a run of equal hashes, at most Deduper.PAIR_CAP), split into
    `partitions` by their earlier document."""

    name = "🫂 MinHash buckets"
    type = StageKind.DEDUP

    def __init__(self, work_folder: str, index: str | None = None, partitions: int = PARTITIONS,
                 band_parts: int = 1):
        super().__init__()
        self.work, self.index, self.partitions, self.band_parts = Path(work_folder), index, partitions, band_parts

    def run(self, data, rank: int = 0, world_size: int = 1):
        tasks = _signature_tasks(self.work)
        self.config = _config(tasks)
        jobs = [(lang, band, part) for lang in _languages(tasks) for band in range(self.config.num_buckets)
                for part in range(self.band_parts)]
        for lang, band, part in jobs[rank::world_size]:
            folder = self.work / "pairs" / _safe(lang)
            stem = _bk(band, part, self.band_parts)
            done = folder / f"{stem}.done"
            if done.exists():
                continue
            with self.track_time():
                records = _band_records(self.work, tasks, lang, band, self.config, part, self.band_parts)
                if self.config.robust:
                    self._candidates(records, folder, stem)
                else:
                    self._pairs(records, folder, band, lang, stem)
                atomic.write_with(done, lambda p: p.write_text("ok"))
        yield from ()

    def _pairs(self, records, folder: Path, band: int, lang: str, stem: str) -> None:
        left, right = band_pairs(records)
        self.stat_update("pairs", value=len(left))
        if self.index:
            digests = band_digests(records["h"])
            hit = np.isin(digests, BandIndex(self.index, _safe(lang), self.config).digests(band))
            docs = records["doc"].astype(np.int64)
            atomic.write_with(folder / f"{stem}.hits.npy", lambda p: _save(p, docs[hit]))
            by_doc = np.argsort(docs, kind="stable")
            atomic.write_with(folder / f"{stem}.digests.npy",
                              lambda p: _save(p, np.stack([docs[by_doc], digests[by_doc].view(np.int64)])))
        atomic.write_with(folder / f"{stem}.npy", lambda p: _save(p, np.stack([left, right])))

    def _candidates(self, records, folder: Path, stem: str) -> None:
        h = records["h"]
        left = right = np.empty(0, np.int64)
        if len(h) > 1:
            same = np.concatenate(([False], np.all(h[1:] == h[:-1], axis=1)))
            run_start = np.maximum.accumulate(np.where(same, 0, np.arange(len(h))))
            left, right = kernels.run_pairs(records["doc"], run_start, Deduper.PAIR_CAP)
        self.stat_update("candidate_pairs", value=len(left))
        part = _part(left, self.partitions)
        for k in range(self.partitions):
            sel = part == k
            atomic.write_with(folder / f"{stem}.part_{k:03d}.npy",
                              lambda p, s=sel: _save(p, np.stack([left[s], right[s]])))


def _part(docs: np.ndarray, partitions: int) -> np.ndarray:
    with np.errstate(over="ignore"):
        mixed = docs.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    return ((mixed >> np.uint64(40)) % np.uint64(partitions)).astype(np.int64)


# ------------------------------------------------------------------------------------ verification (robust)


class _Gather:
    """Rows of the signature tasks' files (signatures, n-gram counts, shingle sets) by global document number,
    memory-mapped: a task reads only the rows of the documents in its pairs."""

    def __init__(self, work: Path, tasks: list[dict], lang: str, config: MinhashConfig):
        self.offsets = _offsets(tasks, lang)
        self.dirs = [_task_dir(work, lang, t["rank"]) for t in tasks]
        self.config = config

    def _split(self, docs: np.ndarray):
        task = np.searchsorted(self.offsets, docs, side="right") - 1
        for t in np.unique(task):
            sel = np.flatnonzero(task == t)
            yield int(t), sel, docs[sel] - self.offsets[t]

    def signatures(self, docs: np.ndarray) -> np.ndarray:
        out = np.empty((len(docs), self.config.num_hashes), np.uint64)
        for t, sel, local in self._split(docs):
            sigs = np.memmap(self.dirs[t] / "signatures.u64", dtype=np.uint64, mode="r").reshape(-1, out.shape[1])
            out[sel] = sigs[local]
        return out

    def sizes(self, docs: np.ndarray) -> np.ndarray:
        out = np.empty(len(docs), np.float64)
        for t, sel, local in self._split(docs):
            out[sel] = np.memmap(self.dirs[t] / "ngrams.u32", dtype=np.uint32, mode="r")[local]
        return out

    def shingle_sets(self, docs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The documents' sets back to back, and their offsets (in the order of `docs`)."""
        sets: list = [None] * len(docs)
        for t, sel, local in self._split(docs):
            counts = np.fromfile(self.dirs[t] / "shingles.count", dtype=np.int64)
            starts = np.concatenate(([0], np.cumsum(counts)))
            hashes = np.memmap(self.dirs[t] / "shingles.u32", dtype=np.uint32, mode="r") if starts[-1] else None
            for i, d in zip(sel, local):
                sets[i] = np.asarray(hashes[starts[d]:starts[d + 1]]) if hashes is not None else np.empty(0, np.uint32)
        counts = np.array([len(s) for s in sets], dtype=np.int64)
        flat = np.concatenate(sets) if sets else np.empty(0, np.uint32)
        return flat, np.concatenate(([0], np.cumsum(counts)))


class MinhashVerify(PipelineStep):
    """Robust: per (language, partition) of this task, the candidate pairs of every band, once each, checked
    as `curate dedup` checks them (estimated Jaccard of the whole signatures, containment, exact sets near
    the bounds), on the signatures of just the documents in these pairs."""

    name = "🫂 MinHash verify"
    type = StageKind.DEDUP

    def __init__(self, work_folder: str, partitions: int = PARTITIONS, band_parts: int = 1):
        super().__init__()
        self.work, self.partitions, self.band_parts = Path(work_folder), partitions, band_parts

    def run(self, data, rank: int = 0, world_size: int = 1):
        tasks = _signature_tasks(self.work)
        self.config = _config(tasks)
        jobs = [(lang, k) for lang in _languages(tasks) for k in range(self.partitions)]
        for lang, k in jobs[rank::world_size]:
            out = self.work / "verified" / _safe(lang) / f"part_{k:03d}.npz"
            if out.exists():
                continue
            with self.track_time():
                self._verify(tasks, lang, k, out)
        yield from ()

    def _verify(self, tasks, lang: str, k: int, out: Path) -> None:
        c = self.config
        folder = self.work / "pairs" / _safe(lang)
        lefts, rights = [np.empty(0, np.int64)], [np.empty(0, np.int64)]
        for band, stem in _band_keys(c, self.band_parts):
            if not (folder / f"{stem}.done").exists():
                raise CurationError(f"{folder}: band {band} has no candidate pairs yet; run MinhashBuckets first")
            pairs = np.load(folder / f"{stem}.part_{k:03d}.npy")
            lefts.append(pairs[0])
            rights.append(pairs[1])
        left, right = np.concatenate(lefts), np.concatenate(rights)
        n = int(_offsets(tasks, lang)[-1])
        if len(left):
            key = np.unique(left * n + right)
            left, right = key // n, key % n
        sim = np.empty(0, np.float32)
        if len(left):
            gather = _Gather(self.work, tasks, lang, c)
            docs, inv = np.unique(np.concatenate([left, right]), return_inverse=True)
            a, b = inv[:len(left)], inv[len(left):]
            sim = kernels.pair_similarity(gather.signatures(docs), a, b)
            sizes = gather.sizes(docs)

            def exact(x, y):
                used, local = np.unique(np.concatenate([x, y]), return_inverse=True)
                flat, offsets = gather.shingle_sets(docs[used])
                counts = np.diff(offsets)
                lx, ly = local[:len(x)], local[len(x):]
                return kernels.set_overlaps(flat, offsets, lx, ly), counts[lx], counts[ly]

            ok, n_exact = verify_pairs(c, a, b, sim, sizes[a], sizes[b], exact)
            self.stat_update("exact_pairs", value=n_exact)
            left, right, sim = left[ok], right[ok], sim[ok]
        self.stat_update("verified_pairs", value=len(left))
        out.parent.mkdir(parents=True, exist_ok=True)
        atomic.write_with(out, lambda p: _save_npz(p, left=left, right=right, sim=sim))


# ------------------------------------------------------------------------------------------------ clusters


class MinhashClusters(PipelineStep):
    """Per language (split over tasks), clusters: fineweb2 union-find over all pairs, robust representatives
    over the verified pairs; the first document of each cluster in dedup.order's order is kept. With `index`,
    clusters holding a document of an earlier run are removed whole and the documents kept now are appended
    to the index (one segment per signature task, labelled `index_label`)."""

    name = "🫂 MinHash clusters"
    type = StageKind.DEDUP

    def __init__(self, work_folder: str, index: str | None = None, index_label: str = "",
                 partitions: int = PARTITIONS, band_parts: int = 1):
        super().__init__()
        self.work, self.index, self.index_label = Path(work_folder), index, index_label
        self.partitions, self.band_parts = partitions, band_parts

    def run(self, data, rank: int = 0, world_size: int = 1):
        tasks = _signature_tasks(self.work)
        self.config = _config(tasks)
        for lang in _languages(tasks)[rank::world_size]:
            out_dir = self.work / "clusters" / _safe(lang)
            if (out_dir / "done").exists():
                continue
            with self.track_time():
                if self.index:  # a killed attempt may have appended this run's documents already
                    from dedup.index import drop_segments

                    drop_segments(self.index, self.index_label, languages=[_safe(lang)])
                if self.config.robust:
                    self._cluster_verified(lang, tasks, out_dir)
                else:
                    self._cluster(lang, tasks, out_dir)
        yield from ()

    def _keys(self, lang: str, tasks: list[dict]) -> np.ndarray:
        parts = [np.fromfile(_task_dir(self.work, lang, t["rank"]) / "keys.u64", dtype=np.uint64).reshape(-1, 2)
                 for t in tasks if t["documents"].get(lang, 0)]
        return np.concatenate(parts) if parts else np.empty((0, 2), np.uint64)

    def _cluster(self, lang: str, tasks: list[dict], out_dir: Path) -> None:
        n = int(_offsets(tasks, lang)[-1])
        pairs_dir = self.work / "pairs" / _safe(lang)
        lefts, rights = [np.empty(0, np.int64)], [np.empty(0, np.int64)]
        in_index = np.zeros(n, dtype=bool)
        for _, stem in _band_keys(self.config, self.band_parts):
            path = pairs_dir / f"{stem}.npy"
            if not path.exists():
                raise CurationError(f"{path} is missing: run MinhashBuckets over every band first")
            pairs = np.load(path)
            lefts.append(pairs[0])
            rights.append(pairs[1])
            if self.index:
                in_index[np.load(pairs_dir / f"{stem}.hits.npy")] = True
        root = kernels.union_find(n, np.concatenate(lefts), np.concatenate(rights))
        sizes = np.bincount(root, minlength=n)[root]
        rep = first_in_order(root, *ranks(self._keys(lang, tasks)))
        keep = rep == np.arange(n)
        if self.index:
            old = np.zeros(n, dtype=bool)
            old[root[in_index]] = True
            self.stat_update("seen_before", value=int((old[root] & keep).sum()))
            keep &= ~old[root]
            self._append_index(lang, keep)
        self._write(lang, tasks, out_dir, np.arange(n), keep, sizes, rep, n)

    def _cluster_verified(self, lang: str, tasks: list[dict], out_dir: Path) -> None:
        offsets = _offsets(tasks, lang)
        n = int(offsets[-1])
        folder = self.work / "verified" / _safe(lang)
        parts = [folder / f"part_{k:03d}.npz" for k in range(self.partitions)]
        if not all(p.exists() for p in parts):
            raise CurationError(f"{folder}: not every partition is verified; run MinhashVerify first")
        loaded = [np.load(p) for p in parts]
        left = np.concatenate([z["left"] for z in loaded] or [np.empty(0, np.int64)])
        right = np.concatenate([z["right"] for z in loaded] or [np.empty(0, np.int64)])
        sim = np.concatenate([z["sim"] for z in loaded] or [np.empty(0, np.float32)])
        hits = []
        for t in tasks:
            path = _task_dir(self.work, lang, t["rank"]) / "index_hits.npy"
            if self.index and path.exists():
                hits.append(np.load(path) + offsets[t["rank"]])
        in_index = np.concatenate(hits) if hits else np.empty(0, np.int64)
        # only documents in a verified pair (or matching the index) can be anything but their own cluster
        docs, inv = np.unique(np.concatenate([left, right]), return_inverse=True)
        keys = self._gather_keys(lang, tasks, offsets, docs)
        rep_local = cluster_verified(len(docs), inv[:len(left)], inv[len(left):], sim, ranks(keys))
        rep = docs[rep_local]
        sizes = np.bincount(rep_local, minlength=len(docs))[rep_local]
        keep = rep == docs
        removed_old = np.zeros(0, np.int64)
        if len(in_index):
            old = keep & np.isin(rep, in_index)  # representatives that match the index: the cluster goes
            keep &= ~np.isin(rep, in_index)
            removed_old = np.setdiff1d(in_index, docs)  # documents alone in their cluster that match it
            self.stat_update("seen_before", value=int(old.sum()) + len(removed_old))
        self._write(lang, tasks, out_dir, docs, keep, sizes, rep, n, removed_old)
        if self.index:
            self._append_index_signatures(lang, tasks, offsets, docs, keep, removed_old)

    def _gather_keys(self, lang, tasks, offsets, docs) -> np.ndarray:
        out = np.empty((len(docs), 2), np.uint64)
        task = np.searchsorted(offsets, docs, side="right") - 1
        for t in np.unique(task):
            sel = task == t
            keys = np.memmap(_task_dir(self.work, lang, tasks[t]["rank"]) / "keys.u64", dtype=np.uint64,
                             mode="r").reshape(-1, 2)
            out[sel] = keys[docs[sel] - offsets[t]]
        return out

    def _write(self, lang, tasks, out_dir: Path, docs, keep, sizes, rep, n, removed_old=None) -> None:
        """Per signature task, its documents' decisions; `docs` (sorted global numbers) are the documents
        with a decision other than "kept, alone": the rest are kept in a cluster of one."""
        offsets = _offsets(tasks, lang)
        # the kept documents that others point at (sorted global numbers) and their ids, in that order (the
        # tasks' numbers ascend with their rank): an Arrow array, about 16 bytes + the id per cluster, where
        # a dict of Python objects took about 200 (the one structure here that grows with the language)
        need = np.unique(rep[~keep | (sizes > 1)])
        chunks = [pa.array([], pa.large_string())]
        for t in tasks:  # ids of the representatives first (any task may hold one)
            lo, hi = int(offsets[t["rank"]]), int(offsets[t["rank"] + 1])
            mine = need[(need >= lo) & (need < hi)]
            if len(mine):
                ids = _read_ids(self.work, lang, t["rank"], hi - lo)
                chunks.append(pa.array([ids[d] for d in (mine - lo).tolist()], pa.large_string()))
        need_ids = pa.concat_arrays(chunks)
        removed = 0
        for t in tasks:
            lo, hi = int(offsets[t["rank"]]), int(offsets[t["rank"] + 1])
            ids = _read_ids(self.work, lang, t["rank"], hi - lo)
            k = np.ones(hi - lo, dtype=bool)
            size = np.ones(hi - lo, dtype=np.int64)
            cluster = np.array(ids, dtype=object)
            sel = np.flatnonzero((docs >= lo) & (docs < hi))
            local = docs[sel] - lo
            k[local], size[local] = keep[sel], sizes[sel]
            r = rep[sel]
            at = np.minimum(np.searchsorted(need, r), max(len(need) - 1, 0))
            pointed = (need[at] == r) if len(need) else np.zeros(len(r), bool)
            if pointed.any():
                cluster[local[pointed]] = need_ids.take(pa.array(at[pointed])).to_pylist()
            # the others are kept alone: their own id (they are in this task)
            cluster[local[~pointed]] = [ids[d] for d in (r[~pointed] - lo).tolist()]
            if removed_old is not None and len(removed_old):
                k[removed_old[(removed_old >= lo) & (removed_old < hi)] - lo] = False
            removed += int((~k).sum())
            table = pa.table({"id": pa.array(ids, pa.string()), "keep": pa.array(k),
                              "minhash_cluster_size": pa.array(size),
                              "minhash_cluster_id": pa.array(cluster.tolist(), pa.string())})
            atomic.write_with(out_dir / f"rank_{t['rank']:05d}.parquet", lambda p, tb=table: pq.write_table(tb, p))
        self.stat_update("documents", value=n)
        self.stat_update("removed", value=removed)
        atomic.write_with(out_dir / "done", lambda p: p.write_text("ok"))

    def _append_index(self, lang: str, keep: np.ndarray) -> None:
        per_band = []
        for band in range(self.config.num_buckets):
            kept = []
            for part in range(self.band_parts):
                name = f"{_bk(band, part, self.band_parts)}.digests.npy"
                docs, digests = np.load(self.work / "pairs" / _safe(lang) / name)
                kept.append(digests.view(np.uint64)[keep[docs]])
            per_band.append(np.concatenate(kept))
        BandIndex(self.index, _safe(lang), self.config).append(per_band, int(keep.sum()), self.index_label)

    def _append_index_signatures(self, lang, tasks, offsets, docs, keep, removed_old) -> None:
        """One index segment per signature task: its kept documents' band digests, signatures, n-gram counts."""
        c = self.config
        index = BandIndex(self.index, _safe(lang), c)
        for t in tasks:
            lo, hi = int(offsets[t["rank"]]), int(offsets[t["rank"] + 1])
            if hi == lo:
                continue
            folder = _task_dir(self.work, lang, t["rank"])
            k = np.ones(hi - lo, dtype=bool)
            sel = np.flatnonzero((docs >= lo) & (docs < hi))
            k[docs[sel] - lo] = keep[sel]
            k[removed_old[(removed_old >= lo) & (removed_old < hi)] - lo] = False
            sigs = np.memmap(folder / "signatures.u64", dtype=np.uint64, mode="r").reshape(-1, c.num_hashes)
            rows = np.flatnonzero(k & (np.asarray(sigs[:, 0]) != kernels.EMPTY))
            kept = np.asarray(sigs[rows])
            per_band = [band_digests(kept[:, b * c.hashes_per_bucket:(b + 1) * c.hashes_per_bucket])
                        for b in range(c.num_buckets)]
            sizes = np.fromfile(folder / "ngrams.u32", dtype=np.uint32)[rows]
            index.append(per_band, len(rows), self.index_label, signatures=kept, ngrams=sizes)


def _read_ids(work: Path, lang: str, rank: int, expected: int) -> list[str]:
    if not expected:
        return []
    ids = json.loads((_task_dir(work, lang, rank) / "ids.json").read_text())
    if len(ids) != expected:
        raise CurationError(f"{_task_dir(work, lang, rank)}/ids.json: {len(ids)} ids for {expected} documents")
    return ids


class MinhashFilter(PipelineStep):
    """Reads the same input as the signature step (same reader, same tasks) and drops the duplicates; the kept
    documents carry `minhash_cluster_size` and `minhash_cluster_id` (the kept document's id). Removed
    documents go to `exclusion_writer` with `duplicate_of`."""

    name = "🫂 MinHash filter"
    type = StageKind.DEDUP

    def __init__(self, work_folder: str, language: str | None = None, exclusion_writer=None):
        super().__init__()
        self.work, self.language, self.exclusion_writer = Path(work_folder), language, exclusion_writer

    def _decisions(self, lang: str, rank: int) -> pa.Table | None:
        path = self.work / "clusters" / _safe(lang) / f"rank_{rank:05d}.parquet"
        if not (self.work / "clusters" / _safe(lang) / "done").exists():
            raise CurationError(f"{path.parent}: MinHash clusters of {lang} are not finished; "
                                "run MinhashClusters first")
        return pq.read_table(path) if path.exists() else None

    def run(self, data, rank: int = 0, world_size: int = 1):
        decisions: dict[str, dict] = {}
        seen: dict[str, int] = {}
        writer = self.exclusion_writer
        ctx = writer is not None and hasattr(writer, "__enter__")  # a datatrove writer, or write/close/abort
        if ctx:
            writer = writer.__enter__()
        finished = False
        try:
            for doc in data or ():
                if not _texts(doc).strip():  # never signed: kept, as `curate dedup` keeps it
                    self.stat_update("kept", "no_text")
                    yield doc
                    continue
                lang = _language(doc, self.language)
                if lang not in decisions:
                    table = self._decisions(lang, rank)
                    decisions[lang] = {c: table.column(c).to_pylist() for c in table.column_names} if table else {}
                    seen[lang] = 0
                d, i = decisions[lang], seen[lang]
                if i >= len(d.get("id", ())) or d["id"][i] != doc.id:
                    raise CurationError(
                        f"MinHash filter, task {rank}: document {doc.id!r} ({lang}, number {i}) is not the one the "
                        "signature step read there; run the filter on the same input with the same tasks")
                seen[lang] = i + 1
                doc.metadata["minhash_cluster_size"] = d["minhash_cluster_size"][i]
                doc.metadata["minhash_cluster_id"] = d["minhash_cluster_id"][i]
                if d["keep"][i]:
                    self.stat_update("kept", f"kept_{lang}")
                    yield doc
                else:
                    self.stat_update("removed", f"removed_{lang}")
                    if writer is not None:
                        doc.metadata["duplicate_of"] = d["minhash_cluster_id"][i]
                        doc.metadata["filter_reason"] = "near_duplicate"
                        writer.write(doc, rank)
            finished = True
        finally:
            if ctx:
                writer.__exit__(None, None, None)
            elif writer is not None:
                writer.close() if finished else writer.abort()


def step_plan(reader: Callable[[], PipelineStep], work_folder: str, config: MinhashConfig, tasks: int,
              index: str | None = None, index_label: str = "", exclusion_writer=None,
              after: list[PipelineStep] | None = None, band_parts: int = 1,
              verify_parts: int = PARTITIONS) -> list[tuple[str, list[PipelineStep], int]]:
    """The whole dedup as (name, pipeline, tasks) runs, each after the one before: `reader()` makes the
    reader of the documents (called for each step that reads them: it must read them in the same order);
    `after` are the steps that take the kept documents (e.g. a writer). `band_parts` splits each band's
    records into that many hash ranges, each a job of the buckets step (its memory: 1/band_parts of a band);
    `verify_parts` splits the candidate pairs by their earlier document, one verify job each."""
    plan = []
    if config.strips_boilerplate:
        plan += [("lines", [reader(), MinhashLines(work_folder, config)], tasks),
                 ("lines_merge", [MinhashLinesMerge(work_folder, config)], tasks)]
    plan += [("signatures", [reader(), MinhashSignatures(work_folder, config, index=index)], tasks),
             ("buckets", [MinhashBuckets(work_folder, index=None if config.robust else index, band_parts=band_parts,
                                         partitions=verify_parts)], tasks)]
    if config.robust:
        plan.append(("verify", [MinhashVerify(work_folder, band_parts=band_parts, partitions=verify_parts)], tasks))
    plan += [("clusters", [MinhashClusters(work_folder, index=index, index_label=index_label, band_parts=band_parts,
                                           partitions=verify_parts)], tasks),
             ("filter", [reader(), MinhashFilter(work_folder, exclusion_writer=exclusion_writer)] + list(after or []),
              tasks)]
    return plan
