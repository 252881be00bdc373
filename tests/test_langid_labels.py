"""Tests of langid.labels: label normalisation to iso639-3_Script and script detection."""

from __future__ import annotations

import random
import re

import pytest

from langid import labels
from langid.labels import (
    LID176_LABELS,
    SCRIPT_VARIANTS,
    char_script,
    dominant_script,
    iso639_1_to_3,
    normalize_label,
    script_counts,
)

# The label list of fastText lid.176, as published with the model.
LID176 = (
    "af als am an ar arz as ast av az azb ba bar bcl be bg bh bn bo bpy br bs bxr ca cbk ce "
    "ceb ckb co cs cv cy da de diq dsb dty dv el eml en eo es et eu fa fi fr frr fy ga gd gl "
    "gn gom gu gv he hi hif hr hsb ht hu hy ia id ie ilo io is it ja jbo jv ka kk km kn ko "
    "krc ku kv kw ky la lb lez li lmo lo lrc lt lv mai mg mhr min mk ml mn mr mrj ms mt mwl "
    "my myv mzn nah nap nds ne new nl nn no oc or os pa pam pfl pl pms pnb ps pt qu rm ro ru "
    "rue sa sah sc scn sco sd sh si sk sl so sq sr su sv sw ta te tg th tk tl tr tt tyv ug uk "
    "ur uz vec vep vi vls vo wa war wuu xal xmf yi yo yue zh"
).split()

NORMALISED = re.compile(r"[a-z]{3}_[A-Z][a-z]{3}")

SAMPLES = {
    "Latn": "Le cœur déçu mais l'âme plutôt naïve, Louÿs rêva de crapaüter en canoë.",
    "Cyrl": "Съешь же ещё этих мягких французских булок, да выпей чаю.",
    "Grek": "Ξεσκεπάζω την ψυχοφθόρα βδελυγμία.",
    "Arab": "اللغة العربية هي أكثر اللغات السامية تحدثاً.",
    "Hebr": "דג סקרן שט בים מאוכזב ולפתע מצא חברה.",
    "Deva": "हिन्दी भारत की राजभाषा है। यह देवनागरी लिपि में लिखी जाती है।",
    "Beng": "বাংলা ভাষা দক্ষিণ এশিয়ার একটি ভাষা।",
    "Guru": "ਪੰਜਾਬੀ ਭਾਸ਼ਾ ਗੁਰਮੁਖੀ ਲਿਪੀ ਵਿੱਚ ਲਿਖੀ ਜਾਂਦੀ ਹੈ।",
    "Taml": "தமிழ் ஒரு திராவிட மொழி ஆகும்.",
    "Thai": "ภาษาไทยเป็นภาษาราชการของประเทศไทย",
    "Geor": "ქართული ენა ქართველური ენების ოჯახს მიეკუთვნება.",
    "Armn": "Հայերենը հնդեվրոպական լեզվաընտանիքի առանձին ճյուղ է։",
    "Ethi": "አማርኛ የኢትዮጵያ ሥራ ቋንቋ ነው።",
    "Khmr": "ភាសាខ្មែរ គឺជាភាសាកំណើតរបស់ជនជាតិខ្មែរ។",
    "Mymr": "မြန်မာဘာသာစကားသည် မြန်မာနိုင်ငံ၏ ရုံးသုံးဘာသာစကား ဖြစ်သည်။",
    "Sinh": "සිංහල භාෂාව ශ්‍රී ලංකාවේ රාජ්‍ය භාෂාවකි.",
    "Hani": "中文是世界上使用人数最多的语言之一，汉字有悠久的历史。",
    "Jpan": "日本語は主に日本で使われている言語です。ひらがなとカタカナを使います。",
    "Hang": "한국어는 대한민국의 공용어이다.",
}


# -- the lid.176 table -------------------------------------------------------------

def test_table_covers_exactly_the_176_lid176_labels():
    assert len(LID176) == 176
    assert set(LID176_LABELS) == set(LID176)
    assert iso639_1_to_3 == {k: v[0] for k, v in LID176_LABELS.items()}


