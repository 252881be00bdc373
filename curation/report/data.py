"""What a run folder holds, gathered for the run report: the run summary (stats.json, or read back from the
logs of a run that has not finished), documents, bytes and tokens per language and language-score and
cluster-size distributions from the output Parquet, removed documents from `_exclusions/` (per stage, reason,
language and domain) and time per stage. Reads only the columns it needs, one file at a time."""

from __future__ import annotations

import json
import time
from collections import Counter, defaultdict
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq
from tqdm import tqdm

from curation.core import CurationError, StageKind
from curation.run import layout
from curation.run.layout import DONE, EXCLUSIONS, HANDOFF, LOGS, RUN_STAMP, STAGES, STATS
from curation.run.summary import summary_from_logs

SCORE_BINS = 20  # language_score histograms: 20 bins of 0.05 over [0, 1]
BYTES_PER_TOKEN = 4  # the estimate without a tokenizer: UTF-8 bytes / 4


def run_state(out: Path) -> dict:
    """Whether `out` is a run folder and whether its run finished: a run that finished wrote stats.json after
    it last started (`_logs/run.json`)."""
    if not out.exists():
        raise CurationError(f"report: '{out}' does not exist; give the output folder of `curate run`")
    if not out.is_dir():
        raise CurationError(f"report: '{out}' is a file, not a run folder; give the output folder of `curate run`")
    stamp, stats = layout.run_stamp(out), out / STATS
    if not stamp.exists() and not stats.exists():
        raise CurationError(f"report: '{out}' is not a run folder (it has no stats.json and no {LOGS}/{RUN_STAMP}); "
                            "give the output folder of `curate run`")
    manifest = None
    if stamp.exists():
        try:
            manifest = json.loads(stamp.read_text()).get("manifest")
        except (ValueError, OSError) as e:
            raise CurationError(f"report: {stamp} is not readable JSON ({e})") from None
    finished = stats.exists() and (not stamp.exists() or stats.stat().st_mtime >= stamp.stat().st_mtime)
    started = stamp.stat().st_mtime if stamp.exists() else None
    return {"finished": finished, "manifest": manifest, "started": started,
            "finished_at": stats.stat().st_mtime if finished else None}


def load_summary(out: Path, finished: bool) -> dict:
    if not finished:
        return summary_from_logs(out)
    try:
        return json.loads((out / STATS).read_text())
    except ValueError as e:
        raise CurationError(f"report: {out / STATS} is not readable JSON ({e})") from None


def _columns(pf: pq.ParquetFile, wanted: list[str]) -> list[str]:
    names = set(pf.schema_arrow.names)
    return [c for c in wanted if c in names]


def _score_hist(values) -> np.ndarray:
    arr = values.drop_null().to_numpy(zero_copy_only=False) if values is not None else np.array([])
    return np.histogram(np.clip(arr, 0, 1), bins=SCORE_BINS, range=(0, 1))[0]


def scan_output(out: Path, tokenizer=None, progress: bool = False) -> dict:
    """Per language: documents, UTF-8 bytes and tokens (counted with `tokenizer`, else estimated), the
    language-score histogram; over all: minhash_cluster_size counts. Files that cannot be read are listed."""
    files = sorted(p for d in out.iterdir() if d.is_dir() and not d.name.startswith(("_", "."))
                   for p in d.glob("*.parquet") if not p.name.startswith("."))
    langs = defaultdict(lambda: {"documents": 0, "bytes": 0, "tokens": 0, "scores": np.zeros(SCORE_BINS, int)})
    clusters, unreadable = Counter(), []
    for f in tqdm(files, desc="report: output", unit=" files", disable=not progress):
        entry = langs[f.parent.name]
        try:
            pf = pq.ParquetFile(f)
            for batch in pf.iter_batches(batch_size=8192, columns=_columns(pf, ["text", "language_score",
                                                                                "minhash_cluster_size"])):
                names = batch.schema.names
                entry["documents"] += batch.num_rows
                if "text" in names:
                    n_bytes = pc.sum(pc.binary_length(batch.column("text"))).as_py() or 0
                    entry["bytes"] += n_bytes
                    if tokenizer is not None:
                        texts = [t for t in batch.column("text").to_pylist() if t]
                        entry["tokens"] += sum(len(e.ids) for e in tokenizer.encode_batch(texts,
                                                                                          add_special_tokens=False))
                    else:
                        entry["tokens"] += n_bytes / BYTES_PER_TOKEN
                if "language_score" in names:
                    entry["scores"] += _score_hist(batch.column("language_score"))
                if "minhash_cluster_size" in names:
                    sizes = batch.column("minhash_cluster_size").drop_null().to_numpy(zero_copy_only=False)
                    clusters.update(Counter(sizes.tolist()))
        except Exception as e:  # a shard being written by an unfinished run, or a broken file: count and go on
            unreadable.append(f"{f}: {e}")
    for entry in langs.values():
        entry["tokens"] = int(round(entry["tokens"]))
    return {"languages": dict(langs), "cluster_sizes": dict(clusters), "unreadable": unreadable, "files": len(files)}


