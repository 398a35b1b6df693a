"""What a researcher typed is not lost when her session ended before she pressed save."""

from __future__ import annotations

import io
import re
import secrets
from html import unescape

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from werkzeug.test import TestResponse
from wtforms import PasswordField

from peiling.auth import kept, sessions
from peiling.surveys.models import Survey
from peiling.web import SECRET_FIELDS
from tests.auth.fixtures import PASSWORD, csrf_of, new_account_form
from tests.designer.test_designer_pages import definition

SAME_ORIGIN = {"Sec-Fetch-Site": "same-origin"}
# A question rewritten at length, with a line break, quotes and markup in it.
TYPED = 'Wat wil je deze zomer "echt" doen?\r\nDenk aan <sport> & muziek.'


def end_session(app: Flask, client: FlaskClient) -> None:
    """Make the client's login older than a session may last (the cookie stays)."""
    lifetime = int(app.permanent_session_lifetime.total_seconds())
    with client.session_transaction() as cookie:
        cookie[sessions.SINCE] -= lifetime + 1


def hidden_fields(html: str) -> list[tuple[str, str]]:
    return [
        (unescape(name), unescape(value))
        for name, value in re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)"', html)
    ]


def kept_of(html: str) -> str:
    found = dict(hidden_fields(html)).get(kept.FIELD)
    assert found, "no kept form on the page"
    return found


