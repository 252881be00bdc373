"""Run one fuzz target with atheris (coverage-guided, libFuzzer) for a fixed budget:

    python tests/fuzz/run.py TARGET [--seconds 600] [--corpus build/fuzz/corpus] [--crashes build/fuzz/crashes]

Seeds come from tests/fuzz/seeds.py (generated, not committed); what the fuzzer adds to the corpus stays in
`--corpus`, crashes and hangs land in `--crashes/<target>/` (replay one with `--replay FILE`). `make fuzz`
runs every target; FUZZ_SECONDS sets the budget of each.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib
import os
import sys
from functools import partial
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path[:0] = [str(ROOT), str(HERE)]


INSTRUMENTED = ("curation.io.readers", "curation.io.payload", "curation.io.streams", "curation.io.records",
                "curation.manifest", "curation.io.writer", "curation.apply.dedup", "curation.apply.filter")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("target")
    p.add_argument("--seconds", type=int, default=int(os.environ.get("FUZZ_SECONDS", 600)))
    p.add_argument("--corpus", default=str(ROOT / "build" / "fuzz" / "corpus"))
    p.add_argument("--crashes", default=str(ROOT / "build" / "fuzz" / "crashes"))
    p.add_argument("--timeout", type=int, default=20, help="seconds one input may take before it counts as a hang")
    p.add_argument("--rss-limit-mb", type=int, default=2500)
    p.add_argument("--replay", help="run the target once on this file and show what it raises")
    args = p.parse_args()

    os.environ.setdefault("CURATION_NO_PROGRESS", "1")
    from loguru import logger

    logger.remove()  # the readers' one-line warnings would flood the fuzzer's output
    if args.replay:
        import targets

        logger.remove()
        targets.TARGETS[args.target](Path(args.replay).read_bytes())
        print("no crash")
        return

    import atheris

    # Numba compiles its kernels from their bytecode: instrumented, they no longer compile
    with atheris.instrument_imports(include=["curation", "dedup", "filters", "atheris_fdp", "targets"],
                                    exclude=["dedup.kernels", "filters.quality"]):
        import targets

        for module in INSTRUMENTED:  # the targets import these lazily: instrument them now
            importlib.import_module(module)
    logger.remove()  # (datatrove adds its console handler on import)
    target = targets.TARGETS[args.target]
    corpus = Path(args.corpus) / args.target
    if not corpus.is_dir() or not any(corpus.iterdir()):
        import seeds

        seeds.write_seeds(Path(args.corpus), [args.target])
    crashes = Path(args.crashes) / args.target
    crashes.mkdir(parents=True, exist_ok=True)
    libfuzzer = [sys.argv[0], str(corpus), f"-max_total_time={args.seconds}", f"-timeout={args.timeout}",
                 f"-rss_limit_mb={args.rss_limit_mb}", f"-artifact_prefix={crashes}/", "-print_final_stats=1",
                 "-max_len=65536"]
    if args.target in targets.WARM_UP:
        targets.WARM_UP[args.target]()
    for seed in sorted(corpus.iterdir())[:3]:  # warm up (Numba compiles the dedup kernels on first use)
        with contextlib.suppress(Exception):
            target(seed.read_bytes())
    atheris.Setup(libfuzzer, partial(_keep_crash, target, crashes))
    atheris.Fuzz()


def _keep_crash(target, crashes: Path, data: bytes) -> None:
    """Run the target; an input that makes it raise is saved as crashes/crash-<sha1> before the exception goes
    on to the fuzzer (which stops there), so it can be replayed and kept as a regression test."""
    try:
        target(data)
    except Exception:
        name = crashes / f"crash-{hashlib.sha1(data).hexdigest()}"
        name.write_bytes(data)
        print(f"\nsaved the crashing input as {name}", file=sys.stderr)
        raise


if __name__ == "__main__":
    main()
