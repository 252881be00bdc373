"""Hostile input, one test per kind (issue 18): `--overwrite` never deletes what is not a run, a manifest cannot
run arbitrary callables as stages, and no damaged or unusual file (WARC, WET, HTML, JSONL, Parquet, manifest,
HTTP mirror) makes a command print a traceback or lose the good records beside the bad ones. Every input is
built here, with warcio where an independent writer matters."""

from __future__ import annotations

import bz2
import gzip
import http.server
import io
import json
import os
import threading
import zlib
from functools import partial
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import DATE, good_marker

from curation.cli import main
from curation.demo import warc as warcgen
from curation.io.extract import Extract
from curation.io.readers import HtmlReader, JsonlReader, ParquetReader, WarcReader, WetReader

ROOT = Path(__file__).resolve().parents[1]
TEXT = "All human beings are born free and equal in dignity and rights. They are endowed with reason and conscience."


def read(reader):
    docs = list(reader.run(None, 0, 1))
    return docs, {label: m.total for label, m in reader.stats.stats.items()}


def one_error(capsys, *fragments) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    for f in fragments:
        assert f in lines[0], (f, lines[0])
    return lines[0]


def page(title: str, marker: str) -> bytes:
    return warcgen.simple_html(title, [TEXT, marker, TEXT]).encode()


def manifest(tmp_path: Path, inp: str, out: Path | str, stages: str = "  - stage: extract\n    engine: resiliparse\n",
             name: str = "m.yml") -> Path:
    path = tmp_path / name
    path.write_text(f"input: {{paths: [\"{inp}\"]}}\noutput: \"{out}\"\nexecutor: {{tasks: 1}}\nstages:\n{stages}")
    return path


@pytest.fixture
def small_warc(make_warc, write_good):
    return make_warc(lambda w: [write_good(w, i) for i in range(2)], "small.warc.gz")


# ------------------------------------------------------------------------------------------------ --overwrite


def _listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_overwrite_refuses_a_folder_that_is_not_a_run_and_touches_nothing(tmp_path, small_warc, capsys):
    victim = tmp_path / "victim"
    (victim / "important").mkdir(parents=True)
    (victim / "important" / "thesis.txt").write_text("four years of work")
    before = _listing(tmp_path)
    m = manifest(tmp_path, str(small_warc), victim)
    before = _listing(tmp_path)
    assert main(["run", str(m), "--overwrite", "--no-progress"]) == 2
    one_error(capsys, str(victim), "--overwrite refuses", "_logs/run.json")
    assert (victim / "important" / "thesis.txt").read_text() == "four years of work"
    assert _listing(tmp_path) == before  # not even a lock file beside it


@pytest.mark.parametrize("where", ["root", "home", "cwd", "above_cwd"])
def test_overwrite_refuses_root_home_and_working_directory(where, tmp_path, small_warc, capsys, monkeypatch):
    home, work = tmp_path / "home", tmp_path / "home" / "project"
    work.mkdir(parents=True)
    (home / ".bashrc").write_text("x")
    (work / "notes.txt").write_text("y")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(work)
    output = {"root": "/", "home": "~", "cwd": ".", "above_cwd": ".."}[where]
    m = manifest(tmp_path, str(small_warc), output)
    before = _listing(home)
    assert main(["run", str(m), "--overwrite", "--no-progress"]) == 2
    line = one_error(capsys, f"'{output}'", "--overwrite refuses")
    assert any(w in line for w in ("root folder", "home folder", "working directory"))
    assert _listing(home) == before


def test_overwrite_refuses_a_run_folder_that_holds_the_input(tmp_path, capsys):
    out = tmp_path / "out"
    (out / "_logs").mkdir(parents=True)
    (out / "_logs" / "run.json").write_text("{}")
    inp = out / "in.jsonl"
    inp.write_text(json.dumps({"text": TEXT}) + "\n")
    m = manifest(tmp_path, str(inp), out)
    assert main(["run", str(m), "--overwrite", "--no-progress"]) == 2
    one_error(capsys, str(out), "holds the input")
    assert inp.exists()


def test_overwrite_replaces_a_run_folder_and_an_empty_one(tmp_path, small_warc):
    out = tmp_path / "out"
    m = manifest(tmp_path, str(small_warc), out)
    assert main(["run", str(m), "--no-progress"]) == 0
    (out / "leftover.txt").write_text("from the old run")
    assert main(["run", str(m), "--overwrite", "--no-progress"]) == 0
    assert not (out / "leftover.txt").exists() and (out / "stats.json").exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["run", str(manifest(tmp_path, str(small_warc), empty, name="e.yml")), "--overwrite",
                 "--no-progress"]) == 0


