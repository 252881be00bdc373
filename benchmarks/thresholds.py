"""Do the shipped per-language configs keep clean text and remove junk? (issue 4's acceptance numbers)

For every language with a config in filters/configs (other than English and default), on the held-out
split of the UDHR reference (sections the configs were not derived from; `curate thresholds reference`):

- pass rate of the clean held-out documents (target >= 95% per language);
- removal rate of the same documents turned into junk (target >= 90%), four kinds, seeded:
    repeated   three of its lines repeated to the document's length
    keywords   its words (the language's tokenizer) shuffled, 1-4 per line (tag clouds, keyword lists)
    chrome     site chrome only: navigation, cookie banner, footer lines in the demo's site languages
    wrong      a held-out document of another language (a different script where possible), same config

    .venv/bin/python benchmarks/thresholds.py [--reference data/reference] [--json out.json]

Each document is judged by `curation.apply.filter.quality_reason`, the same rules as the `quality` stage.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import polars as pl  # noqa: E402

from curation.apply.filter import quality_reason  # noqa: E402
from filters.config import CONFIG_DIR  # noqa: E402
from filters.words import word_tokenizer  # noqa: E402


def chrome_lines() -> list[str]:
    from curation.demo.build import CHROME

    lines = []
    for c in CHROME.values():
        lines += [c["skip"], " | ".join([c["home"], *c["nav"]]), c["cookie"], f"{c['accept']} {c['settings']}",
                  f"{c['newsletter']} {c['subscribe']}", f"{c['share']} {c['comments']}", c["no_comments"],
                  f"© 2026 {c['about']} · {c['contact']} · {c['privacy']} · {c['terms']}. {c['rights']}", c["advert"]]
    return lines


def junk(text: str, kind: str, rng: random.Random, other: str, chrome: list[str], words_of) -> str:
    lines = [ln for ln in text.split("\n") if ln.strip()]
    if kind == "repeated":
        pick = rng.sample(lines, min(3, len(lines)))
        return "\n".join(pick[i % len(pick)] for i in range(max(len(lines), 12)))
    if kind == "keywords":  # words of the language's tokenizer (scripts without spaces have no split())
        words = [w for w in words_of(text) if w.strip()]
        sep = " " if len(text.split()) > len(text) / 20 else ""
        rng.shuffle(words)
        out, i = [], 0
        while i < len(words):
            k = rng.randint(1, 4)
            out.append(sep.join(words[i:i + k]))
            i += k
        return "\n".join(out)
    if kind == "chrome":
        return "\n".join(rng.choice(chrome) for _ in range(rng.randint(8, 20)))
    if kind == "wrong":
        return other
    raise ValueError(kind)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reference", default="data/reference", help="folder with heldout.parquet")
    ap.add_argument("--config-dir", default=str(CONFIG_DIR))
    ap.add_argument("--docs", type=int, default=100, help="held-out documents per language")
    ap.add_argument("--json")
    args = ap.parse_args()

    held = pl.read_parquet(Path(args.reference) / "heldout.parquet")
    configs = sorted(p.stem for p in Path(args.config_dir).glob("*_*.yml") if p.stem != "eng_Latn")
    by_lang = {lang: g["text"].to_list()[:args.docs] for (lang,), g in held.group_by("language") if lang in configs}
    chrome = chrome_lines()
    scripts = {lang: lang.split("_")[1] for lang in by_lang}
    rows, totals = [], defaultdict(lambda: [0, 0])
    for lang in sorted(by_lang):
        rng = random.Random(f"thresholds-bench/{lang}")
        others = [o for o in by_lang if scripts[o] != scripts[lang]] or [o for o in by_lang if o != lang]
        texts = by_lang[lang]
        clean = [quality_reason(t, lang, args.config_dir) for t in texts]
        row = {"language": lang, "documents": len(texts), "clean_pass": sum(r is None for r in clean) / len(texts),
               "clean_reasons": dict(sorted({r: clean.count(r) for r in set(clean) if r}.items()))}
        removed_all = n_all = 0
        for kind in ("repeated", "keywords", "chrome", "wrong"):
            made = [junk(t, kind, rng, rng.choice(by_lang[rng.choice(others)]), chrome, word_tokenizer(lang))
                    for t in texts]
            removed = sum(quality_reason(t, lang, args.config_dir) is not None for t in made)
            row[f"{kind}_removed"] = removed / len(made)
            totals[kind][0] += removed
            totals[kind][1] += len(made)
            removed_all += removed
            n_all += len(made)
        row["junk_removed"] = removed_all / n_all
        rows.append(row)
        print(f"{lang:10s} clean pass {row['clean_pass']:6.1%}  junk removed {row['junk_removed']:6.1%}  "
              + "  ".join(f"{k} {row[f'{k}_removed']:5.1%}" for k in ("repeated", "keywords", "chrome", "wrong")),
              flush=True)
    low = [r["language"] for r in rows if r["clean_pass"] < 0.95]
    weak = [r["language"] for r in rows if r["junk_removed"] < 0.90]
    print(f"\n{len(rows)} languages; clean pass >= 95%: {len(rows) - len(low)} (below: {', '.join(low) or 'none'}); "
          f"junk removed >= 90%: {len(rows) - len(weak)} (below: {', '.join(weak) or 'none'})")
    print("junk removed by kind over all languages: " +
          ", ".join(f"{k} {r / n:.1%}" for k, (r, n) in totals.items()))
    if args.json:
        Path(args.json).write_text(json.dumps({"languages": rows, "below_clean": low, "below_junk": weak}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
