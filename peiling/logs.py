"""Logging: one line per event, without personal data, for every part of the app.

Log shippers (journald, Docker, Loki) cut the stream at newlines, so a record that spans
several lines, such as a traceback, arrives as several unrelated events. Every record is
therefore written as one line: UTC timestamp, level, logger, message, and for an exception
its type and its traceback with the newlines escaped. The exception's message is left out
on purpose: a database error carries the statement's parameters (answers, e-mail
addresses), an SMTP error the recipient; the type and the frames say where it happened.

Request paths are logged (gunicorn's access log, the development server), but some paths
carry a personal secret: the panel's keys and a wave's personal link. `mask_path()` replaces
those segments in both logs, so that a log reader cannot open someone's data.

PEILING_LOG_LEVEL sets the level (default INFO). gunicorn.conf.py uses the same formatter and
the access logger below.
"""

from __future__ import annotations

import logging
import re
import sys
import traceback
from datetime import UTC, datetime
from types import TracebackType
from typing import Any
from urllib.parse import unquote

from flask import Flask
from flask.logging import default_handler
from gunicorn.glogging import Logger as GunicornLogger

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


# The URL rules whose path holds a personal secret, as the part before it (under /panel) and
# the marker that replaces it. tests/test_logs.py checks that every rule of the app with a
# <key> or <token> in its path is covered, so a new one cannot slip through unnoticed.
SECRET_PATHS = {"bevestigen": "[key]", "mijn-gegevens": "[key]", "afmelden": "[key]",
                "w": "[token]"}  # fmt: skip
# Not anchored at the start: the same rule serves a referrer's full URL or a prefixed mount.
# Slashes may be doubled (the router merges them) and case varies in what people type.
_SECRET_PATH = re.compile(
    r"(/panel/+(" + "|".join(map(re.escape, SECRET_PATHS)) + r")/+)[^/\s?#'\"]+", re.IGNORECASE
)


def mask_path(path: str) -> str:
    """`path` (or a request line or URL holding one) with every personal key or token
    replaced by a marker: "/panel/w/[token]".

    The path is percent-decoded first, once, as the router does: "/panel/%77/..." and
    "/panel/w%2F..." reach the same view as "/panel/w/...", so they are masked as well."""
    return _SECRET_PATH.sub(_marker, unquote(path))


def _marker(match: re.Match[str]) -> str:
    return match.group(1) + SECRET_PATHS[match.group(2).lower()]


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
    every request; keep method, path (masked) and status, like gunicorn's access log."""

    _PREFIX = re.compile(r"^\S+ - - \[[^\]]*\] ")

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and self._PREFIX.match(record.msg):
            record.msg = self._PREFIX.sub("", record.msg).rstrip("\n")
            if record.args and isinstance(record.args, tuple) and isinstance(record.args[0], str):
                line = re.sub(r"\?\S*", "", record.args[0])  # "GET /p/x?token=.. HTTP/1.1"
                record.args = (line, *record.args[1:])
        if isinstance(record.args, tuple):  # a path may also be in an error's arguments
            record.args = tuple(mask_path(a) if isinstance(a, str) else a for a in record.args)
        return True


class ErrorLogFilter(logging.Filter):
    """Gunicorn's error log names a request it could not parse by its request line and the
    client's address ("Invalid request from ip=203.0.113.7: Invalid HTTP request line:
    'GET /panel/w/...'"): mask the keys in the path, and leave the address out."""

    _CLIENT = re.compile(r"\bip=[^\s:]*(?::[^\s:]*)*?(?=:? )")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = self._CLIENT.sub("ip=[address]", mask_path(message))
        if masked != message:
            record.msg, record.args = masked, None
        return True


class AccessLogger(GunicornLogger):
    """Gunicorn's logger (gunicorn.conf.py's logger_class), with every personal key or token
    masked in the atoms that hold a path: %(U)s, the request line %(r)s and the referrer
    %(f)s, whichever of them access_log_format uses; and in the error log (ErrorLogFilter).
    """

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        if not any(isinstance(f, ErrorLogFilter) for f in self.error_log.filters):
            self.error_log.addFilter(ErrorLogFilter())

    def atoms(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> Any:
        atoms = super().atoms(resp, req, environ, request_time)
        for name in ("U", "r", "f", "{raw_uri}e", "{path_info}e", "{referer}i"):
            value = atoms.get(name)
            if isinstance(value, str):
                atoms[name] = mask_path(value)
        return atoms


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


def configured_level(app: Flask) -> str:
    """The configured log level's name (PEILING_LOG_LEVEL, default INFO)."""
    return str(app.config.get("LOG_LEVEL") or "INFO").upper()


def init_app(app: Flask) -> None:
    """Send every logger's records through one handler with the one-line format."""
    level = configured_level(app)
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
