"""The `mixture` section of a manifest: what goes into a training mixture and how much of each language.

Kept as typed models so a mixture manifest gets the same errors as a pipeline manifest (file, line, key)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SamplingSpec(_Strict):
    """How big each language's share of the mixture is (in `unit`s, after rehydration)."""

    strategy: Literal["proportional", "temperature", "unimax", "weights"] = Field(
        "proportional", description="proportional: as the data is; temperature: p_l ~ n_l^alpha; unimax: the same "
                                    "budget for every language, small ones capped at epoch_cap; weights: given shares")
    total: float | None = Field(None, gt=0, description="budget of the whole mixture in `unit`s (default: proportional "
                                                        "takes everything once, weights the most that repeats no "
                                                        "language; temperature and unimax need it)")
    alpha: float = Field(0.3, ge=0, le=1, description="temperature exponent (1 = proportional, 0 = uniform)")
    weights: dict[str, float] | None = Field(None, description="strategy weights: share per language, summing to 1")
    epoch_cap: float = Field(4.0, gt=0, description="most passes over a language's rehydrated data (4: "
                                                     "Muennighoff et al. 2023, repeated data as good as new)")

    @model_validator(mode="after")
    def _needs(self):
        if self.strategy in ("temperature", "unimax") and self.total is None:
            raise ValueError(f"strategy '{self.strategy}' needs 'total' (the mixture's budget in units)")
        if self.strategy == "weights":
            if not self.weights:
                raise ValueError("strategy 'weights' needs 'weights: {language: share, ...}'")
            bad = [k for k, v in self.weights.items() if v < 0]
            if bad:
                raise ValueError(f"weights must not be negative ({', '.join(bad)})")
            s = sum(self.weights.values())
            if abs(s - 1.0) > 1e-6:
                raise ValueError(f"weights sum to {s:.6g}, not 1 (shares of the mixture)")
        elif self.weights:
            raise ValueError(f"'weights' is only read by strategy 'weights', not '{self.strategy}'")
        return self


class RephrasedSpec(_Strict):
    """Rephrased documents (`<source>/<language>/*.parquet`) mixed in at `ratio` rephrased per original document."""

    source: str
    ratio: float = Field(0.3, ge=0, description="rephrased documents per original document of the same language")
    ratios: dict[str, float] = Field(default_factory=dict, description="per-language ratios replacing `ratio`")


class ReplaySpec(_Strict):
    """Continual pre-training: a share of earlier data (an earlier mixture, or a language folder) mixed back in."""

    source: str = Field(description="folder of Parquet files (searched recursively), e.g. an earlier mixture's data/")
    share: float = Field(gt=0, lt=1, description="share of the final mixture, in `unit`s, taken from the replay source")


class MixtureSpec(_Strict):
    """A training mixture built from a pipeline's output (`input/<language>/*.parquet`)."""

    input: str | None = Field(None, description="the pipeline's output folder (one folder of Parquet files per "
                                                 "language); in a pipeline manifest, its output.path by default")
    output: str = Field(description="the mixture folder (data/<language>/*.parquet, mixture.json, README.md)")
    languages: list[str] | None = Field(None, description="languages to mix (default: every folder in input)")
    seed: int = 0
    unit: Literal["documents", "tokens"] = Field("documents", description="what budgets count")
    tokenizer: str = Field("bytes", description="what a token is: bytes (UTF-8), words (whitespace), or a "
                                                "tokenizers JSON file (tokenizer.json)")
    rehydration: str = Field("fineweb2", description="fineweb2 (the cluster-size table), none, or a folder of "
                                                     "per-language weights from `curate mix rehydration-weights`")
    sampling: SamplingSpec = SamplingSpec()
    rephrased: RephrasedSpec | None = None
    replay: ReplaySpec | None = None
    shard_size_mb: float = Field(256, gt=0,
                                 description="uncompressed bytes of rows per shard (memory is about 4 shards)")
    row_group_size: int = Field(1000, gt=0, description="rows per Parquet row group (small groups stream well)")
    card: dict = Field(default_factory=dict, description="dataset card fields: pretty_name, license, description")

    @field_validator("languages")
    @classmethod
    def _unique(cls, v):
        if v is not None and len(set(v)) != len(v):
            raise ValueError("a language is listed twice")
        return v
