"""Normalise language-ID labels to ``iso639-3_Script`` (the FineWeb2 / GlotLID form).

Language-ID models label text in different ways:

* GlotLID v3 (and FineWeb2): ``__label__fra_Latn`` -> already normalised.
* fastText ``lid.176``: ``__label__fr``, ``__label__als``, ``__label__zh`` ... ->
  mapped with :data:`LID176_LABELS` to an ISO 639-3 code and a default ISO 15924
  script; when the document text is given, the script part is taken from the
  text if the language is plausibly written in that script
  (``sr`` + Latin text -> ``srp_Latn``, ``sr`` + Cyrillic text -> ``srp_Cyrl``).
* anything else never raises: unknown codes come back as ``<code>_<script>`` with
  the script detected from the text, or ``Zyyy`` (ISO 15924 "Common").

Public API
----------
``normalize_label(label, text=None) -> str``
``dominant_script(text) -> str``  ISO 15924 code of the most frequent script.
``script_counts(text) -> dict[str, int]``  raw per-script counts behind it.
``char_script(ch) -> str | None``  script of one character (reference lookup).
``LID176_LABELS``  lid.176 code -> (ISO 639-3 code, default script).
``SCRIPT_VARIANTS``  ISO 639-3 code -> scripts accepted from the text.
``iso639_1_to_3``  lid.176 code -> ISO 639-3 code (derived from the table).

Only the standard library is used.
"""

from __future__ import annotations

import re
from bisect import bisect_right

__all__ = [
    "ALIASES",
    "ISO639_1_EXTRA",
    "LID176_LABELS",
    "SCRIPT_VARIANTS",
    "canonical_label",
    "char_script",
    "dominant_script",
    "iso639_1_to_3",
    "normalize_label",
    "script_counts",
]

