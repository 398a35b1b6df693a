"""Counting answers per question, option and municipality: one GROUP BY on an index."""

from __future__ import annotations

from collections import Counter

import sqlalchemy as sa

from peiling.analysis.services import option_counts, survey_overview
from peiling.extensions import db
from peiling.surveys.models import Answer


def test_option_counts_match_the_stored_answers(app, runner) -> None:  # type: ignore[no-untyped-def]
    assert runner.invoke(args=["demo", "--responses", "120", "--seed", "1"]).exit_code == 0
    with app.app_context():
        survey_id = db.session.execute(sa.text("SELECT id FROM survey")).scalar()
        rows = option_counts(db.session, survey_id)
        truth = Counter(
            (a.question_id, a.option_id, a.municipality_code)
            for a in db.session.scalars(sa.select(Answer))
            if a.option_id is not None
        )
        overview = survey_overview(db.session)
    assert {(q, o, m): n for q, o, m, n in rows} == dict(truth)
    assert [(s.slug, s.responses) for s in overview] == [("jongerenpeiling-demo", 120)]


def test_grouped_count_uses_the_covering_index(app) -> None:  # type: ignore[no-untyped-def]
    stmt = (
        "SELECT question_id, option_id, municipality_code, count(*) FROM answer "
        "WHERE survey_id = 1 GROUP BY question_id, option_id, municipality_code"
    )
    with app.app_context(), db.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            plan = " ".join(str(r[-1]) for r in conn.execute(sa.text("EXPLAIN QUERY PLAN " + stmt)))
            assert "COVERING INDEX ix_answer_counts" in plan
        else:
            # Tiny test tables make a sequential scan cheapest; what matters is that the
            # index can serve the whole GROUP BY (index-only or bitmap, by table statistics).
            conn.execute(sa.text("SET enable_seqscan = off"))
            plan = " ".join(r[0] for r in conn.execute(sa.text("EXPLAIN " + stmt)))
            assert "ix_answer_counts" in plan and "Seq Scan" not in plan
