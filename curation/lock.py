"""One writer at a time: an exclusive, non-blocking `flock` on a lock file (`curate crawl sync` on
`<ledger>.lock`, `curate run` on `.<output>.lock` beside its output folder).

The kernel releases the lock when its holder dies (even by SIGKILL), so a crashed run never blocks the next
one; the file itself only tells a second one who holds it (pid, host, start time)."""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time

from curation.core import CurationError

EXIT_LOCKED = 75  # EX_TEMPFAIL: try again later (cron and systemd just run it again next time)


class Locked(CurationError):
    """Another process holds the lock (a second cron trigger, say): this one did nothing."""

    exit_code = EXIT_LOCKED


class ExclusiveLock:
    """`with ExclusiveLock(path, busy):` raises Locked, starting with `busy`, while another process holds it."""

    def __init__(self, path: str | os.PathLike, busy: str):
        self.path, self.busy = str(path), busy
        self._fd: int | None = None

    def __enter__(self) -> ExclusiveLock:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = _holder(fd)
            os.close(fd)
            raise Locked(f"{self.busy} ({holder}; lock {self.path}); this one exits without doing anything") from None
        started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "started": started}).encode(), 0)
        self._fd = fd
        return self

    def __exit__(self, *exc) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def _holder(fd: int, wait: float = 1.0) -> str:
    """Who holds the lock, read from the file. A holder writes this just after taking the lock: a second process
    started at the same moment can find the file still empty, so it reads again for up to `wait` seconds."""
    deadline = time.monotonic() + wait
    while True:
        raw = os.pread(fd, 4096, 0)
        if raw or time.monotonic() >= deadline:
            return _describe(raw)
        time.sleep(0.01)


def _describe(raw: bytes) -> str:
    try:
        h = json.loads(raw)
        return f"pid {h['pid']} on {h['host']}, started {h['started']}"
    except (ValueError, KeyError, TypeError):
        return "holder still starting"


def holder(path: str) -> str | None:
    """Who holds the lock now ("pid .. on .., started .."), or None when nobody does."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return _describe(os.read(fd, 4096))
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)
