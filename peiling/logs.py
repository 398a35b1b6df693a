"""Logging: one line per event, without personal data, for every part of the app.

Log shippers (journald, Docker, Loki) cut the stream at newlines, so a record that spans
several lines, such as a traceback, arrives as several unrelated events. Every record is
therefore written as one line: UTC timestamp, level, logger, message, and for an exception
its type and its traceback with the newlines escaped. The exception's message is left out
on purpose: a database error carries the statement's parameters (answers, e-mail
addresses), an SMTP error the recipient; the type and the frames say where it happened.

PEILING_LOG_LEVEL sets the level (default INFO). gunicorn.conf.py uses the same formatter.
"""

from __future__ import annotations

import logging
import re
import sys
import traceback
from datetime import UTC, datetime
from types import TracebackType

from flask import Flask
from flask.logging import default_handler

# Marks the handler this module installs, so that a second app (tests) replaces it.
_MARK = "_peiling_handler"
# Every character str.splitlines() breaks at, plus the other control characters.
_BREAKS = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029\\]")


def escape(text: str) -> str:
    """`text` on one line: backslashes and line breaks written as escapes."""
    return _BREAKS.sub(_escape_char, text)


def _escape_char(match: re.Match[str]) -> str:
    char = match.group()
    named = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
    return named.get(char) or f"\\u{ord(char):04x}"


ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


def exception_text(exc_info: ExcInfo) -> str:
    """The exception chain as type names and frames, oldest first, like Python's own
    traceback but without the messages (see the module docstring)."""
    exc: BaseException | None = exc_info[1]
    chain: list[BaseException] = []
    while exc is not None and exc not in chain:
        chain.append(exc)
        exc = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
    parts: list[str] = []
    for exc in reversed(chain):
        if parts:
            parts.append(_CAUSE if exc.__cause__ is not None else _CONTEXT)
        frames = "".join(traceback.format_tb(exc.__traceback__))
        name = f"{type(exc).__module__}.{type(exc).__qualname__}".removeprefix("builtins.")
        parts.append(f"Traceback (most recent call last):\n{frames}{name}")
    return "".join(parts)


_CAUSE = "\n\nThe above exception was the direct cause of the following exception:\n\n"
_CONTEXT = "\n\nDuring handling of the above exception, another exception occurred:\n\n"


class OneLineFormatter(logging.Formatter):
    """`2026-05-01T12:00:00.123Z ERROR peiling.web message exception=... traceback=...`."""

    def format(self, record: logging.LogRecord) -> str:
        moment = datetime.fromtimestamp(record.created, UTC)
        stamp = moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
        line = f"{stamp} {record.levelname} {record.name} {escape(record.getMessage())}"
        if record.exc_info and record.exc_info[1] is not None:
            exc_type = record.exc_info[0]
            name = exc_type.__qualname__ if exc_type else "?"
            line += f" exception={name} traceback={escape(exception_text(record.exc_info))}"  # type: ignore[arg-type]
        if record.stack_info:
            line += f" stack={escape(record.stack_info)}"
        return line


class DevServerFilter(logging.Filter):
    """Werkzeug's development server logs the client address and the query string of
    every request; keep method, path and status, like gunicorn's access log."""

    _PREFIX = re.compile(r"^\S+ - - \[[^\]]*\] ")

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and self._PREFIX.match(record.msg):
            record.msg = self._PREFIX.sub("", record.msg).rstrip("\n")
            if record.args and isinstance(record.args, tuple) and isinstance(record.args[0], str):
                line = re.sub(r"\?\S*", "", record.args[0])  # "GET /p/x?token=.. HTTP/1.1"
                record.args = (line, *record.args[1:])
        return True


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A StreamHandler that writes to whatever sys.stderr is at the time of the record,
    so a replaced stderr (pytest's capture, a daemon's redirect) never leaves it writing
    to a closed stream."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self) -> object:
        return sys.stderr

    @stream.setter
    def stream(self, _value: object) -> None:
        pass


def init_app(app: Flask) -> None:
    """Send every logger's records through one handler with the one-line format."""
    level = str(app.config.get("LOG_LEVEL") or "INFO").upper()
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, _MARK, False):
            root.removeHandler(handler)
    handler = StderrHandler()
    handler.setFormatter(OneLineFormatter())
    setattr(handler, _MARK, True)
    root.addHandler(handler)
    root.setLevel(level)
    # Flask would add its own multi-line handler to app.logger; records go to the root.
    app.logger.removeHandler(default_handler)
    # SQL statements carry their parameters (answers, contact details): never below WARNING,
    # whatever PEILING_LOG_LEVEL says.
    logging.getLogger("sqlalchemy").setLevel(logging.WARNING)
    # Alembic announces each of its plugins at INFO on import: noise on every command.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    werkzeug = logging.getLogger("werkzeug")
    if not any(isinstance(f, DevServerFilter) for f in werkzeug.filters):
        werkzeug.addFilter(DevServerFilter())
