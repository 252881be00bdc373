"""One `curate crawl sync` per ledger at a time: an exclusive, non-blocking `flock` on `<ledger>.lock`.

The kernel releases the lock when its holder dies (even by SIGKILL), so a crashed sync never blocks the next
one; the file itself only tells a second sync who holds it (pid, host, start time)."""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time

from curation.core import CurationError

EXIT_LOCKED = 75  # EX_TEMPFAIL: try again later (cron and systemd just run it again next time)


class SyncLocked(CurationError):
    """Another sync holds the ledger."""

    exit_code = EXIT_LOCKED


class SyncLock:
    def __init__(self, path: str):
        self.path = path
        self._fd: int | None = None

    def __enter__(self) -> SyncLock:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = _describe(os.read(fd, 4096))
            os.close(fd)
            raise SyncLocked(f"another `curate crawl sync` is running on this ledger ({holder}; lock {self.path}); "
                             "this one exits without doing anything") from None
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


def _describe(raw: bytes) -> str:
    try:
        h = json.loads(raw)
        return f"pid {h['pid']} on {h['host']}, started {h['started']}"
    except (ValueError, KeyError, TypeError):
        return "holder still starting"


def holder(path: str) -> str | None:
    """Who holds the lock now ("pid .. on .., started .."), or None when no sync runs."""
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
