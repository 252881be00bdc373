"""MinHash near-duplicate detection, FineWeb2's way (word 5-grams, xxhash64, 14 bands x 8 hashes), per language.

    signatures  normalise, split words, hash n-grams, permutation minima     (dedup.kernels, Numba, batched)
    buckets     per band: (band hashes, doc) records sorted on disk           (one band in memory at a time)
    clusters    equal band hashes -> pairs -> union-find                      (dedup.kernels)
    keep        the smallest document index of each cluster; cluster sizes for rehydration

Memory: a batch of signatures (batch_size x 112 x 8 bytes), one band's records at a time while it is sorted
and paired (68 bytes per document for 8 hashes, plus the sort order and pair temporaries), and the per-
document cluster arrays. Measured (benchmarks/dedup.py --memory, peak RSS, over a 549 MiB baseline of imports
and the corpus generator): 614 MiB at 20k documents, 639 MiB at 200k, 840 MiB at 1M, so about 250 bytes per
document at the margin: 10M documents of one language need about 3 GB. Disk: 68 bytes x bands per document.

The word tokenizer is passed in (a function text -> words), so the same per-language tokenizers as the
quality filters are used without this package importing them.
"""

from __future__ import annotations

import os
import struct
import unicodedata
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from datatrove.utils.text import NUMBERS_PATTERN, PUNCTUATION

from curation.core import CurationError
from dedup import kernels

BUCKET_MAGIC = b"CMHB"
BUCKET_VERSION = 1
_HEADER = struct.Struct("<4sHHQ")  # magic, version, hashes per band, records
_FOOTER = struct.Struct("<I")  # crc32 of header + records


@dataclass(frozen=True)
class MinhashConfig:
    """FineWeb2's configuration by default: P(found | Jaccard 0.8) = 0.924, threshold about 0.72."""

    n_grams: int = 5
    num_buckets: int = 14
    hashes_per_bucket: int = 8
    seed: int = 1

    @property
    def num_hashes(self) -> int:
        return self.num_buckets * self.hashes_per_bucket

    def parameters(self) -> tuple[np.ndarray, np.ndarray]:
        """The permutations `(a*h + b) mod (2^61 - 1)`, drawn as datatrove draws them from the seed."""
        gen = np.random.RandomState(self.seed)
        a = gen.randint(1, kernels.MERSENNE, dtype=np.uint64, size=(1, self.num_hashes))
        b = gen.randint(0, kernels.MERSENNE, dtype=np.uint64, size=(1, self.num_hashes))
        return a[0].copy(), b[0].copy()


# --------------------------------------------------------------------------------------------- normalisation

_PUNCT, _MARK = 1, 2
_FLAGS: np.ndarray | None = None


def _char_flags() -> np.ndarray:
    """uint8 per code point: punctuation (datatrove's list) and combining marks (category Mn)."""
    global _FLAGS
    if _FLAGS is None:
        flags = np.zeros(0x110000, dtype=np.uint8)
        flags[[ord(c) for c in PUNCTUATION]] |= _PUNCT
        flags[[cp for cp in range(0x110000) if unicodedata.category(chr(cp)) == "Mn"]] |= _MARK
        _FLAGS = flags
    return _FLAGS


def _present(text: str, flag: int) -> list[str]:
    """The distinct characters of `text` with `flag`: a table look-up over the code points in numpy, instead
    of hashing every character into a set."""
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    hits = codes[(_char_flags()[codes] & flag) != 0]
    return [chr(c) for c in np.unique(hits)] if len(hits) else []


def normalize(text: str) -> str:
    """datatrove's `simplify_text` (lowercase, numbers -> 0, punctuation -> space, one space, no diacritics),
    same output, several times faster: characters are replaced only for the few distinct punctuation marks
    and combining marks a text contains, found by a table look-up, instead of a per-character loop."""
    text = NUMBERS_PATTERN.sub("0", text.lower())
    for c in _present(text, _PUNCT):
        text = text.replace(c, " ")
    text = " ".join(text.split())
    if not text.isascii():
        text = unicodedata.normalize("NFD", text)
        for c in _present(text, _MARK):
            text = text.replace(c, "")
    return text.strip()


# --------------------------------------------------------------------------------------------- signatures


