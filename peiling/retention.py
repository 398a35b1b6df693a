"""Retention: volunteers' contact details are deleted a set number of days after their
survey closed (PEILING_RETENTION_DAYS, default 90); the answers stay, anonymous. Logged-out
staff sessions past their lifetime are forgotten too (auth/sessions.py).

`flask --app peiling purge` does it; run it daily (cron or a systemd timer, see the README).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import click
from flask import Flask, current_app
from sqlalchemy import and_, delete, or_, select
from sqlalchemy.orm import Session

from peiling.auth import sessions
from peiling.extensions import db
from peiling.surveys.models import Survey, SurveyStatus, Volunteer

DEFAULT_DAYS = 90
log = logging.getLogger(__name__)


def purge(session: Session, days: int, now: datetime | None = None) -> int:
    """Delete the volunteers of every survey closed more than `days` ago; returns how many.
    A survey counts as closed when staff closed it (closed_at) or its planned close passed."""
    limit = (now or datetime.now(UTC)) - timedelta(days=days)
    expired = select(Survey.id).where(
        or_(
            and_(Survey.status == SurveyStatus.CLOSED, Survey.closed_at <= limit),
            Survey.closes_at <= limit,
        )
    )
    result = session.execute(delete(Volunteer).where(Volunteer.survey_id.in_(expired)))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def init_app(app: Flask) -> None:
    @app.cli.command("purge")
    @click.option("--days", type=int, default=None, help="Override PEILING_RETENTION_DAYS.")
    def purge_command(days: int | None) -> None:
        """Delete volunteers' contact details of surveys closed longer ago than allowed,
        and forget logged-out staff sessions past their lifetime."""
        keep = (
            days
            if days is not None
            else int(current_app.config.get("RETENTION_DAYS", DEFAULT_DAYS))
        )
        removed = purge(db.session, keep)
        ended = sessions.purge_ended(db.session)
        db.session.commit()
        log.info("purge: contact details of %d volunteers deleted (after %d days)", removed, keep)
        log.info("purge: %d logged-out staff sessions past their lifetime forgotten", ended)
        click.echo(f"{removed} vrijwilligers verwijderd (gesloten langer dan {keep} dagen geleden)")
