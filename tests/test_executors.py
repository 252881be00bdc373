"""Executors: the demo manifest on a local Ray cluster writes what the local executor writes, document by
document; on Slurm the run is submitted as dependent sbatch jobs (recorded by a fake `sbatch`), whose
scripts, run one after another as Slurm would, write what a local run writes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
import yaml

from curation.core import CurationError
from curation.demo.build import build_demo
from curation.manifest import ManifestError, parse_manifest
from curation.run.runner import fingerprint, run_manifest

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "data" / "cache"


@pytest.fixture(scope="module")
def crawl(tmp_path_factory):
    out = tmp_path_factory.mktemp("crawl")
    build_demo(out, n_pages=60, seed=3, cache_dir=CACHE)
    return out / "crawl.warc.gz"


def demo_manifest(warc: Path, out: Path, **executor) -> str:
    """manifests/demo.yml (every stage as shipped) on `warc`, writing to `out`, with another executor."""
    data = yaml.safe_load((ROOT / "manifests/demo.yml").read_text())
    data["input"]["paths"] = [str(warc)]
    data["output"]["path"] = str(out)
    data["executor"] = {"tasks": 2, **executor}
    return yaml.safe_dump(data, sort_keys=False)


def outputs(out: Path) -> dict[str, bytes]:
    """Every dataset and exclusion file of a run (not the logs), by path inside the run folder."""
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*.parquet"))
            if p.relative_to(out).parts[0] not in ("_logs", "_stages")}


def documents(out: Path) -> dict[str, list[tuple[str, str]]]:
    """(id, text) of the written documents per language, in file order."""
    docs: dict[str, list] = {}
    for f in sorted(out.glob("[a-z]*_*/*.parquet")):
        df = pl.read_parquet(f)
        docs.setdefault(f.parent.name, []).extend(zip(df["id"], df["text"]))
    return docs


def same_counts(a: dict, b: dict) -> None:
    """Two run summaries report the same documents per stage and per language (timings aside)."""
    strip = [{k: v for k, v in s.items() if k != "seconds"} for s in a["stages"]]
    assert strip == [{k: v for k, v in s.items() if k != "seconds"} for s in b["stages"]]
    assert a["languages"] == b["languages"] and a["documents_written"] == b["documents_written"]


# ------------------------------------------------------------------------------------------------ manifest


@pytest.mark.parametrize("executor, message", [
    ("{kind: local, partition: cpu}", "m.yml line 4: executor.partition: a slurm option, but executor.kind is 'local'"),
    ("{kind: local, mem_per_cpu_gb: 4}",
     "executor.mem_per_cpu_gb: a slurm and ray option, but executor.kind is 'local'"),
    ("{kind: ray, time: '1:00:00'}", "executor.time: a slurm option, but executor.kind is 'ray'"),
    ("{kind: slurm, address: auto, partition: cpu, time: '10'}",
     "executor.address: a ray option, but executor.kind is 'slurm'"),
    ("{kind: slurm, tasks: 4}", "executor: kind slurm needs 'partition' and 'time'"),
    ("{kind: slurm, partition: cpu, time: 2h}", "executor.time: expected a Slurm time limit"),
    ("{kind: ray, num_cpus: 2}", "executor: num_cpus sizes a cluster started for the run: it needs address: local"),
    ("{kind: ray, cpus_per_tsk: 2}", "executor.cpus_per_tsk: unknown key (did you mean 'cpus_per_task'?)"),
])
def test_executor_options_are_checked_per_kind(executor, message):
    text = f"input: {{paths: [x.jsonl]}}\noutput: out\nstages: [{{stage: write}}]\nexecutor: {executor}\n"
    with pytest.raises(ManifestError) as e:
        parse_manifest(text, "m.yml")
    assert message in str(e.value), str(e.value)


def test_where_tasks_run_does_not_change_the_fingerprint(crawl, tmp_path):
    """A run started on one executor resumes on another: only the number of tasks changes the output."""
    prints = {kind: fingerprint(parse_manifest(demo_manifest(crawl, tmp_path, **extra), "m.yml"))
              for kind, extra in [("local", {}), ("ray", {"kind": "ray", "address": "local", "num_cpus": 2}),
                                  ("slurm", {"kind": "slurm", "partition": "cpu", "time": "60", "workers": 1})]}
    assert len(set(prints.values())) == 1, prints
    three = parse_manifest(demo_manifest(crawl, tmp_path).replace("tasks: 2", "tasks: 3"), "m.yml")
    assert fingerprint(three) != prints["local"]


# ------------------------------------------------------------------------------------------------ ray


def own_process(*args: str) -> list[str]:
    """A command line in a process of its own, so Ray's threads never enter the test process, whose later
    local runs fork their workers (a fork beside Ray's threads can hang)."""
    return [sys.executable, *args]


def child_env() -> dict:
    environ = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    return environ | {"PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}


def test_a_ray_cluster_that_is_not_there_is_named(tmp_path):
    (tmp_path / "docs.jsonl").write_text('{"id": "a", "text": "some text here"}\n')
    (tmp_path / "m.yml").write_text(f"input: {{paths: ['{tmp_path / 'docs.jsonl'}']}}\noutput: {tmp_path / 'out'}\n"
                                    "executor: {kind: ray, address: auto}\nstages: [{stage: write}]\n")
    done = subprocess.run(own_process("-m", "curation.cli", "run", str(tmp_path / "m.yml")), cwd=ROOT,
                          env=child_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 2
    assert "error: ray: cannot reach the cluster at 'auto'" in done.stderr and "`ray start --head`" in done.stderr


RUN_EACH = """
import sys
from curation.cli import main
for path in sys.argv[1:]:  # one Ray cluster (started by the first run) for every run
    code = main(["run", path, "--no-progress"])
    print(f"### {path}: exit {code}", file=sys.stderr, flush=True)
"""


RAY = ", kind: ray, address: local, num_cpus: 2, mem_per_cpu_gb: 0.5"
DEDUP_MODES = ("robust", "fineweb2")


@pytest.fixture(scope="module")
def ray_runs(crawl, tmp_path_factory):
    """The demo manifest on a local Ray cluster started by the run, a run whose task fails on Ray, and a
    dedup in each MinHash mode over 4 tasks (as steps), in a process of their own (one Ray cluster for all);
    meanwhile the demo manifest with the local executor and each dedup with one task, for reference."""
    from tests.test_dedup_tasks import manifest as dedup_manifest
    from tests.test_dedup_tasks import write_inputs

    tmp = tmp_path_factory.mktemp("ray")
    demo, bad = tmp / "demo.yml", tmp / "bad.yml"
    dedup_in = write_inputs(tmp / "dedup_in")
    dedups = [tmp / f"dedup_{mode}.yml" for mode in DEDUP_MODES]
    for mode, path in zip(DEDUP_MODES, dedups):
        path.write_text(dedup_manifest(dedup_in, tmp / f"ray_{mode}", 4, mode, RAY))
    demo.write_text(demo_manifest(crawl, tmp / "ray", kind="ray", address="local", num_cpus=2, mem_per_cpu_gb=0.5))
    # the writer wants a folder where a file is: the task fails on the Ray worker
    (tmp / "bad/blocked").mkdir(parents=True)
    (tmp / "bad/blocked/unknown").write_text("a file where the writer wants a folder")
    (tmp / "docs.jsonl").write_text('{"id": "a", "text": "some text here"}\n')
    bad.write_text(f"input: {{paths: ['{tmp / 'docs.jsonl'}']}}\noutput: {tmp / 'bad'}\n"
                   "executor: {kind: ray, address: local, num_cpus: 2, mem_per_cpu_gb: 0.5}\n"
                   "stages: [{stage: write, subdir: blocked}]\n")
    proc = subprocess.Popen(own_process("-c", RUN_EACH, str(demo), str(bad), *map(str, dedups)), cwd=ROOT,
                            env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        local = tmp / "local"
        local_summary = run_manifest(parse_manifest(demo_manifest(crawl, local), "demo.yml"), progress=False)
        for mode in DEDUP_MODES:
            run_manifest(parse_manifest(dedup_manifest(dedup_in, tmp / f"one_{mode}", 1, mode), "d.yml"),
                         progress=False)
        printed, log = proc.communicate(timeout=900)
    finally:
        proc.kill()
    return {"log": log, "printed": printed, "ray": tmp / "ray", "bad": tmp / "bad", "local": local,
            "local_summary": local_summary, "demo": demo, "bad_manifest": bad, "dedups": dict(zip(DEDUP_MODES, dedups)),
            "tmp": tmp}


def test_ray_writes_what_local_writes(ray_runs):
    out, local_out = ray_runs["ray"], ray_runs["local"]
    assert f"### {ray_runs['demo']}: exit 0" in ray_runs["log"], ray_runs["log"][-3000:]
    assert f"to {out}/<language>/" in ray_runs["printed"]
    # every dataset and exclusion file, byte for byte; so the same documents per language, the same dedup
    assert outputs(out) == outputs(local_out) and len(outputs(out)) > 10
    assert documents(out) == documents(local_out)
    summary = json.loads((out / "stats.json").read_text())
    dedup = next(s for s in summary["stages"] if s.get("key") == "dedup")
    assert dedup["removed"] > 0  # the crawl's mirrors were found on Ray as well
    same_counts(summary, ray_runs["local_summary"])
    # each pass's tasks ran on Ray: datatrove's Ray executor leaves its own logs and completions
    for logs in (out / "_logs", out / "_logs/pass_1"):
        assert sorted(p.name for p in (logs / "completions").iterdir()) == ["00000", "00001"]
        executor = json.loads((logs / "executor.json").read_text())
        assert executor["cpus_per_task"] == 1 and executor["mem_per_cpu_gb"] == 0.5


def test_a_task_that_fails_on_ray_fails_the_run(ray_runs):
    """datatrove's Ray executor only logs a failed task; the run must stop before a next pass reads it."""
    bad, log = ray_runs["bad"], ray_runs["log"]
    assert f"### {ray_runs['bad_manifest']}: exit 2" in log, log[-3000:]
    assert re.search(r"error: ray: tasks \[0\] of 1 failed; their logs are in .*bad/_logs/logs/", log)
    assert "blocked/unknown" in (bad / "_logs/logs/task_00000.log").read_text()  # the error, in the task log
    assert not (bad / "stats.json").exists()


@pytest.mark.parametrize("mode", DEDUP_MODES)
def test_ray_dedup_steps_over_4_tasks_keep_what_one_task_keeps(ray_runs, mode):
    """`tasks: 4` on Ray runs the dedup as steps (Ray tasks); one task runs it in one process: the same kept
    documents (with their cluster size and id) and the same removed ones, in the same exclusion folder."""
    from tests.test_dedup_tasks import excluded, kept

    ray, one = ray_runs["tmp"] / f"ray_{mode}", ray_runs["tmp"] / f"one_{mode}"
    assert f"### {ray_runs['dedups'][mode]}: exit 0" in ray_runs["log"], ray_runs["log"][-3000:]
    assert kept(ray) == kept(one) and sum(map(len, kept(one).values())) > 40
    assert excluded(ray) == excluded(one) and sum(excluded(one)[2].values()) > 5
    steps = ray / "_stages/00_dedup/steps"
    names = ["signatures", "buckets", "clusters", "filter"] + (["lines", "lines_merge", "verify"] if mode == "robust"
                                                               else [])
    assert sorted(p.name for p in steps.iterdir()) == sorted(names)
    for name in names:  # every step ran its 4 tasks on Ray (datatrove's Ray executor's record)
        assert len(list((steps / name / "completions").iterdir())) == 4
        assert json.loads((steps / name / "executor.json").read_text())["mem_per_cpu_gb"] == 0.5
    assert not (one / "_stages/00_dedup/steps").exists()


# ------------------------------------------------------------------------------------------------ slurm


FAKE_SBATCH = """#!{python}
# records each submitted script and its options where FAKE_SLURM says, and answers as sbatch does
import json, os, shutil, sys
folder = os.environ["FAKE_SLURM"]
os.makedirs(folder, exist_ok=True)
job = str(1000 + sum(1 for f in os.listdir(folder) if f.endswith(".sh")) + 1)
shutil.copy(sys.argv[-1], os.path.join(folder, job + ".sh"))
with open(os.path.join(folder, "submitted.jsonl"), "a") as f:
    f.write(json.dumps({{"id": job, "options": sys.argv[1:-1]}}) + "\\n")
print("Submitted batch job " + job)
"""
FAKE_SRUN = """#!/bin/bash
# runs the command without srun's options (one node, one task)
while [[ "$1" == -* ]]; do case "$1" in -n|-N) shift 2;; *) shift;; esac; done
exec "$@"
"""
FAKE_SCONTROL = "#!/bin/bash\necho localhost\n"


@pytest.fixture
def fake_slurm(tmp_path, monkeypatch):
    """sbatch, srun and scontrol on PATH that record jobs instead of queueing them; returns the record folder."""
    bin_dir, record = tmp_path / "fake-bin", tmp_path / "submitted"
    bin_dir.mkdir()
    for name, text in (("sbatch", FAKE_SBATCH.format(python=sys.executable)), ("srun", FAKE_SRUN),
                       ("scontrol", FAKE_SCONTROL)):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_SLURM", str(record))
    return record


def submitted(record: Path) -> list[dict]:
    jobs = [json.loads(line) for line in (record / "submitted.jsonl").read_text().splitlines()]
    for j in jobs:
        j["script"] = (record / f"{j['id']}.sh").read_text()
        j["sbatch"] = dict(re.findall(r"^#SBATCH --([\w-]+)=?(.*)$", j["script"], re.M))
        j["after"] = [d for o in j["options"] if o.startswith("--dependency=") for d in re.findall(r"afterok:(\d+)", o)]
    return jobs


def run_like_slurm(record: Path, jobs: list[dict]) -> None:
    """Run every recorded job script as Slurm would: each after the jobs it depends on, each array index with
    its SLURM_ARRAY_TASK_ID (the indices of one array at once)."""
    finished = set()
    for j in jobs:
        assert set(j["after"]) <= finished, f"job {j['id']} would start before {j['after']}"
        first, last = map(int, re.match(r"(\d+)-(\d+)", j["sbatch"]["array"]).groups())
        offset = next((o.split("RUN_OFFSET=")[1] for o in j["options"] if "RUN_OFFSET=" in o), "0")
        env = dict(os.environ, SLURM_JOB_ID=j["id"], SLURM_NODELIST="localhost", RUN_OFFSET=offset,
                   PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
        procs = [subprocess.Popen(["bash", str(record / f"{j['id']}.sh")], env=dict(env, SLURM_ARRAY_TASK_ID=str(i)),
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                 for i in range(first, last + 1)]
        for p in procs:
            log = p.communicate()[0]
            assert p.returncode == 0, f"job {j['id']} ({j['sbatch']['job-name']}) failed:\n{log[-3000:]}"
        finished.add(j["id"])


LIGHT = """name: light
input: {{paths: ["{warc}"]}}
output: {out}
executor: {executor}
stages:
  - stage: extract
    engine: resiliparse
  - stage: langid
    min_score: 0.5
    exclusions: true
  - stage: exact_dedup
    exclusions: true
  - stage: write
"""
SLURM = ("{kind: slurm, tasks: 2, workers: 2, partition: cpu, time: '00:30:00', cpus_per_task: 2, mem_per_cpu_gb: 1.5, "
         "qos: low, job_name: light, sbatch_args: {account: proj}, barrier_mem_gb: 6}")


def test_slurm_run_is_dependent_jobs_that_write_what_local_writes(crawl, fake_slurm, tmp_path, capsys):
    from curation.cli import main

    out = tmp_path / "slurm"
    manifest = tmp_path / "light.yml"
    manifest.write_text(LIGHT.format(warc=crawl, out=out, executor=SLURM))
    assert main(["run", str(manifest), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "submitted 4 Slurm jobs" in printed and "light_02_exact_dedup" in printed
    assert not (out / "stats.json").exists()  # submitted, not run

    jobs = submitted(fake_slurm)
    chain = [j for j in jobs if "launch_pickled_pipeline" in j["script"]]
    names = [j["sbatch"]["job-name"] for j in chain]
    assert names == ["light_pass0", "light_02_exact_dedup", "light_pass1", "light_summary"]
    # each waits for the one before: pass 0 -> barrier (dedup) -> pass 1 -> summary
    assert [j["after"] for j in chain] == [[], [chain[0]["id"]], [chain[1]["id"]], [chain[2]["id"]]]
    for j in chain:
        s = j["sbatch"]
        got = (s["partition"], s["time"], s["cpus-per-task"], s["qos"], s["account"])
        assert got == ("cpu", "00:30:00", "2", "low", "proj")
        # 1.5 GB in the whole units sbatch takes; the dedup job gets its own memory (6 GB over 2 CPUs)
        assert s["mem-per-cpu"] == ("3G" if j is chain[1] else "1536M")
        assert s["output"].startswith(f"{out}/_logs/slurm/jobs/")
        if sys.prefix != sys.base_prefix:  # the jobs activate the environment `curate` ran in
            assert f"source {sys.prefix}/bin/activate" in j["script"]
    assert [j["sbatch"]["array"] for j in chain] == ["0-1%2", "0-0", "0-1%2", "0-0"]
    # the scripts launch the pickled executors the run left where a local run keeps its logs
    pickles = [re.search(r"launch_pickled_pipeline (\S+)", j["script"]).group(1) for j in chain]
    assert pickles == [f"{out}/_logs/executor.pik", f"{out}/_logs/slurm/02_exact_dedup/executor.pik",
                       f"{out}/_logs/pass_1/executor.pik", f"{out}/_logs/slurm/summary/executor.pik"]
    record = json.loads((out / "_logs/slurm/jobs.json").read_text())
    assert [j["id"] for j in record["jobs"]] == [j["id"] for j in chain]

    # run the jobs as Slurm would; they write exactly what a local run of the same manifest writes
    run_like_slurm(fake_slurm, jobs)
    local = tmp_path / "local"
    local_summary = run_manifest(parse_manifest(LIGHT.format(warc=crawl, out=local, executor="{tasks: 2}"), "l.yml"),
                                 progress=False)
    assert outputs(out) == outputs(local) and documents(out)
    assert any("_exclusions" in f for f in outputs(out))
    summary = json.loads((out / "stats.json").read_text())  # written by the last job
    same_counts(summary, local_summary)
    assert summary["executor"] == "slurm" and not summary["already_complete"]
    exact = next(s for s in summary["stages"] if s.get("key") == "exact_dedup")
    assert exact["removed"] > 0

    # submitted again once finished: every pass and the barrier are skipped, only the summary job is queued
    (fake_slurm / "submitted.jsonl").unlink()
    again = run_manifest(parse_manifest(manifest.read_text(), str(manifest)), progress=False)
    assert [j["skipped"] for j in again["jobs"]] == [True, True, True, False]
    resubmitted = submitted(fake_slurm)
    assert [j["sbatch"]["job-name"] for j in resubmitted if "launch_pickled" in j["script"]] == ["light_summary"]
    assert all(not j["after"] for j in resubmitted)


def test_slurm_without_sbatch_says_so(crawl, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "nothing-here"))
    m = parse_manifest(LIGHT.format(warc=crawl, out=tmp_path / "out", executor=SLURM), "light.yml")
    with pytest.raises(CurationError, match="slurm: cannot submit jobs \\(sbatch not found\\)"):
        run_manifest(m, progress=False)


def test_slurm_dedup_job_waits_for_every_task_of_the_pass_before(crawl, tmp_path):
    """With more tasks than one job array holds, Slurm's afterok covers only the last array: the dedup job
    checks the pass's completion markers itself instead of deduplicating part of the run."""
    from curation.run.barrier import Barrier
    from curation.run.compile import compile_phases
    from curation.run.executors import BarrierStep

    m = parse_manifest(LIGHT.format(warc=crawl, out=tmp_path / "out", executor=SLURM), "light.yml")
    barrier = next(p for p in compile_phases(m, progress=False) if isinstance(p, Barrier))
    logs = tmp_path / "out/_logs"
    (logs / "completions").mkdir(parents=True)
    (logs / "completions/00001").touch()
    with pytest.raises(CurationError, match=r"_logs: tasks \[0\] of 2 have not finished, so the dedup would miss"):
        list(BarrierStep(barrier, str(logs), 2).run(None))
    assert not Path(barrier.output_dir).exists()

