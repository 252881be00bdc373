"""The Numba hot loops of MinHash dedup, in one module: xxh64 of every word n-gram, the permutation minima,
and union-find over duplicate pairs. They work on whole batches of documents at once.

Signatures are bit-identical to datatrove's `MinhashDedupSignature` (xxhash64 of the space-joined n-gram,
then `(a*h + b) mod (2^61 - 1)` with numpy's 64-bit overflow of `a*h + b`, then the minimum per permutation).
"""

from __future__ import annotations

import numba
import numpy as np

P1 = np.uint64(11400714785074694791)
P2 = np.uint64(14029467366897019727)
P3 = np.uint64(1609587929392839161)
P4 = np.uint64(9650029242287828579)
P5 = np.uint64(2870177450012600261)
MERSENNE = np.uint64((1 << 61) - 1)
EMPTY = np.uint64(0xFFFFFFFFFFFFFFFF)  # the signature value of a document without a single n-gram
SPACE = np.uint8(32)


@numba.njit(inline="always")
def _rotl(x, r):
    return (x << np.uint64(r)) | (x >> np.uint64(64 - r))


@numba.njit(inline="always")
def _read_le(buf, i, nbytes):
    """Little-endian unsigned integer of `nbytes` bytes at buf[i]."""
    v = np.uint64(0)
    for k in range(nbytes - 1, -1, -1):
        v = (v << np.uint64(8)) | np.uint64(buf[i + k])
    return v


@numba.njit(inline="always")
def _round(acc, x):
    acc = acc + x * P2
    acc = _rotl(acc, 31)
    return acc * P1


@numba.njit(inline="always")
def _merge(acc, v):
    acc = acc ^ _round(np.uint64(0), v)
    return acc * P1 + P4


@numba.njit(cache=True)
def xxh64(buf, start, end):
    """XXH64 (seed 0) of buf[start:end]; equals `xxhash.xxh64_intdigest(bytes(buf[start:end]))`."""
    n = end - start
    i = start
    if n >= 32:
        v1 = P1 + P2
        v2 = P2
        v3 = np.uint64(0)
        v4 = np.uint64(0) - P1
        limit = end - 32
        while i <= limit:
            v1 = _round(v1, _read_le(buf, i, 8))
            v2 = _round(v2, _read_le(buf, i + 8, 8))
            v3 = _round(v3, _read_le(buf, i + 16, 8))
            v4 = _round(v4, _read_le(buf, i + 24, 8))
            i += 32
        h = _rotl(v1, 1) + _rotl(v2, 7) + _rotl(v3, 12) + _rotl(v4, 18)
        h = _merge(h, v1)
        h = _merge(h, v2)
        h = _merge(h, v3)
        h = _merge(h, v4)
    else:
        h = P5
    h = h + np.uint64(n)
    while i + 8 <= end:
        h = h ^ _round(np.uint64(0), _read_le(buf, i, 8))
        h = _rotl(h, 27) * P1 + P4
        i += 8
    if i + 4 <= end:
        h = h ^ (_read_le(buf, i, 4) * P1)
        h = _rotl(h, 23) * P2 + P3
        i += 4
    while i < end:
        h = h ^ (np.uint64(buf[i]) * P5)
        h = _rotl(h, 11) * P1
        i += 1
    h = h ^ (h >> np.uint64(33))
    h = h * P2
    h = h ^ (h >> np.uint64(29))
    h = h * P3
    h = h ^ (h >> np.uint64(32))
    return h


@numba.njit(inline="always")
def _word_bounds(buf, lo, hi, starts, ends):
    """Byte spans of the space-separated words of buf[lo:hi] (words never contain spaces); their count."""
    n_words = 0
    i = lo
    while i < hi:
        while i < hi and buf[i] == SPACE:
            i += 1
        if i >= hi:
            break
        j = i
        while j < hi and buf[j] != SPACE:
            j += 1
        starts[n_words] = i
        ends[n_words] = j
        n_words += 1
        i = j
    return n_words


