"""Counts kept per survey, so that a results page does not recount every answer each time.

Counting all answers of a large poll takes seconds at a million responses, and staff open
the results page again and again while the poll runs. Counts are additive
(analysis.counting), so the counts of the responses up to some id are kept (tally_row),
and a view adds to them the counts of only the responses after that id.

The kept counts are extended once FOLD_AT newer responses have settled: submitted more
than SETTLE ago. A response is stored in one short transaction, so by then no response
with a lower id can still appear. Even so every view first checks that the kept counts
hold (as many responses up to the mark, with the same sum of ids, as were counted, and the
same questionnaire revision) and counts afresh when they do not; a late commit, a removed
response or an edited questionnaire never shows a wrong figure.

Only views without age, source or date filters use the kept counts: they are per
municipality, so a scope or a municipality filter is a selection of them. Other views
count from the tables, as before.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from peiling.analysis.counting import Counts, count
from peiling.analysis.filters import Filters, visible_municipalities
from peiling.analysis.models import TallyRow, TallyState
from peiling.auth.access import Scope
from peiling.surveys.definition import SurveyDef
from peiling.surveys.models import Response

log = logging.getLogger(__name__)

SETTLE = timedelta(seconds=60)
FOLD_AT = 500
EVERYTHING = Scope(None, True)


def counted(
    session: Session, defn: SurveyDef, scope: Scope, filters: Filters, now: datetime | None = None
) -> Counts:
    """The counts of the responses in view: from the kept counts where the filters allow."""
    if filters.needs_responses or filters.after_id is not None or filters.upto_id is not None:
        return count(session, defn, scope, filters)
    return survey_counts(session, defn, now).within(visible_municipalities(scope, filters))


def survey_counts(session: Session, defn: SurveyDef, now: datetime | None = None) -> Counts:
    """The counts of all the survey's responses: kept counts plus the newer responses'."""
    state, kept = _kept(session, defn)
    upto = state.upto_id if state is not None else 0
    horizon = (now or datetime.now(UTC)) - SETTLE
    settled = session.scalar(
        select(Response.id)
        .where(Response.survey_id == defn.id, Response.id > upto, Response.submitted_at < horizon)
        .order_by(Response.id.desc())
        .limit(1)
    )
    if settled is None:
        return kept.add(count(session, defn, EVERYTHING, Filters(after_id=upto)))
    older = count(session, defn, EVERYTHING, Filters(after_id=upto, upto_id=settled))
    newer = count(session, defn, EVERYTHING, Filters(after_id=settled))
    kept.add(older)
    if state is None or sum(older.responses.values()) >= FOLD_AT:
        _keep(session, defn, kept, settled, state)
    return kept.add(newer)


def _kept(session: Session, defn: SurveyDef) -> tuple[TallyState | None, Counts]:
    """The kept counts and their state, if they still hold; else (None, no counts)."""
    # State and rows in one statement: a concurrent _keep() replaces both in one
    # transaction, so they always belong together.
    rows = session.execute(
        select(
            TallyState.revision,
            TallyState.upto_id,
            TallyState.responses,
            TallyState.id_sum,
            TallyRow.kind,
            TallyRow.question_id,
            TallyRow.key,
            TallyRow.place,
            TallyRow.n,
            TallyRow.total,
        )
        .join(TallyRow, TallyRow.survey_id == TallyState.survey_id)
        .where(TallyState.survey_id == defn.id)
    ).all()
    if not rows or rows[0].revision != defn.revision:
        return None, Counts()
    first = rows[0]
    responses, id_sum = session.execute(
        select(func.count(), func.coalesce(func.sum(Response.id), 0)).where(
            Response.survey_id == defn.id, Response.id <= first.upto_id
        )
    ).one()
    if responses != first.responses or int(id_sum) != first.id_sum:
        log.info("kept counts of survey %s no longer hold; counting afresh", defn.id)
        return None, Counts()
    state = TallyState(
        survey_id=defn.id,
        revision=first.revision,
        upto_id=first.upto_id,
        responses=first.responses,
        id_sum=first.id_sum,
    )
    return state, _unflatten(rows)


def _keep(
    session: Session, defn: SurveyDef, counts: Counts, upto: int, previous: TallyState | None
) -> None:
    """Store `counts` as the kept counts up to response `upto`.

    With `previous` (the kept counts these extend) only if they are still the kept ones:
    another request may have extended them meanwhile. The state row is written first, so
    that concurrent writers queue on its lock before touching the rows, and never leave
    two sets of rows behind. Failing to keep counts costs only time: errors are logged and
    passed over. A session of its own, so nothing of the request's own is committed."""
    values = {
        "revision": defn.revision,
        "upto_id": upto,
        "responses": sum(counts.responses.values()),
        "id_sum": counts.id_sum,
        "counted_at": datetime.now(UTC),
    }
    state = update(TallyState).where(TallyState.survey_id == defn.id).values(values)
    if previous is not None:
        state = state.where(
            TallyState.upto_id == previous.upto_id,
            TallyState.responses == previous.responses,
            TallyState.id_sum == previous.id_sum,
        )
    with Session(bind=session.get_bind()) as writer:
        try:
            if not writer.execute(state).rowcount:  # type: ignore[attr-defined]
                if previous is not None:
                    writer.rollback()  # extended by another request meanwhile
                    return
                writer.execute(insert(TallyState).values(survey_id=defn.id, **values))
            writer.execute(delete(TallyRow).where(TallyRow.survey_id == defn.id))
            writer.execute(insert(TallyRow), _flatten(defn.id, counts))
            writer.commit()
        except SQLAlchemyError as exc:
            writer.rollback()
            log.info("kept counts of survey %s not stored: %s", defn.id, type(exc).__name__)


def _flatten(survey_id: int, counts: Counts) -> list[dict[str, object]]:
    def row(kind: str, question: int | None, key: str | None, place: str | None,
            n: int, total: float | None = None) -> dict[str, object]:  # fmt: skip
        return {"survey_id": survey_id, "kind": kind, "question_id": question, "key": key,
                "place": place, "n": n, "total": total}  # fmt: skip

    rows = [row("r", None, None, p, n) for p, n in counts.responses.items()]
    rows += [row("a", q, code, p, n) for (q, code, p), n in counts.answers.items()]
    rows += [row("s", q, None, p, n, total) for (q, p), (n, total) in counts.sums.items()]
    rows += [row("m", q, None, p, n) for (q, p), n in counts.pickers.items()]
    rows += [row("d", None, day, p, n) for (p, day), n in counts.days.items()]
    rows += [row("o", None, source, p, n) for (p, source), n in counts.sources.items()]
    return rows


def _unflatten(rows: list) -> Counts:  # type: ignore[type-arg]
    counts = Counts(id_sum=rows[0].id_sum)
    for r in rows:
        if r.kind == "r":
            counts.responses[r.place] = r.n
        elif r.kind == "a":
            counts.answers[(r.question_id, r.key, r.place)] = r.n
        elif r.kind == "s":
            counts.sums[(r.question_id, r.place)] = (r.n, float(r.total or 0))
        elif r.kind == "m":
            counts.pickers[(r.question_id, r.place)] = r.n
        elif r.kind == "d":
            counts.days[(r.place, r.key)] = r.n
        elif r.kind == "o":
            counts.sources[(r.place, r.key)] = r.n
    return counts
