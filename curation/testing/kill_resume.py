"""Kill a `curate run` at chosen moments and check that resuming it gives exactly the uninterrupted output.

Used by tests/test_resume.py and benchmarks/resume.py. A run goes through phases that can be seen on disk:
start-up (until it writes `_logs/run.json`), each pass of datatrove tasks (done when every task's completion marker
exists), each barrier (dedup) between passes (done when its `done.json` exists), then the summary (stats.json,
report). `snapshot` reads a run's output into something two runs can be compared by: every Parquet file's rows as
a multiset, the run summary without its timings and output path, and any temporary file left behind.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.parquet as pq

from curation.atomic import is_temp
from curation.run import layout

VOLATILE_KEYS = {"elapsed_seconds", "already_complete", "seconds", "output"}  # differ between any two runs


@dataclass
class RunShape:
    """Where a run's phases leave their marks: one logs folder per pass, one done.json per barrier, and for a
    dedup that runs as steps over the tasks (curation.run.dedup_pass), one logs folder per step."""

    out: Path
    tasks: int
    barriers: list[Path]  # each barrier's done.json, in order
    steps: list[list[tuple[str, Path]]] = field(default_factory=list)  # per barrier: (step, its logs folder)

    @classmethod
    def of(cls, manifest) -> "RunShape":
        from curation.run.barrier import Barrier
        from curation.run.compile import compile_phases
        from curation.run.dedup_pass import STEPS, plan, stage_dir, uses_steps

        phases = compile_phases(manifest, progress=False)
        out = Path(manifest.output.path)
        barriers = [p for p in phases if isinstance(p, Barrier)]
        steps = [[(name, stage_dir(b) / STEPS / name) for name, _, _ in plan(manifest, b)] if uses_steps(manifest, b)
                 else [] for b in barriers]
        return cls(out, manifest.executor.tasks, [layout.done_marker(b.output_dir) for b in barriers], steps)

    @property
    def names(self) -> list[str]:
        names = ["start-up"]
        for i in range(len(self.barriers) + 1):
            names.append("first pass" if i == 0 else f"pass {i + 1}")
            if i < len(self.barriers):
                barrier = "dedup barrier" if len(self.barriers) == 1 else f"barrier {i + 1}"
                steps = self.steps[i] if i < len(self.steps) else []
                names += [f"{barrier}: {name}" for name, _ in steps] + ([f"{barrier}: done"] if steps else [barrier])
        return names + ["summary"]

    def phase(self, started: float) -> int:
        """The index (into `names`) of the phase the run started at `started` (time.time()) is in now,
        judged from its files."""
        try:
            if layout.run_stamp(self.out).stat().st_mtime < started:
                return 0
        except FileNotFoundError:
            return 0
        k = 1
        for i in range(len(self.barriers) + 1):
            if not _complete(layout.pass_logs(self.out, i), self.tasks):
                return k
            k += 1
            if i < len(self.barriers):
                for _, folder in (self.steps[i] if i < len(self.steps) else []):
                    if not _complete(folder, self.tasks) and not self.barriers[i].exists():
                        return k
                    k += 1
                if not self.barriers[i].exists():
                    return k
                k += 1
        return k


def _complete(logs: Path, tasks: int) -> bool:
    done = logs / "completions"
    return done.is_dir() and sum(1 for _ in done.iterdir()) >= tasks


@dataclass
class Attempt:
    """One start of the command: killed (in which phase) or finished (exit code)."""

    killed_in: str | None
    seconds: float
    returncode: int | None = None
    stderr: str = ""


def start(command: list[str], log: Path, cwd: str | None = None, **kwargs) -> subprocess.Popen:
    """The command in a process group of its own, so that it and every worker can be killed at once."""
    with open(log, "ab") as f:
        return subprocess.Popen(command, stdout=f, stderr=subprocess.STDOUT, start_new_session=True, cwd=cwd,
                                **kwargs)


def kill_group(proc: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass
    if sig == signal.SIGKILL:
        proc.wait()


def run_and_kill(command: list[str], shape: RunShape, log: Path, target: int | None, delay: float,
                 cwd: str | None = None, poll: float = 0.02) -> Attempt:
    """Start the command; SIGKILL its process group `delay` seconds after it reaches phase `target` (from the
    start with target None). A run that ends first is not killed."""
    t0, wall = time.monotonic(), time.time() - 0.01  # (file times can be a little behind the clock)
    proc = start(command, log, cwd)
    reached = t0 if target is None else None
    while proc.poll() is None:
        now = time.monotonic()
        if reached is None and shape.phase(wall) >= target:
            reached = now
        if reached is not None and now - reached >= delay:
            kill_group(proc)
            return Attempt(shape.names[shape.phase(wall)], time.monotonic() - t0)
        time.sleep(poll)
    return Attempt(None, time.monotonic() - t0, proc.returncode)


def timed_run(command: list[str], shape: RunShape, log: Path, cwd: str | None = None,
              poll: float = 0.02) -> tuple[int, list[float]]:
    """Run to the end; returns the exit code and how long each phase lasted (the first includes start-up)."""
    t0, wall = time.monotonic(), time.time() - 0.01
    proc = start(command, log, cwd)
    marks = [t0]
    while proc.poll() is None:
        p = shape.phase(wall)
        while len(marks) <= p:
            marks.append(time.monotonic())
        time.sleep(poll)
    end = time.monotonic()
    marks += [end] * (len(shape.names) + 1 - len(marks))
    return proc.returncode, [b - a for a, b in zip(marks, marks[1:])]


@dataclass
class Snapshot:
    files: dict[str, Counter] = field(default_factory=dict)  # relative Parquet path -> multiset of rows
    summary: dict | None = None
    barriers: dict[str, dict] = field(default_factory=dict)  # relative done.json path -> its counts
    temp_files: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)

    def documents(self, prefix: str = "") -> int:
        return sum(sum(c.values()) for p, c in self.files.items() if p.startswith(prefix))


def snapshot(out: Path) -> Snapshot:
    """Everything a reader of the run's output can see, in comparable form."""
    s = Snapshot()
    for folder, dirs, names in os.walk(out):
        for name in names:
            path = Path(folder, name)
            rel = str(path.relative_to(out))
            if is_temp(name) or any(is_temp(part) for part in Path(rel).parts):
                s.temp_files.append(rel)
            elif name.endswith(".parquet"):
                try:
                    rows = pq.read_table(path).to_pylist()
                except Exception as e:  # noqa: BLE001 - a truncated file is what this looks for
                    s.unreadable.append(f"{rel}: {e}")
                    continue
                s.files[rel] = Counter(json.dumps(r, sort_keys=True, default=str) for r in rows)
            elif name == layout.DONE:
                s.barriers[rel] = _stable(json.loads(path.read_text()))
    stats = out / layout.STATS
    if stats.exists():
        s.summary = _stable(json.loads(stats.read_text()))
    return s


