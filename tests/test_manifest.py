"""Manifests: typed validation with errors that name file, line and key; safe YAML; JSON Schema."""

import json
from pathlib import Path

import pytest

from curation.cli import main
from curation.manifest import ManifestError, json_schema, load_manifest, parse_manifest

ROOT = Path(__file__).resolve().parents[1]

GOOD = """\
input:
  paths: [data/x.warc.gz]
output: out/x
stages:
  - stage: extract
  - stage: langid
    min_score: 0.6
  - stage: quality
"""


def problems(text: str, source="m.yml") -> list[str]:
    with pytest.raises(ManifestError) as e:
        parse_manifest(text, source=source)
    return e.value.problems


def test_shipped_manifests_are_valid():
    from curation.manifest import load_mixture, mixture_only

    for path in sorted((ROOT / "manifests").glob("*.yml")):
        if mixture_only(path):  # a mixture of an earlier run's output (curate mix)
            assert load_mixture(path).output
            continue
        m = load_manifest(path)
        assert m.stages and m.output.path


def test_good_manifest_defaults():
    m = parse_manifest(GOOD)
    assert m.input.paths == ["data/x.warc.gz"] and m.input.format is None
    assert m.output.path == "out/x"
    assert m.executor.kind == "local" and m.executor.tasks == 1
    assert [s["stage"] for s in m.stages] == ["extract", "langid", "quality"]


def test_wrong_type_names_file_line_and_key():
    text = GOOD.replace("min_score: 0.6", "min_score: high")
    assert problems(text, "manifests/x.yml") == [
        "manifests/x.yml line 7: stages[1].min_score: expected a number, got 'high'"
    ]


def test_unknown_keys_are_errors_with_suggestions():
    text = GOOD.replace("output: out/x", "output: out/x\nexecuter: {tasks: 2}")
    text = text.replace("min_score: 0.6", "min_scor: 0.6")
    found = problems(text)
    assert any(p.startswith("m.yml line 4: executer: unknown key") and "executor" in p for p in found), found
    want = "m.yml line 8: stages[1].min_scor: unknown key (did you mean 'min_score'?)"
    assert any(p.startswith(want) for p in found), found


def test_missing_and_nested_errors():
    found = problems("output: out\nstages: [{stage: extract}]\nexecutor: {tasks: zero}\n")
    assert any("input: missing required key" in p for p in found), found
    assert any(p.startswith("m.yml line 3: executor.tasks: expected an integer, got 'zero'") for p in found), found


def test_unknown_stage_lists_known_ones():
    found = problems(GOOD.replace("stage: quality", "stage: qualty"))
    assert len(found) == 1 and "line 8" in found[0] and "unknown stage 'qualty'" in found[0] and "quality" in found[0]


def test_yaml_object_tags_are_refused(tmp_path):
    marker = tmp_path / "pwned"
    text = f"input: !!python/object/apply:os.system ['touch {marker}']\noutput: out\nstages: [{{stage: extract}}]\n"
    found = problems(text)
    assert not marker.exists()
    assert len(found) == 1 and found[0].startswith("m.yml line 1: YAML tag") and "not allowed" in found[0]


def test_invalid_yaml_syntax_names_line():
    found = problems("input:\n  paths: [a\noutput: b\n")
    assert found[0].startswith("m.yml line") and "not valid YAML" in found[0]


def test_output_paths_cannot_escape_through_dotdot():
    text = GOOD + "  - stage: write\n    subdir: ../../etc\n"
    found = problems(text)
    assert any("stages[3].subdir" in p and "escapes the output folder" in p for p in found), found


def test_duplicate_keys_are_errors():
    found = problems(GOOD.replace("output: out/x", "output: out/x\noutput: out/y"))
    assert any("output: key given twice" in p for p in found), found


def test_stage_options_come_from_constructor_types():
    found = problems(GOOD.replace("  - stage: quality", "  - stage: extract\n    engine: lynx\n  - stage: quality"))
    want = "stages[2].engine: expected 'trafilatura', 'resiliparse' or 'hybrid', got 'lynx'"
    assert any(want in p for p in found), found


def test_schema_covers_manifest_and_every_stage(capsys):
    schema = json_schema()
    assert {"input", "output", "stages", "executor", "languages"} <= set(schema["properties"])
    text = json.dumps(schema)
    for stage in ("extract", "langid", "quality", "format", "url_filter", "write"):
        assert f'"const": "{stage}"' in text
    assert "min_score" in text and "favour_precision" in text
    assert "minimum confidence of the top label" in text  # option descriptions come from the docstrings
    assert main(["schema"]) == 0
    assert json.loads(capsys.readouterr().out)["title"] == "curation manifest"


def test_validate_cli_reports_and_exits_2(tmp_path, capsys):
    bad = tmp_path / "bad.yml"
    bad.write_text(GOOD.replace("min_score: 0.6", "min_score: high"))
    assert main(["validate", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: {bad} line 7: stages[1].min_score: expected a number, got 'high'"]


def test_missing_manifest_file(capsys):
    assert main(["validate", "/nonexistent/m.yml"]) == 2
    assert "manifest not found" in capsys.readouterr().err
