"""LLM rephrasing in several styles and languages: prompts and styles (`styles/`), chunking, backends
(OpenAI-compatible servers or local transformers), output checks, per-batch checkpoints, the `rephrase` stage."""

from curation.core import lazy_exports

_EXPORTS = {
    "Rephrase": "rephrase.stage",
    "Rephraser": "rephrase.engine",
    "load_style": "rephrase.prompts",
    "BatchCheckpoint": "rephrase.checkpoint",
}
__all__ = sorted(_EXPORTS)

__getattr__ = lazy_exports(__name__, _EXPORTS)  # each name imported on first use: the package loads cheaply
