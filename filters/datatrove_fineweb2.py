"""datatrove's three quality filters configured exactly as FineWeb2's pipeline configures them (its step 5):
the peer that tests and benchmarks hold the `quality` stage against.

    GopherRepetitionFilter(dup_para_frac=0, dup_line_char_frac=0, dup_para_char_frac=0, dup_line_frac, top_n_grams,
                           dup_n_grams)
    FineWebQualityFilter(short_line_thr=999, char_duplicates_ratio=0.1, line_punct_thr, new_line_ratio)
    GopherQualityFilter(max/min_avg_word_length, stop_words, max_non_alpha_words_ratio, min_stop_words=2)
"""

from __future__ import annotations

from contextlib import contextmanager
from functools import lru_cache

from datatrove.data import Document
from datatrove.pipeline.filters import FineWebQualityFilter, GopherQualityFilter, GopherRepetitionFilter

from filters.config import LanguageConfig


def fineweb2_filters(language: str, cfg: LanguageConfig) -> list:
    """The three filters, in FineWeb2's order, with `cfg`'s values where FineWeb2 takes them from the config."""
    return [
        GopherRepetitionFilter(language=language, dup_para_frac=0, dup_line_char_frac=0, dup_para_char_frac=0,
                               dup_line_frac=cfg.dup_line_frac, top_n_grams=tuple(cfg.top_n_grams),
                               dup_n_grams=tuple(cfg.dup_n_grams)),
        FineWebQualityFilter(language=language, short_line_thr=999, char_duplicates_ratio=0.1,
                             line_punct_thr=cfg.line_punct_thr, new_line_ratio=cfg.new_line_ratio),
        GopherQualityFilter(language=language, max_avg_word_length=cfg.max_avg_word_length,
                            min_avg_word_length=cfg.min_avg_word_length, stop_words=cfg.stopwords,
                            max_non_alpha_words_ratio=cfg.max_non_alpha_words_ratio, min_stop_words=2),
    ]


@contextmanager
def _words_once():
    """The three filters each split the same text into words (datatrove's full spaCy call, ~25 ms a page):
    within one document the split is computed once and handed to all three. Same words, a third of the time."""
    import datatrove.pipeline.filters.fineweb_quality_filter as fq
    import datatrove.pipeline.filters.gopher_quality_filter as gq
    import datatrove.pipeline.filters.gopher_repetition_filter as gr

    original = gr.split_into_words
    cached = lru_cache(maxsize=2)(lambda text, language: original(text, language))
    for module in (gr, fq, gq):
        module.split_into_words = cached
    try:
        yield
    finally:
        for module in (gr, fq, gq):
            module.split_into_words = original


def fineweb2_reason(text: str, filters: list) -> str | None:
    """The first filter's reason for removing `text`, or None when all three keep it."""
    doc = Document(text=text, id="0")
    with _words_once():
        for f in filters:
            try:
                result = f.filter(doc)
            except ZeroDivisionError:  # a document without words or lines: datatrove fails where we say "empty"
                return "empty"
            if result is not True:
                return result[1] if isinstance(result, tuple) else "removed"
    return None
