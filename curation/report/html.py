"""The run report: one self-contained HTML page (`report.html` in the run folder; inline SVG charts, inline
CSS, no scripts, nothing fetched) with documents and tokens per language, removals per stage, reason and
language, language-score distributions, duplicate-cluster sizes, the most removed domains and time per
stage. Written at the end of every `curate run`, and by `curate report OUT` for any run folder, finished or
not."""

from __future__ import annotations

import time
from collections import Counter
from html import escape
from pathlib import Path

import numpy as np

from curation import atomic
from curation.report.data import SCORE_BINS, gather
from curation.report.svg import PALETTE, columns, hbars, number
from curation.run.layout import REPORT

TOP_BARS = 30  # rows in the per-language and per-domain bar charts (tables hold all)
TOP_SCORE_LANGUAGES = 8  # languages with a language-score histogram of their own

CSS = """
body{font-family:sans-serif;margin:24px auto;max-width:1100px;color:#222;line-height:1.4}
h1{font-size:22px}h2{font-size:18px;margin-top:36px;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:10px 0;font-size:13px}
th,td{border:1px solid #ddd;padding:3px 8px;text-align:right}th{background:#f3f3f3;text-align:center}
td.l,th.l{text-align:left}.note{color:#555;font-size:13px}
.partial{background:#fff3cd;border:1px solid #e0b400;padding:10px 14px;font-weight:bold}
.complete{background:#e6f4ea;border:1px solid #8ab17d;padding:10px 14px}
svg.chart{display:block;max-width:100%;height:auto;margin:14px 0}
.grid{display:flex;flex-wrap:wrap;gap:0 20px}
details{margin:8px 0}summary{cursor:pointer}
"""


def _when(ts) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(ts)) if ts else "—"


def _table(header: list[str] | None, rows: list[list]) -> str:
    """Text left, numbers right."""
    head = "<tr>" + "".join(f"<th>{escape(h)}</th>" for h in header) + "</tr>" if header else ""
    body = "".join("<tr>" + "".join(f'<td class="l">{escape(c)}</td>' if isinstance(c, str) else f"<td>{number(c)}</td>"
                                    for c in r) + "</tr>" for r in rows)
    return f"<table>{head}{body}</table>"


def _stage(name: str) -> str:
    """A stage's name without its leading emoji, which browsers without an emoji font draw as boxes."""
    first, _, rest = name.partition(" ")
    return rest if rest and not any(c.isalnum() for c in first) else name


def _note(text: str) -> str:
    return f'<p class="note">{escape(text)}</p>'


def _header(d: dict) -> str:
    s, st = d["summary"], d["state"]
    if st["finished"]:
        banner = (f'<p class="complete">Finished run: {number(s.get("documents_read", 0))} documents read, '
                  f'{number(s.get("documents_written", 0))} written in {number(s.get("languages_written", 0))} '
                  f'languages in {number(s.get("elapsed_seconds") or 0)} s.</p>')
    else:
        banner = (f'<p class="partial">PARTIAL: this run has not finished (started {_when(st["started"])}, no '
                  f'stats.json written since). The counts cover the tasks that finished and the files written so '
                  f'far; run the same <code>curate run</code> command again to resume it.</p>')
    facts = [["run folder", d["out"]], ["manifest", st.get("manifest") or "—"], ["started", _when(st["started"])],
             ["finished", _when(st["finished_at"]) if st["finished"] else "not yet"],
             ["tokens", d["tokens"]], ["report written", _when(d["generated"])]]
    return (f"<h1>Run report: {escape(Path(d['out']).name or d['out'])}</h1>{banner}"
            + _table(None, facts))


