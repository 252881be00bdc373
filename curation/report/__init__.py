"""The run report: data gathered from a run folder (`data`), the HTML page (`html`) and its SVG charts (`svg`)."""

_EXPORTS = {
    "write_report": "curation.report.html",
    "gather": "curation.report.data",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name):  # each name is imported from its module on first use, so importing the package is cheap
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
