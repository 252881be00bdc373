"""The buckets step's band parts are about equal in size, although band hashes are MinHash minima (crowded near 0)."""

import numpy as np

from curation.apply.dedup_steps import _slice, band_cuts
from dedup.minhash import config_for, record_dtype, write_bucket


def test_band_parts_split_minhash_minima_evenly(tmp_path):
    config = config_for("robust")
    rng = np.random.default_rng(3)
    paths, total = [], []
    for task in range(3):
        n = 4000 + 1000 * task
        rec = np.zeros(n, record_dtype(config.hashes_per_bucket))
        # each hash the minimum of ~60 uniform values in [0, 2^61), as a document's MinHash is; a few copies
        rec["h"] = rng.integers(0, 2**61, (n, config.hashes_per_bucket, 60), dtype=np.uint64).min(axis=2)
        rec["h"][n // 2:n // 2 + 50] = rec["h"][:50]
        rec["doc"] = np.arange(n)
        path = tmp_path / f"band_{task}.bucket"
        write_bucket(path, rec)
        paths.append(path)
        total.append(n)
    parts = 8
    cuts = band_cuts(paths, parts, config)
    assert cuts == sorted(cuts) and len(cuts) == parts - 1
    sizes = np.zeros(parts, int)
    for path, n in zip(paths, total):
        slices = [_slice(path, k, cuts, config) for k in range(parts)]
        whole = np.concatenate(slices)
        assert len(whole) == n and sorted(whole["doc"].tolist()) == list(range(n))  # each record in one part
        for k, s in enumerate(slices):
            sizes[k] += len(s)
            if k and len(s):
                assert s["h"][:, 0].min() >= cuts[k - 1]
            if k < parts - 1 and len(s):
                assert s["h"][:, 0].max() < cuts[k]
    mean = sum(total) / parts
    assert sizes.max() < 1.25 * mean and sizes.min() > 0.75 * mean, sizes