def test_rephrase_overwrite_refuses_a_folder_that_is_not_its_output(tmp_path, capsys):
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("x")
    inp = tmp_path / "in.jsonl"
    inp.write_text(json.dumps({"text": TEXT, "language": "eng_Latn"}) + "\n")
    code = main(["rephrase", str(inp), "-o", str(victim), "--style", "wiki", "--model", "m", "--base-url",
                 "http://127.0.0.1:9/v1", "--overwrite", "--no-progress"])
    assert code == 2
    one_error(capsys, str(victim), "--overwrite refuses")
    assert (victim / "keep.txt").exists()


# ------------------------------------------------------------------------------------------------ stage callables


@pytest.mark.parametrize("command", ["validate", "run"])
@pytest.mark.parametrize("stage", ["os:system", "builtins:eval", "json:dumps", "subprocess:Popen"])
def test_a_callable_that_is_not_a_stage_is_refused(stage, command, tmp_path, small_warc, capsys):
    m = manifest(tmp_path, str(small_warc), tmp_path / "out", f"  - stage: '{stage}'\n")
    assert main([command, str(m), *(["--no-progress"] if command == "run" else [])]) == 2
    one_error(capsys, f"stage '{stage}'", "is not a stage", "register_stage")
    assert not (tmp_path / "out").exists()


def test_registered_functions_and_stage_classes_by_path_are_accepted(tmp_path, small_warc, capsys, monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT))
    stages = ("  - stage: extract\n    engine: resiliparse\n  - stage: examples.my_filters:no_lorem_ipsum\n"
              "  - stage: curation.io.extract:Extract\n")
    assert main(["validate", str(manifest(tmp_path, str(small_warc), tmp_path / "out", stages))]) == 0
    assert "valid" in capsys.readouterr().out


# ------------------------------------------------------------------------------------------------ manifests


HOSTILE_MANIFESTS = {
    "deep_flow": ("a: " + "[" * 5000 + "]" * 5000 + "\n", "nested too deeply"),
    "deep_block": ("a:\n" + "".join("  " * i + "- \n" for i in range(1, 3000)), "nested"),
    "deep_mapping": ("".join("  " * i + f"k{i}:\n" for i in range(200)) + "  " * 200 + "x: 1\n", "nested"),
    "billion_laughs": ("a: &a [lol,lol,lol,lol,lol,lol,lol,lol,lol]\n" + "".join(
        f"{c}: &{c} [{', '.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi"))
        + "input: {paths: [x]}\noutput: y\nstages: [{stage: extract}]\n", "expands to more than"),
    "self_alias": ("a: &a [1, *a]\n", "refers to the value that contains it"),
    "empty": ("", "a manifest is a mapping"),
    "only_comment": ("# nothing\n", "a manifest is a mapping"),
    "scalar": ("42\n", "a manifest is a mapping"),
    "wrong_types": ("input: 5\noutput: [1]\nstages: {a: b}\n", "expected"),
    "unknown_key": ("input: {paths: [x]}\noutput: y\nstages: [{stage: extract}]\nstagez: 1\n", "unknown key"),
    "python_tag": ("input: !!python/object/apply:os.system [ls]\noutput: y\nstages: [{stage: extract}]\n",
                   "YAML tag"),
    "tab_indent": ("input:\n\tpaths: [x]\n", "not valid YAML"),
}


@pytest.mark.parametrize("kind", list(HOSTILE_MANIFESTS) + ["not_utf8", "nul_bytes"])
def test_hostile_manifests_are_refused_in_lines_never_a_traceback(kind, tmp_path, capsys):
    path = tmp_path / "hostile.yml"
    if kind == "not_utf8":
        path.write_bytes(b"input: {paths: [\xff\xfe\xfa]}\noutput: y\n")
        want = "cannot read manifest"
    elif kind == "nul_bytes":
        path.write_bytes(b"input: {paths: [a\x00b]}\noutput: y\n")
        want = "not valid YAML"
    else:
        text, want = HOSTILE_MANIFESTS[kind]
        path.write_text(text)
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.startswith(f"error: {path}")
    assert want in err
    assert all(line.startswith("error: ") for line in err.splitlines() if line.strip())


