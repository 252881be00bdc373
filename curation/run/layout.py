"""Every name inside a run folder, in one place, so the runner, the executors, the summary, the report and
`crawl sync` agree on where a run keeps what (and a folder written by an earlier version still resumes).

    <output>/
      <language>/...parquet      the datasets (curation.io.writer)
      stats.json                 the run summary (curation.run.summary)
      report.html                the run report (curation.report)
      _logs/                     datatrove's logs, stats and completion markers of the first pass
        run.json                 the run's fingerprint (a different manifest or input is refused)
        pass_N/                  the same for pass N (after the N-th barrier)
        slurm/                   the Slurm jobs' logs and job list
      _stages/NN_<stage>/        a stage's own files: a barrier's `input/` (the pass before writes it),
                                 `kept/` (the next pass reads it) and `done.json` (its counts, when finished)
      _exclusions/NN_<stage>/    the documents a stage removed: a filter's per language (`<language>/*.parquet`),
                                 a dedup's flat (`*.parquet`, with `duplicate_of`) whatever the number of tasks
"""

from __future__ import annotations

import os
from pathlib import Path

LOGS = "_logs"
STAGES = "_stages"
EXCLUSIONS = "_exclusions"
SLURM_LOGS = "slurm"  # under _logs: the barrier and summary jobs' datatrove logs, the job list
SLURM_JOBS = "jobs.json"
RUN_STAMP = "run.json"
STATS = "stats.json"
REPORT = "report.html"
DONE = "done.json"
HANDOFF = "input"  # a barrier's input: the pass before it writes here
KEPT = "kept"  # a barrier's output: the pass after it reads here
PASS_PREFIX = "pass_"


def slug(name: str) -> str:
    """A stage key as a folder-name part."""
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)


def stage_folder(index: int, key: str) -> str:
    """`NN_<key>`: the folder of the manifest's stage `index` under `_stages/` and `_exclusions/`."""
    return f"{index:02d}_{slug(key)}"


def stage_dir(out: str | Path, index: int, key: str) -> str:
    return os.path.join(out, STAGES, stage_folder(index, key))


def exclusions_dir(out: str | Path, index: int, key: str) -> str:
    return os.path.join(out, EXCLUSIONS, stage_folder(index, key))


def stage_key(folder: str) -> str:
    """The stage key of a `NN_<key>` folder name."""
    return folder.split("_", 1)[1] if "_" in folder else folder


def pass_logs(out: Path, n_pass: int) -> Path:
    """Where pass `n_pass` keeps datatrove's logs, stats and completion markers (the same for every executor)."""
    out = Path(out)
    return out / LOGS if n_pass == 0 else out / LOGS / f"{PASS_PREFIX}{n_pass}"


def all_pass_logs(out: Path) -> list[Path]:
    """The logs folders of every pass that has one, in pass order."""
    logs = Path(out) / LOGS
    later = [p for p in logs.glob(f"{PASS_PREFIX}*") if p.name[len(PASS_PREFIX):].isdigit()]
    return [logs] + sorted(later, key=lambda p: int(p.name[len(PASS_PREFIX):]))


def slurm_dir(out: Path) -> Path:
    """`_logs/slurm/`: the Slurm barrier and summary jobs' logs (`<NN_stage>/`, `summary/`), the jobs' own
    output (`jobs/`) and the list of jobs submitted (`jobs.json`)."""
    return Path(out) / LOGS / SLURM_LOGS


def run_stamp(out: Path) -> Path:
    return Path(out) / LOGS / RUN_STAMP


def done_marker(barrier_output: str | Path) -> Path:
    """A barrier's `done.json`, beside its `kept/` folder."""
    return Path(barrier_output).parent / DONE


def stages_folder_of(path) -> str | None:
    """`NN_<key>` of a path under `_stages/` (where a pass writes to or reads from between passes), else None."""
    parts = Path(str(path)).parts if path else ()
    return parts[parts.index(STAGES) + 1] if STAGES in parts[:-1] else None
