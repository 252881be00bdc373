"""Compile a manifest into datatrove pipeline steps: reader, stages, writer, split into passes at barrier
stages (dedup), with each stage's folders named by curation.run.layout."""

from __future__ import annotations

import os
from collections import ChainMap
from pathlib import Path

from datatrove.pipeline.base import PipelineStep

from curation.core import CurationError, Filter, build_stage, get_stage, stage_parameters
from curation.io.paths import FORMATS, infer_format, resolve_paths
from curation.io.readers import make_reader
from curation.io.writer import ExclusionWriter, ParquetOutput
from curation.manifest import COMMON_STAGE_KEYS, Manifest
from curation.run import layout
from curation.run.barrier import Barrier
from curation.run.executors import concurrent_tasks
from curation.run.progress import Progress
from filters.config import language_scores, model_id


def apply_overrides(manifest: Manifest, input: str | None = None, output: str | None = None,
                    fmt: str | None = None) -> Manifest:
    """`--input/--output/--format` replace the manifest's own, so one manifest runs on other data."""
    m = manifest.model_copy(deep=True)
    if input:
        m.input.paths = [input]
        m.input.format = fmt  # re-inferred from the new files unless given
    elif fmt:
        m.input.format = fmt
    if output:
        m.output.path = output
    return m


def input_format(manifest: Manifest, files: list[str]) -> str:
    if manifest.input.format:
        return manifest.input.format
    formats = {infer_format(f) for f in files}
    formats.discard(None)
    if len(formats) != 1:
        found = ", ".join(sorted(formats)) or "none recognised"
        raise CurationError(
            f"input {manifest.input.paths}: cannot tell the format from the file names ({found}); "
            f"give --format {'|'.join(FORMATS)}"
        )
    return formats.pop()


def compile_phases(manifest: Manifest, progress: bool = True) -> list[list[PipelineStep] | Barrier]:
    """The manifest as passes of datatrove steps (reader, stages, writer), split at barrier stages (dedup)."""
    files = resolve_paths(manifest.input.paths, manifest.input.format)
    fmt = input_format(manifest, files)
    out = manifest.output.path
    steps: list[PipelineStep] = [
        make_reader(fmt, paths=manifest.input.paths, snapshot=manifest.input.snapshot, limit=manifest.input.limit,
                    text_key=manifest.input.text_key, id_key=manifest.input.id_key)
    ]
    if progress:
        steps.append(Progress(workers=concurrent_tasks(manifest.executor)))
    phases: list = []
    has_writer = False
    for i, spec in enumerate(manifest.stages):
        name = spec["stage"]
        step = _build(manifest, i, spec, out)
        if getattr(step, "barrier", False):
            stage_dir = layout.stage_dir(out, i, name)
            handoff = ParquetOutput(None, manifest.output.max_file_size_mb, manifest.output.row_group_size,
                                    os.path.join(stage_dir, layout.HANDOFF))
            kept = os.path.join(stage_dir, layout.KEPT)
            excl = layout.exclusions_dir(out, i, name) if spec.get("exclusions") else None
            phases += [steps + [handoff], Barrier(i, step, os.path.join(stage_dir, layout.HANDOFF), kept, excl)]
            steps = [make_reader("parquet", paths=[kept])]
            handoff.internal = steps[0].internal = True  # plumbing between passes: not in the summary
            continue
        if spec.get("exclusions"):
            if not isinstance(step, Filter):
                raise CurationError(f"{manifest._source}: stages[{i}] ({name}) removes nothing; 'exclusions' needs a "
                                    "filter stage")
            step.exclusion_writer = ExclusionWriter(layout.exclusions_dir(out, i, name),
                                                     name, manifest.output.max_file_size_mb)
        has_writer |= isinstance(step, ParquetOutput)
        steps.append(step)
    if not has_writer:
        steps.append(ParquetOutput(None, manifest.output.max_file_size_mb, manifest.output.row_group_size, out))
    return phases + [steps]


def compile_pipeline(manifest: Manifest, progress: bool = True) -> list[PipelineStep]:
    """The manifest as one list of datatrove steps, for a pipeline without barrier stages (to hand to any
    datatrove executor)."""
    phases = compile_phases(manifest, progress)
    if len(phases) > 1:
        raise CurationError(f"{manifest._source}: a dedup stage splits the run into passes; run it with `curate run`")
    return phases[0]


def _build(manifest: Manifest, i: int, spec: dict, out: str) -> PipelineStep:
    name = spec["stage"]
    options = {k: v for k, v in spec.items() if k not in COMMON_STAGE_KEYS}
    stage_cls = get_stage(name)
    if stage_cls is ParquetOutput:
        options.setdefault("output_dir", out)
        if os.path.isabs(options.get("subdir") or "") or ".." in Path(options.get("subdir") or "").parts:
            raise CurationError(f"{manifest._source}: stages[{i}].subdir must stay inside the output folder")
        options.setdefault("max_file_size_mb", manifest.output.max_file_size_mb)
        options.setdefault("row_group_size", manifest.output.row_group_size)
    if "work_dir" in stage_parameters(stage_cls):  # stages that checkpoint their own work (rephrase)
        options.setdefault("work_dir", layout.stage_dir(out, i, name))
    if getattr(stage_cls, "labels_language", False):  # language ID
        if manifest.languages and "languages" not in options:
            options["languages"] = manifest.languages
        # per-language thresholds from the language configs made for this run's model (FineWeb2's are
        # GlotLID's), read per language on first use; the manifest's own min_scores win
        model = options.get("model") or getattr(stage_cls, "default_model", None)
        run_model = options.get("model_id") or model_id(model)
        own = language_scores(_quality_config_dir(manifest), run_model)
        options["min_scores"] = ChainMap(dict(options.get("min_scores") or {}), own)
    try:
        step = build_stage(stage_cls, options)
    except CurationError:
        raise
    except (TypeError, ValueError) as e:
        raise CurationError(f"{manifest._source}: stages[{i}] ({name}): {e}") from None
    step.stage_key = name
    return step


def _quality_config_dir(manifest: Manifest) -> str | None:
    return next((s.get("config_dir") for s in manifest.stages if s["stage"] == "quality" and s.get("config_dir")), None)


