"""Formatting as FineWeb2 does it: ftfy, PII (emails and public IPs replaced), and removal of the lines made
only of symbols that trafilatura leaves from tables. datatrove's formatters do the work."""

from __future__ import annotations

from datatrove.pipeline.formatters import FTFYFormatter, PIIFormatter, SymbolLinesFormatter

from curation.core import Document, Filter, register_stage


@register_stage("format")
class Format(Filter):
    """Fix text in place; a document left empty by formatting is removed.

    Args:
        ftfy: fix mojibake and other Unicode damage
        pii: replace email addresses and public IP addresses
        symbol_lines: drop lines made only of symbols (trafilatura table artifacts)
    """

    name = "✍ Format"

    def __init__(self, ftfy: bool = True, pii: bool = True, symbol_lines: bool = True):
        super().__init__()
        steps = ((FTFYFormatter(), ftfy), (PIIFormatter(), pii), (SymbolLinesFormatter(), symbol_lines))
        self.steps = [s for s, on in steps if on]

    def filter(self, doc: Document):
        text = doc.text
        for step in self.steps:
            text = step.format(text)
        if not text.strip():
            return "empty_after_format"
        if text != doc.text:
            self.stat_update("modified")
        doc.text = text
        return True
