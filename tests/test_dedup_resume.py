"""A `curate run` whose MinHash dedup runs as steps over the tasks, killed (SIGKILL) in every step in turn and
resumed each time, finishes with exactly the output of an uninterrupted run (curation.testing.kill_resume)."""

from __future__ import annotations

import json
import random
from pathlib import Path

from curation.manifest import load_manifest
from curation.testing.kill_resume import (
    RunShape,
    curate_command,
    differences,
    partial_files,
    run_and_kill,
    snapshot,
    timed_run,
)
from tests.test_dedup_steps_robust import make_docs

ROOT = Path(__file__).resolve().parents[1]


def write(folder: Path, out: Path) -> Path:
    src = folder / "in"
    src.mkdir(exist_ok=True)
    docs = make_docs(seed=9, n=140)
    for f in range(4):
        with open(src / f"part_{f}.jsonl", "w") as fh:
            for d in docs[f::4]:
                fh.write(json.dumps({"id": d["id"], "text": d["text"], **d["metadata"]}) + "\n")
    path = folder / f"{out.name}.yml"
    path.write_text(f"""
input: {{paths: ["{src}/*.jsonl"]}}
output: {{path: "{out}"}}
executor: {{tasks: 2, workers: 2}}
stages:
  - stage: dedup
    boilerplate_docs: 10
    steps_from: 0
    exclusions: true
  - stage: write
""")
    return path


def test_killed_in_every_dedup_step_then_resumed_gives_the_uninterrupted_output(tmp_path):
    base = write(tmp_path, tmp_path / "base")
    shape = RunShape.of(load_manifest(str(base)))
    steps = [n for n in shape.names if n.startswith("dedup barrier: ") and not n.endswith(": done")]
    assert [n.split(": ")[1] for n in steps] == ["lines", "lines_merge", "signatures", "buckets", "verify",
                                                "clusters", "filter"]
    code, _ = timed_run(curate_command("run", str(base), "--no-progress"), shape, tmp_path / "base.log", cwd=str(ROOT))
    assert code == 0, (tmp_path / "base.log").read_text()[-3000:]
    expected = snapshot(tmp_path / "base")
    assert expected.documents() > 50 and any("_exclusions" in p for p in expected.files)

    crashed = write(tmp_path, tmp_path / "crashed")
    shape = RunShape.of(load_manifest(str(crashed)))
    command = curate_command("run", str(crashed), "--no-progress")
    rng = random.Random(4)
    killed_in = []
    for phase in steps:  # each start resumes the last and is killed a moment into the next step
        attempt = run_and_kill(command, shape, tmp_path / "crashed.log", shape.names.index(phase),
                               rng.uniform(0.0, 0.5), cwd=str(ROOT))
        killed_in.append(attempt.killed_in)
        assert attempt.returncode in (None, 0), (tmp_path / "crashed.log").read_text()[-3000:]
        if attempt.killed_in:  # what a reader sees right after the kill: every output file there is complete
            assert partial_files(expected, snapshot(tmp_path / "crashed")) == [], attempt.killed_in
    code, _ = timed_run(command, shape, tmp_path / "crashed.log", cwd=str(ROOT))
    assert code == 0, (tmp_path / "crashed.log").read_text()[-3000:]
    assert differences(expected, snapshot(tmp_path / "crashed")) == []
    assert sum(k is not None and k.startswith("dedup barrier: ") for k in killed_in) >= 4, killed_in
