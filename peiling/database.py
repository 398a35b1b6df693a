"""Engine settings per database, and a lean path for idempotent single statements."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from flask import Flask, current_app
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from peiling.extensions import db

WRITER = "peiling.writer"
_lock = threading.Lock()

# Statements sent by `execute_idempotent()` bypass SQLAlchemy's execution layer and so its
# before_cursor_execute event; the bench and the tests, which count SQL per request, listen
# here as well.
statement_listeners: list[Callable[[str], None]] = []


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers work while one writer commits; the busy timeout makes concurrent
    # writers wait instead of failing with "database is locked".
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def init_app(app: Flask) -> None:
    with app.app_context():
        engine: Engine = db.engine
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)


def dialect_name() -> str:
    """ "postgresql" or "sqlite", without creating a session to ask."""
    return db.engine.dialect.name


def writer_engine() -> Engine:
    """A second pool on the same database, of autocommit connections without a pre-ping.

    For single statements that are atomic and idempotent, such as storing a response: no
    BEGIN/COMMIT and no ping round trip, and `execute_idempotent()` retries once on a
    dropped connection instead (a database restart leaves every pooled connection dead).
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    engine = app.extensions.get(WRITER)
    if engine is None:
        with _lock:
            engine = app.extensions.get(WRITER)
            if engine is None:
                options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
                options["pool_pre_ping"] = False
                engine = create_engine(db.engine.url, isolation_level="AUTOCOMMIT", **options)
                app.extensions[WRITER] = engine
    return engine


def execute_idempotent(sql: str, params: Mapping[str, Any]) -> Any:
    """Run one prepared statement on the writer pool and return its first row.

    Driver errors come back as SQLAlchemy's DBAPIError, like those of every other query.
    """
    engine = writer_engine()
    for listener in statement_listeners:
        listener(sql)
    for attempt in (1, 2):
        conn = engine.raw_connection()
        try:
            row = conn.driver_connection.execute(sql, params, prepare=True).fetchone()  # type: ignore[union-attr]
        except engine.dialect.loaded_dbapi.Error as exc:
            broken = bool(getattr(conn.driver_connection, "broken", False))
            if broken:
                conn.invalidate(exc)
            conn.close()
            if broken and attempt == 1:
                continue
            raise DBAPIError.instance(
                sql, dict(params), exc, engine.dialect.loaded_dbapi.Error
            ) from exc
        except BaseException:
            conn.invalidate()
            conn.close()
            raise
        conn.close()
        return row
    raise AssertionError("unreachable")  # pragma: no cover


def dispose_engines(app: Flask) -> None:
    """Close every pooled connection (tests and the bench, before dropping their schema)."""
    with app.app_context():
        db.engine.dispose()
    writer = app.extensions.pop(WRITER, None)
    if writer is not None:
        writer.dispose()
