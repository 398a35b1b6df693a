"""Panels, recruitment codes, sign-up with double opt-in, and a member's own data."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import render_template, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from peiling.database import lock_rows
from peiling.designer.sharing import public_base
from peiling.emails import is_email
from peiling.geo import Municipality, dutch_hour, utc_hour
from peiling.numbers import whole_number
from peiling.panel.models import (
    DeletedMember,
    Invitation,
    Mail,
    Member,
    MemberStatus,
    Panel,
    RecruitmentCode,
    Wave,
    key_hash,
    new_key,
)
from peiling.surveys.models import Survey

# Crockford's base 32: no I, L, O or U, so a code read from paper is typed right.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 12  # 60 bits: a few thousand valid codes among 10^18, and sign-up is throttled
MAX_CODES_PER_BATCH = 20_000
# The same sign-up again within this time (a double click, a refresh of the sent page)
# sends no second mail: a new one would replace the key in the first, so that whichever
# mail she opens first may hold a dead link.
RESEND_AFTER = timedelta(minutes=1)
# How long a used confirmation link still confirms (a double click, a refresh, the mail
# opened once more); later it says the link no longer works, perhaps already confirmed.
CONFIRMED_AGAIN = timedelta(hours=1)
GENDER = "geslacht"  # gender's key in a wave response's profile
GENDERS = {
    "vrouw": "Vrouw",
    "man": "Man",
    "anders": "Anders",
    "onbekend": "Zeg ik liever niet",
}


def format_code(code: str) -> str:
    """ABCD-EFGH-JKMN, as printed in the letter."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def normalise_code(typed: str) -> str:
    """What a person typed, as stored: without spaces and dashes, upper case, and the
    letters people confuse with digits read as Crockford does (O -> 0, I and L -> 1)."""
    text = re.sub(r"[\s\-]", "", typed).upper()
    return text.translate(str.maketrans("OIL", "011"))[:32]


def new_codes(session: Session, panel: Panel, per_municipality: dict[str, int]) -> tuple[int, int]:
    """Make a batch of unique codes; returns (batch number, codes made)."""
    lock_rows(session, Panel.name, Panel.id == panel.id)  # two at once: two batch numbers
    batch = (session.scalar(select(func.max(RecruitmentCode.batch))
                            .where(RecruitmentCode.panel_id == panel.id)) or 0) + 1  # fmt: skip
    made = 0
    for place, count in per_municipality.items():
        for _n in range(count):
            code = "".join(secrets.choice(ALPHABET) for _k in range(CODE_LENGTH))
            session.add(RecruitmentCode(panel_id=panel.id, municipality_code=place, code=code,
                                        batch=batch))  # fmt: skip
            made += 1
    session.flush()  # the unique constraint refuses the (astronomically unlikely) repeat
    return batch, made


def codes_of_batch(session: Session, panel: Panel, batch: int) -> list[tuple[str, str, str]]:
    """(municipality code, municipality name, printed code) of a batch, for a mail merge."""
    rows = session.execute(
        select(RecruitmentCode.municipality_code, Municipality.name, RecruitmentCode.code)
        .join(Municipality, Municipality.code == RecruitmentCode.municipality_code)
        .where(RecruitmentCode.panel_id == panel.id, RecruitmentCode.batch == batch)
        .order_by(Municipality.name, RecruitmentCode.id)
    )
    return [(place, name, format_code(code)) for place, name, code in rows]


def find_code(session: Session, panel: Panel, typed: str) -> RecruitmentCode | None:
    code = normalise_code(typed)
    return session.scalar(
        select(RecruitmentCode).where(
            RecruitmentCode.panel_id == panel.id, RecruitmentCode.code == code
        )
    )


