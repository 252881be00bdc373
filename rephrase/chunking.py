"""Split documents into passages of at most N tokens of the rephrasing model's tokenizer, on line and
sentence boundaries (the paper splits at line breaks and sentence ends, 350 tokens), and join the rephrased
passages back into one document.

A passage is cut inside a sentence only when that sentence alone exceeds N tokens; it is then cut at the
last space before the limit (or at the token boundary where the script has no spaces).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

from curation.core import CurationError

DEFAULT_MAX_TOKENS = 350

# sentence ends: Latin/Cyrillic/Greek punctuation followed by closing quotes/brackets and whitespace;
# CJK full stops (no space follows); Devanagari danda, Arabic/Urdu full stop and question mark.
_SENTENCE_END = re.compile(r"[.!?\u2026]+[\"'\u201d\u2019\u00bb)\]]*\s+"
                           r"|[\u3002\uff01\uff1f\uff61]+[\"'\u201d\u2019\u300d\u300f\uff09)]*\s*"
                           r"|[\u0964\u0965\u061f\u06d4]+\s*")
_LINE = re.compile(r"[^\n]*\n+|[^\n]+$")


class TokenCounter:
    """Counts tokens the way the rephrasing model does, and cuts an over-long sentence by tokens."""

    name = "tokens"

    def count_many(self, texts: list[str]) -> list[int]:
        raise NotImplementedError

    def cut(self, text: str, max_tokens: int) -> int:
        """A character position at which `text` can be cut so the head has at most `max_tokens` tokens."""
        raise NotImplementedError


class HFTokenizer(TokenCounter):
    """A Hugging Face `tokenizers` tokenizer (tokenizer.json), or a transformers tokenizer from a folder."""

    def __init__(self, tokenizer, name: str):
        self.tok = tokenizer
        self.name = name
        self._fast = hasattr(tokenizer, "encode_batch")

    def count_many(self, texts: list[str]) -> list[int]:
        if not texts:
            return []
        if self._fast:
            return [len(e.ids) for e in self.tok.encode_batch(texts, add_special_tokens=False)]
        return [len(ids) for ids in self.tok(texts, add_special_tokens=False)["input_ids"]]

    def cut(self, text: str, max_tokens: int) -> int:
        if self._fast:
            offsets = self.tok.encode(text, add_special_tokens=False).offsets
        else:
            offsets = self.tok(text, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
        if len(offsets) <= max_tokens:
            return len(text)
        end = offsets[max_tokens - 1][1] if max_tokens > 0 else 0
        return max(1, _back_to_space(text, end))


class ByteEstimate(TokenCounter):
    """When no tokenizer is given: ceil(UTF-8 bytes / 3) tokens. Real tokenizers average about 4 bytes a
    token for English and 2-3 for most other scripts, so this errs towards shorter passages."""

    name = "utf8-bytes/3"
    BYTES_PER_TOKEN = 3

    def count_many(self, texts: list[str]) -> list[int]:
        return [math.ceil(len(t.encode("utf-8")) / self.BYTES_PER_TOKEN) for t in texts]

    def cut(self, text: str, max_tokens: int) -> int:
        budget, used = max_tokens * self.BYTES_PER_TOKEN, 0
        for i, ch in enumerate(text):
            used += len(ch.encode("utf-8"))
            if used > budget:
                return max(1, _back_to_space(text, i))
        return len(text)


def _back_to_space(text: str, end: int) -> int:
    """The last whitespace at or before `end` (so words stay whole), or `end` when there is none in the
    second half (scripts without spaces)."""
    space = max(text.rfind(" ", 0, end + 1), text.rfind("\n", 0, end + 1))
    return space + 1 if space >= end // 2 else end


def load_tokenizer(path: str | None) -> TokenCounter:
    """A tokenizer.json file, a model folder with one, or a transformers tokenizer folder; None: the
    conservative byte estimate. Nothing is downloaded."""
    if not path:
        return ByteEstimate()
    p = Path(path)
    file = p / "tokenizer.json" if p.is_dir() else p
    if file.is_file() and file.suffix == ".json":
        from tokenizers import Tokenizer

        try:
            return HFTokenizer(Tokenizer.from_file(str(file)), str(path))
        except Exception as e:  # tokenizers raises its own Exception type on a broken file
            raise CurationError(f"tokenizer '{path}': cannot load ({e})") from None
    if p.is_dir():
        try:
            from transformers import AutoTokenizer

            return HFTokenizer(AutoTokenizer.from_pretrained(str(p), local_files_only=True), str(path))
        except (OSError, ValueError) as e:
            raise CurationError(f"tokenizer '{path}': cannot load ({e})") from None
    raise CurationError(f"tokenizer '{path}': no such tokenizer.json file or tokenizer folder")


@dataclass
class Passage:
    text: str
    sep: str  # the whitespace that followed it in the document (decides how rephrased passages are joined)
    tokens: int


def _units(text: str) -> list[tuple[str, str, bool]]:
    """(text, trailing whitespace, ends a line) for each sentence of each line."""
    out = []
    for m in _LINE.finditer(text):
        line = m.group()
        body = line.rstrip("\n")
        breaks = line[len(body):]
        pos = 0
        for s in _SENTENCE_END.finditer(body):
            if s.end() > pos and s.end() < len(body):
                seg = body[pos:s.end()]
                out.append((seg.rstrip(), seg[len(seg.rstrip()):], False))
                pos = s.end()
        seg = body[pos:]
        stripped = seg.rstrip()
        if stripped.strip():
            out.append((stripped, seg[len(stripped):] + breaks, True))
        elif out:
            text_, sep, _ = out[-1]
            out[-1] = (text_, sep + seg + breaks, True)
    return out


def chunk(text: str, max_tokens: int, counter: TokenCounter) -> list[Passage]:
    """Passages of at most `max_tokens` tokens, each ending at a line break or a sentence end (a line
    break when one lies in the second half of the passage), except inside a sentence longer than that."""
    if max_tokens < 1:
        raise ValueError(f"max_tokens must be at least 1, got {max_tokens}")
    units: list[tuple[str, str, bool]] = []
    for t, sep, eol in _units(text):
        units += _split_long(t, sep, eol, max_tokens, counter)
    counts = counter.count_many([t for t, _, _ in units])
    passages: list[list[int]] = []
    current, total = [], 0
    for i, n in enumerate(counts):
        if current and total + n > max_tokens:
            # prefer closing at a line break in the second half of the passage
            cut = next((k for k in range(len(current) - 1, 0, -1) if units[current[k - 1]][2]), None)
            if cut is not None and sum(counts[j] for j in current[:cut]) >= max_tokens // 2:
                passages.append(current[:cut])
                current = current[cut:]
            else:
                passages.append(current)
                current = []
            total = sum(counts[j] for j in current)
            if current and total + n > max_tokens:
                passages.append(current)
                current, total = [], 0
        current.append(i)
        total += n
    if current:
        passages.append(current)
    return _verify([_join(units, p) for p in passages], units, passages, max_tokens, counter)


def _split_long(t: str, sep: str, eol: bool, max_tokens: int, counter: TokenCounter):
    if counter.count_many([t])[0] <= max_tokens:
        return [(t, sep, eol)]
    pieces, rest = [], t
    while rest and counter.count_many([rest])[0] > max_tokens:
        k = counter.cut(rest, max_tokens)
        head = rest[:k]
        while k > 1 and counter.count_many([head.rstrip()])[0] > max_tokens:  # merges across the cut
            k = max(1, k - max(1, k // 10))
            head = rest[:k]
        pieces.append((head.rstrip(), head[len(head.rstrip()):] or "", False))
        rest = rest[k:]
    if rest:
        pieces.append((rest, sep, eol))
    else:
        pieces[-1] = (pieces[-1][0], sep, eol)
    return pieces


def _join(units, idx: list[int]) -> Passage:
    text = "".join(units[i][0] + units[i][1] for i in idx[:-1]) + units[idx[-1]][0]
    return Passage(text, units[idx[-1]][1], 0)


def _verify(passages, units, groups, max_tokens, counter) -> list[Passage]:
    """Count each passage whole (tokens can merge across the units' boundaries) and move trailing units
    to a passage of their own until each fits."""
    out: list[Passage] = []
    queue = list(zip(passages, groups))
    while queue:
        p, g = queue.pop(0)
        n = counter.count_many([p.text])[0]
        if n <= max_tokens or len(g) == 1:
            p.tokens = n
            out.append(p)
            continue
        queue[:0] = [(_join(units, g[:-1]), g[:-1]), (_join(units, g[-1:]), g[-1:])]
    return out


def join_passages(texts: list[str], seps: list[str]) -> str:
    """Reassemble a document from its rephrased passages: a paragraph break where the source had a blank
    line, a line break where it had one, else a space."""
    parts = []
    for i, (t, sep) in enumerate(zip(texts, seps)):
        parts.append(t.strip())
        if i < len(texts) - 1:
            parts.append("\n\n" if "\n\n" in sep else "\n" if "\n" in sep else " ")
    return "".join(parts)
