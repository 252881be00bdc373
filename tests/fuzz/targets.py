"""Fuzz targets: each takes the fuzzer's bytes, feeds them to one input path of `curation` and raises when
an invariant breaks. What counts as a crash:

- any exception other than the documented refusals (a CurationError with its one line; for a WARC that is
  one gzip stream, the gzip errors that stop that file);
- a document whose text a UTF-8 file cannot hold (lone surrogates), or HTML that keeps the control characters
  an XML parser refuses;
- a good record lost beside a bad one (JSONL: every line that is a JSON object with a text is a document);
- counts that do not add up (dedup: kept + removed = documents).

Used by tests/fuzz/run.py (atheris, coverage-guided) and by tests/test_fuzz_regressions.py (the crashes it
found, replayed on every test run).
"""

from __future__ import annotations

import bz2
import gzip
import io
import itertools
import json
import os
import re
import shutil
import sys
import tempfile
import zlib

import fsspec

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from atheris_fdp import provider  # noqa: E402

from curation.core import CurationError  # noqa: E402

_COUNTER = itertools.count()
_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
_SURROGATE = re.compile("[\ud800-\udfff]")
SCRATCH = None  # the system's temporary folder


class Broken(AssertionError):
    """An invariant the fuzzed input broke."""


def _memory_file(name: str, data: bytes) -> str:
    path = f"memory://fuzz/{next(_COUNTER)}/{name}"
    with fsspec.open(path, "wb") as f:
        f.write(data)
    return path


def _forget(path: str) -> None:
    fs = fsspec.filesystem("memory")
    fs.rm(path.removeprefix("memory://").rsplit("/", 1)[0], recursive=True)


def check_docs(docs, html: bool) -> None:
    for doc in docs:
        if not isinstance(doc.text, str) or not isinstance(doc.id, str):
            raise Broken(f"document text/id not a string: {type(doc.text)}, {type(doc.id)}")
        if _SURROGATE.search(doc.text):
            raise Broken("document text holds a lone surrogate (no UTF-8 file can hold it)")
        if html and doc.metadata.get("content_type") == "text/html" and _CONTROLS.search(doc.text):
            raise Broken("HTML keeps control characters an XML parser refuses")
        for k, v in doc.metadata.items():
            if isinstance(v, str) and _SURROGATE.search(v):
                raise Broken(f"metadata {k!r} holds a lone surrogate")


def _read_all(reader, path: str) -> list:
    return list(reader.read_file(path))


# ------------------------------------------------------------------------------------------------ WARC / WET


def warc_bytes(data: bytes) -> tuple[bytes, str]:
    """The fuzzer's bytes as a WARC file: byte 0 picks the layout (plain; a gzip member per record, as Common
    Crawl writes them; one gzip stream) and the reader (WARC or WET); the rest is the plain WARC text, so
    mutations act on records, not on compressed bytes."""
    if not data:
        return b"", "warc"
    mode, body = data[0], data[1:]
    fmt = "wet" if mode & 4 else "warc"
    layout = mode % 3
    if layout == 1:
        parts = [p for p in re.split(rb"(?=WARC/1\.)", body) if p]
        return b"".join(gzip.compress(p, compresslevel=1, mtime=0) for p in parts), fmt
    if layout == 2:
        return gzip.compress(body, compresslevel=1, mtime=0), fmt
    return body, fmt


def warc(data: bytes) -> None:
    from curation.io.readers import WarcReader, WetReader

    raw, fmt = warc_bytes(data)
    path = _memory_file("f.warc" if fmt == "warc" else "f.wet", raw)
    reader = (WarcReader if fmt == "warc" else WetReader)([path], max_record_mb=1)
    try:
        docs = _read_all(reader, path)
    except (OSError, EOFError, zlib.error):
        if data and data[0] % 3 == 2:  # one gzip stream: damage stops the file (documented)
            return
        raise
    finally:
        _forget(path)
    check_docs(docs, html=True)


