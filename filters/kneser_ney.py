"""Interpolated modified Kneser-Ney n-gram estimation written as an ARPA file, the model KenLM's `lmplz` builds.

The pip `kenlm` package only queries models; this module estimates them, with numpy, following Chen &
Goodman (1998) the way lmplz does:

- every sentence is `<s> w1 ... wk </s>`; n-grams never cross sentences and `<s>` is not repeated;
- adjusted counts: the raw count for the highest order and for n-grams that start with `<s>` (nothing can
  stand before them), else the number of distinct words seen just before the n-gram (continuation count);
- three discounts per order from the counts of adjusted counts t1..t4:
  Y = t1 / (t1 + 2 t2), D1 = 1 - 2Y t2/t1, D2 = 2 - 3Y t3/t2, D3+ = 3 - 4Y t4/t3; where lmplz would stop
  (t1, t2 or t3 is 0, or a discount falls outside [0, k]: tiny corpora), its `--discount_fallback` values
  0.5, 1, 1.5 are used for that order;
- p(w|h) = (a(hw) - D(a(hw))) / sum_v a(hv) + gamma(h) p(w|h'), with
  gamma(h) = (D1 N1(h.) + D2 N2(h.) + D3+ N3+(h.)) / sum_v a(hv), and unigrams interpolated with the uniform
  distribution over the vocabulary (`</s>` and `<unk>` included, `<s>` never predicted);
- gamma(h) is the ARPA backoff weight of h, so a query of an unseen n-gram backs off exactly to the
  interpolated value, and every context's probabilities sum to 1.

N-grams are numbered order by order: an n-gram's key is (rank of its (n-1)-word prefix) * |V| + last word,
so one `np.unique` per order counts them and every prefix and suffix is found by position, not by lookup.
"""

from __future__ import annotations

import math
import os
from array import array
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

UNK, BOS, EOS = 0, 1, 2
SPECIAL = ("<unk>", "<s>", "</s>")
FALLBACK_DISCOUNTS = (0.5, 1.0, 1.5)


@dataclass
class Order:
    """The n-grams of one order: word ids (rows), adjusted counts, log10 probabilities and backoffs."""

    rows: np.ndarray  # (M, n) int32 word ids
    raw: np.ndarray  # (M,) raw counts
    adjusted: np.ndarray  # (M,) adjusted counts
    context: np.ndarray | None = None  # (M,) rank of the (n-1)-word prefix in the order below
    suffix: np.ndarray | None = None  # (M,) rank of the (n-1)-word suffix in the order below
    prob: np.ndarray | None = None  # (M,) p(w|h), interpolated
    backoff: np.ndarray | None = None  # (M,) gamma of this n-gram as a context (1.0 when it is none)


@dataclass
class KneserNeyModel:
    vocab: list[str]
    orders: list[Order]  # orders[0] holds unigrams
    discounts: list[tuple[float, float, float]]
    fallback: list[bool] = field(default_factory=list)  # per order: the fallback discounts were used
    sentences: int = 0
    tokens: int = 0

    @property
    def order(self) -> int:
        return len(self.orders)


def _encode(sentences: Iterable[list[str]]) -> tuple[np.ndarray, np.ndarray, list[str], int]:
    """All sentences as one id array with `<s>`/`</s>` around each, and each token's sentence number."""
    vocab = {w: i for i, w in enumerate(SPECIAL)}
    ids = array("q")  # 8 bytes a token while reading (a list of ints would take ~36)
    lengths = array("q")
    for words in sentences:
        if not words:
            continue
        ids.append(BOS)
        ids.extend(vocab.setdefault(w, len(vocab)) for w in words)
        ids.append(EOS)
        lengths.append(len(words) + 2)
    tokens = np.frombuffer(ids, dtype=np.int64).copy()
    sentence = np.repeat(np.arange(len(lengths), dtype=np.int64), np.frombuffer(lengths, dtype=np.int64))
    return tokens, sentence, list(vocab), len(lengths)


def discounts(adjusted: np.ndarray) -> tuple[tuple[float, float, float], bool]:
    """Chen & Goodman's D1, D2, D3+ from the counts of adjusted counts; (fallback, True) where undefined."""
    t = [int(np.count_nonzero(adjusted == k)) for k in (1, 2, 3, 4)]
    if min(t[:3]) == 0:  # as lmplz: t4 may be 0 (then D3+ = 3)
        return FALLBACK_DISCOUNTS, True
    y = t[0] / (t[0] + 2 * t[1])
    d = tuple(k - (k + 1) * y * t[k] / t[k - 1] for k in (1, 2, 3))
    if any(not (0 <= dk <= k) for k, dk in zip((1, 2, 3), d)):  # lmplz's range check
        return FALLBACK_DISCOUNTS, True
    return d, False


def _discount_of(adjusted: np.ndarray, d: tuple[float, float, float]) -> np.ndarray:
    table = np.array([0.0, *d])
    return table[np.minimum(adjusted, 3).astype(np.int64)]


