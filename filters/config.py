"""Per-language quality configs: one YAML per `iso639-3_Script` in `filters/configs/`, same keys for all
(FineWeb2's; its 1,929 released configs are the shipped ones, English keeps FineWeb's defaults), with
`default.yml` for languages that have none. Each is read when its language is first seen, never all at once."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from curation.core import CurationError

CONFIG_DIR = Path(__file__).parent / "configs"
DEFAULT_CONFIG = "default.yml"  # the config of a language that has none of its own
_MODEL_LINE = re.compile(r"^language_score_model:[ \t]*['\"]?([\w.-]+)", re.M)


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


_LANGUAGE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


@lru_cache(maxsize=None)
def load_config(language: str, config_dir: str | None = None) -> tuple[LanguageConfig, str]:
    """The config for `language` and the file it came from (`default.yml` when the language has none)."""
    folder = Path(config_dir) if config_dir else CONFIG_DIR
    path = folder / f"{language}.yml"
    if not _LANGUAGE_NAME.fullmatch(str(language)) or not path.exists():  # a language value is data, not a path
        path = folder / "default.yml"
        if not path.exists():
            path = CONFIG_DIR / "default.yml"
    try:
        # libyaml's loader when present: 10x faster
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or {}
        return LanguageConfig.model_validate(data), path.name
    except (OSError, yaml.YAMLError, ValidationError) as e:
        raise CurationError(f"{path}: invalid language config ({str(e).splitlines()[0]})") from None


def model_id(model: str | None) -> str:
    """The name a config's `language_score_model` uses for a language-ID model given as a path, URL or name:
    `lid176` for fastText's lid.176 (the default model), `glotlid` for GlotLID, else the file's stem."""
    name = Path(str(model or "lid176").rstrip("/")).name.lower()
    if "glotlid" in str(model).lower():
        return "glotlid"
    if name.startswith(("lid176", "lid.176")):
        return "lid176"
    return name.split(".")[0]


class LanguageScores(Mapping):
    """language -> `language_score` of its own config, read lazily (one file when a language is first asked
    for: 1,929 configs are not loaded at start). With `model`, only thresholds made for that model count
    (`language_score_model` equal to it): one model's threshold is never applied to another model's scores."""

    def __init__(self, config_dir: str | None = None, model: str | None = None):
        self.config_dir = config_dir
        self.model = model
        self.folder = Path(config_dir) if config_dir else CONFIG_DIR
        self._names: list[str] | None = None

    def _score(self, language: str) -> float | None:
        if not (self.folder / f"{language}.yml").exists():
            return None
        cfg, _ = load_config(language, self.config_dir)
        if self.model is not None and cfg.language_score_model != self.model:
            return None
        return cfg.language_score

    def __getitem__(self, language: str) -> float:
        score = self._score(language)
        if score is None:
            raise KeyError(language)
        return score

    def get(self, language, default=None):
        score = self._score(language)
        return default if score is None else score

    def __contains__(self, language) -> bool:
        return isinstance(language, str) and self._score(language) is not None

    def __iter__(self):
        if self._names is None:
            self._names = sorted(p.stem for p in self.folder.glob("*_*.yml"))
        return (lang for lang in self._names if not self._other_model(lang) and self._score(lang) is not None)

    def _other_model(self, language: str) -> bool:
        """Whether the file's head names another model (FineWeb2's put the key first): then it is skipped
        without parsing, so listing a model's thresholds does not load 1,929 configs."""
        if self.model is None:
            return False
        with open(self.folder / f"{language}.yml", encoding="utf-8") as f:
            found = _MODEL_LINE.search(f.read(1000))
        return found is not None and found.group(1) != self.model

    def __len__(self) -> int:
        return sum(1 for _ in self)


def language_scores(config_dir: str | None = None, model: str | None = None) -> LanguageScores:
    """Minimum language-ID confidence of every language that has a config of its own (not the default), for
    `model` (a `model_id`; None: whatever model each config names), loaded per language on first use."""
    return LanguageScores(config_dir, model)
