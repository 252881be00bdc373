"""`curate dedup`: MinHash-deduplicate Parquet/JSONL files, per language, keeping every input column.

Two passes over the input: the first reads only the text (and language) columns and builds the clusters
(dedup/), the second copies the kept rows with `minhash_cluster_size` and `minhash_cluster_id` added.
Output files are written under a temporary name and renamed, one per input file.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from curation.core import CurationError
from curation.readers import infer_format, resolve_paths
from dedup.minhash import Deduper, MinhashConfig
from filters.words import normalized_word_splitter

BATCH = 4096


def _batches(path: str, fmt: str, columns: list[str] | None = None) -> Iterator[pa.RecordBatch]:
    import fsspec

    if fmt == "parquet":
        with fsspec.open(path, "rb") as f:
            pf = pq.ParquetFile(f)
            cols = [c for c in (columns or pf.schema_arrow.names) if c in pf.schema_arrow.names]
            yield from pf.iter_batches(batch_size=BATCH, columns=cols)
    elif fmt == "jsonl":
        import pyarrow.json as pj

        with fsspec.open(path, "rb", compression="infer") as f:
            table = pj.read_json(f)
        for batch in table.to_batches(max_chunksize=BATCH):
            if columns:
                batch = pa.RecordBatch.from_arrays([batch.column(c) for c in columns if c in batch.schema.names],
                                                   names=[c for c in columns if c in batch.schema.names])
            yield batch
    else:
        raise CurationError(f"{path}: curate dedup reads Parquet or JSONL, not {fmt or 'this format'}")


def _text_column(batch: pa.RecordBatch, path: str, text_column: str) -> list:
    if text_column not in batch.schema.names:
        raise CurationError(f"{path}: no '{text_column}' column (columns: {', '.join(batch.schema.names)}); "
                            "give --text-column")
    col = batch.column(text_column)
    if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type) or pa.types.is_null(col.type)):
        raise CurationError(f"{path}: column '{text_column}' holds {col.type}, not text; give --text-column")
    return col.to_pylist()


def dedup_files(inputs: list[str], output: str, language: str | None = None, text_column: str = "text",
                language_column: str = "language", config: MinhashConfig = MinhashConfig(),
                progress: bool = True) -> dict:
    """Deduplicate files into `output`; returns counts (documents in, kept, removed, per language)."""
    files = resolve_paths(inputs)
    formats = [infer_format(f) for f in files]
    work = Path(tempfile.mkdtemp(prefix="curate-dedup-", dir=output if os.path.isdir(output) else None))
    dedupers: dict[str, Deduper] = {}
    rows: dict[str, list[np.ndarray]] = {}  # per language: global row numbers, in the deduper's order
    counts = Counter()
    n = 0
    bar = tqdm(desc="signatures", unit=" docs", disable=not progress)
    try:
        for path, fmt in zip(files, formats):
            for batch in _batches(path, fmt, [text_column, language_column]):
                texts = _text_column(batch, path, text_column)
                if language:
                    langs = [language] * len(texts)
                elif language_column in batch.schema.names:
                    langs = [lang or "und" for lang in batch.column(language_column).to_pylist()]
                else:
                    langs = ["und"] * len(texts)
                groups: dict[str, list[int]] = {}
                for i, (t, lang) in enumerate(zip(texts, langs)):
                    if isinstance(t, str) and t.strip():
                        groups.setdefault(str(lang), []).append(i)
                    else:
                        counts["no_text"] += 1
                for lang, idx in groups.items():
                    if lang not in dedupers:
                        dedupers[lang] = Deduper(normalized_word_splitter(lang), config, work / _safe(lang))
                        rows[lang] = []
                    dedupers[lang].add([texts[i] for i in idx])
                    rows[lang].append(np.asarray(idx, dtype=np.int64) + n)
                n += len(texts)
                bar.update(len(texts))
        bar.close()
        keep = np.ones(n, dtype=bool)
        size = np.ones(n, dtype=np.int64)
        cluster = np.arange(n, dtype=np.int64)
        per_language = {}
        for lang, d in dedupers.items():
            res = d.finish()
            glob = np.concatenate(rows[lang])
            keep[glob] = res.keep
            size[glob] = res.cluster_size
            cluster[glob] = glob[res.cluster_id]
            per_language[lang] = {"in": int(d.n), "kept": int(res.keep.sum()), "removed": res.removed,
                                  "without_ngrams": d.without_ngrams}
        _write_kept(files, formats, output, keep, size, cluster)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {"documents": n, "kept": int(keep.sum()), "removed": int((~keep).sum()), "no_text": counts["no_text"],
            "languages": dict(sorted(per_language.items(), key=lambda kv: -kv[1]["in"]))}


def _safe(lang: str) -> str:
    return "".join(c if c.isalnum() or c in "_-" else "_" for c in lang) or "und"


def _write_kept(files, formats, output, keep, size, cluster) -> None:
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    n = 0
    for i, (path, fmt) in enumerate(zip(files, formats)):
        target = out / f"{i:05d}_{Path(path.split('://')[-1]).name.split('.')[0]}.parquet"
        tmp = target.with_name(target.name + ".tmp")
        writer = None
        try:
            for batch in _batches(path, fmt):
                m = len(batch)
                sel = keep[n:n + m]
                table = pa.Table.from_batches([batch]).filter(pa.array(sel))
                table = table.append_column("minhash_cluster_size", pa.array(size[n:n + m][sel]))
                table = table.append_column("minhash_cluster_id", pa.array(cluster[n:n + m][sel]))
                if writer is None:
                    writer = pq.ParquetWriter(tmp, table.schema, compression="zstd")
                writer.write_table(table.cast(writer.schema) if table.schema != writer.schema else table)
                n += m
        finally:
            if writer is not None:
                writer.close()
        if writer is not None:
            os.replace(tmp, target)

