"""Raking to population targets: margins met, shares equal an independent computation."""

from __future__ import annotations

import io
import re
from collections import defaultdict

import pytest

from peiling.analysis.filters import AGE_BANDS, Filters
from peiling.analysis.weighting import TargetError, effective_size, parse_targets, rake, weighting
from peiling.auth.access import Scope
from peiling.extensions import db
from peiling.surveys.definition import get_definition
from peiling.surveys.models import Survey
from tests.analysis.test_results import generated  # noqa: F401 - the fixture
from tests.auth.fixtures import csrf_of

EVERYTHING = Scope(None, True)


def test_raking_meets_every_margin() -> None:
    cells = {("A", "12-15"): 30, ("A", "16-19"): 10, ("B", "12-15"): 10, ("B", "16-19"): 50}
    weights = rake(cells, {0: {"A": 500, "B": 500}, 1: {"12-15": 400, "16-19": 600}})
    weighted = defaultdict(float)
    for (place, band), n in cells.items():
        weighted[place] += n * weights[(place, band)]
        weighted[band] += n * weights[(place, band)]
    assert weighted["A"] == pytest.approx(50) and weighted["B"] == pytest.approx(50)
    assert weighted["12-15"] == pytest.approx(40) and weighted["16-19"] == pytest.approx(60)
    assert sum(n * weights[c] for c, n in cells.items()) == pytest.approx(100)  # mean 1


def test_effective_sample_size() -> None:
    cells = {("A", None): 10, ("B", None): 10}
    assert effective_size(cells, {("A", None): 1.0, ("B", None): 1.0}) == pytest.approx(20)
    # Half the respondents counting three times as much: (10·3+10)² / (10·9+10) = 16.
    assert effective_size(cells, {("A", None): 3.0, ("B", None): 1.0}) == pytest.approx(16)


def band(age: int) -> str | None:
    return next((b for b, (low, high) in AGE_BANDS.items() if low <= age <= high), None)


def independent_weights(people, by_place, by_band):  # type: ignore[no-untyped-def]
    """Raking per respondent, the textbook way (no cells), for comparison."""
    w = [1.0] * len(people)
    for _ in range(500):
        for key, target in ((0, by_place), (1, by_band)):
            sums = defaultdict(float)
            for i, person in enumerate(people):
                sums[person[key]] += w[i]
            covered = sum(v for k, v in sums.items() if k in target)
            scale = covered / sum(target.values())
            for i, person in enumerate(people):
                if person[key] in target:
                    w[i] *= target[person[key]] * scale / sums[person[key]]
    mean = sum(w) / len(w)
    return [x / mean for x in w]


