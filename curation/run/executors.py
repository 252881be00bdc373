"""The manifest's `executor` as datatrove executors: Local, Ray or Slurm, with the same pipeline and output.

- local: each pass on datatrove's LocalPipelineExecutor; a barrier (dedup) runs in-process between passes.
- ray: each pass on datatrove's RayPipelineExecutor, one after another from the driver (`curate run` waits
  for the run); a barrier runs in the driver, as with local, so the dedup decisions are the same.
- slurm: `curate run` submits the whole run and returns: every pass is a SlurmPipelineExecutor job array,
  each barrier a one-task job that runs the same barrier function, and a last one-task job writes the
  summary (stats.json, report); each depends on the one before (`afterok`). The jobs write where a local run
  writes (`_logs/`, `_logs/pass_N/`, `_stages/`), so a run can be resumed on any executor.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from datatrove.executor import LocalPipelineExecutor, RayPipelineExecutor, SlurmPipelineExecutor
from datatrove.executor.base import PipelineExecutor
from datatrove.pipeline.base import PipelineStep

from curation import atomic
from curation.core import CurationError, StageKind
from curation.manifest import ExecutorSpec, Manifest
from curation.run.barrier import Barrier, run_barrier
from curation.run.dedup_pass import uses_steps
from curation.run.layout import LOGS, SLURM_JOBS, STATS, pass_logs, slurm_dir


def concurrent_tasks(ex: ExecutorSpec) -> int:
    """How many of the pass's tasks run at once."""
    return ex.tasks if ex.workers in (-1, 0) else min(ex.workers, ex.tasks)


def pass_executor(manifest: Manifest, phase: list[PipelineStep], logs: str | Path) -> PipelineExecutor:
    """The executor that runs one pass (to completion: `run()` returns when every task finished or raises)."""
    ex = manifest.executor
    if ex.kind == "local":
        return LocalPipelineExecutor(phase, tasks=ex.tasks, workers=concurrent_tasks(ex), logging_dir=str(logs),
                                     start_method="fork")
    if ex.kind == "ray":
        return RayRun(phase, ex, concurrent_tasks(ex), logging_dir=str(logs))
    raise CurationError(f"{manifest._source}: executor.kind slurm submits the whole run at once (submit_slurm)")


# ------------------------------------------------------------------------------------------------ ray


def require_pass_finished(logs: str, tasks: int) -> None:
    """Refuse to dedup before every task of the pass before it wrote its completion marker."""
    done = Path(logs) / "completions"
    missing = [r for r in range(tasks) if not (done / f"{r:05d}").exists()]
    if missing:
        raise CurationError(f"{logs}: tasks {missing[:10]}{' ...' if len(missing) > 10 else ''} of "
                            f"{tasks} have not finished, so the dedup would miss their documents; "
                            "run `curate run` again to queue them")


class RayRun(RayPipelineExecutor):
    """datatrove's Ray executor that connects to the manifest's cluster first and raises when a task failed
    (datatrove only logs it), so the next pass never reads a partial pass."""

    def __init__(self, pipeline, spec: ExecutorSpec, workers: int, logging_dir: str):
        super().__init__(pipeline, tasks=spec.tasks, workers=workers, logging_dir=logging_dir,
                         cpus_per_task=spec.cpus_per_task or 1, mem_per_cpu_gb=spec.mem_per_cpu_gb or 2)
        self.address, self.num_cpus = spec.address, spec.num_cpus

    def run(self):
        connect_ray(self.address, self.num_cpus)
        super().run()
        failed = self.get_incomplete_ranks(skip_completed=True)
        if failed:
            raise CurationError(f"ray: tasks {failed} of {self.world_size} failed; their logs are in "
                                f"{self.logging_dir.resolve_paths('logs')}/ (run again to redo only them)")


def connect_ray(address: str | None, num_cpus: int | None = None) -> None:
    """Join (or start) the Ray cluster once per process. A cluster started here gets this process's code on
    its workers' PYTHONPATH, so they import the same `curation` as the driver."""
    import atexit

    try:
        import ray
    except ImportError:
        raise CurationError("executor.kind ray needs the ray package: pip install 'curation[ray]'") from None
    if ray.is_initialized():
        return
    options: dict = {"include_dashboard": False, "configure_logging": False}
    if address in (None, "local"):
        code = str(Path(__file__).resolve().parents[2])
        path = os.pathsep.join(p for p in (code, os.environ.get("PYTHONPATH")) if p)
        options["runtime_env"] = {"env_vars": {"PYTHONPATH": path}}
    if address == "local":
        options["num_cpus"] = num_cpus
    try:
        ray.init(address=address, **options)
    except ConnectionError as e:
        raise CurationError(f"ray: cannot reach the cluster at '{address}' ({e}); start one with `ray start --head`, "
                            "or use executor.address: local to start one for this run") from None
    atexit.register(ray.shutdown)