def http_payload(data: bytes) -> None:
    """A response record built from the fuzzer's choice of charset, content and transfer encoding and body."""
    fdp = provider(data)
    charset = fdp.pick(["", "utf-8", "windows-1251", "shift_jis", "latin-1", "utf-16", "unicode_escape", "idna",
                        "undefined", "rot13", "utf-7", "x-user-defined", "gb18030", fdp.text(12)])
    coding = fdp.pick(["", "gzip", "x-gzip", "deflate", "br", "zstd", "gzip, br", "identity", "compress", fdp.text(8)])
    chunked = fdp.flag()
    encode_it = fdp.flag()
    mime = fdp.pick(["text/html", "text/plain", "application/xhtml+xml", "", "application/pdf", fdp.text(10)])
    body = fdp.rest()
    if encode_it:
        body = _encode(body, coding)
    if chunked:
        body = _chunk(body, fdp.seed)
    head = "HTTP/1.1 200 OK\r\n"
    if mime or charset:
        head += f"Content-Type: {mime}" + (f"; charset={charset}" if charset else "") + "\r\n"
    if coding:
        head += f"Content-Encoding: {coding}\r\n"
    if chunked:
        head += "Transfer-Encoding: chunked\r\n"
    block = head.encode("utf-8", "surrogatepass") + b"\r\n" + body
    from curation.io.readers import WarcReader

    reader = WarcReader(["memory://unused"], max_record_mb=1)
    reader._seen = {}
    doc = reader.record_to_doc({"warc-type": "response", "warc-target-uri": "https://x.example/"}, block, "p")
    check_docs([doc] if doc else [], html=True)


def _encode(body: bytes, coding: str) -> bytes:
    for c in [c.strip() for c in coding.split(",") if c.strip()]:
        if c in ("gzip", "x-gzip"):
            body = gzip.compress(body, mtime=0)
        elif c == "deflate":
            body = zlib.compress(body)
        elif c == "br":
            import brotli

            body = brotli.compress(body)
        elif c == "zstd":
            import zstandard

            body = zstandard.ZstdCompressor().compress(body)
    return body


def _chunk(body: bytes, seed: int) -> bytes:
    out, pos, size = [], 0, 1 + seed % 97
    while pos < len(body):
        piece = body[pos:pos + size]
        out.append(b"%x\r\n%s\r\n" % (len(piece), piece))
        pos += size
    return b"".join(out) + b"0\r\n\r\n"


# ------------------------------------------------------------------------------------------------ HTML


def html(data: bytes) -> None:
    from curation.io.readers import HtmlReader

    raw = gzip.compress(data[1:], mtime=0) if data[:1] == b"\x01" else data
    path = _memory_file("page.html", raw)
    try:
        docs = _read_all(HtmlReader([path], max_record_mb=1), path)
    finally:
        _forget(path)
    check_docs(docs, html=True)


# ------------------------------------------------------------------------------------------------ JSONL


def compress_lines(body: bytes, mode: int) -> bytes:
    """mode 0 plain, 1 gzip in several members, 2 zstd in several frames, 3 bzip2."""
    if mode == 1:
        half = len(body) // 2
        return gzip.compress(body[:half], mtime=0) + gzip.compress(body[half:], mtime=0)
    if mode == 2:
        import zstandard

        half = len(body) // 2
        c = zstandard.ZstdCompressor()
        return c.compress(body[:half]) + c.compress(body[half:])
    if mode == 3:
        return bz2.compress(body)
    return body


def expected_jsonl_docs(body: bytes, max_bytes: int) -> int:
    """Lines any JSON parser reads as an object with a non-blank string text: none may be lost."""
    import orjson

    n = 0
    for i, line in enumerate(body.split(b"\n")):
        if i == 0 and line.startswith(b"\xef\xbb\xbf"):
            line = line[3:]
        if len(line) > max_bytes:
            continue
        try:
            row = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if isinstance(row, dict) and isinstance(row.get("text"), str) and row["text"].replace("\x00", "").strip():
            n += 1
    return n


def jsonl(data: bytes) -> None:
    from curation.io.readers import JsonlReader
    from curation.io.records import read_jsonl_table

    mode, body = (data[0] % 4, data[1:]) if data else (0, b"")
    path = _memory_file("rows.jsonl", compress_lines(body, mode))
    try:
        reader = JsonlReader([path], max_record_mb=1)
        docs = _read_all(reader, path)
        table = read_jsonl_table(path)
    finally:
        _forget(path)
    check_docs(docs, html=False)
    want = expected_jsonl_docs(body, reader.max_record_bytes)
    if len(docs) < want:
        raise Broken(f"{want} good JSONL records, {len(docs)} documents: good records lost")
    if want and table.num_rows < want:
        raise Broken(f"column tools read {table.num_rows} rows of {want} good records")
    write_docs(docs)


