"""Boilerplate lines: lines that recur across many pages of one host (navigation, footers, cookie banners,
page templates) or of the whole input, counted in a first streaming pass so that the MinHash shingles of a
page are made from what makes it itself.

Counting, exactly and in bounded memory: each page adds the 64-bit hashes of its distinct normalised lines
twice, once as they are (whole input) and once mixed with the page's host, tagged by the lowest bit. The
keys go to 64 spill files by their top bits (8 bytes per key on disk); `freeze()` counts one spill file at
a time (np.unique) and keeps only the keys that reach their threshold: `host_docs` pages of one host, or
`global_docs` pages of the input. What stays in memory is that sorted set of boilerplate keys, which grows
with the number of distinct chrome lines, not with the input. Hash collisions (two lines with one 64-bit
key) are about 1 in 2^64 per pair.

A page whose lines are all boilerplate (a page copied many times, a page that is only chrome) is shingled
whole, so exact and near copies that recur more often than the thresholds are still found.
"""

from __future__ import annotations

import math
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import xxhash

from curation.core import CurationError
from dedup.normalize import normalize

LINE_BREAK = "\ue000"  # a private-use character: normalisation keeps it, so lines survive it
_MIX = np.uint64(0x9E3779B97F4A7C15)
_PART_BITS = 6
_HOST_TAG = np.uint64(1)


# an ASCII word in its place for ASCII pages, which keeps them on normalize's fast ASCII path (used only when the
# normalised page holds it exactly once per line break, i.e. never on its own)
_ASCII_BREAK = "qxzjlinebreakqxzj"


def normalized_lines(text: str) -> list[str]:
    """The page's lines after the MinHash normalisation (dedup.normalize), empty ones dropped."""
    if text.isascii():
        norm = normalize(text.replace("\n", f" {_ASCII_BREAK} "))
        if norm.count(_ASCII_BREAK) == text.count("\n"):
            return [s for s in (part.strip() for part in norm.split(_ASCII_BREAK)) if s]
    norm = normalize(text.replace("\n", f" {LINE_BREAK} "))
    return [s for s in (part.strip() for part in norm.split(LINE_BREAK)) if s]


def line_hashes(lines: list[str]) -> np.ndarray:
    return np.fromiter((xxhash.xxh3_64_intdigest(s) for s in lines), dtype=np.uint64, count=len(lines))


def page_lines_batch(texts: list[str]) -> list[tuple[list[str], np.ndarray]]:
    """`page_lines` of many pages: normalised in one Numba pass where their characters allow
    (dedup.fast_normalize), the others one by one."""
    from dedup.fast_normalize import normalized_lines_batch

    return [(lines, line_hashes(lines)) if lines is not None else page_lines(t)
            for t, lines in zip(texts, normalized_lines_batch(texts))]


def page_lines(text: str) -> tuple[list[str], np.ndarray]:
    """A page's normalised lines and their hashes: what both passes need (kept between them when the
    pages are in memory, so each page is normalised once)."""
    lines = normalized_lines(text)
    return lines, line_hashes(lines)


def host_key(host: str | None) -> np.uint64:
    return np.uint64(xxhash.xxh3_64_intdigest(host.lower().removeprefix("www."))) if host else np.uint64(0)


def _host_key_array(hosts) -> np.ndarray:
    """host_key of each host (uint64; 0 for none), each distinct host hashed once."""
    seen: dict = {}
    return np.array([seen[h] if h in seen else seen.setdefault(h, host_key(h)) for h in hosts], dtype=np.uint64)


def _global_keys(hashes: np.ndarray) -> np.ndarray:
    return hashes & ~_HOST_TAG


def _host_keys(hashes: np.ndarray, host: np.uint64) -> np.ndarray:
    with np.errstate(over="ignore"):
        mixed = (hashes ^ host) * _MIX
    return (mixed ^ (mixed >> np.uint64(31))) | _HOST_TAG


PARTITIONS = 1 << _PART_BITS


COUNT_BYTES = 256 << 20  # keys counted at once by count_partition (np.unique takes about 3 times as much)


