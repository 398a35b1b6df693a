"""Engine settings per database, a lean path for idempotent single statements, and two
helpers for requests that read before they write (see `lock_rows`)."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import threading
from collections import deque
from collections.abc import Callable, Mapping
from datetime import datetime
from functools import lru_cache
from typing import Any

from flask import Flask, current_app
from psycopg import errors, pq
from sqlalchemy import event, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from peiling.extensions import db

WRITER = "peiling.writer"
_lock = threading.Lock()

# Statements sent by `execute_idempotent()` bypass SQLAlchemy and so its before_cursor_execute
# event; the bench and the tests, which count SQL per request, listen here as well (and the
# bench's floor takes a real submission's parameters from here).
statement_listeners: list[Callable[[str, Mapping[str, Any]], None]] = []


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers work while one writer commits; the busy timeout makes concurrent
    # writers wait instead of failing with "database is locked".
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
    # SQLite's own lower() knows ASCII only, so a search for "één" missed "Één keer per
    # week" (open answers); PostgreSQL's follows Unicode. Python's does too.
    dbapi_connection.create_function("lower", 1, _lower, deterministic=True)


def _lower(text: str | None) -> str | None:
    return text.lower() if isinstance(text, str) else text


DIALECT = "peiling.dialect"
log = logging.getLogger(__name__)


def init_app(app: Flask) -> None:
    with app.app_context():
        engine: Engine = db.engine
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)
        app.extensions[DIALECT] = engine.dialect.name
    # Registered after Flask-SQLAlchemy's, so it runs before it (teardowns run in reverse).
    app.teardown_appcontext(_end_session)


def _end_session(_exc: BaseException | None) -> None:
    """Close the request's session; if the database died meanwhile, drop its connection.

    Closing rolls the connection back, which fails when the server went away during the
    request. The response (a friendly page) is already made by then: without this, the
    failure escapes the request and gunicorn answers with a bare 500 instead.
    """
    if not db.session.registry.has():
        return  # no session in this request (the public form's last POST on PostgreSQL)
    try:
        db.session.remove()
    except DBAPIError as exc:
        log.warning("database connection lost at the end of a request: %s", type(exc.orig).__name__)
        with contextlib.suppress(Exception):
            db.session.invalidate()
        db.session.registry.clear()


def dialect_name() -> str:
    """ "postgresql" or "sqlite", without creating a session or an engine lookup to ask."""
    return str(current_app.extensions[DIALECT])


_NOT_PREPARED = errors.InvalidSqlStatementName.sqlstate.encode()
_NAMED = re.compile(r"%\((\w+)\)s")


@lru_cache(maxsize=32)
def _prepared(sql: str) -> tuple[bytes, bytes, tuple[str, ...]]:
    """Statement name, the SQL with $n placeholders, and the parameter names in $n order."""
    order: list[str] = []

    def number(match: re.Match[str]) -> str:
        if match.group(1) not in order:
            order.append(match.group(1))
        return f"${order.index(match.group(1)) + 1}"

    text = _NAMED.sub(number, sql)
    name = b"peiling_" + hashlib.sha256(sql.encode()).hexdigest()[:16].encode()
    return name, text.encode(), tuple(order)


# Text and NULL, most of a submission's parameters, are handled before this table.
_TEXT_FORMAT: dict[type, Callable[[Any], bytes]] = {
    int: lambda v: str(v).encode(),
    float: lambda v: repr(v).encode(),
    bool: lambda v: b"t" if v else b"f",
    datetime: lambda v: v.isoformat().encode(),
}


def _as_text(value: Any) -> bytes | None:
    """A parameter in PostgreSQL's text format (the statement's casts give its type)."""
    if value is None:
        return None
    if type(value) is str:
        return value.encode()
    try:
        return _TEXT_FORMAT[type(value)](value)
    except KeyError:
        raise TypeError(f"no text format for {type(value).__name__}") from None


class Writer:
    """A few kept autocommit connections for single, atomic, idempotent statements.

    Storing a response is one statement that is atomic on its own and safe to repeat (the
    submission token), so it needs no transaction, no pool bookkeeping and no pre-ping:
    idle connections wait in a stack, made from the engine's URL and connect_args, and
    after a dropped connection (a database restart leaves them all dead) the statement
    runs once more on a fresh one. The statement goes through libpq's prepared-statement
    call (psycopg's documented `pq` layer) with parameters in text format: make bench
    measured about a third of a submission's Python time in psycopg's cursor machinery.
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

    def execute(self, sql: str, params: Mapping[str, Any]) -> list[str | None]:
        """Run `sql` (psycopg's %(name)s placeholders); return its first row as text values."""
        for listener in statement_listeners:
            listener(sql, params)
        name, text, order = _prepared(sql)
        values = []
        for key in order:  # a loop with text inline: most parameters are text (hot path)
            value = params[key]
            values.append(value.encode() if type(value) is str else _as_text(value))
        error = self.dialect.loaded_dbapi.Error
        for attempt in (1, 2):
            conn = None
            try:
                conn = self._take()
                row = _run_prepared(conn.pgconn, name, text, values)
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


def _run_prepared(
    pgconn: pq.abc.PGconn, name: bytes, text: bytes, values: list[bytes | None]
) -> list[str | None]:
    result = pgconn.exec_prepared(name, values)
    state = result.error_field(pq.DiagnosticField.SQLSTATE)
    if state == _NOT_PREPARED:  # the first time on this connection
        prepared = pgconn.prepare(name, text)
        if prepared.status != pq.ExecStatus.COMMAND_OK:
            raise errors.error_from_result(prepared)
        result = pgconn.exec_prepared(name, values)
    if result.status != pq.ExecStatus.TUPLES_OK:
        raise errors.error_from_result(result)
    values_out = [result.get_value(0, i) for i in range(result.nfields)]
    return [None if v is None else v.decode() for v in values_out]


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


def execute_idempotent(sql: str, params: Mapping[str, Any]) -> list[str | None]:
    """Run one idempotent statement (psycopg placeholders); return its first row as text.

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


# A request that reads to decide what to write (is this slug free, what is the next page's
# position, whom does this code belong to) races a second request doing the same at the same
# moment, which is what a double click is: both decide on the same old state, and the
# second then fails on a unique key (a 503) or undoes the first.


def lock_rows(session: Session, column: Any, *where: Any) -> int:
    """Hold the rows of `column`'s table that match `where` until the transaction ends, so
    that a concurrent request doing the same waits for this one's commit and then reads its
    result; return how many rows matched. Call it before reading what to change.

    An UPDATE that sets a column to itself is the one statement that does this on both
    databases: PostgreSQL locks the rows, SQLite takes its single write lock (and waits its
    busy timeout for it). SELECT ... FOR UPDATE does nothing on SQLite.
    """
    statement = update(column.class_).where(*where).values({column.key: column})
    result = session.execute(statement.execution_options(synchronize_session=False))
    return int(result.rowcount)  # type: ignore[attr-defined]


def flush_or_recheck(session: Session, check: Callable[[], object]) -> None:
    """Flush new rows whose unique values `check` has found free.

    When there is no row to lock (a new slug, a new e-mail address), a concurrent request
    may take the value between the check and the insert. Its commit is visible once the
    unique key has refused ours, so running `check` again raises the same friendly error as
    a second request a moment later would. If `check` passes, the IntegrityError had
    another cause and is raised.
    """
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        check()
        raise
