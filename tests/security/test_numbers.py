"""Numbers people and browsers send that Python reads badly.

'²' and '①' pass str.isdigit() and fail int(); int() refuses more than 4,300 digits;
Python's json module reads NaN and Infinity, and float() reads 'nan' and 'inf'. Each field
that takes a number gets these, and the answer is an explanation or a refusal: never a
500, never a traceback, and nothing stored that the input did not mean.
"""

from __future__ import annotations

import io
import json
import re
import tracemalloc
from typing import Any

import pytest
import sqlalchemy as sa

from peiling.extensions import db
from peiling.numbers import whole_number
from peiling.panel.models import Member, MemberStatus, Panel, Wave
from peiling.surveys.cli import DefinitionError, import_definition, read_definition
from peiling.surveys.importer import build_survey
from peiling.surveys.models import Response, Survey
from tests.auth.fixtures import csrf_of
from tests.conftest import demo_definition
from tests.panel.test_waves import one_member_wave
from tests.security.test_attacks import snapshot
from tests.surveys.test_xlsform import workbook

# Digits int() refuses although isdigit() accepts them, and a number int() will not read.
ODD = ["²", "①", "1²", "9" * 5000]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("17", 17), ("0", 0), ("007", 7), ("１７", 17), ("٣", 3), ("999999999", 999999999),
     ("1234567890", None), ("²", None), ("①", None), ("1²", None), ("", None), ("-1", None),
     ("+1", None), (" 1", None), ("1.0", None), ("9" * 5000, None)],
)  # fmt: skip
def test_whole_number_reads_only_what_int_reads(text: str, expected: int | None) -> None:
    assert whole_number(text) == expected


def test_whole_number_takes_a_bound() -> None:
    assert whole_number("123", max_digits=3) == 123
    assert whole_number("1234", max_digits=3) is None


def no_error(response) -> str:  # type: ignore[no-untyped-def]
    html = response.get_data(as_text=True)
    assert response.status_code < 500, (response.status_code, html[:300])
    assert "Traceback" not in html
    return html


# ---------------------------------------------------------------- the respondents


@pytest.mark.parametrize("odd", ODD)
def test_the_public_form_explains_odd_digits_and_keeps_the_answers(
    app, demo_survey, respondent, odd: str
) -> None:  # type: ignore[no-untyped-def]
    """In every answer of the first page, and as the page number: conditions compare
    answers as whole numbers, and the page number picks the page."""
    r = respondent(demo_survey.slug)
    r.open()
    shown = r.post(0, {"q_leeftijd": odd, "q_gemeente": "GM0106"})
    html = no_error(shown)
    assert shown.status_code == 422 and "Vul je leeftijd in" in html, html[:2000]
    assert f'name="q_leeftijd" class="short" value="{odd}"' in html  # kept as typed
    assert r.post(0, {"q_leeftijd": "17", "q_gemeente": "GM0106"}).status_code == 200
    second = r.post(1, {"q_genoeg_te_doen": odd, "q_organiseren": odd, "q_cijfer": odd})
    html = no_error(second)
    assert second.status_code == 422 and "Er zijn nog 3 problemen" in html, html[:3000]
    odd_page = r.post(1, {"q_genoeg_te_doen": "te_weinig"}, pagina=odd)
    no_error(odd_page)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Response)) == 0


# ---------------------------------------------------------------- staff forms


def staff_form(client, page: str, url: str, data: dict[str, Any], **files: Any):  # type: ignore[no-untyped-def]
    csrf = csrf_of(client.get(page).get_data(as_text=True))
    if files:
        return client.post(url, data={**data, **files, "csrf_token": csrf},
                           content_type="multipart/form-data")  # fmt: skip
    return client.post(url, data={**data, "csrf_token": csrf})