def count_partition(paths: list[Path], host_docs: int, global_docs: int, max_bytes: int = COUNT_BYTES) -> np.ndarray:
    """The boilerplate keys (sorted) of one partition, from its spill files (of one or many tasks): keys on
    `host_docs` pages of one host or `global_docs` pages of the input. Memory: 8 bytes per key spilled, at
    most about `max_bytes` at a time: a larger partition (1/64 of every page's distinct lines, twice: billions
    of keys for a billion pages) is first split by the bits below the partition's into up to 256 range files
    in a temporary folder (each spill file read once), then counted one range at a time; the ranges are in
    key order, so the result stays sorted."""
    size = sum(Path(p).stat().st_size for p in paths)
    bits = min(8, math.ceil(math.log2(size / max_bytes))) if size > max_bytes else 0
    if not bits:
        return _count_keys(np.concatenate([np.fromfile(p, dtype=np.uint64) for p in paths] +
                                          [np.empty(0, np.uint64)]), host_docs, global_docs)
    shift, mask = np.uint64(64 - _PART_BITS - bits), np.uint64((1 << bits) - 1)
    with tempfile.TemporaryDirectory(prefix="curate-lines-ranges-") as tmp:
        ranges = [Path(tmp) / f"range_{r:03d}.u64" for r in range(1 << bits)]
        outs = [open(r, "wb") for r in ranges]
        try:
            for p in paths:
                keys = np.fromfile(p, dtype=np.uint64)
                sub = ((keys >> shift) & mask).astype(np.int64)
                order = np.argsort(sub, kind="stable")
                keys = keys[order]
                bounds = np.searchsorted(sub[order], np.arange((1 << bits) + 1))
                for r, out in enumerate(outs):
                    if bounds[r + 1] > bounds[r]:
                        out.write(keys[bounds[r]:bounds[r + 1]].tobytes())
        finally:
            for out in outs:
                out.close()
        return np.concatenate([_count_keys(np.fromfile(r, dtype=np.uint64), host_docs, global_docs)
                               for r in ranges])


def _count_keys(keys: np.ndarray, host_docs: int, global_docs: int) -> np.ndarray:
    if not len(keys):
        return np.empty(0, np.uint64)
    uniq, counts = np.unique(keys, return_counts=True)
    need = np.where((uniq & _HOST_TAG) != 0, host_docs, global_docs)
    return uniq[counts >= need]


