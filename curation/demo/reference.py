"""Reference corpora per language from the UDHR translations the demo already uses (offline, 448 languages).

A declaration is ~30 sections (preamble, articles). The even-numbered sections feed the `derive` split, the
odd-numbered ones the `heldout` split, so thresholds derived on one are checked on text they never saw.
A document is a window of 3-8 consecutive sections of one split, each paragraph kept with probability 0.8,
rendered as a page (heading line, paragraph lines, a blank line between sections). Windows overlap, so the
documents of a language are not independent: the corpus shows the spread of the statistics over passages
of one long, clean text, which is what the demo's pages are made of.
"""

from __future__ import annotations

import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from curation.demo.build import HEAD, load_udhr, verify_tgz
from langid.labels import dominant_script

DOCS_PER_LANGUAGE = 300
# the demo's UDHR codes whose documents language ID labels with another code (individual language vs its
# macrolanguage in lid.176 / GlotLID): the reference takes the label the pipeline will see
LABEL_ALIASES = {"pes": "fas", "zlm": "zsm", "pbu": "pbt"}


def language_label(iso: str, text: str) -> str:
    return f"{iso}_{dominant_script(text)}"


def _render(sections: list[tuple[str, list[str]]], rng: random.Random) -> str:
    blocks = []
    for heading, paras in sections:
        kept = [p for p in paras if rng.random() < 0.8] or paras[:1]
        blocks.append("\n".join(([heading] if heading else []) + kept))
    return "\n\n".join(blocks)


def documents(sections: list[tuple[str, list[str]]], n: int, rng: random.Random) -> list[str]:
    """`n` page-like documents from windows of consecutive sections."""
    if not sections:
        return []
    out = []
    for _ in range(n):
        k = min(rng.randint(3, 8), len(sections))
        start = rng.randrange(len(sections) - k + 1)
        out.append(_render(sections[start:start + k], rng))
    return out


def build(tgz: str | Path, out_dir: str | Path, isos: list[str] | None = None,
          docs_per_language: int = DOCS_PER_LANGUAGE, seed: int = 0) -> dict[str, int]:
    """Write `derive.parquet` and `heldout.parquet` (id, text, language, source) for the languages `isos`
    (default: the demo's head languages); returns documents per language label."""
    docs, _ = load_udhr(verify_tgz(Path(tgz)))
    codes = {iso: HEAD[iso][0] if iso in HEAD else next((c for c, d in sorted(docs.items()) if d.iso == iso), None)
             for iso in (isos or HEAD)}
    rows = {"derive": [], "heldout": []}
    counts: dict[str, int] = {}
    for iso, code in codes.items():
        d = docs.get(code) if code else None
        if d is None or len(d.sections) < 6:
            continue
        label = language_label(LABEL_ALIASES.get(iso, iso), " ".join(p for _, ps in d.sections for p in ps))
        rng = random.Random(f"reference/{seed}/{code}")
        for split, part in (("derive", d.sections[0::2]), ("heldout", d.sections[1::2])):
            for i, text in enumerate(documents(part, docs_per_language, rng)):
                rows[split].append({"id": f"udhr-{code}-{split}-{i}", "text": text, "language": label,
                                    "source": f"udhr-6.0.0/{code}"})
        counts[label] = docs_per_language
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for split, r in rows.items():
        tmp = out / f".{split}.parquet.tmp"
        pq.write_table(pa.Table.from_pylist(r), tmp)
        tmp.rename(out / f"{split}.parquet")
    return counts
