"""Language ID on real held-out text: every detector and the shipped combination, on every test set, in one run.

Test sets (each corpus's evaluation side only; none of it is in the shipped model's training mix,
`langid/mixes/real.yml`): FLORES-200 test (SIB-200), NTREX-128's held-out 20% of lines, lingua's sentences,
word pairs and single words, Tatoeba's held-out 50% of lines, UDHR held-out paragraphs, MasakhaNEWS test.
Models: lid.176, CLD2, lingua (when installed; high-accuracy mode), curlid (ours), and the combination.
Then the `langid` stage's throughput, lid.176 alone against each other model, on the same documents in the
same process (ratio of seconds per document).

Corpora are public GitHub repositories (langid/README.md says where); give their folders:

    .venv/bin/python benchmarks/langid.py --corpus sib200=CORPORA/dadelani+sib-200/data/annotated \\
        --corpus ntrex=CORPORA/MicrosoftTranslator+NTREX/NTREX-128 \\
        --corpus lingua=CORPORA/pemistahl+lingua-py/language-testdata \\
        --corpus tatoeba=CORPORA/facebookresearch+LASER/data/tatoeba/v1 \\
        --corpus masakhanews=CORPORA/masakhane-io+masakhane-news/data --corpus udhr=data/langid \\
        [--models lid176,cld2,lingua,curlid,curlid+cld2+lid176] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from curation.core import Document  # noqa: E402
from langid.mix import held_out_sets, parse_corpus_args  # noqa: E402
from langid.report import evaluate_all, format_table  # noqa: E402

DEFAULT_MODELS = "lid176,cld2,lingua,curlid,curlid+cld2+lid176"


def stage_throughput(models: list[str], texts: list[str], rounds: int = 3) -> dict:
    """Seconds per document of the `langid` stage (label only) for each model, interleaved rounds on the
    same documents; the best round of each counts (the machine is shared)."""
    from langid.fasttext_lid import LanguageId

    stages = {m: LanguageId(model=m, label_only=True) for m in models}
    best = {m: float("inf") for m in models}
    for _ in range(rounds):
        for m, st in stages.items():
            docs = [Document(text=t, id=str(i)) for i, t in enumerate(texts)]
            t0 = time.perf_counter()
            for start in range(0, len(docs), st.batch_size):
                st.filter_batch(docs[start:start + st.batch_size])
            best[m] = min(best[m], (time.perf_counter() - t0) / len(docs))
    base = best[models[0]]
    out = {m: {"us_per_doc": round(s * 1e6, 2), "ratio_to_" + models[0]: round(s / base, 3)} for m, s in best.items()}
    for m, st in stages.items():
        det = st.detector
        if hasattr(det, "asked"):
            out[m]["share_asking_all"] = round(det.asked / max(det.seen, 1), 3)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", action="append", required=True, metavar="NAME=PATH")
    ap.add_argument("--models", default=DEFAULT_MODELS)
    ap.add_argument("--lingua-sets", default="flores-test,lingua-sentences,lingua-sentences-heldout",
                    help="the sets lingua is scored on (it is ~50x slower than the others; 'all' for every set)")
    ap.add_argument("--speed-docs", type=int, default=6000, help="documents for the throughput rounds")
    ap.add_argument("--speed-only", action="store_true", help="only the throughput rounds (no scoring)")
    ap.add_argument("--json", help="write all numbers here")
    a = ap.parse_args(argv)
    paths = parse_corpus_args(a.corpus)
    models = a.models.split(",")
    if "lingua" in models:
        try:
            import lingua  # noqa: F401
        except ImportError:
            print("lingua-language-detector is not installed: lingua left out", file=sys.stderr)
            models.remove("lingua")
    sets = held_out_sets(paths)
    res = None
    if not a.speed_only:
        t = time.perf_counter()
        only = {} if a.lingua_sets == "all" else {"lingua": set(a.lingua_sets.split(","))}
        res = evaluate_all(models, sets, progress=sys.stderr.isatty(), only=only)
        print(format_table(res))
        print(f"(scoring took {time.perf_counter() - t:.0f} s)")

    # throughput: NTREX held-out sentences and MasakhaNEWS articles (short and long documents)
    speed_models = ["lid176"] + [m for m in models if m not in ("lid176", "lingua")]
    texts = []
    for name in ("ntrex-heldout", "masakhanews-test", "flores-test"):
        if name in sets:
            texts += sets[name].texts[: a.speed_docs // 2]
    texts = texts[: a.speed_docs]
    speed = stage_throughput(speed_models, texts) if texts else {}
    if speed:
        print(f"\nlangid stage, label only, {len(texts)} documents (mean {sum(map(len, texts)) / len(texts):.0f} "
              "characters), best of 3 interleaved rounds:")
        for m, r in speed.items():
            extra = f", asked all models on {r['share_asking_all']:.1%}" if "share_asking_all" in r else ""
            print(f"  {m:<26}{r['us_per_doc']:>9.1f} us/doc   {r['ratio_to_lid176']:.2f}x lid.176{extra}")
    if a.json:
        Path(a.json).write_text(json.dumps({"eval": res, "throughput": speed, "documents_timed": len(texts)},
                                           indent=1, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