# ---------------------------------------------------------------------------
# fastText lid.176: all 176 labels -> (ISO 639-3, default ISO 15924 script).
#
# Macrolanguages are resolved to the individual language GlotLID v3 / FineWeb2
# use (e.g. ar -> arb, zh -> cmn, et -> ekk, lv -> lvs, ms -> zsm, sw -> swh).
# Exceptions, where GlotLID v3 keeps another code, are commented.
# ---------------------------------------------------------------------------
LID176_LABELS: dict[str, tuple[str, str]] = {
    "af": ("afr", "Latn"),
    "als": ("gsw", "Latn"),   # lid.176 "als" = Alemannic (als.wikipedia), NOT Tosk Albanian
    "am": ("amh", "Ethi"),
    "an": ("arg", "Latn"),
    "ar": ("arb", "Arab"),
    "arz": ("arz", "Arab"),
    "as": ("asm", "Beng"),
    "ast": ("ast", "Latn"),
    "av": ("ava", "Cyrl"),
    "az": ("azj", "Latn"),    # North Azerbaijani; South (Arabic script) is lid.176 "azb"
    "azb": ("azb", "Arab"),
    "ba": ("bak", "Cyrl"),
    "bar": ("bar", "Latn"),
    "bcl": ("bcl", "Latn"),
    "be": ("bel", "Cyrl"),
    "bg": ("bul", "Cyrl"),
    "bh": ("bho", "Deva"),    # "Bihari" (collective); bh.wikipedia is Bhojpuri
    "bn": ("ben", "Beng"),
    "bo": ("bod", "Tibt"),
    "bpy": ("bpy", "Beng"),
    "br": ("bre", "Latn"),
    "bs": ("bos", "Latn"),
    "bxr": ("bxr", "Cyrl"),
    "ca": ("cat", "Latn"),
    "cbk": ("cbk", "Latn"),
    "ce": ("che", "Cyrl"),
    "ceb": ("ceb", "Latn"),
    "ckb": ("ckb", "Arab"),
    "co": ("cos", "Latn"),
    "cs": ("ces", "Latn"),
    "cv": ("chv", "Cyrl"),
    "cy": ("cym", "Latn"),
    "da": ("dan", "Latn"),
    "de": ("deu", "Latn"),
    "diq": ("diq", "Latn"),
    "dsb": ("dsb", "Latn"),
    "dty": ("dty", "Deva"),
    "dv": ("div", "Thaa"),
    "el": ("ell", "Grek"),
    "eml": ("eml", "Latn"),   # retired ISO code (split into egl/rgn) but GlotLID v3 keeps eml_Latn
    "en": ("eng", "Latn"),
    "eo": ("epo", "Latn"),
    "es": ("spa", "Latn"),
    "et": ("ekk", "Latn"),
    "eu": ("eus", "Latn"),
    "fa": ("fas", "Arab"),    # GlotLID v3 / FineWeb2 merge pes+prs into the macro fas_Arab
    "fi": ("fin", "Latn"),
    "fr": ("fra", "Latn"),
    "frr": ("frr", "Latn"),
    "fy": ("fry", "Latn"),
    "ga": ("gle", "Latn"),
    "gd": ("gla", "Latn"),
    "gl": ("glg", "Latn"),
    "gn": ("gug", "Latn"),
    "gom": ("gom", "Deva"),
    "gu": ("guj", "Gujr"),
    "gv": ("glv", "Latn"),
    "he": ("heb", "Hebr"),
    "hi": ("hin", "Deva"),
    "hif": ("hif", "Latn"),
    "hr": ("hrv", "Latn"),
    "hsb": ("hsb", "Latn"),
    "ht": ("hat", "Latn"),
    "hu": ("hun", "Latn"),
    "hy": ("hye", "Armn"),
    "ia": ("ina", "Latn"),
    "id": ("ind", "Latn"),
    "ie": ("ile", "Latn"),
    "ilo": ("ilo", "Latn"),
    "io": ("ido", "Latn"),
    "is": ("isl", "Latn"),
    "it": ("ita", "Latn"),
    "ja": ("jpn", "Jpan"),
    "jbo": ("jbo", "Latn"),
    "jv": ("jav", "Latn"),
    "ka": ("kat", "Geor"),
    "kk": ("kaz", "Cyrl"),
    "km": ("khm", "Khmr"),
    "kn": ("kan", "Knda"),
    "ko": ("kor", "Hang"),
    "krc": ("krc", "Cyrl"),
    "ku": ("kmr", "Latn"),
    "kv": ("kpv", "Cyrl"),
    "kw": ("cor", "Latn"),
    "ky": ("kir", "Cyrl"),
    "la": ("lat", "Latn"),
    "lb": ("ltz", "Latn"),
    "lez": ("lez", "Cyrl"),
    "li": ("lim", "Latn"),
    "lmo": ("lmo", "Latn"),
    "lo": ("lao", "Laoo"),
    "lrc": ("lrc", "Arab"),
    "lt": ("lit", "Latn"),
    "lv": ("lvs", "Latn"),
    "mai": ("mai", "Deva"),
    "mg": ("plt", "Latn"),
    "mhr": ("mhr", "Cyrl"),
    "min": ("min", "Latn"),
    "mk": ("mkd", "Cyrl"),
    "ml": ("mal", "Mlym"),
    "mn": ("khk", "Cyrl"),
    "mr": ("mar", "Deva"),
    "mrj": ("mrj", "Cyrl"),
    "ms": ("zsm", "Latn"),
    "mt": ("mlt", "Latn"),
    "mwl": ("mwl", "Latn"),
    "my": ("mya", "Mymr"),
    "myv": ("myv", "Cyrl"),
    "mzn": ("mzn", "Arab"),
    "nah": ("nah", "Latn"),   # collective code, but GlotLID v3 has nah_Latn
    "nap": ("nap", "Latn"),
    "nds": ("nds", "Latn"),
    "ne": ("npi", "Deva"),
    "new": ("new", "Deva"),
    "nl": ("nld", "Latn"),
    "nn": ("nno", "Latn"),
    "no": ("nob", "Latn"),
    "oc": ("oci", "Latn"),
    "or": ("ory", "Orya"),
    "os": ("oss", "Cyrl"),
    "pa": ("pan", "Guru"),
    "pam": ("pam", "Latn"),
    "pfl": ("pfl", "Latn"),
    "pl": ("pol", "Latn"),
    "pms": ("pms", "Latn"),
    "pnb": ("pnb", "Arab"),
    "ps": ("pbt", "Arab"),
    "pt": ("por", "Latn"),
    "qu": ("quy", "Latn"),
    "rm": ("roh", "Latn"),
    "ro": ("ron", "Latn"),
    "ru": ("rus", "Cyrl"),
    "rue": ("rue", "Cyrl"),
    "sa": ("san", "Deva"),
    "sah": ("sah", "Cyrl"),
    "sc": ("srd", "Latn"),    # macro, but GlotLID v3 keeps srd_Latn (= sro + src)
    "scn": ("scn", "Latn"),
    "sco": ("sco", "Latn"),
    "sd": ("snd", "Arab"),
    "sh": ("hbs", "Latn"),    # macro; GlotLID v3 has no hbs label (only bos/hrv/srp/cnr)
    "si": ("sin", "Sinh"),
    "sk": ("slk", "Latn"),
    "sl": ("slv", "Latn"),
    "so": ("som", "Latn"),
    "sq": ("als", "Latn"),    # Tosk Albanian, as GlotLID/FineWeb2
    "sr": ("srp", "Cyrl"),
    "su": ("sun", "Latn"),
    "sv": ("swe", "Latn"),
    "sw": ("swh", "Latn"),
    "ta": ("tam", "Taml"),
    "te": ("tel", "Telu"),
    "tg": ("tgk", "Cyrl"),
    "th": ("tha", "Thai"),
    "tk": ("tuk", "Latn"),
    "tl": ("fil", "Latn"),    # GlotLID v3 / FineWeb2 label Tagalog text fil_Latn
    "tr": ("tur", "Latn"),
    "tt": ("tat", "Cyrl"),
    "tyv": ("tyv", "Cyrl"),
    "ug": ("uig", "Arab"),
    "uk": ("ukr", "Cyrl"),
    "ur": ("urd", "Arab"),
    "uz": ("uzn", "Latn"),
    "vec": ("vec", "Latn"),
    "vep": ("vep", "Latn"),
    "vi": ("vie", "Latn"),
    "vls": ("vls", "Latn"),
    "vo": ("vol", "Latn"),
    "wa": ("wln", "Latn"),
    "war": ("war", "Latn"),
    "wuu": ("wuu", "Hani"),
    "xal": ("xal", "Cyrl"),
    "xmf": ("xmf", "Geor"),
    "yi": ("ydd", "Hebr"),
    "yo": ("yor", "Latn"),
    "yue": ("yue", "Hani"),
    "zh": ("cmn", "Hani"),
}

