"""Rephrasing styles as editable template files, the output-language names they use, and quality routing.

A style is a YAML file (rephrase/styles/<name>.yml: `system`, `prompt` with `{language}` and `{text}`,
`max_output_tokens`, `temperature`, `top_p`, optional `max_input_tokens`). A user copies one, edits it and
passes its path wherever a style name is accepted. Routing follows Nemotron-CC: documents below a quality
score get the Wikipedia-style paraphrase, the others the QA/knowledge styles.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

import yaml

from curation.core import CurationError

BUILTIN_STYLES = ("easy", "wiki", "hard", "qa", "diverse_qa", "distill", "extract_knowledge", "knowledge_list")
LOW_QUALITY_STYLES = ("wiki",)
HIGH_QUALITY_STYLES = ("diverse_qa", "distill", "extract_knowledge", "knowledge_list")
_FIELDS = {"description", "system", "prompt", "max_input_tokens", "max_output_tokens", "temperature", "top_p"}


@dataclass(frozen=True)
class Style:
    name: str
    prompt: str
    system: str = ""
    description: str = ""
    max_input_tokens: int | None = None
    max_output_tokens: int = 512
    temperature: float = 0.7
    top_p: float = 0.9

    def messages(self, text: str, language: str) -> list[dict]:
        """Chat messages for one passage, written in (or into) `language` (a name such as "German")."""
        user = self.prompt.replace("{language}", language).replace("{text}", text)
        msgs = [{"role": "system", "content": self.system}] if self.system else []
        return msgs + [{"role": "user", "content": user}]


def style_path(name_or_path: str) -> Path:
    if name_or_path in BUILTIN_STYLES:
        return Path(str(files("rephrase") / "styles" / f"{name_or_path}.yml"))
    path = Path(name_or_path)
    if path.suffix in (".yml", ".yaml") or path.exists():
        return path
    raise CurationError(f"style '{name_or_path}': not a built-in style ({', '.join(BUILTIN_STYLES)}) "
                        "and no such template file")


@lru_cache(maxsize=64)
def load_style(name_or_path: str) -> Style:
    """A built-in style by name, or a template file by path; errors name the file and the problem."""
    path = style_path(name_or_path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise CurationError(f"style file '{path}': cannot read ({e.strerror or e})") from None
    except yaml.YAMLError as e:
        raise CurationError(f"style file '{path}': not valid YAML ({e})") from None
    if not isinstance(data, dict) or not isinstance(data.get("prompt"), str):
        raise CurationError(f"style file '{path}': needs a 'prompt' text with {{text}} where the passage goes")
    unknown = set(data) - _FIELDS
    if unknown:
        raise CurationError(f"style file '{path}': unknown keys {sorted(unknown)} (known: {sorted(_FIELDS)})")
    if "{text}" not in data["prompt"]:
        raise CurationError(f"style file '{path}': the prompt has no {{text}} placeholder for the passage")
    name = path.stem if name_or_path not in BUILTIN_STYLES else name_or_path
    try:
        return Style(name=name, prompt=data["prompt"],
                     system=str(data.get("system") or ""), description=str(data.get("description") or ""),
                     max_input_tokens=_int(data, "max_input_tokens", path, None),
                     max_output_tokens=_int(data, "max_output_tokens", path, 512),
                     temperature=float(data.get("temperature", 0.7)), top_p=float(data.get("top_p", 0.9)))
    except (TypeError, ValueError) as e:
        raise CurationError(f"style file '{path}': {e}") from None


def _int(data: dict, key: str, path: Path, default):
    value = data.get(key, default)
    if value is None:
        return None
    if not isinstance(value, int) or value < 1:
        raise CurationError(f"style file '{path}': '{key}' must be a positive whole number, got {value!r}")
    return value


# ------------------------------------------------------------------------------------------- languages


@lru_cache(maxsize=1)
def builtin_language_names() -> dict[str, str]:
    return yaml.safe_load((files("rephrase") / "languages.yml").read_text(encoding="utf-8"))


def language_name(code: str, extra: dict[str, str] | None = None) -> str | None:
    """The English name of an `iso639-3_Script` label (or a bare iso639-3 code) for the prompt, or None
    when the templates have no name for it (such documents are skipped and counted)."""
    if not code:
        return None
    for table in (extra or {}, builtin_language_names()):
        if code in table:
            return table[code]
    base = code.split("_")[0]
    for table in (extra or {}, builtin_language_names()):
        for key, name in table.items():
            if key.split("_")[0] == base:
                return name
    return None


# ------------------------------------------------------------------------------------------- routing


@dataclass(frozen=True)
class Routing:
    """Which styles a document gets: the fixed `styles`, or, with `quality_field` set, `low` below
    `threshold` and `high` at or above it (Nemotron-CC)."""

    styles: tuple[str, ...] = ()
    quality_field: str | None = None
    threshold: float = 0.5
    low: tuple[str, ...] = LOW_QUALITY_STYLES
    high: tuple[str, ...] = HIGH_QUALITY_STYLES

    def __post_init__(self):
        if not self.styles and not self.quality_field:
            raise CurationError("rephrase: give at least one style, or a quality field to route on")
        for s in self.all_styles():
            load_style(s)  # a bad template is an error before any document is read

    def all_styles(self) -> tuple[str, ...]:
        names = self.styles if not self.quality_field else self.low + self.high
        return tuple(dict.fromkeys(names))

    def styles_for(self, metadata: dict) -> tuple[str, ...] | None:
        """The styles for one document, or None when routing needs a quality score it lacks."""
        if not self.quality_field:
            return self.styles
        score = metadata.get(self.quality_field)
        try:
            score = float(score)
        except (TypeError, ValueError):
            return None
        if score != score:
            return None
        return self.high if score >= self.threshold else self.low
