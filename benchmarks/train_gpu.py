"""GPU check of the quantized-training backend: the same model and text as benchmarks/train_quant.py, trained on
CUDA in full precision (float32 and bfloat16 autocast) and with ShiftQuant at 8 and 4 bits (K = 8), one seed
each; prints held-out bits per byte, median step time and peak GPU memory. Never run by tests or CI.

    python benchmarks/train_gpu.py --ntrex PATH/NTREX-128                    # on a CUDA machine, < 5 min
    python benchmarks/train_gpu.py --ntrex PATH/NTREX-128 --device cpu --steps 5 --dim 64 --layers 1
                                                                            # the CPU path, to see it executes
    benchmarks/train_gpu.sh PATH/NTREX-128                                  # the same, checking the setup first

NTREX-128 is not on the GPU machine: copy the eight files it reads (see NTREX_LANGS in train_quant.py, ~3 MB)
into an ignored folder of the checkout, e.g. .gpu-data/NTREX-128, and carry that folder to the machine.
On CUDA the int8 products run on cuBLASLt's int8 GEMM through `torch._int_mm` (shapes padded to what it takes).
The bits per byte must agree with the CPU sweep's within its seed spread; the step times say whether the int8
kernels pay on this GPU at this model size (the quantisers are separate torch operations, not fused kernels).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

FORMATS = {"fp32": (None, "float32"), "bf16": (None, "bfloat16"), "8-bit K=8": (8, "float32"),
           "4-bit K=8": (4, "float32")}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ntrex", required=True, help="the NTREX-128 folder")
    ap.add_argument("--work", default="/tmp/curation-train-gpu")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--context", type=int, default=256)
    ap.add_argument("--dim", type=int, default=512)
    ap.add_argument("--layers", type=int, default=6)
    ap.add_argument("--heads", type=int, default=8)
    ap.add_argument("--vocab", type=int, default=4096)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", help="save the numbers here")
    args = ap.parse_args(argv)

    import pyarrow.parquet as pq
    import torch
    from train_quant import NTREX_LANGS, build_corpus

    from curation.tokenize import tokenize_dataset, train_bpe
    from curation.train.config import TrainConfig
    from curation.train.trainer import train

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit(f"--device {args.device}: torch {torch.__version__} sees no CUDA device here")
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    name = torch.cuda.get_device_name() if args.device.startswith("cuda") else "cpu"
    print(f"torch {torch.__version__}, {name}", flush=True)
    corpus = build_corpus(Path(args.ntrex), NTREX_LANGS, work, block=16, heldout=0.15, seed=0)
    tok = work / "tokenizer.json"
    if not tok.exists():
        train_bpe(pq.read_table(work / "train")["text"].to_pylist(), args.vocab, tok)
    tokenize_dataset([str(work / "train")], work / "shards", str(tok), progress=False)
    rows = {}
    for label, (bits, precision) in FORMATS.items():
        out = work / "runs" / f"{args.device.split(':')[0]}-{label.replace(' ', '').replace('=', '')}"
        for f in ("checkpoint.pt", "log.jsonl", "result.json"):
            (out / f).unlink(missing_ok=True)  # a fresh run: step times are the point
        cfg = {"tokenizer": str(tok), "data": [{"path": str(work / "shards")}], "output": str(out),
               "device": args.device, "precision": precision, "seed": args.seed,
               "model": {"dim": args.dim, "layers": args.layers, "heads": args.heads, "context": args.context,
                         "bits": bits, "shift_levels": 8},
               "eval": {"paths": [str(work / "heldout")], "every": args.steps, "max_bytes_per_language": 30_000},
               "steps": args.steps, "batch_size": args.batch, "warmup": max(1, args.steps // 10), "lr": 1e-3,
               "min_lr": 1e-4, "checkpoint_every": args.steps}
        if args.device.startswith("cuda"):
            torch.cuda.reset_peak_memory_stats()
        t = time.perf_counter()
        r = train(TrainConfig.model_validate(cfg), progress=False)
        peak = torch.cuda.max_memory_allocated() / 2**20 if args.device.startswith("cuda") else None
        rows[label] = {"bpb_mean": r["bpb_mean"], "bpb": r["bpb"], "step_ms": r["step_time_median"] * 1e3,
                       "wall_s": time.perf_counter() - t, "peak_gpu_mb": peak, "parameters": r["parameters"]}
        print(f"  {label:<10} bpb {r['bpb_mean']:.4f}  step {rows[label]['step_ms']:.1f} ms  "
              f"({rows[label]['step_ms'] / rows['fp32']['step_ms']:.2f}x fp32)"
              + (f"  peak {peak:.0f} MiB" if peak is not None else ""), flush=True)
    print(f"{rows['fp32']['parameters']:,} parameters, {args.steps} steps of {args.batch} x {args.context} tokens; "
          f"corpus {corpus['train']['documents']} training / {corpus['heldout']['documents']} held-out documents")
    if args.json:
        Path(args.json).write_text(json.dumps({"device": name, "args": vars(args), "runs": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
