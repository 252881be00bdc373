"""The training loop: AdamW with warm-up and cosine decay, gradient clipping, held-out bits per byte per
language, JSONL logs, and checkpoints that a killed run resumes from with the same data order.

A checkpoint holds the model, the optimiser, the step and the RNG states (stochastic rounding draws from
torch's generator), and is written atomically (curation.atomic). Batches are a function of
(seed, step) (see data.py), so the steps after a resume see exactly what they would have seen.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import torch
from tqdm import tqdm

from curation import atomic
from curation.core import CurationError
from curation.tokenize.encode import input_files, read_summary
from curation.tokenize.tokenizer import eos_id, fingerprint, load_tokenizer
from curation.train.config import TrainConfig
from curation.train.data import TokenBatches
from curation.train.evaluate import bits_per_byte, encode_heldout, load_heldout
from curation.train.model import Llama

CHECKPOINT = "checkpoint.pt"
LOG = "log.jsonl"
RESULT = "result.json"


def pick_device(name: str) -> str:
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise CurationError(f"device '{name}': no CUDA device here (use auto or cpu)")
    return name


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Linear warm-up to lr, then cosine decay to min_lr at the last step."""
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    progress = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
    return cfg.min_lr + 0.5 * (cfg.lr - cfg.min_lr) * (1 + math.cos(math.pi * min(progress, 1.0)))


def make_optimizer(model: torch.nn.Module, cfg: TrainConfig) -> torch.optim.AdamW:
    decay = [p for p in model.parameters() if p.dim() >= 2]
    rest = [p for p in model.parameters() if p.dim() < 2]
    return torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                              {"params": rest, "weight_decay": 0.0}], lr=cfg.lr, betas=cfg.betas)


def save_checkpoint(path: Path, model, optimizer, step: int, cfg: TrainConfig) -> None:
    state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "step": step,
             "config": cfg.model_dump(mode="json"), "tokenizer_sha": fingerprint(cfg.tokenizer),
             "torch_rng": torch.get_rng_state(),
             "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None}
    atomic.write_with(path, lambda tmp: torch.save(state, tmp))


def load_checkpoint(path: Path, device: str) -> dict:
    try:
        state = torch.load(path, map_location=device, weights_only=False)
        if not isinstance(state, dict) or not {"model", "optimizer", "step"} <= state.keys():
            raise ValueError("missing model, optimizer or step")
        return state
    except Exception as e:  # torch raises many kinds on a damaged file
        raise CurationError(f"checkpoint {path}: cannot be read ({str(e).splitlines()[0][:200]}); delete it to "
                            "start over, or restore a good copy") from None


def _same_run(saved: dict, cfg: TrainConfig) -> list[str]:
    now = cfg.model_dump(mode="json")
    saved = {"precision": "float32"} | saved  # checkpoints from before the setting existed
    keys = ("tokenizer", "data", "model", "seed", "batch_size", "precision")
    return [k for k in keys if saved.get(k) != now.get(k)]


def _refuse_training_text_as_heldout(cfg: TrainConfig) -> None:
    """Bits per byte on text the model trained on is training loss: refuse held-out files that a training
    shard folder was tokenized from (its tokenize.json lists them)."""
    held = {Path(p).resolve() for p, _ in input_files(cfg.eval.paths)}
    for d in cfg.data:
        used = {Path(p).resolve() for p in (read_summary(d.path) or {}).get("inputs", [])}
        both = sorted(held & used)
        if both:
            raise CurationError(f"eval.paths: {both[0]}{f' (and {len(both) - 1} more)' if len(both) > 1 else ''} "
                                f"is also training data (token shards '{d.path}' were made from it), so its bits "
                                "per byte would be training loss; hold text out first with `curate split`")


