"""spaCy's prefix and suffix searches, exact and in time independent of the token's length.

spaCy compiles its suffixes as one alternation of end-anchored patterns and calls `re.search` on the
token, once per suffix it strips: the regex engine tries every start position of the token, so a long
unbroken token (a path, a URL, base64, a run of punctuation, a long word of a script without spaces) costs
its length times the number of alternatives, per call (0.3 ms per call on real web text, quadratic on a
token ending in many suffixes). A match must end at the token's end (or before a final newline), so it
cannot start earlier than the longest alternative's width from the end: the search starts there
(`pattern.search(s, pos)`; lookbehinds still see the characters before `pos`). The few alternatives of
unbounded width (spaCy's `\\.\\.+$`) are searched on their own over the whole token, which is fast (a literal
scan), and the leftmost start of the two wins, as in the single alternation. Prefixes are all anchored at
the start (`^`), so `match` replaces `search`.
"""

from __future__ import annotations

import re
from re import _constants as C
from re import _parser as P

_MAXWIDTH = 1 << 16  # alternatives wider than this are treated as unbounded


def _alternatives(pattern: re.Pattern):
    tree = P.parse(pattern.pattern, pattern.flags)
    if len(tree.data) == 1 and tree.data[0][0] == C.BRANCH:
        return tree, [P.SubPattern(tree.state, alt) for alt in tree.data[0][1][1]]
    return tree, [tree]


def _anchored_at_end(sub) -> bool:
    return bool(sub.data) and sub.data[-1] == (C.AT, C.AT_END)


class SuffixSearch:
    """`search(token)` equal to `pattern.search(token)` in where the match starts and ends, for an
    alternation of end-anchored patterns (spaCy's `compile_suffix_regex`); otherwise the plain search."""

    def __init__(self, pattern: re.Pattern):
        self.pattern = pattern
        _, alts = _alternatives(pattern)
        self.window = None
        self.unbounded = None
        if not alts or not all(_anchored_at_end(a) for a in alts) or (pattern.flags & re.MULTILINE):
            return
        wide = [i for i, a in enumerate(alts) if a.getwidth()[1] > _MAXWIDTH]
        narrow = [a.getwidth()[1] for i, a in enumerate(alts) if i not in wide]
        self.window = (max(narrow) if narrow else 0) + 1  # + 1: `$` also matches before a final newline
        if wide:
            parts = _split_top_level(pattern.pattern)
            if len(parts) != len(alts):
                self.window = None  # cannot tell which source belongs to which alternative: plain search
                return
            self.unbounded = re.compile("|".join(parts[i] for i in wide), pattern.flags)

    def __call__(self, string: str):
        if self.window is None or len(string) <= self.window:
            return self.pattern.search(string)
        m = self.pattern.search(string, len(string) - self.window)
        if self.unbounded is not None:
            u = self.unbounded.search(string)
            if u is not None and (m is None or u.start() < m.start()):
                return self.pattern.search(string, u.start())  # the alternation's own match from there
        return m


def _split_top_level(source: str) -> list[str]:
    """The top-level alternatives of a regex source (splits on `|` outside groups and classes)."""
    parts, depth, in_class, i, start = [], 0, False, 0, 0
    while i < len(source):
        c = source[i]
        if c == "\\":
            i += 2
            continue
        if in_class:
            if c == "]":
                in_class = False
        elif c == "[":
            in_class = True
            if source[i + 1:i + 2] == "]":
                i += 1
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == "|" and depth == 0:
            parts.append(source[start:i])
            start = i + 1
        i += 1
    parts.append(source[start:])
    return parts


def prefix_match(pattern: re.Pattern):
    """`pattern.match` when every alternative is anchored at the start (spaCy's prefixes), else `search`."""
    _, alts = _alternatives(pattern)
    anchored = alts and all(a.data and a.data[0] == (C.AT, C.AT_BEGINNING) for a in alts)
    return pattern.match if anchored and not (pattern.flags & re.MULTILINE) else pattern.search


def speed_up(tokenizer) -> None:
    """Give a spaCy Tokenizer the searches above (the same tokens; its cache starts empty)."""
    suffix = getattr(tokenizer.suffix_search, "__self__", None)
    if tokenizer.suffix_search is not None and isinstance(suffix, re.Pattern):
        tokenizer.suffix_search = SuffixSearch(tokenizer.suffix_search.__self__)
    prefix = getattr(tokenizer.prefix_search, "__self__", None)
    if tokenizer.prefix_search is not None and isinstance(prefix, re.Pattern):
        tokenizer.prefix_search = prefix_match(tokenizer.prefix_search.__self__)
