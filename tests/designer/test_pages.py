"""The designer's survey list: publish, close, reopen and duplicate through the pages."""

from __future__ import annotations

import sqlalchemy as sa

from peiling.auth.models import AuditEvent
from peiling.extensions import db
from peiling.surveys.models import Survey, SurveyStatus
from tests.auth.fixtures import csrf_of


def status_of(app, slug: str) -> SurveyStatus:  # type: ignore[no-untyped-def]
    with app.app_context():
        return db.session.scalar(sa.select(Survey.status).where(Survey.slug == slug))


def test_lifecycle_and_duplicate_through_the_pages(app, logged_in, make_survey) -> None:  # type: ignore[no-untyped-def]
    draft = make_survey(slug="zomer-2027", status="draft", title="Zomer 2027")
    client = logged_in("researcher")
    page = client.get("/ontwerp/").get_data(as_text=True)
    assert "Zomer 2027" in page and "Concept" in page and "/p/zomer-2027" in page
    csrf = csrf_of(page)
    assert (
        client.post("/ontwerp/zomer-2027/publiceren", data={"csrf_token": csrf}).status_code == 302
    )
    assert status_of(app, draft.slug) is SurveyStatus.OPEN
    assert client.get("/p/zomer-2027").status_code == 200  # respondents can answer now
    client.post("/ontwerp/zomer-2027/sluiten", data={"csrf_token": csrf})
    assert status_of(app, draft.slug) is SurveyStatus.CLOSED
    assert client.get("/p/zomer-2027").status_code == 410
    client.post("/ontwerp/zomer-2027/heropenen", data={"csrf_token": csrf})
    assert status_of(app, draft.slug) is SurveyStatus.OPEN
    copied = client.post(
        "/ontwerp/zomer-2027/kopie", data={"csrf_token": csrf, "slug": "zomer-2028"}
    )
    assert copied.status_code == 302
    assert status_of(app, "zomer-2028") is SurveyStatus.DRAFT
    taken = client.post(
        "/ontwerp/zomer-2027/kopie", data={"csrf_token": csrf, "slug": "zomer-2028"}
    )
    assert taken.status_code == 422  # the list again, with the reason and the slug typed
    assert "is al in gebruik door een andere vragenlijst" in taken.get_data(as_text=True)
    with app.app_context():
        actions = db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert [a for a in actions if a != "login"] == ["published", "closed", "reopened", "duplicated"]


def test_lifecycle_needs_the_csrf_token(app, logged_in, make_survey) -> None:  # type: ignore[no-untyped-def]
    make_survey(slug="zonder-token", status="draft")
    client = logged_in("researcher")
    assert client.post("/ontwerp/zonder-token/publiceren").status_code == 400
    assert status_of(app, "zonder-token") is SurveyStatus.DRAFT
