"""Kept counts (analysis.tally) always equal counting every answer afresh: after keeping,
with newer responses, after a response appears below the mark or goes, after an edit of the
questionnaire, for scopes and filters, and when several requests keep them at once."""

from __future__ import annotations

import random
import secrets
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, func, insert, select, update

from peiling.analysis import tally
from peiling.analysis.counting import Counts, count
from peiling.analysis.filters import Filters
from peiling.analysis.models import TallyRow, TallyState
from peiling.auth.access import Scope
from peiling.extensions import db
from peiling.surveys.definition import get_definition
from peiling.surveys.demo import synthetic_form
from peiling.surveys.flow import check_questions
from peiling.surveys.logic import visible_pages
from peiling.surveys.models import Answer, Response, Survey
from peiling.surveys.services import ResponseMeta, store_response
from tests.analysis.test_results import generated  # noqa: F401 - the fixture

EVERYTHING = Scope(None, True)
NO_FILTERS = Filters()


def plain(counts: Counts) -> dict[str, object]:
    """Counts as plain dicts without zeros, to compare two of them."""
    out: dict[str, object] = {"id_sum": counts.id_sum}
    for name in ("responses", "answers", "sums", "pickers", "days", "sources"):
        out[name] = {k: v for k, v in getattr(counts, name).items() if v not in (0, (0, 0.0))}
    return out


def afresh(defn, scope=EVERYTHING, filters=NO_FILTERS):  # type: ignore[no-untyped-def]
    return plain(count(db.session, defn, scope, filters))


def kept(defn, scope=EVERYTHING, filters=NO_FILTERS, now=None):  # type: ignore[no-untyped-def]
    return plain(tally.counted(db.session, defn, scope, filters, now))


def state(survey_id: int) -> TallyState | None:
    db.session.expire_all()
    return db.session.get(TallyState, survey_id)


def add_responses(defn, n: int, when: datetime, seed: int = 9) -> list[int]:  # type: ignore[no-untyped-def]
    rng = random.Random(seed)
    ids = []
    for _ in range(n):
        form = synthetic_form(rng)
        answers, problems = check_questions(defn, visible_pages(defn, form), form)
        assert not problems
        meta = ResponseMeta(secrets.token_urlsafe(24), "later", submitted_at=when)
        ids.append(store_response(db.session, defn, answers, meta))
    return ids


def test_kept_counts_equal_counting_afresh(app, generated) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    survey, posted = generated
    with app.app_context():
        defn = get_definition(db.session, db.session.get(Survey, survey.id))
        assert state(survey.id) is None
        first = kept(defn)  # counts everything and keeps the counts
        kept_state = state(survey.id)
        assert kept_state is not None
        assert kept_state.responses == len(posted) == sum(first["responses"].values())  # type: ignore[attr-defined]
        assert kept_state.upto_id == db.session.scalar(select(func.max(Response.id)))
        rows = db.session.scalar(select(func.count()).select_from(TallyRow))
        assert rows and rows > 50
        assert first == afresh(defn)
        again = kept(defn)  # now from the kept counts: same figures, nothing re-kept
        assert again == first
        assert state(survey.id).counted_at == kept_state.counted_at  # type: ignore[union-attr]


def test_newer_responses_are_added_then_kept_once_settled(app, generated, monkeypatch) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    survey, _posted = generated
    with app.app_context():
        defn = get_definition(db.session, db.session.get(Survey, survey.id))
        kept(defn)
        mark = state(survey.id).upto_id  # type: ignore[union-attr]
        now = datetime.now(UTC)
        new = add_responses(defn, 12, now)
        assert kept(defn, now=now) == afresh(defn)  # counted on the fly, not kept yet
        assert state(survey.id).upto_id == mark  # type: ignore[union-attr]
        later = now + tally.SETTLE + timedelta(seconds=1)
        assert kept(defn, now=later) == afresh(defn)  # settled, but fewer than FOLD_AT
        assert state(survey.id).upto_id == mark  # type: ignore[union-attr]
        monkeypatch.setattr(tally, "FOLD_AT", 10)
        assert kept(defn, now=later) == afresh(defn)
        assert state(survey.id).upto_id == max(new)  # type: ignore[union-attr]
        assert kept(defn, now=later) == afresh(defn)


