"""`curate train CONFIG` and `curate ablate CONFIG`."""

from __future__ import annotations

import argparse

TRAIN_DESCRIPTION = """Train the bundled Llama-style model on token shards (`curate tokenize`), in full precision
or with ShiftQuant integer training (model.bits: 8, 6 or 4). Logs go to OUTPUT/log.jsonl, a checkpoint to
OUTPUT/checkpoint.pt every checkpoint_every steps; started again, a killed run resumes from it with the same
data order. With eval.paths, held-out bits per byte per language are logged and written to OUTPUT/result.json.

config keys: tokenizer, data (list of {path, weight}), output, model {dim, layers, heads, hidden, context, norm
(rms|l1|l1_centered), bits | weight_bits/activation_bits/gradient_bits, shift_levels}, eval {paths, every,
max_bytes_per_language}, steps, batch_size, lr, min_lr, warmup, weight_decay, grad_clip, seed,
checkpoint_every, device (auto|cpu|cuda). See manifests/training/train.yml."""

ABLATE_DESCRIPTION = """Train the same model on several dataset variants (`variants: {name: [{path, weight}]}`),
once per seed (`seeds`), with the same token budget, and compare held-out bits per byte per language. Writes
OUTPUT/ablation.md (table), OUTPUT/ablation.json and OUTPUT/ablation.png; a difference from the first variant
is called real when it exceeds 3 seed standard deviations. See manifests/training/ablation.yml."""


def _cmd_train(args) -> int:
    from curation.train.config import load_config
    from curation.train.trainer import train

    cfg = load_config(args.config, output=args.output, steps=args.steps, device=args.device)
    r = train(cfg, progress=not args.no_progress)
    print(f"{r['steps']} steps, {r['parameters']:,} parameters, {r['tokens']:,} tokens on {r['device']} "
          f"-> {cfg.output}")
    for lang, v in (r["bpb"] or {}).items():
        print(f"  {lang:<12} {v:.4f} bits/byte")
    return 0


def _cmd_ablate(args) -> int:
    from curation.train.ablate import ablate, markdown
    from curation.train.config import AblationConfig, load_config

    cfg = load_config(args.config, AblationConfig, output=args.output, steps=args.steps, device=args.device)
    cmp = ablate(cfg, progress=not args.no_progress)
    print(markdown(cmp))
    print(f"-> {cfg.output}/ablation.md, ablation.json, ablation.png")
    return 0


SPLIT_DESCRIPTION = """Hold documents out for evaluation before a tokenizer or a model sees them: per language, a
fixed-seed share of the documents (chosen by a keyed hash of the text, so exact duplicates stay on one side) goes
to OUTPUT/heldout/, the rest to OUTPUT/train/, with every column kept; OUTPUT/split.json counts both sides per
language. Train the tokenizer and the model on OUTPUT/train and give OUTPUT/heldout as eval.paths."""

SPLIT_EXAMPLES = """example (what manifests/training/train.yml expects):
  curate split out/demo -o splits/demo --share 0.1
  curate tokenize train splits/demo/train -o tok/tokenizer.json --vocab-size 4096
  curate tokenize splits/demo/train -o tokens/demo --tokenizer tok/tokenizer.json
  curate train manifests/training/train.yml"""


def _cmd_split(args) -> int:
    from curation.train.split import split_dataset

    s = split_dataset(args.inputs, args.output, share=args.share, seed=args.seed, text_column=args.text_column)
    for side in ("train", "heldout"):
        docs = sum(v["documents"] for v in s[side].values())
        print(f"{side:<8} {docs:>8,} documents in {len(s[side])} languages -> {args.output}/{side}")
    alone = sorted(set(s["train"]) - set(s["heldout"]))
    if alone:
        print(f"not held out (fewer than 2 documents): {', '.join(alone[:20])}{' ...' if len(alone) > 20 else ''}")
    return 0


def add_parsers(sub) -> None:
    p = sub.add_parser("split", help="hold out evaluation documents per language (before tokenizer and model)",
                       description=SPLIT_DESCRIPTION, epilog=SPLIT_EXAMPLES,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("inputs", nargs="+", help="Parquet/JSONL files, folders or globs")
    p.add_argument("-o", "--output", required=True, help="folder for train/, heldout/ and split.json")
    p.add_argument("--share", type=float, default=0.1, help="share of each language's documents held out (0.1)")
    p.add_argument("--seed", type=int, default=0, help="which documents (the hash key)")
    p.add_argument("--text-column", default="text")
    p.set_defaults(func=_cmd_split)
    for name, func, desc, help_ in (
            ("train", _cmd_train, TRAIN_DESCRIPTION, "train the bundled (quantized) model on token shards"),
            ("ablate", _cmd_ablate, ABLATE_DESCRIPTION, "compare dataset variants by training the same model")):
        p = sub.add_parser(name, help=help_, description=desc, formatter_class=argparse.RawDescriptionHelpFormatter)
        p.add_argument("config", help="YAML config")
        p.add_argument("--output", help="replace the config's output folder")
        p.add_argument("--steps", type=int, help="replace the config's number of steps")
        p.add_argument("--device", help="auto, cpu or cuda")
        p.add_argument("--no-progress", action="store_true")
        p.set_defaults(func=func)
