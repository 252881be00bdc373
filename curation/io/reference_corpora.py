"""Reference corpora from real text: NTREX-128 news documents, MasakhaNEWS articles, XQuAD paragraphs, split
per language with a fixed seed into `derive.parquet` and `heldout.parquet` (what `curate thresholds derive`
and `benchmarks/thresholds.py` read).

NTREX-128 (github.com/MicrosoftTranslator/NTREX, CC-BY-SA-4.0): 1,997 news sentences in 128 languages,
line-aligned with `DOCUMENT_IDS.tsv` (repository root), which regroups them into 123 documents; a document
is its sentences, one a line. MasakhaNEWS (github.com/masakhane-io/masakhane-news, `data/<lang>/*.tsv`):
native news, headline line + text. XQuAD (github.com/deepmind/xquad): each Wikipedia paragraph a document.
Nothing of these corpora is shipped: a user points the command at the folders they downloaded.
"""

from __future__ import annotations

import csv
import json
import random
import re
import sys
from collections import defaultdict
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from curation.atomic import write_with
from curation.core import CurationError

# NTREX / MasakhaNEWS / XQuAD codes whose FineWeb2 (GlotLID) label is another code or needs its script
CODE_LABELS = {
    "arb": "arb_Arab", "aze-Latn": "azj_Latn", "ckb-Arab": "ckb_Arab", "est": "ekk_Latn", "fas": "fas_Arab",
    "lav": "lvs_Latn", "msa": "zsm_Latn", "mon": "khk_Cyrl", "nep": "npi_Deva", "orm": "gaz_Latn", "pus": "pbt_Arab",
    "sqi": "als_Latn", "swa": "swh_Latn", "uzb": "uzn_Latn", "zho-CN": "cmn_Hani", "zho-TW": "cmn_Hani",
    "yue": "yue_Hani", "snd-Arab": "snd_Arab", "srp-Cyrl": "srp_Cyrl", "srp-Latn": "srp_Latn", "kmr": "kmr_Latn",
    "tgk-Cyrl": "tgk_Cyrl", "sna-Latn": "sna_Latn", "eng-US": "eng_Latn", "jpn": "jpn_Jpan", "kor": "kor_Hang",
    "ar": "arb_Arab", "de": "deu_Latn", "el": "ell_Grek", "en": "eng_Latn", "es": "spa_Latn", "hi": "hin_Deva",
    "ro": "ron_Latn", "ru": "rus_Cyrl", "th": "tha_Thai", "tr": "tur_Latn", "vi": "vie_Latn", "zh": "cmn_Hani",
}
# regional variants and second references that would only duplicate a language
NTREX_SKIP = {"eng-GB", "eng-IN", "fra-CA", "por-BR", "spa-MX", "zho-TW", "newstest2019-ref-2.spa"}


def label_for(code: str, known: set[str], sample: str = "") -> str | None:
    """The iso639-3_Script label of a corpus code: the table above, else the config named `code_*` (of the
    script `sample` is written in, where the code has several)."""
    if code in CODE_LABELS:
        return CODE_LABELS[code]
    matches = sorted(k for k in known if k.split("_")[0] == code.split("-")[0])
    if len(matches) > 1 and sample:
        from langid.labels import dominant_script

        matches = [k for k in matches if k.endswith("_" + dominant_script(sample))]
    return matches[0] if len(matches) == 1 else None


def _known_labels() -> set[str]:
    from filters.config import CONFIG_DIR

    return {p.stem for p in CONFIG_DIR.glob("*_*.yml")} | {"eng_Latn"}


def ntrex_documents(folder: str | Path, document_ids: str | Path | None = None) -> dict[str, list[str]]:
    """NTREX-128's documents per language label (sentences of one document id, one a line)."""
    folder = Path(folder)
    ids_file = Path(document_ids) if document_ids else next(
        (p for p in (folder / "DOCUMENT_IDS.tsv", folder.parent / "DOCUMENT_IDS.tsv") if p.exists()), None)
    if ids_file is None or not ids_file.exists():
        raise CurationError(f"{folder}: DOCUMENT_IDS.tsv not found beside NTREX-128 (it is in the NTREX "
                            "repository's root); give --ntrex-document-ids")
    ids = ids_file.read_text(encoding="utf-8").splitlines()
    known = _known_labels()
    out: dict[str, list[str]] = {}
    for path in sorted(folder.glob("newstest2019-*.txt")):
        code = re.sub(r"^newstest2019-(ref|src)\.|\.txt$", "", path.name)
        if code in NTREX_SKIP or path.name.startswith("newstest2019-ref-2"):
            continue
        lines = path.read_text(encoding="utf-8").splitlines()
        sample = "\n".join(lines[:20])
        label = "eng_Latn" if path.name.startswith("newstest2019-src") else label_for(code, known, sample)
        if label is None or label in out:
            continue
        if len(lines) != len(ids):
            print(f"warning: {path}: {len(lines)} lines, DOCUMENT_IDS.tsv has {len(ids)}; skipped", file=sys.stderr)
            continue
        docs: dict[str, list[str]] = defaultdict(list)
        for doc_id, line in zip(ids, lines):
            if line.strip():
                docs[doc_id].append(line.strip())
        out[label] = ["\n".join(s) for s in docs.values()]
    return out


