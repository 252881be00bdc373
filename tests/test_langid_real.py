"""Language ID on real corpora: readers and splits, the mix, the alias table, the combination, and
thresholds that belong to one model. The corpora are rebuilt small here from the demo's UDHR paragraphs, in
each corpus's own layout."""

from __future__ import annotations

import json
from collections import ChainMap
from pathlib import Path

import pytest
import yaml

from curation.cli import main
from curation.core import CurationError, Document
from curation.demo.langid_sets import udhr_paragraphs
from langid import corpora
from langid.combine import Cascade, fit_trust
from langid.labels import canonical_label, normalize_label
from langid.mix import build_mix, held_out_sets, load_mix, load_mix_cap, read_entry

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "data" / "cache"
LANGS = {"eng_Latn": ("en", "eng"), "fra_Latn": ("fr", "fra"), "deu_Latn": ("de", "deu"),
         "rus_Cyrl": ("ru", "rus"), "nld_Latn": ("nl", "nld"), "ell_Grek": ("el", "ell")}


@pytest.fixture(scope="module")
def paragraphs(udhr_tgz):
    return udhr_paragraphs(udhr_tgz.parent)


@pytest.fixture(scope="module")
def fake_corpora(paragraphs, tmp_path_factory):
    """SIB-200, NTREX-128, Tatoeba, lingua and MasakhaNEWS layouts filled with UDHR paragraphs."""
    root = tmp_path_factory.mktemp("corpora")
    texts = {lab: [p for _, p in paragraphs[lab]][:60] for lab in LANGS}
    n = min(len(t) for t in texts.values())
    for lab, (two, three) in LANGS.items():
        t = texts[lab][:n]
        d = root / "sib" / lab
        d.mkdir(parents=True)
        for split, rows in (("train", t[:30]), ("dev", t[30:40]), ("test", t[40:])):
            (d / f"{split}.tsv").write_text("index_id\tcategory\ttext\n" + "".join(
                f"{i}\tx\t{x}\n" for i, x in enumerate(rows)), encoding="utf-8")
        (root / "ntrex").mkdir(exist_ok=True)
        name = "newstest2019-src.eng.txt" if three == "eng" else f"newstest2019-ref.{three}.txt"
        (root / "ntrex" / name).write_text("\n".join(t) + "\n", encoding="utf-8")
        if three != "eng":
            (root / "tatoeba").mkdir(exist_ok=True)
            (root / "tatoeba" / f"tatoeba.{three}-eng.{three}").write_text("\n".join(t) + "\n", encoding="utf-8")
        (root / "lingua" / "sentences").mkdir(parents=True, exist_ok=True)
        for kind in ("sentences", "word-pairs", "single-words"):
            (root / "lingua" / kind).mkdir(exist_ok=True)
            words = [" ".join(x.split()[:2 if kind == "word-pairs" else 1]) for x in t]
            (root / "lingua" / kind / f"{two}.txt").write_text(
                "\n".join(t if kind == "sentences" else words) + "\n", encoding="utf-8")
    (root / "ntrex" / "newstest2019-ref.eng-GB.txt").write_text("a regional variant, left out\n", encoding="utf-8")
    return {"sib200": str(root / "sib"), "ntrex": str(root / "ntrex"), "tatoeba": str(root / "tatoeba"),
            "lingua": str(root / "lingua")}


# ------------------------------------------------------------------------------------------- labels, once

@pytest.mark.parametrize("label, expected", [
    ("pes_Arab", "fas_Arab"), ("prs_Arab", "fas_Arab"), ("zho_Hans", "cmn_Hani"), ("zho_Hant", "cmn_Hani"),
    ("yue_Hant", "yue_Hani"), ("est_Latn", "ekk_Latn"), ("lav_Latn", "lvs_Latn"), ("msa_Latn", "zsm_Latn"),
    ("zlm_Latn", "zsm_Latn"), ("nor_Latn", "nob_Latn"), ("aze_Latn", "azj_Latn"), ("aze_Arab", "azb_Arab"),
    ("tgl_Latn", "fil_Latn"), ("fra_Latn", "fra_Latn"),
])
def test_one_alias_table_for_gold_and_predicted_labels(label, expected):
    assert canonical_label(label) == expected
    assert normalize_label("__label__" + label) == expected  # GlotLID's form


