"""Crash-safe resume of `curate run` (real subprocesses): SIGKILL at 20 random points in every phase, Ctrl-C,
and a disk that fills up mid-write; each time the finished output must equal an uninterrupted run's."""

from __future__ import annotations

import os
import random
import re
import resource
import shlex
import signal
import subprocess
import time
from pathlib import Path

import pytest

from curation.atomic import remove_temp_files
from curation.demo.build import build_demo
from curation.manifest import load_manifest
from curation.testing.kill_resume import (
    RunShape,
    curate_command,
    differences,
    partial_files,
    run_and_kill,
    snapshot,
    start,
    timed_run,
)

ROOT = Path(__file__).resolve().parents[1]
LANGUAGES = "[eng_Latn, ell_Grek, rus_Cyrl, ukr_Cyrl, nob_Latn, npi_Deva]"


@pytest.fixture(scope="module")
def crawl(tmp_path_factory):
    out = tmp_path_factory.mktemp("resume-crawl")
    build_demo(out, n_pages=150, seed=3, cache_dir=ROOT / "data" / "cache")
    return out / "crawl.warc.gz"


def write_manifest(folder: Path, warc: Path, out: Path) -> Path:
    """The demo's shape: two passes and a dedup barrier between them, exclusion writers in each. Exact dedup
    and format stand in for MinHash and quality, which cost seconds per process in word tokenizers (this test
    starts the command 28 times); the barrier and writer code is the same. benchmarks/resume.py runs the
    demo manifest itself."""
    path = folder / f"{out.name}.yml"
    path.write_text(f"""
input: {{paths: ["{warc}"]}}
output: {{path: "{out}"}}
languages: {LANGUAGES}
executor: {{tasks: 2, workers: 2}}
stages:
  - stage: extract
    engine: resiliparse
  - stage: langid
    exclusions: true
  - stage: exact_dedup
    exclusions: true
  - stage: format
    exclusions: true
  - stage: write
""")
    return path


@pytest.fixture(scope="module")
def baseline(crawl, tmp_path_factory):
    """The uninterrupted run: its output and how long each phase took."""
    folder = tmp_path_factory.mktemp("resume-baseline")
    manifest = write_manifest(folder, crawl, folder / "out")
    shape = RunShape.of(load_manifest(str(manifest)))
    code, durations = timed_run(curate_command("run", str(manifest), "--no-progress"), shape, folder / "log.txt")
    assert code == 0, (folder / "log.txt").read_text()[-3000:]
    snap = snapshot(folder / "out")
    assert snap.documents() > 100 and not snap.temp_files and not snap.unreadable
    assert any(p.startswith("_exclusions/02_exact_dedup/") for p in snap.files), "the input must have duplicates"
    return snap, durations, crawl


def test_sigkill_at_20_points_then_resume_gives_the_uninterrupted_output(baseline, tmp_path):
    expected, durations, crawl = baseline
    rng = random.Random(8)
    killed_in = []
    for trial in range(4):
        # 5 kills in a row, each of the resumed run, at a random moment of a phase after start-up (every
        # phase once, one twice: the second kill hits a run already resumed in that phase); then it finishes
        out = tmp_path / f"trial{trial}"
        manifest = write_manifest(tmp_path, crawl, out)
        shape = RunShape.of(load_manifest(str(manifest)))
        command = curate_command("run", str(manifest), "--no-progress")
        log = tmp_path / f"trial{trial}.log"
        targets = sorted([*range(1, len(durations)), 1 + trial % (len(durations) - 1)])
        for target in targets:
            delay = rng.uniform(0, 0.6 * durations[target])
            attempt = run_and_kill(command, shape, log, target, delay)
            if attempt.killed_in:
                killed_in.append(attempt.killed_in)
                # what a reader sees right after the kill: every Parquet file there is complete
                assert partial_files(expected, snapshot(out)) == [], attempt.killed_in
        proc = subprocess.run(command, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert differences(expected, snapshot(out)) == [], f"trial {trial}, kills in {killed_in}"
    assert len(killed_in) >= 16, killed_in
    assert set(killed_in) >= set(shape.names[1:]), killed_in  # every phase was hit


def test_ctrl_c_stops_cleanly_and_prints_the_resume_command(baseline, tmp_path):
    """Ctrl-C in the first pass (forked workers running), then in the dedup barrier of the resumed run (the
    main process working); each time the printed command is run as printed."""
    expected, durations, crawl = baseline
    out = tmp_path / "out"
    manifest = write_manifest(tmp_path, crawl, out)
    shape = RunShape.of(load_manifest(str(manifest)))
    command = curate_command("run", str(manifest), "--no-progress", "--overwrite")
    for n, phase in enumerate(["first pass", "dedup barrier"]):
        log = tmp_path / f"log{n}.txt"
        started = time.time() - 0.01
        proc = start(command, log, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        while shape.phase(started) < shape.names.index(phase) and proc.poll() is None:
            time.sleep(0.02)
        time.sleep(0.3 if phase == "first pass" else 0)  # the workers are at work
        os.killpg(proc.pid, signal.SIGINT)  # what the terminal does on Ctrl-C: the whole foreground group
        assert proc.wait(timeout=60) == 130
        printed = log.read_text()
        assert "Traceback" not in printed, printed
        match = re.search(r"to resume, run:\n  (.+)\n", printed)
        assert match, printed
        resume = shlex.split(match.group(1))
        assert "--overwrite" not in resume and str(manifest) in resume
        seen = snapshot(out)
        assert not seen.temp_files and not partial_files(expected, seen) and seen.summary is None
        command = curate_command(*resume[resume.index("run"):])  # the printed command, run as printed
    again = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-3000:]
    assert differences(expected, snapshot(out)) == []


def _limit_file_size(limit: int):
    def apply():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


def _small_disk(folder: Path, size: str) -> bool:
    if os.geteuid() != 0:
        return False
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                          capture_output=True).returncode == 0


