"""Precision filter for languages that language ID confuses with a neighbour (FineWeb2 step 7).

A document labelled with such a language is kept only if it shows evidence of being that language: its URL
matches the language's whitelist (its ISO codes as a subdomain, path segment or `lang=` value, or patterns of
the user's), or its text holds a word of the language's wordlist: words seen at least 85% of the time in that
language of a labelled corpus (`derive_wordlists`). Languages without a wordlist pass untouched.
By default the languages are FineWeb2's (contamination score above 0.1, its wordlists and URL whitelist,
shipped in `filters/fineweb2_precision/`); `curate langid wordlists` makes lists for the others.

On disk (`wordlists/`): `<iso639-3_Script>.txt`, one word a line (lowercase), and optionally
`<iso639-3_Script>.urls`, one extra URL pattern (a regular expression) a line.
"""

from __future__ import annotations

import json
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


class FineWeb2Precision:
    """FineWeb2's precision data as shipped in `filters/fineweb2_precision/`: which languages it applies to
    (contamination score above 0.1, with a wordlist present), their wordlists and URL whitelist terms.

    FineWeb2's rule (misc/precision_filtering/run_precision_filtering.py): keep a document when its URL's
    host ends with the language's top-level domain, holds the language code (upper case anywhere, or lower
    case between non-alphanumerics), or, with punctuation removed, one of the whitelist terms; or when its
    text, punctuation removed, holds a word of the wordlist (case as written). Two slips of that script are
    not copied: it never stripped the URL scheme (removesuffix for removeprefix) and compared
    ".tld/" with a host that has no "/"; here the scheme is stripped and the host's ending compared."""

    def __init__(self, folder: str | Path | None = None):
        from filters.fineweb2 import CONTAMINATION_MIN, PRECISION_DIR

        self.folder = Path(folder) if folder else PRECISION_DIR
        scores = json.loads((self.folder / "cont_scores.json").read_text(encoding="utf-8"))
        self.whitelist = json.loads((self.folder / "url_whitelist.json").read_text(encoding="utf-8"))
        self.languages = sorted(lang for lang, sc in scores.items()
                                if sc > CONTAMINATION_MIN and (self.folder / "wordlists" / f"{lang}.txt").exists())

    def words(self, language: str) -> frozenset[str]:
        path = self.folder / "wordlists" / f"{language}.txt"
        return frozenset(w.strip() for w in path.read_text(encoding="utf-8").splitlines() if w.strip())

    def url_rule(self, language: str) -> Callable[[str], bool]:
        code = language.split("_")[0]
        terms = self.whitelist.get(code, [])
        tld = next((t for t in terms if t.startswith(".")), None)
        words = [t.lower() for t in terms if not t.startswith(".")]
        code_rx = re.compile(rf"(?<![a-zA-Z0-9]){re.escape(code)}(?![a-zA-Z0-9])")

        def match(url: str) -> bool:
            url = re.sub(r"^https?://", "", url)
            host = url.split("/", 1)[0].split(":", 1)[0].lower()
            if tld and host.endswith(tld):
                return True
            if code.upper() in url or code_rx.search(url):
                return True
            if not words:  # FineWeb2 keeps every document of a language without whitelist terms
                return True
            flat = _URL_NORMALIZER.sub("", url).lower()
            return any(w in flat for w in words)

        return match


_URL_NORMALIZER = re.compile(r"[^a-zA-Z0-9/.]+")


def fineweb2_words(text: str, language: str) -> list[str]:
    """The words FineWeb2's wordlist check sees: punctuation removed, spaces normalised, case kept."""
    from datatrove.utils.text import TextNormConfig, simplify_text

    norm = TextNormConfig(lowercase=False, norm_numbers=False, norm_weekdays=False, norm_monthnames=False,
                          remove_punctuation=True, norm_unicode_diacritics=False, norm_whitespace=True)
    return word_tokenizer(language)(simplify_text(text, norm))


@register_stage("precision")
class PrecisionFilter(Filter):
    """Keep a document of a listed language only with its language's evidence (URL or a wordlist word).

    By default FineWeb2's data decides: the languages FineWeb2 precision-filtered (contamination score above
    0.1) whose wordlist is shipped, with its wordlists and URL whitelist (see `FineWeb2Precision`). Lists of
    your own (`curate langid wordlists`) add languages and replace FineWeb2's for theirs.

    Args:
        wordlists: folder of your own `<iso639-3_Script>.txt` wordlists (and optional `.urls` patterns), e.g.
            from `curate langid wordlists`, for languages FineWeb2 has no list for or your own label sets
        languages: only these languages (default: every language with a wordlist)
        fineweb2: apply FineWeb2's wordlists and URL whitelist (default true)
    """

    name = "🎯 Precision (wordlists, URLs)"

    def __init__(self, wordlists: str | None = None, languages: list[str] | None = None, fineweb2: bool = True):
        super().__init__()
        self.words: dict[str, frozenset[str]] = {}
        self.urls: dict[str, Callable[[str], bool]] = {}
        self.fineweb2_languages: set[str] = set()
        if fineweb2:
            data = FineWeb2Precision()
            for lang in data.languages:
                if not languages or lang in languages:
                    self.words[lang] = data.words(lang)
                    self.urls[lang] = data.url_rule(lang)
                    self.fineweb2_languages.add(lang)
        if wordlists:
            folder = Path(wordlists)
            if not folder.is_dir():
                raise CurationError(f"{wordlists}: wordlist folder not found (make one with `curate langid wordlists`)")
            for path in sorted(folder.glob("*_*.txt")):
                lang = path.stem
                if languages and lang not in languages:
                    continue
                self.words[lang] = frozenset(w.strip().lower() for w in path.read_text(encoding="utf-8").splitlines()
                                             if w.strip())
                extra_file = path.with_suffix(".urls")
                extra = extra_file.read_text(encoding="utf-8").split() if extra_file.exists() else []
                try:
                    self.urls[lang] = url_pattern(lang, extra).search
                except re.error as e:
                    raise CurationError(f"{extra_file}: not a regular expression ({e})") from None
                self.fineweb2_languages.discard(lang)
        elif not fineweb2:
            raise CurationError("precision: fineweb2 is off and no wordlists folder given: nothing to filter with")
        missing = sorted(set(languages or ()) - set(self.words))
        if missing:
            raise CurationError(f"{wordlists or 'FineWeb2 precision data'}: no wordlist for {', '.join(missing)}")

    def filter(self, doc):
        lang = doc.metadata.get("language")
        words = self.words.get(lang)
        if words is None:
            return True
        url = doc.metadata.get("url") or ""
        if url and self.urls[lang](url):
            return True
        if lang in self.fineweb2_languages:
            if not words.isdisjoint(fineweb2_words(doc.text, lang)):
                return True
        elif not words.isdisjoint(w.lower() for w in word_tokenizer(lang)(doc.text)):
            return True
        return "precision_no_evidence"
