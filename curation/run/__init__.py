"""Running a manifest: the run folder's names (`layout`), compiling passes (`compile`), barrier stages
(`barrier`), the executors, the runner, the run summary, progress bars and Ctrl-C handling."""

_EXPORTS = {
    "run_manifest": "curation.run.runner",
    "fingerprint": "curation.run.runner",
    "compile_phases": "curation.run.compile",
    "compile_pipeline": "curation.run.compile",
    "apply_overrides": "curation.run.compile",
    "format_summary": "curation.run.summary",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name):  # each name is imported from its module on first use, so importing the package is cheap
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
