"""What the precision filter (wordlists) does to languages language ID confuses (issue 4, FineWeb2 step 7).

    .venv/bin/python -m curation.cli langid udhr -o data/langid      # labelled UDHR paragraphs, seeded split
    .venv/bin/python benchmarks/precision.py [--model lid176] [--data data/langid] [--json out.json]

Wordlists come from the training paragraphs of every language (words seen >= 85% of the time in one
language, at least 3 times). The held-out paragraphs are labelled by the model; for each language with the
lowest precision (the most contaminated), the filter is applied to the paragraphs the model gave that
label: precision before and after, and the share of truly-that-language paragraphs kept (recall cost).
Paragraphs have no URLs here, so only the wordlists act.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from filters.precision import derive_wordlists  # noqa: E402
from filters.words import word_tokenizer  # noqa: E402
from langid.data import read_labelled  # noqa: E402
from langid.evaluate import model_path  # noqa: E402
from langid.fasttext_lid import load_fasttext, predict_top  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="lid176")
    ap.add_argument("--data", default="data/langid")
    ap.add_argument("--languages", type=int, default=12, help="how many of the least precise languages")
    ap.add_argument("--min-predicted", type=int, default=10, help="ignore labels predicted fewer times")
    ap.add_argument("--json")
    args = ap.parse_args()

    train = read_labelled(str(Path(args.data) / "train.jsonl"))
    held = read_labelled(str(Path(args.data) / "heldout.jsonl"))
    lists = {lang: frozenset(ws) for lang, ws in derive_wordlists(train.texts, train.labels, word_tokenizer).items()}
    pred = [lab for lab, _ in predict_top(load_fasttext(model_path(args.model)), held.texts)]
    predicted = Counter(pred)
    correct = Counter(p for p, g in zip(pred, held.labels) if p == g)
    candidates = [lang for lang, n in predicted.items() if n >= args.min_predicted and lang in lists]
    worst = sorted(candidates, key=lambda lang: correct[lang] / predicted[lang])[:args.languages]
    rows = []
    for lang in worst:
        words = lists[lang]
        idx = [i for i, p in enumerate(pred) if p == lang]
        kept = [i for i in idx if not words.isdisjoint(w.lower() for w in word_tokenizer(lang)(held.texts[i]))]
        true_in = sum(held.labels[i] == lang for i in idx)
        true_kept = sum(held.labels[i] == lang for i in kept)
        rows.append({"language": lang, "wordlist": len(words), "predicted": len(idx),
                     "precision_before": true_in / len(idx), "precision_after": true_kept / max(len(kept), 1),
                     "true_kept": true_kept / max(true_in, 1),
                     "wrong_removed": 1 - (len(kept) - true_kept) / max(len(idx) - true_in, 1)})
        r = rows[-1]
        print(f"{lang:10s} wordlist {r['wordlist']:5d}  labelled {r['predicted']:4d}  precision "
              f"{r['precision_before']:.3f}"
              f" -> {r['precision_after']:.3f}  true paragraphs kept {r['true_kept']:.1%}  wrong ones removed "
              f"{r['wrong_removed']:.1%}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
