"""One step over existing files, outside a run: dedup, quality filter, rephrase (`curate dedup`,
`curate thresholds filter`, `curate rephrase`); and the scale-out MinHash dedup as datatrove steps."""

_EXPORTS = {
    "dedup_files": "curation.apply.dedup",
    "exact_dedup_files": "curation.apply.dedup",
    "filter_files": "curation.apply.filter",
    "rephrase_files": "curation.apply.rephrase",
    "MinhashSignatures": "curation.apply.dedup_steps",
    "MinhashBuckets": "curation.apply.dedup_steps",
    "MinhashClusters": "curation.apply.dedup_steps",
    "MinhashFilter": "curation.apply.dedup_steps",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name):  # each name is imported from its module on first use, so importing the package is cheap
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
