"""Results per question and municipality, checked against figures computed independently
from the generated answers (plain Python over what each synthetic respondent posted)."""

from __future__ import annotations

import math
import random
import secrets
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta

import pytest

from peiling.analysis.filters import AGE_BANDS, Filters
from peiling.analysis.results import results
from peiling.analysis.stats import protect, wilson
from peiling.auth.access import Scope
from peiling.extensions import db
from peiling.surveys.definition import get_definition
from peiling.surveys.demo import synthetic_form
from peiling.surveys.flow import check_questions
from peiling.surveys.logic import visible_pages
from peiling.surveys.models import Survey
from peiling.surveys.services import ResponseMeta, store_response

EVERYTHING = Scope(None, True)
START = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)


@pytest.fixture
def generated(app, demo_survey):  # type: ignore[no-untyped-def]
    """300 synthetic respondents stored through the normal path; returns what each posted,
    with the source and moment each was given."""
    rng = random.Random(4)
    posted = []
    with app.app_context():
        survey = db.session.get(Survey, demo_survey.id)
        defn = get_definition(db.session, survey)
        for _ in range(300):
            form = synthetic_form(rng)
            answers, problems = check_questions(defn, visible_pages(defn, form), form)
            assert not problems
            source = rng.choice(["instagram", "school", None])
            when = START + timedelta(hours=rng.randint(0, 24 * 10))
            meta = ResponseMeta(secrets.token_urlsafe(24), source, submitted_at=when)
            store_response(db.session, defn, answers, meta)
            posted.append((form, source, when))
    return demo_survey, posted


def truth(posted, keep=lambda form, source, when: True):  # type: ignore[no-untyped-def]
    """Per municipality (and None for all): respondents, and per question the answers."""
    people = [(f, s, w) for f, s, w in posted if keep(f, s, w)]
    out: dict = defaultdict(lambda: {"n": 0, "choices": defaultdict(Counter), "answered": Counter(),
                                     "numbers": defaultdict(list)})  # fmt: skip
    for form, _source, _when in people:
        for place in (None, form["q_gemeente"][0]):
            t = out[place]
            t["n"] += 1
            for question in ("genoeg_te_doen", "organiseren", "activiteiten", "cijfer", "gemeente"):
                values = form.get(f"q_{question}", [])
                if values:
                    t["answered"][question] += 1
                    for value in values:
                        t["choices"][question][value] += 1
            for question in ("leeftijd", "cijfer"):
                t["numbers"][question].append(float(form[f"q_{question}"][0]))
            if form.get("q_helpen"):
                t["answered"]["helpen"] += 1
                t["choices"]["helpen"][form["q_helpen"][0]] += 1
    return out


def check_against(found, expected) -> None:  # type: ignore[no-untyped-def]
    columns = {None if c.total else c.code: (i, c) for i, c in enumerate(found.columns)}
    assert set(columns) == set(expected)
    for place, t in expected.items():
        index, column = columns[place]
        assert column.respondents == t["n"], place
        for table in found.tables:
            code = table.question.code
            if code in ("leeftijd",):
                assert table.answered[index].count == t["n"]
            else:
                assert table.answered[index].count == t["answered"][code], (place, code)
            for row in table.rows:
                assert row.cells[index].count == t["choices"][code][row.code], (
                    place,
                    code,
                    row.code,
                )
                assert row.cells[index].base == table.answered[index].count
            numbers = t["numbers"].get(code)
            if numbers and table.means is not None and len(numbers) >= found.minimum:
                assert table.means[index] == pytest.approx(sum(numbers) / len(numbers))


def test_every_figure_equals_the_truth(app, generated) -> None:  # type: ignore[no-untyped-def]
    survey, posted = generated
    with app.app_context():
        defn = get_definition(db.session, db.session.get(Survey, survey.id))
        found = results(db.session, defn, EVERYTHING, Filters())
    check_against(found, truth(posted))
    assert found.total == 300
    # Multiple choice: percentages of the respondents who answered, not of all ticks.
    activities = next(t for t in found.tables if t.question.code == "activiteiten")
    total_ticks = sum(r.cells[0].count for r in activities.rows)
    assert total_ticks > activities.answered[0].count
    assert activities.rows[1].cells[0].share == activities.rows[1].cells[0].count / (
        activities.answered[0].count
    )
    assert sum(n for _day, n in found.per_day) == 300
    assert dict(found.per_source) == dict(Counter(s or "" for _f, s, _w in posted))


