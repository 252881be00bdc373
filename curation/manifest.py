"""Manifests: YAML files validated by typed models, with errors that name the file, the line and the key.

A manifest says what to read (`input`), what to run (`stages`, in order, each with its options), where
to write (`output`), how to run (`executor`) and which languages to keep. Stage options are checked
against the stage's own constructor signature, so a new stage needs no schema code of its own.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import os
import re
import sys
import typing
from pathlib import Path, PurePosixPath
from typing import Annotated, Any, Literal, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, field_validator, model_validator

from curation.core import CurationError, get_stage, option_docs, registered_stages, stage_parameters
from curation.crawl.spec import CrawlSpec
from curation.io.paths import FORMATS
from curation.mixture.spec import MixtureSpec

# options every stage accepts, handled by the compiler rather than the stage's constructor
COMMON_STAGE_KEYS = {"stage", "exclusions"}


class ManifestError(CurationError):
    """One or more problems in a manifest; `str()` lists them one per line."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class InputSpec(_Strict):
    """What to read. `paths` are files, folders or globs, local or any fsspec URL (s3://, hf://, ...)."""

    paths: list[str] = Field(min_length=1)
    format: Literal[FORMATS] | None = Field(
        None, description="input format; inferred from the file names when left out"
    )
    snapshot: str | None = Field(None, description="crawl snapshot name carried on every document")
    text_key: str = "text"
    id_key: str = "id"
    limit: int = Field(-1, description="read at most this many documents per task (-1: all)")

    @field_validator("paths", mode="before")
    @classmethod
    def _one_path(cls, v):
        return [v] if isinstance(v, str) else v


class OutputSpec(_Strict):
    """Where the Parquet datasets, stats and exclusions go."""

    path: str
    max_file_size_mb: int = Field(256, gt=0, description="rotate Parquet files at this size")
    row_group_size: int = Field(10_000, gt=0, description="rows per Parquet row group")


SLURM_OPTIONS = ("partition", "time", "qos", "job_name", "sbatch_args", "env_command", "venv_path", "logs",
                 "barrier_mem_gb")
RAY_OPTIONS = ("address", "num_cpus")
CLUSTER_OPTIONS = ("cpus_per_task", "mem_per_cpu_gb")  # slurm and ray
_SLURM_TIME = re.compile(r"^(\d+-)?\d+(:\d{1,2}){0,2}$|^\d+-\d+$")


