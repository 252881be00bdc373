"""Normalisation and word splitting of a whole batch in one Numba pass, for the documents whose characters
allow it: the MinHash input (the words of datatrove's `simplify_text`, joined by single spaces) without a
Python loop over their words.

Per character, a class decides what `simplify_text` does to it: ASCII and non-ASCII letters that are their
own lowercase and their own canonical decomposition are kept; upper-case letters whose lowercase is one
such letter are mapped; ASCII digits (with `.`/`,` between two digit runs) become one `0` as
`NUMBERS_PATTERN` makes them; datatrove's punctuation and whitespace become one space. A document holding
any other character (a letter with a diacritic, a combining mark, a non-ASCII digit, ...) goes the Python
way (dedup.normalize and the word splitter), so the output is the same for every document. Classes are
found per code point the first time the batch holds it (a table of all of Unicode would cost 0.3 s).

While writing each word, the pass flags the words the tokenizer could split: those holding one of its
trigger characters, and those equal to one of its special cases (a 64-bit hash look-up); only documents
with a flagged word that really splits are tokenized in Python.
"""

from __future__ import annotations

import unicodedata

import numba
import numpy as np

from dedup import kernels

UNKNOWN, KEEP, MAP, DIGIT, SEP, SPACE, UNSUPPORTED, PENDING = 0, 1, 2, 3, 4, 5, 6, 7
TRIGGER = 8  # flag: the word splitter reacts to this character
_CLASS = 7
_SEPARATORS = ".,،٫⎖⎗⎘"  # NUMBERS_PATTERN's decimal separators


def _classify(cp: int, punctuation: frozenset[str], is_digit) -> tuple[int, int]:
    """(class, mapped code point) of one character, as `simplify_text` treats it."""
    c = chr(cp)
    if 0xD800 <= cp <= 0xDFFF:
        return UNSUPPORTED, 0
    if "0" <= c <= "9":
        return DIGIT, 0
    if c in (".", ","):
        return SEP, 0
    if c in _SEPARATORS or is_digit(c):  # a separator or digit NUMBERS_PATTERN sees beyond ASCII
        return UNSUPPORTED, 0
    if c in punctuation or c.isspace():
        return SPACE, 0
    low = c.lower()

    def stable(x: str) -> bool:
        return (len(x) == 1 and unicodedata.normalize("NFD", x) == x and unicodedata.combining(x) == 0
                and unicodedata.category(x) != "Mn" and x not in punctuation and not x.isspace()
                and not is_digit(x) and x not in _SEPARATORS and x.lower() == x)

    if cp == 0x03A3:  # capital sigma: its lowercase depends on the position in the word
        return UNSUPPORTED, 0
    if low == c:
        return (KEEP, 0) if stable(c) else (UNSUPPORTED, 0)
    if stable(low) and len(low.encode("utf-8")) <= len(c.encode("utf-8")):
        return MAP, ord(low)
    return UNSUPPORTED, 0


class CharTable:
    """The per-code-point classes (uint8, with the TRIGGER flag) and the mapped code points, filled as code
    points are met."""

    def __init__(self, triggers):
        from datatrove.utils.text import NUMBERS_PATTERN, PUNCTUATION

        self.punctuation = frozenset(PUNCTUATION)
        digit = NUMBERS_PATTERN  # \p{Nd}+...: a character it matches alone is a digit
        self.is_digit = lambda ch: digit.fullmatch(ch) is not None
        self.cls = np.zeros(0x110000, dtype=np.uint8)  # calloc: untouched pages cost nothing
        self.mapped = np.zeros(0x110000, dtype=np.int32)
        self.triggers = frozenset(triggers)
        for ch in self.triggers:
            self.cls[ord(ch)] |= TRIGGER
        for cp in range(128):
            self._set(cp)

    def _set(self, cp: int) -> None:
        kind, to = _classify(cp, self.punctuation, self.is_digit)
        self.cls[cp] = (self.cls[cp] & TRIGGER) | kind
        self.mapped[cp] = to
        if kind == MAP and chr(to) in self.triggers:
            self.cls[cp] |= TRIGGER  # the character it becomes is what the splitter sees

    def learn(self, codes: np.ndarray) -> None:
        for cp in np.unique(codes).tolist():
            if self.cls[cp] & _CLASS in (UNKNOWN, PENDING):
                self._set(cp)

    def learn_all(self, buf: np.ndarray) -> None:
        """Classify every code point of `buf` not known yet (a fast pass first lists them)."""
        room = np.empty(4096, dtype=np.int64)
        while True:
            n = unknown_code_points(buf, self.cls, room)
            if not n:
                return
            self.learn(room[:n])


