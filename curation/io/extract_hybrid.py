"""The hybrid extraction engine: resiliparse's main-content pass, then a small learned block classifier.

resiliparse's `main_content=True` finds the main region fast (in C) but keeps much of the chrome around it:
bread crumbs, share bars, "related posts", cookie notes, footers. trafilatura removes that chrome with many
Python-level rules and costs over ten times as much. Here resiliparse renders its main content as minimal
HTML (paragraphs, headings, list items, pre blocks and links), each line of that becomes a block, and a tiny
multilayer perceptron (numpy; weights in `extract_hybrid_model.json`, trained on WCXB's dev split by
`benchmarks/train_extract_hybrid.py`) scores every block from cheap features: length, words, link density,
punctuation, digits, capitalisation, block tag, list depth, position, and the same features of its
neighbours. Blocks scored below the model's threshold are dropped. A page left with no text at all goes to
trafilatura instead (a cascade for the few pages resiliparse finds no main content in).

The features are language-neutral (no word lists), so the classifier does not assume English.
"""

from __future__ import annotations

import html as html_lib
import json
import re
from functools import lru_cache
from pathlib import Path

import numpy as np

MODEL_FILE = Path(__file__).with_name("extract_hybrid_model.json")

_TOKEN = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)[^>]*>|([^<]+)")
_PUNCT = re.compile(r"[.,;:!?。、，！？؟]")
_END = (".", "!", "?", ":", "。", "！", "？", "؟", '"', "”", ")")
_DIGIT = re.compile(r"\d")
_UPPER_START = re.compile(r"(?:^|\s)[A-ZÀ-ÖØ-ÞА-ЯΑ-Ω]")
_SYMBOLS = re.compile(r"[|©»«›‹•·→←@#/]")
_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}


class Block:
    __slots__ = ("in_pre", "link_chars", "list_depth", "tag", "text")

    def __init__(self, text: str, link_chars: int, tag: str, list_depth: int, in_pre: bool):
        self.text, self.link_chars, self.tag, self.list_depth, self.in_pre = text, link_chars, tag, list_depth, in_pre


def minimal_html(html: str, tree=None) -> str:
    """resiliparse's main content as minimal HTML, links kept as <a> (link text is the link-density signal)."""
    from resiliparse.extract.html2text import extract_plain_text
    from resiliparse.parse.html import HTMLTree

    if tree is None:
        tree = HTMLTree.parse(html)
    return extract_plain_text(tree, preserve_formatting="minimal_html", main_content=True, links=True,
                              alt_texts=False, form_fields=False, noscript=False)


def blocks_of(markup: str) -> list[Block]:
    """Each non-empty line of resiliparse's minimal HTML, with the markup state it sits in."""
    out: list[Block] = []
    in_a = 0
    list_depth = 0
    in_pre = False
    open_block = ""  # the innermost block element still open (an <li> can span lines)
    for line in markup.split("\n"):
        parts: list[str] = []
        link = 0
        tag = open_block
        for m in _TOKEN.finditer(line):
            text = m.group(3)
            if text is not None:
                parts.append(text)
                if in_a:
                    link += len(text.strip())
                continue
            closing, name = m.group(1), m.group(2).lower()
            if name == "a":
                in_a = 0 if closing else 1
            elif name in ("ul", "ol"):
                list_depth = max(0, list_depth + (-1 if closing else 1))
            elif name == "pre":
                in_pre = not closing
                if not closing:
                    tag = "pre"
            elif name in ("p", "li") or name in _HEADINGS:
                if closing:
                    open_block = "li" if name != "li" and list_depth else ""
                else:
                    open_block = tag = name
        text = html_lib.unescape("".join(parts)).strip()
        if text:
            out.append(Block(" ".join(text.split()) if not in_pre and tag != "pre" else text.rstrip(), link, tag,
                             list_depth, in_pre or tag == "pre"))
    return out


N_OWN = 17  # features of a block itself (see _own_features)


def _own_features(b: Block, counts: dict) -> list[float]:
    t = b.text
    n = len(t)
    words = t.split()
    nw = len(words)
    tag = b.tag
    return [
        np.log1p(n),
        np.log1p(nw),
        min(b.link_chars / n, 1.0) if n else 0.0,
        len(_PUNCT.findall(t)) / (nw or 1),
        1.0 if t.endswith(_END) else 0.0,
        len(_DIGIT.findall(t)) / (n or 1),
        len(_UPPER_START.findall(t)) / (nw or 1),
        len(_SYMBOLS.findall(t)) / (nw or 1),
        (n / nw) if nw else 0.0,
        1.0 if tag == "p" else 0.0,
        1.0 if tag == "li" else 0.0,
        float(_HEADINGS.get(tag, 0)) / 6.0,
        1.0 if tag == "" else 0.0,
        1.0 if b.in_pre else 0.0,
        min(b.list_depth, 3) / 3.0,
        1.0 if counts.get(t, 0) > 1 else 0.0,
        1.0 if b.link_chars and b.link_chars >= n - 2 else 0.0,
    ]


