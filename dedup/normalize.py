"""The text normalisation MinHash shingles and boilerplate lines share: datatrove's `simplify_text`, faster."""

from __future__ import annotations

import unicodedata

import numpy as np
from datatrove.utils.text import NUMBERS_PATTERN, PUNCTUATION

_PUNCT, _MARK = 1, 2
_FLAGS: np.ndarray | None = None


def _char_flags() -> np.ndarray:
    """uint8 per code point: punctuation (datatrove's list) and combining marks (category Mn)."""
    global _FLAGS
    if _FLAGS is None:
        flags = np.zeros(0x110000, dtype=np.uint8)
        flags[[ord(c) for c in PUNCTUATION]] |= _PUNCT
        flags[[cp for cp in range(0x110000) if unicodedata.category(chr(cp)) == "Mn"]] |= _MARK
        _FLAGS = flags
    return _FLAGS


def _present(text: str, flag: int) -> list[str]:
    """The distinct characters of `text` with `flag`: a table look-up over the code points in numpy, instead
    of hashing every character into a set."""
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    hits = codes[(_char_flags()[codes] & flag) != 0]
    return [chr(c) for c in np.unique(hits)] if len(hits) else []


def normalize(text: str) -> str:
    """datatrove's `simplify_text` (lowercase, numbers -> 0, punctuation -> space, one space, no diacritics),
    same output, several times faster: characters are replaced only for the few distinct punctuation marks
    and combining marks a text contains, found by a table look-up, instead of a per-character loop."""
    text = NUMBERS_PATTERN.sub("0", text.lower())
    for c in _present(text, _PUNCT):
        text = text.replace(c, " ")
    text = " ".join(text.split())
    if not text.isascii():
        text = unicodedata.normalize("NFD", text)
        for c in _present(text, _MARK):
            text = text.replace(c, "")
    return text.strip()
