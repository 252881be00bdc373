"""curation: a multilingual pre-training data pipeline on datatrove (FineWeb2-style).

Python API: build the same pipelines as the manifests, and add filters.

    from curation import Pipeline, register_stage

    @register_stage
    def no_lorem(doc) -> bool | str:
        return "lorem" if "lorem ipsum" in doc.text.lower() else True

    Pipeline.read("crawl.warc.gz").stage("extract").stage("langid").stage("no_lorem").stage("quality") \\
        .write("out/").run()

The package root loads only curation.core; `Pipeline` (with the manifest models: pydantic, yaml) on first use.
"""

from curation.core import CurationError, Document, Filter, FunctionFilter, Stage, get_stage, register_stage

__all__ = ["CurationError", "Document", "Filter", "FunctionFilter", "Pipeline", "Stage", "get_stage", "register_stage"]


def __getattr__(name):
    if name == "Pipeline":
        from curation.pipeline import Pipeline

        return Pipeline
    raise AttributeError(f"module 'curation' has no attribute {name!r}")
