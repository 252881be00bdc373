"""`curate split`: set documents aside for evaluation before a tokenizer or a model sees any of them.

Each document gets a key from a keyed hash of its text (blake2b with the seed), so the split is fixed by
(seed, text) alone, whatever the file order, and exact duplicates always land on the same side. Per language,
the `share` of documents with the smallest keys is held out (at least one when the language has
`min_documents` or more; languages with fewer stay in training). Two passes over the input: the first finds
each language's key threshold, the second writes OUT/train/ and OUT/heldout/ (same columns as the input, one
Parquet file per input file and side) and OUT/split.json (documents and bytes per language and side).
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from pathlib import Path

from curation import atomic
from curation.core import CurationError
from curation.io.readers import record_batches
from curation.tokenize.encode import input_files


def _key(text: str, seed: int) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8,
                                          key=seed.to_bytes(8, "little")).digest(), "little")


def _rows(path: str, fmt: str, text_column: str):
    for batch in record_batches(path, fmt):
        if text_column not in batch.schema.names:
            raise CurationError(f"{path}: no '{text_column}' column to split on")
        langs = (batch.column("language").to_pylist() if "language" in batch.schema.names
                 else [None] * batch.num_rows)
        yield batch, batch.column(text_column).to_pylist(), [lang or "unknown" for lang in langs]


def split_dataset(inputs: list[str], output: str | Path, share: float = 0.1, seed: int = 0,
                  text_column: str = "text", min_documents: int = 2) -> dict:
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not 0 < share < 1:
        raise CurationError(f"held-out share {share}: give a fraction between 0 and 1 (e.g. 0.1)")
    files = input_files(inputs)
    keys: dict[str, list[int]] = defaultdict(list)
    for path, fmt in files:
        for _, texts, langs in _rows(path, fmt, text_column):
            for t, lang in zip(texts, langs):
                if t:
                    keys[lang].append(_key(t, seed))
    if not keys:
        raise CurationError(f"input {' '.join(inputs)}: no documents with text in column '{text_column}'")
    threshold = {}  # held out: key < threshold (ties at the threshold stay in training, together)
    for lang, ks in keys.items():
        ks.sort()
        n_held = min(len(ks) - 1, max(1, round(share * len(ks)))) if len(ks) >= min_documents else 0
        threshold[lang] = ks[n_held] if n_held else ks[0]

    out = Path(output)
    counts = {side: defaultdict(lambda: {"documents": 0, "bytes": 0}) for side in ("train", "heldout")}
    for i, (path, fmt) in enumerate(files):
        name = f"{i:05d}_{Path(path).name.split('.')[0]}.parquet"
        parts: dict[str, list] = {"train": [], "heldout": []}
        for batch, texts, langs in _rows(path, fmt, text_column):
            held = [bool(t) and _key(t, seed) < threshold[lang] for t, lang in zip(texts, langs)]
            for side, mask in (("heldout", held), ("train", [bool(t) and not h for t, h in zip(texts, held)])):
                parts[side].append(batch.filter(pa.array(mask)))
                for t, lang, m in zip(texts, langs, mask):
                    if m:
                        counts[side][lang]["documents"] += 1
                        counts[side][lang]["bytes"] += len(t.encode("utf-8"))
        for side, batches in parts.items():
            table = pa.Table.from_batches(batches) if batches else None
            if table is not None and table.num_rows:
                atomic.write_with(out / side / name, lambda tmp, table=table: pq.write_table(table, tmp))
    summary = {"inputs": [p for p, _ in files], "share": share, "seed": seed, "text_column": text_column,
               "train": dict(sorted(counts["train"].items())), "heldout": dict(sorted(counts["heldout"].items()))}
    atomic.write_text(out / "split.json", json.dumps(summary, indent=1, ensure_ascii=False))
    return summary
