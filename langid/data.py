"""Labelled language-ID sets: JSONL or Parquet files with a `text` and a `label` column.

Labels are `iso639-3_Script` (`fra_Latn`) or plain ISO 639-3 (`fra`); a plain code gets the dominant script
of its text, so both forms compare with what the models predict. A record without text or with a label of
neither form is counted under a reason and skipped; a file that is missing, empty or lacks a column is an
error naming it.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from curation.core import CurationError
from langid.labels import canonical_label, dominant_script

_FULL = re.compile(r"([A-Za-z]{3})_([A-Za-z]{4})")
_PLAIN = re.compile(r"[A-Za-z]{3}")
COLUMNS = ("text", "label")


@dataclass
class LabelledSet:
    """Texts with their `iso639-3_Script` labels, and the records skipped, by reason."""

    texts: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    skipped: Counter = field(default_factory=Counter)
    source: str = ""

    def __len__(self) -> int:
        return len(self.texts)

    def by_label(self) -> dict[str, list[int]]:
        out: dict[str, list[int]] = {}
        for i, lab in enumerate(self.labels):
            out.setdefault(lab, []).append(i)
        return out

    def only(self, labels) -> "LabelledSet":
        """The documents whose label is in `labels`, in order (skip counts are not carried over)."""
        keep = set(labels)
        sub = LabelledSet(source=self.source)
        for text, lab in zip(self.texts, self.labels):
            if lab in keep:
                sub.texts.append(text)
                sub.labels.append(lab)
        return sub

    def skipped_line(self) -> str:
        """One line saying what was skipped and why ('' when nothing was)."""
        if not self.skipped:
            return ""
        reasons = ", ".join(f"{n} {r}" for r, n in self.skipped.most_common())
        return f"{self.source}: skipped {sum(self.skipped.values())} records ({reasons})"


def normalize_gold(label, text: str) -> str | None:
    """`fra_Latn` -> itself, `fra` -> `fra_` + the text's dominant script, both through the alias table
    (`pes_Arab` -> `fas_Arab`); anything else -> None."""
    if not isinstance(label, str):
        return None
    label = label.strip().removeprefix("__label__")
    if m := _FULL.fullmatch(label):
        return canonical_label(f"{m.group(1).lower()}_{m.group(2).title()}")
    if _PLAIN.fullmatch(label):
        return canonical_label(f"{label.lower()}_{dominant_script(text)}")
    return None


def _records(path: str):
    """(text, label) pairs of a JSONL or Parquet file; None for a line that is not a JSON object."""
    import fsspec

    name = path.lower()
    if name.endswith(".parquet"):
        import pyarrow.parquet as pq

        try:
            with fsspec.open(path, "rb") as f:
                pf = pq.ParquetFile(f)
                names = pf.schema_arrow.names
                missing = [c for c in COLUMNS if c not in names]
                if missing:
                    raise CurationError(f"{path}: no {' or '.join(repr(c) for c in missing)} column "
                                        f"(columns: {', '.join(names) or 'none'})")
                for batch in pf.iter_batches(columns=list(COLUMNS), batch_size=8192):
                    yield from zip(batch.column("text").to_pylist(), batch.column("label").to_pylist())
        except (OSError, ValueError) as e:  # pyarrow's errors for a file that is not Parquet
            raise CurationError(f"{path}: cannot read as Parquet ({e})") from None
        return
    if not (name.endswith(".jsonl") or name.endswith(".jsonl.gz") or name.endswith(".json")):
        raise CurationError(f"{path}: a labelled set is a .jsonl or .parquet file")
    import orjson

    seen_columns = set()
    try:
        with fsspec.open(path, "rb", compression="infer") as f:
            for line in f:
                if not line.strip():
                    continue
                try:
                    row = orjson.loads(line)
                except orjson.JSONDecodeError:
                    yield None
                    continue
                if not isinstance(row, dict):
                    yield None
                    continue
                seen_columns.update(row)
                yield row.get("text"), row.get("label")
    except (OSError, EOFError) as e:
        raise CurationError(f"{path}: cannot read ({e})") from None
    missing = [c for c in COLUMNS if seen_columns and c not in seen_columns]
    if missing:
        raise CurationError(f"{path}: no {' or '.join(repr(c) for c in missing)} field in any record "
                            f"(fields: {', '.join(sorted(seen_columns))})")


def read_labelled(path: str) -> LabelledSet:
    """Read a labelled set; raises CurationError when the file is missing, empty or lacks a column."""
    import fsspec

    try:
        fs, root = fsspec.core.url_to_fs(path)
        exists = fs.exists(root)
    except (ImportError, ValueError) as e:
        raise CurationError(f"{path}: cannot open ({e})") from None
    if not exists:
        raise CurationError(f"{path}: no such file")
    data = LabelledSet(source=path)
    for rec in _records(path):
        if rec is None:
            data.skipped["broken JSON line"] += 1
            continue
        text, label = rec
        if not isinstance(text, str) or not text.strip():
            data.skipped["no text"] += 1
            continue
        gold = normalize_gold(label, text)
        if gold is None:
            data.skipped["unknown label"] += 1
            continue
        data.texts.append(text)
        data.labels.append(gold)
    if not data.texts:
        why = f" ({data.skipped_line().split(': ', 1)[1]})" if data.skipped else ""
        raise CurationError(f"{path}: no labelled records{why}; each record needs a 'text' and a 'label' "
                            "(iso639-3_Script like fra_Latn, or ISO 639-3 like fra)")
    return data