@numba.njit(inline="always")
def _decode(buf, i):
    """(code point, length) of the UTF-8 sequence at buf[i] (valid UTF-8, surrogates allowed)."""
    b0 = np.int64(buf[i])
    if b0 < 0x80:
        return b0, 1
    if b0 < 0xE0:
        return ((b0 & 0x1F) << 6) | (np.int64(buf[i + 1]) & 0x3F), 2
    if b0 < 0xF0:
        return ((b0 & 0x0F) << 12) | ((np.int64(buf[i + 1]) & 0x3F) << 6) | (np.int64(buf[i + 2]) & 0x3F), 3
    return (((b0 & 0x07) << 18) | ((np.int64(buf[i + 1]) & 0x3F) << 12) | ((np.int64(buf[i + 2]) & 0x3F) << 6)
            | (np.int64(buf[i + 3]) & 0x3F)), 4


@numba.njit(inline="always")
def _encode(out, o, cp):
    if cp < 0x80:
        out[o] = cp
        return o + 1
    if cp < 0x800:
        out[o] = 0xC0 | (cp >> 6)
        out[o + 1] = 0x80 | (cp & 0x3F)
        return o + 2
    if cp < 0x10000:
        out[o] = 0xE0 | (cp >> 12)
        out[o + 1] = 0x80 | ((cp >> 6) & 0x3F)
        out[o + 2] = 0x80 | (cp & 0x3F)
        return o + 3
    out[o] = 0xF0 | (cp >> 18)
    out[o + 1] = 0x80 | ((cp >> 12) & 0x3F)
    out[o + 2] = 0x80 | ((cp >> 6) & 0x3F)
    out[o + 3] = 0x80 | (cp & 0x3F)
    return o + 4


@numba.njit(inline="always")
def _is_digit(b):
    return 48 <= b <= 57


@numba.njit(cache=True)
def unknown_code_points(buf, cls, unknown):
    """The code points of buf (UTF-8) whose class is not known yet, each once (marked PENDING in cls), up to
    the room in `unknown`; their number."""
    n = 0
    i = 0
    while i < buf.shape[0] and n < unknown.shape[0]:
        b = buf[i]
        if b < 128:
            cp = np.int64(b)
            ln = 1
        else:
            cp, ln = _decode(buf, i)
        if cls[cp] & 7 == 0:
            cls[cp] = (cls[cp] & 8) | 7
            unknown[n] = cp
            n += 1
        i += ln
    return n


@numba.njit(inline="always")
def _end_word(out, ws, o, trig, d, special_hashes, special_bits, prefilter, max_special, skip_zero, flagged,
              n_flagged):
    """Flag the word out[ws:o] when it holds a trigger character or may be a special case."""
    n = o - ws
    flag = trig
    if not flag and n <= max_special and prefilter[out[ws] * 32 + min(n, 31)]:
        h = kernels.xxh64(out, ws, o)
        if special_bits[h >> np.uint64(48)]:
            k = np.searchsorted(special_hashes, h)
            flag = k < special_hashes.shape[0] and special_hashes[k] == h
    if flag and skip_zero and n == 1 and out[ws] == 48:
        flag = False
    if flag:
        flagged[n_flagged, 0] = d
        flagged[n_flagged, 1] = ws
        flagged[n_flagged, 2] = o
        n_flagged += 1
    return n_flagged


