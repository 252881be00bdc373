"""The `crawl` section of a manifest: which Common Crawl snapshots `curate crawl sync` processes, from where,
and where it records what it did. Kept free of heavy imports: curation.manifest imports it."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

PUBLIC_INDEX = "https://index.commoncrawl.org/collinfo.json"
PUBLIC_DATA = "https://data.commoncrawl.org/"


class CrawlSpec(BaseModel):
    """Snapshots to process with this manifest's pipeline; each batch of files is one run of the manifest,
    written to `<output.path>/<snapshot>/batch_<n>/`."""

    model_config = ConfigDict(extra="forbid")

    index_url: str = Field(PUBLIC_INDEX, description="Common Crawl's collinfo.json, or a mirror of it: a local "
                                                     "folder or fsspec URL holding collinfo.json and crawl-data/")
    data_url: str | None = Field(None, description="base URL of crawl-data/<snapshot>/*.paths.gz and the files they "
                                                   f"list (default: {PUBLIC_DATA} for the public index, else the "
                                                   "folder holding collinfo.json)")
    kind: Literal["warc", "wet"] = Field("warc", description="which files of each snapshot: warc (HTML, with the "
                                                             "extract stage) or wet (text Common Crawl extracted)")
    snapshots: list[str] = Field(["*"], description="snapshot ids or globs to process, e.g. [CC-MAIN-2024-*]")
    since: str | None = Field(None, description="only this snapshot and newer ones (an id from the index)")
    max_files: int | None = Field(None, gt=0, description="process only the first N files of each snapshot "
                                                          "(a trial run); the ledger still lists them all")
    files_per_batch: int = Field(1, ge=1, description="input files per run of the pipeline")
    ledger: str | None = Field(None, description="SQLite ledger (default: <output.path>/crawl-ledger.sqlite)")
    dedup_index: str | None = Field(None, description="persistent MinHash index shared by all snapshots, so each "
                                                      "is deduplicated against the earlier ones (default: "
                                                      "<output.path>/_dedup_index); used by the dedup stage")

    @field_validator("snapshots", mode="before")
    @classmethod
    def _one_or_all(cls, v):
        if v == "all":
            return ["*"]
        return [v] if isinstance(v, str) else v