def _languages(d: dict) -> str:
    langs = d["output"]["languages"]
    summary_langs = d["summary"].get("languages", {})
    order = sorted((k for k in langs if langs[k]["documents"]), key=lambda k: -langs[k]["documents"])
    parts = ["<h2>Documents and tokens per language</h2>"]
    if not order:
        return "".join(parts) + _note("No documents in the output Parquet files yet.")
    top = order[:TOP_BARS]
    more = f" (top {len(top)} of {len(order)})" if len(order) > len(top) else ""
    parts.append(hbars("documents-per-language", f"Documents written per language{more}", top,
                       {"documents": [langs[k]["documents"] for k in top]}, xlabel="documents"))
    by_tokens = sorted(langs, key=lambda k: -langs[k]["tokens"])[:TOP_BARS]
    parts.append(hbars("tokens-per-language", f"Tokens per language{more}", by_tokens,
                       {"tokens": [langs[k]["tokens"] for k in by_tokens]}, xlabel=f"tokens, {d['tokens']}",
                       colors=[PALETTE[3]]))
    rows = [[k, langs[k]["documents"], langs[k]["tokens"], round(langs[k]["bytes"] / 1e6, 2),
             summary_langs.get(k, {}).get("in", 0)] for k in order]
    total = ["all", sum(r[1] for r in rows), sum(r[2] for r in rows), round(sum(r[3] for r in rows), 2),
             sum(r[4] for r in rows)]
    parts.append(f"<details><summary>all {len(rows)} languages</summary>"
                 + _table(["language", "documents", "tokens", "MB (UTF-8)", "in at language ID"], rows + [total])
                 + "</details>")
    return "".join(parts)


def _removals(d: dict) -> str:
    stages = d["summary"].get("stages", [])
    parts = ["<h2>Removal per stage and reason</h2>"]
    filt = [s for s in stages if "in" in s]
    if not filt:
        return "".join(parts) + _note("No stage has reported yet.") + _reader_notes(stages)
    parts.append(hbars("stages", "Documents kept and removed per stage", [_stage(s["stage"]) for s in filt],
                       {"kept": [s["kept"] for s in filt], "removed": [s["removed"] for s in filt]},
                       xlabel="documents"))
    reasons = [(f"{s.get('key', s['stage'])}: {r}", n) for s in filt for r, n in s.get("reasons", {}).items() if n]
    reasons.sort(key=lambda kv: -kv[1])
    if reasons:
        parts.append(hbars("reasons", "Documents removed by stage and reason", [r for r, _ in reasons[:TOP_BARS]],
                           {"removed": [n for _, n in reasons[:TOP_BARS]]}, xlabel="documents removed",
                           colors=[PALETTE[1]]))
    else:
        parts.append(_note("No stage removed any document."))
    rows = [[_stage(s["stage"]), s["in"], s["kept"], s["removed"],
             ", ".join(f"{r} {number(n)}" for r, n in s.get("reasons", {}).items())] for s in filt]
    parts.append(_table(["stage", "in", "kept", "removed", "reasons"], rows))
    return "".join(parts) + _reader_notes(stages) + _per_language(d) + _fallback(d)


def _reader_notes(stages: list) -> str:
    """One line per reader: documents read, records skipped and repaired by reason, other record types."""
    notes = []
    readers = [s for s in stages if "documents" in s]
    for r in readers:
        skipped = ", ".join(f"{k} {number(v)}" for k, v in r.get("skipped", {}).items()) or "none"
        repaired = ", ".join(f"{k} {number(v)}" for k, v in r.get("repaired", {}).items()) or "none"
        other = ", ".join(f"{k} {number(v)}" for k, v in r.get("not_response", {}).items())
        notes.append(_note(f"{_stage(r['stage'])}: {number(r.get('files', 0))} files, {number(r['documents'])} "
                           f"documents read; records skipped: {skipped}; repaired and kept: {repaired}"
                           + (f"; other record types (no document): {other}." if other else ".")))
    return "".join(notes)


def _fallback(d: dict) -> str:
    """The languages the quality stage judged with default.yml, having no config of their own."""
    fallback = d["summary"].get("default_config_languages") or {}
    if not fallback:
        return ""
    rows = [[lang, n] for lang, n in fallback.items()]
    return (f"<h3 id=\"default-config\">Languages filtered with default.yml ({len(rows)})</h3>"
            + _note("These languages have no quality config of their own (filters/configs/&lt;language&gt;.yml, or the "
                    "quality stage's config_dir): their documents were judged with default.yml's generic thresholds "
                    "and no stopword check. Derive a config with `curate thresholds derive`.")
            + _table(["language", "documents"], rows))


