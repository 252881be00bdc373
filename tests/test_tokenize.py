"""Token shards: read back with datatrove's own reader, token counts equal direct `tokenizers` encoding,
seeded document shuffling, uint32 for large vocabularies, the Megatron export, resume and bad input."""

from __future__ import annotations

import json
import struct

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from datatrove.utils.dataset import DatatroveFileDataset, DatatroveFolderDataset

from curation.core import CurationError
from curation.tokenize import encode as encode_mod
from curation.tokenize import export_megatron, list_shards, load_tokenizer, token_dtype, tokenize_dataset, train_bpe

WORDS = {
    "fra_Latn": "tous les êtres humains naissent libres et égaux en dignité et en droits".split(),
    "rus_Cyrl": "все люди рождаются свободными и равными в своем достоинстве и правах".split(),
    "cmn_Hani": list("人人生而自由在尊严和权利上一律平等他们赋有理性和良心"),
}


def make_texts(n: int, seed: int = 0) -> list[tuple[str, str]]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        lang = list(WORDS)[i % 3]
        words = WORDS[lang]
        sep = "" if lang == "cmn_Hani" else " "
        out.append((lang, sep.join(rng.choice(words, size=int(rng.integers(3, 60)))) + f" {i}"))
    return out


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus")
    rows = make_texts(90)
    for k in range(3):  # three files, one with a null and an empty text
        part = rows[k * 30:(k + 1) * 30]
        texts = [t for _, t in part] + ([None, ""] if k == 1 else [])
        langs = [lang for lang, _ in part] + (["fra_Latn", "fra_Latn"] if k == 1 else [])
        pq.write_table(pa.table({"text": texts, "language": langs, "id": [str(i) for i in range(len(texts))]}),
                       root / f"part_{k}.parquet")
    tok = train_bpe((t for _, t in rows), 300, root / "tok" / "tokenizer.json")
    return {"root": root, "rows": rows, "tokenizer": str(tok)}


def shard_docs(folder) -> list[tuple[int, ...]]:
    docs = []
    for shard in list_shards(folder):
        tokens, start = np.asarray(shard.tokens()), 0
        for end in shard.doc_ends().tolist():
            docs.append(tuple(tokens[start:end].tolist()))
            start = end
    return docs


def expected_docs(corpus) -> list[tuple[int, ...]]:
    tok = load_tokenizer(corpus["tokenizer"])
    eos = tok.token_to_id("<|endoftext|>")
    return [tuple(tok.encode(t, add_special_tokens=False).ids + [eos]) for _, t in corpus["rows"]]


