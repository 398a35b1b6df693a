"""A PostgreSQL schema and an instance folder of the bench's own, removed again afterwards.

`bench_database()` creates schema `peiling_bench_<random>` in the database at
BENCH_DATABASE_URL (default: PostgreSQL on 127.0.0.1:5432, database `test`, user
`postgres`), writes an instance folder whose config.py points the app's engine at that
schema (connect_args options `-csearch_path=<schema>`, as tests/conftest.py does), runs the
migrations and loads the demo poll with the app's own CLI. On leaving, it drops the schema
and deletes the folder, whatever happened in between.

The environment it returns (PEILING_INSTANCE_PATH, PEILING_DATABASE_URL) is what
`create_app()` in this process and the gunicorn workers started by bench.load both read.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

INSTANCE_CONFIG = """\
# Written by bench/database.py for one bench run; deleted again when it ends.
SECRET_KEY = {secret!r}
SQLALCHEMY_ENGINE_OPTIONS = {{
    "pool_pre_ping": True,
    "connect_args": {{"options": "-csearch_path={schema}"}},
}}
# As in production, every POST of the public form is counted in Redis (peiling/ratelimit.py),
# with the production number of windows; the limits are out of reach because all of the
# bench's traffic comes from one loopback address.
REDIS_URL = {redis!r}
SUBMIT_LIMITS = "100000000 per minute;1000000000 per hour"
SUBMIT_LIMIT_PREFIX = {schema!r}
"""
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")


@dataclass(frozen=True)
class BenchDatabase:
    url: str
    schema: str
    workdir: Path
    instance: Path
    env: dict[str, str]
    admin: sa.Engine

    def scalar(self, sql: str) -> object:
        """Run one query with the bench schema as search path."""
        with self.admin.connect() as conn:
            conn.execute(sa.text(f'SET search_path TO "{self.schema}"'))
            return conn.execute(sa.text(sql)).scalar_one()

    def count(self, table: str) -> int:
        return int(self.scalar(f"SELECT count(*) FROM {table}"))  # noqa: S608 - fixed names

    def server_version(self) -> str:
        return str(self.scalar("SHOW server_version"))


def database_url() -> str:
    return os.environ.get("BENCH_DATABASE_URL") or DEFAULT_URL


@contextmanager
def bench_database() -> Iterator[BenchDatabase]:
    """Create schema and instance folder, migrate and load the demo; drop it all on exit."""
    url = database_url()
    schema = f"peiling_bench_{secrets.token_hex(4)}"
    admin = sa.create_engine(url, poolclass=NullPool)
    workdir = Path(tempfile.mkdtemp(prefix="peiling-bench-"))
    created = False
    try:
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        created = True
        instance = workdir / "instance"
        instance.mkdir()
        config = INSTANCE_CONFIG.format(
            secret=secrets.token_hex(32), schema=schema, redis=REDIS_URL
        )
        (instance / "config.py").write_text(config, encoding="utf-8")
        env = {"PEILING_INSTANCE_PATH": str(instance), "PEILING_DATABASE_URL": url}
        bench = BenchDatabase(url, schema, workdir, instance, env, admin)
        flask_cli(bench, "db", "upgrade")
        flask_cli(bench, "demo")
        yield bench
    finally:
        try:
            if created:
                with admin.begin() as conn:
                    conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        finally:
            admin.dispose()
            shutil.rmtree(workdir, ignore_errors=True)
            forget_counts(schema)


def forget_counts(prefix: str, redis_url: str = REDIS_URL) -> None:
    """Delete the Redis keys a run made under `prefix` (rate-limit counts)."""
    from redis import Redis

    redis = Redis.from_url(redis_url, socket_timeout=1)
    for key in redis.scan_iter(f"{prefix}*"):
        redis.delete(key)


def flask_cli(bench: BenchDatabase, *args: str) -> str:
    """Run `flask --app peiling ARGS` against the bench database; raise with its output."""
    return run_flask(bench.env, *args)


def run_flask(extra_env: dict[str, str], *args: str) -> str:
    """Run `flask --app peiling ARGS` with `extra_env` added; raise with its output."""
    env = {**os.environ, **extra_env}
    done = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "peiling", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"flask {' '.join(args)} failed ({done.returncode}):\n{done.stdout}{done.stderr}"
        )
    return done.stdout
