"""Per-model language_score thresholds: one file per model, never one model's cut applied to another's scores.

A language-ID probability means something only for the model that gave it: GlotLID's 0.7 for Swahili and
lid.176's 0.7 are different cuts. So thresholds live with the model they were computed for:

- shipped: `langid/score_thresholds/<model_id>.yml` (lid176, curlid, ...);
- a model a user trains: `<model>.thresholds.yml` beside it (`curate langid train` / `curate langid
  thresholds --model PATH` write it), which also names the model's id (how `model_id_of` knows it).

The file: comment header (model, formula, data, command, date), then `model_id`, `formula`, `source` and
`thresholds: {label: value}`.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from curation.atomic import write_text
from curation.core import CurationError

SHIPPED_DIR = Path(__file__).parent / "score_thresholds"
FORMULA = "max(0.3, min(0.9, median - std))"


def read_score_file(path: str | Path) -> tuple[str | None, dict[str, float]]:
    """(model_id, {label: threshold}) of a thresholds file; a clear error for a broken one."""
    import yaml

    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as e:
        raise CurationError(f"{path}: cannot read the thresholds file ({str(e).splitlines()[0]})") from None
    th = data.get("thresholds") if isinstance(data, dict) else None
    if not isinstance(th, dict) or not all(isinstance(v, (int, float)) for v in th.values()):
        raise CurationError(f"{path}: a thresholds file holds 'thresholds: {{label: number, ...}}'")
    return data.get("model_id"), {str(k): float(v) for k, v in th.items()}


def thresholds_for(model_id: str, model_path: str | None = None) -> tuple[dict[str, float], str] | None:
    """The thresholds of model `model_id` and the file they came from: the sidecar beside the model when it
    names this id, else the shipped file of that id; None when there is neither."""
    if model_path and "://" not in model_path:
        from langid.loading import sidecar_path

        side = Path(sidecar_path(model_path))
        if side.exists():
            mid, th = read_score_file(side)
            if mid in (None, model_id):
                return th, str(side)
    shipped = SHIPPED_DIR / f"{model_id}.yml"
    if shipped.exists():
        mid, th = read_score_file(shipped)
        if mid not in (None, model_id):
            raise CurationError(f"{shipped}: says model_id {mid!r}, but is the file of {model_id!r}")
        return th, str(shipped)
    return None


def write_score_file(path: str | Path, model_id: str, rows, data_source: str, command: str) -> int:
    """Write the thresholds of `rows` (langid.thresholds.LanguageThreshold; skipped ones left out); returns
    how many languages got one."""
    import yaml

    kept = {r.language: r.threshold for r in rows if not r.skipped}
    made = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    header = (f"# language_score thresholds of model {model_id!r}: only for that model's probabilities.\n"
              f"# formula (FineWeb2): {FORMULA} of the probabilities the model gives each language on that\n"
              f"# language's own labelled documents; languages with too few documents are left out.\n"
              f"# data: {data_source}\n# command: {command}\n# made: {made}\n")
    body = yaml.safe_dump({"model_id": model_id, "formula": FORMULA, "source": data_source,
                           "thresholds": dict(sorted(kept.items()))}, sort_keys=False, allow_unicode=True)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text(path, header + body)
    return len(kept)
