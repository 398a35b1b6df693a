"""What the SQLite and PostgreSQL back-ups share: the tables counted and the error."""

from __future__ import annotations

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

# Counted after a back-up and a restore, so the operator sees at once what is in it.
TABLES = ("survey", "response", "answer", "volunteer")


class BackupError(Exception):
    """A back-up or restore that could not be done; the message says why, in Dutch."""


def counts(conn: Connection) -> dict[str, int]:
    """Rows per table of TABLES in the connection's database (0 for a missing table)."""
    present = inspect(conn)
    return {
        table: int(conn.scalar(text(f"SELECT count(*) FROM {table}")) or 0)  # noqa: S608 - fixed names
        if present.has_table(table)
        else 0
        for table in TABLES
    }
