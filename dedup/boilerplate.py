"""Boilerplate lines: lines that recur across many pages of one host (navigation, footers, cookie banners,
page templates) or of the whole input, counted in a first streaming pass so that the MinHash shingles of a
page are made from what makes it itself.

Counting: every distinct normalised line of a page adds one to a count-min sketch (2 rows of 2^21 uint32
counters, 16 MiB, whatever the input size), once under its own hash (whole input) and once under its hash
mixed with the page's host. A line is boilerplate when its host count reaches `host_docs` or its global
count reaches `global_docs`. Collisions can only over-count, so a rare line is taken for boilerplate with a
probability of about (lines / 2^21)^2 per row pair; at 10M distinct lines that is 2%, which costs one line
of one page its shingles, never a merge.

A page whose lines are all boilerplate (a page copied many times, a page that is only chrome) is shingled
whole, so exact and near copies that recur more often than the thresholds are still found.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import xxhash

from curation.core import CurationError

LINE_BREAK = "\ue000"  # a private-use character: normalisation keeps it, so lines survive it
_WIDTH_BITS = 21
_MASK = np.uint64((1 << _WIDTH_BITS) - 1)
_MIX = np.uint64(0x9E3779B97F4A7C15)


def normalized_lines(text: str) -> list[str]:
    """The page's lines after the MinHash normalisation (dedup.minhash.normalize), empty ones dropped."""
    from dedup.minhash import normalize

    norm = normalize(text.replace("\n", f" {LINE_BREAK} "))
    return [s for s in (part.strip() for part in norm.split(LINE_BREAK)) if s]


def line_hashes(lines: list[str]) -> np.ndarray:
    return np.fromiter((xxhash.xxh3_64_intdigest(s) for s in lines), dtype=np.uint64, count=len(lines))


def page_lines(text: str) -> tuple[list[str], np.ndarray]:
    """A page's normalised lines and their hashes: what both passes need (kept between them when the
    pages are in memory, so each page is normalised once)."""
    lines = normalized_lines(text)
    return lines, line_hashes(lines)


def host_key(host: str | None) -> np.uint64:
    return np.uint64(xxhash.xxh3_64_intdigest(host.lower().removeprefix("www."))) if host else np.uint64(0)


def _slots(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    with np.errstate(over="ignore"):
        mixed = keys * _MIX
    return (keys & _MASK).astype(np.int64), ((mixed >> np.uint64(40)) & _MASK).astype(np.int64)


class LineCounts:
    """The first pass: `add(texts, hosts)` for every page of a language, then `is_boilerplate` per page."""

    def __init__(self, host_docs: int = 3, global_docs: int = 50):
        if host_docs < 2 or global_docs < 2:
            raise CurationError(f"boilerplate thresholds must be at least 2 pages (host_docs={host_docs}, "
                                f"global_docs={global_docs}): a line on one page is never boilerplate")
        self.host_docs, self.global_docs = host_docs, global_docs
        self.table = np.zeros((2, 1 << _WIDTH_BITS), dtype=np.uint32)
        self.pages = 0

    def _keys(self, hashes: np.ndarray, host: np.uint64) -> np.ndarray:
        with np.errstate(over="ignore"):
            return (hashes ^ host) * _MIX if host else hashes

    def add(self, texts: Iterable[str], hosts: Iterable[str | None] | None = None) -> None:
        self.add_pages([page_lines(t) for t in texts], hosts)

    def add_pages(self, pages: list[tuple[list[str], np.ndarray]], hosts: Iterable[str | None] | None = None) -> None:
        """`add` for pages already split by `page_lines`."""
        hosts = list(hosts) if hosts is not None else [None] * len(pages)
        parts = []
        for (_, hashes), host in zip(pages, hosts):
            h = np.unique(hashes)
            parts.append(h)
            hk = host_key(host)
            if hk:
                parts.append(self._keys(h, hk))
        self.pages += len(pages)
        if parts:
            keys = np.concatenate(parts)
            for row, slot in enumerate(_slots(keys)):
                np.add.at(self.table[row], slot, 1)

    def count(self, keys: np.ndarray) -> np.ndarray:
        a, b = _slots(keys)
        return np.minimum(self.table[0][a], self.table[1][b])

    def is_boilerplate(self, hashes: np.ndarray, host: str | None = None) -> np.ndarray:
        """bool per line hash: seen on `global_docs` pages, or on `host_docs` pages of this host."""
        out = self.count(hashes) >= self.global_docs
        hk = host_key(host)
        if hk:
            out |= self.count(self._keys(hashes, hk)) >= self.host_docs
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