class ExecutorSpec(_Strict):
    """How to run, through datatrove's executors: `local` (this machine), `slurm` (the run submitted as
    dependent sbatch jobs) or `ray` (tasks on a Ray cluster). The pipeline and its output are the same."""

    kind: Literal["local", "slurm", "ray"] = "local"
    tasks: int = Field(1, ge=1, description="number of shards the input is split into")
    workers: int = Field(-1, description="tasks run at once (-1: as many as tasks)")
    # slurm and ray
    cpus_per_task: int | None = Field(None, ge=1, description="CPUs each task is given (slurm, ray; default 1)")
    mem_per_cpu_gb: float | None = Field(None, gt=0, description="memory per CPU in GB (slurm, ray; default 2)")
    # slurm
    partition: str | None = Field(None, description="Slurm partition the jobs go to (slurm; required)")
    time: str | None = Field(None,
                             description="time limit of each job, e.g. '12:00:00' or '1-00:00:00' (slurm; required)")
    qos: str | None = Field(None, description="Slurm quality of service (slurm)")
    job_name: str | None = Field(None, description="name prefix of the jobs (slurm; default curate_<manifest name>)")
    sbatch_args: dict[str, str | int | float | bool] | None = Field(
        None, description="more #SBATCH options, e.g. {account: myproj, constraint: cpu} (slurm)")
    env_command: str | None = Field(None,
                                    description="shell line each job runs first, e.g. 'module load python' (slurm)")
    venv_path: str | None = Field(
        None, description="Python environment each job activates, its folder or bin/activate (slurm; default: "
                          "the one `curate` runs in)")
    logs: str | None = Field(None, description="folder for Slurm's own job logs (slurm; default <output>/_logs/slurm)")
    barrier_mem_gb: float | None = Field(
        None, gt=0, description="memory of the one-task job that runs a dedup between passes: it holds the whole "
                                "run's signatures; with tasks > 1, of each task of the MinHash `clusters` step "
                                "(one language each) (slurm; default cpus_per_task x mem_per_cpu_gb)")
    # ray
    address: str | None = Field(
        None, description="Ray cluster: 'local' starts one on this machine for the run, 'auto' joins the one "
                          "`ray start` runs, 'ray://HOST:10001' a remote one (ray; default: RAY_ADDRESS or a "
                          "running cluster, else a local one)")
    num_cpus: int | None = Field(None, ge=1,
                                 description="CPUs of the cluster started for the run (ray, address: local)")

    @field_validator(*SLURM_OPTIONS, *RAY_OPTIONS, *CLUSTER_OPTIONS)
    @classmethod
    def _for_kind(cls, v, info):
        kind = info.data.get("kind")
        name = info.field_name
        owners = ("slurm",) if name in SLURM_OPTIONS else ("ray",) if name in RAY_OPTIONS else ("slurm", "ray")
        if v is not None and kind is not None and kind not in owners:
            raise ValueError(f"a {' and '.join(owners)} option, but executor.kind is '{kind}'")
        return v

    @field_validator("time")
    @classmethod
    def _slurm_time(cls, v):
        if v is not None and not _SLURM_TIME.match(str(v)):
            raise ValueError("expected a Slurm time limit: MINUTES, HH:MM:SS or DAYS-HH:MM:SS")
        return v

    @model_validator(mode="after")
    def _required(self):
        if self.kind == "slurm":
            missing = [k for k in ("partition", "time") if getattr(self, k) is None]
            if missing:
                raise ValueError(f"kind slurm needs {' and '.join(repr(k) for k in missing)} (the partition the "
                                 "jobs go to and their time limit, e.g. partition: cpu, time: '12:00:00')")
        if self.num_cpus is not None and self.address != "local":
            raise ValueError("num_cpus sizes a cluster started for the run: it needs address: local")
        return self


class Manifest(_Strict):
    name: str | None = None
    description: str | None = None
    imports: list[str] = Field(default_factory=list, description="Python modules to import (they register stages)")
    input: InputSpec
    output: OutputSpec
    executor: ExecutorSpec = ExecutorSpec()
    languages: list[str] | None = Field(None, description="iso639-3_Script codes to keep; all when left out")
    stages: list[dict[str, Any]] = Field(min_length=1)
    mixture: MixtureSpec | None = Field(None, description="a training mixture of this run's output (curate mix)")
    crawl: CrawlSpec | None = Field(None, description="Common Crawl snapshots to process (curate crawl sync)")

    @field_validator("output", mode="before")
    @classmethod
    def _output_str(cls, v):
        return {"path": v} if isinstance(v, str) else v

    # filled in by load_manifest: where the manifest came from (for messages and relative paths)
    _source: str = "<manifest>"


# ------------------------------------------------------------------------------------------------ loading


