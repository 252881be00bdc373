"""FineWeb2's released data as the shipped defaults: configs loaded per language with their source and model,
the quality rules deciding as datatrove's filters configured FineWeb2's way, the precision filter's data,
and the run saying which languages fell back to default.yml."""

import random
from pathlib import Path

import pytest
import yaml
from datatrove.data import Document

from curation.apply.filter import quality_reason
from curation.run.summary import collect_summary, format_summary
from filters.config import CONFIG_DIR, LanguageConfig, language_scores, load_config, model_id
from filters.datatrove_fineweb2 import fineweb2_filters, fineweb2_reason
from filters.fineweb2 import COMMIT, LICENSE_NAME, PRECISION_DIR, is_fineweb2_config
from filters.precision import FineWeb2Precision, PrecisionFilter
from filters.quality import QualityFilter


def test_shipped_configs_are_fineweb2s_with_source_licence_and_model():
    files = sorted(CONFIG_DIR.glob("*_*.yml"))
    fineweb2 = [p for p in files if is_fineweb2_config(p)]
    assert len(fineweb2) == 1929 and (CONFIG_DIR / LICENSE_NAME).read_text().startswith(" " * 10)
    fra = (CONFIG_DIR / "fra_Latn.yml").read_text()
    assert COMMIT in fra and "Apache-2.0" in fra
    cfg, source = load_config("fra_Latn")
    assert source == "fra_Latn.yml" and cfg.language_score == 0.824 and cfg.language_score_model == "glotlid"
    assert cfg.line_punct_thr == 0.1 and cfg.dup_n_grams[1] == (6, 0.141) and "droit" not in cfg.stopwords
    assert not is_fineweb2_config(CONFIG_DIR / "eng_Latn.yml")  # English: FineWeb's defaults
    eng, _ = load_config("eng_Latn")
    assert eng.char_duplicates_ratio == 0.01 and eng.stopwords[:3] == ["the", "be", "to"]
    assert load_config("xyz_Latn")[1] == "default.yml"


def test_values_unchanged_from_the_released_files():
    """Below the header, each file is FineWeb2's YAML byte for byte: parse it as FineWeb2's and compare."""
    for lang in ("deu_Latn", "jpn_Jpan", "swh_Latn", "rav_Deva"):
        text = (CONFIG_DIR / f"{lang}.yml").read_text(encoding="utf-8")
        body = text.split("language_score_model: glotlid\n", 1)[1]
        theirs = yaml.safe_load(body)
        ours = load_config(lang)[0]
        for key, value in theirs.items():
            got = getattr(ours, key)
            assert (list(map(list, got)) if key.endswith("n_grams") else got) == value, (lang, key)


def test_language_scores_are_per_model_and_lazy():
    assert model_id(None) == "lid176" and model_id("/models/cis-lmu/glotlid/model.bin") == "glotlid"
    glot = language_scores(model="glotlid")
    assert glot.get("fra_Latn") == 0.824 and "eng_Latn" not in glot  # English's 0.65 is lid.176's
    lid = language_scores(model="lid176")
    assert lid.get("fra_Latn") is None and lid["eng_Latn"] == 0.65  # never GlotLID's cut on lid.176 scores
    assert "fra_Latn" not in dict(lid)


# --------------------------------------------------------------------------- parity with datatrove

def _documents(cfg: LanguageConfig, rng: random.Random, n: int) -> list[str]:
    """Generated documents of many shapes (prose, lists, repeated lines, short lines, numbers, bullets)."""
    vocab = list(cfg.stopwords) + ["maison", "Haus", "город", "system", "natura", "rapide", "Kilometer", "année",
                                   "wasser", "ciudad", "ekonomi", "politique", "information", "123", "4,5", "#tag",
                                   "...", "…", "²", "½"]
    docs = []
    for i in range(n):
        shape = i % 6
        lines = []
        for _ in range(rng.randint(3, 30)):
            words = [rng.choice(vocab) for _ in range(rng.randint(1, 25 if shape != 1 else 3))]
            line = " ".join(words)
            if shape in (0, 3) or rng.random() < 0.4:
                line += rng.choice([".", "!", "?", "", "..."])
            if shape == 4:
                line = rng.choice(["- ", "• ", ""]) + line
            lines.append(line)
        if shape == 2:
            lines = lines[:3] * 6
        if shape == 5:
            lines = [" | ".join(str(rng.randint(0, 999)) for _ in range(5)) for _ in range(10)] + lines[:2]
        docs.append(rng.choice(["\n", "\n\n", " "]).join(lines))
    return docs


@pytest.mark.parametrize("language", ["deu_Latn", "rus_Cyrl", "rav_Deva"])  # rav: dup_line_frac 0 (off)
def test_quality_rules_decide_as_datatrove_configured_fineweb2s_way(language):
    cfg, _ = load_config(language)
    peer = fineweb2_filters(language, cfg)
    docs = _documents(cfg, random.Random(language), 60)
    ours = [quality_reason(d, language) for d in docs]
    theirs = [fineweb2_reason(d, peer) for d in docs]
    assert ours == theirs
    assert len(set(ours)) >= 4  # the sample reaches several rules, keeps and removes


