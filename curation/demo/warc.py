"""Write WARC/1.0 files record by record, good ones and deliberately broken ones.

Every record is its own gzip member, as in Common Crawl's WARC and WET files,
so a reader can seek to any record's (offset, length) and so that a damaged
member only costs that record.  The broken-record helpers exist to test the
reader: real crawls contain truncated members, lying Content-Length headers,
junk between members, binary payloads, legacy or wrong charsets, invalid UTF-8,
NUL bytes, huge and absurdly nested pages.

Everything is deterministic: record ids come from a seeded RNG and gzip
headers carry mtime 0, so the same calls give the same bytes.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import random
import uuid
import zipfile
from datetime import datetime, timezone
from email.utils import format_datetime
from typing import BinaryIO, NamedTuple
from urllib.parse import urlsplit

CRLF = b"\r\n"
USER_AGENT = "DemoBot/1.0 (curation demo crawler)"


class Written(NamedTuple):
    """Where a record landed: its id and its gzip member's byte range."""

    record_id: str
    offset: int
    length: int


def warc_date(when: datetime | str) -> str:
    if isinstance(when, str):
        return when
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def http_date(when: datetime | str) -> str:
    if isinstance(when, str):
        when = datetime.strptime(when, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    return format_datetime(when.astimezone(timezone.utc), usegmt=True)


def sha1_digest(data: bytes) -> str:
    """Digest in the form WARC files use: sha1 in base32."""
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode()


def content_type_header(content_type: str, charset: str | None) -> str:
    return f"{content_type}; charset={charset}" if charset else content_type


def http_response_block(body: bytes, date: datetime | str, content_type: str = "text/html",
                        charset: str | None = "utf-8", status: str = "200 OK") -> bytes:
    """HTTP/1.1 header block plus body, as stored in a WARC response record."""
    head = [
        f"HTTP/1.1 {status}",
        f"Date: {http_date(date)}",
        "Server: nginx",
        f"Content-Type: {content_type_header(content_type, charset)}",
        f"Content-Length: {len(body)}",
        "Connection: close",
    ]
    return ("\r\n".join(head) + "\r\n\r\n").encode("ascii") + body


def http_request_block(url: str) -> bytes:
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    head = [
        f"GET {target} HTTP/1.1",
        f"Host: {parts.netloc}",
        f"User-Agent: {USER_AGENT}",
        "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        "Accept-Encoding: identity",
    ]
    return ("\r\n".join(head) + "\r\n\r\n").encode("ascii")


def fake_ip(url: str) -> str:
    """A stable documentation-range address per host (RFC 5737)."""
    h = hashlib.sha1(urlsplit(url).netloc.encode()).digest()
    return f"203.0.113.{h[0] % 254 + 1}"


class WarcWriter:
    """Append WARC records to a binary file object, one gzip member each.

    Every method returns a ``Written`` with the record id and the byte range
    of its gzip member (what a Common Crawl index stores as offset/length).
    """

    def __init__(self, fileobj: BinaryIO, seed: int = 0, compresslevel: int = 6):
        self.f = fileobj
        self.rng = random.Random(seed)
        self.level = compresslevel
        self.pos = 0
        self.warcinfo_id: str | None = None

    # -- plumbing ---------------------------------------------------------
    def new_id(self) -> str:
        return f"<urn:uuid:{uuid.UUID(int=self.rng.getrandbits(128), version=4)}>"

    def raw(self, data: bytes) -> Written:
        """Write bytes as they are (junk between members, hand-made damage)."""
        start = self.pos
        self.f.write(data)
        self.pos += len(data)
        return Written("", start, len(data))

    def record_bytes(self, warc_type: str, block: bytes, headers: dict[str, str],
                     content_length: int | None = None) -> tuple[str, bytes]:
        """One uncompressed WARC record; ``content_length`` can lie on purpose."""
        rid = headers.pop("WARC-Record-ID", None) or self.new_id()
        lines = [f"WARC-Type: {warc_type}", f"WARC-Record-ID: {rid}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        n = len(block) if content_length is None else content_length
        lines.append(f"Content-Length: {n}")
        head = ("WARC/1.0\r\n" + "\r\n".join(lines) + "\r\n\r\n").encode("utf-8")
        return rid, head + block + CRLF + CRLF

    def member(self, record: bytes) -> bytes:
        return gzip.compress(record, compresslevel=self.level, mtime=0)

    def write(self, warc_type: str, block: bytes, headers: dict[str, str],
              content_length: int | None = None, keep: float = 1.0) -> Written:
        rid, rec = self.record_bytes(warc_type, block, headers, content_length)
        gz = self.member(rec)
        if keep < 1.0:
            gz = gz[: max(10, int(len(gz) * keep))]
        w = self.raw(gz)
        return Written(rid, w.offset, w.length)

    def common(self, url: str | None, date: datetime | str) -> dict[str, str]:
        h = {"WARC-Date": warc_date(date)}
        if url is not None:
            h["WARC-Target-URI"] = url
        if self.warcinfo_id:
            h["WARC-Warcinfo-ID"] = self.warcinfo_id
        return h

    # -- good records -----------------------------------------------------
    def warcinfo(self, filename: str, date: datetime | str, fields: dict[str, str]) -> Written:
        body = "".join(f"{k}: {v}\r\n" for k, v in fields.items()).encode("utf-8")
        h = {"WARC-Date": warc_date(date), "WARC-Filename": filename,
             "Content-Type": "application/warc-fields"}
        w = self.write("warcinfo", body, h)
        self.warcinfo_id = w.record_id
        return w

    def request(self, url: str, date: datetime | str) -> Written:
        h = self.common(url, date)
        h["Content-Type"] = "application/http; msgtype=request"
        return self.write("request", http_request_block(url), h)

    def response_headers(self, url: str, date, body: bytes, concurrent_to: str | None,
                         digest: bool) -> dict[str, str]:
        h = self.common(url, date)
        h["Content-Type"] = "application/http; msgtype=response"
        h["WARC-IP-Address"] = fake_ip(url)
        if concurrent_to:
            h["WARC-Concurrent-To"] = concurrent_to
        if digest:
            h["WARC-Payload-Digest"] = sha1_digest(body)
        return h

    def response(self, url: str, body: bytes, date: datetime | str, *,
                 charset: str | None = "utf-8", content_type: str = "text/html",
                 concurrent_to: str | None = None, digest: bool = True,
                 length_delta: int = 0, keep: float = 1.0) -> Written:
        """An HTTP 200 response; ``length_delta``/``keep`` are for breaking it."""
        h = self.response_headers(url, date, body, concurrent_to, digest)
        block = http_response_block(body, date, content_type, charset)
        lying = len(block) + length_delta if length_delta else None
        return self.write("response", block, h, lying, keep)

    def metadata(self, url: str, date: datetime | str, refers_to: str | None = None,
                 fields: dict[str, str] | None = None) -> Written:
        h = self.common(url, date)
        h["Content-Type"] = "application/warc-fields"
        if refers_to:
            h["WARC-Concurrent-To"] = refers_to
        fields = fields or {"fetchTimeMs": "120"}
        body = "".join(f"{k}: {v}\r\n" for k, v in fields.items()).encode("utf-8")
        return self.write("metadata", body, h)

    def conversion(self, url: str, text: str, date: datetime | str,
                   refers_to: str | None = None, languages: str | None = None) -> Written:
        """A WET record: the page's extracted plain text."""
        body = text.encode("utf-8")
        h = self.common(url, date)
        if refers_to:
            h["WARC-Refers-To"] = refers_to
        h["WARC-Block-Digest"] = sha1_digest(body)
        if languages:
            h["WARC-Identified-Content-Language"] = languages
        h["Content-Type"] = "text/plain"
        return self.write("conversion", body, h)

    # -- broken records ---------------------------------------------------
    def truncated_response(self, url: str, body: bytes, date: datetime | str,
                           keep: float = 0.5, **kw) -> Written:
        """A response whose gzip member stops after ``keep`` of its bytes."""
        return self.response(url, body, date, keep=keep, **kw)

    def bad_length_response(self, url: str, body: bytes, date: datetime | str,
                            delta: int = 37, **kw) -> Written:
        """A response whose WARC Content-Length is off by ``delta`` bytes."""
        return self.response(url, body, date, length_delta=delta, **kw)


# -- payloads for odd and broken pages ---------------------------------------

def simple_html(title: str, paragraphs: list[str], lang: str = "en",
                meta_charset: str | None = "utf-8") -> str:
    from html import escape
    meta = f'<meta charset="{meta_charset}">' if meta_charset else ""
    ps = "".join(f"<p>{escape(p, quote=False)}</p>\n" for p in paragraphs)
    t = escape(title, quote=False)
    return (f'<!DOCTYPE html>\n<html lang="{lang}"><head>{meta}<title>{t}</title>'
            f"</head>\n<body><h1>{t}</h1>\n{ps}</body></html>\n")


def png_bytes() -> bytes:
    """A real 1x1 PNG."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))


def pdf_bytes(text: str = "Hello PDF") -> bytes:
    """A minimal one-page PDF (the xref offsets are not exact; readers cope)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode("latin-1", "replace")
    return (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
            b"1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
            b"2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n"
            b"3 0 obj << /Type /Page /Parent 2 0 R /Contents 4 0 R >> endobj\n"
            + f"4 0 obj << /Length {len(stream)} >> stream\n".encode() + stream
            + b"\nendstream endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")


def zip_bytes(text: str = "hello") -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(zipfile.ZipInfo("readme.txt", (2020, 1, 1, 0, 0, 0)), text)
    return buf.getvalue()


def invalid_utf8_html(html: str) -> bytes:
    """UTF-8 page with stray bytes and a cut multi-byte sequence in the text."""
    b = html.encode("utf-8")
    i = b.find(b"<p>")
    i = len(b) // 2 if i < 0 else i + 3
    return b[:i] + b"\xff\xfe caf\xc3 \xe2\x82 \x80\xbf " + b[i:]


def nul_html(html: str) -> bytes:
    b = html.encode("utf-8")
    i = b.find(b"<p>")
    i = len(b) // 2 if i < 0 else i + 3
    return b[:i] + b"\x00\x00text\x00with NULs\x00 " + b[i:]


def deep_html(depth: int = 100_000) -> bytes:
    """HTML nested ``depth`` levels (a recursion bomb for naive parsers)."""
    return (b"<!DOCTYPE html><html><body>" + b"<div>" * depth + b"deep text"
            + b"</div>" * depth + b"</body></html>")


def huge_html(size: int = 30 * 2**20, paragraph: str = "All human beings are born free "
              "and equal in dignity and rights.") -> bytes:
    """A page of about ``size`` bytes of repeated paragraphs."""
    p = f"<p>{paragraph}</p>\n".encode("utf-8")
    return b"<!DOCTYPE html><html><body>\n" + p * (size // len(p) + 1) + b"</body></html>\n"


# kind -> how to turn (page text, language) into (body bytes, charset header, content type)
ODD_BODY_KINDS = ("png", "pdf", "zip", "empty", "cp1251", "shift_jis", "latin1",
                  "wrong_charset", "no_charset", "invalid_utf8", "nul_bytes")
# the language each text-bearing odd kind needs so that its charset can encode it
ODD_KIND_LANG = {"cp1251": "rus", "shift_jis": "jpn", "latin1": "fra",
                 "wrong_charset": "ukr", "no_charset": "deu", "invalid_utf8": "eng",
                 "nul_bytes": "spa", "empty": None, "png": None, "pdf": None, "zip": None}


def odd_body(kind: str, title: str = "", paragraphs: list[str] = (), lang: str = "en"
             ) -> tuple[bytes, str | None, str]:
    """Payload, charset header and content type for one odd page kind."""
    paragraphs = list(paragraphs)

    def legacy(enc: str, meta: str | None = None) -> bytes:
        return simple_html(title, paragraphs, lang, meta).encode(enc, "xmlcharrefreplace")

    if kind == "png":
        return png_bytes(), None, "image/png"
    if kind == "pdf":
        return pdf_bytes(), None, "application/pdf"
    if kind == "zip":
        return zip_bytes(), None, "application/zip"
    if kind == "empty":
        return b"", "utf-8", "text/html"
    if kind == "cp1251":
        return legacy("cp1251"), "windows-1251", "text/html"
    if kind == "shift_jis":
        return legacy("shift_jis"), "shift_jis", "text/html"
    if kind == "latin1":
        return legacy("latin-1"), "iso-8859-1", "text/html"
    if kind == "wrong_charset":  # windows-1251 bytes that claim to be UTF-8
        return legacy("cp1251"), "utf-8", "text/html"
    if kind == "no_charset":  # latin-1 bytes, no header charset, no meta
        return legacy("latin-1"), None, "text/html"
    if kind == "invalid_utf8":
        return invalid_utf8_html(simple_html(title, paragraphs, lang)), "utf-8", "text/html"
    if kind == "nul_bytes":
        return nul_html(simple_html(title, paragraphs, lang)), "utf-8", "text/html"
    raise ValueError(f"unknown odd kind {kind!r}")


SAMPLE_TEXT = {
    "rus": "Все люди рождаются свободными и равными в своем достоинстве и правах.",
    "ukr": "Всі люди народжуються вільними і рівними у своїй гідності та правах.",
    "jpn": "すべての人間は、生まれながらにして自由であり、かつ、尊厳と権利とについて平等である。",
    "fra": "Tous les êtres humains naissent libres et égaux en dignité et en droits.",
    "deu": "Alle Menschen sind frei und gleich an Würde und Rechten geboren.",
    "spa": "Todos los seres humanos nacen libres e iguales en dignidad y derechos.",
    "eng": "All human beings are born free and equal in dignity and rights.",
}


def write_broken_samples(w: WarcWriter, date: datetime | str, include_huge: bool = True,
                         host: str = "https://broken.example") -> list[dict]:
    """One record of every odd and broken kind, for reader tests.

    Returns one dict per record written: url, kind, offset, length.
    ``include_huge`` adds the ~30 MB page and the 100,000-deep nesting.
    """
    out = []

    def note(kind: str, url: str, wr: Written) -> None:
        out.append({"url": url, "kind": kind, "offset": wr.offset, "length": wr.length})

    for kind in ODD_BODY_KINDS:
        iso = ODD_KIND_LANG[kind] or "eng"
        text = SAMPLE_TEXT[iso]
        body, cs, ct = odd_body(kind, text[:20], [text] * 3, iso[:2])
        url = f"{host}/{kind}"
        req = w.request(url, date)
        note(kind, url, w.response(url, body, date, charset=cs, content_type=ct,
                                   concurrent_to=req.record_id))
    page = simple_html("Broken", [SAMPLE_TEXT["eng"]] * 5).encode()
    note("truncated_gzip", f"{host}/truncated",
         w.truncated_response(f"{host}/truncated", page, date))
    note("bad_length", f"{host}/bad-length", w.bad_length_response(f"{host}/bad-length", page, date))
    note("junk", "", w.raw(b"\x00garbage between members\r\n" * 3))
    note("request_only", f"{host}/request-only", w.request(f"{host}/request-only", date))
    note("metadata", f"{host}/metadata", w.metadata(f"{host}/metadata", date))
    if include_huge:
        note("huge", f"{host}/huge", w.response(f"{host}/huge", huge_html(), date))
        note("deep", f"{host}/deep", w.response(f"{host}/deep", deep_html(), date))
    note("ok", f"{host}/ok", w.response(f"{host}/ok", page, date))
    return out