def write_docs(docs) -> None:
    """The documents through the run's Parquet writer (their metadata comes from the input's own columns)."""
    from curation.io.writer import language_writer

    folder = tempfile.mkdtemp(prefix="curate-fuzz-", dir=SCRATCH)
    try:
        writer = language_writer(folder)
        for doc in docs:
            writer.write(doc, 0)
        writer.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# ------------------------------------------------------------------------------------------------ Parquet


PARQUET_TYPES = ("string", "large_string", "binary", "large_binary", "dictionary", "struct", "list", "int64",
                 "float64", "bool", "null", "timestamp")
COMPRESSIONS = ("none", "snappy", "gzip", "brotli", "zstd", "lz4")


def parquet_table(fdp):
    """A table from the fuzzer's choices: a text column and a few others of any type, rows of any content."""
    import pyarrow as pa

    n = fdp.int(0, 40)
    cols = {"text": fdp.pick(("string", "large_string", "binary", "large_binary", "dictionary", "null", "int64",
                              "struct"))}
    for i in range(fdp.int(0, 5)):
        cols[fdp.pick(["id", "url", "language", "language_score", "metadata", "date", "n_words", f"c{i}",
                       "perplexity", "snapshot"])] = fdp.pick(PARQUET_TYPES)
    arrays = {}
    for name, kind in cols.items():
        values = [fdp.value(kind) for _ in range(n)]
        arrays[name] = _arrow(values, kind)
    return pa.table(arrays), fdp.pick(COMPRESSIONS)


def _arrow(values, kind):
    import pyarrow as pa

    if kind == "dictionary":
        return pa.array(values, pa.string()).dictionary_encode()
    if kind == "struct":
        return pa.array(values, pa.struct([("a", pa.string()), ("b", pa.int64())]))
    if kind == "list":
        return pa.array(values, pa.list_(pa.string()))
    if kind == "timestamp":
        return pa.array(values, pa.timestamp("us"))
    return pa.array(values, {"string": pa.string(), "large_string": pa.large_string(), "binary": pa.binary(),
                             "large_binary": pa.large_binary(), "int64": pa.int64(), "float64": pa.float64(),
                             "bool": pa.bool_(), "null": pa.null()}[kind])


def parquet(data: bytes) -> None:
    """Byte 0 even: a table built from the fuzzer's choices (types, compressions, contents); odd: the rest of
    the bytes as a Parquet file (mutations of real files)."""
    import pyarrow.parquet as pq

    from curation.io.readers import ParquetReader, record_batches, text_values

    if data[:1] and data[0] % 2 == 0:
        fdp = provider(data[1:])
        table, compression = parquet_table(fdp)
        buf = io.BytesIO()
        pq.write_table(table, buf, compression=compression, row_group_size=max(1, fdp.int(1, 16)))
        raw = buf.getvalue()
    else:
        table, raw = None, data[1:]
    path = _memory_file("t.parquet", raw)
    try:
        docs = _read_all(ParquetReader([path], max_record_mb=1), path)
        try:
            for batch in record_batches(path, "parquet"):
                text_values(batch, path)
        except CurationError:
            pass
    finally:
        _forget(path)
    check_docs(docs, html=False)
    if table is not None:
        good = 0
        for v in table.column("text").to_pylist():
            if isinstance(v, bytes):
                try:
                    v = v.decode("utf-8")
                except UnicodeDecodeError:
                    continue
            if isinstance(v, str) and v.replace("\x00", "").strip():
                good += 1
        if len(docs) != good:
            raise Broken(f"{good} rows with text, {len(docs)} documents")
    write_docs(docs)


# ------------------------------------------------------------------------------------------------ manifests


def manifest(data: bytes) -> None:
    """Manifest text through parsing and validation (what `curate validate` does before it looks at inputs)."""
    from curation.manifest import parse_manifest

    _safe_imports()
    text = data.decode("utf-8", "replace")
    try:
        parse_manifest(text, source="fuzz.yml")
    except CurationError as e:
        lines = str(e).splitlines()
        if not lines or any(not line.strip() for line in lines):
            raise Broken(f"a refusal without its line: {e!r}") from None


_SAFE_PACKAGES = ("curation", "filters", "langid", "dedup", "rephrase", "examples")


