"""Building a questionnaire through the designer's pages, without JavaScript."""

from __future__ import annotations

import sqlalchemy as sa

from peiling.extensions import db
from peiling.surveys.exporter import export_definition
from peiling.surveys.models import Survey
from tests.auth.fixtures import csrf_of
from tests.conftest import count_rows
from tests.designer.problem_html import beside


def definition(app, slug: str) -> dict:  # type: ignore[no-untyped-def]
    with app.app_context():
        return export_definition(db.session.scalar(sa.select(Survey).where(Survey.slug == slug)))


def codes(data: dict) -> list[list[str]]:
    return [[q["code"] for q in page["questions"]] for page in data["pages"]]


def test_build_a_questionnaire_from_a_blank_start(app, logged_in) -> None:  # type: ignore[no-untyped-def]
    client = logged_in("researcher")
    csrf = csrf_of(client.get("/ontwerp/nieuw").get_data(as_text=True))
    made = client.post(
        "/ontwerp/nieuw",
        data={
            "csrf_token": csrf,
            "template": "leeg",
            "title": "Sport in Assen",
            "slug": "sport-assen",
        },
    )
    assert made.status_code == 302 and made.headers["Location"] == "/ontwerp/sport-assen"
    added = client.post(
        "/ontwerp/sport-assen/vraag",
        data={"csrf_token": csrf, "page": "0", "type": "multiple_choice", "code": "sporten",
              "text": "Welke sporten doe je?"},
    )  # fmt: skip
    assert added.headers["Location"] == "/ontwerp/sport-assen/vraag/sporten"
    saved = client.post(
        "/ontwerp/sport-assen/vraag/sporten",
        data={"csrf_token": csrf, "type": "multiple_choice", "text": "Welke sporten doe je?",
              "required": "1", "options": "voetbal = Voetbal\nHockey\nzwemmen = Zwemmen",
              "other": "1", "max_choices": "2"},
    )  # fmt: skip
    assert saved.status_code == 302
    client.post("/ontwerp/sport-assen/pagina", data={"csrf_token": csrf, "title": "Meer"})
    conditional = client.post(
        "/ontwerp/sport-assen/vraag/vraag_2",
        data={"csrf_token": csrf, "type": "long_text", "text": "Waarom voetbal?",
              "show_if_question": "sporten", "show_if_op": "in", "show_if_values": "voetbal"},
    )  # fmt: skip
    assert conditional.status_code == 302
    data = definition(app, "sport-assen")
    assert codes(data) == [["vraag_1", "sporten"], ["vraag_2"]]
    sports = data["pages"][0]["questions"][1]
    assert [o["code"] for o in sports["options"]] == ["voetbal", "hockey", "zwemmen"]
    assert sports["other"] is True and sports["max_choices"] == 2 and sports["required"] is True
    assert data["pages"][1]["questions"][0]["show_if"] == {
        "question": "sporten", "op": "in", "values": ["voetbal"]
    }  # fmt: skip
    client.post("/ontwerp/sport-assen/vraag/sporten/omhoog", data={"csrf_token": csrf})
    client.post("/ontwerp/sport-assen/vraag/vraag_1/verwijderen", data={"csrf_token": csrf})
    assert codes(definition(app, "sport-assen")) == [["sporten"], ["vraag_2"]]


def test_an_invalid_edit_explains_and_keeps_what_was_typed(app, logged_in, make_survey) -> None:  # type: ignore[no-untyped-def]
    make_survey(slug="fouten", status="draft")
    client = logged_in("researcher")
    csrf = csrf_of(client.get("/ontwerp/fouten").get_data(as_text=True))
    response = client.post(
        "/ontwerp/fouten/vraag/vraag",
        data={"csrf_token": csrf, "type": "single_choice", "text": "Kies <b>iets</b>",
              "options": "Alleen deze"},
    )  # fmt: skip
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "minstens twee antwoordopties" in html
    assert "Kies &lt;b&gt;iets&lt;/b&gt;" in html  # typed text kept, and escaped
    assert definition(app, "fouten")["pages"][0]["questions"][0]["type"] == "short_text"


