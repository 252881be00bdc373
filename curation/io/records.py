"""JSONL as an Arrow table for the column tools (`curate dedup`, `curate filter`, `tokenize`, ...), without
letting one bad line cost the file: lines that are not JSON objects, or longer than the limit, are counted
and left out; a byte-order mark, CRLF, lone surrogate escapes and integers over 64 bits are accepted; a
column whose rows disagree on their type (a number here, a string there) is kept as text."""

from __future__ import annotations

import json
import re
import zlib
from collections import Counter

import orjson
from datatrove.utils.logging import logger

MAX_LINE_BYTES = 64 * 2**20
_SURROGATE = re.compile("[\ud800-\udfff]")


def parse_json_line(line: bytes):
    """One JSON line -> its value; None when it is not JSON. Lone surrogates become U+FFFD."""
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError:
        pass
    try:
        value = json.loads(line.decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    return _scrub(value)


def _scrub(value):
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {_scrub(k): _scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value


def _column(values: list):
    import pyarrow as pa

    kinds = {type(v) for v in values if v is not None}
    if kinds <= {str}:
        return pa.array(values, pa.string())
    if kinds <= {bool}:
        return pa.array(values, pa.bool_())
    if kinds <= {int} and all(v is None or -2**63 <= v < 2**63 for v in values):
        return pa.array(values, pa.int64())
    if kinds <= {int, float} and all(v is None or isinstance(v, float) or abs(v) < 2**53 for v in values):
        return pa.array([None if v is None else float(v) for v in values], pa.float64())
    # mixed or nested: as text (JSON for objects and lists), so every row keeps its value
    return pa.array([v if v is None or isinstance(v, str) else orjson.dumps(v, option=orjson.OPT_NON_STR_KEYS).decode()
                     if not isinstance(v, int) or abs(v) < 2**63 else str(v) for v in values], pa.string())


def read_jsonl_table(path: str, columns: list[str] | None = None):
    """The JSON objects of a JSONL file (plain, gzip, zstd or bzip2, local or remote) as one Arrow table."""
    import pyarrow as pa

    from curation.io.streams import iter_lines, open_text_source

    rows, problems = [], Counter()
    try:
        with open_text_source(path) as f:
            for i, line in enumerate(iter_lines(f, MAX_LINE_BYTES, lambda: problems.update(["too_large"]))):
                if i == 0 and line.startswith(b"\xef\xbb\xbf"):
                    line = line[3:]
                if not line.strip():
                    continue
                row = parse_json_line(line)
                if not isinstance(row, dict):
                    problems["bad_json" if row is None else "not_an_object"] += 1
                    continue
                rows.append(row)
    except (OSError, EOFError, zlib.error) as e:  # a compressed file cut short: the lines before it are kept
        logger.warning(f"{path}: cannot read past line {len(rows) + sum(problems.values())} "
                       f"({' '.join(str(e).split()) or type(e).__name__}); keeping the rows before it")
    if problems:
        logger.warning(f"{path}: skipped " + ", ".join(f"{n} {why}" for why, n in problems.items()) + " lines")
    names = list(dict.fromkeys(k for row in rows for k in row))
    if columns:
        names = [c for c in names if c in columns]
    arrays = [_column([row.get(name) for row in rows]) for name in names]
    return pa.Table.from_arrays(arrays, names=[str(n) for n in names]) if names else pa.table({})