@pytest.mark.parametrize("odd", ODD)
def test_designer_number_fields_refuse_odd_digits(app, logged_in, make_survey, odd: str) -> None:  # type: ignore[no-untyped-def]
    survey = make_survey(status="draft")
    client = logged_in("researcher")
    page = f"/ontwerp/{survey.slug}"
    before = snapshot(app)
    settings = staff_form(client, page, f"/ontwerp/{survey.slug}/instellingen",
                          {"title": "Testpeiling", "age_min": odd, "age_max": "25"})  # fmt: skip
    assert settings.status_code == 422  # the editor again, saying what is wrong
    assert "age_min" in no_error(settings)
    question = {"page": odd, "code": "nieuw", "type": "short_text", "text": "Nieuw?"}
    added = staff_form(client, page, f"/ontwerp/{survey.slug}/vraag", question)
    no_error(added)
    preview = staff_form(client, page, f"/ontwerp/{survey.slug}/voorbeeld",
                         {"pagina": odd, "actie": "verder", "q_vraag": "iets"})  # fmt: skip
    no_error(preview)
    # The new question goes to the first page, as for a page number that is out of range.
    with app.app_context():
        stored = db.session.scalar(sa.select(Survey).where(Survey.slug == survey.slug))
        codes = [q.code for p in stored.pages for q in p.questions]  # type: ignore[union-attr]
    assert codes == ["vraag", "nieuw"]
    assert set(snapshot(app)) == set(before)


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e999", "NaN"])
def test_designer_question_settings_refuse_numbers_that_are_not_finite(
    app, logged_in, make_survey, value: str
) -> None:  # type: ignore[no-untyped-def]
    question = {"code": "aantal", "type": "number", "text": "Hoeveel?", "min": 0, "max": 10}
    survey = make_survey(status="draft", pages=[{"questions": [question]}])
    client = logged_in("researcher")
    before = snapshot(app)
    response = staff_form(client, f"/ontwerp/{survey.slug}/vraag/aantal",
                          f"/ontwerp/{survey.slug}/vraag/aantal",
                          {"code": "aantal", "type": "number", "text": "Hoeveel?",
                           "min": value, "max": "10"})  # fmt: skip
    html = no_error(response)
    assert response.status_code == 422 and "min" in html
    assert snapshot(app) == before


@pytest.mark.parametrize("odd", ODD)
def test_panel_number_fields_refuse_odd_digits(
    app, logged_in, panel, make_survey, odd: str
) -> None:  # type: ignore[no-untyped-def]
    survey = make_survey(status="open")
    client = logged_in("researcher")
    page = f"/panel/{panel.slug}/"
    before = snapshot(app)
    targets = staff_form(client, page, f"/panel/{panel.slug}/doelen", {"doel_GM0014": odd})
    no_error(targets)
    made = staff_form(client, page, f"/panel/{panel.slug}/codes", {"n_GM0014": odd})
    no_error(made)
    assert snapshot(app) == before
    wave_page = f"/panel/{panel.slug}/golven"
    chosen = {"survey": str(survey.id), "name": "Golf"}
    for data in ({"survey": odd, "name": "Golf", "mode": "all"},
                 {"survey": "x", "name": "Golf", "mode": "all"},
                 {**chosen, "mode": "all", "seed": odd},
                 {**chosen, "mode": "per", "n_GM0014": odd},
                 {**chosen, "mode": "share", "share": "nan"}):  # fmt: skip
        wave = staff_form(client, wave_page, wave_page, data)
        html = no_error(wave)
        assert wave.status_code == 422, data
        if "seed" in data:  # a typed seed repeats a draw: it is never replaced by a random one
            assert "Vul als startgetal een heel getal" in html
    assert snapshot(app) == before


@pytest.mark.parametrize("odd", ODD)
def test_uploaded_files_explain_odd_digits(app, logged_in, panel, make_survey, odd: str) -> None:  # type: ignore[no-untyped-def]
    survey = make_survey(status="open")
    client = logged_in("researcher")
    before = snapshot(app)
    members_csv = f"email;gemeente;geboortejaar\nanna@example.nl;Groningen;{odd}\n".encode()
    imported = staff_form(client, f"/panel/{panel.slug}/importeren",
                          f"/panel/{panel.slug}/importeren", {},
                          bestand=(io.BytesIO(members_csv), "leden.csv"))  # fmt: skip
    assert "geboortejaar" in no_error(imported)
    weights_csv = f"gemeente;leeftijd;geslacht;aantal\nGM0114;12-17;;{odd}\n".encode()
    weights = staff_form(client, f"/analysis/{survey.slug}/weging",
                         f"/analysis/{survey.slug}/weging", {},
                         bestand=(io.BytesIO(weights_csv), "bevolking.csv"))  # fmt: skip
    assert "aantal" in no_error(weights)
    assert snapshot(app) == before


