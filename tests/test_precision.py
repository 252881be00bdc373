"""The precision filter (issue 4, FineWeb2 step 7): wordlists from a labelled corpus, URL whitelists."""

import json

import pytest
from datatrove.data import Document

from curation.cli import main
from curation.core import CurationError
from filters.precision import PrecisionFilter, derive_wordlists, url_pattern


def split(_lang):
    return str.split


def test_wordlists_keep_words_seen_mostly_in_one_language():
    texts = ["kuća je velika"] * 9 + ["kuća"] + ["кућа је велика"] * 5 + ["je velika"] * 6
    labels = ["hrv_Latn"] * 9 + ["bos_Latn"] + ["srp_Cyrl"] * 5 + ["bos_Latn"] * 6
    lists = derive_wordlists(texts, labels, split)
    # kuća: 9 of 10 in Croatian (>= 85%); je, velika: 9 of 15 (60%): nobody's
    assert lists["hrv_Latn"] == ["kuća"]
    assert lists["srp_Cyrl"] == sorted(["велика", "је", "кућа"])
    assert "bos_Latn" not in lists
    assert derive_wordlists(texts, labels, split, min_count=20) == {}


def test_url_patterns():
    rx = url_pattern("hrv_Latn", [r"\.hr/"])
    assert rx.search("https://hrv.example.org/x") and rx.search("https://site.org/hrv/news")
    assert rx.search("https://site.org/page?lang=hrv") and rx.search("https://novine.hr/clanak")
    assert not rx.search("https://site.org/shrvat/x") and not rx.search("https://example.com/news")


def _doc(text, lang, url=""):
    return Document(text=text, id=text[:10], metadata={"language": lang, "url": url})


def test_stage_keeps_only_documents_with_evidence(tmp_path):
    (tmp_path / "hrv_Latn.txt").write_text("kuća\nvelika\n")
    (tmp_path / "hrv_Latn.urls").write_text(r"\.hr/" + "\n")
    stage = PrecisionFilter(str(tmp_path))
    docs = [_doc("Ova kuća je lijepa", "hrv_Latn"),          # a wordlist word
            _doc("Ovo je nešto drugo", "hrv_Latn", "https://vijesti.hr/a"),  # the URL
            _doc("Ovo je nešto drugo", "hrv_Latn", "https://example.com/a"),  # neither: removed
            _doc("Anything at all", "eng_Latn")]              # a language without a wordlist passes
    kept = list(stage.run(iter(docs)))
    assert [d.metadata.get("url", "") for d in kept] == ["", "https://vijesti.hr/a", ""]
    assert stage.stats["lang/hrv_Latn/removed/precision_no_evidence"].total == 1


def test_stage_bad_configuration(tmp_path):
    with pytest.raises(CurationError, match="wordlist folder not found"):
        PrecisionFilter(str(tmp_path / "nope"))
    (tmp_path / "hrv_Latn.txt").write_text("kuća\n")
    with pytest.raises(CurationError, match="no wordlist for srp_Cyrl"):
        PrecisionFilter(str(tmp_path), languages=["srp_Cyrl"])
    (tmp_path / "hrv_Latn.urls").write_text("([unclosed\n")
    with pytest.raises(CurationError, match="not a regular expression"):
        PrecisionFilter(str(tmp_path))


def test_wordlists_command(tmp_path, capsys):
    rows = [{"text": "kuća je velika", "label": "hrv_Latn"}] * 5 + [{"text": "the house is big", "label": "eng"}] * 5
    data = tmp_path / "labelled.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert main(["langid", "wordlists", "--data", str(data), "-o", str(tmp_path / "wl"),
                 "--languages", "hrv_Latn"]) == 0
    assert (tmp_path / "wl" / "hrv_Latn.txt").read_text().split() == ["je", "kuća", "velika"]
    assert "//hr[.-]" in (tmp_path / "wl" / "hrv_Latn.urls").read_text()
    assert not (tmp_path / "wl" / "eng_Latn.txt").exists()
