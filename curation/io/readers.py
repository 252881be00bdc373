"""Readers: WARC, WET, JSONL, Parquet and plain HTML files, local or any fsspec URL, into datatrove Documents.

Every reader survives bad input: a broken record is counted under a reason (`skipped/<reason>` in the
stats) and skipped, and every good record around it comes through. The WARC reader walks gzip members
itself, so a truncated member, junk between members or a wrong Content-Length costs one record, not the
rest of the file (plain warcio stops at the first such record).

Sharding: with at least as many files as tasks, each task reads its own files; with fewer files than
tasks, every task reads all files and keeps every `world_size`-th record, so one big WARC still uses
every worker.
"""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Iterator
from pathlib import PurePosixPath

import orjson
from datatrove.utils.logging import logger

from curation.core import CurationError, Document, Stage, StageKind, Stats
from curation.io.paths import FORMATS, resolve_paths
from curation.io.payload import (
    HTML_TYPES,
    BadEncoding,
    content_type,
    dechunk,
    decode,
    decode_content,
    looks_binary,
    remove_controls,
    split_http,
)
from curation.io.streams import open_stream, sniff

GZIP_MAGIC = b"\x1f\x8b\x08"
READ_CHUNK = 1 << 20

class Reader(Stage):
    """Base reader: resolves its paths, shards them across tasks and counts what it skips and why."""

    type = StageKind.READER
    format: str = ""

    def __init__(self, paths: list[str], snapshot: str | None = None, limit: int = -1,
                 text_key: str = "text", id_key: str = "id", max_record_mb: float = 10.0):
        super().__init__()
        self.paths = [paths] if isinstance(paths, str) else list(paths)
        self.snapshot = snapshot
        self.limit = limit
        self.text_key = text_key
        self.id_key = id_key
        self.max_record_bytes = int(max_record_mb * 2**20)

    def skip(self, reason: str) -> None:
        self.stat_update(Stats.SKIPPED, Stats.skipped(reason))

    def read_file(self, path: str) -> Iterator[Document]:
        raise NotImplementedError

    def clean_text(self, text: str, html: bool) -> str:
        """NUL bytes out of any text; in HTML also the C0 controls XML parsers refuse (each counted)."""
        if "\x00" in text:
            text = text.replace("\x00", "")
            self.stat_update("nul_bytes_removed")
        if html:
            text, n = remove_controls(text)
            if n:
                self.stat_update(Stats.repaired("control_chars_removed"), value=n)
        return text

    def run(self, data=None, rank: int = 0, world_size: int = 1):
        if data:
            yield from data
        files = resolve_paths(self.paths, self.format)
        by_file = len(files) >= world_size
        shard = files[rank::world_size] if by_file else files
        n = 0
        for path in shard:
            self.stat_update(Stats.INPUT_FILES)
            try:
                for i, doc in enumerate(self.read_file(path)):
                    if not by_file and i % world_size != rank:
                        continue
                    if self.snapshot and not doc.metadata.get("snapshot"):
                        doc.metadata["snapshot"] = self.snapshot
                    self.stat_update(Stats.DOCUMENTS)
                    self.update_doc_stats(doc)
                    yield doc
                    n += 1
                    if 0 <= self.limit <= n:
                        return
            except CurationError:
                raise
            except Exception as e:  # unreadable, truncated or unparseable file: count, say in one line, go on
                self.skip("unreadable_file")
                why = " ".join(str(e).split())[:300] or type(e).__name__
                logger.warning(f"{path}: cannot read ({why}); skipping the rest of this file")


# ---------------------------------------------------------------------------------------------- WARC / WET


