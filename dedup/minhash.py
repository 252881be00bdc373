"""MinHash near-duplicate detection per language, in two modes (MinhashConfig.mode).

mode "fineweb2" (FineWeb2's way: word 5-grams, xxhash64, 14 bands x 8 hashes, bit-identical to datatrove):

    signatures  normalise, split words, hash n-grams, permutation minima     (dedup.kernels, Numba, batched)
    buckets     per band: (band hashes, doc) records sorted on disk           (one band in memory at a time)
    clusters    equal band hashes -> pairs -> union-find                      (dedup.kernels)
    keep        the smallest document index of each cluster; cluster sizes for rehydration

mode "robust" (the stage's default; settings in ROBUST, measured by benchmarks/dedup.py --web):

    lines       first pass: exact counts of normalised lines per host and input (dedup.boilerplate)
    signatures  of each page without its boilerplate lines; whole signatures and n-gram counts (and,
                with exact_margin, the distinct n-gram hashes) kept on disk
    candidates  every earlier record of a run of equal band hashes (at most PAIR_CAP partners)
    verify      estimated Jaccard of the whole signatures, containment from the n-gram counts, exact
                Jaccard of the shingle sets for pairs near a bound
    clusters    in document order, a document joins the most similar representative it passes with
                (kernels.representative_clusters): no chains through members

Memory: a batch of signatures (batch_size x 112 x 8 bytes), one band's records at a time while it is sorted
and paired (68 bytes per document for 8 hashes, plus the sort order and pair temporaries), and the per-
document cluster arrays. Measured (benchmarks/dedup.py --memory, peak RSS, over a 549 MiB baseline of imports
and the corpus generator): 614 MiB at 20k documents, 639 MiB at 200k, 840 MiB at 1M, so about 250 bytes per
document at the margin: 10M documents of one language need about 3 GB. Disk: 68 bytes x bands per document.
Mode robust adds, per document, 8 bytes x num_hashes of signatures, 4 bytes of n-gram count, and with the
exact check 4 bytes per distinct n-gram; the line counts spill 16 bytes per distinct line of a page to
disk during the first pass and keep the sorted set of boilerplate lines (8 bytes each) in memory. Its candidate pairs
(16 bytes each while they are verified) grow with the number of pairs above a Jaccard of about 0.2.

The word tokenizer is passed in (a function text -> words), so the same per-language tokenizers as the
quality filters are used without this package importing them.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from curation.core import CurationError
from dedup import kernels
from dedup.boilerplate import LineCounts, page_lines
from dedup.normalize import normalize

SPACE_BYTE = 32
BUCKET_MAGIC = b"CMHB"
BUCKET_VERSION = 1
_HEADER = struct.Struct("<4sHHQ")  # magic, version, hashes per band, records
_FOOTER = struct.Struct("<I")  # crc32 of header + records


MODES = ("fineweb2", "robust")


@dataclass(frozen=True)
class MinhashConfig:
    """FineWeb2's configuration by default: P(found | Jaccard 0.8) = 0.924, threshold about 0.72.

    mode "fineweb2": every candidate pair of the LSH joins one cluster (union-find), shingles of the whole
    text: FineWeb2's decisions exactly. mode "robust": boilerplate lines (dedup.boilerplate) are left out
    of the shingles when `boilerplate` is on, each candidate pair is checked by the estimated Jaccard of
    the whole signatures (kept at `threshold` or above), and a document joins a cluster only when it is
    similar to the cluster's representative (no chaining). `containment` (< 1) also keeps pairs at half the
    threshold whose smaller document is that much contained in the larger; `exact_margin` (> 0) decides
    pairs whose estimate is that close to a bound on their exact shingle sets. `ROBUST` holds the measured
    defaults (`config_for` applies them)."""

    n_grams: int = 5
    num_buckets: int = 14
    hashes_per_bucket: int = 8
    seed: int = 1
    mode: str = "fineweb2"
    threshold: float = 0.5
    containment: float = 1.0
    exact_margin: float = 0.0
    boilerplate: bool = True
    boilerplate_host_docs: int = 3
    boilerplate_docs: int = 50

    def __post_init__(self):
        if self.mode not in MODES:
            raise CurationError(f"dedup mode {self.mode!r}: use one of {', '.join(MODES)}")
        for name in ("n_grams", "num_buckets", "hashes_per_bucket"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise CurationError(f"dedup {name} = {value!r}: must be a whole number of at least 1")
        if not 0.0 < self.threshold <= 1.0:
            raise CurationError(f"dedup threshold = {self.threshold!r}: an estimated Jaccard similarity in (0, 1]")
        if not 0.0 < self.containment <= 1.0:
            raise CurationError(f"dedup containment = {self.containment!r}: a share in (0, 1] (1 turns the check off)")
        if not 0.0 <= self.exact_margin <= 1.0:
            raise CurationError(f"dedup exact_margin = {self.exact_margin!r}: a Jaccard distance in [0, 1] (0: off)")
        for name in ("boilerplate_host_docs", "boilerplate_docs"):
            if getattr(self, name) < 2:
                raise CurationError(f"dedup {name} = {getattr(self, name)!r}: must be at least 2 pages "
                                    "(a line on one page is never boilerplate)")

    @property
    def num_hashes(self) -> int:
        return self.num_buckets * self.hashes_per_bucket

    @property
    def robust(self) -> bool:
        return self.mode == "robust"

    @property
    def strips_boilerplate(self) -> bool:
        return self.mode == "robust" and self.boilerplate

    def identity(self) -> dict:
        """What decides the signatures and decisions (the persistent index refuses other settings); the
        fineweb2 mode gives the same dict as before the modes existed, so its indexes stay valid."""
        d = {"n_grams": self.n_grams, "num_buckets": self.num_buckets,
             "hashes_per_bucket": self.hashes_per_bucket, "seed": self.seed}
        if self.robust:
            d.update(mode=self.mode, boilerplate=self.boilerplate,
                     boilerplate_host_docs=self.boilerplate_host_docs, boilerplate_docs=self.boilerplate_docs)
        return d

    def parameters(self) -> tuple[np.ndarray, np.ndarray]:
        """The permutations `(a*h + b) mod (2^61 - 1)`, drawn as datatrove draws them from the seed."""
        gen = np.random.RandomState(self.seed)
        a = gen.randint(1, kernels.MERSENNE, dtype=np.uint64, size=(1, self.num_hashes))
        b = gen.randint(0, kernels.MERSENNE, dtype=np.uint64, size=(1, self.num_hashes))
        return a[0].copy(), b[0].copy()


# The defaults of mode "robust" (the dedup stage's and `curate dedup`'s), picked on benchmarks/dedup.py --web
# (see benchmarks/RESULTS.md): word 3-grams, 28 bands x 4 hashes (112 hashes as FineWeb2, candidates from a
# Jaccard of about 0.3 on), pairs kept at an estimated Jaccard of 0.3, or 0.15 with 80% of the smaller
# document contained in the larger (truncated copies); pairs whose estimate is within 0.1 of those bounds
# are decided on their exact shingle sets (32-bit hashes kept on disk: 4 bytes per distinct n-gram).
ROBUST = dict(n_grams=3, num_buckets=28, hashes_per_bucket=4, threshold=0.3, containment=0.8, exact_margin=0.1)
FINEWEB2 = dict(n_grams=5, num_buckets=14, hashes_per_bucket=8)


def config_for(mode: str = "robust", **settings) -> "MinhashConfig":
    """A mode's defaults, with `settings` (None values ignored) on top: what the stage and the CLI build."""
    if mode not in MODES:
        raise CurationError(f"dedup mode {mode!r}: use one of {', '.join(MODES)}")
    given = {k: v for k, v in settings.items() if v is not None}
    if mode == "fineweb2":
        extra = sorted(set(given) - {"n_grams", "num_buckets", "hashes_per_bucket", "seed"})
        if extra:
            raise CurationError(f"dedup mode 'fineweb2' has no verification or boilerplate removal: "
                                f"{', '.join(extra)} {'applies' if len(extra) == 1 else 'apply'} only to mode "
                                "'robust' (leave it out, or use mode 'robust')")
    return MinhashConfig(mode=mode, **{**(ROBUST if mode == "robust" else FINEWEB2), **given})