@dataclass
class SignUp:
    """What a person fills in on the sign-up page."""

    email: str
    birth_year: str
    gender: str
    profile: dict[str, str]

    def problems(self, panel: Panel, now: datetime | None = None) -> dict[str, str]:
        year = (now or datetime.now(UTC)).year
        found: dict[str, str] = {}
        if not is_email(self.email):
            found["email"] = _("Vul een geldig e-mailadres in, zoals naam@voorbeeld.nl.")
        born = whole_number(self.birth_year, max_digits=4)
        if born is None or not year - 110 <= born <= year - 12:
            found["geboortejaar"] = _("Vul je geboortejaar in, met vier cijfers.")
        if self.gender and self.gender not in GENDERS:
            found["geslacht"] = _("Kies een van de mogelijkheden.")
        for field in panel.profile_fields or []:
            value = self.profile.get(field["code"], "")
            if value and value not in {code for code, _label in field.get("options", [])}:
                found[f"profiel_{field['code']}"] = _("Kies een van de mogelijkheden.")
        return found


class CodeRefused(Exception):
    """The code is unknown, or was used by someone who has confirmed already."""


def sign_up(
    session: Session, panel: Panel, typed_code: str, data: SignUp
) -> tuple[Member, str | None]:
    """Make (or, for an unconfirmed sign-up with the same code, redo) the member behind a
    code; returns her and the confirmation key for the mail, or None when the same sign-up
    was just mailed (RESEND_AFTER). The code then counts as used."""
    # Before reading whom the code belongs to: two posts of one form at once (a double
    # click) then run one after the other, and the second sees the first's member.
    lock_rows(session, RecruitmentCode.member_id, RecruitmentCode.panel_id == panel.id,
              RecruitmentCode.code == normalise_code(typed_code))  # fmt: skip
    code = find_code(session, panel, typed_code)
    if code is None:
        raise CodeRefused
    member = session.get(Member, code.member_id) if code.member_id else None
    if member is not None and member.status is not MemberStatus.INVITED:
        raise CodeRefused
    email = data.email.strip().lower()
    if member is not None and member.email == email and _just_mailed(session, member):
        return member, None
    other = session.scalar(select(Member).where(Member.panel_id == panel.id, Member.email == email))
    if other is not None and other is not member:
        raise DuplicateEmail
    if member is None:
        member = Member(panel_id=panel.id, municipality_code=code.municipality_code)
        session.add(member)
    member.email = email
    member.birth_year = int(data.birth_year)  # checked by SignUp.problems
    member.gender = data.gender or None
    member.profile = {k: v for k, v in data.profile.items() if v}
    confirm = new_key()
    member.confirm_hash = key_hash(confirm)
    session.flush()
    code.member_id = member.id
    code.used_at = datetime.now(UTC)
    return member, confirm


def _just_mailed(session: Session, member: Member) -> bool:
    since = datetime.now(UTC) - RESEND_AFTER
    return session.scalar(select(Mail.id).where(
        Mail.member_id == member.id, Mail.kind == "confirm", Mail.created_at >= since
    ).limit(1)) is not None  # fmt: skip


class DuplicateEmail(Exception):
    """This address is in the panel already."""


def confirm(session: Session, key: str) -> tuple[Member | None, bool]:
    """The double opt-in: make the member active, or move her to the new address she
    asked for (then True); (None, False) for an unknown key, or one used longer ago than
    CONFIRMED_AGAIN."""
    digest = key_hash(key)
    now = datetime.now(UTC)
    # Locked first: the same link pressed twice (a double click) waits for the first press,
    # then finds the link among the used ones and confirms again.
    if lock_rows(session, Member.confirm_hash, Member.confirm_hash == digest) == 0:
        member = session.scalar(select(Member).where(
            Member.used_confirm_hash == digest, Member.confirmed_at >= now - CONFIRMED_AGAIN
        ))  # fmt: skip
        # A first confirmation sets joined_at and confirmed_at alike; a move only the latter.
        return (member, member.joined_at != member.confirmed_at) if member else (None, False)
    member = session.scalar(select(Member).where(Member.confirm_hash == digest))
    assert member is not None  # noqa: S101 - locked above
    member.confirm_hash = None
    member.used_confirm_hash, member.confirmed_at = digest, now
    moved = bool(member.pending_email)
    if member.pending_email:
        member.email, member.pending_email = member.pending_email, None
    if member.status is MemberStatus.INVITED:
        member.status = MemberStatus.ACTIVE
        member.joined_at = now
    return member, moved


