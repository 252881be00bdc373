"""Language detectors behind one interface, so the stage, `eval` and thresholds treat them alike.

Every detector answers `predict_many(texts) -> [(label, score), ...]` with `iso639-3_Script` labels through
the one alias table (`langid.labels`), and `known_labels()`: the labels it can answer at all (a language a
detector lacks is not its mistake to make, and a combination asks another detector about it).

- `FastTextDetector`: any fastText model by path (lid.176, GlotLID v3, one `curate langid train` built).
- `Cld2Detector`: Chrome's compact detector (`pycld2`), ~165 languages, fast C++.
- `LinguaDetector`: lingua (`lingua-language-detector`, 75 languages, high-accuracy mode); optional,
  for evaluation.
"""

from __future__ import annotations

import re

from langid.labels import ISO639_1_EXTRA, LID176_LABELS, SCRIPT_VARIANTS, canonical_label, normalize_label

UNDETERMINED = "und_Zyyy"


def with_script_variants(labels) -> set[str]:
    """The labels and the script variants a text-dependent label can take (`srp_Cyrl` -> also `srp_Latn`)."""
    out = set()
    for lab in labels:
        out.add(lab)
        iso = lab.split("_")[0]
        out.update(canonical_label(f"{iso}_{s}") for s in SCRIPT_VARIANTS.get(iso, ()))
    return out


class FastTextDetector:
    """A fastText language-ID model loaded from a path (or fsspec URL)."""

    kind = "fasttext"

    def __init__(self, path: str, model_id: str | None = None):
        from langid.loading import check_model_file, load_fasttext, model_id_of

        self.path = check_model_file(path)
        self.model = load_fasttext(self.path)
        self.model_id = model_id or model_id_of(self.path, self.model)

    def predict_many(self, texts: list[str]) -> list[tuple[str, float]]:
        from langid.loading import predict_top

        return predict_top(self.model, texts)

    def predict_k(self, texts: list[str], k: int = 3) -> list[list[tuple[str, float]]]:
        """The k best labels and their probabilities of each text (best first)."""
        labels, scores = self.model.predict([t.replace("\n", " ") for t in texts], k=k)
        return [[(normalize_label(lab, t), min(float(s), 1.0)) for lab, s in zip(labs, scs)]
                for t, labs, scs in zip(texts, labels, scores)]

    def known_labels(self) -> set[str]:
        return with_script_variants(normalize_label(raw) for raw in self.model.get_labels())


# characters pycld2 refuses (C0 controls but tab/newline, surrogates, noncharacters)
_CLD2_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


class Cld2Detector:
    """CLD2 through `pycld2`: the top language and the share of the text's bytes it covers as the score."""

    kind = "cld2"
    model_id = "cld2"

    def __init__(self):
        try:
            import pycld2
        except ImportError:
            from curation.core import CurationError

            raise CurationError("CLD2 needs the pycld2 package (pip install pycld2==0.42)") from None
        self._cld2 = pycld2

    def predict_coded(self, text: str) -> tuple[str, float, str]:
        """(label, score, CLD2's own code): the code keeps what the label drops (`zh` Simplified, `zh-Hant`)."""
        try:
            reliable, _, details = self._cld2.detect(text, bestEffort=True)
        except (self._cld2.error, UnicodeError):  # control characters, surrogates: clean them and try again
            try:
                reliable, _, details = self._cld2.detect(_CLD2_BAD.sub(" ", text), bestEffort=True)
            except (self._cld2.error, UnicodeError):
                return UNDETERMINED, 0.0, ""
        code, percent = details[0][1], details[0][2]
        if code in ("un", "xxx") or code.startswith("xx-") or code in ("tlh", "zzp"):
            return UNDETERMINED, 0.0, code
        return normalize_label(code, text), percent / 100.0, code

    def predict_one(self, text: str) -> tuple[str, float]:
        return self.predict_coded(text)[:2]

    def predict_many(self, texts: list[str]) -> list[tuple[str, float]]:
        return [self.predict_coded(t)[:2] for t in texts]

    def predict_many_coded(self, texts: list[str]) -> list[tuple[str, float, str]]:
        return [self.predict_coded(t) for t in texts]

    def known_labels(self) -> set[str]:
        codes = dict(self._cld2.LANGUAGES)
        out = set()
        for name in self._cld2.DETECTED_LANGUAGES:
            code = codes.get(name, "un")
            if code == "un" or code.startswith("xx-") or code in ("tlh", "zzp"):
                continue
            out.add(normalize_label(code))
        return with_script_variants(out)


class LinguaDetector:
    """lingua in high-accuracy mode over all its languages (score: 1.0, the library gives no cheap one)."""

    kind = "lingua"
    model_id = "lingua"

    def __init__(self):
        try:
            from lingua import LanguageDetectorBuilder
        except ImportError:
            from curation.core import CurationError

            raise CurationError("lingua needs lingua-language-detector (pip install "
                                "lingua-language-detector==2.1.1)") from None
        self._det = LanguageDetectorBuilder.from_all_languages().build()

    @staticmethod
    def _label(lang, text: str) -> str:
        if lang is None:
            return UNDETERMINED
        return normalize_label(lang.iso_code_639_3.name.lower(), text)

    def predict_many(self, texts: list[str]) -> list[tuple[str, float]]:
        langs = self._det.detect_languages_in_parallel_of(texts)
        return [(self._label(lang, t), 1.0 if lang is not None else 0.0) for lang, t in zip(langs, texts)]

    def known_labels(self) -> set[str]:
        from lingua import Language

        # by ISO 639-1 code: the tables know its script without a text (a bare 639-3 code would get Zyyy)
        return with_script_variants(normalize_label(lang.iso_code_639_1.name.lower()) for lang in Language.all())


def lid176_labels() -> set[str]:
    """lid.176's labels without loading it."""
    return with_script_variants(canonical_label(f"{i}_{s}") for i, s in LID176_LABELS.values())


__all__ = ["Cld2Detector", "FastTextDetector", "LinguaDetector", "UNDETERMINED", "lid176_labels",
           "with_script_variants", "ISO639_1_EXTRA"]
