"""Quality thresholds on real held-out text: the shipped configs, FineWeb2's configs (on datatrove's filters,
configured as FineWeb2's pipeline configures them), configs derived here, and English defaults, in one run.

The reference comes from `curate thresholds reference` on real corpora, split per language with a fixed seed:

    curate thresholds reference --ntrex NTREX/NTREX-128 --ntrex-document-ids NTREX/DOCUMENT_IDS.tsv \\
        --masakhanews masakhane-news/data --xquad xquad -o data/reference-real
    python benchmarks/thresholds.py --reference data/reference-real --fineweb2 FINEWEB2 [--json out.json]

(NTREX: github.com/MicrosoftTranslator/NTREX; MasakhaNEWS: github.com/masakhane-io/masakhane-news;
XQuAD: github.com/deepmind/xquad; FineWeb2: github.com/huggingface/fineweb-2, its `configs/` folder.)

Configs are derived (`filters.thresholds.derive`, the method of `curate thresholds derive`) from the derive
split, with English documents of the same corpora as the English reference. Everything is measured on the
held-out split, per language:

- clean kept: share of held-out documents each config keeps;
- junk removed: the same documents turned into junk, four kinds, seeded: `repeated` (three of its lines
  repeated to the document's length), `wordlist` (its words shuffled, 1-4 a line), `numbers` (a table:
  a word and 3-6 numbers a row), `menu` (navigation-like lines of 2-5 of its words joined by " | ");
- parity: share of all documents (clean and junk) on which the shipped `quality` rules and datatrove's
  filters with FineWeb2's config take the same decision (where the shipped config is FineWeb2's);
- derivation check: per statistic, how far derived thresholds sit from FineWeb2's (median absolute
  difference, share of languages within 10%), and the stopwords of five languages beside FineWeb2's.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import warnings
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import polars as pl  # noqa: E402
import yaml  # noqa: E402

from filters.config import LanguageConfig, load_config  # noqa: E402
from filters.datatrove_fineweb2 import fineweb2_filters, fineweb2_reason  # noqa: E402
from filters.quality import compute_signals, decide  # noqa: E402
from filters.thresholds import RULES, Reference, derive  # noqa: E402
from filters.words import word_tokenizer  # noqa: E402

# languages of NTREX-128 (plus XQuAD / MasakhaNEWS where they have them) with a FineWeb2 config and a word
# tokenizer that needs no download
LANGUAGES = ("arb_Arab", "bul_Cyrl", "cat_Latn", "ces_Latn", "cmn_Hani", "dan_Latn", "deu_Latn", "ell_Grek",
             "fin_Latn", "fra_Latn", "hau_Latn", "heb_Hebr", "hin_Deva", "hrv_Latn", "hun_Latn", "ind_Latn",
             "ita_Latn", "jpn_Jpan", "kor_Hang", "nld_Latn", "pol_Latn", "por_Latn", "ron_Latn", "rus_Cyrl",
             "slk_Latn", "spa_Latn", "swe_Latn", "swh_Latn", "tur_Latn", "ukr_Cyrl", "vie_Latn", "yor_Latn")
JUNK = ("repeated", "wordlist", "numbers", "menu")
CONFIGS = ("fineweb2", "shipped", "derived", "english")
STOPWORD_LANGUAGES = ("fra_Latn", "deu_Latn", "rus_Cyrl", "swh_Latn", "hau_Latn")
ENGLISH = "eng_Latn"


def junk(text: str, kind: str, rng: random.Random, words: list[str]) -> str:
    lines = [ln for ln in text.split("\n") if ln.strip()]
    content = [w for w in words if any(c.isalnum() for c in w)] or ["x"]
    sep = " " if len(text.split()) > len(text) / 20 else ""  # scripts written without spaces
    if kind == "repeated":
        pick = rng.sample(lines, min(3, len(lines)))
        return "\n".join(pick[i % len(pick)] for i in range(max(len(lines), 12)))
    if kind == "wordlist":
        shuffled = content[:]
        rng.shuffle(shuffled)
        out, i = [], 0
        while i < len(shuffled):
            k = rng.randint(1, 4)
            out.append(sep.join(shuffled[i:i + k]))
            i += k
        return "\n".join(out)
    if kind == "numbers":
        rows = []
        for _ in range(rng.randint(10, 25)):
            nums = [rng.choice((str(rng.randint(0, 99999)), f"{rng.uniform(0, 1000):.2f}", f"{rng.randint(0, 100)}%"))
                    for _ in range(rng.randint(3, 6))]
            rows.append(" | ".join([rng.choice(content), *nums]))
        return "\n".join(rows)
    if kind == "menu":
        rows = []
        for _ in range(rng.randint(10, 25)):
            items = [sep.join(rng.sample(content, min(len(content), rng.randint(1, 2))))
                     for _ in range(rng.randint(2, 5))]
            rows.append(" | ".join(items))
        return "\n".join(rows)
    raise ValueError(kind)


def our_reason(text: str, words: list[str], sig: dict, cfg: LanguageConfig) -> str | None:
    if not text.strip():
        return "empty"
    stop = frozenset(cfg.stopwords)
    sig = dict(sig, stop_words=len(stop.intersection(words)) if stop else 0)
    return decide(text, sig, cfg, words)


def fineweb2_config(folder: Path, lang: str) -> LanguageConfig | None:
    path = folder / f"{lang}.yml"
    if not path.exists():
        return None
    return LanguageConfig.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


def derive_configs(derive_df: pl.DataFrame, languages: list[str],
                   min_docs: int) -> dict[str, tuple[LanguageConfig, list[str]]]:
    """Per language: the config derived from its derive split, with English documents of the same corpora."""
    english_cfg, _ = load_config(ENGLISH)
    default_cfg, _ = load_config("default")
    eng_tok = word_tokenizer(ENGLISH)
    english_refs: dict[tuple, Reference] = {}
    out = {}
    for lang in languages:
        rows = derive_df.filter(pl.col("language") == lang)
        sources = tuple(sorted(set(rows["source"].to_list())))
        if sources not in english_refs:
            eng = derive_df.filter((pl.col("language") == ENGLISH) & pl.col("source").is_in(list(sources)))
            english_refs[sources] = Reference.build(eng["text"].to_list(), eng_tok)
        ref = Reference.build(rows["text"].to_list(), word_tokenizer(lang))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = derive(lang, ref, english_refs[sources], english_cfg, default_cfg, min_docs=min_docs)
        cfg = LanguageConfig.model_validate({**default_cfg.model_dump(), **result.config})
        out[lang] = (cfg, result.notes)
    return out


RULE_VALUES = [(r.label, r.key, r.n) for r in RULES if r.key not in ("char_duplicates_ratio", "min_doc_words")]


def rule_value(cfg: LanguageConfig, key: str, n: int | None) -> float | None:
    if n is None:
        v = getattr(cfg, key)
        return None if v is None else float(v)
    return dict(getattr(cfg, key)).get(n)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reference", default="data/reference-real", help="folder with derive.parquet and heldout.parquet")
    ap.add_argument("--fineweb2", required=True, help="FineWeb2's repository (or its configs/ folder)")
    ap.add_argument("--languages", help="comma-separated labels (default: 32 languages of NTREX-128)")
    ap.add_argument("--docs", type=int, default=80, help="held-out documents per language (all corpora together)")
    ap.add_argument("--min-docs", type=int, default=50, help="derivation: fewest reference documents (see derive)")
    ap.add_argument("--json")
    args = ap.parse_args()

    fw_dir = Path(args.fineweb2)
    fw_dir = fw_dir / "configs" if (fw_dir / "configs").is_dir() else fw_dir
    held = pl.read_parquet(Path(args.reference) / "heldout.parquet")
    derive_df = pl.read_parquet(Path(args.reference) / "derive.parquet")
    wanted = args.languages.split(",") if args.languages else list(LANGUAGES)
    present = set(held["language"].unique().to_list())
    languages = [lang for lang in wanted if lang in present and (fw_dir / f"{lang}.yml").exists()]
    print(f"{len(languages)} languages; deriving configs from {args.reference}/derive.parquet ...", flush=True)
    derived = derive_configs(derive_df, languages, args.min_docs)
    english_cfg, _ = load_config(ENGLISH)

    rows = []
    for lang in languages:
        rng = random.Random(f"thresholds-bench/{lang}")
        texts = held.filter(pl.col("language") == lang).sort("id")["text"].to_list()
        texts = rng.sample(texts, min(args.docs, len(texts)))
        tok = word_tokenizer(lang)
        fw_cfg = fineweb2_config(fw_dir, lang)
        shipped_cfg, shipped_src = load_config(lang)
        peer = fineweb2_filters(lang, fw_cfg)
        configs = {"shipped": shipped_cfg, "derived": derived[lang][0], "english": english_cfg}
        kept = defaultdict(int)
        removed = defaultdict(lambda: defaultdict(int))
        reasons = defaultdict(lambda: defaultdict(int))
        agree = n_all = 0
        for text in texts:
            words = tok(text)
            docs = [("clean", text, words)] + [(k, j, tok(j)) for k in JUNK
                                                for j in [junk(text, k, rng, words)]]
            for kind, t, w in docs:
                sig = compute_signals(t, w, frozenset())
                decisions = {name: our_reason(t, w, sig, cfg) for name, cfg in configs.items()}
                decisions["fineweb2"] = fineweb2_reason(t, peer)
                agree += (decisions["shipped"] is None) == (decisions["fineweb2"] is None)
                n_all += 1
                for name, why in decisions.items():
                    if kind == "clean":
                        kept[name] += why is None
                        if why:
                            reasons[name][why] += 1
                    else:
                        removed[name][kind] += why is not None
        n = len(texts)
        row = {"language": lang, "documents": n, "shipped_config": shipped_src, "parity": agree / n_all,
               "clean_kept": {k: kept[k] / n for k in CONFIGS},
               "junk_removed": {k: sum(removed[k].values()) / (n * len(JUNK)) for k in CONFIGS},
               "junk_by_kind": {k: {j: removed[k][j] / n for j in JUNK} for k in CONFIGS},
               "clean_reasons": {k: dict(sorted(v.items(), key=lambda kv: -kv[1])) for k, v in reasons.items()},
               "derived_notes": derived[lang][1]}
        rows.append(row)
        ck, jr = row["clean_kept"], row["junk_removed"]
        print(f"{lang:9s} n={n:3d} clean kept: fineweb2 {ck['fineweb2']:.2f} shipped {ck['shipped']:.2f} "
              f"derived {ck['derived']:.2f} english {ck['english']:.2f} | junk removed: fineweb2 {jr['fineweb2']:.2f} "
              f"shipped {jr['shipped']:.2f} derived {jr['derived']:.2f} english {jr['english']:.2f} | "
              f"parity {row['parity']:.3f}",
              flush=True)

    # --- acceptance
    ratio_ok = [r["language"] for r in rows if r["clean_kept"]["shipped"] >= 0.9 * r["clean_kept"]["fineweb2"]]
    junk_ok = [r["language"] for r in rows if r["junk_removed"]["shipped"] >= 0.95]
    close = [r["language"] for r in rows if abs(r["clean_kept"]["derived"] - r["clean_kept"]["fineweb2"]) <= 0.10]
    med = {k: float(np.median([r["clean_kept"][k] for r in rows])) for k in CONFIGS}
    medj = {k: float(np.median([r["junk_removed"][k] for r in rows])) for k in CONFIGS}
    print(f"\n{len(rows)} languages. median clean kept: " + ", ".join(f"{k} {v:.3f}" for k, v in med.items()))
    print("median junk removed: " + ", ".join(f"{k} {v:.3f}" for k, v in medj.items()))
    print(f"shipped keeps >= 90% of what FineWeb2's configs keep: {len(ratio_ok)}/{len(rows)}; "
          f"shipped junk removal >= 95%: {len(junk_ok)}/{len(rows)}; "
          f"derived within 10 points of FineWeb2: {len(close)}/{len(rows)} "
          f"(not: {', '.join(r['language'] for r in rows if r['language'] not in close) or 'none'})")
    print(f"parity with datatrove (all documents): min {min(r['parity'] for r in rows):.4f}, "
          f"mean {np.mean([r['parity'] for r in rows]):.4f}")

    # --- derivation check: each statistic against FineWeb2's value
    print("\nderived thresholds vs FineWeb2's, per statistic (over the languages above):")
    stats = {}
    for label, key, n in RULE_VALUES:
        diffs, within = [], []
        for r in rows:
            fw = rule_value(fineweb2_config(fw_dir, r["language"]), key, n)
            dv = rule_value(derived[r["language"]][0], key, n)
            if fw is None or dv is None or fw == -1 or dv == -1:
                continue
            diffs.append(abs(dv - fw))
            within.append(abs(dv - fw) <= 0.1 * abs(fw) if fw else dv == fw)
        if diffs:
            stats[label] = {"median_abs_diff": float(np.median(diffs)), "within_10pct": float(np.mean(within)),
                            "languages": len(diffs)}
            print(f"  {label:28s} median |derived - FineWeb2| {stats[label]['median_abs_diff']:.4f}   "
                  f"within 10%: {stats[label]['within_10pct']:.0%}  ({len(diffs)} languages)")
    print("\nstopwords, derived vs FineWeb2's:")
    stop = {}
    for lang in STOPWORD_LANGUAGES:
        if lang in derived:
            ours, theirs = derived[lang][0].stopwords, fineweb2_config(fw_dir, lang).stopwords
            stop[lang] = {"derived": ours, "fineweb2": theirs, "shared": sorted(set(ours) & set(theirs))}
            print(f"  {lang}: derived {ours}\n  {' ' * len(lang)}  FineWeb2 {theirs}")
    if args.json:
        Path(args.json).write_text(json.dumps({"languages": rows, "median_clean_kept": med, "median_junk_removed": medj,
                                               "derivation": stats, "stopwords": stop}, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
