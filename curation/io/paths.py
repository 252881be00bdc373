"""Input files: the input formats, telling a file's format from its name, expanding paths, folders and
globs (local or any fsspec URL), and the stamp of the input files a run's fingerprint includes."""

from __future__ import annotations

import fsspec

from curation.core import CurationError

FORMATS = ("warc", "wet", "jsonl", "parquet", "html")  # every input format a manifest or --format may name

# file-name endings -> input format, most specific first
_SUFFIXES = (
    (".warc.wet.gz", "wet"),
    (".wet.gz", "wet"),
    (".wet", "wet"),
    (".warc.gz", "warc"),
    (".warc", "warc"),
    (".arc.gz", "warc"),
    (".jsonl.gz", "jsonl"),
    (".jsonl.zst", "jsonl"),
    (".jsonl", "jsonl"),
    (".json.gz", "jsonl"),
    (".ndjson", "jsonl"),
    (".parquet", "parquet"),
    (".html", "html"),
    (".htm", "html"),
    (".html.gz", "html"),
)


def infer_format(path: str) -> str | None:
    name = path.lower()
    for suffix, fmt in _SUFFIXES:
        if name.endswith(suffix):
            return fmt
    return None


def resolve_paths(paths: list[str], fmt: str | None = None) -> list[str]:
    """Expand files, folders and globs (local or fsspec URLs) into a sorted list of file URLs."""
    out: list[str] = []
    for p in paths:
        try:
            fs, root = fsspec.core.url_to_fs(p)
        except (ImportError, ValueError) as e:
            raise CurationError(f"input '{p}': cannot open ({e})") from None
        if p.startswith(("http://", "https://")) and not any(c in root for c in "*?[") and not p.endswith("/"):
            found = [root]  # a file: asking HTTP whether it is a folder would download it
        elif any(c in root for c in "*?["):
            found = sorted(fs.glob(root))
        elif fs.isdir(root):  # files of the format, skipping `_`/`.` folders (a run's _logs, _exclusions)
            found = sorted(f for f in fs.find(root) if infer_format(f) and (fmt is None or infer_format(f) == fmt)
                           and not any(p[:1] in "_." for p in f[len(root):].strip("/").split("/")[:-1]))
        elif fs.exists(root):
            found = [root]
        else:
            raise CurationError(f"input '{p}': no such file or folder")
        if not found:
            raise CurationError(f"input '{p}': matches no input files")
        out += [fs.unstrip_protocol(f) if fs.protocol not in ("file", ("file", "local")) else f for f in found]
    return out


def input_stamps(files: list[str]) -> list[tuple]:
    """(path, size, modification time) of each file: what tells a later run that its input changed."""
    stamps = []
    for path in files:
        fs, root = fsspec.core.url_to_fs(path)
        info = fs.info(root)
        stamps.append((path, info.get("size"), info.get("mtime") or info.get("LastModified") or info.get("ETag")))
    return stamps