def _per_language(d: dict) -> str:
    langs = {k: v for k, v in d["summary"].get("languages", {}).items() if v.get("in") or v.get("kept")}
    if not langs:
        return ""
    order = sorted(langs, key=lambda k: -(langs[k]["in"] or langs[k]["kept"]))
    keys = list(dict.fromkeys(r.split(":")[0] for v in langs.values() for r in v["removed"]))
    top = order[:TOP_BARS]
    series = {"kept": [langs[k]["kept"] for k in top]}
    for key in keys:
        series[f"removed by {key}"] = [sum(n for r, n in langs[k]["removed"].items() if r.split(":")[0] == key)
                                       for k in top]
    more = f" (top {len(top)} of {len(order)})" if len(order) > len(top) else ""
    chart = hbars("removal-per-language", f"Kept and removed per language{more}", top, series, xlabel="documents")
    reasons = list(dict.fromkeys(r for k in order for r in langs[k]["removed"]))
    rows = [[k, langs[k]["in"], langs[k]["kept"]] + [langs[k]["removed"].get(r, 0) for r in reasons] for k in order]
    return (chart + _note("Language ID counts a document under the language it found; stages before it do not know "
                          "the language, so their removals are not in this chart.")
            + f"<details><summary>removals per language, stage and reason ({len(rows)} languages)</summary>"
            + _table(["language", "in", "kept"] + reasons, rows) + "</details>")


def _scores(d: dict) -> str:
    parts = ["<h2>Language-score distributions</h2>"]
    kept = {k: v["scores"] for k, v in d["output"]["languages"].items() if v["scores"].sum()}
    removed = {e["key"]: e["scores"] for e in d["exclusions"]["stages"].values() if e["scores"]}
    if not kept and not removed:
        return "".join(parts) + _note("No language_score in the output or the exclusions (not yet, or no language ID "
                                      "stage).")
    totals = Counter({k: int(v.sum()) for k, v in kept.items()})
    for scores in removed.values():
        totals.update({k: int(v.sum()) for k, v in scores.items()})
    labels = [f"{i / SCORE_BINS:.2f}–{(i + 1) / SCORE_BINS:.2f}" for i in range(SCORE_BINS)]

    def series(lang: str | None) -> dict:
        zero = np.zeros(SCORE_BINS, int)
        pick = (lambda m: m.get(lang, zero)) if lang else (lambda m: sum(m.values(), zero))
        out = {"kept": pick(kept)} | {f"removed by {key}": pick(scores) for key, scores in removed.items()}
        return {name: values.tolist() for name, values in out.items() if values.sum()}

    parts.append(columns("language-score-all", "Language score, all languages", labels, series(None),
                         xlabel="language_score", label_every=4))
    top = sorted(totals, key=lambda k: (-totals[k], k))[:TOP_SCORE_LANGUAGES]  # ties by name
    parts.append('<div class="grid">')
    for lang in top:
        parts.append(columns(f"language-score-{lang}", f"Language score: {lang} ({number(totals[lang])} documents)",
                             labels, series(lang), xlabel="language_score", label_every=4, height=160))
    parts.append("</div>")
    if not removed:
        parts.append(_note("Only the kept documents are shown: no stage wrote its removed documents "
                           "(set `exclusions: true` on a stage to keep them)."))
    return "".join(parts)


