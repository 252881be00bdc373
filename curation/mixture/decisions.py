"""The filters' decisions by cluster size, read from a pipeline output: what rehydration weights are measured on.

Kept documents are `<out>/<language>/*.parquet`; documents that a filter after dedup removed are in
`<out>/_exclusions/<NN_stage>/<language>/*.parquet` (stages with `exclusions: true`), and carry the
`minhash_cluster_size` the dedup stage gave them. Documents removed before dedup have no cluster size.

The filters after dedup only ever saw one document per cluster. The copies the dedup stage removed are in
its exclusion folder (files with `duplicate_of`), with their cluster size; `judge_duplicates` runs the same
filter stages, built from the run's manifest, over them, so the removal rate of a bucket counts every
document of that size, as FineWeb2 measures it. `stats.json` says how many documents each stage removed,
so a stage after dedup that did not keep its exclusions is found and named."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq

from curation.core import CurationError
from curation.mixture.sources import SIZE, language_folders
from curation.run import layout


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


def _post_dedup_filters(out: str, manifest_path: str | None):
    """The run's filter stages after its dedup stage, built from its manifest (recorded in _logs/run.json)."""
    from curation.core import Filter, build_stage, get_stage
    from curation.manifest import COMMON_STAGE_KEYS, load_manifest

    if manifest_path is None:
        run = layout.run_stamp(out)
        if not run.is_file():
            raise CurationError(f"{out}: no _logs/run.json, so the run's manifest is unknown; give --manifest")
        manifest_path = json.loads(run.read_text()).get("manifest")
    if not manifest_path or not Path(manifest_path).is_file():
        raise CurationError(f"{out}: the run's manifest '{manifest_path}' is not there; give --manifest PATH "
                            "(or --representatives-only)")
    manifest = load_manifest(manifest_path)
    names = [s["stage"] for s in manifest.stages]
    if "dedup" not in names:
        raise CurationError(f"{manifest_path}: no dedup stage")
    steps = []
    for spec in manifest.stages[names.index("dedup") + 1:]:
        step = build_stage(get_stage(spec["stage"]), {k: v for k, v in spec.items() if k not in COMMON_STAGE_KEYS})
        if isinstance(step, Filter):
            steps.append(step)
    return steps


def judge_duplicates(out: str, result: dict, manifest_path: str | None = None, progress: bool = True) -> int:
    """Run the filters after dedup over the removed duplicates and add their decisions to `result` (per
    language: `kept`/`removed` cluster sizes). Returns how many duplicates were judged."""
    from datatrove.data import Document
    from tqdm import tqdm

    files = [f for f in sorted((Path(out) / "_exclusions").glob("*/*.parquet"))
             if "duplicate_of" in pq.read_schema(f).names and SIZE in pq.read_schema(f).names]
    if not files:
        return 0
    steps = _post_dedup_filters(out, manifest_path)
    judged = 0
    sizes = {lang: ([], []) for lang in result}  # kept, removed
    bar = tqdm(desc="judging duplicates", unit=" docs", disable=not progress)
    for f in files:
        pf = pq.ParquetFile(f)
        cols = [c for c in ("id", "text", "language", SIZE) if c in pf.schema_arrow.names]
        for b in pf.iter_batches(batch_size=1024, columns=cols):
            rows = [r for r in b.to_pylist() if r.get("language") in result and r.get(SIZE) is not None]
            docs = [Document(text=r.get("text") or "", id=f"{i}", metadata={"language": r["language"], SIZE: r[SIZE]})
                    for i, r in enumerate(rows)]
            data = iter(docs)
            for step in steps:
                data = step.run(data)
            kept = {d.id for d in data}
            for d in docs:
                lang = d.metadata["language"]
                sizes[lang][0 if d.id in kept else 1].append(d.metadata[SIZE])
            judged += len(docs)
            bar.update(len(b))
    bar.close()
    for lang, r in result.items():
        k, rm = sizes[lang]
        r["duplicates_judged"] = {"kept": len(k), "removed": len(rm)}
        r["kept"] = np.concatenate([r["kept"], np.asarray(k, dtype=np.int64)])
        r["removed"] = np.concatenate([r["removed"], np.asarray(rm, dtype=np.int64)])
    return judged


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