def _read_manifest(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CurationError(f"{path}: manifest not found") from None
    except (OSError, UnicodeDecodeError) as e:
        raise CurationError(f"{path}: cannot read manifest ({e})") from None


def load_manifest(path: str | Path) -> Manifest:
    """Read, parse and validate a manifest file. Raises ManifestError listing every problem found."""
    path = Path(path)
    return parse_manifest(_read_manifest(path), source=str(path))


def _parse_yaml(text: str, source: str):
    """The composed node tree (for line numbers) and the plain data of a manifest."""
    indent = max((len(line) - len(line.lstrip(" ")) for line in text.splitlines()), default=0)
    if _flow_depth(text) > MAX_DEPTH or indent > 4 * MAX_DEPTH:  # before YAML's recursive parser meets it
        raise ManifestError([f"{source}: nested too deeply (a manifest needs a few levels, at most {MAX_DEPTH})"])
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        _check_shape(root, source)  # before anything walks or copies the data
        data = yaml.load(text, Loader=yaml.SafeLoader)
    except RecursionError:
        raise ManifestError([f"{source}: nested too deeply (a manifest needs a few levels, at most "
                             f"{MAX_DEPTH})"]) from None
    except yaml.constructor.ConstructorError as e:
        line = e.problem_mark.line + 1 if e.problem_mark else "?"
        raise ManifestError([f"{source} line {line}: YAML tag {_tag(e)} is not allowed (manifests are plain data)"])
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ManifestError([f"{source}{where}: not valid YAML: {getattr(e, 'problem', e)}"]) from None
    if not isinstance(data, dict):
        raise ManifestError([f"{source}: a manifest is a mapping of keys (input, output, stages, ...)"])
    return root, data


MAX_DEPTH = 64  # levels of nesting a manifest may use
MAX_NODES = 100_000  # values a manifest may hold, aliases expanded (a "billion laughs" expands to 10^9)


_FLOW = re.compile(r"[\[\]{}]|#[^\n]*|'(?:[^']|'')*'|\"(?:[^\"\\]|\\.)*\"")


def _flow_depth(text: str) -> int:
    """The deepest nesting of flow collections (`[...]`, `{...}`), outside quotes and comments."""
    depth = deepest = 0
    for m in _FLOW.finditer(text):
        c = m.group()
        if c in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif c in "]}":
            depth = max(depth - 1, 0)
    return deepest


def _check_shape(root, source: str) -> None:
    """Refuse, in one line, what would make validation blow up: nesting deeper than MAX_DEPTH, aliases that
    expand to more than MAX_NODES values, or an alias that contains itself. Walks the node graph once, without
    recursion, each shared node counted once per use."""
    if root is None:
        return
    sizes: dict[int, int] = {}
    stack = [(root, 1, False)]
    open_nodes: set[int] = set()
    while stack:
        node, depth, done = stack.pop()
        if depth > MAX_DEPTH:
            raise ManifestError([f"{source} line {node.start_mark.line + 1}: nested more than {MAX_DEPTH} levels "
                                 "deep (a manifest needs a few)"])
        children = ([c for kv in node.value for c in kv] if isinstance(node, yaml.MappingNode)
                    else list(node.value) if isinstance(node, yaml.SequenceNode) else [])
        if done:
            open_nodes.discard(id(node))
            sizes[id(node)] = 1 + sum(sizes[id(c)] for c in children)
            if sizes[id(node)] > MAX_NODES:
                raise ManifestError([f"{source}: expands to more than {MAX_NODES:,} values (anchors and aliases "
                                     "repeated inside each other); write the values out"])
            continue
        if id(node) in sizes:
            continue
        if id(node) in open_nodes:
            raise ManifestError([f"{source} line {node.start_mark.line + 1}: an alias refers to the value that "
                                 "contains it"])
        open_nodes.add(id(node))
        stack.append((node, depth, True))
        stack += [(c, depth + 1, False) for c in children if id(c) not in sizes]


def parse_manifest(text: str, source: str = "<manifest>") -> Manifest:
    root, data = _parse_yaml(text, source)
    problems = _duplicate_keys(root, source)
    manifest = None
    try:
        manifest = Manifest.model_validate(data)
    except ValidationError as e:
        problems += [_describe(err, root, source, Manifest) for err in e.errors()]
    imports = data.get("imports") if isinstance(data.get("imports"), list) else []
    if imports and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # a user's filter modules usually sit where they run `curate`
    for i, module in enumerate(imports):
        try:
            importlib.import_module(str(module))
        except ImportError as e:
            problems.append(f"{source} line {_line_of(root, ('imports', i))}: imports[{i}]: cannot import '{module}' "
                            f"({e})")
    stages = data.get("stages") if isinstance(data.get("stages"), list) else []
    for i, spec in enumerate(stages):  # checked even when the rest is wrong: report everything at once
        if isinstance(spec, dict):
            problems += _check_stage(i, spec, root, source)
    if problems or manifest is None:
        raise ManifestError(problems)
    manifest._source = source
    return manifest


class MixtureManifest(_Strict):
    """A manifest that only builds a mixture (from an earlier run's output)."""

    name: str | None = None
    description: str | None = None
    mixture: MixtureSpec


def mixture_only(path: str | Path) -> bool:
    """Whether a manifest holds only a `mixture` section (no pipeline to run)."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError, RecursionError):
        return False
    return isinstance(data, dict) and "mixture" in data and not ({"input", "stages"} & set(data))


def load_mixture(path: str | Path) -> MixtureSpec:
    """The `mixture` section of a manifest: a mixture-only manifest, or a pipeline manifest whose mixture
    reads the run's output unless it names another `input`."""
    path = Path(path)
    text = _read_manifest(path)
    root, data = _parse_yaml(text, str(path))
    if "stages" in data or "input" in data:
        manifest = parse_manifest(text, str(path))
        if manifest.mixture is None:
            raise ManifestError([f"{path}: no 'mixture' section (see manifests/mixture.yml)"])
        spec = manifest.mixture
        return spec if spec.input else spec.model_copy(update={"input": manifest.output.path})
    problems = _duplicate_keys(root, str(path))
    try:
        spec = MixtureManifest.model_validate(data).mixture
    except ValidationError as e:
        raise ManifestError(problems + [_describe(err, root, str(path),
                                                  MixtureManifest) for err in e.errors()]) from None
    if problems:
        raise ManifestError(problems)
    if not spec.input:
        raise ManifestError([f"{path} line {_line_of(root, ('mixture',))}: mixture.input: missing required key "
                             "(the pipeline output folder to mix)"])
    return spec


def _tag(e) -> str:
    problem = str(getattr(e, "problem", ""))
    return problem.split("tag", 1)[-1].strip() if "tag" in problem else "?"


def _check_stage(i: int, spec: dict, root, source: str) -> list[str]:
    loc = ("stages", i)
    name = spec.get("stage")
    if not isinstance(name, str):
        return [f"{source} line {_line_of(root, loc)}: stages[{i}]: each stage needs 'stage: NAME'"]
    try:
        stage = get_stage(name)
    except CurationError as e:
        return [f"{source} line {_line_of(root, loc + ('stage',))}: stages[{i}].stage: {e}"]
    options = {k: v for k, v in spec.items() if k not in COMMON_STAGE_KEYS}
    problems = []
    if "exclusions" in spec and not isinstance(spec["exclusions"], bool):
        problems.append(f"{source} line {_line_of(root, loc + ('exclusions',))}: stages[{i}].exclusions: expected "
                        "true or false")
    model = options_model(name, stage)
    try:
        model.model_validate(options)
    except ValidationError as e:
        for err in e.errors():
            err = dict(err, loc=loc + tuple(err["loc"]))
            problems.append(_describe(err, root, source, model, prefix_len=2))
    for key, value in options.items():
        if isinstance(value, str) and _escapes_root(key, value):
            problems.append(
                f"{source} line {_line_of(root, loc + (key,))}: stages[{i}].{key}: "
                f"'{value}' escapes the output folder through '..'"
            )
    return problems


def _escapes_root(key: str, value: str) -> bool:
    """Options naming a place inside the output (`*_dir`, `*_folder`, `subdir`) may not climb out of it."""
    if not (key.endswith(("_dir", "_folder")) or key == "subdir"):
        return False
    return ".." in PurePosixPath(value.replace("\\", "/")).parts


def options_model(name: str, stage) -> type[BaseModel]:
    """A pydantic model of a stage's options, built from its constructor signature and type hints."""
    params = stage_parameters(stage)
    try:
        hints = typing.get_type_hints(stage.__init__) if inspect.isclass(stage) else {}
    except Exception:
        hints = {}
    fields = {}
    docs = option_docs(stage)
    for key, p in params.items():
        annotation = hints.get(key, Any)
        default = ... if p.default is inspect.Parameter.empty else p.default
        fields[key] = (annotation, Field(default, description=docs.get(key)))
    doc = inspect.getdoc(stage) or ""
    fields["stage"] = (Literal[name], ...)  # type: ignore[valid-type]
    fields["exclusions"] = (bool, Field(False, description="write removed documents to <output>/_exclusions/"))
    model = create_model(
        f"{name.replace(':', '_').replace('.', '_')}_options",
        __config__=ConfigDict(extra="forbid", arbitrary_types_allowed=True),
        __doc__=doc.split("\n\n")[0],
        **fields,
    )
    return _without_stage_key(model)


def _without_stage_key(model):
    """Validation of options runs without the `stage`/`exclusions` keys; the schema keeps them."""

    class Options(model):
        model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

        @classmethod
        def model_validate(cls, obj, **kw):  # type: ignore[override]
            obj = dict(obj)
            obj.setdefault("stage", model.model_fields["stage"].annotation.__args__[0])
            return super().model_validate(obj, **kw)

    Options.__name__ = model.__name__
    Options.__doc__ = model.__doc__
    return Options


# ------------------------------------------------------------------------------------------------ messages


def _describe(err: dict, root, source: str, model, prefix_len: int = 0) -> str:
    loc = tuple(err["loc"])
    line = _line_of(root, loc)
    key = _loc_str(loc)
    etype, value = err["type"], err.get("input")
    got = _show(value)
    if etype == "extra_forbidden":
        allowed = _allowed_keys(model, loc[prefix_len:-1])
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else (f" (allowed: {', '.join(allowed)})" if allowed else "")
        msg = f"unknown key{hint}"
    elif etype == "missing":
        msg = "missing required key"
    elif etype in ("float_parsing", "float_type"):
        msg = f"expected a number, got {got}"
    elif etype in ("int_parsing", "int_type", "int_from_float"):
        msg = f"expected an integer, got {got}"
    elif etype in ("bool_parsing", "bool_type"):
        msg = f"expected true or false, got {got}"
    elif etype == "string_type":
        msg = f"expected a string, got {got}"
    elif etype in ("list_type", "tuple_type", "set_type"):
        msg = f"expected a list, got {got}"
    elif etype in ("dict_type", "model_type", "model_attributes_type"):
        msg = f"expected a mapping, got {got}"
    elif etype == "literal_error":
        msg = f"expected {err['ctx']['expected']}, got {got}"
    else:
        msg = err["msg"].removeprefix("Value error, ")
        msg = msg[0].lower() + msg[1:] if msg else etype
        if value is not None and not isinstance(value, dict | list):
            msg += f", got {got}"
    return f"{source} line {line}: {key}: {msg}"


def _show(value) -> str:
    if isinstance(value, str):
        return repr(value)
    if value is None:
        return "nothing (null)"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return str(value)


def _loc_str(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def _allowed_keys(model, loc: tuple) -> list[str]:
    """Keys accepted at `loc` inside `model` (nested pydantic models followed by field name)."""
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part) if hasattr(model, "model_fields") else None
        ann = getattr(field, "annotation", None)
        candidates = [a for a in typing.get_args(ann) or (ann,) if inspect.isclass(a) and issubclass(a, BaseModel)]
        if not candidates:
            return []
        model = candidates[0]
    return sorted(model.model_fields) if hasattr(model, "model_fields") else []


def _node_at(node, loc: tuple):
    """Follow `loc` through the composed YAML tree; return the deepest node reached."""
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            nxt = None
            for k, v in node.value:
                if k.value == part:
                    nxt = v if part != loc[-1] else k  # point unknown keys at the key itself
                    if part == loc[-1]:
                        return k
            if nxt is None:
                return node
            node = nxt
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            return node
    return node


def _line_of(root, loc: tuple) -> int:
    if root is None:
        return 1
    return _node_at(root, loc).start_mark.line + 1


def _duplicate_keys(node, source: str, path: str = "") -> list[str]:
    problems = []
    if isinstance(node, yaml.MappingNode):
        seen = set()
        for k, v in node.value:
            sub = f"{path}.{k.value}" if path else str(k.value)
            if k.value in seen:
                problems.append(f"{source} line {k.start_mark.line + 1}: {sub}: key given twice")
            seen.add(k.value)
            problems += _duplicate_keys(v, source, sub)
    elif isinstance(node, yaml.SequenceNode):
        for i, v in enumerate(node.value):
            problems += _duplicate_keys(v, source, f"{path}[{i}]")
    return problems


# ------------------------------------------------------------------------------------------------ schema


def json_schema() -> dict:
    """JSON Schema for editors: the manifest with each registered stage's options as one branch of `stages`."""
    branches = []
    for name in registered_stages():
        try:
            branches.append(options_model(name, get_stage(name)).__mro__[1])
        except CurationError:
            continue
    stage_union = Union[tuple(branches)] if branches else dict  # type: ignore[valid-type]
    model = create_model(
        "CurationManifest",
        __base__=Manifest,
        stages=(list[Annotated[stage_union, Field(discriminator="stage")]], Field(min_length=1)),  # type: ignore
    )
    schema = model.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "curation manifest"
    return schema
