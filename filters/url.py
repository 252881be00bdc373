"""URL filtering with block lists: datatrove's URLFilter (its bundled UT1 lists and banned words, FineWeb's
soft-word threshold of 2) plus the user's own lists given as files (one domain, URL or word per line)."""

from __future__ import annotations

from datatrove.pipeline.filters import URLFilter as DatatroveURLFilter

from curation.core import CurationError, Document, Filter, register_stage


def _read_list(path: str | None, what: str) -> list[str]:
    if not path:
        return []
    import fsspec

    try:
        with fsspec.open(path, "rt", encoding="utf-8", compression="infer") as f:
            return [line.strip() for line in f if line.strip() and not line.startswith("#")]
    except (OSError, UnicodeDecodeError) as e:
        raise CurationError(f"url_filter {what} list '{path}': cannot read ({e})") from None


@register_stage("url_filter")
class UrlFilter(Filter):
    """Remove documents whose URL is on a block list or carries banned words.

    Args:
        blocked_domains: file of domains to block
        blocked_urls: file of exact URLs to block
        banned_words: file of words that block a URL when they appear as a URL word
        soft_banned_words: file of words of which `soft_word_threshold` in one URL block it
        soft_word_threshold: how many soft-banned words block a URL
        use_integrated_lists: also use datatrove's bundled lists (UT1 adult blocklist, banned words)
    """

    name = "😈 URL filter"

    def __init__(self, blocked_domains: str | None = None, blocked_urls: str | None = None,
                 banned_words: str | None = None, soft_banned_words: str | None = None,
                 soft_word_threshold: int = 2, use_integrated_lists: bool = True):
        super().__init__()
        self.inner = DatatroveURLFilter(
            soft_word_threshold=soft_word_threshold,
            extra_domains=_read_list(blocked_domains, "domain"),
            extra_urls=_read_list(blocked_urls, "URL"),
            banned_words=_read_list(banned_words, "banned word"),
            soft_banned_words=_read_list(soft_banned_words, "soft-banned word"),
            use_integrated_lists=use_integrated_lists,
        )
        from tldextract import TLDExtract

        # the bundled public-suffix snapshot: no network at run time
        self.inner.tldextractor = TLDExtract(suffix_list_urls=(), cache_dir=None)

    def filter(self, doc: Document):
        if not doc.metadata.get("url"):
            return True
        result = self.inner.filter(doc)
        return result if result is True else f"url_{result[1]}"
