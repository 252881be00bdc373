"""Counting a boilerplate partition in ranges (bounded memory) gives exactly the keys counted all at once."""

import numpy as np

from dedup.boilerplate import count_partition


def test_partition_counted_in_ranges_equals_all_at_once(tmp_path):
    rng = np.random.default_rng(5)
    top = np.uint64(17) << np.uint64(58)  # one partition: the same top 6 bits
    common = rng.integers(0, 2**58, 300, dtype=np.uint64) | top  # recurring lines (some host-tagged: odd)
    paths = []
    for task in range(5):
        rare = rng.integers(0, 2**58, 4000, dtype=np.uint64) | top
        often = common[rng.integers(0, len(common), 3000)]
        keys = np.concatenate([rare, often])
        rng.shuffle(keys)
        path = tmp_path / f"lines_{task}.u64"
        keys.tofile(path)
        paths.append(path)
    whole = count_partition(paths, 3, 50)
    size = sum(p.stat().st_size for p in paths)
    ranged = count_partition(paths, 3, 50, max_bytes=size // 20)  # 32 ranges
    assert len(whole) > 50 and np.array_equal(whole, ranged)
    assert np.all(ranged[1:] > ranged[:-1])  # sorted, each once
    assert set(ranged.tolist()) <= set(common.tolist())
