"""Readers on bad input: every broken record is counted under its reason and skipped, and every good record
around it comes through with the right text, url and id. Also legacy charsets, WET files, sharding, and the
pathological pages (30 MB, 100,000 levels deep) through the reader and the Extract stage."""

from __future__ import annotations

import gzip
import json
import time

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import DATE, good_marker

from curation.core import Document
from curation.demo import warc as warcgen
from curation.io.extract import Extract
from curation.io.readers import HtmlReader, JsonlReader, ParquetReader, WarcReader, WetReader, make_reader

BROKEN = "https://broken.example"
SAMPLE = warcgen.SAMPLE_TEXT


def read(reader, rank: int = 0, world_size: int = 1):
    docs = list(reader.run(None, rank, world_size))
    stats = {label: m.total for label, m in reader.stats.stats.items()}
    return docs, stats


def skipped(stats: dict) -> dict:
    return {k.split("/", 1)[1]: v for k, v in stats.items() if k.startswith("skipped/")}


def assert_goods(docs, goods):
    """Every good record came through exactly once, with its url, id and text."""
    by_url = {d.metadata["url"]: d for d in docs}
    assert len([d for d in docs if d.metadata["url"] in {g["url"] for g in goods}]) == len(goods)
    for g in goods:
        assert g["url"] in by_url, f"good record {g['url']} was lost"
        d = by_url[g["url"]]
        assert d.id == g["id"]
        assert g["marker"] in d.text
        assert d.metadata["content_type"] == "text/html"
        assert d.metadata["date"] == DATE


def odd(w, kind: str, **kw):
    iso = warcgen.ODD_KIND_LANG[kind] or "eng"
    body, cs, ct = warcgen.odd_body(kind, SAMPLE[iso][:20], [SAMPLE[iso]] * 3, iso[:2])
    return w.response(f"{BROKEN}/{kind}", body, DATE, charset=cs, content_type=ct, **kw)


PAGE = warcgen.simple_html("Broken", [SAMPLE["eng"]] * 5).encode()


def _not_http(w):
    h = w.response_headers(f"{BROKEN}/not-http", DATE, b"x", None, False)
    return w.write("response", b"<html><body>no HTTP status line</body></html>", h)


def _bad_content_encoding(w):
    h = w.response_headers(f"{BROKEN}/bad-ce", DATE, b"x", None, False)
    block = (b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Encoding: gzip\r\n\r\n"
             + b"\x1f\x8b\x08\x00 starts like gzip, and is not")
    return w.write("response", block, h)


# kind -> (write the broken record, the stats it must add: exactly these skip reasons / other counters)
BROKEN_KINDS = {
    "png": (lambda w: odd(w, "png"), {"skipped/binary": 1}),
    "pdf": (lambda w: odd(w, "pdf"), {"skipped/binary": 1}),
    "zip": (lambda w: odd(w, "zip"), {"skipped/binary": 1}),
    "png_as_html": (lambda w: w.response(f"{BROKEN}/img", warcgen.png_bytes(), DATE), {"skipped/binary": 1}),
    "empty": (lambda w: odd(w, "empty"), {"skipped/empty": 1}),
    "truncated_gzip": (lambda w: w.truncated_response(f"{BROKEN}/trunc", PAGE, DATE), None),
    "truncated_gzip_10pct": (lambda w: w.truncated_response(f"{BROKEN}/trunc", PAGE, DATE, keep=0.1), None),
    "truncated_gzip_90pct": (lambda w: w.truncated_response(f"{BROKEN}/trunc", PAGE, DATE, keep=0.9), None),
    "length_too_long": (lambda w: w.bad_length_response(f"{BROKEN}/len", PAGE, DATE, delta=37),
                        {"skipped/bad_content_length": 1}),
    "length_too_short": (lambda w: w.bad_length_response(f"{BROKEN}/len", PAGE, DATE, delta=-37),
                         {"skipped/bad_content_length": 1}),
    "junk_between_members": (lambda w: w.raw(b"\x00garbage between members\r\n" * 3), {"skipped/junk_bytes": 1}),
    "request": (lambda w: w.request(f"{BROKEN}/req", DATE), {"not_response/request": 1}),
    "metadata": (lambda w: w.metadata(f"{BROKEN}/meta", DATE), {"not_response/metadata": 1}),
    "not_http": (_not_http, {"skipped/not_http": 1}),
    "bad_content_encoding": (_bad_content_encoding, {"skipped/bad_content_encoding": 1}),
    "huge_30mb": (lambda w: w.response(f"{BROKEN}/huge", warcgen.huge_html(), DATE), {"skipped/too_large": 1}),
}