#: lid.176 code -> ISO 639-3 code.
iso639_1_to_3: dict[str, str] = {k: v[0] for k, v in LID176_LABELS.items()}

# Scripts a language is plausibly written in, besides its default script.
# When the text's dominant script is one of these, it replaces the default.
# Mostly taken from the script variants GlotLID v3 has labels for.
SCRIPT_VARIANTS: dict[str, frozenset[str]] = {
    code: frozenset(scripts)
    for code, scripts in {
        # Latin/Cyrillic (and Arabic) digraphia
        "srp": ("Cyrl", "Latn"),
        "bos": ("Latn", "Cyrl"),
        "hbs": ("Latn", "Cyrl"),
        "uzn": ("Latn", "Cyrl"),
        "azj": ("Latn", "Cyrl"),
        "kaz": ("Cyrl", "Latn", "Arab"),
        "kir": ("Cyrl", "Latn", "Arab"),
        "tat": ("Cyrl", "Latn"),
        "tuk": ("Latn", "Cyrl", "Arab"),
        "uig": ("Arab", "Cyrl", "Latn"),
        "tgk": ("Cyrl", "Latn"),
        "kmr": ("Latn", "Cyrl", "Arab"),
        "ckb": ("Arab", "Latn"),
        "bel": ("Cyrl", "Latn"),
        "ron": ("Latn", "Cyrl"),
        "khk": ("Cyrl", "Mong"),
        "zsm": ("Latn", "Arab"),
        "min": ("Latn", "Arab"),
        "jav": ("Latn", "Java"),
        "sun": ("Latn", "Sund"),
        "arb": ("Arab", "Latn"),
        # South Asia: native script(s) + romanised text
        "pan": ("Guru", "Arab", "Latn"),
        "snd": ("Arab", "Deva", "Latn"),
        "gom": ("Deva", "Latn", "Knda"),
        "hif": ("Latn", "Deva"),
        "hin": ("Deva", "Latn"),
        "urd": ("Arab", "Latn"),
        "ben": ("Beng", "Latn"),
        "asm": ("Beng", "Latn"),
        "mar": ("Deva", "Latn"),
        "npi": ("Deva", "Latn"),
        "san": ("Deva", "Latn"),
        "guj": ("Gujr", "Latn"),
        "ory": ("Orya", "Latn"),
        "tam": ("Taml", "Latn"),
        "tel": ("Telu", "Latn"),
        "kan": ("Knda", "Latn"),
        "mal": ("Mlym", "Latn"),
    }.items()
}

# ---------------------------------------------------------------------------
# One label per language, whoever predicted it: the ISO 639-3 code GlotLID v3 and FineWeb2's configs use
# (their folder names, `filters/configs/<label>.yml`). Macrolanguages and retired or alias codes found in
# FLORES-200, NTREX-128, Tatoeba, lingua's test data, lid.176 and CLD2 map onto it, so every model's
# output, every gold label, every threshold file and every output folder agree.
# Keys: code -> canonical code; `(code, script)` keys override for one script (aze_Arab is azb_Arab).
# ---------------------------------------------------------------------------
ALIASES: dict[str, str] = {
    "pes": "fas", "prs": "fas", "per": "fas",         # Persian: FineWeb2 keeps the macro fas_Arab
    "msa": "zsm", "zlm": "zsm", "may": "zsm",         # Malay -> Standard Malay (ind stays apart)
    "zho": "cmn", "chi": "cmn",                       # Chinese -> Mandarin (cmn_Hani)
    "est": "ekk", "lav": "lvs", "nor": "nob",
    "aze": "azj", "ara": "arb", "swa": "swh", "sqi": "als", "alb": "als",
    "uzb": "uzn", "mon": "khk", "kur": "kmr", "ori": "ory", "nep": "npi", "pus": "pbt",
    "tgl": "fil",                                     # GlotLID/FineWeb2 label Tagalog text fil_Latn
    "mlg": "plt", "que": "quy", "orm": "gaz", "grn": "gug", "yid": "ydd", "ful": "fuv",
    "kon": "ktu", "aka": "twi", "kok": "gom", "din": "dik", "kau": "knc", "chm": "mhr",
    "kom": "kpv", "bik": "bcl", "zza": "diq", "bua": "bxr", "lah": "pnb", "fuc": "fuv",
}
SCRIPT_ALIASES: dict[tuple[str, str], str] = {
    ("aze", "Arab"): "azb", ("azj", "Arab"): "azb",   # South Azerbaijani is written in Arabic script
    ("kur", "Arab"): "ckb", ("kmr", "Arab"): "ckb",   # Sorani
}
# Han in any form is one script in GlotLID's labels (FLORES writes zho_Hans / zho_Hant, yue_Hant).
SCRIPT_MERGE: dict[str, str] = {"Hans": "Hani", "Hant": "Hani"}