def test_lid176_cld2_and_lingua_codes_land_on_the_fineweb2_names():
    # lid.176 / CLD2 codes and lingua's file names, through the same table
    assert [normalize_label(c) for c in ("fa", "ms", "zh", "et", "lv", "no", "az", "tl", "sw", "sq")] == [
        "fas_Arab", "zsm_Latn", "cmn_Hani", "ekk_Latn", "lvs_Latn", "nob_Latn", "azj_Latn", "fil_Latn",
        "swh_Latn", "als_Latn"]
    assert normalize_label("zh-Hant") == "cmn_Hani" and normalize_label("iw") == "heb_Hebr"
    assert normalize_label("nb") == "nob_Latn" and normalize_label("xh") == "xho_Latn"
    assert corpora.lingua_code("nb") == "nob" and corpora.lingua_code("fa") == "fas"


# ----------------------------------------------------------------------------------------- corpora, splits

def test_held_out_lines_are_never_in_training(fake_corpora):
    for reader, parts in ((corpora.ntrex, ("train", "heldout")), (corpora.tatoeba, ("train", "heldout", "tune"))):
        got = {p: reader(fake_corpora[reader.__name__], p) for p in parts}
        seen = [set(zip(s.texts, s.labels)) for s in got.values()]
        for i in range(len(seen)):
            for j in range(i + 1, len(seen)):
                assert not seen[i] & seen[j], (reader.__name__, parts[i], parts[j])
        assert len(got["heldout"]) > 0 and len(got["train"]) > len(got["heldout"]) * 0.5
        again = reader(fake_corpora[reader.__name__], "heldout")
        assert again.texts == got["heldout"].texts  # fixed seed
    nt = corpora.ntrex(fake_corpora["ntrex"], "all")
    assert set(nt.labels) == set(LANGS)  # eng-GB variant left out, plain codes got their script


def test_mix_refuses_test_splits_and_names_missing_corpora(fake_corpora, tmp_path):
    spec = tmp_path / "mix.yml"
    spec.write_text("corpora:\n  - corpus: sib200\n    splits: [train, test]\n", encoding="utf-8")
    with pytest.raises(CurationError, match="evaluation only"):
        build_mix(load_mix(spec), fake_corpora)
    with pytest.raises(CurationError, match="--corpus masakhanews=PATH"):
        build_mix(load_mix(ROOT / "langid/mixes/real.yml"), fake_corpora)
    data, notes = build_mix(load_mix(ROOT / "langid/mixes/real.yml"), fake_corpora, strict=False)
    assert any(n.startswith("udhr") and "left out" in n for n in notes)
    tests = held_out_sets(fake_corpora)
    assert {"flores-test", "ntrex-heldout", "tatoeba-heldout", "lingua-sentences", "lingua-single-words"} <= set(tests)
    entries = {e.corpus: e for e in load_mix(ROOT / "langid/mixes/real.yml")}
    for corpus, name in (("sib200", "flores-test"), ("ntrex", "ntrex-heldout"), ("tatoeba", "tatoeba-heldout")):
        train = read_entry(entries[corpus], fake_corpora[corpus])  # the fake corpora share texts: one at a time
        held = set(zip(tests[name].texts, tests[name].labels))
        assert len(train) and not set(zip(train.texts, train.labels)) & held, name
    spec.write_text("corpora:\n  - corpus: nope\n", encoding="utf-8")
    with pytest.raises(CurationError, match="corpora\\[0\\]"):
        load_mix(spec)