@pytest.mark.parametrize("kind", list(BROKEN_KINDS))
def test_broken_warc_record_is_counted_and_skipped(kind, make_warc, write_good):
    write_broken, expected = BROKEN_KINDS[kind]
    goods = []

    def build(w):
        goods.extend(write_good(w, i) for i in (1, 2))
        write_broken(w)
        goods.extend(write_good(w, i) for i in (3, 4))

    docs, stats = read(WarcReader([str(make_warc(build))]))
    assert_goods(docs, goods)
    assert len(docs) == 4 and stats["documents"] == 4
    if expected is None:  # a member cut short in the middle of a file: one record lost, under one reason
        assert stats.get("skipped") == 1, stats
        assert set(skipped(stats)) <= {"corrupt_gzip", "truncated_gzip"}, stats
    else:
        for label, n in expected.items():
            assert stats.get(label) == n, (label, stats)
        assert stats.get("skipped", 0) == sum(v for k, v in expected.items() if k.startswith("skipped/")), stats


def test_truncated_last_member_is_counted_once(make_warc, write_good):
    goods = []

    def build(w):
        goods.extend(write_good(w, i) for i in (1, 2))
        w.truncated_response(f"{BROKEN}/trunc-at-end", PAGE, DATE, keep=0.6)

    docs, stats = read(WarcReader([str(make_warc(build))]))
    assert_goods(docs, goods)
    assert skipped(stats) == {"truncated_gzip": 1}


def test_junk_before_the_first_member(tmp_path, make_warc, write_good):
    goods = []
    path = make_warc(lambda w: goods.extend(write_good(w, i) for i in (1, 2, 3)))
    path.write_bytes(b"leftover bytes of some other file\r\n" + path.read_bytes())
    docs, stats = read(WarcReader([str(path)]))
    assert_goods(docs, goods)
    assert skipped(stats) == {"junk_bytes": 1}


def test_all_broken_samples_in_one_file(make_warc, write_good):
    """warcgen's full set of odd records (30 MB and 100,000-deep pages included), good pages all around."""
    goods, notes = [], []

    def build(w):
        goods.append(write_good(w, 0))
        notes.extend(warcgen.write_broken_samples(w, DATE, include_huge=True, host=BROKEN))
        goods.append(write_good(w, 99))

    t = time.monotonic()
    docs, stats = read(WarcReader([str(make_warc(build))]))
    assert time.monotonic() - t < 20
    assert_goods(docs, goods)
    urls = {d.metadata["url"] for d in docs}
    # pages that carry text come through (decoded), the rest are skipped under their reasons
    for kind in ("cp1251", "shift_jis", "latin1", "wrong_charset", "no_charset", "invalid_utf8", "nul_bytes",
                 "deep", "ok"):
        assert next(n["url"] for n in notes if n["kind"] == kind) in urls, kind
    for kind in ("png", "pdf", "zip", "empty", "truncated_gzip", "bad_length", "request_only", "metadata", "huge"):
        assert next(n["url"] for n in notes if n["kind"] == kind) not in urls, kind
    assert skipped(stats) == {"binary": 3, "empty": 1, "corrupt_gzip": 1, "bad_content_length": 1,
                              "junk_bytes": 1, "too_large": 1}
    assert stats["skipped"] == 8
    # one request per odd body kind, plus the request-only record
    assert stats["not_response/request"] == len(warcgen.ODD_BODY_KINDS) + 1
    assert stats["not_response/metadata"] == 1
    assert stats["documents"] == len(docs) == 2 + 9
    assert all("\x00" not in d.text for d in docs)


