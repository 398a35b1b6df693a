"""The results page: figures from the aggregation, scoped, filtered, protected and escaped."""

from __future__ import annotations

import re
import secrets
from datetime import date

from peiling.analysis.filters import Filters
from peiling.analysis.results import results
from peiling.auth.access import Scope
from peiling.extensions import db
from peiling.surveys.definition import get_definition
from peiling.surveys.flow import check_questions
from peiling.surveys.logic import visible_pages
from peiling.surveys.models import Survey
from peiling.surveys.services import ResponseMeta, store_response


def store(app, survey, forms):  # type: ignore[no-untyped-def]
    with app.app_context():
        defn = get_definition(db.session, db.session.get(Survey, survey.id))
        for form in forms:
            answers, problems = check_questions(defn, visible_pages(defn, form), form)
            assert not problems, problems.errors
            store_response(db.session, defn, answers, ResponseMeta(secrets.token_urlsafe(24)))


def short_form(age: str, place: str) -> dict[str, list[str]]:
    """The demo poll answered as briefly as it allows."""
    return {"q_leeftijd": [age], "q_gemeente": [place], "q_genoeg_te_doen": ["genoeg"],
            "q_organiseren": ["nee"], "q_cijfer": ["7"]}  # fmt: skip


def row_of(html: str, label: str) -> list[str]:
    """The cells of the first table row headed `label`, as text."""
    found = re.search(rf'<th scope="row">{re.escape(label)}</th>(.*?)</tr>', html, re.S)
    assert found, label
    cells = re.findall(r"<td>(.*?)</td>", found.group(1), re.S)
    return [re.sub(r"<[^>]+>", " ", c).split()[0] if c.strip() else "" for c in cells]


def test_dashboard_shows_the_computed_figures(app, runner, logged_in) -> None:  # type: ignore[no-untyped-def]
    assert runner.invoke(args=["demo", "--responses", "150", "--seed", "3"]).exit_code == 0
    html = logged_in("researcher").get("/analysis/jongerenpeiling-demo/").get_data(as_text=True)
    with app.app_context():
        survey = db.session.scalar(db.select(Survey))
        found = results(
            db.session, get_definition(db.session, survey), Scope(None, True), Filters()
        )
    assert "150 antwoorden" in html
    table = next(t for t in found.tables if t.question.code == "genoeg_te_doen")
    for row in table.rows:
        shown = row_of(html, row.label)
        assert shown[0] == str(row.cells[0].count)  # the total column
        for cell, text in zip(row.cells[1:], shown[1:], strict=True):
            assert text == ("&lt;5" if cell.hidden else str(cell.count))
    assert '<svg class="chart" role="img"' in html


def test_scoped_analyst_sees_only_her_municipality(app, demo_survey, logged_in) -> None:  # type: ignore[no-untyped-def]
    store(app, demo_survey, [short_form("16", p) for p in ["GM0114"] * 6 + ["GM0106"] * 7])
    client = logged_in("analyst_emmen")
    html = client.get(f"/analysis/{demo_survey.slug}/").get_data(as_text=True)
    assert "6 antwoorden" in html and ">Emmen<" in html
    assert "Assen" not in html  # neither a column, a row nor a choice in the filter
    # Asking for Assen in the URL changes nothing: the scope is applied in SQL.
    other = client.get(f"/analysis/{demo_survey.slug}/?gemeente=GM0106").get_data(as_text=True)
    assert "0 antwoorden" in other and "Assen" not in other
    overview = client.get("/analysis/").get_data(as_text=True)
    assert re.search(r"<td>6</td></tr>", overview)  # the list counts her municipality only
    everything = logged_in("analyst").get("/analysis/").get_data(as_text=True)
    assert re.search(r"<td>13</td></tr>", everything)