#: ISO 639-1 (and CLD2's own) codes lid.176 lacks but test sets (lingua) and CLD2 use -> (ISO 639-3, script).
ISO639_1_EXTRA: dict[str, tuple[str, str]] = {
    code: (iso3, script) for code, iso3, script in (
        ("lg", "lug", "Latn"), ("mi", "mri", "Latn"), ("nb", "nob", "Latn"), ("sn", "sna", "Latn"),
        ("st", "sot", "Latn"), ("tn", "tsn", "Latn"), ("ts", "tso", "Latn"), ("xh", "xho", "Latn"),
        ("zu", "zul", "Latn"), ("ha", "hau", "Latn"), ("ig", "ibo", "Latn"), ("ny", "nya", "Latn"),
        ("rw", "kin", "Latn"), ("sm", "smo", "Latn"), ("to", "ton", "Latn"), ("ty", "tah", "Latn"),
        ("fj", "fij", "Latn"), ("ff", "fuv", "Latn"), ("ak", "twi", "Latn"), ("ln", "lin", "Latn"),
        ("rn", "run", "Latn"), ("om", "gaz", "Latn"), ("ti", "tir", "Ethi"), ("wo", "wol", "Latn"),
        ("ee", "ewe", "Latn"), ("ss", "ssw", "Latn"), ("ve", "ven", "Latn"), ("nd", "nde", "Latn"),
        ("nr", "nbl", "Latn"), ("za", "zha", "Latn"), ("ks", "kas", "Arab"), ("iu", "iku", "Cans"),
        ("kl", "kal", "Latn"), ("fo", "fao", "Latn"), ("aa", "aar", "Latn"), ("ab", "abk", "Cyrl"),
        ("ch", "cha", "Latn"), ("bi", "bis", "Latn"), ("bm", "bam", "Latn"), ("dz", "dzo", "Tibt"),
        ("sg", "sag", "Latn"), ("tw", "twi", "Latn"), ("kg", "ktu", "Latn"), ("ki", "kik", "Latn"),
        ("ay", "ayr", "Latn"), ("ik", "ipk", "Latn"), ("na", "nau", "Latn"), ("haw", "haw", "Latn"),
        ("chr", "chr", "Cher"), ("kha", "kha", "Latn"), ("lif", "lif", "Limb"), ("mfe", "mfe", "Latn"),
        ("crs", "crs", "Latn"), ("syr", "syr", "Syrc"), ("nso", "nso", "Latn"),
        ("iw", "heb", "Hebr"), ("jw", "jav", "Latn"), ("in", "ind", "Latn"), ("ji", "ydd", "Hebr"),
    )
}


def canonical_label(label: str) -> str:
    """`iso639-3_Script` in GlotLID/FineWeb2 form: `pes_Arab` -> `fas_Arab`, `zho_Hant` -> `cmn_Hani`,
    `est_Latn` -> `ekk_Latn`, `aze_Arab` -> `azb_Arab`; anything already canonical comes back unchanged."""
    code, _, script = label.partition("_")
    script = SCRIPT_MERGE.get(script, script)
    code = SCRIPT_ALIASES.get((code, script)) or ALIASES.get(code, code)
    return f"{code}_{script}" if script else code