# --------------------------------------------------------------------------------------------- signatures


@lru_cache(maxsize=64)
def _packer(tokenize):
    """A dedup.fast_normalize.FastPacker for a word splitter that describes its rules (`fast_spec`), or None."""
    spec = getattr(tokenize, "fast_spec", None)
    spec = spec() if spec is not None else None
    if spec is None:
        return None
    from dedup.fast_normalize import FastPacker

    return FastPacker(spec)


def _pack(texts: Iterable[str], tokenize: Callable[[str], list[str]], lines=None, hosts=None,
          min_words: int = 1) -> tuple[np.ndarray, np.ndarray]:
    # a splitter with `joined` (filters.words' chunk-cached spaCy) gives the words joined by spaces at once:
    # the normalised text itself when no chunk splits, so most pages are never cut into a list of words
    words = getattr(tokenize, "joined", None) or (lambda text: " ".join(tokenize(text)))
    if lines is None:
        packer = _packer(tokenize)
        if packer is not None:  # normalised and split in one Numba pass where the characters allow
            return packer.pack(list(texts), lambda t: words(normalize(t)), normalize)
        parts = [words(normalize(t)).encode("utf-8") for t in texts]
    else:  # a dedup.boilerplate.LineCounts: the page without its boilerplate lines
        hosts = hosts if hosts is not None else [None] * len(texts)
        contents = lines.contents(list(texts), hosts, min_words)
        packer = _packer(tokenize)
        if packer is not None:  # normalised text: the pass leaves it as it is and splits the words
            return packer.pack(contents, words)
        parts = [words(c).encode("utf-8") for c in contents]
    offsets = np.zeros(len(parts) + 1, dtype=np.int64)
    np.cumsum([len(p) for p in parts], out=offsets[1:])
    return np.frombuffer(b"".join(parts), dtype=np.uint8), offsets


