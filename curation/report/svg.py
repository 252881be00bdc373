"""Bar charts as inline SVG, for reports that must open anywhere without network or scripts: stacked
horizontal bars (one row per label) and stacked columns (histograms). Every bar carries a <title> tooltip."""

from __future__ import annotations

from html import escape

PALETTE = ["#2a9d8f", "#e76f51", "#e9c46a", "#264653", "#f4a261", "#8ab17d", "#6d597a", "#457b9d", "#b5838d",
           "#a8dadc", "#bc6c25", "#7f5539"]
WIDTH = 860
FONT = 12


def number(v: float) -> str:
    """1234567 -> '1,234,567'; 0.5 -> '0.5'; large values stay exact."""
    if v is None:
        return "—"
    if isinstance(v, float) and not v.is_integer():
        return f"{v:,.1f}" if abs(v) >= 10 else f"{v:,.2f}"
    return f"{int(v):,}"


def _text_width(s: str) -> float:
    return 0.62 * FONT * len(s)


def _nice_max(v: float) -> float:
    """The axis end: four grid steps of a round number (whole steps below 10)."""
    if v <= 0:
        return 4
    import math

    step = max(v / 4, 1) if v >= 1 else v / 4
    exp = 10 ** math.floor(math.log10(step))
    for m in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10) if exp >= 10 else (1, 2, 3, 4, 5, 6, 8, 10):
        if step <= m * exp:
            return 4 * m * exp
    return 40 * exp


def _legend(series: list[str], colors: list[str], x: float, y: float) -> tuple[list[str], float]:
    parts, cx = [], x
    for name, color in zip(series, colors):
        w = 14 + _text_width(name) + 14
        if cx + w > WIDTH - 10 and cx > x:
            cx, y = x, y + 18
        parts.append(f'<rect x="{cx:.1f}" y="{y - 10}" width="10" height="10" fill="{color}"/>'
                     f'<text x="{cx + 14:.1f}" y="{y}">{escape(name)}</text>')
        cx += w
    return parts, y + 8


def _svg(name: str, title: str, height: float, body: list[str]) -> str:
    return (f'<svg class="chart" data-chart="{escape(name)}" role="img" aria-label="{escape(title)}" '
            f'xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height:.0f}" '
            f'viewBox="0 0 {WIDTH} {height:.0f}" font-family="sans-serif" font-size="{FONT}">'
            f'<title>{escape(title)}</title>'
            f'<text x="0" y="16" font-size="14" font-weight="bold">{escape(title)}</text>'
            + "".join(body) + "</svg>")


def hbars(name: str, title: str, labels: list[str], series: dict[str, list[float]], xlabel: str = "",
          colors: list[str] | None = None) -> str:
    """One row per label; the series stack left to right."""
    colors = colors or PALETTE
    names = list(series)
    colors = [colors[i % len(colors)] for i in range(len(names))]
    left = min(max((_text_width(s) for s in labels), default=40) + 10, 300)
    right = 70
    plot_w = WIDTH - left - right
    body, y = [], 30.0
    if len(names) > 1:
        legend, y = _legend(names, colors, left, y + 10)
        body += legend
    top, row = y + 6, 18
    totals = [sum(series[n][i] or 0 for n in names) for i in range(len(labels))]
    vmax = _nice_max(max(totals, default=0))
    bottom = top + row * len(labels)
    for k in range(5):  # grid and axis labels
        x = left + plot_w * k / 4
        body.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{bottom}" stroke="#ddd"/>'
                    f'<text x="{x:.1f}" y="{bottom + 14}" text-anchor="middle" '
                    f'fill="#555">{number(vmax * k / 4)}</text>')
    for i, label in enumerate(labels):
        ry = top + i * row
        shown = label if len(label) <= 45 else label[:44] + "…"
        body.append(f'<text x="{left - 6}" y="{ry + 13}" text-anchor="end"><title>{escape(label)}</title>'
                    f'{escape(shown)}</text>')
        x = float(left)
        for n, color in zip(names, colors):
            v = series[n][i] or 0
            w = plot_w * v / vmax
            if w > 0:
                body.append(f'<rect x="{x:.1f}" y="{ry + 2}" width="{w:.1f}" height="{row - 4}" fill="{color}">'
                            f'<title>{escape(label)} — {escape(n)}: {number(v)}</title></rect>')
            x += w
        body.append(f'<text x="{x + 4:.1f}" y="{ry + 13}" fill="#333">{number(totals[i])}</text>')
    if xlabel:
        body.append(f'<text x="{left + plot_w / 2:.1f}" y="{bottom + 30}" text-anchor="middle">{escape(xlabel)}</text>')
    return _svg(name, title, bottom + (38 if xlabel else 22), body)


def columns(name: str, title: str, labels: list[str], series: dict[str, list[float]], xlabel: str = "",
            ylabel: str = "documents", label_every: int = 1, colors: list[str] | None = None,
            height: float = 240) -> str:
    """One column per label (a histogram bin); the series stack bottom to top."""
    colors = colors or PALETTE
    names = list(series)
    colors = [colors[i % len(colors)] for i in range(len(names))]
    body, y = [], 30.0
    left, right = 60, 20
    if len(names) > 1:
        legend, y = _legend(names, colors, left, y + 10)
        body += legend
    top = y + 10
    bottom = top + height
    plot_w = WIDTH - left - right
    totals = [sum(series[n][i] or 0 for n in names) for i in range(len(labels))]
    vmax = _nice_max(max(totals, default=0))
    for k in range(5):
        yy = bottom - height * k / 4
        body.append(f'<line x1="{left}" y1="{yy:.1f}" x2="{WIDTH - right}" y2="{yy:.1f}" stroke="#ddd"/>'
                    f'<text x="{left - 6}" y="{yy + 4:.1f}" text-anchor="end" fill="#555">'
                    f'{number(vmax * k / 4)}</text>')
    col = plot_w / max(len(labels), 1)
    for i, label in enumerate(labels):
        x = left + i * col
        yy = float(bottom)
        for n, color in zip(names, colors):
            v = series[n][i] or 0
            h = height * v / vmax
            if h > 0:
                yy -= h
                body.append(f'<rect x="{x + 1:.1f}" y="{yy:.1f}" width="{max(col - 2, 1):.1f}" height="{h:.1f}" '
                            f'fill="{color}"><title>{escape(label)} — {escape(n)}: {number(v)}</title></rect>')
        if i % label_every == 0:
            body.append(f'<text x="{x + col / 2:.1f}" y="{bottom + 14}" text-anchor="middle" fill="#555">'
                        f'{escape(label)}</text>')
    body.append(f'<line x1="{left}" y1="{bottom}" x2="{WIDTH - right}" y2="{bottom}" stroke="#333"/>')
    if xlabel:
        body.append(f'<text x="{left + plot_w / 2:.1f}" y="{bottom + 32}" text-anchor="middle">{escape(xlabel)}</text>')
    body.append(f'<text x="12" y="{top + height / 2:.1f}" transform="rotate(-90 12 {top + height / 2:.1f})" '
                f'text-anchor="middle">{escape(ylabel)}</text>')
    return _svg(name, title, bottom + (40 if xlabel else 22), body)