def train(cfg: TrainConfig, progress: bool = True, stop_after: int | None = None) -> dict:
    """Train (or resume) the run in `cfg.output`; `stop_after` ends early after that step, as a kill would."""
    out = Path(cfg.output)
    out.mkdir(parents=True, exist_ok=True)
    device = pick_device(cfg.device)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    tokenizer = load_tokenizer(cfg.tokenizer)
    vocab = tokenizer.get_vocab_size(with_added_tokens=True)
    mcfg = cfg.model.model_copy(update={"vocab_size": vocab})  # the tokenizer decides the vocabulary
    cfg = cfg.model_copy(update={"model": mcfg})
    batches = TokenBatches([(d.path, d.weight) for d in cfg.data], mcfg.context, cfg.seed,
                           tokenizer_sha=fingerprint(cfg.tokenizer), vocab_size=vocab)
    heldout = None
    if cfg.eval:
        _refuse_training_text_as_heldout(cfg)
        heldout = encode_heldout(tokenizer, load_heldout(cfg.eval.paths, max_bytes=cfg.eval.max_bytes_per_language,
                                                         language=cfg.eval.language), eos_id(tokenizer))

    torch.manual_seed(cfg.seed)
    model = Llama(mcfg).to(device)
    optimizer = make_optimizer(model, cfg)
    start = 0
    ckpt = out / CHECKPOINT
    if ckpt.exists():
        state = load_checkpoint(ckpt, device)
        changed = _same_run(state.get("config", {}), cfg)
        if state.get("tokenizer_sha") != fingerprint(cfg.tokenizer):
            changed.append("tokenizer file")
        if changed:
            raise CurationError(f"{ckpt}: a run with other {', '.join(changed)}; give another output folder "
                                "or delete the checkpoint")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        torch.set_rng_state(state["torch_rng"].cpu())
        if state.get("cuda_rng") is not None and device.startswith("cuda"):
            torch.cuda.set_rng_state_all(state["cuda_rng"])
        start = state["step"]
    atomic.write_text(out / "config.json", json.dumps(cfg.model_dump(mode="json"), indent=1))
    log_path = out / LOG
    kept = [ln for ln in (log_path.read_text().splitlines() if log_path.exists() else [])
            if ln and json.loads(ln).get("step", 0) <= start]  # drop what the killed run logged after its checkpoint
    atomic.write_text(log_path, "".join(ln + "\n" for ln in kept))

    last_eval = None
    step_times = []
    model.train()
    with open(log_path, "a") as log, tqdm(total=cfg.steps, initial=start, desc="train", unit=" steps",
                                          disable=not progress, mininterval=0.5) as bar:
        def write(rec):
            log.write(json.dumps(rec) + "\n")
            log.flush()

        if start == 0:
            write({"step": 0, "parameters": model.num_parameters(), "device": device,
                   "tokens_per_step": cfg.batch_size * mcfg.context})
        for step in range(start, cfg.steps):
            t0 = time.perf_counter()
            lr = lr_at(step, cfg)
            for group in optimizer.param_groups:
                group["lr"] = lr
            x, y = batches.batch(step, cfg.batch_size)
            with torch.autocast(device.split(":")[0], dtype=torch.bfloat16, enabled=cfg.precision == "bfloat16"):
                loss = model(x.to(device), y.to(device))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            norm = torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            optimizer.step()
            if device.startswith("cuda"):
                torch.cuda.synchronize()
            dt = time.perf_counter() - t0
            step_times.append(dt)
            rec = {"step": step + 1, "loss": round(loss.item(), 5), "lr": lr, "grad_norm": round(float(norm), 4),
                   "step_time": round(dt, 5)}
            done = step + 1 == cfg.steps
            if heldout and ((step + 1) % cfg.eval.every == 0 or done):
                last_eval = bits_per_byte(model, heldout, cfg.eval.batch_size, device)
                rec["bpb"] = {k: round(v, 5) for k, v in last_eval.items()}
                rec["bpb_mean"] = round(sum(last_eval.values()) / len(last_eval), 5)
            write(rec)
            bar.update(1)
            bar.set_postfix_str(f"loss {loss.item():.3f}" + (f" bpb {rec['bpb_mean']:.3f}" if "bpb" in rec else ""),
                                refresh=False)
            if (step + 1) % cfg.checkpoint_every == 0 or done:
                save_checkpoint(ckpt, model, optimizer, step + 1, cfg)
            if stop_after is not None and step + 1 >= stop_after and not done:
                return {"stopped_at": step + 1}
    if heldout and last_eval is None:  # resumed after the end: evaluate the final model again
        last_eval = bits_per_byte(model, heldout, cfg.eval.batch_size, device)
    result = {"steps": cfg.steps, "parameters": model.num_parameters(), "device": device,
              "tokens": cfg.steps * cfg.batch_size * mcfg.context,
              "step_time_median": sorted(step_times)[len(step_times) // 2] if step_times else None,
              "bpb": last_eval, "bpb_mean": sum(last_eval.values()) / len(last_eval) if last_eval else None}
    atomic.write_text(out / RESULT, json.dumps(result, indent=1))
    return result
