"""Export `.ds` shards to Megatron-LM / NeMo `IndexedDataset` files (`PREFIX.bin` + `PREFIX.idx`).

`.idx` layout (megatron/core/datasets/indexed_dataset.py): the 9-byte magic `MMIDIDX\\x00\\x00`, version
(uint64 = 1), dtype code (uint8), sequence count (uint64), document count (uint64), then int32 sequence
lengths, int64 byte pointers into `.bin`, and int64 document indices (0, 1, ..., n: one sequence per document).
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np

from curation.tokenize.shards import list_shards

MAGIC = b"MMIDIDX\x00\x00"
# Megatron has no uint32 code: large vocabularies go out as int32 (code 4), as datatrove's exporter does.
DTYPE_CODES = {np.dtype("<u2"): 8, np.dtype("<i4"): 4}


def export_megatron(shard_folder: str | os.PathLike, prefix: str | os.PathLike) -> dict:
    """Write every document of the shards, in shard order, as one Megatron sequence each."""
    shards = list_shards(shard_folder)
    out_dtype = np.dtype("<u2") if shards[0].token_size == 2 else np.dtype("<i4")
    prefix = Path(prefix)
    prefix.parent.mkdir(parents=True, exist_ok=True)
    bin_path, idx_path = prefix.with_name(prefix.name + ".bin"), prefix.with_name(prefix.name + ".idx")
    lengths = []
    with open(bin_path.with_name(bin_path.name + ".tmp"), "wb") as f:
        for shard in shards:
            f.write(np.asarray(shard.tokens()).astype(out_dtype).tobytes())
            ends = shard.doc_ends().astype(np.int64)
            lengths.append(np.diff(ends, prepend=0))
    lengths = np.concatenate(lengths).astype(np.int32)
    pointers = np.concatenate([[0], np.cumsum(lengths.astype(np.int64) * out_dtype.itemsize)[:-1]]).astype("<i8")
    documents = np.arange(len(lengths) + 1, dtype="<i8")
    with open(idx_path.with_name(idx_path.name + ".tmp"), "wb") as f:
        f.write(MAGIC)
        f.write(struct.pack("<Q", 1))
        f.write(struct.pack("<B", DTYPE_CODES[out_dtype]))
        f.write(struct.pack("<Q", len(lengths)))
        f.write(struct.pack("<Q", len(documents)))
        f.write(lengths.astype("<i4").tobytes())
        f.write(pointers.tobytes())
        f.write(documents.tobytes())
    os.replace(bin_path.with_name(bin_path.name + ".tmp"), bin_path)
    os.replace(idx_path.with_name(idx_path.name + ".tmp"), idx_path)
    return {"bin": str(bin_path), "idx": str(idx_path), "documents": len(lengths), "tokens": int(lengths.sum())}
