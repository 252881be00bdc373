"""Output: sharded Parquet, one dataset folder per language (`out/<lang>/000_00000.parquet`), zstd, flat
columns (id, text, url, snapshot, date, language, language_score and the quality signals) with a fixed
schema, so every shard of every language reads back the same way. Built on datatrove's ParquetWriter.

On a local disk each shard is written as `.<name>.tmp` and renamed when complete (curation.atomic), so a
reader never finds a truncated shard; a task that fails or is stopped discards its unfinished shards, and a
task that is redone after a kill rewrites the same names."""

from __future__ import annotations

import os
import re

import pyarrow as pa
from datatrove.io import OutputFileManager
from datatrove.pipeline.writers import ParquetWriter
from fsspec.implementations.local import LocalFileSystem

from curation.atomic import commit, temp_path, write_error
from curation.core import Document, Stage, StageKind, Stats

BASE_COLUMNS = [
    ("id", pa.string()),
    ("text", pa.string()),
    ("url", pa.string()),
    ("snapshot", pa.string()),
    ("date", pa.string()),
    ("language", pa.string()),
    ("language_score", pa.float64()),
    ("minhash_cluster_size", pa.int64()),
    ("minhash_cluster_id", pa.string()),
    ("perplexity", pa.float64()),  # the kenlm stage
    ("perplexity_bucket", pa.string()),
    ("source_id", pa.string()),  # rephrased documents: the source document, style and model
    ("rephrase_style", pa.string()),
    ("rephrase_model", pa.string()),
]
_INT_SIGNALS = {"n_words", "stop_words"}
_SAFE = re.compile(r"[^A-Za-z0-9_\-]")


def signal_columns() -> list[tuple[str, pa.DataType]]:
    from filters.quality import SIGNALS

    return [(s, pa.int64() if s in _INT_SIGNALS else pa.float64()) for s in SIGNALS]


def output_schema(extra: list[tuple[str, pa.DataType]] = ()) -> pa.Schema:
    return pa.schema(BASE_COLUMNS + signal_columns() + list(extra))


def safe_language(lang) -> str:
    """A language code as a folder name: never a path that could leave the output folder."""
    lang = _SAFE.sub("_", str(lang or "unknown"))[:64].strip("_")
    return lang or "unknown"


class _TempFile:
    """An output file open under its temporary name: `close()` (the file is complete) renames it into place,
    `discard()` (the task failed or stopped) removes it. Write errors name the output (disk full...)."""

    def __init__(self, folder, filename: str):
        self.final = folder.resolve_paths(filename)
        self.tmp = str(temp_path(self.final))
        os.makedirs(os.path.dirname(self.final), exist_ok=True)
        self._f = open(self.tmp, "wb")
        self._done = False

    def write(self, data) -> int:
        if self._done:  # pyarrow's writer, closed by the garbage collector after a discard
            return len(data)
        try:
            return self._f.write(data)
        except OSError as e:
            raise write_error(self.final, e) from e

    def tell(self) -> int:
        return self._f.tell()

    def flush(self) -> None:
        if not self._done:
            self._f.flush()

    @property
    def closed(self) -> bool:
        return self._done

    def close(self) -> None:
        if self._done:
            return
        self._done = True
        try:
            self._f.close()
            commit(self.tmp, self.final)
        except OSError as e:
            self._remove()
            raise write_error(self.final, e) from e

    def discard(self) -> None:
        if not self._done:
            self._done = True
            self._remove()

    def _remove(self) -> None:
        try:
            self._f.close()
        except OSError:
            pass
        if os.path.exists(self.tmp):
            os.unlink(self.tmp)


class _TempFiles(OutputFileManager):
    """datatrove's output file manager, opening each file under its temporary name."""

    def get_file(self, filename):
        if filename not in self._output_files:
            self._output_files[filename] = _TempFile(self.fs, filename)
        return self._output_files[filename]

    def discard(self) -> None:
        for f in self._output_files.values():
            f.discard()
        self._output_files.clear()


class _LanguageParquetWriter(ParquetWriter):
    """datatrove's ParquetWriter with a flat adapter, language folders that cannot escape the output, and
    (on a local disk) shards that appear only when complete. Call `abort()` instead of `close()` when the
    documents stop early (an error, Ctrl-C): the unfinished shards are removed, not completed."""

    def __init__(self, output_folder, schema: pa.Schema, output_filename: str = "${language}/${rank}.parquet",
                 **kwargs):
        self._columns = schema.names
        self._types = {f.name: str(f.type) for f in schema}
        super().__init__(output_folder, output_filename=output_filename, compression="zstd",
                         adapter=_flat_adapter, schema=schema, **kwargs)
        if isinstance(self.output_folder.fs, LocalFileSystem):  # object stores show a file only once complete
            self.output_mg = _TempFiles(self.output_folder, mode="wb", compression=None)

    def abort(self) -> None:
        if isinstance(self.output_mg, _TempFiles):
            self.output_mg.discard()
        else:
            self.output_mg.close()
        self._writers.clear()
        self._batches.clear()

    def _get_output_filename(self, document: Document, rank: int | str = 0, **kwargs) -> str:
        return self.output_filename.substitute(rank=str(rank).zfill(5),
                                               language=safe_language(document.metadata.get("language")))


