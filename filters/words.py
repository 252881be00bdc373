"""Word tokenizers per language: datatrove's assignment table (spaCy blank models, jieba, pythainlp, IndicNLP,
Kiwi, ...), called the fast way.

datatrove's spaCy path runs a sentencizer and a memory zone on every call; the words it returns are
exactly the spaCy tokenizer's tokens, stripped, without the empty ones. Calling the tokenizer alone gives
the same words about 30x faster (0.7 ms instead of 25 ms for a 2,000-word page), and every quality
filter of a document shares one tokenization.

Languages whose assigned tokenizer needs a model download (Stanza) or a package that is not installed
fall back to spaCy's multi-language `xx` tokenizer, so nothing is downloaded at run time.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Callable
from contextlib import contextmanager
from functools import lru_cache

from datatrove.utils.word_tokenizers import SpaCyTokenizer, load_tokenizer_assignments

FALLBACK = "xx"
# tokenizers that would download models at run time
_NEEDS_DOWNLOAD = ("StanzaTokenizer", "TibetanTokenizer")


def _strip(tokens) -> list[str]:
    return [s for s in (t.strip() for t in tokens) if s]


class _SpacyWords:
    """Calls a blank spaCy pipeline's tokenizer alone. spaCy caches the tokenization of every string it has
    seen, which makes repeated words ~15x cheaper, but its vocabulary then grows with the corpus; a fresh
    pipeline every `reset_docs` documents keeps memory bounded (a memory zone per document would disable
    the cache and cost as much as datatrove's path)."""

    def __init__(self, tok: SpaCyTokenizer, reset_docs: int = 20_000):
        self.tok = tok
        self.reset_docs = reset_docs
        self._calls = 0
        self._load()

    def _load(self):
        from filters.affixes import speed_up

        self.tok._tokenizer = None
        with without_torch():
            self.nlp = self.tok.tokenizer
        self.tokenizer = self.nlp.tokenizer
        speed_up(self.tokenizer)  # the same tokens, without the slow path on long tokens

    def __call__(self, text: str) -> list[str]:
        self._calls += 1
        if self._calls % self.reset_docs == 0:
            self._load()
        if len(text) >= self.nlp.max_length:  # the setter is slow (~1 ms): only touch it when needed
            self.nlp.max_length = len(text) + 10
        return _strip(t.text for t in self.tokenizer(text))


@contextmanager
def without_torch():
    """Import spaCy without torch: thinc (spaCy's ML library) imports torch when it is installed (2-4 s, and
    hundreds of MB), which no tokenizer uses. While spaCy loads, `import torch` fails as if it were not
    installed; afterwards it imports normally. Nothing changes if torch is already loaded."""
    if "torch" in sys.modules or "thinc.compat" in sys.modules:
        yield
        return
    sys.modules["torch"] = None  # an ImportError for thinc.compat's `import torch`
    try:
        import thinc.compat  # noqa: F401
        yield
    finally:
        if sys.modules.get("torch", 0) is None:
            del sys.modules["torch"]


@lru_cache(maxsize=None)
def word_tokenizer(language: str) -> Callable[[str], list[str]]:
    """A function text -> words for an `iso639-3_Script` code (or a bare ISO code); never downloads."""
    with without_torch():
        import spacy  # noqa: F401
    factories = load_tokenizer_assignments()
    factory = factories.get(language) or factories.get(language.split("_")[0])
    try:
        tok = factory() if factory is not None else None
    except ImportError:  # its package is not installed
        tok = None
    if tok is None or type(tok).__name__ in _NEEDS_DOWNLOAD:
        tok = SpaCyTokenizer(FALLBACK)
    if isinstance(tok, SpaCyTokenizer) and tok.language != "ja":
        if tok.language == "zh":  # jieba loads its dictionary on first use
            _quiet_libraries()
            tok.tokenizer("预热")
        try:
            return _SpacyWords(tok)
        except Exception:
            tok = SpaCyTokenizer(FALLBACK)
            return _SpacyWords(tok)
    _quiet_libraries()
    try:
        tok.word_tokenize("test")
    except Exception:  # its package is missing: fall back rather than fail the run
        return _SpacyWords(SpaCyTokenizer(FALLBACK))
    return tok.word_tokenize


def _quiet_libraries() -> None:
    """Tokenizer libraries announce model loads on the console (and reset their own log levels on import);
    our logs say enough, so their loggers are switched off before they load."""
    for name in ("khmer-nltk", "jieba", "pythainlp"):
        logging.getLogger(name).disabled = True


def _required_chars(pattern: re.Pattern) -> frozenset[str] | None:
    """A set of characters of which every match of `pattern` needs at least one in the searched string (for
    each alternative, its smallest set of characters that some mandatory part must consume or a lookaround
    must see), or None when no such set can be told (an alternative that needs nothing, case folding)."""
    from re import _constants as C
    from re import _parser as P

    if pattern.flags & re.IGNORECASE:
        return None

    def charset(av) -> set[int] | None:
        out: set[int] = set()
        for kind, arg in av:
            if kind == C.LITERAL:
                out.add(arg)
            elif kind == C.RANGE:
                out.update(range(arg[0], arg[1] + 1))
            else:  # NEGATE, CATEGORY: not used as a requirement
                return None
        return out

    def required(items) -> set[int] | None:
        candidates = []
        for op, av in items:
            need = None
            if op == C.LITERAL:
                need = {av}
            elif op == C.IN:
                need = charset(av)
            elif op == C.ASSERT:  # a lookaround sees characters of the same string
                need = required(av[1])
            elif op == C.SUBPATTERN:
                need = required(av[3])
            elif op in (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT) and av[0] >= 1:
                need = required(av[2])
            elif op == C.BRANCH:
                alts = [required(alt) for alt in av[1]]
                need = None if any(x is None for x in alts) else set().union(*alts)
            if need:
                candidates.append(need)
        return min(candidates, key=lambda c: (len(c), any(chr(x).isalpha() for x in c))) if candidates else None

    found = required(P.parse(pattern.pattern, pattern.flags))
    return None if found is None else frozenset(map(chr, found))


_IRREGULAR_SPACE = re.compile(r"[^\S ]|  |^ | $")  # any whitespace but single inner spaces


class _ChunkCachedSpacy:
    """Words of text whose only whitespace is single spaces (normalised text, as dedup shingles it).

    spaCy splits on spaces first and tokenizes each space-separated chunk on its own, so caching the
    tokens of each chunk gives exactly its words at the cost of a dictionary look-up per chunk."""

    def __init__(self, tok: "SpaCyTokenizer | _SpacyWords", max_entries: int = 1_000_000):
        self.words = tok if isinstance(tok, _SpacyWords) else _SpacyWords(tok)  # a loaded one is reused
        self.cache: dict[str, list[str]] = {}
        self.max_entries = max_entries
        t = self.words.tokenizer
        self.specials = set(t.rules or {})
        self.prefix, self.suffix, self.infix = t.prefix_search, t.suffix_search, t.infix_finditer
        self.triggers = self._triggers()

    def _triggers(self) -> frozenset[str] | None:
        """Characters without which no prefix, suffix or infix rule can match: a chunk holding none of them
        (and not a special case) is one token, so spaCy's regexes need not run on it."""
        found: set[str] = set()
        for rule in (self.prefix, self.suffix, self.infix):
            if rule is None:
                continue
            chars = _required_chars(getattr(rule, "pattern", None) or rule.__self__)
            if chars is None:
                return None
            found |= chars
        return frozenset(found - {" "})  # chunks never hold a space

    def _single(self, chunk: str) -> bool:
        """spaCy's own fast path: no special case, prefix, suffix or infix applies, so the chunk is one token."""
        return (chunk not in self.specials and not (self.prefix and self.prefix(chunk))
                and not (self.suffix and self.suffix(chunk)) and not (self.infix and next(self.infix(chunk), None)))

    def _tokens(self, chunk: str) -> list[str]:
        toks = self.cache.get(chunk)
        if toks is None:
            if len(self.cache) >= self.max_entries:
                self.cache.clear()
            toks = self.cache[chunk] = [chunk] if self._single(chunk) else self.words(chunk)
        return toks

    def _multi(self, text: str, chunks: list[str]) -> dict[str, list[str]]:
        """The chunks of `text` that are more than one token (or another one), with their tokens."""
        if self.triggers is None:  # rules we cannot read: every chunk is checked
            suspects = set(chunks)
        else:  # only chunks with a trigger character or a special case can be more than one token
            suspects = self.specials.intersection(chunks)
            present = self.triggers.intersection(text)
            if len(present) == 1:
                (ch,) = present
                suspects.update(c for c in chunks if ch in c)
            elif present:
                suspects.update(c for c in chunks if not present.isdisjoint(c))
        return {c: t for c in suspects if len(t := self._tokens(c)) != 1 or t[0] != c}

    def __call__(self, text: str) -> list[str]:
        chunks = text.split()
        multi = self._multi(text, chunks)
        if not multi:
            return chunks
        out: list[str] = []
        for c in chunks:
            t = multi.get(c)
            if t is None:
                out.append(c)
            else:
                out += t
        return out

    def joined(self, text: str) -> str:
        """`" ".join(self(text))`: for normalised text (single spaces, except where a lone combining mark was
        removed), the text itself when no chunk splits and the spaces are single, as for most pages."""
        chunks = text.split()
        multi = self._multi(text, chunks)
        if not multi and not _IRREGULAR_SPACE.search(text):
            return text
        return " ".join(" ".join(multi[c]) if c in multi else c for c in chunks)


@lru_cache(maxsize=None)
def normalized_word_splitter(language: str) -> Callable[[str], list[str]]:
    """Like `word_tokenizer(language)`, for text already normalised to single spaces; much faster for spaCy."""
    words = word_tokenizer(language)
    from spacy.tokenizer import Tokenizer

    if isinstance(words, _SpacyWords) and type(words.tokenizer) is Tokenizer:  # not jieba's or other custom ones
        return _ChunkCachedSpacy(words)
    return words