class LineCounts:
    """The first pass: `add(texts, hosts)` for every page, `freeze()`, then `content` / `is_boilerplate`
    per page. Spill files live in `work_dir` (a temporary folder when None) until `freeze()`."""

    def __init__(self, host_docs: int = 3, global_docs: int = 50, work_dir: str | Path | None = None):
        if host_docs < 2 or global_docs < 2:
            raise CurationError(f"boilerplate thresholds must be at least 2 pages (host_docs={host_docs}, "
                                f"global_docs={global_docs}): a line on one page is never boilerplate")
        self.host_docs, self.global_docs = host_docs, global_docs
        self._own_dir = work_dir is None
        self.dir = Path(tempfile.mkdtemp(prefix="curate-lines-") if work_dir is None else work_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self._spills = [open(self.dir / f"lines_{p:02d}.u64", "wb") for p in range(PARTITIONS)]
        self.pages = 0
        self.boilerplate_keys: np.ndarray | None = None  # sorted, after freeze()

    def add(self, texts: Iterable[str], hosts: Iterable[str | None] | None = None) -> None:
        self.add_pages(page_lines_batch(list(texts)), hosts)

    def add_pages(self, pages: list[tuple[list[str], np.ndarray]], hosts: Iterable[str | None] | None = None) -> None:
        """`add` for pages already split by `page_lines`."""
        if self.boilerplate_keys is not None:
            raise CurationError("LineCounts: pages added after freeze(); count every page first")
        hosts = list(hosts) if hosts is not None else [None] * len(pages)
        self.pages += len(pages)
        if not pages:
            return
        # each page's distinct hashes, for the whole batch at once: sorted by (page, hash), repeats dropped
        sizes = np.fromiter((len(h) for _, h in pages), dtype=np.int64, count=len(pages))
        if not sizes.sum():
            return
        hashes = np.concatenate([np.asarray(h, dtype=np.uint64) for _, h in pages])
        page = np.repeat(np.arange(len(pages)), sizes)
        order = np.lexsort((hashes, page))
        hashes, page = hashes[order], page[order]
        first = np.ones(len(hashes), dtype=bool)
        first[1:] = (hashes[1:] != hashes[:-1]) | (page[1:] != page[:-1])
        hashes, page = hashes[first], page[first]
        host_keys = _host_key_array(hosts)[page]
        with_host = host_keys != 0
        keys = np.concatenate([_global_keys(hashes), _host_keys(hashes[with_host], host_keys[with_host])])
        part = (keys >> np.uint64(64 - _PART_BITS)).astype(np.int64)
        order = np.argsort(part, kind="stable")
        keys, part = keys[order], part[order]
        bounds = np.searchsorted(part, np.arange((1 << _PART_BITS) + 1))
        for p in range(1 << _PART_BITS):
            if bounds[p + 1] > bounds[p]:
                self._spills[p].write(keys[bounds[p]:bounds[p + 1]].tobytes())

    def close_spills(self) -> list[Path]:
        """Close the spill files and return them, one per partition (for counting elsewhere, e.g. one
        partition per task over many tasks' spills: `count_partition`)."""
        for f in self._spills:
            f.close()
        return [self.dir / f"lines_{p:02d}.u64" for p in range(PARTITIONS)]

    def freeze(self) -> None:
        """Count each spill file, keep the keys at their threshold, delete the spill files."""
        if self.boilerplate_keys is not None:
            return
        kept = []
        for path in self.close_spills():
            kept.append(count_partition([path], self.host_docs, self.global_docs))
            path.unlink()
        self.boilerplate_keys = np.concatenate(kept)  # sorted: partitions in order
        if self._own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    @classmethod
    def frozen(cls, keys: np.ndarray, host_docs: int, global_docs: int) -> "LineCounts":
        """Line counts from boilerplate keys counted elsewhere (sorted): for `content` and `is_boilerplate`."""
        self = cls.__new__(cls)
        self.host_docs, self.global_docs = host_docs, global_docs
        self._own_dir, self.dir, self._spills, self.pages = False, None, [], 0
        self.boilerplate_keys = np.asarray(keys, dtype=np.uint64)
        return self

    def _known(self, keys: np.ndarray) -> np.ndarray:
        b = self.boilerplate_keys
        if not len(b):
            return np.zeros(len(keys), dtype=bool)
        pos = np.minimum(np.searchsorted(b, keys), len(b) - 1)
        return b[pos] == keys

    def is_boilerplate(self, hashes: np.ndarray, host: str | None = None) -> np.ndarray:
        """bool per line hash: seen on `global_docs` pages, or on `host_docs` pages of this host."""
        self.freeze()
        out = self._known(_global_keys(hashes))
        hk = host_key(host)
        if hk:
            out |= self._known(_host_keys(hashes, hk))
        return out

    def contents(self, pages: list, hosts: list[str | None] | None, min_words: int) -> list[str]:
        """`content` of each page of a batch (the boilerplate look-ups done for the whole batch at once)."""
        self.freeze()
        pages = [page_lines(p) if isinstance(p, str) else p for p in pages]
        hosts = hosts if hosts is not None else [None] * len(pages)
        sizes = [len(h) for _, h in pages]
        if not sum(sizes):
            return [""] * len(pages)
        hashes = np.concatenate([np.asarray(h, dtype=np.uint64) for _, h in pages])
        drop = self._known(_global_keys(hashes))
        host_keys = np.repeat(_host_key_array(hosts), sizes)
        with_host = host_keys != 0
        if with_host.any():
            drop[with_host] |= self._known(_host_keys(hashes[with_host], host_keys[with_host]))
        out = []
        pos = 0
        ends = np.cumsum(sizes)
        cum = np.concatenate(([0], np.cumsum(drop)))
        dropped = cum[ends] - cum[ends - np.asarray(sizes)]  # boilerplate lines per page
        drop_list = drop.tolist()
        for (lines, _), n, any_dropped in zip(pages, sizes, dropped.tolist()):
            if not any_dropped or not n:
                out.append(" ".join(lines))
            else:
                kept = [s for s, d in zip(lines, drop_list[pos:pos + n]) if not d]
                if sum(s.count(" ") + 1 for s in kept) < min_words:
                    kept = lines
                out.append(" ".join(kept))
            pos += n
        return out

    def content(self, page: str | tuple[list[str], np.ndarray], host: str | None, min_words: int) -> str:
        """The page's normalised text (a text, or its `page_lines`) without its boilerplate lines; the whole
        page if fewer than `min_words` words are left."""
        lines, hashes = page_lines(page) if isinstance(page, str) else page
        if not lines:
            return ""
        drop = self.is_boilerplate(hashes, host)
        kept = [s for s, d in zip(lines, drop) if not d]
        if sum(s.count(" ") + 1 for s in kept) < min_words:
            kept = lines
        return " ".join(kept)