def estimate(sentences: Iterable[list[str]], order: int = 3) -> KneserNeyModel:
    """Estimate an interpolated modified Kneser-Ney model of `order` from sentences (lists of words)."""
    if not 2 <= order <= 7:
        raise ValueError(f"order must be between 2 and 7, not {order}")
    tokens, sentence, vocab, n_sentences = _encode(sentences)
    if n_sentences == 0:
        raise ValueError("no sentence with a word to estimate a model from")
    V = len(vocab)
    T = len(tokens)

    # counts, order by order; rank[n][i] is the rank of the n-gram starting at token i (-1 where none)
    orders = [Order(rows=np.arange(V, dtype=np.int32)[:, None], raw=np.bincount(tokens, minlength=V),
                    adjusted=np.zeros(V, dtype=np.int64))]
    rank = tokens.copy()
    for n in range(2, order + 1):
        starts = np.flatnonzero(sentence[: T - n + 1] == sentence[n - 1:])
        keys = rank[starts] * V + tokens[starts + n - 1]
        uniq, first, inverse, raw = np.unique(keys, return_index=True, return_inverse=True, return_counts=True)
        pos = starts[first]
        rows = tokens[pos[:, None] + np.arange(n)].astype(np.int32)
        orders.append(Order(rows=rows, raw=raw, adjusted=raw.copy(), context=rank[pos], suffix=rank[pos + 1]))
        rank = np.full(T, -1, dtype=np.int64)
        rank[starts] = inverse.reshape(-1)

    # adjusted counts: continuation counts below the top order, except for n-grams that begin with <s>
    for n in range(order - 1, 0, -1):
        lower, upper = orders[n - 1], orders[n]
        continuation = np.bincount(upper.suffix, minlength=len(lower.raw))
        lower.adjusted = np.where(lower.rows[:, 0] == BOS, lower.raw, continuation)

    # discounts per order (unigrams: over the predictable words that were seen)
    found, fallback = [], []
    for n, o in enumerate(orders, start=1):
        d, fb = discounts(o.adjusted[EOS:] if n == 1 else o.adjusted)  # unigrams: not <unk>, <s>
        found.append(d)
        fallback.append(fb)

    # unigrams: discounted adjusted counts, interpolated with the uniform distribution over the vocabulary
    uni = orders[0]
    predictable = np.ones(V, dtype=bool)
    predictable[BOS] = False
    a = np.where(predictable, uni.adjusted, 0).astype(np.float64)
    disc = np.where(a > 0, _discount_of(a, found[0]), 0.0)
    total = a.sum()
    gamma0 = disc.sum() / total
    uni.prob = np.where(predictable, (a - disc) / total + gamma0 / predictable.sum(), 0.0)

    for n in range(2, order + 1):
        o, lower = orders[n - 1], orders[n - 2]
        a = o.adjusted.astype(np.float64)
        disc = _discount_of(a, found[n - 1])
        denom = np.bincount(o.context, weights=a, minlength=len(lower.raw))
        mass = np.bincount(o.context, weights=disc, minlength=len(lower.raw))
        with np.errstate(divide="ignore", invalid="ignore"):
            gamma = np.where(denom > 0, mass / denom, 1.0)
        lower.backoff = gamma
        o.prob = (a - disc) / denom[o.context] + gamma[o.context] * lower.prob[o.suffix]
    return KneserNeyModel(vocab=vocab, orders=orders, discounts=found, fallback=fallback,
                          sentences=n_sentences, tokens=T - n_sentences)


def _log10(x: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.log10(x)


def write_arpa(model: KneserNeyModel, path: str) -> None:
    """Write the model as an ARPA file (under a temporary name, then renamed)."""
    tmp = f"{path}.tmp-{os.getpid()}"
    text: list[str] = list(model.vocab)  # text of each n-gram of the order being written
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("\n\\data\\\n")
        for n, o in enumerate(model.orders, start=1):
            f.write(f"ngram {n}={len(o.raw)}\n")
        for n, o in enumerate(model.orders, start=1):
            f.write(f"\n\\{n}-grams:\n")
            logp = _log10(o.prob)
            if n == 1:
                logp[BOS] = -99.0  # <s> is never predicted; -99 is ARPA's "log of zero"
            if n > 1:  # an n-gram's text is its prefix's text, a space and its last word
                vocab = model.vocab
                text = [text[c] + " " + vocab[w] for c, w in zip(o.context.tolist(), o.rows[:, -1].tolist())]
            if o.backoff is None:
                f.writelines(f"{p:.7g}\t{t}\n" for p, t in zip(logp.tolist(), text))
            else:
                back = _log10(o.backoff)
                f.writelines(f"{p:.7g}\t{t}\t{b:.7g}\n" for p, t, b in zip(logp.tolist(), text, back.tolist()))
        f.write("\n\\end\\\n")
    os.replace(tmp, path)


def describe(model: KneserNeyModel) -> str:
    """One line per order: n-gram count and discounts, saying where the fallback discounts were used."""
    lines = []
    for n, (o, d, fb) in enumerate(zip(model.orders, model.discounts, model.fallback), start=1):
        note = " (fallback: too few n-grams to estimate)" if fb else ""
        lines.append(f"  {n}-grams {len(o.raw):>9}  D1 {d[0]:.3f}  D2 {d[1]:.3f}  D3+ {d[2]:.3f}{note}")
    return "\n".join(lines)


def perplexity(log10_total: float, length: int) -> float:
    """CCNet's perplexity from a summed log10 probability over `length` predicted tokens (words + </s>)."""
    return math.pow(10.0, -log10_total / length) if length else float("nan")
