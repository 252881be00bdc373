"""No input makes a `curate` command print a Python traceback: an unexpected exception becomes one line that
names the command, its input and the problem, with the way to see the traceback (`CURATE_DEBUG=1`), both in
the command itself and in what the pipeline's tasks log on the console."""

from __future__ import annotations

import os

DEBUG_ENV = "CURATE_DEBUG"


def debug() -> bool:
    """Whether tracebacks are wanted (CURATE_DEBUG set to anything but 0 or empty)."""
    return os.environ.get(DEBUG_ENV, "") not in ("", "0")


def one_line(e: BaseException, limit: int = 400) -> str:
    """An exception as `Type: message` on one line."""
    text = " ".join(str(e).split())
    if len(text) > limit:
        text = text[:limit] + "..."
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


def _subject(args) -> str:
    for name in ("input", "manifest", "inputs", "folder", "output"):
        value = getattr(args, name, None)
        if value:
            return " ".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)
    return ""


def unexpected(e: BaseException, args) -> str:
    """The line `curate` prints for an exception nobody anticipated."""
    command = " ".join(str(c) for c in (getattr(args, "command", None), getattr(args, "subcommand", None)) if c)
    on = _subject(args)
    return (f"error: `curate {command}`" + (f" on {on}" if on else "") + f" failed: {one_line(e)} "
            f"(a bug or an input it does not expect; run again with {DEBUG_ENV}=1 to see the traceback)")


def console_format(record) -> str:
    """loguru format for the console: a logged exception is one line unless CURATE_DEBUG is set."""
    exc = record["exception"]
    if exc is None or exc.type is None:
        return "{level}: {message}\n"
    if debug():
        return "{level}: {message}\n{exception}"
    record["extra"]["exception_line"] = one_line(exc.value)
    record["extra"]["debug_hint"] = f"; {DEBUG_ENV}=1 shows the traceback"
    return "{level}: {message} ({extra[exception_line]}{extra[debug_hint]})\n"
