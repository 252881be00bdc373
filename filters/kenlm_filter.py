"""CCNet's perplexity scoring: each document scored by its language's KenLM model, given by path.

A document's perplexity is 10^(-sum log10 p / n) over its lines, each line a sentence with `<s>` and
`</s>`, n counting the words and one `</s>` per line (ccnet/perplexity.py). Text is normalised and split
exactly as `curate kenlm train` did (filters/lm_text.py). Low perplexity = text like the model's corpus.

Buckets (CCNet): `head` up to the 30th percentile of the language's perplexities, `middle` up to the 60th,
`tail` above. Cut points come from `cutoffs`, or from the first `sample_size` documents of each language
in the task, which are held back until the sample is full (or the input ends) and then passed on in order.
"""

from __future__ import annotations

import json
import os
import re

import numpy as np

from curation.core import CurationError, Document, Filter, doc_language, register_stage
from filters.kneser_ney import perplexity
from filters.lm_text import lm_sentences

MODEL_SUFFIXES = (".arpa", ".bin")
_CODE = re.compile(r"^[a-z]{2,3}_[A-Z][a-z]{3}$")
_LOADED: dict[str, object] = {}  # path -> kenlm.Model, once per process


def find_models(models: str, language: str | None = None) -> dict[str, str]:
    """Language -> model path from a folder of `<iso639-3_Script>.arpa|.bin` or one file ("*" = every language)."""
    if os.path.isfile(models):
        if not models.endswith(MODEL_SUFFIXES):
            raise CurationError(f"KenLM model '{models}': expected an .arpa or .bin file")
        return {language or "*": models}
    if not os.path.isdir(models):
        raise CurationError(f"KenLM models '{models}': no such file or folder")
    found = {}
    for name in sorted(os.listdir(models)):
        stem, ext = os.path.splitext(name)
        if ext in MODEL_SUFFIXES and _CODE.match(stem) and (stem not in found or ext == ".bin"):  # .bin wins
            found[stem] = os.path.join(models, name)
    if not found:
        raise CurationError(f"KenLM models '{models}': no <iso639-3_Script>.arpa or .bin file in this folder "
                            "(train one with `curate kenlm train`)")
    return found


def check_model_file(path: str) -> str:
    """Fail early, in the main process, when a model file is not an ARPA or KenLM binary file."""
    try:
        with open(path, "rb") as f:
            head = f.read(64)
    except OSError as e:
        raise CurationError(f"KenLM model '{path}': cannot read ({e})") from None
    if not (head.lstrip().startswith(b"\\data\\") or head.startswith(b"mmap lm ")):
        raise CurationError(f"KenLM model '{path}': neither an ARPA file (starting with \\data\\) "
                            "nor a KenLM binary")
    return path


def load_model(path: str):
    if path not in _LOADED:
        import kenlm

        config = kenlm.Config()
        config.show_progress = False  # no progress bar or "build a binary" note on stderr per model
        config.arpa_complain = kenlm.ARPALoadComplain.NONE
        try:
            _LOADED[path] = kenlm.Model(path, config)
        except (OSError, RuntimeError, MemoryError) as e:
            raise CurationError(f"KenLM model '{path}': cannot load ({e.__class__.__name__}: {e})") from None
    return _LOADED[path]


def doc_perplexity(model, text: str, language: str) -> float | None:
    """CCNet's document perplexity (rounded to 0.1), or None for a text without words."""
    log10_total, length = 0.0, 0
    for words in lm_sentences(text, language):
        log10_total += model.score(" ".join(words), bos=True, eos=True)
        length += len(words) + 1
    return round(perplexity(log10_total, length), 1) if length else None


def bucket_of(pp: float, cuts: tuple[float, float]) -> str:
    if pp > cuts[1]:
        return "tail"
    return "middle" if pp > cuts[0] else "head"


def _read_cutoffs(cutoffs) -> dict[str, tuple[float, float]]:
    if cutoffs is None:
        return {}
    if isinstance(cutoffs, str):
        try:
            with open(cutoffs, encoding="utf-8") as f:
                cutoffs = json.load(f)
        except (OSError, json.JSONDecodeError) as e:
            raise CurationError(f"perplexity cutoffs '{cutoffs}': cannot read ({e})") from None
    out = {}
    for lang, cuts in dict(cutoffs).items():
        if not (isinstance(cuts, (list, tuple)) and len(cuts) == 2 and all(isinstance(c, (int, float)) for c in cuts)
                and cuts[0] <= cuts[1]):
            raise CurationError(f"perplexity cutoffs for '{lang}': expected [head_max, middle_max] with "
                                f"head_max <= middle_max, got {cuts!r}")
        out[lang] = (float(cuts[0]), float(cuts[1]))
    return out


