"""Benchmark: `curate run` killed with SIGKILL at random moments and resumed, against one uninterrupted run.

    .venv/bin/python benchmarks/resume.py                      # the demo manifest, 20 kills (~30-60 min)
    .venv/bin/python benchmarks/resume.py --kills 5            # a quicker look
    .venv/bin/python benchmarks/resume.py --kills 8 --phases 'first pass,summary'   # only those phases
    .venv/bin/python benchmarks/resume.py --json results.json  # also every trial as JSON (written as it goes)

1. One uninterrupted run of the manifest (default manifests/demo.yml on data/demo/crawl.warc.gz), timed per
   phase (start-up, first pass, dedup barrier, pass 2, summary) by watching its files.
2. `--kills` trials, each on a fresh output folder: start the same command, SIGKILL its whole process group
   (the main process, datatrove's workers and its manager) at a random moment, then start it again and let
   it finish. The moments are seeded (`--seed`) and spread over the phases after start-up: each trial draws
   a phase (each phase equally often, in shuffled order, so a cut-short benchmark still covers them all) and
   kills at a uniform moment of its first 90% (measured by the uninterrupted run) after the run reaches it.
   Timing by phase rather than by the clock keeps the kill inside the run when machine load changes.
3. Each resumed output is compared with the uninterrupted one document by document: every Parquet file of
   every language (and of the exclusions and the dedup handoff) as a multiset of complete rows (id, text and
   every other column), the barrier's counts, stats.json without its timings; and no temporary file may
   remain, no Parquet file may be unreadable. Right after each kill it also checks that every visible Parquet
   file is complete: readable and holding the same rows as the same file of the uninterrupted run (what a
   reader globbing `out/*/*.parquet` at that moment would find).

Reported: identical trials / trials, the phase each kill hit, and the cost of a kill: (seconds of the killed
run + seconds of the resume) / seconds of an uninterrupted run.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from curation.manifest import load_manifest  # noqa: E402
from curation.run.runner import apply_overrides  # noqa: E402
from curation.testing.kill_resume import (  # noqa: E402
    RunShape,
    curate_command,
    differences,
    partial_files,
    run_and_kill,
    snapshot,
    timed_run,
)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--manifest", default="manifests/demo.yml")
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--phases", help="kill only in these phases (comma-separated names, e.g. 'first pass,summary')")
    ap.add_argument("--work", default="/tmp/curate-resume-bench", help="scratch folder (emptied first)")
    ap.add_argument("--json", help="write the results here (after every trial)")
    args = ap.parse_args(argv)

    os.chdir(ROOT)
    work = Path(args.work)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)

    def command(out: Path) -> list[str]:
        return curate_command("run", args.manifest, "--output", str(out), "--no-progress")

    def shape(out: Path) -> RunShape:
        return RunShape.of(apply_overrides(load_manifest(args.manifest), output=str(out)))

    print(f"load average {os.getloadavg()[0]:.2f}; uninterrupted run of {args.manifest} ...", flush=True)
    base = shape(work / "baseline")
    code, durations = timed_run(command(base.out), base, work / "baseline.log")
    if code != 0:
        print((work / "baseline.log").read_text()[-3000:])
        return 1
    total = sum(durations)
    expected = snapshot(base.out)
    langs = {p.split("/")[0] for p in expected.files if not p.startswith("_")}
    print(f"  {total:.1f} s: " + ", ".join(f"{n} {d:.1f} s" for n, d in zip(base.names, durations)), flush=True)
    print(f"  {expected.documents() - expected.documents('_')} documents in {len(langs)} languages, "
          f"{expected.documents('_exclusions')} in exclusions, {len(expected.files)} Parquet files")

    rng = random.Random(args.seed)
    chosen = [base.names.index(p.strip()) for p in args.phases.split(",")] if args.phases else \
        list(range(1, len(durations)))  # all but start-up
    phases = [chosen[n % len(chosen)] for n in range(args.kills)]  # each equally often
    rng.shuffle(phases)
    results = {"manifest": args.manifest, "seed": args.seed, "uninterrupted_seconds": round(total, 2),
               "phases": dict(zip(base.names, (round(d, 2) for d in durations))),
               "documents": expected.documents() - expected.documents("_"), "languages": len(langs),
               "parquet_files": len(expected.files), "trials": []}
    print(f"\n{'trial':>5} {'kill at':>8} {'killed in':<15} {'partial':>7} {'resume':>7} {'cost':>5}  result")
    for n, phase in enumerate(phases):
        delay = rng.uniform(0, 0.9 * durations[phase])
        sh = shape(work / f"trial{n}")
        log = work / f"trial{n}.log"
        attempt = run_and_kill(command(sh.out), sh, log, phase, delay)
        at = attempt.seconds
        partial = partial_files(expected, snapshot(sh.out)) if sh.out.exists() else []
        code, resumed = timed_run(command(sh.out), sh, log)
        diff = differences(expected, snapshot(sh.out)) if code == 0 else [f"resume exited {code}"]
        cost = (attempt.seconds + sum(resumed)) / total
        trial = {"target": base.names[phase], "delay": round(delay, 2), "kill_at": round(at, 2),
                 "killed_in": attempt.killed_in or "(finished first)",
                 "partial_files_after_kill": len(partial), "killed_seconds": round(attempt.seconds, 2),
                 "resume_seconds": round(sum(resumed), 2), "cost": round(cost, 2), "identical": not diff,
                 "differences": diff}
        results["trials"].append(trial)
        print(f"{n:>5} {at:>7.1f}s {trial['killed_in']:<15} {len(partial):>7} {sum(resumed):>6.1f}s "
              f"{cost:>5.2f}  {'identical' if not diff else '; '.join(diff)}", flush=True)
        shutil.rmtree(sh.out, ignore_errors=True)
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=1))

    trials = results["trials"]
    same = sum(t["identical"] for t in trials)
    hit = {}
    for t in trials:
        hit[t["killed_in"]] = hit.get(t["killed_in"], 0) + 1
    costs = sorted(t["cost"] for t in trials)
    results["summary"] = {"identical": same, "trials": len(trials), "kills_per_phase": hit,
                          "median_cost": costs[len(costs) // 2], "load_average_end": round(os.getloadavg()[0], 2)}
    print(f"\n{same}/{len(trials)} resumed outputs identical to the uninterrupted run; kills per phase: {hit}; "
          f"median cost of a kill {results['summary']['median_cost']:.2f}x an uninterrupted run; "
          f"load average {os.getloadavg()[0]:.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0 if same == len(trials) else 1


if __name__ == "__main__":
    sys.exit(main())
