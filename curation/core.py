"""The small core every stage package may import: errors, the stage registry, the base step classes, and the
names the stages, the run summary and the report share (stat labels, stage kinds).

Nothing here imports `filters`, `langid`, `dedup` or `rephrase`, so those packages can import this module
without circles. Stages are datatrove `PipelineStep`s, so every pipeline runs unchanged on datatrove's
Local, Slurm or Ray executors.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from importlib.metadata import entry_points

from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from curation.stages import BUILTIN

__all__ = [
    "CurationError",
    "Document",
    "Filter",
    "FunctionFilter",
    "Stage",
    "StageKind",
    "Stats",
    "get_stage",
    "register_stage",
    "registered_stages",
]

ENTRY_POINT_GROUP = "curation.stages"


class CurationError(Exception):
    """An error a user can act on: the message names the input and the problem (the CLI prints it and exits 2)."""


# ------------------------------------------------------------------------------------------------- shared names


def lazy_exports(package: str, exports: dict[str, str]) -> Callable[[str], object]:
    """A package's module-level `__getattr__` that imports each name of `exports` (name -> module) from its
    module on first use, so importing the package itself stays cheap."""

    def __getattr__(name: str):
        if name in exports:
            return getattr(importlib.import_module(exports[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__


class Stats:
    """The stat labels our steps count (as datatrove's `StatHints` names its own): the run summary
    (curation.run.summary) and the report read them back, and stats.json keeps them."""

    IN = "in"  # documents a filter saw
    KEPT = "kept"
    REMOVED = "removed"
    WRITTEN = "written"  # documents a writer wrote
    DOCUMENTS = "documents"  # documents a reader produced
    INPUT_FILES = "input_files"
    SKIPPED = "skipped"  # records a reader could not turn into a document
    REPAIRED = "repaired"  # records a reader repaired and kept
    LANG = "lang"  # prefix of the per-language copies of every label

    @staticmethod
    def removed(reason: str) -> str:
        return f"{Stats.REMOVED}/{reason}"

    @staticmethod
    def skipped(reason: str) -> str:
        return f"{Stats.SKIPPED}/{reason}"

    @staticmethod
    def repaired(what: str) -> str:
        """A record a reader repaired and kept (a payload decoded, control characters removed, ...)."""
        return f"{Stats.REPAIRED}/{what}"

    @staticmethod
    def not_response(record_type: str) -> str:
        """A WARC record that is not an HTTP response (request, metadata, ...): passed over, by type."""
        return f"not_response/{record_type}"

    @staticmethod
    def per_language(language: str, label: str) -> str:
        return f"{Stats.LANG}/{language}/{label}"

    CONFIG_FALLBACK = "config_fallback"  # documents of a language judged with default.yml (no config of its own)

    @staticmethod
    def config_fallback(language: str) -> str:
        return f"{Stats.CONFIG_FALLBACK}/{language}"


class StageKind:
    """A step's `type` (datatrove shows it beside the step's name; stats.json records it)."""

    STAGE = "🧩 - STAGE"
    FILTER = "🔻 - FILTER"
    READER = "📖 - READER"
    WRITER = "💽 - WRITER"
    DEDUP = "🫂 - DEDUP"
    REPHRASE = "🪄 - REPHRASE"
    SUMMARY = "📋 - SUMMARY"


# ----------------------------------------------------------------------------------------------------- registry

_REGISTRY: dict[str, type[PipelineStep] | Callable | str] = dict(BUILTIN)


def register_stage(name_or_obj=None, *, name: str | None = None):
    """Register a stage class or a plain filter function under a name usable in manifests.

    Works as `@register_stage`, `@register_stage("name")` or `register_stage(obj, name="x")`. A function
    `f(doc) -> bool | str` becomes a filter: True keeps, False or a string (the reason) removes.
    """

    def _register(obj, stage_name=None):
        stage_name = stage_name or getattr(obj, "stage_name", None) or obj.__name__
        _REGISTRY[stage_name] = obj
        return obj

    if isinstance(name_or_obj, str):
        return lambda obj: _register(obj, name_or_obj)
    if name_or_obj is None:
        return lambda obj: _register(obj, name)
    return _register(name_or_obj, name)


def register_lazy(name: str, path: str) -> None:
    """Register a stage by its import path ("module:attr"); it is imported when first used."""
    _REGISTRY.setdefault(name, path)


def _load_entry_points() -> None:
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        _REGISTRY.setdefault(ep.name, ep.value)


def _import_path(path: str):
    module_name, _, attr = path.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise CurationError(f"stage '{path}': cannot import module '{module_name}' ({e})") from None
    try:
        return getattr(module, attr)
    except AttributeError:
        raise CurationError(f"stage '{path}': module '{module_name}' has no attribute '{attr}'") from None


def _checked_import(path: str):
    """`module:attr` from a manifest: only a stage class (a datatrove PipelineStep, curation.Filter included) or a
    function registered as a stage (@register_stage, or an entry point of the `curation.stages` group) may run as
    one, so `os:system` or `builtins:eval` is refused rather than called on every document."""
    obj = _import_path(path)  # importing the module runs its @register_stage decorators
    if inspect.isclass(obj) and issubclass(obj, PipelineStep):
        return obj
    if callable(obj) and (any(obj is v for v in _REGISTRY.values())
                          or any(ep.value.replace(" ", "") == path for ep in entry_points(group=ENTRY_POINT_GROUP))):
        return obj
    kind = "class" if inspect.isclass(obj) else "function" if callable(obj) else type(obj).__name__
    raise CurationError(f"stage '{path}': {kind} '{getattr(obj, '__name__', path)}' is not a stage (a stage is a "
                        "PipelineStep/curation.Filter subclass, or a function registered with @register_stage "
                        "or a 'curation.stages' entry point)")


def get_stage(name: str):
    """Return the class (or filter function) registered as `name`, or importable as `module:attr`."""
    if name not in _REGISTRY:
        _load_entry_points()
    obj = _REGISTRY.get(name)
    if obj is None and ":" in name:
        obj = _checked_import(name)
    if obj is None:
        known = ", ".join(sorted(registered_stages()))
        raise CurationError(f"unknown stage '{name}' (known stages: {known}; or give 'module:function')")
    if isinstance(obj, str):  # lazy entry point or built-in: "module:attr"
        obj = _REGISTRY[name] = _import_path(obj)
    return obj


def registered_stages() -> list[str]:
    _load_entry_points()
    return sorted(_REGISTRY)


def stage_parameters(obj) -> dict[str, inspect.Parameter]:
    """The options a stage takes in a manifest: its constructor's keyword parameters (none for a function)."""
    if not inspect.isclass(obj):
        return {}
    params = inspect.signature(obj.__init__).parameters
    return {
        k: p
        for k, p in params.items()
        if k != "self" and p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    }