def gzip_members(raw, max_bytes: int, on_error) -> Iterator[bytes]:
    """Yield the decompressed bytes of each gzip member of a stream, reading it in chunks.

    A corrupt or truncated member is reported and skipped: reading resumes at the next gzip header after
    its start. Bytes between members are reported as junk. Members over `max_bytes` are reported as too large.
    """
    buf, pos, eof = b"", 0, False
    resync = False  # after a bad member: its remaining bytes are part of that error, not junk

    def fill():
        nonlocal buf, pos, eof
        chunk = raw.read(READ_CHUNK)
        eof = not chunk
        buf, pos = buf[pos:] + chunk, 0

    while True:
        junk = False
        while (start := buf.find(GZIP_MAGIC, pos)) < 0 and not eof:
            keep_from = max(pos, len(buf) - 2)
            junk |= bool(buf[pos:keep_from].strip())
            pos = keep_from
            fill()
        if (junk or buf[pos:start if start >= 0 else len(buf)].strip()) and not resync:
            on_error("junk_bytes")
        resync = False
        if start < 0:
            return
        pos = cur = start
        d = zlib.decompressobj(wbits=31)
        out, size = [], 0
        try:
            while not d.eof:
                if cur >= len(buf):
                    if eof:
                        break
                    offset = cur - pos
                    fill()  # keeps the member's start in the buffer, for resynchronising
                    cur = offset
                    continue
                piece = d.decompress(memoryview(buf)[cur:])
                cur = len(buf) - len(d.unused_data)
                size += len(piece)
                if size <= max_bytes:
                    out.append(piece)
        except zlib.error:
            on_error("corrupt_gzip")
            pos, resync = pos + 1, True
            continue
        if not d.eof:
            on_error("truncated_gzip")
            pos, resync = pos + 1, True
            continue
        pos = cur
        if size > max_bytes:
            on_error("too_large")
            continue
        yield b"".join(out)


def _head_end(data: bytes, start: int, limit: int | None = None) -> tuple[int, int]:
    """Where a header block that starts at `start` ends: (index of its empty line, that line's length), CRLF or
    bare LF, whichever comes first; (-1, 0) when there is none (before `limit`)."""
    ends = [(i, n) for i, n in ((data.find(b"\r\n\r\n", start, limit), 4), (data.find(b"\n\n", start, limit), 2))
            if i >= 0]
    return min(ends) if ends else (-1, 0)


MAX_WARC_HEADER = 1 << 20


def _next_record(data: bytes, pos: int, final: bool):
    """The next WARC record in `data` from `pos`: ("record", (headers, block), next_pos), ("error", reason,
    next_pos), ("skip", (reason, bytes_to_drop), next_pos) for a block too large to hold, ("more", None, pos) when
    the record may continue past the end of `data` (not `final`), or ("end", None, len(data))."""
    n = len(data)
    start = data.find(b"WARC/1.", pos)
    if start < 0:
        if not final:
            return "more", None, pos
        return ("error", "junk_bytes", n) if data[pos:].strip() else ("end", None, n)
    if data[pos:start].strip():
        return "error", "junk_bytes", start
    head_end, sep = _head_end(data, start, start + MAX_WARC_HEADER)
    if head_end < 0:
        if not final and n - start < MAX_WARC_HEADER:
            return "more", None, pos
        nxt = data.find(b"WARC/1.", start + 1)
        return "error", "bad_warc_header", nxt if nxt >= 0 else n
    headers = {}
    for line in data[start:head_end].split(b"\n")[1:]:
        k, colon, v = line.partition(b":")
        if colon:
            headers[k.strip().decode("latin-1").lower()] = v.strip().decode("utf-8", "replace")
    body_start = head_end + sep
    raw_length = headers.get("content-length", "").strip()
    length = int(raw_length) if raw_length.isdigit() else -1
    body_end = body_start + length
    if length >= 0 and body_end + 16 > n and not final:
        return "more", None, pos
    tail = data[body_end:body_end + 16].lstrip(b"\r\n")
    ends_well = data.startswith((b"\r\n\r\n", b"\n\n"), body_end) or not tail or tail.startswith(b"WARC/")
    if length < 0 or body_end > n or not ends_well:  # (junk after a well-ended record is the next one's problem)
        nxt = data.find(b"WARC/1.", start + 1)
        return "error", "bad_content_length", nxt if nxt >= 0 else n
    return "record", (headers, data[body_start:body_end]), body_end