@pytest.mark.parametrize("full", ["small tmpfs", "file size limit"])
def test_disk_full_mid_write_fails_clearly_and_a_rerun_completes(full, baseline, tmp_path):
    """A small tmpfs (a real ENOSPC; needs root to mount) or a file size limit (EFBIG, anywhere): the run
    ends with one error line naming the output, leaves nothing partial and nothing falsely finished."""
    expected, durations, crawl = baseline
    disk = tmp_path / "disk"
    disk.mkdir()
    tmpfs = full == "small tmpfs"
    if tmpfs and not _small_disk(disk, "1200k"):
        pytest.skip("cannot mount a tmpfs here (not root)")
    out = disk / "out"
    manifest = write_manifest(tmp_path, crawl, out)
    command = curate_command("run", str(manifest), "--no-progress")
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=300,
                              preexec_fn=None if tmpfs else _limit_file_size(20_000))
        assert proc.returncode == 2, proc.stderr[-3000:]
        problem = "No space left on device" if tmpfs else "File too large"
        errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and problem in errors[0] and f"output '{out}" in errors[0], proc.stderr[-3000:]
        assert "Traceback" not in proc.stderr
        seen = snapshot(out)
        assert not seen.temp_files and not partial_files(expected, seen) and seen.summary is None
        assert differences(expected, seen, limit=10_000)  # it did stop part-way
        if tmpfs:  # make room
            subprocess.run(["mount", "-o", "remount,size=64m", str(disk)], check=True)
        again = subprocess.run(command, capture_output=True, text=True, timeout=300)
        assert again.returncode == 0, again.stderr[-3000:]
        # every task marked finished before the failure really had written its output
        assert differences(expected, snapshot(out)) == []
    finally:
        if tmpfs:
            subprocess.run(["umount", str(disk)], check=False)


def test_leftover_temp_files_are_removed_and_never_read(tmp_path):
    (tmp_path / "eng_Latn").mkdir()
    (tmp_path / "eng_Latn" / ".000_00000.parquet.tmp").write_bytes(b"PAR1 half")
    (tmp_path / "eng_Latn" / "000_00000.parquet.keep").write_bytes(b"")
    (tmp_path / ".kept.123.tmp").mkdir()
    (tmp_path / ".kept.123.tmp" / "x.parquet").write_bytes(b"")
    assert remove_temp_files(tmp_path) == 2
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["000_00000.parquet.keep", "eng_Latn"]


def _doc(i: int, lang: str):
    from curation.core import Document

    return Document(text=f"document {i} " + "words " * 200 + os.urandom(200).hex(), id=f"d{i}",
                    metadata={"language": lang})


def test_shards_appear_only_when_complete_and_an_abort_leaves_none(tmp_path):
    import pyarrow.parquet as pq

    from curation.io.writer import _LanguageParquetWriter, output_schema

    w = _LanguageParquetWriter(str(tmp_path), output_schema(), batch_size=2, max_file_size=3000)
    for i in range(12):  # rotates to a new shard every few documents: each closed one is renamed into place
        w.write(_doc(i, "eng_Latn"), rank=0)
        for f in tmp_path.glob("*/*.parquet"):
            pq.read_table(f)  # never a partial file under a real name
    rotated = sorted(p.name for p in tmp_path.glob("eng_Latn/*.parquet"))
    assert len(rotated) >= 2 and list(tmp_path.glob("eng_Latn/.*.tmp"))  # the current shard is still a temp
    w.write(_doc(99, "ell_Grek"), rank=0)
    w.abort()  # the task failed or stopped: its unfinished shards go, the finished ones stay as they were
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]
    assert sorted(p.name for p in tmp_path.glob("eng_Latn/*.parquet")) == rotated
    assert not (tmp_path / "ell_Grek").exists() or not list((tmp_path / "ell_Grek").iterdir())

    w = _LanguageParquetWriter(str(tmp_path / "b"), output_schema(), batch_size=2)
    for i in range(5):
        w.write(_doc(i, "eng_Latn"), rank=3)
    w.close()
    assert pq.read_table(tmp_path / "b/eng_Latn/000_00003.parquet").num_rows == 5
    assert not list((tmp_path / "b").rglob(".*"))


def test_a_task_that_fails_upstream_leaves_no_shard_and_no_exclusion(tmp_path):
    """An error before the writer (a stage, the reader, a full disk in an exclusion writer) ends the task:
    the writer and the exclusion writers must not complete their shards with what they had so far."""
    from curation.core import FunctionFilter
    from curation.io.writer import ParquetOutput
    from curation.run.compile import ExclusionWriter

    def docs():
        for i in range(30):
            if i == 20:
                raise RuntimeError("the reader broke")
            yield _doc(i, "eng_Latn" if i % 2 else "ell_Grek")

    keep_even = FunctionFilter(lambda d: int(d.id[1:]) % 4 < 2)
    keep_even.batch_size = 4  # documents reach the writers before the error
    keep_even.exclusion_writer = ExclusionWriter(str(tmp_path / "_exclusions"), "f", 64)
    write = ParquetOutput(output_dir=str(tmp_path))
    with pytest.raises(RuntimeError, match="reader broke"):
        for _ in write.run(keep_even.run(docs(), rank=0), rank=0):
            pass
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]
