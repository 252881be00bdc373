"""Derive a language's quality-filter thresholds from a reference corpus, FineWeb2's way.

Every threshold of the English config is expressed against the English reference distribution of the
statistic it cuts on, and the same position is taken in the language's distribution:

    quantile  the share q of English reference documents the threshold keeps -> the language's q-quantile
    meanstd   T = mean + x * std on English -> mean + x * std on the language

Where the English threshold lies outside the English reference (q = 0 or 1, nothing to match), the quantile
method keeps the same factor beyond each reference's tail (English threshold / English 99th percentile x
the language's 99th percentile; the 1st percentiles for lower bounds); where that cannot be told (a statistic that
is 0 in most reference documents, or no spread for meanstd), the English threshold is kept, and a lower-bound check on a
statistic the language hardly has (line-end punctuation in a script without it) is turned off (-1). Each fallback
is reported in the config's header. Stopwords are the words above 0.8% of all words (0.3%, then 0.2%, when fewer
than 8 are found).

The caller gives texts and a word tokenizer; reading corpora and writing files is the CLI's job.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from filters.config import LanguageConfig
from filters.quality import DUP_NS, TOP_NS, compute_signals, decide

MIN_DOCS = 200  # below this, a distribution's tails are guesses: the language gets default.yml's thresholds
STOPWORD_SHARES = (0.008, 0.003, 0.002)
TAIL = 0.99  # the quantile that stands for a reference's upper tail (1 - TAIL for the lower one)
MIN_TAIL_DOCS = 5  # a small reference's tail quantile is moved in so that this many documents lie beyond it
MAX_TOP_DOC_SHARE = 0.5  # a stopword's occurrences are spread: its top 10% documents hold at most half of them
MIN_NONZERO = 0.2  # a mean is a ratio's base only where this share of documents has the statistic above 0
MIN_STOPWORDS = 8
MIN_DOC_SHARE = 0.5
MAX_STOPWORD_MISS = 0.05  # stopwords that leave more of the language's own reference short are no stopwords
MAX_STOPWORDS = 40  # more words than this above the share means "words" are phrases: no stopwords


@dataclass(frozen=True)
class Rule:
    """One threshold: the config key (and n for the n-gram lists), the signal it cuts on, and which side
    of the threshold is removed ("upper": values above it, "lower": values below it)."""

    key: str
    signal: str
    side: str
    n: int | None = None
    upper_bound: float | None = 1.0  # ratios cannot exceed 1

    @property
    def label(self) -> str:
        return f"{self.key}[{self.n}]" if self.n else self.key

    def english(self, cfg: LanguageConfig) -> float | None:
        if self.n is None:
            value = getattr(cfg, self.key)
            return None if value is None or value == -1 else float(value)
        return dict(getattr(cfg, self.key)).get(self.n)


RULES: tuple[Rule, ...] = (
    Rule("dup_line_frac", "dup_line_frac", "upper"),
    *(Rule("top_n_grams", f"top_{n}_gram_frac", "upper", n) for n in TOP_NS),
    *(Rule("dup_n_grams", f"dup_{n}_gram_frac", "upper", n) for n in DUP_NS),
    Rule("line_punct_thr", "line_punct_ratio", "lower"),
    Rule("min_avg_word_length", "avg_word_length", "lower", upper_bound=None),
    Rule("max_avg_word_length", "avg_word_length", "upper", upper_bound=None),
    Rule("max_non_alpha_words_ratio", "alpha_words_ratio", "lower"),
    Rule("new_line_ratio", "new_line_ratio", "upper", upper_bound=None),
    Rule("char_duplicates_ratio", "char_dup_ratio", "upper"),
    Rule("min_doc_words", "n_words", "lower", upper_bound=None),  # words are coarser in some scripts
)


@dataclass
class Reference:
    """A reference corpus of one language, tokenized once: texts, words and every filter statistic."""

    texts: list[str]
    words: list[list[str]]
    signals: list[dict]

    @classmethod
    def build(cls, texts: Sequence[str], tokenize: Callable[[str], list[str]], progress=None) -> "Reference":
        texts = [t for t in texts if isinstance(t, str) and t.strip()]
        words, signals = [], []
        for t in texts:
            w = tokenize(t)
            words.append(w)
            signals.append(compute_signals(t, w, frozenset()))
            if progress is not None:
                progress.update(1)
        return cls(texts, words, signals)

    def values(self, signal: str) -> np.ndarray:
        vals = [s.get(signal) for s in self.signals if s.get("_words")]
        return np.asarray([v for v in vals if v is not None and np.isfinite(v)], dtype=np.float64)

    def __len__(self) -> int:
        return len(self.texts)


@dataclass
class Derived:
    config: dict
    notes: list[str] = field(default_factory=list)  # fallbacks taken, one line each
    table: list[dict] = field(default_factory=list)  # per rule: English threshold, position, result
    removal: dict[str, float] = field(default_factory=dict)  # share of the reference removed, per reason


def stopwords(words: list[list[str]]) -> tuple[list[str], float]:
    """Words above 0.8% of all words (0.3%, then 0.2%, when fewer than 8 are found), most frequent first.

    A candidate must also occur in at least half of the documents: a stopword is everywhere, while a
    phrase that a coarse tokenizer returns as one "word" is frequent only in the documents that quote it;
    and its occurrences must be spread (the top tenth of documents holding at most half of them), so the
    corpus's topic words ("droit" in the UDHR, a news story's subject) are not taken for stopwords."""
    per_doc = [Counter(w.lower() for w in ws if any(c.isalpha() for c in w)) for ws in words]
    counts = Counter()
    for c in per_doc:
        counts.update(c)
    docs = Counter(w for c in per_doc for w in c)
    total = sum(counts.values())
    top_docs = max(1, len(words) // 10)

    def spread(w: str) -> bool:
        """A function word is spread over the documents; a topic word of the corpus piles up in the
        documents about that topic (its top tenth of documents holds most of its occurrences)."""
        top = sorted((c[w] for c in per_doc if w in c), reverse=True)[:top_docs]
        return sum(top) <= MAX_TOP_DOC_SHARE * counts[w] or len(words) < 20

    found: list[str] = []
    share = STOPWORD_SHARES[0]
    for share in STOPWORD_SHARES:
        found = [w for w, c in counts.most_common()
                 if c / max(total, 1) > share and docs[w] >= MIN_DOC_SHARE * len(words) and spread(w)]
        if len(found) >= MIN_STOPWORDS:
            break
    return found, share


def transfer(rule: Rule, threshold: float, english: np.ndarray, language: np.ndarray,
             method: str) -> tuple[float, str, str]:
    """The language's threshold, the method actually used, and the English position it matched.

    With the quantile method, a threshold outside the English reference (q = 0 or 1: the reference never
    reaches it, so ranks say nothing), or with fewer than MIN_TAIL_DOCS English documents beyond it, keeps
    its factor beyond the tail instead; extrapolating by standard deviations from a narrow reference would
    put it anywhere."""
    if method == "quantile":
        e_nonzero, l_nonzero = float((english > 0).mean()), float((language > 0).mean())
        if threshold > 0 and min((english > 0).sum(), (language > 0).sum()) >= 2 * MIN_TAIL_DOCS:
            # documents at 0 (no line ending in punctuation, no repeated n-gram, a one-line page) are on the
            # same side of any positive threshold in every language: they say nothing about where it sits, and
            # a different share of them in the two references would shift every rank; ranks are taken among
            # the other documents
            english, language = english[english > 0], language[language > 0]
        kept = english <= threshold if rule.side == "upper" else english < threshold
        q = float(kept.mean())
        n_kept = int(kept.sum())
        # a rank needs documents on both sides: with fewer than MIN_TAIL_DOCS English documents beyond the
        # threshold, q is set by a few odd documents (a one-line page with no final full stop puts
        # line_punct_ratio's q at 3%, and the language's 3% quantile is then 0.85): treat it as outside
        if min(n_kept, len(english) - n_kept) >= MIN_TAIL_DOCS:
            return float(np.quantile(language, q)), "quantile", f"q={q:.3f}"
        if rule.side == "lower" and l_nonzero < MIN_NONZERO:
            return -1.0, "off", "0 in most of the language's documents"
        # beyond the English reference: keep the same factor beyond the tail of each reference (its 99th
        # percentile above, 1st below), so each language keeps the margin English has over its own tail
        # the tail quantile leaves at least MIN_TAIL_DOCS documents beyond it in the smaller reference: on 60
        # documents the 99th percentile is the single largest value, which one odd document decides
        top = min(TAIL, 1.0 - MIN_TAIL_DOCS / max(min(len(english), len(language)), 1))
        tail = top if q > 0.5 else 1.0 - top
        e_tail, l_tail = float(np.quantile(english, tail)), float(np.quantile(language, tail))
        if min(e_nonzero, l_nonzero) >= MIN_NONZERO and e_tail > 0:
            return threshold * l_tail / e_tail, "tail", f"q{tail:.2f}: {e_tail:.4g} -> {l_tail:.4g}"
        return threshold, "english", "mostly 0"
    e_std, l_std = float(english.std()), float(language.std())
    if e_std == 0.0 or l_std == 0.0:
        return threshold, "english", "no spread"
    x = (threshold - float(english.mean())) / e_std
    return float(language.mean()) + x * l_std, "meanstd", f"x={x:+.2f}"


def _bounded(rule: Rule, value: float) -> float:
    value = max(value, 0.0)
    if rule.key == "min_doc_words":
        return int(value)
    if rule.upper_bound is not None:
        value = min(value, rule.upper_bound)
    return round(value, 4)


def removal_shares(ref: Reference, cfg: LanguageConfig) -> dict[str, float]:
    """Share of the reference documents each rule removes (the first failing rule, as the filter decides),
    and "total"."""
    reasons = Counter()
    stop = frozenset(cfg.stopwords)
    for text, words, sig in zip(ref.texts, ref.words, ref.signals):
        sig = dict(sig, stop_words=len(stop.intersection(words)) if stop else 0)
        reason = decide(text, sig, cfg, words)
        if reason:
            reasons[reason] += 1
    n = max(len(ref), 1)
    shares = {r: c / n for r, c in reasons.most_common()}
    shares["total"] = sum(reasons.values()) / n
    return shares


def derive(language: str, ref: Reference, english: Reference, english_cfg: LanguageConfig, default_cfg: LanguageConfig,
           method: str = "quantile", min_docs: int = MIN_DOCS) -> Derived:
    """The language's config (FineWeb2's keys) from its reference and the English one."""
    if method not in ("quantile", "meanstd"):
        raise ValueError(f"method must be quantile or meanstd, not {method!r}")
    notes: list[str] = []
    words, share = stopwords(ref.words)
    if share != STOPWORD_SHARES[0]:
        notes.append(f"stopwords: fewer than {MIN_STOPWORDS} words above {STOPWORD_SHARES[0]:.1%}; "
                     f"threshold lowered to {share:.1%} ({len(words)} found)")
    if len(words) > MAX_STOPWORDS:
        notes.append(f"{len(words)} stopword candidates above {share:.1%}: words are not split finely enough "
                     "(no word tokenizer for this script?); stopword check off")
        words = []
    min_stop = english_cfg.min_stop_words or 0
    if words and min_stop:
        found = frozenset(words)
        missing = sum(len(found.intersection(ws)) < min_stop for ws in ref.words) / max(len(ref), 1)
        if missing > MAX_STOPWORD_MISS:
            notes.append(f"{missing:.0%} of the reference has fewer than {min_stop} of the {len(words)} stopwords "
                         "(words too coarse to repeat across documents): stopword check off")
            words = []
    config: dict = {}
    table: list[dict] = []
    if len(ref) < min_docs or len(english) < min_docs:
        small = language if len(ref) < min_docs else "eng_Latn (English reference)"
        notes.append(f"reference too small ({small}: {min(len(ref), len(english))} documents, at least {min_docs} "
                     "needed): thresholds are default.yml's, not derived")
        base = default_cfg.model_dump()
        for rule in RULES:
            if rule.n is None:
                config[rule.key] = base[rule.key]
        config["top_n_grams"] = [list(p) for p in default_cfg.top_n_grams]
        config["dup_n_grams"] = [list(p) for p in default_cfg.dup_n_grams]
    else:
        lists: dict[str, list] = {"top_n_grams": [], "dup_n_grams": []}
        for rule in RULES:
            t_en = rule.english(english_cfg)
            if t_en is None:
                continue
            e_vals, l_vals = english.values(rule.signal), ref.values(rule.signal)
            if len(l_vals) < min_docs or len(e_vals) < min_docs:
                value, used, pos = t_en, "english", f"{len(l_vals)} values"
                notes.append(f"{rule.label}: only {len(l_vals)} documents have this statistic; English threshold kept")
            else:
                value, used, pos = transfer(rule, t_en, e_vals, l_vals, method)
                if used != method:
                    notes.append(f"{rule.label}: English threshold outside (or at the edge of) the English "
                                 "reference; " + {
                        "tail": "scaled by the ratio of the two references' tails",
                        "off": f"check turned off ({pos})"}.get(used, f"English value kept ({pos})"))
            value = value if used == "off" else _bounded(rule, value)
            if rule.n is None:
                config[rule.key] = value
            else:
                lists[rule.key].append([rule.n, value])
            table.append({"rule": rule.label, "english": t_en, "method": used, "position": pos, "value": value,
                          "language_mean": float(l_vals.mean()) if len(l_vals) else None,
                          "english_mean": float(e_vals.mean()) if len(e_vals) else None})
        for key, pairs in lists.items():  # a repeated (n+1)-gram holds a repeated n-gram: thresholds fall with n
            pairs.sort()
            for prev, cur in zip(pairs, pairs[1:]):
                if cur[1] > prev[1]:
                    notes.append(f"{key}[{cur[0]}]: {cur[1]} above the {prev[0]}-gram threshold; lowered to "
                                 f"{prev[1]} (thresholds fall with n)")
                    cur[1] = prev[1]
        config.update(lists)
        if config.get("min_avg_word_length", 0) > config.get("max_avg_word_length", np.inf):
            raise ValueError(f"{language}: derived min_avg_word_length above max_avg_word_length")
    config["stopwords"] = words
    config["min_stop_words"] = english_cfg.min_stop_words if words else None
    result = Derived(config=config, notes=notes, table=table)
    result.removal = removal_shares(ref, LanguageConfig.model_validate(_with_defaults(config, default_cfg)))
    return result


def _with_defaults(config: dict, default_cfg: LanguageConfig) -> dict:
    return {**default_cfg.model_dump(), **config}
