"""spaCy's rule-based tokenizer in pure Python, from a snapshot of a language's rules: the same tokens as
`spacy.blank(lang).tokenizer`, without importing spaCy (about 1 s of start-up for `curate dedup`).

A snapshot holds what spaCy's `Tokenizer` decides with: the prefix, suffix and infix regexes, `token_match`
and `url_match`, the special cases (each a list of token texts), whether `faster_heuristics` is on, and the
special cases its PhraseMatcher looks for after affix splitting (with their tokens without special cases,
computed by spaCy itself). `RuleTokenizer` follows spaCy's Cython code (`Tokenizer._tokenize_affixes`,
`_split_affixes`, `_attach_tokens`, `_apply_special_cases`) step by step; its cache only stores what it
would compute again, so it changes no token.

Snapshots are made from the real tokenizer the first time a language is used (`save`), checked against it
on probe text (every special case, with and without affixes around it; adversarial tokens), and written to
a cache folder keyed by spaCy's version (`cache_dir`): `CURATION_CACHE_DIR`, else `__pycache__/spacy_rules`
beside this file when writable (as Numba caches its kernels), else `~/.cache/curation/spacy_rules`. A
language whose tokenizer is not spaCy's rule tokenizer (jieba, pyvi, ...), whose rules are not plain
regexes, or whose probe check fails gets no snapshot: its callers keep using spaCy.
"""

from __future__ import annotations

import json
import os
import re
from functools import lru_cache
from pathlib import Path

FORMAT = 1
_FIELDS = ("prefix", "suffix", "infix", "token_match", "url_match")


# --------------------------------------------------------------------------------------------- the tokenizer