def test_filters_give_the_truth_of_the_filtered_group(app, generated) -> None:  # type: ignore[no-untyped-def]
    survey, posted = generated
    low, high = AGE_BANDS["16-19"]
    until = START + timedelta(days=4)
    filters = Filters(age_band="16-19", source="school", date_to=(until - timedelta(days=1)).date())

    def keep(form, source, when):  # type: ignore[no-untyped-def]
        local_day = when.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Amsterdam")).date()
        return (low <= int(form["q_leeftijd"][0]) <= high and source == "school"
                and local_day <= filters.date_to)  # fmt: skip

    with app.app_context():
        defn = get_definition(db.session, db.session.get(Survey, survey.id))
        found = results(db.session, defn, EVERYTHING, filters)
    expected = truth(posted, keep)
    assert 0 < expected[None]["n"] < 300
    check_against(found, expected)


def test_a_scoped_analyst_gets_only_her_municipality(app, generated) -> None:  # type: ignore[no-untyped-def]
    survey, posted = generated
    emmen = Scope(frozenset({"GM0114"}), False)
    with app.app_context():
        defn = get_definition(db.session, db.session.get(Survey, survey.id))
        found = results(db.session, defn, emmen, Filters())
        # Asking for another municipality on top of the scope gives nothing more.
        other = results(db.session, defn, emmen, Filters(municipalities=("GM0106",)))
    expected = truth(posted, lambda f, s, w: f["q_gemeente"] == ["GM0114"])
    assert [(c.total, c.code) for c in found.columns] == [(True, None), (False, "GM0114")]
    check_against(found, expected)
    assert other.total == 0 and [c.total for c in other.columns] == [True]


@pytest.mark.parametrize(
    ("count", "base", "hidden"),
    [(0, 4, True), (4, 4, True), (5, 5, False), (0, 5, False), (4, 20, True), (5, 20, False),
     (1, 100, True), (0, 100, False)],
)  # fmt: skip
def test_small_numbers_are_hidden_at_the_boundary(count: int, base: int, hidden: bool) -> None:
    assert protect(count, base, 5).hidden is hidden


def test_small_groups_are_hidden_in_the_results(app, make_survey) -> None:  # type: ignore[no-untyped-def]
    survey = make_survey(
        pages=[{"questions": [
            {"code": "gemeente", "type": "municipality", "text": "Gemeente?"},
            {"code": "jn", "type": "yes_no", "text": "Ja of nee?"},
        ]}]
    )  # fmt: skip
    with app.app_context():
        defn = get_definition(db.session, db.session.get(Survey, survey.id))
        # Assen: 5 respondents (4 ja, 1 nee); Emmen: 4 respondents.
        for place, answer in [("GM0106", "ja")] * 4 + [("GM0106", "nee")] + [("GM0114", "ja")] * 4:
            form = {"q_gemeente": [place], "q_jn": [answer]}
            answers, _ = check_questions(defn, visible_pages(defn, form), form)
            store_response(db.session, defn, answers, ResponseMeta(secrets.token_urlsafe(24)))
        found = results(db.session, defn, EVERYTHING, Filters())
    table = next(t for t in found.tables if t.question.code == "jn")
    names = [None if c.total else c.code for c in found.columns]
    assen, emmen = names.index("GM0106"), names.index("GM0114")
    ja = table.rows[0].cells
    assert not ja[0].hidden and ja[0].count == 8  # the total: 9 respondents
    assert ja[assen].hidden and table.rows[1].cells[assen].hidden  # 4 and 1 of 5
    assert ja[emmen].hidden  # a group of 4
    assert not table.answered[assen].hidden and table.answered[emmen].hidden


def _wilson_by_quadratic(count: int, n: int, z: float = 1.959963984540054):  # type: ignore[no-untyped-def]
    # The interval's ends are the roots x of (x - p)^2 = z^2 x (1 - x) / n.
    p, k = count / n, z * z / n
    a, b, c = 1 + k, -(2 * p + k), p * p
    root = math.sqrt(b * b - 4 * a * c)
    return ((-b - root) / (2 * a), (-b + root) / (2 * a))


