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
import re
import zlib
from collections.abc import Iterator
from pathlib import PurePosixPath

import fsspec
import orjson
from datatrove.utils.logging import logger

from curation.core import CurationError, Document, Stage, StageKind, Stats
from curation.io.paths import FORMATS, resolve_paths

GZIP_MAGIC = b"\x1f\x8b\x08"
HTML_TYPES = ("text/html", "application/xhtml+xml")
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
            except (OSError, EOFError, zlib.error) as e:  # unreadable or truncated file: count, say, go on
                self.skip("unreadable_file")
                logger.warning(f"{path}: cannot read ({e}); skipping the rest of this file")


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


def parse_warc_records(data: bytes, on_error) -> Iterator[tuple[dict, bytes]]:
    """Split decompressed WARC bytes into (headers, block) pairs; a bad record resyncs at the next 'WARC/1.'."""
    pos, n = 0, len(data)
    while pos < n:
        start = data.find(b"WARC/1.", pos)
        if data[pos:start if start >= 0 else n].strip():
            on_error("junk_bytes")
        if start < 0:
            return
        head_end = data.find(b"\r\n\r\n", start)
        if head_end < 0:
            on_error("bad_warc_header")
            return
        headers = {}
        for line in data[start:head_end].split(b"\r\n")[1:]:
            k, sep, v = line.partition(b":")
            if sep:
                headers[k.strip().decode("latin-1").lower()] = v.strip().decode("utf-8", "replace")
        body_start = head_end + 4
        try:
            length = int(headers.get("content-length", ""))
        except ValueError:
            length = -1
        body_end = body_start + length
        tail = data[body_end:body_end + 16].lstrip(b"\r\n")
        ends_well = data.startswith(b"\r\n\r\n", body_end) or not tail or tail.startswith(b"WARC/")
        if length < 0 or body_end > n or not ends_well:  # (junk after a well-ended record is the next one's problem)
            on_error("bad_content_length")
            nxt = data.find(b"WARC/1.", start + 1)
            pos = nxt if nxt >= 0 else n
            continue
        yield headers, data[body_start:body_end]
        pos = body_end


def split_http(block: bytes) -> tuple[dict, bytes] | None:
    """HTTP response block -> (lower-cased headers, body); None when it is not an HTTP response."""
    if not block.startswith(b"HTTP/"):
        return None
    end = block.find(b"\r\n\r\n")
    sep = 4
    if end < 0:
        end, sep = block.find(b"\n\n"), 2
        if end < 0:
            return None
    headers = {}
    for line in block[:end].split(b"\n")[1:]:
        k, s, v = line.partition(b":")
        if s:
            headers[k.strip().decode("latin-1").lower()] = v.strip().decode("latin-1")
    return headers, block[end + sep:]


_BINARY_MAGIC = (b"%PDF", b"\x89PNG", b"GIF8", b"\xff\xd8\xff", b"PK\x03\x04", b"\x1f\x8b", b"BZh", b"7z\xbc\xaf",
                 b"Rar!", b"\x00\x00\x01\x00", b"RIFF", b"OggS", b"ID3", b"\x7fELF", b"MZ", b"wOFF", b"\x00asm")


# byte-order marks, longest first (a UTF-32-LE mark starts like a UTF-16-LE one)
_BOMS = ((b"\x00\x00\xfe\xff", "utf-32"), (b"\xff\xfe\x00\x00", "utf-32"), (b"\xef\xbb\xbf", "utf-8-sig"),
         (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))
