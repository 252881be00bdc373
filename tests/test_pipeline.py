"""End to end: manifests run on the demo crawl and on JSONL/Parquet, resume, overrides, custom filters."""

import json
import sys
from pathlib import Path

import polars as pl
import pytest

from curation import Pipeline
from curation.cli import main
from curation.demo.build import build_demo
from curation.manifest import parse_manifest
from curation.run.runner import run_manifest
from langid.score_files import thresholds_for

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "data" / "cache"


@pytest.fixture(scope="session")
def small_crawl(tmp_path_factory):
    out = tmp_path_factory.mktemp("crawl")
    build_demo(out, n_pages=300, seed=3, cache_dir=CACHE)
    return out


def manifest(tmp_path, warc, extra_stages="", engine="resiliparse", tasks=1, out="out"):
    text = f"""
input: {{paths: ["{warc}"]}}
output: {tmp_path / out}
executor: {{tasks: {tasks}, workers: 1}}
stages:
  - stage: extract
    engine: {engine}
  - stage: langid
    min_score: 0.5
    exclusions: true
{extra_stages}  - stage: quality
    exclusions: true
  - stage: format
  - stage: write
"""
    return parse_manifest(text, source="test.yml")


def read_out(folder: Path) -> pl.DataFrame:
    files = sorted(p for p in folder.glob("*/*.parquet") if not p.parts[-2].startswith("_"))
    return pl.concat([pl.read_parquet(f) for f in files]) if files else pl.DataFrame()