def _pack(texts: Iterable[str], tokenize: Callable[[str], list[str]]) -> tuple[np.ndarray, np.ndarray]:
    parts = [" ".join(tokenize(normalize(t))).encode("utf-8") for t in texts]
    offsets = np.zeros(len(parts) + 1, dtype=np.int64)
    np.cumsum([len(p) for p in parts], out=offsets[1:])
    return np.frombuffer(b"".join(parts), dtype=np.uint8), offsets


def signatures(texts: list[str], tokenize: Callable[[str], list[str]], config: MinhashConfig = MinhashConfig()) -> np.ndarray:
    """MinHash signatures, uint64[len(texts), num_hashes], equal to datatrove's; rows of 2^64-1 for documents
    shorter than one n-gram."""
    a, b = config.parameters()
    buf, offsets = _pack(texts, tokenize)
    out = np.empty((len(texts), config.num_hashes), dtype=np.uint64)
    kernels.minhash_batch(buf, offsets, config.n_grams, a, b, out)
    return out


# --------------------------------------------------------------------------------------------- bucket files


def record_dtype(hashes_per_bucket: int) -> np.dtype:
    return np.dtype([("h", "<u8", (hashes_per_bucket,)), ("doc", "<u4")])


def sort_records(records: np.ndarray) -> np.ndarray:
    """Records ordered by their band hashes (first hash first)."""
    h = records["h"]
    return records[np.lexsort(tuple(h[:, k] for k in range(h.shape[1] - 1, -1, -1)))]


def write_bucket(path: Path, records: np.ndarray) -> None:
    """Sorted fixed-width records with a checksum, written under a temporary name and renamed."""
    records = np.ascontiguousarray(sort_records(records))
    header = _HEADER.pack(BUCKET_MAGIC, BUCKET_VERSION, records["h"].shape[1], len(records))
    payload = memoryview(records).cast("B")  # no copy of the records
    crc = zlib.crc32(payload, zlib.crc32(header))
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(header)
        f.write(payload)
        f.write(_FOOTER.pack(crc))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def read_bucket(path: Path) -> np.ndarray:
    """A bucket file's records; a truncated or corrupt file is a CurationError naming it."""
    data = Path(path).read_bytes()
    if len(data) < _HEADER.size + _FOOTER.size:
        raise CurationError(f"bucket file {path}: truncated; delete it and run the dedup again to regenerate it")
    magic, version, per_bucket, count = _HEADER.unpack_from(data)
    dtype = record_dtype(per_bucket)
    expected = _HEADER.size + count * dtype.itemsize + _FOOTER.size
    if magic != BUCKET_MAGIC or version != BUCKET_VERSION or len(data) != expected:
        raise CurationError(f"bucket file {path}: not a complete bucket file (bad header or size); "
                            "delete it and run the dedup again to regenerate it")
    (crc,) = _FOOTER.unpack_from(data, len(data) - _FOOTER.size)
    if zlib.crc32(data[:-_FOOTER.size]) != crc:
        raise CurationError(f"bucket file {path}: checksum mismatch (corrupt); delete it and run the dedup again")
    return np.frombuffer(data, dtype=dtype, count=count, offset=_HEADER.size)


