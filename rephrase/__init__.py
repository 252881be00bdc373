"""LLM rephrasing in several styles and languages: prompts and styles (`styles/`), chunking, backends
(OpenAI-compatible servers or local transformers), output checks, per-batch checkpoints, the `rephrase` stage."""

_EXPORTS = {
    "Rephrase": "rephrase.stage",
    "Rephraser": "rephrase.engine",
    "load_style": "rephrase.prompts",
    "BatchCheckpoint": "rephrase.checkpoint",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name):  # each name is imported from its module on first use, so importing the package is cheap
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
