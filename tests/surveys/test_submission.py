"""The final POST is answered from the worker's cached definition; the insert re-checks it.

store_response() verifies in the same transaction (on PostgreSQL in the same statement)
that the survey is still open and at the cached revision, so these tests change the
survey in the database behind the cache's back, as another worker or the designer would.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from peiling import database
from peiling.extensions import db
from peiling.surveys import definition
from peiling.surveys.models import Survey
from tests.conftest import count_rows
from tests.surveys.test_form import ALL, PAGE_1, PAGE_2


def change_survey(app, survey_id: int, **columns: object) -> None:  # type: ignore[no-untyped-def]
    assignments = ", ".join(f"{name} = :{name}" for name in columns)
    with app.app_context():
        db.session.execute(
            sa.text(f"UPDATE survey SET {assignments} WHERE id = :id"),  # noqa: S608
            {**columns, "id": survey_id},
        )
        db.session.commit()


def ready_to_send(respondent, slug: str):  # type: ignore[no-untyped-def]
    """A respondent on the last page: the definition is cached in this process by now."""
    r = respondent(slug)
    r.open()
    assert r.post(0, PAGE_1).status_code == 200
    assert r.post(1, {**PAGE_1, **PAGE_2}).status_code == 200
    return r


def test_survey_closed_after_caching_stores_nothing(app, demo_survey, respondent) -> None:  # type: ignore[no-untyped-def]
    r = ready_to_send(respondent, demo_survey.slug)
    change_survey(app, demo_survey.id, status="closed")
    page = r.post(2, ALL)
    assert page.status_code == 410
    assert "Deze peiling is gesloten" in page.get_data(as_text=True)
    assert count_rows(app, "response") == 0 and count_rows(app, "answer") == 0
    assert count_rows(app, "volunteer") == 0


def test_closing_time_passed_after_caching_stores_nothing(app, demo_survey, respondent) -> None:  # type: ignore[no-untyped-def]
    r = ready_to_send(respondent, demo_survey.slug)
    with app.app_context():  # through the model, so each database stores its own format
        survey = db.session.get(Survey, demo_survey.id)
        survey.closes_at = datetime.now(UTC) - timedelta(seconds=1)
        db.session.commit()
    page = r.post(2, ALL)
    assert page.status_code == 410
    assert count_rows(app, "response") == 0


def test_survey_edited_after_caching_validates_against_the_new_version(
    app, demo_survey, respondent
) -> None:  # type: ignore[no-untyped-def]
    r = ready_to_send(respondent, demo_survey.slug)
    with app.app_context():
        db.session.execute(
            sa.text(
                "UPDATE question SET required = :t WHERE code = 'opmerking' AND survey_id = :id"
            ),
            {"t": True, "id": demo_survey.id},
        )
        db.session.commit()
    change_survey(app, demo_survey.id, revision="edited-revision")
    # The comment became required: without it, the page comes back with the new rule.
    page = r.post(2, {k: v for k, v in ALL.items() if k != "q_opmerking"})
    assert page.status_code == 422
    assert "Wil je nog iets kwijt" in page.get_data(as_text=True)
    assert count_rows(app, "response") == 0
    assert r.post(2, ALL).status_code == 303
    assert count_rows(app, "response") == 1


def test_pages_before_the_last_are_not_served_from_the_cache(app, demo_survey, respondent) -> None:  # type: ignore[no-untyped-def]
    r = respondent(demo_survey.slug)
    r.open()
    change_survey(app, demo_survey.id, status="closed")
    page = r.post(0, PAGE_1)
    assert page.status_code == 410


@pytest.fixture
def statements(app):  # type: ignore[no-untyped-def]
    """Every SQL statement the app's engine runs while the fixture is active."""
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        seen.append(statement)

    with app.app_context():
        engine = db.engine

    def raw(statement, _parameters) -> None:  # type: ignore[no-untyped-def]
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    database.statement_listeners.append(raw)
    yield seen
    database.statement_listeners.remove(raw)
    event.remove(engine, "before_cursor_execute", record)


def test_a_warm_submission_is_one_statement_on_postgresql(
    app, demo_survey, respondent, statements
) -> None:  # type: ignore[no-untyped-def]
    r = ready_to_send(respondent, demo_survey.slug)
    statements.clear()
    assert r.post(2, ALL).status_code == 303
    with app.app_context():
        dialect = db.engine.dialect.name
    if dialect == "postgresql":
        assert len(statements) == 1
        assert statements[0].lstrip().startswith("WITH s AS")
    else:  # SQLite: the survey check, then only inserts, in one transaction
        assert statements[0].lstrip().startswith("SELECT survey.id")
        assert all(s.startswith("INSERT INTO") for s in statements[1:])
        assert {s.split()[2] for s in statements[1:]} == {"response", "answer", "volunteer"}
    assert count_rows(app, "response") == 1 and count_rows(app, "answer") == 10


def test_a_dropped_database_connection_is_retried_once(app, demo_survey, respondent) -> None:  # type: ignore[no-untyped-def]
    """After a database restart every kept connection is dead; nobody should notice."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite has no server connection to lose")
    first = ready_to_send(respondent, demo_survey.slug)
    assert first.post(2, ALL).status_code == 303  # the writer now keeps a connection
    with app.app_context():
        kept = list(database._writer()._idle)
        assert kept
        for conn in kept:
            db.session.execute(
                sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": conn.info.backend_pid}
            )
        db.session.commit()
    first.client.delete_cookie(f"peiling_{demo_survey.id}", path=f"/p/{demo_survey.slug}")
    second = ready_to_send(respondent, demo_survey.slug)
    assert second.post(2, ALL).status_code == 303
    assert count_rows(app, "response") == 2 and count_rows(app, "answer") == 20


def test_a_page_view_runs_at_most_three_queries_even_cold(
    app, demo_survey, client, statements
) -> None:  # type: ignore[no-untyped-def]
    definition.clear_cache()  # as in a worker that has not shown this poll yet
    assert client.get(f"/p/{demo_survey.slug}").status_code == 200
    cold = list(statements)
    statements.clear()
    assert client.get(f"/p/{demo_survey.slug}").status_code == 200
    assert len(cold) <= 3, cold
    assert len(statements) == 1 and "FROM survey" in statements[0]
    # The cold definition is complete: every page, question and option arrived in one query.
    defn = definition.last_served(demo_survey.slug)
    assert [len(p.questions) for p in defn.pages] == [2, 4, 2]
    assert [o.code for o in defn.by_code["activiteiten"].options][-1] == "anders"
    assert len(defn.by_code["gemeente"].options) == 12


def test_an_edit_applies_to_the_next_page_posted(app, demo_survey, respondent) -> None:  # type: ignore[no-untyped-def]
    r = respondent(demo_survey.slug)
    r.open()
    assert r.post(0, PAGE_1).status_code == 200  # the definition is cached by now
    with app.app_context():
        db.session.execute(
            sa.text(
                "UPDATE question SET required = :f WHERE code = 'genoeg_te_doen' "
                "AND survey_id = :id"
            ),
            {"f": False, "id": demo_survey.id},
        )
        db.session.commit()
    change_survey(app, demo_survey.id, revision="edited-revision")
    without = {k: v for k, v in PAGE_2.items() if k != "q_genoeg_te_doen"}
    page = r.post(1, {**PAGE_1, **without})
    assert page.status_code == 200  # no longer required: on to the last page
    assert "Tot slot" in page.get_data(as_text=True)
