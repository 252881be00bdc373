"""Files <-> documents: input formats and paths, the readers (WARC, WET, JSONL, Parquet, HTML), the Parquet
writer (one dataset per language) and HTML text extraction."""

from curation.core import lazy_exports

_EXPORTS = {
    "FORMATS": "curation.io.paths",
    "infer_format": "curation.io.paths",
    "resolve_paths": "curation.io.paths",
    "make_reader": "curation.io.readers",
    "record_batches": "curation.io.readers",
    "ParquetOutput": "curation.io.writer",
    "safe_language": "curation.io.writer",
    "Extract": "curation.io.extract",
}
__all__ = sorted(_EXPORTS)

__getattr__ = lazy_exports(__name__, _EXPORTS)  # each name imported on first use: the package loads cheaply