@numba.njit(cache=True)
def normalize_batch(buf, offsets, first, cls, mapped, special_hashes, special_bits, prefilter, max_special,
                    skip_zero, out, out_offsets, status, unknown, flagged, lines):
    """Normalise documents buf[offsets[d]:offsets[d + 1]] (UTF-8), from document `first` on, into out (words
    joined by single spaces, documents back to back from out_offsets[d]); status[d]: 0 done, 1 holds a code
    point of unknown class (recorded in `unknown` while there is room), 2 holds one this pass cannot treat
    (then its output is empty). Words to check are written to `flagged` as (document, start, end) in out;
    the pass stops before a document that might not fit. With `lines`, a line feed ends a line: lines that
    keep a word are separated by a line feed in out (mode robust's lines), and no word is flagged. Returns
    (next document, unknown, flagged) counts."""
    n_docs = offsets.shape[0] - 1
    n_unknown = 0
    n_flagged = 0
    o = out_offsets[first]
    zero_trig = (cls[48] & 8) != 0
    for d in range(first, n_docs):
        lo, hi = offsets[d], offsets[d + 1]
        if not lines and n_flagged + (hi - lo) // 2 + 1 > flagged.shape[0]:
            out_offsets[d] = o
            return d, n_unknown, n_flagged
        out_offsets[d] = o
        doc_start = o
        flag_start = n_flagged
        i = lo
        ws = -1  # output position where the current word starts, -1 between words
        trig = False
        st = 0
        new_line = False  # a line feed since the last word (lines mode)
        while i < hi:
            b = buf[i]
            if lines and b == 10:
                if ws >= 0:
                    ws = -1
                new_line = True
                i += 1
                continue
            if b < 128:
                cp = np.int64(b)
                ln = 1
            else:
                cp, ln = _decode(buf, i)
            c = cls[cp]
            kind = c & 7
            if kind == 1 or kind == 2 or kind == 3:  # part of a word (7: pending, as 0)
                if ws < 0:
                    if o > doc_start:
                        out[o] = 10 if new_line else 32
                        o += 1
                    new_line = False
                    ws = o
                    trig = False
                if kind == 3:  # a number: digits, optionally a separator and digits -> "0"
                    j = i + 1
                    while j < hi and 48 <= buf[j] <= 57:
                        j += 1
                    if j + 1 < hi and (buf[j] == 46 or buf[j] == 44) and 48 <= buf[j + 1] <= 57:
                        j += 2
                        while j < hi and 48 <= buf[j] <= 57:
                            j += 1
                    out[o] = 48
                    o += 1
                    if zero_trig:
                        trig = True
                    i = j
                    continue
                if ln == 1:  # ASCII letters, in a tight loop while they last
                    while True:
                        out[o] = mapped[cp] if kind == 2 else cp
                        o += 1
                        if c & 8:
                            trig = True
                        i += 1
                        if i >= hi:
                            break
                        cp = np.int64(buf[i])
                        if cp >= 128:
                            break
                        c = cls[cp]
                        kind = c & 7
                        if kind != 1 and kind != 2:
                            break
                    continue
                if kind == 1:
                    for k in range(ln):
                        out[o + k] = buf[i + k]
                    o += ln
                else:
                    o = _encode(out, o, mapped[cp])
                if c & 8:
                    trig = True
                i += ln
            elif kind == 5 or kind == 4:  # a space (a separator outside a number is punctuation)
                if ws >= 0:
                    if not lines:
                        n_flagged = _end_word(out, ws, o, trig, d, special_hashes, special_bits, prefilter,
                                              max_special, skip_zero, flagged, n_flagged)
                    ws = -1
                i += ln
            elif kind == 0 or kind == 7:
                st = 1
                if n_unknown < unknown.shape[0]:
                    unknown[n_unknown] = cp
                    n_unknown += 1
                i += ln
            else:
                st = 2
                break
        if ws >= 0 and not lines:
            n_flagged = _end_word(out, ws, o, trig, d, special_hashes, special_bits, prefilter, max_special,
                                  skip_zero, flagged, n_flagged)
        status[d] = st
        if st != 0:  # nothing of it is kept
            o = doc_start
            n_flagged = flag_start
    out_offsets[n_docs] = o
    return n_docs, n_unknown, n_flagged


