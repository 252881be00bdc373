"""How `curate run` stops early (Ctrl-C, a full disk, any error): cleanly, and saying how to go on.

Ctrl-C makes the terminal send SIGINT to every process of the run; forked workers ignore it and only the
main process stops (its pool then terminates the workers), so the run ends with one message giving the
command that resumes it instead of a traceback per worker. Whatever way a local run stops, the temporary
files of its unfinished tasks are removed, and no task that did not finish is marked finished.
"""

from __future__ import annotations

import os
import shlex
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from curation.atomic import DISK_FULL, remove_temp_files, write_error
from curation.safe_output import run_folder


@dataclass
class Outcome:
    interrupted: bool = False


@contextmanager
def stopped_run_handling(output: str, argv: list[str], local: bool = True) -> Iterator[Outcome]:
    """Around a run: Ctrl-C ends it with the resume command printed (`outcome.interrupted`), a full disk
    with a CurationError naming the output."""
    outcome = Outcome()
    with _main_process_handles_sigint():
        try:
            yield outcome
        except BaseException as e:
            if local and run_folder(output):  # the stopped workers' unfinished files (they are not running)
                remove_temp_files(output)
            if isinstance(e, KeyboardInterrupt):
                print(f"\ninterrupted: finished tasks are kept in {output}; to resume, run:\n"
                      f"  {resume_command(argv)}", file=sys.stderr)
                outcome.interrupted = True
                return
            if isinstance(e, OSError) and e.errno in DISK_FULL:  # datatrove's own files: logs, markers
                raise write_error(e.filename or output, e) from None
            raise


@contextmanager
def _main_process_handles_sigint() -> Iterator[None]:
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
