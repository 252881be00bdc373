"""Which documents a partial pass takes: `epochs` = full passes + a fraction, the fraction realised as a seeded,
uniform choice of exactly round(fraction * N) documents, drawn batch by batch so memory stays flat.

Each batch's share of the remaining picks is drawn from the hypergeometric distribution (the number of
picked documents that fall in a batch when k of the N left are picked at random), then placed uniformly in
the batch: the result is an exact-size uniform sample, whatever the batch sizes."""

from __future__ import annotations

import math
import zlib

import numpy as np


def rng_for(seed: int, *parts: str | int) -> np.random.Generator:
    """A generator that depends only on the seed and the names given (never on Python's hash salt)."""
    keys = [seed] + [p if isinstance(p, int) else zlib.crc32(str(p).encode()) for p in parts]
    return np.random.default_rng(keys)


class PassSelector:
    def __init__(self, n_docs: int, epochs: float, rng: np.random.Generator):
        epochs = max(0.0, epochs)
        self.full = int(math.floor(epochs + 1e-9))
        self.extra = min(n_docs, int(round((epochs - self.full) * n_docs))) if epochs > self.full else 0
        self._docs_left, self._picks_left, self._rng = n_docs, self.extra, rng

    def take(self, m: int) -> np.ndarray:
        """Passes for each of the next `m` documents (full or full + 1)."""
        if m > self._docs_left:
            raise ValueError(f"{m} documents asked for, {self._docs_left} left (the source changed while mixing?)")
        passes = np.full(m, self.full, dtype=np.int64)
        if self._picks_left:
            rest = self._docs_left - m
            k = self._picks_left if rest == 0 else int(self._rng.hypergeometric(m, rest, self._picks_left)) if m else 0
            if k:
                passes[self._rng.choice(m, size=k, replace=False)] += 1
            self._picks_left -= k
        self._docs_left -= m
        return passes
