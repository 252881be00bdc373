"""An HTTP payload as a crawler stored it -> the page's text.

Crawlers store payloads as received: chunked transfer encoding, gzip/deflate/brotli/zstd content encoding
(or the header left in place over a payload already decoded), a charset named in the HTTP header, in a byte
order mark or in a `<meta>` tag, or nowhere. Each step here undoes one of those, and says what it did, so the
WARC and HTML readers can count repairs instead of losing pages. Control characters that XML parsers refuse
(vertical tab, form feed, escape...) are removed from HTML, or the extractor would see no document at all.
"""

from __future__ import annotations

import codecs
import re
import zlib

import brotli

HTML_TYPES = ("text/html", "application/xhtml+xml")
_BINARY_MAGIC = (b"%PDF", b"\x89PNG", b"GIF8", b"\xff\xd8\xff", b"PK\x03\x04", b"\x1f\x8b", b"BZh", b"7z\xbc\xaf",
                 b"Rar!", b"\x00\x00\x01\x00", b"RIFF", b"OggS", b"ID3", b"\x7fELF", b"MZ", b"wOFF", b"\x00asm")
# byte-order marks, longest first (a UTF-32-LE mark starts like a UTF-16-LE one)
_BOMS = ((b"\x00\x00\xfe\xff", "utf-32"), (b"\xff\xfe\x00\x00", "utf-32"), (b"\xef\xbb\xbf", "utf-8-sig"),
         (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))
