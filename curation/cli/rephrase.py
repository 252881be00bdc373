"""`curate rephrase`: rephrase Parquet/JSONL documents with an LLM (the work is curation.apply.rephrase)."""

from __future__ import annotations

import argparse

from curation.core import CurationError


def add_parser(sub) -> None:
    p = sub.add_parser(
        "rephrase", help="rephrase Parquet/JSONL documents with an LLM (WRAP / Nemotron-CC styles)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Rephrase each document in one or more styles with an OpenAI-compatible server (vLLM, SGLang, "
                    "llama.cpp's server, TGI) or a local transformers model: documents are cut into passages of at "
                    "most --max-tokens tokens on line and sentence boundaries, each passage is rephrased, the "
                    "outputs are checked (preambles stripped; empty, truncated, repetitive and wrong-language "
                    "outputs dropped and counted) and joined per document. Each output row keeps source_id, "
                    "rephrase_style and rephrase_model. Killed and started again, it resumes at the first "
                    "unfinished batch.",
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
    p.add_argument("--concurrency", type=int, default=32, help="requests in flight at once (default 32)")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds per request before a retry")
    p.add_argument("--max-retries", type=int, default=6)
    p.add_argument("--max-consecutive-failures", type=int, default=10,
                   help="stop when this many requests in a row failed for good (server down)")
    p.add_argument("--tokenizer", help="tokenizer.json or folder of the model, to size passages in its tokens "
                                       "(default: the model's own for transformers, a UTF-8-bytes/3 estimate "
                                       "for openai)")
    p.add_argument("--max-tokens", type=int, help="passage size in tokens (default: the style's, else 350)")
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


def _cmd_rephrase(args) -> int:
    from curation.apply.rephrase import rephrase_files
    from rephrase.stage import Rephrase

    if not args.style and not args.route_on:
        raise CurationError("give --style (e.g. --style wiki) or --route-on FIELD")
    options = dict(style=args.style, language=args.language, backend=args.backend, model=args.model,
                   base_url=args.base_url, api_key_env=args.api_key_env, concurrency=args.concurrency,
                   timeout=args.timeout, max_retries=args.max_retries,
                   max_consecutive_failures=args.max_consecutive_failures, tokenizer=args.tokenizer,
                   max_tokens=args.max_tokens, quality_field=args.route_on, quality_threshold=args.quality_threshold,
                   check_language=not args.no_language_check, langid_model=args.langid_model,
                   batch_size=args.batch_size)
    try:
        stage = Rephrase(**options)
    except (TypeError, ValueError) as e:
        raise CurationError(f"curate rephrase: {e}") from None
    fingerprinted = {k: v for k, v in options.items() if k not in ("base_url", "concurrency", "timeout",
                                                                    "max_retries", "max_consecutive_failures",
                                                                    "api_key_env")}  # how, not what
    s = rephrase_files(args.inputs, args.output, stage, args.text_column, args.id_column, args.overwrite,
                       progress=not args.no_progress, options_for_fingerprint=fingerprinted)
    earlier = f" ({s['from_earlier_runs']} documents from an earlier run)" if s["from_earlier_runs"] else ""
    print(f"{s['documents']} documents in, {s['rephrased']} rephrased documents out{earlier}; passages "
          f"{s['passages_kept']}/{s['passages']} kept; tokens {s['prompt_tokens']} in, {s['completion_tokens']} out"
          f" -> {args.output}")
    for reason, n in s["reasons"].items():
        print(f"  {reason:<36}{n:>8}")
    return 0