_META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9_:.-]{2,40})""", re.IGNORECASE)
_UTF8_NAMES = ("utf-8", "utf8", "utf_8")


def looks_binary(body: bytes) -> bool:
    if body.startswith(_BINARY_MAGIC):
        return True
    if body.startswith((b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")):  # UTF-16/32 text has NULs by design
        return False
    head = body[:4096]
    return head.count(b"\x00") > len(head) // 100 + 1


def content_type(headers: dict) -> tuple[str, str | None]:
    raw = headers.get("content-type", "")
    mime, _, params = raw.partition(";")
    charset = None
    for part in params.split(";"):
        k, _, v = part.partition("=")
        if k.strip().lower() == "charset":
            charset = v.strip().strip("\"'") or None
    return mime.strip().lower(), charset


def decode(body: bytes, charset: str | None) -> tuple[str | None, str]:
    """Bytes -> text. Returns (text, how); how is "declared" when the declared charset (or plain ASCII) was right.

    Order: a byte-order mark; then UTF-8 when the bytes are valid UTF-8, whatever the header says (an
    ISO-8859-1 label on a UTF-8 page is common on the web, and valid UTF-8 with non-ASCII text almost never
    arises by chance in another encoding; trafilatura decodes bytes the same way, so its direct call and our
    stage see the same text); the declared charset; the page's own <meta charset>; UTF-8 with its few broken
    bytes replaced; a detected charset."""
    for bom, enc in _BOMS:
        if body.startswith(bom):
            try:
                return body.decode(enc), "declared" if charset and charset.lower().startswith(enc[:6]) else "bom"
            except UnicodeDecodeError:
                break
    declared_utf8 = bool(charset) and charset.lower() in _UTF8_NAMES
    try:
        text = body.decode("utf-8")
        return text, "declared" if declared_utf8 or not charset or text.isascii() else "utf-8"
    except UnicodeDecodeError:
        pass
    meta = _META_CHARSET.search(body[:8192])
    candidates = ((charset, "declared"), (meta.group(1).decode("ascii", "replace") if meta else None, "meta"))
    for enc, how in candidates:
        if not enc or enc.lower() in _UTF8_NAMES:
            continue
        try:
            return body.decode(enc), how
        except (UnicodeDecodeError, LookupError):
            continue
    # UTF-8 with a few broken bytes (its valid multi-byte characters outnumber the broken sequences): keep it
    # UTF-8 and replace the broken bytes, rather than let a detector read the whole page as, say, IBM866
    text = body.decode("utf-8", "replace")
    broken = text.count("\ufffd") - body.count(b"\xef\xbf\xbd")
    non_ascii = len(text) - len(text.encode("ascii", "ignore"))
    if non_ascii - broken > broken:
        return text, "utf-8-repaired"
    import cchardet

    detected = cchardet.detect(body[:65536]).get("encoding")
    if detected:
        try:
            return body.decode(detected), "detected"
        except (UnicodeDecodeError, LookupError):
            pass
    return None, "undecodable"


def dechunk(body: bytes) -> bytes:
    out, pos = [], 0
    while True:
        eol = body.find(b"\r\n", pos)
        if eol < 0:
            break
        try:
            size = int(body[pos:eol].split(b";")[0], 16)
        except ValueError:
            return body
        if size == 0:
            break
        out.append(body[eol + 2: eol + 2 + size])
        pos = eol + 2 + size + 2
    return b"".join(out)


class WarcReader(Reader):
    """Reads WARC (response records, HTML) and WET (conversion records, text) files, gzip per record or plain."""

    name = "🕷 WARC"
    format = "warc"
    _file_snapshot: str | None = None

    def read_file(self, path: str) -> Iterator[Document]:
        self._file_snapshot = None  # this file's warcinfo isPartOf; never carried over to the next file
        with fsspec.open(path, "rb") as raw:
            head = raw.read(READ_CHUNK)
            raw.seek(0)
            gz_at, warc_at = head.find(GZIP_MAGIC), head.find(b"WARC/1.")
            if gz_at >= 0 and (warc_at < 0 or gz_at < warc_at):  # gzip members, maybe after some junk
                members = gzip_members(raw, self.max_record_bytes + 65536, self.skip)
                for member in members:
                    for headers, block in parse_warc_records(member, self.skip):
                        doc = self.record_to_doc(headers, block, path)
                        if doc is not None:
                            yield doc
            else:
                data = raw.read()
                for headers, block in parse_warc_records(data, self.skip):
                    doc = self.record_to_doc(headers, block, path)
                    if doc is not None:
                        yield doc

    def record_to_doc(self, headers: dict, block: bytes, path: str) -> Document | None:
        rtype = headers.get("warc-type", "")
        if rtype == "warcinfo":
            for line in block.decode("utf-8", "replace").splitlines():
                if line.lower().startswith("ispartof:"):
                    self._file_snapshot = line.split(":", 1)[1].strip()
            return None
        if rtype not in ("response", "conversion", "resource"):
            self.stat_update(Stats.not_response(rtype or 'unknown'))
            return None
        if len(block) > self.max_record_bytes:
            self.skip("too_large")
            return None
        if rtype == "conversion":
            body, mime, charset = block, "text/plain", "utf-8"
        elif rtype == "response":
            http = split_http(block)
            if http is None:
                self.skip("not_http")
                return None
            hh, body = http
            if hh.get("transfer-encoding", "").lower() == "chunked":
                body = dechunk(body)
            if hh.get("content-encoding", "").lower() in ("gzip", "x-gzip"):
                try:
                    body = gzip.decompress(body)
                except (OSError, EOFError, zlib.error):
                    self.skip("bad_content_encoding")
                    return None
            mime, charset = content_type(hh)
        else:
            body = block
            mime, charset = content_type({"content-type": headers.get("content-type", "")})
        if not body.strip():
            self.skip("empty")
            return None
        if (mime and mime not in HTML_TYPES and mime != "text/plain") or looks_binary(body):
            self.skip("binary" if looks_binary(body) or not mime.startswith("text/") else "not_html")
            return None
        text, how = decode(body, charset)
        if text is None:
            self.skip("undecodable")
            return None
        if how == "utf-8-repaired":
            self.stat_update("invalid_utf8_replaced")
        elif how != "declared" and charset:
            self.stat_update("charset_wrong")
        if "\x00" in text:
            text = text.replace("\x00", "")
            self.stat_update("nul_bytes_removed")
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
        if not isinstance(text, str):
            self.skip("text_not_string")
            return None
        if not text.strip():
            self.skip("empty")
            return None
        if "\x00" in text:
            text = text.replace("\x00", "")
            self.stat_update("nul_bytes_removed")
        meta = {k: v for k, v in row.items() if k not in (self.text_key, self.id_key) and v is not None}
        nested = meta.pop("metadata", None)
        if isinstance(nested, dict):
            meta = nested | meta
        meta.setdefault("content_type", "text/plain")
        rid = row.get(self.id_key)
        return Document(text=text, id=str(rid) if rid not in (None, "") else f"{path}/{index}", metadata=meta)


def _lines(f) -> Iterator[bytes]:
    """Lines of a binary stream: its own line iteration, or chunked reads where the decompressor has none
    (zstd's). Line iteration keeps the lines before the damage of a truncated gzip file."""
    try:
        yield from f
        return
    except io.UnsupportedOperation:
        if f.tell() not in (0, None):
            raise
    rest = b""
    while chunk := f.read(READ_CHUNK):
        lines = (rest + chunk).split(b"\n")
        rest = lines.pop()
        yield from lines
    if rest:
        yield rest


class JsonlReader(_RecordReader):
    """JSON Lines (optionally .gz/.zst): one object per line with a text field."""

    name = "🐿 JSONL"
    format = "jsonl"

    def read_file(self, path: str) -> Iterator[Document]:
        with fsspec.open(path, "rb", compression="infer") as f:
            for i, line in enumerate(_lines(f)):
                if not line.strip():
                    continue
                try:
                    row = orjson.loads(line)
                except orjson.JSONDecodeError:
                    self.skip("bad_json")
                    continue
                doc = self.row_to_doc(row, path, i)
                if doc is not None:
                    yield doc


class ParquetReader(_RecordReader):
    """Parquet files, read in record batches; a corrupt file is counted and skipped."""

    name = "📒 Parquet"
    format = "parquet"

    def read_file(self, path: str) -> Iterator[Document]:
        import pyarrow as pa
        import pyarrow.parquet as pq

        with fsspec.open(path, "rb") as f:
            try:
                pf = pq.ParquetFile(f)
                if self.text_key not in pf.schema_arrow.names:
                    self.skip("missing_text_column")
                    logger.warning(f"{path}: no '{self.text_key}' column (columns: {pf.schema_arrow.names})")
                    return
                i = 0
                for batch in pf.iter_batches(batch_size=1024):
                    for row in batch.to_pylist():
                        doc = self.row_to_doc(row, path, i)
                        i += 1
                        if doc is not None:
                            yield doc
            except (pa.ArrowInvalid, OSError) as e:
                self.skip("corrupt_parquet")
                logger.warning(f"{path}: not a readable Parquet file ({e})")


class HtmlReader(Reader):
    """Plain HTML files, one document each; the file path is its id and (as file://) its url."""

    name = "📄 HTML"
    format = "html"

    def read_file(self, path: str) -> Iterator[Document]:
        with fsspec.open(path, "rb", compression="infer") as f:
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
        text, _ = decode(body, None)
        if text is None:
            self.skip("undecodable")
            return
        url = path if "://" in path else "file://" + str(PurePosixPath(path))
        yield Document(text=text.replace("\x00", ""), id=path, metadata={"url": url, "content_type": "text/html"})


READERS = {"warc": WarcReader, "wet": WetReader, "jsonl": JsonlReader, "parquet": ParquetReader, "html": HtmlReader}
assert tuple(READERS) == FORMATS


def record_batches(path: str, fmt: str, columns: list[str] | None = None, batch_size: int = 4096) -> Iterator:
    """Arrow record batches of a Parquet or JSONL file (local or fsspec), only `columns` when given."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if fmt == "parquet":
        with fsspec.open(path, "rb") as f:
            pf = pq.ParquetFile(f)
            cols = [c for c in (columns or pf.schema_arrow.names) if c in pf.schema_arrow.names]
            yield from pf.iter_batches(batch_size=batch_size, columns=cols)
    elif fmt == "jsonl":
        import pyarrow.json as pj

        with fsspec.open(path, "rb", compression="infer") as f:
            table = pj.read_json(f)
        for batch in table.to_batches(max_chunksize=batch_size):
            if columns:
                batch = pa.RecordBatch.from_arrays([batch.column(c) for c in columns if c in batch.schema.names],
                                                   names=[c for c in columns if c in batch.schema.names])
            yield batch
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