def test_a_date_in_year_one_or_9999_is_refused(app, logged_in, make_survey) -> None:  # type: ignore[no-untyped-def]
    # A date field takes year 1 or 9999; stored, it was outside Python's datetime in UTC
    # on PostgreSQL, and every page that read the survey failed.
    make_survey(slug="jaartal", status="draft", title="Jaartal")
    client = logged_in("researcher")
    csrf = csrf_of(client.get("/ontwerp/jaartal").get_data(as_text=True))
    for key, value in (("opens_at", "0001-01-01T00:00"), ("closes_at", "9999-12-31T23:59")):
        posted = client.post(
            "/ontwerp/jaartal/instellingen",
            data={"csrf_token": csrf, "title": "Jaartal", key: value},
        )
        shown = posted.get_data(as_text=True)  # the editor again, with the date as typed
        assert posted.status_code == 422
        assert beside(shown, key) == "Fout: moet tussen de jaren 1900 en 8999 liggen"
        assert f'name="{key}" type="datetime-local" value="{value}"' in shown
        assert key not in definition(app, "jaartal")
    assert client.get("/ontwerp/").status_code == 200
    assert "Jaartal" in client.get("/ontwerp/").get_data(as_text=True)


def test_deleting_an_answered_question_is_refused_on_the_page(
    app, logged_in, demo_survey, respondent
) -> None:  # type: ignore[no-untyped-def]
    from tests.surveys.test_form import complete

    assert complete(respondent(demo_survey.slug)).status_code == 303
    client = logged_in("researcher")
    page = client.get(f"/ontwerp/{demo_survey.slug}").get_data(as_text=True)
    assert "Er zijn al antwoorden" in page
    refused = client.post(
        f"/ontwerp/{demo_survey.slug}/vraag/cijfer/verwijderen", data={"csrf_token": csrf_of(page)}
    )
    shown = client.get(refused.headers["Location"]).get_data(as_text=True)
    assert "heeft al antwoorden en kan daarom niet weg" in shown
    assert "cijfer" in codes(definition(app, demo_survey.slug))[1]


def test_templates_start_as_drafts(app, logged_in) -> None:  # type: ignore[no-untyped-def]
    client = logged_in("researcher")
    csrf = csrf_of(client.get("/ontwerp/nieuw").get_data(as_text=True))
    for template, slug in (("jongerenpeiling", "zomer-2028"), ("panelgolf", "panel-golf-3")):
        made = client.post(
            "/ontwerp/nieuw",
            data={"csrf_token": csrf, "template": template, "title": "Nieuw", "slug": slug},
        )
        assert made.status_code == 302
        assert definition(app, slug)["status"] == "draft"
    assert definition(app, "panel-golf-3")["kind"] == "panel"
    taken = client.post(
        "/ontwerp/nieuw",
        data={"csrf_token": csrf, "template": "leeg", "title": "X", "slug": "zomer-2028"},
    )
    assert taken.status_code == 422
    assert beside(taken.get_data(as_text=True), "slug") == (
        "Fout: is al in gebruik door een andere vragenlijst"
    )


def test_preview_walks_through_and_stores_nothing(app, logged_in, demo_survey) -> None:  # type: ignore[no-untyped-def]
    from tests.surveys.test_form import ALL, PAGE_1, PAGE_2

    client = logged_in("researcher")
    first = client.get(f"/ontwerp/{demo_survey.slug}/voorbeeld").get_data(as_text=True)
    assert "Er wordt niets opgeslagen" in first and 'action="/ontwerp/' in first
    csrf = csrf_of(first)
    base = {"csrf_token": csrf, "actie": "verder"}
    assert (
        client.post(
            f"/ontwerp/{demo_survey.slug}/voorbeeld", data={**base, "pagina": "0"}
        ).status_code
        == 422
    )
    assert (
        client.post(
            f"/ontwerp/{demo_survey.slug}/voorbeeld", data={**base, "pagina": "0", **PAGE_1}
        ).status_code
        == 200
    )
    done = client.post(
        f"/ontwerp/{demo_survey.slug}/voorbeeld", data={**base, "pagina": "2", **ALL}
    )
    html = done.get_data(as_text=True)
    assert done.status_code == 200 and "Zo zou het antwoord worden opgeslagen" in html
    assert "Assen" in html and "Sport en bewegen" in html
    assert count_rows(app, "response") == 0 and count_rows(app, "answer") == 0
    assert PAGE_2  # the last page's answers travel in ALL
