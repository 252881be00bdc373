"""Input files as forward-only byte streams, so every reader works on any source: a local file, an object
store, or a plain HTTP mirror that ignores `Range` requests (Python's http.server, many static servers).

Readers read front to back and never seek: HTTP(S) inputs are opened as one streamed GET (fsspec
`block_size=0`), compression is recognised from the first bytes rather than the file name (a `.jsonl` that
is gzip, or a `.zst` of several frames, reads all the same), and lines are cut with a size limit, so one
line of a gigabyte costs that record, not the process's memory.
"""

from __future__ import annotations

import contextlib
import gzip
import io
from collections.abc import Callable, Iterator

import fsspec

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
BZ2_MAGIC = b"BZh"
CHUNK = 1 << 20


def is_http(path: str) -> bool:
    return path.startswith(("http://", "https://"))


@contextlib.contextmanager
def open_stream(path: str):
    """A binary file object read front to back; HTTP(S) as a streamed GET that needs no range support."""
    kwargs = {"block_size": 0} if is_http(path) else {}
    with fsspec.open(path, "rb", **kwargs) as f:
        yield f


class Prefixed(io.RawIOBase):
    """`head` (bytes already read to sniff the format) followed by the rest of `stream`, as one stream."""

    def __init__(self, head: bytes, stream):
        super().__init__()
        self._head, self._stream = memoryview(head), stream

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        if self._head:
            n = min(len(b), len(self._head))
            b[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._stream.read(len(b))
        b[:len(data)] = data
        return len(data)

    def read(self, size: int = -1) -> bytes:
        """Up to `size` bytes, fewer only at the end of the stream (like a buffered file)."""
        head = bytes(self._head[:size] if size is not None and size >= 0 else self._head)
        self._head = self._head[len(head):]
        if size is None or size < 0:
            return head + self._stream.read()
        parts, need = [head], size - len(head)
        while need > 0:
            chunk = self._stream.read(need)
            if not chunk:
                break
            parts.append(chunk)
            need -= len(chunk)
        return b"".join(parts)

    def read1(self, size: int = -1) -> bytes:
        if self._head:
            return self.read(min(size, len(self._head)) if size is not None and size >= 0 else len(self._head))
        return self._stream.read(size if size is not None and size >= 0 else CHUNK)


def sniff(f, n: int = CHUNK) -> tuple[bytes, Prefixed]:
    """The first `n` bytes of `f` (fewer at its end) and a stream that still starts at byte 0."""
    parts, size = [], 0
    while size < n:
        chunk = f.read(n - size)
        if not chunk:
            break
        parts.append(chunk)
        size += len(chunk)
    head = b"".join(parts)
    return head, Prefixed(head, f)


def decompressed(f) -> tuple[object, str]:
    """`f` decompressed by what its first bytes say it is: gzip (every member), zstd (every frame), bzip2, or
    as it is. Returns (stream, "gzip" | "zstd" | "bz2" | "none")."""
    head, stream = sniff(f, 4)
    if head.startswith(GZIP_MAGIC):
        return gzip.GzipFile(fileobj=stream, mode="rb"), "gzip"
    if head.startswith(ZSTD_MAGIC):
        import zstandard

        return zstandard.ZstdDecompressor().stream_reader(stream, read_across_frames=True), "zstd"
    if head.startswith(BZ2_MAGIC):
        import bz2

        return bz2.BZ2File(stream, mode="rb"), "bz2"
    return stream, "none"


@contextlib.contextmanager
def open_text_source(path: str):
    """A line-oriented input (JSONL, plain text) opened, streamed and decompressed by content."""
    with open_stream(path) as raw:
        stream, _ = decompressed(raw)
        yield stream


def iter_lines(f, max_bytes: int, on_too_long: Callable[[], None]) -> Iterator[bytes]:
    """The lines of a binary stream (without their `\\n`), read in chunks with `read1` where the stream has it, so
    a truncated compressed file still yields every line before the damage. A line over `max_bytes` is dropped
    (`on_too_long()` once per such line) without being held in memory."""
    read = getattr(f, "read1", None) or f.read
    rest, skipping = b"", False
    while True:
        chunk = read(CHUNK)
        if not chunk:
            break
        lines = chunk.split(b"\n")
        lines[0] = rest + lines[0]
        rest = lines.pop()
        for line in lines:
            if skipping:  # the end of a line already counted as too long
                skipping = False
                continue
            if len(line) > max_bytes:
                on_too_long()
                continue
            yield line
        if len(rest) > max_bytes:
            if not skipping:
                on_too_long()
            rest, skipping = b"", True
    if rest and not skipping:
        yield rest
