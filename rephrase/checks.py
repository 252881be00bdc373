"""Checks on what the model wrote: strip chat preambles ("Here is a paraphrased version:"), and reject
empty, prompt-echoing (it copied the instructions, as base models do), repetitive, wrong-language and
truncated (it hit max tokens) outputs. A rejected passage is counted under one reason, the most specific
one, in that order, and left out of its document.
"""

from __future__ import annotations

import re

# a first line that only announces the answer, in the languages models most often slip into
_PREAMBLE_LINE = re.compile(
    r"^\s*(?:\*\*)?(?:(?:sure|certainly|of course|okay|ok|absolutely)\b[^\n]{0,80}?[.!,]\s*)?"
    r"(?:here(?:'s| is| are)|below (?:is|are)|the following (?:is|are)|voici|voilà|hier (?:ist|sind)|"
    r"aquí (?:está|tienes|hay)|ecco|вот|以下は|以下是|这是|다음은)[^\n]{0,160}?:\s*(?:\*\*)?\s*\n",
    re.IGNORECASE)
_ONLY_ACK = re.compile(r"^\s*(?:sure|certainly|of course|okay|absolutely)[!.,]?\s*\n", re.IGNORECASE)
# a label the prompt asked for in front of the answer ("Paraphrased Text: ...")
_LABEL = re.compile(r"^\s*(?:\*\*)?(?:paraphrased (?:text|version)|paraphrase|rephrased (?:text|version)|"
                    r"rewritten text|answer)\s*:\s*(?:\*\*)?\s*", re.IGNORECASE)
_WORD = re.compile(r"\w+", re.UNICODE)
REASONS = ("empty", "prompt_echo", "repetitive", "wrong_language", "truncated")  # most specific first


def strip_preamble(text: str) -> str:
    """The output without an announcing first line or an answer label (the rest is kept as written)."""
    text = text.lstrip("\ufeff")
    for _ in range(2):
        stripped = _ONLY_ACK.sub("", text, count=1)
        stripped = _PREAMBLE_LINE.sub("", stripped, count=1)
        stripped = _LABEL.sub("", stripped, count=1)
        if stripped == text:
            break
        text = stripped
    return text.strip()


def repetition(text: str) -> float:
    """Share of repeated n-grams (word 3-grams, or character 6-grams for text written without spaces):
    0 for text that never repeats itself, close to 1 for a model stuck in a loop."""
    words = text.split()
    grams = ([tuple(words[i:i + 3]) for i in range(len(words) - 2)] if len(words) >= 20
             else [text[i:i + 6] for i in range(len(text) - 5)] if len(words) < 5 and len(text) >= 60
             else [])
    if len(grams) < 20:
        return 0.0
    return 1.0 - len(set(grams)) / len(grams)


def shingles(text: str, n: int = 6) -> set[tuple[str, ...]]:
    words = _WORD.findall(text.lower())
    return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}


def same_language(predicted: str, target: str) -> bool:
    """Labels agree on the language (and on the script when both name one)."""
    p_lang, _, p_script = predicted.partition("_")
    t_lang, _, t_script = target.partition("_")
    return p_lang == t_lang and (not p_script or not t_script or p_script == t_script)


class OutputChecker:
    """Clean and judge completions in batches (one language-ID call per batch).

    Args:
        language_id: the project's LanguageId stage (None: no language check)
        max_repetition: reject outputs with a larger share of repeated n-grams
        min_chars_for_language: shorter outputs are too short to tell their language and pass that check
    """

    def __init__(self, language_id=None, max_repetition: float = 0.5, min_chars_for_language: int = 40):
        self.language_id = language_id
        self.max_repetition = max_repetition
        self.min_chars_for_language = min_chars_for_language

    def check_many(self, items: list[tuple]) -> list[tuple[str, str | None]]:
        """For each (completion, target language[, instructions]): (cleaned text, None) when it passes, else
        (text, reason), the first of REASONS that applies. `instructions` is the prompt without the passage:
        an output repeating six words of it in a row copied the prompt."""
        out: list[tuple[str, str | None]] = []
        to_identify = []
        echo_cache: dict[str, set] = {}
        for i, (c, _, *rest) in enumerate(items):
            text = strip_preamble(c.text)
            instructions = rest[0] if rest else None
            if instructions and instructions not in echo_cache:
                echo_cache[instructions] = shingles(instructions)
            # what the output is comes before where it stopped: an echo or a loop that ran into the token
            # limit is an echo or a loop (the limit is only where it ended)
            if not _WORD.search(text):
                out.append((text, "empty"))
            elif instructions and not shingles(text).isdisjoint(echo_cache[instructions]):
                out.append((text, "prompt_echo"))
            elif repetition(text) > self.max_repetition:
                out.append((text, "repetitive"))
            else:
                out.append((text, "truncated" if c.finish_reason == "length" else None))
                if self.language_id is not None and len(text) >= self.min_chars_for_language:
                    to_identify.append(i)
        if to_identify:
            predictions = self.language_id.predict_many([out[i][0] for i in to_identify])
            for i, (lang, _) in zip(to_identify, predictions):
                if not same_language(lang, items[i][1]):
                    out[i] = (out[i][0], "wrong_language")
        return out
