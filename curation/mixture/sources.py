"""Where a mixture's documents come from: a pipeline output's language folders (`<dir>/<language>/*.parquet`)
or a plain folder of Parquet files (replay), listed in a fixed order so every run reads rows the same way."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from curation.core import CurationError

BATCH = 8192
SIZE = "minhash_cluster_size"
ROW_OVERHEAD = 48  # bytes a mixture row takes besides its strings: language, source, sizes, offsets


@dataclass
class Source:
    """The Parquet files of one language from one origin (`original`, `rephrased` or `replay`)."""

    name: str
    language: str | None  # None: the rows' own `language` column decides (replay)
    files: list[Path]
    rows: int = 0
    row_bytes: int = 0  # uncompressed size of the columns a mixture keeps (Parquet metadata): sizes the shards
    columns: set[str] = field(default_factory=set)


def _parquet_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.parquet") if not any(part.startswith((".", "_")) for part in
                                                                  p.relative_to(folder).parts))


def language_folders(root: str, what: str = "input") -> dict[str, list[Path]]:
    """Language folders of a pipeline output (folders starting with `_` or `.` hold logs and exclusions)."""
    base = Path(root)
    if not base.is_dir():
        raise CurationError(f"{what} '{root}': folder not found")
    out = {}
    for d in sorted(base.iterdir()):
        if d.is_dir() and not d.name.startswith(("_", ".")):
            files = _parquet_files(d)
            if files:
                out[d.name] = files
    if not out:
        raise CurationError(f"{what} '{root}': no language folders with Parquet files (expected "
                            f"{root}/<language>/*.parquet)")
    return out


def open_source(name: str, language: str | None, files: list[Path]) -> Source:
    """Read the files' metadata: row counts, text size and columns; a file that is not Parquet is an error."""
    src = Source(name, language, files)
    for f in files:
        try:
            meta = pq.read_metadata(f)
        except (OSError, pa.ArrowException) as e:
            raise CurationError(f"{f}: not a readable Parquet file ({e})") from None
        names = meta.schema.to_arrow_schema().names
        if "text" not in names:
            raise CurationError(f"{f}: no 'text' column (columns: {', '.join(names)})")
        if language is None and "language" not in names:
            raise CurationError(f"{f}: no 'language' column, so its rows cannot be assigned to a language")
        src.columns.update(names)
        src.rows += meta.num_rows
        kept = [i for i, n in enumerate(names) if n in ("id", "text", "url", "rephrase_style")]
        for g in range(meta.num_row_groups):
            src.row_bytes += sum(meta.row_group(g).column(i).total_uncompressed_size for i in kept)
        src.row_bytes += ROW_OVERHEAD * meta.num_rows
    return src


def replay_files(root: str) -> list[Path]:
    base = Path(root)
    if not base.exists():
        raise CurationError(f"replay source '{root}': not found")
    files = [base] if base.is_file() else _parquet_files(base)
    if not files:
        raise CurationError(f"replay source '{root}': no Parquet files")
    return files


def batches(src: Source, columns: list[str], batch_size: int = BATCH) -> Iterator[tuple[Path, pa.RecordBatch]]:
    """The source's rows in order, `columns` only (absent ones are left out; the caller fills them)."""
    for f in src.files:
        pf = pq.ParquetFile(f)
        cols = [c for c in columns if c in pf.schema_arrow.names]
        for b in pf.iter_batches(batch_size=batch_size, columns=cols):
            yield f, b