@pytest.mark.parametrize(("count", "n"), [(36, 100), (1, 10), (0, 20), (20, 20), (417, 833)])
def test_wilson_interval(count: int, n: int) -> None:
    low, high = wilson(count, n)
    assert (low, high) == pytest.approx(_wilson_by_quadratic(count, n), abs=1e-12)
    assert 0 <= low <= count / n <= high <= 1


def test_responses_without_a_municipality_get_a_column_of_their_own(app, make_survey) -> None:  # type: ignore[no-untyped-def]
    survey = make_survey(pages=[{"questions": [{"code": "jn", "type": "yes_no", "text": "?"}]}])
    with app.app_context():
        defn = get_definition(db.session, db.session.get(Survey, survey.id))
        for answer in ["ja"] * 6 + ["nee"] * 5:
            form = {"q_jn": [answer]}
            answers, _ = check_questions(defn, visible_pages(defn, form), form)
            store_response(db.session, defn, answers, ResponseMeta(secrets.token_urlsafe(24)))
        found = results(db.session, defn, EVERYTHING, Filters())
        scoped = results(db.session, defn, Scope(frozenset({"GM0114"}), False), Filters())
    assert [(c.total, c.code, c.respondents) for c in found.columns] == [
        (True, None, 11),
        (False, None, 11),
    ]
    ja = found.tables[0].rows[0].cells
    assert (ja[0].count, ja[1].count) == (6, 6)
    assert scoped.total == 0  # a limited analyst never sees responses without a municipality


@pytest.mark.parametrize(
    ("share", "words"),
    [(0.36, "ruim een derde"), (1 / 3, "een derde"), (0.5, "de helft"), (0.48, "bijna de helft"),
     (0.24, "bijna een kwart"), (0.26, "ruim een kwart"), (0.137, "ruim een op de tien"),
     (0.62, "bijna twee derde"), (0.98, "vrijwel iedereen"), (0.02, "vrijwel niemand"),
     (0.905, "negen op de tien")],
)  # fmt: skip
def test_quantifier_words(app, share: float, words: str) -> None:  # type: ignore[no-untyped-def]
    from peiling.analysis.headlines import quantifier

    with app.test_request_context("/"):
        assert quantifier(share) == words


def test_headlines_carry_the_exact_figure(app, generated) -> None:  # type: ignore[no-untyped-def]
    from peiling.analysis.headlines import headlines

    survey, posted = generated
    with app.test_request_context("/"):
        defn = get_definition(db.session, db.session.get(Survey, survey.id))
        lines = headlines(results(db.session, defn, EVERYTHING, Filters()))
    enough = Counter(f["q_genoeg_te_doen"][0] for f, _s, _w in posted)
    top, count = enough.most_common(1)[0]
    label = {"ruim": "Ja, meer dan genoeg", "genoeg": "Ja, genoeg",
             "onvoldoende": "Nee, te weinig", "weet_niet": "Weet ik niet"}[top]  # fmt: skip
    from peiling.analysis.headlines import quantifier

    with app.test_request_context("/"):
        words = quantifier(count / 300)
    assert f"{count / 300 * 100:.0f}% ({words}) antwoordt ‘{label}’" in " ".join(lines)
    helpers = sum(1 for f, _s, _w in posted if f.get("q_helpen") == ["ja"])
    assert any(line.startswith(f"{helpers} deelnemers (") for line in lines)


def test_crosstab_equals_the_truth(app, generated) -> None:  # type: ignore[no-untyped-def]
    from peiling.analysis.crosstab import crosstab

    survey, posted = generated
    with app.app_context():
        defn = get_definition(db.session, db.session.get(Survey, survey.id))
        single = crosstab(db.session, defn, EVERYTHING, Filters(), "genoeg_te_doen", "organiseren")
        multi = crosstab(db.session, defn, EVERYTHING, Filters(), "activiteiten", "genoeg_te_doen")
        emmen = crosstab(db.session, defn, Scope(frozenset({"GM0114"}), False), Filters(),
                         "gemeente", "organiseren")  # fmt: skip
        assert crosstab(db.session, defn, EVERYTHING, Filters(), "opmerking", "organiseren") is None
    pairs = Counter((f["q_genoeg_te_doen"][0], f["q_organiseren"][0]) for f, _s, _w in posted)
    rows = Counter(f["q_genoeg_te_doen"][0] for f, _s, _w in posted)
    for i, (r, _label) in enumerate(single.row_labels):
        assert single.row_totals[i] == rows[r]
        for j, (c, _l) in enumerate(single.column_labels):
            assert single.cells[i][j].count == pairs[(r, c)]
            assert single.cells[i][j].base == rows[r]
    # Multiple choice in the rows: a respondent counts once in every activity she picked.
    picked = Counter(
        (a, f["q_genoeg_te_doen"][0]) for f, _s, _w in posted for a in f.get("q_activiteiten", [])
    )
    per_activity = Counter(a for f, _s, _w in posted for a in f.get("q_activiteiten", []))
    for i, (r, _label) in enumerate(multi.row_labels):
        assert multi.row_totals[i] == per_activity[r]
        for j, (c, _l) in enumerate(multi.column_labels):
            assert multi.cells[i][j].count == picked[(r, c)]
    assert [code for code, _label in emmen.row_labels] == ["GM0114"]  # nothing outside scope
    assert emmen.row_totals == [sum(1 for f, _s, _w in posted if f["q_gemeente"] == ["GM0114"])]


