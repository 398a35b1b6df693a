"""A staff form that is refused comes back with the reasons and with what was typed in it.

Each of these used to flash the reasons and redirect to the page, which showed the stored
values again: a rewritten privacy statement, a list of profile questions or a dozen numbers
were gone, to be typed once more.
"""

from __future__ import annotations

import re
from html import escape

from flask import Flask
from flask.testing import FlaskClient

from peiling.extensions import db
from peiling.panel.models import Panel
from tests.auth.fixtures import csrf_of
from tests.designer.problem_html import beside, summary
from tests.designer.test_designer_pages import definition

PRIVACY = "We bewaren je antwoorden één jaar; daarna <b>wissen</b> we ze & klaar."


def page_of(client: FlaskClient, path: str) -> tuple[str, str]:
    html = client.get(path).get_data(as_text=True)
    return html, csrf_of(html)


def test_refused_settings_keep_everything_typed(app, logged_in, make_survey) -> None:  # type: ignore[no-untyped-def]
    make_survey(slug="instellingen", status="draft")
    client = logged_in("researcher")
    _html, csrf = page_of(client, "/ontwerp/instellingen")
    typed = {
        "csrf_token": csrf,
        "title": "Zomer in Emmen",
        "introduction": "Vertel ons wat je wilt.\r\nHet duurt twee minuten.",
        "privacy_statement": PRIVACY,
        "age_min": "twaalf",  # refused: not a number
        "age_max": "25",
        "opens_at": "2027-06-01T09:00",
        "closes_at": "2027-07-01T17:30",
        "allow_multiple_responses": "1",
    }
    refused = client.post("/ontwerp/instellingen/instellingen", data=typed)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert beside(html, "age_min") == "Fout: moet een getal zijn"  # the reason, at the field
    assert 'name="title" value="Zomer in Emmen"' in html
    assert f">{escape(PRIVACY, quote=False)}</textarea>" in html
    assert "Het duurt twee minuten.</textarea>" in html
    assert 'value="twaalf"' in html
    assert 'name="opens_at" type="datetime-local" value="2027-06-01T09:00"' in html
    assert 'name="closes_at" type="datetime-local" value="2027-07-01T17:30"' in html
    assert re.search(r'name="allow_multiple_responses" value="1"\s*checked', html)
    stored = definition(app, "instellingen")
    assert stored["title"] == "Testpeiling" and not stored.get("privacy_statement")
    # Corrected, the same form is saved.
    saved = client.post("/ontwerp/instellingen/instellingen", data=dict(typed, age_min="12"))
    assert saved.status_code == 302
    assert definition(app, "instellingen")["privacy_statement"] == PRIVACY


def test_a_refused_new_question_keeps_its_type_code_and_text(app, logged_in, make_survey) -> None:  # type: ignore[no-untyped-def]
    make_survey(slug="nieuwe-vraag", status="draft")
    client = logged_in("researcher")
    _html, csrf = page_of(client, "/ontwerp/nieuwe-vraag")
    text = "Welke activiteit mis je het meest in de zomer?"
    refused = client.post(
        "/ontwerp/nieuwe-vraag/vraag",  # "vraag" is the code of the survey's only question
        data={"csrf_token": csrf, "page": "0", "type": "long_text", "code": "vraag", "text": text},
    )
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "vraag" in html and f'name="text" required value="{text}"' in html
    assert 'name="code" required pattern="[a-z][a-z0-9_]{0,63}" value="vraag"' in html
    assert '<option value="long_text" selected>' in html
    pages = definition(app, "nieuwe-vraag")["pages"]
    assert [q["code"] for q in pages[0]["questions"]] == ["vraag"]
    # The editor lists the stored questions, not the refused one.
    assert html.count("Welke activiteit mis je") == 1


def test_a_refused_new_page_keeps_its_title(app, logged_in, make_survey) -> None:  # type: ignore[no-untyped-def]
    make_survey(slug="nieuwe-pagina", status="draft")
    client = logged_in("researcher")
    _html, csrf = page_of(client, "/ontwerp/nieuwe-pagina")
    title = "Over de zomer " + "heel lang " * 40
    refused = client.post(
        "/ontwerp/nieuwe-pagina/pagina", data={"csrf_token": csrf, "title": title}
    )
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert f'id="new-page-title" name="title" value="{title}"' in html
    assert len(definition(app, "nieuwe-pagina")["pages"]) == 1


