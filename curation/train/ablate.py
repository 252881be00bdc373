"""`curate ablate`: train the same model on several dataset variants with the same token budget and several
seeds, then compare held-out bits per byte per language (FineWeb2's ablations, at CPU scale).

A difference between a variant and the first (the baseline) counts as real when it exceeds 3 seed standard
deviations: |mean_v - mean_base| > 3 * sqrt((sd_v^2 + sd_base^2) / 2), with sample standard deviations over
the seeds. Every run is an ordinary resumable training run in OUTPUT/<variant>/seed<N>, so a killed
ablation started again continues where it stopped.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from curation import atomic
from curation.core import CurationError
from curation.train.config import AblationConfig, TrainConfig
from curation.train.trainer import train


def run_config(cfg: AblationConfig, variant: str, seed: int) -> TrainConfig:
    base = cfg.model_dump(exclude={"variants", "seeds", "data", "output"})
    return TrainConfig.model_validate(base | {"data": [d.model_dump() for d in cfg.variants[variant]], "seed": seed,
                                              "output": str(Path(cfg.output) / variant / f"seed{seed}")})


def compare(results: dict[str, dict[int, dict[str, float]]]) -> dict:
    """Per language and variant: mean, seed sd, and the difference to the baseline in pooled seed sds."""
    variants = list(results)
    base = variants[0]
    languages = sorted({lang for runs in results.values() for r in runs.values() for lang in r})
    table = {}
    for lang in languages:
        row = {}
        for v in variants:
            vals = np.array([r[lang] for r in results[v].values() if lang in r])
            row[v] = {"mean": float(vals.mean()), "sd": float(vals.std(ddof=1)) if len(vals) > 1 else 0.0,
                      "n": len(vals)}
        for v in variants[1:]:
            pooled = math.sqrt((row[v]["sd"] ** 2 + row[base]["sd"] ** 2) / 2)
            diff = row[v]["mean"] - row[base]["mean"]
            row[v]["diff"] = diff
            if min(row[v]["n"], row[base]["n"]) < 2:  # one seed has no spread: nothing can be called real
                row[v]["sds"] = math.nan
            else:
                row[v]["sds"] = diff / pooled if pooled > 0 else (math.copysign(math.inf, diff) if diff else 0.0)
            row[v]["real"] = bool(abs(row[v]["sds"]) > 3)
        table[lang] = row
    return {"baseline": base, "variants": variants, "languages": table}


def markdown(cmp: dict) -> str:
    base, variants = cmp["baseline"], cmp["variants"]
    head = "| language | " + " | ".join(f"{v} bpb (mean ± sd)" for v in variants) + " | " + \
        " | ".join(f"{v} - {base} (seed sds)" for v in variants[1:]) + " |"
    lines = [head, "|" + "---|" * (1 + 2 * len(variants) - 1)]
    for lang, row in cmp["languages"].items():
        cells = [f"{row[v]['mean']:.4f} ± {row[v]['sd']:.4f}" for v in variants]
        diffs = [f"{row[v]['diff']:+.4f} ({row[v]['sds']:+.1f}{', real' if row[v]['real'] else ''})"
                 for v in variants[1:]]
        lines.append(f"| {lang} | " + " | ".join(cells + diffs) + " |")
    return "\n".join(lines) + "\n"


def plot(cmp: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    langs, variants = list(cmp["languages"]), cmp["variants"]
    width = 0.8 / len(variants)
    fig, ax = plt.subplots(figsize=(max(6, 0.6 * len(langs) * len(variants)), 4))
    for i, v in enumerate(variants):
        means = [cmp["languages"][lang][v]["mean"] for lang in langs]
        sds = [cmp["languages"][lang][v]["sd"] for lang in langs]
        ax.bar(np.arange(len(langs)) + i * width, means, width, yerr=sds, capsize=3, label=v)
    ax.set_xticks(np.arange(len(langs)) + width * (len(variants) - 1) / 2, langs, rotation=45, ha="right")
    ax.set_ylabel("held-out bits per byte (lower is better)")
    ax.set_title("bits per byte per language, error bars: seed standard deviation")
    ax.legend()
    fig.tight_layout()
    atomic.write_with(path, lambda tmp: fig.savefig(tmp, dpi=100, format="png"))
    plt.close(fig)


def ablate(cfg: AblationConfig, progress: bool = True) -> dict:
    if not cfg.eval:
        raise CurationError("ablation: give eval.paths (clean held-out text) to compare the variants on")
    results: dict[str, dict[int, dict[str, float]]] = {}
    for variant in cfg.variants:
        results[variant] = {}
        for seed in cfg.seeds:
            if progress:
                print(f"== {variant}, seed {seed}")
            results[variant][seed] = train(run_config(cfg, variant, seed), progress=progress)["bpb"]
    cmp = compare(results)
    out = Path(cfg.output)
    atomic.write_text(out / "ablation.json", json.dumps({"runs": results} | cmp, indent=1))
    atomic.write_text(out / "ablation.md", markdown(cmp))
    plot(cmp, out / "ablation.png")
    return cmp
