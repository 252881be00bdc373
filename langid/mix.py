"""Training mixes and held-out test sets for language ID, built from the real corpora (`langid.corpora`).

A mix spec is a small YAML file naming which corpora and which of their splits go into training:

    corpora:
      - corpus: sib200          # FLORES-200 sentences (SIB-200)
        splits: [train]         # dev is kept for thresholds, test for evaluation
      - corpus: ntrex
        part: train             # the lines NTREX_HELDOUT does not hold out
      - corpus: udhr            # `curate langid udhr` output folder: train.jsonl
        max_per_label: 400

A top-level `max_per_label: N` caps every label across the whole mix (a seeded sample of its documents from
whichever corpora hold it), so a language with several corpora does not outweigh its neighbour with one;
`min_per_label: N` repeats a seeded sample of a smaller label's own documents up to N (at most doubling it).
A `train:` mapping may give the fastText options the mix was made with (the command line wins).
The corpus folders are given on the command line (`--corpus sib200=PATH`), never in the spec, so a spec
works on any machine. `held_out_sets` cuts the evaluation side of the very same splits: nothing a mix trains
on is in a test set.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

from curation.core import CurationError
from langid import corpora
from langid.data import LabelledSet, read_labelled

CORPORA = ("sib200", "ntrex", "tatoeba", "masakhanews", "udhr", "lingua", "labelled")
SHIPPED_MIX = Path(__file__).parent / "mixes" / "real.yml"


@dataclass
class MixEntry:
    corpus: str
    splits: list[str] = field(default_factory=lambda: ["train"])  # sib200, masakhanews
    part: str = "train"  # ntrex, tatoeba
    max_per_label: int | None = None  # documents per label from this corpus (seeded sample)
    file: str = "train.jsonl"  # udhr / labelled: the file inside the given folder (or the path itself)


def load_mix(path: str | Path) -> list[MixEntry]:
    """Read a mix spec; a clear error names the file and the bad entry."""
    import yaml

    path = Path(path)
    try:
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as e:
        raise CurationError(f"{path}: cannot read the mix spec ({str(e).splitlines()[0]})") from None
    if not isinstance(spec, dict) or not isinstance(spec.get("corpora"), list) or not spec["corpora"]:
        raise CurationError(f"{path}: a mix spec is a mapping with a non-empty 'corpora' list")
    out = []
    for i, e in enumerate(spec["corpora"]):
        if not isinstance(e, dict) or e.get("corpus") not in CORPORA:
            raise CurationError(f"{path}: corpora[{i}] needs 'corpus:' one of {', '.join(CORPORA)}")
        try:
            out.append(MixEntry(**e))
        except TypeError as err:
            raise CurationError(f"{path}: corpora[{i}]: {err}") from None
    return out


def load_mix_cap(path: str | Path, key: str = "max_per_label") -> int | None:
    """The spec's top-level `max_per_label` (or `min_per_label`): documents per label over the whole mix."""
    import yaml

    spec = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    cap = spec.get(key)
    if cap is not None and (not isinstance(cap, int) or isinstance(cap, bool) or cap < 1):
        raise CurationError(f"{path}: '{key}' is a whole number of documents per label (got {cap!r})")
    return cap


def load_train_options(path: str | Path) -> dict:
    """The spec's `train:` mapping: fastText options of the model it was made for (TrainConfig names)."""
    import yaml

    from langid.train import TrainConfig

    spec = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    opts = spec.get("train") or {}
    unknown = sorted(set(opts) - set(TrainConfig.__dataclass_fields__))
    if not isinstance(opts, dict) or unknown:
        raise CurationError(f"{path}: 'train:' holds fastText options ({', '.join(TrainConfig.__dataclass_fields__)})"
                            + (f"; unknown: {', '.join(unknown)}" if unknown else ""))
    return opts


def _cap(data: LabelledSet, n: int | None, seed: int = corpora.SEED) -> LabelledSet:
    if not n:
        return data
    out = LabelledSet(source=f"{data.source}, at most {n} per language", skipped=data.skipped)
    for lab, idx in sorted(data.by_label().items()):
        if len(idx) > n:
            idx = sorted(random.Random(f"{seed}:{lab}").sample(idx, n))
        for i in idx:
            out.texts.append(data.texts[i])
            out.labels.append(lab)
    return out


MAX_REPEAT = 2  # `min_per_label` at most doubles a label: a label of 40 UDHR paragraphs stays small


def _fill(data: LabelledSet, n: int, seed: int = corpora.SEED) -> LabelledSet:
    """Each label under n documents gets copies of a seeded sample of its own documents, up to n (or double)."""
    out = LabelledSet(source=f"{data.source}, labels under {n} documents repeated up to {n}", skipped=data.skipped)
    out.texts, out.labels = list(data.texts), list(data.labels)
    for lab, idx in sorted(data.by_label().items()):
        extra = min(n, MAX_REPEAT * len(idx)) - len(idx)
        if extra > 0:
            for i in sorted(random.Random(f"{seed}:fill:{lab}").sample(idx, extra)):
                out.texts.append(data.texts[i])
                out.labels.append(lab)
    return out


