"""A picture of a run: for the languages with the most documents, how many each stage removed and how
many were kept; beside it, what each stage removed, by reason. Written as `report.png` next to stats.json."""

from __future__ import annotations

from pathlib import Path


def plot_report(summary: dict, path: Path, top_languages: int = 25) -> Path | None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    langs = [(k, v) for k, v in summary["languages"].items() if v["in"] or v["kept"]]
    langs.sort(key=lambda kv: -(kv[1]["in"] or kv[1]["kept"]))
    langs = langs[:top_languages]
    filters = [s for s in summary["stages"] if "reasons" in s and s["removed"]]
    if not langs and not filters:
        return None
    fig, (left, right) = plt.subplots(1, 2, figsize=(15, max(4, 0.3 * len(langs) + 1.5)),
                                      gridspec_kw={"width_ratios": [3, 2]})
    names = [k for k, _ in langs][::-1]
    kept = [v["kept"] for _, v in langs][::-1]
    left.barh(names, kept, color="#2a9d8f", label="kept")
    stages = sorted({r.split(":")[0] for _, v in langs for r in v["removed"]})
    colors = plt.cm.Set2.colors
    offset = list(kept)
    for i, stage in enumerate(stages):
        removed = [sum(n for r, n in v["removed"].items() if r.split(":")[0] == stage) for _, v in langs][::-1]
        left.barh(names, removed, left=offset, color=colors[i % len(colors)], label=f"removed by {stage}")
        offset = [a + b for a, b in zip(offset, removed)]
    left.set_xlabel("documents")
    left.set_title(f"per language (top {len(langs)} of {summary['languages_written']} written)")
    left.legend(loc="lower right", fontsize=8)

    labels, values = [], []
    for s in filters:
        for reason, n in list(s["reasons"].items())[:6]:
            labels.append(f"{s.get('key', s['stage'])}: {reason}")
            values.append(n)
    right.barh(labels[::-1], values[::-1], color="#e76f51")
    right.set_xlabel("documents removed")
    right.set_title("removals by stage and reason")
    right.tick_params(axis="y", labelsize=8)
    fig.suptitle(f"{summary['documents_read']} read, {summary['documents_written']} written "
                 f"in {summary['languages_written']} languages")
    fig.tight_layout()
    from curation.atomic import write_with

    write_with(path, lambda tmp: fig.savefig(tmp, dpi=90, format=Path(path).suffix[1:] or "png"))
    plt.close(fig)
    return path