def test_mix_cap_per_label_holds_across_corpora(fake_corpora, tmp_path):
    spec = tmp_path / "mix.yml"
    spec.write_text("max_per_label: 25\ncorpora:\n  - corpus: sib200\n  - corpus: ntrex\n", encoding="utf-8")
    entries, cap = load_mix(spec), load_mix_cap(spec)
    full, _ = build_mix(entries, fake_corpora)
    capped, notes = build_mix(entries, fake_corpora, max_per_label=cap)
    per_label = {lab: capped.labels.count(lab) for lab in LANGS}
    assert cap == 25 and all(full.labels.count(lab) > 25 for lab in LANGS)
    assert set(per_label.values()) == {25} and "at most 25 per language" in notes[-1]
    pairs = set(zip(capped.texts, capped.labels))
    assert pairs <= set(zip(full.texts, full.labels))  # a sample of the mix, nothing new
    again, _ = build_mix(entries, fake_corpora, max_per_label=cap)
    assert again.texts == capped.texts  # seeded
    small = build_mix(entries, fake_corpora, max_per_label=10)[0]
    spec.write_text("min_per_label: 15\nmax_per_label: 10\ncorpora:\n  - corpus: sib200\n", encoding="utf-8")
    fill = load_mix_cap(spec, "min_per_label")
    filled, notes = build_mix(entries, fake_corpora, max_per_label=10, min_per_label=fill)
    assert {filled.labels.count(lab) for lab in LANGS} == {15} and "repeated up to 15" in notes[-1]
    assert set(zip(filled.texts, filled.labels)) == set(zip(small.texts, small.labels))  # copies of its own
    doubled = build_mix(entries, fake_corpora, max_per_label=10, min_per_label=100)[0]
    assert {doubled.labels.count(lab) for lab in LANGS} == {20}  # at most doubled
    spec.write_text("max_per_label: lots\ncorpora:\n  - corpus: sib200\n", encoding="utf-8")
    with pytest.raises(CurationError, match="max_per_label"):
        load_mix_cap(spec)


# --------------------------------------------------------------------------- train, eval, thresholds per model

