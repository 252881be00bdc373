"""Precision filter for languages that language ID confuses with a neighbour (FineWeb2 step 7).

A document labelled with such a language is kept only if it shows evidence of being that language: its URL
matches the language's whitelist (its ISO codes as a subdomain, path segment or `lang=` value, or patterns of
the user's), or its text holds a word of the language's wordlist: words seen at least 85% of the time in that
language of a labelled corpus (`derive_wordlists`). Languages without a wordlist pass untouched, so the
filter is applied to exactly the languages a user derived lists for (those whose measured precision is low).

On disk (`wordlists/`): `<iso639-3_Script>.txt`, one word a line (lowercase), and optionally
`<iso639-3_Script>.urls`, one extra URL pattern (a regular expression) a line.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path

from curation.core import CurationError, Filter, register_stage
from filters.words import word_tokenizer

MIN_SHARE = 0.85
MIN_COUNT = 3


def derive_wordlists(texts: Iterable[str], labels: Iterable[str], words_of: Callable[[str], Callable[[str], list[str]]],
                     min_share: float = MIN_SHARE, min_count: int = MIN_COUNT) -> dict[str, list[str]]:
    """Per language, the words (lowercase, with a letter) seen at least `min_count` times in all, at least
    `min_share` of them in that language. `words_of(language)` gives the language's word tokenizer."""
    per_word: dict[str, Counter] = defaultdict(Counter)
    for text, label in zip(texts, labels):
        for w in set(w.lower() for w in words_of(label)(text)):
            if any(c.isalpha() for c in w):
                per_word[w][label] += 1
    lists: dict[str, list[str]] = defaultdict(list)
    for w, counts in per_word.items():
        total = sum(counts.values())
        label, n = counts.most_common(1)[0]
        if total >= min_count and n / total >= min_share:
            lists[label].append(w)
    return {lang: sorted(ws) for lang, ws in sorted(lists.items())}


def write_wordlists(lists: dict[str, list[str]], folder: str | Path) -> list[Path]:
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for lang, words in lists.items():
        path = out / f"{lang}.txt"
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text("".join(w + "\n" for w in words), encoding="utf-8")
        tmp.replace(path)
        paths.append(path)
    return paths


def url_pattern(language: str, extra: Iterable[str] = ()) -> re.Pattern:
    """The language's ISO 639-3 code as a subdomain, a path segment or a `lang=`/`hl=` value, plus `extra`
    patterns (`curate langid wordlists` writes the ISO 639-1 code's patterns there)."""
    return re.compile("|".join(f"(?:{p})" for p in (*code_patterns(language.split("_")[0].lower()), *extra)),
                      re.IGNORECASE)


def code_patterns(code: str) -> list[str]:
    c = re.escape(code)
    return [rf"//{c}[.-]", rf"/{c}(?:[-_][a-z]{{2}})?/", rf"[?&](?:lang|hl|language)={c}\b"]


@register_stage("precision")
class PrecisionFilter(Filter):
    """Keep a document of a listed language only with its language's evidence (URL or a wordlist word).

    Args:
        wordlists: folder of `<iso639-3_Script>.txt` wordlists (and optional `.urls` patterns), e.g. from
            `curate langid wordlists`; languages without a file are not filtered
        languages: only these languages (default: every language with a wordlist)
    """

    name = "🎯 Precision (wordlists, URLs)"

    def __init__(self, wordlists: str, languages: list[str] | None = None):
        super().__init__()
        folder = Path(wordlists)
        if not folder.is_dir():
            raise CurationError(f"{wordlists}: wordlist folder not found (make one with `curate langid wordlists`)")
        self.words: dict[str, frozenset[str]] = {}
        self.urls: dict[str, re.Pattern] = {}
        for path in sorted(folder.glob("*_*.txt")):
            lang = path.stem
            if languages and lang not in languages:
                continue
            self.words[lang] = frozenset(w.strip().lower() for w in path.read_text(encoding="utf-8").splitlines()
                                         if w.strip())
            extra_file = path.with_suffix(".urls")
            extra = extra_file.read_text(encoding="utf-8").split() if extra_file.exists() else []
            try:
                self.urls[lang] = url_pattern(lang, extra)
            except re.error as e:
                raise CurationError(f"{extra_file}: not a regular expression ({e})") from None
        missing = sorted(set(languages or ()) - set(self.words))
        if missing:
            raise CurationError(f"{wordlists}: no wordlist for {', '.join(missing)}")

    def filter(self, doc):
        lang = doc.metadata.get("language")
        words = self.words.get(lang)
        if words is None:
            return True
        url = doc.metadata.get("url") or ""
        if url and self.urls[lang].search(url):
            return True
        if not words.isdisjoint(w.lower() for w in word_tokenizer(lang)(doc.text)):
            return True
        return "precision_no_evidence"