def test_uncompressed_warc_resyncs_after_a_bad_record(tmp_path, write_good):
    """A plain (not gzipped) WARC: a lying Content-Length and junk cost one record each."""
    goods = []
    path = tmp_path / "plain.warc"
    with open(path, "wb") as f:
        w = warcgen.WarcWriter(f)
        w.member = lambda record: record  # write records uncompressed
        goods.append(write_good(w, 1))
        w.bad_length_response(f"{BROKEN}/len", PAGE, DATE, delta=500)
        goods.append(write_good(w, 2))
        w.raw(b"junk junk junk\r\n")
        goods.append(write_good(w, 3))
        w.bad_length_response(f"{BROKEN}/len2", PAGE, DATE, delta=-40)
        goods.append(write_good(w, 4))
        odd(w, "pdf")
        goods.append(write_good(w, 5))
    misnamed = tmp_path / "plain-but-named.warc.gz"  # the format is told by the bytes, not the name
    misnamed.write_bytes(path.read_bytes())
    for p in (path, misnamed):
        docs, stats = read(WarcReader([str(p)]))
        assert_goods(docs, goods)
        assert len(docs) == 5
        assert skipped(stats) == {"bad_content_length": 2, "junk_bytes": 1, "binary": 1}


def test_max_record_mb_default_is_10(make_warc, write_good):
    """A 30 MB page is too large with the default limit; a 12 MB one fits under max_record_mb=16."""
    goods = []

    def build(w):
        goods.append(write_good(w, 1))
        w.response(f"{BROKEN}/30mb", warcgen.huge_html(), DATE)
        w.response(f"{BROKEN}/12mb", warcgen.huge_html(12 * 2**20), DATE)
        goods.append(write_good(w, 2))

    path = str(make_warc(build))
    reader = WarcReader([path])
    assert reader.max_record_bytes == 10 * 2**20
    docs, stats = read(reader)
    assert_goods(docs, goods)
    assert skipped(stats) == {"too_large": 2}
    docs, stats = read(WarcReader([path], max_record_mb=16))
    assert [d.metadata["url"] for d in docs] == [goods[0]["url"], f"{BROKEN}/12mb", goods[1]["url"]]
    assert skipped(stats) == {"too_large": 1}


# ---------------------------------------------------------------------------------------------- charsets


def _text_of(make_warc, body: bytes, charset, content_type="text/html"):
    path = make_warc(lambda w: w.response(f"{BROKEN}/page", body, DATE, charset=charset, content_type=content_type))
    docs, stats = read(WarcReader([str(path)]))
    assert len(docs) == 1, stats
    return docs[0].text, stats


@pytest.mark.parametrize("kind", ["cp1251", "latin1", "shift_jis"])
def test_legacy_charset_with_correct_header(kind, make_warc):
    iso = warcgen.ODD_KIND_LANG[kind]
    body, cs, ct = warcgen.odd_body(kind, "Title", [SAMPLE[iso]], iso[:2])
    text, stats = _text_of(make_warc, body, cs, ct)
    assert SAMPLE[iso] in text
    assert "charset_wrong" not in stats


def test_cp1251_cyrillic_exact(make_warc):
    body = warcgen.simple_html("Заголовок", ["Все люди рождаются свободными."], "ru", None).encode("cp1251")
    text, _ = _text_of(make_warc, body, "windows-1251")
    assert "<title>Заголовок</title>" in text and "<p>Все люди рождаются свободными.</p>" in text


def test_wrong_charset_header_is_detected_and_counted(make_warc):
    """windows-1251 bytes that claim to be UTF-8 still give the right Cyrillic text."""
    body, cs, ct = warcgen.odd_body("wrong_charset", "Title", [SAMPLE["ukr"]] * 3, "uk")
    assert cs == "utf-8"
    text, stats = _text_of(make_warc, body, cs, ct)
    assert SAMPLE["ukr"] in text
    assert stats["charset_wrong"] == 1


def test_missing_charset_is_detected(make_warc):
    body, cs, ct = warcgen.odd_body("no_charset", "Title", [SAMPLE["deu"]] * 3, "de")
    assert cs is None
    text, _ = _text_of(make_warc, body, cs, ct)
    assert SAMPLE["deu"] in text


def test_unknown_charset_name_falls_back(make_warc):
    body = warcgen.simple_html("T", [SAMPLE["fra"]], "fr").encode("utf-8")
    text, stats = _text_of(make_warc, body, "x-no-such-charset")
    assert SAMPLE["fra"] in text
    assert stats["charset_wrong"] == 1


@pytest.mark.parametrize("iso", ["rus", "jpn", "fra"])
def test_invalid_utf8_keeps_the_valid_text(iso, make_warc):
    """A UTF-8 page with a few broken bytes stays UTF-8 (broken bytes replaced), not a mis-detected charset."""
    body = warcgen.invalid_utf8_html(warcgen.simple_html("T", [SAMPLE[iso]] * 3, iso[:2]))
    text, stats = _text_of(make_warc, body, "utf-8")
    assert text.count(SAMPLE[iso]) == 3
    assert "\ufffd" in text
    assert stats["invalid_utf8_replaced"] == 1