def signatures(texts: list[str], tokenize: Callable[[str], list[str]], config: MinhashConfig = MinhashConfig(),
               lines=None, hosts: list[str | None] | None = None) -> np.ndarray:
    """MinHash signatures, uint64[len(texts), num_hashes], equal to datatrove's; rows of 2^64-1 for documents
    shorter than one n-gram. With `lines` (dedup.boilerplate.LineCounts) the boilerplate lines of each page
    (per its host in `hosts`) are left out first."""
    return signatures_and_sizes(texts, tokenize, config, lines, hosts)[0]


def signatures_and_sizes(texts: list[str], tokenize: Callable[[str], list[str]],
                         config: MinhashConfig = MinhashConfig(), lines=None,
                         hosts: list[str | None] | None = None, shingles: bool = False):
    """`signatures` and each document's number of n-grams (uint32), for the containment check; with
    `shingles`, also the documents' distinct n-gram hashes (kernels.shingle_sets) for the exact check."""
    a, b = config.parameters()
    buf, offsets = _pack(texts, tokenize, lines, hosts, config.n_grams)
    out = np.empty((len(texts), config.num_hashes), dtype=np.uint64)
    kernels.minhash_batch(buf, offsets, config.n_grams, a, b, out)
    spaces = np.searchsorted(np.flatnonzero(buf == SPACE_BYTE), offsets)  # spaces before each document's start
    words = np.where(offsets[1:] > offsets[:-1], spaces[1:] - spaces[:-1] + 1, 0)
    sizes = np.maximum(words - config.n_grams + 1, 0).astype(np.uint32)
    if shingles:
        return out, sizes, kernels.shingle_sets(buf, offsets, config.n_grams)
    return out, sizes