_META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9_:.-]{2,40})""", re.IGNORECASE)
_UTF8_NAMES = ("utf-8", "utf8", "utf_8")
# C0 controls other than tab, line feed and carriage return; vertical tab and form feed become spaces
_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
_SPACE_CONTROLS = str.maketrans({"\x0b": " ", "\x0c": " "})


class BadEncoding(ValueError):
    """A content encoding that cannot be undone (the reason is counted as `skipped/bad_content_encoding`)."""


def split_http(block: bytes) -> tuple[dict, bytes] | None:
    """HTTP response block -> (lower-cased headers, body); None when it is not an HTTP response. The head ends
    at the first empty line, CRLF or bare LF, whichever comes first (a bare-LF head over a body holding CRLF
    blank lines must not swallow the start of the body)."""
    if not block.startswith(b"HTTP/"):
        return None
    ends = [(i, n) for i, n in ((block.find(b"\r\n\r\n"), 4), (block.find(b"\n\n"), 2)) if i >= 0]
    if not ends:
        return None
    end, sep = min(ends)
    headers: dict[str, str] = {}
    for line in block[:end].split(b"\n")[1:]:
        k, s, v = line.partition(b":")
        if s:
            key = k.strip().decode("latin-1").lower()
            value = v.strip().decode("latin-1")
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return headers, block[end + sep:]


def dechunk(body: bytes) -> bytes | None:
    """Undo chunked transfer encoding; None when `body` is not chunked (a crawler that decoded it but kept the
    header). A last chunk cut short keeps what arrived."""
    out, pos = [], 0
    while True:
        eol = body.find(b"\n", pos)
        if eol < 0:
            break
        line = body[pos:eol].rstrip(b"\r").split(b";")[0].strip()
        try:
            size = int(line, 16) if line and all(c in b"0123456789abcdefABCDEF" for c in line) else -1
        except ValueError:
            size = -1
        if size < 0:
            if not out:
                return None
            break
        if size == 0:
            break
        out.append(body[eol + 1: eol + 1 + size])
        pos = eol + 1 + size
        pos += 2 if body.startswith(b"\r\n", pos) else 1 if body.startswith(b"\n", pos) else 0
    return b"".join(out) if out or body[:1] == b"0" else None


def _gunzip(body: bytes) -> bytes:
    out, data = [], body
    while data.startswith(b"\x1f\x8b"):  # every member
        d = zlib.decompressobj(wbits=31)
        out.append(d.decompress(data))
        if not d.eof:
            out.append(d.flush())
            break  # cut short: keep what decoded
        data = d.unused_data
    return b"".join(out)


def _inflate(body: bytes) -> bytes:
    try:
        return zlib.decompress(body)
    except zlib.error:  # raw deflate, as some servers send it
        return zlib.decompress(body, wbits=-15)


def _brotli(body: bytes) -> bytes:
    return brotli.decompress(body)


def _zstd(body: bytes) -> bytes:
    import zstandard

    return zstandard.ZstdDecompressor().decompressobj().decompress(body)


_DECODERS = {"gzip": _gunzip, "x-gzip": _gunzip, "deflate": _inflate, "br": _brotli, "zstd": _zstd}


def decode_content(body: bytes, content_encoding: str) -> tuple[bytes, bool]:
    """Undo `Content-Encoding` (a list, applied in order, undone in reverse). A payload that is plainly not
    encoded (the crawler decoded it and kept the header) is returned as it is. Returns (body, decoded?);
    raises BadEncoding when an encoded payload does not decode."""
    codings = [c.strip().lower() for c in content_encoding.split(",") if c.strip()]
    changed = False
    for coding in reversed(codings):
        if coding in ("identity", ""):
            continue
        decoder = _DECODERS.get(coding)
        if decoder is None:
            raise BadEncoding(f"unknown content encoding '{coding}'")
        if coding in ("gzip", "x-gzip") and not body.startswith(b"\x1f\x8b"):
            continue  # already decoded
        try:
            body = decoder(body)
        except Exception as e:  # zlib.error, brotli.error, zstd.ZstdError
            if coding in ("deflate", "br", "zstd") and _plain_text(body):
                continue  # already decoded
            raise BadEncoding(f"{coding}: {e}") from None
        changed = True
    return body, changed


def _plain_text(body: bytes) -> bool:
    head = body[:512].lstrip()
    return head[:1] == b"<" or (bool(head) and not looks_binary(head) and head.isascii())


def looks_binary(body: bytes) -> bool:
    if body.startswith(_BINARY_MAGIC):
        return True
    if body.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, b"\x00\x00\xfe\xff")):
        return False  # UTF-16 text is half NUL bytes
    head = body[:4096]
    return head.count(b"\x00") > len(head) // 100 + 1


def content_type(headers: dict) -> tuple[str, str | None]:
    raw = headers.get("content-type", "")
    mime, _, params = raw.partition(";")
    charset = None
    for part in params.split(";"):
        k, _, v = part.partition("=")
        if k.strip().lower() == "charset":
            charset = v.strip().strip("\"'").strip() or None
    return mime.strip().lower(), charset


def meta_charset(body: bytes) -> str | None:
    """The charset a page names in its own `<meta>` (in its first 8 KiB)."""
    m = _META_CHARSET.search(body[:8192])
    return m.group(1).decode("ascii", "replace") if m else None


def decode(body: bytes, charset: str | None, sniff_meta: bool = True) -> tuple[str | None, str]:
    """Bytes -> text. Returns (text, how); how is "declared" when the declared charset (or plain ASCII) was right.

    Order: a byte-order mark; then UTF-8 when the bytes are valid UTF-8, whatever the header says (an
    ISO-8859-1 label on a UTF-8 page is common on the web, and valid UTF-8 with non-ASCII text almost never
    arises by chance in another encoding; trafilatura decodes bytes the same way, so its direct call and our
    stage see the same text); the declared charset (the HTTP header's); with `sniff_meta` the page's own
    `<meta charset>`; UTF-8 with its few broken bytes replaced; a detected charset. A charset name no web page
    can mean (Python's own codecs: unicode_escape, idna, ...) is passed over."""
    for bom, enc in _BOMS:
        if body.startswith(bom):
            try:
                return body.decode(enc), "declared" if charset and charset.lower().startswith(enc[:6]) else "bom"
            except UnicodeError:
                break
    declared_utf8 = bool(charset) and charset.lower() in _UTF8_NAMES
    try:
        text = body.decode("utf-8")
        return text, "declared" if declared_utf8 or not charset or text.isascii() else "utf-8"
    except UnicodeDecodeError:
        pass
    candidates = ((charset, "declared"), (meta_charset(body) if sniff_meta else None, "meta"))
    for enc, how in candidates:
        if not enc or enc.lower() in _UTF8_NAMES or not _web_charset(enc):
            continue
        try:
            return body.decode(enc), how
        except (UnicodeError, LookupError, ValueError, TypeError):  # any codec name a page may give
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
        except (UnicodeError, LookupError, ValueError, TypeError):
            pass
    return None, "undecodable"


def _web_charset(name: str) -> bool:
    """A charset a web page can mean: a text codec Python knows that is not one of its own (unicode_escape,
    idna, punycode, undefined...), which would read backslashes as escapes or refuse everything."""
    try:
        info = codecs.lookup(name)
    except (LookupError, TypeError, ValueError):
        return False
    return getattr(info, "_is_text_encoding", True) and info.name not in _PYTHON_CODECS


_PYTHON_CODECS = {"unicode-escape", "raw-unicode-escape", "idna", "punycode", "undefined", "unicode_escape",
                  "raw_unicode_escape", "utf-7", "charmap"}


def remove_controls(text: str) -> tuple[str, int]:
    """Remove the C0 control characters XML parsers refuse (NUL, escape...; vertical tab and form feed become
    spaces), keeping tab and line breaks. Returns (text, how many were removed or replaced)."""
    n = len(_CONTROLS.findall(text))
    if n:
        text = _CONTROLS.sub("", text.translate(_SPACE_CONTROLS))
    return text, n