class FastPacker:
    """`pack(texts)`: the MinHash buffer of a batch (dedup.minhash._pack's output), documents this pass can
    treat done in Numba, the others by `slow(text) -> joined words`. `spec` is the word splitter's
    `fast_spec()` (filters.words): its trigger characters, the words that may be special cases, a function
    word -> its tokens, and `needs_whole` (tokens -> whether the document must be tokenized whole)."""

    def __init__(self, spec):
        self.spec = spec
        self.table = CharTable(spec.triggers)
        watch = sorted({_hash(w.encode("utf-8")) for w in spec.watch})
        self.special_hashes = np.array(watch, dtype=np.uint64)
        self.special_bits = np.zeros(1 << 16, dtype=np.bool_)
        self.special_bits[(self.special_hashes >> np.uint64(48)).astype(np.int64)] = True
        self.max_special = max((len(w.encode("utf-8")) for w in spec.watch), default=0)
        self.prefilter = np.zeros(256 * 32, dtype=np.bool_)  # (first byte, length) of the watched words
        for w in spec.watch:
            data = w.encode("utf-8")
            if data:
                self.prefilter[data[0] * 32 + min(len(data), 31)] = True
        zero = spec.tokens("0")
        self.skip_zero = "0" not in spec.watch and tuple(zero) == ("0",) and not spec.needs_whole(zero)
        self._verdicts: dict[bytes, object] = {}

    def _verdict(self, word: bytes):
        """None when a flagged word is one token equal to itself, its tokens joined by spaces (bytes) when it
        splits, or True when the special-case matcher may apply (the document is tokenized whole)."""
        v = self._verdicts.get(word, 0)
        if v == 0:
            w = word.decode("utf-8")
            toks = tuple(self.spec.tokens(w))
            v = True if self.spec.needs_whole(toks) else None if toks == (w,) else " ".join(toks).encode("utf-8")
            if len(self._verdicts) < 1_000_000:
                self._verdicts[word] = v
        return v

    def pack(self, texts: list[str], slow, normalize=None) -> tuple[np.ndarray, np.ndarray]:
        """With `normalize` (dedup.normalize.normalize), documents this pass cannot normalise are normalised
        in Python and then split by the pass (normalised text suits it); `slow` is left for the rest."""
        encoded = [t.encode("utf-8", "surrogatepass") for t in texts]
        offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
        np.cumsum([len(b) for b in encoded], out=offsets[1:])
        buf = np.frombuffer(b"".join(encoded), dtype=np.uint8)
        out = np.empty(len(buf), dtype=np.uint8)
        out_offsets = np.zeros(len(texts) + 1, dtype=np.int64)
        status = np.zeros(len(texts), dtype=np.uint8)
        t = self.table
        t.learn_all(buf)
        longest = int(np.max(np.diff(offsets))) if len(texts) else 0
        unknown = np.empty(4096, dtype=np.int64)
        flagged = np.empty((max(1 << 16, longest // 2 + 1), 3), dtype=np.int64)
        found = []
        first = 0
        while True:
            args = (self.special_hashes, self.special_bits, self.prefilter, self.max_special, self.skip_zero)
            nxt, n_unknown, n_flagged = normalize_batch(buf, offsets, first, t.cls, t.mapped, *args, out,
                                                        out_offsets, status, unknown, flagged, False)
            if n_unknown:  # (not after learn_all) classify the new code points, then that stretch again
                t.learn(unknown[:n_unknown])
                continue
            found.append(flagged[:n_flagged].copy())
            if nxt == len(texts):
                break
            first = nxt
        flagged = np.concatenate(found) if found else np.empty((0, 3), np.int64)
        outb = out[:out_offsets[-1]].tobytes()
        whole = set(np.flatnonzero(status).tolist())
        edits: dict[int, list] = {}
        for d, s, e in flagged.tolist():
            v = self._verdict(outb[s:e])
            if v is True:
                whole.add(d)
            elif v is not None:
                edits.setdefault(d, []).append((s, e, v))
        if not whole and not edits:
            return out[:out_offsets[-1]], out_offsets
        bounds = out_offsets.tolist()
        again: dict[int, bytes] = {}
        if normalize is not None:  # normalised in Python, split here
            idx = [d for d in sorted(whole) if status[d]]
            if idx:
                sub, sub_offsets = self.pack([normalize(texts[d]) for d in idx], self.spec.joined)
                sub_bytes, cuts = sub.tobytes(), sub_offsets.tolist()
                again = {d: sub_bytes[cuts[k]:cuts[k + 1]] for k, d in enumerate(idx)}
        parts = []
        for d in range(len(texts)):
            lo, hi = bounds[d], bounds[d + 1]
            if d in whole:
                if d in again:
                    parts.append(again[d])
                elif status[d]:  # the Python way from the start
                    parts.append(slow(texts[d]).encode("utf-8"))
                else:  # normalised here, the words split in Python
                    parts.append(self.spec.joined(outb[lo:hi].decode("utf-8")).encode("utf-8"))
            elif d in edits:  # the words that split, replaced by their tokens
                pos = lo
                for s, e, joined in edits[d]:
                    parts += [outb[pos:s], joined]
                    pos = e
                parts.append(outb[pos:hi])
                parts[-1 - 2 * len(edits[d]):] = [b"".join(parts[-1 - 2 * len(edits[d]):])]
            else:
                parts.append(outb[lo:hi])
        offsets = np.zeros(len(parts) + 1, dtype=np.int64)
        np.cumsum([len(p) for p in parts], out=offsets[1:])
        return np.frombuffer(b"".join(parts), dtype=np.uint8), offsets


def _hash(data: bytes) -> int:
    """kernels.xxh64 of a word, as the pass computes it."""
    import xxhash

    return xxhash.xxh64_intdigest(data)


_LINE_TABLE: CharTable | None = None


def normalized_lines_batch(texts: list[str]) -> list[list[str] | None]:
    """Each text's normalised lines (dedup.boilerplate.normalized_lines), or None for a text this pass cannot
    treat (the caller takes the Python way for it)."""
    global _LINE_TABLE
    if _LINE_TABLE is None:
        _LINE_TABLE = CharTable(())
        _LINE_TABLE.cls[0xE000] = UNSUPPORTED  # boilerplate.LINE_BREAK: a line break of its own there
    t = _LINE_TABLE
    encoded = [x.encode("utf-8", "surrogatepass") for x in texts]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(b) for b in encoded], out=offsets[1:])
    buf = np.frombuffer(b"".join(encoded), dtype=np.uint8)
    t.learn_all(buf)
    out = np.empty(len(buf), dtype=np.uint8)
    out_offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    status = np.zeros(len(texts), dtype=np.uint8)
    unknown = np.empty(4096, dtype=np.int64)
    no_words = (np.zeros(1, np.uint64), np.zeros(1, np.bool_), np.zeros(256 * 32, np.bool_), -1, False)
    first = 0
    while first < len(texts):
        nxt, n_unknown, _ = normalize_batch(buf, offsets, first, t.cls, t.mapped, *no_words, out, out_offsets,
                                            status, unknown, np.empty((1, 3), np.int64), True)
        if n_unknown:
            t.learn(unknown[:n_unknown])
            continue
        first = nxt
    raw = out[:out_offsets[-1]].tobytes()
    bounds = out_offsets.tolist()
    return [None if status[d] else raw[bounds[d]:bounds[d + 1]].decode("utf-8").split("\n")
            if bounds[d + 1] > bounds[d] else [] for d in range(len(texts))]
