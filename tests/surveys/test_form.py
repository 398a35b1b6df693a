"""The public form end to end through HTTP: statuses, submission, idempotency, bad input."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa

from peiling import crypto, i18n
from peiling.extensions import db
from peiling.surveys import definition
from tests.conftest import count_rows, table_away

PAGE_1 = {"q_leeftijd": "17", "q_gemeente": "GM0106"}
PAGE_2 = {
    "q_genoeg_te_doen": "onvoldoende",
    "q_organiseren": "ja",
    "q_activiteiten": ["sport", "anders"],
    "q_activiteiten__anders": "Skatebaan",
    "q_cijfer": "6",
}
PAGE_3 = {
    "q_opmerking": "Meer te doen graag!",
    "q_helpen": "ja",
    "q_helpen__naam": "Daan Smit",
    "q_helpen__telefoon": "06 12345678",
    "q_helpen__act": ["sport"],
}
ALL = {**PAGE_1, **PAGE_2, **PAGE_3}


def complete(r):  # type: ignore[no-untyped-def]
    """Walk the demo poll page by page, the way a browser without JavaScript does."""
    r.open()
    assert r.post(0, PAGE_1).status_code == 200
    assert r.post(1, {**PAGE_1, **PAGE_2}).status_code == 200
    return r.post(2, ALL)


def test_complete_journey_stores_one_response(app, demo_survey, respondent) -> None:  # type: ignore[no-untyped-def]
    r = respondent(demo_survey.slug)
    done = complete(r)
    assert done.status_code == 303
    assert done.headers["Location"].endswith(f"/p/{demo_survey.slug}/bedankt")
    thanks = r.client.get(done.headers["Location"])
    assert "Bedankt voor het meedoen!" in thanks.get_data(as_text=True)
    assert f"/p/{demo_survey.slug}/privacy" in thanks.get_data(as_text=True)
    with app.app_context():
        resp = db.session.execute(
            sa.text("SELECT municipality_code, age, source FROM response")
        ).one()
        assert tuple(resp) == ("GM0106", 17, None)
        answers = db.session.execute(
            sa.text(
                "SELECT q.code, o.code, a.value_number, a.value_text, a.municipality_code "
                "FROM answer a JOIN question q ON q.id = a.question_id "
                "LEFT JOIN question_option o ON o.id = a.option_id "
                "ORDER BY q.position, COALESCE(o.position, -1)"
            )
        ).all()
        volunteer = db.session.execute(
            sa.text("SELECT name, email, phone, municipality_code FROM volunteer")
        ).one()
    assert [tuple(a[:4]) for a in answers] == [
        ("leeftijd", None, 17.0, None),
        ("gemeente", None, None, "GM0106"),
        ("genoeg_te_doen", "onvoldoende", None, None),
        ("organiseren", "ja", None, None),
        ("activiteiten", "sport", 1.0, None),  # the first pick marks a respondent
        ("activiteiten", "anders", None, "Skatebaan"),
        ("cijfer", None, 6.0, None),
        ("opmerking", None, None, "Meer te doen graag!"),
        ("helpen", None, None, "ja"),
        ("helpen", "sport", None, None),
    ]
    assert {a[4] for a in answers} == {"GM0106"}  # copied for the GROUP BY per municipality
    # Encrypted at rest: the row holds tokens, which the deployment's key opens.
    assert "Daan Smit" not in volunteer[0] and "12345678" not in volunteer[2]
    with app.app_context():
        plain = tuple(crypto.decrypt(v) for v in volunteer[:3])
    assert (*plain, volunteer[3]) == ("Daan Smit", None, "06 12345678", "GM0106")


def test_volunteer_contact_details_are_not_in_the_answers(app, demo_survey, respondent) -> None:  # type: ignore[no-untyped-def]
    complete(respondent(demo_survey.slug))
    with app.app_context():
        texts = db.session.execute(sa.text("SELECT value_text FROM answer")).scalars().all()
    assert "Daan Smit" not in texts and "06 12345678" not in texts


def test_source_tag_is_kept_from_the_link(app, demo_survey, respondent) -> None:  # type: ignore[no-untyped-def]
    r = respondent(demo_survey.slug)
    r.open("?bron=Instagram")
    r.post(0, PAGE_1, bron="instagram")
    assert r.post(2, ALL, bron="instagram").status_code == 303
    with app.app_context():
        assert db.session.execute(sa.text("SELECT source FROM response")).scalar() == "instagram"
    r2 = respondent(demo_survey.slug)
    html = r2.open("?bron=<script>").get_data(as_text=True)
    assert 'name="bron"' not in html  # anything but a short tag is ignored


def test_validation_error_reshows_every_answer(demo_survey, respondent) -> None:  # type: ignore[no-untyped-def]
    r = respondent(demo_survey.slug)
    r.open()
    r.post(0, PAGE_1)
    bad = {**PAGE_1, **PAGE_2, "q_cijfer": "", "q_activiteiten__anders": ""}
    page = r.post(1, bad)
    html = page.get_data(as_text=True)
    assert page.status_code == 422
    assert 'id="foutmeldingen"' in html
    assert 'href="#q_cijfer-0"' in html and 'href="#q_activiteiten__anders"' in html
    assert "Kies een cijfer van 1 tot en met 10." in html
    assert 'value="onvoldoende" checked' in html
    assert 'value="sport" checked' in html and 'value="anders" checked' in html
    assert '<input type="hidden" name="q_leeftijd" value="17">' in html


@pytest.mark.parametrize("age", ["11", "26", "40"])
def test_age_gate_stores_nothing(app, demo_survey, respondent, age) -> None:  # type: ignore[no-untyped-def]
    r = respondent(demo_survey.slug)
    r.open()
    page = r.post(0, {"q_leeftijd": age, "q_gemeente": "GM0114"})
    assert page.status_code == 200
    assert "Deze peiling is voor jongeren van 12 tot en met 25 jaar" in page.get_data(as_text=True)
    assert r.post(2, {**ALL, "q_leeftijd": age}).status_code == 200  # also at the final submit
    assert count_rows(app, "response") == 0 and count_rows(app, "answer") == 0


@pytest.mark.parametrize(
    ("fields", "status", "text"),
    [
        ({"status": "draft"}, 404, "Deze peiling bestaat niet"),
        ({"status": "closed"}, 410, "Deze peiling is gesloten"),
        ({"closes_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat()}, 410, "gesloten"),
        (
            {"opens_at": (datetime.now(UTC) + timedelta(days=2)).isoformat()},
            403,
            "Deze peiling is nog niet begonnen",
        ),
    ],
)
def test_unavailable_surveys_get_friendly_pages(make_survey, client, fields, status, text) -> None:  # type: ignore[no-untyped-def]
    survey = make_survey(**fields)
    for response in (client.get(f"/p/{survey.slug}"), client.post(f"/p/{survey.slug}")):
        assert response.status_code == status
        assert text in response.get_data(as_text=True)
        assert 'lang="nl"' in response.get_data(as_text=True)


def test_unknown_survey_is_404(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/p/bestaat-niet")
    assert response.status_code == 404
    assert "Deze peiling bestaat niet" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("typed", "query"),
    [
        ("jongerenpeiling-demo/", ""),
        ("Jongerenpeiling-Demo", ""),
        ("JONGERENPEILING-DEMO/", "?bron=poster&taal=en"),
    ],
)
def test_an_address_typed_from_a_poster_reaches_the_form(client, demo_survey, typed, query) -> None:  # type: ignore[no-untyped-def]
    assert demo_survey.slug == "jongerenpeiling-demo"
    response = client.get(f"/p/{typed}{query}")
    assert response.status_code == 308
    assert response.headers["Location"] == f"/p/jongerenpeiling-demo{query}"
    form = client.get(response.headers["Location"])
    assert form.status_code == 200
    assert 'action="/p/jongerenpeiling-demo' in form.get_data(as_text=True)
    if query:  # the source and the language asked for survive the redirect
        html = form.get_data(as_text=True)
        assert 'name="bron" value="poster"' in html and '<html lang="en"' in html


def test_only_the_form_is_forgiving_about_its_address(client, demo_survey) -> None:  # type: ignore[no-untyped-def]
    unknown = client.get("/p/Bestaat-Niet/")
    assert unknown.status_code == 308 and unknown.headers["Location"] == "/p/bestaat-niet"
    assert client.get(unknown.headers["Location"]).status_code == 404
    # A form posts to its own address; a post elsewhere is refused, never redirected
    # (a 308 would make the browser send her answers again, to a guessed address).
    assert client.post(f"/p/{demo_survey.slug}/", data={"x": "y"}).status_code == 405
    assert client.get(f"/p/{demo_survey.slug}/bedankt/").status_code == 404


def test_double_submit_and_refresh_store_one_response(app, demo_survey, respondent) -> None:  # type: ignore[no-untyped-def]
    r = respondent(demo_survey.slug)
    assert complete(r).status_code == 303
    again = r.post(2, ALL)  # double click, or "resend" after refresh
    assert again.status_code == 303 and again.headers["Location"].endswith("/bedankt")
    r.client.delete_cookie(f"peiling_{demo_survey.id}", path=f"/p/{demo_survey.slug}")
    assert r.post(2, ALL).status_code == 303  # a retry without the cookie: still one response
    assert count_rows(app, "response") == 1
    assert count_rows(app, "volunteer") == 1


def test_concurrent_duplicate_posts_store_one_response(app, demo_survey, respondent) -> None:  # type: ignore[no-untyped-def]
    r = respondent(demo_survey.slug)
    r.open()
    body = {"csrf_token": r.csrf, "token": r.token, "pagina": "2", "actie": "verder", **ALL}
    cookie = r.client.get_cookie("peiling_form", path="/p/").value
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def send() -> None:
        c = app.test_client()
        c.set_cookie("peiling_form", cookie, path="/p/")
        barrier.wait()
        statuses.append(c.post(f"/p/{demo_survey.slug}", data=body).status_code)

    threads = [threading.Thread(target=send) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert statuses == [303, 303]
    assert count_rows(app, "response") == 1
    assert count_rows(app, "answer") == 10


def test_second_response_from_same_browser_is_refused(app, demo_survey, respondent) -> None:  # type: ignore[no-untyped-def]
    r = respondent(demo_survey.slug)
    complete(r)
    page = r.client.get(f"/p/{demo_survey.slug}")
    assert "Je hebt al meegedaan" in page.get_data(as_text=True)
    r2 = respondent(demo_survey.slug)  # same client, so the same cookies
    r2.csrf, r2.token = r.csrf, "A" * 32  # a new form token, e.g. from a second tab
    assert r2.post(2, ALL).status_code == 409
    assert count_rows(app, "response") == 1


def test_thank_you_redirect_remembers_the_browser(app, demo_survey, respondent) -> None:  # type: ignore[no-untyped-def]
    r = respondent(demo_survey.slug)
    response = complete(r)
    assert response.status_code == 303
    assert response.headers["Location"] == f"/p/{demo_survey.slug}/bedankt"
    (cookie,) = [
        h
        for h in response.headers.getlist("Set-Cookie")
        if h.startswith(f"peiling_{demo_survey.id}=")
    ]
    parts = {p.strip().split("=")[0] for p in cookie.split(";")}
    assert {"HttpOnly", "SameSite", "Path", "Max-Age"} <= parts
    assert f"Path=/p/{demo_survey.slug}" in cookie and f"Max-Age={365 * 24 * 3600}" in cookie
    assert "Secure" not in parts


def test_a_post_with_thousands_of_fields_is_refused(app, demo_survey, respondent) -> None:  # type: ignore[no-untyped-def]
    r = respondent(demo_survey.slug)
    r.open()
    body = urlencode([("csrf_token", r.csrf), ("token", r.token), ("pagina", "2")])
    response = r.client.post(
        f"/p/{demo_survey.slug}",
        data=body + "&x=1" * 5000,
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 413
    assert count_rows(app, "response") == 0


def test_multiple_responses_when_the_survey_allows_it(app, make_survey, respondent) -> None:  # type: ignore[no-untyped-def]
    survey = make_survey(allow_multiple_responses=True)
    for _ in range(2):
        r = respondent(survey.slug)
        r.open()
        assert r.post(0, {"q_vraag": "ja"}).status_code == 303
    assert count_rows(app, "response") == 2


def test_honeypot_looks_like_success_and_stores_nothing(app, demo_survey, respondent) -> None:  # type: ignore[no-untyped-def]
    r = respondent(demo_survey.slug)
    r.open()
    response = r.post(2, ALL, website="http://spam.example")
    assert response.status_code == 303 and response.headers["Location"].endswith("/bedankt")
    assert count_rows(app, "response") == 0


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"csrf_token": "bogus"}, 400),
        ({"q_genoeg_te_doen": "zeker"}, 422),  # unknown option code
        ({"q_activiteiten": ["sport", "paardrijden"]}, 422),
        ({"q_cijfer": "12"}, 422),  # out of range
        ({"q_leeftijd": "-3"}, 422),
        ({"q_opmerking": "x" * 100_000}, 422),  # 100 KB text answer
        ({"token": "short"}, 400),
    ],
)
def test_bad_submissions_get_4xx_and_store_nothing(
    app, demo_survey, respondent, change, status
) -> None:  # type: ignore[no-untyped-def]
    r = respondent(demo_survey.slug)
    r.open()
    data = {"csrf_token": r.csrf, "token": r.token, "pagina": "2", "actie": "verder", **ALL}
    data.update(change)
    response = r.client.post(f"/p/{demo_survey.slug}", data=data)
    assert response.status_code == status
    html = response.get_data(as_text=True)
    assert "Traceback" not in html and 'lang="nl"' in html
    if status == 422:
        assert 'id="foutmeldingen"' in html
        assert 'value="Daan Smit"' in html  # answers are kept
    assert count_rows(app, "response") == 0


def test_invalid_utf8_is_refused(app, demo_survey, respondent) -> None:  # type: ignore[no-untyped-def]
    r = respondent(demo_survey.slug)
    r.open()
    body = urlencode(
        {
            "csrf_token": r.csrf,
            "token": r.token,
            "pagina": "2",
            "actie": "verder",
            **{k: v for k, v in ALL.items() if isinstance(v, str)},
        }
    )
    for bad in (b"&q_opmerking=%ff%fe", b"&q_opmerking=\xff\xfe"):
        response = r.client.post(
            f"/p/{demo_survey.slug}",
            data=body.encode() + bad,
            content_type="application/x-www-form-urlencoded",
        )
        assert response.status_code == 400
        assert "Er ging iets mis met je verzoek" in response.get_data(as_text=True)
    assert count_rows(app, "response") == 0


def test_oversized_post_is_refused(app, demo_survey, respondent) -> None:  # type: ignore[no-untyped-def]
    r = respondent(demo_survey.slug)
    r.open()
    response = r.post(2, {**ALL, "q_opmerking": "x" * 600_000})
    assert response.status_code == 413
    assert "Te veel gegevens" in response.get_data(as_text=True)
    assert count_rows(app, "response") == 0


def test_expired_csrf_token_keeps_the_answers(app, demo_survey, respondent) -> None:  # type: ignore[no-untyped-def]
    """A dropped form cookie, which is also what a cross-site POST looks like (SameSite=Lax)."""
    r = respondent(demo_survey.slug)
    r.open()
    r.client.delete_cookie("peiling_form", path="/p/")  # the browser dropped the cookie
    page = r.post(2, ALL)
    html = page.get_data(as_text=True)
    assert page.status_code == 400
    assert "Je sessie was verlopen" in html
    assert 'value="Daan Smit"' in html and '<input type="hidden" name="q_cijfer" value="6">' in html
    assert count_rows(app, "response") == 0
    assert r.post(2, ALL).status_code == 303  # the fresh token in that page works
    assert count_rows(app, "response") == 1


def test_a_browser_that_keeps_no_cookies_can_still_send_from_the_form(
    app, demo_survey, respondent
) -> None:  # type: ignore[no-untyped-def]
    """Without any cookie, the browser's own Sec-Fetch-Site says the post came from the
    form's own pages; every other value, or none (an old browser), is still refused."""
    r = respondent(demo_survey.slug)
    r.open()
    r.client.delete_cookie("peiling_form", path="/p/")
    body = {"csrf_token": r.csrf, "token": r.token, "pagina": "2", "actie": "verder", **ALL}
    for site in ("cross-site", "same-site", "none", "Same-Origin", ""):
        headers = {"Sec-Fetch-Site": site} if site else {}
        refused = r.client.post(r.url, data=body, headers=headers)
        assert refused.status_code == 400, site
        r.client.delete_cookie("peiling_form", path="/p/")  # the refusal set a new one
    assert count_rows(app, "response") == 0
    sent = r.client.post(r.url, data={**body, "csrf_token": ""},
                         headers={"Sec-Fetch-Site": "same-origin"})  # fmt: skip
    assert sent.status_code == 303 and sent.headers["Location"].endswith("/bedankt")
    assert count_rows(app, "response") == 1