def test_shards_hold_every_document_once_and_datatrove_reads_them(corpus, tmp_path):
    out = tmp_path / "shards"
    s = tokenize_dataset([str(corpus["root"])], out, corpus["tokenizer"], seed=1, max_tokens_per_file=600,
                         progress=False)
    expected = expected_docs(corpus)
    assert s["documents"] == 90 and s["skipped"] == 2
    assert s["tokens"] == sum(map(len, expected))
    assert sorted(shard_docs(out)) == sorted(expected)  # every document once, whole
    assert shard_docs(out) != expected  # shuffled across files
    assert len(s["files"]) > 2 and all(f["tokens"] <= 600 for f in s["files"])
    assert s["languages"]["rus_Cyrl"]["documents"] == 30
    meta = (out / "tokens_00000.ds.metadata").read_text().splitlines()
    assert meta[0] == f"{corpus['tokenizer']}|2" and int(meta[1]) == s["files"][0]["tokens"]

    # datatrove's own readers: windows of seq_len + 1 tokens, files in sorted order
    seq = 15
    ds = DatatroveFolderDataset(str(out), seq_len=seq, token_size=2)
    streams = [np.asarray(sh.tokens()) for sh in list_shards(out)]
    want = np.concatenate([x[:len(x) // (seq + 1) * (seq + 1)] for x in streams])
    got = np.concatenate([ds[i]["input_ids"].numpy() for i in range(len(ds))])
    assert np.array_equal(got, want)
    f0 = DatatroveFileDataset(str(out / "tokens_00000.ds"), seq_len=seq, token_size=2, return_positions=True)
    first_end = int(list_shards(out)[0].doc_ends()[0])
    if first_end < seq:
        assert f0[0]["positions"][first_end].item() == 0  # positions restart after the first document (index file)


def test_seed_fixes_the_order(corpus, tmp_path):
    a = tokenize_dataset([str(corpus["root"])], tmp_path / "a", corpus["tokenizer"], seed=3, progress=False)
    b = tokenize_dataset([str(corpus["root"])], tmp_path / "b", corpus["tokenizer"], seed=3, progress=False,
                         batch_size=7)  # encode calls split inside and across input files: the same shards
    tokenize_dataset([str(corpus["root"])], tmp_path / "c", corpus["tokenizer"], seed=4, progress=False)
    assert a["files"] == b["files"]
    assert (tmp_path / "a/tokens_00000.ds").read_bytes() == (tmp_path / "b/tokens_00000.ds").read_bytes()
    assert shard_docs(tmp_path / "a") != shard_docs(tmp_path / "c")
    again = tokenize_dataset([str(corpus["root"])], tmp_path / "a", corpus["tokenizer"], seed=3, progress=False)
    assert again.get("resumed")
    with pytest.raises(CurationError, match="other inputs or settings"):
        tokenize_dataset([str(corpus["root"])], tmp_path / "a", corpus["tokenizer"], seed=9, progress=False)


def test_large_vocabulary_goes_to_uint32(tmp_path):
    from tokenizers import Tokenizer, models, pre_tokenizers

    vocab = {f"w{i}": i for i in range(70_000)} | {"[UNK]": 70_000, "</s>": 70_001}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.save(str(tmp_path / "big.json"))
    pq.write_table(pa.table({"text": ["w1 w69999 w5", "w65536 zzz"]}), tmp_path / "d.parquet")
    s = tokenize_dataset([str(tmp_path / "d.parquet")], tmp_path / "out", str(tmp_path / "big.json"), progress=False)
    assert s["token_size"] == 4 and s["eos_id"] == 70_001
    assert sorted(shard_docs(tmp_path / "out")) == sorted([(1, 69999, 5, 70001), (65536, 70000, 70001)])
    ds = DatatroveFileDataset(str(tmp_path / "out/tokens_00000.ds"), seq_len=6, token_size=4)
    assert sorted(ds[0]["input_ids"].tolist()) == sorted([1, 69999, 5, 70001, 65536, 70000, 70001])
    with pytest.raises(CurationError, match="does not fit uint16"):
        tokenize_dataset([str(tmp_path / "d.parquet")], tmp_path / "o2", str(tmp_path / "big.json"), dtype="uint16",
                         progress=False)
    assert token_dtype(65_536) == np.uint16 and token_dtype(65_537) == np.uint32


def test_megatron_export_follows_the_indexed_dataset_layout(corpus, tmp_path):
    tokenize_dataset([str(corpus["root"])], tmp_path / "s", corpus["tokenizer"], max_tokens_per_file=700,
                     progress=False)
    info = export_megatron(tmp_path / "s", tmp_path / "meg" / "demo")
    raw = (tmp_path / "meg/demo.idx").read_bytes()
    assert raw[:9] == b"MMIDIDX\x00\x00"
    version, code, n_seq, n_doc = struct.unpack("<QBQQ", raw[9:34])
    assert (version, code, n_seq, n_doc) == (1, 8, 90, 91)
    lengths = np.frombuffer(raw, "<i4", n_seq, 34)
    pointers = np.frombuffer(raw, "<i8", n_seq, 34 + 4 * n_seq)
    documents = np.frombuffer(raw, "<i8", n_doc, 34 + 12 * n_seq)
    assert len(raw) == 34 + 12 * n_seq + 8 * n_doc
    assert documents.tolist() == list(range(91))
    tokens = np.fromfile(tmp_path / "meg/demo.bin", "<u2")
    seqs = [tuple(tokens[p // 2:p // 2 + n].tolist()) for p, n in zip(pointers, lengths)]
    assert seqs == shard_docs(tmp_path / "s") and info["tokens"] == len(tokens)


def test_killed_run_skips_finished_files(corpus, tmp_path, monkeypatch):
    clean = tokenize_dataset([str(corpus["root"])], tmp_path / "clean", corpus["tokenizer"], progress=False)

    def die(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(encode_mod, "_shuffle_pass", die)
    with pytest.raises(KeyboardInterrupt):
        tokenize_dataset([str(corpus["root"])], tmp_path / "r", corpus["tokenizer"], progress=False)
    assert len(list((tmp_path / "r/_work").glob("*.json"))) == 4  # settings + 3 finished files
    monkeypatch.undo()
    calls = []
    real = encode_mod.read_texts
    monkeypatch.setattr(encode_mod, "read_texts", lambda *a, **k: calls.append(a[0]) or real(*a, **k))
    s = tokenize_dataset([str(corpus["root"])], tmp_path / "r", corpus["tokenizer"], progress=False)
    assert calls == [] and s["files"] == clean["files"]
    assert shard_docs(tmp_path / "r") == shard_docs(tmp_path / "clean")
    assert not (tmp_path / "r/_work").exists() and json.loads((tmp_path / "r/tokenize.json").read_text())


def test_bad_input_is_named(corpus, tmp_path):
    with pytest.raises(CurationError, match="nothing.json.*no such file"):
        tokenize_dataset([str(corpus["root"])], tmp_path / "x", str(tmp_path / "nothing.json"), progress=False)
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(CurationError, match="bad.json.*not a Hugging Face"):
        load_tokenizer(tmp_path / "bad.json")
    pq.write_table(pa.table({"text": pa.array([None, ""], pa.string())}), tmp_path / "empty.parquet")
    with pytest.raises(CurationError, match="no documents with text"):
        tokenize_dataset([str(tmp_path / "empty.parquet")], tmp_path / "y", corpus["tokenizer"], progress=False)
    with pytest.raises(CurationError, match="has no token '<nope>'"):
        tokenize_dataset([str(corpus["root"])], tmp_path / "z", corpus["tokenizer"], eos="<nope>", progress=False)
    pq.write_table(pa.table({"body": ["x"]}), tmp_path / "nocol.parquet")
    with pytest.raises(CurationError, match="nocol.parquet: no 'text' column"):
        tokenize_dataset([str(tmp_path / "nocol.parquet")], tmp_path / "w", corpus["tokenizer"], progress=False)
