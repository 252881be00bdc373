"""`curate mix` and `curate publish`: the mixture commands (hooked into curation/cli/main.py by `add_parser`)."""

from __future__ import annotations

import argparse
import sys

MIX_HELP = """examples:
  curate mix manifests/mixture.yml                     build the mixture the manifest's `mixture:` section describes
  curate mix manifests/mixture.yml --plan              print each language's budget and epochs, write nothing
  curate mix rehydration-weights out/demo -o weights/  measure copies per cluster size from the filters' decisions
  curate publish out/demo-mix --repo org/name --dry-run

A mixture takes every language folder of a pipeline output (out/<language>/*.parquet), repeats documents by
their MinHash cluster size (rehydration), sizes each language by a sampling rule (proportional, temperature,
unimax or given weights) capped at `epoch_cap` passes, adds rephrased documents and replay data if asked, and
writes a shuffled, sharded Parquet dataset: data/<language>/train-*.parquet, mixture.json (every source,
weight, epoch count and count) and README.md (a Hugging Face dataset card with one config per language).
"""

WEIGHTS_HELP = """Measure rehydration weights per language from a pipeline output: the share of documents the filters
after dedup removed, per cluster-size bucket. Buckets removed less than the language as a whole get more copies
(FineWeb2's formula: 1 + (max_reps - 1) * (rate - global) / (min_rate - global), smoothed over 5 buckets, rounded).
Needs the filter stages after dedup to write their removals (`exclusions: true` in the manifest). Those
filters saw one document per cluster only: the copies the dedup stage removed (its exclusions) are run
through the same filters, built from the run's manifest, so every document counts. Writes one JSON file per
language (readable and editable); use the folder as `rehydration:` in a mixture manifest."""


def _mix_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="curate mix", description="Build a training mixture from a pipeline's output.",
                                epilog=MIX_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("manifest", help="manifest with a `mixture:` section (see manifests/mixture.yml), or "
                                    "'rehydration-weights' (see curate mix rehydration-weights --help)")
    p.add_argument("--input", help="pipeline output folder replacing the manifest's mixture.input")
    p.add_argument("--output", help="mixture folder replacing the manifest's mixture.output")
    p.add_argument("--plan", action="store_true", help="print the plan (budgets, epochs, warnings) and stop")
    p.add_argument("--overwrite", action="store_true", help="replace an existing, different mixture")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    return p


def _weights_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="curate mix rehydration-weights", description=WEIGHTS_HELP)
    p.add_argument("pipeline_output", help="a `curate run` output folder (language folders, _exclusions/, stats.json)")
    p.add_argument("-o", "--output", required=True, help="folder for the weights files (<language>.json)")
    p.add_argument("--languages", nargs="+", help="only these languages (default: all)")
    p.add_argument("--max-reps", type=int, default=10, help="most copies of one document (default 10)")
    p.add_argument("--manifest", help="the run's manifest (default: the one recorded in _logs/run.json)")
    p.add_argument("--representatives-only", action="store_true",
                   help="measure on the documents the filters saw (one per cluster), not on the removed copies too")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--min-documents", type=int, default=5,
                   help="buckets with fewer documents are not measured and get 1 copy (default 5)")
    return p


