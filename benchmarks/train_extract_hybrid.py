"""Train the hybrid extraction engine's block classifier on WCXB's dev split (CC-BY-4.0: training allowed).

    .venv/bin/python benchmarks/train_extract_hybrid.py --wcxb PATH/web-content-extraction-benchmark
        [--out curation/io/extract_hybrid_model.json] [--hidden 32] [--compare]

Every block of resiliparse's main content (see curation/io/extract_hybrid.py) gets a label from WCXB's reference
main text: 1 when its words appear there (a short block as a contiguous run of words, a longer one with at
least half of its word 3-grams), else 0. A multilayer perceptron (scikit-learn, fixed seed) is fitted on 80% of
the dev pages; the decision threshold is the one that maximises snippet F1 (the benchmark's score) on the other
20% (a fixed split by page-id hash); that network and threshold are written as JSON (a few KB).
WCXB's test split is never read here. `--compare` also fits logistic regression and gradient-boosted trees on
the same split and prints their held-out snippet F1, as a check on the model choice.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
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

_WORD = re.compile(r"\w+")


def labels(blocks: list, reference: str) -> np.ndarray:
    ref_words = _WORD.findall(reference.lower())
    ref_joined = " " + " ".join(ref_words) + " "
    grams = {tuple(ref_words[i:i + 3]) for i in range(len(ref_words) - 2)}
    out = np.zeros(len(blocks), dtype=np.int8)
    for i, b in enumerate(blocks):
        w = _WORD.findall(b.text.lower())
        if not w:
            continue
        if len(w) < 6:
            out[i] = (" " + " ".join(w) + " ") in ref_joined
        else:
            g = [tuple(w[j:j + 3]) for j in range(len(w) - 2)]
            out[i] = sum(x in grams for x in g) >= 0.5 * len(g)
    return out


def page_data(pages, cache: str | None = None):
    """(page, blocks, features, labels) per page; `cache` (a pickle, for repeated runs) skips the parsing."""
    import pickle

    key = [p.id for p in pages]
    if cache and Path(cache).exists():
        try:
            cached = pickle.loads(Path(cache).read_bytes())
        except Exception:  # an older cache format
            cached = {"ids": None}
        if cached["ids"] == key and cached["n_features"] == hy.n_features():
            return [(p, [hy.Block(*t) for t in b], x, y) for p, (b, x, y) in zip(pages, cached["data"])]
    data = []
    for page in pages:
        html = page.html.decode("utf-8", "replace")
        blocks = hy.blocks_of(hy.minimal_html(html))
        x = hy.features(blocks) if blocks else np.zeros((0, hy.n_features()), np.float32)
        data.append((page, blocks, x, labels(blocks, page.main) if blocks else np.zeros(0, np.int8)))
    if cache:
        Path(cache).write_bytes(pickle.dumps({"ids": key, "n_features": hy.n_features(),
                                              "data": [([(k.text, k.link_chars, k.tag, k.list_depth, k.in_pre)
                                                         for k in b], x, y) for _, b, x, y in data]}))
    return data


def snippet_f1(data, scores_per_page, threshold: float) -> tuple[float, float, float]:
    tp = fn = fp = 0
    for (page, blocks, _, _), s in zip(data, scores_per_page):
        text = hy.render(blocks, s >= threshold) if len(blocks) else ""
        a, b, c, _ = snippet_counts(text, page)
        tp, fn, fp = tp + a, fn + b, fp + c
    return prf(tp, fn, fp)


def best_threshold(data, scores_per_page) -> tuple[float, tuple]:
    best = (0.5, (0.0, 0.0, 0.0))
    for t in np.arange(0.10, 0.91, 0.025):
        r = snippet_f1(data, scores_per_page, float(t))
        if r[2] > best[1][2]:
            best = (float(t), r)
    return best


def split(pages_data, holdout: float = 0.2):
    fit, held = [], []
    for d in pages_data:
        h = int(hashlib.sha1(d[0].id.encode()).hexdigest()[:8], 16) / 2**32
        (held if h < holdout else fit).append(d)
    return fit, held


def stack(data):
    x = np.vstack([d[2] for d in data if len(d[1])])
    y = np.concatenate([d[3] for d in data if len(d[1])])
    w = np.concatenate([np.sqrt(1 + np.array([len(b.text.split()) for b in d[1]])) for d in data if len(d[1])])
    return x, y, w


def fit_mlp(x, y, hidden: int, seed: int = 0, w=None):
    from sklearn.neural_network import MLPClassifier
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(x)
    mlp = MLPClassifier(hidden_layer_sizes=(hidden,) if hidden else (), alpha=1e-3, max_iter=80,
                        early_stopping=True, random_state=seed, batch_size=512)
    mlp.fit(scaler.transform(x), y, sample_weight=w)
    return scaler, mlp


def to_spec(scaler, mlp, threshold: float, meta: dict) -> dict:
    scale = np.where(scaler.scale_ > 0, scaler.scale_, 1.0)
    layers = [[np.round(w, 6).tolist(), np.round(b, 6).tolist()] for w, b in zip(mlp.coefs_, mlp.intercepts_)]
    return {"kind": "mlp", "features": hy.n_features(), "mean": np.round(scaler.mean_, 6).tolist(),
            "scale": np.round(scale, 6).tolist(), "layers": layers, "threshold": threshold, "trained_on": meta}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--wcxb", required=True, help="folder of a WCXB checkout; only dev/ is read")
    ap.add_argument("--out", default=str(hy.MODEL_FILE), help="where to write the model JSON")
    ap.add_argument("--hidden", type=int, default=32, help="hidden units (0: logistic regression)")
    ap.add_argument("--compare", action="store_true", help="also fit logistic regression and gradient boosting")
    ap.add_argument("--weighted", action="store_true", help="weight blocks by sqrt(1 + words)")
    ap.add_argument("--cache", help="pickle of the parsed dev pages, reused by later runs (a speed-up only)")
    args = ap.parse_args(argv)

    t = time.perf_counter()
    pages = load_wcxb(args.wcxb, "dev")
    data = page_data(pages, args.cache)
    print(f"{len(pages)} dev pages, {sum(len(d[1]) for d in data)} blocks, features in "
          f"{time.perf_counter() - t:.0f} s", file=sys.stderr)
    fit, held = split(data)
    x, y, w = stack(fit)
    print(f"fit on {len(fit)} pages ({len(y)} blocks, {y.mean():.2f} content); threshold on {len(held)} pages",
          file=sys.stderr)

    def held_scores(predict):
        return [predict(d[2]) if len(d[1]) else np.zeros(0) for d in held]

    scaler, mlp = fit_mlp(x, y, args.hidden, w=w if args.weighted else None)
    thr, (p, r, f) = best_threshold(held, held_scores(lambda a: mlp.predict_proba(scaler.transform(a))[:, 1]))
    print(f"MLP({args.hidden}) held-out dev snippet F1 {f:.4f} (P {p:.3f} / R {r:.3f}) at threshold {thr:.3f}")
    keep_all = snippet_f1(held, [np.ones(len(d[1])) for d in held], 0.5)
    print(f"resiliparse main content, all blocks kept: snippet F1 {keep_all[2]:.4f} (P {keep_all[0]:.3f} / "
          f"R {keep_all[1]:.3f})")
    if args.compare:
        from sklearn.ensemble import HistGradientBoostingClassifier
        from sklearn.linear_model import LogisticRegression
        from sklearn.preprocessing import StandardScaler

        sc = StandardScaler().fit(x)
        lr = LogisticRegression(max_iter=2000, C=1.0).fit(sc.transform(x), y)
        t_, r_ = best_threshold(held, held_scores(lambda a: lr.predict_proba(sc.transform(a))[:, 1]))
        print(f"logistic regression: held-out snippet F1 {r_[2]:.4f} (P {r_[0]:.3f} / R {r_[1]:.3f}) at {t_:.3f}")
        gb = HistGradientBoostingClassifier(max_iter=100, learning_rate=0.1, random_state=0).fit(x, y)
        t_, r_ = best_threshold(held, held_scores(lambda a: gb.predict_proba(a)[:, 1]))
        print(f"gradient boosting (100 trees): held-out snippet F1 {r_[2]:.4f} (P {r_[0]:.3f} / R {r_[1]:.3f}) "
              f"at {t_:.3f}")

    spec = to_spec(scaler, mlp, thr, {"corpus": "WCXB dev (CC-BY-4.0)", "pages": len(fit), "blocks": int(len(y)),
                                      "threshold_pages": len(held),
                                      "held_out_dev_snippet_f1": round(f, 4), "hidden": args.hidden,
                                      "weighted": args.weighted})
    Path(args.out).write_text(json.dumps(spec, separators=(",", ":")) + "\n")
    print(f"wrote {args.out} ({Path(args.out).stat().st_size / 1024:.0f} KB)")


if __name__ == "__main__":
    main()
