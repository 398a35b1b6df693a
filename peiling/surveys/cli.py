"""Command line: `flask surveys import FILE` and `flask demo`."""

from __future__ import annotations

import json
import secrets
from importlib import resources
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from flask_babel import gettext as _
from sqlalchemy import func, select

from peiling.auth.models import Role, User
from peiling.extensions import db
from peiling.surveys.demo import DEMO_SLUG, add_synthetic_responses
from peiling.surveys.importer import DefinitionError, build_survey
from peiling.surveys.models import Response, Survey
from peiling.surveys.xlsform import read_xlsform

surveys_cli = AppGroup("surveys", help="Vragenlijsten beheren.")
DEMO_EMAIL = "demo@peiling.local"


def read_definition(filename: str, content: bytes) -> object:
    """A definition from a .json or an XLSForm .xlsx file; raises DefinitionError."""
    if filename.lower().endswith(".xlsx"):
        return read_xlsform(content, filename)
    try:
        return json.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DefinitionError(
            [_("%(file)s is geen geldige JSON: %(error)s", file=filename, error=exc)]
        ) from exc
    except ValueError as exc:  # int() refuses a number of more than 4,300 digits
        raise DefinitionError(
            [_("%(file)s bevat een getal met te veel cijfers", file=filename)]
        ) from exc
    except RecursionError as exc:  # json's decoder stops at Python's recursion limit
        raise DefinitionError(
            [_("%(file)s is te diep genest om als vragenlijst te lezen", file=filename)]
        ) from exc


def import_definition(data: object) -> Survey:
    """Validate and store a questionnaire definition; raises DefinitionError."""
    survey = build_survey(db.session, data)
    db.session.add(survey)
    db.session.commit()
    return survey


@surveys_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_command(path: Path) -> None:
    """Importeer een vragenlijst (JSON-definitie of XLSForm .xlsx) en toon de slug."""
    try:
        data = read_definition(path.name, path.read_bytes())
        survey = import_definition(data)
    except DefinitionError as exc:
        lines = "\n".join(f"  - {p}" for p in exc.problems)
        raise click.ClickException(f"{path.name} is niet geïmporteerd:\n{lines}") from exc
    click.echo(survey.slug)


def _demo_login(instance: Path) -> tuple[str, str | None]:
    """Create the demo staff account once; its password lives in instance/demo-login.txt."""
    store = instance / "demo-login.txt"
    user = db.session.scalar(select(User).where(User.email == DEMO_EMAIL))
    if user is not None:
        return DEMO_EMAIL, store.read_text().strip() if store.exists() else None
    password = secrets.token_urlsafe(12)
    user = User(email=DEMO_EMAIL, role=Role.RESEARCHER, can_see_volunteers=True)
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    instance.mkdir(parents=True, exist_ok=True)
    store.write_text(password + "\n")
    store.chmod(0o600)
    return DEMO_EMAIL, password


@click.command("demo")
@with_appcontext
@click.option("--responses", default=0, show_default=True, help="Voeg N nepantwoorden toe.")
@click.option(
    "--if-empty", is_flag=True, help="Voeg de antwoorden alleen toe als er nog geen zijn."
)
@click.option("--seed", default=None, type=int, help="Vaste toevalsreeks (voor tests).")
def demo_command(responses: int, if_empty: bool, seed: int | None) -> None:
    """Laad de demo-jongerenpeiling en maak een demo-account (verandert niets bij herhaling)."""
    survey = db.session.scalar(select(Survey).where(Survey.slug == DEMO_SLUG))
    if survey is None:
        text = (
            resources.files("peiling.surveys")
            .joinpath("definitions", f"{DEMO_SLUG}.json")
            .read_text(encoding="utf-8")
        )
        survey = import_definition(json.loads(text))
        click.echo(f"Demo-peiling geladen: /p/{survey.slug}")
    else:
        click.echo(f"Demo-peiling bestaat al: /p/{survey.slug}")
    existing = db.session.scalar(
        select(func.count()).select_from(Response).where(Response.survey_id == survey.id)
    )
    if responses and not (if_empty and existing):
        added = add_synthetic_responses(db.session, survey, responses, seed=seed)
        click.echo(f"{added} nepantwoorden toegevoegd.")
    email, password = _demo_login(Path(current_app.instance_path))
    click.echo(f"Inloggen als medewerker: {email} / {password or '(zie instance/demo-login.txt)'}")


def init_app(app: Flask) -> None:
    app.cli.add_command(surveys_cli)
    app.cli.add_command(demo_command)
