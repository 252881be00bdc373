"""Real labelled text for language ID, read from the public corpora as their repositories ship them.

Each reader returns a `LabelledSet` of one split, with gold labels through the alias table
(`langid.labels.canonical_label`), so FLORES's `pes_Arab`, NTREX's `fas` and lingua's `fa` are all `fas_Arab`.
Corpora without a split of their own (NTREX-128, Tatoeba) are cut here with a fixed seed, the same way for
training and for evaluation, so a held-out line is never trained on:

- SIB-200 / FLORES-200 (`dadelani/sib-200`, `data/annotated/<lang>/{train,dev,test}.tsv`): its own splits.
- NTREX-128 (`MicrosoftTranslator/NTREX`, `NTREX-128/newstest2019-ref.<lang>.txt`): the files are
  line-aligned translations of one English source, so a seeded `share` of the line numbers is held out in
  every language at once (no held-out sentence is seen in training in another language either).
- Tatoeba (`facebookresearch/LASER`, `data/tatoeba/v1/tatoeba.<lang>-eng.<lang>`): a test set; a seeded
  `share` of each language's lines is held out, and a further `TATOEBA_TUNE` share (part `tune`) is kept
  out of training for tuning the combination of models.
- lingua's test data (`pemistahl/lingua-py`, `language-testdata/{sentences,single-words,word-pairs}`):
  never trained on. It has no split, so one is cut here (seed 0): a `LINGUA_TUNE` share of each file's
  lines (part `tune`) may tune the combination's vote; the rest (part `heldout`) is scored apart from the
  whole set.
- MasakhaNEWS (`masakhane-io/masakhane-news`, `data/<lang>/{train,dev,test}.tsv`): its own splits (train.tsv
  is missing for some languages in the public repository).
"""

from __future__ import annotations

import csv
import random
import re
import sys
from pathlib import Path

from curation.core import CurationError
from langid.data import LabelledSet, normalize_gold
from langid.labels import ISO639_1_EXTRA, LID176_LABELS, canonical_label, dominant_script, script_counts

# NTREX files that repeat a language already read (regional variants, a second reference)
NTREX_SKIP = ("eng-GB", "eng-IN", "eng-US", "fra-CA", "por-BR", "spa-MX", "zho-TW", "ref-2")
SEED = 0
NTREX_HELDOUT = 0.2    # share of NTREX's line numbers held out (evaluation), the same in every language
TATOEBA_HELDOUT = 0.5  # share of each Tatoeba language's lines held out (it is a test set: half stays one)
TATOEBA_TUNE = 0.1     # a further share kept out of training to tune the combination of models on
LINGUA_TUNE = 0.5      # share of each lingua file's lines the combination's vote may be tuned on (scored apart)
# languages really written in two scripts, where a file mixes them line by line (Tatoeba's srp, uzb, tat ...):
# their lines take the script of their own text; every other file has one script, that of the whole file
# (a line of names and digits in a Thai file is still Thai)
DIGRAPHIC = frozenset({"srp", "bos", "uzn", "kaz", "tat", "azj", "tuk", "uig", "kir", "kmr", "tgk"})
OWN_SCRIPT_SHARE = 0.9  # a line of such a file leaves the file's script only when another holds 90% of its letters
_URL = re.compile(r"(?:https?://|www\.)\S+")


def _need_dir(path: str | Path, what: str) -> Path:
    p = Path(path)
    if not p.is_dir():
        raise CurationError(f"{path}: no such folder ({what})")
    return p


def line_script(text: str, main: str, share: float = OWN_SCRIPT_SHARE) -> str:
    """The script of one line of a file written mostly in `main`: another script only when it holds at least
    `share` of the line's letters, URLs aside (a Cyrillic Kazakh sentence naming `PlayStation Portable` and
    `Nintendo Wii` is still Cyrillic Kazakh; a Latin Tatar line in a Cyrillic file is Latin)."""
    counts = script_counts(_URL.sub(" ", text))
    total = sum(counts.values())
    if not total:
        return main
    script = dominant_script(_URL.sub(" ", text))
    return script if script == main or max(counts.values()) >= share * total else main