def _domain(url) -> str:
    host = (urlsplit(str(url)).hostname or "") if url else ""
    return host[4:] if host.startswith("www.") else host or "(no url)"


def scan_exclusions(out: Path, progress: bool = False) -> dict:
    """Removed documents kept by stages with `exclusions: true`: per stage folder, counts by reason and language,
    language-score histograms per language, and counts per domain."""
    root = out / EXCLUSIONS
    stages = {}
    folders = sorted(d for d in root.iterdir() if d.is_dir()) if root.is_dir() else []
    unreadable = []
    for folder in folders:
        key = folder.name.split("_", 1)[1] if "_" in folder.name else folder.name
        entry = {"key": key, "documents": 0, "reasons": Counter(), "languages": Counter(), "domains": Counter(),
                 "scores": defaultdict(lambda: np.zeros(SCORE_BINS, int))}
        files = sorted(p for p in folder.rglob("*.parquet") if not p.name.startswith("."))
        for f in tqdm(files, desc=f"report: {folder.name}", unit=" files", disable=not progress):
            try:
                pf = pq.ParquetFile(f)
                for batch in pf.iter_batches(batch_size=8192, columns=_columns(
                        pf, ["url", "language", "language_score", "filter_reason"])):
                    cols = {n: batch.column(n).to_pylist() for n in batch.schema.names}
                    n = batch.num_rows
                    entry["documents"] += n
                    langs = cols.get("language") or [None] * n
                    entry["reasons"].update(r or "unknown" for r in cols.get("filter_reason") or ["unknown"] * n)
                    entry["languages"].update(lang or "unknown" for lang in langs)
                    entry["domains"].update(_domain(u) for u in cols.get("url") or [None] * n)
                    for lang, score in zip(langs, cols.get("language_score") or []):
                        if score is not None and lang:
                            entry["scores"][lang][min(int(max(score, 0) * SCORE_BINS), SCORE_BINS - 1)] += 1
            except Exception as e:  # see scan_output
                unreadable.append(f"{f}: {e}")
        entry["scores"] = dict(entry["scores"])
        stages[folder.name] = entry
    return {"stages": stages, "unreadable": unreadable}


def throughput(out: Path, summary: dict) -> list[dict]:
    """Per stage: documents in, seconds and documents per second. datatrove times each step inside the tasks
    (summed over tasks); a barrier stage (dedup) runs alone between passes: its time is its `done.json`'s
    `seconds` when recorded, else the time from its input's last write to its `done.json`."""
    rows = []
    barriers = sorted((out / STAGES).glob(f"*/{DONE}")) if (out / STAGES).is_dir() else []
    for st in summary.get("stages", []):
        docs = st.get("in", st.get("documents", st.get("written", 0)))
        seconds, how = st.get("seconds") or 0, "task time"
        if "documents" in st:
            seconds, how = 0, "not timed (datatrove does not time readers)"
        elif not seconds and st.get("type") == StageKind.DEDUP:
            # barriers appear in the summary in the order of their folders; two of one kind take one each
            done = next((d for d in barriers if layout.stage_key(d.parent.name) == st.get("key")), None)
            if done is not None:
                barriers.remove(done)
                seconds, how = _barrier_seconds(done)
        rows.append({"stage": st["stage"], "key": st.get("key"), "documents": docs, "seconds": seconds,
                     "per_second": docs / seconds if seconds else None, "how": how})
    return rows


def _barrier_seconds(done: Path) -> tuple[float, str]:
    counts = json.loads(done.read_text())
    if counts.get("seconds"):
        return float(counts["seconds"]), "wall time"
    inputs = [p.stat().st_mtime for p in (done.parent / HANDOFF).rglob("*.parquet")]
    if not inputs:
        return 0, "not timed"
    return max(done.stat().st_mtime - max(inputs), 0), "wall time from file times"


def gather(out: Path, tokenizer_path: str | None = None, progress: bool = False) -> dict:
    """Everything the report shows, from the run folder `out`."""
    out = Path(out)
    state = run_state(out)
    summary = load_summary(out, state["finished"])
    tokenizer = None
    if tokenizer_path:
        from curation.tokenize import load_tokenizer

        tokenizer = load_tokenizer(tokenizer_path)
    output = scan_output(out, tokenizer, progress)
    exclusions = scan_exclusions(out, progress)
    return {"out": str(out), "state": state, "summary": summary, "output": output, "exclusions": exclusions,
            "throughput": throughput(out, summary),
            "tokens": f"counted with {tokenizer_path}" if tokenizer_path else
                      f"estimated as UTF-8 bytes / {BYTES_PER_TOKEN} (pass --tokenizer for exact counts)",
            "generated": time.time()}
