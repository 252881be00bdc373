"""The run summary: per stage, documents in, kept, removed by reason; per language, what was kept and what
removed it. Built from datatrove's per-task stats, so a resumed run still reports the whole run."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path
from types import SimpleNamespace

from datatrove.utils import stats as datatrove_stats
from datatrove.utils.stats import PipelineStats

from curation.core import CurationError, StageKind, Stats, get_stage
from curation.run import layout

# reader counters of records kept after a repair (older names, before the `repaired/` prefix)
REPAIR_COUNTERS = ("nul_bytes_removed", "invalid_utf8_replaced", "charset_wrong")


def merged_stats(logs: Path) -> list:
    """datatrove's stats of every finished task of one pass, summed."""
    files = sorted((logs / "stats").glob("*.json"))
    total = PipelineStats()
    for f in files:
        total = total + PipelineStats.from_json(json.loads(f.read_text()))
    return total.stats


def _value(metric) -> float:
    if isinstance(metric, dict):  # a metric updated with values other than 1 reads back as its statistics
        return metric.get("total", 0) or 0
    return getattr(metric, "total", metric) or 0


def collect_summary(out: Path, step_stats: list, elapsed: float, resumed_complete: bool = False) -> dict:
    """`step_stats`: (step, datatrove Stats) pairs of every pass of the run, in pipeline order."""
    stages, languages = [], defaultdict(lambda: {"in": 0, "kept": 0, "removed": Counter()})
    fallback: Counter = Counter()  # documents per language judged with default.yml (no config of its own)
    written_total = 0
    for step, st in step_stats:
        if getattr(step, "internal", False):
            continue
        counters = {label: _value(m) for label, m in st.stats.items()}
        entry = {"stage": str(step.name).strip(), "key": _short(step), "type": step.type}
        if Stats.DOCUMENTS in counters or Stats.INPUT_FILES in counters:  # a reader
            entry |= {"files": int(counters.get(Stats.INPUT_FILES, 0)),
                      "documents": int(counters.get(Stats.DOCUMENTS, 0)),
                      "skipped": _by_suffix(counters, Stats.skipped("")),
                      "not_response": _by_suffix(counters, Stats.not_response("")),
                      "repaired": _by_suffix(counters, Stats.repaired("")) | {
                          k: int(v) for k, v in counters.items() if k in REPAIR_COUNTERS}}
        elif Stats.WRITTEN in counters:
            written_total = int(counters[Stats.WRITTEN])
            entry |= {"written": written_total}
            for k, v in counters.items():
                if k.startswith(f"{Stats.LANG}/") and k.endswith(f"/{Stats.WRITTEN}"):
                    languages[k.split("/")[1]]["kept"] = int(v)
        elif Stats.IN in counters:
            entry |= {"in": int(counters.get(Stats.IN, 0)), "kept": int(counters.get(Stats.KEPT, 0)),
                      "removed": int(counters.get(Stats.REMOVED, 0)),
                      "reasons": dict(sorted(_by_suffix(counters, Stats.removed("")).items(), key=lambda kv: -kv[1]))}
            if counters.get("default_threshold"):  # langid: documents cut with min_score, no threshold of the model
                entry["default_threshold"] = int(counters["default_threshold"])
            for k, v in counters.items():
                if k.startswith(Stats.config_fallback("")):
                    fallback[k.split("/", 1)[1]] += int(v)
                    continue
                parts = k.split("/")
                if parts[0] != Stats.LANG or parts[1] == "unknown":
                    continue
                lang = parts[1]
                if parts[2:] == [Stats.IN] and getattr(step, "labels_language", False):
                    languages[lang]["in"] = int(v)
                elif parts[2] == Stats.REMOVED and len(parts) == 4:
                    languages[lang]["removed"][f"{_short(step)}:{parts[3]}"] += int(v)
        else:
            continue
        entry["seconds"] = round(st.time_stats.total, 2) if hasattr(st.time_stats, "total") else None
        stages.append(entry)
    langs = {k: {"in": v["in"], "kept": v["kept"], "removed": dict(v["removed"].most_common())}
             for k, v in sorted(languages.items(), key=lambda kv: -kv[1]["kept"])}
    read = next((s.get("documents", 0) for s in stages if "documents" in s), 0)
    return {
        "output": str(out),
        "elapsed_seconds": round(elapsed, 2),
        "already_complete": resumed_complete,
        "documents_read": read,
        "documents_written": written_total,
        "languages_written": sum(1 for v in langs.values() if v["kept"] > 0),
        "stages": stages,
        "languages": langs,
        "default_config_languages": dict(fallback.most_common()),
    }


def _by_suffix(counters: dict, prefix: str) -> dict[str, int]:
    """{"x": n} of the counters labelled `<prefix>x` (e.g. the reasons of `removed/x`)."""
    return {k[len(prefix):]: int(v) for k, v in counters.items() if k.startswith(prefix)}


def _short(step) -> str:
    return getattr(step, "stage_key", None) or str(step.name).split()[-1].lower()


