"""`curate crawl list | sync | status`: Common Crawl snapshots, processed on a schedule through a ledger."""

from __future__ import annotations

import argparse
import os
import sys

from curation.crawl.spec import PUBLIC_INDEX
from curation.lock import EXIT_LOCKED

EPILOG = f"""examples:
  curate crawl list                                   snapshots in {PUBLIC_INDEX}
  curate crawl list manifests/crawl.yml --files       ... which the manifest selects, their files, what is done
  curate crawl list --index-url /mirror/cc            a local or fsspec mirror (collinfo.json + crawl-data/)
  curate crawl sync manifests/crawl.yml               process every selected file not done yet, oldest first
  curate crawl status manifests/crawl.yml             the ledger: files done/failed/pending, documents, output

exit status of sync: 0 all done, 1 some files failed (listed; the next sync retries them),
{EXIT_LOCKED} another sync holds the ledger (nothing done), 2 bad input (manifest, unreachable index, ledger).
Scheduling examples (cron, systemd timer, Slurm scrontab): manifests/schedule/.
"""


def _manifest(path):
    from curation.manifest import load_manifest

    return load_manifest(path) if path else None


def _ledger_of(args, manifest) -> str | None:
    from curation.crawl.sync import ledger_path

    if args.ledger:
        return args.ledger
    return ledger_path(manifest) if manifest is not None else None


def _cmd_list(args) -> int:
    from curation.core import CurationError
    from curation.crawl.index import locate, read_paths, read_snapshots, select, spec_location
    from curation.crawl.ledger import Ledger

    manifest = _manifest(args.manifest)
    spec = manifest.crawl if manifest is not None else None
    if manifest is not None and spec is None:
        from curation.crawl.sync import crawl_spec

        crawl_spec(manifest)  # the error naming the manifest
    location = spec_location(spec, args.index_url, args.data_url) if spec else locate(args.index_url, args.data_url)
    kind = args.kind or (spec.kind if spec else "warc")
    snapshots = read_snapshots(location)
    selected = {s.id for s in (select(snapshots, spec.snapshots, spec.since) if spec else snapshots)}
    path = _ledger_of(args, manifest)
    known = {}
    if path and os.path.exists(path):
        with Ledger(path, create=False) as ledger:
            known = {r["id"]: r for r in ledger.summary()}
    print(f"crawl index {location.collinfo}: {len(snapshots)} snapshots, oldest first"
          + (f"; {len(selected)} selected by {args.manifest}" if spec else "")
          + (f"; ledger {path}" if known else (f"; no ledger yet at {path}" if path else "")))
    problems = []
    header = f"{'snapshot':<18} {'from':<11} {'to':<11} {kind + ' files':>10}  {'state':<32} name"
    print(header)
    for s in snapshots:
        if args.selected and s.id not in selected:
            continue
        row = known.get(s.id)
        files = row["files"] if row and row["files"] is not None else None
        if args.files and files is None and s.id in selected:
            try:
                files = len(read_paths(location, s.id, kind))
            except CurationError as e:
                files = "?"
                problems.append(str(e))
        print(f"{s.id:<18} {s.start[:10]:<11} {s.end[:10]:<11} {'' if files is None else files:>10}  "
              f"{_state(row, s.id in selected if spec else None):<32} {s.name}")
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    return 1 if problems else 0


def _state(row, selected: bool | None) -> str:
    if row is None or row["files"] is None:
        text = "not processed" if row is None or not row["error"] else "paths file unreadable"
    elif row["done"] == row["files"]:
        text = f"processed ({row['done']} files)"
    else:
        text = f"{row['done']}/{row['files']} done" + (f", {row['failed']} failed" if row["failed"] else "")
    if selected is False:
        text += " (not selected)"
    return text


def _cmd_sync(args) -> int:
    from curation.crawl.sync import ledger_path, sync
    from curation.lock import Locked

    manifest = _manifest(args.manifest)
    try:
        result = sync(manifest, index_url=args.index_url, data_url=args.data_url, progress=not args.no_progress)
    except Locked as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_LOCKED
    ledger = ledger_path(manifest)
    extra = f", {result.recovered} interrupted batch(es) redone" if result.recovered else ""
    if result.batches == 0 and result.ok:
        print(f"nothing to do: every selected file is done (ledger {ledger}){extra}")
        return 0
    print(f"sync: {result.files_done} file(s) in {result.batches} batch(es) done, {result.documents} documents "
          f"read, {result.written} written{extra}; ledger {ledger}")
    if result.ok:
        return 0
    print(f"{len(result.failed)} failed (the next sync retries them; `curate crawl status` lists them):",
          file=sys.stderr)
    for what, error in result.failed[:20]:
        print(f"  {what}: {error}", file=sys.stderr)
    if len(result.failed) > 20:
        print(f"  ... and {len(result.failed) - 20} more", file=sys.stderr)
    return 1


