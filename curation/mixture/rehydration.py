"""Rehydration: how many copies of a kept document go into the mixture, from its MinHash cluster size.

Two sources of weights, both as a table of cluster-size buckets -> copies:
- FineWeb2's simple table (the default);
- per-language weights measured by `curate mix rehydration-weights`: where the quality filters removed a
  smaller share of a bucket's documents than of the whole language, that bucket's documents are better than
  average and get more copies (FineWeb2's formula, capped by `max_reps`). Written as one JSON file per language
  that a person can read and edit.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from curation import atomic
from curation.core import CurationError

# FineWeb2: size 1 -> 1, 2 -> 2, 3 -> 3, 4 -> 3, 5..99 -> 5, 100..999 -> 8, >= 1000 -> 1 (mostly spam)
FINEWEB2_TABLE = [(1, 1, 1), (2, 2, 2), (3, 3, 3), (4, 4, 3), (5, 99, 5), (100, 999, 8), (1000, None, 1)]
# bucket lower bounds for measuring removal rates (fine where clusters are common, coarse in the tail)
MEASURE_EDGES = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 15, 20, 25, 30, 40, 50, 75, 100, 150, 200, 300, 500, 1000]


@dataclass
class Weights:
    """Copies per cluster-size bucket; buckets are [min_size, max_size] (max None: no upper bound)."""

    buckets: list[tuple[int, int | None, int]]
    method: str = "fineweb2_table"
    source: str = "built-in FineWeb2 table"

    def __post_init__(self):
        lows = [b[0] for b in self.buckets]
        if not self.buckets or lows[0] != 1 or lows != sorted(lows):
            raise CurationError(f"rehydration weights ({self.source}): buckets must start at size 1 and be in order")
        for (lo, hi, reps), nxt in zip(self.buckets, lows[1:] + [None]):
            if nxt is not None and hi is not None and hi + 1 != nxt:
                raise CurationError(f"rehydration weights ({self.source}): bucket {lo}..{hi} is followed by {nxt} "
                                    "(buckets must not leave gaps or overlap)")
            if not isinstance(reps, int) or reps < 0:
                raise CurationError(f"rehydration weights ({self.source}): bucket {lo}..{hi}: reps must be a "
                                    f"whole number >= 0, got {reps!r}")
        self._lows = np.asarray(lows, dtype=np.int64)
        self._reps = np.asarray([b[2] for b in self.buckets], dtype=np.int64)

    def reps(self, sizes: np.ndarray) -> np.ndarray:
        """Copies for each cluster size (sizes below 1 count as 1: a document is its own cluster)."""
        sizes = np.maximum(np.asarray(sizes, dtype=np.int64), 1)
        return self._reps[np.searchsorted(self._lows, sizes, side="right") - 1]

    def to_json(self) -> list[dict]:
        return [{"min_size": lo, "max_size": hi, "reps": r} for lo, hi, r in self.buckets]


class NoRehydration(Weights):
    def __init__(self):
        super().__init__([(1, None, 1)], "none", "no rehydration")


def fineweb2_table() -> Weights:
    return Weights(list(FINEWEB2_TABLE))


def load_weights(folder: str, language: str) -> Weights:
    path = Path(folder) / f"{language}.json"
    if not path.is_file():
        raise CurationError(f"rehydration weights '{folder}': no {language}.json (run `curate mix rehydration-weights` "
                            "on the pipeline output, or leave the language out)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        buckets = [(int(b["min_size"]), None if b.get("max_size") is None else int(b["max_size"]), b["reps"])
                   for b in data["buckets"]]
    except (ValueError, KeyError, TypeError) as e:
        raise CurationError(f"{path}: not a weights file ({type(e).__name__}: {e}); expected "
                            '{"buckets": [{"min_size": 1, "max_size": 1, "reps": 1}, ...]}') from None
    return Weights(buckets, data.get("method", "edited"), str(path))


def weights_for(spec: str, language: str) -> Weights:
    """`fineweb2`, `none` or a folder of per-language weight files."""
    if spec == "fineweb2":
        return fineweb2_table()
    if spec == "none":
        return NoRehydration()
    if not Path(spec).is_dir():
        raise CurationError(f"rehydration '{spec}': not 'fineweb2', 'none' or a folder of weight files")
    return load_weights(spec, language)


# ------------------------------------------------------------------------------------------- measured weights


def reps_from_rates(rates: list[float | None], global_rate: float, max_reps: int, window: int = 5) -> list[int]:
    """FineWeb2's formula: buckets removed at >= the global rate get 1; below it,
    reps = 1 + (max_reps - 1) * (rate - global) / (min_rate - global), smoothed by a centred moving average
    over `window` measured buckets and rounded. Unmeasured buckets (None) get 1, and so does a bucket at or
    above the global rate even when its neighbours would lift it."""
    measured = [(i, r) for i, r in enumerate(rates) if r is not None]
    out = [1] * len(rates)
    if not measured:
        return out
    min_rate = min(r for _, r in measured)
    raw = []
    for _, r in measured:
        if r >= global_rate or min_rate >= global_rate:
            raw.append(1.0)
        else:
            raw.append(1 + (max_reps - 1) * (r - global_rate) / (min_rate - global_rate))
    half = window // 2
    for j, (i, r) in enumerate(measured):
        if r >= global_rate:
            continue
        part = raw[max(0, j - half): j + half + 1]
        out[i] = int(min(max_reps, max(1, round(sum(part) / len(part)))))
    return out


def measured_weights(kept: np.ndarray, removed: np.ndarray, max_reps: int = 10, min_documents: int = 5,
                     edges: list[int] = MEASURE_EDGES) -> dict:
    """Removal rate per cluster-size bucket (documents the filters after dedup removed / documents they saw)
    and the copies it implies; the weights file's content."""
    if max_reps < 1:
        raise CurationError(f"max_reps must be at least 1, got {max_reps}")
    lows = np.asarray(edges, dtype=np.int64)
    kb = np.bincount(np.searchsorted(lows, np.maximum(kept, 1), side="right") - 1, minlength=len(lows))
    rb = np.bincount(np.searchsorted(lows, np.maximum(removed, 1), side="right") - 1, minlength=len(lows))
    total = int(kb.sum() + rb.sum())
    global_rate = float(rb.sum() / total) if total else 0.0
    rates = [float(r / (k + r)) if k + r >= max(min_documents, 1) else None for k, r in zip(kb, rb)]
    reps = reps_from_rates(rates, global_rate, max_reps)
    buckets = []
    for i, lo in enumerate(edges):
        hi = edges[i + 1] - 1 if i + 1 < len(edges) else None
        buckets.append({"min_size": int(lo), "max_size": hi, "reps": reps[i], "kept": int(kb[i]), "removed": int(rb[i]),
                        "removal_rate": None if rates[i] is None else round(rates[i], 6)})
    return {"method": "removal_rate", "max_reps": max_reps, "min_documents": min_documents,
            "documents": total, "removed": int(rb.sum()), "global_removal_rate": round(global_rate, 6),
            "buckets": buckets}


def write_weights(folder: str, language: str, content: dict) -> Path:
    path = Path(folder) / f"{language}.json"
    atomic.write_text(path, json.dumps({"language": language, **content}, indent=2, ensure_ascii=False) + "\n")
    return path