def panel_page(client: FlaskClient) -> tuple[str, str, list[str]]:
    html, csrf = page_of(client, "/panel/groninger-panel/")
    return html, csrf, re.findall(r'name="doel_(GM\d{4})"', html)


def test_refused_panel_targets_keep_every_number(app, logged_in, panel) -> None:  # type: ignore[no-untyped-def]
    client = logged_in("researcher")
    _html, csrf, places = panel_page(client)
    typed = {f"doel_{code}": str(100 + n) for n, code in enumerate(places)}
    typed["doel_GM0047"] = "veel"
    refused = client.post("/panel/groninger-panel/doelen", data={"csrf_token": csrf, **typed})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    # The one municipality in error is named and marked, of twelve fields.
    assert summary(html) == [("doel_GM0047", "Veendam: vul een heel getal in (0 of meer)")]
    assert beside(html, "doel_GM0047") == "Fout: vul een heel getal in (0 of meer)"
    assert all(beside(html, f"doel_{code}") is None for code in places if code != "GM0047")
    assert "<details open><summary>Doelen per gemeente instellen" in html
    for name, value in typed.items():
        assert f'name="{name}" value="{value}"' in html
    with app.app_context():
        assert db.session.get(Panel, panel.id).targets in (None, {})


def test_refused_profile_questions_keep_the_text(app, logged_in, panel) -> None:  # type: ignore[no-untyped-def]
    client = logged_in("researcher")
    _html, csrf, _places = panel_page(client)
    text = "werk | Werk je? | ja=Ja, nee=Nee\nsport: doe je aan sport?"  # line 2 is refused
    refused = client.post(
        "/panel/groninger-panel/profiel", data={"csrf_token": csrf, "profielvragen": text}
    )
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "<details open><summary>Profielvragen" in html
    reason = "Regel 2: schrijf code | Vraag | waarde=Antwoord, waarde=Antwoord"
    assert summary(html) == [("profielvragen", f"Profielvragen: {reason}")]
    assert beside(html, "profielvragen") == f"Fout: {reason}"
    assert f">{text}</textarea>" in html
    with app.app_context():
        assert [f["code"] for f in db.session.get(Panel, panel.id).profile_fields] == ["opleiding"]


def test_a_refused_code_batch_keeps_the_numbers(app, logged_in, panel) -> None:  # type: ignore[no-untyped-def]
    client = logged_in("researcher")
    _html, csrf, places = panel_page(client)
    for bad, reason in (
        ("-3", ("n_GM1950", "Westerwolde: vul een heel getal in (0 of meer)")),
        ("20000", (None, "Vraag tussen 1 en 20000 codes tegelijk aan.")),  # no one field's fault
    ):
        typed = {f"n_{code}": "0" for code in places} | {"n_GM0014": "40", "n_GM1950": bad}
        refused = client.post("/panel/groninger-panel/codes", data={"csrf_token": csrf, **typed})
        html = refused.get_data(as_text=True)
        assert refused.status_code == 422, bad
        assert summary(html) == [reason]
        assert beside(html, "n_GM1950") == ("Fout: vul een heel getal in (0 of meer)"
                                            if reason[0] else None)  # fmt: skip
        assert 'name="n_GM0014" value="40"' in html and f'name="n_GM1950" value="{bad}"' in html
    assert client.get("/panel/groninger-panel/codes/1.csv").status_code == 404


def test_the_pages_still_show_stored_values_when_nothing_was_refused(
    app: Flask, logged_in, panel, make_survey
) -> None:  # type: ignore[no-untyped-def]
    make_survey(slug="gewoon", status="draft")
    client = logged_in("researcher")
    editor = client.get("/ontwerp/gewoon")
    assert editor.status_code == 200 and 'name="title" value="Testpeiling"' in editor.get_data(
        as_text=True
    )
    html, _csrf, _places = panel_page(client)
    assert "<details open>" not in html
    assert "opleiding | Opleiding | mbo=Mbo, hbo=Hbo of wo</textarea>" in html
    assert 'name="n_GM0014" value="0"' in html


