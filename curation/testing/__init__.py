"""Harnesses for tests and benchmarks: the kill-and-resume harness (`kill_resume`)."""

from curation.core import lazy_exports

_EXPORTS = {
    "RunShape": "curation.testing.kill_resume",
    "snapshot": "curation.testing.kill_resume",
    "differences": "curation.testing.kill_resume",
}
__all__ = sorted(_EXPORTS)

__getattr__ = lazy_exports(__name__, _EXPORTS)  # each name imported on first use: the package loads cheaply
