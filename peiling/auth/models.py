"""Staff accounts, the municipalities an analyst is limited to, and the audit log."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from flask import current_app
from flask_login import UserMixin
from sqlalchemy import JSON, Boolean, Enum, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from peiling.extensions import db
from peiling.surveys.models import Moment, utcnow


class Role(enum.StrEnum):
    ADMIN = "admin"  # manages accounts, reads the audit log
    RESEARCHER = "researcher"  # designs and publishes surveys, sees all results
    ANALYST = "analyst"  # sees results, optionally of some municipalities only


class User(UserMixin, db.Model):
    """A member of staff who logs in with email and password."""

    __tablename__ = "staff_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(
        Enum(
            Role,
            name="staff_role",
            native_enum=False,
            create_constraint=True,
            length=20,
            values_callable=lambda e: [m.value for m in e],
        )
    )
    can_see_volunteers: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(Moment(), default=utcnow)
    # Part of the id kept in the session cookie: raising it (a new password) logs out every
    # other session of this account.
    session_version: Mapped[int] = mapped_column(Integer, default=0)
    scope: Mapped[list[UserMunicipality]] = relationship(
        cascade="all, delete-orphan", order_by="UserMunicipality.municipality_code"
    )

    @property
    def is_active(self) -> bool:  # type: ignore[override]
        return self.active

    def get_id(self) -> str:
        return f"{self.id}.{self.session_version or 0}"

    @property
    def municipalities(self) -> frozenset[str] | None:
        """The CBS codes this account is limited to, or None for all municipalities."""
        if self.role is not Role.ANALYST or not self.scope:
            return None
        return frozenset(s.municipality_code for s in self.scope)

    def set_password(self, password: str) -> None:
        """Store a salted hash (scrypt unless PASSWORD_HASH_METHOD says otherwise)."""
        method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")
        self.password_hash = generate_password_hash(password, method=method)
        self.session_version = (self.session_version or 0) + 1

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)


class UserMunicipality(db.Model):
    """One municipality an analyst may see; an analyst without any sees them all."""

    __tablename__ = "staff_user_municipality"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("staff_user.id", ondelete="CASCADE"), primary_key=True
    )
    municipality_code: Mapped[str] = mapped_column(
        ForeignKey("municipality.code"), primary_key=True
    )


class AuditEvent(db.Model):
    """Who did what, and when. The email is copied so the trail outlives the account."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(Moment(), default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_user.id", ondelete="SET NULL"), index=True
    )
    actor: Mapped[str] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(40), index=True)
    target: Mapped[str] = mapped_column(String(200), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class EndedSession(db.Model):
    """A staff session ended by logging out, kept until it would have expired anyway.

    Sessions live in a signed cookie, so logging out clears only this browser's copy; a copy
    taken earlier would stay valid. Each login gets a random id (auth/sessions.py), and a
    session whose id is listed here is refused. Only a SHA-256 of the id is kept.
    """

    __tablename__ = "ended_session"

    sid_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    # The end of the session's absolute lifetime, after which `flask purge` deletes the row.
    ends_at: Mapped[datetime] = mapped_column(Moment(), index=True)