def test_an_edit_of_a_question_a_colleague_deleted_keeps_the_text(
    app, logged_in, make_survey
) -> None:  # type: ignore[no-untyped-def]
    questions = [
        {"code": code, "type": "short_text", "text": f"{code}?"} for code in ("eerste", "tweede")
    ]
    pages = [{"questions": questions}]
    make_survey(slug="collega", status="draft", pages=pages)
    mine, colleague = logged_in("researcher"), logged_in("researcher")
    _html, csrf = page_of(mine, "/ontwerp/collega/vraag/tweede")
    _html, theirs = page_of(colleague, "/ontwerp/collega")
    colleague.post("/ontwerp/collega/vraag/tweede/verwijderen", data={"csrf_token": theirs})
    text = "Wat doe je het liefst <buiten>?"
    refused = mine.post(
        "/ontwerp/collega/vraag/tweede",
        data={"csrf_token": csrf, "type": "short_text", "text": text},
    )
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "Vraag ‘tweede’ bestaat niet meer in deze vragenlijst" in html
    assert f"Je tekst was: {escape(text, quote=False)}" in html
    gone = mine.get("/ontwerp/collega/vraag/tweede")
    assert gone.status_code == 302
    assert "bestaat niet (meer)" in mine.get(gone.headers["Location"]).get_data(as_text=True)
    codes = [q["code"] for q in definition(app, "collega")["pages"][0]["questions"]]
    assert codes == ["eerste"]


def test_a_refused_copy_keeps_the_slug_typed_for_it(app, logged_in, make_survey) -> None:  # type: ignore[no-untyped-def]
    original = make_survey(slug="origineel", status="draft")
    make_survey(slug="bezet", status="draft")
    client = logged_in("researcher")
    _html, csrf = page_of(client, "/ontwerp/")
    refused = client.post("/ontwerp/origineel/kopie", data={"csrf_token": csrf, "slug": "bezet"})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    element = f"kopie-{original.id}"
    message = "is al in gebruik door een andere vragenlijst"
    assert summary(html) == [(element, f"Nieuwe slug voor een kopie van ‘Testpeiling’: {message}")]
    assert beside(html, element) == f"Fout: {message}"
    assert re.search(rf'id="{element}" name="slug"[^>]* value="bezet"', html)
    assert 'value="bezet-kopie"' in html  # the other survey's form as it was


def test_a_refused_new_panel_marks_each_field(app, logged_in, panel) -> None:  # type: ignore[no-untyped-def]
    client = logged_in("researcher")
    _html, csrf = page_of(client, "/panel/nieuw")
    for typed, expected in (
        ({"name": "", "slug": "Mijn Panel", "region": "friesland"}, [
            ("name", "Geef het panel een naam (hoogstens 200 tekens)."),
            ("slug", "Het adres mag alleen kleine letters, cijfers en - bevatten."),
            ("region", "Kies een provincie."),
        ]),
        ({"name": "Nog een", "slug": "groninger-panel", "region": "groningen"}, [
            ("slug", "Er is al een panel met dit adres."),
        ]),
    ):  # fmt: skip
        refused = client.post("/panel/nieuw", data={"csrf_token": csrf, **typed})
        html = refused.get_data(as_text=True)
        assert refused.status_code == 422
        assert summary(html) == expected
        for element, text in expected:
            assert beside(html, element) == f"Fout: {text}"
        assert f'name="slug" value="{typed["slug"]}"' in html


def test_a_refused_wave_marks_each_field(app, logged_in, panel) -> None:  # type: ignore[no-untyped-def]
    client = logged_in("researcher")
    html, csrf = page_of(client, "/panel/groninger-panel/golven")
    places = re.findall(r'name="n_(GM\d{4})"', html)
    typed = {"csrf_token": csrf, "name": "", "survey": "", "mode": "per", "seed": "12x"}
    typed |= {f"n_{code}": "5" for code in places} | {"n_GM0014": "vijf"}
    refused = client.post("/panel/groninger-panel/golven", data=typed)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    seed = "Vul als startgetal een heel getal van hoogstens 9 cijfers in, of laat het leeg."
    assert summary(html) == [
        ("seed", seed),
        ("n_GM0014", "Groningen: vul een heel getal in (0 of meer)"),
        ("survey", "Kies een vragenlijst."),
        ("name", "Geef de golf een naam."),
    ]
    assert beside(html, "seed") == f"Fout: {seed}"
    assert beside(html, "n_GM0014") == "Fout: vul een heel getal in (0 of meer)"
    assert beside(html, "n_GM0037") is None
    assert 'name="n_GM0014" value="vijf"' in html and 'name="seed" value="12x"' in html
    share = client.post("/panel/groninger-panel/golven",
                        data={**typed, "mode": "share", "share": "150"})  # fmt: skip
    assert ("share", "Vul een percentage tussen 1 en 100 in.") in summary(
        share.get_data(as_text=True)
    )