@pytest.mark.parametrize("code", LID176)
def test_every_lid176_label_normalises_to_iso639_3_and_script(code):
    iso3, script = LID176_LABELS[code]
    assert re.fullmatch(r"[a-z]{3}", iso3)
    assert re.fullmatch(r"[A-Z][a-z]{3}", script)
    out = normalize_label(f"__label__{code}")
    assert NORMALISED.fullmatch(out)
    assert out == f"{iso3}_{script}"
    # Any text yields a well-formed label too.
    for text in ("Hello world", "Привет мир", "مرحبا", "中文", "12345", ""):
        assert NORMALISED.fullmatch(normalize_label(f"__label__{code}", text))


@pytest.mark.parametrize(
    "label, expected",
    [
        ("fr", "fra_Latn"),
        ("en", "eng_Latn"),
        ("de", "deu_Latn"),
        ("zh", "cmn_Hani"),
        ("yue", "yue_Hani"),
        ("wuu", "wuu_Hani"),
        ("ja", "jpn_Jpan"),
        ("ko", "kor_Hang"),
        ("ar", "arb_Arab"),
        ("arz", "arz_Arab"),
        ("ru", "rus_Cyrl"),
        ("hi", "hin_Deva"),
        ("el", "ell_Grek"),
        ("he", "heb_Hebr"),
        ("yi", "ydd_Hebr"),
        ("th", "tha_Thai"),
        ("ka", "kat_Geor"),
        ("hy", "hye_Armn"),
        ("am", "amh_Ethi"),
        ("bo", "bod_Tibt"),
        ("dv", "div_Thaa"),
        # macrolanguages -> the individual language GlotLID/FineWeb2 use
        ("ms", "zsm_Latn"),
        ("sw", "swh_Latn"),
        ("et", "ekk_Latn"),
        ("lv", "lvs_Latn"),
        ("uz", "uzn_Latn"),
        ("az", "azj_Latn"),
        ("no", "nob_Latn"),
        ("ne", "npi_Deva"),
        ("mn", "khk_Cyrl"),
        ("qu", "quy_Latn"),
        ("or", "ory_Orya"),
        ("ps", "pbt_Arab"),
        ("ku", "kmr_Latn"),
        ("gn", "gug_Latn"),
        ("mg", "plt_Latn"),
        ("bh", "bho_Deva"),
        ("sh", "hbs_Latn"),
        ("kv", "kpv_Cyrl"),
        ("fa", "fas_Arab"),
        # lid.176 "als" is Alemannic; Albanian "sq" is Tosk (GlotLID als_Latn)
        ("als", "gsw_Latn"),
        ("sq", "als_Latn"),
    ],
)
def test_specific_lid176_labels(label, expected):
    assert normalize_label("__label__" + label) == expected
    assert normalize_label(label) == expected  # prefix optional


def test_label_whitespace_and_case_are_tolerated():
    assert normalize_label("  __label__fr\n") == "fra_Latn"
    assert normalize_label("__label__FR") == "fra_Latn"


# -- script from the text -----------------------------------------------------------

@pytest.mark.parametrize(
    "label, text, expected",
    [
        ("sr", "Ovo je rečenica napisana na srpskom jeziku.", "srp_Latn"),
        ("sr", "Ово је реченица написана на српском језику.", "srp_Cyrl"),
        ("uz", "Bu oʻzbek tilida yozilgan matn.", "uzn_Latn"),
        ("uz", "Бу ўзбек тилида ёзилган матн.", "uzn_Cyrl"),
        ("az", "Bu Azərbaycan dilində yazılmış mətndir.", "azj_Latn"),
        ("az", "Бу Азәрбајҹан дилиндә јазылмыш мәтндир.", "azj_Cyrl"),
        ("kk", "Бұл қазақ тілінде жазылған мәтін.", "kaz_Cyrl"),
        ("kk", "Bul qazaq tilinde jazylğan mätin.", "kaz_Latn"),
        ("tt", "Bu tatar telendä yazılğan tekst.", "tat_Latn"),
        ("ku", "Ev nivîsek bi kurdî ye.", "kmr_Latn"),
        ("ku", "ئەم دەقێکی کوردییە.", "ckb_Arab"),
        ("pa", "ਪੰਜਾਬੀ ਭਾਸ਼ਾ ਗੁਰਮੁਖੀ ਲਿਪੀ ਵਿੱਚ।", "pan_Guru"),
        ("pa", "پنجابی زبان شاہ مکھی وچ۔", "pan_Arab"),
        ("sd", "سنڌي ٻولي", "snd_Arab"),
        ("sd", "सिन्धी भाषा", "snd_Deva"),
        ("gom", "हें कोंकणी भाशेंत बरयल्लें.", "gom_Deva"),
        ("gom", "Hem Konknni bhaxen boroilolem.", "gom_Latn"),
        ("hi", "Mera naam Rahul hai aur main Dilli mein rehta hoon.", "hin_Latn"),
        ("bs", "Ово је текст.", "bos_Cyrl"),
    ],
)
def test_script_follows_text_when_plausible(label, text, expected):
    assert normalize_label("__label__" + label, text) == expected