def change_email(session: Session, member: Member, typed: str) -> str | None:
    """Ask to move to another address: returns the key for the confirmation mail sent
    there, None when there is nothing to mail (her own address, or the same change just
    mailed: RESEND_AFTER), or raises DuplicateEmail / ValueError. The old address stays
    until she confirms."""
    email = typed.strip().lower()
    if not is_email(email):
        raise ValueError(email)
    if email == member.email:
        return None
    if email == member.pending_email and _just_mailed(session, member):
        return None  # the same change a moment ago (a double click): its mail is on its way
    if session.scalar(select(Member.id).where(Member.panel_id == member.panel_id,
                                              Member.email == email)):  # fmt: skip
        raise DuplicateEmail
    key = new_key()
    member.pending_email = email
    member.confirm_hash = key_hash(key)
    return key


def member_by_key(session: Session, key: str, lock: bool = False) -> Member | None:
    """The member behind her personal key. With `lock`, to change her: her row is held
    until commit (database.lock_rows), so that a second press at the same moment waits and
    reads what the first did. After "delete" it finds nobody (the page that says her data
    may be gone already) instead of deleting no row, which the ORM answers with a 500;
    after a new address, its confirmation mail on its way."""
    if not key or len(key) > 64:
        return None
    if lock:
        lock_rows(session, Member.key, Member.key == key)
    return session.scalar(select(Member).where(Member.key == key))


def unsubscribe(member: Member) -> None:
    if member.status is not MemberStatus.UNSUBSCRIBED:
        member.status = MemberStatus.UNSUBSCRIBED
        member.left_at = datetime.now(UTC)


def delete_member(session: Session, member: Member) -> None:
    """Remove the profile and contact data (and the mails to her); her answers to waves
    stay, anonymous, since they were never linked to her by more than her invitation.
    Her key's hash stays behind (DeletedMember), so that her links say what happened."""
    session.add(DeletedMember(key_hash=key_hash(member.key), panel_id=member.panel_id))
    session.delete(member)


def deleted_panel(session: Session, key: str) -> Panel | None:
    """The panel of a member who deleted her data, by her personal key; else None."""
    if not key or len(key) > 64:
        return None
    gone = session.get(DeletedMember, key_hash(key))
    return session.get(Panel, gone.panel_id) if gone is not None else None


def member_data(session: Session, member: Member) -> dict[str, Any]:
    """Everything stored about a member, for her own data page."""
    place = session.get(Municipality, member.municipality_code)
    mails = session.execute(
        select(Mail.kind, Mail.created_at, Mail.sent_at, Mail.status)
        .where(Mail.member_id == member.id).order_by(Mail.id)
    ).all()  # fmt: skip
    code = session.scalar(
        select(RecruitmentCode.code).where(RecruitmentCode.member_id == member.id)
    )
    invitations = session.execute(
        select(Survey.title, Invitation.started_at, Invitation.completed_at, Invitation.draft)
        .join(Wave, Wave.id == Invitation.wave_id).join(Survey, Survey.id == Wave.survey_id)
        .where(Invitation.member_id == member.id).order_by(Invitation.id)
    ).all()  # fmt: skip
    return {"member": member, "municipality": place.name if place else member.municipality_code,
            "mails": mails, "code": format_code(code) if code else None,
            "invitations": invitations}  # fmt: skip


def external(endpoint: str, **values: Any) -> str:
    """An absolute address for mails and letters (designer.sharing.public_base)."""
    return public_base().rstrip("/") + url_for(endpoint, **values)


