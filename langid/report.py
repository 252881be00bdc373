"""Every model on every held-out set, scored the same way, so no single set or model can flatter.

Per (set, model): macro-F1 over all the set's languages (a language the model cannot output counts 0),
macro-F1 over the languages it knows, accuracy, the worst confusions, and the same for texts under 50
characters. `common_languages` adds the comparison the issue asks for: macro-F1 of each model over one
language set (the set's languages every compared model knows), so a model is not judged on languages it
was never meant to cover, nor excused on languages it should.
"""

from __future__ import annotations

import time

from langid.data import LabelledSet
from langid.evaluate import predict, score_predictions


def evaluate_all(models: list[str], sets: dict[str, LabelledSet], progress: bool = False,
                 only: dict[str, set[str]] | None = None) -> dict:
    """{"sets": {set: {"documents", "languages", "models": {model: scores}}}, "seconds": {model: s}}.
    `only`: model -> the sets it is scored on (a slow model, lingua, on a few); others on all."""
    from langid.combine import build_detector

    out = {"sets": {name: {"documents": len(s), "languages": len(set(s.labels)), "source": s.source,
                           "models": {}} for name, s in sets.items()}, "seconds": {}, "known": {}}
    for spec in models:
        det = build_detector(spec)
        known = det.known_labels()
        out["known"][spec] = sorted(known)
        spent = 0.0
        for name, data in sets.items():
            if only and spec in only and name not in only[spec]:
                continue
            t = time.perf_counter()
            preds = predict(det, data.texts, progress)
            spent += time.perf_counter() - t
            res = score_predictions(data, [p for p, _ in preds], known)
            res["predictions"] = [p for p, _ in preds]
            out["sets"][name]["models"][spec] = res
        out["seconds"][spec] = round(spent, 2)
    for name, data in sets.items():
        out["sets"][name]["common"] = common_languages(data, out["sets"][name]["models"], out["known"])
    for entry in out["sets"].values():  # predictions were only needed for the common-language scores
        for res in entry["models"].values():
            res.pop("predictions", None)
    return out


def common_languages(data: LabelledSet, results: dict, known: dict) -> dict:
    """Macro-F1 and accuracy of every model over the set's languages that all the models know."""
    langs = set(data.labels)
    for spec in results:  # the models scored on this set
        langs &= set(known[spec])
    if not langs:
        return {"languages": 0}
    idx = [i for i, g in enumerate(data.labels) if g in langs]
    sub = LabelledSet([data.texts[i] for i in idx], [data.labels[i] for i in idx], source=data.source)
    out = {"languages": len(langs), "documents": len(idx), "macro_f1": {}, "accuracy": {}}
    for spec, res in results.items():
        pred = [res["predictions"][i] for i in idx]
        sc = score_predictions(sub, pred, set(known[spec]), short=0)
        out["macro_f1"][spec] = sc["macro_f1"]
        out["accuracy"][spec] = sc["accuracy"]
    return out


def format_table(res: dict, confusions: int = 5) -> str:
    """One block per set: a row per model, then the common-language comparison and worst confusions."""
    lines = []
    for name, entry in res["sets"].items():
        lines.append(f"\n{name}: {entry['documents']} texts, {entry['languages']} languages ({entry['source']})")
        lines.append(f"  {'model':<26}{'known':>6}{'macro-F1':>10}{'F1 known':>10}{'accuracy':>10}"
                     f"{'short n':>9}{'short F1':>10}{'short acc':>10}")
        for spec, r in entry["models"].items():
            s = r.get("short_texts") or {}
            known = r["macro_f1_known"]
            lines.append(f"  {spec:<26}{r['languages_known']:>6}{r['macro_f1']:>10.4f}"
                         f"{known if known is not None else float('nan'):>10.4f}{r['accuracy']:>10.4f}"
                         f"{s.get('documents', 0):>9}{s.get('macro_f1', float('nan')):>10.4f}"
                         f"{s.get('accuracy', float('nan')):>10.4f}")
        c = entry.get("common") or {}
        if c.get("languages"):
            best = sorted(c["macro_f1"].items(), key=lambda kv: -kv[1])
            lines.append(f"  over the {c['languages']} languages every model knows ({c['documents']} texts): "
                         + ", ".join(f"{k} {v:.4f}" for k, v in best))
        for spec, r in entry["models"].items():
            worst = ", ".join(f"{x['gold']}->{x['predicted']} {x['documents']}"
                              for x in r["top_confusions"][:confusions])
            lines.append(f"  worst confusions, {spec}: {worst}")
    lines.append("\nseconds spent predicting (all sets): "
                 + ", ".join(f"{k} {v}" for k, v in res["seconds"].items()))
    return "\n".join(lines)
