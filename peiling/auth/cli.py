"""Command line: `flask users create EMAIL --role ROLE` and `flask users list`."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import select

from peiling.auth.models import Role, User
from peiling.auth.services import AccountError, create_user, record
from peiling.extensions import db

users_cli = AppGroup("users", help="Accounts van medewerkers beheren.")


@users_cli.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option(
    "--municipality",
    "municipalities",
    multiple=True,
    metavar="GMxxxx",
    help="Beperk een analist tot deze gemeente (mag vaker).",
)
@click.option("--volunteers", is_flag=True, help="Mag contactgegevens van vrijwilligers zien.")
@click.option(
    "--password",
    prompt="Wachtwoord",
    hide_input=True,
    confirmation_prompt="Nog een keer",
    help="Zonder deze optie wordt erom gevraagd.",
)
def create_command(
    email: str, role: str, municipalities: tuple[str, ...], volunteers: bool, password: str
) -> None:
    """Maak een account voor een medewerker."""
    try:
        user = create_user(db.session, email, Role(role), password, municipalities, volunteers)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    db.session.flush()
    record(db.session, None, "user_created", user.email, role=role, via="cli")
    db.session.commit()
    scope = ", ".join(sorted(user.municipalities or ())) or "alle gemeenten"
    click.echo(f"Account gemaakt: {user.email} ({role}; {scope})")


@users_cli.command("list")
def list_command() -> None:
    """Toon alle accounts."""
    for user in db.session.scalars(select(User).order_by(User.email)):
        scope = ",".join(sorted(user.municipalities or ())) or "alle"
        flags = " vrijwilligers" if user.can_see_volunteers else ""
        state = "" if user.active else " (uitgeschakeld)"
        click.echo(f"{user.email}\t{user.role.value}\t{scope}{flags}{state}")


def init_app(app: Flask) -> None:
    app.cli.add_command(users_cli)