# ------------------------------------------------------------------------------------------------ the CLI guard


def test_an_unexpected_exception_is_one_line_with_the_debug_hint(tmp_path, small_warc, capsys, monkeypatch):
    import curation.run.runner

    def broken(*a, **k):
        raise ValueError("something nobody expected")

    monkeypatch.setattr(curation.run.runner, "run_manifest", broken)
    m = manifest(tmp_path, str(small_warc), tmp_path / "out")
    assert main(["run", str(m), "--no-progress"]) == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err
    assert str(m) in err and "ValueError: something nobody expected" in err and "CURATE_DEBUG=1" in err
    monkeypatch.setenv("CURATE_DEBUG", "1")
    with pytest.raises(ValueError):
        main(["run", str(m), "--no-progress"])


# ------------------------------------------------------------------------------------------------ HTML


def test_html_with_control_characters_yields_its_text(tmp_path):
    body = (b"<html><head><title>Con\x0btrols</title></head><body><article><p>" + TEXT.encode() +
            b" Vertical\x0btab, form\x0cfeed, escape\x1b[0m and bell\x07 inside.</p><p>" + TEXT.encode() +
            b"</p></article></body></html>")
    path = tmp_path / "controls.html"
    path.write_bytes(body)
    docs, stats = read(HtmlReader([str(path)]))
    assert len(docs) == 1 and stats["repaired/control_chars_removed"] == 5
    for engine in ("resiliparse", "trafilatura"):
        doc = docs[0].__class__(text=docs[0].text, id="x", metadata=dict(docs[0].metadata))
        assert Extract(engine=engine).filter(doc) is True, engine
        assert "Vertical tab, form feed, escape[0m and bell inside." in doc.text


def test_warc_page_with_control_characters_yields_its_text(make_warc):
    html = page("C0", "Marker with\x0bcontrols\x1b inside").replace(b"<p>", b"<p>\x0c", 1)
    path = make_warc(lambda w: w.response("https://c0.example/", html, DATE), "c0.warc.gz")
    docs, _ = read(WarcReader([str(path)]))
    assert len(docs) == 1
    assert Extract(engine="resiliparse").filter(docs[0]) is True
    assert "Marker with controls inside" in docs[0].text


def test_html_charset_named_only_in_its_meta(tmp_path):
    path = tmp_path / "cp1251.html"
    path.write_bytes("<html><head><meta charset=\"windows-1251\"></head><body><p>Все люди рождаются свободными "
                     "и равными.</p></body></html>".encode("cp1251"))
    docs, _ = read(HtmlReader([str(path)]))
    assert "рождаются свободными" in docs[0].text


# ------------------------------------------------------------------------------------------------ JSONL


def _rows(n: int) -> list[dict]:
    return [{"id": f"r{i}", "text": f"Record {i}. {TEXT}"} for i in range(n)]


def test_jsonl_with_bom_and_crlf_loses_no_record(tmp_path):
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + b"\r\n".join(json.dumps(r).encode() for r in _rows(4)) + b"\r\n")
    docs, stats = read(JsonlReader([str(path)]))
    assert [d.id for d in docs] == ["r0", "r1", "r2", "r3"]
    assert all(not d.text.endswith("\r") for d in docs) and not any(k.startswith("skipped") for k in stats)


@pytest.mark.parametrize("kind", ["gzip_members", "zstd_frames", "bzip2", "gzip_named_jsonl"])
def test_compressed_jsonl_every_member_and_frame(kind, tmp_path):
    lines = [json.dumps(r).encode() + b"\n" for r in _rows(6)]
    if kind.startswith("gzip"):
        data = b"".join(gzip.compress(b"".join(lines[i:i + 2])) for i in range(0, 6, 2))
    elif kind == "zstd_frames":
        import zstandard

        data = b"".join(zstandard.ZstdCompressor().compress(b"".join(lines[i:i + 3])) for i in (0, 3))
    else:
        data = bz2.compress(b"".join(lines))
    name = {"gzip_members": "a.jsonl.gz", "zstd_frames": "a.jsonl.zst", "bzip2": "a.jsonl",
            "gzip_named_jsonl": "b.jsonl"}[kind]
    path = tmp_path / name
    path.write_bytes(data)
    docs, _ = read(JsonlReader([str(path)]))
    assert [d.id for d in docs] == [f"r{i}" for i in range(6)]
    from curation.io.records import read_jsonl_table

    assert read_jsonl_table(str(path)).column("id").to_pylist() == [f"r{i}" for i in range(6)]