def test_invalid_utf8_sample_comes_through(make_warc):
    body, cs, ct = warcgen.odd_body("invalid_utf8", "Title", [SAMPLE["eng"]] * 3, "en")
    text, _ = _text_of(make_warc, body, cs, ct)
    assert text.count(SAMPLE["eng"]) == 3


def test_nul_bytes_are_removed(make_warc):
    body, cs, ct = warcgen.odd_body("nul_bytes", "Title", [SAMPLE["spa"]] * 3, "es")
    text, stats = _text_of(make_warc, body, cs, ct)
    assert "\x00" not in text and "textwith NULs" in text and SAMPLE["spa"] in text
    assert stats["nul_bytes_removed"] == 1


# ---------------------------------------------------------------------------------------------- WET


def test_wet_conversion_records(make_warc):
    texts = {f"https://wet.example/{i}": f"{SAMPLE[iso]}\nline two of page {i}" for i, iso in enumerate(SAMPLE)}
    ids = {}

    def build(w):
        w.warcinfo("test.warc.wet.gz", DATE, {"isPartOf": "CC-MAIN-2024-10"})
        for url, text in texts.items():
            ids[url] = w.conversion(url, text, DATE, languages="eng").record_id.strip("<>")
            if url.endswith("/2"):
                w.truncated_response(f"{BROKEN}/x", PAGE, DATE)  # a damaged member in the middle

    path = make_warc(build, "test.warc.wet.gz")
    reader = make_reader("wet", paths=[str(path)])
    assert isinstance(reader, WetReader)
    docs, stats = read(reader)
    assert {d.metadata["url"]: d.text for d in docs} == texts
    for d in docs:
        assert d.id == ids[d.metadata["url"]]
        assert d.metadata["content_type"] == "text/plain"
        assert d.metadata["snapshot"] == "CC-MAIN-2024-10"
        assert d.metadata["date"] == DATE
    assert stats["skipped"] == 1
    # text documents pass through Extract unchanged
    out = list(Extract(engine="resiliparse").run(iter(docs)))
    assert {d.metadata["url"]: d.text for d in out} == texts


def test_snapshot_comes_from_each_files_warcinfo(tmp_path, make_warc, write_good):
    def build(snapshot):
        def _build(w):
            w.warcinfo("x.warc.gz", DATE, {"isPartOf": snapshot})
            write_good(w, 1, host=f"https://{snapshot.lower()}.example")
        return _build

    a = make_warc(build("CC-MAIN-2023-50"), "a.warc.gz", seed=1)
    b = make_warc(build("CC-MAIN-2024-10"), "b.warc.gz", seed=2)
    docs, _ = read(WarcReader([str(a), str(b)]))
    assert [d.metadata["snapshot"] for d in docs] == ["CC-MAIN-2023-50", "CC-MAIN-2024-10"]
    docs, _ = read(WarcReader([str(a), str(b)], snapshot="MINE"))  # the manifest's snapshot wins
    assert [d.metadata["snapshot"] for d in docs] == ["MINE", "MINE"]


# ---------------------------------------------------------------------------------------------- sharding


def _ids(reader_factory, rank, world_size):
    docs, stats = read(reader_factory(), rank, world_size)
    return [d.id for d in docs], stats


@pytest.mark.parametrize("world_size", [2, 3, 5])
def test_sharding_one_file_splits_records(world_size, make_warc, write_good):
    goods = []
    path = str(make_warc(lambda w: goods.extend(write_good(w, i) for i in range(17))))
    everything = {g["id"] for g in goods}
    seen = []
    for rank in range(world_size):
        ids, stats = _ids(lambda: WarcReader([path]), rank, world_size)
        assert ids, f"rank {rank} got nothing"
        assert len(ids) == len(set(ids))
        seen.append(set(ids))
    for i in range(world_size):
        for j in range(i + 1, world_size):
            assert not seen[i] & seen[j]
    assert set().union(*seen) == everything
    assert sum(map(len, seen)) == len(everything)


