"""The combination's checks against the text (script, Cantonese), its table of disagreements settled by their
record on tuning text, lingua's fixed-seed tuning half, and gold scripts of lines in two-script languages."""

from __future__ import annotations

import pytest

from langid import corpora
from langid.combine import PAIR_MIN, Cascade, fit_pairs, pair_key
from langid.rules import cantonese_possible, script_fits


class Fixed:
    """A detector that answers from a table (text -> (label, score)), optionally with CLD2-like codes."""

    def __init__(self, model_id, answers, known, codes=None):
        self.model_id, self.answers, self._known = model_id, answers, set(known)
        if codes is not None:
            self.predict_many_coded = lambda texts: [(*self.answers[t], codes.get(t, "")) for t in texts]

    def predict_many(self, texts):
        return [self.answers[t] for t in texts]

    def known_labels(self):
        return self._known


@pytest.mark.parametrize("label, script, fits", [
    ("yue_Hani", "Grek", False), ("ell_Grek", "Grek", True), ("jpn_Jpan", "Hani", True),
    ("cmn_Hani", "Jpan", True), ("kor_Hang", "Hani", True), ("guj_Gujr", "Latn", False),
    ("fra_Latn", "Zyyy", True), ("und_Zyyy", "Cyrl", True),
])
def test_a_label_must_name_the_texts_script(label, script, fits):
    assert script_fits(label, script) is fits


def test_cantonese_needs_traditional_characters_or_a_cantonese_one():
    assert not cantonese_possible("我们今天去北京开会。", "zh")  # Simplified, plain Mandarin
    assert cantonese_possible("我哋今日去咗开会。", "zh")  # Simplified but written Cantonese
    assert cantonese_possible("我們今天去開會。", "zh-Hant")  # Traditional: Hong Kong writing


def test_script_check_pair_record_and_cantonese_rule_in_the_cascade():
    texts = ["Καλημέρα", "neighbours", "vote", "我们今天去北京开会。", "我們今天去開會。"]
    ours = Fixed("ours", {"Καλημέρα": ("guj_Gujr", 0.4), "neighbours": ("ind_Latn", 0.6),
                          "vote": ("ind_Latn", 0.6), "我们今天去北京开会。": ("yue_Hani", 0.5),
                          "我們今天去開會。": ("yue_Hani", 0.5)},
                 {"yue_Hani", "ind_Latn", "zsm_Latn", "cmn_Hani", "ell_Grek", "guj_Gujr"})
    cld2 = Fixed("cld2", {"Καλημέρα": ("ell_Grek", 0.9), "neighbours": ("zsm_Latn", 0.9), "vote": ("zsm_Latn", 0.9),
                          "我们今天去北京开会。": ("cmn_Hani", 0.99), "我們今天去開會。": ("cmn_Hani", 0.99)},
                 {"ind_Latn", "zsm_Latn", "cmn_Hani", "ell_Grek", "guj_Gujr"},
                 codes={"我们今天去北京开会。": "zh", "我們今天去開會。": "zh-Hant"})
    third = Fixed("third", {t: ("ind_Latn", 0.8) for t in texts}, {"ind_Latn", "zsm_Latn"})
    trust = {"ours": {"ind_Latn/3": [9, 10]}, "cld2": {"zsm_Latn/4": [1, 10]}}
    plain = Cascade([ours, cld2, third], trust=trust, pairs={})
    # the record of this exact disagreement (ours ind, CLD2 zsm, third with ours) says CLD2 is right
    settled = Cascade([ours, cld2, third], trust=trust, pairs={"ind_Latn|zsm_Latn|a": [2.0, 8.0]})
    a, b = plain.predict_many(texts), settled.predict_many(texts)
    assert a[0][0] == b[0][0] == "ell_Grek"  # a Greek word is not Gujarati: the script drops the primary's answer
    assert a[1][0] == "ind_Latn" and b[1] == ("zsm_Latn", 0.8)  # vote vs record (score: its share of the record)
    assert a[3][0] == "cmn_Hani"  # Simplified without a Cantonese character: Mandarin
    assert a[4][0] == "yue_Hani"  # Traditional: curlid's Cantonese stands


