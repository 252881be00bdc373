"""The order in which dedup decides, independent of how documents were split over tasks.

Which copy of a cluster survives, and with representative clustering how clusters form, follows the order
documents are considered in. Reading order depends on sharding (a run with 4 tasks hands the dedup its
documents in another order than a run with 1), so a run that is split over tasks orders its documents by
a key of the document itself: the 64-bit xxh3 of its id, then of its text (two documents with one id and
one text are interchangeable). Every path (one process, the datatrove steps, the persistent index) sorts
by this key, so the kept documents are the same whatever the number of tasks. `curate dedup` over a list of
files keeps reading order by default (it is already fixed: one process reads the files in order).
"""

from __future__ import annotations

import numpy as np
import xxhash


def order_keys(ids: list, texts: list) -> np.ndarray:
    """uint64[n, 2]: xxh3 of each document's id (as a string) and of its text."""
    out = np.empty((len(ids), 2), dtype=np.uint64)
    h = xxhash.xxh3_64_intdigest
    out[:, 0] = np.fromiter((h(str(i)) for i in ids), dtype=np.uint64, count=len(ids))
    out[:, 1] = np.fromiter((h(t) if isinstance(t, str) else 0 for t in texts), dtype=np.uint64, count=len(texts))
    return out


def ranks(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(rank of each document, the documents in rank order) for uint64[n, 2] keys; ties (equal keys)
    keep their given order."""
    perm = np.lexsort((keys[:, 1], keys[:, 0])) if len(keys) else np.empty(0, np.int64)
    rank = np.empty(len(keys), dtype=np.int64)
    rank[perm] = np.arange(len(keys))
    return rank, perm


def first_in_order(root: np.ndarray, rank: np.ndarray, perm: np.ndarray) -> np.ndarray:
    """For clusters given by any member (`root`, e.g. union-find's), each document's cluster member that comes
    first in the order: the one to keep."""
    n = len(root)
    best = np.full(n, n, dtype=np.int64)
    np.minimum.at(best, root, rank)
    return perm[best[root]]


def pairs_in_order(left: np.ndarray, right: np.ndarray, rank: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of document numbers as (earlier, later) ranks."""
    a, b = rank[left], rank[right]
    return np.minimum(a, b), np.maximum(a, b)