def test_sharding_more_files_than_tasks_splits_files(make_warc, write_good):
    paths, by_file = [], {}
    for f in range(5):
        recs = []
        paths.append(str(make_warc(lambda w: recs.extend(write_good(w, f * 10 + i) for i in range(3)),
                                   f"{f}.warc.gz", seed=f)))
        by_file[paths[-1]] = {g["id"] for g in recs}
    world_size, seen = 2, []
    for rank in range(world_size):
        ids, stats = _ids(lambda: WarcReader(paths), rank, world_size)
        seen.append(set(ids))
        mine = paths[rank::world_size]
        assert stats["input_files"] == len(mine)
        assert set(ids) == set().union(*(by_file[p] for p in mine))
    assert not seen[0] & seen[1]
    assert seen[0] | seen[1] == set().union(*by_file.values())


def test_sharding_jsonl_one_file(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps({"id": f"r{i}", "text": f"row {i}"}) + "\n" for i in range(10)))
    seen = [set(_ids(lambda: JsonlReader([str(path)]), r, 4)[0]) for r in range(4)]
    assert sum(map(len, seen)) == 10 and set().union(*seen) == {f"r{i}" for i in range(10)}


# ---------------------------------------------------------------------------------------------- JSONL / Parquet


def test_jsonl_bad_rows_are_counted_and_skipped(tmp_path):
    lines = [
        json.dumps({"id": "g1", "text": "good one", "url": "https://a.example/1"}),
        json.dumps({"id": "no-text", "url": "https://a.example/x"}),
        json.dumps({"id": "null-text", "text": None}),
        '{"id": "bad json", "text": ',
        json.dumps(["not", "an", "object"]),
        json.dumps({"id": "g2", "text": "good two", "metadata": {"lang": "en"}}),
        json.dumps({"id": "int-text", "text": 5}),
        json.dumps({"id": "blank", "text": "   "}),
        "",
        b"\xff\xfe not json".decode("latin-1"),
        json.dumps({"text": "good three, no id"}),
        json.dumps({"id": "g4", "text": "nul\u0000byte"}),
    ]
    path = tmp_path / "rows.jsonl"
    path.write_text("\n".join(lines) + "\n")
    docs, stats = read(JsonlReader([str(path)]))
    assert [(d.id, d.text) for d in docs] == [
        ("g1", "good one"), ("g2", "good two"), (f"{path}/10", "good three, no id"), ("g4", "nulbyte")]
    assert docs[0].metadata["url"] == "https://a.example/1"
    assert docs[1].metadata["lang"] == "en"
    assert skipped(stats) == {"missing_text": 2, "bad_json": 2, "not_an_object": 1, "text_not_string": 1,
                              "empty": 1}


