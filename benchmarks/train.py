"""Benchmark: tokenization into shards (ours vs datatrove's DocumentTokenizer) and the raw-vs-filtered data
ablation on the demo output, on CPU; `--only quant` runs benchmarks/train_quant.py (the number formats of the
quantized-training backend on NTREX-128, 3 seeds each; see its docstring).

    .venv/bin/python benchmarks/train.py                       # tokenize and ablate, ~15 min on 2 shared cores
    .venv/bin/python benchmarks/train.py --only tokenize       # tokenize | ablate | quant (comma-separated)
    .venv/bin/python benchmarks/train.py --only quant --ntrex PATH/NTREX-128

Inputs (built when missing, under --work): the demo pipeline's output (`curate run manifests/demo.yml`:
extracted, language-identified, deduplicated, quality-filtered) and the raw extraction of the same crawl
(`manifests/extract.yml`: extracted and labelled, nothing removed). Needs data/demo (make data).

1. Tokenization: the raw extraction's Parquet files, copied --copies times into one folder, tokenized with the
   same byte-level BPE (trained here on the demo output, --vocab) by `curation.tokenize.tokenize_dataset`
   (encode, EOS, shuffle, write) and by datatrove's ParquetReader -> DocumentTokenizer (EOS via eos_token,
   document shuffling on) on a LocalPipelineExecutor(tasks=1, workers=1), in this process, one after the
   other, --repeat rounds. Both use every core (tokenizers' own threads). The token totals must be equal.
   The floor: `encode_batch` alone over the same texts already in memory.
2. Ablation: the same model on the raw extraction vs the demo output (filtered + deduplicated), the same
   token budget, 3 seeds, bits per byte per language.
Held-out text for 2: spaCy's example sentences (`spacy/lang/*/examples.py`) for the languages the demo
output holds: clean text that is in neither training set.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

SPACY_LANGS = {"fr": "fra_Latn", "de": "deu_Latn", "es": "spa_Latn", "ru": "rus_Cyrl", "it": "ita_Latn",
               "pt": "por_Latn", "nl": "nld_Latn", "pl": "pol_Latn", "tr": "tur_Latn", "uk": "ukr_Cyrl",
               "en": "eng_Latn", "sv": "swe_Latn", "cs": "ces_Latn", "hu": "hun_Latn", "fi": "fin_Latn",
               "ro": "ron_Latn", "bg": "bul_Cyrl", "el": "ell_Grek", "vi": "vie_Latn", "zh": "cmn_Hani",
               "ja": "jpn_Jpan", "ko": "kor_Hang", "hi": "hin_Deva", "ar": "arb_Arab", "fa": "fas_Arab",
               "he": "heb_Hebr", "id": "ind_Latn", "da": "dan_Latn", "hr": "hrv_Latn", "lt": "lit_Latn",
               "sk": "slk_Latn", "sl": "slv_Latn", "ca": "cat_Latn", "eu": "eus_Latn", "hy": "hye_Armn",
               "ta": "tam_Taml", "te": "tel_Telu", "ml": "mal_Mlym", "bn": "ben_Beng", "ur": "urd_Arab"}


def curate(*args) -> None:
    subprocess.run([sys.executable, "-m", "curation.cli", *args], cwd=ROOT, check=True)


def demo_outputs(work: Path) -> tuple[Path, Path]:
    demo, raw = work / "demo-out", work / "raw-out"
    if not (demo / "stats.json").exists():
        curate("run", "manifests/demo.yml", "--output", str(demo), "--no-progress", "--overwrite")
    if not (raw / "stats.json").exists():
        curate("run", "manifests/extract.yml", "--output", str(raw), "--no-progress", "--overwrite")
    return demo, raw


def heldout(work: Path, languages: set[str]) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    texts, langs = [], []
    for code, lang in SPACY_LANGS.items():
        if lang in languages:
            sentences = importlib.import_module(f"spacy.lang.{code}.examples").sentences
            texts += sentences
            langs += [lang] * len(sentences)
    folder = work / "heldout"
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"text": texts, "language": langs}), folder / "spacy_examples.parquet")
    return folder


def bench_tokenize(work: Path, raw: Path, tokenizer: Path, copies: int, repeat: int) -> dict:
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.readers import ParquetReader
    from datatrove.pipeline.tokens import DocumentTokenizer

    from curation.io.paths import resolve_paths
    from curation.io.readers import record_batches
    from curation.tokenize import list_shards, load_tokenizer, tokenize_dataset

    src = work / "tok-input"
    shutil.rmtree(src, ignore_errors=True)
    src.mkdir(parents=True)
    files = resolve_paths([str(raw)], "parquet")
    for c in range(copies):
        for i, f in enumerate(files):
            shutil.copy(f, src / f"c{c:02d}_{i:04d}.parquet")
    texts = [t for f in sorted(src.glob("*.parquet")) for b in record_batches(str(f), "parquet", ["text"])
             for t in b.column("text").to_pylist() if t]
    tok = load_tokenizer(tokenizer)
    rounds = []
    for r in range(repeat):
        row = {}
        t = time.perf_counter()
        n_floor = sum(len(e.ids) + 1 for e in tok.encode_batch(texts, add_special_tokens=False))
        row["floor_s"], row["floor_tokens"] = time.perf_counter() - t, n_floor

        ours = work / f"tok-ours-{r}"
        shutil.rmtree(ours, ignore_errors=True)
        t = time.perf_counter()
        s = tokenize_dataset([str(src)], ours, str(tokenizer), seed=r, progress=False)
        row["ours_s"], row["ours_tokens"] = time.perf_counter() - t, s["tokens"]

        dt_out = work / f"tok-datatrove-{r}"
        shutil.rmtree(dt_out, ignore_errors=True)
        pipe = [ParquetReader(str(src), glob_pattern="*.parquet", text_key="text"),
                DocumentTokenizer(str(dt_out / "out"), tokenizer_name_or_path=str(tokenizer),
                                  eos_token="<|endoftext|>", seed=r, local_working_dir=str(dt_out / "tmp"))]
        t = time.perf_counter()
        LocalPipelineExecutor(pipe, tasks=1, workers=1, logging_dir=str(dt_out / "logs")).run()
        row["datatrove_s"] = time.perf_counter() - t
        row["datatrove_tokens"] = sum(sh.n_tokens for sh in list_shards(dt_out / "out"))
        rounds.append(row)
        print(f"  round {r}: ours {row['ours_tokens'] / row['ours_s'] / 1e3:.0f}k tok/s, datatrove "
              f"{row['datatrove_tokens'] / row['datatrove_s'] / 1e3:.0f}k tok/s, floor "
              f"{row['floor_tokens'] / row['floor_s'] / 1e3:.0f}k tok/s "
              f"(x{row['datatrove_s'] / row['ours_s']:.2f})", flush=True)
    med = lambda k: sorted(x[k] for x in rounds)[len(rounds) // 2]  # noqa: E731
    n = rounds[0]["ours_tokens"]
    return {"documents": len(texts), "tokens": n, "input_mb": sum(f.stat().st_size for f in src.glob("*")) / 2**20,
            "tokens_equal": all(x["ours_tokens"] == x["datatrove_tokens"] == x["floor_tokens"] for x in rounds),
            "ours_tok_s": n / med("ours_s"), "datatrove_tok_s": n / med("datatrove_s"),
            "floor_tok_s": n / med("floor_s"),
            "speedup_median": med("datatrove_s") / med("ours_s"),
            "speedup_paired": sorted(x["datatrove_s"] / x["ours_s"] for x in rounds)[len(rounds) // 2],
            "rounds": rounds}


def base_config(args, tokenizer: Path, held: Path) -> dict:
    return {"tokenizer": str(tokenizer), "device": args.device,
            "model": {"dim": args.dim, "layers": args.layers, "heads": args.heads, "context": args.context},
            "eval": {"paths": [str(held)], "every": args.steps, "max_bytes_per_language": 100_000},
            "steps": args.steps, "batch_size": args.batch, "warmup": max(1, args.steps // 10), "lr": 3e-3,
            "min_lr": 3e-4, "checkpoint_every": args.steps, "threads": args.threads}


def bench_ablate(work: Path, args, tokenizer: Path, variants: dict[str, Path], held: Path) -> dict:
    from curation.train.ablate import ablate, markdown
    from curation.train.config import AblationConfig

    cfg = base_config(args, tokenizer, held)
    out = work / "ablation"
    shutil.rmtree(out, ignore_errors=True)
    cfg |= {"variants": {k: [{"path": str(v)}] for k, v in variants.items()}, "seeds": [0, 1, 2],
            "output": str(out)}
    cmp = ablate(AblationConfig.model_validate(cfg), progress=False)
    print(markdown(cmp))
    return cmp | {"table": markdown(cmp), "output": str(out)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", default="/tmp/curation-bench-train")
    ap.add_argument("--only", default="tokenize,ablate", help="tokenize, ablate, quant (= benchmarks/train_quant.py)")
    ap.add_argument("--ntrex", default="/work/corpora/MicrosoftTranslator+NTREX/NTREX-128",
                    help="NTREX-128 folder, for --only quant")
    ap.add_argument("--copies", type=int, default=4, help="copies of the raw extraction to tokenize")
    ap.add_argument("--repeat", type=int, default=3, help="tokenization rounds (medians)")
    ap.add_argument("--vocab", type=int, default=4096)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--context", type=int, default=128)
    ap.add_argument("--dim", type=int, default=96)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (1: steadiest on a shared machine)")
    ap.add_argument("--json", help="save every number here")
    args = ap.parse_args()
    only = set(args.only.split(","))
    if "quant" in only:  # the number formats: their own benchmark, on NTREX-128 (see its docstring)
        import train_quant

        rc = train_quant.main(["--ntrex", args.ntrex, "--work", str(Path(args.work) / "quant")])
        only.discard("quant")
        if not only:
            return rc
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    os.chdir(ROOT)

    import torch

    from curation.cli.tokenize import _texts
    from curation.tokenize import tokenize_dataset, train_bpe

    print(f"load average {os.getloadavg()}, {os.cpu_count()} CPUs, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, device {args.device}", flush=True)
    demo, raw = demo_outputs(work)
    tokenizer = work / "tokenizer.json"
    if not tokenizer.exists():
        train_bpe(_texts([str(demo)], "text", None), args.vocab, tokenizer)
    results = {"load_before": os.getloadavg(), "args": vars(args)}
    if "tokenize" in only:
        print("tokenization:", flush=True)
        results["tokenize"] = bench_tokenize(work, raw, tokenizer, args.copies, args.repeat)
    shards = {"filtered": work / "shards-demo", "raw": work / "shards-raw"}
    for name, src in (("filtered", demo), ("raw", raw)):
        tokenize_dataset([str(src)], shards[name], str(tokenizer), progress=False)
    languages = {d.name for d in demo.iterdir() if d.is_dir() and not d.name.startswith("_")}
    held = heldout(work, languages)
    if "ablate" in only:
        print("ablation (3 seeds):", flush=True)
        results["ablate"] = bench_ablate(work, args, tokenizer, {"raw": shards["raw"], "filtered": shards["filtered"]},
                                         held)
    results["load_after"] = os.getloadavg()
    print(f"load average {os.getloadavg()}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