def parse_warc_records(data: bytes, on_error) -> Iterator[tuple[dict, bytes]]:
    """Split decompressed WARC bytes into (headers, block) pairs; a bad record resyncs at the next 'WARC/1.'."""
    pos = 0
    while True:
        kind, value, pos = _next_record(data, pos, final=True)
        if kind == "end":
            return
        if kind == "record":
            yield value
        else:
            on_error(value)


def plain_warc_records(raw, max_bytes: int, on_error) -> Iterator[tuple[dict, bytes]]:
    """The records of an uncompressed WARC read as a stream: only the record being parsed is held in memory
    (a block over `max_bytes` is skipped as too large without being held), so a plain WARC of any size reads
    like a gzipped one."""
    buf, pos, eof, junk_said = b"", 0, False, False
    while True:
        kind, value, new_pos = _next_record(buf, pos, final=eof)
        if kind == "more":
            start = buf.find(b"WARC/1.", pos)
            if start < 0 and len(buf) - pos > READ_CHUNK:  # no record in sight: junk, not kept in memory
                if buf[pos:-8].strip() and not junk_said:
                    on_error("junk_bytes")
                    junk_said = True
                pos = len(buf) - 8
            head_end, sep = _head_end(buf, start) if start >= 0 else (-1, 0)
            if head_end >= 0:  # the header is here: a block too large to hold is dropped as it streams past
                lines = buf[start:head_end].lower().split(b"\n")
                length_line = [ln for ln in lines if ln.startswith(b"content-length:")]
                digits = length_line[0].split(b":", 1)[1].strip() if length_line else b""
                if digits.isdigit() and int(digits) > max_bytes:
                    on_error("too_large")
                    drop = head_end + sep + int(digits) - pos
                    buf, pos = buf[pos:], 0
                    while drop > len(buf) and not eof:
                        drop -= len(buf)
                        buf = raw.read(READ_CHUNK)
                        eof = not buf
                    buf = buf[drop:] if drop <= len(buf) else b""
                    continue
            chunk = raw.read(READ_CHUNK)
            eof = not chunk
            buf, pos = buf[pos:] + chunk, 0
            continue
        if kind == "end":
            return
        if kind == "record":
            yield value
            junk_said = False
        elif not (value == "junk_bytes" and junk_said):
            on_error(value)
        pos = new_pos


def _one_gzip_stream(head: bytes) -> bool:
    """Whether a gzip WARC is one stream of many records (`gzip crawl.warc`) rather than a member per record:
    its first member holds the start of a second record."""
    d = zlib.decompressobj(wbits=31)
    try:
        data = d.decompress(head, 4 * READ_CHUNK)
    except zlib.error:
        return False
    first = data.find(b"WARC/1.")
    return first >= 0 and data.find(b"\nWARC/1.", first + 1) >= 0