def test_jsonl_lone_surrogates_long_lines_and_bad_lines_cost_only_themselves(tmp_path):
    path = tmp_path / "odd.jsonl"
    long_line = json.dumps({"id": "long", "text": "x" * (2 * 2**20)}).encode()
    path.write_bytes(b"\n".join([
        json.dumps(_rows(1)[0]).encode(),
        b'{"id": "sur", "text": "lone \\ud800 high and \\udc00 low, a pair \\ud83d\\ude00 stays"}',
        long_line,
        b'{"id": "big", "text": "an integer over 64 bits", "n": 123456789012345678901234567890}',
        b"not json at all",
        b'{"id": "last", "text": "the last record"}',
    ]))
    docs, stats = read(JsonlReader([str(path)], max_record_mb=1))
    by_id = {d.id: d for d in docs}
    assert list(by_id) == ["r0", "sur", "big", "last"]
    assert by_id["sur"].text == "lone \ufffd high and \ufffd low, a pair \U0001F600 stays"
    assert stats["skipped/too_large"] == 1 and stats["skipped/bad_json"] == 1
    from curation.io.writer import language_writer

    writer = language_writer(str(tmp_path / "out"))  # every document must be writable as UTF-8 Parquet
    for d in docs:
        writer.write(d, 0)
    writer.close()
    assert pl.read_parquet(next((tmp_path / "out").rglob("*.parquet"))).height == 4


# ------------------------------------------------------------------------------------------------ Parquet


def test_parquet_binary_text_with_one_invalid_row(tmp_path):
    texts = [f"Row {i}. {TEXT}".encode() for i in range(3)] + [b"broken \xff\xfe bytes"]
    path = tmp_path / "bin.parquet"
    pq.write_table(pa.table({"id": list("abcd"), "text": pa.array(texts, pa.binary())}), path)
    docs, stats = read(ParquetReader([str(path)]))
    assert [d.id for d in docs] == ["a", "b", "c"] and stats["skipped/invalid_utf8"] == 1


def test_parquet_binary_text_through_curate_run_is_counted_in_stats_and_report(tmp_path):
    path = tmp_path / "bin.parquet"
    pq.write_table(pa.table({"id": list("abc"), "text": pa.array([TEXT.encode(), b"\xff bad", TEXT.encode()],
                                                                pa.binary())}), path)
    m = manifest(tmp_path, str(path), tmp_path / "out", "  - stage: write\n")
    assert main(["run", str(m), "--no-progress"]) == 0
    stats = json.loads((tmp_path / "out" / "stats.json").read_text())
    assert stats["documents_written"] == 2 and stats["stages"][0]["skipped"] == {"invalid_utf8": 1}
    assert "invalid_utf8 1" in (tmp_path / "out" / "report.html").read_text()


@pytest.mark.parametrize("compression", ["none", "snappy", "gzip", "brotli", "zstd", "lz4"])
def test_parquet_large_strings_structs_and_every_compression(compression, tmp_path):
    struct = pa.struct([("source", pa.string()), ("n", pa.int64())])
    table = pa.table({"id": ["a", "b", "c"],
                      "text": pa.array([TEXT, "second " + TEXT, ""], pa.large_string()),
                      "metadata": pa.array([{"source": "s1", "n": 1}, None, {"source": "s3", "n": 3}], struct),
                      "tags": pa.array([["x"], [], None], pa.list_(pa.string())),
                      "language_score": pa.array(["high", "low", None]),  # the wrong type for the output column
                      "url": pa.array(["https://a.example/", None, "https://c.example/"]).dictionary_encode()})
    path = tmp_path / "t.parquet"
    pq.write_table(table, path, compression=compression, row_group_size=1)
    docs, stats = read(ParquetReader([str(path)]))
    assert [d.id for d in docs] == ["a", "b"] and stats["skipped/empty"] == 1
    assert docs[0].metadata["source"] == "s1" and docs[0].metadata["url"] == "https://a.example/"
    from curation.io.writer import language_writer

    writer = language_writer(str(tmp_path / "out"))
    for d in docs:
        writer.write(d, 0)
    writer.close()
    out = pl.read_parquet(next((tmp_path / "out").rglob("*.parquet")))
    assert out["id"].to_list() == ["a", "b"] and out["language_score"].null_count() == 2


