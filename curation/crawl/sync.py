"""`curate crawl sync`: process every selected snapshot's files that the ledger does not record as done, oldest
snapshot first, each batch of files as one run of the manifest's pipeline (curation.run.runner.run_manifest).

Cross-snapshot dedup: the manifest's dedup stage gets the crawl's persistent index (dedup/index.py), so each
batch is deduplicated against everything kept before it (earlier batches and earlier snapshots) and adds its
own kept documents to it. A batch that fails or is killed has its output folder and its index segments
removed before it is redone, so it never deduplicates against itself and nothing half-written is kept."""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from curation.core import CurationError
from curation.crawl.index import Location, missing, read_paths, read_snapshots, select, spec_location
from curation.crawl.ledger import Ledger
from curation.crawl.spec import CrawlSpec
from curation.lock import ExclusiveLock
from curation.manifest import Manifest
from curation.run import layout

LEDGER_NAME = "crawl-ledger.sqlite"
INDEX_NAME = "_dedup_index"


def crawl_spec(manifest: Manifest) -> CrawlSpec:
    if manifest.crawl is None:
        raise CurationError(f"{manifest._source}: no 'crawl' section (which snapshots to process; "
                            "see manifests/crawl.yml)")
    return manifest.crawl


def ledger_path(manifest: Manifest) -> str:
    spec = crawl_spec(manifest)
    return spec.ledger or os.path.join(manifest.output.path, LEDGER_NAME)


def index_path(manifest: Manifest) -> str | None:
    """The persistent dedup index: the dedup stage's own `index`, else the crawl's (None without a dedup stage)."""
    stage = next((s for s in manifest.stages if s["stage"] == "dedup"), None)
    if stage is None:
        return None
    return stage.get("index") or crawl_spec(manifest).dedup_index or os.path.join(manifest.output.path, INDEX_NAME)


@dataclass
class SyncResult:
    batches: int = 0
    files_done: int = 0
    documents: int = 0
    written: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (file or snapshot, error)
    recovered: int = 0

    @property
    def ok(self) -> bool:
        return not self.failed


def batch_manifest(manifest: Manifest, snapshot: str, urls: list[str], output: str, kind: str,
                   index: str | None) -> Manifest:
    """The manifest with one batch's files as input, the snapshot's name on every document, its own output
    folder and the crawl's dedup index."""
    m = manifest.model_copy(deep=True)
    m.input.paths, m.input.format, m.input.snapshot = list(urls), kind, snapshot
    m.output.path = output
    for s in m.stages:
        if s["stage"] == "dedup" and index:
            s["index"] = index
    m._source = manifest._source
    return m


def partial_path(output: str) -> str:
    """Where a batch is written while it runs: a hidden sibling, renamed to `output` once complete, so readers
    of `<output>/<snapshot>/batch_*/` never see a half-written batch."""
    out = Path(output)
    return str(out.parent / f".partial-{out.name}")


def discard_output(output: str, index: str | None) -> None:
    """Remove a batch that did not finish: its index segments (labelled with the folder it ran in) and its
    output, under either name."""
    if not output:
        return
    if index:
        from dedup.index import drop_segments

        drop_segments(index, partial_path(output))
    for folder in (partial_path(output), output):
        if os.path.isdir(folder):
            gone = Path(folder).parent / f".discarded-{Path(folder).name.removeprefix('.partial-')}-{os.getpid()}"
            os.replace(folder, gone)  # atomic: the folder is whole or gone
            shutil.rmtree(gone)


def run_complete(output: str, tasks: int) -> bool:
    """The run's summary is on disk, every pass left a completion marker for each of its tasks and every
    barrier (dedup) its done.json: only then are the batch's files marked done."""
    out = Path(output)
    if not (out / layout.STATS).is_file():
        return False
    for logs in layout.all_pass_logs(out):
        done = {p.name for p in (logs / "completions").glob("*")} if (logs / "completions").is_dir() else set()
        if any(f"{rank:05d}" not in done for rank in range(tasks)):
            return False
    barriers = [d for d in (out / layout.STAGES).glob("*")
                if (d / layout.HANDOFF).exists() or (d / layout.KEPT).exists()]
    return all((d / layout.DONE).is_file() for d in barriers)