def test_filters_narrow_the_page(app, demo_survey, logged_in) -> None:  # type: ignore[no-untyped-def]
    store(app, demo_survey, [short_form(age, "GM0114") for age in ["13"] * 5 + ["17"] * 6])
    client = logged_in("researcher")
    html = client.get(f"/analysis/{demo_survey.slug}/?leeftijd=16-19").get_data(as_text=True)
    assert "6 antwoorden" in html and '<option value="16-19" selected>' in html
    html = client.get(f"/analysis/{demo_survey.slug}/?leeftijd=x&van=nonsense").get_data(
        as_text=True
    )
    assert "11 antwoorden" in html  # malformed filters are ignored, not an error


def test_calendar_edge_dates_filter_instead_of_failing(app, demo_survey, logged_in) -> None:  # type: ignore[no-untyped-def]
    # Year 1 and 9999 overflowed the step to and from Dutch time: a 500 on both pages.
    store(app, demo_survey, [short_form("15", "GM0114")] * 5)
    client = logged_in("researcher")
    for page in ("", "open"):
        url = f"/analysis/{demo_survey.slug}/{page}"
        everything = client.get(f"{url}?van=0001-01-01&tot=9999-12-31")
        assert everything.status_code == 200
        nothing = client.get(f"{url}?van=9999-12-31")
        assert nothing.status_code == 200
        if not page:
            assert "5 antwoorden" in everything.get_data(as_text=True)
            assert "5 antwoorden" not in nothing.get_data(as_text=True)
    assert Filters.from_args({"van": "0001-01-01", "tot": "9999-12-31"}) == Filters(
        date_from=date(1900, 1, 1), date_to=date(9000, 1, 1)
    )


def test_labels_are_escaped_in_tables_and_charts(app, make_survey, logged_in) -> None:  # type: ignore[no-untyped-def]
    survey = make_survey(pages=[{"questions": [
        {"code": "keuze", "type": "single_choice", "text": "<b>Vraag</b>",
         "options": [{"code": "a", "label": "<script>alert(1)</script>"},
                     {"code": "b", "label": "B"}]}]}])  # fmt: skip
    store(app, survey, [{"q_keuze": ["a"]}] * 5)
    html = logged_in("researcher").get(f"/analysis/{survey.slug}/").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html and "<b>Vraag</b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_unknown_survey_is_404(logged_in) -> None:  # type: ignore[no-untyped-def]
    assert logged_in("researcher").get("/analysis/bestaat-niet/").status_code == 404


def test_crosstab_on_the_page(app, demo_survey, logged_in) -> None:  # type: ignore[no-untyped-def]
    store(app, demo_survey, [short_form("16", "GM0114")] * 6)
    html = (
        logged_in("researcher")
        .get(f"/analysis/{demo_survey.slug}/?rij=genoeg_te_doen&kolom=organiseren")
        .get_data(as_text=True)
    )
    assert "percentages per rij" in html
    crosstab = html[html.index("percentages per rij") :]
    assert row_of(crosstab, "Ja, genoeg") == ["0", "6", "6"]  # ja, nee, respondents


def test_fact_sheet_beside_the_province(app, demo_survey, logged_in) -> None:  # type: ignore[no-untyped-def]
    store(app, demo_survey, [short_form("16", "GM0114")] * 6 + [
        {**short_form("17", "GM0106"), "q_genoeg_te_doen": ["onvoldoende"]}] * 6)  # fmt: skip
    url = f"/analysis/{demo_survey.slug}/feitenblad/GM0114"
    html = logged_in("researcher").get(url).get_data(as_text=True)
    assert "<h1>Emmen</h1>" in html and "6 deelnemers" in html and "provincie: 12" in html
    # Emmen: all "Ja, genoeg"; the province: half.
    assert ">100%</text>" in html and ">50%</text>" in html
    own = logged_in("analyst_emmen").get(url).get_data(as_text=True)
    assert "<h1>Emmen</h1>" in own and "rovincie" not in own
    assert ">50%</text>" not in own  # nothing of the rest of the province for her
    assert logged_in("analyst_emmen").get(url.replace("GM0114", "GM0106")).status_code == 404
