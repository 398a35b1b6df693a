"""Configuration: defaults, then instance/config.py, then PEILING_* environment variables."""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask


class DefaultConfig:
    """Settings every deployment starts from; override in instance/config.py or PEILING_*."""

    SQLALCHEMY_ENGINE_OPTIONS: dict[str, Any] = {"pool_pre_ping": True}
    # Public form posts are small; uploads (a later feature) raise this per route.
    MAX_CONTENT_LENGTH = 512 * 1024
    MAX_FORM_MEMORY_SIZE = 512 * 1024
    # A respondent may leave a poll open for a long time; an expired token must not cost
    # her the answers (the CSRF error page keeps them), so give it a generous lifetime.
    WTF_CSRF_TIME_LIMIT = 12 * 3600
    # Checked by web.guard_request() for every POST (views marked @csrf.exempt aside) rather
    # than by Flask-WTF's own hook, which looks its exemptions up for every GET as well.
    WTF_CSRF_CHECK_DEFAULT = False
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_NAME = "peiling_session"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    SEND_FILE_MAX_AGE_DEFAULT = 365 * 24 * 3600  # static URLs carry a content hash
    # Cookie a browser receives after answering, so a second response can be refused politely.
    RESPONDED_COOKIE_DAYS = 365
    # A staff login lasts a working day; the signed session cookie is refused after that.
    PERMANENT_SESSION_LIFETIME = 8 * 3600
    # Werkzeug's scrypt; the test suite uses a cheaper setting of a real hash to stay fast.
    PASSWORD_HASH_METHOD = "scrypt"  # noqa: S105 - a hash method, not a password
    # Failed staff logins: counted per account and per address (auth/throttle.py); in Redis
    # when PEILING_REDIS_URL is set, so that every worker and server shares the counts.
    REDIS_URL: str | None = None
    # With REDIS_URL, slow work (large exports, panel mail) goes on RQ queues that
    # `flask worker` takes it from (peiling/jobs.py). Queue names start with JOBS_PREFIX, so
    # several deployments (or test runs) can share one Redis.
    JOBS_PREFIX = "peiling"
    JOBS_EXPORT_QUEUE = "exports"
    JOBS_MAIL_QUEUE = "mail"
    JOBS_TIMEOUT = 4 * 3600  # seconds a job may run before the worker stops it
    # The address respondents use (https://peiling.example.nl), for QR codes, posters and
    # link previews; without it the address of the request is used.
    PUBLIC_BASE_URL: str | None = None
    # True in production behind HTTPS: Secure cookies and Strict-Transport-Security.
    HTTPS = False
    HSTS_SECONDS = 365 * 24 * 3600
    # Reverse proxies (nginx, Caddy) in front of gunicorn whose X-Forwarded-* to trust.
    PROXY_COUNT = 0
    # Results of groups smaller than this are shown as "<5", never as a figure (minors).
    ANALYSIS_MINIMUM_GROUP = 5
    # Days after a survey closes that volunteers' contact details are kept (`flask purge`).
    RETENTION_DAYS = 90
    # Days `flask backup` keeps older back-ups beside a new one: a back-up still holds what
    # was removed on request or purged since, so it must not be kept for ever.
    BACKUP_KEEP_DAYS = 14
    # Posts of the public form per client (peiling/ratelimit.py), counted by a keyed hash of
    # the address (an IPv6 address's /64), never the address itself. Every page posted counts
    # (the demo poll: 3 a respondent), and a school's pupils share one address: 300 a minute
    # lets a whole school start at once; it stops a script, not a school. Empty: off.
    SUBMIT_LIMITS = "300 per minute;3000 per hour"
    LOGIN_LIMITS_PER_ACCOUNT = "5 per minute;20 per hour"
    LOGIN_LIMITS_PER_ADDRESS = "20 per minute;100 per hour"
    # Wrong removal codes (surveys/removal.py) per client: a keyed hash of its address (the
    # /64 network for IPv6), never the address itself. No limit per survey: with 60-bit
    # codes it protects nothing, and it would let anyone block a whole survey's removals.
    REMOVAL_LIMITS_PER_CLIENT = "5 per minute;30 per hour"
    # How long the thank-you page can show the removal code (a cookie for that page only).
    # Short: on a shared school computer the next pupil can open that page from history.
    REMOVAL_CODE_SECONDS = 5 * 60
    # Under this age a respondent needs her parent's or guardian's permission to leave her
    # contact details: 16 is the Dutch age of digital consent (UAVG article 5).
    GUARDIAN_CONSENT_AGE = 16


def load_config(app: Flask, test_config: dict[str, Any] | None) -> None:
    """Fill app.config from defaults, the instance folder, the environment and test_config."""
    app.config.from_object(DefaultConfig)
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env("PEILING")
    if test_config:
        app.config.from_mapping(test_config)

    url = app.config.get("DATABASE_URL") or app.config.get("SQLALCHEMY_DATABASE_URI")
    if not url:
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
        url = "sqlite:///" + os.path.join(app.instance_path, "peiling.sqlite")
    app.config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(url)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = instance_secret_key(Path(app.instance_path))
    if app.config.get("HTTPS"):
        # Served over HTTPS only (behind the reverse proxy): cookies never travel over
        # plain HTTP, and browsers are told to use HTTPS from now on (HSTS, peiling.web).
        app.config["SESSION_COOKIE_SECURE"] = True
        app.config["REMEMBER_COOKIE_SECURE"] = True


def normalise_database_url(url: str) -> str:
    """Let plain postgres:// URLs (as hosting platforms hand them out) use psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def instance_secret_key(instance: Path) -> str:
    """Return the secret key kept in the instance folder, generating it on first start."""
    return instance_file(instance, "secret_key", lambda: secrets.token_hex(32))


def instance_file(instance: Path, name: str, make: Callable[[], str]) -> str:
    """A generated secret kept in the instance folder: made on first use, then read."""
    instance.mkdir(parents=True, exist_ok=True)
    path = instance / name
    if not path.exists():
        # Write a complete file first and link it into place: link() fails if another worker
        # got there first, and nobody ever reads a half-written key.
        fd, tmp = tempfile.mkstemp(dir=instance, prefix=f".{name}-")
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(make())
            os.chmod(tmp, 0o600)
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)
        finally:
            os.unlink(tmp)
    return path.read_text().strip()