def log_in_again(client: FlaskClient, login_page: str, email: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    """Log in on a login page that carries a kept form, as the browser would post it."""
    action = re.search(r'<form method="post" action="([^"]+)"', login_page)
    return client.post(
        unescape(action.group(1)) if action else "/login",  # no action: it was at /login
        data={
            "csrf_token": csrf_of(login_page),
            "email": email,
            "password": password,
            kept.FIELD: kept_of(login_page),
        },
    )


def press_save(client: FlaskClient, resume_page: str):  # type: ignore[no-untyped-def]
    action = re.search(r'<form method="post" action="([^"]+)"', resume_page)
    assert action
    return client.post(unescape(action.group(1)), data=MultiDict(hidden_fields(resume_page)))


def question_text(app: Flask, slug: str) -> str:
    return str(definition(app, slug)["pages"][0]["questions"][0]["text"])


EDIT = "/ontwerp/zomer/vraag/vraag"


def edit(text: str = TYPED) -> dict[str, str]:
    return {"type": "long_text", "text": text, "help": "", "required": "1"}


@pytest.fixture
def draft(make_survey) -> Survey:  # type: ignore[no-untyped-def]
    return make_survey(slug="zomer", status="draft")


def saved_too_late(app: Flask, logged_in) -> tuple[FlaskClient, TestResponse, str]:  # type: ignore[no-untyped-def]
    """The researcher opens the question, her session ends, then she presses save: her
    browser, the answer and the token of the page she had open."""
    client = logged_in("researcher")
    csrf = csrf_of(client.get(EDIT).get_data(as_text=True))
    end_session(app, client)
    return client, client.post(EDIT, data={"csrf_token": csrf, **edit()}), csrf


def test_an_edit_saved_after_the_session_ended_is_saved_after_logging_in(
    app, logged_in, accounts, draft
) -> None:  # type: ignore[no-untyped-def]
    client, refused, csrf = saved_too_late(app, logged_in)
    page = refused.get_data(as_text=True)
    assert refused.status_code == 401 and refused.headers["Cache-Control"] == "no-store"
    assert '<form method="post" action="/login"' in page  # not back to the editor
    assert "Je sessie is verlopen, dus wat je invulde is nog niet opgeslagen" in page
    assert TYPED not in page  # carried signed, not shown
    assert question_text(app, "zomer") == "Iets?"

    resumed = log_in_again(client, page, accounts["researcher"])
    resume_page = resumed.get_data(as_text=True)
    assert resumed.status_code == 200 and resumed.headers["Cache-Control"] == "no-store"
    assert "Je bent weer ingelogd" in resume_page
    assert f'action="{EDIT}"' in resume_page
    fields = dict(hidden_fields(resume_page))
    assert fields["text"] == TYPED and fields["type"] == "long_text"
    assert fields["csrf_token"] != csrf  # the new session's own token
    assert question_text(app, "zomer") == "Iets?"  # nothing saved before she presses save

    saved = press_save(client, resume_page)
    assert saved.status_code == 302 and saved.headers["Location"] == "/ontwerp/zomer"
    assert question_text(app, "zomer") == TYPED


def test_a_form_posted_after_the_browser_dropped_the_cookie_is_kept(
    app, logged_in, accounts, draft
) -> None:  # type: ignore[no-untyped-def]
    """Overnight the session cookie expires in the browser: the post comes without any
    session, so without a token to match, and only the browser's own header vouches."""
    client = logged_in("researcher")
    csrf = csrf_of(client.get(EDIT).get_data(as_text=True))
    morning = app.test_client()  # the same browser, its cookie gone
    refused = morning.post(EDIT, data={"csrf_token": csrf, **edit()}, headers=SAME_ORIGIN)
    assert refused.status_code == 401
    resumed = log_in_again(morning, refused.get_data(as_text=True), accounts["researcher"])
    assert press_save(morning, resumed.get_data(as_text=True)).status_code == 302
    assert question_text(app, "zomer") == TYPED


@pytest.mark.parametrize("fetch_site", [None, "cross-site", "same-site", "none"])
def test_a_post_without_a_session_from_elsewhere_is_refused_and_not_kept(
    app, logged_in, draft, fetch_site
) -> None:  # type: ignore[no-untyped-def]
    client = logged_in("researcher")
    csrf = csrf_of(client.get(EDIT).get_data(as_text=True))
    headers = {"Sec-Fetch-Site": fetch_site} if fetch_site else {}
    refused = app.test_client().post(EDIT, data={"csrf_token": csrf, **edit()}, headers=headers)
    assert refused.status_code == 400
    assert f'name="{kept.FIELD}"' not in refused.get_data(as_text=True)


def test_a_forged_post_with_the_ended_session_is_refused_and_not_kept(
    app, logged_in, draft
) -> None:  # type: ignore[no-untyped-def]
    """The cookie of the ended session goes along with a cross-site post, but without the
    page's token the post fails the CSRF check before the login is even looked at."""
    client = logged_in("researcher")
    end_session(app, client)
    refused = client.post(EDIT, data=edit(), headers={"Sec-Fetch-Site": "cross-site"})
    assert refused.status_code == 400
    assert f'name="{kept.FIELD}"' not in refused.get_data(as_text=True)


def test_nothing_is_saved_when_she_chooses_not_to(app, logged_in, accounts, draft) -> None:  # type: ignore[no-untyped-def]
    client, refused, _csrf = saved_too_late(app, logged_in)
    page = refused.get_data(as_text=True)
    resume_page = log_in_again(client, page, accounts["researcher"]).get_data(as_text=True)
    assert '<a href="/analysis/">Niet opslaan</a>' in resume_page
    assert client.get("/analysis/").status_code == 200  # logged in all the same
    assert question_text(app, "zomer") == "Iets?"


def test_a_wrong_password_keeps_the_form_for_the_next_try(app, logged_in, accounts, draft) -> None:  # type: ignore[no-untyped-def]
    client, refused, _csrf = saved_too_late(app, logged_in)
    page = refused.get_data(as_text=True)
    wrong = log_in_again(client, page, accounts["researcher"], password="niet-het-wachtwoord")
    wrong_page = wrong.get_data(as_text=True)
    assert wrong.status_code == 422 and "horen niet bij elkaar" in wrong_page
    assert kept_of(wrong_page) == kept_of(page)
    right = client.post(
        "/login",
        data={"csrf_token": csrf_of(wrong_page), "email": accounts["researcher"],
              "password": PASSWORD, kept.FIELD: kept_of(wrong_page)},
    )  # fmt: skip
    assert press_save(client, right.get_data(as_text=True)).status_code == 302
    assert question_text(app, "zomer") == TYPED


def test_the_login_page_left_open_too_long_asks_again_and_keeps_the_form(
    app, logged_in, accounts, draft
) -> None:  # type: ignore[no-untyped-def]
    """Its CSRF token is gone with the cookie: a login page again, not a bare 400."""
    client, refused, _csrf = saved_too_late(app, logged_in)
    page = refused.get_data(as_text=True)
    client.delete_cookie("peiling_session")
    stale = client.post(
        "/login",
        data={"csrf_token": csrf_of(page), "email": accounts["researcher"],
              "password": PASSWORD, kept.FIELD: kept_of(page)},
    )  # fmt: skip
    stale_page = stale.get_data(as_text=True)
    assert stale.status_code == 400
    assert "De inlogpagina stond te lang open" in stale_page
    assert kept_of(stale_page) == kept_of(page)
    resumed = log_in_again(client, stale_page, accounts["researcher"])
    assert press_save(client, resumed.get_data(as_text=True)).status_code == 302
    assert question_text(app, "zomer") == TYPED


def test_an_altered_or_old_kept_form_is_ignored(
    app, logged_in, accounts, draft, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    client, refused, _csrf = saved_too_late(app, logged_in)
    page = refused.get_data(as_text=True)
    signed = kept_of(page)
    altered = signed[:-2] + ("AA" if not signed.endswith("AA") else "BB")
    for value in (altered, kept.keep(EDIT, edit().items(), "een ander geheim").signed):
        fresh = app.test_client()
        login_page = fresh.get("/login").get_data(as_text=True)
        response = fresh.post(
            "/login",
            data={"csrf_token": csrf_of(login_page), "email": accounts["researcher"],
                  "password": PASSWORD, kept.FIELD: value},
        )  # fmt: skip
        assert response.status_code == 302  # a plain login: nothing offered to save
    monkeypatch.setattr(kept, "MAX_AGE", -1)
    with app.test_request_context():
        assert kept.read(signed) is None
    monkeypatch.undo()
    with app.test_request_context():
        assert kept.read(signed) is not None


def test_only_a_path_on_this_site_is_kept(app) -> None:  # type: ignore[no-untyped-def]
    form = list(edit().items())
    for url in ("https://elders.example/x", "//elders.example/x", "/\\elders.example"):
        assert kept.keep(url, form) is None
    assert kept.keep(EDIT, [("csrf_token", "x")]) is None  # nothing typed
    # Text that does not compress (typed text does, about threefold).
    too_long = [("tekst", secrets.token_urlsafe(kept.MAX_CHARS))]
    with app.app_context():  # signed with the app's secret key
        assert kept.keep(EDIT, too_long) is None
        assert kept.keep(EDIT, form) is not None


def test_a_password_is_never_kept(app, logged_in, accounts) -> None:  # type: ignore[no-untyped-def]
    """The admin's new-account form has a first password: the rest is kept, it is not."""
    client = logged_in("admin")
    csrf = csrf_of(client.get("/beheer/gebruikers").get_data(as_text=True))
    end_session(app, client)
    secret = "een-eerste-geheim-van-lengte"
    refused = client.post("/beheer/gebruikers", data=new_account_form(csrf, secret))
    page = refused.get_data(as_text=True)
    assert refused.status_code == 401
    with app.test_request_context():
        held = kept.read(kept_of(page))
    assert held is not None
    assert ("email", "nieuw@provincie.nl") in held.fields
    assert all(name != "password" and secret not in value for name, value in held.fields)
    resume_page = log_in_again(client, page, accounts["admin"]).get_data(as_text=True)
    assert secret not in resume_page


def _forms(cls: type) -> list[type]:
    return [cls, *(sub for direct in cls.__subclasses__() for sub in _forms(direct))]


def test_every_password_field_is_one_that_is_never_kept(app) -> None:  # type: ignore[no-untyped-def]
    """The app (made by the fixture) has imported every blueprint's forms."""
    names = {
        name
        for form in _forms(FlaskForm)
        for name, field in vars(form).items()
        if getattr(field, "field_class", None) is PasswordField
    }
    assert names >= {"password", "current", "new", "repeat"}
    assert names <= SECRET_FIELDS <= kept.NOT_KEPT


def test_an_upload_is_not_kept(app, logged_in) -> None:  # type: ignore[no-untyped-def]
    """A file cannot travel through the login: the usual way to the login page."""
    client = logged_in("researcher")
    csrf = csrf_of(client.get("/ontwerp/importeren").get_data(as_text=True))
    end_session(app, client)
    refused = client.post(
        "/ontwerp/importeren",
        data={"csrf_token": csrf, "bestand": (io.BytesIO(b"{}"), "peiling.json")},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 302
    assert refused.headers["Location"].startswith("/login?next=")


def test_a_get_after_the_session_ended_still_goes_round_the_login(app, logged_in, accounts) -> None:  # type: ignore[no-untyped-def]
    client = logged_in("researcher")
    end_session(app, client)
    refused = client.get("/ontwerp/")
    assert refused.status_code == 302
    assert refused.headers["Location"] == "/login?next=%2Fontwerp%2F"


def test_after_the_login_a_post_only_address_sends_her_back_where_she_pressed(
    app, logged_in, draft
) -> None:  # type: ignore[no-untyped-def]
    """Publish (nothing typed, so nothing kept) and log out take only posts: the login then
    leads back to the page the button was on, not to a 405."""
    client = logged_in("researcher")
    csrf = csrf_of(client.get("/ontwerp/zomer").get_data(as_text=True))
    end_session(app, client)
    publish = client.post(
        "/ontwerp/zomer/publiceren",
        data={"csrf_token": csrf},
        headers={"Referer": "http://localhost/ontwerp/zomer?x=1"},
    )
    assert publish.status_code == 302
    assert publish.headers["Location"] == "/login?next=%2Fontwerp%2Fzomer%3Fx%3D1"
    elsewhere = client.post(
        "/logout", data={"csrf_token": csrf}, headers={"Referer": "https://elders.example/"}
    )
    assert elsewhere.status_code == 302 and elsewhere.headers["Location"] == "/login"


def test_a_page_from_before_a_new_login_in_another_tab_asks_to_save(
    app, logged_in, accounts, draft
) -> None:  # type: ignore[no-untyped-def]
    """The editor is open in one tab; the session ends and she logs in again in another.
    Back in the first tab she presses save: its token belongs to the old session."""
    client, refused, csrf = saved_too_late(app, logged_in)
    assert refused.status_code == 401
    login_page = client.get("/login").get_data(as_text=True)  # the other tab
    client.post("/login", data={"csrf_token": csrf_of(login_page),
                                "email": accounts["researcher"], "password": PASSWORD})  # fmt: skip
    assert client.get("/analysis/").status_code == 200  # logged in again

    stale = client.post(EDIT, data={"csrf_token": csrf, **edit()}, headers=SAME_ORIGIN)
    page = stale.get_data(as_text=True)
    assert stale.status_code == 400
    assert "Deze pagina was nog geopend van voordat je opnieuw inlogde" in page
    assert question_text(app, "zomer") == "Iets?"
    assert press_save(client, page).status_code == 302
    assert question_text(app, "zomer") == TYPED
    # Without the browser's word that it came from this site: the bare refusal.
    forged = client.post(EDIT, data={"csrf_token": csrf, **edit("Iets anders")})
    assert forged.status_code == 400 and "Opslaan wat ik invulde" not in forged.get_data(
        as_text=True
    )
    assert question_text(app, "zomer") == TYPED


def test_a_kept_form_survives_being_throttled(app, logged_in, accounts, draft) -> None:  # type: ignore[no-untyped-def]
    """Five wrong passwords in a minute: the login page says to wait, and still carries
    the form, so the right password a minute later still saves it."""
    client, refused, _csrf = saved_too_late(app, logged_in)
    page = refused.get_data(as_text=True)
    for _attempt in range(5):
        wrong = log_in_again(client, page, accounts["researcher"], password="fout-wachtwoord")
        assert wrong.status_code == 422
        page = wrong.get_data(as_text=True)
    blocked = log_in_again(client, page, accounts["researcher"])
    blocked_page = blocked.get_data(as_text=True)
    assert blocked.status_code == 429 and "Te veel mislukte pogingen" in blocked_page
    assert kept_of(blocked_page) == kept_of(refused.get_data(as_text=True))
    assert blocked.headers["Cache-Control"] == "no-store"


def test_log_out_from_a_page_opened_before_a_new_login_logs_out(app, logged_in, accounts) -> None:  # type: ignore[no-untyped-def]
    client = logged_in("researcher")
    old_csrf = csrf_of(client.get("/analysis/").get_data(as_text=True))
    end_session(app, client)
    login_page = client.get("/login").get_data(as_text=True)
    client.post("/login", data={"csrf_token": csrf_of(login_page),
                                "email": accounts["researcher"], "password": PASSWORD})  # fmt: skip
    out = client.post("/logout", data={"csrf_token": old_csrf}, headers=SAME_ORIGIN)
    assert out.status_code == 302 and out.headers["Location"] == "/login"
    assert client.get("/analysis/").status_code == 302  # logged out
    # Cross-site, the old token is refused as before and she stays logged in.
    again = logged_in("researcher")
    refused = again.post("/logout", data={"csrf_token": old_csrf})
    assert refused.status_code == 400 and again.get("/analysis/").status_code == 200
