"""Files <-> documents: input formats and paths, the readers (WARC, WET, JSONL, Parquet, HTML), the Parquet
writer (one dataset per language) and HTML text extraction."""

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


def __getattr__(name):  # each name is imported from its module on first use, so importing the package is cheap
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
