"""`curate`: run FineWeb2-style curation pipelines from YAML manifests.

Every command that meets bad input (a missing file, an invalid manifest, an unreadable model) prints one
line per problem, naming the file, line and key, and exits with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys

from curation.core import CurationError
from curation.io.paths import FORMATS

EPILOG = """examples:
  curate validate manifests/demo.yml
  curate run manifests/demo.yml
  curate run manifests/demo.yml --input crawl/*.warc.gz --output out/crawl
  curate run manifests/extract.yml --input dump.jsonl --format jsonl --output out/dump
  curate rephrase out/deu_Latn -o out/rephrased --style wiki --base-url http://localhost:8000/v1 --model M
  curate stages                       list the stages a manifest can use, with their options
  curate schema > manifest.schema.json   JSON Schema for editors (YAML language server)
  curate mix manifests/mixture.yml    a training mixture of a run's output (curate mix -h)
  curate publish out/mix --repo org/name --dry-run
"""


def _cmd_run(args) -> int:
    from curation.manifest import load_manifest
    from curation.run.interrupt import stopped_run_handling
    from curation.run.runner import apply_overrides, run_manifest
    from curation.run.summary import format_summary

    manifest = apply_overrides(load_manifest(args.manifest), args.input, args.output, args.format)
    with stopped_run_handling(manifest.output.path, args.argv, local=manifest.executor.kind == "local") as stop:
        summary = run_manifest(manifest, overwrite=args.overwrite, verbose=args.verbose, progress=not args.no_progress,
                               replace_changed=args.replace_changed)
    if stop.interrupted:
        return 130
    if summary.get("executor") == "slurm" and "jobs" in summary:  # submitted, not run: say what to follow
        from curation.run.executors import format_submission

        print(format_submission(summary))
        return 0
    print(format_summary(summary))
    return 0


def _cmd_validate(args) -> int:
    from curation.manifest import load_manifest, load_mixture, mixture_only
    from curation.run.barrier import Barrier
    from curation.run.compile import apply_overrides, compile_phases

    if mixture_only(args.manifest):
        spec = load_mixture(args.manifest)
        print(f"{args.manifest}: valid (mixture of {spec.input} -> {spec.output}; `curate mix` builds it)")
        return 0
    manifest = load_manifest(args.manifest)
    if args.input or args.format:
        manifest = apply_overrides(manifest, args.input, None, args.format)
    phases = compile_phases(manifest, progress=False)  # also checks inputs, models and options
    names = [str(p.stage.name).strip() + " (between passes)" if isinstance(p, Barrier)
             else " -> ".join(str(s.name).strip() for s in p if not getattr(s, "internal", False)) for p in phases]
    print(f"{args.manifest}: valid ({' => '.join(names)})")
    return 0


def _cmd_dedup(args) -> int:
    from curation.apply.dedup import dedup_files
    from dedup.minhash import config_for

    config = config_for(args.mode, n_grams=args.ngrams, num_buckets=args.buckets,
                        hashes_per_bucket=args.hashes_per_bucket, threshold=args.threshold,
                        containment=args.containment, exact_margin=args.exact_margin,
                        boilerplate=False if args.no_boilerplate else None)
    s = dedup_files(args.inputs, args.output, language=args.language, text_column=args.text_column,
                    config=config, progress=not args.no_progress, index=args.index, index_label=args.output,
                    exclusions=args.exclusions)
    no_text = f", {s['no_text']} without text (kept as they are)" if s["no_text"] else ""
    print(f"{s['documents']} documents in, {s['kept']} kept, {s['removed']} removed as near-duplicates{no_text}"
          f" -> {args.output}")
    for lang, c in list(s["languages"].items())[:15]:
        print(f"  {lang:<12} in {c['in']:>8}  kept {c['kept']:>8}  removed {c['removed']:>8}")
    return 0


def _cmd_schema(args) -> int:
    from curation.manifest import json_schema

    print(json.dumps(json_schema(), indent=2))
    return 0


def _cmd_stages(args) -> int:
    import inspect

    from curation.core import get_stage, option_docs, registered_stages, stage_parameters

    for name in registered_stages():
        obj = get_stage(name)
        doc = (inspect.getdoc(obj) or "").split("\n")[0]
        print(f"{name}: {doc}")
        docs = option_docs(obj)
        for key, p in stage_parameters(obj).items():
            default = "" if p.default is inspect.Parameter.empty else f" = {p.default!r}"
            print(f"    {key}{default}" + (f"\n        {docs[key]}" if key in docs else ""))
        print()
    return 0


# the commands defined in this module: `curate dedup ...` builds only these (the other groups' modules
# import what they need, 0.1 to 0.3 s of start-up that a dedup of a few thousand documents would notice)
_OWN_COMMANDS = ("run", "validate", "dedup", "rephrase", "schema", "kenlm", "stages")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The `curate` parser; with `command` one of `_OWN_COMMANDS`, without the other command groups."""
    parser = argparse.ArgumentParser(
        prog="curate",
        description="Turn web crawls (WARC/WET, HTML, JSONL/Parquet dumps) into clean, per-language Parquet "
                    "datasets the way FineWeb2 does: extract, URL filter, language ID, quality filters, format, write.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run a manifest", formatter_class=argparse.RawDescriptionHelpFormatter,
                         description="Run the manifest's stages over its input with datatrove's executor. "
                                     "Started again on the same output, it skips finished tasks. Safe to kill at "
                                     "any moment: every file appears only when complete, and the same command "
                                     "resumes (Ctrl-C prints it).",
                         epilog=EPILOG)
    run.add_argument("manifest", help="YAML manifest (see manifests/demo.yml)")
    run.add_argument("--input", help="file, folder or glob (local or fsspec URL) replacing the manifest's input")
    run.add_argument("--output", help="output folder replacing the manifest's output.path")
    run.add_argument("--format", choices=FORMATS,
                     help="input format (default: inferred from the file names)")
    run.add_argument("--overwrite", action="store_true", help="delete an existing output folder first")
    run.add_argument("--replace-changed", action="store_true",
                     help="resume an unfinished run of the same manifest and input, but replace the output of a "
                          "different one (instead of refusing)")
    run.add_argument("--no-progress", action="store_true", help="no progress bars")
    run.add_argument("-v", "--verbose", action="store_true", help="show datatrove's task logs")
    run.set_defaults(func=_cmd_run)

    val = sub.add_parser("validate", help="check a manifest (keys, types, stage options, inputs, models)")
    val.add_argument("manifest")
    val.add_argument("--input", help="check against this input instead of the manifest's")
    val.add_argument("--format", choices=FORMATS)
    val.set_defaults(func=_cmd_validate)

    dd = sub.add_parser("dedup", help="MinHash-deduplicate Parquet/JSONL files per language",
                        description="Remove near-duplicates within each language; write the kept rows with "
                                    "every input column plus minhash_cluster_size and minhash_cluster_id (the id of "
                                    "the kept copy) as Parquet, one file per input file. Mode robust (default): "
                                    "lines that recur on many pages of a host (the 'url' column) or of the input "
                                    "are left out of the shingles, word 3-grams, 28 bands x 4 hashes, each "
                                    "candidate pair checked (estimated Jaccard >= --threshold, or containment >= "
                                    "--containment), clusters around a representative. Mode fineweb2: "
                                    "FineWeb2's MinHash exactly (5-grams, 14x8, union-find over every candidate pair).")
    dd.add_argument("inputs", nargs="+", help="Parquet or JSONL files, folders or globs (local or fsspec URLs)")
    dd.add_argument("-o", "--output", required=True, help="output folder")
    dd.add_argument("--language", help="iso639-3_Script of all documents (default: the 'language' column, if any)")
    dd.add_argument("--text-column", default="text")
    dd.add_argument("--mode", choices=["robust", "fineweb2"], default="robust",
                    help="robust (default: verified pairs, boilerplate lines left out) or fineweb2 (exactly FineWeb2)")
    dd.add_argument("--ngrams", type=int, help="words per shingle (robust 3, fineweb2 5)")
    dd.add_argument("--buckets", type=int, help="LSH bands (robust 28, fineweb2 14)")
    dd.add_argument("--hashes-per-bucket", type=int, help="hashes per band (robust 4, fineweb2 8)")
    dd.add_argument("--threshold", type=float, help="robust: estimated Jaccard a candidate pair needs (0.3)")
    dd.add_argument("--containment", type=float,
                    help="robust: or this share of the smaller document in the larger, at half the threshold "
                         "(0.8; 1 turns it off)")
    dd.add_argument("--exact-margin", type=float,
                    help="robust: pairs whose estimate is within this of a bound are decided on their exact "
                         "shingle sets (0.1; 0 turns it off and saves 4 bytes per n-gram of temporary disk)")
    dd.add_argument("--no-boilerplate", action="store_true", help="robust: shingle whole pages")
    dd.add_argument("--index", help="persistent index folder: also remove duplicates of documents kept by earlier "
                                    "runs with this index (earlier snapshots), then add this run's documents to it")
    dd.add_argument("--exclusions", help="also write the removed rows here, with duplicate_of (the kept copy's id)")
    dd.add_argument("--no-progress", action="store_true")
    dd.set_defaults(func=_cmd_dedup)

    from curation.cli.rephrase import add_parser as add_rephrase

    add_rephrase(sub)

    sch = sub.add_parser("schema", help="print the manifest JSON Schema (for editors)")
    sch.set_defaults(func=_cmd_schema)

    from curation.cli.kenlm import add_parser as add_kenlm

    add_kenlm(sub)

    stg = sub.add_parser("stages", help="list the registered stages and their options")
    stg.set_defaults(func=_cmd_stages)
    if command in _OWN_COMMANDS:
        return parser

    # command groups with modules of their own
    from curation.cli import thresholds as thresholds_cli
    from curation.cli.crawl import add_parser as add_crawl
    from curation.cli.langid import add_parser as add_langid
    from curation.cli.mixture import add_parser as add_mixture
    from curation.cli.report import add_parser as add_report
    from curation.cli.tokenize import add_parser as add_tokenize
    from curation.cli.train import add_parsers as add_train

    thresholds_cli.add_parsers(sub)
    add_langid(sub)
    add_mixture(sub)
    add_report(sub)
    add_tokenize(sub)
    add_train(sub)
    add_crawl(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(args_list[0] if args_list else None).parse_args(args_list)
    args.argv = args_list
    try:
        return args.func(args)
    except CurationError as e:
        for line in str(e).splitlines():
            print(f"error: {line}", file=sys.stderr)
        return getattr(e, "exit_code", 2)  # 75 when another run holds the lock: cron tries again next time
    except KeyboardInterrupt:
        print("\ninterrupted: run the same command again to resume (finished tasks are kept)", file=sys.stderr)
        return 130
    except Exception as e:  # never a traceback: one line naming the input, and how to see the traceback
        from curation.errors import debug, unexpected

        if debug():
            raise
        print(unexpected(e, args), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
