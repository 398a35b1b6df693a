"""Creating accounts, changing passwords and writing the audit log."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select
from sqlalchemy.orm import Session

from peiling.auth.models import AuditEvent, Role, User, UserMunicipality
from peiling.database import flush_or_recheck
from peiling.emails import is_email
from peiling.geo import Municipality

MIN_PASSWORD = 12


class AccountError(ValueError):
    """An account cannot be created or changed; the message says why, in the interface's
    language (Dutch without a request, as on the command line)."""


def password_problem(password: str) -> str | None:
    """Why `password` is not acceptable, or None."""
    if len(password) < MIN_PASSWORD:
        return _("Kies een wachtwoord van minstens %(num)d tekens.", num=MIN_PASSWORD)
    if len(password) > 200:
        return _("Kies een wachtwoord van hoogstens 200 tekens.")
    return None


def create_user(
    session: Session,
    email: str,
    role: Role,
    password: str,
    municipalities: Iterable[str] = (),
    can_see_volunteers: bool = False,
) -> User:
    """Add a staff account (not committed); raises AccountError."""
    email = email.strip().lower()
    if not is_email(email):
        raise AccountError(_("‘%(email)s’ is geen geldig e-mailadres.", email=email))
    _refuse_taken(session, email)
    problem = password_problem(password)
    if problem:
        raise AccountError(problem)
    codes = sorted({c.strip().upper() for c in municipalities if c.strip()})
    if codes and role is not Role.ANALYST:
        raise AccountError(_("Alleen een analist kan tot gemeenten beperkt worden."))
    known = set(session.scalars(select(Municipality.code).where(Municipality.code.in_(codes))))
    unknown = [c for c in codes if c not in known]
    if unknown:
        raise AccountError(
            ngettext(
                "Onbekende gemeentecode: %(codes)s.",
                "Onbekende gemeentecode: %(codes)s.",
                len(unknown),
                codes=", ".join(unknown),
            )
        )
    user = User(email=email, role=role, can_see_volunteers=can_see_volunteers)
    user.set_password(password)
    user.scope = [UserMunicipality(municipality_code=c) for c in codes]
    session.add(user)
    # Two posts of one form at once (a double click) both find the address free.
    flush_or_recheck(session, lambda: _refuse_taken(session, email))
    return user


def _refuse_taken(session: Session, email: str) -> None:
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise AccountError(_("Er bestaat al een account voor %(email)s.", email=email))


def change_password(user: User, current: str, new: str) -> None:
    """Replace the password, which logs out the account's other sessions; AccountError."""
    if not user.check_password(current):
        raise AccountError(_("Je huidige wachtwoord klopt niet."))
    problem = password_problem(new)
    if problem:
        raise AccountError(problem)
    if new == current:
        raise AccountError(_("Kies een ander wachtwoord dan je huidige."))
    user.set_password(new)


def record(
    session: Session, actor: User | None, action: str, target: str = "", **detail: Any
) -> AuditEvent:
    """Add one audit event (committed with the change it describes)."""
    event = AuditEvent(
        user_id=actor.id if actor is not None else None,
        actor=actor.email if actor is not None else "",
        action=action,
        target=target[:200],
        detail=detail,
    )
    session.add(event)
    return event


@dataclass(frozen=True)
class EventRow:
    at: str
    actor: str
    action: str
    target: str
    detail: dict[str, Any]


def recent_events(session: Session, limit: int = 200, action: str | None = None) -> list[EventRow]:
    """The newest audit events first, optionally of one action only."""
    stmt = select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit)
    if action:
        stmt = stmt.where(AuditEvent.action == action)
    return [
        EventRow(e.at.strftime("%Y-%m-%d %H:%M:%S"), e.actor, e.action, e.target, e.detail or {})
        for e in session.scalars(stmt)
    ]
