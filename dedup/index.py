"""A persistent, appendable index of the band hashes of documents kept by earlier runs (one per language),
so that a new crawl snapshot is deduplicated against earlier snapshots without recomputing them.

On disk (`<index>/<language>/`):

    seg_<n>/band_<b>.idx      one file per band: header "CMHI" (4 bytes), version u16, band u16,
                              count u64, then `count` sorted little-endian u64 band digests, then crc32 u32
    seg_<n>/meta.json         documents, snapshot/source label, config (n-grams, bands, hashes per band, seed,
                              and the mode's settings in mode robust)
  mode robust only (so that a match with an earlier snapshot is verified like a pair within a run):
    seg_<n>/band_<b>.rows     the same layout: for each sorted digest, the kept document's row in the segment
    seg_<n>/signatures.npy    uint64[documents, num_hashes]: the kept documents' whole signatures
    seg_<n>/ngrams.npy        uint32[documents]: their numbers of n-grams (for the containment rule)

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

    def matches(self, band: int, digests: np.ndarray):
        """For a band's query digests: (query positions, segment numbers, rows) of every segment document
        with an equal digest (the first one per segment), from the segments written with signatures."""
        out = []
        for k, seg in enumerate(self.segments()):
            if not (seg / "signatures.npy").exists():
                continue
            stored, rows = _read(seg / f"band_{band:03d}.idx"), _read(seg / f"band_{band:03d}.rows")
            if not len(stored):
                continue
            pos = np.minimum(np.searchsorted(stored, digests), len(stored) - 1)
            hit = np.flatnonzero(stored[pos] == digests)
            out.append((hit, np.full(len(hit), k), rows[pos[hit]].astype(np.int64)))
        if not out:
            return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int64)
        return tuple(np.concatenate(parts) for parts in zip(*out))

    def signatures(self, segment: int) -> tuple[np.ndarray, np.ndarray]:
        """A segment's kept signatures and n-gram counts (memory-mapped)."""
        seg = self.segments()[segment]
        return np.load(seg / "signatures.npy", mmap_mode="r"), np.load(seg / "ngrams.npy")

    def append(self, per_band: list[np.ndarray], documents: int, label: str = "",
               signatures: np.ndarray | None = None, ngrams: np.ndarray | None = None) -> Path:
        """Add one segment (the kept documents' digests, one array per band); atomic. With `signatures`
        (and `ngrams`), the digests are in the kept documents' order and each band also gets the rows."""
        self.dir.mkdir(parents=True, exist_ok=True)
        n = 1 + max((int(seg.name[4:]) for seg in self.segments()), default=-1)  # numbers may have gaps (drop_segments)
        final = self.dir / f"seg_{n:06d}"
        tmp = self.dir / f".tmp_seg_{n:06d}_{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        for band, digests in enumerate(per_band):
            order = np.argsort(digests.astype(np.uint64), kind="stable")
            _write(tmp / f"band_{band:03d}.idx", band, digests.astype(np.uint64)[order])
            if signatures is not None:
                _write(tmp / f"band_{band:03d}.rows", band, order.astype(np.uint64))
        if signatures is not None:
            np.save(tmp / "signatures.npy", np.ascontiguousarray(signatures, dtype=np.uint64))
            np.save(tmp / "ngrams.npy", np.asarray(ngrams, dtype=np.uint32))
        (tmp / "meta.json").write_text(json.dumps({"documents": documents, "label": label,
                                                   "config": _config_dict(self.config)}))
        os.replace(tmp, final)
        return final


def drop_segments(root: str | Path, label: str, languages: list[str] | None = None) -> int:
    """Remove the segments an unfinished run added (those labelled `label`, which must be the newest of each
    language) and stale temporary folders, so the run can be redone without deduplicating against itself.
    Returns how many segments were removed. `languages`: only these languages' folders."""
    removed = 0
    for lang in sorted(p for p in Path(root).glob("*") if p.is_dir()) if Path(root).is_dir() else []:
        if languages is not None and lang.name not in languages:
            continue
        for tmp in lang.glob(".tmp_*"):
            shutil.rmtree(tmp, ignore_errors=True)
        segs = sorted(p for p in lang.glob("seg_*") if p.is_dir())
        labels = [json.loads((s / "meta.json").read_text()).get("label") for s in segs]
        mine = [i for i, lab in enumerate(labels) if lab == label]
        if mine and mine != list(range(len(segs) - len(mine), len(segs))):
            raise CurationError(f"dedup index {lang}: segments of '{label}' are followed by later runs' segments; "
                                "cannot remove them without losing those (rebuild the index)")
        for i in reversed(mine):  # renamed first, so a crash mid-removal leaves no half segment behind
            gone = lang / f".tmp_drop_{segs[i].name}"
            os.replace(segs[i], gone)
            shutil.rmtree(gone)
            removed += 1
    return removed


def _config_dict(config) -> dict:
    return config.identity()


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