def test_demo_manifest_end_to_end(small_crawl, tmp_path, capsys):
    out = tmp_path / "demo"
    code = main(["run", str(ROOT / "manifests/demo.yml"), "--input", str(small_crawl / "crawl.warc.gz"),
                 "--output", str(out), "--no-progress"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "Language ID" in printed and f"to {out}/<language>/" in printed
    stats = json.loads((out / "stats.json").read_text())
    df = read_out(out)
    assert stats["documents_written"] == len(df) > 50
    assert stats["languages_written"] >= 15
    # one dataset folder per language, files named <rank-file>_<rank>.parquet, zstd
    for f in out.glob("[a-z]*_*/*.parquet"):
        assert f.parent.name == f.parent.name.strip() and f.name.startswith("000_0000")
    langs = df["language"].unique().to_list()
    assert all(len(code) == 8 and code[3] == "_" for code in langs), langs
    for col in ("id", "text", "url", "snapshot", "language", "language_score", "dup_line_frac", "line_punct_ratio"):
        assert col in df.columns
    assert df["snapshot"].unique().to_list() == ["CC-MAIN-2026-47"]
    # each language's own language_score from its config (FineWeb2: 0.3 to 0.9), else the manifest's 0.5
    # the demo runs the default combination: its own thresholds file (FineWeb2's GlotLID cuts do not apply)
    cuts = thresholds_for("curlid+cld2+lid176")[0]
    for lang, score in zip(df["language"].to_list(), df["language_score"].to_list()):
        assert score >= cuts.get(lang, 0.5), (lang, score)
    # per-stage summary: reader skips by reason; filters in/kept/removed with reasons per language
    reader = stats["stages"][0]
    assert reader["documents"] > 0 and sum(reader["skipped"].values()) >= 1
    quality = next(s for s in stats["stages"] if s["stage"].startswith("🥇"))
    assert quality["in"] == quality["kept"] + quality["removed"] and quality["removed"] > 0
    assert any(v["removed"] for v in stats["languages"].values())
    # the truth: written article pages carry their true language
    truth = {r["url"]: r for r in map(json.loads, (small_crawl / "truth.jsonl").read_text().splitlines())}
    pairs = [(truth[u]["iso639_3"], lang) for u, lang in zip(df["url"],
                                                             df["language"]) if truth[u]["kind"] == "article"]
    checked = [(t, lang) for t, lang in pairs if t in ("fra", "deu", "spa", "rus", "por", "ita", "nld", "pol", "tur")]
    assert checked and all(lang.startswith(t) for t, lang in checked), checked


def test_rerun_skips_finished_work_and_changes_nothing(small_crawl, tmp_path):
    m = manifest(tmp_path, small_crawl / "crawl.warc.gz", tasks=2)
    first = run_manifest(m, progress=False)
    files = {p: p.read_bytes() for p in (tmp_path / "out").rglob("*.parquet")}
    second = run_manifest(m, progress=False)
    assert second["already_complete"] and not first["already_complete"]
    assert second["documents_written"] == first["documents_written"]
    assert {p: p.read_bytes() for p in (tmp_path / "out").rglob("*.parquet")} == files


def test_interrupted_task_is_redone_without_duplicates(small_crawl, tmp_path):
    m = manifest(tmp_path, small_crawl / "crawl.warc.gz", tasks=2)
    run_manifest(m, progress=False)
    full = read_out(tmp_path / "out")
    # as if task 1 died: no completion marker, partial output
    (tmp_path / "out/_logs/completions/00001").unlink()
    for f in (tmp_path / "out").glob("*/000_00001.parquet"):
        f.write_bytes(f.read_bytes()[: len(f.read_bytes()) // 2])
    again = run_manifest(m, progress=False)
    resumed = read_out(tmp_path / "out")
    assert sorted(resumed["id"].to_list()) == sorted(full["id"].to_list())
    assert resumed["id"].n_unique() == len(resumed) and again["documents_written"] == len(full)


def test_other_manifest_on_same_output_is_refused(small_crawl, tmp_path, capsys):
    run_manifest(manifest(tmp_path, small_crawl / "crawl.warc.gz"), progress=False)
    other = manifest(tmp_path, small_crawl / "crawl.warc.gz", engine="trafilatura")
    from curation.core import CurationError

    with pytest.raises(CurationError, match="different manifest"):
        run_manifest(other, progress=False)
    assert run_manifest(other, overwrite=True, progress=False)["documents_written"] > 0
    # --replace-changed resumes the same manifest but replaces a different one's output
    assert run_manifest(other, replace_changed=True, progress=False)["already_complete"]
    assert not run_manifest(manifest(tmp_path, small_crawl / "crawl.warc.gz"), replace_changed=True,
                            progress=False)["already_complete"]


def test_a_second_run_on_the_same_output_exits_at_once_and_touches_nothing(small_crawl, tmp_path, capsys):
    import subprocess

    from curation.lock import EXIT_LOCKED
    from curation.run.runner import output_lock

    m = manifest(tmp_path, small_crawl / "crawl.warc.gz")
    out = tmp_path / "out"
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time\nfrom curation.run.runner import output_lock\n"
                               f"with output_lock({str(out)!r}):\n    print('held', flush=True); time.sleep(60)"],
                              stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parents[1])
    try:
        assert holder.stdout.readline().strip() == "held"
        text = tmp_path / "m.yml"
        text.write_text(m.model_dump_json())
        assert main(["run", str(text), "--no-progress"]) == EXIT_LOCKED
        err = capsys.readouterr().err
        assert f"another `curate run` is writing output '{out}'" in err and f"pid {holder.pid}" in err
        assert not out.exists()  # nothing created, nothing removed
    finally:
        holder.kill()
        holder.wait()
    # the kernel released the killed holder's lock: the next run goes ahead, and its own lock is released after
    assert run_manifest(m, progress=False)["documents_written"] > 0
    with output_lock(str(out)):
        pass


def test_jsonl_and_parquet_inputs_pass_through_extraction(small_crawl, tmp_path):
    run_manifest(manifest(tmp_path, small_crawl / "crawl.warc.gz"), progress=False)
    df = read_out(tmp_path / "out").select("id", "text", "url")
    df.write_parquet(tmp_path / "dump.parquet")
    df.write_ndjson(tmp_path / "dump.jsonl")
    import zstandard

    (tmp_path / "dump.jsonl.zst").write_bytes(zstandard.compress((tmp_path / "dump.jsonl").read_bytes()))
    for name in ("dump.parquet", "dump.jsonl", "dump.jsonl.zst"):
        out = tmp_path / f"from_{name}"
        assert main(["run", str(ROOT / "manifests/extract.yml"), "--input", str(tmp_path / name),
                     "--output", str(out), "--no-progress"]) == 0
        back = read_out(out)
        assert sorted(back["id"].to_list()) == sorted(df["id"].to_list())
        assert dict(zip(back["id"], back["text"])) == dict(zip(df["id"], df["text"]))  # text passes through


def test_custom_filters_by_import_and_by_path(small_crawl, tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT))
    text = f"""
imports: [examples.my_filters]
input: {{paths: ["{small_crawl / 'crawl.warc.gz'}"]}}
output: {tmp_path / 'out'}
stages:
  - stage: extract
    engine: resiliparse
  - stage: max_url_depth
    max_depth: 1
    exclusions: true
  - stage: examples.my_filters:no_lorem_ipsum
  - stage: write
"""
    summary = run_manifest(parse_manifest(text, source="custom.yml"), progress=False)
    depth = next(s for s in summary["stages"] if "URL depth" in s["stage"])
    assert depth["removed"] > 0 and depth["reasons"] == {"url_too_deep": depth["removed"]}
    excluded = pl.concat([pl.read_parquet(f) for f in (tmp_path / "out/_exclusions").rglob("*.parquet")])
    assert set(excluded["filter_reason"]) == {"url_too_deep"} and len(excluded) == depth["removed"]
    kept = read_out(tmp_path / "out")
    assert all(u.split("://")[1].count("/") <= 2 for u in kept["url"])


def test_custom_option_types_are_checked(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT))
    from curation.manifest import ManifestError

    with pytest.raises(ManifestError, match=r"stages\[0\].max_depth: expected an integer, got 'deep'"):
        parse_manifest("imports: [examples.my_filters]\ninput: {paths: [x]}\noutput: o\n"
                       "stages:\n  - stage: max_url_depth\n    max_depth: deep\n", source="m.yml")