# --------------------------------------------------------------------------------------------- bucket files


def record_dtype(hashes_per_bucket: int) -> np.dtype:
    return np.dtype([("h", "<u8", (hashes_per_bucket,)), ("doc", "<u4")])


def sort_records(records: np.ndarray, rank: np.ndarray | None = None) -> np.ndarray:
    """Records ordered by their band hashes (first hash first); within equal hashes by `rank[doc]` (the
    documents' order, dedup.order) when given, else as they come."""
    h = records["h"]
    tie = () if rank is None else (rank[records["doc"].astype(np.int64)],)
    return records[np.lexsort(tie + tuple(h[:, k] for k in range(h.shape[1] - 1, -1, -1)))]


def write_bucket(path: Path, records: np.ndarray, rank: np.ndarray | None = None) -> None:
    """Sorted fixed-width records with a checksum, written under a temporary name and renamed."""
    records = np.ascontiguousarray(sort_records(records, rank))
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


def cluster_verified(n: int, left: np.ndarray, right: np.ndarray, sim: np.ndarray, order=None,
                     chain: bool = False) -> np.ndarray:
    """Each document's representative from the verified pairs (document numbers 0..n-1): documents are
    taken in the order (`order` = dedup.order.ranks, or their numbers), and one joins the most similar
    earlier representative it is paired with (kernels.representative_clusters). With `chain`, union-find
    instead (the cluster's first document in the order represents it)."""
    rank, perm = order if order is not None else (None, None)
    if rank is None:
        lo, hi = left, right
    else:
        lo, hi = np.minimum(rank[left], rank[right]), np.maximum(rank[left], rank[right])
    if chain:
        rep = kernels.union_find(n, lo, hi)
    else:
        by = np.lexsort((lo, -sim, hi))  # later document, then most similar, then earlier partner
        rep = kernels.representative_clusters(n, lo[by], hi[by])
    return rep if rank is None else perm[rep[rank]]


def verify_pairs(c: MinhashConfig, left: np.ndarray, right: np.ndarray, sim: np.ndarray, size_left: np.ndarray,
                 size_right: np.ndarray, exact: Callable) -> tuple[np.ndarray, int]:
    """(bool per pair, pairs checked exactly): estimated Jaccard >= threshold, or >= threshold / 2 with the
    smaller document contained in the larger at `containment`. With `exact_margin`, pairs whose estimate lies
    within the margin of those bounds are decided on their exact shingle sets instead: `exact(a, b)` gives
    (|A & B|, |A|, |B|) for the documents a, b of those pairs."""
    t, t_low = np.float32(c.threshold - 1e-6), np.float32(c.threshold / 2 - 1e-6)
    ok = sim >= t
    if c.containment < 1.0:
        ok |= (sim >= t_low) & (containment(sim, size_left, size_right) >= c.containment)
    n_exact = 0
    if c.exact_margin > 0:
        low = (t_low if c.containment < 1.0 else t) - c.exact_margin
        near = np.flatnonzero((sim >= low) & (sim < t + c.exact_margin))
        n_exact = len(near)
        if len(near):
            inter, ca, cb = exact(left[near], right[near])
            inter = np.asarray(inter, dtype=np.float64)
            union = ca + cb - inter
            j = inter / np.maximum(union, 1)
            contained = inter / np.maximum(np.minimum(ca, cb), 1)
            exact_ok = j >= c.threshold
            if c.containment < 1.0:
                exact_ok |= (j >= c.threshold / 2) & (contained >= c.containment)
            ok[near] = exact_ok
    return ok, n_exact