# ---------------------------------------------------------------------------
# Script detection.
#
# Sorted, non-overlapping, inclusive codepoint ranges -> ISO 15924 code.  Only
# letters are listed for the shared Latin-1 block (so ASCII spaces, digits and
# punctuation count for nothing); other script blocks are listed whole, so their
# own digits and punctuation count for that script.  Combining diacritics
# (U+0300-036F), general punctuation, symbols, emoji and the CJK punctuation
# block count for nothing.
# ---------------------------------------------------------------------------
_SCRIPT_RANGES: tuple[tuple[int, int, str], ...] = (
    (0x0041, 0x005A, "Latn"),
    (0x0061, 0x007A, "Latn"),
    (0x00AA, 0x00AA, "Latn"),
    (0x00BA, 0x00BA, "Latn"),
    (0x00C0, 0x00D6, "Latn"),
    (0x00D8, 0x00F6, "Latn"),
    (0x00F8, 0x02FF, "Latn"),  # Latin Ext-A/B, IPA, spacing modifier letters
    (0x0370, 0x03FF, "Grek"),
    (0x0400, 0x052F, "Cyrl"),
    (0x0530, 0x058F, "Armn"),
    (0x0590, 0x05FF, "Hebr"),
    (0x0600, 0x06FF, "Arab"),
    (0x0700, 0x074F, "Syrc"),
    (0x0750, 0x077F, "Arab"),
    (0x0780, 0x07BF, "Thaa"),
    (0x07C0, 0x07FF, "Nkoo"),
    (0x0800, 0x083F, "Samr"),
    (0x0840, 0x085F, "Mand"),
    (0x0860, 0x086F, "Syrc"),
    (0x0870, 0x08FF, "Arab"),
    (0x0900, 0x0963, "Deva"),  # U+0964/0965 (dandas) are shared by many Indic scripts
    (0x0966, 0x097F, "Deva"),
    (0x0980, 0x09FF, "Beng"),
    (0x0A00, 0x0A7F, "Guru"),
    (0x0A80, 0x0AFF, "Gujr"),
    (0x0B00, 0x0B7F, "Orya"),
    (0x0B80, 0x0BFF, "Taml"),
    (0x0C00, 0x0C7F, "Telu"),
    (0x0C80, 0x0CFF, "Knda"),
    (0x0D00, 0x0D7F, "Mlym"),
    (0x0D80, 0x0DFF, "Sinh"),
    (0x0E00, 0x0E7F, "Thai"),
    (0x0E80, 0x0EFF, "Laoo"),
    (0x0F00, 0x0FFF, "Tibt"),
    (0x1000, 0x109F, "Mymr"),
    (0x10A0, 0x10FF, "Geor"),
    (0x1100, 0x11FF, "Hang"),  # Hangul Jamo
    (0x1200, 0x139F, "Ethi"),
    (0x13A0, 0x13FF, "Cher"),
    (0x1400, 0x167F, "Cans"),
    (0x1680, 0x169F, "Ogam"),
    (0x16A0, 0x16FF, "Runr"),
    (0x1700, 0x171F, "Tglg"),
    (0x1720, 0x173F, "Hano"),
    (0x1740, 0x175F, "Buhd"),
    (0x1760, 0x177F, "Tagb"),
    (0x1780, 0x17FF, "Khmr"),
    (0x1800, 0x18AF, "Mong"),
    (0x18B0, 0x18FF, "Cans"),
    (0x1900, 0x194F, "Limb"),
    (0x1950, 0x197F, "Tale"),
    (0x1980, 0x19DF, "Talu"),
    (0x19E0, 0x19FF, "Khmr"),
    (0x1A00, 0x1A1F, "Bugi"),
    (0x1A20, 0x1AAF, "Lana"),
    (0x1B00, 0x1B7F, "Bali"),
    (0x1B80, 0x1BBF, "Sund"),
    (0x1BC0, 0x1BFF, "Batk"),
    (0x1C00, 0x1C4F, "Lepc"),
    (0x1C50, 0x1C7F, "Olck"),
    (0x1C80, 0x1C8F, "Cyrl"),
    (0x1C90, 0x1CBF, "Geor"),  # Mtavruli
    (0x1CC0, 0x1CCF, "Sund"),
    (0x1D00, 0x1DBF, "Latn"),  # phonetic extensions
    (0x1E00, 0x1EFF, "Latn"),  # Latin Extended Additional (Vietnamese)
    (0x1F00, 0x1FFF, "Grek"),  # polytonic Greek
    (0x2C00, 0x2C5F, "Glag"),
    (0x2C60, 0x2C7F, "Latn"),
    (0x2C80, 0x2CFF, "Copt"),
    (0x2D00, 0x2D2F, "Geor"),
    (0x2D30, 0x2D7F, "Tfng"),
    (0x2D80, 0x2DDF, "Ethi"),
    (0x2DE0, 0x2DFF, "Cyrl"),
    (0x2E80, 0x2FDF, "Hani"),  # CJK and Kangxi radicals
    (0x3005, 0x3005, "Hani"),  # 々
    (0x3007, 0x3007, "Hani"),  # 〇
    (0x3021, 0x3029, "Hani"),
    (0x3038, 0x303B, "Hani"),
    (0x3041, 0x309F, "Hira"),
    (0x30A1, 0x30FA, "Kana"),  # U+30FB (・) is punctuation
    (0x30FC, 0x30FF, "Kana"),
    (0x3105, 0x312F, "Bopo"),
    (0x3131, 0x318F, "Hang"),  # compatibility jamo
    (0x31A0, 0x31BF, "Bopo"),
    (0x31F0, 0x31FF, "Kana"),
    (0x3400, 0x4DBF, "Hani"),  # CJK Ext A
    (0x4E00, 0x9FFF, "Hani"),  # CJK Unified Ideographs
    (0xA000, 0xA4CF, "Yiii"),
    (0xA4D0, 0xA4FF, "Lisu"),
    (0xA500, 0xA63F, "Vaii"),
    (0xA640, 0xA69F, "Cyrl"),
    (0xA6A0, 0xA6FF, "Bamu"),
    (0xA720, 0xA7FF, "Latn"),
    (0xA800, 0xA82F, "Sylo"),
    (0xA840, 0xA87F, "Phag"),
    (0xA880, 0xA8DF, "Saur"),
    (0xA8E0, 0xA8FF, "Deva"),
    (0xA900, 0xA92F, "Kali"),
    (0xA930, 0xA95F, "Rjng"),
    (0xA960, 0xA97F, "Hang"),
    (0xA980, 0xA9DF, "Java"),
    (0xA9E0, 0xA9FF, "Mymr"),
    (0xAA00, 0xAA5F, "Cham"),
    (0xAA60, 0xAA7F, "Mymr"),
    (0xAA80, 0xAADF, "Tavt"),
    (0xAAE0, 0xAAFF, "Mtei"),
    (0xAB00, 0xAB2F, "Ethi"),
    (0xAB30, 0xAB6F, "Latn"),
    (0xAB70, 0xABBF, "Cher"),
    (0xABC0, 0xABFF, "Mtei"),
    (0xAC00, 0xD7FF, "Hang"),  # Hangul syllables + Jamo Ext-B
    (0xF900, 0xFAFF, "Hani"),  # CJK compatibility ideographs
    (0xFB00, 0xFB06, "Latn"),  # ligatures ﬀ ﬁ ...
    (0xFB13, 0xFB17, "Armn"),
    (0xFB1D, 0xFB4F, "Hebr"),
    (0xFB50, 0xFDFF, "Arab"),  # presentation forms A
    (0xFE70, 0xFEFE, "Arab"),  # presentation forms B (U+FEFF is the BOM)
    (0xFF21, 0xFF3A, "Latn"),  # fullwidth Latin
    (0xFF41, 0xFF5A, "Latn"),
    (0xFF66, 0xFF9F, "Kana"),  # halfwidth katakana
    (0xFFA0, 0xFFDC, "Hang"),  # halfwidth jamo
    # Supplementary planes
    (0x10330, 0x1034F, "Goth"),
    (0x10400, 0x1044F, "Dsrt"),
    (0x104B0, 0x104FF, "Osge"),
    (0x11100, 0x1114F, "Cakm"),
    (0x16F00, 0x16F9F, "Plrd"),
    (0x17000, 0x18AFF, "Tang"),
    (0x1B000, 0x1B16F, "Hira"),  # kana supplement / hentaigana (counted as Japanese)
    (0x1E900, 0x1E95F, "Adlm"),
    (0x20000, 0x323AF, "Hani"),  # CJK Ext B-H + compatibility supplement
)

