"""The run report: written at the end of a run and by `curate report`, for finished runs, unfinished runs and
runs without exclusions; each page rendered in headless Chromium (Debian's `chromium`, installed by
`make test`), which must load it without errors or requests and show every chart."""

import json
import os
import shutil
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from curation.cli import main
from curation.demo.build import build_demo
from curation.manifest import parse_manifest
from curation.report.html import TOP_SCORE_LANGUAGES
from curation.run.runner import run_manifest
from curation.run.summary import summary_from_logs

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# the charts of a run with language ID, MinHash dedup and exclusions; plus one language-score chart per top language
CHARTS = {"documents-per-language", "tokens-per-language", "stages", "reasons", "removal-per-language",
          "language-score-all", "cluster-sizes", "removed-domains", "throughput"}


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CURATION_NO_BROWSER"):
            pytest.skip(f"CURATION_NO_BROWSER is set and {CHROMIUM} is missing: the report is not rendered")
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs it (apt-get install chromium); set "
                    "CURATION_NO_BROWSER=1 to skip the browser checks on a machine without it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A finished run of a small crawl with language ID, dedup and quality, all keeping their removed documents.
    Eleven languages: dedup loads a word tokenizer per language (spaCy's French alone takes seconds)."""
    base = tmp_path_factory.mktemp("report")
    build_demo(base / "crawl", n_pages=150, seed=5, cache_dir=ROOT / "data" / "cache")
    text = f"""
input: {{paths: ["{base / 'crawl' / 'crawl.warc.gz'}"]}}
output: {base / 'out'}
executor: {{tasks: 2, workers: 1}}
languages: [eng_Latn, deu_Latn, spa_Latn, rus_Cyrl, por_Latn, pol_Latn, nld_Latn, tur_Latn, ukr_Cyrl, swe_Latn,
            ces_Latn]
stages:
  - stage: extract
    engine: resiliparse
  - stage: langid
    min_score: 0.5
    exclusions: true
  - stage: dedup
    exclusions: true
  - stage: quality
    exclusions: true
  - stage: format
  - stage: write
"""
    summary = run_manifest(parse_manifest(text, source="report.yml"), progress=False)
    return base / "out", summary


def render(browser, page_path: Path) -> dict:
    """Load the page; return its charts (name, size, drawn bars), text, and any errors or requests beyond it."""
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    errors, requests, failed = [], [], []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.on("requestfailed", lambda r: failed.append(r.url))
    page.goto(page_path.resolve().as_uri(), wait_until="load")
    charts = page.evaluate("""() => [...document.querySelectorAll('svg.chart')].map(s => {
        const r = s.getBoundingClientRect();
        const bars = [...s.querySelectorAll('rect')].filter(b => b.getBoundingClientRect().width > 0
                                                            && b.getBoundingClientRect().height > 0);
        return {name: s.dataset.chart, width: r.width, height: r.height, bars: bars.length,
                visible: getComputedStyle(s).visibility === 'visible' && getComputedStyle(s).display !== 'none'};
    })""")
    text = page.evaluate("document.body.textContent")
    page.close()
    return {"charts": charts, "text": text, "errors": errors, "requests": requests, "failed": failed}


def assert_loads_and_shows(result: dict, page_path: Path, expected: set[str]):
    assert result["errors"] == [] and result["failed"] == []
    assert result["requests"] == [page_path.resolve().as_uri()]  # self-contained: nothing else is fetched
    names = [c["name"] for c in result["charts"]]
    assert len(names) == len(set(names)) and set(names) == expected
    for c in result["charts"]:
        assert c["visible"] and c["width"] > 100 and c["height"] > 50 and c["bars"] > 0, c


def scored_languages(out: Path, exclusions: bool = True) -> Counter:
    """Documents with a language_score per language, read from the output and exclusion Parquet files."""
    files = [p for p in out.glob("*/*.parquet") if not p.parent.name.startswith("_")]
    if exclusions:
        files += list((out / "_exclusions").rglob("*.parquet"))
    n = Counter()
    for f in files:
        t = pq.read_table(f, columns=["language", "language_score"]).to_pylist()
        n.update(r["language"] for r in t if r["language_score"] is not None)
    return n


def expected_charts(out: Path, exclusions: bool = True) -> set[str]:
    langs = scored_languages(out, exclusions)
    top = {f"language-score-{k}" for k in sorted(langs, key=lambda k: (-langs[k], k))[:TOP_SCORE_LANGUAGES]}
    return (CHARTS if exclusions else CHARTS - {"removed-domains"}) | top


def test_run_writes_a_report_that_loads_and_shows_every_chart(run, browser):
    out, summary = run
    page_path = out / "report.html"
    assert page_path.exists()  # written by the run itself
    result = render(browser, page_path)
    n_languages = len(scored_languages(out))
    assert n_languages > TOP_SCORE_LANGUAGES
    assert_loads_and_shows(result, page_path, expected_charts(out))
    text = result["text"]
    assert "Finished run" in text and "PARTIAL" not in text
    assert f"{summary['documents_written']:,} written" in text
    # the per-language table adds up to the documents written, read back from the Parquet files
    rows = sum(pq.ParquetFile(p).metadata.num_rows for p in out.glob("*/*.parquet")
               if not p.parent.name.startswith("_"))
    assert rows == summary["documents_written"]
    html = page_path.read_text()
    assert "<script" not in html and "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_report_of_an_unfinished_run_says_partial(run, browser, tmp_path, capsys):
    out, summary = run
    partial = tmp_path / "partial"
    shutil.copytree(out, partial)
    # as if killed during the second pass: no stats.json yet, task 1 of the last pass not finished
    (partial / "stats.json").unlink()
    (partial / "report.html").unlink()
    (partial / "_logs" / "pass_1" / "stats" / "00001.json").unlink()
    (partial / "_logs" / "pass_1" / "completions" / "00001").unlink()
    assert main(["report", str(partial), "--no-progress"]) == 0
    assert "report.html" in capsys.readouterr().out
    page_path = partial / "report.html"
    result = render(browser, page_path)
    assert_loads_and_shows(result, page_path, expected_charts(partial))
    assert "PARTIAL" in result["text"] and "Finished run" not in result["text"]
    # the quality stage counts only the task that finished
    read_back = summary_from_logs(partial)
    quality = next(s for s in read_back["stages"] if s["key"] == "quality")
    task0 = json.loads((partial / "_logs" / "pass_1" / "stats" / "00000.json").read_text())
    assert quality["in"] == next(s["stats"]["in"] for s in task0 if "Quality" in s["name"])
    assert quality["in"] < next(s for s in summary["stages"] if s["key"] == "quality")["in"]


def test_summary_read_back_from_logs_matches_stats_json(run):
    out, summary = run
    again = summary_from_logs(out)
    assert again["stages"] == summary["stages"] and again["languages"] == summary["languages"]
    assert again["documents_written"] == summary["documents_written"] and again["elapsed_seconds"] is None


def test_report_of_a_run_without_exclusions(run, browser, tmp_path):
    out, _ = run
    plain = tmp_path / "plain"
    shutil.copytree(out, plain, ignore=shutil.ignore_patterns("_exclusions", "report.html"))
    assert main(["report", str(plain), "--no-progress"]) == 0
    page_path = plain / "report.html"
    result = render(browser, page_path)
    assert_loads_and_shows(result, page_path, expected_charts(plain, exclusions=False))
    assert "set `exclusions: true` on a stage" in result["text"]


def test_tokens_counted_with_a_tokenizer(run, tmp_path):
    from curation.report.data import scan_output
    from curation.tokenize import load_tokenizer, train_bpe

    out, _ = run
    texts = [r for p in out.glob("*/*.parquet") if not p.parent.name.startswith("_")
             for r in pq.read_table(p, columns=["text"])["text"].to_pylist()]
    path = train_bpe(texts, 400, tmp_path / "tok")
    tok = load_tokenizer(path)
    counted = scan_output(out, tok)["languages"]
    assert sum(v["tokens"] for v in counted.values()) == sum(len(tok.encode(t, add_special_tokens=False).ids)
                                                             for t in texts)
    estimated = scan_output(out)["languages"]
    assert all(v["tokens"] == round(v["bytes"] / 4) for v in estimated.values())
    assert main(["report", str(out), "--tokenizer", str(path), "--html", str(tmp_path / "r.html"),
                 "--no-progress"]) == 0
    assert f"counted with {path}" in (tmp_path / "r.html").read_text()


@pytest.mark.parametrize("make, message", [
    (lambda p: p / "missing", "does not exist"),
    (lambda p: (p / "empty").mkdir() or p / "empty", "is not a run folder"),
    (lambda p: (p / "file.txt").write_text("x") and p / "file.txt", "is a file, not a run folder"),
])
def test_not_a_run_folder(tmp_path, capsys, make, message):
    assert main(["report", str(make(tmp_path))]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: report: ") and message in err
