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
    for lang in ("eng_Latn", "fra_Latn", "deu_Latn", "cmn_Hani", "rus_Cyrl"):
        for text in corpus(30) + ["人人生而自由 在尊严和权利上一律平等 cannot gonna 0km"]:
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
    assert (res.cluster_size[0], res.cluster_size[15], res.cluster_size[25], res.cluster_size[60]) == (3, 2, 1, 1)
    assert res.cluster_id[n_base + 100] == 0  # near copy of doc 0 points at it
    assert not list(tmp_path.glob("*.spill"))


def _docs(rnd, n, vocab):
    return [" ".join(rnd.choice(vocab) for _ in range(120)) for _ in range(n)]


def test_curate_dedup_per_language_keeps_columns(tmp_path, capsys):
    import polars as pl

    from curation.cli import main

    rnd = random.Random(3)
    vocab = [a + b + c for a in "bcdfgklmnp" for b in "aeiou" for c in ("ra", "lo", "ni", "ta", "su", "ke")]
    en, fr = _docs(rnd, 30, vocab), _docs(rnd, 20, vocab)
    rows = ([{"id": f"en{i}", "text": t, "language": "eng_Latn", "score": i} for i, t in enumerate(en)]
            + [{"id": f"fr{i}", "text": t, "language": "fra_Latn", "score": i} for i, t in enumerate(fr)]
            + [{"id": "en-copy", "text": en[3], "language": "eng_Latn", "score": 0},
               {"id": "fr-copy-of-en", "text": en[4], "language": "fra_Latn", "score": 0},  # other language: kept
               {"id": "null", "text": None, "language": "eng_Latn", "score": 0}])
    pl.DataFrame(rows[:40]).write_parquet(tmp_path / "a.parquet")
    pl.DataFrame(rows[40:]).write_ndjson(tmp_path / "b.jsonl")
    assert main(["dedup", str(tmp_path / "a.parquet"), str(tmp_path / "b.jsonl"), "-o", str(tmp_path / "out"),
                 "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "53 documents in, 52 kept, 1 removed" in printed and "1 without text" in printed
    out = pl.read_parquet(tmp_path / "out" / "*.parquet", missing_columns="insert")
    assert set(out.columns) >= {"id", "text", "language", "score", "minhash_cluster_size", "minhash_cluster_id"}
    assert "en-copy" not in out["id"].to_list() and "fr-copy-of-en" in out["id"].to_list()
    assert out.filter(pl.col("id") == "en3")["minhash_cluster_size"].item() == 2
    assert out.filter(pl.col("id") == "null")["minhash_cluster_size"].item() == 1


def test_curate_dedup_bad_text_column(tmp_path, capsys):
    import polars as pl

    from curation.cli import main

    pl.DataFrame({"id": [1, 2], "body": [3, 4]}).write_parquet(tmp_path / "x.parquet")
    assert main(["dedup", str(tmp_path / "x.parquet"), "-o", str(tmp_path / "o"), "--text-column", "body",
                 "--no-progress"]) == 2
    assert "column 'body' holds int64, not text" in capsys.readouterr().err
    assert main(["dedup", str(tmp_path / "x.parquet"), "-o", str(tmp_path / "o"), "--no-progress"]) == 2
    assert "no 'text' column" in capsys.readouterr().err


def test_incremental_index_across_snapshots(tmp_path):
    import polars as pl

    from curation.apply.dedup import dedup_files
    from dedup.index import BandIndex

    rnd = random.Random(5)
    vocab = [a + b + c for a in "bcdfgklmnp" for b in "aeiou" for c in ("ra", "lo", "ni", "ta", "su", "ke")]
    old, new = _docs(rnd, 40, vocab), _docs(rnd, 30, vocab)
    first = [{"id": f"s1-{i}", "text": t, "language": "eng_Latn"} for i, t in enumerate(old)]
    edited = old[5].split()
    edited[10] = "changed"
    second = ([{"id": f"s2-{i}", "text": t, "language": "eng_Latn"} for i, t in enumerate(new)]
              + [{"id": "s2-copy", "text": old[3], "language": "eng_Latn"},
                 {"id": "s2-near", "text": " ".join(edited), "language": "eng_Latn"}])
    pl.DataFrame(first).write_parquet(tmp_path / "snap1.parquet")
    pl.DataFrame(second).write_parquet(tmp_path / "snap2.parquet")
    index = tmp_path / "index"
    a = dedup_files([str(tmp_path / "snap1.parquet")], str(tmp_path / "o1"), index=str(index), progress=False)
    assert a["kept"] == 40 and len(BandIndex(index, "eng_Latn", MinhashConfig()).segments()) == 1
    b = dedup_files([str(tmp_path / "snap2.parquet")], str(tmp_path / "o2"), index=str(index), progress=False)
    kept = pl.read_parquet(tmp_path / "o2" / "*.parquet")["id"].to_list()
    assert "s2-copy" not in kept and "s2-near" not in kept and len(kept) == 30
    assert b["languages"]["eng_Latn"]["seen_before"] == 2
    # the index now holds both snapshots; a crash mid-append leaves no partial segment visible
    assert len(BandIndex(index, "eng_Latn", MinhashConfig()).segments()) == 2
    (index / "eng_Latn" / ".tmp_seg_000002_1").mkdir()
    assert len(BandIndex(index, "eng_Latn", MinhashConfig()).segments()) == 2
    with pytest.raises(CurationError, match="built with"):
        BandIndex(index, "eng_Latn", MinhashConfig(n_grams=3)).segments()


def test_bad_input_empty_short_and_enormous_documents(tmp_path):
    rnd = random.Random(0)
    vocab = [a + b + c for a in "bcdfgklmnp" for b in "aeiou" for c in ("ra", "lo", "ni", "ta", "su", "ke")]
    big = " ".join(rnd.choice(vocab) for _ in range(50 * 2**20 // 5))  # a single 50 MB document
    assert len(big) >= 50 * 2**20 - 8
    res = dedup_texts([big, "", "short", big[:5000], big[:5000]], normalized_word_splitter("eng_Latn"),
                      work_dir=tmp_path)
    assert res.keep.tolist() == [True, True, True, True, False]
    assert res.cluster_size.tolist() == [1, 1, 1, 2, 2]
