"""Translating a questionnaire in the designer, without touching a file."""

from __future__ import annotations

import sqlalchemy as sa

from peiling.designer import services
from peiling.extensions import db
from peiling.surveys.exporter import export_definition
from peiling.surveys.models import Survey
from tests.auth.fixtures import csrf_of
from tests.designer.test_designer_pages import definition

ENGLISH = {"Accept-Language": "en"}


def test_translate_offer_and_answer_in_english(app, logged_in, make_survey, client) -> None:  # type: ignore[no-untyped-def]
    survey = make_survey(
        slug="sport-assen",
        title="Sport in Assen",
        pages=[
            {
                "title": "Sport",
                "questions": [
                    {"code": "sporten", "type": "multiple_choice", "text": "Welke sporten doe je?",
                     "help": "Kies er zoveel je wilt.",
                     "options": [{"code": "voetbal", "label": "Voetbal"},
                                 {"code": "zwemmen", "label": "Zwemmen"}]},
                ],
            }
        ],
    )  # fmt: skip
    researcher = logged_in("researcher")
    editor = researcher.get(f"/ontwerp/{survey.slug}").get_data(as_text=True)
    assert f'href="/ontwerp/{survey.slug}/vertaling/en" lang="en">English</a>' in editor

    page = researcher.get(f"/ontwerp/{survey.slug}/vertaling/en")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "0 van de 6 teksten zijn vertaald" in html
    assert '<p class="hint" id="q.sporten.text-nl" lang="nl">Welke sporten doe je?</p>' in html
    form = {
        "csrf_token": csrf_of(html),
        "survey.title": "Sport in Assen (English)",
        "page.0.title": "Sport",
        "q.sporten.text": "Which sports do you do?",
        "q.sporten.help": "",  # left empty: the respondent sees the Dutch help text
        "o.sporten.voetbal.label": "Football",
        "o.sporten.zwemmen.label": "Swimming",
    }
    saved = researcher.post(f"/ontwerp/{survey.slug}/vertaling/en", data=form)
    assert saved.status_code == 302
    data = definition(app, survey.slug)
    assert "languages" not in data  # translated, not yet offered to respondents
    assert data["pages"][0]["questions"][0]["translations"] == {
        "en": {"text": "Which sports do you do?"}
    }
    public = client.get(f"/p/{survey.slug}", headers=ENGLISH).get_data(as_text=True)
    assert '<html lang="nl"' in public and "Welke sporten doe je?" in public

    saved = researcher.post(f"/ontwerp/{survey.slug}/vertaling/en", data={**form, "aanbieden": "1"})
    assert saved.status_code == 302
    assert definition(app, survey.slug)["languages"] == ["nl", "en"]
    public = client.get(f"/p/{survey.slug}", headers=ENGLISH).get_data(as_text=True)
    assert '<html lang="en"' in public
    assert "Which sports do you do?" in public and ">Football</label>" in public
    assert "Kies er zoveel je wilt." in public  # no translation: the Dutch text
    html = researcher.get(f"/ontwerp/{survey.slug}/vertaling/en").get_data(as_text=True)
    assert (
        "5 van de 6 teksten zijn vertaald" in html
        and 'id="aanbieden" name="aanbieden" value="1" checked' in html
    )

    preview = researcher.get(f"/ontwerp/{survey.slug}/voorbeeld?taal=en").get_data(as_text=True)
    assert '<html lang="en"' in preview and "Which sports do you do?" in preview
    assert 'name="taal" value="en"' in preview
    with app.app_context():
        assert count_responses(survey.slug) == 0  # the preview stores nothing


def count_responses(slug: str) -> int:
    return db.session.scalar(
        sa.text("SELECT count(*) FROM response r JOIN survey s ON s.id = r.survey_id "
                "WHERE s.slug = :s"), {"s": slug}
    )  # fmt: skip


def test_editing_the_dutch_keeps_the_translations(app, demo_survey) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        survey = db.session.get(Survey, demo_survey.id)
        question = next(q for q in survey.questions if q.code == "leeftijd")
        services.reword_question(db.session, question, "Hoe oud ben jij?")
        db.session.commit()
        data = export_definition(db.session.get(Survey, demo_survey.id))
    q = data["pages"][0]["questions"][0]
    assert q["text"] == "Hoe oud ben jij?"
    assert q["translations"] == {"en": {"text": "How old are you?"}}


def test_only_languages_peiling_speaks_can_be_translated(logged_in, demo_survey) -> None:  # type: ignore[no-untyped-def]
    researcher = logged_in("researcher")
    assert researcher.get(f"/ontwerp/{demo_survey.slug}/vertaling/nl").status_code == 404
    assert researcher.get(f"/ontwerp/{demo_survey.slug}/vertaling/fr").status_code == 404


def test_a_refused_translation_keeps_what_was_typed(logged_in, demo_survey) -> None:  # type: ignore[no-untyped-def]
    researcher = logged_in("researcher")
    html = researcher.get(f"/ontwerp/{demo_survey.slug}/vertaling/en").get_data(as_text=True)
    too_long = "x" * 300
    page = researcher.post(
        f"/ontwerp/{demo_survey.slug}/vertaling/en",
        data={"csrf_token": csrf_of(html), "survey.title": too_long, "aanbieden": "1"},
    )
    html = page.get_data(as_text=True)
    assert page.status_code == 422
    assert "is langer dan 200 tekens" in html and f'value="{too_long}"' in html


def test_a_drafts_preview_shows_its_privacy_statement(app, logged_in, make_survey, client) -> None:  # type: ignore[no-untyped-def]
    """The preview's "Wat gebeurt er met je antwoorden?" led to the public privacy page,
    which a draft does not have yet (404): where the statement is checked before
    publishing, it was out of reach."""
    survey = make_survey(
        slug="zomer-concept", status="draft", languages=["nl", "en"],
        privacy_statement="De gemeente bewaart je antwoorden tot 1 oktober.",
        translations={"en": {"privacy_statement": "The municipality keeps your answers."}},
    )  # fmt: skip
    researcher = logged_in("researcher")
    for query, statement, notice in [
        ("", "De gemeente bewaart je antwoorden tot 1 oktober.", "<h2>Voorbeeld</h2>"),
        ("?taal=en", "The municipality keeps your answers.", "<h2>Preview</h2>"),
    ]:
        preview = researcher.get(f"/ontwerp/{survey.slug}/voorbeeld{query}")
        link = f'href="/ontwerp/{survey.slug}/voorbeeld/privacy{query}"'
        assert link in preview.get_data(as_text=True), query
        page = researcher.get(f"/ontwerp/{survey.slug}/voorbeeld/privacy{query}")
        html = page.get_data(as_text=True)
        assert page.status_code == 200 and statement in html, query
        assert f'href="/ontwerp/{survey.slug}/voorbeeld{query}"' in html, query  # back
        assert notice in html, query
    assert client.get(f"/p/{survey.slug}/privacy").status_code == 404  # still not public
    assert client.get(f"/ontwerp/{survey.slug}/voorbeeld/privacy").status_code == 302  # login
    assert logged_in("analyst").get(f"/ontwerp/{survey.slug}/voorbeeld/privacy").status_code == 403
