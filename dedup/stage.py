"""The `dedup` stage of a manifest: MinHash near-duplicate removal per language, as FineWeb2 places it
(after language ID, before the quality filters).

Dedup must see every document of a language before it can keep any, so the runner splits the pipeline
here: the stages before it run and write their output, the dedup runs over that output, and the stages
after it read the kept documents (with `minhash_cluster_size` and `minhash_cluster_id` in metadata).
"""

from __future__ import annotations

from typing import Literal

from curation.core import CurationError, Stage, register_stage
from dedup.minhash import MinhashConfig


@register_stage("dedup")
class MinhashDedup(Stage):
    """Remove near-duplicates within each language (word 5-grams, 14 bands x 8 hashes: FineWeb2's setting).

    Args:
        n_grams: words per shingle
        num_buckets: LSH bands
        hashes_per_bucket: hashes per band (threshold about (1/bands)^(1/hashes), 0.72 by default)
        seed: seed of the hash permutations (keep it fixed across runs and snapshots)
        index: folder of a persistent index of earlier runs' kept documents (e.g. earlier crawl snapshots):
            their duplicates are removed too, and this run's kept documents are added to it
    """

    name = "🫂 MinHash dedup"
    type = "🫂 - DEDUP"
    barrier = True  # the runner ends a pass of the pipeline here

    def __init__(self, n_grams: int = 5, num_buckets: int = 14, hashes_per_bucket: int = 8, seed: int = 1,
                 index: str | None = None):
        super().__init__()
        self.index = index
        if n_grams < 1 or num_buckets < 1 or hashes_per_bucket < 1:
            raise ValueError("n_grams, num_buckets and hashes_per_bucket must be at least 1")
        self.config = MinhashConfig(n_grams, num_buckets, hashes_per_bucket, seed)

    def run(self, data, rank: int = 0, world_size: int = 1):
        raise CurationError("the dedup stage runs between two passes of a manifest run (curate run), "
                            "or over files with `curate dedup`; it cannot stream documents")


@register_stage("exact_dedup")
class ExactDedup(Stage):
    """Remove exact duplicates within each language: the same normalised text, or the same URL.

    Args:
        by: "text" (datatrove's normalisation: case, numbers, punctuation, whitespace, accents) or "url"
    """

    name = "🧬 Exact dedup"
    type = "🫂 - DEDUP"
    barrier = True

    def __init__(self, by: Literal["text", "url"] = "text"):
        super().__init__()
        self.by = by

    def run(self, data, rank: int = 0, world_size: int = 1):
        raise CurationError("the exact_dedup stage runs between two passes of a manifest run (curate run)")