def test_weighted_shares_equal_an_independent_raking(app, generated) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    survey, posted = generated
    places = sorted({f["q_gemeente"][0] for f, _s, _w in posted})
    by_place = {p: 1000 + 250 * i for i, p in enumerate(places)}
    by_band = {"12-15": 9000, "16-19": 7000, "20-25": 12000}
    lines = ["gemeente;leeftijd;aantal"]
    lines += [f"{p};;{n}" for p, n in by_place.items()]
    lines += [f";{b};{n}" for b, n in by_band.items()]
    with app.test_request_context("/"):
        s = db.session.get(Survey, survey.id)
        for row in parse_targets(db.session, s, "\n".join(lines)):
            row.survey_id = s.id
            db.session.add(row)
        db.session.commit()
        found = weighting(db.session, get_definition(db.session, s), EVERYTHING, Filters())
    people = [(f["q_gemeente"][0], band(int(f["q_leeftijd"][0])), f) for f, _s, _w in posted]
    w = independent_weights(people, by_place, by_band)
    total = sum(w)
    want = sum(
        wi for wi, p in zip(w, people, strict=True) if p[2]["q_genoeg_te_doen"] == ["onvoldoende"]
    )
    question = next(
        q for q in get_definition_for(app, survey).questions if q.code == "genoeg_te_doen"
    )
    assert found.shares[(question.id, "onvoldoende")] == pytest.approx(want / total, rel=1e-6)
    sq = sum(x * x for x in w)
    assert found.effective == pytest.approx(total * total / sq, rel=1e-6)
    assert found.respondents == 300 and found.dimensions == ["gemeente", "leeftijd"]
    # Multiple choice: weighted share of the respondents who picked anything.
    picked = [(wi, p) for wi, p in zip(w, people, strict=True) if p[2].get("q_activiteiten")]
    sport = sum(wi for wi, p in picked if "sport" in p[2]["q_activiteiten"])
    activities = next(
        q for q in get_definition_for(app, survey).questions if q.code == "activiteiten"
    )
    assert found.shares[(activities.id, "sport")] == pytest.approx(
        sport / sum(wi for wi, _p in picked), rel=1e-6
    )
    # Per municipality: the same weights, summed over that municipality's respondents; and
    # an analyst scoped to it, or a filter on it, sees the same weighted figures.
    for place in places:
        mine = [(wi, p) for wi, p in zip(w, people, strict=True) if p[0] == place]
        want = sum(wi for wi, p in mine if p[2]["q_genoeg_te_doen"] == ["onvoldoende"])
        share = want / sum(wi for wi, _p in mine)
        assert found.by_place[(question.id, "onvoldoende", place)] == pytest.approx(share, rel=1e-6)
    place = places[0]
    with app.test_request_context("/"):
        defn = get_definition(db.session, db.session.get(Survey, survey.id))
        scoped = weighting(db.session, defn, Scope(frozenset({place}), False), Filters())
        filtered = weighting(db.session, defn, EVERYTHING, Filters(municipalities=(place,)))
    for view in (scoped, filtered):
        assert view.shares[(question.id, "onvoldoende")] == pytest.approx(
            found.by_place[(question.id, "onvoldoende", place)], rel=1e-9
        )


def get_definition_for(app, survey):  # type: ignore[no-untyped-def]
    with app.app_context():
        return get_definition(db.session, db.session.get(Survey, survey.id))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("gemeente;leeftijd;aantal\nGM9999;;10", "onbekende gemeente GM9999"),
        ("gemeente;leeftijd;aantal\n;30-40;10", "leeftijd moet een van 12-15, 16-19, 20-25 zijn"),
        ("gemeente;leeftijd;aantal\nGM0114;;nul", "aantal moet een positief heel getal zijn"),
        ("gemeente;leeftijd;aantal\nGM0114;;10\nGM0114;;12", "deze combinatie staat er al"),
        ("plaats;inwoners\nEmmen;10", "De kolommen moeten heten"),
        ("gemeente;leeftijd;aantal\n", "Het bestand bevat geen rijen."),
    ],
)
def test_bad_targets_are_refused(app, demo_survey, content: str, message: str) -> None:  # type: ignore[no-untyped-def]
    with app.test_request_context("/"), pytest.raises(TargetError) as error:
        parse_targets(db.session, db.session.get(Survey, demo_survey.id), content)
    assert any(message in p for p in error.value.problems), error.value.problems


def test_upload_and_see_weighted_beside_unweighted(app, demo_survey, logged_in) -> None:  # type: ignore[no-untyped-def]
    from tests.analysis.test_dashboard import short_form, store

    store(app, demo_survey, [short_form("13", "GM0114")] * 6 + [short_form("17", "GM0106")] * 6)
    client = logged_in("researcher")
    url = f"/analysis/{demo_survey.slug}/weging"
    csrf = csrf_of(client.get(url).get_data(as_text=True))
    bad = client.post(url, data={"csrf_token": csrf, "bestand": (io.BytesIO(b"x;y\n1;2"), "t.csv")})
    assert bad.status_code == 422 and "De kolommen moeten heten" in bad.get_data(as_text=True)
    csv = (
        b"gemeente;leeftijd;geslacht;aantal\n"
        b"GM0114;;;3000\nGM0106;;;1000\n;12-15;;2000\n;16-19;;2000\n"
    )
    ok = client.post(url, data={"csrf_token": csrf, "bestand": (io.BytesIO(csv), "doelen.csv")})
    assert ok.status_code == 302
    html = client.get(f"/analysis/{demo_survey.slug}/").get_data(as_text=True)
    assert "Totaal gewogen" in html and "Gewogen naar gemeente, leeftijd" in html
    assert logged_in("analyst").get(url).status_code == 403


