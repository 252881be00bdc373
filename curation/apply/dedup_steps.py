"""MinHash dedup as four datatrove steps, for runs split over many tasks or machines (Local, Slurm, Ray).

    1. MinhashSignatures  after a reader, N tasks    each task: per language, band records sorted on disk
    2. MinhashBuckets     up to bands x languages     each (language, band): the tasks' records merged -> pairs
    3. MinhashClusters    1 task (or one per language) union-find over all pairs -> keep / size / kept id
    4. MinhashFilter      the same reader, N tasks    drops duplicates, adds minhash_cluster_size and _id

Each stage is an executor run of its own, as with datatrove's MinHash steps; the same kernels and file
formats as `curate dedup` (dedup.minhash), so the decisions are the same: within a language, the document
read first (task order, then reading order) is kept. `work_folder` must be visible to every task (a shared
filesystem on a cluster):

    sigs/<lang>/rank_<r>/band_<b>.bucket   the task's records of that band, sorted, checksummed
    sigs/<lang>/rank_<r>/ids.json          the task's document ids in that language, in reading order
    sigs/rank_<r>.json                     documents per language; written last (the task's completion mark)
    pairs/<lang>/band_<b>.npy              matching (first, later) pairs, global document numbers
    clusters/<lang>/rank_<r>.parquet       id, keep, minhash_cluster_size, minhash_cluster_id per document
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
from dedup.minhash import Deduper, MinhashConfig, band_pairs, read_bucket, record_dtype, sort_records


def _splitter(language: str) -> Callable[[str], list[str]]:
    from filters.words import normalized_word_splitter

    return normalized_word_splitter(language)


def _language(doc, fixed: str | None) -> str:
    return fixed or doc.metadata.get("language") or "und"


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


class MinhashSignatures(PipelineStep):
    """Stage 1: signatures of this task's documents, per language, to sorted band files. Yields nothing."""

    name = "🫂 MinHash signatures"
    type = StageKind.DEDUP

    def __init__(self, work_folder: str, config: MinhashConfig = MinhashConfig(), language: str | None = None,
                 batch_size: int = 4096):
        super().__init__()
        if config.mode != "fineweb2":
            raise CurationError(f"the scale-out MinHash steps implement mode 'fineweb2' only (got {config.mode!r}); "
                                "mode 'robust' runs in `curate dedup` and the manifest's dedup stage")
        self.work, self.config, self.language, self.batch_size = Path(work_folder), config, language, batch_size

    def run(self, data, rank: int = 0, world_size: int = 1):
        mark = self.work / "sigs" / f"rank_{rank:05d}.json"
        if mark.exists():  # finished before: a resumed run skips it
            return
        dedupers: dict[str, Deduper] = {}
        ids: dict[str, list[str]] = {}
        pending: dict[str, list[str]] = {}
        for doc in data or ():
            lang = _language(doc, self.language)
            self.stat_update("documents", f"documents_{lang}")
            if lang not in dedupers:
                dedupers[lang] = Deduper(_splitter(lang), self.config, self.work / "sigs" / lang / f"rank_{rank:05d}")
                ids[lang], pending[lang] = [], []
            ids[lang].append(doc.id)
            pending[lang].append(doc.text if isinstance(doc.text, str) else "")
            if len(pending[lang]) >= self.batch_size:
                with self.track_time():
                    dedupers[lang].add(pending[lang])
                pending[lang] = []
        with self.track_time():
            for lang, d in dedupers.items():
                d.add(pending[lang])
                d.write_buckets()
                atomic.write_with(d.work / "ids.json", lambda p, i=ids[lang]: p.write_text(json.dumps(i)))
        atomic.write_with(mark, lambda p: p.write_text(json.dumps(
            {"rank": rank, "world_size": world_size, "config": self.config.__dict__,
             "documents": {lang: d.n for lang, d in dedupers.items()}})))
        yield from ()


class MinhashBuckets(PipelineStep):
    """Stage 2: for each (language, band) of this task, every signature task's records merged and sorted, and
    the matching pairs written. With `index`, also which documents match an earlier run's kept ones."""

    name = "🫂 MinHash buckets"
    type = StageKind.DEDUP

    def __init__(self, work_folder: str, index: str | None = None):
        super().__init__()
        self.work, self.index = Path(work_folder), index

    def run(self, data, rank: int = 0, world_size: int = 1):
        tasks = _signature_tasks(self.work)
        self.config = _config(tasks)
        jobs = [(lang, band) for lang in _languages(tasks) for band in range(self.config.num_buckets)]
        for lang, band in jobs[rank::world_size]:
            out = self.work / "pairs" / lang / f"band_{band:03d}.npy"
            if out.exists():
                continue
            with self.track_time():
                offsets = _offsets(tasks, lang)
                if offsets[-1] >= 2**32:
                    raise CurationError(f"{lang}: {offsets[-1]} documents in one language exceed the 2^32 "
                                        "the bucket records can number")
                parts = []
                for t in tasks:
                    path = self.work / "sigs" / lang / f"rank_{t['rank']:05d}" / f"band_{band:03d}.bucket"
                    if path.exists():
                        rec = read_bucket(path).copy()
                        rec["doc"] += np.uint32(offsets[t["rank"]])  # global numbers (checked above)
                        parts.append(rec)
                records = np.concatenate(parts) if parts else np.empty(0, record_dtype(self.config.hashes_per_bucket))
                records = sort_records(records)
                left, right = band_pairs(records)
                self.stat_update("pairs", value=len(left))
                if self.index:
                    digests = band_digests(records["h"])
                    hit = np.isin(digests, BandIndex(self.index, lang, self.config).digests(band))
                    docs = records["doc"].astype(np.int64)
                    atomic.write_with(out.with_name(f"band_{band:03d}.hits.npy"), lambda p: _save(p, docs[hit]))
                    by_doc = np.argsort(docs, kind="stable")
                    atomic.write_with(out.with_name(f"band_{band:03d}.digests.npy"),
                                  lambda p: _save(p, np.stack([docs[by_doc], digests[by_doc].view(np.int64)])))
                atomic.write_with(out, lambda p: _save(p, np.stack([left, right])))
        yield from ()


