"""Choose the hybrid engine's cascade rule on WCXB dev: which pages go to trafilatura instead.

    .venv/bin/python benchmarks/tune_extract_cascade.py --wcxb PATH/web-content-extraction-benchmark \\
        [--limit 600] [--budget 0.08] [--write]

For each dev page (the first `--limit` in file order) it runs the hybrid engine without cascade and
trafilatura with FineWeb2's settings, counts snippets for both, and computes the page signals of
`curation.io.extract_hybrid.page_signals`. Every rule "signal < t" or "signal > t" (t at the 1st..15th
percentile from either end) is scored by the snippet F1 of the mixed output; the best rule that sends at most
`--budget` of the pages to trafilatura wins. `--write` stores it in the model JSON (key "cascade"). WCXB's
test split is never read.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
for p in (ROOT, ROOT / "benchmarks"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

from extract import prf, snippet_counts  # noqa: E402
from extract_corpora import load_wcxb  # noqa: E402

from curation.io import extract_hybrid as hy  # noqa: E402


def page_rows(pages, model):
    from trafilatura import extract
    from trafilatura.meta import reset_caches

    rows = []
    for page in pages:
        html = page.html.decode("utf-8", "replace")
        t = time.process_time()
        blocks = hy.blocks_of(hy.minimal_html(html))
        sig = None
        text = None
        if blocks:
            scores = model.scores(hy.features(blocks))
            text = hy.render(blocks, scores >= model.threshold) or None
            sig = hy.page_signals(blocks, scores, model.threshold, len(html))
        hybrid_cpu = time.process_time() - t
        reset_caches()
        t = time.process_time()
        traf = extract(html, favor_precision=True, include_comments=False, deduplicate=True)
        traf_cpu = time.process_time() - t
        if text is None:  # the engine's own fallback
            text, hybrid_cpu = traf, hybrid_cpu + traf_cpu
        rows.append((sig, snippet_counts(text, page), snippet_counts(traf, page), hybrid_cpu, traf_cpu))
    return rows


def score(rows, rule) -> tuple[float, float, float]:
    """(snippet F1, CPU ms per page, share of pages sent to trafilatura) of the hybrid engine with `rule`."""
    tp = fn = fp = 0
    cost = sent = 0.0
    for sig, hyb, traf, c_h, c_t in rows:
        use = sig is not None and rule(sig)
        c = traf if use else hyb
        tp, fn, fp = tp + c[0], fn + c[1], fp + c[2]
        cost += c_h + (c_t if use else 0.0)
        sent += use
    return prf(tp, fn, fp)[2], 1000 * cost / len(rows), sent / len(rows)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--wcxb", required=True)
    ap.add_argument("--limit", type=int, default=600, help="dev pages to use (default 600: trafilatura is slow)")
    ap.add_argument("--budget", type=float, default=0.08, help="largest share of pages sent to trafilatura")
    ap.add_argument("--model", default=str(hy.MODEL_FILE))
    ap.add_argument("--write", action="store_true", help="store the chosen rule in the model JSON")
    args = ap.parse_args(argv)

    spec = json.loads(Path(args.model).read_text())
    spec.pop("cascade", None)
    model = hy.Model(spec)
    rows = page_rows(load_wcxb(args.wcxb, "dev", args.limit), model)
    base = score(rows, lambda s: False)
    print(f"hybrid without cascade: F1 {base[0]:.4f}, {base[1]:.2f} CPU ms/page")
    best = (base[0], None, base)
    keys = sorted(next(s for s, *_ in rows if s))
    for key in keys:
        values = sorted(s[key] for s, *_ in rows if s)
        for q in np.linspace(0.01, 0.15, 15):
            for side in ("lo", "hi"):
                t = float(values[int(q * len(values))] if side == "lo" else values[int((1 - q) * len(values)) - 1])
                rule = {"signal": key, "side": side, "threshold": t}
                r = score(rows, lambda s, k=key, sd=side, t=t: s[k] < t if sd == "lo" else s[k] > t)
                if r[2] <= args.budget and r[0] > best[0]:
                    best = (r[0], rule, r)
    f, rule, (_, ms, share) = best
    print(f"best rule: {rule}: F1 {f:.4f}, {ms:.2f} CPU ms/page, {share:.1%} of pages to trafilatura")
    if args.write and rule:
        spec["cascade"] = rule | {"dev_pages": len(rows), "dev_f1_without": round(base[0], 4),
                                  "dev_f1_with": round(f, 4)}
        Path(args.model).write_text(json.dumps(spec, separators=(",", ":")) + "\n")
        print(f"wrote the rule into {args.model}")


if __name__ == "__main__":
    main()