def _stable(value):
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items() if k not in VOLATILE_KEYS}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


def differences(expected: Snapshot, got: Snapshot, limit: int = 10) -> list[str]:
    """What differs, one line each (empty: identical)."""
    out = [f"temporary file left: {t}" for t in got.temp_files]
    out += [f"unreadable Parquet file: {u}" for u in got.unreadable]
    for rel in sorted(set(expected.files) | set(got.files)):
        a, b = expected.files.get(rel), got.files.get(rel)
        if a is None:
            out.append(f"{rel}: not in the uninterrupted run")
        elif b is None:
            out.append(f"{rel}: missing")
        elif a != b:
            out.append(f"{rel}: {sum((b - a).values())} rows not expected (duplicates or changed), "
                       f"{sum((a - b).values())} missing")
    if expected.barriers != got.barriers:
        out.append(f"barrier counts differ: {expected.barriers} != {got.barriers}")
    if expected.summary != got.summary:
        out.append("stats.json differs (beyond timings)" if got.summary else "stats.json missing")
    return out[:limit] + ([f"... and {len(out) - limit} more"] if len(out) > limit else [])


def partial_files(expected: Snapshot, got: Snapshot) -> list[str]:
    """Files a reader can see now that are not complete: unreadable, or holding other rows than the same file
    of the finished uninterrupted run (a prefix of them, say). The work files of a dedup run as steps
    (`_stages/NN_dedup/work/`, removed when the pass finishes) are no output and not counted."""
    return got.unreadable + [rel for rel, rows in got.files.items()
                             if expected.files.get(rel) != rows and not _dedup_work(rel)]


def _dedup_work(rel: str) -> bool:
    from curation.run.dedup_pass import WORK

    parts = Path(rel).parts
    return len(parts) > 3 and parts[0] == layout.STAGES and parts[2] == WORK


def curate_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "curation.cli", *args]