class RuleTokenizer:
    """spaCy's tokenizer from a snapshot (`snapshot()`): `words(text)` gives datatrove's words (tokens
    stripped, empty ones dropped), `chunk_tokens(chunk)` the tokens of one whitespace-free chunk before the
    special-case matcher."""

    def __init__(self, snap: dict):
        self.snap = snap
        self.specials: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in snap["specials"].items()}
        self.faster_heuristics = snap["faster_heuristics"]
        self.triggers = frozenset(snap["triggers"]) if snap["triggers"] is not None else None
        # the matcher: patterns (token tuples) of special cases, by their first token
        self.patterns: dict[str, list[tuple[str, ...]]] = {}
        self.index: set[str] = set()  # one token of each pattern: no match without it in the document
        for key, toks in snap["matcher"]:
            toks = tuple(toks)
            if toks:
                self.patterns.setdefault(toks[0], []).append(toks)
                self.index.add(snap["matcher_index"][key])
        self._compiled: dict[str, object] = {}
        # per regex: False (none), None (may match anything) or the characters every match needs
        self._needs = {name: False if snap[name] is None else frozenset(snap[name][3]) if snap[name][3] else None
                       for name in _FIELDS}
        self.chunk_cache: dict[str, tuple[str, ...]] = {}

    # regexes, compiled when first needed (the four cost about 75 ms to compile)
    def _rx(self, name: str):
        fn = self._compiled.get(name)
        if fn is None:
            source, flags, method, _ = self.snap[name]
            pattern = re.compile(source, flags)
            if name == "suffix" and method == "search":
                from filters.affixes import SuffixSearch

                fn = SuffixSearch(pattern)  # the same matches, in time independent of the length
            elif name == "prefix" and method == "search":
                from filters.affixes import prefix_match

                fn = prefix_match(pattern)
            else:
                fn = getattr(pattern, method)
            self._compiled[name] = fn
        return fn

    def _may_match(self, name: str, string: str) -> bool:
        """False when `string` holds none of the characters every match of that regex needs (or there is no
        such regex): the regex need not run."""
        need = self._needs[name]
        return need is not False and (need is None or not need.isdisjoint(string))

    def find_prefix(self, string: str) -> int:
        if not self._may_match("prefix", string):
            return 0
        m = self._rx("prefix")(string)
        return m.end() - m.start() if m is not None else 0

    def find_suffix(self, string: str) -> int:
        if not self._may_match("suffix", string):
            return 0
        m = self._rx("suffix")(string)
        return m.end() - m.start() if m is not None else 0

    def find_infix(self, string: str) -> list:
        if not self._may_match("infix", string):
            return []
        return list(self._rx("infix")(string))

    def token_match(self, string: str) -> bool:
        return self._may_match("token_match", string) and self._rx("token_match")(string) is not None

    def url_match(self, string: str) -> bool:
        return self._may_match("url_match", string) and self._rx("url_match")(string) is not None

    def _split_affixes(self, string: str, prefixes: list, suffixes: list, specials: bool) -> str:
        last_size = -1
        while string and len(string) != last_size:
            if self.token_match(string):
                break
            if specials and string in self.specials:
                break
            last_size = len(string)
            pre_len = self.find_prefix(string)
            if pre_len:
                prefix, minus_pre = string[:pre_len], string[pre_len:]
                if minus_pre and specials and minus_pre in self.specials:
                    prefixes.append(prefix)
                    return minus_pre
            suf_len = self.find_suffix(string[pre_len:])
            if suf_len:
                suffix, minus_suf = string[-suf_len:], string[:-suf_len]
                if minus_suf and specials and minus_suf in self.specials:
                    suffixes.append(suffix)
                    return minus_suf
            if pre_len and suf_len and pre_len + suf_len <= len(string):
                string = string[pre_len:-suf_len]
                prefixes.append(prefix)
                suffixes.append(suffix)
            elif pre_len:
                string = minus_pre
                prefixes.append(prefix)
            elif suf_len:
                string = minus_suf
                suffixes.append(suffix)
        return string

    def _attach(self, string: str, prefixes: list, suffixes: list, specials: bool) -> list[str]:
        out = list(prefixes)
        if string:
            if specials and string in self.specials:
                out += self.specials[string]
            elif self.token_match(string) or self.url_match(string):
                out.append(string)
            else:
                matches = self.find_infix(string)
                if not matches:
                    out.append(string)
                else:
                    start = 0
                    for m in matches:
                        i0, i1 = m.start(), m.end()
                        if i0 == 0:
                            continue
                        if i0 != start:
                            out.append(string[start:i0])
                        if i0 != i1:
                            out.append(string[i0:i1])
                        start = i1
                    if string[start:]:
                        out.append(string[start:])
        out += reversed(suffixes)
        return out

    def span_tokens(self, span: str, specials: bool = True) -> tuple[str, ...]:
        """The tokens of one span between whitespace boundaries (a chunk, or a run of whitespace), before
        the special-case matcher: spaCy's `_try_specials_and_cache` + `_tokenize`."""
        if specials and span in self.specials:
            return self.specials[span]
        prefixes: list[str] = []
        suffixes: list[str] = []
        rest = self._split_affixes(span, prefixes, suffixes, specials)
        return tuple(self._attach(rest, prefixes, suffixes, specials))

    def chunk_tokens(self, chunk: str) -> tuple[str, ...]:
        toks = self.chunk_cache.get(chunk)
        if toks is None:
            if len(self.chunk_cache) >= 1_000_000:
                self.chunk_cache.clear()
            toks = self.chunk_cache[chunk] = self.span_tokens(chunk)
        return toks

    def doc_tokens(self, text: str, specials: bool = True) -> list[list]:
        """[token, followed by a space] as spaCy's `_tokenize_affixes` splits `text` (whitespace runs become
        tokens, less the single space a token absorbs)."""
        out: list[list] = []
        for m in _RUNS.finditer(text):
            run = m.group()
            if not run[0].isspace():
                out += [[t, False] for t in self.span_tokens(run, specials)]
                continue
            if run[0] == " " and out:
                out[-1][1] = True
                run = run[1:]
            if run:
                out += [[t, False] for t in self.span_tokens(run, specials)]
        return out

    def apply_matcher(self, toks: list[list]) -> list[list]:
        """spaCy's `_apply_special_cases`: special cases found as token sequences (PhraseMatcher), longest
        first, then leftmost, no two sharing a first or last token; a match whose text is a special case
        is replaced by its tokens."""
        found = []
        texts = [t for t, _ in toks]
        for i, t in enumerate(texts):
            for pat in self.patterns.get(t, ()):
                if tuple(texts[i:i + len(pat)]) == pat:
                    found.append((i, i + len(pat)))
        if not found:
            return toks
        found.sort(key=lambda s: (s[1] - s[0], -s[0]))
        seen: set[int] = set()
        kept = []
        for start, end in reversed(found):
            if start not in seen and end - 1 not in seen:
                kept.append((start, end))
            seen.update(range(start, end))
        kept.sort()
        out: list[list] = []
        i = 0
        for start, end in kept:
            out += toks[i:start]
            text = "".join(t + (" " if sp else "") for t, sp in toks[start:end - 1]) + toks[end - 1][0]
            special = self.specials.get(text)
            if special is None:
                out += toks[start:end]
            else:
                out += [[t, False] for t in special]
                out[-1][1] = toks[end - 1][1]
            i = end
        out += toks[i:]
        return out

    def tokens(self, text: str) -> list[str]:
        """spaCy's token texts of `text` (whitespace tokens included), as `[t.text for t in tokenizer(text)]`."""
        return [t for t, _ in self.apply_matcher(self.doc_tokens(text))]

    def words(self, text: str) -> list[str]:
        """datatrove's words: the tokens stripped, empty ones dropped."""
        return [s for s in (t.strip() for t in self.tokens(text)) if s]

    def may_match_specials(self, tokens) -> bool:
        """Whether the special-case matcher can change anything among these tokens."""
        return not self.index.isdisjoint(tokens)


