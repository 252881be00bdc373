"""`curate mix`: plan, write and describe a mixture (data/<language>/*.parquet, mixture.json, README.md).

The work happens in `<output>/.building/`; the finished dataset is moved into place at the end, so a
half-written mixture is never mistaken for a finished one. A killed build started again with the same
spec and input reuses the scattered copies and the shards already written (everything is seeded, so the
result is the same as an uninterrupted run)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from curation import atomic
from curation.core import CurationError
from curation.mixture.card import write_card
from curation.mixture.plan import Plan, describe_source, make_plan
from curation.mixture.shards import Scatter, SourceCounts, shard_jobs, write_shard
from curation.mixture.spec import MixtureSpec

BUILDING = ".building"


def _fingerprint(plan: Plan) -> str:
    data = plan.spec.model_dump()
    data["_files"] = [(str(f), f.stat().st_size, f.stat().st_mtime_ns) for p in plan.sources for f in p.source.files]
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _write_json(path: Path, data: dict) -> None:
    atomic.write_text(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def _counts_to_json(c: SourceCounts) -> dict:
    return {"documents_in": c.documents_in, "tokens_in": c.tokens_in, "documents_out": c.documents_out,
            "tokens_out": c.tokens_out, "repetitions": {str(k): v for k, v in sorted(c.repetitions.items())},
            "by_language": dict(c.by_language), "tokens_by_language": dict(c.tokens_by_language)}


def _counts_from_json(d: dict) -> SourceCounts:
    return SourceCounts(d["documents_in"], d["tokens_in"], d["documents_out"], d["tokens_out"],
                        Counter({int(k): v for k, v in d["repetitions"].items()}), Counter(d["by_language"]),
                        Counter(d["tokens_by_language"]))


def build_mixture(spec: MixtureSpec, overwrite: bool = False, progress: bool = True, log=print) -> dict:
    """Build the mixture `spec` describes; returns the content of mixture.json."""
    from tqdm import tqdm

    started = time.time()
    out = Path(spec.output)
    if Path(spec.input).resolve() == out.resolve() or Path(spec.input).resolve() in out.resolve().parents:
        raise CurationError(f"mixture output '{out}' is inside its input '{spec.input}'; choose another folder")
    plan = make_plan(spec, progress)
    for w in plan.warnings:
        log(f"warning: {w}")
    fp = _fingerprint(plan)
    done = out / "mixture.json"
    work = out / BUILDING
    state_path = work / "state.json"
    state = json.loads(state_path.read_text()) if state_path.exists() else {}
    resuming = state.get("fingerprint") == fp  # this very build was started before (and allowed then)
    if done.exists() and not resuming:
        previous = json.loads(done.read_text(encoding="utf-8"))
        if previous.get("fingerprint") == fp and not overwrite:
            log(f"{out}: already built from the same spec and input (mixture.json); nothing to do")
            return previous
        if not overwrite:
            raise CurationError(f"mixture output '{out}' holds a different mixture; choose another output, "
                                "or pass --overwrite to replace it")
    elif not resuming and out.exists() and any(p.name != BUILDING for p in out.iterdir()) and not overwrite:
        raise CurationError(f"mixture output '{out}' exists and is not a mixture; choose another output, "
                            "or pass --overwrite to replace it")
    if not resuming:
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        state = {"fingerprint": fp, "scattered": False}
        _write_json(state_path, state)
    tmp, data = work / "scatter", work / "data"
    if not state.get("scattered"):
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(data, ignore_errors=True)
        tmp.mkdir(parents=True)
        scatter = Scatter(plan, tmp)
        bar = tqdm(total=sum(p.source.rows for p in plan.sources), desc="mixing", unit=" docs", disable=not progress)
        counts = []
        try:
            for sp in plan.sources:
                counts.append(_counts_to_json(scatter.source(sp, bar)))
        finally:
            scatter.close()
            bar.close()
        state = {"fingerprint": fp, "scattered": True, "counts": counts,
                 "shard_rows": {f"{lang}\t{s}": n for (lang, s), n in scatter.rows.items()}}
        _write_json(state_path, state)
    counts = [_counts_from_json(c) for c in state["counts"]]
    shard_rows: dict[str, dict[int, int]] = {}
    for key, n in state["shard_rows"].items():
        lang, s = key.split("\t")
        shard_rows.setdefault(lang, {})[int(s)] = n
    files: dict[str, list[dict]] = {}
    jobs = shard_jobs(shard_rows)
    # shards are shuffled and compressed two at a time (Arrow works without the GIL): memory is two shards
    with ThreadPoolExecutor(max_workers=max(1, min(2, os.cpu_count() or 1))) as pool:
        done_files = pool.map(lambda job: write_shard(tmp, data, job, spec.seed, spec.row_group_size), jobs)
        for job, rel in zip(jobs, tqdm(done_files, total=len(jobs), desc="shuffling", unit=" shards",
                                       disable=not progress)):
            files.setdefault(job[0], []).append({"file": rel, "rows": shard_rows[job[0]][job[1]]})
    summary = describe(plan, counts, files, fp, time.time() - started)
    # the finished dataset replaces whatever was there
    for old in ("data", "README.md", "mixture.json"):
        p = out / old
        if p.is_dir():
            shutil.rmtree(p)
        elif p.exists():
            p.unlink()
    data.mkdir(parents=True, exist_ok=True)  # an empty mixture still gets its (empty) data folder
    os.replace(data, out / "data")
    write_card(out, summary)
    _write_json(done, summary)
    shutil.rmtree(work, ignore_errors=True)
    return summary


def describe(plan: Plan, counts: list[SourceCounts], files: dict[str, list[dict]], fingerprint: str,
             seconds: float) -> dict:
    """mixture.json: every source with its weights, passes and counts, per language and in total; the counts
    reconcile (documents out = sum of copies x documents with that many copies), or building fails."""
    spec, unit = plan.spec, plan.spec.unit
    languages: dict[str, dict] = {}
    replay = None
    for sp, c in zip(plan.sources, counts):
        reconciled = sum(k * v for k, v in c.repetitions.items())
        if reconciled != c.documents_out or sum(c.repetitions.values()) != c.documents_in:
            raise CurationError(f"internal error: {sp.source.name} {sp.source.language}: counts do not reconcile")
        entry = describe_source(sp, unit) | {
            "documents_in": c.documents_in, "tokens_in": c.tokens_in,
            "repetitions": {str(k): v for k, v in sorted(c.repetitions.items())},
            "documents_out": c.documents_out, "tokens_out": c.tokens_out}
        if sp.source.language is None:
            entry["path"] = spec.replay.source
            entry["share"] = spec.replay.share
            entry["documents_out_by_language"] = dict(sorted(c.by_language.items()))
            replay = entry
        for lang, n in c.by_language.items():
            lang_entry = languages.setdefault(lang, {"sources": {}, "documents": 0, "tokens": 0})
            lang_entry["documents"] += n
            lang_entry["tokens"] += c.tokens_by_language[lang]
            if sp.source.language is not None:
                lang_entry["sources"][sp.source.name] = entry
            else:
                lang_entry["sources"]["replay"] = {"documents_out": n, "tokens_out": c.tokens_by_language[lang]}
    for sp in plan.sources:  # languages whose budget came to nothing still get their line
        if sp.source.language and sp.source.language not in languages:
            languages[sp.source.language] = {"sources": {sp.source.name: describe_source(sp,
                                                                                         unit) | {"documents_out": 0}},
                                            "documents": 0, "tokens": 0}
    total_docs = sum(v["documents"] for v in languages.values())
    total_tokens = sum(v["tokens"] for v in languages.values())
    for lang, v in languages.items():
        v["files"] = files.get(lang, [])
        rows = sum(f["rows"] for f in v["files"])
        if rows != v["documents"]:
            raise CurationError(f"internal error: {lang}: {rows} rows written, {v['documents']} counted")
        v["share_documents"] = round(v["documents"] / total_docs, 6) if total_docs else 0.0
        v["share_tokens"] = round(v["tokens"] / total_tokens, 6) if total_tokens else 0.0
    return {
        "format": "curation-mixture/1",
        "fingerprint": fingerprint,
        "input": spec.input,
        "seed": spec.seed,
        "unit": unit,
        "tokenizer": spec.tokenizer,
        "rehydration": spec.rehydration,
        "sampling": spec.sampling.model_dump(),
        "rephrased": spec.rephrased.model_dump() if spec.rephrased else None,
        "replay": replay,
        "documents": total_docs,
        "tokens": total_tokens,
        "languages": dict(sorted(languages.items(), key=lambda kv: (-kv[1]["documents"], kv[0]))),
        "card": spec.card,
        "warnings": plan.warnings,
        "seconds": round(seconds, 2),
    }