_RANGE_STARTS: list[int] = [r[0] for r in _SCRIPT_RANGES]

#: ISO 15924 for "Common": returned when there is nothing to decide from.
UNKNOWN_SCRIPT = "Zyyy"

_MAX_CHUNK = 2048      # characters read at a time
_ENOUGH_LETTERS = 1024  # stop reading further chunks once this many letters were seen
_MAX_CHUNKS = 16       # never read more than 32 Ki characters
_CJK_RATIO = 10        # kana (hangul) >= han / 10  -> the Han characters are Japanese (Korean)


def char_script(ch: str) -> str | None:
    """ISO 15924 code of one character per the range table, ``None`` if not counted."""
    cp = ord(ch)
    i = bisect_right(_RANGE_STARTS, cp) - 1
    if i >= 0 and cp <= _SCRIPT_RANGES[i][1]:
        return _SCRIPT_RANGES[i][2]
    return None


# --- Fast counting tables ----------------------------------------------------
# Every BMP character is mapped to a one-byte script class (0 = not counted).
# The text is encoded as UTF-16-BE, so the even bytes are the 256-codepoint
# block of each character and the odd bytes its position inside the block.
# Blocks holding a single class are classified by ``bytes.translate`` on the
# block bytes alone; for the few "mixed" blocks present in a text (ASCII /
# Latin-1, Devanagari+Bengali, CJK punctuation+kana ...) the position bytes are
# translated with that block's own table and selected with a byte mask held in
# a big int.  All per-character work therefore runs in C.
#
# Supplementary-plane characters arrive as surrogate pairs; the high surrogate
# (U+D800-DBFF) alone fixes a 1,024-codepoint block, so its table entry holds
# that block's class (emoji blocks: 0).  Blocks only partly covered by a range
# get the marker _SLOW and their characters are looked up one by one.

