"""The YAML a user hands `curate train` (and `curate ablate`), validated with errors that name the file and key."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from curation.core import CurationError
from curation.train.model import ModelConfig


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DataSource(_Strict):
    path: str  # a folder of .ds shards written by `curate tokenize`
    weight: float = 1.0


class EvalConfig(_Strict):
    paths: list[str]  # held-out Parquet/JSONL (a `language` column splits it per language)
    every: int = 100  # steps between evaluations (and at the end)
    max_bytes_per_language: int = 50_000
    language: str | None = None  # one label for all held-out text when it has no language column
    batch_size: int = 16


class TrainConfig(_Strict):
    tokenizer: str
    data: list[DataSource] = Field(min_length=1)
    output: str
    model: ModelConfig = ModelConfig()
    eval: EvalConfig | None = None
    steps: int = 1000
    batch_size: int = 16
    lr: float = 3e-3
    min_lr: float = 3e-4
    warmup: int = 50
    weight_decay: float = 0.1
    betas: tuple[float, float] = (0.9, 0.95)
    grad_clip: float = 1.0
    seed: int = 0
    checkpoint_every: int = 100
    device: str = "auto"  # auto: CUDA when present, else CPU
    precision: Literal["float32", "bfloat16"] = "float32"  # bfloat16: autocast (matmuls in bf16, weights float32)
    threads: int | None = None  # CPU threads for torch (None: torch's default); 1 is fastest on a busy machine


class AblationConfig(TrainConfig):
    """A training config plus the dataset variants to compare and the seeds to repeat each with."""

    data: list[DataSource] = []
    variants: dict[str, list[DataSource]] = Field(min_length=2)
    seeds: list[int] = [0, 1, 2]


def _problems(e: ValidationError, source: str) -> str:
    lines = []
    for err in e.errors():
        key = ".".join(str(x) for x in err["loc"]) or "(top level)"
        lines.append(f"{source}: {key}: {err['msg']}")
    return "\n".join(lines)


def load_config(path: str | Path, kind: type[BaseModel] = TrainConfig, **overrides):
    path = Path(path)
    if not path.is_file():
        raise CurationError(f"{path}: no such config file")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as e:
        raise CurationError(f"{path}: not valid YAML ({e})") from None
    if not isinstance(raw, dict):
        raise CurationError(f"{path}: want a mapping of keys (tokenizer, data, output, model, ...)")
    raw.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return kind.model_validate(raw)
    except ValidationError as e:
        raise CurationError(_problems(e, str(path))) from None
