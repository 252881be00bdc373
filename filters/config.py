"""Per-language quality configs: one YAML per `iso639-3_Script` in `filters/configs/`, same keys for all
(FineWeb2's), with `default.yml` for languages that have none yet."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from curation.core import CurationError

CONFIG_DIR = Path(__file__).parent / "configs"


class LanguageConfig(BaseModel):
    """Thresholds of the Gopher repetition, FineWeb quality and Gopher quality filters for one language.

    A threshold of -1 (or null) turns its check off."""

    model_config = ConfigDict(extra="forbid")

    language_score: float | None = Field(None, description="minimum language-ID confidence")
    language_score_model: str | None = Field(
        None, description="the language-ID model whose scores language_score is a cut of (e.g. glotlid, lid176); "
                          "a run with another model must not apply it")
    dup_line_frac: float | None = 0.3
    top_n_grams: list[tuple[int, float]] = [(2, 0.2), (3, 0.18), (4, 0.16)]
    dup_n_grams: list[tuple[int, float]] = [(n, f) for n, f in zip(range(5, 11), (0.15, 0.14, 0.13, 0.12, 0.11, 0.1))]
    line_punct_thr: float | None = 0.12
    min_avg_word_length: float | None = 3
    max_avg_word_length: float | None = 10
    max_non_alpha_words_ratio: float | None = 0.8
    new_line_ratio: float | None = 0.3
    char_duplicates_ratio: float | None = 0.1
    min_doc_words: int | None = 50
    max_doc_words: int | None = 100_000
    max_symbol_word_ratio: float | None = 0.1
    max_bullet_lines_ratio: float | None = 0.9
    max_ellipsis_lines_ratio: float | None = 0.3
    min_stop_words: int | None = 2
    stopwords: list[str] = []

    def enabled(self, key: str) -> bool:
        value = getattr(self, key)
        return value is not None and value != -1


@lru_cache(maxsize=None)
def load_config(language: str, config_dir: str | None = None) -> tuple[LanguageConfig, str]:
    """The config for `language` and the file it came from (`default.yml` when the language has none)."""
    folder = Path(config_dir) if config_dir else CONFIG_DIR
    path = folder / f"{language}.yml"
    if not path.exists():
        path = folder / "default.yml"
        if not path.exists():
            path = CONFIG_DIR / "default.yml"
    try:
        # libyaml's loader when present: 10x faster, and every run reads all ~100 configs (langid thresholds)
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or {}
        return LanguageConfig.model_validate(data), path.name
    except (OSError, yaml.YAMLError, ValidationError) as e:
        raise CurationError(f"{path}: invalid language config ({str(e).splitlines()[0]})") from None


def language_scores(config_dir: str | None = None) -> dict[str, float]:
    """Minimum language-ID confidence of every language that has a config of its own (not the default)."""
    folder = Path(config_dir) if config_dir else CONFIG_DIR
    scores = {}
    for path in sorted(folder.glob("*_*.yml")):
        cfg, _ = load_config(path.stem, config_dir)
        if cfg.language_score is not None:
            scores[path.stem] = cfg.language_score
    return scores