def test_pair_table_weighs_each_tuning_set_alike_and_keeps_only_records():
    big_gold = ["zsm_Latn"] * 90 + ["ind_Latn"] * 10
    big = ([[("ind_Latn", 0.6)] * 100, [("zsm_Latn", 0.9)] * 100, [("ind_Latn", 0.8)] * 100], big_gold)
    small_gold = ["ind_Latn"] * 10
    small = ([[("ind_Latn", 0.6)] * 10, [("zsm_Latn", 0.9)] * 10, [("ind_Latn", 0.8)] * 10], small_gold)
    rare = ([[("bos_Latn", 0.5)], [("hrv_Latn", 0.9)], [("srp_Latn", 0.3)]], ["hrv_Latn"] * 1)
    table = fit_pairs([big, small])
    key = pair_key([("ind_Latn", 0.6), ("zsm_Latn", 0.9), ("ind_Latn", 0.8)])
    assert key == "ind_Latn|zsm_Latn|a"
    right_a, right_b = table[key]
    # the small set (all ind) weighs as much as the big one (90% zsm): ind 0.1 + 1.0, zsm 0.9 of a set each
    assert right_a > right_b
    assert right_a == pytest.approx(1.1 * 10000) and right_b == pytest.approx(0.9 * 10000)
    few = fit_pairs([big, rare])  # one document of a 1-document set weighs a whole set: kept
    assert few["bos_Latn|hrv_Latn|o"] == [0.0, 10000.0]
    assert not fit_pairs([([[("a_Latn", 1)] * 2, [("b_Latn", 1)] * 2], ["a_Latn", "b_Latn"])])  # a tie says nothing
    assert PAIR_MIN > 0


def test_lingua_tuning_half_is_fixed_and_apart_from_the_scored_half(tmp_path):
    folder = tmp_path / "sentences"
    folder.mkdir()
    (folder / "de.txt").write_text("".join(f"Satz Nummer {i} auf Deutsch.\n" for i in range(40)), encoding="utf-8")
    (folder / "fr.txt").write_text("".join(f"Phrase numéro {i} en français.\n" for i in range(40)), encoding="utf-8")
    tune, held, whole = (corpora.lingua(tmp_path, "sentences", p) for p in ("tune", "heldout", "all"))
    assert not set(tune.texts) & set(held.texts)
    assert sorted(tune.texts + held.texts) == sorted(whole.texts)
    assert len(tune) == round(corpora.LINGUA_TUNE * 40) * 2
    assert corpora.lingua(tmp_path, "sentences", "tune").texts == tune.texts  # fixed seed


def test_a_line_of_a_two_script_language_keeps_the_files_script_unless_another_holds_it():
    kk = ("Ресми түрде ойын 2013 жылы ПК Xbox 360, PlayStation 3, PlayStation Portable, PlayStation 2, "
          "Nintendo 3DS и Nintendo Wii шықты.")  # Cyrillic Kazakh naming Latin brands (lingua's kk.txt)
    sr = "NET}- на -{MSDN}--у * http://www.codeproject.com/KB/aspnet/Whatis_New_ASP_Net_4.aspx - Шта је ново у -{ASP."
    tat = "Bälki, bez monı belä dä almabız inde."  # Latin Tatar in a Cyrillic file (Tatoeba)
    cyr_kk = ["Бүгін ауа райы жақсы."] * 5
    assert corpora.file_labeller("kaz", cyr_kk)(kk) == "kaz_Cyrl"
    assert corpora.file_labeller("srp", ["Ово је реченица."] * 5)(sr) == "srp_Cyrl"
    assert corpora.file_labeller("tat", ["Бу җөмлә."] * 5)(tat) == "tat_Latn"
    assert corpora.file_labeller("fra", ["Bonjour."] * 5)("Здравствуйте") == "fra_Latn"  # one-script file
