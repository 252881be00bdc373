"""The dataset card (README.md): Hugging Face metadata with one `configs:` entry per language plus the whole
mixture (the default), so `datasets.load_dataset(repo, "fra_Latn")` and the Hub's viewer find the files,
and a readable account of what went in, from mixture.json."""

from __future__ import annotations

from pathlib import Path

import yaml

from curation import atomic

MIXTURE_CONFIG = "mixture"


def _size_category(n: int) -> str:
    for limit, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"),
                        (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M"), (1_000_000_000, "100M<n<1B")):
        if n < limit:
            return name
    return "1B<n<10B"


def configs(summary: dict) -> list[dict]:
    out = [{"config_name": MIXTURE_CONFIG, "default": True,
            "data_files": [{"split": "train", "path": "data/*/*.parquet"}]}]
    for lang, v in sorted(summary["languages"].items()):
        if v["files"]:
            out.append({"config_name": lang, "data_files": [{"split": "train", "path": f"data/{lang}/*.parquet"}]})
    return out


def card_text(summary: dict) -> str:
    card = summary.get("card") or {}
    meta = {
        "pretty_name": card.get("pretty_name", "Training mixture"),
        "license": card.get("license", "other"),
        "language": sorted({lang.split("_")[0] for lang in summary["languages"] if lang != "unknown"}),
        "task_categories": ["text-generation"],
        "size_categories": [_size_category(summary["documents"])],
        "configs": configs(summary),
    }
    s, unit = summary["sampling"], summary["unit"]
    rule = {"proportional": "proportional to each language's rehydrated size",
            "temperature": f"temperature sampling, p_l proportional to n_l^{s['alpha']:g}",
            "unimax": "UniMax: an even budget per language, smaller languages capped",
            "weights": "the shares given per language"}[s["strategy"]]
    lines = [
        "---", yaml.safe_dump(meta, sort_keys=False, allow_unicode=True).rstrip(), "---", "",
        f"# {meta['pretty_name']}", "",
        card.get("description", "A multilingual pre-training mixture built with `curate mix` from the per-language "
                                "datasets of a `curation` pipeline run."), "",
        f"- **{summary['documents']:,} documents, {summary['tokens']:,} tokens** (tokenizer: `{summary['tokenizer']}`) "
        f"in {len(summary['languages'])} languages.",
        f"- Budgets in {unit}, {rule}; at most {s['epoch_cap']:g} passes over any language's data.",
        f"- Rehydration: `{summary['rehydration']}` (copies of a document by its MinHash cluster size).",
        f"- Shuffled with seed {summary['seed']}; `mixture.json` records every source, weight, epoch count and count.",
        "",
        "## Loading", "",
        "```python",
        "from datasets import load_dataset",
        f'mixture = load_dataset("REPO", split="train")                 # config "{MIXTURE_CONFIG}": every language',
        'one_language = load_dataset("REPO", "LANGUAGE", split="train")  # e.g. a config name from the table',
        "```", "",
        "Columns: `id`, `text`, `language`, `source` (original, rephrased or replay), `url`, `minhash_cluster_size`, "
        "`rephrase_style`, `copy` (0 for a document's first copy in the mixture, 1 for the second, ...).", "",
        "## Languages", "",
        "| config | documents | tokens | share of tokens | epochs | sources |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for lang, v in summary["languages"].items():
        orig = v["sources"].get("original", {})
        srcs = ", ".join(f"{k} {s_.get('documents_out', 0):,}" for k, s_ in v["sources"].items())
        lines.append(f"| {lang} | {v['documents']:,} | {v['tokens']:,} | {v['share_tokens']:.2%} | "
                     f"{orig.get('epochs', 0):.2f} | {srcs} |")
    if summary.get("warnings"):
        lines += ["", "## Notes from the build", ""] + [f"- {w}" for w in summary["warnings"]]
    return "\n".join(lines) + "\n"


def write_card(out: Path, summary: dict) -> Path:
    path = Path(out) / "README.md"
    atomic.write_text(path, card_text(summary))
    return path


def read_card_metadata(path: Path) -> dict:
    """The YAML block between the leading `---` lines of a README.md (empty when there is none)."""
    text = Path(path).read_text(encoding="utf-8")
    if not text.startswith("---"):
        return {}
    end = text.find("\n---", 3)
    if end < 0:
        raise ValueError("the metadata block opened by '---' is never closed")
    return yaml.safe_load(text[3:end]) or {}
