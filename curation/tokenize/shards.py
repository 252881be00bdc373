"""datatrove / nanotron token shards: `NAME.ds` (flat little-endian tokens), `NAME.ds.index` (uint64 document-end
offsets, in tokens) and `NAME.ds.metadata` ("tokenizer|token_size", token count, the count in words).

These are the files datatrove's `DocumentTokenizer` writes and its `DatatroveFolderDataset` (and nanotron's
Nanoset) memory-map; each is written under a temporary name and renamed, the `.ds` last, so a reader never
sees a half-written shard.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from curation.core import CurationError


def _human(n: int) -> str:
    for unit, size in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= size:
            return f"{n / size:.1f} {unit}T"
    return f"{n} T"


def write_shard(path: str | os.PathLike, tokens: np.ndarray, doc_ends: np.ndarray, tokenizer_name: str) -> None:
    """Write one shard atomically. `doc_ends` are cumulative end offsets (in tokens) of its documents."""
    path = Path(path)
    tokens = np.ascontiguousarray(tokens)
    if tokens.dtype not in (np.uint16, np.uint32):
        raise ValueError(f"token shards hold uint16 or uint32, not {tokens.dtype}")
    ends = np.asarray(doc_ends, dtype="<u8")
    if len(ends) and int(ends[-1]) != len(tokens):
        raise ValueError(f"{path}: the last document ends at {int(ends[-1])}, but the shard holds {len(tokens)} tokens")
    meta = "\n".join([f"{tokenizer_name}|{tokens.dtype.itemsize}", str(len(tokens)), _human(len(tokens))])
    parts = [(path.with_name(path.name + ".index"), ends.tobytes()),
             (path.with_name(path.name + ".metadata"), meta.encode()),
             (path, tokens.astype(tokens.dtype.newbyteorder("<"), copy=False).tobytes())]
    for final, data in parts:
        tmp = final.with_name(final.name + ".tmp")
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, final)


@dataclass
class Shard:
    """One `.ds` file: its tokens (memory-mapped), its document ends and the tokenizer it was written with."""

    path: Path
    tokenizer: str
    token_size: int
    n_tokens: int

    @property
    def dtype(self) -> np.dtype:
        return np.dtype("<u2" if self.token_size == 2 else "<u4")

    def tokens(self) -> np.ndarray:
        if self.n_tokens == 0:
            return np.zeros(0, self.dtype)
        return np.memmap(self.path, dtype=self.dtype, mode="r", shape=(self.n_tokens,))

    def doc_ends(self) -> np.ndarray:
        index = self.path.with_name(self.path.name + ".index")
        if not index.exists():
            raise CurationError(f"{self.path}: no {index.name} beside it (document ends)")
        return np.fromfile(index, dtype="<u8")


def open_shard(path: str | os.PathLike) -> Shard:
    """Read a shard's metadata and check its size against it (a truncated file is named, not misread)."""
    path = Path(path)
    meta = path.with_name(path.name + ".metadata")
    if not path.exists():
        raise CurationError(f"{path}: no such token shard")
    if not meta.exists():
        raise CurationError(f"{path}: no {meta.name} beside it (tokenizer and token size)")
    lines = meta.read_text().splitlines()
    try:
        name, _, size = lines[0].rpartition("|")
        token_size, count = int(size), int(lines[1])
    except (IndexError, ValueError):
        raise CurationError(f"{meta}: not a datatrove .ds.metadata file "
                            "(want 'tokenizer|token_size' and a count)") from None
    if token_size not in (2, 4):
        raise CurationError(f"{meta}: token size {token_size} (want 2 or 4 bytes)")
    actual = path.stat().st_size
    if actual != count * token_size:
        raise CurationError(f"{path}: {actual} bytes, but its metadata says {count} tokens of {token_size} bytes "
                            "(a truncated or foreign file)")
    return Shard(path, name, token_size, count)


def list_shards(folder: str | os.PathLike) -> list[Shard]:
    """Every `.ds` shard under a folder (sorted), all written with one tokenizer and one token size."""
    folder = Path(folder)
    if folder.is_file() and folder.suffix == ".ds":
        files = [folder]
    elif folder.is_dir():
        files = sorted(p for p in folder.rglob("*.ds") if not any(part.startswith((".", "_"))
                                                                  for part in p.relative_to(folder).parts[:-1]))
    else:
        raise CurationError(f"token shards '{folder}': no such folder")
    if not files:
        raise CurationError(f"token shards '{folder}': no .ds files (write them with `curate tokenize`)")
    shards = [open_shard(f) for f in files]
    kinds = {(s.tokenizer, s.token_size) for s in shards}
    if len(kinds) > 1:
        raise CurationError(f"token shards '{folder}': files written with different tokenizers or token sizes "
                            f"({sorted(kinds)})")
    return shards
