"""Text as the KenLM models see it: CCNet's normalisation, then the language's word splitter.

Training (`curate kenlm train`) and scoring (the `kenlm` stage) both go through `lm_sentences`, so a model
only ever meets words written the way it was estimated on. Each non-empty line is one sentence.

CCNet (`text_normalizer.normalize`) lower-cases, folds every digit to 0, maps typographic punctuation to
ASCII and drops control characters. It also strips accents; we keep them, because dropping combining
marks erases vowel signs of Indic and other scripts and merges distinct words of many Latin languages.
CCNet splits with a SentencePiece model; we split with the project's per-language word splitters
(filters/words.py), which need no trained model.
"""

from __future__ import annotations

import re
import unicodedata

from filters.words import normalized_word_splitter

# ccnet/text_normalizer.py UNICODE_PUNCT (its "１" -> '"' typo left out)
UNICODE_PUNCT = {
    "，": ",", "。": ".", "、": ",", "„": '"', "”": '"', "“": '"', "«": '"', "»": '"', "」": '"', "「": '"',
    "《": '"', "》": '"', "´": "'", "∶": ":", "：": ":", "？": "?", "！": "!", "（": "(", "）": ")", "；": ";",
    "–": "-", "—": " - ", "．": ". ", "～": "~", "’": "'", "…": "...", "━": "-", "〈": "<", "〉": ">",
    "【": "[", "】": "]", "％": "%", "►": "-",
}
_PUNCT_RE = re.compile("|".join(map(re.escape, UNICODE_PUNCT)))
_DIGIT_RE = re.compile(r"\d")
_NON_PRINTING_RE = re.compile("[" + "".join(map(chr, [*range(0, 32), *range(127, 160)])) + "]")
# words KenLM reserves: a literal one in the text would be read as the marker
RESERVED = frozenset({"<s>", "</s>", "<unk>"})


def normalize(line: str) -> str:
    """CCNet's normalisation without accent stripping: lower case, digits -> 0, ASCII punctuation, no controls."""
    line = line.strip().lower()
    if not line:
        return line
    line = _DIGIT_RE.sub("0", line)
    line = _PUNCT_RE.sub(lambda m: UNICODE_PUNCT[m.group(0)], line)
    return unicodedata.normalize("NFC", _NON_PRINTING_RE.sub("", line))


def lm_sentences(text: str, language: str) -> list[list[str]]:
    """The sentences (non-empty lines) of a text as lists of normalised words, for `language` (iso639-3_Script)."""
    split = normalized_word_splitter(language)
    out = []
    for line in text.splitlines():
        line = " ".join(normalize(line).split())  # single spaces: the splitter's fast path, same words
        if not line:
            continue
        words = [w for tok in split(line) for w in tok.split() if w not in RESERVED]
        if words:
            out.append(words)
    return out