# ------------------------------------------------------------------------------------------------ slurm


class BarrierStep(PipelineStep):
    """A barrier (dedup) as the one task of a Slurm job: the same function a local run calls, once every task
    of the pass before it has finished (Slurm's afterok only covers that pass's last job array)."""

    name = "🚧 Barrier"
    type = StageKind.DEDUP

    def __init__(self, barrier: Barrier, pass_logs: str, tasks: int):
        super().__init__()
        self.barrier, self.pass_logs, self.tasks = barrier, pass_logs, tasks

    def run(self, data, rank: int = 0, world_size: int = 1):
        require_pass_finished(self.pass_logs, self.tasks)
        stats, _ = run_barrier(self.barrier, progress=False)
        self.stats = stats
        yield from ()


class RunSummary(PipelineStep):
    """The last job of a Slurm run: the run's summary (stats.json, report) from the finished passes, written
    by the same code as a local run (`summarize`, the runner's run_manifest: every task and barrier is done, so
    nothing is redone)."""

    name = "📋 Run summary"
    type = StageKind.SUMMARY

    def __init__(self, manifest: Manifest, summarize: Callable[..., dict]):
        super().__init__()
        self.manifest, self.summarize = manifest, summarize

    def run(self, data, rank: int = 0, world_size: int = 1):
        m = self.manifest.model_copy(deep=True)
        m.executor = ExecutorSpec(kind="local", tasks=m.executor.tasks, workers=1)
        m._source = self.manifest._source
        summary = self.summarize(m, progress=False)
        out = Path(m.output.path)
        record = slurm_dir(out) / SLURM_JOBS
        submitted = json.loads(record.read_text())["submitted"] if record.exists() else None
        summary |= {"already_complete": False, "executor": "slurm"}
        if submitted:  # the run's time is from submission to now, queueing included
            summary["elapsed_seconds"] = round(time.time() - submitted, 1)
        _write_json(out / STATS, summary)
        yield from ()


def slurm_executor(manifest: Manifest, pipeline: list, logs: Path, job: str, tasks: int = 1,
                   depends: SlurmPipelineExecutor | None = None, skip_completed: bool = True,
                   mem_gb: float | None = None) -> SlurmPipelineExecutor:
    """One job array of the run, with the manifest's Slurm options (`mem_gb`: memory of each task instead)."""
    ex = manifest.executor
    out = Path(manifest.output.path)
    sbatch = {k.replace("_", "-"): v for k, v in (ex.sbatch_args or {}).items()}
    cpus = ex.cpus_per_task or 1
    mem = mem_gb / cpus if mem_gb else ex.mem_per_cpu_gb or 2
    if mem != int(mem):  # sbatch takes whole units: give fractions of a GB in MB
        sbatch["mem-per-cpu"] = f"{math.ceil(mem * 1024)}M"
    venv = ex.venv_path
    if venv and not venv.endswith("activate"):
        venv = os.path.join(venv, "bin", "activate")
    if not venv and not ex.env_command and sys.prefix != sys.base_prefix:
        venv = os.path.join(sys.prefix, "bin", "activate")  # the environment `curate` runs in
    at_once = -1 if tasks == 1 or ex.workers in (-1, 0) else min(ex.workers, tasks)  # the array's %N
    return SlurmPipelineExecutor(
        pipeline, tasks=tasks, workers=at_once, time=ex.time, partition=ex.partition,
        cpus_per_task=cpus, mem_per_cpu_gb=int(mem), qos=ex.qos or "", job_name=job,
        env_command=ex.env_command, venv_path=venv, sbatch_args=sbatch, logging_dir=str(logs), depends=depends,
        skip_completed=skip_completed, slurm_logs_folder=str(Path(ex.logs or slurm_dir(out) / "jobs")),
        mail_type="NONE")


class PassComplete(PipelineStep):
    """Before the first dedup step's reader on Slurm: every task of the pass before has finished (afterok
    only covers that pass's last job array), or the dedup would miss their documents."""

    name = "🚧 Pass complete"
    type = StageKind.DEDUP

    def __init__(self, pass_logs: str, tasks: int):
        super().__init__()
        self.pass_logs, self.tasks = pass_logs, tasks

    def run(self, data, rank: int = 0, world_size: int = 1):
        require_pass_finished(self.pass_logs, self.tasks)
        yield from data or ()


class DedupDone(PipelineStep):
    """The last job of a dedup pass run as steps on Slurm: its counts to done.json (curation.run.dedup_pass.finish)."""

    name = "🫂 MinHash done"
    type = StageKind.DEDUP

    def __init__(self, barrier: Barrier):
        super().__init__()
        self.barrier = barrier

    def run(self, data, rank: int = 0, world_size: int = 1):
        from curation.run.dedup_pass import finish, stage_dir

        if not (stage_dir(self.barrier) / "done.json").exists():
            finish(self.barrier)
        yield from ()


