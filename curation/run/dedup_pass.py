"""A manifest's MinHash dedup pass as datatrove steps over the run's tasks (curation.apply.dedup_steps), instead of
one process: used by `curate run` when `executor.tasks` > 1 and the pass's input holds at least the stage's
`steps_from` documents (`uses_steps`: the switch). Below that, and with one task, the one-process path
(curation.apply.dedup) is faster: it has no step start-up and no files between steps.

The steps read the pass's hand-off files (`_stages/NN_dedup/input`) with N tasks, keep their work under
`_stages/NN_dedup/work` and their datatrove logs under `_stages/NN_dedup/steps/<step>`, and the filter
writes the kept documents to `_stages/NN_dedup/kept` (read by the next pass). Every step skips the tasks
and files it finished, so a killed run resumes at the step it was in; `done.json` (with the counts) marks
the whole pass finished, after which the work folder is removed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow.parquet as pq

from curation import atomic

WORK, STEPS = "work", "steps"


def uses_steps(manifest, barrier, count_input: bool = True) -> bool:
    """The switch: a MinHash dedup stage in a run of more than one task runs as steps when its input holds at
    least the stage's `steps_from` documents (counted from the hand-off files' footers), else in one process.
    `count_input=False` decides before the input exists (Slurm submits every job at once): steps."""
    if not (hasattr(barrier.stage, "config") and manifest.executor.tasks > 1):
        return False
    least = getattr(barrier.stage, "steps_from", 0)
    return not count_input or least == 0 or input_documents(barrier) >= least


def input_documents(barrier) -> int:
    """Documents in the pass's hand-off files, from their Parquet footers (no data read)."""
    return sum(pq.ParquetFile(f).metadata.num_rows for f in sorted(Path(barrier.input_dir).rglob("*.parquet"))
               if not f.name.startswith("."))


def stage_dir(barrier) -> Path:
    return Path(barrier.output_dir).parent


def index_label(barrier) -> str:
    return str(Path(barrier.output_dir).parents[2])  # the run's output folder, as the one-process barrier


def plan(manifest, barrier) -> list[tuple[str, list, int]]:
    """The dedup steps of `barrier` as (name, pipeline, tasks), each after the one before."""
    from curation.apply.dedup_steps import step_plan
    from curation.io.readers import make_reader
    from curation.io.writer import ExclusionWriter as _ExclusionWriter
    from curation.io.writer import ParquetOutput

    def reader():
        r = make_reader("parquet", paths=[barrier.input_dir])
        r.internal = True
        return r

    writer = ParquetOutput(None, manifest.output.max_file_size_mb, manifest.output.row_group_size, barrier.output_dir)
    writer.internal = True
    excl = (_ExclusionWriter(barrier.exclusions, str(barrier.stage), manifest.output.max_file_size_mb, duplicates=True)
            if barrier.exclusions else None)
    return step_plan(reader, str(stage_dir(barrier) / WORK), barrier.stage.config, manifest.executor.tasks,
                     index=barrier.stage.index, index_label=index_label(barrier), exclusion_writer=excl,
                     after=[writer], band_parts=getattr(barrier.stage, "band_parts", 1),
                     verify_parts=getattr(barrier.stage, "verify_parts", 16))


def has_input(barrier) -> bool:
    return any(Path(barrier.input_dir).rglob("*.parquet"))


def start(barrier) -> None:
    """Before the first step of a pass that has not started: an unfinished earlier attempt's index
    segments go (the clusters step drops its own on a redo)."""
    if getattr(barrier.stage, "index", None) and not (stage_dir(barrier) / WORK / "sigs").exists():
        from dedup.index import drop_segments

        drop_segments(barrier.stage.index, index_label(barrier))


def run_dedup_steps(manifest, barrier, executor: Callable, progress: bool = True):
    """Run every step with `executor(pipeline, tasks, logs)` (a datatrove executor: Local or Ray), then write
    `done.json`; returns the barrier's (Stats, already_done) as curation.run.runner.run_barrier does."""
    from curation.run.summary import counts_stats

    done = stage_dir(barrier) / "done.json"
    was_done = done.exists()
    if not was_done:
        started = time.time()
        if has_input(barrier):
            start(barrier)
            for name, pipeline, tasks in plan(manifest, barrier):
                executor(pipeline, tasks, stage_dir(barrier) / STEPS / name).run()
        finish(barrier, started)
    return counts_stats(str(barrier.stage), json.loads(done.read_text())), was_done


def finish(barrier, started: float | None = None) -> dict:
    """The pass's counts (from the clusters' decisions) to `done.json`; the work folder removed."""
    work = stage_dir(barrier) / WORK
    counts = dedup_counts(work)
    counts["reason"] = "near_duplicate"
    if started is not None:
        counts["seconds"] = round(time.time() - started, 3)
    atomic.write_text(stage_dir(barrier) / "done.json", json.dumps(counts))
    atomic.remove_tree(work)
    return counts


def dedup_counts(work: Path) -> dict:
    """documents, kept, removed, no_text and per language in / kept / removed, as `curate dedup` reports."""
    languages, no_text = {}, 0
    for mark in sorted((work / "sigs").glob("rank_*.json")):
        no_text += json.loads(mark.read_text()).get("no_text", 0)
    for folder in sorted((work / "clusters").glob("*")):
        if not folder.is_dir():
            continue
        n = kept = 0  # counted per file: a language may hold billions of documents
        for p in sorted(folder.glob("rank_*.parquet")):
            keep = pq.read_table(p, columns=["keep"]).column("keep").to_numpy()
            n, kept = n + len(keep), kept + int(keep.sum())
        if n:
            languages[folder.name] = {"in": n, "kept": kept, "removed": n - kept}
    total = sum(c["in"] for c in languages.values())
    kept = sum(c["kept"] for c in languages.values())
    return {"documents": total + no_text, "kept": kept + no_text, "removed": total - kept, "no_text": no_text,
            "languages": dict(sorted(languages.items(), key=lambda kv: -kv[1]["in"]))}
