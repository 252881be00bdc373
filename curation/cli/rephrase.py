"""`curate rephrase`: rephrase Parquet/JSONL documents with an LLM (the work is curation.apply.rephrase)."""

from __future__ import annotations

import argparse
from pathlib import Path

from curation.core import CurationError


def add_parser(sub) -> None:
    p = sub.add_parser(
        "rephrase", help="rephrase Parquet/JSONL documents with an LLM (WRAP / Nemotron-CC styles)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Rephrase each document in one or more styles with an OpenAI-compatible server (vLLM, SGLang, "
                    "llama.cpp's server, TGI) or a local transformers model: documents are cut into passages of at "
                    "most --max-tokens tokens on line and sentence boundaries, each passage is rephrased, the "
                    "outputs are checked (preambles stripped; empty, prompt-echoing, repetitive, wrong-language "
                    "and truncated outputs dropped and counted under the most specific reason, a sample kept in "
                    "rejected.jsonl) and joined per document. Each output row keeps source_id, rephrase_style "
                    "and rephrase_model. The number of requests in flight adapts to the server (--concurrency "
                    "auto), and a server that drops system messages is found and served folded ones "
                    "(--system-prompt auto). Killed and started again, it resumes at the first unfinished "
                    "batch. Exit codes: 0 done; 3 nothing kept, or more than --fail-above of the passages lost "
                    "(one line says why); 2 could not run (bad options, server down).",
        epilog="styles: easy, wiki, hard, qa (WRAP); diverse_qa, distill, extract_knowledge, knowledge_list "
        "(Nemotron-CC);\n"
        """or the path of your own template (copy one of rephrase/styles/*.yml; {language} and {text} are filled in).

examples:
  curate rephrase out/demo/deu_Latn -o out/rephrased --style wiki \\
      --backend openai --base-url http://localhost:8000/v1 --model Qwen/Qwen2.5-7B-Instruct \\
      --tokenizer ~/models/qwen2.5-7b/tokenizer.json --concurrency 64
  curate rephrase docs.jsonl -o out/qa --style qa --language eng_Latn --backend transformers --model ~/models/tiny
  curate rephrase docs.parquet -o out/nemotron --route-on edu_score --quality-threshold 3 \\
      --backend openai --base-url http://localhost:8000/v1 --model my-model
""")
    p.add_argument("inputs", nargs="+", help="Parquet or JSONL files, folders or globs (a 'language' column gives "
                                             "each document's language)")
    p.add_argument("-o", "--output", required=True, help="output folder (Parquet parts, stats.json)")
    p.add_argument("--style", action="append", help="style name or template file; repeat for several styles")
    p.add_argument("--language", help="output language, iso639-3_Script (default: each document's own language)")
    p.add_argument("--backend", choices=["openai", "transformers"], default="openai")
    p.add_argument("--model", required=True, help="served model name (openai) or local model folder (transformers)")
    p.add_argument("--base-url", help="OpenAI-compatible API root, e.g. http://localhost:8000/v1")
    p.add_argument("--api-key-env", default="OPENAI_API_KEY", help="environment variable holding the API key")
    p.add_argument("--concurrency", type=_concurrency, default="auto", metavar="auto|N",
                   help="requests in flight at once: auto (default) learns what the server sustains, starting "
                        "at 1, growing while its latency holds, halving on timeouts, 429s and latency blow-ups "
                        "(one llama.cpp slot: 1-3; vLLM: up to --max-concurrency); a number fixes it")
    p.add_argument("--max-concurrency", type=int, default=256, help="ceiling of --concurrency auto (default 256)")
    p.add_argument("--system-prompt", choices=["auto", "fold", "keep"], default="auto",
                   help="auto (default): one probe request finds out whether the server passes the system "
                        "message to the model (llama.cpp's gemma chat format drops it) and, if not, folds it "
                        "into the user turn and says so; fold: always fold; keep: send it as it is")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds per request before a retry")
    p.add_argument("--max-retries", type=int, default=6)
    p.add_argument("--max-consecutive-failures", type=int, default=10,
                   help="stop when this many requests in a row failed for good (server down)")
    p.add_argument("--tokenizer", help="tokenizer.json or folder of the model, to size passages in its tokens "
                                       "(default: the model's own for transformers, a UTF-8-bytes/3 estimate "
                                       "for openai)")
    p.add_argument("--max-tokens", type=int, help="passage size in tokens (default: the style's, else 350)")
    p.add_argument("--max-output-tokens", type=int, help="cap on the tokens generated per passage (default: the "
                                                          "style's max_output_tokens)")
    p.add_argument("--fail-above", type=float, default=0.5, metavar="SHARE",
                   help="exit with code 3 when more than this share of the passages was lost (rejected or "
                        "failed; default 0.5); a run that keeps nothing always does")
    p.add_argument("--route-on", metavar="FIELD", help="route on this quality-score column (Nemotron-CC): below "
                   "--quality-threshold the wiki paraphrase, at or above it the QA/knowledge styles")
    p.add_argument("--quality-threshold", type=float, default=0.5)
    p.add_argument("--no-language-check", action="store_true", help="keep outputs whatever language they are in")
    p.add_argument("--langid-model", help="fastText language-ID model for the check (default: lid.176)")
    p.add_argument("--batch-size", type=int, default=64, help="documents per checkpointed batch")
    p.add_argument("--text-column", default="text")
    p.add_argument("--id-column", default="id")
    p.add_argument("--overwrite", action="store_true", help="delete an existing output first")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_cmd_rephrase)