@numba.njit(cache=True)
def minhash_batch(buf, doc_offsets, n_gram, a, b, out):
    """Signatures of a batch of documents.

    buf: the UTF-8 bytes of every document's words joined by single spaces, documents back to back;
    doc_offsets: int64[n_docs + 1] byte offsets of each document in buf; out: uint64[n_docs, n_hashes].
    Writes EMPTY rows for documents with fewer than `n_gram` words; returns the number of n-grams hashed.
    """
    n_docs = doc_offsets.shape[0] - 1
    n_hashes = a.shape[0]
    starts = np.empty(1024, dtype=np.int64)
    ends = np.empty(1024, dtype=np.int64)
    total = 0
    for d in range(n_docs):
        lo, hi = doc_offsets[d], doc_offsets[d + 1]
        for k in range(n_hashes):
            out[d, k] = EMPTY
        if (hi - lo) // 2 + 1 > starts.shape[0]:  # room for every word (a byte and a space at least)
            starts = np.empty((hi - lo) // 2 + 1, dtype=np.int64)
            ends = np.empty((hi - lo) // 2 + 1, dtype=np.int64)
        n_words = _word_bounds(buf, lo, hi, starts, ends)
        for w in range(n_words - n_gram + 1):
            h = xxh64(buf, starts[w], ends[w + n_gram - 1])
            total += 1
            for k in range(n_hashes):
                x = h * a[k] + b[k]  # wraps at 2^64, as numpy does in datatrove
                v = (x & MERSENNE) + (x >> np.uint64(61))  # x mod 2^61-1 without a division
                if v >= MERSENNE:
                    v -= MERSENNE
                if v < out[d, k]:
                    out[d, k] = v
    return total


@numba.njit(cache=True)
def shingle_hashes(buf, doc_offsets, n_gram):
    """Just the xxh64 of every n-gram (the hashing floor, for benchmarks); returns their XOR."""
    acc = np.uint64(0)
    n_docs = doc_offsets.shape[0] - 1
    starts = np.empty(1024, dtype=np.int64)
    ends = np.empty(1024, dtype=np.int64)
    for d in range(n_docs):
        lo, hi = doc_offsets[d], doc_offsets[d + 1]
        if (hi - lo) // 2 + 1 > starts.shape[0]:
            starts = np.empty((hi - lo) // 2 + 1, dtype=np.int64)
            ends = np.empty((hi - lo) // 2 + 1, dtype=np.int64)
        n_words = _word_bounds(buf, lo, hi, starts, ends)
        for w in range(n_words - n_gram + 1):
            acc ^= xxh64(buf, starts[w], ends[w + n_gram - 1])
    return acc


@numba.njit(cache=True)
def union_find(n, left, right):
    """Clusters of documents 0..n-1 joined by the pairs (left[i], right[i]); each cluster's id is its smallest
    document index (so the kept document, the representative, is deterministic)."""
    parent = np.arange(n, dtype=np.int64)
    for i in range(left.shape[0]):
        x, y = left[i], right[i]
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        while parent[y] != y:
            parent[y] = parent[parent[y]]
            y = parent[y]
        if x < y:
            parent[y] = x
        elif y < x:
            parent[x] = y
    for i in range(n):
        r = i
        while parent[r] != r:
            r = parent[r]
        parent[i] = r
    return parent


# ------------------------------------------------------------------ candidate verification (mode "robust")


@numba.njit(cache=True)
def run_pairs(docs, run_start, cap):
    """Candidate pairs (earlier, later) within runs of equal band hashes: each record with every earlier
    record of its run, but only the first `cap` records of a run as partners (a run of 10,000 copies gives
    cap x 10,000 pairs, not 50 million). docs: the sorted records' documents; run_start[i]: the position
    where record i's run begins."""
    total = 0
    for i in range(docs.shape[0]):
        total += min(i - run_start[i], cap)
    left = np.empty(total, dtype=np.int64)
    right = np.empty(total, dtype=np.int64)
    k = 0
    for i in range(docs.shape[0]):
        s = run_start[i]
        for j in range(s, min(i, s + cap)):
            x, y = np.int64(docs[j]), np.int64(docs[i])
            left[k] = min(x, y)
            right[k] = max(x, y)
            k += 1
    return left, right


@numba.njit(cache=True)
def pair_similarity(sigs, left, right):
    """Estimated Jaccard of each pair: the share of equal MinHash values over the whole signatures."""
    n_hashes = sigs.shape[1]
    out = np.empty(left.shape[0], dtype=np.float32)
    for p in range(left.shape[0]):
        a, b = left[p], right[p]
        same = 0
        for k in range(n_hashes):
            if sigs[a, k] == sigs[b, k]:
                same += 1
        out[p] = same / n_hashes
    return out


@numba.njit(cache=True)
def representative_clusters(n, left, right):
    """Clusters without chaining: documents in index order; a document joins the first representative it
    is paired with (pairs sorted by the later document, then by decreasing similarity), or is one itself.
    A document similar only to a member of a cluster, not to its representative, stays out of it.
    left < right in every pair; returns each document's representative."""
    rep = np.arange(n, dtype=np.int64)
    for p in range(left.shape[0]):
        a, b = left[p], right[p]
        if rep[b] == b and rep[a] == a:
            rep[b] = a
    return rep


@numba.njit(cache=True)
def shingle_sets(buf, doc_offsets, n_gram):
    """Each document's distinct n-gram hashes (the low 32 bits of the same xxh64 as the signatures),
    sorted, back to back; and their number per document. For the exact Jaccard of pairs near the threshold."""
    n_docs = doc_offsets.shape[0] - 1
    starts = np.empty(1024, dtype=np.int64)
    ends = np.empty(1024, dtype=np.int64)
    total = 0
    for d in range(n_docs):  # an upper bound of the output size: one hash per word
        total += (doc_offsets[d + 1] - doc_offsets[d]) // 2 + 1
    out = np.empty(total, dtype=np.uint32)
    counts = np.zeros(n_docs, dtype=np.int64)
    k = 0
    for d in range(n_docs):
        lo, hi = doc_offsets[d], doc_offsets[d + 1]
        if (hi - lo) // 2 + 1 > starts.shape[0]:
            starts = np.empty((hi - lo) // 2 + 1, dtype=np.int64)
            ends = np.empty((hi - lo) // 2 + 1, dtype=np.int64)
        n_words = _word_bounds(buf, lo, hi, starts, ends)
        m = max(n_words - n_gram + 1, 0)
        if m == 0:
            continue
        tmp = np.empty(m, dtype=np.uint32)
        for w in range(m):
            tmp[w] = np.uint32(xxh64(buf, starts[w], ends[w + n_gram - 1]) & np.uint64(0xFFFFFFFF))
        tmp.sort()
        c = 0
        for w in range(m):
            if w == 0 or tmp[w] != tmp[w - 1]:
                out[k + c] = tmp[w]
                c += 1
        counts[d] = c
        k += c
    return out[:k].copy(), counts


@numba.njit(cache=True)
def set_overlaps(hashes, offsets, left, right):
    """|A & B| of each pair's sorted hash sets (documents' sets at hashes[offsets[d]:offsets[d + 1]])."""
    out = np.empty(left.shape[0], dtype=np.int64)
    for p in range(left.shape[0]):
        i, ie = offsets[left[p]], offsets[left[p] + 1]
        j, je = offsets[right[p]], offsets[right[p] + 1]
        c = 0
        while i < ie and j < je:
            if hashes[i] == hashes[j]:
                c += 1
                i += 1
                j += 1
            elif hashes[i] < hashes[j]:
                i += 1
            else:
                j += 1
        out[p] = c
    return out
