"""Translated questionnaires: language choice, the switch, fallbacks, and what is stored."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from peiling.analysis.services import option_counts
from peiling.extensions import db
from peiling.surveys.exporter import export_definition
from peiling.surveys.importer import DefinitionError, build_survey
from peiling.surveys.models import Survey
from tests.conftest import demo_definition
from tests.surveys.test_form import ALL, PAGE_1, PAGE_2

ENGLISH = {"headers": {"Accept-Language": "en-GB,en;q=0.9"}}


def html_lang(html: str) -> str:
    found = re.search(r'<html lang="([^"]+)"', html)
    assert found
    return found.group(1)


def stored(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        rows = db.session.execute(
            sa.text(
                "SELECT r.language, q.code, o.code, a.value_number, a.value_text "
                "FROM answer a JOIN response r ON r.id = a.response_id "
                "JOIN question q ON q.id = a.question_id "
                "LEFT JOIN question_option o ON o.id = a.option_id "
                "ORDER BY r.id, q.position, COALESCE(o.position, -1)"
            )
        ).all()
    return [tuple(row) for row in rows]


def test_browser_preference_picks_the_translation(demo_survey, respondent) -> None:  # type: ignore[no-untyped-def]
    page = respondent(demo_survey.slug).open(**ENGLISH)
    assert {"Accept-Language", "Cookie"} <= set(page.headers["Vary"].split(", "))
    html = page.get_data(as_text=True)
    assert html_lang(html) == "en"
    assert "Youth poll Drenthe: what do you want to do this summer?" in html
    assert "How old are you?" in html and "Hoe oud ben je?" not in html
    assert ">Next</button>" in html and "Skip to content" in html
    assert 'name="taal" value="en"' in html
    assert '<meta property="og:locale" content="en_GB">' in html
    # The other language is offered with its own name, marked as being in that language.
    assert '<button type="submit" name="taal_kiezen" value="nl" class="link" lang="nl">' in html


def test_dutch_by_default_and_for_unknown_preferences(demo_survey, respondent) -> None:  # type: ignore[no-untyped-def]
    for headers in ({}, {"Accept-Language": "nl-NL"}, {"Accept-Language": "fr, de;q=0.5"}):
        html = respondent(demo_survey.slug).open(headers=headers).get_data(as_text=True)
        assert html_lang(html) == "nl"
        assert "Hoe oud ben je?" in html and ">Volgende</button>" in html


def test_link_parameter_beats_the_browser(demo_survey, respondent) -> None:  # type: ignore[no-untyped-def]
    r = respondent(demo_survey.slug)
    html = r.open("?taal=nl", **ENGLISH).get_data(as_text=True)
    assert html_lang(html) == "nl" and "Hoe oud ben je?" in html
    html = r.open("?taal=en", headers={"Accept-Language": "nl"}).get_data(as_text=True)
    assert html_lang(html) == "en" and "How old are you?" in html
    html = r.open("?taal=xx").get_data(as_text=True)  # not offered: ignored
    assert html_lang(html) == "nl"


def test_untranslated_questionnaire_stays_dutch_for_english_browsers(
    make_survey, respondent
) -> None:  # type: ignore[no-untyped-def]
    survey = make_survey()
    html = respondent(survey.slug).open("?taal=en", **ENGLISH).get_data(as_text=True)
    assert html_lang(html) == "nl"
    assert "Iets?" in html and ">Versturen</button>" in html
    assert "taal_kiezen" not in html  # nothing to switch to


def test_english_respondent_is_stored_with_the_same_codes(app, demo_survey, respondent) -> None:  # type: ignore[no-untyped-def]
    dutch = respondent(demo_survey.slug)
    dutch.open()
    dutch.post(0, PAGE_1)
    dutch.post(1, {**PAGE_1, **PAGE_2})
    assert dutch.post(2, ALL).status_code == 303

    english = respondent(demo_survey.slug)
    english.client.delete_cookie(f"peiling_{demo_survey.id}", path=f"/p/{demo_survey.slug}")
    english.open(**ENGLISH)
    assert english.language == "en"
    english.post(0, PAGE_1)
    page = english.post(1, {**PAGE_1, **PAGE_2})
    assert "Finally" in page.get_data(as_text=True)
    done = english.post(2, ALL)
    assert done.status_code == 303
    assert done.headers["Location"].endswith(f"/p/{demo_survey.slug}/bedankt?taal=en")
    thanks = english.client.get(done.headers["Location"]).get_data(as_text=True)
    assert html_lang(thanks) == "en" and "Thank you for taking part!" in thanks
    assert f"/p/{demo_survey.slug}/privacy?taal=en" in thanks

    rows = stored(app)
    by_language = {lang: [row[1:] for row in rows if row[0] == lang] for lang in ("nl", "en")}
    assert by_language["nl"] and by_language["nl"] == by_language["en"]
    with app.app_context():
        counts = option_counts(db.session, demo_survey.id)
        chosen = db.session.execute(
            sa.text(
                "SELECT o.id FROM question_option o JOIN question q ON q.id = o.question_id "
                "WHERE q.survey_id = :s AND q.code = 'genoeg_te_doen' AND o.code = 'onvoldoende'"
            ),
            {"s": demo_survey.id},
        ).scalar_one()
    # The analysis counts both respondents under the one option, whatever the language.
    assert sum(n for _q, option, _m, n in counts if option == chosen) == 2


def test_errors_come_in_the_respondents_language(demo_survey, respondent) -> None:  # type: ignore[no-untyped-def]
    r = respondent(demo_survey.slug)
    r.open(**ENGLISH)
    page = r.post(0, {"q_leeftijd": "abc"})
    html = page.get_data(as_text=True)
    assert page.status_code == 422
    assert "There are 2 problems left" in html
    assert "Enter your age in years, for example 16." in html
    assert "Choose your municipality." in html
    assert "Error:" in html and "Fout:" not in html


def test_switching_language_keeps_every_answer_and_checks_nothing(demo_survey, respondent) -> None:  # type: ignore[no-untyped-def]
    r = respondent(demo_survey.slug)
    r.open()
    r.post(0, PAGE_1)
    half = {**PAGE_1, "q_genoeg_te_doen": "onvoldoende", "q_organiseren": "ja"}
    page = r.post(1, half, taal_kiezen="en")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and html_lang(html) == "en"
    assert "The summer" in html and "No, too little" in html
    assert re.search(r'value="onvoldoende"\s+checked', html)
    assert 'id="foutmeldingen"' not in html  # the unanswered grade is not an error yet
    assert r.language == "en"
    # And back again, on the same page.
    html = r.post(1, half, taal_kiezen="nl").get_data(as_text=True)
    assert html_lang(html) == "nl" and "Nee, te weinig" in html


def test_switching_to_a_language_the_survey_lacks_is_refused(demo_survey, respondent) -> None:  # type: ignore[no-untyped-def]
    r = respondent(demo_survey.slug)
    r.open()
    assert r.post(0, PAGE_1, taal_kiezen="xx").status_code == 400


def test_builtin_options_are_translated_from_the_catalogue(make_survey, respondent) -> None:  # type: ignore[no-untyped-def]
    survey = make_survey(
        languages=["nl", "en"],
        pages=[
            {
                "questions": [
                    {
                        "code": "eens",
                        "type": "agree_scale",
                        "text": "Stelling",
                        "translations": {"en": {"text": "Statement"}},
                    },
                    {"code": "janee", "type": "yes_no", "text": "Ja of nee?"},
                    {
                        "code": "keuze",
                        "type": "single_choice",
                        "text": "Kies",
                        "other": True,
                        "options": [
                            {"code": "a", "label": "Appel"},
                            {"code": "b", "label": "Peer"},
                        ],
                    },
                ]
            }
        ],
    )
    html = respondent(survey.slug).open(**ENGLISH).get_data(as_text=True)
    for label in ("Strongly disagree", "Neither agree nor disagree", "Yes", "No", "Other, namely"):
        assert f">{label}</label>" in html
    # A text without a translation falls back to Dutch rather than showing nothing.
    assert "Statement" in html and "Ja of nee?" in html and ">Appel</label>" in html


def test_status_pages_follow_the_language(app, demo_survey, client) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        db.session.execute(
            sa.update(Survey).where(Survey.id == demo_survey.id).values(status="closed")
        )
        db.session.commit()
    html = client.get(f"/p/{demo_survey.slug}", **ENGLISH).get_data(as_text=True)
    assert html_lang(html) == "en" and "This poll is closed" in html
    assert "Youth poll Drenthe" in html
    html = client.get(f"/p/{demo_survey.slug}").get_data(as_text=True)
    assert html_lang(html) == "nl" and "Deze peiling is gesloten" in html


def test_privacy_page_in_english(demo_survey, client) -> None:  # type: ignore[no-untyped-def]
    html = client.get(f"/p/{demo_survey.slug}/privacy?taal=en").get_data(as_text=True)
    assert html_lang(html) == "en"
    assert "The province of Drenthe only uses your answers" in html
    assert (
        f'href="/p/{demo_survey.slug}/privacy?taal=nl" lang="nl" hreflang="nl">Nederlands' in html
    )


def test_csrf_expiry_page_keeps_the_language(demo_survey, respondent) -> None:  # type: ignore[no-untyped-def]
    r = respondent(demo_survey.slug)
    r.open(**ENGLISH)
    r.csrf = "expired-" + r.csrf
    page = r.post(0, PAGE_1)
    html = page.get_data(as_text=True)
    assert page.status_code == 400 and html_lang(html) == "en"
    assert "Your session had expired" in html and 'value="17"' in html


# Ukrainian and Arabic: respondent languages only (staff never see them).

UKRAINIAN = {"headers": {"Accept-Language": "uk-UA,uk;q=0.9"}}
ARABIC = {"headers": {"Accept-Language": "ar"}}


def _in(uk: str, ar: str, key: str = "text") -> dict[str, dict[str, str]]:
    return {"uk": {key: uk}, "ar": {key: ar}}


def multilingual_definition() -> dict:  # type: ignore[type-arg]
    """A two-page poll in Dutch, Ukrainian and Arabic, with the types that bring their own
    options (yes/no, the agree scale, a grade, ‘other’)."""
    return {
        "title": "Vrije tijd",
        "introduction": "Vertel ons wat je in je vrije tijd doet.",
        "languages": ["nl", "uk", "ar"],
        "translations": {
            "uk": {"title": "Вільний час",
                   "introduction": "Розкажи, чим ти займаєшся у вільний час."},
            "ar": {"title": "وقت الفراغ", "introduction": "أخبرنا ماذا تفعل في وقت فراغك."},
        },
        "pages": [
            {
                "title": "Over jou",
                "translations": _in("Про тебе", "عنك", "title"),
                "questions": [
                    {"code": "leeftijd", "type": "age", "text": "Hoe oud ben je?",
                     "required": True, "translations": _in("Скільки тобі років?", "كم عمرك؟")},
                    {"code": "sport", "type": "yes_no", "text": "Sport je elke week?",
                     "required": True,
                     "translations": _in("Ти займаєшся спортом щотижня?",
                                         "هل تمارس الرياضة كل أسبوع؟")},
                    {"code": "welke", "type": "short_text", "text": "Welke sport?",
                     "show_if": {"question": "sport", "op": "equals", "value": "ja"},
                     "translations": _in("Який саме спорт?", "أي رياضة؟")},
                    {"code": "hobby", "type": "single_choice", "text": "Wat doe je het liefst?",
                     "required": True, "other": True,
                     "translations": _in("Що ти любиш робити найбільше?",
                                         "ما الذي تحب فعله أكثر؟"),
                     "options": [
                         {"code": "muziek", "label": "Muziek maken",
                          "translations": _in("Займатися музикою", "عزف الموسيقى", "label")},
                         {"code": "gamen", "label": "Gamen",
                          "translations": _in("Грати в ігри", "ألعاب الفيديو", "label")},
                     ]},
                ],
            },
            {
                "title": "Je buurt",
                "translations": _in("Твій район", "حيّك", "title"),
                "questions": [
                    {"code": "genoeg", "type": "agree_scale", "required": True,
                     "text": "Er is genoeg te doen in mijn buurt.",
                     "translations": _in("У моєму районі є чим зайнятися.",
                                         "يوجد ما يكفي من الأنشطة في حيّي.")},
                    {"code": "cijfer", "type": "grade", "text": "Welk cijfer geef je je buurt?",
                     "translations": _in("Яку оцінку ти ставиш своєму району?",
                                         "ما الدرجة التي تعطيها لحيّك؟")},
                    {"code": "idee", "type": "long_text", "text": "Heb je nog een idee?",
                     "translations": _in("Маєш ще якусь ідею?", "هل لديك فكرة أخرى؟")},
                ],
            },
        ],
    }  # fmt: skip


FIRST = {"q_leeftijd": "16", "q_sport": "ja", "q_hobby": "anders", "q_hobby__anders": "Skaten"}
SECOND = {"q_genoeg": "2", "q_cijfer": "7", "q_idee": "Een skatebaan"}


def test_ukrainian_browser_gets_the_form_in_ukrainian(make_survey, respondent) -> None:  # type: ignore[no-untyped-def]
    survey = make_survey(**multilingual_definition())
    r = respondent(survey.slug)
    html = r.open(**UKRAINIAN).get_data(as_text=True)
    assert '<html lang="uk" dir="ltr">' in html
    assert "Вільний час" in html and "Скільки тобі років?" in html and "Про тебе" in html
    assert ">Далі</button>" in html and "Перейти до вмісту" in html and "Крок 1 з 2" in html
    assert '<meta property="og:locale" content="uk_UA">' in html
    # The built-in labels come from the catalogue, the questionnaire's own from its translation.
    for label in ("Так", "Ні", "Займатися музикою", "Інше, а саме"):
        assert f">{label}</label>" in html
    assert "Що ти маєш на увазі під «інше»?" in html
    # Without JavaScript, a note explains the condition, with the language's own quotes.
    assert (
        "Відповідай, лише якщо на питання «Ти займаєшся спортом щотижня?» твоя відповідь —"
        " «Так»." in html
    )
    assert '<button type="submit" name="taal_kiezen" value="ar" class="link" lang="ar">' in html
    assert "Hoe oud ben je?" not in html and "Volgende" not in html

    page = r.post(0, {"q_leeftijd": "abc", "q_hobby": "anders"})
    html = page.get_data(as_text=True)
    assert page.status_code == 422 and r.language == "uk"
    assert "Залишилося 3 проблеми" in html
    assert "Вкажи свій вік у роках, наприклад 16." in html
    assert "Обери «так» або «ні»." in html
    assert "Напиши, що ти маєш на увазі під «інше»." in html
    assert "Помилка:" in html and "Fout:" not in html

    html = r.post(0, FIRST).get_data(as_text=True)
    assert "Твій район" in html and ">Надіслати</button>" in html and ">Назад</button>" in html
    for label in ("Зовсім не погоджуюся", "Нейтрально", "Цілком погоджуюся"):
        assert f">{label}</label>" in html
    assert "1 = дуже погано, 10 = чудово" in html


def test_arabic_browser_gets_a_right_to_left_form_in_arabic(make_survey, respondent) -> None:  # type: ignore[no-untyped-def]
    survey = make_survey(**multilingual_definition())
    r = respondent(survey.slug)
    html = r.open(**ARABIC).get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in html
    assert "وقت الفراغ" in html and "كم عمرك؟" in html and ">التالي</button>" in html
    assert '<meta property="og:locale" content="ar_AR">' in html
    for label in ("نعم", "لا", "ألعاب الفيديو", "غير ذلك"):
        assert f">{label}</label>" in html
    assert '<button type="submit" name="taal_kiezen" value="uk" class="link" lang="uk">' in html
    assert "أجب فقط إذا اخترت «نعم» في السؤال «هل تمارس الرياضة كل أسبوع؟»." in html

    page = r.post(0, {})
    html = page.get_data(as_text=True)
    assert page.status_code == 422 and '<html lang="ar" dir="rtl">' in html
    assert "بقيت 3 مشاكل" in html
    assert "أدخل عمرك." in html and "اختر «نعم» أو «لا»." in html and "خطأ:" in html

    html = r.post(0, FIRST).get_data(as_text=True)
    for label in ("لا أوافق بشدة", "لا أوافق ولا أعارض", "أوافق بشدة"):
        assert f">{label}</label>" in html
    assert ">إرسال</button>" in html and ">السابق</button>" in html


def test_ukrainian_and_arabic_answers_are_stored_with_the_same_codes(
    app, make_survey, respondent
) -> None:  # type: ignore[no-untyped-def]
    survey = make_survey(**multilingual_definition())
    thanks = {}
    for headers in ({}, UKRAINIAN, ARABIC):
        r = respondent(survey.slug)
        r.client.delete_cookie(f"peiling_{survey.id}", path=f"/p/{survey.slug}")
        r.open(**headers)
        assert r.post(0, FIRST).status_code == 200
        done = r.post(1, {**FIRST, **SECOND})
        assert done.status_code == 303
        thanks[r.language] = r.client.get(done.headers["Location"]).get_data(as_text=True)
    assert "Дякуємо за участь!" in thanks["uk"] and '<html lang="uk" dir="ltr">' in thanks["uk"]
    assert "شكرًا لمشاركتك!" in thanks["ar"] and '<html lang="ar" dir="rtl">' in thanks["ar"]
    assert f"/p/{survey.slug}/privacy?taal=ar" in thanks["ar"]

    rows = stored(app)
    by_language = {lang: [row[1:] for row in rows if row[0] == lang] for lang in ("nl", "uk", "ar")}
    assert by_language["nl"] and by_language["nl"] == by_language["uk"] == by_language["ar"]
    assert ("hobby", "anders", None, "Skaten") in by_language["ar"]
    assert ("genoeg", "2", None, None) in by_language["uk"]


def test_ukrainian_and_arabic_status_and_privacy_pages(app, make_survey, client) -> None:  # type: ignore[no-untyped-def]
    survey = make_survey(**multilingual_definition())
    html = client.get(f"/p/{survey.slug}/privacy", **ARABIC).get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in html and "الخصوصية" in html
    assert "العودة إلى الاستطلاع" in html
    with app.app_context():
        db.session.execute(sa.update(Survey).where(Survey.id == survey.id).values(status="closed"))
        db.session.commit()
    html = client.get(f"/p/{survey.slug}", **UKRAINIAN).get_data(as_text=True)
    assert '<html lang="uk"' in html and "Це опитування закрито" in html
    assert "Узяти участь уже не можна. Дякуємо за інтерес!" in html


# The definition format: what may be translated, and what is refused.


def _definition(**changes):  # type: ignore[no-untyped-def]
    data = demo_definition()
    data["slug"] = "vertaling-test"
    data.update(changes)
    return data


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"languages": ["nl", "tlh"]}, "taal 'tlh' wordt niet ondersteund"),
        ({"languages": "en"}, "veld 'languages' moet een lijst met taalcodes zijn"),
        ({"translations": {"fr": {"title": "x"}}}, "'translations' noemt taal 'fr'; vertalen"),
        ({"translations": {"nl": {"title": "x"}}}, "'translations' noemt taal 'nl'"),
        ({"translations": {"en": {"titel": "x"}}}, "onbekend veld 'titel'"),
        ({"translations": {"en": {"title": 5}}}, "veld 'title' moet tekst zijn"),
        ({"translations": {"en": {"title": "x" * 201}}}, "veld 'title' is langer dan 200 tekens"),
        ({"translations": ["en"]}, "veld 'translations' moet per taal de vertaalde teksten geven"),
    ],
)
def test_bad_translations_are_refused(app, change, message) -> None:  # type: ignore[no-untyped-def]
    with app.app_context(), pytest.raises(DefinitionError) as error:
        build_survey(db.session, _definition(**change))
    assert any(message in problem for problem in error.value.problems), error.value.problems


def test_bad_option_translation_names_the_option(app) -> None:  # type: ignore[no-untyped-def]
    data = _definition()
    data["pages"][1]["questions"][0]["options"][0]["translations"] = {"en": {"text": "x"}}
    with app.app_context(), pytest.raises(DefinitionError) as error:
        build_survey(db.session, data)
    assert any(
        "antwoordoptie 'ruim'" in p and "onbekend veld 'text'" in p for p in error.value.problems
    )


def test_translated_but_not_offered_stays_dutch(app, make_survey, respondent) -> None:  # type: ignore[no-untyped-def]
    data = _definition(languages=["nl"])
    data.pop("slug")
    survey = make_survey(**data)
    html = respondent(survey.slug).open("?taal=en", **ENGLISH).get_data(as_text=True)
    assert html_lang(html) == "nl" and "Hoe oud ben je?" in html
    with app.app_context():
        kept = export_definition(db.session.get(Survey, survey.id))
    assert "languages" not in kept and kept["translations"]["en"]["title"].startswith("Youth")


def test_translations_survive_export_and_import(app) -> None:  # type: ignore[no-untyped-def]
    data = _definition()
    with app.app_context():
        survey = build_survey(db.session, data)
        db.session.add(survey)
        db.session.flush()
        exported = export_definition(survey)
        db.session.rollback()
    assert exported["languages"] == ["nl", "en"]
    assert exported["translations"]["en"]["title"].startswith("Youth poll Drenthe")
    assert exported["pages"][1]["questions"][0]["options"][2]["translations"] == {
        "en": {"label": "No, too little"}
    }

    def translations_of(definition):  # type: ignore[no-untyped-def]
        found = [definition.get("translations")]
        for page in definition["pages"]:
            found.append(page.get("translations"))
            for q in page["questions"]:
                found.append(q.get("translations"))
                found += [o.get("translations") for o in q.get("options", [])]
        return found

    assert translations_of(exported) == translations_of(data)
    with app.app_context():
        again = build_survey(db.session, {**exported, "slug": "vertaling-test-2"})
        db.session.add(again)
        db.session.flush()
        assert export_definition(again) == {**exported, "slug": "vertaling-test-2"}
        db.session.rollback()
