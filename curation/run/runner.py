"""Run a manifest: the output folder and its fingerprint, then each pass (curation.run.compile) on datatrove's
executor (curation.run.executors) and each barrier (curation.run.barrier), then stats.json and the report.

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
import time
from pathlib import Path

from curation import atomic
from curation.core import CurationError
from curation.io.paths import input_stamps, resolve_paths
from curation.lock import ExclusiveLock
from curation.manifest import Manifest
from curation.report.html import write_report
from curation.run import layout
from curation.run.barrier import Barrier, run_barrier
from curation.run.compile import apply_overrides, compile_phases, compile_pipeline
from curation.run.dedup_pass import run_dedup_steps, uses_steps
from curation.run.executors import pass_executor, submit_slurm
from curation.run.summary import collect_summary, merged_stats
from curation.safe_output import run_folder

ELAPSED = "elapsed.json"  # under _logs: the seconds of the run's finished invocations, summed

__all__ = ["apply_overrides", "compile_phases", "compile_pipeline", "fingerprint", "output_lock", "prepare_output",
           "quiet_datatrove", "run_manifest"]


def fingerprint(manifest: Manifest) -> str:
    """What makes two runs' outputs interchangeable: the manifest (less cosmetic keys) and its input files."""
    data = manifest.model_dump(exclude={"executor": True, "description": True, "name": True})
    # where the tasks run (local, Slurm, Ray) does not change what they write, the number of tasks does;
    # stamped in the shape earlier versions used, so their runs still resume
    data["executor"] = {"kind": "local", "tasks": manifest.executor.tasks}
    data["_inputs"] = input_stamps(resolve_paths(manifest.input.paths, manifest.input.format))
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:16]


def check_overwrite(manifest: Manifest, flag: str = "--overwrite") -> None:
    """Refuse (one line naming the folder, nothing touched) to replace an output that is not an empty folder or
    a run folder, or that holds an input or the manifest (curation.safe_output)."""
    from curation.safe_output import check_replaceable

    inputs = [*manifest.input.paths, *resolve_paths(manifest.input.paths, manifest.input.format)]
    if manifest._source and Path(str(manifest._source)).exists():
        inputs.append(str(manifest._source))
    check_replaceable(manifest.output.path, f"{layout.LOGS}/{layout.RUN_STAMP}", inputs, flag=flag)


def prepare_output(manifest: Manifest, overwrite: bool = False, replace_changed: bool = False) -> Path:
    """Create the output folder; refuse to mix a different manifest's results into an existing run
    (or, with `replace_changed`, replace such a run)."""
    out = Path(manifest.output.path)
    stamp = layout.run_stamp(out)
    fp = fingerprint(manifest)
    if overwrite:
        check_overwrite(manifest)
        atomic.remove_tree(out)
    if stamp.exists():
        previous = json.loads(stamp.read_text()).get("fingerprint")
        if previous != fp and replace_changed:
            check_overwrite(manifest, "--replace-changed")
            atomic.remove_tree(out)
        elif previous != fp:
            raise CurationError(
                f"output '{out}' holds a run of a different manifest or input; "
                "choose another --output, or pass --overwrite to replace it"
            )
    stamp.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_text(stamp, json.dumps({"fingerprint": fp, "manifest": manifest._source}, indent=2))
    if run_folder(out):  # what a killed run left half-written; its tasks are redone (never a sweep of ~ or /)
        atomic.remove_temp_files(out)
    return out


def quiet_datatrove(verbose: bool = False) -> None:
    """datatrove logs every task at INFO on the console; keep the console for our progress bars and the
    summary, and send the full logs to `_logs/logs/task_*.log`. Workers are forked, so they inherit this."""
    import sys

    import datatrove.executor.base as base
    from datatrove.utils import logging as dlog
    from loguru import logger

    from curation.errors import console_format

    level = "INFO" if verbose else "WARNING"

    def console():
        logger.remove()
        logger.add(sys.stderr, level=level, format=console_format, filter=_not_user_error)

    def add_task_logger(logging_dir, rank, local_rank=0, node_rank=-1):
        console()
        logfile = _LogFile(logging_dir.open(f"logs/task_{rank:05d}.log", "w"))
        logger.add(logfile, level="DEBUG",
                   format="{time:YYYY-MM-DD HH:mm:ss.SSS} | {level: <8} | {name}:{function}:{line} - {message}")
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
    phases = compile_phases(manifest, progress=progress)
    if overwrite:  # before the lock file beside the output is made: a refused folder is not touched at all
        check_overwrite(manifest)
    with output_lock(manifest.output.path) if lock else contextlib.nullcontext():
        out = prepare_output(manifest, overwrite, replace_changed)
        quiet_datatrove(verbose)
        if manifest.executor.kind == "slurm":  # submitted as dependent jobs; the last one writes the summary
            return submit_slurm(manifest, phases, out, summarize=run_manifest)
        return _run_phases(manifest, phases, out, progress)


def output_lock(output: str):
    """One `curate run` per output folder at a time (a second cron trigger exits with 75 and touches nothing).
    The lock file sits beside the folder, so `--overwrite` can replace the folder while holding it."""
    out = Path(output).absolute()
    out.parent.mkdir(parents=True, exist_ok=True)
    return ExclusiveLock(out.parent / f".{out.name}.lock", f"another `curate run` is writing output '{output}'")


def _run_phases(manifest: Manifest, phases: list, out: Path, progress: bool) -> dict:
    """Run every pass and barrier in order (skipping what finished), then write stats.json and the report."""
    started = time.time()
    already, step_stats, n_pass = True, [], 0
    for phase in phases:
        if isinstance(phase, Barrier):
            if uses_steps(manifest, phase):  # MinHash over the run's tasks (curation.run.dedup_pass)
                stats, done = run_dedup_steps(manifest, phase, lambda p, tasks, logs: pass_executor(manifest, p, logs))
            else:
                stats, done = run_barrier(phase, progress)
            already &= done
            step_stats.append((phase.stage, stats))
            continue
        logs = layout.pass_logs(out, n_pass)
        n_pass += 1
        executor = pass_executor(manifest, phase, logs)
        already &= len(executor.get_incomplete_ranks()) == 0
        executor.run()
        step_stats += list(zip(phase, merged_stats(logs)))
    elapsed = _run_seconds(out, time.time() - started)
    summary = collect_summary(out, step_stats, elapsed=elapsed, resumed_complete=already)
    atomic.write_text(out / layout.STATS, json.dumps(summary, indent=2, ensure_ascii=False))
    write_report(out, progress=progress)
    return summary


def _run_seconds(out: Path, this_invocation: float) -> float:
    """The run's own duration: the seconds of every invocation that finished (kept in `_logs/elapsed.json`), so
    a resume that had nothing left to do reports the run, not its own 0.01 s."""
    path = out / layout.LOGS / ELAPSED
    try:
        before = float(json.loads(path.read_text())["seconds"])
    except (OSError, ValueError, KeyError, TypeError):
        before = 0.0
    total = before + this_invocation
    atomic.write_text(path, json.dumps({"seconds": round(total, 3)}))
    return total