_RUNS = re.compile(r"\s+|\S+")



# --------------------------------------------------------------------------------------------- snapshots


def _uncased(code: int) -> bool:
    """A character case-insensitive matching treats as only itself: no letter, no case variants."""
    c = chr(code)
    return c.lower() == c == c.upper() and not c.isalpha()


def trigger_chars(needs) -> frozenset[str] | None:
    """Characters without which no prefix, suffix or infix rule can match (the union of each rule's required
    characters, `_required_chars`, less the space that separates chunks), or None when one rule's cannot be told:
    a chunk holding none of them (and no special case) is one token."""
    found: set[str] = set()
    for need in needs:
        if need is None:
            return None
        found |= set(need)
    return frozenset(found - {" "})


def _required_chars(pattern: re.Pattern) -> frozenset[str] | None:
    """A set of characters of which every match of `pattern` needs at least one in the searched string (for
    each alternative, its smallest set of characters that some mandatory part must consume or a lookaround
    must see), or None when no such set can be told (an alternative that needs nothing). Where the pattern
    ignores case, only sets of caseless characters (punctuation, digits, symbols) count."""
    from re import _constants as C
    from re import _parser as P

    def charset(av, icase: bool) -> set[int] | None:
        out: set[int] = set()
        for kind, arg in av:
            if kind == C.LITERAL:
                out.add(arg)
            elif kind == C.RANGE:
                out.update(range(arg[0], arg[1] + 1))
            else:  # NEGATE, CATEGORY: not used as a requirement
                return None
        return out if not icase or all(map(_uncased, out)) else None

    def required(items, icase: bool) -> set[int] | None:
        candidates = []
        for op, av in items:
            need = None
            if op == C.LITERAL:
                need = {av} if not icase or _uncased(av) else None
            elif op == C.IN:
                need = charset(av, icase)
            elif op == C.ASSERT:  # a lookaround sees characters of the same string
                need = required(av[1], icase)
            elif op == C.SUBPATTERN:  # (group, flags added, flags removed, pattern)
                inner = (icase or bool(av[1] & re.IGNORECASE)) and not av[2] & re.IGNORECASE
                need = required(av[3], inner)
            elif op in (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT) and av[0] >= 1:
                need = required(av[2], icase)
            elif op == C.BRANCH:
                alts = [required(alt, icase) for alt in av[1]]
                need = None if any(x is None for x in alts) else set().union(*alts)
            if need:
                candidates.append(need)
        return min(candidates, key=lambda c: (len(c), any(chr(x).isalpha() for x in c))) if candidates else None

    found = required(P.parse(pattern.pattern, pattern.flags), bool(pattern.flags & re.IGNORECASE))
    return None if found is None else frozenset(map(chr, found))