def band_pairs(records: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (first document of a run of equal band hashes, each later one) from sorted records."""
    h = records["h"]
    same = np.all(h[1:] == h[:-1], axis=1)
    if not same.any():
        return np.empty(0, np.int64), np.empty(0, np.int64)
    run_start = np.maximum.accumulate(np.where(np.concatenate(([False], same)), 0, np.arange(len(h))))
    idx = np.nonzero(np.concatenate(([False], same)))[0]
    docs = records["doc"].astype(np.int64)
    return docs[run_start[idx]], docs[idx]


# --------------------------------------------------------------------------------------------- the whole dedup


@dataclass
class DedupResult:
    keep: np.ndarray  # bool per document
    cluster_id: np.ndarray  # int64: the representative's index
    cluster_size: np.ndarray  # int64: size of the document's cluster

    @property
    def removed(self) -> int:
        return int((~self.keep).sum())


class Deduper:
    """Incremental form of `dedup_texts` for one language: `add(texts)` any number of batches (documents are
    numbered in order), then `finish()`. Only the spill files grow with the corpus."""

    def __init__(self, tokenize: Callable[[str], list[str]], config: MinhashConfig = MinhashConfig(),
                 work_dir: str | Path = ".", index=None):
        self.tokenize, self.config = tokenize, config
        self.index = index  # a dedup.index.BandIndex of earlier runs, or None
        self.work = Path(work_dir)
        self.work.mkdir(parents=True, exist_ok=True)
        self.dtype = record_dtype(config.hashes_per_bucket)
        self.spills = [open(self.work / f"band_{b:03d}.spill", "wb") for b in range(config.num_buckets)]
        self.n = 0
        self.without_ngrams = 0
        self.seen_before = 0

    def add(self, texts: list[str]) -> None:
        if texts:
            self.n = _spill(texts, self.n, self)

    def bucket_path(self, band: int) -> Path:
        return self.work / f"band_{band:03d}.bucket"

    def write_buckets(self) -> None:
        """Each band's spill file -> its sorted, checksummed bucket file (one band in memory at a time)."""
        for f in self.spills:
            f.close()
        for band in range(self.config.num_buckets):
            spill = self.work / f"band_{band:03d}.spill"
            if spill.exists():
                write_bucket(self.bucket_path(band), np.fromfile(spill, dtype=self.dtype))
                spill.unlink()

    def finish(self, index_label: str = "") -> DedupResult:
        """Clusters; with an index, clusters that match a document of an earlier run are removed whole, and
        the band digests of the documents kept now are appended to the index."""
        self.write_buckets()
        lefts, rights = [np.empty(0, np.int64)], [np.empty(0, np.int64)]
        in_index = np.zeros(self.n, dtype=bool)
        for band in range(self.config.num_buckets):
            records = read_bucket(self.bucket_path(band))
            left, right = band_pairs(records)
            lefts.append(left)
            rights.append(right)
            if self.index is not None:
                from dedup.index import band_digests

                hit = np.isin(band_digests(records["h"]), self.index.digests(band))
                in_index[records["doc"][hit].astype(np.int64)] = True
        root = kernels.union_find(self.n, np.concatenate(lefts), np.concatenate(rights))
        sizes = np.bincount(root, minlength=self.n)[root]
        keep = root == np.arange(self.n)
        if self.index is not None:
            old_clusters = np.zeros(self.n, dtype=bool)
            old_clusters[root[in_index]] = True
            before = keep.sum()
            keep &= ~old_clusters[root]
            self.seen_before = int(before - keep.sum())
            self._append_index(keep, index_label)
        return DedupResult(keep=keep, cluster_id=root, cluster_size=sizes.astype(np.int64))

    def _append_index(self, keep: np.ndarray, label: str) -> None:
        from dedup.index import band_digests

        per_band = []
        for band in range(self.config.num_buckets):
            records = read_bucket(self.bucket_path(band))
            per_band.append(band_digests(records["h"][keep[records["doc"].astype(np.int64)]]))
        self.index.append(per_band, int(keep.sum()), label)


def dedup_texts(texts: Iterable[str], tokenize: Callable[[str], list[str]], config: MinhashConfig = MinhashConfig(),
                work_dir: str | Path = ".", batch_size: int = 4096) -> DedupResult:
    """Signatures in batches -> one spill file per band -> sorted, checksummed bucket files -> pairs ->
    clusters. Documents without a single n-gram are never duplicates (as in datatrove)."""
    deduper = Deduper(tokenize, config, work_dir)
    batch: list[str] = []
    for text in texts:
        batch.append(text)
        if len(batch) == batch_size:
            deduper.add(batch)
            batch = []
    deduper.add(batch)
    return deduper.finish()


def _spill(batch, start, d: Deduper) -> int:
    config = d.config
    sigs = signatures(batch, d.tokenize, config)
    has = sigs[:, 0] != kernels.EMPTY
    d.without_ngrams += int((~has).sum())
    docs = np.arange(start, start + len(batch), dtype=np.uint32)[has]
    sigs = sigs[has]
    for band, f in enumerate(d.spills):
        rec = np.empty(len(docs), dtype=d.dtype)
        rec["h"] = sigs[:, band * config.hashes_per_bucket:(band + 1) * config.hashes_per_bucket]
        rec["doc"] = docs
        f.write(rec.tobytes())
    return start + len(batch)
