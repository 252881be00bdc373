"""Quantized training backend: ShiftQuant and rounding properties, exact integer products, the full-precision
path equals nn.Linear, L1 norm gradients, bits per byte, and a killed training run resuming exactly."""

from __future__ import annotations

import json
import math

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch

from curation.core import CurationError
from curation.tokenize import tokenize_dataset, train_bpe
from curation.train.config import TrainConfig
from curation.train.evaluate import bits_per_byte, encode_heldout
from curation.train.model import Llama, ModelConfig
from curation.train.norm import L1Norm
from curation.train.quant import QuantLinear, QuantSpec, qmax, quantize_rtn, shiftquant, stochastic_round
from curation.train.trainer import train
from tests.test_tokenize import make_texts


def test_stochastic_rounding_is_unbiased():
    torch.manual_seed(0)
    x = torch.tensor([0.1, 0.5, -0.3, 2.75, -7.9])
    draws = torch.stack([stochastic_round(x) for _ in range(20000)])
    assert torch.equal(draws, draws.round())
    assert torch.all((draws == x.floor()) | (draws == x.floor() + 1))
    assert torch.allclose(draws.mean(0), x, atol=4 * 0.5 / math.sqrt(20000))


@pytest.mark.parametrize("bits", [4, 6, 8])
def test_shiftquant_codes_shifts_and_unbiasedness(bits):
    torch.manual_seed(1)
    g = torch.randn(64, 32) * torch.logspace(-4, 0, 64)[:, None]  # rows spanning four decades
    g[3] = 0  # an all-zero group
    levels = 8
    total = torch.zeros_like(g)
    n = 3000
    for _ in range(n):
        codes, k, unit = shiftquant(g, bits, levels)
        assert torch.equal(codes, codes.round()) and codes.abs().max() <= qmax(bits)
        assert torch.equal(k, k.round()) and k.min() >= 0 and k.max() <= levels - 1
        total += codes * (unit * torch.exp2(-k))[:, None]
    assert k.max() == levels - 1 and k[-1] == 0
    mean = total / n
    scale = (unit * torch.exp2(-k))[:, None].expand_as(g)
    assert torch.all((mean - g).abs() <= 5 * 0.5 * scale / math.sqrt(n))  # E[q * D] = G
    codes, k, _ = shiftquant(g, bits, levels=1)  # K = 1: one scale for the whole tensor
    assert torch.equal(k, torch.zeros_like(k))


def test_rtn_codes_in_range():
    w = torch.randn(50, 40)
    for bits in (4, 6, 8):
        codes, s = quantize_rtn(w, bits)
        assert torch.equal(codes, codes.round()) and codes.abs().max() == qmax(bits)
        assert (codes * s - w).abs().max() <= s / 2 + 1e-6


def test_full_precision_is_nn_linear_exactly():
    torch.manual_seed(2)
    ref = torch.nn.Linear(24, 16, bias=False)
    q = QuantLinear(24, 16, QuantSpec())
    q.weight.data.copy_(ref.weight.data)
    x1 = torch.randn(3, 5, 24, requires_grad=True)
    x2 = x1.detach().clone().requires_grad_()
    y1, y2 = ref(x1), q(x2)
    assert torch.equal(y1, y2)
    (y1 ** 2).sum().backward()
    (y2 ** 2).sum().backward()
    assert torch.equal(x1.grad, x2.grad) and torch.equal(ref.weight.grad, q.weight.grad)


def test_l1_norm_gradients_match_finite_differences():
    torch.manual_seed(4)
    for center in (False, True):
        norm = L1Norm(7, center=center).double()
        with torch.no_grad():
            norm.weight.copy_(torch.randn(7))
        x = torch.randn(3, 7, dtype=torch.double, requires_grad=True)
        assert torch.autograd.gradcheck(norm, (x,), eps=1e-6, atol=1e-5)
    y = L1Norm(1000)(torch.randn(4, 1000))
    assert torch.allclose(y.std(-1), torch.ones(4), atol=0.1)  # sqrt(pi/2) * mean|x| estimates the std