def _pattern_of(fn) -> tuple[re.Pattern, str] | None:
    """The regex and method behind one of spaCy's callables (a bound `re.Pattern` method, or our
    filters.affixes.SuffixSearch), or None when it is something else (a Python function)."""
    from filters.affixes import SuffixSearch

    if isinstance(fn, SuffixSearch):
        return fn.pattern, "search"
    owner = getattr(fn, "__self__", None)
    name = getattr(fn, "__name__", "")
    if isinstance(owner, re.Pattern) and name in ("search", "match", "fullmatch", "finditer"):
        return owner, name
    return None


def snapshot(tokenizer) -> dict | None:
    """A spaCy `Tokenizer`'s rules as JSON-ready data, or None when they cannot be (another tokenizer class,
    rules that are Python functions rather than regexes)."""
    from spacy.attrs import ORTH, intify_attrs
    from spacy.tokenizer import Tokenizer

    if type(tokenizer) is not Tokenizer:
        return None
    snap: dict = {"format": FORMAT, "faster_heuristics": bool(tokenizer.faster_heuristics)}
    attrs = dict(prefix="prefix_search", suffix="suffix_search", infix="infix_finditer", token_match="token_match",
                 url_match="url_match")
    for name, attr in attrs.items():
        fn = getattr(tokenizer, attr)
        if fn is None:
            snap[name] = None
            continue
        found = _pattern_of(fn)
        if found is None:
            return None
        pattern, method = found
        need = _required_chars(pattern)
        snap[name] = [pattern.pattern, int(pattern.flags), method, None if need is None else "".join(sorted(need))]
    triggers = trigger_chars(snap[name][3] for name in ("prefix", "suffix", "infix") if snap[name] is not None)
    snap["triggers"] = None if triggers is None else "".join(sorted(triggers))
    snap["specials"] = {key: [intify_attrs(spec, _do_deprecated=True)[ORTH] for spec in subs]
                        for key, subs in tokenizer.rules.items()}
    bare = Tokenizer(tokenizer.vocab, rules={}, prefix_search=tokenizer.prefix_search,
                     suffix_search=tokenizer.suffix_search, infix_finditer=tokenizer.infix_finditer,
                     token_match=tokenizer.token_match, url_match=tokenizer.url_match)
    matcher, index = [], {}
    trigger_set = frozenset(snap["triggers"] or "")
    for key in tokenizer.rules:  # the special cases spaCy's add_special_case gives its PhraseMatcher
        if (not snap["faster_heuristics"] or tokenizer.find_prefix(key) or tokenizer.find_infix(key)
                or tokenizer.find_suffix(key) or " " in key):
            toks = [t.text for t in bare(key)]
            matcher.append([key, toks])
            index[key] = _rarest(toks, trigger_set)
    snap["matcher"], snap["matcher_index"] = matcher, index
    return snap


def _rarest(tokens: list[str], triggers: frozenset[str]) -> str:
    """The token of a matcher pattern to look for first: one with a character that only split chunks hold
    (punctuation and the like), so that documents of plain words never need the matcher."""
    for t in tokens:
        if not triggers.isdisjoint(t):
            return t
    return max(tokens, key=len) if tokens else ""