def test_python_api_with_a_plain_function(small_crawl, tmp_path):
    def no_short_pages(doc):
        return "too_short" if len(doc.text) < 400 else True

    summary = (Pipeline.read(str(small_crawl / "crawl.warc.gz"))
               .stage("extract", engine="resiliparse")
               .stage(no_short_pages)
               .stage("langid")
               .write(str(tmp_path / "api"))
               .run(progress=False))
    step = next(s for s in summary["stages"] if s["stage"] == "no_short_pages")
    assert step["reasons"].get("too_short", 0) > 0
    assert read_out(tmp_path / "api")["text"].str.len_chars().min() >= 400


def test_entry_point_stages(tmp_path, monkeypatch):
    pkg = tmp_path / "plugin"
    pkg.mkdir()
    (pkg / "shouty_filters.py").write_text("def no_shouting(doc):\n    return 'shouting' if doc.text.isupper() else "
                                           "True\n")
    dist = pkg / "shouty_filters-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: shouty-filters\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[curation.stages]\nno_shouting = shouty_filters:no_shouting\n")
    monkeypatch.syspath_prepend(str(pkg))
    from curation.core import Document, build_stage, get_stage

    step = build_stage(get_stage("no_shouting"), {})
    docs = [Document(text="HELLO", id="1"), Document(text="hello", id="2")]
    assert [d.id for d in step.run(iter(docs))] == ["2"]


