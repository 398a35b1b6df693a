"""Slow work (large exports, panel mail) on RQ queues in Redis, done by `flask worker`.

With PEILING_REDIS_URL set, the web process puts the work on a queue and answers at once;
a worker process (`flask --app peiling worker`, next to gunicorn) takes it from there. The
progress lives where every process can read it, not in the worker: an export's status.json
in the instance folder's exports/ (so web and worker must share that folder: the same
machine, or one shared volume), a mail's row in the outbox (the database). Without Redis,
or when Redis does not answer, `enqueue()` says so and the caller runs the work in a thread
of its own process, as it did before there was a worker.

A job that raises fails with `JobFailed` and only its exception's type name: RQ writes the
traceback of what a job raised to the log and keeps it in Redis with the failed job for a
week, and a database error's message carries the statement's values (e-mail addresses,
answers). The exception itself goes to the app's log, in one line without its message
(peiling/logs.py).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, Worker
from rq.job import Job

from peiling import logs

log = logging.getLogger(__name__)

EXPORTS = "exports"
MAIL = "mail"
KINDS = (MAIL, EXPORTS)  # a worker's default queues, in order: mail first, it is quick
SETTINGS = {EXPORTS: "JOBS_EXPORT_QUEUE", MAIL: "JOBS_MAIL_QUEUE"}
FAILED_KEEP_SECONDS = 7 * 24 * 3600  # how long RQ keeps a job that raised, for the log


class JobFailed(Exception):
    """A job raised an exception; the message is only its type's name (see the docstring)."""


def guarded(function: Callable[..., Any], *args: Any) -> Any:
    """Do `function(*args)`, as every queued job is done.

    Raises JobFailed with the type name of whatever it raised, after logging that exception
    in one line (type and frames, no message)."""
    try:
        return function(*args)
    except Exception as exc:
        name = type(exc).__qualname__
        log.error("job %s.%s failed", function.__module__, function.__qualname__, exc_info=True)
        # from None: RQ formats the chain, and the original exception is in it otherwise.
        raise JobFailed(name) from None


def queue_name(app: Flask, kind: str) -> str:
    """The RQ queue of `kind` ("exports" or "mail"): JOBS_PREFIX, a dash, its name."""
    name = app.config.get(SETTINGS[kind]) or kind
    return f"{app.config['JOBS_PREFIX']}-{name}"


def connection(app: Flask) -> Redis | None:
    """A client for REDIS_URL, or None when no Redis is configured."""
    url = app.config.get("REDIS_URL")
    if not url:
        return None
    # Short timeouts: a web request that enqueues must not hang on a Redis that is away.
    return Redis.from_url(url, socket_connect_timeout=2, socket_timeout=10)


def enqueue(
    app: Flask, kind: str, function: Callable[..., Any], *args: Any, key: str, ttl: int | None
) -> bool:
    """Put `function(*args)` on the queue of `kind` for a worker; True when it is there.

    False without Redis, or when Redis does not answer (logged in one line): the caller
    then does the work itself. `key` makes the job's id (with the prefix, so a test run's
    keys can be found); `ttl` is how long it may wait for a worker before RQ drops it."""
    redis = connection(app)
    if redis is None:
        return False
    try:
        Queue(queue_name(app, kind), connection=redis).enqueue(
            guarded,
            function,
            *args,
            job_id=f"{app.config['JOBS_PREFIX']}-{kind}-{key}",
            description=f"{kind} {key}",  # not the arguments: a batch has thousands of ids
            job_timeout=int(app.config["JOBS_TIMEOUT"]),
            ttl=ttl,
            result_ttl=0,  # progress and results live in the outbox and exports/, not here
            failure_ttl=FAILED_KEEP_SECONDS,
        )
    except RedisError as exc:
        log.warning("Redis unreachable (%s): %s job runs in this process", type(exc).__name__, kind)
        return False
    finally:
        redis.close()
    return True


class AppWorker(Worker):
    """RQ's worker, doing each job inside the Flask application's context.

    It forks (RQ's default) rather than doing the work in its own process (SimpleWorker):
    each job runs in a fresh child that exits afterwards, so the memory of a million-row
    workbook goes back to the system, and a job past JOBS_TIMEOUT is killed without taking
    the worker down. A forked child must never use a database connection of its parent
    (two processes on one socket), so it first forgets the inherited pool: SQLAlchemy's
    `dispose(close=False)`, its advice for forked processes (the parent's connections
    stay open for the parent). The parent itself queries nothing, so usually there is no
    pool to forget; this keeps it safe when that changes.
    """

    def __init__(self, queues: Sequence[str], app: Flask, **kwargs: Any) -> None:
        super().__init__(queues, **kwargs)
        self.app = app

    def main_work_horse(self, job: Job, queue: Queue) -> None:
        from peiling.database import WRITER
        from peiling.extensions import db

        with self.app.app_context():
            db.engine.dispose(close=False)
        self.app.extensions.pop(WRITER, None)  # its idle connections belong to the parent
        super().main_work_horse(job, queue)

    def perform_job(self, job: Job, queue: Queue) -> bool:
        with self.app.app_context():  # its teardown also ends the job's database session
            return bool(super().perform_job(job, queue))


def worker(app: Flask, kinds: Sequence[str]) -> AppWorker:
    """A worker for the queues of `kinds`, named with the prefix (so its keys are found)."""
    redis = connection(app)
    if redis is None:
        raise RuntimeError("REDIS_URL is not set")
    name = f"{app.config['JOBS_PREFIX']}-worker-{uuid.uuid4().hex[:12]}"
    return AppWorker([queue_name(app, kind) for kind in kinds], app, name=name, connection=redis)


def init_app(app: Flask) -> None:
    app.cli.add_command(worker_command)


@click.command("worker")
@click.option("--burst", is_flag=True, help="Stop once the queues are empty.")
@click.option(
    "--queues",
    multiple=True,
    type=click.Choice(KINDS),
    help="Only these queues (repeat the option); default: mail, then exports.",
)
@with_appcontext
def worker_command(burst: bool, queues: tuple[str, ...]) -> None:
    """Do the queued slow work (exports, panel mail) from Redis; run it next to gunicorn."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if not app.config.get("REDIS_URL"):
        raise click.UsageError(
            "PEILING_REDIS_URL is niet ingesteld: zonder Redis is er geen wachtrij."
        )
    # RQ sets its own loggers to this level: PEILING_LOG_LEVEL, as everywhere else.
    worker(app, queues or KINDS).work(burst=burst, logging_level=logs.configured_level(app))