def test_migration_marks_the_first_pick_of_answers_stored_before(app, generated) -> None:  # type: ignore[no-untyped-def]
    import sqlalchemy as sa
    from flask_migrate import downgrade, upgrade

    survey, posted = generated
    marked = (
        "SELECT count(*) FROM answer a JOIN question q ON q.id = a.question_id "
        "WHERE q.type = 'multiple_choice' AND a.value_number = 1"
    )
    firsts = (
        "SELECT count(*) FROM answer f WHERE f.value_number = 1 AND f.position = (SELECT "
        "min(a.position) FROM answer a WHERE a.response_id = f.response_id "
        "AND a.question_id = f.question_id) AND f.question_id IN "
        "(SELECT id FROM question WHERE type = 'multiple_choice')"
    )
    pickers = sum(1 for f, _s, _w in posted if f.get("q_activiteiten"))
    with app.app_context():
        assert db.session.execute(sa.text(marked)).scalar() == pickers  # set on submission
        db.session.remove()
        downgrade(revision="0006")  # as the answers were stored before the marker existed
        assert db.session.execute(sa.text(marked)).scalar() == 0
        db.session.remove()
        upgrade()
        assert db.session.execute(sa.text(marked)).scalar() == pickers
        assert db.session.execute(sa.text(firsts)).scalar() == pickers
        db.session.remove()


def test_answers_keep_their_order_through_the_keying_migration(app, generated) -> None:  # type: ignore[no-untyped-def]
    """Migration 0017 keys answers by (response_id, position): stored answers get their
    positions in their old id order, and going back gives ids in position order again,
    with a sequence that goes on after them."""
    import sqlalchemy as sa
    from flask_migrate import downgrade, upgrade

    values = "response_id, question_id, option_id, value_number, value_text"
    by_position = f"SELECT {values} FROM answer ORDER BY response_id, position"  # noqa: S608
    by_id = f"SELECT {values} FROM answer ORDER BY id"  # noqa: S608
    numbered = (
        "SELECT count(*) FROM answer a WHERE a.position <> "
        "(SELECT count(*) FROM answer b WHERE b.response_id = a.response_id "
        "AND b.position < a.position)"
    )
    with app.app_context():
        stored = db.session.execute(sa.text(by_position)).all()
        assert len(stored) > 1000
        assert db.session.execute(sa.text(numbered)).scalar() == 0  # 0, 1, 2, ... each
        db.session.remove()
        downgrade(revision="0016")
        assert db.session.execute(sa.text(by_id)).all() == stored
        ids = db.session.execute(sa.text("SELECT min(id), max(id), count(*) FROM answer")).one()
        assert tuple(ids) == (1, len(stored), len(stored))
        # New rows get ids after the old ones, as before the migration.
        db.session.execute(
            sa.text(
                "INSERT INTO answer (response_id, survey_id, question_id, value_text) "
                "SELECT response_id, survey_id, question_id, 'nieuw' FROM answer WHERE id = 1"
            )
        )
        newest = db.session.execute(sa.text("SELECT max(id) FROM answer")).scalar()
        assert newest == len(stored) + 1
        db.session.execute(sa.text("DELETE FROM answer WHERE value_text = 'nieuw'"))
        db.session.commit()
        db.session.remove()
        upgrade()
        assert db.session.execute(sa.text(by_position)).all() == stored
        assert db.session.execute(sa.text(numbered)).scalar() == 0
        db.session.remove()