@pytest.mark.parametrize(
    "label, text, expected",
    [
        ("ru", "This text is written in English, not Russian.", "rus_Cyrl"),
        ("fr", "Это русский текст.", "fra_Latn"),
        ("sr", "12345 !!! ...", "srp_Cyrl"),   # no letters: default
        ("sr", "", "srp_Cyrl"),
        ("sr", None, "srp_Cyrl"),
        ("ja", "中文是世界上使用人数最多的语言之一。", "jpn_Jpan"),  # Han only: still Jpan
        ("zh", "日本語は主に日本で使われている言語です。", "cmn_Hani"),
        ("ko", "大韓民國", "kor_Hang"),
        ("ar", "Hello", "arb_Latn"),  # Arabizi: GlotLID has arb_Latn
        ("ckb", "ئەم دەقێکی کوردییە", "ckb_Arab"),
    ],
)
def test_script_falls_back_to_default_when_implausible(label, text, expected):
    assert normalize_label("__label__" + label, text) == expected


def test_script_variants_are_consistent_with_the_table():
    iso_codes = {v[0] for v in LID176_LABELS.values()}
    defaults = {v[0]: v[1] for v in LID176_LABELS.values()}
    for code, scripts in SCRIPT_VARIANTS.items():
        assert code in iso_codes, code
        assert defaults[code] in scripts, code
        assert all(re.fullmatch(r"[A-Z][a-z]{3}", s) for s in scripts)


# -- GlotLID labels and unknown labels ---------------------------------------------

@pytest.mark.parametrize(
    "label", ["fra_Latn", "rus_Cyrl", "cmn_Hani", "jpn_Jpan", "kor_Hang", "arb_Arab",
              "srp_Latn", "als_Latn", "zxx_Zzzz", "und_Latn", "hin_Latn"],
)
def test_glotlid_labels_pass_through(label):
    assert normalize_label("__label__" + label) == label
    assert normalize_label(label) == label
    # The text never overrides a script GlotLID already chose.
    assert normalize_label("__label__" + label, "Это русский текст.") == label


def test_glotlid_label_case_is_normalised():
    assert normalize_label("__label__FRA_LATN") == "fra_Latn"


def test_bcp47_like_tags():
    assert normalize_label("sr-Latn") == "srp_Latn"
    assert normalize_label("sr_Latn", "Ово је текст.") == "srp_Latn"  # explicit script wins
    assert normalize_label("pt-BR") == "por_Latn"
    assert normalize_label("zh_CN") == "cmn_Hani"


def test_unknown_labels_never_raise():
    assert normalize_label("__label__xx") == "xx_Zyyy"
    assert normalize_label("__label__xx", "Hello world") == "xx_Latn"
    assert normalize_label("__label__qqq", "Привет мир") == "qqq_Cyrl"
    assert normalize_label("__label__qqq", "12345") == "qqq_Zyyy"
    assert normalize_label("") == "und_Zyyy"
    assert normalize_label("__label__") == "und_Zyyy"
    assert normalize_label("", "Hello") == "und_Latn"
    for weird in (None, 42, "???", "__label__a-b-c_d", "_", "-", "\x00", "__label__\ud800"):
        out = normalize_label(weird, "text")  # type: ignore[arg-type]
        assert isinstance(out, str) and out


# -- dominant_script -----------------------------------------------------------------

@pytest.mark.parametrize("script, text", sorted(SAMPLES.items()))
def test_dominant_script_samples(script, text):
    assert dominant_script(text) == script
    assert dominant_script(text * 100) == script  # long text: only the start is read


def test_dominant_script_no_letters():
    for text in ("", "   ", "12345 67.89 !?", "😀🎉👍", "\u3001\u3002「」", "\ufeff"):
        assert dominant_script(text) == "Zyyy"