def _safe_imports() -> None:
    """Manifests name modules to import (`imports:`, `stage: module:attr`); the fuzzer's names must not import
    arbitrary modules of the standard library (`antigravity` opens a browser): only modules already imported
    or of this project."""
    import importlib

    import curation.core
    import curation.manifest

    if getattr(curation.manifest.importlib, "_fuzz_safe", False):
        return

    def guarded(name, package=None):
        if name in sys.modules or name.split(".")[0] in _SAFE_PACKAGES:
            return importlib.import_module(name, package)
        raise ImportError(f"No module named '{name}' (the fuzz harness imports no new module)")

    class _Guarded:
        _fuzz_safe = True
        import_module = staticmethod(guarded)

    curation.manifest.importlib = curation.core.importlib = _Guarded


# ------------------------------------------------------------------------------------------------ dedup / filter


TEXTS = ("All human beings are born free and equal in dignity and rights.",
         "Tous les êtres humains naissent libres et égaux en dignité et en droits.",
         "Alle Menschen sind frei und gleich an Würde und Rechten geboren.",
         "Все люди рождаются свободными и равными в своем достоинстве и правах.",
         "人人生而自由,在尊严和权利上一律平等。")
LANGS = ("eng_Latn", "fra_Latn", "deu_Latn", "rus_Cyrl", "", None, "und", "../../etc", "x" * 300, "zho_Hans", "😀")


def dedup_filter(data: bytes) -> None:
    """Rows from the fuzzer (texts, languages, urls, ids of any type) as JSONL or Parquet, through `curate
    dedup` and `curate filter`."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from curation.apply.dedup import dedup_files
    from curation.apply.filter import filter_files

    fdp = provider(data)
    rows = []
    for i in range(fdp.int(0, 30)):
        parts = [fdp.pick(TEXTS) if fdp.flag() else fdp.text(60) for _ in range(fdp.int(0, 6))]
        row = {"text": fdp.pick([" ".join(parts), "\n".join(parts), None, 5, ""])}
        if fdp.flag():
            row["language"] = fdp.pick(LANGS)
        if fdp.flag():
            row["url"] = fdp.pick([f"https://h{fdp.int(0, 3)}.example/{i}", fdp.text(20), None, 7])
        if fdp.flag():
            row["id"] = fdp.pick([f"d{i}", i, None, fdp.text(8)])
        rows.append(row)
    folder = tempfile.mkdtemp(prefix="curate-fuzz-", dir=SCRATCH)
    try:
        if fdp.flag():
            path = os.path.join(folder, "in.jsonl")
            with open(path, "wb") as f:
                f.write(b"\n".join(json.dumps(r, ensure_ascii=fdp.flag()).encode("utf-8", "surrogatepass")
                                   for r in rows))
        else:
            path = os.path.join(folder, "in.parquet")
            from curation.io.records import _column

            rows = [{k: v.encode("utf-8", "replace").decode() if isinstance(v, str) else v for k, v in r.items()}
                    for r in rows]  # Parquet strings are valid UTF-8
            names = list(dict.fromkeys(k for r in rows for k in r))
            pq.write_table(pa.Table.from_arrays([_column([r.get(k) for r in rows]) for k in names], names=names)
                           if names else pa.table({"text": pa.array([], pa.string())}), path)
        try:
            s = dedup_files([path], os.path.join(folder, "dedup"), progress=False)
            if s["kept"] + s["removed"] != s["documents"] - s.get("no_text", 0) and \
                    s["kept"] + s["removed"] != s["documents"]:
                raise Broken(f"dedup counts do not add up: {s}")
        except CurationError:
            pass
        try:
            language = None if fdp.flag() else "eng_Latn"
            f = filter_files([path], os.path.join(folder, "filter"), language=language, progress=False)
            if f["kept"] + f["removed"] != f["documents"]:
                raise Broken(f"filter counts do not add up: {f}")
        except CurationError:
            pass
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def warm_dedup_filter() -> None:
    """Load what a first use pays once per process (spaCy's French tokenizer compiles its exceptions for ~10 s),
    so the fuzzer's per-input timeout measures the input, not the first encounter of a language."""
    from filters.words import normalized_word_splitter

    for lang in ("eng_Latn", "fra_Latn", "deu_Latn", "rus_Cyrl", "zho_Hans", "und"):
        normalized_word_splitter(lang)


WARM_UP = {"dedup_filter": warm_dedup_filter}

TARGETS = {"warc": warc, "http_payload": http_payload, "html": html, "jsonl": jsonl, "parquet": parquet,
           "manifest": manifest, "dedup_filter": dedup_filter}
