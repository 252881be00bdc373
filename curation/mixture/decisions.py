"""The filters' decisions by cluster size, read from a pipeline output: what rehydration weights are measured on.

Kept documents are `<out>/<language>/*.parquet`; documents that a filter after dedup removed are in
`<out>/_exclusions/<NN_stage>/<language>/*.parquet` (stages with `exclusions: true`), and carry the
`minhash_cluster_size` the dedup stage gave them. Documents removed before dedup have no cluster size, and
the dedup stage's own removals (files with `duplicate_of`) are duplicates, not filter decisions: both are
left out. `stats.json` says how many documents each stage removed, so a stage after dedup that did not
keep its exclusions is found and named."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq

from curation.core import CurationError
from curation.mixture.sources import language_folders

SIZE = "minhash_cluster_size"


def _sizes(files: list[Path], where: str) -> tuple[np.ndarray, int]:
    """Cluster sizes of the files' rows, and how many rows had none."""
    parts, missing = [], 0
    for f in files:
        pf = pq.ParquetFile(f)
        if SIZE not in pf.schema_arrow.names:
            raise CurationError(f"{f}: no '{SIZE}' column ({where}); was the pipeline run with a dedup stage?")
        col = pf.read(columns=[SIZE]).column(SIZE)
        missing += col.null_count
        parts.append(pc.drop_null(col).to_numpy().astype(np.int64))
    return (np.concatenate(parts) if parts else np.zeros(0, np.int64)), missing


def filter_decisions(out: str, languages: list[str] | None = None) -> tuple[dict, list[str]]:
    """Per language: {"kept": sizes, "removed": sizes, "removed_by": Counter(stage)}; and warnings."""
    kept_folders = language_folders(out, "pipeline output")
    excl_root = Path(out) / "_exclusions"
    removed: dict[str, list[Path]] = {}
    stage_of: dict[Path, str] = {}
    if excl_root.is_dir():
        for stage_dir in sorted(p for p in excl_root.iterdir() if p.is_dir()):
            for lang_dir in sorted(p for p in stage_dir.iterdir() if p.is_dir()):
                files = sorted(lang_dir.glob("*.parquet"))
                files = [f for f in files if "duplicate_of" not in pq.read_schema(f).names]
                removed.setdefault(lang_dir.name, []).extend(files)
                stage_of.update({f: stage_dir.name for f in files})
    langs = languages or sorted(set(kept_folders) | set(removed))
    explicit = bool(languages)
    result, warnings = {}, []
    for lang in langs:
        if lang not in kept_folders and lang not in removed:
            raise CurationError(f"pipeline output '{out}': no documents of {lang} (kept or removed)")
        kept, k_missing = _sizes(kept_folders.get(lang, []), "kept documents")
        if k_missing:
            raise CurationError(f"{out}/{lang}: {k_missing} kept documents have no {SIZE}; rehydration weights "
                                "need the dedup stage's cluster size on every kept document")
        sizes, by = [], Counter()
        for f in removed.get(lang, []):
            s, _ = _sizes([f], "removed documents")  # rows without a size were removed before dedup
            sizes.append(s)
            if len(s):
                by[stage_of[f]] += len(s)
        rem = np.concatenate(sizes) if sizes else np.zeros(0, np.int64)
        if not explicit and len(kept) + len(rem) == 0:
            continue  # removed before dedup only: nothing to measure, and not in the output either
        result[lang] = {"kept": kept, "removed": rem, "removed_by": by}
    warnings += _check_against_stats(out, result)
    return result, warnings


def _check_against_stats(out: str, result: dict) -> list[str]:
    """Compare the removals found in exclusion folders with the counts in stats.json."""
    stats_path = Path(out) / "stats.json"
    if not stats_path.is_file():
        return [f"{out}: no stats.json, so missing exclusion folders cannot be detected"]
    stats = json.loads(stats_path.read_text())
    keys = [s.get("key") for s in stats.get("stages", [])]
    dedup_at = next((i for i, k in enumerate(keys) if k == "dedup"), None)
    if dedup_at is None:
        raise CurationError(f"{out}/stats.json: the run had no dedup stage, so documents carry no cluster sizes")
    after = set(keys[dedup_at + 1:])
    problems, no_removals = [], []
    for lang, r in result.items():
        removed = stats.get("languages", {}).get(lang, {}).get("removed", {})
        expected = sum(n for reason, n in removed.items() if reason.split(":", 1)[0] in after)
        found = len(r["removed"])
        if expected > found:
            problems.append(f"{lang}: stats.json counts {expected} documents removed after dedup, the exclusion "
                            f"folders hold {found}")
        if expected == 0 and found == 0:
            no_removals.append(lang)
    warnings = []
    if problems:
        warnings.append("removal rates are measured on part of the decisions only (set `exclusions: true` on every "
                        "filter stage after dedup and run again): " + "; ".join(problems[:10])
                        + (f"; and {len(problems) - 10} more languages" if len(problems) > 10 else ""))
    if no_removals:
        warnings.append(f"{len(no_removals)} languages had nothing removed after dedup, so every bucket gets 1 copy: "
                        + ", ".join(no_removals[:10]) + (" ..." if len(no_removals) > 10 else ""))
    return warnings