def file_labeller(code: str, lines: list[str]):
    """A function text -> gold label for the lines of one file labelled `code` (`fra` or `aze_Latn`)."""
    if "_" in code:
        return lambda text: code
    iso = canonical_label(f"{code}_Latn").split("_")[0] if len(code) == 3 else code
    main = dominant_script(" ".join(lines[:200]))
    if iso in DIGRAPHIC:
        return lambda text: f"{code}_{line_script(text, main)}"
    whole = f"{code}_{main}"
    return lambda text: whole


def _add(data: LabelledSet, text: str, label) -> None:
    text = " ".join(text.split())
    if not text:
        data.skipped["no text"] += 1
        return
    gold = normalize_gold(label(text) if callable(label) else label, text)
    if gold is None:
        data.skipped["unknown label"] += 1
        return
    data.texts.append(text)
    data.labels.append(gold)


def _held_lines(n: int, share: float, seed: int, key: str = "") -> set[int]:
    idx = list(range(n))
    random.Random(f"{seed}:{key}").shuffle(idx)
    return set(idx[:round(share * n)])


def _pick(n: int, held: set[int], part: str, tune: set[int] = frozenset()) -> list[int]:
    if part not in ("train", "heldout", "tune", "all"):
        raise CurationError(f"split part must be train, heldout, tune or all, not {part!r}")
    if part == "all":
        return list(range(n))
    if part == "heldout":
        return [i for i in range(n) if i in held]
    if part == "tune":
        return [i for i in range(n) if i in tune]
    return [i for i in range(n) if i not in held and i not in tune]


def sib200(root: str | Path, splits: tuple[str, ...] = ("test",)) -> LabelledSet:
    """FLORES-200 sentences of SIB-200, the given splits (train, dev, test). Its TSV does not quote: a
    sentence that starts with a quotation mark keeps it."""
    root = _need_dir(root, "SIB-200 data/annotated")
    data = LabelledSet(source=f"FLORES-200 {'+'.join(splits)} ({root})")
    csv.field_size_limit(sys.maxsize)
    for lang in sorted(p for p in root.iterdir() if p.is_dir()):
        for split in splits:
            f = lang / f"{split}.tsv"
            if not f.exists():
                continue
            with open(f, encoding="utf-8", newline="") as fh:
                for row in csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE):
                    _add(data, row.get("text") or "", lang.name)
    if not data.texts:
        raise CurationError(f"{root}: no <lang>/{{{','.join(splits)}}}.tsv files with a text column")
    return data


def _ntrex_label(name: str) -> str | None:
    """`newstest2019-ref.aze-Latn.txt` -> `aze_Latn`, `...ref.fra.txt` -> `fra`, variants -> None."""
    if any(s in name for s in NTREX_SKIP):
        return None
    if name == "newstest2019-src.eng.txt":
        return "eng_Latn"
    if not name.startswith("newstest2019-ref.") or not name.endswith(".txt"):
        return None
    code = name[len("newstest2019-ref."):-len(".txt")]
    iso, _, rest = code.partition("-")
    return f"{iso}_{rest}" if len(rest) == 4 else iso


def ntrex(root: str | Path, part: str = "heldout", share: float = NTREX_HELDOUT, seed: int = SEED) -> LabelledSet:
    """NTREX-128 sentences; `part` train/heldout/all of a seeded line split shared by all languages."""
    root = _need_dir(root, "NTREX-128")
    data = LabelledSet(source=f"NTREX-128 {part} ({share:.0%} of lines held out, seed {seed}) ({root})")
    files = sorted((f, lab) for f in root.glob("*.txt") if (lab := _ntrex_label(f.name)))
    if not files:
        raise CurationError(f"{root}: no newstest2019-ref.<lang>.txt files")
    held: set[int] | None = None
    for f, lab in files:
        lines = f.read_text(encoding="utf-8").splitlines()
        if held is None:
            held = _held_lines(len(lines), share, seed, "ntrex")
        label = file_labeller(lab, lines)
        for i in _pick(len(lines), held, part):
            if i < len(lines):
                _add(data, lines[i], label)
    return data


