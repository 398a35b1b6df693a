"""A resident panel: its members, the recruitment codes of its letters, and every mail sent.

A member's personal key (in every link she gets) opens her own data without an account;
it is 256 random bits, so it cannot be guessed. The confirmation key of the double opt-in
is stored only as a hash. Mails are written to the outbox first and sent from there, so a
send that fails is retried and reported, never lost.
"""

from __future__ import annotations

import enum
import hashlib
import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, validates

from peiling.extensions import db
from peiling.surveys.models import Moment, _enum, utcnow

SUBJECT_MAX = 200


def new_key() -> str:
    """A personal key for links: 256 random bits."""
    return secrets.token_urlsafe(32)


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class MemberStatus(enum.StrEnum):
    INVITED = "invited"  # signed up or imported, email address not yet confirmed
    ACTIVE = "active"
    UNSUBSCRIBED = "unsubscribed"


class Panel(db.Model):
    __tablename__ = "panel"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"))
    # Further profile questions: [{"code": ..., "label": ..., "options": [[code, label], ...]}]
    profile_fields: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # Members wanted per municipality (CBS code -> number), for the panel's health.
    targets: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(Moment(), default=utcnow)


class Member(db.Model):
    __tablename__ = "panel_member"
    __table_args__ = (UniqueConstraint("panel_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    panel_id: Mapped[int] = mapped_column(ForeignKey("panel.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    municipality_code: Mapped[str] = mapped_column(ForeignKey("municipality.code"))
    birth_year: Mapped[int] = mapped_column(Integer)
    gender: Mapped[str | None] = mapped_column(String(16))
    profile: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    status: Mapped[MemberStatus] = mapped_column(
        _enum(MemberStatus, "member_status"), default=MemberStatus.INVITED
    )
    key: Mapped[str] = mapped_column(String(64), unique=True, default=new_key)
    confirm_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    # The confirmation link used last, and when: the same link pressed again shortly after
    # (a double click, a refresh) confirms again instead of saying the link is dead.
    used_confirm_hash: Mapped[str | None] = mapped_column(String(64), index=True, unique=True)
    confirmed_at: Mapped[datetime | None] = mapped_column(Moment())
    # A new address she entered, used once she confirms it from a mail sent there.
    pending_email: Mapped[str | None] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(Moment(), default=utcnow)
    joined_at: Mapped[datetime | None] = mapped_column(Moment())
    left_at: Mapped[datetime | None] = mapped_column(Moment())


class DeletedMember(db.Model):
    """A member who deleted her data, known only by the SHA-256 of her personal key and her
    panel: her links, pressed again (a double click on "delete", a mail opened later), then
    say her data were deleted instead of that nobody is found. Nothing in it points to her.
    """

    __tablename__ = "deleted_member"

    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    panel_id: Mapped[int] = mapped_column(ForeignKey("panel.id", ondelete="CASCADE"), index=True)


class RecruitmentCode(db.Model):
    """One code printed in one letter: works for one member only."""

    __tablename__ = "recruitment_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    panel_id: Mapped[int] = mapped_column(ForeignKey("panel.id", ondelete="CASCADE"), index=True)
    municipality_code: Mapped[str] = mapped_column(ForeignKey("municipality.code"))
    code: Mapped[str] = mapped_column(String(16), unique=True)
    batch: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(Moment(), default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(Moment())
    member_id: Mapped[int | None] = mapped_column(
        ForeignKey("panel_member.id", ondelete="SET NULL")
    )


class MailStatus(enum.StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"  # tried MAIL_ATTEMPTS times; shown to staff


class Mail(db.Model):
    """The outbox: every mail, written before it is sent. Bodies are dropped once sent."""

    __tablename__ = "mail"
    __table_args__ = (UniqueConstraint("invitation_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int | None] = mapped_column(
        ForeignKey("panel_member.id", ondelete="CASCADE"), index=True
    )
    # confirm, invitation, reminder-1, reminder-2, ...: at most one of each per invitation
    kind: Mapped[str] = mapped_column(String(20))
    invitation_id: Mapped[int | None] = mapped_column(
        ForeignKey("panel_invitation.id", ondelete="CASCADE")
    )
    to_address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(SUBJECT_MAX))
    text_body: Mapped[str | None] = mapped_column(Text)
    html_body: Mapped[str | None] = mapped_column(Text)
    unsubscribe_url: Mapped[str | None] = mapped_column(String(300))
    status: Mapped[MailStatus] = mapped_column(
        _enum(MailStatus, "mail_status"), default=MailStatus.QUEUED
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(Moment(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(Moment())

    @validates("subject")
    def _fit_subject(self, _key: str, value: str) -> str:
        # A subject is a title or a panel's name (up to 200 each) with words around it.
        # PostgreSQL refuses a string longer than its column where SQLite stores it.
        return value if len(value) <= SUBJECT_MAX else value[: SUBJECT_MAX - 1] + "…"


class Wave(db.Model):
    """A survey sent to (a sample of) a panel's active members."""

    __tablename__ = "panel_wave"

    id: Mapped[int] = mapped_column(primary_key=True)
    panel_id: Mapped[int] = mapped_column(ForeignKey("panel.id", ondelete="CASCADE"), index=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    # How the members were drawn: {"all": true}, {"per": {code: n}} or {"share": 0.25},
    # with the seed that makes the draw reproducible.
    sample: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    seed: Mapped[int] = mapped_column(Integer)
    reminders: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(Moment(), default=utcnow)


class Invitation(db.Model):
    """One member's place in a wave: her personal link, where she got to, and when."""

    __tablename__ = "panel_invitation"
    __table_args__ = (UniqueConstraint("wave_id", "member_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    wave_id: Mapped[int] = mapped_column(ForeignKey("panel_wave.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(
        ForeignKey("panel_member.id", ondelete="CASCADE"), index=True
    )
    token: Mapped[str] = mapped_column(String(64), unique=True, default=new_key)  # 256 bits
    # The answers so far (as posted) and the page she was on: she can stop and go on later.
    draft: Mapped[dict[str, list[str]]] = mapped_column(JSON, default=dict)
    page_index: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime | None] = mapped_column(Moment())
    completed_at: Mapped[datetime | None] = mapped_column(Moment())
