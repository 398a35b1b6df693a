"""Every moment a person reads is in Dutch time, as it was typed.

Moments are stored in UTC. The "opens at" page, the designer's list, the invitation mail
and a member's own data printed them as stored: a poll opening at 00:30 on 1 June said it
opened on 31 May at 22:30, two hours and a day early.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from peiling.extensions import db
from peiling.geo import dutch_time
from peiling.panel import waves
from peiling.panel.models import Mail, Member, MemberStatus, Panel, Wave
from peiling.surveys.models import Survey
from tests.panel.fixtures import member_and_wave

SUMMER_NIGHT = "2027-06-01T00:30:00+02:00"  # 2027-05-31 22:30 UTC
WINTER_MORNING = "2027-12-01T09:00:00+01:00"  # 08:00 UTC


def test_dutch_time_reads_stored_moments_with_or_without_their_zone() -> None:
    assert dutch_time(datetime(2027, 5, 31, 22, 30)) == "01-06-2027 00:30"  # SQLite: naive UTC
    assert dutch_time(datetime(2027, 5, 31, 22, 30, tzinfo=UTC)) == "01-06-2027 00:30"
    assert dutch_time(datetime(2027, 12, 1, 8, 0, tzinfo=UTC)) == "01-12-2027 09:00"  # winter
    assert dutch_time(datetime(2027, 3, 28, 0, 59, tzinfo=UTC), "%H:%M") == "01:59"
    assert dutch_time(datetime(2027, 3, 28, 1, 0, tzinfo=UTC), "%H:%M") == "03:00"  # DST starts


def test_a_poll_not_yet_open_says_when_in_dutch_time(client, make_survey) -> None:  # type: ignore[no-untyped-def]
    make_survey(slug="nachtpeiling", status="open", opens_at=SUMMER_NIGHT)
    page = client.get("/p/nachtpeiling").get_data(as_text=True)
    assert "De peiling opent op 01-06-2027 om 00:30." in page


def test_the_designers_list_shows_open_and_close_in_dutch_time(logged_in, make_survey) -> None:  # type: ignore[no-untyped-def]
    make_survey(slug="tijden", status="draft", opens_at=SUMMER_NIGHT, closes_at=WINTER_MORNING)
    page = logged_in("researcher").get("/ontwerp/").get_data(as_text=True)
    assert "01-06-2027 00:30 – 01-12-2027 09:00" in page
    # And the editor's fields hold the same moments.
    editor = logged_in("researcher").get("/ontwerp/tijden").get_data(as_text=True)
    assert 'name="opens_at" type="datetime-local" value="2027-06-01T00:30"' in editor


def test_the_invitation_says_when_the_poll_closes_in_dutch_time(app, panel, make_survey) -> None:  # type: ignore[no-untyped-def]
    pages = [{"questions": [{"code": "stem", "type": "yes_no", "text": "Ga je stemmen?"}]}]
    survey = make_survey(pages=pages, slug="sluiting", kind="panel", region="groningen",
                         closes_at=SUMMER_NIGHT)  # fmt: skip
    wave_id = member_and_wave(app, panel, survey)
    with app.test_request_context():  # the mail's links are made from the request's address
        wave = db.session.get(Wave, wave_id)
        (mail_id,) = waves.queue_mails(db.session, wave, "invitation")
        db.session.commit()
        mail = db.session.get(Mail, mail_id)
        for body in (mail.text_body, mail.html_body):
            assert "De vragenlijst sluit op 01-06-2027 om 00:30." in body


def test_a_members_own_data_are_dated_in_dutch_time(app, client, panel) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        member = Member(panel_id=panel.id, email="n@example.nl", municipality_code="GM0014",
                        birth_year=1980, status=MemberStatus.ACTIVE,
                        created_at=datetime(2027, 1, 1, 23, 30, tzinfo=UTC),
                        joined_at=datetime(2027, 1, 1, 23, 45, tzinfo=UTC))  # fmt: skip
        db.session.add(member)
        db.session.commit()
        key = db.session.scalar(sa.select(Member.key).where(Member.email == "n@example.nl"))
    page = client.get(f"/panel/mijn-gegevens/{key}").get_data(as_text=True)
    assert "<dd>02-01-2027</dd>" in page  # signed up and confirmed after midnight, Dutch time
    assert "01-01-2027" not in page


def test_a_poll_opens_at_the_moment_typed_on_either_database(app, make_survey) -> None:  # type: ignore[no-untyped-def]
    # SQLite keeps a moment's wall time and drops its offset: 09:00+02:00 was stored as
    # 09:00 and read back as 09:00 UTC, so the poll opened (and closed) two hours late.
    from peiling.surveys.services import Availability, availability

    made = make_survey(slug="om-negen", status="open", opens_at="2027-06-01T09:00:00+02:00",
                       closes_at="2027-06-01T17:00:00+02:00")  # fmt: skip
    at = {  # UTC -> open or not
        datetime(2027, 6, 1, 6, 59, tzinfo=UTC): Availability.NOT_YET_OPEN,
        datetime(2027, 6, 1, 7, 0, tzinfo=UTC): Availability.OPEN,  # 09:00 Dutch time
        datetime(2027, 6, 1, 14, 59, tzinfo=UTC): Availability.OPEN,
        datetime(2027, 6, 1, 15, 0, tzinfo=UTC): Availability.CLOSED,  # 17:00 Dutch time
    }
    with app.app_context():
        survey = db.session.get(Survey, made.id)
        for now, expected in at.items():
            assert availability(survey, now) is expected, now
            # The submission's own check, in SQL (surveys.services._still_open).
            in_sql = db.session.scalar(sa.select(sa.func.count()).where(
                Survey.id == made.id, Survey.opens_at <= now, Survey.closes_at > now))  # fmt: skip
            assert in_sql == (expected is Availability.OPEN), now


def test_the_panels_joins_and_leaves_fall_in_dutch_months(app, panel) -> None:  # type: ignore[no-untyped-def]
    from peiling.panel.services import joins_and_leaves

    moments = [  # (joined, left), UTC
        (datetime(2027, 5, 31, 21, 30, tzinfo=UTC), None),  # 23:30 on 31 May, Dutch time
        (datetime(2027, 5, 31, 22, 30, tzinfo=UTC), None),  # 00:30 on 1 June
        (datetime(2027, 6, 2, 12, 0, tzinfo=UTC), datetime(2027, 6, 30, 22, 30, tzinfo=UTC)),
    ]
    with app.app_context():
        for n, (joined, left) in enumerate(moments):
            db.session.add(Member(panel_id=panel.id, email=f"m{n}@example.nl",
                                  municipality_code="GM0014", birth_year=1980,
                                  status=MemberStatus.ACTIVE,
                                  joined_at=joined, left_at=left))  # fmt: skip
        db.session.commit()
        months = joins_and_leaves(db.session, db.session.get(Panel, panel.id))
    assert months == [("2027-05", 1, 0), ("2027-06", 2, 0), ("2027-07", 0, 1)]
