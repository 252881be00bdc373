"""Language identification: fastText models by path (GlotLID, lid.176), labels normalised to
`iso639-3_Script`, model training and evaluation, and per-language score thresholds."""

_EXPORTS = {
    "LanguageId": "langid.fasttext_lid",
    "load_fasttext": "langid.fasttext_lid",
    "normalize_label": "langid.labels",
    "dominant_script": "langid.labels",
    "evaluate": "langid.evaluate",
    "train_model": "langid.train",
    "TrainConfig": "langid.train",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name):  # each name is imported from its module on first use, so importing the package is cheap
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