# --------------------------------------------------------------------------- precision

def test_precision_defaults_are_fineweb2s_contaminated_languages():
    data = FineWeb2Precision()
    assert len(data.languages) == 150 and "bar_Latn" in data.languages and "fra_Latn" not in data.languages
    assert (PRECISION_DIR / LICENSE_NAME).exists()
    stage = PrecisionFilter()
    docs = [Document(text="dös is a Haus", id="1", metadata={"language": "bar_Latn", "url": "https://x.com/a"}),
            Document(text="the house", id="2", metadata={"language": "bar_Latn", "url": "https://x.com/b"}),
            Document(text="the house", id="3", metadata={"language": "bar_Latn", "url": "https://x.com/bavarian-news"}),
            Document(text="the house", id="4", metadata={"language": "bar_Latn", "url": "https://wetter.de/b"}),
            Document(text="the house", id="5", metadata={"language": "fra_Latn", "url": "https://x.com/c"})]
    kept = [d.id for d in stage.run(iter(docs))]
    assert kept == ["1", "3", "4", "5"]


def test_own_wordlists_replace_fineweb2s_for_their_language(tmp_path):
    (tmp_path / "bar_Latn.txt").write_text("servus\n")
    stage = PrecisionFilter(str(tmp_path))
    doc = Document(text="dös is a Haus", id="1", metadata={"language": "bar_Latn", "url": ""})
    assert stage.filter(doc) == "precision_no_evidence"
    assert stage.filter(Document(text="Servus!", id="2", metadata={"language": "bar_Latn"})) is True


# --------------------------------------------------------------------------- fallback reported

def test_run_summary_lists_languages_that_fell_back_to_default():
    stage = QualityFilter()
    docs = [Document(text="word " * 60, id=str(i), metadata={"language": lang})
            for i, lang in enumerate(["xyz_Latn", "xyz_Latn", "abc_Latn", "fra_Latn"])]
    list(stage.run(iter(docs)))
    summary = collect_summary(Path("out"), [(stage, stage.stats)], 1.0)
    assert summary["default_config_languages"] == {"xyz_Latn": 2, "abc_Latn": 1}
    assert "xyz_Latn (2 docs), abc_Latn (1 doc)" in format_summary(summary)


def test_import_replaces_derived_configs_and_ships_the_licence(tmp_path, capsys):
    from curation.cli import main

    src = tmp_path / "fineweb-2"
    (src / "configs").mkdir(parents=True)
    (src / "LICENSE").write_text("Apache License\n")
    (src / "configs" / "fra_Latn.yml").write_text("language_score: 0.8\nstopwords:\n- de\n")
    (src / "configs" / "eng_Latn.yml").write_text("language_score: 0.1\n")
    out = tmp_path / "configs"
    out.mkdir()
    (out / "fra_Latn.yml").write_text("# derived from the UDHR\nstopwords: [droit]\n")
    (out / "eng_Latn.yml").write_text("language_score: 0.65\n")
    assert main(["thresholds", "import-fineweb2", str(src), "-o", str(out)]) == 0
    assert "1 FineWeb2 configs written" in capsys.readouterr().out
    fra = (out / "fra_Latn.yml").read_text()
    assert fra.endswith("language_score: 0.8\nstopwords:\n- de\n") and is_fineweb2_config(out / "fra_Latn.yml")
    assert yaml.safe_load(fra)["language_score_model"] == "glotlid"
    assert (out / "eng_Latn.yml").read_text() == "language_score: 0.65\n"  # English is never FineWeb2's
    assert (out / LICENSE_NAME).read_text() == "Apache License\n"


def test_report_lists_languages_that_fell_back_to_default():
    from curation.report.html import _fallback

    html = _fallback({"summary": {"default_config_languages": {"xyz_Latn": 2, "abc_Cyrl": 1}}})
    assert "Languages filtered with default.yml (2)" in html and '<td class="l">xyz_Latn</td>' in html
    assert _fallback({"summary": {}}) == ""


def test_a_lid176_run_never_takes_glotlid_cuts(tmp_path):
    from curation.manifest import parse_manifest
    from curation.run.compile import compile_phases

    text = f"""
input: {{paths: ["{tmp_path}/in.jsonl"]}}
output: {tmp_path / "out"}
stages:
  - stage: langid
    model: lid176
  - stage: quality
"""
    (tmp_path / "in.jsonl").write_text('{"text": "bonjour"}\n')
    phases = compile_phases(parse_manifest(text, source="t.yml"), progress=False)
    lid = next(s for s in phases[-1] if getattr(s, "stage_key", "") == "langid")
    assert "fra_Latn" not in lid.min_scores and lid.min_scores.get("fra_Latn", lid.min_score) == lid.min_score
    assert lid.min_scores["eng_Latn"] == 0.65  # FineWeb's English cut is lid.176's
