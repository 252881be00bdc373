"""Common Crawl's crawl index: `collinfo.json` (the snapshots) and each snapshot's `warc.paths.gz` /
`wet.paths.gz` (its files), read from the public URLs or from any mirror (a local folder or fsspec URL laid
out the same way: `collinfo.json` beside `crawl-data/<snapshot>/<kind>.paths.gz`).

HTTP(S) is read with urllib (no extra dependency, a timeout, and errors that name the URL); everything else
through fsspec."""

from __future__ import annotations

import fnmatch
import gzip
import json
import urllib.error
import urllib.request
from dataclasses import dataclass

import fsspec

from curation.core import CurationError
from curation.crawl.spec import PUBLIC_DATA, PUBLIC_INDEX, CrawlSpec

TIMEOUT_S = 60
USER_AGENT = "curation (curate crawl; https://commoncrawl.org/terms-of-use)"


class IndexUnreachable(CurationError):
    """The crawl index (or a paths file) could not be read."""


@dataclass(frozen=True)
class Snapshot:
    id: str  # CC-MAIN-2024-10
    name: str = ""  # "February/March 2024 Index"
    start: str = ""  # crawl start (ISO time), orders the snapshots
    end: str = ""

    @property
    def order(self) -> tuple:
        return (self.start or "", self.id)


@dataclass(frozen=True)
class Location:
    """Where the index and the data live."""

    collinfo: str  # URL of collinfo.json
    data: str  # base URL of crawl-data/...

    def paths_url(self, snapshot: str, kind: str) -> str:
        return join(self.data, f"crawl-data/{snapshot}/{kind}.paths.gz")

    def file_url(self, path: str) -> str:
        """A paths-file entry (relative to the data root, as Common Crawl writes them) as a URL to read."""
        return path if "://" in path or path.startswith("/") else join(self.data, path)


def join(base: str, rel: str) -> str:
    return base.rstrip("/") + "/" + rel.lstrip("/")


def locate(index_url: str | None = None, data_url: str | None = None) -> Location:
    """`index_url`: collinfo.json itself or a folder (mirror) holding it; the data root defaults to Common
    Crawl's for the public index and to the mirror's folder otherwise."""
    index_url = index_url or PUBLIC_INDEX
    if index_url.rstrip("/").endswith(".json"):
        collinfo = index_url
        folder = index_url.rsplit("/", 1)[0] if "/" in index_url else "."
    else:
        collinfo, folder = join(index_url, "collinfo.json"), index_url
    if data_url is None:
        data_url = PUBLIC_DATA if collinfo == PUBLIC_INDEX else folder
    return Location(collinfo, data_url)


def spec_location(spec: CrawlSpec, index_url: str | None = None, data_url: str | None = None) -> Location:
    """The manifest's index and data URLs, with command-line options replacing them."""
    if index_url:
        return locate(index_url, data_url)
    return locate(spec.index_url, data_url or spec.data_url)


def read_bytes(url: str, what: str = "crawl index") -> bytes:
    """The whole file at `url`; IndexUnreachable naming the URL when it cannot be read."""
    try:
        if url.startswith(("http://", "https://")):
            req = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
            with urllib.request.urlopen(req, timeout=TIMEOUT_S) as r:
                return r.read()
        with fsspec.open(url, "rb") as f:
            return f.read()
    except urllib.error.HTTPError as e:
        reason = f"HTTP {e.code} {e.reason}"
    except urllib.error.URLError as e:
        reason = str(e.reason)
    except FileNotFoundError:
        reason = "no such file"
    except (OSError, ValueError, ImportError) as e:  # timeouts, refused connections, unknown protocols
        reason = str(e) or type(e).__name__
    raise IndexUnreachable(f"{what} {url}: cannot be read ({reason})")


def missing(url: str) -> str | None:
    """Why an input file cannot be processed (None when it is there); checked before a batch runs, so a
    missing file fails alone."""
    try:
        fs, path = fsspec.core.url_to_fs(url)
        return None if fs.exists(path) else f"no such file: {url}"
    except (OSError, ValueError, ImportError) as e:
        return f"cannot reach {url}: {e or type(e).__name__}"


def read_snapshots(location: Location) -> list[Snapshot]:
    """The snapshots in collinfo.json, oldest first."""
    raw = read_bytes(location.collinfo)
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as e:
        raise CurationError(f"crawl index {location.collinfo}: not JSON ({e})") from None
    if not isinstance(data, list) or not all(isinstance(d, dict) and isinstance(d.get("id"), str) for d in data):
        raise CurationError(f"crawl index {location.collinfo}: not a Common Crawl collinfo.json "
                            "(expected a list of {\"id\": \"CC-MAIN-...\", \"name\", \"from\", \"to\"})")
    snaps = {d["id"]: Snapshot(d["id"], str(d.get("name") or ""), str(d.get("from") or ""), str(d.get("to") or ""))
             for d in data}
    return sorted(snaps.values(), key=lambda s: s.order)


def select(snapshots: list[Snapshot], patterns: list[str], since: str | None = None) -> list[Snapshot]:
    """The snapshots matching any of `patterns` (ids or globs), from `since` on; oldest first."""
    chosen = [s for s in snapshots if any(fnmatch.fnmatchcase(s.id, p) for p in patterns)]
    if since is not None:
        first = next((s for s in snapshots if s.id == since), None)
        if first is None:
            raise CurationError(f"crawl.since: snapshot '{since}' is not in the crawl index")
        chosen = [s for s in chosen if s.order >= first.order]
    return chosen


def read_paths(location: Location, snapshot: str, kind: str) -> list[str]:
    """The files of one snapshot, in the order of its paths file."""
    url = location.paths_url(snapshot, kind)
    raw = read_bytes(url, what=f"{kind} paths file")
    try:
        text = gzip.decompress(raw).decode("utf-8") if raw[:2] == b"\x1f\x8b" else raw.decode("utf-8")
    except (OSError, EOFError, UnicodeDecodeError) as e:
        raise CurationError(f"{kind} paths file {url}: not a gzip list of paths ({e})") from None
    return [line.strip() for line in text.splitlines() if line.strip()]