def test_parquet_with_a_damaged_row_group_keeps_the_others(tmp_path):
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"id": [f"r{i}" for i in range(4)], "text": [f"{TEXT} {i}" for i in range(4)]}), path,
                   row_group_size=2, compression="none")
    meta = pq.ParquetFile(path).metadata
    col = meta.row_group(1).column(1)
    raw = bytearray(path.read_bytes())
    start = min(o for o in (col.dictionary_page_offset, col.data_page_offset) if o)  # the column chunk's pages
    raw[start:start + col.total_compressed_size] = b"\xff" * col.total_compressed_size
    path.write_bytes(bytes(raw))
    docs, stats = read(ParquetReader([str(path)]))
    assert [d.id for d in docs] == ["r0", "r1"] and stats["skipped/corrupt_parquet"] == 1


# ------------------------------------------------------------------------------------------------ WARC / WET


def _warcio_interleaved(gz: bool, n: int = 4) -> tuple[bytes, dict]:
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    buf = io.BytesIO()
    w = WARCWriter(buf, gzip=gz)
    records, markers = [], {}
    for i in range(n):
        url = f"https://site{i}.example/page"
        markers[url] = f"Marker {i}: the complete text of page {i} ends here."
        request = io.BytesIO(b"GET /page HTTP/1.1\r\nHost: x\r\n\r\n")
        records.append(w.create_warc_record(url, "request", payload=request))
        hh = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
        records.append(w.create_warc_record(url, "response", payload=io.BytesIO(page(f"Page {i}", markers[url])),
                                            http_headers=hh))
        records.append(w.create_warc_record(url, "metadata", payload=io.BytesIO(b"fetchTimeMs: 12\r\n"),
                                            warc_content_type="application/warc-fields"))
    for j in [0, 3, 1, 6, 4, 9, 2, 7, 5, 10, 8, 11]:
        w.write_record(records[j])
    return buf.getvalue(), markers


@pytest.mark.parametrize("layout", ["gzip_per_record", "plain", "one_gzip_stream"])
def test_interleaved_records_of_several_targets_each_response_intact(layout, tmp_path):
    data, markers = _warcio_interleaved(gz=layout == "gzip_per_record")
    if layout == "one_gzip_stream":
        data = gzip.compress(data)
    path = tmp_path / ("x.warc.gz" if "gzip" in layout else "x.warc")
    path.write_bytes(data)
    docs, stats = read(WarcReader([str(path)]))
    assert len(docs) == 4 and stats["not_response/request"] == 4 and stats["not_response/metadata"] == 4
    for engine in ("trafilatura", "resiliparse"):
        alone = {}
        for d in docs:  # each page extracted on its own ...
            copy = d.__class__(text=d.text, id=d.id, metadata=dict(d.metadata))
            assert Extract(engine=engine).filter(copy) is True
            alone[d.metadata["url"]] = copy.text
        together = list(Extract(engine=engine).run(  # ... is what the pipeline writes, whatever came before it
            iter([d.__class__(text=d.text, id=d.id, metadata=dict(d.metadata)) for d in docs])))
        assert {d.metadata["url"]: d.text for d in together} == alone, engine
        assert all(markers[url] in text and text.count(TEXT[:40]) == 2 for url, text in alone.items())


def test_lf_only_http_head_over_a_body_with_crlf_blank_lines(make_warc):
    body = b"<html><body><p>First paragraph " + TEXT.encode() + b"</p>\r\n\r\n<p>Second paragraph.</p></body></html>"
    block = b"HTTP/1.1 200 OK\nContent-Type: text/html\n\n" + body

    def build(w):
        w.write("response", block, w.response_headers("https://lf.example/", DATE, body, None, False))

    docs, _ = read(WarcReader([str(make_warc(build))]))
    assert docs[0].text == body.decode()