class WarcReader(Reader):
    """WARC files: each `response` record (an HTTP response) is a document; gzip per record, one gzip stream or
    plain. Every other record type (warcinfo, request, metadata, revisit, resource, conversion, continuation)
    is counted under `not_response/<type>` and gives no document: `resource` records hold no HTTP response
    (DNS answers, screenshots, files fetched outside HTTP) and `conversion` records are WET text, read by the
    WET reader."""

    name = "🕷 WARC"
    format = "warc"
    _file_snapshot: str | None = None

    # what each format reads; every other record type is counted under not_response/<type>
    record_types: tuple[str, ...] = ("response",)

    def read_file(self, path: str) -> Iterator[Document]:
        self._file_snapshot = None  # this file's warcinfo isPartOf; never carried over to the next file
        self._seen: dict[str, int] = {}
        with open_stream(path) as f:
            head, raw = sniff(f, READ_CHUNK)
            gz_at, warc_at = head.find(GZIP_MAGIC), head.find(b"WARC/1.")
            if gz_at >= 0 and (warc_at < 0 or gz_at < warc_at) and _one_gzip_stream(head[gz_at:]):
                # `gzip crawl.warc`: one gzip stream of many records, read as a stream of plain WARC
                raw.read(gz_at)
                records = plain_warc_records(gzip.GzipFile(fileobj=raw, mode="rb"), self.max_record_bytes, self.skip)
            elif gz_at >= 0 and (warc_at < 0 or gz_at < warc_at):  # gzip per record, maybe after some junk
                members = gzip_members(raw, self.max_record_bytes + 65536, self.skip)
                records = (record for member in members for record in parse_warc_records(member, self.skip))
            else:
                records = plain_warc_records(raw, self.max_record_bytes, self.skip)
            for headers, block in records:
                doc = self.record_to_doc(headers, block, path)
                if doc is not None:
                    yield doc
        self._say_other_format(path)

    def _say_other_format(self, path: str) -> None:
        """A file whose records are all of the other format's kind (a WET read as WARC, or the reverse) gives
        no document: say so once, naming the --format that reads it."""
        if self._seen.get(self.record_types[0]):
            return
        other = {"conversion": "wet", "response": "warc"}
        for rtype, fmt in other.items():
            if self._seen.get(rtype) and fmt != self.format:
                logger.warning(f"{path}: holds {self._seen[rtype]} '{rtype}' records and no "
                               f"'{self.record_types[0]}' record; read it with --format {fmt}")

    def record_to_doc(self, headers: dict, block: bytes, path: str) -> Document | None:
        rtype = headers.get("warc-type", "")
        if rtype == "warcinfo":
            for line in block.decode("utf-8", "replace").splitlines():
                if line.lower().startswith("ispartof:"):
                    self._file_snapshot = line.split(":", 1)[1].strip()
            return None
        self._seen[rtype] = self._seen.get(rtype, 0) + 1
        if rtype not in self.record_types:
            self.stat_update(Stats.not_response(rtype or "unknown"))
            return None
        if len(block) > self.max_record_bytes:
            self.skip("too_large")
            return None
        if rtype == "conversion":
            body, mime, charset = block, "text/plain", "utf-8"
        else:
            http = split_http(block)
            if http is None:
                self.skip("not_http")
                return None
            hh, body = http
            if "chunked" in hh.get("transfer-encoding", "").lower():
                dechunked = dechunk(body)
                if dechunked is not None:
                    body = dechunked
                    self.stat_update(Stats.repaired("dechunked"))
            if hh.get("content-encoding", "").strip():
                try:
                    body, decoded = decode_content(body, hh["content-encoding"])
                except BadEncoding:
                    self.skip("bad_content_encoding")
                    return None
                if decoded:
                    self.stat_update(Stats.repaired("content_decoded"))
            mime, charset = content_type(hh)
        if not body.strip():
            self.skip("empty")
            return None
        if (mime and mime not in HTML_TYPES and mime != "text/plain") or looks_binary(body):
            self.skip("binary" if looks_binary(body) or not mime.startswith("text/") else "not_html")
            return None
        is_html = rtype != "conversion" and mime != "text/plain"
        text, how = decode(body, charset, sniff_meta=is_html)
        if text is None:
            self.skip("undecodable")
            return None
        if how == "utf-8-repaired":
            self.stat_update("invalid_utf8_replaced")
        elif how not in ("declared", "bom") and charset:
            self.stat_update("charset_wrong")
        text = self.clean_text(text, is_html)
        if not text.strip():  # nothing but NUL bytes or control characters
            self.skip("empty")
            return None
        rid = headers.get("warc-record-id", "").strip("<>") or f"{path}/{headers.get('warc-target-uri')}"
        return Document(
            text=text,
            id=rid,
            metadata={
                "url": headers.get("warc-target-uri"),
                "date": headers.get("warc-date"),
                "snapshot": self.snapshot or self._file_snapshot,
                "content_type": "text/plain" if rtype == "conversion" or mime == "text/plain" else "text/html",
            },
        )


class WetReader(WarcReader):
    """WET files: Common Crawl's extracted-text WARC records (`conversion`)."""

    name = "🕷 WET"
    format = "wet"
    record_types = ("conversion",)


# ---------------------------------------------------------------------------------------------- JSONL / Parquet