def test_weighted_shares_in_the_workbook_and_fact_sheet(app, demo_survey, logged_in) -> None:  # type: ignore[no-untyped-def]
    import pandas as pd

    from tests.analysis.test_dashboard import short_form, store
    from tests.analysis.test_workbook import download

    # Emmen: 6 of 12-15 (all "genoeg"), 6 of 16-19 (all "onvoldoende"); Assen the other
    # way round; targets 3:1 by age. Weights: 12-15 1.5, 16-19 0.5 (of 24 respondents).
    store(app, demo_survey, [short_form("13", "GM0114")] * 6 + [
        {**short_form("17", "GM0114"), "q_genoeg_te_doen": ["onvoldoende"]}] * 6)  # fmt: skip
    store(app, demo_survey, [short_form("17", "GM0106")] * 6 + [
        {**short_form("13", "GM0106"), "q_genoeg_te_doen": ["onvoldoende"]}] * 6)  # fmt: skip
    with app.test_request_context("/"):
        survey = db.session.get(Survey, demo_survey.id)
        for row in parse_targets(
            db.session, survey, "gemeente;leeftijd;aantal\n;12-15;3000\n;16-19;1000"
        ):
            row.survey_id = survey.id
            db.session.add(row)
        db.session.commit()
    client = logged_in("researcher")
    content = download(client, f"/analysis/{demo_survey.slug}/export/GM0114.xlsx")
    tables = pd.read_excel(io.BytesIO(content), sheet_name="Tabellen")
    enough = tables[tables["Code"] == "genoeg_te_doen"].set_index("Antwoord")
    assert enough.loc["Ja, genoeg", "Emmen: %"] == pytest.approx(0.5)  # unweighted
    assert enough.loc["Ja, genoeg", "Gewogen %"] == pytest.approx(0.75)  # 3:1 by age
    assert enough.loc["Nee, te weinig", "Gewogen %"] == pytest.approx(0.25)
    sheet = client.get(f"/analysis/{demo_survey.slug}/feitenblad/GM0114").get_data(as_text=True)
    assert "Ja, genoeg 75%" in sheet and "Nee, te weinig 25%" in sheet
    # The region: weighted in total and per municipality, beside the unweighted figures.
    content = download(client, f"/analysis/{demo_survey.slug}/export.xlsx")
    tables = pd.read_excel(io.BytesIO(content), sheet_name="Tabellen")
    enough = tables[tables["Code"] == "genoeg_te_doen"].set_index("Antwoord")
    assert enough.loc["Ja, genoeg", "Totaal: %"] == pytest.approx(0.5)
    assert enough.loc["Ja, genoeg", "Gewogen %"] == pytest.approx(0.5)  # (9 + 3) / 24
    assert enough.loc["Ja, genoeg", "Emmen: gewogen %"] == pytest.approx(0.75)
    assert enough.loc["Ja, genoeg", "Assen: gewogen %"] == pytest.approx(0.25)
    assert enough.loc["Nee, te weinig", "Assen: gewogen %"] == pytest.approx(0.75)
    page = client.get(f"/analysis/{demo_survey.slug}/").get_data(as_text=True)
    row = re.search(r'<th scope="row">Nee, te weinig</th>(.*?)</tr>', page, re.S)
    assert row
    weighted = re.findall(r'<small class="weighted">gewogen (\d+)%</small>', row.group(1))
    assert weighted == ["75", "25"]  # Assen, Emmen (alphabetical columns)