def tatoeba(root: str | Path, part: str = "heldout", share: float = TATOEBA_HELDOUT, seed: int = SEED) -> LabelledSet:
    """Tatoeba (LASER's test set) sentences of each language but English; seeded per-language split."""
    root = _need_dir(root, "Tatoeba v1")
    data = LabelledSet(source=f"Tatoeba {part} ({share:.0%} of lines held out, seed {seed}) ({root})")
    files = sorted(root.glob("tatoeba.*-eng.*"))
    for f in files:
        lang = f.name.split(".")[1].split("-")[0]
        if f.name.endswith(".eng") or lang == "eng":
            continue
        lines = f.read_text(encoding="utf-8").splitlines()
        held = _held_lines(len(lines), share + TATOEBA_TUNE, seed, f"tatoeba:{lang}")
        tune = _held_lines(len(lines), share + TATOEBA_TUNE, seed, f"tatoeba:{lang}") - _held_lines(
            len(lines), share, seed, f"tatoeba:{lang}")
        held -= tune
        label = file_labeller(lang, lines)
        for i in _pick(len(lines), held, part, tune):
            _add(data, lines[i], label)
    if not files:
        raise CurationError(f"{root}: no tatoeba.<lang>-eng.<lang> files")
    return data


def lingua_code(code: str) -> str:
    """lingua's file names are ISO 639-1 codes: `de` -> `deu`, `nb` -> `nob`."""
    if code in LID176_LABELS:
        return LID176_LABELS[code][0]
    return ISO639_1_EXTRA.get(code, (code, ""))[0]


def lingua(root: str | Path, kind: str = "sentences", part: str = "all", share: float = LINGUA_TUNE,
           seed: int = SEED) -> LabelledSet:
    """lingua's test data: `sentences`, `word-pairs` or `single-words`, 1,000 lines per language. It has no
    split of its own: part `tune` is a seeded `share` of each file's lines (for tuning the combination's vote,
    never for training a model), `heldout` the rest, `all` every line."""
    folder = _need_dir(Path(root) / kind, f"lingua language-testdata/{kind}")
    what = kind if part == "all" else f"{kind} {part} ({share:.0%} of lines kept for tuning, seed {seed})"
    data = LabelledSet(source=f"lingua {what} ({folder})")
    for f in sorted(folder.glob("*.txt")):
        lines = f.read_text(encoding="utf-8").splitlines()
        label = file_labeller(lingua_code(f.stem), lines)
        tune = _held_lines(len(lines), share, seed, f"lingua:{kind}:{f.stem}")
        for i in _pick(len(lines), set(), "train" if part == "heldout" else part, tune):
            _add(data, lines[i], label)
    if not data.texts:
        raise CurationError(f"{folder}: no <code>.txt files")
    return data


def masakhanews(root: str | Path, split: str = "train", max_chars: int = 2000) -> LabelledSet:
    """MasakhaNEWS articles (headline and text, cut at `max_chars`) of the languages that have `split`."""
    root = _need_dir(root, "MasakhaNEWS data")
    data = LabelledSet(source=f"MasakhaNEWS {split} ({root})")
    csv.field_size_limit(sys.maxsize)
    for lang in sorted(p for p in root.iterdir() if p.is_dir()):
        f = lang / f"{split}.tsv"
        if not f.exists():
            data.skipped[f"languages without {split}.tsv"] += 1
            continue
        with open(f, encoding="utf-8", newline="") as fh:  # quoted fields with newlines inside
            texts = [f"{r.get('headline') or ''}. {r.get('text') or ''}"[:max_chars]
                     for r in csv.DictReader(fh, delimiter="\t")]
        label = file_labeller(lang.name, texts)
        for text in texts:
            _add(data, text, label)
    return data


def merge(sets: list[LabelledSet], source: str) -> LabelledSet:
    out = LabelledSet(source=source)
    for s in sets:
        out.texts += s.texts
        out.labels += s.labels
        out.skipped.update(s.skipped)
    return out