def test_a_cookie_that_is_there_must_match_whatever_the_browser_says(
    app, demo_survey, respondent
) -> None:  # type: ignore[no-untyped-def]
    r = respondent(demo_survey.slug)
    r.open()
    data = {"csrf_token": "bogus", "token": r.token, "pagina": "2", "actie": "verder", **ALL}
    refused = r.client.post(r.url, data=data, headers={"Sec-Fetch-Site": "same-origin"})
    assert refused.status_code == 400
    assert count_rows(app, "response") == 0


def test_database_error_shows_retry_page_with_answers_then_stores_once(
    app, demo_survey, respondent
) -> None:  # type: ignore[no-untyped-def]
    r = respondent(demo_survey.slug)
    r.open()
    r.post(0, PAGE_1)
    with table_away(app, "answer"):  # a real failure: the answer table is briefly gone
        page = r.post(2, ALL)
    html = page.get_data(as_text=True)
    assert page.status_code == 503
    assert "Het opslaan is niet gelukt" in html and "Traceback" not in html
    assert 'value="Daan Smit"' in html and 'value="Meer te doen graag!"' not in html
    assert "Meer te doen graag!</textarea>" in html
    assert count_rows(app, "response") == 0  # the half-done transaction was rolled back
    assert r.post(2, ALL).status_code == 303
    assert r.post(2, ALL).status_code == 303
    assert count_rows(app, "response") == 1 and count_rows(app, "answer") == 10


