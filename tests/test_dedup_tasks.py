"""`curate run` keeps the same documents whatever the number of tasks (dedup.order), in both MinHash modes:
with one task the dedup runs in one process, with more as datatrove steps over the tasks (curation.run.dedup_pass)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curation.core import CurationError
from curation.manifest import parse_manifest
from curation.run.runner import run_manifest
from tests.test_dedup_steps_robust import make_docs
from tests.test_executors import fake_slurm  # noqa: F401 (a fixture)


def write_inputs(folder: Path, docs: list[dict] | None = None, files: int = 5) -> Path:
    """`docs` (default: 160 documents in two languages with near copies and site chrome, from
    test_dedup_steps_robust) as JSONL, interleaved over `files` files."""
    folder.mkdir(parents=True, exist_ok=True)
    docs = make_docs(seed=4, n=160) if docs is None else docs
    for f in range(files):
        with open(folder / f"part_{f}.jsonl", "w") as out:
            for d in docs[f::files]:
                out.write(json.dumps({"id": d["id"], "text": d["text"], **d["metadata"]}) + "\n")
    return folder


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    return write_inputs(tmp_path_factory.mktemp("docs"))


def manifest(src: Path, out: Path, tasks: int, mode: str, executor: str = "", index: Path | None = None,
             steps_from: int = 0) -> str:
    """A dedup (with exclusions) and write run of `src` in `mode` on `tasks` tasks (`executor`: more options;
    `index`: a persistent index of earlier snapshots; `steps_from`: the dedup's switch to steps, 0: always)."""
    options = "\n    boilerplate_docs: 10" if mode == "robust" else ""  # the test's sites repeat lines less often
    options += f"\n    index: {index}" if index else ""
    return f"""
input: {{paths: ["{src}/*.jsonl"]}}
output: {{path: "{out}"}}
executor: {{tasks: {tasks}, workers: 2{executor}}}
stages:
  - stage: dedup
    mode: {mode}{options}
    steps_from: {steps_from}
    exclusions: true
  - stage: write
"""


def kept(out: Path) -> dict[str, dict[str, tuple]]:
    docs: dict[str, dict] = {}
    for f in sorted(out.glob("[a-z]*_*/*.parquet")):
        df = pl.read_parquet(f, columns=["id", "minhash_cluster_size", "minhash_cluster_id"])
        docs.setdefault(f.parent.name, {}).update((r[0], r[1:]) for r in df.iter_rows())
    return docs


def excluded(out: Path) -> tuple[set[str], list[str], Counter]:
    """A dedup stage's removed documents as a user finds them: the folders under `_exclusions/00_dedup`
    holding files, the files' columns, and every row (a multiset, whatever file it is in)."""
    files = sorted((out / "_exclusions/00_dedup").rglob("*.parquet"))
    folders = {str(f.parent.relative_to(out)) for f in files}
    columns = {tuple(pq.read_schema(f).names) for f in files}
    assert len(columns) == 1, columns
    rows = Counter(json.dumps(r, sort_keys=True) for f in files for r in pq.read_table(f).to_pylist())
    return folders, list(columns.pop()), rows


@pytest.mark.parametrize("mode", ["robust", "fineweb2"])
def test_same_kept_and_removed_documents_with_1_and_4_tasks(inputs, tmp_path, mode):
    runs = {}
    for tasks in (1, 4):
        out = tmp_path / f"t{tasks}"
        summary = run_manifest(parse_manifest(manifest(inputs, out, tasks, mode), "m.yml"), progress=False)
        runs[tasks] = (kept(out), summary)
    (one, s1), (four, s4) = runs[1], runs[4]
    assert one == four and sum(map(len, one.values())) > 40
    d1, d4 = ([s for s in s["stages"] if s.get("key") == "dedup"][0] for s in (s1, s4))
    assert d1["removed"] == d4["removed"] > 5
    assert (tmp_path / "t4/_stages/00_dedup/steps/signatures").is_dir()  # four tasks: the steps ran
    assert not (tmp_path / "t1/_stages/00_dedup/steps").exists()  # one task: one process
    assert not (tmp_path / "t4/_stages/00_dedup/work").exists()  # and their work files are gone
    # the removed documents: the same folder (flat, no language folders), columns and rows either way
    folders, columns, rows = excluded(tmp_path / "t4")
    assert (folders, columns, rows) == excluded(tmp_path / "t1")
    assert folders == {"_exclusions/00_dedup"} and sum(rows.values()) == d4["removed"]
    assert columns[-4:] == ["minhash_cluster_size", "minhash_cluster_id", "duplicate_of", "filter_reason"]
    kept_ids = {i for lang in one.values() for i in lang}
    assert all(json.loads(r)["duplicate_of"] in kept_ids for r in rows)  # each points at a kept copy


def test_a_small_input_is_deduplicated_in_one_process_whatever_the_tasks(inputs, tmp_path):
    """The switch (steps_from): below it a run of 4 tasks deduplicates in one process, above it as steps;
    the kept documents are the same either way."""
    runs = {}
    for name, least in [("small", 10_000), ("steps", 50)]:
        out = tmp_path / name
        run_manifest(parse_manifest(manifest(inputs, out, 4, "fineweb2", steps_from=least), "m.yml"), progress=False)
        runs[name] = kept(out)
    assert not (tmp_path / "small/_stages/00_dedup/steps").exists()  # fewer documents than steps_from
    assert (tmp_path / "steps/_stages/00_dedup/steps/signatures").is_dir()
    assert runs["small"] == runs["steps"]
    with pytest.raises(CurationError, match="steps_from = -1"):
        run_manifest(parse_manifest(manifest(inputs, tmp_path / "bad", 4, "robust", steps_from=-1), "m.yml"))


class _Handoff:  # a barrier as input_documents sees it
    def __init__(self, folder):
        self.input_dir = str(folder)


def test_the_switch_counts_documents_from_the_parquet_footers(tmp_path):
    from curation.run.dedup_pass import input_documents

    (tmp_path / "a").mkdir()
    pq.write_table(pa.table({"text": ["x"] * 7}), tmp_path / "a/00000.parquet")
    pq.write_table(pa.table({"text": ["y"] * 5}), tmp_path / "01.parquet")
    (tmp_path / ".02.parquet.tmp").write_text("half written")
    assert input_documents(_Handoff(tmp_path)) == 12


@pytest.mark.parametrize("mode", ["robust", "fineweb2"])
def test_a_second_snapshot_over_4_tasks_drops_copies_of_the_first(tmp_path, mode):
    """The persistent index through the steps: snapshot 1 over 4 tasks adds its kept documents, snapshot 2
    over 4 tasks removes its copies of them; the same as snapshot 2 in one process against the same index."""
    import shutil

    first = make_docs(1, 60, "a")
    second = make_docs(1, 60, "b")[:30] + make_docs(2, 30, "c")  # 30 of the first's texts again, 30 new
    index = tmp_path / "index"

    def run(docs, name, tasks, index):
        src = write_inputs(tmp_path / f"{name}_in", docs, files=4)
        run_manifest(parse_manifest(manifest(src, tmp_path / name, tasks, mode, index=index), "m.yml"),
                     progress=False)
        return {i for lang in kept(tmp_path / name).values() for i in lang}

    kept1 = run(first, "s1", 4, index)
    shutil.copytree(index, tmp_path / "index_copy")  # the index as snapshot 2 finds it
    kept2 = run(second, "s2", 4, index)
    assert len(kept1) > 30 and {i[0] for i in kept1} == {"a"}
    assert kept2 and {i[0] for i in kept2} == {"c"}, "the second snapshot's copies of the first are removed"
    assert kept2 == run(second, "s2_one", 1, tmp_path / "index_copy")  # one process decides the same
    segments = sorted((index / "eng_Latn").glob("seg_*"))
    labels = [json.loads((s / "meta.json").read_text())["label"] for s in segments]
    assert set(labels) == {str(tmp_path / "s1"), str(tmp_path / "s2")}
    documents = sum(json.loads((s / "meta.json").read_text())["documents"] for s in segments)
    assert documents == sum(1 for i in kept1 | kept2 if int(i[1:]) % 4)  # every kept English document


SLURM = "{kind: slurm, tasks: 2, workers: 2, partition: cpu, time: '00:30:00', job_name: dd}"


def test_slurm_runs_the_dedup_steps_as_dependent_job_arrays(inputs, fake_slurm, tmp_path):  # noqa: F811
    from tests.test_executors import outputs, run_like_slurm, submitted

    text = manifest(inputs, tmp_path / "slurm", 2, "robust").replace("{tasks: 2, workers: 2}", SLURM)
    run_manifest(parse_manifest(text, "s.yml"), progress=False)
    jobs = submitted(fake_slurm)
    chain = [j for j in jobs if "launch_pickled_pipeline" in j["script"]]
    steps = ["lines", "lines_merge", "signatures", "buckets", "verify", "clusters", "filter", "done"]
    assert [j["sbatch"]["job-name"] for j in chain] == (
        ["dd_pass0"] + [f"dd_00_dedup_{s}" for s in steps] + ["dd_pass1", "dd_summary"])
    assert [j["after"] for j in chain[1:]] == [[j["id"]] for j in chain[:-1]]  # each after the one before
    assert [j["sbatch"]["array"] for j in chain] == ["0-1%2"] * 8 + ["0-0", "0-1%2", "0-0"]
    run_like_slurm(fake_slurm, jobs)
    local = tmp_path / "local"
    run_manifest(parse_manifest(manifest(inputs, local, 2, "robust"), "l.yml"), progress=False)
    assert outputs(tmp_path / "slurm") == outputs(local) and len(outputs(local)) >= 2
