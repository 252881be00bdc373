"""The mixture plan: for every source (a language's original, rephrased documents, the replay data) how big
its rehydrated pool is, how many passes it gets, and how many shards its language needs. Only cluster sizes
(and texts, when budgets count tokens) are read here; the documents themselves are read once, by the writer."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow.compute as pc

from curation.core import CurationError
from curation.mixture.rehydration import NoRehydration, Weights, weights_for
from curation.mixture.sampling import allocate
from curation.mixture.sources import SIZE, Source, batches, language_folders, open_source, replay_files
from curation.mixture.spec import MixtureSpec
from curation.mixture.tokens import TokenCounter


@dataclass
class SourcePlan:
    source: Source
    weights: Weights
    pool_documents: int = 0  # sum of copies after rehydration (one pass)
    pool_tokens: int = 0  # filled when budgets count tokens
    missing_cluster_size: int = 0
    epochs: float = 0.0
    target: float = 0.0
    budget: float = 0.0
    language_rows: dict[str, int] = field(default_factory=dict)  # replay: rows per language

    def pool(self, unit: str) -> float:
        return self.pool_tokens if unit == "tokens" else self.pool_documents


@dataclass
class Plan:
    spec: MixtureSpec
    tokenizer: TokenCounter
    sources: list[SourcePlan]
    shards: dict[str, int]  # shards per language
    warnings: list[str]


def _pool(sp: SourcePlan, unit: str, counter: TokenCounter, rehydrate: bool) -> None:
    cols = [SIZE] if rehydrate else []
    if unit == "tokens":
        cols.append("text")
    if sp.source.language is None:
        cols.append("language")
    if not cols:
        sp.pool_documents = sp.source.rows
        return
    small = "text" not in cols  # sizes and languages only: large batches cost little memory
    for f, b in batches(sp.source, cols, batch_size=262_144 if small else 8192):
        m = len(b)
        if rehydrate and SIZE in b.schema.names:
            col = b.column(SIZE)
            sp.missing_cluster_size += col.null_count
            reps = sp.weights.reps(pc.fill_null(col, 1).to_numpy(zero_copy_only=False))
        else:
            if rehydrate:
                sp.missing_cluster_size += m
            reps = np.ones(m, dtype=np.int64)
        sp.pool_documents += int(reps.sum())
        if unit == "tokens":
            sp.pool_tokens += int((counter.count(b.column("text")) * reps).sum())
        if "language" in cols:
            vals, counts = np.unique(np.asarray(b.column("language").fill_null("unknown").to_pylist(), dtype=object),
                                     return_counts=True)
            for v, c in zip(vals, counts):
                sp.language_rows[str(v)] = sp.language_rows.get(str(v), 0) + int(c)


def make_plan(spec: MixtureSpec, progress: bool = True) -> Plan:
    from tqdm import tqdm

    counter = TokenCounter(spec.tokenizer)
    folders = language_folders(spec.input, "mixture input")
    languages = spec.languages or sorted(folders)
    missing = [lang for lang in languages if lang not in folders]
    if missing:
        raise CurationError(f"mixture input '{spec.input}': no folder for {', '.join(missing)} "
                            f"(found {len(folders)}: "
                            f"{', '.join(sorted(folders)[:12])}{' ...' if len(folders) > 12 else ''})")
    warnings: list[str] = []
    rehydrate = spec.rehydration != "none"
    originals = [SourcePlan(open_source("original", lang, folders[lang]), weights_for(spec.rehydration, lang))
                 for lang in languages]
    for sp in tqdm(originals, desc="sizing", unit=" languages", disable=not progress):
        _pool(sp, spec.unit, counter, rehydrate)
        if sp.missing_cluster_size:
            warnings.append(f"{sp.source.language}: {sp.missing_cluster_size} of {sp.source.rows} documents have no "
                            f"{SIZE}; each goes in as a cluster of one (1 copy)")
    sizes = {sp.source.language: float(sp.pool(spec.unit)) for sp in originals}
    s = spec.sampling
    alloc, w = allocate(sizes, s.strategy, s.total, s.alpha, s.weights, s.epoch_cap, spec.unit)
    warnings += w
    for sp in originals:
        a = alloc[sp.source.language]
        sp.target, sp.budget, sp.epochs = a.target, a.budget, a.epochs
    plans = list(originals)

    if spec.rephrased:
        r = spec.rephrased
        unknown = sorted(set(r.ratios) - set(languages))
        if unknown:
            raise CurationError(f"mixture rephrased.ratios: {', '.join(unknown)} not among the mixed languages")
        found = language_folders(r.source, "rephrased source")
        for sp in originals:
            lang = sp.source.language
            ratio = r.ratios.get(lang, r.ratio)
            if ratio <= 0:
                continue
            wanted = ratio * sp.epochs * sp.pool_documents  # rephrased documents per original document out
            if lang not in found:
                warnings.append(f"{lang}: no rephrased documents in {r.source}/{lang}; {wanted:,.0f} wanted at "
                                f"ratio {ratio:g}, none mixed in")
                continue
            rp = SourcePlan(open_source("rephrased", lang, found[lang]), NoRehydration())
            _pool(rp, spec.unit, counter, False)
            n = rp.source.rows
            rp.target = wanted
            rp.budget = min(wanted, s.epoch_cap * n)
            rp.epochs = rp.budget / n if n else 0.0
            if rp.budget < wanted - 1e-9:
                warnings.append(f"{lang}: ratio {ratio:g} asks for {wanted:,.0f} rephrased documents = "
                                f"{wanted / n:.2f} epochs of the {n:,} there are; capped at {s.epoch_cap:g} epochs "
                                f"({rp.budget:,.0f}, {wanted - rp.budget:,.0f} short)")
            plans.append(rp)

    if spec.replay:
        rep = SourcePlan(open_source("replay", None, replay_files(spec.replay.source)), NoRehydration())
        _pool(rep, spec.unit, counter, False)
        if spec.unit == "tokens":
            rest = sum(p.epochs * p.pool_tokens for p in plans)
        else:
            rest = sum(p.epochs * p.pool_documents for p in plans)
        share = spec.replay.share
        rep.target = share / (1 - share) * rest
        pool = rep.pool(spec.unit)
        rep.budget = min(rep.target, s.epoch_cap * pool)
        rep.epochs = rep.budget / pool if pool else 0.0
        if rep.budget < rep.target - 1e-9:
            warnings.append(f"replay: share {share:g} asks for {rep.target:,.0f} {spec.unit} = {rep.target / pool:.2f} "
                            f"epochs of {spec.replay.source}; capped at {s.epoch_cap:g} epochs "
                            f"({rep.target - rep.budget:,.0f} short)")
        plans.append(rep)

    if not any(p.budget > 0 for p in plans):
        warnings.append(f"the mixture is empty: no documents to take from {spec.input}")
    # shards: expected bytes out per language / shard size
    out_bytes: dict[str, float] = {}
    for p in plans:
        src = p.source
        per_row = src.row_bytes / src.rows if src.rows else 0.0
        copies = p.epochs * p.pool_documents / src.rows if src.rows else 0.0
        if src.language is not None:
            out_bytes[src.language] = out_bytes.get(src.language, 0.0) + per_row * copies * src.rows
        else:
            for lang, n in p.language_rows.items():
                out_bytes[lang] = out_bytes.get(lang, 0.0) + per_row * copies * n
    limit = spec.shard_size_mb * 2**20
    shards = {lang: max(1, math.ceil(b / limit)) for lang, b in out_bytes.items()}
    return Plan(spec, counter, plans, shards, warnings)


def describe_source(p: SourcePlan, unit: str) -> dict:
    root = Path(p.source.files[0]).parent if p.source.files else None
    return {"origin": p.source.name, "path": str(root) if p.source.language else None,
            "files": [str(f) for f in p.source.files], "documents_in": p.source.rows,
            "rehydration": {"method": p.weights.method, "source": p.weights.source, "buckets": p.weights.to_json()},
            "missing_cluster_size": p.missing_cluster_size,
            f"pool_{unit}": p.pool(unit), "target": p.target, "budget": p.budget,
            "budget_unit": "documents" if p.source.name == "rephrased" else unit,  # rephrased: a ratio of documents
            "epochs": p.epochs}


