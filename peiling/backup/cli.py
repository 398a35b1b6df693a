"""Command line: `flask backup [--keep-days N] [PATH]` and `flask restore PATH` (--app peiling)."""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import text
from sqlalchemy.engine import Engine

from peiling.backup import postgres, rotation, sqlite
from peiling.backup.common import BackupError, counts
from peiling.database import dispose_engines
from peiling.extensions import db

log = logging.getLogger(__name__)


def key_reminder() -> str:
    """Where the key to the contact details in a back-up is, and that it must be kept."""
    if current_app.config.get("ENCRYPTION_KEY"):
        where = "PEILING_ENCRYPTION_KEY"
    else:
        where = str(Path(current_app.instance_path) / "encryption_key")
    return (
        "Let op: de contactgegevens van vrijwilligers in de back-up zijn versleuteld met de "
        f"sleutel uit {where}. Bewaar die sleutel apart van de back-ups: zonder die sleutel "
        "zijn ze na herstel niet te lezen."
    )


def _sqlite_file(engine: Engine) -> Path | None:
    """The SQLite database file, or None on PostgreSQL."""
    if engine.dialect.name != "sqlite":
        return None
    database = engine.url.database
    if not database or database == ":memory:":
        raise click.ClickException("Een database in het geheugen heeft geen back-up.")
    return Path(database)


def _postgres_target(engine: Engine) -> postgres.Target:
    options = current_app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {}
    return postgres.target(engine.url, options.get("connect_args") or {})


def _target(given: str | None, suffix: str, now: datetime) -> Path:
    """The file to write: `given`, or a dated name in the folder `given` names (an existing
    folder, or one written with a trailing slash), or in instance/backups/."""
    if given is None:
        return Path(current_app.instance_path) / "backups" / rotation.file_name(now, suffix)
    path = Path(given)
    if path.is_dir() or given.endswith(("/", os.sep)):
        return path / rotation.file_name(now, suffix)
    return path


def _live_state() -> tuple[dict[str, int], str | None]:
    with db.engine.connect() as conn:
        found = counts(conn)
        version = None
        if conn.dialect.has_table(conn, "alembic_version"):
            version = conn.scalar(text("SELECT version_num FROM alembic_version"))
    return found, version


def _head() -> str | None:
    from alembic.script import ScriptDirectory

    config = current_app.extensions["migrate"].migrate.get_config()
    return ScriptDirectory.from_config(config).get_current_head()


@click.command("backup")
@click.argument("path", required=False, type=click.Path())
@click.option(
    "--keep-days",
    type=click.IntRange(min=1),
    help="Verwijder daarna de back-ups in die map die ouder zijn dan zoveel dagen "
    "(standaard PEILING_BACKUP_KEEP_DAYS, 14).",
)
@with_appcontext
def backup_command(path: str | None, keep_days: int | None) -> None:
    """Maak een back-up van de database: naar PATH, of in de map PATH, of in
    instance/backups/, en verwijder de oude back-ups in die map."""
    engine = db.engine
    database = _sqlite_file(engine)
    now = datetime.now(UTC)
    target = _target(path, ".sqlite" if database else ".dump", now)
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        if database:
            sqlite.backup(database, target)
            responses = sqlite.counts(target)["response"]
        else:
            responses = postgres.backup(engine, _postgres_target(engine), target)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    size = target.stat().st_size
    click.echo(f"Back-up geschreven: {target} ({size} bytes, {responses} reacties)")
    # Only after a back-up succeeded: a failing run never leaves the folder empty.
    days = keep_days or int(current_app.config["BACKUP_KEEP_DAYS"])
    if days < 1:  # 0 would delete every back-up but tonight's
        raise click.ClickException("PEILING_BACKUP_KEEP_DAYS moet minstens 1 zijn.")
    deleted = rotation.prune(target.parent, days, now, spare=target)
    log.info("backup: %d back-ups older than %d days deleted", len(deleted), days)
    click.echo(f"Oude back-ups verwijderd (ouder dan {days} dagen): {len(deleted)}")
    click.echo(key_reminder())


@click.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Overschrijf ook een database met reacties.")
@with_appcontext
def restore_command(path: Path, force: bool) -> None:
    """Zet een back-up terug in de geconfigureerde database (of het schema)."""
    engine = db.engine
    database = _sqlite_file(engine)
    present, _ = _live_state()
    if present["response"] and not force:
        raise click.ClickException(
            f"De database bevat {present['response']} reacties; herstellen vervangt alles. "
            "Gebruik --force als dat de bedoeling is."
        )
    where = None if database else _postgres_target(engine)
    try:
        expected = (
            sqlite.alembic_version(path) if database else postgres.alembic_version(where, path)
        )  # type: ignore[arg-type]
        # No pooled connection may hold a lock on a table the restore replaces.
        db.session.remove()
        dispose_engines(current_app)  # type: ignore[arg-type]
        if database:
            sqlite.restore(path, database)
        else:
            postgres.restore(where, path)  # type: ignore[arg-type]
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    found, version = _live_state()
    if version != expected:
        raise click.ClickException(
            f"Na herstel staat de database op Alembic-versie {version}, de back-up op {expected}."
        )
    click.echo(
        f"Hersteld uit {path}: {found['survey']} vragenlijsten, {found['response']} reacties, "
        f"{found['answer']} antwoorden, {found['volunteer']} vrijwilligers "
        f"(Alembic-versie {version})."
    )
    if version != _head():
        click.echo(
            "De back-up is van een andere versie: voer `flask --app peiling db upgrade` uit."
        )
    click.echo(key_reminder())


def init_app(app: Flask) -> None:
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