def test_train_on_a_mix_writes_the_model_and_its_own_thresholds(fake_corpora, tmp_path, capsys):
    spec = tmp_path / "mix.yml"
    spec.write_text("corpora:\n  - corpus: sib200\n    splits: [train]\n  - corpus: ntrex\n    part: train\n",
                    encoding="utf-8")
    model = tmp_path / "tiny.ftz"
    args = ["langid", "train", "--mix", str(spec), "--corpus", f"sib200={fake_corpora['sib200']}",
            "--corpus", f"ntrex={fake_corpora['ntrex']}", "-o", str(model), "--epoch", "8", "--bucket", "20000",
            "--cutoff", "5000", "--min-docs", "5"]
    assert main(args) == 0, capsys.readouterr().err
    side = tmp_path / "tiny.thresholds.yml"
    data = yaml.safe_load(side.read_text())
    assert data["model_id"] == "tiny" and set(data["thresholds"]) == set(LANGS)
    assert all(0.3 <= v <= 0.9 for v in data["thresholds"].values())
    assert "max(0.3, min(0.9, median - std))" in side.read_text()

    from langid.fasttext_lid import LanguageId

    stage = LanguageId(model=str(model))
    assert stage.model_id == "tiny" and stage.threshold_file == str(side)
    assert stage.threshold("fra_Latn") == (data["thresholds"]["fra_Latn"], False)

    capsys.readouterr()
    assert main(["langid", "eval", "--models", f"lid176,{model}", "--corpus", f"sib200={fake_corpora['sib200']}",
                 "--corpus", f"lingua={fake_corpora['lingua']}", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    flores = res["sets"]["flores-test"]
    assert set(flores["models"]) == {"lid176", str(model)} and flores["common"]["languages"] == len(LANGS)
    assert flores["models"][str(model)]["macro_f1"] > 0.8
    words = res["sets"]["lingua-single-words"]["models"]["lid176"]
    assert words["short_texts"]["documents"] == words["documents"]  # single words: all under 50 characters
    assert "macro_f1" in words["short_texts"] and "top_confusions" in words["short_texts"]


def test_lid176_never_uses_another_models_thresholds(caplog):
    """The quality configs' language_score is GlotLID's (FineWeb2): a lid.176 run must not compare with it."""
    from langid.fasttext_lid import DEFAULT_THRESHOLD_STAT, LanguageId

    class GlotlidScores(dict):  # what the runner hands: the configs' scores, naming their model
        model = "glotlid"

    given = ChainMap({"deu_Latn": 0.2}, GlotlidScores(fra_Latn=0.999, eng_Latn=0.999))
    stage = LanguageId(model="lid176", min_scores=given)
    assert stage.model_id == "lid176"
    assert stage.threshold("fra_Latn")[0] != 0.999 and stage.threshold("eng_Latn")[0] != 0.999
    assert stage.threshold("deu_Latn") == (0.2, False)  # the manifest's own value stays
    assert stage.threshold_file.endswith("score_thresholds/lid176.yml")
    doc = Document(text="Le chat dort sur le canapé pendant que la pluie tombe dehors.", id="1")
    assert stage.filter(doc) is True and doc.metadata["language"] == "fra_Latn"

    class OwnScores(dict):
        model = "lid176"

    own = LanguageId(model="lid176", min_scores=ChainMap({}, OwnScores(fra_Latn=0.42)))
    assert own.threshold("fra_Latn") == (0.42, False)

    # a model without thresholds: the stated default, counted
    stage = LanguageId(model="cld2")
    assert stage.threshold("fra_Latn") == (stage.min_score, True)
    stage.filter(Document(text="Le chat dort sur le canapé pendant que la pluie tombe dehors.", id="2"))
    assert stage.stats[DEFAULT_THRESHOLD_STAT].total == 1


# ---------------------------------------------------------------------------------------------- combining

class Fixed:
    """A detector that answers from a table (text -> (label, score))."""

    def __init__(self, model_id, answers, known):
        self.model_id, self.answers, self._known = model_id, answers, set(known)
        self.calls = 0

    def predict_many(self, texts):
        self.calls += len(texts)
        return [self.answers[t] for t in texts]

    def known_labels(self):
        return self._known


def test_cascade_asks_the_third_only_on_disagreement_and_trusts_each_on_its_labels():
    texts = ["agree", "neighbours", "unknown-to-cld2"]
    ours = Fixed("ours", {"agree": ("fra_Latn", 0.9), "neighbours": ("bos_Latn", 0.6),
                          "unknown-to-cld2": ("nso_Latn", 0.95)}, {"fra_Latn", "bos_Latn", "hrv_Latn", "nso_Latn"})
    cld2 = Fixed("cld2", {"agree": ("fra_Latn", 0.99), "neighbours": ("hrv_Latn", 0.97),
                          "unknown-to-cld2": ("sot_Latn", 0.9)}, {"fra_Latn", "bos_Latn", "hrv_Latn", "sot_Latn"})
    third = Fixed("third", {"neighbours": ("hrv_Latn", 0.8), "unknown-to-cld2": ("sot_Latn", 0.9)},
                  {"fra_Latn", "hrv_Latn", "sot_Latn"})
    trust = fit_trust({"ours": [("bos_Latn", 0.6)] * 4, "cld2": [("hrv_Latn", 0.97)] * 4},
                      ["hrv_Latn", "hrv_Latn", "hrv_Latn", "bos_Latn"])
    combo = Cascade([ours, cld2, third], trust=trust)
    out = combo.predict_many(texts)
    assert out[0] == ("fra_Latn", 0.9)  # agreement: the primary's label and probability
    assert out[1][0] == "hrv_Latn"  # CLD2 was right on hrv, ours wrong on bos: the vote follows the record
    assert out[2][0] == "nso_Latn"  # ours is sure of a label the others lack: their nearest guess does not vote
    assert third.calls == 1 and combo.asked == 1 and combo.seen == 3  # the sure, CLD2-unknown one: no third call
    assert combo.model_id == "ours+cld2+third"


def test_cld2_detector_labels_and_bad_characters():
    from langid.detectors import Cld2Detector

    det = Cld2Detector()
    lab, score = det.predict_one("這是一個用繁體中文寫的句子，內容是關於天氣和城市的生活。")
    assert lab == "cmn_Hani" and 0 < score <= 1
    assert det.predict_one("\x00\x01\ud800 broken") [0].endswith(("_Latn", "_Zyyy"))
    assert "srp_Latn" in det.known_labels() and "nob_Latn" in det.known_labels()


def test_every_models_labels_land_in_fineweb2_config_folders():
    """lid.176's labels (and the macrolanguage cases) name FineWeb2's shipped configs, which use GlotLID's labels."""
    from langid.labels import LID176_LABELS

    configs = {p.stem for p in (ROOT / "filters" / "configs").glob("*_*.yml")}
    assert len(configs) > 1500  # FineWeb2's
    missing = {c: normalize_label(c) for c in LID176_LABELS if normalize_label(c) not in configs}
    assert missing == {"sh": "hbs_Latn"}  # Serbo-Croatian: a macrolanguage GlotLID splits, no single folder
    for gold in ("pes_Arab", "zho_Hans", "est_Latn", "lav_Latn", "msa_Latn", "nor_Latn", "aze_Latn", "tgl_Latn",
                 "swa_Latn", "sqi_Latn", "uzb_Latn", "mon_Cyrl", "ori_Orya", "nep_Deva", "pus_Arab", "yid_Hebr"):
        assert canonical_label(gold) in configs, gold


def test_a_default_run_takes_only_the_combinations_own_cuts(tmp_path):
    """The runner hands the configs' cuts made for the stage's default model (none: FineWeb2's are GlotLID's,
    English's lid.176's); the combination then uses its own thresholds file."""
    from curation.manifest import parse_manifest
    from curation.run.compile import compile_phases

    (tmp_path / "in.jsonl").write_text('{"text": "bonjour"}\n')
    text = f'input: {{paths: ["{tmp_path}/in.jsonl"]}}\noutput: {tmp_path / "out"}\nstages:\n  - stage: langid\n'
    lid = next(s for s in compile_phases(parse_manifest(text, source="t.yml"), progress=False)[-1]
               if getattr(s, "stage_key", "") == "langid")
    assert lid.model_id == "curlid+cld2+lid176"
    assert lid.min_scores.get("eng_Latn") is None and lid.min_scores.get("fra_Latn") is None
    th = yaml.safe_load((ROOT / "langid/score_thresholds/curlid+cld2+lid176.yml").read_text())["thresholds"]
    assert lid.threshold("fra_Latn") == (th["fra_Latn"], False)
    assert lid.threshold_file.endswith("curlid+cld2+lid176.yml")


def test_trust_command_fits_the_vote_on_tuning_sets_and_the_pair_record_with_linguas_tune_half(
        fake_corpora, tmp_path, capsys):
    from langid.combine import load_pairs, load_trust

    out = tmp_path / "trust.json"
    assert main(["langid", "trust", "--models", "lid176,cld2", "--corpus", f"sib200={fake_corpora['sib200']}",
                 "--corpus", f"lingua={fake_corpora['lingua']}", "-o", str(out)]) == 0, capsys.readouterr().err
    body = json.loads(out.read_text(encoding="utf-8"))
    assert "lingua sentences tune half" in body["source"] and "pairs only" in body["source"]
    trust = load_trust(out)
    assert set(trust) == {"lid176", "cld2"}
    # the trust table counts FLORES dev only (10 documents a language), never lingua's tune half
    assert sum(n for _, n in trust["cld2"].values()) == 10 * len(LANGS)
    assert set(load_pairs(out)) == {"lid176+cld2"}
    sets = held_out_sets({"lingua": fake_corpora["lingua"]})
    tune = corpora.lingua(fake_corpora["lingua"], "sentences", "tune")
    assert not set(tune.texts) & set(sets["lingua-sentences-heldout"].texts)
    assert len(tune) + len(sets["lingua-sentences-heldout"]) == len(sets["lingua-sentences"])
