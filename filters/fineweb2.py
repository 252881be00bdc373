"""FineWeb2's released per-language data, shipped as this project's defaults: where it came from, and how
to copy it in again (`curate thresholds import-fineweb2`).

FineWeb2 (huggingface/fineweb-2, Apache-2.0) released a quality config per language-script (1,929 of them)
and the precision filter's wordlists, URL whitelist and contamination scores. The configs are copied with
their values unchanged, under a header that names the source and the model their `language_score` belongs
to (GlotLID v3); the precision data of the languages FineWeb2 precision-filtered (contamination score above
0.1) goes to `filters/fineweb2_precision/`.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from curation.atomic import write_text
from curation.core import CurationError

REPOSITORY = "huggingface/fineweb-2"
COMMIT = "d0defb24f193bb9a5a11b8b14524a03c4858e1b6"
LICENSE_NAME = "LICENSE-fineweb2"  # FineWeb2's Apache-2.0 licence, beside the files it covers
SCORE_MODEL = "glotlid"  # FineWeb2's language_score values are GlotLID v3 probabilities
PRECISION_DIR = Path(__file__).parent / "fineweb2_precision"
CONTAMINATION_MIN = 0.1  # FineWeb2 precision-filtered the languages whose contamination score is above this
ENGLISH = "eng_Latn"  # FineWeb2 has no English config: English runs FineWeb's English defaults
_NAME = re.compile(r"^[a-z]{3}_[A-Z][a-z]{3}$")


def config_header(language: str) -> str:
    """The comment lines and the model key put above FineWeb2's own config text."""
    return (f"# {language}: FineWeb2's released quality config, values unchanged (below the model line).\n"
            f"# source: {REPOSITORY} commit {COMMIT}, configs/{language}.yml\n"
            f"# licence: Apache-2.0, see {LICENSE_NAME} in this folder\n"
            "# language_score is a GlotLID v3 probability: it applies only to a run whose language ID is GlotLID.\n"
            f"language_score_model: {SCORE_MODEL}\n")


def is_fineweb2_config(path: str | Path) -> bool:
    """Whether a config file is FineWeb2's (its header names the source)."""
    try:
        with open(path, encoding="utf-8") as f:
            return f"source: {REPOSITORY} commit" in f.read(400)
    except OSError:
        return False


def import_configs(source: str | Path, output: str | Path, replace_derived: bool = True) -> dict[str, int]:
    """Copy FineWeb2's `configs/*.yml` into `output` under a source header. English (FineWeb's defaults)
    and `default.yml` are never touched; a config derived for a language FineWeb2 covers is replaced
    (unless `replace_derived` is False, then it is kept)."""
    src, out = Path(source), Path(output)
    folder = src / "configs" if (src / "configs").is_dir() else src
    files = sorted(p for p in folder.glob("*.yml") if _NAME.match(p.stem))
    if not files:
        raise CurationError(f"{source}: no FineWeb2 configs (<iso639-3>_<Script>.yml) found")
    licence = src / "LICENSE" if (src / "LICENSE").exists() else folder.parent / "LICENSE"
    if not licence.exists():
        raise CurationError(f"{source}: FineWeb2's LICENSE not found beside the configs; it must ship with them")
    out.mkdir(parents=True, exist_ok=True)
    counts = {"written": 0, "replaced": 0, "kept": 0}
    for path in files:
        if path.stem == ENGLISH:
            continue
        target = out / path.name
        if target.exists() and not is_fineweb2_config(target):
            if not replace_derived:
                counts["kept"] += 1
                continue
            counts["replaced"] += 1
        write_text(target, config_header(path.stem) + path.read_text(encoding="utf-8"))
        counts["written"] += 1
    shutil.copyfile(licence, out / LICENSE_NAME)
    return counts


def import_precision(source: str | Path, output: str | Path = PRECISION_DIR) -> dict[str, int]:
    """Copy the precision data FineWeb2 applied: the wordlists of the languages whose contamination score
    is above 0.1, the URL whitelist and the contamination scores (which say which languages those are)."""
    src, out = Path(source), Path(output)
    folder = next((f for f in (src / "precision", src / "misc" / "precision_filtering") if f.is_dir()), src)
    scores_file, whitelist_file = folder / "cont_scores.json", folder / "url_whitelist.json"
    for f in (scores_file, whitelist_file):
        if not f.exists():
            raise CurationError(f"{f}: not found (FineWeb2's precision data: cont_scores.json, url_whitelist.json, "
                                "wordlists-0.85/)")
    scores = json.loads(scores_file.read_text(encoding="utf-8"))
    applied = sorted(lang for lang, s in scores.items() if s > CONTAMINATION_MIN)
    (out / "wordlists").mkdir(parents=True, exist_ok=True)
    n = 0
    for lang in applied:
        wl = folder / "wordlists-0.85" / f"{lang}.txt"
        if wl.exists():
            shutil.copyfile(wl, out / "wordlists" / wl.name)
            n += 1
    shutil.copyfile(scores_file, out / "cont_scores.json")
    shutil.copyfile(whitelist_file, out / "url_whitelist.json")
    licence = next((f for f in (folder / "LICENSE", src / "LICENSE") if f.exists()), None)
    if licence is None:
        raise CurationError(f"{source}: FineWeb2's LICENSE not found; it must ship with the data")
    shutil.copyfile(licence, out / LICENSE_NAME)
    return {"contaminated": len(applied), "wordlists": n}