def format_summary(s: dict, top_languages: int = 15) -> str:
    lines = [f"\n{'stage':<28}{'in':>9}{'kept':>9}{'removed':>9}   top reasons"]
    for st in s["stages"]:
        name = st["stage"][:27]
        if "documents" in st:
            skipped = sum(st["skipped"].values())
            why = ", ".join(f"{k} {v}" for k, v in sorted(st["skipped"].items(), key=lambda kv: -kv[1])[:5])
            fixed = ", ".join(f"{k} {v}" for k, v in sorted(st.get("repaired", {}).items(), key=lambda kv: -kv[1])[:3])
            notes = "; ".join(x for x in (why and "skipped: " + why, fixed and "repaired: " + fixed) if x)
            lines.append(f"{name:<28}{'':>9}{st['documents']:>9}{skipped:>9}   {notes}")
        elif "written" in st:
            lines.append(f"{name:<28}{'':>9}{st['written']:>9}")
        else:
            why = ", ".join(f"{k} {v}" for k, v in list(st["reasons"].items())[:4])
            lines.append(f"{name:<28}{st['in']:>9}{st['kept']:>9}{st['removed']:>9}   {why}")
            if st.get("default_threshold"):
                lines.append(f"{'':<28}{st['default_threshold']} documents judged with the default min_score: "
                             "their language has no threshold for this model (see the run log)")
    langs = [(k, v) for k, v in s["languages"].items() if v["kept"] or v["in"]]
    if langs:
        lines.append(f"\n{'language':<12}{'in':>7}{'kept':>7}   removed by")
        for k, v in langs[:top_languages]:
            why = ", ".join(f"{r} {n}" for r, n in list(v["removed"].items())[:3])
            lines.append(f"{k:<12}{v['in']:>7}{v['kept']:>7}   {why}")
        if len(langs) > top_languages:
            lines.append(f"... and {len(langs) - top_languages} more languages (all in stats.json)")
    fallback = s.get("default_config_languages") or {}
    if fallback:
        lines.append(f"\n{len(fallback)} language(s) have no quality config of their own and were filtered with "
                     "default.yml: " + ", ".join(f"{k} ({v} doc{'' if v == 1 else 's'})" for k, v in fallback.items()))
    note = " (all tasks had already finished: nothing was redone)" if s.get("already_complete") else ""
    lines.append(f"\nwrote {s['documents_written']} documents in {s['languages_written']} languages to "
                 f"{s['output']}/<language>/ in {s['elapsed_seconds']}s{note}; details in {s['output']}/stats.json "
                 f"and {s['output']}/report.html")
    return "\n".join(lines)


def summary_from_logs(out: Path) -> dict:
    """The summary of a run that has not finished (no up-to-date stats.json): datatrove's stats of the tasks
    that finished and the barrier stages (dedup) that are done, read back from `_logs/` and `_stages/`.
    Same shape as stats.json; `elapsed_seconds` is None."""
    step_stats = []
    for folder in layout.all_pass_logs(out):
        if not (folder / "stats").is_dir():
            continue
        executor = folder / "executor.json"
        params = json.loads(executor.read_text()).get("pipeline", []) if executor.exists() else []
        stats = merged_stats(folder)
        for i, st in enumerate(stats):
            p = params[i] if len(params) == len(stats) and isinstance(params[i], dict) else {}
            kind, _, name = str(st.name).partition(": ")
            handoff = layout.stages_folder_of(p.get("output_dir"))
            paths = [x for x in (p.get("paths") or []) if isinstance(x, str)]
            internal = bool(handoff) or any(layout.stages_folder_of(x) for x in paths)
            step = SimpleNamespace(name=name or kind, type=kind if name else "", internal=internal,
                                   stage_key=p.get("stage_key"), labels_language=_labels_language(p.get("stage_key")))
            step_stats.append((step, st))
            done = out / layout.STAGES / handoff / layout.DONE if handoff else None
            if done is not None and done.exists():
                step_stats.append(barrier_stats(handoff, json.loads(done.read_text())))
    summary = collect_summary(out, step_stats, elapsed=0)
    summary["elapsed_seconds"] = None
    return summary


def _labels_language(key: str | None) -> bool:
    """Whether the stage registered as `key` is the language-ID stage (see curation.core.Stage)."""
    if not key:
        return False
    try:
        return bool(getattr(get_stage(key), "labels_language", False))
    except CurationError:
        return False


def barrier_stats(folder: str, counts: dict):
    """A finished barrier stage (its `_stages/<NN_key>/done.json` counts) as a (step, datatrove Stats) pair."""
    key = layout.stage_key(folder)
    try:
        cls = get_stage(key)
    except CurationError:
        cls = None
    step = SimpleNamespace(name=getattr(cls, "name", key), type=getattr(cls, "type", StageKind.DEDUP), stage_key=key,
                           internal=False)
    return step, counts_stats(step.name, counts)


def counts_stats(name: str, counts: dict):
    """A barrier's counts (documents, kept, removed, per language) as a datatrove Stats, as a step would keep."""
    reason = counts.get("reason", "duplicate")
    stats = datatrove_stats.Stats(name)
    for label, value in ((Stats.IN, counts["documents"]), (Stats.KEPT, counts["kept"]),
                         (Stats.REMOVED, counts["removed"]), (Stats.removed(reason), counts["removed"])):
        stats[label].update(value)
    for lang, c in counts.get("languages", {}).items():
        stats[Stats.per_language(lang, Stats.IN)].update(c["in"])
        stats[Stats.per_language(lang, Stats.KEPT)].update(c["kept"])
        if c["removed"]:
            stats[Stats.per_language(lang, Stats.removed(reason))].update(c["removed"])
    return stats