def test_bits_per_byte_scores_every_token_of_long_documents():
    from tokenizers import Tokenizer, models, pre_tokenizers

    tok = Tokenizer(models.WordLevel({"a": 0, "b": 1, "<|endoftext|>": 2, "[UNK]": 3}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    docs = {"xx": ["a b " * 40, "b"], "yy": ["a"]}  # the first document is 80 tokens: longer than the context
    model = Llama(ModelConfig(vocab_size=4, dim=8, layers=1, heads=2, context=16))
    for p in model.parameters():
        torch.nn.init.zeros_(p)  # zero logits: every token costs ln(4) nats
    bpb = bits_per_byte(model, encode_heldout(tok, docs, 2), batch_size=3)
    assert bpb["xx"] == pytest.approx(81 * math.log(4) / (math.log(2) * (160 + 1)))
    assert bpb["yy"] == pytest.approx(math.log(4) / math.log(2))


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    root = tmp_path_factory.mktemp("train")
    rows = make_texts(120)
    pq.write_table(pa.table({"text": [t for _, t in rows[:100]], "language": [lang for lang, _ in rows[:100]]}),
                   root / "train.parquet")
    (root / "held").mkdir()
    pq.write_table(pa.table({"text": [t for _, t in rows[100:]], "language": [lang for lang, _ in rows[100:]]}),
                   root / "held" / "held.parquet")
    tok = train_bpe((t for _, t in rows), 300, root / "tok.json")
    tokenize_dataset([str(root / "train.parquet")], root / "shards", str(tok), progress=False)
    return root


def tiny(root, out, **kw) -> TrainConfig:
    base = dict(tokenizer=str(root / "tok.json"), data=[{"path": str(root / "shards")}], output=str(out),
                model={"dim": 32, "layers": 1, "heads": 2, "context": 16, "bits": 6},
                eval={"paths": [str(root / "held")], "every": 3, "max_bytes_per_language": 2000},
                steps=6, batch_size=4, warmup=2, checkpoint_every=2, lr=1e-2)
    return TrainConfig.model_validate(base | kw)


def test_killed_run_resumes_exactly(shards, tmp_path):
    full = train(tiny(shards, tmp_path / "full"), progress=False)
    assert train(tiny(shards, tmp_path / "part"), progress=False, stop_after=3) == {"stopped_at": 3}
    # the kill came after step 3, the last checkpoint is from step 2: the log past it is dropped on resume
    resumed = train(tiny(shards, tmp_path / "part"), progress=False)
    a = torch.load(tmp_path / "full/checkpoint.pt", weights_only=False)["model"]
    b = torch.load(tmp_path / "part/checkpoint.pt", weights_only=False)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert resumed["bpb"] == full["bpb"] and set(full["bpb"]) == {"fra_Latn", "rus_Cyrl", "cmn_Hani"}
    log = [json.loads(x) for x in (tmp_path / "part/log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [0, 1, 2, 3, 4, 5, 6]
    full_log = [json.loads(x) for x in (tmp_path / "full/log.jsonl").read_text().splitlines()]
    assert [r.get("loss") for r in log] == [r.get("loss") for r in full_log]
    assert full_log[-1]["loss"] < full_log[1]["loss"]


def test_bad_checkpoint_and_foreign_shards_are_named(shards, tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run/checkpoint.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CurationError, match="checkpoint .*checkpoint.pt: cannot be read"):
        train(tiny(shards, tmp_path / "run"), progress=False)
    other = train_bpe((t for _, t in make_texts(50, seed=5)), 290, tmp_path / "other.json")
    with pytest.raises(CurationError, match="were written with another tokenizer"):
        train(tiny(shards, tmp_path / "run2", tokenizer=str(other)), progress=False)
    pq.write_table(pa.table({"text": pa.array([], pa.string())}), tmp_path / "none.parquet")
    with pytest.raises(CurationError, match="held-out text .*no documents"):
        train(tiny(shards, tmp_path / "run3", eval={"paths": [str(tmp_path / "none.parquet")]}), progress=False)


def test_ablation_table_calls_differences_beyond_three_seed_sds():
    from curation.train.ablate import compare, markdown

    runs = {"raw": {0: {"fra": 2.00, "rus": 1.50}, 1: {"fra": 2.02, "rus": 1.52}, 2: {"fra": 2.04, "rus": 1.48}},
            "filtered": {0: {"fra": 1.80, "rus": 1.51}, 1: {"fra": 1.82, "rus": 1.49}, 2: {"fra": 1.84, "rus": 1.50}}}
    cmp = compare(runs)
    fra, rus = cmp["languages"]["fra"]["filtered"], cmp["languages"]["rus"]["filtered"]
    assert fra["diff"] == pytest.approx(-0.2) and fra["sds"] == pytest.approx(-10.0) and fra["real"]
    assert rus["diff"] == pytest.approx(0.0) and not rus["real"]
    assert "| fra | 2.0200 ± 0.0200 | 1.8200 ± 0.0200 | -0.2000 (-10.0, real) |" in markdown(cmp)


def test_curate_train_command(shards, tmp_path, capsys):
    from curation.cli import main

    cfg = tiny(shards, tmp_path / "cli").model_dump(mode="json")
    (tmp_path / "t.yml").write_text(json.dumps(cfg | {"steps": 2}))
    assert main(["train", str(tmp_path / "t.yml"), "--no-progress"]) == 0
    assert "bits/byte" in capsys.readouterr().out and (tmp_path / "cli/result.json").exists()
    (tmp_path / "bad.yml").write_text(json.dumps(cfg | {"model": {"dim": 30, "heads": 4}, "stepz": 1}))
    assert main(["train", str(tmp_path / "bad.yml")]) == 2
    err = capsys.readouterr().err
    assert "bad.yml: model: Value error, dim 30 must split into 4 heads" in err and "bad.yml: stepz: Extra" in err


def test_shipped_training_configs_are_valid():
    from pathlib import Path

    from curation.train.config import AblationConfig, load_config

    root = Path(__file__).resolve().parent.parent / "manifests" / "training"
    cfg = load_config(root / "train.yml")
    assert cfg.model.bits == 6 and cfg.model.norm == "l1" and cfg.eval.paths == ["splits/demo/heldout"]
    assert list(load_config(root / "ablation.yml", AblationConfig).variants) == ["raw", "filtered"]


def test_curate_ablate_command_writes_table_json_and_plot(shards, tmp_path, capsys):
    from curation.cli import main

    cfg = tiny(shards, tmp_path / "abl").model_dump(mode="json")
    del cfg["data"]
    src = [{"path": str(shards / "shards")}]
    cfg |= {"variants": {"a": src, "b": src}, "seeds": [0, 1], "steps": 2, "checkpoint_every": 2}
    (tmp_path / "a.yml").write_text(json.dumps(cfg))
    assert main(["ablate", str(tmp_path / "a.yml"), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "| language | a bpb (mean ± sd) | b bpb (mean ± sd) | b - a (seed sds) |" in out
    saved = json.loads((tmp_path / "abl/ablation.json").read_text())
    assert set(saved["runs"]["b"]) == {"0", "1"} and (tmp_path / "abl/ablation.png").stat().st_size > 1000
    # the same data and seeds: the variants match exactly, so no difference is called real
    assert saved["runs"]["a"] == saved["runs"]["b"]
    assert not any(row["b"]["real"] for row in saved["languages"].values())


def test_split_holds_out_per_language_deterministically(tmp_path):
    from curation.train.split import split_dataset

    rows = make_texts(60) + [("fra_Latn", "the same text twice")] * 2 + [("eus_Latn", "only one")]
    pq.write_table(pa.table({"text": [t for _, t in rows], "language": [lang for lang, _ in rows],
                             "id": list(range(len(rows)))}), tmp_path / "in.parquet")
    s = split_dataset([str(tmp_path / "in.parquet")], tmp_path / "a", share=0.2, seed=3)
    again = split_dataset([str(tmp_path / "in.parquet")], tmp_path / "b", share=0.2, seed=3)
    assert s["heldout"] == again["heldout"] and set(s["heldout"]) == {"fra_Latn", "rus_Cyrl", "cmn_Hani"}
    assert s["heldout"]["rus_Cyrl"]["documents"] == 4 and s["train"]["rus_Cyrl"]["documents"] == 16
    assert "eus_Latn" in s["train"] and "eus_Latn" not in s["heldout"]  # one document: training only
    train = pq.read_table(tmp_path / "a/train").to_pydict()
    held = pq.read_table(tmp_path / "a/heldout").to_pydict()
    assert set(train["id"]).isdisjoint(held["id"]) and len(train["id"]) + len(held["id"]) == len(rows)
    assert set(train) == {"text", "language", "id"}  # every column kept
    assert train["text"].count("the same text twice") in (0, 2)  # duplicates never straddle the split
    other = split_dataset([str(tmp_path / "in.parquet")], tmp_path / "c", share=0.2, seed=4)
    assert other["heldout"] != s["heldout"] or pq.read_table(tmp_path / "c/heldout")["id"].to_pylist() != held["id"]
    with pytest.raises(CurationError, match="held-out share 1.5"):
        split_dataset([str(tmp_path / "in.parquet")], tmp_path / "d", share=1.5)


def test_training_text_given_as_heldout_is_refused(shards, tmp_path):
    with pytest.raises(CurationError, match="eval.paths: .*train.parquet is also training data"):
        train(tiny(shards, tmp_path / "run", eval={"paths": [str(shards / "train.parquet")]}), progress=False)


def test_shipped_manifest_reports_bits_per_byte_on_unseen_text(tmp_path, monkeypatch, capsys):
    """The commands in train.yml's header, run as written on a small dataset: the held-out documents reach
    neither the tokenizer nor the shards, and `curate train` reports bits per byte on them."""
    import shlex
    from pathlib import Path

    from curation.cli import main

    manifest = Path(__file__).resolve().parent.parent / "manifests" / "training" / "train.yml"
    commands = [shlex.split(ln.lstrip("# "))[1:] for ln in manifest.read_text().splitlines()
                if ln.startswith("#   curate ")]
    assert [c[0] for c in commands] == ["split", "tokenize", "tokenize", "train"]
    monkeypatch.chdir(tmp_path)
    rows = make_texts(150)
    (tmp_path / "out/demo").mkdir(parents=True)
    pq.write_table(pa.table({"text": [t for _, t in rows], "language": [lang for lang, _ in rows]}),
                   tmp_path / "out/demo/part.parquet")
    for cmd in commands[:3]:
        if "--vocab-size" in cmd:
            cmd[cmd.index("--vocab-size") + 1] = "300"
        assert main(cmd + (["--no-progress"] if cmd[1] != "train" and cmd[0] == "tokenize" else [])) == 0
    held = pq.read_table(tmp_path / "splits/demo/heldout")["text"].to_pylist()
    trained = pq.read_table(tmp_path / "splits/demo/train")["text"].to_pylist()
    assert held and set(held).isdisjoint(trained)
    assert json.loads((tmp_path / "tokens/demo/tokenize.json").read_text())["documents"] == len(trained)
    capsys.readouterr()
    assert commands[3] == ["train", "manifests/training/train.yml"]
    assert main(["train", str(manifest), "--steps", "2", "--device", "cpu", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert all(f"{lang}" in out for lang in ("fra_Latn", "rus_Cyrl", "cmn_Hani")) and "bits/byte" in out
    result = json.loads((tmp_path / "runs/demo/result.json").read_text())
    assert set(result["bpb"]) == {"fra_Latn", "rus_Cyrl", "cmn_Hani"} and result["bpb_mean"] > 0