ADVERSARIAL = [
    "/usr/lib/python3.11/site-packages/numpy/core/_multiarray_umath.cpython-311-x86_64-linux-gnu.so",
    "https://example.com/a/b/c?x=1&y=2#frag). (see:https://docs.python.org/3/library/re.html#re.search)...",
    "aGVsbG8gd29ybGQgdGhpcyBpcyBiYXNlNjQgZW5jb2RlZCB0ZXh0IG9mIHNvbWUgbGVuZ3Ro" * 3 + "==",
    "!" * 300 + " " + "." * 257 + " " + "...)" * 60, "a" + "." * 100 + "b" + "..." * 20 + " ))))))(((((( ",
    "--option-one=--option-two=--option-three," * 5 + " 10km" * 5 + " 1,000,000.00$ don't's U.S.A. e.g., 3+ 0km",
    "ภาษาไทยไม่มีช่องว่างระหว่างคำ" * 10 + ". 这是一个没有空格的很长的中文句子。 日本語のテキスト」",
    "ሰላምለዓለም። «mot» '''x x\u2026 °C. x'x's  \t\n \u00a0 a\u2009b  c   ",
    " leading and trailing spaces  ", "\ttabbed\tline\n\nnew paragraph\r\n",
]


def probe_texts(snap: dict) -> list[str]:
    """Text to check a snapshot against spaCy on: every special case alone, between affixes and inside
    words, adversarial tokens, and random runs of the characters the rules react to (deterministic)."""
    import random

    keys = sorted(snap["specials"])
    wrapped = []
    for k in keys:
        wrapped += [k, f"({k})", f"{k}.", f"{k},", f'"{k}', f"x{k}", f"{k}s", k.lower(), k.upper()]
    texts = [" ".join(wrapped[i:i + 300]) for i in range(0, len(wrapped), 300)]
    texts += ["\n".join(keys[i:i + 300]) for i in range(0, len(keys), 300)]
    rnd = random.Random(17)
    alphabet = sorted(set(snap["triggers"] or "") | set("aZé0 .,;:!?'\"()-/"))
    alphabet += ["km", "'s", "n't", "...", "\n", "  "]
    texts += ["".join(rnd.choice(alphabet) for _ in range(rnd.randint(1, 200))) for _ in range(300)]
    return texts + ADVERSARIAL


def check(snap: dict, tokenizer, texts: list[str] | None = None) -> str | None:
    """None when the pure-Python tokenizer gives spaCy's tokens on every probe text, else the first text
    where it does not."""
    rules = RuleTokenizer(snap)
    for text in probe_texts(snap) if texts is None else texts:
        if rules.tokens(text) != [t.text for t in tokenizer(text)]:
            return text
    return None


# --------------------------------------------------------------------------------------------- the cache


def cache_dir() -> Path:
    """Where snapshots live: `CURATION_CACHE_DIR`, else `__pycache__/spacy_rules` beside this module when
    writable, else `$XDG_CACHE_HOME/curation/spacy_rules` (`~/.cache/...`)."""
    env = os.environ.get("CURATION_CACHE_DIR")
    if env:
        return Path(env) / "spacy_rules"
    here = Path(__file__).resolve().parent / "__pycache__"
    if os.access(here if here.exists() else here.parent, os.W_OK):
        return here / "spacy_rules"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "curation" / "spacy_rules"


