"""The `curate` command: argparse and printing only, one module per command group."""

from curation.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
