"""Per-language language-ID confidence thresholds, FineWeb2's rule: `max(0.3, min(0.9, median(S) - std(S)))`.

S is the distribution of the probabilities a model gives a language on that language's own labelled
documents, so a language the model is unsure of (close neighbours, little training data) gets a lower cut
and keeps most of its text, and a clear-cut one a higher cut. The result goes into the `language_score` key
of the language's quality config, leaving every other key and comment of the file as it was.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from curation import atomic
from curation.core import CurationError
from langid.data import LabelledSet
from langid.labels import normalize_label

FLOOR, CAP = 0.3, 0.9
MIN_DOCS = 30
_KEY_LINE = re.compile(r"^language_score[ \t]*:.*$", re.M)
_MODEL_LINE = re.compile(r"^language_score_model[ \t]*:.*\n?", re.M)


def threshold(scores) -> float:
    """FineWeb2's cut: the median minus one (population) standard deviation, clipped to [0.3, 0.9]."""
    s = np.asarray(scores, dtype=float)
    return float(max(FLOOR, min(CAP, np.median(s) - np.std(s))))


@dataclass
class LanguageThreshold:
    language: str
    documents: int
    median: float | None = None
    std: float | None = None
    threshold: float | None = None
    skipped: str = ""  # why no threshold was computed


def gold_scores(model, data: LabelledSet, progress: bool = False) -> dict[str, list[float]]:
    """Per language: the probability the model gives each of its documents' own label (0 when not among them)."""
    from tqdm import tqdm

    base = {raw: normalize_label(raw) for raw in model.get_labels()}
    out: dict[str, list[float]] = {}
    batch = 512
    with tqdm(total=len(data), desc="scoring", unit=" docs", disable=not progress) as bar:
        for start in range(0, len(data), batch):
            texts = data.texts[start:start + batch]
            labels, probs = model.predict([t.replace("\n", " ") for t in texts], k=-1)
            for text, gold, labs, ps in zip(texts, data.labels[start:start + batch], labels, probs):
                iso = gold.split("_")[0]
                score = 0.0
                for raw, p in zip(labs, ps):  # best first: the first label that normalises to the gold one
                    if base[raw].split("_")[0] == iso and normalize_label(raw, text) == gold:
                        score = min(float(p), 1.0)
                        break
                out.setdefault(gold, []).append(score)
            bar.update(len(texts))
    return out


def language_thresholds(model, data: LabelledSet, min_docs: int = MIN_DOCS, known: set[str] | None = None,
                        progress: bool = False) -> list[LanguageThreshold]:
    """One row per language of the data; rows with `skipped` set get no threshold (too few documents,
    or a language the model has no label for)."""
    counts = {lab: len(idx) for lab, idx in data.by_label().items()}
    wanted = [lab for lab in sorted(counts) if counts[lab] >= min_docs and (known is None or lab in known)]
    subset = data.only(wanted)
    scores = gold_scores(model, subset, progress) if len(subset) else {}
    return _rows(counts, scores, known, min_docs)



def _rows(counts: dict[str, int], scores: dict[str, list[float]], known, min_docs: int) -> list[LanguageThreshold]:
    """One row per language: its threshold, or why it has none (no such label, too few documents)."""
    rows = []
    for lab in sorted(counts):
        n = counts[lab]
        if known is not None and lab not in known:
            rows.append(LanguageThreshold(lab, n, skipped="the model has no label for this language"))
        elif n < min_docs:
            rows.append(LanguageThreshold(lab, n, skipped=f"only {n} documents (at least {min_docs} needed)"))
        else:
            s = np.asarray(scores[lab])
            rows.append(LanguageThreshold(lab, n, float(np.median(s)), float(np.std(s)), round(threshold(s), 4)))
    return rows


def write_language_score(path: str | Path, value: float, note: str, header: str,
                         validate: Callable[[dict], object] | None = None, model: str | None = None) -> str:
    """Set `language_score: value  # note` in the YAML config at `path`, keeping every other line; with
    `model`, `language_score_model: model` beside it (a threshold belongs to the model whose scores it cuts).

    A file that does not exist is created with `header` (comment lines) and the one key. `validate` (the
    config model) checks the result before it replaces the file. Returns 'updated', 'added' or 'created'.
    """
    import yaml

    path = Path(path)
    line = f"language_score: {value}  # {note}"
    if model:
        line += f"\nlanguage_score_model: {model}"
    if path.exists():
        old = path.read_text(encoding="utf-8")
        try:
            data = yaml.safe_load(old)
        except yaml.YAMLError as e:
            raise CurationError(f"{path}: not valid YAML ({str(e).splitlines()[0]}); fix or remove it") from None
        if data is not None and not isinstance(data, dict):
            raise CurationError(f"{path}: not a language config (a YAML mapping of keys to thresholds)")
        if model:  # the new model line replaces the old one
            old = _MODEL_LINE.sub("", old)
        if _KEY_LINE.search(old):
            new, action = _KEY_LINE.sub(lambda _: line, old, count=1), "updated"
        else:  # after the leading comment block, so the header stays first
            lines = old.splitlines(keepends=True)
            i = 0
            while i < len(lines) and (lines[i].lstrip().startswith("#") or not lines[i].strip()):
                i += 1
            if lines and not lines[-1].endswith("\n"):
                lines[-1] += "\n"
            new, action = "".join(lines[:i] + [line + "\n"] + lines[i:]), "added"
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        new = "".join(f"# {h}\n" for h in header.splitlines()) + line + "\n"
        action = "created"
    data = yaml.safe_load(new)
    wrong_model = bool(model) and isinstance(data, dict) and data.get("language_score_model") != model
    if not isinstance(data, dict) or data.get("language_score") != value or wrong_model:
        raise CurationError(f"{path}: could not set language_score in this file (is the key written over "
                            "several lines?); set it by hand")
    if validate is not None:
        validate(data)
    atomic.write_text(path, new)
    return action


def detector_thresholds(det, data: LabelledSet, min_docs: int = MIN_DOCS,
                        progress: bool = False) -> list[LanguageThreshold]:
    """`language_thresholds` for any detector (`langid.detectors`, `langid.combine.Cascade`). A fastText
    detector scores each document's own label (`gold_scores`); any other gives its top score when its top
    label is right and 0 when not (CLD2 and a combination give one label per text)."""
    known = det.known_labels()
    if getattr(det, "kind", "") == "fasttext":
        return language_thresholds(det.model, data, min_docs, known, progress)
    from langid.evaluate import predict

    counts = {lab: len(idx) for lab, idx in data.by_label().items()}
    wanted = [lab for lab in sorted(counts) if counts[lab] >= min_docs and lab in known]
    subset = data.only(wanted)
    scores: dict[str, list[float]] = {}
    for gold, (lab, sc) in zip(subset.labels, predict(det, subset.texts, progress)):
        scores.setdefault(gold, []).append(sc if lab == gold else 0.0)
    return _rows(counts, scores, known, min_docs)
