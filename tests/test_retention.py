"""Retention: volunteers' contact details go a set number of days after their survey
closed; the answers stay, and open surveys keep theirs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from peiling.designer import services as designer
from peiling.extensions import db
from peiling.surveys.models import Survey
from tests.surveys.test_form import complete


def counts(app) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    with app.app_context():
        return tuple(db.session.execute(sa.text(  # type: ignore[return-value]
            "SELECT (SELECT count(*) FROM volunteer), (SELECT count(*) FROM response), "
            "(SELECT count(*) FROM answer)")).one())  # fmt: skip


def test_purge_removes_contact_details_after_the_retention_period(
    app, demo_survey, respondent, runner, make_survey
) -> None:  # type: ignore[no-untyped-def]
    complete(respondent(demo_survey.slug))
    volunteers, responses, answers = counts(app)
    assert volunteers == 1
    result = runner.invoke(args=["purge"])
    assert "0 vrijwilligers verwijderd" in result.output  # still open: kept
    with app.app_context():
        survey = db.session.get(Survey, demo_survey.id)
        designer.close(survey)
        survey.closed_at = datetime.now(UTC) - timedelta(days=89)
        db.session.commit()
    assert "0 vrijwilligers" in runner.invoke(args=["purge"]).output  # 89 of 90 days
    with app.app_context():
        db.session.get(Survey, demo_survey.id).closed_at = datetime.now(UTC) - timedelta(days=91)
        db.session.commit()
    result = runner.invoke(args=["purge"])
    assert result.exit_code == 0 and "1 vrijwilligers verwijderd" in result.output
    assert counts(app) == (0, responses, answers)  # the answers stay, anonymous


def test_a_planned_close_counts_too_and_reopening_clears_it(
    app, demo_survey, respondent, runner
) -> None:  # type: ignore[no-untyped-def]
    complete(respondent(demo_survey.slug))
    with app.app_context():
        survey = db.session.get(Survey, demo_survey.id)
        designer.close(survey)
        assert survey.closed_at is not None
        designer.reopen(db.session, survey)
        assert survey.closed_at is None
        survey.closes_at = datetime.now(UTC) - timedelta(days=10)
        db.session.commit()
    assert "0 vrijwilligers" in runner.invoke(args=["purge", "--days", "30"]).output
    assert "1 vrijwilligers" in runner.invoke(args=["purge", "--days", "7"]).output
