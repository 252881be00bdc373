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

from filters.spacy_rules import RuleTokenizer

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

    def __init__(self, tok, reset_docs: int = 20_000, fallback: bool = False):
        self.tok = tok  # a datatrove SpaCyTokenizer
        self.fallback = fallback  # the language's own tokenizer could not be loaded here: spaCy's `xx` instead
        self.reset_docs = reset_docs
        self._calls = 0
        self._load()

    def _load(self):
        from filters.affixes import speed_up

        self.tok._tokenizer = None
        with without_torch():
            self.nlp = self.tok.tokenizer
        self.tokenizer = self.nlp.tokenizer
        from spacy.tokenizer import Tokenizer

        if type(self.tokenizer) is Tokenizer:  # not jieba's or other custom ones, whose rules differ
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
    from datatrove.utils.word_tokenizers import SpaCyTokenizer, load_tokenizer_assignments

    factories = load_tokenizer_assignments()
    factory = factories.get(language) or factories.get(language.split("_")[0])
    missing = False  # a package this environment lacks decided the tokenizer
    try:
        tok = factory() if factory is not None else None
    except ImportError:  # its package is not installed
        tok, missing = None, True
    if tok is None or type(tok).__name__ in _NEEDS_DOWNLOAD:
        tok = SpaCyTokenizer(FALLBACK)
    if isinstance(tok, SpaCyTokenizer) and tok.language != "ja":
        if tok.language == "zh":  # jieba loads its dictionary on first use
            _quiet_libraries()
            tok.tokenizer("预热")
        try:
            return _SpacyWords(tok, fallback=missing)
        except Exception:
            return _SpacyWords(SpaCyTokenizer(FALLBACK), fallback=True)
    _quiet_libraries()
    try:
        tok.word_tokenize("test")
    except Exception:  # its package is missing: fall back rather than fail the run
        return _SpacyWords(SpaCyTokenizer(FALLBACK), fallback=True)
    return tok.word_tokenize


def _quiet_libraries() -> None:
    """Tokenizer libraries announce model loads on the console (and reset their own log levels on import);
    our logs say enough, so their loggers are switched off before they load."""
    for name in ("khmer-nltk", "jieba", "pythainlp"):
        logging.getLogger(name).disabled = True


_IRREGULAR_SPACE = re.compile(r"[^\S ]|  |^ | $")  # any whitespace but single inner spaces


def _char_class(chars) -> re.Pattern | None:
    """A regex matching any one of `chars` (as ranges: a class of thousands of characters compiles fast)."""
    codes = sorted(map(ord, chars))
    if not codes:
        return None
    parts, i = [], 0
    while i < len(codes):
        j = i
        while j + 1 < len(codes) and codes[j + 1] == codes[j] + 1:
            j += 1
        lo, hi = re.escape(chr(codes[i])), re.escape(chr(codes[j]))
        parts.append(lo if i == j else f"{lo}-{hi}")
        i = j + 1
    return re.compile(f"[{''.join(parts)}]")


