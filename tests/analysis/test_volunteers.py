"""The volunteers page: contact details only with the permission, only for one's own
municipalities, every look in the audit log."""

from __future__ import annotations

import sqlalchemy as sa

from peiling.auth.models import AuditEvent
from peiling.extensions import db
from tests.analysis.test_dashboard import short_form, store


def volunteer(place: str, name: str, acts: list[str]) -> dict[str, list[str]]:
    return {**short_form("17", place), "q_helpen": ["ja"], "q_helpen__naam": [name],
            "q_helpen__email": [f"{name.split()[0].lower()}@example.org"],
            "q_helpen__act": acts}  # fmt: skip


def test_coordinator_sees_her_municipalitys_volunteers(app, demo_survey, logged_in) -> None:  # type: ignore[no-untyped-def]
    store(app, demo_survey, [
        volunteer("GM0114", "Sanne Bakker", ["sport"]),
        volunteer("GM0114", "Daan <script>alert(1)</script>", ["muziek", "sport"]),
        volunteer("GM0106", "Femke Assen", ["muziek"]),
        {**short_form("15", "GM0114"), "q_helpen": ["nee"]},
    ])  # fmt: skip
    client = logged_in("analyst_emmen")
    page = client.get(f"/analysis/{demo_survey.slug}/vrijwilligers")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert "2 vrijwilligers" in html and "sanne@example.org" in html
    assert "Femke" not in html and "Assen" not in html  # another municipality
    assert "<script>alert(1)</script>" not in html and "Daan &lt;script&gt;" in html
    html = client.get(f"/analysis/{demo_survey.slug}/vrijwilligers?activiteit=muziek").get_data(
        as_text=True
    )
    assert "1 vrijwilliger" in html and "Daan" in html and "Sanne" not in html
    # Asking for another municipality in the URL gives nothing of it.
    html = client.get(f"/analysis/{demo_survey.slug}/vrijwilligers?gemeente=GM0106").get_data(
        as_text=True
    )
    assert "0 vrijwilligers" in html and "Femke" not in html
    with app.app_context():
        events = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "viewed_volunteers")
        ).all()
    assert [(e.actor, e.target, e.detail["shown"]) for e in events] == [
        ("analyst-emmen@provincie.nl", demo_survey.slug, 2),
        ("analyst-emmen@provincie.nl", demo_survey.slug, 1),
        ("analyst-emmen@provincie.nl", demo_survey.slug, 0),
    ]
    everyone = logged_in("analyst").get(f"/analysis/{demo_survey.slug}/vrijwilligers")
    assert "3 vrijwilligers" in everyone.get_data(as_text=True)


def test_without_the_permission_no_contact_details_anywhere(app, demo_survey, logged_in) -> None:  # type: ignore[no-untyped-def]
    store(app, demo_survey, [volunteer("GM0114", "Sanne Bakker", ["sport"])])
    client = logged_in("analyst_no_volunteers")
    assert client.get(f"/analysis/{demo_survey.slug}/vrijwilligers").status_code == 403
    html = client.get(f"/analysis/{demo_survey.slug}/").get_data(as_text=True)
    assert "vrijwilligers" not in html and "Sanne" not in html and "sanne@" not in html
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "viewed_volunteers")) == 0  # fmt: skip
