"""Near- and exact-duplicate removal per language: MinHash signatures and LSH buckets (Numba kernels in
`kernels`), the text normalisation they share with boilerplate-line detection, clustering, exact dedup, the
cross-snapshot band index, and the `dedup`/`exact_dedup` stages."""

from curation.core import lazy_exports

_EXPORTS = {
    "MinhashConfig": "dedup.minhash",
    "Deduper": "dedup.minhash",
    "config_for": "dedup.minhash",
    "dedup_texts": "dedup.minhash",
    "signatures": "dedup.minhash",
    "normalize": "dedup.normalize",
    "BandIndex": "dedup.index",
    "LineCounts": "dedup.boilerplate",
    "MinhashDedup": "dedup.stage",
    "ExactDedup": "dedup.stage",
}
__all__ = sorted(_EXPORTS)

__getattr__ = lazy_exports(__name__, _EXPORTS)  # each name imported on first use: the package loads cheaply