class _ChunkCached:
    """Words of text split on whitespace, chunk by chunk (normalised text, as dedup shingles it).

    spaCy splits on spaces first and tokenizes each space-separated chunk on its own, so caching the tokens
    of each chunk gives exactly its words at the cost of a dictionary look-up per chunk; chunks without a
    character any prefix, suffix or infix rule needs (and that are no special case) are one token and are
    never looked at. The tokens come from `filters.spacy_rules.RuleTokenizer` (spaCy's rules in pure Python:
    no spaCy import) or, for rules that could not be snapshot, from spaCy itself. A document in which
    spaCy's special-case matcher could fire (rare: a token such as "e.g" next to ".") is tokenized whole."""

    def __init__(self, backend: "RuleTokenizer | _SpacyWords", max_entries: int = 1_000_000):
        self.rules = backend if isinstance(backend, RuleTokenizer) else None
        self.cache: dict[str, list[str] | tuple[str, ...]] = {}
        self.max_entries = max_entries
        if self.rules is not None:
            self.words = None
            self.specials = frozenset(self.rules.specials) | frozenset(self.rules.index)
            triggers = self.rules.triggers
        else:
            self.words = backend
            t = backend.tokenizer
            self.specials = frozenset(t.rules or {})
            self.prefix, self.suffix, self.infix = t.prefix_search, t.suffix_search, t.infix_finditer
            triggers = self._triggers()
        # searches for the trigger characters: those of the Basic Multilingual Plane, and the others apart (a
        # class with characters beyond U+FFFF makes `re` test every range in turn: 20x slower)
        self.all_suspect = triggers is None
        self.trigger = _char_class(c for c in triggers or () if c <= "\uffff")
        self.trigger_astral = _char_class(c for c in triggers or () if c > "\uffff")

    def _triggers(self) -> frozenset[str] | None:
        """Characters without which no prefix, suffix or infix rule can match: a chunk holding none of them
        (and not a special case) is one token, so spaCy's regexes need not run on it."""
        from filters.spacy_rules import _required_chars, trigger_chars

        return trigger_chars(_required_chars(getattr(rule, "pattern", None) or rule.__self__)
                             for rule in (self.prefix, self.suffix, self.infix) if rule is not None)

    def _single(self, chunk: str) -> bool:
        """spaCy's own fast path: no special case, prefix, suffix or infix applies, so the chunk is one token."""
        return (chunk not in self.specials and not (self.prefix and self.prefix(chunk))
                and not (self.suffix and self.suffix(chunk)) and not (self.infix and next(self.infix(chunk), None)))

    def _tokens(self, chunk: str):
        if self.rules is not None:
            return self.rules.chunk_tokens(chunk)
        toks = self.cache.get(chunk)
        if toks is None:
            if len(self.cache) >= self.max_entries:
                self.cache.clear()
            toks = self.cache[chunk] = [chunk] if self._single(chunk) else self.words(chunk)
        return toks

    def _suspects(self, text: str, chunks: list[str]) -> set[str]:
        """The chunks that can be more than one token: special cases, and chunks with a trigger character."""
        suspects = set(self.specials.intersection(chunks))
        if self.all_suspect:
            suspects.update(chunks)
        else:
            spaced = text if not _OTHER_SPACE.search(text) else " ".join(chunks)
            astral = self.trigger_astral is not None and not spaced.isascii() and max(spaced) > "\uffff"
            for rx in (self.trigger, self.trigger_astral if astral else None):
                if rx is None:
                    continue
                find, rfind, search = spaced.find, spaced.rfind, rx.search
                m = search(spaced)
                while m is not None:  # the chunk around each trigger character
                    pos = m.start()
                    end = find(" ", pos)
                    if end < 0:
                        end = len(spaced)
                    suspects.add(spaced[rfind(" ", 0, pos) + 1:end])
                    m = search(spaced, end)
            suspects.discard("")
        return suspects

    def _multi(self, text: str, chunks: list[str]) -> dict | None:
        """The chunks of `text` that are more than one token (or another one), with their tokens; None when
        the special-case matcher may apply (then the whole text is tokenized)."""
        suspects = self._suspects(text, chunks)
        multi = {c: t for c in suspects if len(t := self._tokens(c)) != 1 or t[0] != c}
        if self.rules is not None and self.rules.index:
            index = self.rules.index
            if not index.isdisjoint(suspects) or any(not index.isdisjoint(t) for t in multi.values()):
                return None
        return multi

    def fast_spec(self) -> "_FastSpec | None":
        """What a batch normaliser needs to split words itself (dedup.fast_normalize): None when every chunk
        must be looked at (rules whose trigger characters cannot be told)."""
        return None if self.all_suspect else _FastSpec(self)

    def __call__(self, text: str) -> list[str]:
        chunks = text.split()
        multi = self._multi(text, chunks)
        if multi is None:
            return self.rules.words(text)
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
        if multi is None:
            return " ".join(self.rules.words(text))
        if not multi and not _IRREGULAR_SPACE.search(text):
            return text
        return " ".join(" ".join(multi[c]) if c in multi else c for c in chunks)


class _FastSpec:
    """A splitter's rules for dedup.fast_normalize: its trigger characters, the words that may be special
    cases (or start the special-case matcher), a word's tokens, whether tokens call for tokenizing the whole
    text, and the exact path for a normalised text (`joined`)."""

    def __init__(self, split: _ChunkCached):
        self.triggers = frozenset(split.rules.triggers if split.rules is not None else split._triggers())
        self.watch = split.specials
        self.tokens = split._tokens
        index = split.rules.index if split.rules is not None else frozenset()
        self.needs_whole = lambda toks: not index.isdisjoint(toks)
        self.joined = split.joined


_OTHER_SPACE = re.compile(r"[^\S ]")


@lru_cache(maxsize=None)
def normalized_word_splitter(language: str) -> Callable[[str], list[str]]:
    """Like `word_tokenizer(language)`, for text already normalised to single spaces; much faster for spaCy.

    Languages whose word tokenizer is spaCy's rule tokenizer use a snapshot of its rules
    (filters.spacy_rules), made and checked against spaCy on first use and cached: later processes do not
    import spaCy at all."""
    from filters import spacy_rules

    rules = spacy_rules.load(language)
    if rules is not None:
        return _ChunkCached(rules)
    words = word_tokenizer(language)
    from spacy.tokenizer import Tokenizer

    rule_based = isinstance(words, _SpacyWords) and type(words.tokenizer) is Tokenizer  # not jieba's or the like
    if not (rule_based and words.fallback) and not spacy_rules.known_unsupported(language):
        rules = spacy_rules.save(language, words.tok.language if rule_based else None, rule_based and words.tokenizer)
        if rules is not None:
            return _ChunkCached(rules)
    return _ChunkCached(words) if rule_based else words