_CLASS_SCRIPTS: tuple[str, ...] = ("",) + tuple(sorted({r[2] for r in _SCRIPT_RANGES}))
_CLASS_OF: dict[str, int] = {s: i for i, s in enumerate(_CLASS_SCRIPTS) if s}
_SLOW = 255
assert len(_CLASS_SCRIPTS) < _SLOW


def _build_tables():
    cls = bytearray(0x10000)
    astral: dict[int, set[int]] = {}
    for lo, hi, script in _SCRIPT_RANGES:
        c = _CLASS_OF[script]
        if hi <= 0xFFFF:
            cls[lo:hi + 1] = bytes((c,)) * (hi - lo + 1)
            continue
        for blk in range(lo >> 10, (hi >> 10) + 1):
            full = lo <= blk << 10 and (blk << 10) + 0x3FF <= hi
            astral.setdefault(blk, set()).add(c if full else _SLOW)
    for blk, classes in astral.items():
        cls[0xD800 + blk - 0x40] = classes.pop() if len(classes) == 1 else _SLOW
    block_class = bytearray(256)
    mixed: dict[int, tuple[bytes, bytes]] = {}
    for b in range(256):
        block = bytes(cls[b * 256:(b + 1) * 256])
        if block.count(block[0]) == 256:
            block_class[b] = block[0]
        else:
            mask = bytes(0xFF if i == b else 0 for i in range(256))
            mixed[b] = (block, mask)
    not_mixed = bytes(b for b in range(256) if b not in mixed)
    return bytes(cls), bytes(block_class), mixed, not_mixed


_CLASS_TABLE, _BLOCK_CLASS, _MIXED_BLOCKS, _NOT_MIXED = _build_tables()
_SINGLE_BYTES = [bytes((i,)) for i in range(256)]
_ASTRAL_RE = re.compile("[\U00010000-\U0010FFFF]")


def _count_chunk(chunk: str, counts: dict[str, int]) -> int:
    """Add the per-script counts of ``chunk`` to ``counts``; return the number counted."""
    data = chunk.encode("utf-16-be", "surrogatepass")
    blocks = data[0::2]
    n = len(blocks)
    classes = blocks.translate(_BLOCK_CLASS)
    present = blocks.translate(None, _NOT_MIXED)
    if present:
        acc = int.from_bytes(classes, "big")
        offsets = data[1::2]
        while present:
            b = present[0]
            table, mask = _MIXED_BLOCKS[b]
            acc |= int.from_bytes(offsets.translate(table), "big") & int.from_bytes(
                blocks.translate(mask), "big"
            )
            present = present.translate(None, _SINGLE_BYTES[b])
        classes = acc.to_bytes(n, "big")
    classes = classes.translate(None, b"\x00")
    total = 0
    while classes:
        c = classes[0]
        single = _SINGLE_BYTES[c]
        k = classes.count(single)
        if c == _SLOW:
            for ch in _ASTRAL_RE.findall(chunk):
                if _CLASS_TABLE[0xD7C0 + (ord(ch) >> 10)] == _SLOW:
                    script = char_script(ch)
                    if script is not None:
                        counts[script] = counts.get(script, 0) + 1
                        total += 1
        else:
            script = _CLASS_SCRIPTS[c]
            counts[script] = counts.get(script, 0) + k
            total += k
        classes = classes.translate(None, single) if k != len(classes) else b""
    return total


def script_counts(text: str) -> dict[str, int]:
    """Per-script character counts of the start of ``text`` (no CJK merging).

    The text is read in chunks of 2,048 characters until at least 1,024 counted
    characters ("letters") were seen, so normally only the first chunk is read.
    Han, Hiragana, Katakana and Hangul are reported separately here.
    """
    counts: dict[str, int] = {}
    if not text:
        return counts
    seen = 0
    for start in range(0, min(len(text), _MAX_CHUNK * _MAX_CHUNKS), _MAX_CHUNK):
        seen += _count_chunk(text[start:start + _MAX_CHUNK], counts)
        if seen >= _ENOUGH_LETTERS:
            break
    return counts


