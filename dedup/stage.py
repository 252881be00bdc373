"""The `dedup` stage of a manifest: MinHash near-duplicate removal per language, as FineWeb2 places it
(after language ID, before the quality filters).

Dedup must see every document of a language before it can keep any, so the runner splits the pipeline
here: the stages before it run and write their output, the dedup runs over that output, and the stages
after it read the kept documents (with `minhash_cluster_size` and `minhash_cluster_id` in metadata).
"""

from __future__ import annotations

from typing import Literal

from curation.core import CurationError, Stage, StageKind, register_stage
from dedup.minhash import config_for

# Below this many documents one process beats the steps across tasks: the demo's 2,621 documents in 246
# languages took 378 s as steps on 2 tasks and 83 s of CPU in one process (benchmarks/RESULTS.md, issue 17),
# while 250,000 documents of one language cost the steps 52 CPU s, spread over the tasks.
STEPS_FROM = 200_000


@register_stage("dedup")
class MinhashDedup(Stage):
    """Remove near-duplicates within each language with MinHash.

    mode "robust" (default): lines that recur on many pages of one host or of the input (navigation,
    footers, cookie banners, templates) are left out of the shingles; word 3-grams, 28 bands x 4 hashes;
    every candidate pair is checked by its estimated Jaccard (>= threshold, or containment >= containment
    at half the threshold) and a document joins a cluster only if it is similar to its representative.
    mode "fineweb2": FineWeb2's MinHash exactly (word 5-grams, 14 bands x 8, union-find over all pairs).

    Args:
        mode: "robust" or "fineweb2"
        n_grams: words per shingle (default: the mode's, 3 or 5)
        num_buckets: LSH bands (28 or 14)
        hashes_per_bucket: hashes per band (4 or 8; candidates from a Jaccard of about (1/bands)^(1/hashes))
        threshold: robust: estimated Jaccard of the whole signatures a pair needs (0.3)
        containment: robust: or this share of the smaller document found in the larger (0.8; 1: off)
        exact_margin: robust: pairs whose estimate is within this of a bound get their exact Jaccard (0.1; 0: off)
        boilerplate: robust: leave recurring lines out of the shingles (true)
        boilerplate_host_docs: a line on this many pages of one host is boilerplate (3)
        boilerplate_docs: a line on this many pages of the input is boilerplate (50)
        seed: seed of the hash permutations (keep it fixed across runs and snapshots)
        index: folder of a persistent index of earlier runs' kept documents (e.g. earlier crawl snapshots):
            their duplicates are removed too, and this run's kept documents are added to it
        band_parts: runs of more than one task: each band's records are split into this many hash ranges,
            one buckets job each (a job peaks at about 180 bytes x documents of the language / band_parts)
        verify_parts: runs of more than one task, mode robust: the candidate pairs are split into this many
            verify jobs by their earlier document (a job holds its pairs and their documents' signatures)
        steps_from: runs of more than one task on the local or Ray executor: the dedup runs as steps across
            the tasks when its input holds at least this many documents, below that in one process, which is
            faster there (no step start-up, no files per language between steps). 0: always as steps. On Slurm
            the steps are submitted before the input exists, so tasks > 1 always means steps
    """

    name = "🫂 MinHash dedup"
    type = StageKind.DEDUP
    barrier = True  # the runner ends a pass of the pipeline here

    def __init__(self, mode: Literal["robust", "fineweb2"] = "robust", n_grams: int | None = None,
                 num_buckets: int | None = None, hashes_per_bucket: int | None = None,
                 threshold: float | None = None, containment: float | None = None, exact_margin: float | None = None,
                 boilerplate: bool | None = None,
                 boilerplate_host_docs: int | None = None, boilerplate_docs: int | None = None, seed: int = 1,
                 index: str | None = None, band_parts: int = 1, verify_parts: int = 16,
                 steps_from: int = STEPS_FROM):
        super().__init__()
        self.index = index
        if not isinstance(band_parts, int) or band_parts < 1:
            raise CurationError(f"dedup band_parts = {band_parts!r}: must be a whole number of at least 1")
        if not isinstance(verify_parts, int) or verify_parts < 1:
            raise CurationError(f"dedup verify_parts = {verify_parts!r}: must be a whole number of at least 1")
        if not isinstance(steps_from, int) or steps_from < 0:
            raise CurationError(f"dedup steps_from = {steps_from!r}: must be a whole number of documents (0: always)")
        self.band_parts, self.verify_parts, self.steps_from = band_parts, verify_parts, steps_from
        self.config = config_for(mode, n_grams=n_grams, num_buckets=num_buckets, hashes_per_bucket=hashes_per_bucket,
                                 threshold=threshold, containment=containment, exact_margin=exact_margin,
                                 boilerplate=boilerplate,
                                 boilerplate_host_docs=boilerplate_host_docs, boilerplate_docs=boilerplate_docs,
                                 seed=seed)

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
    type = StageKind.DEDUP
    barrier = True

    def __init__(self, by: Literal["text", "url"] = "text"):
        super().__init__()
        self.by = by

    def run(self, data, rank: int = 0, world_size: int = 1):
        raise CurationError("the exact_dedup stage runs between two passes of a manifest run (curate run)")
