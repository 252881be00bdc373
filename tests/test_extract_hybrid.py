"""The hybrid extraction engine on pages the tests build: main text kept, chrome dropped, bad HTML handled,
and `engine: hybrid` through `curate run`."""

import json

import pytest

from curation.cli import main
from curation.core import CurationError, Document
from curation.io.extract import Extract
from curation.io.extract_hybrid import blocks_of, features, hybrid_text, load_model, minimal_html, n_features

ARTICLE = [
    ("The river had been rising for three days before the town council met to decide whether the old bridge "
     "should be closed to traffic, and by then most of the farmers had already moved their animals uphill."),
    ("Engineers who inspected the structure on Tuesday found that two of the stone piers had shifted by several "
     "centimetres, which they said was enough to make the crossing unsafe for heavy vehicles."),
    ("The mayor told residents at a crowded meeting that a temporary footbridge would be built within a month, "
     "while the regional government considers whether to repair the bridge or replace it entirely."),
    ("Shopkeepers on the eastern bank worry that the closure will cut them off from their customers, since the "
     "nearest other crossing is a forty-minute drive away along a narrow mountain road."),
]
NAV = ["Home", "News", "Sport", "Weather", "Business", "Contact us"]
CRUMBS = ["Home", "Regional", "Valley"]
TAGS = ["flood", "bridges", "river-valley", "council"]
FOOTER = ["Privacy policy", "Terms of use", "Cookie settings", "Advertise with us"]


def page(article=ARTICLE) -> str:
    nav = "".join(f'<li><a href="/{w.lower().replace(" ", "-")}">{w}</a></li>' for w in NAV)
    foot = "".join(f'<li><a href="/{w.lower().replace(" ", "-")}">{w}</a></li>' for w in FOOTER)
    related = "".join(f'<li><a href="/story/{i}">Another story about the valley number {i}</a></li>'
                      for i in range(6))
    paras = "".join(f"<p>{p}</p>" for p in article)
    crumbs = "".join(f'<li><a href="/{w.lower()}">{w}</a></li>' for w in CRUMBS)
    tags = ", ".join(f'<a href="/tag/{w}">{w}</a>' for w in TAGS)
    return f"""<!DOCTYPE html><html><head><title>Bridge closed</title></head><body>
<header><a href="/">The Valley Times</a><nav><ul>{nav}</ul></nav></header>
<main><article><ul>{crumbs}</ul><h1>Old bridge closed as the river rises</h1>
<div class="share"><a href="https://x.com/share">Share on X</a> <a href="https://facebook.com/share">Facebook</a>
<a href="mailto:?">Email</a></div>
{paras}
<p>Tags: {tags}</p>
<h2>Related stories</h2><ul>{related}</ul></article></main>
<footer><ul>{foot}</ul><p>© 2026 The Valley Times. All rights reserved.</p></footer></body></html>"""


def test_model_ships_and_matches_the_features():
    model = load_model()
    assert model.mean.shape == (n_features(),)
    assert model.layers[0][0].shape[0] == n_features()
    assert 0.0 < model.threshold < 1.0


def test_keeps_main_text_and_drops_chrome():
    text = hybrid_text(page())
    assert text is not None
    for p in ARTICLE:
        assert p in text
    lines = set(text.split("\n"))
    for chrome in NAV + FOOTER + CRUMBS + ["Share on X", "Facebook", "Email", "The Valley Times"]:
        assert chrome not in lines and f"- {chrome}" not in lines, chrome
    assert "All rights reserved" not in text and "river-valley" not in text


def test_blocks_carry_link_density_and_tags():
    blocks = blocks_of(minimal_html(page()))
    by_text = {b.text: b for b in blocks}
    assert by_text[ARTICLE[0]].tag == "p" and by_text[ARTICLE[0]].link_chars == 0
    brand = by_text["The Valley Times"]
    assert brand.tag == "" and brand.link_chars == len(brand.text)
    tags = next(b for b in blocks if b.text.startswith("Tags:"))
    assert 0 < tags.link_chars < len(tags.text)
    x = features(blocks)
    assert x.shape == (len(blocks), n_features())


@pytest.mark.parametrize("html", ["", "   ", "<html></html>", "<<<>>>&&&", "<p>", "\x00\x01binary\xff",
                                  "<div>" * 5000 + "deep" + "</div>" * 5000])
def test_bad_or_empty_html_is_a_reason_not_a_crash(html):
    stage = Extract(engine="hybrid")
    doc = Document(text=html, id="x", metadata={"content_type": "text/html"})
    result = stage.filter(doc)
    assert result is True or result in ("no_text", "html_too_deep", "extract_error")


def test_text_documents_pass_through_and_unknown_engine_is_refused():
    stage = Extract(engine="hybrid")
    doc = Document(text="already text", id="t", metadata={"content_type": "text/plain"})
    assert stage.filter(doc) is True and doc.text == "already text"
    with pytest.raises(CurationError, match="unknown engine 'fast'"):
        Extract(engine="fast")


def test_curate_run_with_engine_hybrid(tmp_path):
    pages = tmp_path / "pages"
    pages.mkdir()
    other = [p.replace("bridge", "ferry").replace("river", "lake") for p in ARTICLE]
    (pages / "a.html").write_text(page())
    (pages / "b.html").write_text(page(other))
    (pages / "empty.html").write_text("<html><body></body></html>")
    out = tmp_path / "out"
    manifest = tmp_path / "m.yml"
    manifest.write_text(f"""name: hybrid-check
input: {{paths: ["{pages}"]}}
output: {{path: "{out}"}}
executor: {{kind: local, tasks: 1}}
stages:
  - stage: extract
    engine: hybrid
  - stage: write
""")
    assert main(["run", str(manifest), "--no-progress"]) == 0
    import polars as pl

    files = [p for p in out.rglob("*.parquet") if not any(part.startswith("_") for part in p.parts)]
    df = pl.concat([pl.read_parquet(f) for f in files])
    texts = dict(zip([i.rsplit("/", 1)[-1] for i in df["id"]], df["text"]))
    assert set(texts) == {"a.html", "b.html"}
    assert ARTICLE[1] in texts["a.html"] and other[1] in texts["b.html"]
    assert "Privacy policy" not in texts["a.html"]
    stats = json.loads((out / "stats.json").read_text())
    assert "no_text" in json.dumps(stats)


def test_cascade_sends_pages_with_little_main_text_to_trafilatura():
    from trafilatura.meta import reset_caches

    from curation.io.extract import trafilatura_text

    model = load_model()
    assert model.cascade["signal"] == "R"
    short, long = page(), page(ARTICLE * 3)
    reset_caches()
    expected = trafilatura_text(short)
    reset_caches()
    assert hybrid_text(short, cascade=True) == expected != hybrid_text(short)
    assert hybrid_text(long, cascade=True) == hybrid_text(long)  # enough main text: the classifier's output
    stage = Extract(engine="hybrid", cascade=True)
    doc = Document(text=long, id="c", metadata={"content_type": "text/html"})
    assert stage.filter(doc) is True and ARTICLE[2] in doc.text
