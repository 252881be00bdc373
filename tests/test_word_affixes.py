"""The fast prefix/suffix searches give spaCy's exact tokens, also on long unbroken tokens."""

import random

import pytest

ADVERSARIAL = [
    "/usr/lib/python3.11/site-packages/numpy/core/_multiarray_umath.cpython-311-x86_64-linux-gnu.so",
    "https://example.com/a/b/c?x=1&y=2#frag).", "(see:https://docs.python.org/3/library/re.html#re.search)...",
    "aGVsbG8gd29ybGQgdGhpcyBpcyBiYXNlNjQgZW5jb2RlZCB0ZXh0IG9mIHNvbWUgbGVuZ3Ro" * 4 + "==",
    "!" * 300, "." * 257, "...)" * 60, "a" + "." * 100 + "b" + "..." * 20, "))))))))))(((((((((((" * 10,
    "--option-one=--option-two=--option-three," * 8, "10km" * 30 + "10km.", "1,000,000.00$" * 12, "don't's" * 40,
    "ภาษาไทยไม่มีช่องว่างระหว่างคำ" * 30 + ".", "这是一个没有空格的很长的中文句子" * 40 + "。",
    "日本語のテキスト" * 50 + "」",
    "ሰላምለዓለም" * 80 + "።", "«" * 30 + "mot" + "»" * 30, "'''" * 70 + "x", "x\u2026" * 90, "°C." * 50,
    "e.g.," * 40, "U.S.A." * 33, "3+" * 80, "a" * 5000, "0" * 4000 + "km", "x'" * 100 + "'s",
]


def _tokenizers(lang):
    import spacy

    from filters.affixes import speed_up

    slow = spacy.blank(lang).tokenizer
    fast = spacy.blank(lang).tokenizer
    speed_up(fast)
    assert fast.suffix_search is not slow.suffix_search
    return slow, fast


@pytest.mark.parametrize("lang", ["en", "fr", "de", "ru", "xx", "it"])
def test_fast_affix_search_gives_spacys_tokens(lang):
    slow, fast = _tokenizers(lang)
    rnd = random.Random(3)
    alphabet = list("aZé0.,;:!?'\"()[]{}«»-–—/\\%$€°+*#&…\u3002ภ中") + ["km", "'s", "n't", "..."]
    tokens = list(ADVERSARIAL)
    for _ in range(400):  # random mixtures of the characters the affix rules react to
        tokens.append("".join(rnd.choice(alphabet) for _ in range(rnd.randint(1, 120))))
    for tok in tokens:
        want = [t.text for t in slow(tok)]
        got = [t.text for t in fast(tok)]
        assert got == want, tok
        m1, m2 = slow.suffix_search(tok), fast.suffix_search(tok)
        assert (m1 and m1.span()) == (m2 and m2.span()), tok


def test_normalized_splitter_uses_the_fast_search():
    from filters.affixes import SuffixSearch
    from filters.words import normalized_word_splitter

    split = normalized_word_splitter("eng_Latn")
    assert split("a " + "0" * 3000 + "km b") == ["a", "0" * 3000, "km", "b"]
    assert isinstance(split.rules._rx("suffix"), SuffixSearch)  # spaCy's rules in pure Python, fast suffixes


def test_curate_dedup_imports_no_torch():
    import subprocess
    import sys

    code = ("import sys, curation.cli, curation.apply.dedup, dedup.stage; from filters.words import "
            "normalized_word_splitter as s; s('eng_Latn')('a b'); s('fra_Latn')('a b'); "
            "assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_chunk_splitter_finds_every_chunk_that_splits():
    """The regex pre-selection (trigger characters, special cases such as "cannot") misses no chunk that
    spaCy splits: the words equal spaCy's, and `joined` equals joining them."""
    from dedup.normalize import normalize
    from filters.words import normalized_word_splitter, word_tokenizer

    rnd = random.Random(5)
    pieces = ["cannot", "gonna", "wanna", "don't", "0km", "a", "l'homme", "aujourd'hui", "0", "x_y", "0.0", "(x)",
              "gotta", "e-mail", "usr/lib/x", "über", "naïve", "c'est", "n'est-ce", "0h00", "$0",
              "#tag"] + ADVERSARIAL[:6]
    texts = [normalize(" ".join(rnd.choice(pieces) for _ in range(40))) for _ in range(150)]
    texts += [" ".join(rnd.choice(pieces) for _ in range(40)) for _ in range(50)]  # not normalised: still exact
    for lang in ("eng_Latn", "fra_Latn"):
        split = normalized_word_splitter(lang)
        for text in texts:
            want = word_tokenizer(lang)(text)
            assert split(text) == want, text
            if text == " ".join(text.split()):
                assert split.joined(text) == " ".join(want), text
