"""Waves: drawing the members, their personal links, invitations and reminders by mail."""

from __future__ import annotations

import hashlib
import random
import secrets
import threading
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask, current_app, render_template
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from peiling import jobs
from peiling.database import lock_rows
from peiling.extensions import db
from peiling.geo import as_utc, dutch_time
from peiling.panel.models import Invitation, Mail, MailStatus, Member, MemberStatus, Panel, Wave
from peiling.panel.services import GENDER, external
from peiling.surveys.models import SOURCE_MAX, Survey


def draw(
    members: dict[str, list[int]],
    seed: int,
    per: dict[str, int] | None = None,
    share: float | None = None,
) -> list[int]:
    """A stratified random sample of member ids: `per[place]` of each municipality (or
    all where there are fewer), or `share` of each; everyone when neither is given. The
    same members and seed always give the same sample."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible draw, not a secret
    chosen: list[int] = []
    for place in sorted(members):
        ids = sorted(members[place])
        if per is not None:
            wanted = per.get(place, 0)
        elif share is not None:
            wanted = round(share * len(ids))
        else:
            wanted = len(ids)
        chosen += rng.sample(ids, min(wanted, len(ids)))
    return sorted(chosen)


def active_members(session: Session, panel: Panel) -> dict[str, list[int]]:
    found: dict[str, list[int]] = defaultdict(list)
    for member_id, place in session.execute(
        select(Member.id, Member.municipality_code).where(
            Member.panel_id == panel.id, Member.status == MemberStatus.ACTIVE
        )
    ):
        found[place].append(member_id)
    return found


def wave_named(session: Session, panel: Panel, name: str) -> Wave | None:
    """The panel's wave called `name`, after locking the panel until the transaction ends
    (database.lock_rows), so that a wave of that name made meanwhile is seen."""
    lock_rows(session, Panel.name, Panel.id == panel.id)
    return session.scalar(select(Wave).where(Wave.panel_id == panel.id, Wave.name == name))


def create_wave(
    session: Session, panel: Panel, survey: Survey, name: str, sample: dict[str, Any], seed: int
) -> Wave:
    """The wave and an invitation (a personal link) for each member drawn."""
    wave = Wave(panel_id=panel.id, survey_id=survey.id, name=name, sample=sample, seed=seed)
    session.add(wave)
    session.flush()
    ids = draw(active_members(session, panel), seed, sample.get("per"), sample.get("share"))
    session.add_all(Invitation(wave_id=wave.id, member_id=m) for m in ids)
    session.flush()
    return wave


def queue_mails(session: Session, wave: Wave, kind: str) -> list[int]:
    """Write an invitation (kind "invitation") or a reminder ("reminder-N") to the outbox
    for every active member of the wave who should get it: invitations to all, reminders
    to those who have not finished. At most one of each kind per invitation, ever (a unique
    key), so queuing twice, or after a broken batch, sends nobody a second one."""
    panel = session.get(Panel, wave.panel_id)
    survey = session.get(Survey, wave.survey_id)
    assert panel is not None and survey is not None  # noqa: S101 - foreign keys
    rows = session.execute(
        select(Invitation, Member)
        .join(Member, Member.id == Invitation.member_id)
        .where(Invitation.wave_id == wave.id, Member.status == MemberStatus.ACTIVE)
        .order_by(Invitation.id)
    ).all()
    already = set(session.scalars(select(Mail.invitation_id).where(
        Mail.kind == kind, Mail.invitation_id.in_([i.id for i, _m in rows]))))  # fmt: skip
    made = []
    for invitation, member in rows:
        if invitation.id in already or (kind != "invitation" and invitation.completed_at):
            continue
        mail = _wave_mail(panel, survey, wave, invitation, member, kind)
        session.add(mail)
        made.append(mail)
    try:
        session.flush()
    except IntegrityError:  # queued by another request at the same moment: theirs stand
        session.rollback()
        return []
    return [m.id for m in made]


def _wave_mail(
    panel: Panel, survey: Survey, wave: Wave, invitation: Invitation, member: Member, kind: str
) -> Mail:
    context = {
        "panel": panel,
        "survey": survey,
        "reminder": kind != "invitation",
        "link": external("panel.wave_form", token=invitation.token),
        "data_url": external("panel.my_data", key=member.key),
        "unsubscribe_url": external("panel.unsubscribe", key=member.key),
        "closes": survey.closes_at,
    }
    subject = (_("Herinnering: %(title)s", title=survey.title) if kind != "invitation"
               else _("Uitnodiging: %(title)s", title=survey.title))  # fmt: skip
    return Mail(
        member_id=member.id,
        invitation_id=invitation.id,
        kind=kind,
        to_address=member.email,
        subject=subject,
        text_body=render_template("panel/mail/invitation.txt", **context),
        html_body=render_template("panel/mail/invitation.html", **context),
        unsubscribe_url=context["unsubscribe_url"],
    )


def send(app: Flask, ids: list[int]) -> None:
    """Send these mails in the background, so the page that queued them answers at once:
    by `flask worker` when Redis is configured, else (or when Redis does not answer) from
    a thread of this process."""
    if not jobs.enqueue(app, jobs.MAIL, send_batch, ids, key=secrets.token_hex(8), ttl=None):
        send_in_background(app, ids)


def send_in_background(app: Flask, ids: list[int]) -> threading.Thread:
    """Send these mails from a thread of this process (see send_batch)."""

    def run() -> None:
        with app.app_context():
            try:
                send_batch(ids)
            finally:
                db.session.remove()

    thread = threading.Thread(target=run, name="peiling-mail", daemon=True)
    thread.start()
    return thread


def send_batch(ids: list[int]) -> None:
    """Send these mails at MAIL_RATE per second (also an RQ job, for `flask worker`). What
    fails is tried again after MAIL_RETRY_SECONDS, then twice that, and so on, until it is
    sent or marked failed after MAIL_ATTEMPTS (and shown to staff); `flask mail send` can
    always try again."""
    from peiling.mail import send_queued, setting

    pause = float(setting("MAIL_RETRY_SECONDS"))  # type: ignore[arg-type]
    for attempt in range(int(setting("MAIL_ATTEMPTS"))):  # type: ignore[call-overload]
        _sent, failed = send_queued(db.session, ids)
        if not failed:
            break
        time.sleep(pause * (attempt + 1))


# Nobody means to mail a whole panel twice within an hour: a reminder that soon after the
# wave's last mail is a double click, or a colleague who pressed the button too.
REMINDER_GAP = timedelta(hours=1)


def reminder_refused(session: Session, wave: Wave, now: datetime | None = None) -> str | None:
    """Why a reminder cannot be queued now (a message for staff), or None. Locks the wave
    until the transaction ends, so that two presses at once cannot both pass."""
    lock_rows(session, Wave.reminders, Wave.id == wave.id)
    session.refresh(wave)
    last = session.scalar(
        select(func.max(Mail.created_at))
        .join(Invitation, Invitation.id == Mail.invitation_id)
        .where(Invitation.wave_id == wave.id)
    )
    if last is None:  # no mail at all: a reminder only ever follows the invitations
        return _("Verstuur eerst de uitnodigingen; een herinnering komt daarna.")
    last = as_utc(last)
    if (now or datetime.now(UTC)) - last < REMINDER_GAP:
        return _(
            "De laatste e-mails aan deze golf gingen om %(time)s weg. Een herinnering kan "
            "vanaf %(next)s.",
            time=dutch_time(last, "%H:%M"),
            next=dutch_time(last + REMINDER_GAP, "%H:%M"),
        )
    return None


def mail_progress(session: Session, wave: Wave) -> list[dict[str, Any]]:
    """The wave's mail per kind (invitation, reminder-1, ...), in that order: how many
    are still queued, sent and failed."""
    counts: dict[str, dict[str, Any]] = {}
    for kind, status, n in session.execute(
        select(Mail.kind, Mail.status, func.count())
        .join(Invitation, Invitation.id == Mail.invitation_id)
        .where(Invitation.wave_id == wave.id)
        .group_by(Mail.kind, Mail.status)
    ):
        row = counts.setdefault(kind, {"kind": kind, **{s.value: 0 for s in MailStatus}})
        row[MailStatus(status).value] = n
    return sorted(counts.values(), key=lambda row: _kind_order(row["kind"]))


def _kind_order(kind: str) -> int:
    """The invitation first, then reminder-1, reminder-2, ..."""
    return 0 if kind == "invitation" else int(kind.rpartition("-")[2])


def youngest_age(member: Member, today: datetime | None = None) -> int:
    """The youngest the member can be today, from her birth year alone: her birthday may
    still be to come. For the guardian's permission, where erring young is the safe side."""
    return (today or datetime.now(UTC)).year - member.birth_year - 1


def profile_of(member: Member) -> dict[str, str]:
    """What a wave's response carries of its member: gender and the panel's profile
    questions, by code (never her address or birth year)."""
    profile = dict(member.profile or {})
    if member.gender:
        profile[GENDER] = member.gender
    return profile


def source_tag(panel: Panel) -> str:
    """The source of a wave's responses, "panel-<address>", cut to what the column holds:
    an address may have 80 characters, and PostgreSQL refuses a longer tag."""
    return f"panel-{panel.slug}"[:SOURCE_MAX].rstrip("-")


def submission_token(invitation: Invitation) -> str:
    """The response's idempotency key: the same for every retry of this invitation, and
    not the link itself."""
    return hashlib.sha256(b"peiling wave response " + invitation.token.encode()).hexdigest()


def by_token(session: Session, token: str) -> Invitation | None:
    if not token or len(token) > 64:
        return None
    return session.scalar(select(Invitation).where(Invitation.token == token))


def app_of_request() -> Flask:
    return current_app._get_current_object()  # type: ignore[attr-defined,no-any-return]


def now() -> datetime:
    return datetime.now(UTC)
