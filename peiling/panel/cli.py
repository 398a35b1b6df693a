"""`flask --app peiling mail send`: send (or retry) the queued mail."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from peiling.extensions import db


def init_app(app: Flask) -> None:
    app.cli.add_command(mail_cli)


mail_cli = AppGroup("mail", help="The outbox.")


@mail_cli.command("send")
def send() -> None:
    """Send every queued mail; failures stay queued and are retried next time."""
    from peiling.mail import send_queued

    sent, failed = send_queued(db.session)
    click.echo(f"{sent} verstuurd, {failed} mislukt")