def test_truncated_gzip_jsonl_does_not_stop_the_run(tmp_path):
    rows = "".join(json.dumps({"id": f"a{i}", "text": f"row {i} " + "x" * 200}) + "\n" for i in range(200))
    data = gzip.compress(rows.encode())
    (tmp_path / "a.jsonl.gz").write_bytes(data[: len(data) // 2])
    (tmp_path / "b.jsonl").write_text(json.dumps({"id": "b0", "text": "next file"}) + "\n")
    docs, stats = read(JsonlReader([str(tmp_path / "a.jsonl.gz"), str(tmp_path / "b.jsonl")]))
    ids = [d.id for d in docs]
    assert ids[-1] == "b0" and ids[0] == "a0"
    assert ids[:-1] == [f"a{i}" for i in range(len(ids) - 1)]
    assert skipped(stats) == {"unreadable_file": 1}


def test_parquet_null_text_and_corrupt_files(tmp_path):
    good = tmp_path / "a.parquet"
    pq.write_table(pa.table({"id": ["p1", "p2", "p3", "p4"], "text": ["first", None, "third", ""],
                             "url": ["u1", "u2", None, "u4"]}), good)
    (tmp_path / "b.parquet").write_bytes(b"PAR1 this is not parquet at all")
    raw = good.read_bytes()
    (tmp_path / "c.parquet").write_bytes(raw[: len(raw) // 2])
    pq.write_table(pa.table({"id": ["q1"], "body": ["wrong column"]}), tmp_path / "d.parquet")
    pq.write_table(pa.table({"id": ["z1"], "text": ["last file"]}), tmp_path / "e.parquet")
    docs, stats = read(ParquetReader([str(tmp_path)]))
    assert [(d.id, d.text) for d in docs] == [("p1", "first"), ("p3", "third"), ("z1", "last file")]
    assert docs[0].metadata["url"] == "u1" and "url" not in docs[1].metadata
    assert skipped(stats) == {"missing_text": 1, "empty": 1, "corrupt_parquet": 2, "missing_text_column": 1}
    assert stats["input_files"] == 5


def test_html_reader_bad_files(tmp_path):
    (tmp_path / "a.html").write_bytes(warcgen.simple_html("A", [good_marker(1)]).encode())
    (tmp_path / "b.html").write_bytes(b"")
    (tmp_path / "c.html").write_bytes(warcgen.png_bytes())
    (tmp_path / "d.html").write_bytes(warcgen.simple_html("D", [SAMPLE["rus"]], "ru", None).encode("cp1251"))
    (tmp_path / "e.html.gz").write_bytes(gzip.compress(b"<html><body><p>cut</p></body></html>" * 50)[:40])
    docs, stats = read(HtmlReader([str(tmp_path)]))
    assert [d.id.rsplit("/", 1)[1] for d in docs] == ["a.html", "d.html"]
    assert good_marker(1) in docs[0].text and SAMPLE["rus"] in docs[1].text
    assert docs[0].metadata["url"] == f"file://{tmp_path}/a.html"
    assert skipped(stats) == {"empty": 1, "binary": 1, "unreadable_file": 1}


# ---------------------------------------------------------------------------------------------- Extract


def _html_doc(doc_id: str, html: str) -> Document:
    return Document(text=html, id=doc_id, metadata={"content_type": "text/html"})


@pytest.mark.parametrize("engine", ["resiliparse", "trafilatura"])
def test_extract_survives_100000_deep_html(engine):
    good = warcgen.simple_html("Good", [good_marker(1), good_marker(2), good_marker(3)])
    docs = [_html_doc("a", good), _html_doc("deep", warcgen.deep_html().decode()), _html_doc("b", good)]
    step = Extract(engine=engine, timeout=5)
    t = time.monotonic()
    out = list(step.run(iter(docs)))
    assert time.monotonic() - t < 15
    assert [d.id for d in out if d.id != "deep"] == ["a", "b"]
    assert all(good_marker(2) in d.text and d.metadata["content_type"] == "text/plain" for d in out if d.id != "deep")
    stats = {k: m.total for k, m in step.stats.stats.items()}
    assert stats["in"] == 3
    if "deep" in {d.id for d in out}:  # extracted, not skipped: fine as long as it did not crash
        assert stats["kept"] == 3
    else:
        reasons = {k.split("/", 1)[1] for k in stats if k.startswith("removed/")}
        assert stats["removed"] == 1 and len(reasons) == 1
        assert reasons <= {"html_too_deep", "no_text", "extract_error", "extract_timeout"}
    if engine == "resiliparse":  # its C extractor cannot be interrupted: the depth check must catch it
        assert stats["removed/html_too_deep"] == 1


def test_extract_moderately_deep_html_is_still_extracted():
    step = Extract(engine="resiliparse")
    out = list(step.run(iter([_html_doc("d", warcgen.deep_html(1500).decode())])))
    assert [d.text for d in out] == ["deep text"]


def test_extract_html_too_large():
    step = Extract(engine="resiliparse", max_html_mb=0.01)
    good = warcgen.simple_html("Good", [good_marker(1)])
    big = warcgen.huge_html(20_000).decode()
    out = list(step.run(iter([_html_doc("a", good), _html_doc("big", big), _html_doc("b", good)])))
    assert [d.id for d in out] == ["a", "b"]
    assert step.stats["removed/html_too_large"].total == 1


def test_reader_then_extract_on_broken_warc(make_warc, write_good):
    goods = []

    def build(w):
        goods.append(write_good(w, 1))
        w.response(f"{BROKEN}/deep", warcgen.deep_html(), DATE)
        goods.append(write_good(w, 2))
        w.response(f"{BROKEN}/huge", warcgen.huge_html(), DATE)
        odd(w, "pdf")
        goods.append(write_good(w, 3))

    reader = WarcReader([str(make_warc(build))])
    step = Extract(engine="resiliparse")
    out = list(step.run(reader.run()))
    assert [d.metadata["url"] for d in out] == [g["url"] for g in goods]
    assert all(g["marker"] in d.text for g, d in zip(goods, out))
    assert reader.stats["skipped/too_large"].total == 1 and reader.stats["skipped/binary"].total == 1
    assert step.stats["removed/html_too_deep"].total == 1