def dominant_script(text: str) -> str:
    """ISO 15924 code of the most frequent script among the letters of ``text``.

    Han with Hiragana/Katakana -> ``Jpan``; Hangul (with or without Hanja) ->
    ``Hang``; Han alone -> ``Hani``.  No letters -> ``Zyyy``.
    """
    counts = script_counts(text)
    if not counts:
        return UNKNOWN_SCRIPT
    han = counts.pop("Hani", 0)
    kana = counts.pop("Hira", 0) + counts.pop("Kana", 0)
    hang = counts.pop("Hang", 0)
    if kana and kana >= hang and kana * _CJK_RATIO >= han:
        counts["Jpan"] = han + kana
        han = kana = 0
    elif hang and hang * _CJK_RATIO >= han:
        counts["Hang"] = hang + han
        han = hang = 0
    if han:
        counts["Hani"] = han
    if kana:
        counts["Jpan"] = counts.get("Jpan", 0) + kana
    if hang:
        counts["Hang"] = counts.get("Hang", 0) + hang
    # Highest count wins; ties are broken by the code, so the result is deterministic.
    return max(counts.items(), key=lambda kv: (kv[1], kv[0]))[0]


# ---------------------------------------------------------------------------
# Label normalisation.
# ---------------------------------------------------------------------------
_LABEL_PREFIX = "__label__"
_GLOTLID_RE = re.compile(r"([A-Za-z]{3})_([A-Za-z]{4})")
_SPLIT_RE = re.compile(r"[-_]")


def _script_for(code: str, default: str, explicit: str | None, text: str | None) -> str:
    if explicit:
        return explicit
    if text and code in SCRIPT_VARIANTS:  # otherwise the answer is the default whatever the text
        detected = dominant_script(text)
        if detected == default or detected in SCRIPT_VARIANTS.get(code, ()):
            return detected
    return default


_NO_TEXT_NEEDED: dict[str, str] = {}  # raw label -> its label when the text cannot change it (most labels)


def normalize_label(label: str, text: str | None = None) -> str:
    """See `_normalize_label`; labels whose result does not depend on the text are looked up once (the
    `langid` stage normalises one or two labels per document)."""
    hit = _NO_TEXT_NEEDED.get(label)
    if hit is not None:
        return hit
    out = _normalize_label(label, text)
    if isinstance(label, str) and len(_NO_TEXT_NEEDED) < 100_000 and _text_free(label):
        _NO_TEXT_NEEDED[label] = out
    return out


def _text_free(label: str) -> bool:
    """Whether `_normalize_label(label, text)` is the same for every text."""
    raw = label.strip().removeprefix(_LABEL_PREFIX).strip()
    if _GLOTLID_RE.fullmatch(raw):
        return True
    parts = _SPLIT_RE.split(raw)
    code = parts[0].lower()
    if any(len(p) == 4 and p.isalpha() for p in parts[1:]):
        return True
    entry = LID176_LABELS.get(code) or ISO639_1_EXTRA.get(code)
    return entry is not None and entry[0] not in SCRIPT_VARIANTS


def _normalize_label(label: str, text: str | None = None) -> str:
    """Normalise a language-ID label to ``iso639-3_Script``; never raises.

    * ``__label__fra_Latn`` (GlotLID) -> ``fra_Latn``, unchanged whatever the text.
    * ``__label__fr`` (lid.176) -> ``fra_Latn``; ``__label__sr`` -> ``srp_Cyrl``, or
      ``srp_Latn`` when ``text`` is mostly Latin.  The text's dominant script is
      used only if the language is plausibly written in it (:data:`SCRIPT_VARIANTS`).
    * BCP-47-like tags (``sr-Latn``, ``pt_BR``) keep an explicit script and drop regions.
    * unknown codes -> ``<code>_<script of text>``, or ``<code>_Zyyy`` without text.
    """
    try:
        raw = str(label or "").strip()
        if raw.startswith(_LABEL_PREFIX):
            raw = raw[len(_LABEL_PREFIX):].strip()
        if not raw:
            return "und_" + (dominant_script(text) if text else UNKNOWN_SCRIPT)

        m = _GLOTLID_RE.fullmatch(raw)
        if m:
            # Already iso639-3_Script (GlotLID v3 / FineWeb2): keep it.  Note that
            # GlotLID's "als_Latn" is Tosk Albanian, unlike lid.176's bare "als".
            return canonical_label(f"{m.group(1).lower()}_{m.group(2).title()}")

        parts = _SPLIT_RE.split(raw)
        code = parts[0].lower()
        explicit = None
        for part in parts[1:]:
            if len(part) == 4 and part.isalpha():
                explicit = part.title()
                break
        entry = LID176_LABELS.get(code)
        if entry is None:
            entry = ISO639_1_EXTRA.get(code)
        if entry is not None:
            iso3, default = entry
            return canonical_label(f"{iso3}_{_script_for(iso3, default, explicit, text)}")
        if explicit:
            return canonical_label(f"{code}_{explicit}")
        script = dominant_script(text) if text else UNKNOWN_SCRIPT
        return canonical_label(f"{code}_{script}")
    except Exception:  # pragma: no cover - defensive: label normalisation must never fail
        return "und_" + UNKNOWN_SCRIPT
