"""Harnesses for tests and benchmarks: the kill-and-resume harness (`kill_resume`)."""

_EXPORTS = {
    "RunShape": "curation.testing.kill_resume",
    "snapshot": "curation.testing.kill_resume",
    "differences": "curation.testing.kill_resume",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name):  # each name is imported from its module on first use, so importing the package is cheap
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
