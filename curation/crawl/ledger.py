"""The crawl ledger: a SQLite file recording the snapshots, their input files, each file's state (pending,
running, done, failed with the error), the batches (runs of the pipeline) and their document counts and output.

Every change of state is one transaction, and a batch's files become `done` in the same transaction that
records its finished output, so a crash leaves either the old state or the new one. Files left `running` by a
killed sync are found by the next sync (which holds the lock, so nothing else can be running) and redone.
A ledger written by a newer version (a higher schema version) is refused rather than misread."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from curation.core import CurationError

SCHEMA_VERSION = 1
STATES = ("pending", "running", "done", "failed")

_SCHEMA = """
CREATE TABLE schema_version (version INTEGER NOT NULL, written_by TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE snapshots (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL DEFAULT '',
    start TEXT NOT NULL DEFAULT '',
    kind TEXT,
    files INTEGER,                -- entries in the paths file (NULL until it was read)
    listed_at TEXT,
    error TEXT                    -- why the paths file could not be read
);
CREATE TABLE batches (
    id INTEGER PRIMARY KEY,
    snapshot TEXT NOT NULL REFERENCES snapshots(id),
    output TEXT,
    state TEXT NOT NULL CHECK (state IN ('running', 'done', 'failed', 'abandoned')),
    documents INTEGER,            -- read
    written INTEGER,              -- kept and written
    error TEXT,
    pid INTEGER,
    started_at TEXT NOT NULL,
    finished_at TEXT
);
CREATE TABLE files (
    id INTEGER PRIMARY KEY,
    snapshot TEXT NOT NULL REFERENCES snapshots(id),
    seq INTEGER NOT NULL,         -- position in the paths file
    path TEXT NOT NULL,           -- as the paths file lists it
    url TEXT NOT NULL,            -- where it is read from
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'running', 'done', 'failed')),
    error TEXT,
    batch INTEGER REFERENCES batches(id),
    attempts INTEGER NOT NULL DEFAULT 0,
    started_at TEXT,
    finished_at TEXT,
    UNIQUE (snapshot, path)
);
CREATE INDEX files_todo ON files (snapshot, state, seq);
CREATE INDEX files_batch ON files (batch);
"""


class LedgerError(CurationError):
    pass


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("curation")
    except PackageNotFoundError:
        return "unknown"


def now() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())


@dataclass(frozen=True)
class FileRow:
    id: int
    snapshot: str
    seq: int
    path: str
    url: str
    state: str


class Ledger:
    """Open (or, with `create`, make) a ledger; LedgerError when it is not one or is from a newer version."""

    def __init__(self, path: str | Path, create: bool = True):
        self.path = Path(path)
        if not create and not self.path.exists():
            raise LedgerError(f"ledger {self.path}: does not exist yet (`curate crawl sync MANIFEST` creates it)")
        if create:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        # an existing ledger opens read-write even to read it, so SQLite can roll back a killed writer's journal
        uri = self.path.resolve().as_uri() + ("" if create else "?mode=rw")
        try:
            self.db = sqlite3.connect(uri, uri=True, timeout=30, isolation_level=None)
            self.db.row_factory = sqlite3.Row
            self.db.execute("PRAGMA foreign_keys = ON")
            self.version = self._check_version(create)
        except sqlite3.OperationalError as e:  # locked, unreadable, read-only file system
            raise LedgerError(f"ledger {self.path}: cannot be opened ({e})") from None
        except sqlite3.DatabaseError as e:
            raise LedgerError(f"ledger {self.path}: not a crawl ledger ({e})") from None

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _check_version(self, create: bool) -> int:
        tables = {r[0] for r in self.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "schema_version" not in tables:
            if tables:
                raise LedgerError(f"ledger {self.path}: a SQLite file, but not a crawl ledger "
                                  f"(tables {', '.join(sorted(tables))}); give another ledger path")
            if not create:
                raise LedgerError(f"ledger {self.path}: empty (`curate crawl sync MANIFEST` fills it)")
            with self.transaction():
                for statement in filter(str.strip, _SCHEMA.split(";")):
                    self.db.execute(statement)
                self.db.execute("INSERT INTO schema_version VALUES (?, ?, ?)",
                                (SCHEMA_VERSION, f"curation {_version()}", now()))
            return SCHEMA_VERSION
        row = self.db.execute("SELECT version, written_by FROM schema_version ORDER BY version DESC LIMIT 1").fetchone()
        if row is None:
            raise LedgerError(f"ledger {self.path}: has no schema version (damaged?)")
        if row["version"] > SCHEMA_VERSION:
            raise LedgerError(f"ledger {self.path}: written by a newer version ({row['written_by']}, ledger schema "
                              f"v{row['version']}); this version reads schema v{SCHEMA_VERSION} at most. Upgrade "
                              "curation, or give another ledger path; the ledger was left as it is")
        return row["version"]

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE .. COMMIT, rolled back on any error."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # ------------------------------------------------------------------------------------------- snapshots

    def add_snapshots(self, snapshots) -> None:
        with self.transaction() as db:
            db.executemany("INSERT INTO snapshots (id, name, start) VALUES (?, ?, ?) "
                           "ON CONFLICT(id) DO UPDATE SET name = excluded.name, start = excluded.start",
                           [(s.id, s.name, s.start) for s in snapshots])

    def listed(self, snapshot: str, kind: str) -> bool:
        row = self.db.execute("SELECT files, kind FROM snapshots WHERE id = ?", (snapshot,)).fetchone()
        if row is not None and row["files"] is not None and row["kind"] != kind:
            raise LedgerError(f"ledger {self.path}: snapshot {snapshot} was listed with its {row['kind']} files, this "
                              f"manifest asks for {kind}; use another ledger for another kind")
        return row is not None and row["files"] is not None

    def add_files(self, snapshot: str, kind: str, entries: list[tuple[str, str]]) -> None:
        """Record a snapshot's paths file: (path, url) per file, in order."""
        with self.transaction() as db:
            db.executemany("INSERT OR IGNORE INTO files (snapshot, seq, path, url) VALUES (?, ?, ?, ?)",
                           [(snapshot, i, path, url) for i, (path, url) in enumerate(entries)])
            db.execute("UPDATE snapshots SET files = ?, kind = ?, listed_at = ?, error = NULL WHERE id = ?",
                       (len(entries), kind, now(), snapshot))

    def snapshot_error(self, snapshot: str, error: str) -> None:
        with self.transaction() as db:
            db.execute("UPDATE snapshots SET error = ? WHERE id = ?", (error, snapshot))

    # ----------------------------------------------------------------------------------------------- files

    def todo(self, snapshot: str, max_files: int | None = None) -> list[FileRow]:
        """Files of a snapshot not done yet (pending, failed, or left running), in paths-file order."""
        limit = "AND seq < ?" if max_files else ""
        args = (snapshot, max_files) if max_files else (snapshot,)
        rows = self.db.execute(f"SELECT id, snapshot, seq, path, url, state FROM files WHERE snapshot = ? "
                               f"AND state != 'done' {limit} ORDER BY seq", args).fetchall()
        return [FileRow(**dict(r)) for r in rows]

    def fail_files(self, files: list[FileRow], errors: list[str]) -> None:
        with self.transaction() as db:
            db.executemany("UPDATE files SET state = 'failed', error = ?, attempts = attempts + 1, batch = NULL, "
                           "started_at = ?, finished_at = ? WHERE id = ?",
                           [(err, now(), now(), f.id) for f, err in zip(files, errors)])

    # --------------------------------------------------------------------------------------------- batches

    def start_batch(self, snapshot: str, files: list[FileRow], output_root: str, pid: int) -> tuple[int, str]:
        """A new batch of `files`, now running; returns its id and output folder."""
        with self.transaction() as db:
            cur = db.execute("INSERT INTO batches (snapshot, state, pid, started_at) VALUES (?, 'running', ?, ?)",
                             (snapshot, pid, now()))
            batch = cur.lastrowid
            output = str(Path(output_root) / snapshot / f"batch_{batch:06d}")
            db.execute("UPDATE batches SET output = ? WHERE id = ?", (output, batch))
            db.executemany("UPDATE files SET state = 'running', error = NULL, batch = ?, attempts = attempts + 1, "
                           "started_at = ?, finished_at = NULL WHERE id = ?",
                           [(batch, now(), f.id) for f in files])
        return batch, output

    def finish_batch(self, batch: int, documents: int, written: int) -> None:
        """The batch's output is complete: it and its files are done, in one transaction."""
        with self.transaction() as db:
            db.execute("UPDATE batches SET state = 'done', documents = ?, written = ?, finished_at = ? WHERE id = ?",
                       (documents, written, now(), batch))
            db.execute("UPDATE files SET state = 'done', finished_at = ? WHERE batch = ?", (now(), batch))

    def fail_batch(self, batch: int, error: str) -> None:
        with self.transaction() as db:
            db.execute("UPDATE batches SET state = 'failed', error = ?, finished_at = ? WHERE id = ?",
                       (error, now(), batch))
            db.execute("UPDATE files SET state = 'failed', error = ?, finished_at = ? WHERE batch = ?",
                       (error, now(), batch))

    def stale_batches(self) -> list[sqlite3.Row]:
        """Batches a killed sync left running (call while holding the sync lock)."""
        return self.db.execute("SELECT * FROM batches WHERE state = 'running' ORDER BY id").fetchall()

    def abandon_batch(self, batch: int) -> None:
        """A killed sync's batch: its files go back to pending (its output was removed by the caller)."""
        with self.transaction() as db:
            db.execute("UPDATE batches SET state = 'abandoned', error = 'interrupted (sync killed)', "
                       "finished_at = ? WHERE id = ?", (now(), batch))
            db.execute("UPDATE files SET state = 'pending', batch = NULL, finished_at = NULL WHERE batch = ?",
                       (batch,))

    # ---------------------------------------------------------------------------------------------- status

    def summary(self) -> list[dict]:
        """Per snapshot (oldest first): files per state, documents read and written, output folder."""
        rows = self.db.execute("""
            SELECT s.id, s.name, s.start, s.kind, s.files, s.error,
                   (SELECT COUNT(*) FROM files f WHERE f.snapshot = s.id AND f.state = 'done') AS done,
                   (SELECT COUNT(*) FROM files f WHERE f.snapshot = s.id AND f.state = 'failed') AS failed,
                   (SELECT COUNT(*) FROM files f WHERE f.snapshot = s.id AND f.state = 'running') AS running,
                   (SELECT COUNT(*) FROM files f WHERE f.snapshot = s.id AND f.state = 'pending') AS pending,
                   (SELECT COALESCE(SUM(documents), 0) FROM batches b WHERE b.snapshot = s.id AND b.state = 'done')
                       AS documents,
                   (SELECT COALESCE(SUM(written), 0) FROM batches b WHERE b.snapshot = s.id AND b.state = 'done')
                       AS written,
                   (SELECT COUNT(*) FROM batches b WHERE b.snapshot = s.id AND b.state = 'done') AS batches
            FROM snapshots s ORDER BY s.start, s.id""").fetchall()
        return [dict(r) for r in rows]

    def failed_files(self) -> list[sqlite3.Row]:
        return self.db.execute("SELECT snapshot, path, url, error, attempts FROM files WHERE state = 'failed' "
                               "ORDER BY snapshot, seq").fetchall()

    def files(self, snapshot: str | None = None) -> list[sqlite3.Row]:
        where, args = ("WHERE snapshot = ?", (snapshot,)) if snapshot else ("", ())
        return self.db.execute(f"SELECT * FROM files {where} ORDER BY snapshot, seq", args).fetchall()
