"""Near- and exact-duplicate removal per language: MinHash signatures and LSH buckets (Numba kernels in
`kernels`), the text normalisation they share with boilerplate-line detection, clustering, exact dedup, the
cross-snapshot band index, and the `dedup`/`exact_dedup` stages."""

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


def __getattr__(name):  # each name is imported from its module on first use, so importing the package is cheap
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
