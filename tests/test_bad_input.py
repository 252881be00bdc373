"""Bad input at the command line: a missing input, an unreadable or non-fastText model and an invalid manifest
are one clear `error:` line on stderr and exit status 2, never a traceback; and `curate run` on a WARC full of
broken records finishes (exit 0) with the skip reasons in stats.json."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from conftest import DATE

from curation.cli import main
from curation.demo import warc as warcgen

CURATE = Path(sys.executable).parent / "curate"


def write_manifest(tmp_path: Path, input_path: str, stages: str = "  - stage: extract\n    engine: resiliparse\n",
                   name: str = "m.yml") -> Path:
    path = tmp_path / name
    path.write_text(f"input:\n  paths: [\"{input_path}\"]\noutput: {tmp_path / 'out'}\n"
                    f"executor: {{tasks: 1}}\nstages:\n{stages}")
    return path


@pytest.fixture
def small_warc(make_warc, write_good):
    return make_warc(lambda w: [write_good(w, i) for i in range(3)], "small.warc.gz")


def error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.strip()]


def assert_one_error(code: int, err: str, *fragments: str) -> str:
    assert code == 2, err
    assert "Traceback" not in err
    lines = error_lines(err)
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: ")
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


# -------------------------------------------------------------------------------- the cases, in-process


def _missing_input(tmp_path, small_warc):
    missing = str(tmp_path / "no" / "such.warc.gz")
    return write_manifest(tmp_path, missing), [], (missing, "no such file or folder")


def _missing_input_override(tmp_path, small_warc):
    missing = str(tmp_path / "nowhere")
    return write_manifest(tmp_path, str(small_warc)), ["--input", missing], (missing, "no such file or folder")


def _glob_matches_nothing(tmp_path, small_warc):
    pattern = str(tmp_path / "*.wet.gz")
    return write_manifest(tmp_path, pattern), [], (pattern, "matches no input files")


def _model_missing(tmp_path, small_warc):
    stages = "  - stage: extract\n  - stage: langid\n    model: /nonexistent\n"
    return write_manifest(tmp_path, str(small_warc), stages), [], ("/nonexistent", "model", "cannot read")


def _model_garbage(tmp_path, small_warc):
    model = tmp_path / "model.bin"
    model.write_bytes(b"<html>this is a download error page, not a model</html>" * 20)
    stages = f"  - stage: extract\n  - stage: langid\n    model: {model}\n"
    return write_manifest(tmp_path, str(small_warc), stages), [], (str(model), "not a fastText model")


def _model_empty(tmp_path, small_warc):
    model = tmp_path / "empty.bin"
    model.write_bytes(b"")
    stages = f"  - stage: langid\n    model: {model}\n"
    return write_manifest(tmp_path, str(small_warc), stages), [], (str(model), "not a fastText model")


def _manifest_unknown_key(tmp_path, small_warc):
    path = write_manifest(tmp_path, str(small_warc))
    path.write_text(path.read_text() + "outptu: x\n")
    return path, [], (str(path), "line 8", "outptu", "unknown key", "did you mean 'output'")


def _manifest_bad_option_type(tmp_path, small_warc):
    stages = "  - stage: extract\n    timeout: soon\n"
    path = write_manifest(tmp_path, str(small_warc), stages)
    return path, [], (str(path), "line 7", "stages[0].timeout", "expected a number")


def _manifest_not_yaml(tmp_path, small_warc):
    path = tmp_path / "broken.yml"
    path.write_text("input: {paths: [a.warc.gz]\nstages: [\n")
    return path, [], (str(path), "not valid YAML")


def _manifest_not_a_mapping(tmp_path, small_warc):
    path = tmp_path / "list.yml"
    path.write_text("- just\n- a list\n")
    return path, [], (str(path), "mapping")


def _manifest_missing(tmp_path, small_warc):
    path = tmp_path / "absent.yml"
    return path, [], (str(path), "manifest not found")


def _manifest_unknown_stage(tmp_path, small_warc):
    path = write_manifest(tmp_path, str(small_warc), "  - stage: extrakt\n")
    return path, [], (str(path), "unknown stage 'extrakt'")


CASES = {
    "missing_input": _missing_input,
    "missing_input_override": _missing_input_override,
    "glob_matches_nothing": _glob_matches_nothing,
    "model_missing": _model_missing,
    "model_garbage": _model_garbage,
    "model_empty": _model_empty,
    "manifest_unknown_key": _manifest_unknown_key,
    "manifest_bad_option_type": _manifest_bad_option_type,
    "manifest_not_yaml": _manifest_not_yaml,
    "manifest_not_a_mapping": _manifest_not_a_mapping,
    "manifest_missing": _manifest_missing,
    "manifest_unknown_stage": _manifest_unknown_stage,
}


@pytest.mark.parametrize("command", ["run", "validate"])
@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_one_error_line_and_exit_2(case, command, tmp_path, small_warc, capsys):
    manifest, extra, fragments = CASES[case](tmp_path, small_warc)
    code = main([command, str(manifest), *extra, *(["--no-progress"] if command == "run" else [])])
    captured = capsys.readouterr()
    assert_one_error(code, captured.err, *fragments)
    assert not (tmp_path / "out" / "stats.json").exists()


def test_several_manifest_problems_are_one_line_each(tmp_path, small_warc, capsys):
    path = write_manifest(tmp_path, str(small_warc), "  - stage: extract\n    engin: resiliparse\n    timeout: x\n")
    path.write_text(path.read_text() + "languages: fra_Latn\n")
    code = main(["validate", str(path)])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    lines = error_lines(err)
    assert len(lines) == 3 and all(line.startswith(f"error: {path} line ") for line in lines)
    assert any("engin" in line and "did you mean 'engine'" in line for line in lines)


# -------------------------------------------------------------------------------- the real process


@pytest.mark.parametrize("case", ["missing_input", "model_missing", "model_garbage", "manifest_unknown_key"])
def test_bad_input_subprocess_exit_code(case, tmp_path, small_warc):
    manifest, extra, fragments = CASES[case](tmp_path, small_warc)
    proc = subprocess.run([sys.executable, "-m", "curation.cli", "run", str(manifest), *extra, "--no-progress"],
                          capture_output=True, text=True, timeout=60)
    assert_one_error(proc.returncode, proc.stderr, *fragments)


@pytest.mark.skipif(not CURATE.exists(), reason="the curate script is not installed next to this Python")
def test_bad_input_curate_script(tmp_path, small_warc):
    manifest, extra, fragments = CASES["manifest_not_yaml"](tmp_path, small_warc)
    proc = subprocess.run([str(CURATE), "validate", str(manifest)], capture_output=True, text=True, timeout=60)
    assert_one_error(proc.returncode, proc.stderr, *fragments)
    manifest, extra, fragments = CASES["missing_input"](tmp_path, small_warc)
    proc = subprocess.run([str(CURATE), "run", str(manifest), "--no-progress"], capture_output=True, text=True,
                          timeout=60)
    assert_one_error(proc.returncode, proc.stderr, *fragments)


# -------------------------------------------------------------------------------- a run over broken records


def test_curate_run_on_broken_warc_finishes_and_counts_skips(make_warc, write_good, tmp_path):
    goods = []

    def build(w):
        w.warcinfo("broken.warc.gz", DATE, {"isPartOf": "CC-MAIN-2024-10"})
        goods.extend(write_good(w, i) for i in range(3))
        warcgen.write_broken_samples(w, DATE, include_huge=True, host="https://broken.example")
        goods.extend(write_good(w, i) for i in range(3, 6))

    warc = make_warc(build, "broken.warc.gz")
    stages = "  - stage: extract\n    engine: resiliparse\n  - stage: langid\n    label_only: true\n  - stage: write\n"
    manifest = write_manifest(tmp_path, str(warc), stages)
    proc = subprocess.run([str(CURATE) if CURATE.exists() else sys.executable, *([] if CURATE.exists() else
                           ["-m", "curation.cli"]), "run", str(manifest), "--no-progress"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr

    stats = json.loads((tmp_path / "out" / "stats.json").read_text())
    reader = stats["stages"][0]
    assert reader["files"] == 1
    assert reader["skipped"] == {"binary": 3, "empty": 1, "corrupt_gzip": 1, "bad_content_length": 1,
                                 "junk_bytes": 1, "too_large": 1}
    assert reader["not_response"] == {"request": len(warcgen.ODD_BODY_KINDS) + 1, "metadata": 1}
    # 6 good pages + 7 text-bearing odd pages + the deep page + the "ok" page
    assert reader["documents"] == stats["documents_read"] == 15
    extract = next(s for s in stats["stages"] if "reasons" in s and "Extract" in s["stage"])
    assert extract["in"] == 15 and extract["reasons"].get("html_too_deep") == 1

    files = [p for p in (tmp_path / "out").glob("*/*.parquet") if not p.parts[-2].startswith("_")]
    df = pl.concat([pl.read_parquet(f) for f in files])
    assert df.height == stats["documents_written"] == extract["kept"]
    rows = {r["url"]: r for r in df.iter_rows(named=True)}
    for g in goods:
        assert g["url"] in rows, f"good page {g['url']} was not written"
        assert g["marker"] in rows[g["url"]]["text"] and rows[g["url"]]["id"] == g["id"]
        assert rows[g["url"]]["snapshot"] == "CC-MAIN-2024-10"
    assert "https://broken.example/deep" not in rows and "https://broken.example/huge" not in rows
    assert any("рождаются" in r["text"] for r in rows.values())  # cp1251 page decoded
