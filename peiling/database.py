"""Engine settings per database, and a lean path for idempotent single statements."""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

from flask import Flask, current_app
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from peiling.extensions import db

WRITER = "peiling.writer"
_lock = threading.Lock()

# Statements sent by `execute_idempotent()` bypass SQLAlchemy and so its before_cursor_execute
# event; the bench and the tests, which count SQL per request, listen here as well.
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


class Writer:
    """A few kept autocommit connections for single, atomic, idempotent statements.

    Storing a response is one statement that is atomic on its own and safe to repeat (the
    submission token), so it needs no transaction, no pool bookkeeping and no pre-ping:
    idle connections wait in a stack, made from the engine's URL and connect_args, and
    after a dropped connection (a database restart leaves them all dead) the statement
    runs once more on a fresh one. In make bench this serves about a third more
    submissions per second than a checkout from SQLAlchemy's pool with BEGIN and COMMIT.
    """

    def __init__(self, engine: Engine, connect_args: Mapping[str, Any], keep: int = 8) -> None:
        self.dialect = engine.dialect
        args, kwargs = engine.dialect.create_connect_args(engine.url)
        self._args = args
        self._kwargs = {**kwargs, **connect_args, "autocommit": True}
        self._idle: deque[Any] = deque()  # append/pop are atomic: no lock needed
        self._keep = keep
        self._pid = os.getpid()

    def _take(self) -> Any:
        if self._pid != os.getpid():  # forked (gunicorn --preload): never share a socket
            self._idle.clear()
            self._pid = os.getpid()
        while True:
            try:
                conn = self._idle.pop()
            except IndexError:
                return self.dialect.loaded_dbapi.connect(*self._args, **self._kwargs)
            if not conn.closed:
                return conn

    def _give_back(self, conn: Any) -> None:
        if len(self._idle) < self._keep and not conn.closed:
            self._idle.append(conn)
        else:
            conn.close()

    def execute(self, sql: str, params: Mapping[str, Any]) -> Any:
        for listener in statement_listeners:
            listener(sql)
        error = self.dialect.loaded_dbapi.Error
        for attempt in (1, 2):
            conn = None
            try:
                conn = self._take()
                row = conn.execute(sql, params, prepare=True).fetchone()
            except error as exc:
                broken = conn is None or conn.broken or conn.closed
                if conn is not None:
                    if broken:
                        conn.close()
                        self.close()  # its idle siblings died with it: retry on a new one
                    else:
                        self._give_back(conn)
                if not (broken and attempt == 1):
                    raise DBAPIError.instance(sql, dict(params), exc, error) from exc
                continue
            except BaseException:
                if conn is not None:
                    conn.close()
                raise
            self._give_back(conn)
            return row
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        while self._idle:
            self._idle.pop().close()


def _writer() -> Writer:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    writer = app.extensions.get(WRITER)
    if writer is None:
        with _lock:
            writer = app.extensions.get(WRITER)
            if writer is None:
                options = app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {}
                writer = Writer(db.engine, options.get("connect_args") or {})
                app.extensions[WRITER] = writer
    return writer


def execute_idempotent(sql: str, params: Mapping[str, Any]) -> Any:
    """Run one idempotent statement (psycopg placeholders) and return its first row.

    Driver errors come back as SQLAlchemy's DBAPIError, like those of every other query.
    """
    return _writer().execute(sql, params)


def dispose_engines(app: Flask) -> None:
    """Close every pooled connection (tests and the bench, before dropping their schema)."""
    with app.app_context():
        db.engine.dispose()
    writer = app.extensions.pop(WRITER, None)
    if writer is not None:
        writer.close()