@register_stage("kenlm")
class KenlmPerplexity(Filter):
    """Score each document's perplexity with its language's KenLM model (CCNet); bucket and/or remove by it.

    Args:
        models: a folder of `<iso639-3_Script>.arpa` or `.bin` models (made by `curate kenlm train`), or one model file
        language: with one model file, the only language it scores (default: every document)
        buckets: write CCNet's `perplexity_bucket` (head/middle/tail) by the language's perplexity percentiles
        percentiles: the two bucket cut points, in percent of the language's documents (CCNet: 30, 60)
        cutoffs: perplexity cut points per language, {"fra_Latn": [head_max, middle_max]} or a JSON file of
            them; languages without one get cut points from a sample of their documents
        sample_size: documents of a language held back to compute its cut points (each task computes its own;
            give `cutoffs` for the same cut points in every task)
        max_perplexity: remove documents above this perplexity: one number, or per language {"fra_Latn": 800}
    """

    name = "📉 KenLM perplexity"

    def __init__(self, models: str, language: str | None = None, buckets: bool = False,
                 percentiles: tuple[float, float] = (30.0, 60.0), cutoffs: dict | str | None = None,
                 sample_size: int = 1000, max_perplexity: float | dict[str, float] | None = None):
        super().__init__()
        self.models = {lang: check_model_file(path) for lang, path in find_models(models, language).items()}
        self.buckets = buckets
        if len(percentiles) != 2 or not 0 < percentiles[0] <= percentiles[1] < 100:
            raise CurationError(f"kenlm: percentiles must be two numbers 0 < a <= b < 100, got {percentiles!r}")
        self.percentiles = tuple(float(p) for p in percentiles)
        self.cutoffs = _read_cutoffs(cutoffs)
        if sample_size < 1:
            raise CurationError(f"kenlm: sample_size must be at least 1, got {sample_size}")
        self.sample_size = sample_size
        self.max_perplexity = max_perplexity

    def model_for(self, language: str):
        path = self.models.get(language) or self.models.get("*")
        return load_model(path) if path else None

    def _scored(self, data):
        for doc in data:
            lang = doc_language(doc)
            with self.track_time():
                model = self.model_for(lang)
                pp = doc_perplexity(model, doc.text, lang) if model is not None else None
            if model is None:
                self.count(doc, "no_model")
            elif pp is None:
                self.count(doc, "no_words")
            else:
                doc.metadata["perplexity"] = pp
            yield doc

    def _bucketed(self, data):
        """Set `perplexity_bucket`; a language without given cut points is held back until its sample is full."""
        cuts = dict(self.cutoffs)
        held: dict[str, list[Document]] = {}

        def release(lang: str):
            docs = held.pop(lang)
            values = [d.metadata["perplexity"] for d in docs if "perplexity" in d.metadata]
            cuts[lang] = tuple(float(c) for c in np.percentile(values, self.percentiles)) if values else None
            for d in docs:
                self._set_bucket(d, cuts[lang])
            return docs

        for doc in data:
            lang = doc_language(doc)
            if lang in cuts or "perplexity" not in doc.metadata:
                self._set_bucket(doc, cuts.get(lang))
                yield doc
                continue
            held.setdefault(lang, []).append(doc)
            if len(held[lang]) >= self.sample_size:
                yield from release(lang)
        for lang in list(held):
            yield from release(lang)

    def _set_bucket(self, doc: Document, cuts) -> None:
        pp = doc.metadata.get("perplexity")
        if pp is not None and cuts is not None:
            bucket = bucket_of(pp, cuts)
            doc.metadata["perplexity_bucket"] = bucket
            self.count(doc, f"bucket/{bucket}")

    def _limit(self, lang: str) -> float | None:
        if isinstance(self.max_perplexity, dict):
            return self.max_perplexity.get(lang)
        return self.max_perplexity

    def filter(self, doc: Document):
        limit = self._limit(doc_language(doc))
        pp = doc.metadata.get("perplexity")
        if limit is not None and pp is not None and pp > limit:
            return "perplexity"
        return True

    def run(self, data, rank: int = 0, world_size: int = 1):
        stream = self._scored(data)
        if self.buckets:
            stream = self._bucketed(stream)
        yield from super().run(stream, rank, world_size)
