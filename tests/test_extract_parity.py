"""What made our extract stage lose pages or snippets that a direct trafilatura call keeps: charset labels
that lie about UTF-8 pages, UTF-16 pages taken for binary, and a wall-clock timeout on a busy machine."""

import time

from curation.core import Document
from curation.io.extract import Extract
from curation.io.readers import decode, looks_binary

FRA = "Tous les êtres humains naissent libres et égaux en dignité et en droits."
RUS = "Все люди рождаются свободными и равными в своем достоинстве и правах."


def html(text: str, meta: str = "") -> str:
    return f"<html><head>{meta}<title>t</title></head><body><p>{text}</p></body></html>"


def test_utf8_page_labelled_latin1_is_read_as_utf8():
    body = html(FRA).encode("utf-8")
    text, how = decode(body, "iso-8859-1")
    assert FRA in text and how == "utf-8"  # counted as a wrong charset by the reader, not decoded as mojibake
    assert decode(body, "utf-8") == (body.decode("utf-8"), "declared")
    assert decode(b"<p>plain ascii</p>", "iso-8859-1")[1] == "declared"


def test_legacy_bytes_use_the_header_then_the_meta_charset():
    body = html(RUS).encode("cp1251")
    assert decode(body, "windows-1251") == (body.decode("cp1251"), "declared")
    meta = html(RUS, '<meta charset="windows-1251">').encode("cp1251")
    text, how = decode(meta, None)
    assert RUS in text and how == "meta"


def test_utf16_with_a_byte_order_mark_is_text():
    body = html(RUS).encode("utf-16")
    assert not looks_binary(body)
    text, how = decode(body, None)
    assert RUS in text and how == "bom"


def test_timeout_counts_cpu_seconds_not_waiting():
    """A page whose extraction waits (a busy machine: the process is not scheduled) is not dropped; one that
    spends the CPU is."""
    stage = Extract(engine="resiliparse", timeout=0.2)
    doc = Document(text=html(FRA), id="a", metadata={"content_type": "text/html"})

    def waits(page):
        time.sleep(0.4)
        return "kept"

    def spins(page):
        end = time.process_time() + 2.0
        while time.process_time() < end:
            pass
        return "never"

    stage._extract = waits
    assert stage.filter(doc) is True and doc.text == "kept"
    stage._extract = spins
    doc = Document(text=html(FRA), id="b", metadata={"content_type": "text/html"})
    assert stage.filter(doc) == "extract_timeout"