def _nonresponse(w: warcgen.WarcWriter):
    w.warcinfo("only.warc.gz", DATE, {"isPartOf": "CC-MAIN-2024-10"})
    w.request("https://a.example/", DATE)
    w.metadata("https://a.example/", DATE)
    h = w.common("https://a.example/", DATE)
    h["WARC-Profile"] = "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"
    w.write("revisit", b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n", h)
    h = w.common("https://a.example/res", DATE)
    h["Content-Type"] = "text/html"
    w.write("resource", page("resource", "a resource record"), h)
    w.conversion("https://a.example/conv", "The text a WET conversion record carries.", DATE)


def test_a_warc_of_only_non_response_records_gives_no_document(make_warc):
    """As the README says: the WARC reader reads `response` records; resource and conversion records are
    counted under not_response (the WET reader reads conversions)."""
    path = make_warc(_nonresponse, "only.warc.gz")
    docs, stats = read(WarcReader([str(path)]))
    assert docs == []
    assert {k: v for k, v in stats.items() if k.startswith("not_response/")} == {
        f"not_response/{t}": 1 for t in ("request", "metadata", "revisit", "resource", "conversion")}
    docs, stats = read(WetReader([str(path)]))
    assert [d.text for d in docs] == ["The text a WET conversion record carries."]
    assert stats["not_response/resource"] == 1


@pytest.mark.parametrize("compressed", [True, False])
def test_wet_files_gzip_and_plain(compressed, tmp_path):
    buf = io.BytesIO()
    w = warcgen.WarcWriter(buf)
    if not compressed:
        w.member = lambda record: record
    w.warcinfo("x.warc.wet", DATE, {"isPartOf": "CC-MAIN-2024-10"})
    for i in range(3):
        w.conversion(f"https://wet.example/{i}", f"Page {i}: {TEXT}", DATE)
    path = tmp_path / ("x.warc.wet.gz" if compressed else "x.warc.wet")
    path.write_bytes(buf.getvalue())
    docs, _ = read(WetReader([str(path)]))
    assert [d.metadata["url"] for d in docs] == [f"https://wet.example/{i}" for i in range(3)]
    assert all(d.metadata["snapshot"] == "CC-MAIN-2024-10" and d.metadata["content_type"] == "text/plain"
               for d in docs)


def _stored(body: bytes, coding: str) -> bytes:
    if coding in ("gzip", "x-gzip"):
        return gzip.compress(body)
    if coding == "deflate":
        return zlib.compress(body)
    if coding == "br":
        import brotli

        return brotli.compress(body)
    if coding == "zstd":
        import zstandard

        return zstandard.ZstdCompressor().compress(body)
    return body


def _chunked(body: bytes, size: int = 37) -> bytes:
    return b"".join(b"%x;ext=1\r\n%s\r\n" % (len(body[i:i + size]), body[i:i + size])
                    for i in range(0, len(body), size)) + b"0\r\nX-Trailer: y\r\n\r\n"


@pytest.mark.parametrize("coding", ["gzip", "x-gzip", "deflate", "br", "zstd", "already_decoded_gzip"])
@pytest.mark.parametrize("chunked", [False, True])
def test_payloads_stored_as_received_are_decoded(coding, chunked, make_warc):
    html = page("Stored", "Marker: the stored payload decoded.")
    header = coding.replace("already_decoded_", "")
    payload = html if coding.startswith("already") else _stored(html, coding)
    if chunked:
        payload = _chunked(payload)
    block = (b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Encoding: " + header.encode()
             + (b"\r\nTransfer-Encoding: chunked" if chunked else b"") + b"\r\n\r\n" + payload)

    def build(w):
        w.write("response", block, w.response_headers("https://stored.example/", DATE, html, None, False))

    docs, stats = read(WarcReader([str(make_warc(build))]))
    assert len(docs) == 1 and docs[0].text == html.decode()
    assert stats.get("repaired/dechunked", 0) == int(chunked)


def test_charset_named_only_in_the_http_header(make_warc):
    text = "Все люди рождаются свободными и равными в своем достоинстве и правах."
    body = f"<html><body><p>{text}</p></body></html>".encode("cp1251")
    docs, stats = read(WarcReader([str(make_warc(lambda w: w.response("https://ru.example/", body, DATE,
                                                                       charset="windows-1251")))]))
    assert text in docs[0].text and "charset_wrong" not in stats


def test_an_uncompressed_warc_is_streamed_with_damage_in_the_middle(tmp_path, monkeypatch):
    import curation.io.readers as readers

    monkeypatch.setattr(readers, "READ_CHUNK", 4096)  # many windows over a small file
    buf = io.BytesIO()
    w = warcgen.WarcWriter(buf)
    w.member = lambda record: record
    urls = []
    for i in range(40):
        urls.append(f"https://plain.example/{i}")
        w.response(urls[-1], page(f"P{i}", good_marker(i)), DATE)
        if i == 10:
            w.raw(b"junk between records\r\n")
        if i == 20:
            w.response("https://plain.example/liar", page("liar", "x"), DATE, length_delta=-50)
        if i == 30:
            w.response("https://plain.example/big", b"<p>" + b"x" * 3 * 2**20 + b"</p>", DATE)
    path = tmp_path / "plain.warc"
    path.write_bytes(buf.getvalue())
    docs, stats = read(WarcReader([str(path)], max_record_mb=1))
    assert [d.metadata["url"] for d in docs] == urls
    assert all(good_marker(i) in d.text for i, d in enumerate(docs))
    assert stats["skipped/junk_bytes"] == 1 and stats["skipped/bad_content_length"] == 1
    assert stats["skipped/too_large"] == 1


# ------------------------------------------------------------------------------------------------ rephrase


def test_rephrase_without_a_language_column_identifies_the_language(tmp_path):
    from rephrase.testserver import OpenAITestServer

    inp = tmp_path / "nolang.parquet"
    pq.write_table(pa.table({"id": ["en", "de"], "text": [
        TEXT + " Everyone has the right to life, liberty and security of person.",
        "Alle Menschen sind frei und gleich an Würde und Rechten geboren. Sie sind mit Vernunft und Gewissen "
        "begabt und sollen einander im Geist der Brüderlichkeit begegnen."]}), inp)
    with OpenAITestServer(respond=lambda p: p.split("\n")[-1]) as s:
        code = main(["rephrase", str(inp), "-o", str(tmp_path / "out"), "--style", "wiki", "--base-url", s.base_url,
                     "--model", "m", "--no-progress", "--no-language-check"])
        asked = sum(s.answered.values())
    assert code == 0 and asked >= 2
    stats = json.loads((tmp_path / "out" / "stats.json").read_text())
    assert stats["language_identified"] == 2 and "skipped/unsupported_language" not in stats["reasons"]
    out = pl.read_parquet(sorted((tmp_path / "out").glob("part-*.parquet")))
    assert dict(zip(out["source_id"], out["source_language"])) == {"en": "eng_Latn", "de": "deu_Latn"}


def test_rephrase_refuses_when_no_document_has_a_nameable_language(tmp_path, capsys):
    from rephrase.testserver import OpenAITestServer

    inp = tmp_path / "x.jsonl"
    inp.write_text(json.dumps({"id": "a", "text": TEXT, "language": "xyz_Zzzz"}) + "\n")
    with OpenAITestServer() as s:
        code = main(["rephrase", str(inp), "-o", str(tmp_path / "out"), "--style", "wiki", "--base-url", s.base_url,
                     "--model", "m", "--no-progress"])
    assert code == 2
    one_error(capsys, "--language")


# ------------------------------------------------------------------------------------------------ HTTP mirror


class _NoRangeHandler(http.server.SimpleHTTPRequestHandler):
    """Python's http.server, which ignores `Range` (as many plain mirrors do)."""

    def log_message(self, *args):
        pass


@pytest.fixture
def http_mirror(tmp_path):
    """A Common-Crawl-like mirror (collinfo.json, <snapshot>/warc.paths.gz, WARC files) over http://127.0.0.1."""
    root = tmp_path / "mirror"
    snaps = {"CC-MAIN-2024-10": "2024-02-20", "CC-MAIN-2024-18": "2024-04-12"}
    k = 0
    for snap in snaps:
        rels = []
        for n in range(2):
            rel = f"crawl-data/{snap}/segments/1.{n}/warc/CC-MAIN-{n:05d}.warc.gz"
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            with open(root / rel, "wb") as f:
                w = warcgen.WarcWriter(f, seed=k)
                for _ in range(3):
                    k += 1
                    w.response(f"https://site{k}.example/", page(f"Page {k}", good_marker(k)), DATE)
            rels.append(rel)
        rels.append(f"crawl-data/{snap}/missing.warc.gz")
        (root / "crawl-data" / snap / "warc.paths.gz").write_bytes(gzip.compress("\n".join(rels).encode()))
    (root / "collinfo.json").write_text(json.dumps([{"id": s, "name": s, "from": f"{d}T00:00:00",
                                                     "to": f"{d}T23:00:00"} for s, d in snaps.items()]))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(_NoRangeHandler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_crawl_sync_over_an_http_mirror_without_range_requests(http_mirror, tmp_path, capsys):
    m = tmp_path / "crawl.yml"
    m.write_text(f"""input: {{paths: [x.warc.gz], format: warc}}
output: {tmp_path / 'out'}
executor: {{tasks: 1, workers: 1}}
crawl:
  index_url: {http_mirror}/
  snapshots: ["CC-MAIN-2024-*"]
  ledger: {tmp_path / 'ledger.sqlite'}
stages:
  - stage: extract
    engine: resiliparse
  - stage: write
""")
    code = main(["crawl", "sync", str(m), "--no-progress"])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    assert code == 1  # the two missing files
    assert "4 file(s) in 4 batch(es) done, 12 documents read, 12 written" in captured.out
    missing = [line for line in (captured.out + captured.err).splitlines()
               if "missing.warc.gz" in line and "no such file" in line]
    assert len(missing) == 4  # per file: one line when it fails, one in the closing list
    files = sorted((tmp_path / "out").glob("CC-MAIN-*/batch_*/*/*.parquet"))
    assert pl.concat([pl.read_parquet(f) for f in files]).height == 12


def test_a_reader_over_http_without_range_reads_every_format(http_mirror, tmp_path):
    from curation.io.readers import make_reader

    url = f"{http_mirror}/crawl-data/CC-MAIN-2024-10/segments/1.0/warc/CC-MAIN-00000.warc.gz"
    docs, stats = read(make_reader("warc", paths=[url]))
    assert len(docs) == 3 and "skipped/unreadable_file" not in stats


# ------------------------------------------------------------------------------------------------ run report


def test_the_report_after_a_resume_with_nothing_to_do_shows_the_runs_duration(tmp_path, small_warc):
    from curation.manifest import load_manifest
    from curation.run.runner import run_manifest

    m = load_manifest(manifest(tmp_path, str(small_warc), tmp_path / "out"))
    first = run_manifest(m, progress=False)
    again = run_manifest(m, progress=False)
    assert again["already_complete"] and again["elapsed_seconds"] >= first["elapsed_seconds"] > 0
    html = (tmp_path / "out" / "report.html").read_text()
    assert f"in {again['elapsed_seconds']}" in html.replace(",", "") or f"{again['elapsed_seconds']:.2f}" in html


# ------------------------------------------------------------------------------------------------ dedup inputs


def test_dedup_and_filter_take_any_language_value_and_bad_lines(tmp_path, capsys):
    rows = [{"id": f"d{i}", "text": f"{TEXT} Copy {i % 2}.", "language": lang}
            for i, lang in enumerate(["x" * 300, "../../etc", "eng_Latn", "eng/Latn", "eng_Latn"])]
    path = tmp_path / "in.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + b"\r\n".join(json.dumps(r).encode() for r in rows) + b"\r\nnot json\r\n")
    assert main(["dedup", str(path), "-o", str(tmp_path / "dd"), "--no-progress"]) == 0
    assert "5 documents in" in capsys.readouterr().out
    assert not list(tmp_path.glob("etc*")) and all(p.is_relative_to(tmp_path / "dd") for p in
                                                  (tmp_path / "dd").rglob("*"))
    assert main(["filter", str(path), "-o", str(tmp_path / "ff"), "--language", "eng_Latn", "--no-progress"]) == 0
    os.sync()


def test_a_truncated_gzip_jsonl_keeps_the_lines_before_the_damage(tmp_path):
    data = gzip.compress(b"".join(json.dumps(r).encode() + b"\n" for r in _rows(200)))
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(data[:-40])
    docs, stats = read(JsonlReader([str(path)]))
    assert len(docs) > 150 and [d.id for d in docs] == [f"r{i}" for i in range(len(docs))]
    assert stats["skipped/unreadable_file"] == 1
    from curation.io.records import read_jsonl_table

    assert read_jsonl_table(str(path)).num_rows == len(docs)


def test_a_language_value_is_never_a_path_to_a_config(tmp_path):
    """Found by the fuzzer: `curate filter` read `filters/configs/<language>.yml` with the row's language, so a
    300-character value crashed it and `../../x` pointed outside the configs."""
    from curation.apply.filter import quality_reason
    from filters.config import load_config

    (tmp_path / "evil.yml").write_text("min_stop_words: 999\n")
    for lang in ("x" * 300, f"../../../../../..{tmp_path}/evil", "eng/Latn", ""):
        assert load_config(lang)[1] == "default.yml"
        assert quality_reason(TEXT * 5, lang) == quality_reason(TEXT * 5, "zzz_Zzzz")  # the default config