# ---------------------------------------------------------------- panel members


@pytest.mark.parametrize("odd", ODD)
def test_panel_members_get_their_birth_year_explained(app, client, codes, odd: str) -> None:  # type: ignore[no-untyped-def]
    page = client.get(f"/panel/groninger-panel/aanmelden?code={codes[0]}")
    data = {"csrf_token": csrf_of(page.get_data(as_text=True)), "code": codes[0],
            "email": "anna@example.nl", "geboortejaar": odd, "geslacht": "vrouw"}  # fmt: skip
    signed_up = client.post("/panel/groninger-panel/aanmelden", data=data)
    html = no_error(signed_up)
    assert signed_up.status_code == 422 and "geboortejaar" in html
    with app.app_context():
        db.session.add(Member(panel_id=db.session.scalar(sa.select(Panel.id)), key="k" * 64,
                              email="bert@example.nl", municipality_code="GM0014",
                              birth_year=1990, status=MemberStatus.ACTIVE))  # fmt: skip
        db.session.commit()
    before = snapshot(app)
    own = client.post(f"/panel/mijn-gegevens/{'k' * 64}",
                      data={"email": "bert@example.nl", "geboortejaar": odd,
                            "gemeente": "GM0014"})  # fmt: skip
    assert own.status_code == 422 and "geboortejaar" in no_error(own)
    assert snapshot(app) == before


@pytest.mark.parametrize("odd", ODD)
def test_a_wave_form_takes_odd_page_numbers(app, panel, make_survey, odd: str) -> None:  # type: ignore[no-untyped-def]
    survey = make_survey(status="open")
    token = one_member_wave(app, panel, survey, "cor@example.nl", 1990, "Golf 1")
    client = app.test_client()
    client.get(f"/panel/w/{token}")
    response = client.post(f"/panel/w/{token}",
                           data={"pagina": odd, "actie": "verder", "q_vraag": "iets"})  # fmt: skip
    no_error(response)


# ---------------------------------------------------------------- definitions


def definition_with(**changes: Any) -> bytes:
    data = demo_definition()
    data["slug"] = "getallen"
    for path, value in changes.items():
        *parents, last = path.split("__")
        target: Any = data
        for key in parents:
            target = target[int(key)] if key.isdecimal() else target[key]
        target[last] = value
    return json.dumps(data, allow_nan=True).encode()


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"age_min": float("nan")}, "age_min"), ({"age_max": float("inf")}, "age_max"),
     ({"pages__2__questions__0__max_length": float("inf")}, "max_length"),
     ({"pages__2__questions__0__max_length": float("nan")}, "max_length")],
)  # fmt: skip
def test_a_definition_with_nan_or_infinity_is_refused_by_name(
    app, changes: dict[str, float], field: str
) -> None:  # type: ignore[no-untyped-def]
    content = definition_with(**changes)
    assert b"NaN" in content or b"Infinity" in content
    with app.app_context(), pytest.raises(DefinitionError) as refused:
        import_definition(read_definition("getallen.json", content))
    assert field in str(refused.value) and "getal" in str(refused.value)
    with app.app_context():
        assert db.session.scalar(sa.select(Survey.id).where(Survey.slug == "getallen")) is None


def test_an_xlsform_bound_beyond_a_float_is_refused_by_name(app) -> None:  # type: ignore[no-untyped-def]
    content = workbook([["integer", "aantal", "Hoeveel?", "", "", "", ". <= " + "9" * 400]])
    with app.app_context(), pytest.raises(DefinitionError) as refused:
        import_definition(read_definition("getallen.xlsx", content))
    assert "'max' moet een getal zijn" in str(refused.value)


