"""Running a manifest: the run folder's names (`layout`), compiling passes (`compile`), barrier stages
(`barrier`), the executors, the runner, the run summary, progress bars and Ctrl-C handling."""

from curation.core import lazy_exports

_EXPORTS = {
    "run_manifest": "curation.run.runner",
    "fingerprint": "curation.run.runner",
    "compile_phases": "curation.run.compile",
    "compile_pipeline": "curation.run.compile",
    "apply_overrides": "curation.run.compile",
    "format_summary": "curation.run.summary",
}
__all__ = sorted(_EXPORTS)

__getattr__ = lazy_exports(__name__, _EXPORTS)  # each name imported on first use: the package loads cheaply