def test_dominant_script_majority_and_mixtures():
    assert dominant_script("Москва (Moscow) — столица России.") == "Cyrl"
    assert dominant_script("The word Москва means Moscow in Russian.") == "Latn"
    # Korean with Hanja is Korean; Chinese with one Korean word stays Chinese.
    assert dominant_script("大韓民國 憲法 第一條 大韓民國은 民主共和國이다.") == "Hang"
    assert dominant_script("中文是世界上使用人数最多的语言之一，汉字有悠久的历史。" * 3 + "한국") == "Hani"
    # A stray kana (e.g. の in a brand name) does not make Chinese text Japanese ...
    assert dominant_script("中文是世界上使用人数最多的语言之一，汉字有悠久的历史。の") == "Hani"
    # ... but kana-only Japanese is Japanese.
    assert dominant_script("ひらがな と カタカナ") == "Jpan"
    # Decomposed (NFD) Latin: combining marks are not counted as Greek.
    assert dominant_script("Tie\u0302\u0301ng Vie\u0323\u0302t") == "Latn"
    # Emoji and punctuation do not count.
    assert dominant_script("😀😀😀😀😀😀 ok") == "Latn"


def test_dominant_script_supplementary_planes():
    assert dominant_script("𠀀𠀁𠀂𪚲") == "Hani"          # CJK Ext B
    assert dominant_script("𞤀𞤁𞤂 ab") == "Adlm"          # Adlam (partly covered 1K block)
    assert dominant_script("𐐀𐐁𐐂 ab") == "Dsrt"          # Deseret


def test_dominant_script_reads_only_the_start():
    latin = "abcdefghij" * 205            # 2,050 letters: enough in the first chunk
    assert dominant_script(latin + "яяяя" * 5000) == "Latn"
    # A first chunk with too few letters makes it read on.
    assert dominant_script("0123456789" * 300 + "яяяя" * 500) == "Cyrl"


def test_script_counts_raw():
    assert script_counts("") == {}
    assert script_counts("ab, где 12") == {"Latn": 2, "Cyrl": 3}
    assert script_counts("日本のカナ") == {"Hani": 2, "Hira": 1, "Kana": 2}


# -- the fast path agrees with the reference table ------------------------------

def _reference_counts(text: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for ch in text:
        script = char_script(ch)
        if script is not None:
            counts[script] = counts.get(script, 0) + 1
    return counts


def test_range_table_is_sorted_and_disjoint():
    ranges = labels._SCRIPT_RANGES
    for (lo, hi, script), (lo2, _, _) in zip(ranges, ranges[1:]):
        assert lo <= hi < lo2, hex(lo)
    assert all(re.fullmatch(r"[A-Z][a-z]{3}", r[2]) for r in ranges)


def test_fast_counts_match_reference_on_every_bmp_character():
    chars = [chr(cp) for cp in range(0x10000) if not 0xD800 <= cp <= 0xDFFF]
    for start in range(0, len(chars), 2048):
        chunk = "".join(chars[start:start + 2048])
        counts: dict[str, int] = {}
        labels._count_chunk(chunk, counts)
        assert counts == _reference_counts(chunk), hex(ord(chunk[0]))


def test_fast_counts_match_reference_on_random_text():
    rng = random.Random(1234)
    astral = [0x10330, 0x10400, 0x1044F, 0x104B0, 0x10450, 0x11100, 0x16F00, 0x17000,
              0x18AFF, 0x18B00, 0x1B000, 0x1B16F, 0x1B170, 0x1E900, 0x1E95F, 0x1E960,
              0x1F600, 0x1F389, 0x20000, 0x2A6DF, 0x323AF, 0x323B0, 0xE0001, 0x10FFFF]
    pools = [
        [chr(c) for c in range(0x20, 0x250)],
        [chr(c) for c in range(0x300, 0x1100)],
        [chr(c) for c in range(0x3000, 0x3200)] + [chr(c) for c in range(0x4E00, 0x4F00)],
        [chr(c) for c in astral],
        [chr(c) for c in range(0xAC00, 0xAD00)] + [chr(c) for c in range(0xFE00, 0x10000)],
    ]
    for _ in range(200):
        n = rng.randrange(0, 2048)
        text = "".join(rng.choice(rng.choice(pools)) for _ in range(n))
        assert script_counts(text) == _reference_counts(text)