class _RecordReader(Reader):
    """Shared handling of dict-like rows: text key, id key, the rest into metadata."""

    def row_to_doc(self, row, path: str, index: int) -> Document | None:
        if not isinstance(row, dict):
            self.skip("not_an_object")
            return None
        text = row.get(self.text_key)
        if text is None:
            self.skip("missing_text")
            return None
        if isinstance(text, (bytes, bytearray, memoryview)):  # a binary text column (Parquet)
            try:
                text = bytes(text).decode("utf-8")
            except UnicodeDecodeError:
                self.skip("invalid_utf8")
                return None
        if not isinstance(text, str):
            self.skip("text_not_string")
            return None
        text = self.clean_text(text, html=False)
        if not text.strip():
            self.skip("empty")
            return None
        meta = {k: v for k, v in row.items() if k not in (self.text_key, self.id_key) and v is not None}
        nested = meta.pop("metadata", None)
        if isinstance(nested, dict):
            meta = nested | meta
        meta.setdefault("content_type", "text/plain")
        rid = row.get(self.id_key)
        return Document(text=text, id=str(rid) if rid not in (None, "") else f"{path}/{index}", metadata=meta)


class JsonlReader(_RecordReader):
    """JSON Lines, plain, gzip (any number of members), zstd (any number of frames) or bzip2, recognised by
    their first bytes: one object per line with a text field. A byte-order mark and CRLF line ends are
    accepted; a line that is not JSON, or longer than `max_record_mb`, is counted and skipped."""

    name = "🐿 JSONL"
    format = "jsonl"

    def read_file(self, path: str) -> Iterator[Document]:
        from curation.io.streams import iter_lines, open_text_source

        with open_text_source(path) as f:
            for i, line in enumerate(iter_lines(f, self.max_record_bytes, lambda: self.skip("too_large"))):
                if i == 0 and line.startswith(b"\xef\xbb\xbf"):
                    line = line[3:]
                    self.stat_update(Stats.repaired("bom_removed"))
                if not line.strip():
                    continue
                row = self.parse_line(line)
                if row is None:
                    continue
                doc = self.row_to_doc(row, path, i)
                if doc is not None:
                    yield doc

    def parse_line(self, line: bytes):
        try:
            return orjson.loads(line)
        except orjson.JSONDecodeError:
            pass
        from curation.io.records import parse_json_line

        row = parse_json_line(line)  # what orjson refuses but JSON allows: lone surrogates, integers over 64 bits
        if row is None:
            self.skip("bad_json")
        else:
            self.stat_update(Stats.repaired("json_fallback"))
        return row


class ParquetReader(_RecordReader):
    """Parquet files (any compression, string, large_string or binary text, struct and list columns), read in
    record batches; a corrupt file or row group is counted and skipped, the rows before it are kept."""

    name = "📒 Parquet"
    format = "parquet"

    def read_file(self, path: str) -> Iterator[Document]:
        import pyarrow.parquet as pq

        with open_stream(path) as f:
            if not f.seekable():  # a plain HTTP mirror: Parquet's index is at the end, so hold the file
                f = io.BytesIO(f.read())
            try:
                pf = pq.ParquetFile(f)
            except Exception as e:
                self.skip("corrupt_parquet")
                logger.warning(f"{path}: not a readable Parquet file ({_one_line(e)})")
                return
            if self.text_key not in pf.schema_arrow.names:
                self.skip("missing_text_column")
                logger.warning(f"{path}: no '{self.text_key}' column (columns: {pf.schema_arrow.names})")
                return
            i = 0
            for group in range(pf.num_row_groups):
                try:
                    rows = pf.read_row_group(group).to_pylist()
                except Exception as e:  # a damaged row group: the others are still read
                    self.skip("corrupt_parquet")
                    logger.warning(f"{path}: row group {group} is not readable ({_one_line(e)}); skipping it")
                    continue
                for row in rows:
                    doc = self.row_to_doc(row, path, i)
                    i += 1
                    if doc is not None:
                        yield doc


def _one_line(e: Exception) -> str:
    return " ".join(str(e).split())[:300] or type(e).__name__


