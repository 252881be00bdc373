"""Compile a manifest into datatrove pipeline steps and run them on datatrove's executor.

The run folder holds the language datasets, `stats.json` (what each stage did, per reason and per
language) and `_logs/` (datatrove's per-task logs, stats and completion markers). A run that is started
again skips the tasks that finished and redoes the others, which rewrite the same file names, so nothing
is lost or duplicated. Every file appears under its name only when complete (curation.atomic); what a killed
run left half-written is removed when it is started again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from datatrove.pipeline.base import PipelineStep

from curation import atomic
from curation.core import CurationError, Filter, build_stage, get_stage, stage_parameters
from curation.manifest import COMMON_STAGE_KEYS, Manifest
from curation.run.progress import Progress
from curation.io.readers import infer_format, make_reader, resolve_paths
from curation.io.writer import ParquetOutput, language_writer
from filters.config import language_scores

LOGS = "_logs"
STAGES = "_stages"
EXCLUSIONS = "_exclusions"


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
            "give --format warc|wet|jsonl|parquet|html"
        )
    return formats.pop()


@dataclass
class Barrier:
    """A stage that must see every document before passing any on (dedup): it runs between two passes."""

    index: int
    stage: PipelineStep
    input_dir: str  # where the pass before it writes
    output_dir: str  # where it writes the kept documents, read by the next pass
    exclusions: str | None


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
        steps.append(Progress(workers=_workers(manifest)))
    phases: list = []
    has_writer = False
    for i, spec in enumerate(manifest.stages):
        name = spec["stage"]
        step = _build(manifest, i, spec, out)
        if getattr(step, "barrier", False):
            stage_dir = os.path.join(out, STAGES, f"{i:02d}_{_slug(name)}")
            handoff = ParquetOutput(None, manifest.output.max_file_size_mb, manifest.output.row_group_size,
                                    os.path.join(stage_dir, "input"))
            kept = os.path.join(stage_dir, "kept")
            excl = os.path.join(out, EXCLUSIONS, f"{i:02d}_{_slug(name)}") if spec.get("exclusions") else None
            phases += [steps + [handoff], Barrier(i, step, os.path.join(stage_dir, "input"), kept, excl)]
            steps = [make_reader("parquet", paths=[kept])]
            handoff.internal = steps[0].internal = True  # plumbing between passes: not in the summary
            continue
        if spec.get("exclusions"):
            if not isinstance(step, Filter):
                raise CurationError(f"{manifest._source}: stages[{i}] ({name}) removes nothing; 'exclusions' needs a filter stage")
            step.exclusion_writer = _ExclusionWriter(os.path.join(out, EXCLUSIONS, f"{i:02d}_{_slug(name)}"),
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
        options.setdefault("work_dir", os.path.join(out, STAGES, f"{i:02d}_{_slug(name)}"))
    if name == "langid":
        if manifest.languages and "languages" not in options:
            options["languages"] = manifest.languages
        # per-language thresholds from the language configs; the manifest's own min_scores win
        options["min_scores"] = {**language_scores(_quality_config_dir(manifest)), **(options.get("min_scores") or {})}
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


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)


class _ExclusionWriter:
    """Lazily opened Parquet writer for one filter's removed documents (so empty exclusion folders stay absent)."""

    def __init__(self, folder: str, stage: str, max_file_size_mb: int):
        self.folder, self.stage, self.max_file_size_mb = folder, stage, max_file_size_mb
        self._writer = None

    def write(self, doc, rank):
        if self._writer is None:
            self._writer = language_writer(self.folder, self.max_file_size_mb, 1000, exclusions=True)
        doc.metadata["removed_by"] = self.stage
        self._writer.write(doc, rank)

    def close(self):
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def abort(self):
        """The filter stopped early: remove the unfinished shards instead of completing them."""
        if self._writer is not None:
            self._writer.abort()
            self._writer = None


def _workers(manifest: Manifest) -> int:
    ex = manifest.executor
    return ex.tasks if ex.workers in (-1, 0) else min(ex.workers, ex.tasks)