def test_a_definition_with_a_number_too_long_to_read_is_refused(app) -> None:  # type: ignore[no-untyped-def]
    content = re.sub(rb'"age_min": \d+', b'"age_min": ' + b"9" * 5000, definition_with(age_min=12))
    assert b"9" * 5000 in content
    with pytest.raises(DefinitionError) as refused:
        read_definition("getallen.json", content)
    assert "getallen.json" in str(refused.value)


@pytest.mark.parametrize("depth", [100_000, 900])
def test_a_definition_nested_too_deep_is_refused(app, logged_in, depth: int) -> None:  # type: ignore[no-untyped-def]
    """Nesting beyond Python's recursion limit (json gives up) and just under it (the
    check for control characters walks everything before the schema is checked)."""
    if depth > 1000:
        content = b"[" * depth + b"]" * depth
    else:  # built as text: json.dumps itself stops at the recursion limit
        nested = '{"a": ' * depth + '"x\\u0000"' + "}" * depth
        data = dict(json.loads(definition_with()), introduction="HIER")
        content = json.dumps(data).replace('"HIER"', nested).encode()
    client = logged_in("researcher")
    before = snapshot(app)
    response = staff_form(client, "/ontwerp/importeren", "/ontwerp/importeren", {},
                          bestand=(io.BytesIO(content), "diep.json"))  # fmt: skip
    html = no_error(response)
    expected = "te diep genest" if depth > 1000 else "introduction.a.a.a"
    assert response.status_code == 422 and expected in html, html[-3000:]
    assert snapshot(app) == before


def test_the_control_character_check_walks_a_deep_file_in_memory_of_its_size(app) -> None:  # type: ignore[no-untyped-def]
    """900 levels of 3,000-character keys (2.7 MB, under the upload limit): joining the
    place at every level held 1.2 GB at once. Counted with tracemalloc, which is exact,
    not timed; the bound is 10 times the file."""
    key = "k" * 3000
    content = f'{{"{key}": ' * 900 + '"x\\u0000"' + "}" * 900
    data = json.loads(content)
    tracemalloc.start()
    try:
        with app.app_context(), pytest.raises(DefinitionError) as refused:
            build_survey(db.session, data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 10 * len(content), peak
    (problem,) = refused.value.problems
    assert problem.startswith("vragenlijst: veld 'kkkk") and "…" in problem and len(problem) < 300


# ---------------------------------------------------------------- numbers in the address

LARGE = [str(2**31 - 1), str(2**31), str(2**63), "9" * 20, "9" * 5000, "١"]


@pytest.mark.parametrize("number", LARGE)
def test_a_number_in_the_address_that_names_no_row_is_a_404(
    app, logged_in, panel, make_survey, number: str
) -> None:  # type: ignore[no-untyped-def]
    """Unbounded, PostgreSQL refused to compare 2**31 with an integer column (503, "even
    niet bereikbaar") and SQLite's driver to bind 2**63 (500)."""
    survey = make_survey(status="open")
    one_member_wave(app, panel, survey, "els@example.nl", 1990, "Golf 1")
    client = logged_in("researcher")
    with app.app_context():
        wave_id = db.session.scalar(sa.select(Wave.id))
    base = f"/panel/{panel.slug}"
    assert client.get(f"{base}/golven/{wave_id}").status_code == 200  # the control
    for url in (f"{base}/golven/{number}", f"{base}/golven/{number}/klassen",
                f"{base}/codes/{number}.csv", f"{base}/codes/{number}.xlsx"):  # fmt: skip
        response = client.get(url)
        assert response.status_code == 404, (url[:80], response.status_code)
        assert "Traceback" not in response.get_data(as_text=True)
    before = snapshot(app)
    sent = staff_form(client, f"{base}/golven/{wave_id}", f"{base}/golven/{number}/uitnodigen", {})
    assert sent.status_code == 404
    assert snapshot(app) == before
