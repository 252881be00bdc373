"""MinHash dedup: signatures bit-identical to datatrove, checksummed bucket files, clusters."""

import random

import numpy as np
import pytest
import xxhash
from datatrove.pipeline.dedup.minhash import MinhashDedupSignature
from datatrove.utils.text import simplify_text

from curation.core import CurationError
from dedup import kernels
from dedup.minhash import MinhashConfig, dedup_texts, normalize, read_bucket, signatures, write_bucket
from filters.words import normalized_word_splitter, word_tokenizer

SENTS = [
    "Everyone has the right to life, liberty and security of person.",
    "No one shall be held in slavery or servitude; slavery shall be prohibited in all their forms.",
    "Tout individu a droit à la vie, à la liberté et à la sûreté de sa personne.",
    "Niemand darf der Folter oder grausamer, unmenschlicher Behandlung unterworfen werden.",
    "All are equal before the law and are entitled without any discrimination to equal protection.",
    "Everyone has the right to an effective remedy by the competent national tribunals (art. 8, 1948).",
    "Ελευθερία της σκέψης — «δικαίωμα» 12,5% … naïve café coöperation",
]


def corpus(n, seed=0):
    rnd = random.Random(seed)
    words = " ".join(SENTS).split()
    docs = [" ".join(rnd.choice(SENTS) for _ in range(rnd.randint(0, 12))) for _ in range(n)]
    docs += ["", "one two", "   ", " ".join(rnd.choice(words) for _ in range(300))]
    return docs


def test_xxh64_kernel_matches_xxhash():
    rnd = random.Random(1)
    for length in list(range(70)) + [255, 1024]:
        data = bytes(rnd.randrange(256) for _ in range(length))
        buf = np.frombuffer(b"ab" + data + b"cd", dtype=np.uint8)
        assert kernels.xxh64(buf, 2, 2 + length) == xxhash.xxh64_intdigest(data)


def test_normalize_equals_datatrove_simplify_text():
    for text in corpus(200) + ["Ça coûte 1.234,56 €!\tOK\u00a0 ok", "x\u0301 \u0301 y", "İstanbul ǅ ﬁ"]:
        assert normalize(text) == simplify_text(text)


@pytest.mark.parametrize("lang,dt_lang", [("eng_Latn", "en"), ("fra_Latn", "fr")])
def test_signatures_bit_identical_to_datatrove(lang, dt_lang):
    texts = corpus(60, seed=len(lang))
    ours = signatures(texts, normalized_word_splitter(lang))
    dt = MinhashDedupSignature("/tmp/unused-dt-sigs", language=dt_lang)
    for text, row in zip(texts, ours):
        shingles = dt.get_shingles(text)
        if shingles.size == 0:
            assert (row == kernels.EMPTY).all()
        else:
            assert row.tolist() == np.concatenate(dt.get_signature(shingles)).tolist()


def test_normalized_splitter_gives_the_tokenizer_words():
    for lang in ("eng_Latn", "fra_Latn", "deu_Latn"):
        for text in corpus(30):
            norm = normalize(text)
            assert normalized_word_splitter(lang)(norm) == word_tokenizer(lang)(norm)


def test_bucket_files_are_checked(tmp_path):
    dtype = np.dtype([("h", "<u8", (8,)), ("doc", "<u4")])
    rec = np.zeros(5, dtype=dtype)
    rec["h"][:, 0] = [5, 3, 9, 3, 1]
    rec["doc"] = np.arange(5)
    path = tmp_path / "b.bucket"
    write_bucket(path, rec)
    back = read_bucket(path)
    assert back["h"][:, 0].tolist() == [1, 3, 3, 5, 9]  # sorted
    data = path.read_bytes()
    path.write_bytes(data[:-10])
    with pytest.raises(CurationError, match="b.bucket.*(truncated|not a complete)"):
        read_bucket(path)
    corrupt = bytearray(data)
    corrupt[40] ^= 0xFF
    path.write_bytes(bytes(corrupt))
    with pytest.raises(CurationError, match="checksum"):
        read_bucket(path)


def test_dedup_finds_near_and_exact_duplicates(tmp_path):
    rnd = random.Random(7)
    vocab = [f"{a}{b}" for a in ("ka", "lo", "mi", "tu", "ze", "pa", "ri", "so") for b in range(400)]
    base = [" ".join(rnd.choice(vocab) for _ in range(300)) for _ in range(50)]
    uniques = [" ".join(rnd.choice(vocab) for _ in range(200)) for _ in range(100)]
    near = []
    for b in base[:20]:  # a few percent of the words changed
        words = b.split()
        for k in rnd.sample(range(len(words)), 4):
            words[k] = "edited"
        near.append(" ".join(words))
    texts = base + uniques + near + base[:10] + ["", "too short"]
    res = dedup_texts(texts, normalized_word_splitter("eng_Latn"), work_dir=tmp_path, batch_size=64)
    n_base = len(base)
    dup_idx = range(n_base + 100, len(texts) - 2)
    assert all(not res.keep[i] for i in dup_idx)  # every near and exact copy is removed
    assert all(res.keep[i] for i in range(n_base + 100))  # originals and uniques stay
    assert res.keep[-1] and res.keep[-2]  # no n-gram: never a duplicate
    assert res.cluster_size[0] == 3 and res.cluster_size[15] == 2 and res.cluster_size[25] == 1 and res.cluster_size[60] == 1
    assert res.cluster_id[n_base + 100] == 0  # near copy of doc 0 points at it
    assert not list(tmp_path.glob("*.spill"))
