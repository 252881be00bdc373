"""`curate filter`: a language's quality filters over Parquet/JSONL files, outside a pipeline run.

Kept rows go to `OUT/<file>.parquet`, removed rows to `OUT/removed/<file>.parquet` with `filter_reason`;
every input column is preserved. This is how a user checks what a config does to text of their own
(pass rates on clean text, removal rates on junk).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from tqdm import tqdm

from curation import atomic
from curation.io.paths import infer_format, resolve_paths
from curation.io.readers import language_values, record_batches, text_values
from filters.config import load_config
from filters.quality import compute_signals, decide
from filters.words import word_tokenizer


def quality_reason(text, language: str, config_dir: str | None = None) -> str | None:
    """The first failing rule for `text` under `language`'s config, or None when it passes."""
    if not isinstance(text, str) or not text.strip():
        return "empty"
    cfg, _ = load_config(language, config_dir)
    words = word_tokenizer(language)(text)
    return decide(text, compute_signals(text, words, frozenset(cfg.stopwords)), cfg, words)


def filter_files(inputs: list[str], output: str, language: str | None = None, config_dir: str | None = None,
                 text_column: str = "text", language_column: str = "language", progress: bool = True) -> dict:
    """Filter every file into `output`; returns documents, kept, and removals per reason and per language."""
    files = resolve_paths(inputs)
    out = Path(output)
    (out / "removed").mkdir(parents=True, exist_ok=True)
    reasons, per_lang = Counter(), {}
    total = kept = 0
    bar = tqdm(desc="quality", unit=" docs", disable=not progress)
    for path in files:
        fmt = infer_format(path)
        kept_parts, removed_parts = [], []
        for batch in record_batches(path, fmt):
            texts = text_values(batch, path, text_column)
            langs = language_values(batch, path, len(texts), language, language_column, required=True)
            why = [quality_reason(t, lang, config_dir) for t, lang in zip(texts, langs)]
            mask = pa.array([w is None for w in why])
            kept_parts.append(batch.filter(mask))
            removed = batch.filter(pc.invert(mask))
            removed_parts.append(removed.append_column("filter_reason", pa.array([w for w in why if w], pa.string()))
                                 if removed.num_rows else None)
            for lang, w in zip(langs, why):
                c = per_lang.setdefault(lang, Counter())
                c["documents"] += 1
                c["kept" if w is None else "removed"] += 1
                if w:
                    reasons[w] += 1
            total += len(texts)
            kept += sum(w is None for w in why)
            bar.update(len(texts))
        name = Path(path).name.split(".")[0] + ".parquet"
        _write(out / name, kept_parts)
        _write(out / "removed" / name, [p for p in removed_parts if p is not None])
    bar.close()
    return {"documents": total, "kept": kept, "removed": total - kept, "reasons": dict(reasons.most_common()),
            "languages": {k: dict(v) for k, v in sorted(per_lang.items())}}


def _write(path: Path, parts: list) -> None:
    if not parts:
        return
    atomic.write_with(path, lambda tmp: pq.write_table(pa.Table.from_batches(parts), tmp))