def containment(jaccard: np.ndarray, size_a: np.ndarray, size_b: np.ndarray) -> np.ndarray:
    """Estimated share of the smaller document's n-grams found in the larger one: |A & B| from the
    Jaccard and the two sizes (|A & B| = J (|A| + |B|) / (1 + J)), over min(|A|, |B|). A truncated copy
    has a low Jaccard with its source but a containment near 1."""
    j = np.asarray(jaccard, dtype=np.float64)
    inter = j * (size_a + size_b) / (1 + j)
    return inter / np.maximum(np.minimum(size_a, size_b), 1)


@dataclass
class DedupResult:
    keep: np.ndarray  # bool per document
    cluster_id: np.ndarray  # int64: the representative's index
    cluster_size: np.ndarray  # int64: size of the document's cluster
    stats: dict = field(default_factory=dict)  # mode robust: candidate, exactly checked and verified pairs

    @property
    def removed(self) -> int:
        return int((~self.keep).sum())


class Deduper:
    """Incremental form of `dedup_texts` for one language: `add(texts)` any number of batches (documents are
    numbered in order), then `finish()`. Only the spill files grow with the corpus.

    Mode "robust" with `config.boilerplate` needs `lines`, the dedup.boilerplate.LineCounts of a first pass
    over the same pages (with the same hosts), and keeps each document's whole signature on disk
    (8 bytes x num_hashes) for the verification of candidate pairs."""

    PAIR_CAP = 32  # partners per record in a run of equal band hashes (see kernels.run_pairs)
    CHAIN = False  # mode robust: union-find over the verified pairs instead of representatives (for measuring)

    def __init__(self, tokenize: Callable[[str], list[str]], config: MinhashConfig = MinhashConfig(),
                 work_dir: str | Path = ".", index=None, lines=None):
        if config.strips_boilerplate and lines is None:
            raise CurationError("dedup mode 'robust' with boilerplate removal needs the line counts of a first "
                                "pass over the pages (dedup.boilerplate.LineCounts); or set boilerplate off")
        self.tokenize, self.config = tokenize, config
        self.lines = lines if config.strips_boilerplate else None
        self.index = index  # a dedup.index.BandIndex of earlier runs, or None
        self.work = Path(work_dir)
        self.work.mkdir(parents=True, exist_ok=True)
        self.dtype = record_dtype(config.hashes_per_bucket)
        self.spills = [open(self.work / f"band_{b:03d}.spill", "wb") for b in range(config.num_buckets)]
        self.sig_file = open(self.work / "signatures.u64", "wb") if config.robust else None
        self.size_file = open(self.work / "ngrams.u32", "wb") if config.robust else None
        exact = config.robust and config.exact_margin > 0
        self.set_file = open(self.work / "shingles.u32", "wb") if exact else None
        self.set_count_file = open(self.work / "shingles.count", "wb") if exact else None
        self.exact_pairs = 0
        self.keys: list[np.ndarray] = []  # dedup.order keys per batch, when the order is not the adding order
        self.n = 0
        self.without_ngrams = 0
        self.seen_before = 0
        self.candidate_pairs = 0
        self.verified_pairs = 0

    def add(self, texts: list[str], hosts: list[str | None] | None = None, keys: np.ndarray | None = None) -> None:
        """A batch of documents; `keys` (dedup.order.order_keys, one per text) decide the order in which
        the documents are considered instead of the adding order: give them for every batch or none."""
        if texts:
            if (keys is not None) != bool(self.keys) and self.n:
                raise CurationError("Deduper.add: order keys for some batches but not others")
            if keys is not None:
                self.keys.append(np.asarray(keys, dtype=np.uint64).reshape(len(texts), 2))
            self.n = _spill(texts, self.n, self, hosts)

    def order_keys(self) -> np.ndarray | None:
        """uint64[n, 2]: the order keys given with the batches, or None."""
        return np.concatenate(self.keys) if self.keys else None

    def close(self) -> None:
        """Close the signature, n-gram and shingle files (they are complete once every batch is added)."""
        for f in (self.sig_file, self.size_file, self.set_file, self.set_count_file):
            if f is not None:
                f.close()

    def order(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(rank, perm) of the documents (dedup.order.ranks), or None when the adding order is the order."""
        if not self.keys:
            return None
        from dedup.order import ranks

        return ranks(np.concatenate(self.keys))

    def bucket_path(self, band: int) -> Path:
        return self.work / f"band_{band:03d}.bucket"

    def write_buckets(self, rank: np.ndarray | None = None) -> None:
        """Each band's spill file -> its sorted, checksummed bucket file (one band in memory at a time);
        equal band hashes in the order of `rank` when given."""
        for f in self.spills:
            f.close()
        for band in range(self.config.num_buckets):
            spill = self.work / f"band_{band:03d}.spill"
            if spill.exists():
                write_bucket(self.bucket_path(band), np.fromfile(spill, dtype=self.dtype), rank)
                spill.unlink()

    def finish(self, index_label: str = "") -> DedupResult:
        """Clusters; with an index, clusters that match a document of an earlier run are removed whole, and
        the band digests of the documents kept now are appended to the index."""
        order = self.order()
        self.write_buckets(order[0] if order else None)
        if self.config.robust:
            return self._finish_verified(index_label, order)
        lefts, rights = [np.empty(0, np.int64)], [np.empty(0, np.int64)]
        in_index = np.zeros(self.n, dtype=bool)
        for band in range(self.config.num_buckets):
            records = read_bucket(self.bucket_path(band))
            left, right = band_pairs(records)
            lefts.append(left)
            rights.append(right)
            self._index_hits(band, records, in_index)
        root = kernels.union_find(self.n, np.concatenate(lefts), np.concatenate(rights))
        sizes = np.bincount(root, minlength=self.n)[root]
        if order is not None:  # the cluster's first document in the order, not the first added
            from dedup.order import first_in_order

            root = first_in_order(root, *order)
        keep = root == np.arange(self.n)
        if self.index is not None:
            old_clusters = np.zeros(self.n, dtype=bool)
            old_clusters[root[in_index]] = True
            before = keep.sum()
            keep &= ~old_clusters[root]
            self.seen_before = int(before - keep.sum())
            self._append_index(keep, index_label)
        return DedupResult(keep=keep, cluster_id=root, cluster_size=sizes.astype(np.int64))

    def _index_hits(self, band: int, records: np.ndarray, in_index: np.ndarray) -> None:
        if self.index is not None:
            from dedup.index import band_digests

            hit = np.isin(band_digests(records["h"]), self.index.digests(band))
            in_index[records["doc"][hit].astype(np.int64)] = True

    def _finish_verified(self, index_label: str, order=None) -> DedupResult:
        """Candidate pairs of every band (all earlier records of a run, up to PAIR_CAP), once each ->
        estimated Jaccard from the whole signatures -> pairs at `threshold` or above -> clusters around
        representatives. Against the index, a representative whose band matches a document kept by an
        earlier run, and which passes the same check against that document's stored signature, is removed
        with its cluster."""
        for f in (self.sig_file, self.size_file, self.set_file, self.set_count_file):
            if f is not None:
                f.close()
        n = self.n
        lefts, rights = [np.empty(0, np.int64)], [np.empty(0, np.int64)]
        in_index = np.zeros(n, dtype=bool)
        for band in range(self.config.num_buckets):
            records = read_bucket(self.bucket_path(band))
            h = records["h"]
            if len(h) > 1:
                same = np.concatenate(([False], np.all(h[1:] == h[:-1], axis=1)))
                run_start = np.maximum.accumulate(np.where(same, 0, np.arange(len(h))))
                left, right = kernels.run_pairs(records["doc"], run_start, self.PAIR_CAP)
                lefts.append(left)
                rights.append(right)
        left, right = np.concatenate(lefts), np.concatenate(rights)
        if self.index is not None:
            in_index = self._verified_index_hits()
        if len(left):
            key = np.unique(left * n + right)
            left, right = key // n, key % n
        self.candidate_pairs = len(left)
        if len(left):
            sigs = np.memmap(self.work / "signatures.u64", dtype=np.uint64, mode="r", shape=(n, self.config.num_hashes))
            sim = kernels.pair_similarity(sigs, left, right)
            ok = self._verify(left, right, sim)
            left, right, sim = left[ok], right[ok], sim[ok]
            del sigs
        else:
            sim = np.empty(0, np.float32)
        self.verified_pairs = len(left)
        rep = cluster_verified(n, left, right, sim, order, chain=self.CHAIN)
        keep = rep == np.arange(n)
        if self.index is not None:
            before = keep.sum()
            keep &= ~in_index[rep]
            self.seen_before = int(before - keep.sum())
            self._append_index_signatures(keep, index_label)
        sizes = np.bincount(rep, minlength=n)[rep]
        stats = {"candidate_pairs": self.candidate_pairs, "exact_pairs": self.exact_pairs,
                 "verified_pairs": self.verified_pairs}
        return DedupResult(keep=keep, cluster_id=rep, cluster_size=sizes.astype(np.int64), stats=stats)

    def _verify(self, left: np.ndarray, right: np.ndarray, sim: np.ndarray) -> np.ndarray:
        """bool per pair (see `verify_pairs`), from this deduper's files."""
        sizes = np.fromfile(self.work / "ngrams.u32", dtype=np.uint32).astype(np.float64)

        def exact(a, b):
            counts = np.fromfile(self.work / "shingles.count", dtype=np.int64)
            offsets = np.concatenate(([0], np.cumsum(counts)))
            hashes = np.memmap(self.work / "shingles.u32", dtype=np.uint32, mode="r") if offsets[-1] else \
                np.empty(0, np.uint32)
            return kernels.set_overlaps(hashes, offsets, a, b), counts[a], counts[b]

        ok, self.exact_pairs = verify_pairs(self.config, left, right, sim, sizes[left], sizes[right], exact)
        return ok

    def _signatures(self) -> np.ndarray:
        if self.n == 0:
            return np.empty((0, self.config.num_hashes), np.uint64)
        return np.memmap(self.work / "signatures.u64", dtype=np.uint64, mode="r", shape=(self.n,
                                                                                         self.config.num_hashes))

    def _verified_index_hits(self) -> np.ndarray:
        """Documents matching a document kept by an earlier run: an equal band digest, then the same check
        as a pair within the run (estimated Jaccard, containment; no exact sets: the index holds none)."""
        from dedup.index import band_digests

        c, n = self.config, self.n
        sigs = self._signatures()
        has = np.flatnonzero(sigs[:, 0] != kernels.EMPTY) if n else np.empty(0, np.int64)
        found = [np.empty((0, 3), np.int64)]
        for band in range(c.num_buckets):
            digests = band_digests(np.asarray(sigs[has, band * c.hashes_per_bucket:(band + 1) * c.hashes_per_bucket]))
            q, seg, row = self.index.matches(band, digests)
            found.append(np.stack([has[q], seg, row], axis=1))
        trip = np.unique(np.concatenate(found), axis=0)
        hit = np.zeros(n, dtype=bool)
        sizes = np.fromfile(self.work / "ngrams.u32", dtype=np.uint32).astype(np.float64)
        for k in np.unique(trip[:, 1]):
            part = trip[trip[:, 1] == k]
            old_sigs, old_sizes = self.index.signatures(int(k))
            both = np.concatenate([np.asarray(sigs[part[:, 0]]), np.asarray(old_sigs[part[:, 2]])])
            m = len(part)
            sim = kernels.pair_similarity(both, np.arange(m), np.arange(m, 2 * m))
            ok = sim >= np.float32(c.threshold - 1e-6)
            if c.containment < 1.0:
                ok |= (sim >= c.threshold / 2) & (containment(
                    sim, sizes[part[:, 0]], old_sizes[part[:, 2]].astype(np.float64)) >= c.containment)
            hit[part[ok, 0]] = True
        return hit

    def _append_index_signatures(self, keep: np.ndarray, label: str) -> None:
        from dedup.index import band_digests

        c = self.config
        rows = np.flatnonzero(keep & (self._signatures()[:, 0] != kernels.EMPTY)) if self.n else np.empty(0, np.int64)
        kept = np.asarray(self._signatures()[rows])
        per_band = [band_digests(kept[:, b * c.hashes_per_bucket:(b + 1) * c.hashes_per_bucket])
                    for b in range(c.num_buckets)]
        sizes = np.fromfile(self.work / "ngrams.u32", dtype=np.uint32)[rows]
        self.index.append(per_band, len(rows), label, signatures=kept, ngrams=sizes)

    def _append_index(self, keep: np.ndarray, label: str) -> None:
        from dedup.index import band_digests

        per_band = []
        for band in range(self.config.num_buckets):
            records = read_bucket(self.bucket_path(band))
            per_band.append(band_digests(records["h"][keep[records["doc"].astype(np.int64)]]))
        self.index.append(per_band, int(keep.sum()), label)


def count_lines(pages: list, config: MinhashConfig, hosts: list[str | None] | None = None,
                batch_size: int = 4096, work_dir: str | Path | None = None):
    """The first pass of mode "robust": boilerplate line counts of the pages (texts, or their
    dedup.boilerplate.page_lines), or None when the config strips no boilerplate."""
    if not config.strips_boilerplate:
        return None
    counts = LineCounts(config.boilerplate_host_docs, config.boilerplate_docs,
                        Path(work_dir) / "lines" if work_dir is not None else None)
    for i in range(0, len(pages), batch_size):
        batch = [page_lines(p) if isinstance(p, str) else p for p in pages[i:i + batch_size]]
        counts.add_pages(batch, hosts[i:i + batch_size] if hosts is not None else None)
    counts.freeze()
    return counts


def dedup_texts(texts: Iterable[str], tokenize: Callable[[str], list[str]], config: MinhashConfig = MinhashConfig(),
                work_dir: str | Path = ".", batch_size: int = 4096,
                hosts: list[str | None] | None = None) -> DedupResult:
    """Signatures in batches -> one spill file per band -> sorted, checksummed bucket files -> pairs ->
    clusters. Documents without a single n-gram are never duplicates (as in datatrove). `hosts` (one per
    text, e.g. the URL's host) lets mode "robust" find boilerplate per site as well as over the input.
    Texts are streamed once, except with boilerplate removal: then every page's normalised lines are held
    in memory for the two passes (about the size of the texts)."""
    lines = None
    if config.strips_boilerplate:
        texts = [page_lines(t) for t in texts]
        if hosts is not None and len(hosts) != len(texts):
            raise CurationError(f"dedup_texts: {len(hosts)} hosts for {len(texts)} texts")
        lines = count_lines(texts, config, hosts, batch_size, work_dir)
    deduper = Deduper(tokenize, config, work_dir, lines=lines)
    batch: list = []
    for text in texts:
        batch.append(text)
        if len(batch) == batch_size:
            deduper.add(batch, hosts[deduper.n:deduper.n + batch_size] if hosts is not None else None)
            batch = []
    deduper.add(batch, hosts[deduper.n:deduper.n + len(batch)] if hosts is not None else None)
    return deduper.finish()


def _spill(batch, start, d: Deduper, hosts=None) -> int:
    config = d.config
    exact = config.robust and config.exact_margin > 0
    sigs, sizes, *sets = signatures_and_sizes(batch, d.tokenize, config, d.lines, hosts, shingles=exact)
    if d.sig_file is not None:
        d.sig_file.write(np.ascontiguousarray(sigs).tobytes())
        d.size_file.write(sizes.tobytes())
    if sets:
        d.set_file.write(sets[0][0].tobytes())
        d.set_count_file.write(sets[0][1].tobytes())
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
