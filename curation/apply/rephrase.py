"""`curate rephrase`: rephrase the documents of Parquet/JSONL files and write the rephrased ones as Parquet.

The output folder holds `part-NNNNNN.parquet` (one per finished batch of documents, columns: id, text,
source_id, url, language, source_language, rephrase_style, rephrase_model, passage and token counts),
`_progress/` (a done marker per batch, see rephrase.checkpoint) and `stats.json`. Started again on the
same output with the same input and options, it skips finished batches; with different ones it refuses
(or starts over with --overwrite).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections import Counter
from pathlib import Path

from curation.core import CurationError

RUN_FILE = "_progress/run.json"


def _fingerprint(files: list[str], options: dict) -> str:
    import fsspec

    inputs = []
    for path in files:
        fs, root = fsspec.core.url_to_fs(path)
        info = fs.info(root)
        inputs.append((path, info.get("size"), info.get("mtime") or info.get("ETag")))
    data = json.dumps({"inputs": inputs, "options": options}, sort_keys=True, default=str)
    return hashlib.sha256(data.encode()).hexdigest()[:16]


def read_documents(files: list[str], text_column: str = "text", id_column: str = "id"):
    """Documents from Parquet/JSONL rows, in file and row order; every other scalar column goes to metadata
    (`language` is the source language). Rows without an id get `<file number>:<row>`."""
    from curation.core import Document
    from curation.io.readers import record_batches as arrow_batches
    from curation.io.readers import text_values
    from curation.io.readers import infer_format

    for i, path in enumerate(files):
        fmt = infer_format(path)
        if fmt not in ("parquet", "jsonl"):
            raise CurationError(f"{path}: curate rephrase reads Parquet or JSONL files, not {fmt or 'this format'}")
        row = 0
        for batch in arrow_batches(path, fmt):
            texts = text_values(batch, path, text_column)
            columns = {name: batch.column(name).to_pylist() for name in batch.schema.names
                       if name != text_column and not _nested(batch.schema.field(name).type)}
            ids = columns.pop(id_column, None)
            for k, text in enumerate(texts):
                meta = {name: values[k] for name, values in columns.items() if values[k] is not None}
                doc_id = str(ids[k]) if ids is not None and ids[k] is not None else f"{i}:{row}"
                yield Document(text=text if isinstance(text, str) else "", id=doc_id, metadata=meta)
                row += 1


def _nested(t) -> bool:
    import pyarrow as pa

    return pa.types.is_nested(t) or pa.types.is_binary(t) or pa.types.is_large_binary(t)


def rephrase_files(inputs: list[str], output: str, stage, text_column: str = "text", id_column: str = "id",
                   overwrite: bool = False, progress: bool = True, options_for_fingerprint: dict | None = None) -> dict:
    """Rephrase every document of `inputs` with the configured `rephrase.stage.Rephrase` into `output`;
    returns the counts of the whole run (finished batches of earlier runs included)."""
    from tqdm import tqdm

    from curation.io.readers import resolve_paths
    from rephrase.checkpoint import BatchCheckpoint

    files = resolve_paths(inputs)
    out = Path(output)
    run_file = out / RUN_FILE
    fp = _fingerprint(files, {**(options_for_fingerprint or {}), "batch_size": stage.batch_size,
                              "text_column": text_column, "id_column": id_column})
    if overwrite and out.exists():
        shutil.rmtree(out)
    if run_file.exists() and json.loads(run_file.read_text()).get("fingerprint") != fp:
        raise CurationError(f"output '{out}' holds a rephrasing of other input or options; choose another "
                            "--output, or pass --overwrite to replace it")
    if out.exists() and not run_file.exists() and any(out.iterdir()):
        raise CurationError(f"output '{out}' exists and is not a curate rephrase output; choose another --output")
    run_file.parent.mkdir(parents=True, exist_ok=True)
    run_file.write_text(json.dumps({"fingerprint": fp, "inputs": files}, indent=2))
    checkpoint = BatchCheckpoint(out)

    def batches():
        batch, bid = [], 0
        for doc in read_documents(files, text_column, id_column):
            batch.append(doc)
            if len(batch) >= stage.batch_size:
                yield bid, batch
                batch, bid = [], bid + 1
        if batch:
            yield bid, batch

    totals = Counter()
    rephraser = stage.rephraser()
    bar = tqdm(desc=f"rephrase ({stage.backend_kind}: {stage.model})", unit=" docs", disable=not progress)
    resumed = 0
    for _, docs, result in rephraser.run_batches(batches(), checkpoint, stage.batches_in_flight):
        totals.update(result.counts)
        resumed += len(docs) if result.cached else 0
        bar.update(len(docs))
        bar.set_postfix(rephrased=totals["rephrased"], rejected=sum(v for k, v in totals.items()
                                                                    if k.startswith("rejected/")))
    bar.close()
    usage = rephraser.backend.usage
    summary = {
        "output": str(out), "documents": totals["in"], "rephrased": totals["rephrased"],
        "from_earlier_runs": resumed, "passages": totals["passages"], "passages_kept": totals["passages_kept"],
        "prompt_tokens": totals["prompt_tokens"], "completion_tokens": totals["completion_tokens"],
        "model": stage.model, "tokenizer": stage.counter.name,
        "reasons": {k: v for k, v in sorted(totals.items()) if k.split("/")[0] in
                    ("skipped", "rejected", "failed", "dropped")},
        "styles": {k.split("/", 1)[1]: v for k, v in sorted(totals.items()) if k.startswith("style/")},
        "this_run": {"requests": usage.requests, "retries": usage.retries, "failed": usage.failed,
                     "errors": dict(usage.errors)},
    }
    tmp = out / "stats.json.tmp"
    tmp.write_text(json.dumps(summary, indent=2))
    tmp.replace(out / "stats.json")
    return summary


def add_parser(sub) -> None:
    import argparse

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
        epilog="""styles: easy, wiki, hard, qa (WRAP); diverse_qa, distill, extract_knowledge, knowledge_list (Nemotron-CC);
or the path of your own template (copy one of rephrase/styles/*.yml; {language} and {text} are filled in).

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
