"""The run report: data gathered from a run folder (`data`), the HTML page (`html`) and its SVG charts (`svg`)."""

from curation.core import lazy_exports

_EXPORTS = {
    "write_report": "curation.report.html",
    "gather": "curation.report.data",
}
__all__ = sorted(_EXPORTS)

__getattr__ = lazy_exports(__name__, _EXPORTS)  # each name imported on first use: the package loads cheaply