def fingerprint(manifest: Manifest) -> str:
    """What makes two runs' outputs interchangeable: the manifest (less cosmetic keys) and its input files."""
    import fsspec

    data = manifest.model_dump(exclude={"executor": True, "description": True, "name": True})
    # where the tasks run (local, Slurm, Ray) does not change what they write, the number of tasks does;
    # stamped in the shape earlier versions used, so their runs still resume
    data["executor"] = {"kind": "local", "tasks": manifest.executor.tasks}
    inputs = []
    for path in resolve_paths(manifest.input.paths, manifest.input.format):
        fs, root = fsspec.core.url_to_fs(path)
        info = fs.info(root)
        inputs.append((path, info.get("size"), info.get("mtime") or info.get("LastModified") or info.get("ETag")))
    data["_inputs"] = inputs
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:16]


def prepare_output(manifest: Manifest, overwrite: bool = False, replace_changed: bool = False) -> Path:
    """Create the output folder; refuse to mix a different manifest's results into an existing run
    (or, with `replace_changed`, replace such a run)."""
    out = Path(manifest.output.path)
    logs = out / LOGS
    stamp = logs / "run.json"
    fp = fingerprint(manifest)
    if overwrite:
        atomic.remove_tree(out)
    if stamp.exists():
        previous = json.loads(stamp.read_text()).get("fingerprint")
        if previous != fp and replace_changed:
            atomic.remove_tree(out)
        elif previous != fp:
            raise CurationError(
                f"output '{out}' holds a run of a different manifest or input; "
                "choose another --output, or pass --overwrite to replace it"
            )
    logs.mkdir(parents=True, exist_ok=True)
    atomic.write_text(stamp, json.dumps({"fingerprint": fp, "manifest": manifest._source}, indent=2))
    atomic.remove_temp_files(out)  # what a killed run left half-written; its tasks are redone
    return out


def quiet_datatrove(verbose: bool = False) -> None:
    """datatrove logs every task at INFO on the console; keep the console for our progress bars and the
    summary, and send the full logs to `_logs/logs/task_*.log`. Workers are forked, so they inherit this."""
    import sys

    import datatrove.executor.base as base
    from datatrove.utils import logging as dlog
    from loguru import logger

    level = "INFO" if verbose else "WARNING"

    def console():
        logger.remove()
        logger.add(sys.stderr, level=level, format="{level}: {message}", filter=_not_user_error)

    def add_task_logger(logging_dir, rank, local_rank=0, node_rank=-1):
        console()
        logfile = _LogFile(logging_dir.open(f"logs/task_{rank:05d}.log", "w"))
        logger.add(logfile, level="DEBUG", format="{time:YYYY-MM-DD HH:mm:ss.SSS} | {level: <8} | {name}:{function}:{line} - {message}")
        logger.info(f"Launching pipeline for {rank=}")
        return logfile

    base.add_task_logger = add_task_logger
    dlog.setup_default_logger = console
    console()


def _not_user_error(record) -> bool:
    """A task's CurationError or full disk is printed once, as one line, by the command, not as a traceback."""
    exc = record["exception"]
    if not (exc and exc.type):
        return True
    return not (issubclass(exc.type, CurationError) or getattr(exc.value, "errno", None) in atomic.DISK_FULL)


class _LogFile:
    """A task's log file that a full disk cannot break: the task goes on (or fails on its real output, with
    a clear message) instead of dying, or printing tracebacks, over a log line."""

    def __init__(self, f):
        self._f = f

    def write(self, text):
        try:
            self._f.write(text)
        except OSError:
            pass

    def flush(self):
        try:
            self._f.flush()
        except OSError:
            pass

    def close(self):
        try:
            self._f.close()
        except OSError:
            pass


