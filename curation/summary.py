"""The run summary: per stage, documents in, kept, removed by reason; per language, what was kept and what
removed it. Built from datatrove's per-task stats, so a resumed run still reports the whole run."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path

from datatrove.utils.stats import PipelineStats


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
    written_total = 0
    for step, st in step_stats:
        if getattr(step, "internal", False):
            continue
        counters = {label: _value(m) for label, m in st.stats.items()}
        entry = {"stage": str(step.name).strip(), "key": _short(step), "type": step.type}
        if "documents" in counters or "input_files" in counters:  # a reader
            entry |= {"files": int(counters.get("input_files", 0)), "documents": int(counters.get("documents", 0)),
                      "skipped": {k.split("/", 1)[1]: int(v) for k, v in counters.items() if k.startswith("skipped/")},
                      "not_response": {k.split("/", 1)[1]: int(v) for k, v in counters.items() if k.startswith("not_response/")}}
        elif "written" in counters:
            written_total = int(counters["written"])
            entry |= {"written": written_total}
            for k, v in counters.items():
                if k.startswith("lang/") and k.endswith("/written"):
                    languages[k.split("/")[1]]["kept"] = int(v)
        elif "in" in counters:
            entry |= {"in": int(counters.get("in", 0)), "kept": int(counters.get("kept", 0)),
                      "removed": int(counters.get("removed", 0)),
                      "reasons": dict(sorted(((k.split("/", 1)[1], int(v)) for k, v in counters.items()
                                              if k.startswith("removed/")), key=lambda kv: -kv[1]))}
            if counters.get("default_threshold"):  # langid: documents cut with min_score, no threshold of the model
                entry["default_threshold"] = int(counters["default_threshold"])
            for k, v in counters.items():
                parts = k.split("/")
                if parts[0] != "lang" or parts[1] == "unknown":
                    continue
                lang = parts[1]
                if parts[2:] == ["in"] and step.name.strip().endswith("Language ID"):
                    languages[lang]["in"] = int(v)
                elif parts[2] == "removed" and len(parts) == 4:
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
    }


def _short(step) -> str:
    return getattr(step, "stage_key", None) or str(step.name).split()[-1].lower()


def format_summary(s: dict, top_languages: int = 15) -> str:
    lines = [f"\n{'stage':<28}{'in':>9}{'kept':>9}{'removed':>9}   top reasons"]
    for st in s["stages"]:
        name = st["stage"][:27]
        if "documents" in st:
            skipped = sum(st["skipped"].values())
            why = ", ".join(f"{k} {v}" for k, v in sorted(st["skipped"].items(), key=lambda kv: -kv[1])[:5])
            lines.append(f"{name:<28}{'':>9}{st['documents']:>9}{skipped:>9}   {('skipped: ' + why) if why else ''}")
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
    note = " (all tasks had already finished: nothing was redone)" if s.get("already_complete") else ""
    lines.append(f"\nwrote {s['documents_written']} documents in {s['languages_written']} languages to "
                 f"{s['output']}/<language>/ in {s['elapsed_seconds']}s{note}; details in {s['output']}/stats.json "
                 f"and {s['output']}/report.html")
    return "\n".join(lines)


def summary_from_logs(out: Path) -> dict:
    """The summary of a run that has not finished (no up-to-date stats.json): datatrove's stats of the tasks
    that finished and the barrier stages (dedup) that are done, read back from `_logs/` and `_stages/`.
    Same shape as stats.json; `elapsed_seconds` is None."""
    from types import SimpleNamespace

    from curation.runner import LOGS, STAGES

    logs = out / LOGS
    passes = [logs] + sorted(logs.glob("pass_*"), key=lambda p: int(p.name.split("_")[1]) if p.name[5:].isdigit() else 0)
    step_stats = []
    for folder in passes:
        if not (folder / "stats").is_dir():
            continue
        executor = folder / "executor.json"
        params = json.loads(executor.read_text()).get("pipeline", []) if executor.exists() else []
        stats = merged_stats(folder)
        for i, st in enumerate(stats):
            p = params[i] if len(params) == len(stats) and isinstance(params[i], dict) else {}
            kind, _, name = str(st.name).partition(": ")
            handoff = _stages_folder(p.get("output_dir"))
            internal = bool(handoff) or any(_stages_folder(x) for x in (p.get("paths") or []) if isinstance(x, str))
            step = SimpleNamespace(name=name or kind, type=kind if name else "", internal=internal,
                                   stage_key=p.get("stage_key"))
            step_stats.append((step, st))
            done = out / STAGES / handoff / "done.json" if handoff else None
            if done is not None and done.exists():
                step_stats.append(barrier_stats(handoff, json.loads(done.read_text())))
    summary = collect_summary(out, step_stats, elapsed=0)
    summary["elapsed_seconds"] = None
    return summary


def _stages_folder(path) -> str | None:
    """`_stages/<NN_key>` of a path that a pass writes to or reads from between passes, else None."""
    parts = Path(str(path)).parts if path else ()
    return parts[parts.index("_stages") + 1] if "_stages" in parts[:-1] else None


def barrier_stats(folder: str, counts: dict):
    """A finished barrier stage (its `_stages/<NN_key>/done.json` counts) as a (step, datatrove Stats) pair."""
    from types import SimpleNamespace

    from curation.core import CurationError, get_stage

    key = folder.split("_", 1)[1] if "_" in folder else folder
    try:
        cls = get_stage(key)
    except CurationError:
        cls = None
    step = SimpleNamespace(name=getattr(cls, "name", key), type=getattr(cls, "type", "🫂 - DEDUP"), stage_key=key,
                           internal=False)
    return step, counts_stats(step.name, counts)


def counts_stats(name: str, counts: dict):
    """A barrier's counts (documents, kept, removed, per language) as a datatrove Stats, as a step would keep."""
    from datatrove.utils.stats import Stats

    reason = counts.get("reason", "duplicate")
    stats = Stats(name)
    for label, value in (("in", counts["documents"]), ("kept", counts["kept"]), ("removed", counts["removed"]),
                         (f"removed/{reason}", counts["removed"])):
        stats[label].update(value)
    for lang, c in counts.get("languages", {}).items():
        stats[f"lang/{lang}/in"].update(c["in"])
        stats[f"lang/{lang}/kept"].update(c["kept"])
        if c["removed"]:
            stats[f"lang/{lang}/removed/{reason}"].update(c["removed"])
    return stats
