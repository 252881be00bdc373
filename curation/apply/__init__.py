"""One step over existing files, outside a run: dedup, quality filter, rephrase (`curate dedup`,
`curate thresholds filter`, `curate rephrase`); and the scale-out MinHash dedup as datatrove steps."""

from curation.core import lazy_exports

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

__getattr__ = lazy_exports(__name__, _EXPORTS)  # each name imported on first use: the package loads cheaply