def _dedup_step_jobs(manifest: Manifest, barrier: Barrier, out: Path, n_pass: int, prefix: str, stage: str,
                     previous):
    """The dedup steps of `barrier` as dependent job arrays (curation.run.dedup_pass.plan), then DedupDone."""
    from curation.run.dedup_pass import STEPS, plan, stage_dir, start

    start(barrier)  # here, before any job runs: an unfinished attempt's index segments go
    guard = PassComplete(str(pass_logs(out, n_pass - 1)), manifest.executor.tasks)
    for k, (name, pipeline, tasks) in enumerate(plan(manifest, barrier)):
        if k == 0:
            pipeline = [guard] + pipeline
        label = f"{prefix}_{stage}_{name}"
        mem = manifest.executor.barrier_mem_gb if name == "clusters" else None  # one task per language holds it
        previous = slurm_executor(manifest, pipeline, stage_dir(barrier) / STEPS / name, label, tasks=tasks,
                                  depends=previous, mem_gb=mem)
        yield label, previous
    label = f"{prefix}_{stage}_done"
    yield label, slurm_executor(manifest, [DedupDone(barrier)], stage_dir(barrier) / STEPS / "done", label,
                                depends=previous)


def submit_slurm(manifest: Manifest, phases: list, out: Path, summarize: Callable[..., dict]) -> dict:
    """Submit the run as dependent Slurm jobs (passes, barriers, summary); returns the jobs submitted. The last
    job calls `summarize(manifest, progress=False)` (the runner's run_manifest) for stats.json and the report."""
    ex = manifest.executor
    prefix = ex.job_name or f"curate_{manifest.name or 'run'}"
    chain: list[tuple[str, SlurmPipelineExecutor]] = []
    previous, n_pass = None, 0
    for phase in phases:
        if isinstance(phase, Barrier) and uses_steps(manifest, phase, count_input=False):  # a job array per step
            stage = Path(phase.input_dir).parent.name
            for label, executor in _dedup_step_jobs(manifest, phase, out, n_pass, prefix, stage, previous):
                previous = executor
                chain.append((label, previous))
            continue
        if isinstance(phase, Barrier):
            stage = Path(phase.input_dir).parent.name  # e.g. 03_dedup
            label = f"{prefix}_{stage}"
            step = BarrierStep(phase, str(pass_logs(out, n_pass - 1)), ex.tasks)
            previous = slurm_executor(manifest, [step], slurm_dir(out) / stage, label, depends=previous,
                                      mem_gb=ex.barrier_mem_gb)
        else:
            label = f"{prefix}_pass{n_pass}"
            previous = slurm_executor(manifest, phase, pass_logs(out, n_pass), label, tasks=ex.tasks, depends=previous)
            n_pass += 1
        chain.append((label, previous))
    summary = slurm_executor(manifest, [RunSummary(manifest, summarize)], slurm_dir(out) / "summary",
                             f"{prefix}_summary", depends=previous, skip_completed=False)
    chain.append((f"{prefix}_summary", summary))
    record = slurm_dir(out) / SLURM_JOBS
    submitted = time.time()
    _write_json(record, {"submitted": submitted, "jobs": []})  # before the summary job can start
    try:
        summary.run()  # launches the jobs it depends on first, each with --dependency=afterok:<the one before>
    except FileNotFoundError as e:
        raise CurationError(f"slurm: cannot submit jobs ({e.filename} not found): run `curate run` on a machine "
                            "with Slurm's sbatch, or choose executor.kind local or ray") from None
    jobs = [{"job": label, "id": str(e.job_id), "skipped": str(e.job_id) == "-1",
             "script": e.logging_dir.resolve_paths("launch_script.slurm")} for label, e in chain]
    _write_json(record, {"submitted": submitted, "jobs": jobs})
    return {"executor": "slurm", "output": str(out), "jobs": jobs}


def _write_json(path: Path, data: dict) -> None:
    atomic.write_text(path, json.dumps(data, indent=2, ensure_ascii=False))


def format_submission(s: dict) -> str:
    lines = [f"submitted {sum(not j['skipped'] for j in s['jobs'])} Slurm jobs, each after the one before:"]
    for j in s["jobs"]:
        lines.append(f"  {j['job']:<36}{'already done' if j['skipped'] else 'job ' + j['id']}")
    lines.append(f"the last writes {s['output']}/stats.json; follow with `squeue --me`, "
                 f"logs in {s['output']}/{LOGS}/")
    return "\n".join(lines)