def masakhanews_documents(folder: str | Path) -> dict[str, list[str]]:
    """MasakhaNEWS articles per language label (headline line, then the text), every split."""
    known = _known_labels()
    out: dict[str, list[str]] = defaultdict(list)
    csv.field_size_limit(1 << 24)
    for lang_dir in sorted(p for p in Path(folder).iterdir() if p.is_dir()):
        first = next(iter(sorted(lang_dir.glob("*.tsv"))), None)
        label = label_for(lang_dir.name, known, first.read_text(encoding="utf-8")[:4000] if first else "")
        if label is None:
            continue
        for split in sorted(lang_dir.glob("*.tsv")):
            with open(split, encoding="utf-8", newline="") as f:
                for row in csv.DictReader(f, delimiter="\t"):
                    text = (row.get("text") or "").strip()
                    if text:
                        out[label].append(f"{(row.get('headline') or '').strip()}\n{text}".strip())
    return dict(out)


def xquad_documents(folder: str | Path) -> dict[str, list[str]]:
    """XQuAD's Wikipedia paragraphs per language label."""
    out: dict[str, list[str]] = {}
    for path in sorted(Path(folder).glob("xquad.*.json")):
        label = CODE_LABELS.get(path.name.split(".")[1])
        if label is None:
            continue
        data = json.loads(path.read_text(encoding="utf-8"))["data"]
        out[label] = [p["context"].strip() for article in data for p in article["paragraphs"] if p["context"].strip()]
    return out


def split(docs: dict[str, dict[str, list[str]]], seed: int = 0, derive_share: float = 0.5) -> dict[str, list[dict]]:
    """Rows of the derive and held-out splits: each source's documents of a language shuffled with a seed of
    its own (seed, source, language) and cut at `derive_share`."""
    rows: dict[str, list[dict]] = {"derive": [], "heldout": []}
    for source, by_lang in sorted(docs.items()):
        for lang, texts in sorted(by_lang.items()):
            order = list(range(len(texts)))
            random.Random(f"{seed}/{source}/{lang}").shuffle(order)
            cut = round(len(order) * derive_share)
            for k, i in enumerate(order):
                part = "derive" if k < cut else "heldout"
                rows[part].append({"id": f"{source}/{lang}/{i}", "text": texts[i], "language": lang, "source": source})
    return rows


def build(out_dir: str | Path, ntrex: str | None = None, ntrex_ids: str | None = None, masakhanews: str | None = None,
          xquad: str | None = None, seed: int = 0, languages: list[str] | None = None) -> dict[str, dict[str, int]]:
    """Write `derive.parquet` and `heldout.parquet`; returns documents per split and language."""
    docs: dict[str, dict[str, list[str]]] = {}
    if ntrex:
        docs["ntrex"] = ntrex_documents(ntrex, ntrex_ids)
    if masakhanews:
        docs["masakhanews"] = masakhanews_documents(masakhanews)
    if xquad:
        docs["xquad"] = xquad_documents(xquad)
    if not docs:
        raise CurationError("no reference corpus given (--ntrex, --masakhanews, --xquad)")
    if languages:
        docs = {s: {k: v for k, v in d.items() if k in languages} for s, d in docs.items()}
    rows = split(docs, seed)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    counts: dict[str, dict[str, int]] = {}
    for part, part_rows in rows.items():
        table = pa.Table.from_pylist(part_rows, schema=pa.schema([("id", pa.string()), ("text", pa.string()),
                                                                  ("language", pa.string()), ("source", pa.string())]))
        write_with(out / f"{part}.parquet", lambda p, t=table: pq.write_table(t, p))
        for r in part_rows:
            counts.setdefault(part, {}).setdefault(r["language"], 0)
            counts[part][r["language"]] += 1
    return counts