def _cmd_status(args) -> int:
    from curation.core import CurationError
    from curation.crawl.ledger import Ledger
    from curation.lock import holder

    manifest = _manifest(args.manifest)
    path = _ledger_of(args, manifest)
    if path is None:
        raise CurationError("give a crawl manifest or --ledger PATH")
    with Ledger(path, create=False) as ledger:
        rows = ledger.summary()
        failed = ledger.failed_files()
        running = ledger.stale_batches()
    print(f"ledger {path} (schema v{ledger.version}): {len(rows)} snapshots")
    print(f"{'snapshot':<18} {'files':>7} {'done':>7} {'failed':>7} {'running':>7} {'pending':>8} {'documents':>10} "
          f"{'written':>9}  output")
    root = os.path.dirname(path)
    for r in rows:
        files = "?" if r["files"] is None else r["files"]
        out = (os.path.join(manifest.output.path, r["id"]) if manifest is not None else os.path.join(root, r["id"])) \
            if r["batches"] else "-"
        print(f"{r['id']:<18} {files:>7} {r['done']:>7} {r['failed']:>7} {r['running']:>7} {r['pending']:>8} "
              f"{r['documents']:>10} {r['written']:>9}  {out}" + (f"  ({r['error']})" if r["error"] else ""))
    syncing = holder(path + ".lock")
    print(f"a sync is running: {syncing}" if syncing else "no sync holds the ledger now")
    if running:
        state = "running" if syncing else "left running by a killed sync (the next sync redoes them)"
        print(f"{len(running)} batch(es) {state}: " + ", ".join(f"{b['output']} (pid {b['pid']})" for b in running))
    if failed:
        print(f"failed files ({len(failed)}):")
        for f in failed[: None if args.all else 20]:
            print(f"  {f['snapshot']} {f['path']} (attempts {f['attempts']}): {f['error']}")
        if not args.all and len(failed) > 20:
            print(f"  ... and {len(failed) - 20} more (--all lists them)")
    return 0


def add_parser(sub) -> None:
    crawl = sub.add_parser("crawl", help="Common Crawl snapshots: list, sync on a schedule, status",
                           formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG,
                           description="Find Common Crawl snapshots in the crawl index, process the files not done "
                                       "yet with a manifest's pipeline (one run per batch of files, deduplicated "
                                       "against earlier snapshots), and keep what was done in a SQLite ledger.")
    csub = crawl.add_subparsers(dest="crawl_command", required=True, metavar="COMMAND")

    def index_options(p):
        p.add_argument("--index-url", help=f"collinfo.json or a mirror folder holding it, local or fsspec URL "
                                           f"(default: the manifest's crawl.index_url, else {PUBLIC_INDEX})")
        p.add_argument("--data-url", help="base of crawl-data/ (default: data.commoncrawl.org for the public index, "
                                          "else the mirror folder)")

    ls = csub.add_parser("list", help="snapshots in the crawl index and which are processed",
                         formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG)
    ls.add_argument("manifest", nargs="?", help="crawl manifest (its index, selection and ledger)")
    index_options(ls)
    ls.add_argument("--kind", choices=["warc", "wet"], help="count these files (default: the manifest's, else warc)")
    ls.add_argument("--ledger", help="ledger to show the state from (default: the manifest's)")
    ls.add_argument("--files", action="store_true", help="read each selected snapshot's paths file and count files "
                                                         "(one download per snapshot not in the ledger)")
    ls.add_argument("--selected", action="store_true", help="only the snapshots the manifest selects")
    ls.set_defaults(func=_cmd_list)

    sy = csub.add_parser("sync", help="process every selected snapshot file not done yet (one sync at a time)",
                         formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG)
    sy.add_argument("manifest", help="crawl manifest (see manifests/crawl.yml)")
    index_options(sy)
    sy.add_argument("--no-progress", action="store_true", help="no progress bars (for cron and systemd logs)")
    sy.set_defaults(func=_cmd_sync)

    st = csub.add_parser("status", help="print the ledger: per snapshot files done/failed/pending, documents",
                         formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG)
    st.add_argument("manifest", nargs="?", help="crawl manifest (its ledger)")
    st.add_argument("--ledger", help="ledger file (default: the manifest's)")
    st.add_argument("--all", action="store_true", help="list every failed file, not only the first 20")
    st.set_defaults(func=_cmd_status)
