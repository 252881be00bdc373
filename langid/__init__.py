"""Language identification: fastText models by path (GlotLID, lid.176), labels normalised to
`iso639-3_Script`, model training and evaluation, and per-language score thresholds."""

from curation.core import lazy_exports

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

__getattr__ = lazy_exports(__name__, _EXPORTS)  # each name imported on first use: the package loads cheaply