def test_database_error_between_pages_offers_to_send_everything_again(
    app, demo_survey, respondent
) -> None:  # type: ignore[no-untyped-def]
    """Even a step that must read the questionnaire keeps every answer when the database
    fails: the page posts exactly what she sent once more."""
    r = respondent(demo_survey.slug)
    r.open()
    with table_away(app, "survey"):  # a real failure: the survey table is briefly gone
        page = r.client.post(
            r.url,
            data={
                "csrf_token": r.csrf,
                "token": r.token,
                "pagina": "0",
                "actie": "verder",
                **PAGE_1,
            },
        )
    html = page.get_data(as_text=True)
    assert page.status_code == 503 and page.headers["Retry-After"]
    assert "Even niet bereikbaar" in html and "Traceback" not in html
    fields = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', html)
    assert ("q_leeftijd", "17") in fields and ("q_gemeente", "GM0106") in fields
    assert ("token", r.token) in fields and ("csrf_token", r.csrf) in fields
    again = r.client.post(
        r.url, data=urlencode(fields), content_type="application/x-www-form-urlencoded"
    )
    assert again.status_code == 200
    assert 'name="q_genoeg_te_doen"' in again.get_data(as_text=True)  # on to page 2


def test_the_retry_page_speaks_the_language_she_answers_in(app, demo_survey, respondent) -> None:  # type: ignore[no-untyped-def]
    r = respondent(demo_survey.slug)
    r.open("?taal=en")
    assert r.language == "en"
    r.client.delete_cookie(i18n.COOKIE)  # only the form says which language she chose
    definition.clear_cache()  # a worker that has not shown this poll: it fails at once
    data = {"csrf_token": r.csrf, "token": r.token, "pagina": "0", "actie": "verder",
            "taal": "en", **PAGE_1}  # fmt: skip
    with table_away(app, "survey"):
        page = r.client.post(r.url, data=data, headers={"Accept-Language": "nl"})
    html = page.get_data(as_text=True)
    assert page.status_code == 503
    assert "Temporarily unavailable" in html and 'lang="en"' in html


def test_pages_carry_no_third_party_references(demo_survey, respondent) -> None:  # type: ignore[no-untyped-def]
    r = respondent(demo_survey.slug)
    html = r.open().get_data(as_text=True)
    # The only absolute URL is the page's own address, for link previews (og:url).
    absolute = re.findall(r"""(?:https?:)?//[^\s"'<>]+""", html)
    assert absolute == [f"http://localhost/p/{demo_survey.slug}"]
    assert 'lang="nl"' in html
    assert "Content-Security-Policy" in r.last.headers
    assert "unsafe-inline" not in r.last.headers["Content-Security-Policy"]
