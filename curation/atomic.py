"""Outputs that are never seen half-written: each file is written under a hidden temporary name in its own
folder (`.<name>.tmp`) and renamed over its final name only once complete. A run killed at any moment
leaves at most such temporary files; they match no data glob (`*.parquet`, `*.json`, `*.png`), and
`remove_temp_files` clears them when the run is started again.
"""

from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from curation.core import CurationError

TMP_SUFFIX = ".tmp"
DISK_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


def temp_path(path: str | os.PathLike) -> Path:
    """Where `path` is written before it is complete."""
    p = Path(path)
    return p.with_name(f".{p.name}{TMP_SUFFIX}")


def is_temp(name: str) -> bool:
    return name.startswith(".") and name.endswith(TMP_SUFFIX)


def commit(tmp: str | os.PathLike, final: str | os.PathLike) -> None:
    """Make a finished temporary file the real one: its data flushed to disk first (so the name never points
    at data still in flight), then renamed in one step. The folder is not synced (3.5 ms a file here): a
    killed process cannot lose the rename; a machine that loses power can (as it can datatrove's markers)."""
    fd = os.open(tmp, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, final)


def write_error(path: str | os.PathLike, e: OSError) -> CurationError:
    """A write failure as a message a person can act on (disk full, quota, file size limit)."""
    why = e.strerror or str(e)
    if e.errno in DISK_FULL:
        return CurationError(f"output '{path}': {why} (errno {e.errno}); nothing partial was kept: free space "
                             "(or choose another --output) and run the same command again to resume")
    return CurationError(f"output '{path}': cannot write ({why})")


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yields the temporary path to write; renames it to `path` if the block succeeds, removes it if not.
    A block that writes nothing leaves `path` as it was."""
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(final)
    try:
        yield tmp
        if tmp.exists():
            commit(tmp, final)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise write_error(final, e) from e
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_with(path: str | os.PathLike, write: Callable[[Path], object]) -> None:
    """`write(tmp)` writes the file; it appears at `path` only when complete."""
    with atomic_path(path) as tmp:
        write(tmp)


def remove_temp_files(root: str | os.PathLike) -> int:
    """Delete what a killed run left half-written below `root` (temporary files and work folders);
    returns how many were removed."""
    n = 0
    for folder, dirs, files in os.walk(root):
        for name in files:
            if is_temp(name):
                Path(folder, name).unlink(missing_ok=True)
                n += 1
        for name in [d for d in dirs if is_temp(d)]:
            shutil.rmtree(Path(folder, name), ignore_errors=True)
            dirs.remove(name)
            n += 1
    return n


def remove_tree(path: str | os.PathLike) -> None:
    """Delete a folder so that a kill half-way leaves either all of it or nothing at its name: it is
    renamed to a hidden temporary name first, and such leftovers of earlier kills go too."""
    p = Path(path)
    if p.exists():
        os.replace(p, p.with_name(f".{p.name}.{os.getpid()}{TMP_SUFFIX}"))
    for doomed in p.parent.glob(f".{p.name}.*{TMP_SUFFIX}"):
        shutil.rmtree(doomed, ignore_errors=True)
