"""Back-up and restore of a SQLite database through SQLite's online backup API.

The backup API copies the database page by page under SQLite's own locks. Taken in one
step it reads from one snapshot: in WAL mode (peiling.database) the app keeps writing
meanwhile, and the copy holds each response either with all its answers or not at all.
Restoring goes the same way in the other direction, rather than swapping files: a running
app keeps the old file open, and its -wal and -shm files would no longer belong to the
database beside them (a corrupt database); through the API every open connection sees
the restored content at its next transaction.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path

from peiling.backup.common import TABLES, BackupError

# Other connections (the app's workers) may hold the write lock for a moment.
BUSY_MS = 10_000


@contextlib.contextmanager
def _connect(path: Path) -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute(f"PRAGMA busy_timeout={BUSY_MS}")
        yield conn
    finally:
        conn.close()


def integrity(path: Path) -> str:
    """The result of PRAGMA integrity_check: "ok" for a sound database."""
    with _connect(path) as conn:
        return "; ".join(str(row[0]) for row in conn.execute("PRAGMA integrity_check"))


def _has_table(conn: sqlite3.Connection, name: str) -> bool:
    sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
    return conn.execute(sql, (name,)).fetchone() is not None


def counts(path: Path) -> dict[str, int]:
    """Rows per table of TABLES (0 for a table that does not exist)."""
    with _connect(path) as conn:
        return {
            table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608 - fixed names
            if _has_table(conn, table)
            else 0
            for table in TABLES
        }


def alembic_version(path: Path) -> str | None:
    """The database's Alembic revision, or None without one."""
    with _connect(path) as conn:
        if not _has_table(conn, "alembic_version"):
            return None
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        return str(row[0]) if row else None


def backup(database: Path, target: Path) -> None:
    """Copy the live `database` to `target`: a temporary file, checked, then renamed.

    Raises BackupError when the copy fails its integrity check.
    """
    if not database.exists():
        raise BackupError(f"Database {database} bestaat niet.")
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}-", suffix=".tmp")
    os.close(fd)  # mkstemp made it 0600: the copy holds answers and (encrypted) contact details
    tmp = Path(name)
    try:
        with _connect(database) as source, _connect(tmp) as copy:
            source.backup(copy)  # all pages in one step: one consistent snapshot
            # A single self-contained file: the copy must not depend on a -wal beside it.
            copy.execute("PRAGMA journal_mode=DELETE")
        result = integrity(tmp)
        if result != "ok":
            raise BackupError(f"De kopie is niet in orde (integrity_check: {result}).")
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def restore(source: Path, database: Path) -> None:
    """Copy the backup `source` over the live `database` (created if missing).

    Raises BackupError when the backup fails its integrity check.
    """
    result = integrity(source)
    if result != "ok":
        raise BackupError(f"De back-up is niet in orde (integrity_check: {result}).")
    database.parent.mkdir(parents=True, exist_ok=True)
    with _connect(source) as backup_conn, _connect(database) as live:
        backup_conn.backup(live)
