"""Ctrl-C during a run: only the main process stops. The terminal sends SIGINT to every process of the
run; forked workers ignore it (the main process's pool terminates them), so the run ends with one message
saying how to resume instead of a traceback per worker. Nothing is marked finished that did not finish."""

from __future__ import annotations

import os
import shlex
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def main_process_handles_sigint() -> Iterator[None]:
    main = os.getpid()

    def on_sigint(signum, frame):
        if os.getpid() == main:
            raise KeyboardInterrupt
        # a forked worker: keep going until the main process terminates the pool

    try:
        previous = signal.signal(signal.SIGINT, on_sigint)
    except ValueError:  # not the main thread: leave Ctrl-C as it is
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def resume_command(argv: list[str], drop: tuple[str, ...] = ("--overwrite",)) -> str:
    """The command line that resumes this run: the same one, less the options that would discard the work
    done so far (`--overwrite`)."""
    prog = "curate" if Path(sys.argv[0]).name == "curate" else f"{Path(sys.executable).name} -m curation.cli"
    return f"{prog} {shlex.join(a for a in argv if a not in drop)}"
