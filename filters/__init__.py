"""Per-language quality filters (Gopher + FineWeb rules, thresholds from YAML configs in `configs/`),
threshold derivation from reference corpora, KenLM perplexity, precision wordlists, formatting and the URL filter."""

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


def __getattr__(name):  # each name is imported from its module on first use, so importing the package is cheap
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