def test_langid_thresholds_come_from_language_configs(tmp_path):
    from curation.run.runner import compile_pipeline
    from langid.fasttext_lid import LanguageId

    m = parse_manifest(f"input: {{paths: ['{ROOT / 'manifests/demo.yml'}'], format: jsonl}}\noutput: {tmp_path}\n"
                       "stages:\n  - stage: langid\n    model: lid176\n    min_score: 0.5\n"
                       "    min_scores: {fra_Latn: 0.9}\n",
                       source="m.yml")
    step = next(s for s in compile_pipeline(m, progress=False) if isinstance(s, LanguageId))
    assert step.min_scores["eng_Latn"] == 0.65  # from filters/configs/eng_Latn.yml (language_score_model: lid176)
    assert step.min_scores["fra_Latn"] == 0.9 and step.min_score == 0.5  # the manifest's own win
    doc = __import__("curation").Document(text="The weather is nice today and we are going out.", id="x")
    lang, score = step.predict(doc.text)
    assert lang == "eng_Latn"


def test_dedup_stage_splits_the_run_and_resumes(small_crawl, tmp_path):
    stages = "  - stage: dedup\n    exclusions: true\n"
    m = manifest(tmp_path, small_crawl / "crawl.warc.gz", extra_stages=stages, tasks=2)
    first = run_manifest(m, progress=False)
    dedup = next(s for s in first["stages"] if s.get("key") == "dedup")
    assert dedup["removed"] > 0 and dedup["in"] == dedup["kept"] + dedup["removed"]
    df = read_out(tmp_path / "out")
    assert len(df) == first["documents_written"] and df["minhash_cluster_size"].min() >= 1
    assert (df["minhash_cluster_id"] == df["id"]).all()  # every kept document is its cluster's representative
    excluded = pl.concat([pl.read_parquet(f) for f in (tmp_path / "out/_exclusions").glob("*_dedup/*.parquet")])
    assert len(excluded) == dedup["removed"] and set(excluded["filter_reason"]) == {"near_duplicate"}
    assert not set(excluded["id"]) & set(df["id"])
    # near-duplicate mirrors of the demo are removed, pointing at the page they copy
    truth = {r["url"]: r for r in map(json.loads, (small_crawl / "truth.jsonl").read_text().splitlines())}
    kinds = [truth[u]["kind"] for u in excluded["url"]]
    assert kinds.count("near_duplicate") + kinds.count("exact_duplicate") > 0
    # a second run redoes nothing and reports the same
    again = run_manifest(m, progress=False)
    assert again["already_complete"] and again["documents_written"] == first["documents_written"]


def test_exact_and_url_dedup_stages(small_crawl, tmp_path):
    stages = "  - stage: exact_dedup\n    exclusions: true\n  - stage: exact_dedup\n    by: url\n"
    m = manifest(tmp_path, small_crawl / "crawl.warc.gz", extra_stages=stages)
    summary = run_manifest(m, progress=False)
    exact, url = [s for s in summary["stages"] if s.get("key") == "exact_dedup"]
    assert exact["removed"] > 0 and exact["reasons"] == {"duplicate_text": exact["removed"]}
    assert url["in"] == exact["kept"]
    excluded = pl.concat([pl.read_parquet(f) for f in (tmp_path / "out/_exclusions").glob("*_exact_dedup/*.parquet")])
    truth = {r["url"]: r for r in map(json.loads, (small_crawl / "truth.jsonl").read_text().splitlines())}
    assert {truth[u]["kind"] for u in excluded["url"]} <= {"exact_duplicate", "spam", "near_duplicate", "article"}
    assert "exact_duplicate" in {truth[u]["kind"] for u in excluded["url"]}
    originals = {truth[u]["orig_url"] for u in excluded["url"] if truth[u]["kind"] == "exact_duplicate"}
    ids_by_url = {}
    for f in (tmp_path / "out/_stages").glob("*_exact_dedup/input/*/*.parquet"):
        t = pl.read_parquet(f)
        ids_by_url.update(zip(t["url"], t["id"]))
    assert {ids_by_url[u] for u in originals if u in ids_by_url} <= set(excluded["duplicate_of"])
