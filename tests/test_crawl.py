"""`curate crawl`: snapshot discovery from a local Common Crawl mirror, the SQLite ledger, sync in snapshot order
with cross-snapshot dedup, missing files, two syncs at once, a killed sync, an unreachable index, a ledger
from a newer version. The mirror is built from a small demo crawl: each file a few English pages."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from curation.cli import main
from curation.crawl.ledger import SCHEMA_VERSION, Ledger
from curation.demo.build import build_demo
from curation.lock import EXIT_LOCKED

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "data" / "cache"
PY = sys.executable

# the mirror: collinfo.json lists them newest first, as Common Crawl's does
SNAPSHOTS = [("CC-MAIN-2024-22", "2024-05-17"), ("CC-MAIN-2024-18", "2024-04-12"),
             ("CC-MAIN-2024-10", "2024-02-20"), ("CC-MAIN-2023-50", "2023-11-28")]
RECRAWLED = 3  # articles of CC-MAIN-2024-10 crawled again in CC-MAIN-2024-18


def rel(snapshot: str, n: int) -> str:
    return f"crawl-data/{snapshot}/segments/1700000000000.{n}/warc/CC-MAIN-{snapshot[8:]}-{n:05d}.warc.gz"


@pytest.fixture(scope="module")
def mirror(tmp_path_factory):
    """A Common Crawl mirror: collinfo.json, warc.paths.gz per snapshot, small WARC files cut from a demo crawl
    (whole gzip members, as Common Crawl's files are). CC-MAIN-2024-22's paths file lists a file that is not
    there; CC-MAIN-2023-50 has no paths file (never selected)."""
    tmp = tmp_path_factory.mktemp("mirror")
    demo = tmp / "demo"
    build_demo(demo, n_pages=600, seed=3, cache_dir=CACHE)
    raw = (demo / "crawl.warc.gz").read_bytes()
    pages = [json.loads(line) for line in (demo / "truth.jsonl").read_text().splitlines()]
    pages = [p for p in pages if p["iso639_3"] == "eng" and p["kind"] in ("article", "near_duplicate", "spam")]
    chunks = [pages[i * 10:(i + 1) * 10] for i in range(5)]
    assert all(len(c) == 10 for c in chunks)
    root = tmp / "cc"
    recrawled = [p for p in chunks[0] + chunks[1] if p["kind"] == "article"][:RECRAWLED]
    assert len(recrawled) == RECRAWLED
    files = {"CC-MAIN-2024-10": [chunks[0], chunks[1]],
             "CC-MAIN-2024-18": [chunks[2], chunks[3] + recrawled],
             "CC-MAIN-2024-22": [chunks[4], None]}  # None: listed, missing
    for snap, parts in files.items():
        listed = []
        for n, part in enumerate(parts):
            listed.append(rel(snap, n))
            if part is None:
                continue
            path = root / rel(snap, n)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"".join(raw[p["offset"]:p["offset"] + p["length"]] for p in part))
        (root / "crawl-data" / snap / "warc.paths.gz").write_bytes(gzip.compress("\n".join(listed).encode() + b"\n"))
    wet = [rel("CC-MAIN-2024-10", n).replace("/warc/", "/wet/").replace(".warc.gz", ".warc.wet.gz") for n in range(3)]
    (root / "crawl-data" / "CC-MAIN-2024-10" / "wet.paths.gz").write_bytes(gzip.compress("\n".join(wet).encode()))
    (root / "collinfo.json").write_text(json.dumps(
        [{"id": s, "name": f"{s} Index", "timegate": "", "cdx-api": "", "from": f"{d}T00:00:00", "to": f"{d}T23:59:59"}
         for s, d in SNAPSHOTS]))
    return {"root": root, "recrawled": [p["url"] for p in recrawled], "missing": rel("CC-MAIN-2024-22", 1)}


def write_manifest(folder: Path, mirror, snapshots: list[str] | None = None, since: str | None = "CC-MAIN-2024-10",
                   extra: str = "") -> Path:
    sel = f"snapshots: {json.dumps(snapshots)}" if snapshots else f"since: {since}\n  snapshots: [CC-MAIN-2024-1*]"
    path = folder / "crawl.yml"
    path.write_text(f"""
input: {{paths: ["{mirror['root'] / rel('CC-MAIN-2024-10', 0)}"], format: warc}}
output: {folder / 'out'}
executor: {{tasks: 1, workers: 1}}
crawl:
  index_url: {mirror['root']}
  {sel}
  ledger: {folder / 'ledger.sqlite'}
{extra}
stages:
  - stage: extract
    engine: resiliparse
  - stage: langid
  - stage: dedup
  - stage: write
""")
    return path


def ledger_rows(path: Path, sql: str) -> list[tuple]:
    db = sqlite3.connect(f"file:{path}?mode=rw", uri=True)  # rw: SQLite may roll back a killed writer
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def outputs(out: Path) -> pl.DataFrame:
    """Every document written by the done batches: snapshot, batch folder, url, id."""
    frames = []
    for f in sorted(out.glob("CC-MAIN-*/batch_*/*/*.parquet")):
        if f.parts[-2].startswith("_"):
            continue
        df = pl.read_parquet(f, columns=["id", "url", "snapshot"])
        frames.append(df.with_columns(pl.lit(f.parts[-3]).alias("batch")))
    return pl.concat(frames) if frames else pl.DataFrame()


def partial(output: str) -> Path:
    """Where a running batch writes (renamed to its output folder when complete)."""
    return Path(output).parent / f".partial-{Path(output).name}"


def sync_cmd(manifest: Path) -> list[str]:
    return [PY, "-m", "curation.cli", "crawl", "sync", str(manifest), "--no-progress"]


@pytest.fixture(scope="module")
def synced(mirror, tmp_path_factory):
    """One uninterrupted sync of CC-MAIN-2024-10 and -18, then a second sync (which must do nothing)."""
    folder = tmp_path_factory.mktemp("synced")
    manifest = write_manifest(folder, mirror)
    first = main(["crawl", "sync", str(manifest), "--no-progress"])
    before = ledger_rows(folder / "ledger.sqlite", "SELECT * FROM files ORDER BY id")
    second = main(["crawl", "sync", str(manifest), "--no-progress"])
    after = ledger_rows(folder / "ledger.sqlite", "SELECT * FROM files ORDER BY id")
    return {"folder": folder, "manifest": manifest, "codes": (first, second), "before": before, "after": after}


# ----------------------------------------------------------------------------------------------------- list


def test_list_reads_the_mirror_oldest_first_and_shows_what_is_processed(mirror, tmp_path, capsys):
    manifest = write_manifest(tmp_path, mirror)
    assert main(["crawl", "list", str(manifest), "--files"]) == 0
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.startswith("CC-MAIN")]
    assert [line.split()[0] for line in lines] == [s for s, _ in reversed(SNAPSHOTS)]  # oldest first
    rows = {line.split()[0]: line for line in lines}
    assert "2 selected" in out and "no ledger yet" in out
    assert "not selected" in rows["CC-MAIN-2023-50"] and "not selected" in rows["CC-MAIN-2024-22"]
    assert rows["CC-MAIN-2024-10"].split()[3] == "2" and "not processed" in rows["CC-MAIN-2024-10"]
    assert not (tmp_path / "ledger.sqlite").exists()  # listing writes no ledger

    # without a manifest: every snapshot of the index, nothing selected or processed
    assert main(["crawl", "list", "--index-url", str(mirror["root"] / "collinfo.json")]) == 0
    out = capsys.readouterr().out
    assert out.count("not processed") == len(SNAPSHOTS) and "not selected" not in out
    # the WET files' paths file when asked for them
    assert main(["crawl", "list", str(manifest), "--kind", "wet", "--files", "--selected"]) == 1  # -18 has none
    out, err = capsys.readouterr()
    rows = {line.split()[0]: line.split() for line in out.splitlines() if line.startswith("CC-MAIN")}
    assert list(rows) == ["CC-MAIN-2024-10", "CC-MAIN-2024-18"]
    assert rows["CC-MAIN-2024-10"][3] == "3" and rows["CC-MAIN-2024-18"][3] == "?"
    assert f"wet paths file {mirror['root']}/crawl-data/CC-MAIN-2024-18/wet.paths.gz: cannot be read" in err


def test_list_shows_the_ledger_after_a_sync(synced, capsys):
    assert main(["crawl", "list", str(synced["manifest"])]) == 0
    rows = {line.split()[0]: line for line in capsys.readouterr().out.splitlines() if line.startswith("CC-MAIN")}
    assert "processed (2 files)" in rows["CC-MAIN-2024-10"] and "processed (2 files)" in rows["CC-MAIN-2024-18"]
    assert "not processed" in rows["CC-MAIN-2024-22"]


# ----------------------------------------------------------------------------------------------------- sync


def test_sync_processes_snapshots_oldest_first_and_a_rerun_does_nothing(synced, mirror, capsys):
    folder = synced["folder"]
    assert synced["codes"] == (0, 0)
    assert synced["before"] == synced["after"]  # the second sync changed nothing
    ledger = folder / "ledger.sqlite"
    files = ledger_rows(ledger, "SELECT snapshot, seq, state, attempts, batch FROM files ORDER BY batch")
    assert [(s, q) for s, q, *_ in files] == [("CC-MAIN-2024-10", 0), ("CC-MAIN-2024-10", 1),
                                              ("CC-MAIN-2024-18", 0), ("CC-MAIN-2024-18", 1)]
    assert all(state == "done" and attempts == 1 for _, _, state, attempts, _ in files)
    batches = ledger_rows(ledger, "SELECT id, snapshot, state, documents, written, output FROM batches ORDER BY id")
    assert len(batches) == 4 and all(b[2] == "done" for b in batches)
    assert [b[3] for b in batches] == [10, 10, 10, 10 + RECRAWLED]  # documents read per file

    docs = outputs(folder / "out")
    assert sorted(p.name for p in (folder / "out").glob("CC-MAIN-*/*")) == [Path(b[5]).name for b in batches]
    # every document carries its snapshot, the counts in the ledger are what was written
    assert (docs["snapshot"] == docs["batch"].map_elements(lambda b: next(
        s for i, s, *_ in batches if b == f"batch_{i:06d}"), return_dtype=pl.String)).all()
    assert docs.height == sum(b[4] for b in batches)
    assert docs["id"].n_unique() == docs.height
    # cross-snapshot dedup: the pages crawled again in CC-MAIN-2024-18 were kept in -10 only
    old = set(docs.filter(pl.col("snapshot") == "CC-MAIN-2024-10")["url"])
    new = set(docs.filter(pl.col("snapshot") == "CC-MAIN-2024-18")["url"])
    kept_before = set(mirror["recrawled"]) & old
    assert kept_before and not kept_before & new
    dedup = json.loads(next(Path(batches[3][5]).glob("_stages/*dedup/done.json")).read_text())
    assert dedup["languages"]["eng_Latn"]["seen_before"] >= len(kept_before)

    assert main(["crawl", "status", str(synced["manifest"])]) == 0
    status = {line.split()[0]: line.split() for line in capsys.readouterr().out.splitlines()
              if line.startswith("CC-MAIN")}
    s10 = [b for b in batches if b[1] == "CC-MAIN-2024-10"]
    assert status["CC-MAIN-2024-10"][1:7] == ["2", "2", "0", "0", "0", str(sum(b[3] for b in s10))]
    assert status["CC-MAIN-2024-10"][7] == str(sum(b[4] for b in s10))


def test_a_missing_file_is_failed_and_reported_and_the_rest_is_processed(mirror, tmp_path, capsys, monkeypatch):
    import curation.crawl.sync as crawl_sync

    manifest = write_manifest(tmp_path, mirror, snapshots=["CC-MAIN-2024-22"])
    index = tmp_path / "out" / "_dedup_index"
    # first a run that does not complete (after its dedup added to the index): nothing of it may stay
    monkeypatch.setattr(crawl_sync, "run_complete", lambda output, tasks: False)
    assert main(["crawl", "sync", str(manifest), "--no-progress"]) == 1
    assert "ended without completing every task" in capsys.readouterr().err
    assert not list(index.glob("*/seg_*")) and not list(tmp_path.glob("out/CC-MAIN-*/*"))
    monkeypatch.undo()

    assert main(["crawl", "sync", str(manifest), "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert f"no such file: {mirror['root'] / mirror['missing']}" in err and "1 failed" in err
    rows = dict(((s, q), (st, e, a)) for s, q, st, e, a in ledger_rows(
        tmp_path / "ledger.sqlite", "SELECT snapshot, seq, state, error, attempts FROM files"))
    assert rows[("CC-MAIN-2024-22", 0)] == ("done", None, 2)
    assert rows[("CC-MAIN-2024-22", 1)][0] == "failed" and "no such file" in rows[("CC-MAIN-2024-22", 1)][1]
    assert outputs(tmp_path / "out").height > 0
    segments = [json.loads((seg / "meta.json").read_text())["label"] for seg in index.glob("*/seg_*")]
    # one segment per language of the done batch, all of it (none left of the incomplete run)
    assert segments and set(segments) == {str(partial(ledger_rows(tmp_path / "ledger.sqlite",
                                                      "SELECT output FROM batches WHERE state = 'done'")[0][0]))}
    assert main(["crawl", "status", str(manifest)]) == 0
    out = capsys.readouterr().out
    assert "failed files (1)" in out and mirror["missing"] in out


# ---------------------------------------------------------------------------------------- concurrency, crash


def test_two_syncs_at_once_one_runs_one_exits_each_file_processed_once(mirror, tmp_path):
    manifest = write_manifest(tmp_path, mirror, snapshots=["CC-MAIN-2024-10"])
    procs = [subprocess.Popen(sync_cmd(manifest), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
             for _ in range(2)]
    results = [(p.wait(timeout=300), *p.communicate()) for p in procs]
    codes = sorted(r[0] for r in results)
    assert codes == [0, EXIT_LOCKED], results
    loser = next(r for r in results if r[0] == EXIT_LOCKED)
    winner = next(p for p, r in zip(procs, results) if r[0] == 0)
    assert "another `curate crawl sync` is running" in loser[2] and f"pid {winner.pid}" in loser[2]
    files = ledger_rows(tmp_path / "ledger.sqlite", "SELECT state, attempts FROM files")
    assert files == [("done", 1), ("done", 1)]
    assert ledger_rows(tmp_path / "ledger.sqlite", "SELECT COUNT(*) FROM batches") == [(2,)]


def test_a_killed_sync_is_finished_by_the_next_with_every_file_once(mirror, synced, tmp_path, capsys):
    manifest = write_manifest(tmp_path, mirror)
    ledger = tmp_path / "ledger.sqlite"
    proc = subprocess.Popen(sync_cmd(manifest), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT,
                            start_new_session=True)
    deadline = time.time() + 240
    # kill it in the middle of a batch after the first (one is done, the next has begun writing)
    while time.time() < deadline and proc.poll() is None:
        try:
            states = ledger_rows(ledger, "SELECT state, output FROM batches ORDER BY id")
        except sqlite3.Error:
            states = []
        if states and states[0][0] == "done" and states[-1][0] == "running" and partial(states[-1][1]).exists():
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the sync finished before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    running = ledger_rows(ledger, "SELECT output FROM batches WHERE state = 'running'")
    assert len(running) == 1
    killed = running[0][0]
    assert main(["crawl", "status", str(manifest)]) == 0
    assert "no sync holds the ledger" in capsys.readouterr().out

    assert main(["crawl", "sync", str(manifest), "--no-progress"]) == 0
    assert not partial(killed).exists()  # the killed batch's partial output is gone
    files = ledger_rows(ledger, "SELECT state, attempts FROM files ORDER BY id")
    assert [s for s, _ in files] == ["done"] * 4 and sorted(a for _, a in files) == [1, 1, 1, 2]
    assert ledger_rows(ledger, "SELECT state, COUNT(*) FROM batches GROUP BY state ORDER BY state") == \
        [("abandoned", 1), ("done", 4)]
    # the same documents as the uninterrupted sync, each once
    got = outputs(tmp_path / "out").select("snapshot", "url", "id").sort("id")
    want = outputs(synced["folder"] / "out").select("snapshot", "url", "id").sort("id")
    assert got.equals(want)


# ------------------------------------------------------------------------------------------------ bad input


def test_an_unreachable_index_names_the_url_and_leaves_the_ledger_alone(mirror, tmp_path, capsys):
    manifest = write_manifest(tmp_path, mirror)
    gone = tmp_path / "no-mirror"
    assert main(["crawl", "sync", str(manifest), "--index-url", str(gone)]) == 2
    assert f"crawl index {gone}/collinfo.json: cannot be read" in capsys.readouterr().err
    assert not (tmp_path / "ledger.sqlite").exists()
    url = "http://127.0.0.1:9/collinfo.json"  # discard port: connection refused
    assert main(["crawl", "list", "--index-url", url]) == 2
    assert f"crawl index {url}: cannot be read" in capsys.readouterr().err


def test_a_ledger_from_a_newer_version_is_refused_and_left_as_it_is(mirror, tmp_path, capsys):
    manifest = write_manifest(tmp_path, mirror)
    path = tmp_path / "ledger.sqlite"
    Ledger(path).close()
    db = sqlite3.connect(path)
    db.execute("UPDATE schema_version SET version = ?, written_by = 'curation 9.0'", (SCHEMA_VERSION + 1,))
    db.commit()
    db.close()
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    for argv in (["crawl", "sync", str(manifest)], ["crawl", "status", str(manifest)]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert f"ledger {path}: written by a newer version (curation 9.0" in err
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest
    assert not list(tmp_path.glob("out/CC-MAIN-*"))


def test_a_file_that_is_not_a_ledger_is_refused(tmp_path, capsys):
    path = tmp_path / "x.sqlite"
    path.write_text("not a database")
    assert main(["crawl", "status", "--ledger", str(path)]) == 2
    assert f"ledger {path}: not a crawl ledger" in capsys.readouterr().err


# --------------------------------------------------------------------------------------------- examples


def test_the_schedule_examples_run_a_command_the_cli_accepts():
    import re
    import shlex

    from curation.cli import build_parser
    from curation.crawl.sync import crawl_spec
    from curation.manifest import load_manifest

    folder = ROOT / "manifests" / "schedule"
    examples = {p.name: p.read_text() for p in folder.iterdir()}
    assert {"crontab", "curate-crawl.service", "curate-crawl.timer", "scrontab"} <= set(examples)
    for name in ("crontab", "curate-crawl.service", "scrontab"):
        command = re.search(r"(?:\S*/)?curate (crawl sync [^;>\n]*)", examples[name]).group(1)
        args = build_parser().parse_args(shlex.split(command))
        assert args.func.__name__ == "_cmd_sync"
        assert crawl_spec(load_manifest(ROOT / args.manifest)).kind in ("warc", "wet")
    assert "SuccessExitStatus=75" in examples["curate-crawl.service"]
    assert "OnCalendar=" in examples["curate-crawl.timer"] and "#SCRON" in examples["scrontab"]


def test_a_bad_crawl_section_names_the_key(tmp_path):
    from curation.manifest import ManifestError, parse_manifest

    with pytest.raises(ManifestError) as e:
        parse_manifest("input: {paths: [x.warc.gz]}\noutput: out\nstages: [{stage: write}]\n"
                       "crawl:\n  kind: arc\n  files_per_batch: 0\n", source="c.yml")
    text = str(e.value)
    assert "c.yml line 5: crawl.kind: expected 'warc' or 'wet', got 'arc'" in text
    assert "c.yml line 6: crawl.files_per_batch" in text


def test_snapshot_selection_all_globs_since_and_unknown_names(mirror, tmp_path, capsys):
    from curation.crawl.index import locate, read_snapshots, select
    from curation.crawl.spec import CrawlSpec

    snaps = read_snapshots(locate(str(mirror["root"])))
    ids = lambda chosen: [s.id for s in chosen]  # noqa: E731
    assert ids(select(snaps, CrawlSpec(snapshots="all").snapshots)) == [s for s, _ in reversed(SNAPSHOTS)]
    assert ids(select(snaps, ["CC-MAIN-2024-*"], since="CC-MAIN-2024-18")) == ["CC-MAIN-2024-18", "CC-MAIN-2024-22"]
    assert ids(select(snaps, ["CC-MAIN-2023-50", "CC-MAIN-2024-22"])) == ["CC-MAIN-2023-50", "CC-MAIN-2024-22"]

    manifest = write_manifest(tmp_path, mirror, since="CC-MAIN-1999-01")
    assert main(["crawl", "sync", str(manifest)]) == 2
    assert "crawl.since: snapshot 'CC-MAIN-1999-01' is not in the crawl index" in capsys.readouterr().err
    manifest = write_manifest(tmp_path, mirror, snapshots=["CC-MAIN-2030-*"])
    assert main(["crawl", "sync", str(manifest)]) == 2
    assert "no snapshot matches crawl.snapshots ['CC-MAIN-2030-*']" in capsys.readouterr().err
    assert not (tmp_path / "ledger.sqlite").exists()


def test_a_snapshot_without_its_paths_file_is_reported_and_recorded(mirror, tmp_path, capsys):
    manifest = write_manifest(tmp_path, mirror, snapshots=["CC-MAIN-2023-50"])
    assert main(["crawl", "sync", str(manifest), "--no-progress"]) == 1
    url = f"{mirror['root']}/crawl-data/CC-MAIN-2023-50/warc.paths.gz"
    assert f"CC-MAIN-2023-50: warc paths file {url}: cannot be read (no such file)" in capsys.readouterr().err
    assert ledger_rows(tmp_path / "ledger.sqlite", "SELECT id, files, error IS NOT NULL FROM snapshots") == \
        [("CC-MAIN-2023-50", None, 1)]
    assert main(["crawl", "status", str(manifest)]) == 0
    assert "cannot be read" in capsys.readouterr().out


def test_a_slurm_manifest_is_refused_before_the_ledger_is_touched(mirror, tmp_path, capsys):
    manifest = write_manifest(tmp_path, mirror)
    text = manifest.read_text().replace("executor: {tasks: 1, workers: 1}",
                                        "executor: {kind: slurm, tasks: 1, partition: cpu, time: '1:00:00'}")
    manifest.write_text(text)
    assert main(["crawl", "sync", str(manifest)]) == 2
    assert "run `curate crawl sync` itself as a Slurm job" in capsys.readouterr().err
    assert not (tmp_path / "ledger.sqlite").exists()
