"""A barrier stage (dedup): it must see every document of the pass before it before passing any on, so it
runs alone between two passes, over the pass's Parquet output, and leaves a `done.json` when finished."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from datatrove.pipeline.base import PipelineStep

from curation import atomic
from curation.apply.dedup import dedup_files, exact_dedup_files
from curation.run import layout
from curation.run.summary import counts_stats
from dedup.index import drop_segments


@dataclass
class Barrier:
    """A stage that must see every document before passing any on (dedup): it runs between two passes."""

    index: int
    stage: PipelineStep
    input_dir: str  # where the pass before it writes
    output_dir: str  # where it writes the kept documents, read by the next pass
    exclusions: str | None


def run_barrier(b: Barrier, progress: bool):
    """Dedup the pass's output (unless a previous run finished it); its counts as a datatrove Stats."""
    done = layout.done_marker(b.output_dir)
    was_done = done.exists()
    if was_done:
        counts = json.loads(done.read_text())
    else:  # not finished (or killed half-way): start it over from the pass's complete output
        started = time.time()
        atomic.remove_tree(b.output_dir)
        if b.exclusions:
            atomic.remove_tree(b.exclusions)
        index_label = str(Path(b.output_dir).parents[2])  # the run's output folder
        if getattr(b.stage, "index", None):  # a killed attempt may have added this run's documents already
            drop_segments(b.stage.index, index_label)
        Path(b.output_dir).mkdir(parents=True)  # also holds the dedup's work files, so a redo clears them
        inputs = [b.input_dir] if any(Path(b.input_dir).rglob("*.parquet")) else []
        if not inputs:
            counts = {"documents": 0, "kept": 0, "removed": 0, "languages": {}}
        elif hasattr(b.stage, "config"):  # MinHash
            counts = dedup_files(inputs, b.output_dir, config=b.stage.config, progress=progress,
                                 exclusions=b.exclusions,
                                 index=b.stage.index, index_label=index_label,
                                 order="id")  # the pass's tasks split the documents: not their reading order
        else:
            counts = exact_dedup_files(inputs, b.output_dir, by=b.stage.by, progress=progress, exclusions=b.exclusions)
        counts["reason"] = "near_duplicate" if hasattr(b.stage, "config") else f"duplicate_{b.stage.by}"
        counts["seconds"] = round(time.time() - started, 3)  # the report's throughput of this stage
        atomic.write_text(done, json.dumps(counts))
    stats = counts_stats(str(b.stage), counts)
    return stats, was_done