class HtmlReader(Reader):
    """Plain HTML files, one document each; the file path is its id and (as file://) its url."""

    name = "📄 HTML"
    format = "html"

    def read_file(self, path: str) -> Iterator[Document]:
        from curation.io.streams import decompressed

        with open_stream(path) as raw:
            f, _ = decompressed(raw)
            body = f.read(self.max_record_bytes + 1)
        if len(body) > self.max_record_bytes:
            self.skip("too_large")
            return
        if not body.strip():
            self.skip("empty")
            return
        if looks_binary(body):
            self.skip("binary")
            return
        text, _ = decode(body, None, sniff_meta=True)
        if text is None:
            self.skip("undecodable")
            return
        text = self.clean_text(text, html=True)
        if not text.strip():
            self.skip("empty")
            return
        url = path if "://" in path else "file://" + str(PurePosixPath(path))
        yield Document(text=text, id=path,
                       metadata={"url": url, "content_type": "text/html"})


READERS = {"warc": WarcReader, "wet": WetReader, "jsonl": JsonlReader, "parquet": ParquetReader, "html": HtmlReader}
assert tuple(READERS) == FORMATS


def record_batches(path: str, fmt: str, columns: list[str] | None = None, batch_size: int = 4096) -> Iterator:
    """Arrow record batches of a Parquet or JSONL file (local or fsspec), only `columns` when given."""
    import pyarrow.parquet as pq

    if fmt == "parquet":
        with open_stream(path) as f:
            if not f.seekable():  # a plain HTTP mirror: Parquet's index is at the end, so hold the file
                f = io.BytesIO(f.read())
            try:
                pf = pq.ParquetFile(f)
            except Exception as e:
                raise CurationError(f"{path}: not a readable Parquet file ({_one_line(e)})") from None
            cols = [c for c in (columns or pf.schema_arrow.names) if c in pf.schema_arrow.names]
            for group in range(pf.num_row_groups):
                try:
                    table = pf.read_row_group(group, columns=cols)
                except Exception as e:  # a damaged row group: the others are still read
                    logger.warning(f"{path}: row group {group} is not readable ({_one_line(e)}); skipping it")
                    continue
                yield from table.to_batches(max_chunksize=batch_size)
    elif fmt == "jsonl":
        from curation.io.records import read_jsonl_table

        table = read_jsonl_table(path, columns)
        yield from table.to_batches(max_chunksize=batch_size)
    else:
        raise CurationError(f"{path}: expected Parquet or JSONL, not {fmt or 'this format'}")


def text_values(batch, path: str, column: str = "text") -> list:
    """The `column` values of an Arrow batch as Python strings; a missing or non-text column is an error
    naming the file."""
    import pyarrow as pa

    if column not in batch.schema.names:
        raise CurationError(f"{path}: no '{column}' column (columns: {', '.join(batch.schema.names)}); "
                            "give --text-column")
    col = batch.column(column)
    if pa.types.is_binary(col.type) or pa.types.is_large_binary(col.type):  # text stored as bytes
        values = col.to_pylist()
        texts = [v if v is None else v.decode("utf-8", "replace") for v in values]
        bad = sum(1 for v, t in zip(values, texts) if t is not None and "\ufffd" in t and b"\xef\xbf\xbd" not in v)
        if bad:
            logger.warning(f"{path}: {bad} rows of binary column '{column}' are not valid UTF-8; their broken "
                           "bytes were replaced by U+FFFD")
        return texts
    if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type) or pa.types.is_null(col.type)):
        raise CurationError(f"{path}: column '{column}' holds {col.type}, not text; give --text-column")
    return col.to_pylist()


def language_values(batch, path: str, n: int, language: str | None = None, column: str = "language",
                    required: bool = False) -> list[str]:
    """Each row's language: `language` for all when given, else the `column` values ("und" where empty or,
    unless `required`, where the file has no such column)."""
    if language:
        return [language] * n
    if column in batch.schema.names:
        return [str(lang or "und") for lang in batch.column(column).to_pylist()]
    if required:
        raise CurationError(f"{path}: no '{column}' column; give --language")
    return ["und"] * n


def make_reader(fmt: str, **options) -> Reader:
    return READERS[fmt](**options)