def _save(path: Path, array: np.ndarray) -> None:
    with open(path, "wb") as f:
        np.save(f, array)


class MinhashClusters(PipelineStep):
    """Stage 3: per language (split over tasks), clusters from all bands' pairs; the first document of each
    cluster is kept. With `index`, clusters holding a document of an earlier run are removed whole and the
    documents kept now are appended to the index."""

    name = "🫂 MinHash clusters"
    type = StageKind.DEDUP

    def __init__(self, work_folder: str, index: str | None = None, index_label: str = ""):
        super().__init__()
        self.work, self.index, self.index_label = Path(work_folder), index, index_label

    def run(self, data, rank: int = 0, world_size: int = 1):
        tasks = _signature_tasks(self.work)
        self.config = _config(tasks)
        for lang in _languages(tasks)[rank::world_size]:
            out_dir = self.work / "clusters" / lang
            if (out_dir / "done").exists():
                continue
            with self.track_time():
                self._cluster(lang, tasks, out_dir)
        yield from ()

    def _cluster(self, lang: str, tasks: list[dict], out_dir: Path) -> None:
        offsets = _offsets(tasks, lang)
        n = int(offsets[-1])
        pairs_dir = self.work / "pairs" / lang
        lefts, rights = [np.empty(0, np.int64)], [np.empty(0, np.int64)]
        in_index = np.zeros(n, dtype=bool)
        for band in range(self.config.num_buckets):
            path = pairs_dir / f"band_{band:03d}.npy"
            if not path.exists():
                raise CurationError(f"{path} is missing: run MinhashBuckets over every band first")
            pairs = np.load(path)
            lefts.append(pairs[0])
            rights.append(pairs[1])
            if self.index:
                in_index[np.load(pairs_dir / f"band_{band:03d}.hits.npy")] = True
        root = kernels.union_find(n, np.concatenate(lefts), np.concatenate(rights))
        sizes = np.bincount(root, minlength=n)[root]
        keep = root == np.arange(n)
        if self.index:
            old = np.zeros(n, dtype=bool)
            old[root[in_index]] = True
            keep &= ~old[root]
            self._append_index(lang, keep)
            self.stat_update("seen_before", value=int((old[root] & (root == np.arange(n))).sum()))
        ids = [i for t in tasks for i in _read_ids(self.work, lang, t["rank"], t["documents"].get(lang, 0))]
        kept_id = np.asarray(ids, dtype=object)[root]
        self.stat_update("documents", value=n)
        self.stat_update("removed", value=int((~keep).sum()))
        for t in tasks:
            lo, hi = offsets[t["rank"]], offsets[t["rank"] + 1]
            table = pa.table({"id": pa.array(ids[lo:hi], pa.string()), "keep": pa.array(keep[lo:hi]),
                              "minhash_cluster_size": pa.array(sizes[lo:hi].astype(np.int64)),
                              "minhash_cluster_id": pa.array(kept_id[lo:hi].tolist(), pa.string())})
            atomic.write_with(out_dir / f"rank_{t['rank']:05d}.parquet", lambda p: pq.write_table(table, p))
        atomic.write_with(out_dir / "done", lambda p: p.write_text("ok"))

    def _append_index(self, lang: str, keep: np.ndarray) -> None:
        per_band = []
        for band in range(self.config.num_buckets):
            docs, digests = np.load(self.work / "pairs" / lang / f"band_{band:03d}.digests.npy")
            per_band.append(digests.view(np.uint64)[keep[docs]])
        BandIndex(self.index, lang, self.config).append(per_band, int(keep.sum()), self.index_label)


def _read_ids(work: Path, lang: str, rank: int, expected: int) -> list[str]:
    if not expected:
        return []
    ids = json.loads((work / "sigs" / lang / f"rank_{rank:05d}" / "ids.json").read_text())
    if len(ids) != expected:
        raise CurationError(f"{work}/sigs/{lang}/rank_{rank:05d}/ids.json: {len(ids)} ids for {expected} documents")
    return ids


class MinhashFilter(PipelineStep):
    """Stage 4: reads the same input as stage 1 (same reader, same tasks) and drops the duplicates; the kept
    documents carry `minhash_cluster_size` and `minhash_cluster_id` (the kept document's id). Removed
    documents go to `exclusion_writer` with `duplicate_of`."""

    name = "🫂 MinHash filter"
    type = StageKind.DEDUP

    def __init__(self, work_folder: str, language: str | None = None, exclusion_writer=None):
        super().__init__()
        self.work, self.language, self.exclusion_writer = Path(work_folder), language, exclusion_writer

    def _decisions(self, lang: str, rank: int) -> pa.Table | None:
        path = self.work / "clusters" / lang / f"rank_{rank:05d}.parquet"
        if not (self.work / "clusters" / lang / "done").exists():
            raise CurationError(f"{path.parent}: MinHash clusters of {lang} are not finished; "
                                "run MinhashClusters first")
        return pq.read_table(path) if path.exists() else None

    def run(self, data, rank: int = 0, world_size: int = 1):
        decisions: dict[str, dict] = {}
        seen: dict[str, int] = {}
        writer = self.exclusion_writer
        if writer is not None:
            writer = writer.__enter__()
        try:
            for doc in data or ():
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
                        writer.write(doc, rank)
        finally:
            if writer is not None:
                writer.__exit__(None, None, None)
