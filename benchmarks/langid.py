"""Language ID: a small model trained on the demo's UDHR paragraphs (~450 languages) against lid.176.

Builds the seeded paragraph split (`curate langid udhr`), trains with `curate langid train`'s defaults,
scores both models on the same held-out paragraphs in the same run, and compares them per language on the
languages lid.176 knows. Prints a summary and, with --json, writes every number.

    .venv/bin/python benchmarks/langid.py [--work /tmp/langid-bench] [--seed 0] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from curation.demo.langid_sets import build_udhr_sets  # noqa: E402
from langid.data import read_labelled  # noqa: E402
from langid.evaluate import evaluate, known_labels, model_path  # noqa: E402
from langid.fasttext_lid import load_fasttext  # noqa: E402
from langid.train import TrainConfig, train_model  # noqa: E402


def macro(per: dict) -> float:
    return sum(r["f1"] for r in per.values()) / len(per) if per else 0.0


def timed_predict(spec: str, texts: list[str]) -> float:
    """Documents per second of one fastText predict call over all texts (model already loaded)."""
    model = load_fasttext(model_path(spec))
    model.predict(texts[:10])
    t = time.perf_counter()
    model.predict([x.replace("\n", " ") for x in texts], k=1)
    return len(texts) / (time.perf_counter() - t)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", default="/tmp/langid-bench", help="folder for the split and the model")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--heldout-share", type=float, default=0.2)
    ap.add_argument("--show", type=int, default=15, help="languages to list on each side (default 15)")
    ap.add_argument("--json", help="write all numbers here")
    a = ap.parse_args(argv)
    work = Path(a.work)

    split = build_udhr_sets(work, a.heldout_share, a.seed)
    train, held = read_labelled(str(work / "train.jsonl")), read_labelled(str(work / "heldout.jsonl"))
    print(f"UDHR split (seed {a.seed}): {split['languages']} languages, {split['train']} training and "
          f"{split['heldout']} held-out paragraphs")

    t = time.perf_counter()
    info = train_model(train, str(work / "udhr.ftz"), TrainConfig(seed=a.seed))
    train_s = time.perf_counter() - t
    print(f"trained {info['path']}: {info['bytes'] / 1e6:.2f} MB, {info['labels']} labels, {train_s:.0f} s")

    ours, lid = evaluate(info["path"], held), evaluate("lid176", held)
    ours_known = known_labels(load_fasttext(info["path"]))
    lid_known = known_labels(load_fasttext(model_path("lid176")))

    # common ground: the held-out documents of the languages both models know, scored the same way
    shared = sorted(lab for lab in set(held.labels) if lab in lid_known and lab in ours_known)
    sub = held.only(shared)
    ours_sub, lid_sub = evaluate(info["path"], sub), evaluate("lid176", sub)
    diff = sorted(((ours_sub["per_language"][lab]["f1"] - lid_sub["per_language"][lab]["f1"], lab)
                   for lab in shared))
    wins = [(d, lab) for d, lab in diff if d > 1e-9]
    losses = [(d, lab) for d, lab in diff if d < -1e-9]

    speed_ours, speed_lid = timed_predict(info["path"], held.texts), timed_predict("lid176", held.texts)
    lid_size = Path(model_path("lid176")).stat().st_size

    print(f"\nheld-out: {len(held)} paragraphs, {ours['languages']} languages")
    print(f"{'':<34} {'ours (udhr.ftz)':>16} {'lid.176':>10}")
    print(f"{'model size (MB)':<34} {info['bytes'] / 1e6:>16.2f} {lid_size / 1e6:>10.2f}")
    print(f"{'labels':<34} {info['labels']:>16} {lid['model_labels']:>10}")
    print(f"{'macro-F1, all held-out languages':<34} {ours['macro_f1']:>16.4f} {lid['macro_f1']:>10.4f}")
    print(f"{'accuracy, all held-out paragraphs':<34} {ours['accuracy']:>16.4f} {lid['accuracy']:>10.4f}")
    print(f"{f'macro-F1, the {len(shared)} shared languages':<34} {macro(ours_sub['per_language']):>16.4f} "
          f"{macro(lid_sub['per_language']):>10.4f}")
    print(f"{'accuracy, their paragraphs':<34} {ours_sub['accuracy']:>16.4f} {lid_sub['accuracy']:>10.4f}")
    print(f"{'predict docs/s (one call, 1 thread)':<34} {speed_ours:>16,.0f} {speed_lid:>10,.0f}")
    print(f"\non the {len(shared)} shared languages: ours better on {len(wins)}, lid.176 better on "
          f"{len(losses)}, equal on {len(shared) - len(wins) - len(losses)}")
    fmt = lambda lab: (f"{lab} {ours_sub['per_language'][lab]['f1']:.2f} vs "  # noqa: E731
                       f"{lid_sub['per_language'][lab]['f1']:.2f}")
    print("ours better (F1 ours vs lid.176):", "; ".join(fmt(lab) for _, lab in reversed(wins[-a.show:])))
    print("lid.176 better (F1 ours vs lid.176):", "; ".join(fmt(lab) for _, lab in losses[:a.show]))
    worst = sorted(ours["per_language"].items(), key=lambda kv: kv[1]["f1"])[:a.show]
    print("ours, lowest F1 overall:", "; ".join(f"{lab} {r['f1']:.2f}" for lab, r in worst))
    print("ours, top confusions:", "; ".join(f"{c['gold']}->{c['predicted']} {c['documents']}"
                                             for c in ours["top_confusions"][:10]))
    print("lid.176, top confusions (shared languages):", "; ".join(
        f"{c['gold']}->{c['predicted']} {c['documents']}" for c in lid_sub["top_confusions"][:10]))
    if a.json:
        out = {"split": split, "train": {**info, "seconds": train_s}, "ours": ours, "lid176": lid,
               "shared_languages": shared, "ours_shared": ours_sub, "lid176_shared": lid_sub,
               "wins": [lab for _, lab in wins], "losses": [lab for _, lab in losses],
               "predict_docs_per_s": {"ours": speed_ours, "lid176": speed_lid}}
        Path(a.json).write_text(json.dumps(out, indent=1, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