def features(blocks: list[Block]) -> np.ndarray:
    """One row per block: its own features, its neighbours' (1 and 2 away, each side), windowed means of link
    density and length, and its position on the page."""
    counts: dict[str, int] = {}
    for b in blocks:
        counts[b.text] = counts.get(b.text, 0) + 1
    own = np.array([_own_features(b, counts) for b in blocks], dtype=np.float32).reshape(len(blocks), N_OWN)
    n = len(blocks)
    if n == 0:
        return np.zeros((0, n_features()), dtype=np.float32)
    pad = np.zeros((2, N_OWN), dtype=np.float32)
    padded = np.vstack([pad, own, pad])
    neigh = [padded[2 + d: 2 + d + n] for d in (-2, -1, 1, 2)]
    link, size = own[:, 2], own[:, 0]
    win = []
    for k in (3, 8):
        kernel = np.ones(2 * k + 1, dtype=np.float32)

        def conv(a, kernel=kernel, k=k):  # centred moving sum (np.convolve's "same" is wrong for n < kernel)
            return np.convolve(a, kernel)[k:k + n]

        win.append(conv(link * size) / np.maximum(conv(size), 1e-6))
        win.append(conv(size) / conv(np.ones(n, dtype=np.float32)))
    chars = np.expm1(size)
    cum = np.cumsum(chars)
    total = float(cum[-1]) or 1.0
    idx = np.arange(n, dtype=np.float32)
    biggest = float(np.argmax(chars))
    page = [
        idx / max(n - 1, 1),
        (cum - chars) / total,  # share of the page's text before the block
        np.log1p(idx),
        np.log1p(n - 1 - idx),
        np.clip((idx - biggest) / 10.0, -3, 3),
        np.full(n, np.log1p(n), dtype=np.float32),
        np.full(n, np.log1p(total), dtype=np.float32),
        np.full(n, float((link * chars).sum() / total), dtype=np.float32),
    ]
    return np.hstack([own, *neigh, np.stack(win + page, axis=1)]).astype(np.float32)


def n_features() -> int:
    return N_OWN * 5 + 4 + 8


class Model:
    """A multilayer perceptron over standardised features, with the decision threshold tuned on WCXB dev."""

    def __init__(self, spec: dict):
        self.mean = np.asarray(spec["mean"], dtype=np.float32)
        self.scale = np.asarray(spec["scale"], dtype=np.float32)
        self.layers = [(np.asarray(w, dtype=np.float32), np.asarray(b, dtype=np.float32)) for w, b in spec["layers"]]
        self.threshold = float(spec["threshold"])
        self.cascade = spec.get("cascade")  # {"signal", "side", "threshold"}: pages that go to trafilatura
        self.spec = spec

    def scores(self, x: np.ndarray) -> np.ndarray:
        h = (x - self.mean) / self.scale
        for i, (w, b) in enumerate(self.layers):
            h = h @ w + b
            if i < len(self.layers) - 1:
                np.maximum(h, 0, out=h)
        return 1.0 / (1.0 + np.exp(-h[:, 0]))


@lru_cache(maxsize=4)
def load_model(path: str | None = None) -> Model:
    return Model(json.loads(Path(path or MODEL_FILE).read_text()))


def render(blocks: list[Block], keep) -> str:
    """Kept blocks, one per line; list items as "- item" (as trafilatura writes them)."""
    lines = []
    for b, k in zip(blocks, keep):
        if k:
            lines.append(f"- {b.text}" if b.tag == "li" and not b.in_pre else b.text)
    return "\n".join(lines)


def page_signals(blocks: list[Block], scores: np.ndarray, threshold: float, html_chars: int) -> dict:
    """Page-level numbers the cascade rule reads: how much text resiliparse found (R) and kept (K), their
    ratio, the share of text the classifier is unsure about, text per HTML character, blocks, share of <p>."""
    lengths = np.array([len(b.text) for b in blocks], dtype=np.float64)
    keep = scores >= threshold
    total = float(lengths.sum()) or 1.0
    kept = float(lengths[keep].sum())
    return {"R": float(np.log1p(total)), "K": float(np.log1p(kept)), "KR": kept / total,
            "unc": float(lengths[np.abs(scores - threshold) < 0.2].sum()) / total,
            "dens": total / max(html_chars, 1), "nb": len(blocks),
            "p": sum(b.tag == "p" for b in blocks) / len(blocks),
            "meanp": float(scores[keep].mean()) if keep.any() else 0.0}


def _trafilatura(html: str) -> str | None:
    from trafilatura import extract

    return extract(html, favor_precision=True, include_comments=False, deduplicate=True) or None


def hybrid_text(html: str, model: Model | None = None, tree=None, fallback: bool = True,
                cascade: bool = False) -> str | None:
    """Main text of an HTML page: resiliparse's main content without the blocks the classifier calls chrome.

    When that leaves nothing (resiliparse found no main content, or every block scored as chrome: about 2% of
    real pages), trafilatura with FineWeb2's settings gets the page (`fallback`), so such pages are not lost.
    With `cascade`, the pages the model's cascade rule flags (little main text found: resiliparse probably
    picked the wrong region) go to trafilatura too: more F1, at about twice the cost (RESULTS.md)."""
    blocks = blocks_of(minimal_html(html, tree))
    text = None
    if blocks:
        model = model or load_model()
        scores = model.scores(features(blocks))
        keep = scores >= model.threshold
        text = render(blocks, keep) or None
        rule = model.cascade if cascade else None
        if rule and fallback:
            value = page_signals(blocks, scores, model.threshold, len(html))[rule["signal"]]
            if (value < rule["threshold"]) if rule["side"] == "lo" else (value > rule["threshold"]):
                return _trafilatura(html) or text
    if text is None and fallback:
        text = _trafilatura(html)
    return text