def confirmation_mail(panel: Panel, member: Member, key: str) -> Mail:
    """The mail with the confirmation link (and the link to her own data)."""
    links = {
        "confirm_url": external("panel.confirm", key=key),
        "data_url": external("panel.my_data", key=member.key),
        "unsubscribe_url": external("panel.unsubscribe", key=member.key),
    }
    context = {"panel": panel, "member": member, **links}
    return Mail(
        member_id=member.id,
        kind="confirm",
        to_address=member.pending_email or member.email,
        subject=_("Bevestig je aanmelding voor %(panel)s", panel=panel.name),
        text_body=render_template("panel/mail/confirm.txt", **context),
        html_body=render_template("panel/mail/confirm.html", **context),
        unsubscribe_url=links["unsubscribe_url"],
    )


def joins_and_leaves(session: Session, panel: Panel) -> list[tuple[str, int, int]]:
    """(month, members who confirmed, members who unsubscribed) per month in Dutch time (per
    UTC hour in SQL, see geo.utc_hour), for the panel's health. Members who deleted their
    data are gone, and so are not counted."""
    counts: dict[str, list[int]] = {}
    for column, slot in ((Member.joined_at, 0), (Member.left_at, 1)):
        hour = utc_hour(session, column)
        for stamp, n in session.execute(
            select(hour, func.count()).where(Member.panel_id == panel.id, column.is_not(None))
            .group_by(hour)
        ):  # fmt: skip
            counts.setdefault(dutch_hour(stamp).strftime("%Y-%m"), [0, 0])[slot] += n
    return [(m, joined, left) for m, (joined, left) in sorted(counts.items())]


def counts_per_place(form: Any, prefix: str, places: list[str]) -> tuple[dict[str, int], list[str]]:
    """The whole numbers in fields `<prefix><municipality code>` (empty is 0), those above
    0 only, and the municipalities whose field holds anything else."""
    counts = {code: whole_number(form.get(f"{prefix}{code}", "").strip() or "0") for code in places}
    bad = [code for code, n in counts.items() if n is None]
    return {code: n for code, n in counts.items() if n}, bad


def save_targets(panel: Panel, form: Any, places: list[str]) -> list[str]:
    """Members wanted per municipality, from a form of numbers; nothing is changed when a
    field is not a whole number, and those fields' municipalities are returned."""
    targets, bad = counts_per_place(form, "doel_", places)
    if not bad:
        panel.targets = targets
    return bad


PROFILE_LINE = re.compile(r"^([a-z][a-z0-9_]{0,31})\s*\|\s*([^|]{1,80}?)\s*\|\s*(.+)$")


def parse_profile_fields(text: str) -> tuple[list[dict[str, Any]], list[str]]:
    """Profile questions, one per line: `code | Label | value=Label, value=Label`.
    Returns the fields and a problem per bad line."""
    fields: list[dict[str, Any]] = []
    problems: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        found = PROFILE_LINE.match(line.strip())
        options = []
        if found:
            for part in found.group(3).split(","):
                value, _sep, label = part.partition("=")
                if re.fullmatch(r"[a-z0-9_-]{1,32}", value.strip()) and label.strip():
                    options.append([value.strip(), label.strip()[:80]])
                else:
                    options = []
                    break
        codes = {f["code"] for f in fields}
        if not found or not options or found.group(1) in codes | {"geslacht"}:
            hint = "code | Vraag | waarde=Antwoord, waarde=Antwoord"
            problems.append(_("Regel %(n)s: schrijf %(hint)s", n=number, hint=hint))
            continue
        fields.append({"code": found.group(1), "label": found.group(2), "options": options})
    return fields, problems


def profile_text(fields: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"{f['code']} | {f['label']} | " + ", ".join(f"{v}={label}" for v, label in f["options"])
        for f in fields
    )