def _concurrency(value: str):
    if value == "auto":
        return value
    try:
        n = int(value)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"'{value}' is not auto or a whole number of at least 1")
    return n


def _cmd_rephrase(args) -> int:
    from curation.apply.rephrase import REJECTED_FILE, rephrase_files
    from rephrase.stage import Rephrase
    from rephrase.verdict import RephraseShortfall

    if not args.style and not args.route_on:
        raise CurationError("give --style (e.g. --style wiki) or --route-on FIELD")
    if not 0 <= args.fail_above <= 1:
        raise CurationError(f"--fail-above must be a share between 0 and 1, got {args.fail_above}")
    options = dict(style=args.style, language=args.language, backend=args.backend, model=args.model,
                   base_url=args.base_url, api_key_env=args.api_key_env, concurrency=args.concurrency,
                   max_concurrency=args.max_concurrency, system_prompt=args.system_prompt,
                   timeout=args.timeout, max_retries=args.max_retries,
                   max_consecutive_failures=args.max_consecutive_failures, tokenizer=args.tokenizer,
                   max_tokens=args.max_tokens, max_output_tokens=args.max_output_tokens,
                   quality_field=args.route_on, quality_threshold=args.quality_threshold,
                   check_language=not args.no_language_check, langid_model=args.langid_model,
                   batch_size=args.batch_size)
    try:
        stage = Rephrase(**options)
    except (TypeError, ValueError) as e:
        raise CurationError(f"curate rephrase: {e}") from None
    how = ("base_url", "concurrency", "max_concurrency", "system_prompt", "timeout", "max_retries",
           "max_consecutive_failures", "api_key_env")
    fingerprinted = {k: v for k, v in options.items() if k not in how and (k != "max_output_tokens" or v)}
    s = rephrase_files(args.inputs, args.output, stage, args.text_column, args.id_column, args.overwrite,
                       progress=not args.no_progress, options_for_fingerprint=fingerprinted,
                       fail_above=args.fail_above)
    earlier = f" ({s['from_earlier_runs']} documents from an earlier run)" if s["from_earlier_runs"] else ""
    print(f"{s['documents']} documents in, {s['rephrased']} rephrased documents out{earlier}; passages "
          f"{s['passages_kept']}/{s['passages']} kept; tokens {s['prompt_tokens']} in, {s['completion_tokens']} out"
          f" -> {args.output}")
    for reason, n in s["reasons"].items():
        print(f"  {reason:<36}{n:>8}")
    run = s["this_run"]
    conc = run.get("concurrency")
    if conc:
        print(f"server: {run['requests']} answers, {run['retries']} retries, {run['abandoned']} requests abandoned "
              f"by timeout (the server may still have generated them); concurrency {conc['mode']}"
              + (f" ended at {conc['final']} (peak {conc['peak']}, {conc['decreases']} cuts)"
                 if conc["mode"] == "auto" else f" {conc['final']}"))
    for note in run.get("notes", []):
        print(f"note: {note}")
    if s["rejected_samples"]:
        print(f"rejected outputs, a sample with their reasons: {Path(args.output) / REJECTED_FILE}")
    if s["verdict"]:
        raise RephraseShortfall(s["verdict"])
    return 0
