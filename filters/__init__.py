"""Per-language quality filters (Gopher + FineWeb rules, thresholds from YAML configs in `configs/`),
threshold derivation from reference corpora, KenLM perplexity, precision wordlists, formatting and the URL filter."""

from curation.core import lazy_exports

_EXPORTS = {
    "LanguageConfig": "filters.config",
    "load_config": "filters.config",
    "language_scores": "filters.config",
    "QualityFilter": "filters.quality",
    "compute_signals": "filters.quality",
    "decide": "filters.quality",
    "KenlmPerplexity": "filters.kenlm_filter",
    "PrecisionFilter": "filters.precision",
    "Format": "filters.formatting",
    "UrlFilter": "filters.url",
    "word_tokenizer": "filters.words",
}
__all__ = sorted(_EXPORTS)

__getattr__ = lazy_exports(__name__, _EXPORTS)  # each name imported on first use: the package loads cheaply