def test_a_response_that_goes_or_appears_below_the_mark_is_noticed(app, generated) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    survey, _posted = generated
    with app.app_context():
        defn = get_definition(db.session, db.session.get(Survey, survey.id))
        kept(defn)
        mark = state(survey.id).upto_id  # type: ignore[union-attr]
        gone = mark - 7
        response = db.session.get(Response, gone)
        saved = {c.name: getattr(response, c.name) for c in Response.__table__.columns}
        answers = [
            {c.name: getattr(a, c.name) for c in Answer.__table__.columns if c.name != "id"}
            for a in db.session.scalars(select(Answer).where(Answer.response_id == gone))
        ]
        db.session.execute(delete(Answer).where(Answer.response_id == gone))
        db.session.execute(delete(Response).where(Response.id == gone))
        db.session.commit()
        assert kept(defn) == afresh(defn)  # noticed, counted afresh and kept again
        assert state(survey.id).responses == 299  # type: ignore[union-attr]
        # Now the same response comes back below the mark, as a late commit would.
        db.session.execute(insert(Response).values(saved))
        db.session.execute(insert(Answer), answers)
        db.session.commit()
        assert kept(defn) == afresh(defn)
        assert state(survey.id).responses == 300  # type: ignore[union-attr]


def test_an_edited_questionnaire_is_counted_afresh(app, generated) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    survey, _posted = generated
    with app.app_context():
        defn = get_definition(db.session, db.session.get(Survey, survey.id))
        kept(defn)
        db.session.execute(update(TallyRow).where(TallyRow.kind == "r").values(n=TallyRow.n + 1000))
        db.session.execute(update(TallyState).values(revision="an-older-one"))
        db.session.commit()
        assert kept(defn) == afresh(defn)
        assert state(survey.id).revision == defn.revision  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("scope", "filters"),
    [
        (Scope(frozenset({"GM0114"}), True), Filters()),
        (Scope(frozenset({"GM0114", "GM0106"}), True), Filters(municipalities=("GM0106",))),
        (EVERYTHING, Filters(municipalities=("GM1680", "GM0119"))),
        (EVERYTHING, Filters(age_band="16-19")),  # not from the kept counts
        (EVERYTHING, Filters(source="school")),
    ],
)
def test_scopes_and_filters_give_what_counting_afresh_gives(app, generated, scope, filters) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    survey, _posted = generated
    with app.app_context():
        defn = get_definition(db.session, db.session.get(Survey, survey.id))
        kept(defn)
        narrowed = kept(defn, scope, filters)
        expected = afresh(defn, scope, filters)
        narrowed["id_sum"] = expected["id_sum"] = 0  # a selection carries no id sum
        assert narrowed == expected
        assert sum(narrowed["responses"].values()) > 0  # type: ignore[attr-defined]


def test_requests_keeping_counts_at_once_leave_one_set(app, generated) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    survey, posted = generated
    with app.app_context():
        defn = get_definition(db.session, db.session.get(Survey, survey.id))
        expected = afresh(defn)
    seen, errors = [], []
    start = threading.Barrier(4)

    def view() -> None:
        try:
            with app.app_context():
                start.wait(timeout=10)
                seen.append(kept(defn))
                db.session.remove()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=view) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    assert seen == [expected] * 4
    with app.app_context():
        responses = db.session.scalar(select(func.sum(TallyRow.n)).where(TallyRow.kind == "r"))
        assert responses == len(posted)  # one set of rows, not two
        assert kept(defn) == expected
