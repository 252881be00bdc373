"""`curate report`: write a run's HTML report (the work is curation.report)."""

from __future__ import annotations

import argparse


def _cmd_report(args) -> int:
    from curation.report.html import write_report

    path = write_report(args.out, tokenizer=args.tokenizer, progress=not args.no_progress, path=args.html)
    print(f"wrote {path}")
    return 0


def add_parser(sub) -> None:
    rep = sub.add_parser(
        "report", help="write a run's HTML report (OUT/report.html)",
        description="Write a self-contained HTML report of a `curate run` output folder: documents and tokens\n"
                    "per language, removals per stage, reason and language, language-score distributions,\n"
                    "duplicate-cluster sizes, the most removed domains and throughput per stage. No network,\n"
                    "no scripts: open it anywhere. `curate run` writes it at the end of every run; this\n"
                    "command rewrites it, also for a run that has not finished (marked PARTIAL).",
        epilog="examples:\n  curate report out/demo\n  curate report out/demo --tokenizer tok/tokenizer.json "
               "--html /tmp/demo.html", formatter_class=argparse.RawDescriptionHelpFormatter)
    rep.add_argument("out", help="the run's output folder")
    rep.add_argument("--tokenizer", help="tokenizer.json to count tokens exactly (default: estimate as UTF-8 "
                                         "bytes / 4)")
    rep.add_argument("--html", help="where to write the page (default OUT/report.html)")
    rep.add_argument("--no-progress", action="store_true", help="no progress bars")
    rep.set_defaults(func=_cmd_report)