def _flat_adapter(self, doc: Document) -> dict:
    meta = doc.metadata
    row = {name: meta.get(name) for name in self._columns}
    row["id"] = str(doc.id)
    row["text"] = doc.text
    for key in ("url", "snapshot", "date", "language", "filter_reason", "removed_by", "minhash_cluster_id",
                "source_id"):
        if key in row and row[key] is not None:
            row[key] = str(row[key])
    for name, value in row.items():  # a value of the wrong type (from the input's own columns) must not break
        if value is not None:          # the shard's schema: it is converted, or left out
            row[name] = _fit(value, self._types[name])
    return row


def _fit(value, kind: str):
    """`value` as the column's type ("string", "double", "int64"), or None when it is not one."""
    if kind == "string":
        return value if isinstance(value, str) else str(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if kind == "double":
        value = float(value)
        return value if value == value and value not in (float("inf"), float("-inf")) else None
    if kind == "int64":
        return int(value) if float(value).is_integer() and -2**63 <= value < 2**63 else None
    return value


def language_writer(folder: str, max_file_size_mb: int = 256, row_group_size: int = 10_000, exclusions: bool = False):
    extra = [("filter_reason", pa.string()), ("removed_by", pa.string())] if exclusions else []
    return _LanguageParquetWriter(folder, output_schema(extra), batch_size=row_group_size,
                                  max_file_size=max_file_size_mb * 2**20)


CLUSTER_COLUMNS = ("minhash_cluster_size", "minhash_cluster_id")


def duplicates_schema() -> pa.Schema:
    """The columns of a dedup stage's removed documents, as the one-process dedup writes them (its input's
    columns, then the cluster, `duplicate_of` (the kept copy's id) and the reason): the same files whatever
    the number of tasks."""
    base = [f for f in output_schema() if f.name not in CLUSTER_COLUMNS]
    return pa.schema(base + [("minhash_cluster_size", pa.int64()), ("minhash_cluster_id", pa.string()),
                             ("duplicate_of", pa.string()), ("filter_reason", pa.string())])


def duplicates_writer(folder: str, max_file_size_mb: int = 256, row_group_size: int = 1000):
    """A dedup stage's removed documents in one flat folder (`<rank>.parquet`, no language folders), as the
    one-process dedup lays them out (curation.run.layout)."""
    return _LanguageParquetWriter(folder, duplicates_schema(), output_filename="${rank}.parquet",
                                  batch_size=row_group_size, max_file_size=max_file_size_mb * 2**20)


class ParquetOutput(Stage):
    """Write kept documents as Parquet, one folder per language.

    Args:
        subdir: a folder inside the run's output to write into (default: the output folder itself)
        max_file_size_mb: start a new shard file past this size
        row_group_size: rows per Parquet row group (small groups stream well, e.g. in the dataset viewer)
        output_dir: write somewhere else than the manifest's `output.path` (Python API)
    """

    name = "📒 Write Parquet"
    type = StageKind.WRITER

    def __init__(self, subdir: str | None = None, max_file_size_mb: int = 256, row_group_size: int = 10_000,
                 output_dir: str | None = None):
        super().__init__()
        self.subdir = subdir
        self.output_dir = output_dir
        self.max_file_size_mb = max_file_size_mb
        self.row_group_size = row_group_size

    def run(self, data, rank: int = 0, world_size: int = 1):
        if self.output_dir is None:
            raise ValueError("write: no output folder (give output_dir, or run it from a manifest)")
        folder = f"{self.output_dir}/{self.subdir}" if self.subdir else self.output_dir
        writer = language_writer(folder, self.max_file_size_mb, self.row_group_size)
        try:
            for doc in data:
                with self.track_time():
                    writer.write(doc, rank)
                self.count(doc, Stats.WRITTEN)
                yield doc
        except BaseException:  # an error, Ctrl-C or an abandoned pipeline: no shard of this task completes
            writer.abort()
            raise
        writer.close()


class ExclusionWriter:
    """Lazily opened Parquet writer for one filter's removed documents (so empty exclusion folders stay absent):
    per language, or with `duplicates` (a dedup stage's) flat with duplicate_of (duplicates_writer)."""

    def __init__(self, folder: str, stage: str, max_file_size_mb: int, duplicates: bool = False):
        self.folder, self.stage, self.max_file_size_mb = folder, stage, max_file_size_mb
        self.duplicates = duplicates
        self._writer = None

    def write(self, doc, rank):
        if self._writer is None:
            self._writer = (duplicates_writer(self.folder, self.max_file_size_mb) if self.duplicates
                            else language_writer(self.folder, self.max_file_size_mb, 1000, exclusions=True))
        doc.metadata["removed_by"] = self.stage
        self._writer.write(doc, rank)

    def close(self):
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def abort(self):
        """The filter stopped early: remove the unfinished shards instead of completing them."""
        if self._writer is not None:
            self._writer.abort()
            self._writer = None