def read_entry(e: MixEntry, path: str) -> LabelledSet:
    """The training side of one mix entry, read from `path`."""
    if e.corpus == "sib200":
        if "test" in e.splits:
            raise CurationError("sib200: the test split is for evaluation only; train on train (and dev)")
        data = corpora.sib200(path, tuple(e.splits))
    elif e.corpus == "ntrex":
        data = corpora.ntrex(path, e.part)
    elif e.corpus == "tatoeba":
        data = corpora.tatoeba(path, e.part)
    elif e.corpus == "masakhanews":
        data = corpora.masakhanews(path, e.splits[0])
    elif e.corpus == "lingua":
        raise CurationError("lingua's test data is for evaluation only")
    else:  # udhr, labelled: a JSONL/Parquet file, or a folder holding `file`
        p = Path(path)
        data = read_labelled(str(p / e.file if p.is_dir() else p))
    return _cap(data, e.max_per_label)


def build_mix(entries: list[MixEntry], paths: dict[str, str], strict: bool = True,
              max_per_label: int | None = None, min_per_label: int | None = None) -> tuple[LabelledSet, list[str]]:
    """All entries whose corpus has a path, merged (at most `max_per_label` documents per label over the whole
    mix, and smaller labels repeated up to `min_per_label`, when given); returns the set and a line per entry
    (or per missing one)."""
    sets, notes = [], []
    for e in entries:
        if e.corpus not in paths:
            if strict:
                raise CurationError(f"the mix uses '{e.corpus}': give its folder with --corpus {e.corpus}=PATH "
                                    "(or --allow-missing to train without it)")
            notes.append(f"{e.corpus}: no --corpus {e.corpus}=PATH given, left out")
            continue
        data = read_entry(e, paths[e.corpus])
        sets.append(data)
        notes.append(f"{data.source}: {len(data)} documents, {len(set(data.labels))} languages")
    if not sets:
        raise CurationError("no corpus of the mix was given (--corpus NAME=PATH)")
    merged = corpora.merge(sets, "mix: " + "; ".join(s.source for s in sets))
    if max_per_label:
        merged = _cap(merged, max_per_label)
        notes.append(f"whole mix, at most {max_per_label} per language: {len(merged)} documents")
    if min_per_label:
        merged = _fill(merged, min_per_label)
        notes.append(f"whole mix, labels under {min_per_label} documents repeated up to {min_per_label} "
                     f"(at most x{MAX_REPEAT}): {len(merged)} documents")
    return merged, notes


def held_out_sets(paths: dict[str, str]) -> dict[str, LabelledSet]:
    """The held-out side of every corpus given: FLORES-200 test, NTREX held-out lines, lingua's sentences
    (all, and the half the vote was not tuned on), word pairs and single words, Tatoeba held-out lines, UDHR
    held-out paragraphs, MasakhaNEWS test."""
    out: dict[str, LabelledSet] = {}
    if "sib200" in paths:
        out["flores-test"] = corpora.sib200(paths["sib200"], ("test",))
    if "ntrex" in paths:
        out["ntrex-heldout"] = corpora.ntrex(paths["ntrex"], "heldout")
    if "lingua" in paths:
        for kind in ("sentences", "word-pairs", "single-words"):
            out[f"lingua-{kind}"] = corpora.lingua(paths["lingua"], kind)
            if kind == "sentences":  # the half the combination's vote was not tuned on (`curate langid trust`)
                out["lingua-sentences-heldout"] = corpora.lingua(paths["lingua"], kind, "heldout")
    if "tatoeba" in paths:
        out["tatoeba-heldout"] = corpora.tatoeba(paths["tatoeba"], "heldout")
    if "udhr" in paths:
        p = Path(paths["udhr"])
        out["udhr-heldout"] = read_labelled(str(p / "heldout.jsonl" if p.is_dir() else p))
    if "masakhanews" in paths:
        out["masakhanews-test"] = corpora.masakhanews(paths["masakhanews"], "test")
    return out


def parse_corpus_args(items: list[str] | None) -> dict[str, str]:
    """`["sib200=/path", ...]` -> {"sib200": "/path"}; a clear error for a malformed or unknown name."""
    out = {}
    for item in items or []:
        name, sep, path = item.partition("=")
        if not sep or not path:
            raise CurationError(f"--corpus {item!r}: write NAME=PATH (NAME one of {', '.join(CORPORA)})")
        if name not in CORPORA:
            raise CurationError(f"--corpus {item!r}: unknown corpus {name!r} (one of {', '.join(CORPORA)})")
        out[name] = path
    return out
