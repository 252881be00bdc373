"""The quality stage decides exactly as datatrove's Gopher repetition + FineWeb quality + Gopher quality
filters do with the same thresholds, and takes its thresholds from the document's language config."""

import random

import pytest
from datatrove.data import Document
from datatrove.pipeline.filters import FineWebQualityFilter, GopherQualityFilter, GopherRepetitionFilter

from filters.config import LanguageConfig, load_config
from filters.quality import SIGNALS, QualityFilter, compute_signals, decide
from filters.words import word_tokenizer

EN = [
    "The committee approved the new budget after a long debate in the council chamber.",
    "Residents say the bridge has been closed for repairs since the storm in March.",
    "A spokesperson for the company said that the results were better than expected.",
    "Scientists have found that the species is more widespread than previously thought.",
    "The museum will reopen to the public with an exhibition of local artists and their work.",
    "Farmers in the region have struggled with drought for the third year in a row.",
    "Read more about our services and contact us for a free quote today!",
    "Home | About | Contact | Privacy",
]
FR = [
    "Tous les êtres humains naissent libres et égaux en dignité et en droits.",
    "Ils sont doués de raison et de conscience et doivent agir les uns envers les autres dans un esprit de fraternité.",
    "Chacun peut se prévaloir de tous les droits et de toutes les libertés proclamés dans la présente Déclaration.",
    "Nul ne sera tenu en esclavage ni en servitude.",
    "Tout individu a droit à la vie, à la liberté et à la sûreté de sa personne.",
    "Nul ne sera soumis à la torture, ni à des peines ou traitements cruels, inhumains ou dégradants.",
    "Chacun a le droit à la reconnaissance en tous lieux de sa personnalité juridique.",
    "Tous sont égaux devant la loi et ont droit sans distinction à une égale protection de la loi.",
    "Toute personne a droit à ce que sa cause soit entendue équitablement et publiquement par un tribunal.",
]


def variants(sents, n, seed):
    rnd = random.Random(seed)
    vocab = " ".join(sents).split()
    out = []
    for _ in range(n):
        k = rnd.random()
        if k < 0.35:  # prose
            paragraphs = (" ".join(rnd.choice(sents) for _ in range(rnd.randint(1, 4)))
                          for _ in range(rnd.randint(3, 25)))
            out.append("\n".join(paragraphs))
        elif k < 0.55:  # repeated lines
            out.append("\n".join([rnd.choice(sents)] * rnd.randint(2, 8) + rnd.sample(sents, 3)))
        elif k < 0.7:  # keyword soup
            out.append(" ".join(rnd.choice(vocab[:25]) for _ in range(rnd.randint(20, 300))))
        elif k < 0.85:  # lists
            out.append("\n".join(f"- {rnd.choice(vocab)}" for _ in range(rnd.randint(5, 60))))
        else:  # short or odd
            out.append(rnd.choice(sents) + " #tag #tag ... " * rnd.randint(0, 3))
    return out


def datatrove_reason(text, cfg: LanguageConfig, lang):
    filters = [
        GopherRepetitionFilter(dup_line_frac=cfg.dup_line_frac, dup_para_frac=0, dup_line_char_frac=0,
                               dup_para_char_frac=0, top_n_grams=cfg.top_n_grams, dup_n_grams=cfg.dup_n_grams,
                               language=lang),
        FineWebQualityFilter(line_punct_thr=cfg.line_punct_thr, short_line_thr=999,
                             char_duplicates_ratio=cfg.char_duplicates_ratio,
                             new_line_ratio=cfg.new_line_ratio, language=lang),
        GopherQualityFilter(min_avg_word_length=cfg.min_avg_word_length, max_avg_word_length=cfg.max_avg_word_length,
                            max_non_alpha_words_ratio=cfg.max_non_alpha_words_ratio, stop_words=cfg.stopwords or None,
                            min_stop_words=cfg.min_stop_words if cfg.stopwords else 0, language=lang),
    ]
    for f in filters:
        res = f.filter(Document(text=text, id="x"))
        if res is not True:
            return res[1]
    return None


@pytest.mark.parametrize("lang,config,sents", [("eng_Latn", "eng_Latn", EN), ("fra_Latn", "default", FR)])
def test_same_decisions_as_datatrove(lang, config, sents):
    cfg, _ = load_config(config)
    words_of = word_tokenizer(lang)
    texts = variants(sents, 300, seed=len(lang))
    reasons = []
    for text in texts:
        words = words_of(text)
        ours = decide(text, compute_signals(text, words, frozenset(cfg.stopwords)), cfg, words)
        assert ours == datatrove_reason(text, cfg, lang), text[:200]
        reasons.append(ours)
    # the sample exercises several rules, and keeps some documents
    assert None in reasons and len(set(reasons)) >= 4


def test_words_match_datatrove_tokenizer():
    from datatrove.utils.word_tokenizers import load_word_tokenizer

    for lang, text in [("eng_Latn", " ".join(EN)), ("fra_Latn", "\n\n".join(FR)), ("cmn_Hani",
                                                                                   "人人生而自由，在尊严和权利上一律平等。")]:
        assert word_tokenizer(lang)(text) == load_word_tokenizer(lang).word_tokenize(text)


def test_config_per_language_with_default_fallback():
    eng, src = load_config("eng_Latn")
    assert src == "eng_Latn.yml" and "the" in eng.stopwords
    other, src = load_config("xyz_Latn")
    assert src == "default.yml" and other.stopwords == []  # the fallback assumes no English stopwords


def test_stage_keeps_signals_and_counts_per_language():
    stage = QualityFilter()
    good = Document(text="\n".join(FR), id="a", metadata={"language": "fra_Latn"})
    spam = Document(text="\n".join(["Achetez maintenant !"] * 30), id="b", metadata={"language": "fra_Latn"})
    kept = list(stage.run(iter([good, spam])))
    assert [d.id for d in kept] == ["a"]
    # the shipped French config
    assert set(SIGNALS) <= set(good.metadata) and good.metadata["quality_config"] == "fra_Latn.yml"
    assert stage.stats["lang/fra_Latn/removed/dup_line_frac"].total == 1
    assert stage.stats["kept"].total == 1 and stage.stats["in"].total == 2


def test_custom_config_dir(tmp_path):
    (tmp_path / "default.yml").write_text("min_doc_words: 1000\nstopwords: []\n")
    stage = QualityFilter(config_dir=str(tmp_path))
    doc = Document(text="\n".join(FR), id="a", metadata={"language": "fra_Latn"})
    assert stage.filter(doc) == "gopher_short_doc"
