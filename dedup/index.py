"""A persistent, appendable index of the band hashes of documents kept by earlier runs (one per language),
so that a new crawl snapshot is deduplicated against earlier snapshots without recomputing them.

On disk (`<index>/<language>/`):

    seg_<n>/band_<b>.idx      one file per band: header "CMHI" (4 bytes), version u16, band u16,
                              count u64, then `count` sorted little-endian u64 band digests, then crc32 u32
    seg_<n>/meta.json         documents, snapshot/source label, config (n-grams, bands, hashes per band, seed)

A segment is written in a temporary folder and renamed into place when complete, so a crash mid-write
leaves either the whole segment or none of it; readers take every `seg_*` folder. A digest is a 64-bit
mix of a band's hashes (collisions are about 1 in 2^64 per pair compared).
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import zlib
from pathlib import Path

import numpy as np

from curation.core import CurationError

_HEADER = struct.Struct("<4sHHQ")
_MAGIC = b"CMHI"
_MIX = np.uint64(0x9E3779B97F4A7C15)


def band_digests(hashes: np.ndarray) -> np.ndarray:
    """uint64[n, hashes_per_band] -> uint64[n]."""
    d = np.zeros(len(hashes), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for k in range(hashes.shape[1]):
            d = (d ^ hashes[:, k]) * _MIX
            d ^= d >> np.uint64(29)
    return d


class BandIndex:
    def __init__(self, root: str | Path, language: str, config):
        self.dir = Path(root) / language
        self.config = config

    def segments(self) -> list[Path]:
        if not self.dir.exists():
            return []
        segs = sorted(p for p in self.dir.glob("seg_*") if p.is_dir())
        for seg in segs:
            meta = json.loads((seg / "meta.json").read_text())
            if meta["config"] != _config_dict(self.config):
                raise CurationError(f"dedup index {seg}: built with {meta['config']}, this run uses "
                                    f"{_config_dict(self.config)}; use the same settings or another index")
        return segs

    def digests(self, band: int) -> np.ndarray:
        parts = [_read(seg / f"band_{band:03d}.idx") for seg in self.segments()]
        return np.concatenate(parts) if parts else np.empty(0, np.uint64)

    def append(self, per_band: list[np.ndarray], documents: int, label: str = "") -> Path:
        """Add one segment (the kept documents' digests, one array per band); atomic."""
        self.dir.mkdir(parents=True, exist_ok=True)
        n = 1 + max((int(seg.name[4:]) for seg in self.segments()), default=-1)  # numbers may have gaps (drop_label)
        final = self.dir / f"seg_{n:06d}"
        tmp = self.dir / f".tmp_seg_{n:06d}_{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        for band, digests in enumerate(per_band):
            _write(tmp / f"band_{band:03d}.idx", band, np.sort(digests.astype(np.uint64)))
        (tmp / "meta.json").write_text(json.dumps({"documents": documents, "label": label,
                                                   "config": _config_dict(self.config)}))
        os.replace(tmp, final)
        return final


def drop_label(root: str | Path, label: str) -> int:
    """Remove the segments a run labelled `label` added (in every language): a run killed after adding some
    is redone from scratch, and must not find its own documents as "seen before". Returns how many."""
    n = 0
    for meta in sorted(Path(root).glob("*/seg_*/meta.json")):
        if json.loads(meta.read_text()).get("label") == label:
            doomed = meta.parent.with_name(f".drop_{meta.parent.name}_{os.getpid()}")
            os.replace(meta.parent, doomed)
            shutil.rmtree(doomed)
            n += 1
    return n


def _config_dict(config) -> dict:
    return {"n_grams": config.n_grams, "num_buckets": config.num_buckets,
            "hashes_per_bucket": config.hashes_per_bucket, "seed": config.seed}


def _write(path: Path, band: int, digests: np.ndarray) -> None:
    header = _HEADER.pack(_MAGIC, 1, band, len(digests))
    payload = digests.astype("<u8").tobytes()
    with open(path, "wb") as f:
        f.write(header + payload + struct.pack("<I", zlib.crc32(payload, zlib.crc32(header))))
        f.flush()
        os.fsync(f.fileno())


def _read(path: Path) -> np.ndarray:
    data = path.read_bytes() if path.exists() else b""
    if len(data) < _HEADER.size + 4:
        raise CurationError(f"dedup index file {path}: missing or truncated")
    magic, _version, _band, count = _HEADER.unpack_from(data)
    if magic != _MAGIC or len(data) != _HEADER.size + 8 * count + 4:
        raise CurationError(f"dedup index file {path}: not a complete index file")
    if zlib.crc32(data[:-4]) != struct.unpack_from("<I", data, len(data) - 4)[0]:
        raise CurationError(f"dedup index file {path}: checksum mismatch (corrupt)")
    return np.frombuffer(data, dtype="<u8", count=count, offset=_HEADER.size)