def option_docs(obj) -> dict[str, str]:
    """Each option's description from the `Args:` section of a stage's docstring (shown by `curate stages`
    and in the JSON Schema)."""
    docs, current, in_args = {}, None, False
    for line in (inspect.getdoc(obj) or "").splitlines():
        stripped = line.strip()
        if stripped == "Args:":
            in_args = True
            continue
        if not in_args:
            continue
        if not stripped:
            break
        name, sep, desc = stripped.partition(":")
        if sep and line.startswith("    ") and not line.startswith("        ") and name.isidentifier():
            current = name
            docs[name] = desc.strip()
        elif current:
            docs[current] += " " + stripped
    return docs


def build_stage(obj, options: dict) -> PipelineStep:
    """Instantiate a registered stage; wrap plain functions into a FunctionFilter."""
    if inspect.isclass(obj) and issubclass(obj, PipelineStep):
        return obj(**options)
    if callable(obj):
        if options:
            raise CurationError(f"filter function '{obj.__name__}' takes no options, got {sorted(options)}")
        return FunctionFilter(obj)
    raise CurationError(f"'{obj!r}' is neither a pipeline step class nor a filter function")


# ----------------------------------------------------------------------------------------------------- steps


def doc_language(doc: Document) -> str:
    return doc.metadata.get("language") or "unknown"


class Stage(PipelineStep):
    """Base for our steps: stats are counted per language as well as in total, so the run summary can say
    what each stage did to each language."""

    type = StageKind.STAGE
    # True on the stage that sets each document's `language` (language ID): the run summary takes each
    # language's `in` from it, and a manifest run gives it the manifest's `languages` and per-language scores
    labels_language = False

    def count(self, doc: Document | None, *labels: str, value: int = 1) -> None:
        lang = doc_language(doc) if doc is not None else None
        for label in labels:
            self.stat_update(label, value=value)
            if lang:
                self.stat_update(Stats.per_language(lang, label), value=value)


class Filter(Stage):
    """Base class for filters: override `filter(doc)`, returning True to keep, or False / a reason string /
    `(False, reason)` to remove. Removed documents can go to an exclusion writer, tagged with the reason.

    Counts `in`, `kept`, `removed` and `removed/<reason>`, each also per language.
    """

    type = StageKind.FILTER
    exclusion_writer = None
    batch_size = 256  # documents filtered together before any is passed on (see _batches)
    batch_chars = 32 * 2**20

    def __init__(self):
        super().__init__()

    def filter(self, doc: Document) -> bool | str | tuple[bool, str]:
        raise NotImplementedError

    def filter_batch(self, batch: list[Document]) -> list:
        """Override when a whole batch is cheaper at once (one model call); same results as `filter`."""
        return [self.filter(doc) for doc in batch]

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        writer = self.exclusion_writer
        try:
            for batch in _batches(data, self.batch_size, self.batch_chars):
                with self.track_time():
                    results = self.filter_batch(batch)
                for doc, result in zip(batch, results):
                    keep, reason = _filter_result(result)
                    self.count(doc, Stats.IN)
                    if keep:
                        self.count(doc, Stats.KEPT)
                        yield doc
                        continue
                    self.count(doc, Stats.REMOVED, Stats.removed(reason))
                    if writer is not None:
                        doc.metadata["filter_reason"] = reason
                        writer.write(doc, rank)
        except BaseException:  # stopped early: the exclusion shards are not complete, so none appears
            if writer is not None:
                getattr(writer, "abort", writer.close)()
            raise
        if writer is not None:
            writer.close()


def _batches(data, size: int, max_chars: int):
    """Group documents so each stage runs over many before the next stage starts: one library's code and
    tables then stay in the CPU caches (language ID costs 0.76 ms a page this way, 1.17 ms interleaved with
    trafilatura). Order is kept; a batch also ends at `max_chars` of text, to bound memory."""
    batch, chars = [], 0
    for doc in data:
        batch.append(doc)
        chars += len(doc.text)
        if len(batch) >= size or chars >= max_chars:
            yield batch
            batch, chars = [], 0
    if batch:
        yield batch


def _filter_result(result) -> tuple[bool, str]:
    if isinstance(result, tuple):
        keep, reason = result
        return bool(keep), reason or "filtered"
    if isinstance(result, str):
        return False, result
    return bool(result), "filtered"


class FunctionFilter(Filter):
    """A plain function `f(doc) -> bool | str` as a pipeline step."""

    def __init__(self, function: Callable[[Document], bool | str]):
        self.name = getattr(function, "__name__", "filter")  # before super(): stats are named at init
        super().__init__()
        self.function = function

    def filter(self, doc: Document):
        return self.function(doc)