def _cmd_mix(args) -> int:
    rest = list(args.args)
    if rest and rest[0] == "rehydration-weights":
        return _weights(_weights_parser().parse_args(rest[1:]))
    a = _mix_parser().parse_args(rest)
    from curation.manifest import load_mixture

    spec = load_mixture(a.manifest)
    if a.input or a.output:
        spec = spec.model_copy(update={k: v for k, v in (("input", a.input), ("output", a.output)) if v})
    if a.plan:
        from curation.mixture.plan import make_plan

        plan = make_plan(spec, progress=not a.no_progress)
        print(f"{'language':<12} {'source':<10} {'docs in':>10} {'pool (' + spec.unit + ')':>18} {'budget':>14} "
              f"{'epochs':>7}")
        for p in plan.sources:
            print(f"{p.source.language or '(all)':<12} {p.source.name:<10} {p.source.rows:>10,} "
                  f"{p.pool(spec.unit):>18,} {p.budget:>14,.0f} {p.epochs:>7.3f}")
        for w in plan.warnings:
            print(f"warning: {w}", file=sys.stderr)
        return 0
    from curation.mixture.build import build_mixture

    s = build_mixture(spec, overwrite=a.overwrite, progress=not a.no_progress,
                      log=lambda m: print(m, file=sys.stderr))
    print(f"{s['documents']:,} documents, {s['tokens']:,} tokens ({s['tokenizer']}) in {len(s['languages'])} "
          f"languages -> {spec.output}/data/ (mixture.json, README.md)")
    for lang, v in list(s["languages"].items())[:15]:
        srcs = ", ".join(f"{k} {x.get('documents_out', 0):,}" for k, x in v["sources"].items())
        print(f"  {lang:<12} {v['documents']:>10,} docs {v['share_tokens']:>7.2%} of tokens  ({srcs})")
    if len(s["languages"]) > 15:
        print(f"  ... and {len(s['languages']) - 15} more languages (all in mixture.json)")
    return 0


def _weights(a) -> int:
    from curation.mixture.decisions import filter_decisions, judge_duplicates
    from curation.mixture.rehydration import measured_weights, write_weights

    decisions, warnings = filter_decisions(a.pipeline_output, a.languages)
    if not a.representatives_only:
        judged = judge_duplicates(a.pipeline_output, decisions, a.manifest, progress=not a.no_progress)
        if not judged:
            warnings.append("no removed duplicates to judge (the dedup stage kept no exclusions): rates are measured "
                            "on one document per cluster")
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)
    for lang, d in decisions.items():
        content = measured_weights(d["kept"], d["removed"], a.max_reps, a.min_documents)
        content["removed_by"] = dict(d["removed_by"])
        content["duplicates_judged"] = d.get("duplicates_judged")
        path = write_weights(a.output, lang, content)
        more = [f"{_size_range(b)}x{b['reps']}" for b in content["buckets"] if b["reps"] > 1]
        print(f"{lang:<12} {content['documents']:>8} docs, {content['global_removal_rate']:.1%} removed"
              f"{'; more copies for sizes ' + ', '.join(more) if more else '; 1 copy everywhere'} -> {path}")
    return 0


def _cmd_publish(args) -> int:
    from curation.mixture.publish import publish

    publish(args.folder, args.repo, private=args.private, dry_run=args.dry_run)
    return 0


def add_parser(sub) -> None:
    mix = sub.add_parser("mix", help="build a training mixture (rehydration, language sampling, shards, card)",
                         add_help=False, prefix_chars="\x00")
    mix.add_argument("args", nargs=argparse.REMAINDER)
    mix.set_defaults(func=lambda args: _cmd_mix(args) if args.args else _mix_parser().parse_args(["-h"]))

    pub = sub.add_parser("publish", help="upload a dataset folder to the Hugging Face Hub",
                         description="Upload a dataset folder (e.g. a `curate mix` output) to a Hugging Face dataset "
                                     "repo with a resumable upload; run it again to resume. The token comes from "
                                     "HF_TOKEN or `hf auth login` and is never printed or written.")
    pub.add_argument("folder", help="the dataset folder (README.md with configs, data files)")
    pub.add_argument("--repo", required=True, help="owner/name of the dataset repo (created if missing)")
    pub.add_argument("--private", action="store_true", help="create the repo as private")
    pub.add_argument("--dry-run", action="store_true", help="check the folder and card, list the files, upload nothing")
    pub.set_defaults(func=_cmd_publish)


def _size_range(bucket: dict) -> str:
    """A cluster-size bucket as `5-99`, `1000+`, or `4` (one size)."""
    lo, hi = bucket["min_size"], bucket["max_size"]
    return f"{lo}+" if hi is None else f"{lo}" if hi == lo else f"{lo}-{hi}"
