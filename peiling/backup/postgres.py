"""Back-up and restore of a PostgreSQL database with pg_dump and pg_restore.

The connection comes from the app's database URL; the password goes to the tools in the
PGPASSWORD environment variable, which `ps` does not show (a command line it does). When
the engine's connect options set a search_path (one schema per test run, or a deployment
that shares a database), only that schema is dumped and restored.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess  # noqa: S404 - pg_dump and pg_restore, with argument lists, no shell
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import URL, Engine

from peiling.backup.common import BackupError, counts

# libpq settings a database URL may carry as query parameters, and their variables.
_QUERY_VARIABLES = {
    "host": "PGHOST",
    "port": "PGPORT",
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
}
_SEARCH_PATH = re.compile(r"search_path\s*=\s*\"?([^\s,\"]+)")


@dataclass(frozen=True)
class Target:
    """Where the tools connect: a database name, PG* variables and perhaps one schema."""

    dbname: str
    schema: str | None
    env: dict[str, str] = field(repr=False)  # holds the password: never printed


def target(url: URL, connect_args: Mapping[str, Any]) -> Target:
    """The connection of the app's engine, as pg_dump and pg_restore take it."""
    env = {
        variable: str(value)
        for variable, value in (
            ("PGHOST", url.host),
            ("PGPORT", url.port),
            ("PGUSER", url.username),
            ("PGPASSWORD", url.password),
        )
        if value
    }
    for key, variable in _QUERY_VARIABLES.items():
        value = url.query.get(key)
        if value:
            env[variable] = str(value if isinstance(value, str) else value[0])
    options = " ".join(str(o) for o in (connect_args.get("options"), url.query.get("options")) if o)
    found = _SEARCH_PATH.search(options)
    return Target(dbname=url.database or "postgres", schema=found and found.group(1), env=env)


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} is niet gevonden; installeer de PostgreSQL-client.")
    return path


def _run(where: Target, args: list[str]) -> str:
    result = subprocess.run(  # noqa: S603 - fixed tools, arguments as a list
        args, env={**os.environ, **where.env}, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        tail = "\n".join(result.stderr.strip().splitlines()[-10:])
        raise BackupError(f"{Path(args[0]).name} mislukte:\n{tail}")
    return result.stdout


def backup(engine: Engine, where: Target, destination: Path) -> int:
    """pg_dump the database (or schema) to `destination`; returns the responses in it.

    The dump and the count come from one exported snapshot, so the count is exact while
    respondents keep answering. Raises BackupError when pg_dump fails.
    """
    fd, name = tempfile.mkstemp(dir=destination.parent, prefix=f".{destination.name}-")
    os.close(fd)  # 0600, and pg_dump writes into it: answers and encrypted contact details
    tmp = Path(name)
    try:
        with engine.connect() as conn:
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                snapshot = conn.scalar(text("SELECT pg_export_snapshot()"))
                responses = counts(conn)["response"]
                args = [_tool("pg_dump"), "--format=custom", f"--file={tmp}"]
                args += [f"--snapshot={snapshot}", f"--dbname={where.dbname}"]
                if where.schema:
                    args.append(f"--schema={where.schema}")
                _run(where, args)
        os.replace(tmp, destination)
    finally:
        tmp.unlink(missing_ok=True)
    return responses


def dumped_schemas(where: Target, source: Path) -> set[str]:
    """The schemas a dump creates (empty for a dump of a whole database's public schema)."""
    listing = _run(where, [_tool("pg_restore"), "--list", str(source)])
    return set(re.findall(r"^\d+; \d+ \d+ SCHEMA - (\S+) ", listing, flags=re.MULTILINE))


def alembic_version(where: Target, source: Path) -> str | None:
    """The Alembic revision stored in a dump, read from its data without restoring it."""
    script = _run(
        where,
        [_tool("pg_restore"), "--data-only", "--table=alembic_version", "--file=-", str(source)],
    )
    match = re.search(r"^COPY \S*alembic_version .*;\n(\w+)\n", script, flags=re.MULTILINE)
    return match.group(1) if match else None


def restore(where: Target, source: Path) -> None:
    """pg_restore `source` into the database (or schema), all or nothing.

    Raises BackupError when the dump belongs to another schema or pg_restore fails (the
    single transaction then leaves the database as it was).
    """
    schemas = dumped_schemas(where, source)
    if where.schema and schemas and where.schema not in schemas:
        raise BackupError(
            f"Deze back-up is van schema {', '.join(sorted(schemas))}, de app gebruikt "
            f"schema {where.schema}; pg_restore kan een schema niet hernoemen."
        )
    args = [_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--single-transaction"]
    args += ["--exit-on-error", f"--dbname={where.dbname}", str(source)]
    _run(where, args)
