"""CSRF on the public form: a signed double-submit cookie, and no server session."""

from __future__ import annotations

from tests.conftest import count_rows
from tests.surveys.test_form import ALL

# A POST without the cookie: tests/surveys/test_form.py::test_expired_csrf_token_keeps_the_answers


def form_cookie(response) -> str:  # type: ignore[no-untyped-def]
    headers = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("peiling_form=")]
    assert len(headers) == 1
    return headers[0]


def test_form_page_sets_a_form_cookie_and_no_session(demo_survey, respondent) -> None:  # type: ignore[no-untyped-def]
    r = respondent(demo_survey.slug)
    page = r.open()
    header = form_cookie(page)
    assert "HttpOnly" in header and "SameSite=Lax" in header and "Path=/p/" in header
    assert not any(h.startswith("peiling_session=") for h in page.headers.getlist("Set-Cookie"))
    secret = r.client.get_cookie("peiling_form", path="/p/").value
    assert secret not in page.get_data(as_text=True)  # the page carries only its MAC
    assert r.csrf and r.csrf != secret
    # The same browser keeps its secret: a second page view sets no new cookie.
    again = r.open()
    assert not any(h.startswith("peiling_form=") for h in again.headers.getlist("Set-Cookie"))


def test_cookie_is_secure_when_sessions_are(app, demo_survey, respondent) -> None:  # type: ignore[no-untyped-def]
    app.config["SESSION_COOKIE_SECURE"] = True
    try:
        assert "Secure" in form_cookie(respondent(demo_survey.slug).open())
    finally:
        app.config["SESSION_COOKIE_SECURE"] = False


def test_token_of_another_browser_is_refused(app, demo_survey, respondent) -> None:  # type: ignore[no-untyped-def]
    mallory = respondent(demo_survey.slug)
    mallory.open()
    victim = respondent(demo_survey.slug)
    victim.client = app.test_client()
    victim.open()
    assert victim.csrf != mallory.csrf
    victim.csrf = mallory.csrf  # a token lifted from another browser's page
    assert victim.post(2, ALL).status_code == 400
    assert count_rows(app, "response") == 0


def test_forged_cookie_and_token_pair_is_refused(app, demo_survey, respondent) -> None:  # type: ignore[no-untyped-def]
    r = respondent(demo_survey.slug)
    r.open()
    r.client.set_cookie("peiling_form", "A" * 43, path="/p/")
    r.csrf = "A" * 43  # without the server's key no valid pair can be made
    assert r.post(2, ALL).status_code == 400
    assert count_rows(app, "response") == 0


def test_non_ascii_token_is_refused_cleanly(app, demo_survey, respondent) -> None:  # type: ignore[no-untyped-def]
    r = respondent(demo_survey.slug)
    r.open()
    r.csrf = "é" * 43  # compare_digest would raise TypeError on such a str
    page = r.post(2, ALL)
    assert page.status_code == 400
    assert "Traceback" not in page.get_data(as_text=True)
    assert count_rows(app, "response") == 0