@lru_cache(maxsize=1)
def _versions() -> str | None:
    """spaCy's version and a fingerprint of datatrove's tokenizer assignment table, read from their files
    without importing either (None when one is not installed)."""
    from importlib.util import find_spec

    try:
        spacy, datatrove = find_spec("spacy"), find_spec("datatrove")
    except (ImportError, ValueError):
        return None
    if spacy is None or datatrove is None or not spacy.origin or not datatrove.origin:
        return None
    try:
        about = (Path(spacy.origin).parent / "about.py").read_text("utf-8")
        table = (Path(datatrove.origin).parent / "assets" / "tokenizer_assignment.csv").stat()
    except OSError:
        return None
    m = re.search(r"__version__\s*=\s*['\"]([^'\"]+)", about)
    return m and f"spacy{m.group(1)}-f{FORMAT}-{table.st_size:x}{table.st_mtime_ns:x}"


def _safe(name: str) -> str:
    return "".join(c if c.isascii() and (c.isalnum() or c in "_-") else "_" for c in name)[:60] or "_"


def _read(path: Path | None) -> dict | None:
    if path is None:
        return None
    try:
        record = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and record.get("format") == FORMAT else None


def _code_path(language: str) -> Path | None:
    """The cache file saying which spaCy language a language code's words come from (or that they do not)."""
    versions = _versions()
    return None if versions is None else cache_dir() / versions / "codes" / f"{_safe(language)}.json"


def _rules_path(spacy_language: str) -> Path | None:
    versions = _versions()
    return None if versions is None else cache_dir() / versions / f"{_safe(spacy_language)}.json"


@lru_cache(maxsize=None)
def _rules(spacy_language: str) -> RuleTokenizer | None:
    """One RuleTokenizer per spaCy language per process (language codes that share one share its cache)."""
    snap = _read(_rules_path(spacy_language))
    if snap is None or not snap.get("supported") or snap.get("spacy_language") != spacy_language:
        return None
    return RuleTokenizer(snap)


def load(language: str) -> RuleTokenizer | None:
    """The cached rules of `language` (a code of filters.words.word_tokenizer), or None: not cached yet,
    cached as not possible, or unreadable (then it is made again)."""
    code = _read(_code_path(language))
    if code is None or code.get("language") != language or not code.get("spacy_language"):
        return None
    return _rules(code["spacy_language"])


def known_unsupported(language: str) -> bool:
    """Whether an earlier run found that this language's words cannot come from a snapshot."""
    code = _read(_code_path(language))
    if code is None or code.get("language") != language:
        return False
    if not code.get("spacy_language"):
        return True
    snap = _read(_rules_path(code["spacy_language"]))
    return snap is not None and snap.get("supported") is False


def save(language: str, spacy_language: str | None, tokenizer) -> RuleTokenizer | None:
    """Record that `language`'s words come from spaCy's `spacy_language` tokenizer `tokenizer` (None: from
    something else), snapshot and check that tokenizer unless an earlier run did, cache the results (also
    negative ones); the pure-Python tokenizer when its check passed."""
    if spacy_language is not None and _read(_rules_path(spacy_language)) is None:
        snap = snapshot(tokenizer)
        failed = None if snap is not None else "not spaCy's rule tokenizer, or rules that are not regexes"
        if snap is not None:
            bad = check(snap, tokenizer)
            if bad is not None:
                failed = f"differs from spaCy on {bad[:80]!r}"
        record = snap if failed is None else {"format": FORMAT, "reason": failed}
        record.update(spacy_language=spacy_language, supported=failed is None)
        _write(_rules_path(spacy_language), record)
        _rules.cache_clear()
    _write(_code_path(language), {"format": FORMAT, "language": language, "spacy_language": spacy_language})
    return _rules(spacy_language) if spacy_language is not None else None


def _write(path: Path | None, record: dict) -> None:
    """Write a cache file (a lock keeps parallel tasks from writing it together); a cache that cannot be
    written only costs the next run the snapshot again."""
    from curation.atomic import write_text
    from curation.core import CurationError
    from curation.lock import ExclusiveLock

    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with ExclusiveLock(str(path.parent / ".lock"), "another process is writing the snapshot cache"):
            write_text(path, json.dumps(record, ensure_ascii=False))
    except (OSError, CurationError):
        pass