def _clusters(d: dict) -> str:
    sizes = {int(k): v for k, v in d["output"]["cluster_sizes"].items()}
    parts = ["<h2>Duplicate-cluster sizes</h2>"]
    if not sizes:
        return "".join(parts) + _note("No minhash_cluster_size in the output (not yet, or no MinHash dedup stage).")
    bins, edge = [(1, 1), (2, 2), (3, 3), (4, 4)], 5
    while edge <= max(sizes):
        bins.append((edge, edge * 2 - 1))
        edge *= 2
    labels = [str(a) if a == b else f"{a}–{b}" for a, b in bins]
    docs = [sum(v for k, v in sizes.items() if a <= k <= b) for a, b in bins]
    parts.append(columns("cluster-sizes", "Kept documents by the size of their duplicate cluster", labels,
                         {"kept documents": docs}, xlabel="minhash_cluster_size (documents in the cluster)"))
    n, single = sum(sizes.values()), sizes.get(1, 0)
    parts.append(_note(f"{number(n)} kept documents; {number(n - single)} stand for a cluster of near-duplicates "
                       f"that held {number(sum(k * v for k, v in sizes.items() if k > 1))} documents."))
    return "".join(parts)


def _domains(d: dict) -> str:
    stages = d["exclusions"]["stages"]
    parts = ["<h2>Top removed domains</h2>"]
    if not stages:
        return "".join(parts) + _note("No removed documents were kept: set `exclusions: true` on a stage in the "
                                      "manifest to see which domains it removes.")
    total = Counter()
    for e in stages.values():
        total.update(e["domains"])
    top = [k for k, _ in total.most_common(TOP_BARS)]
    series = {f"removed by {e['key']}": [e["domains"].get(k, 0) for k in top] for e in stages.values()}
    parts.append(hbars("removed-domains", f"Most removed domains (top {len(top)} of {len(total)})", top, series,
                       xlabel="documents removed"))
    rows = [[k, total[k]] + [e["domains"].get(k, 0) for e in stages.values()] for k in top]
    parts.append(_table(["domain", "removed"] + [e["key"] for e in stages.values()], rows))
    parts.append(_note("From the stages that kept their removed documents: "
                       + ", ".join(f"{e['key']} ({number(e['documents'])})" for e in stages.values()) + "."))
    return "".join(parts)


def _throughput(d: dict) -> str:
    rows = d["throughput"]
    parts = ["<h2>Throughput per stage</h2>"]
    timed = [r for r in rows if r["per_second"]]
    if timed:
        parts.append(hbars("throughput", "Documents per second per stage", [_stage(r["stage"]) for r in timed],
                           {"documents per second": [round(r["per_second"], 1) for r in timed]},
                           xlabel="documents per second (of the stage's own time)", colors=[PALETTE[7]]))
    else:
        parts.append(_note("No stage has recorded its time yet."))
    parts.append(_table(["stage", "documents in", "seconds", "documents / s", "time"],
                        [[_stage(r["stage"]), r["documents"], round(r["seconds"], 2), r["per_second"] and
                          round(r["per_second"], 1), r["how"]] for r in rows]))
    elapsed = d["summary"].get("elapsed_seconds")
    parts.append(_note("Task time is summed over the tasks, which run side by side, so the run takes less wall time"
                       + (f"; the whole run took {number(elapsed)} s." if elapsed else ".")))
    return "".join(parts)


def _problems(d: dict) -> str:
    bad = d["output"]["unreadable"] + d["exclusions"]["unreadable"]
    if not bad:
        return ""
    items = "".join(f"<li>{escape(b)}</li>" for b in bad[:50])
    return (f"<h2>Files that could not be read ({len(bad)})</h2><ul>{items}</ul>"
            + _note("Their documents are missing from the counts read from files; an unfinished run may still be "
                    "writing them."))


def render(d: dict) -> str:
    """The report page for what `gather` collected."""
    body = (_header(d) + _languages(d) + _removals(d) + _scores(d) + _clusters(d) + _domains(d) + _throughput(d)
            + _problems(d))
    title = f"curate report: {Path(d['out']).name}"
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<style>{CSS}</style></head><body>{body}</body></html>")


def write_report(out: str | Path, tokenizer: str | None = None, progress: bool = False,
                 path: str | Path | None = None) -> Path:
    """Write the report of run folder `out` to `path` (default `out/report.html`), atomically."""
    out = Path(out)
    html = render(gather(out, tokenizer, progress))
    path = Path(path) if path else out / REPORT
    atomic.write_text(path, html)
    return path