def run_manifest(manifest: Manifest, overwrite: bool = False, verbose: bool = False, progress: bool = True,
                 replace_changed: bool = False, lock: bool = True) -> dict:
    """Run a validated manifest end to end; return the run summary (also written to `<output>/stats.json`).
    With `lock`, a second run on the same output exits at once (curation.lock.Locked); `crawl sync` holds its
    ledger's lock instead.

    Each pass runs on datatrove's executor with its own logs and completion markers under `_logs/`, and each
    barrier (dedup) leaves a `done.json`, so a run started again skips whatever finished."""
    from curation.run.executors import submit_slurm

    phases = compile_phases(manifest, progress=progress)
    with output_lock(manifest.output.path) if lock else contextlib.nullcontext():
        out = prepare_output(manifest, overwrite, replace_changed)
        quiet_datatrove(verbose)
        if manifest.executor.kind == "slurm":  # submitted as dependent jobs; the last one writes the summary
            return submit_slurm(manifest, phases, out)
        return _run_phases(manifest, phases, out, progress)


def output_lock(output: str):
    """One `curate run` per output folder at a time (a second cron trigger exits with 75 and touches nothing).
    The lock file sits beside the folder, so `--overwrite` can replace the folder while holding it."""
    from curation.lock import ExclusiveLock

    out = Path(output).absolute()
    out.parent.mkdir(parents=True, exist_ok=True)
    return ExclusiveLock(out.parent / f".{out.name}.lock", f"another `curate run` is writing output '{output}'")


def _run_phases(manifest: Manifest, phases: list, out: Path, progress: bool) -> dict:
    """Run every pass and barrier in order (skipping what finished), then write stats.json and the report."""
    from curation.run.executors import pass_executor, pass_logs
    from curation.report.html import write_report
    from curation.run.summary import collect_summary, merged_stats

    started = time.time()
    already, step_stats, n_pass = True, [], 0
    for phase in phases:
        if isinstance(phase, Barrier):
            stats, done = run_barrier(phase, progress)
            already &= done
            step_stats.append((phase.stage, stats))
            continue
        logs = pass_logs(out, n_pass)
        n_pass += 1
        executor = pass_executor(manifest, phase, logs)
        already &= len(executor.get_incomplete_ranks()) == 0
        executor.run()
        step_stats += list(zip(phase, merged_stats(logs)))
    summary = collect_summary(out, step_stats, elapsed=time.time() - started, resumed_complete=already)
    atomic.write_text(out / "stats.json", json.dumps(summary, indent=2, ensure_ascii=False))
    write_report(out, progress=progress)
    return summary


def run_barrier(b: Barrier, progress: bool):
    """Dedup the pass's output (unless a previous run finished it); its counts as a datatrove Stats."""
    from curation.apply.dedup import dedup_files, exact_dedup_files
    from curation.run.summary import counts_stats

    done = Path(b.output_dir).parent / "done.json"
    was_done = done.exists()
    if was_done:
        counts = json.loads(done.read_text())
    else:  # not finished (or killed half-way): start it over from the pass's complete output
        started = time.time()
        atomic.remove_tree(b.output_dir)
        if b.exclusions:
            atomic.remove_tree(b.exclusions)
        index_label = str(Path(b.output_dir).parents[2])
        if getattr(b.stage, "index", None):  # a killed attempt may have added this run's documents already
            from dedup.index import drop_segments

            drop_segments(b.stage.index, index_label)
        Path(b.output_dir).mkdir(parents=True)  # also holds the dedup's work files, so a redo clears them
        inputs = [b.input_dir] if any(Path(b.input_dir).rglob("*.parquet")) else []
        if not inputs:
            counts = {"documents": 0, "kept": 0, "removed": 0, "languages": {}}
        elif hasattr(b.stage, "config"):  # MinHash
            counts = dedup_files(inputs, b.output_dir, config=b.stage.config, progress=progress, exclusions=b.exclusions,
                                 index=b.stage.index, index_label=index_label)
        else:
            counts = exact_dedup_files(inputs, b.output_dir, by=b.stage.by, progress=progress, exclusions=b.exclusions)
        counts["reason"] = "near_duplicate" if hasattr(b.stage, "config") else f"duplicate_{b.stage.by}"
        counts["seconds"] = round(time.time() - started, 3)  # the report's throughput of this stage
        atomic.write_text(done, json.dumps(counts))
    stats = counts_stats(str(b.stage), counts)
    return stats, was_done
