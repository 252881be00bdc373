"""Checks a detector's label must pass against the text itself: its script, and which Chinese it is written in.

- Script: a label names a script (`ell_Grek`, `yue_Hani`), so a text without letters of that script cannot
  carry it (curlid, trained on few short texts, labels single Greek or Gujarati words `yue_Hani`). The CJK
  scripts accept each other (Japanese is often all Han; Korean may hold Hanja); text without letters fits any.
- Cantonese: written Cantonese is Traditional-character text (Hong Kong: FLORES-200's `yue_Hant`, NTREX's and
  Tatoeba's Cantonese) or carries characters only Cantonese writes (嘅 咗 喺 ...: the UDHR's Cantonese is
  Simplified with them). Text CLD2 reads as Simplified Chinese (`zh`, not `zh-Hant`) without one of those is
  Mandarin, whatever curlid says (lingua's Mandarin sentences: 1 in 5 labelled Cantonese before this check).
"""

from __future__ import annotations

CJK = frozenset({"Hani", "Jpan", "Hang"})
NO_SCRIPT = "Zyyy"
CANTONESE_CHARS = frozenset("嘅咗喺哋唔冇佢嘢啲咁嚟睇畀俾乜咩嗰噉啱揾搵攞嘞喇囉咪冚晒")
SIMPLIFIED_CODE = "zh"  # CLD2's code for Simplified Chinese ("zh-Hant": Traditional)


def script_fits(label: str, script: str) -> bool:
    """Whether a label (`xxx_Scpt`) can name a text whose dominant script is `script`."""
    if script == NO_SCRIPT or label.startswith("und_"):
        return True
    own = label.rpartition("_")[2]
    return own == script or (own in CJK and script in CJK)


def cantonese_possible(text: str, cld2_code: str) -> bool:
    """False for Simplified Chinese (CLD2's `zh`) without a Cantonese-only character: that text is Mandarin."""
    return cld2_code != SIMPLIFIED_CODE or any(ch in CANTONESE_CHARS for ch in text)
