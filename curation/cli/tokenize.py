"""`curate tokenize`: encode datasets into token shards, train a tokenizer, export to Megatron."""

from __future__ import annotations

import argparse

from curation.core import CurationError

DESCRIPTION = """Three jobs, chosen by the first word:

  curate tokenize DATASET... -o OUT --tokenizer tokenizer.json
      Stream Parquet/JSONL (files, folders, globs), encode with `tokenizers` on every core, end each document
      with EOS, shuffle documents with --seed and write datatrove/nanotron shards OUT/tokens_NNNNN.ds (+ .index,
      .metadata; uint16 tokens while the vocabulary fits, else uint32) and OUT/tokenize.json (counts per
      language). A killed run started again skips the input files it finished.

  curate tokenize train DATASET... -o tokenizer.json --vocab-size 8192
      Train a byte-level BPE (every byte is a token: no unknown characters in any language) offline.

  curate tokenize megatron SHARDS -o PREFIX
      Export shards to Megatron-LM/NeMo PREFIX.bin + PREFIX.idx (one sequence per document)."""

EXAMPLES = """examples:
  curate tokenize train out/demo -o tok/tokenizer.json --vocab-size 8192
  curate tokenize out/demo -o tokens/demo --tokenizer tok/tokenizer.json
  curate tokenize megatron tokens/demo -o megatron/demo
"""


def _texts(inputs: list[str], text_column: str, limit: int | None):
    from curation.io.readers import record_batches
    from curation.tokenize.encode import input_files

    n = 0
    for path, fmt in input_files(inputs):
        for batch in record_batches(path, fmt, [text_column]):
            if text_column not in batch.schema.names:
                raise CurationError(f"{path}: no '{text_column}' column; give --text-column")
            for t in batch.column(text_column).to_pylist():
                if isinstance(t, str) and t:
                    yield t
                    n += 1
                    if limit and n >= limit:
                        return


def _cmd_tokenize(args) -> int:
    inputs = list(args.inputs)
    mode = inputs.pop(0) if inputs[0] in ("train", "megatron") else "encode"
    if not inputs:
        raise CurationError(f"curate tokenize {mode}: give the dataset to read")
    if not args.output:
        raise CurationError(f"curate tokenize {mode}: give -o/--output")
    if mode == "train":
        from curation.tokenize.tokenizer import load_tokenizer, train_bpe

        path = train_bpe(_texts(inputs, args.text_column, args.max_documents), args.vocab_size, args.output,
                         eos=args.eos or "<|endoftext|>")
        print(f"byte-level BPE with {load_tokenizer(path).get_vocab_size():,} tokens -> {path}")
        return 0
    if mode == "megatron":
        from curation.tokenize.megatron import export_megatron

        if len(inputs) != 1:
            raise CurationError("curate tokenize megatron: give one shard folder")
        s = export_megatron(inputs[0], args.output)
        print(f"{s['documents']:,} documents, {s['tokens']:,} tokens -> {s['bin']}, {s['idx']}")
        return 0
    if not args.tokenizer:
        raise CurationError("curate tokenize: give --tokenizer (a tokenizer.json; `curate tokenize train` makes one)")
    from curation.tokenize.encode import tokenize_dataset

    s = tokenize_dataset(inputs, args.output, args.tokenizer, eos=args.eos, seed=args.seed,
                         max_tokens_per_file=int(args.max_file_size_mb * 2**20) // 2, text_column=args.text_column,
                         batch_size=args.batch_size, dtype=args.dtype, overwrite=args.overwrite,
                         progress=not args.no_progress)
    if s.get("resumed"):
        print(f"{args.output}: already complete")
    skipped = f", {s['skipped']} without text skipped" if s["skipped"] else ""
    print(f"{s['documents']:,} documents, {s['tokens']:,} tokens ({8 * s['token_size']}-bit) in "
          f"{len(s['files'])} shard(s){skipped} -> {args.output}")
    for lang, c in sorted(s["languages"].items(), key=lambda kv: -kv[1]["tokens"])[:15]:  # the largest first
        print(f"  {lang:<12} {c['documents']:>8} docs {c['tokens']:>11,} tokens "
              f"{c['bytes'] / max(c['tokens'], 1):.2f} bytes/token")
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("tokenize", help="tokenize datasets into training shards; train a tokenizer; export to Megatron",
                       description=DESCRIPTION, epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("inputs", nargs="+", metavar="[train|megatron] DATASET",
                   help="Parquet/JSONL files, folders or globs (a shard folder for megatron)")
    p.add_argument("-o", "--output", help="shard folder; tokenizer.json path (train); PREFIX (megatron)")
    p.add_argument("--tokenizer", help="Hugging Face tokenizer.json (or a folder holding one)")
    p.add_argument("--eos", help="token that ends each document (default: <|endoftext|>, </s>, <eos>... "
                                 "whichever the vocabulary has)")
    p.add_argument("--seed", type=int, default=0, help="document shuffle seed (default 0)")
    p.add_argument("--max-file-size-mb", type=float, default=2048,
                   help="start a new shard past this size (uint16 tokens; default 2048)")
    p.add_argument("--dtype", choices=["uint16", "uint32"], help="token type (default: uint16 if the vocabulary fits)")
    p.add_argument("--text-column", default="text")
    p.add_argument("--batch-size", type=int, default=10_000,
                   help="documents per encode call, pooled across input files (default 10000)")
    p.add_argument("--vocab-size", type=int, default=8192, help="train: vocabulary size (default 8192)")
    p.add_argument("--max-documents", type=int, help="train: read at most this many documents")
    p.add_argument("--overwrite", action="store_true", help="replace shards of other inputs or settings")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_cmd_tokenize)
