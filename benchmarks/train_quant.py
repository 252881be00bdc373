"""Benchmark: ShiftQuant integer training against full precision on real text, the way a reviewer asks for it.

    nice -n 10 .venv/bin/python benchmarks/train_quant.py --ntrex /work/corpora/MicrosoftTranslator+NTREX/NTREX-128
    (also: benchmarks/train.py --only quant --ntrex ...)

Text: NTREX-128 (Microsoft, CC-BY-SA 4.0; github.com/MicrosoftTranslator/NTREX), the same 1,997 news sentences
in each of --languages. Consecutive sentences are grouped into documents of --block lines; a fixed-seed
draw puts --heldout of the documents aside, the same ones in every language (the text is parallel, so no
translation of an evaluation sentence is ever trained on). The BPE tokenizer is trained on the training split
only, the model is trained on it, and bits per byte are measured per language on the held-out split.

Settings (each with --seeds; a seed fixes the initial weights and the batch order, the same in every setting):
full precision in float32 and in bfloat16 (CPU autocast), ShiftQuant 8/6/4-bit with K = 8 and K = 1 shift
levels, RMSNorm; float32, 6-bit and 4-bit (K = 8) with the L1 norm. Then:
- gradient error per layer: the seed-0 float32 model's weights, one batch, the quantised backward (--draws
  draws of stochastic rounding) against the exact backward of the same quantised forward: relative error,
  cosine, and the bias ||mean of draws - exact|| / ||exact|| beside its noise floor (relative error / sqrt(draws));
- step time (formats run in turn on one batch, median of per-round ratios to float32) and memory (bytes the
  autograd graph keeps for the backward pass, and each format's peak RSS in a fresh process).
A gap is called real when it exceeds 3 pooled seed standard deviations, sqrt((sd_a^2 + sd_b^2) / 2), as in
`curate ablate`; the paired figure (sd of the per-seed differences) is given beside it.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import os
import resource
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

NTREX_LANGS = {"src.eng": "eng_Latn", "ref.fra": "fra_Latn", "ref.deu": "deu_Latn", "ref.rus": "rus_Cyrl",
               "ref.arb": "arb_Arab", "ref.hin": "hin_Deva", "ref.zho-CN": "cmn_Hani", "ref.tur": "tur_Latn"}

# label -> (bits, shift levels, norm, precision)
SETTINGS = {
    "fp32": (None, 8, "rms", "float32"),
    "bf16": (None, 8, "rms", "bfloat16"),
    "8-bit K=8": (8, 8, "rms", "float32"),
    "8-bit K=1": (8, 1, "rms", "float32"),
    "6-bit K=8": (6, 8, "rms", "float32"),
    "6-bit K=1": (6, 1, "rms", "float32"),
    "4-bit K=8": (4, 8, "rms", "float32"),
    "4-bit K=1": (4, 1, "rms", "float32"),
    "fp32, L1": (None, 8, "l1", "float32"),
    "6-bit K=8, L1": (6, 8, "l1", "float32"),
    "4-bit K=8, L1": (4, 8, "l1", "float32"),
}
# (setting, reference it is compared with)
COMPARISONS = [("bf16", "fp32"), ("8-bit K=8", "fp32"), ("8-bit K=1", "fp32"), ("6-bit K=8", "fp32"),
               ("6-bit K=1", "fp32"), ("4-bit K=8", "fp32"), ("4-bit K=1", "fp32"),
               ("8-bit K=1", "8-bit K=8"), ("6-bit K=1", "6-bit K=8"), ("4-bit K=1", "4-bit K=8"),
               ("fp32, L1", "fp32"), ("6-bit K=8, L1", "6-bit K=8"), ("4-bit K=8, L1", "4-bit K=8"),
               ("6-bit K=8, L1", "fp32, L1"), ("4-bit K=8, L1", "fp32, L1")]


def build_corpus(ntrex: Path, languages: dict[str, str], work: Path, block: int, heldout: float, seed: int) -> dict:
    """Documents of `block` consecutive sentences; the same fixed-seed share of documents held out in every language."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    lines = {}
    for stem, lang in languages.items():
        path = ntrex / f"newstest2019-{stem}.txt"
        if not path.exists():
            raise SystemExit(f"{path}: missing; --ntrex wants the NTREX-128 folder of the NTREX repository")
        lines[lang] = path.read_text(encoding="utf-8").splitlines()
    n = min(len(v) for v in lines.values())
    n_docs = -(-n // block)
    held = set(np.random.default_rng(seed).permutation(n_docs)[:round(heldout * n_docs)].tolist())
    rows = {"train": ([], []), "heldout": ([], [])}
    for lang, ls in lines.items():
        for d in range(n_docs):
            text = "\n".join(x for x in ls[d * block:(d + 1) * block] if x.strip())
            if text:
                texts, langs = rows["heldout" if d in held else "train"]
                texts.append(text)
                langs.append(lang)
    info = {}
    for split, (texts, langs) in rows.items():
        (work / split).mkdir(parents=True, exist_ok=True)
        path = work / split / f"{split}.parquet"
        if not path.exists():  # the same (seed, block, share) always gives the same split; runs may be reading it
            pq.write_table(pa.table({"text": texts, "language": langs}), path)
        info[split] = {"documents": len(texts), "bytes": sum(len(t.encode()) for t in texts)}
    info["documents_per_language"] = n_docs
    info["heldout_documents_per_language"] = len(held)
    return info


def run_one(job: dict) -> dict:
    """One training run (in a worker process, one torch thread); its result.json is reused when present."""
    from curation.train.config import TrainConfig
    from curation.train.trainer import train

    out = Path(job["output"])
    done = out / "result.json"
    if done.exists():
        return json.loads(done.read_text())
    t = time.perf_counter()
    r = train(TrainConfig.model_validate(job["config"]), progress=False)
    r["wall_s"] = time.perf_counter() - t
    return r


def config_for(args, work: Path, label: str, seed: int) -> dict:
    bits, levels, norm, precision = SETTINGS[label]
    safe = label.replace(" ", "").replace(",", "-").replace("=", "")
    return {"output": str(work / "runs" / safe / f"seed{seed}"),
            "config": {"tokenizer": str(work / "tokenizer.json"), "data": [{"path": str(work / "shards")}],
                       "output": str(work / "runs" / safe / f"seed{seed}"), "device": "cpu", "threads": 1,
                       "precision": precision, "seed": seed,
                       "model": {"dim": args.dim, "layers": args.layers, "heads": args.heads,
                                 "context": args.context, "norm": norm, "bits": bits, "shift_levels": levels},
                       "eval": {"paths": [str(work / "heldout")], "every": args.steps,
                                "max_bytes_per_language": args.eval_bytes},
                       "steps": args.steps, "batch_size": args.batch, "warmup": max(1, args.steps // 10),
                       "lr": args.lr, "min_lr": args.lr / 10, "checkpoint_every": args.steps}}


def stats(values: list[float]) -> tuple[float, float]:
    m = sum(values) / len(values)
    sd = math.sqrt(sum((v - m) ** 2 for v in values) / (len(values) - 1)) if len(values) > 1 else float("nan")
    return m, sd


def compare(results: dict[str, dict[int, dict]], a: str, b: str, key=lambda r: r["bpb_mean"]) -> dict:
    seeds = sorted(set(results[a]) & set(results[b]))
    va, vb = [key(results[a][s]) for s in seeds], [key(results[b][s]) for s in seeds]
    (ma, sa), (mb, sb) = stats(va), stats(vb)
    pooled = math.sqrt((sa ** 2 + sb ** 2) / 2)
    _, paired_sd = stats([x - y for x, y in zip(va, vb)])
    diff = ma - mb
    return {"diff": diff, "rel": diff / mb, "pooled_sd": pooled, "sds": diff / pooled if pooled else float("nan"),
            "paired_sd": paired_sd, "paired_sds": diff / paired_sd if paired_sd else float("nan"),
            "real": bool(pooled and abs(diff) > 3 * pooled), "seeds": len(seeds)}


def gradient_error(args, work: Path, formats: list[tuple[int, int]], draws: int) -> dict:
    """Per QuantLinear weight: the quantised backward's error against the exact backward of the same forward."""
    import torch

    from curation.train.data import TokenBatches
    from curation.train.model import Llama, ModelConfig
    from curation.train.quant import QuantLinear

    torch.set_num_threads(1)
    ckpt = torch.load(Path(config_for(args, work, "fp32", 0)["output"]) / "checkpoint.pt", weights_only=False)
    base = ckpt["config"]["model"]
    x, y = TokenBatches([(str(work / "shards"), 1.0)], args.context, seed=123).batch(0, args.batch)
    out = {}
    for bits, levels in formats:
        def grads(gradient_bits, bits=bits, levels=levels):
            cfg = ModelConfig.model_validate(base | {"bits": None, "weight_bits": bits, "activation_bits": bits,
                                                     "gradient_bits": gradient_bits, "shift_levels": levels})
            model = Llama(cfg)
            model.load_state_dict(ckpt["model"])
            return model

        exact_model = grads(None)
        exact_model(x, y).backward()
        names = [n for n, m in exact_model.named_modules() if isinstance(m, QuantLinear)]
        exact = {n: exact_model.get_submodule(n).weight.grad.double() for n in names}
        model = grads(bits)
        torch.manual_seed(0)
        total = {n: torch.zeros_like(exact[n]) for n in names}
        rel = {n: [] for n in names}
        cos = {n: [] for n in names}
        for _ in range(draws):
            model.zero_grad()
            model(x, y).backward()
            for n in names:
                g = model.get_submodule(n).weight.grad.double()
                total[n] += g
                rel[n].append(float((g - exact[n]).norm() / exact[n].norm()))
                cos[n].append(float(torch.nn.functional.cosine_similarity(g.flatten(), exact[n].flatten(), dim=0)))
        out[f"{bits}-bit K={levels}"] = {
            n: {"rel_error": sum(rel[n]) / draws, "cosine": sum(cos[n]) / draws,
                "bias": float((total[n] / draws - exact[n]).norm() / exact[n].norm()),
                "noise_floor": sum(rel[n]) / draws / math.sqrt(draws)} for n in names}
        print(f"  gradient error {bits}-bit K={levels}: " + ", ".join(
            f"{n.removeprefix('blocks.')} {v['rel_error']:.3f}" for n, v in out[f"{bits}-bit K={levels}"].items()),
            flush=True)
    return out


STEP_FORMATS = {"fp32": (None, 8, "rms", "float32"), "bf16": (None, 8, "rms", "bfloat16"),
                "8-bit": (8, 8, "rms", "float32"), "6-bit": (6, 8, "rms", "float32"),
                "4-bit": (4, 8, "rms", "float32"), "fp32, L1": (None, 8, "l1", "float32"),
                "6-bit, L1": (6, 8, "l1", "float32")}


def _model(shape: dict, fmt) -> object:
    from curation.train.model import Llama, ModelConfig

    bits, levels, norm, _ = fmt
    return Llama(ModelConfig(**shape, bits=bits, shift_levels=levels, norm=norm))


def _step(model, opt, x, precision: str) -> None:
    import torch

    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bfloat16"):
        loss = model(x[:, :-1], x[:, 1:])
    opt.zero_grad()
    loss.backward()
    opt.step()


def step_times(shape: dict, batch: int, rounds: int) -> dict:
    """Each format's step in turn on one batch (a load change on the shared machine hits all alike): median
    ms and median of per-round ratios to float32; and the bytes autograd keeps for the backward pass."""
    import torch

    torch.set_num_threads(1)
    torch.manual_seed(0)
    models = {k: _model(shape, f) for k, f in STEP_FORMATS.items()}
    opts = {k: torch.optim.AdamW(m.parameters(), lr=1e-3) for k, m in models.items()}
    x = torch.randint(0, shape["vocab_size"], (batch, shape["context"] + 1))
    saved = {}
    for k, m in models.items():
        nbytes = []

        def pack(t, nbytes=nbytes):
            nbytes.append(t.untyped_storage().nbytes() if t.is_contiguous() else t.numel() * t.element_size())
            return t

        with (torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t),
              torch.autocast("cpu", dtype=torch.bfloat16, enabled=STEP_FORMATS[k][3] == "bfloat16")):
            loss = m(x[:, :-1], x[:, 1:])
        loss.backward()
        saved[k] = sum(nbytes)
    layer_saved = {}
    from curation.train.quant import QuantLinear, QuantSpec

    for bits in (None, 8, 6, 4):  # one projection alone: what its backward keeps (input codes, weight codes)
        layer = QuantLinear(shape["dim"], 4 * shape["dim"], QuantSpec.of(bits))
        xl = torch.randn(batch * shape["context"], shape["dim"], requires_grad=True)
        nb = []
        with torch.autograd.graph.saved_tensors_hooks(lambda t, nb=nb: nb.append(t.numel() * t.element_size()) or t,
                                                      lambda t: t):
            layer(xl)
        layer_saved[f"{bits}-bit" if bits else "fp32"] = sum(nb) / 2**20
    times = {k: [] for k in models}
    for r in range(rounds + 2):
        for k, m in models.items():
            t = time.perf_counter()
            _step(m, opts[k], x, STEP_FORMATS[k][3])
            if r >= 2:
                times[k].append(time.perf_counter() - t)

    def med(v):
        return sorted(v)[len(v) // 2]

    print(f"  saved for backward by one {shape['dim']}x{4 * shape['dim']} projection: "
          + ", ".join(f"{k} {v:.2f} MB" for k, v in layer_saved.items()), flush=True)
    return {"one projection, saved MB": layer_saved} | {
        k: {"ms": med(times[k]) * 1e3, "vs_fp32": med([a / b for a, b in zip(times[k], times["fp32"])]),
            "saved_for_backward_mb": saved[k] / 2**20, "saved_vs_fp32": saved[k] / saved["fp32"]}
        for k in models}


def _hwm_kib() -> int:
    """This process's peak resident memory (VmHWM; unlike ru_maxrss it starts afresh at exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _rss_child(shape: dict, fmt_name: str, batch: int, steps: int, queue) -> None:
    import torch

    torch.set_num_threads(1)
    torch.manual_seed(0)
    fmt = STEP_FORMATS[fmt_name]
    model = _model(shape, fmt)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    x = torch.randint(0, shape["vocab_size"], (batch, shape["context"] + 1))
    before = _hwm_kib()
    for _ in range(steps):
        _step(model, opt, x, fmt[3])
    queue.put((before, _hwm_kib()))


def peak_rss(shape: dict, batch: int, steps: int = 3) -> dict:
    """Each format in a fresh process: peak RSS over training steps, and its growth over the model and
    optimiser alone (the VmHWM high-water mark)."""
    ctx = mp.get_context("spawn")
    out = {}
    for name in STEP_FORMATS:
        q = ctx.Queue()
        p = ctx.Process(target=_rss_child, args=(shape, name, batch, steps, q))
        p.start()
        before, peak = q.get()
        p.join()
        out[name] = {"peak_mb": peak / 1024, "step_growth_mb": (peak - before) / 1024}
    return out


def markdown(results: dict) -> str:
    runs = results["runs"]
    langs = sorted({lang for r in runs["fp32"].values() for lang in r["bpb"]})
    lines = [("| setting | seeds | held-out bpb, mean of languages (mean ± sd) | vs | difference | pooled seed sds "
              "| paired sds | |"), "|---|---|---|---|---|---|---|---|"]
    ref_of = {}
    for a, b in COMPARISONS:
        ref_of.setdefault(a, []).append(b)
    for label in SETTINGS:
        if label not in runs:
            continue
        m, sd = stats([r["bpb_mean"] for r in runs[label].values()])
        refs = ref_of.get(label) or [None]
        for i, ref in enumerate(refs):
            head = f"| {label} | {len(runs[label])} | {m:.4f} ± {sd:.4f} " if i == 0 else "| | | "
            if ref is None or ref not in runs:
                lines.append(head + "| | | | | |")
                continue
            c = compare(runs, label, ref)
            verdict = "**real**" if c["real"] else "noise"
            lines.append(head + f"| {ref} | {c['diff']:+.4f} ({100 * c['rel']:+.2f}%) | {c['sds']:+.1f} | "
                         f"{c['paired_sds']:+.1f} | {verdict} |")
    lines += ["", "| language | " + " | ".join(SETTINGS) + " |", "|---|" + "---|" * len(SETTINGS)]
    for lang in langs:
        cells = []
        for label in SETTINGS:
            vals = [r["bpb"][lang] for r in runs.get(label, {}).values()]
            cells.append(f"{stats(vals)[0]:.3f} ± {stats(vals)[1]:.3f}" if vals else "")
        lines.append(f"| {lang} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def markdown_gradients(grad: dict) -> str:
    """Per layer and format: relative error (cosine), and the bias against its noise floor."""
    formats = list(grad)
    layers = list(grad[formats[0]])
    lines = ["| layer | " + " | ".join(formats) + " |", "|---|" + "---|" * len(formats)]
    for n in layers:
        lines.append(f"| {n} | " + " | ".join(f"{grad[f][n]['rel_error']:.3f} ({grad[f][n]['cosine']:.4f})"
                                              for f in formats) + " |")
    lines += ["", "| layer | " + " | ".join(formats) + " |", "|---|" + "---|" * len(formats)]
    for n in layers:
        lines.append(f"| {n} | " + " | ".join(f"{grad[f][n]['bias']:.4f} / {grad[f][n]['noise_floor']:.4f}"
                                              for f in formats) + " |")
    return "\n".join(lines) + "\n"


def markdown_steps(steptime: dict) -> str:
    lines = []
    for name, block in steptime.items():
        lines += [f"{name}: {block['shape']}", "",
                  "| format | step (median ms) | vs fp32 (median of per-round ratios) | kept for backward (MB) | "
                  "vs fp32 | peak RSS (MB) | RSS growth over model + optimiser (MB) |", "|---|---|---|---|---|---|---|"]
        for k, v in block["formats"].items():
            lines.append(f"| {k} | {v['ms']:.0f} | {v['vs_fp32']:.2f}x | {v['saved_for_backward_mb']:.1f} | "
                         f"{v['saved_vs_fp32']:.2f} | {v['peak_mb']:.0f} | {v['step_growth_mb']:.0f} |")
        lines += ["", "one projection alone, kept for backward (MB): "
                  + ", ".join(f"{k} {v:.2f}" for k, v in block["one projection, saved MB"].items()), ""]
    return "\n".join(lines)


def report(paths: list[str]) -> str:
    """The markdown tables of saved results (results.json of the sweep, and of a graderr/steptime run)."""
    merged: dict = {}
    runs: dict = {}
    for p in paths:
        saved = json.loads(Path(p).read_text())
        for label, by_seed in saved.pop("runs", {}).items():  # runs of one sweep shared by several processes
            runs.setdefault(label, {}).update({int(s): r for s, r in by_seed.items()})
        merged |= {k: v for k, v in saved.items() if v}
    if runs:
        merged["runs"] = {label: runs[label] for label in SETTINGS if label in runs}
    parts = [markdown(merged)] if "runs" in merged else []
    if "gradient_error" in merged:
        parts.append(markdown_gradients(merged["gradient_error"]))
    if "steptime" in merged:
        parts.append(markdown_steps(merged["steptime"]))
    return "\n".join(parts)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ntrex", default="/work/corpora/MicrosoftTranslator+NTREX/NTREX-128",
                    help="the NTREX-128 folder (newstest2019-ref.LANG.txt files)")
    ap.add_argument("--work", default="/tmp/curation-bench-quant")
    ap.add_argument("--only", default="train,graderr,steptime", help="train, graderr, steptime (comma-separated)")
    ap.add_argument("--settings", help="semicolon-separated subset of: " + "; ".join(SETTINGS))
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--seed-list", help="these seeds instead of 0..seeds-1 (e.g. 2)")
    ap.add_argument("--reverse", action="store_true", help="run the jobs last to first")
    ap.add_argument("--jobs", type=int, default=2, help="training runs at once (one torch thread each)")
    ap.add_argument("--block", type=int, default=16, help="sentences per document")
    ap.add_argument("--heldout", type=float, default=0.15, help="share of documents held out")
    ap.add_argument("--vocab", type=int, default=4096)
    ap.add_argument("--steps", type=int, default=150)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--context", type=int, default=128)
    ap.add_argument("--dim", type=int, default=96)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--eval-bytes", type=int, default=30_000, help="held-out bytes per language")
    ap.add_argument("--draws", type=int, default=64, help="stochastic-rounding draws for the gradient error")
    ap.add_argument("--rounds", type=int, default=10, help="interleaved step-time rounds")
    ap.add_argument("--big", default="384,4,6", help="dim,layers,heads of the larger step-time model ('' to skip)")
    ap.add_argument("--json", help="save every number here")
    ap.add_argument("--report", nargs="+", metavar="JSON", help="only print the tables of saved results")
    args = ap.parse_args(argv)
    if args.report:
        print(report(args.report))
        return 0
    only = set(args.only.split(","))
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)

    import pyarrow.parquet as pq
    import torch

    from curation.tokenize import tokenize_dataset, train_bpe

    print(f"load average {os.getloadavg()}, {os.cpu_count()} CPUs, torch {torch.__version__}", flush=True)
    results = {"args": vars(args), "load_before": os.getloadavg(), "date": time.strftime("%Y-%m-%d %H:%M UTC",
                                                                                          time.gmtime())}
    results["corpus"] = build_corpus(Path(args.ntrex), NTREX_LANGS, work, args.block, args.heldout, seed=0)
    print(f"  corpus: {results['corpus']}", flush=True)
    tok = work / "tokenizer.json"
    if not tok.exists():
        train_bpe(pq.read_table(work / "train")["text"].to_pylist(), args.vocab, tok)  # the training split only
    from curation.tokenize.encode import read_summary

    summary = read_summary(work / "shards") or tokenize_dataset([str(work / "train")], work / "shards", str(tok),
                                                                 progress=False)
    results["shards"] = {k: v for k, v in summary.items() if k in ("documents", "tokens")}
    labels = [s.strip() for s in args.settings.split(";")] if args.settings else list(SETTINGS)
    json_path = Path(args.json) if args.json else work / "results.json"

    def save():
        json_path.write_text(json.dumps(results, indent=1, default=str))

    if "train" in only:
        runs = results.setdefault("runs", {})
        seeds = [int(x) for x in args.seed_list.split(",")] if args.seed_list else range(args.seeds)
        jobs = [(label, seed) for seed in seeds for label in labels]  # seed-major: usable when cut short
        if args.reverse:  # a second process sharing the work: it starts where the first ends
            jobs.reverse()
        t0 = time.perf_counter()
        with ProcessPoolExecutor(args.jobs, mp_context=mp.get_context("spawn")) as pool:
            futures = {pool.submit(run_one, config_for(args, work, label, seed)): (label, seed)
                       for label, seed in jobs}
            for i, fut in enumerate(futures):
                label, seed = futures[fut]
                r = fut.result()
                runs.setdefault(label, {})[seed] = {"bpb": r["bpb"], "bpb_mean": r["bpb_mean"],
                                                    "step_time": r["step_time_median"], "wall_s": r.get("wall_s")}
                results["parameters"], results["tokens_per_run"] = r["parameters"], r["tokens"]
                print(f"  [{i + 1}/{len(jobs)} {time.perf_counter() - t0:.0f}s] {label:<16} seed {seed}: "
                      f"bpb {r['bpb_mean']:.4f}", flush=True)
                save()
        results["comparisons"] = {f"{a} vs {b}": compare(runs, a, b) for a, b in COMPARISONS
                                  if a in runs and b in runs}
        results["table"] = markdown(results)
        print(results["table"], flush=True)
        save()
    if "graderr" in only:
        results["gradient_error"] = gradient_error(args, work, [(8, 8), (8, 1), (6, 8), (6, 1), (4, 8), (4, 1)],
                                                   args.draws)
        save()
    if "steptime" in only:
        shape = {"vocab_size": args.vocab, "dim": args.dim, "layers": args.layers, "heads": args.heads,
                 "context": args.context}
        sizes = {"sweep model": shape}
        if args.big:
            d, layer, h = (int(v) for v in args.big.split(","))
            sizes["larger model"] = shape | {"dim": d, "layers": layer, "heads": h}
        results["steptime"] = {}
        for name, sh in sizes.items():
            st = step_times(sh, args.batch, args.rounds)
            rss = peak_rss(sh, args.batch)
            results["steptime"][name] = {"shape": sh, "one projection, saved MB": st.pop("one projection, saved MB"),
                                         "formats": {k: st[k] | rss[k] for k in st}}
            print(f"  {name} {sh}: " + ", ".join(
                f"{k} {v['vs_fp32']:.2f}x ({v['ms']:.0f} ms, saved {v['saved_for_backward_mb']:.1f} MB, peak "
                f"{v['peak_mb']:.0f} MB)" for k, v in results["steptime"][name]["formats"].items()), flush=True)
            save()
    results["load_after"] = os.getloadavg()
    save()
    print(f"load average {os.getloadavg()} -> {json_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
