"""Which folders a command may delete when told to replace its output (`--overwrite`, `--replace-changed`).

A typo in `--output` must never cost a user their files: only a folder that is empty or holds this command's own
earlier output (its marker file, e.g. `_logs/run.json` of a `curate run`) is replaced, and never the root, the home
folder, the working directory (or a folder above either) nor a folder that holds one of the inputs.
"""

from __future__ import annotations

import os
from pathlib import Path

from curation.core import CurationError


def _resolved(path: str | os.PathLike) -> Path:
    return Path(os.path.expanduser(str(path))).resolve()


def _local(path: str) -> str | None:
    """A local path from an input that may be an fsspec URL (None for remote inputs: they cannot be inside)."""
    if path.startswith("file://"):
        return path[len("file://"):]
    return None if "://" in path else path


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def protected(path: str | os.PathLike) -> str | None:
    """What `path` is when a command must never delete anything in it wholesale (the root, the home folder, the
    working directory or a folder above one of them), else None."""
    out = _resolved(path)
    for folder, name in ((Path("/"), "the root folder"), (_resolved("~"), "your home folder"),
                         (Path.cwd().resolve(), "the working directory")):
        if _inside(folder, out):
            return name if folder == out else f"a folder above {name}"
    return None


def run_folder(path: str | os.PathLike, marker: str = "_logs/run.json") -> bool:
    """Whether `path` holds a run (its marker) and is not a protected folder: only then may a command sweep
    it for the temporary files a killed run left."""
    return protected(path) is None and (Path(path) / marker).is_file()


def check_replaceable(output: str | os.PathLike, marker: str, inputs: list[str] = (), what: str = "curate run",
                      flag: str = "--overwrite") -> None:
    """Raise a one-line CurationError naming `output` unless it may be deleted and replaced. `marker` is the
    file (relative to `output`) an earlier run of `what` left there; `inputs` are the files and folders the
    command reads (globs are passed over: give the files they match); none may lie inside the folder."""
    out = _resolved(output)
    if not out.exists():
        return
    shown = str(output)
    where = protected(out)
    if where:
        raise CurationError(f"{flag} refuses to delete '{shown}': it is {where}; choose another --output")
    if not out.is_dir():
        raise CurationError(f"{flag} refuses to delete '{shown}': it is a file, not an output folder; "
                            "choose another --output")
    for raw in inputs:
        local = _local(str(raw))
        if local is None or any(c in local for c in "*?["):  # remote, or a glob (give its files too)
            continue
        if _inside(_resolved(local), out):
            raise CurationError(f"{flag} refuses to delete '{shown}': it holds the input '{raw}'; "
                                "write the output somewhere else")
    if (out / marker).is_file():
        return
    try:
        empty = not any(out.iterdir())
    except OSError as e:
        raise CurationError(f"{flag} refuses to delete '{shown}': cannot list it ({e.strerror or e})") from None
    if not empty:
        raise CurationError(f"{flag} refuses to delete '{shown}': it is not empty and holds no {what} output "
                            f"(no {marker}); choose another --output, or remove the folder yourself")