def sync(manifest: Manifest, index_url: str | None = None, data_url: str | None = None, progress: bool = True,
         echo=print) -> SyncResult:
    """Process what the ledger does not record as done. The lock comes first (a second sync exits at once,
    curation.lock.Locked), then the index, then the ledger: an unreachable index leaves the ledger untouched."""
    spec = crawl_spec(manifest)
    if manifest.executor.kind == "slurm":  # a Slurm run returns once submitted: the ledger could not wait for it
        raise CurationError(f"{manifest._source}: crawl sync runs each batch to completion with the local or ray "
                            "executor; on Slurm, run `curate crawl sync` itself as a Slurm job "
                            "(manifests/schedule/scrontab) with executor.kind local or ray")
    location = spec_location(spec, index_url, data_url)
    path = ledger_path(manifest)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    result = SyncResult()
    with ExclusiveLock(path + ".lock", "another `curate crawl sync` is running on this ledger"):
        snapshots = select(read_snapshots(location), spec.snapshots, spec.since)
        if not snapshots:
            raise CurationError(f"crawl index {location.collinfo}: no snapshot matches crawl.snapshots "
                                f"{spec.snapshots}" + (f" from {spec.since} on" if spec.since else ""))
        with Ledger(path) as ledger:
            index = index_path(manifest)
            for leftover in Path(manifest.output.path).glob("*/.discarded-*"):  # a removal cut short
                shutil.rmtree(leftover, ignore_errors=True)
            for stale in ledger.stale_batches():  # left `running` by a killed sync: redo from scratch
                echo(f"batch {stale['id']} ({stale['snapshot']}) was interrupted; removing its partial output "
                     f"{stale['output']} and redoing its files")
                discard_output(stale["output"], index)
                ledger.abandon_batch(stale["id"])
                result.recovered += 1
            ledger.add_snapshots(snapshots)
            for snap in snapshots:
                _sync_snapshot(manifest, spec, location, ledger, snap.id, index, progress, echo, result)
    return result


def _sync_snapshot(manifest, spec: CrawlSpec, location: Location, ledger: Ledger, snapshot: str,
                   index: str | None, progress: bool, echo, result: SyncResult) -> None:
    from curation.run.runner import run_manifest

    if not ledger.listed(snapshot, spec.kind):
        try:
            paths = read_paths(location, snapshot, spec.kind)
        except CurationError as e:
            ledger.snapshot_error(snapshot, str(e))
            result.failed.append((snapshot, str(e)))
            echo(f"{snapshot}: {e}")
            return
        ledger.add_files(snapshot, spec.kind, [(p, location.file_url(p)) for p in paths])
    todo = ledger.todo(snapshot, spec.max_files)
    if not todo:
        return
    echo(f"{snapshot}: {len(todo)} file(s) to process")
    for start in range(0, len(todo), spec.files_per_batch):
        files = todo[start:start + spec.files_per_batch]
        problems = {f: why for f in files if (why := missing(f.url))}
        if problems:
            ledger.fail_files(list(problems), list(problems.values()))
            result.failed += [(f.path, why) for f, why in problems.items()]
            for why in problems.values():
                echo(f"{snapshot}: {why} (marked failed; the other files go on)")
            files = [f for f in files if f not in problems]
            if not files:
                continue
        batch, output = ledger.start_batch(snapshot, files, manifest.output.path, os.getpid())
        work = partial_path(output)
        m = batch_manifest(manifest, snapshot, [f.url for f in files], work, spec.kind, index)
        t0 = time.time()
        try:
            summary = run_manifest(m, progress=progress, replace_changed=True, lock=False)
            if not run_complete(work, m.executor.tasks):
                raise CurationError(f"run of {output} ended without completing every task (see {work}/_logs)")
            os.replace(work, output)
        except Exception as e:  # the batch fails alone; KeyboardInterrupt/SIGKILL leave it running for the next sync
            error = f"{type(e).__name__}: {e}" if not isinstance(e, CurationError) else str(e)
            discard_output(output, index)
            ledger.fail_batch(batch, error)
            result.failed += [(f.path, error) for f in files]
            echo(f"{snapshot}: batch {batch} failed ({error}); its files are marked failed")
            continue
        ledger.finish_batch(batch, summary["documents_read"], summary["documents_written"])
        result.batches += 1
        result.files_done += len(files)
        result.documents += summary["documents_read"]
        result.written += summary["documents_written"]
        echo(f"{snapshot}: batch {batch} done: {len(files)} file(s), {summary['documents_read']} documents read, "
             f"{summary['documents_written']} written to {output} ({time.time() - t0:.1f}s)")
