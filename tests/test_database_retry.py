"""A form posted while the database fails comes back as a page that posts it once more.

The public form and a wave's form have their own retry pages (tests/surveys/test_form.py,
tests/panel/test_waves.py); this is every other form: a researcher's question, a resident's
sign-up for the panel, a removal code. The failure is real: a table is renamed away while
the post runs.
"""

from __future__ import annotations

import re
from html import unescape

from flask.testing import FlaskClient
from werkzeug.datastructures import MultiDict

from tests.auth.fixtures import PASSWORD, csrf_of, new_account_form
from tests.conftest import count_rows, table_away
from tests.designer.test_designer_pages import definition
from tests.panel.fixtures import codes, panel  # noqa: F401 - fixtures
from tests.panel.test_recruitment import EMAIL, members, sign_up

TEXT = 'Wat mis je "het meest"\r\nin de zomer? <sport> & muziek'


def retry_form(html: str) -> tuple[str, MultiDict[str, str]]:
    """Where the retry page's button posts, and what."""
    action = re.search(r'<form method="post" action="([^"]+)"', html)
    assert action, "no retry form"
    hidden = re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)"', html)
    return unescape(action.group(1)), MultiDict([(unescape(n), unescape(v)) for n, v in hidden])


def press_retry(client: FlaskClient, html: str):  # type: ignore[no-untyped-def]
    action, fields = retry_form(html)
    return client.post(action, data=fields)


def test_a_question_saved_while_the_database_fails_is_saved_on_retry(
    app, logged_in, make_survey
) -> None:  # type: ignore[no-untyped-def]
    make_survey(slug="storing", status="draft")
    client = logged_in("researcher")
    csrf = csrf_of(client.get("/ontwerp/storing/vraag/vraag").get_data(as_text=True))
    edit = {"csrf_token": csrf, "type": "long_text", "text": TEXT, "help": "", "required": "1"}
    with table_away(app, "audit_event"):  # the save's audit row cannot be written
        failed = client.post("/ontwerp/storing/vraag/vraag", data=edit)
    html = failed.get_data(as_text=True)
    assert failed.status_code == 503 and failed.headers["Retry-After"] == "5"
    assert "Wat je invulde kon nu niet worden opgeslagen" in html
    assert "Traceback" not in html and "audit_event" not in html
    action, fields = retry_form(html)
    assert action == "/ontwerp/storing/vraag/vraag"
    assert fields.to_dict(flat=False) == {k: [v] for k, v in edit.items()}
    assert definition(app, "storing")["pages"][0]["questions"][0]["text"] == "Iets?"
    retried = press_retry(client, html)
    assert retried.status_code == 302
    assert definition(app, "storing")["pages"][0]["questions"][0]["text"] == TEXT


def test_a_panel_sign_up_while_the_database_fails_is_done_on_retry(
    app,
    client,
    inbox,
    codes,  # noqa: F811 - fixture
) -> None:  # type: ignore[no-untyped-def]
    with table_away(app, "panel_member"):
        failed = sign_up(client, codes[0])
    html = failed.get_data(as_text=True)
    assert failed.status_code == 503
    action, fields = retry_form(html)
    assert action == "/panel/groninger-panel/aanmelden"
    assert fields["email"] == EMAIL and fields["code"] == codes[0]
    assert fields["profiel_opleiding"] == "hbo"
    assert members(app) == [] and inbox.to(EMAIL) == []
    retried = press_retry(client, html)  # the form cookie's token is still good
    assert retried.status_code == 200 and "Kijk in je e-mail" in retried.get_data(as_text=True)
    assert len(members(app)) == 1


def test_a_login_while_the_database_fails_is_not_written_into_the_page(app, accounts) -> None:  # type: ignore[no-untyped-def]
    client = app.test_client()
    csrf = csrf_of(client.get("/login").get_data(as_text=True))
    with table_away(app, "staff_user"):
        failed = client.post(
            "/login", data={"csrf_token": csrf, "email": accounts["admin"], "password": PASSWORD}
        )
    html = failed.get_data(as_text=True)
    assert failed.status_code == 503
    assert PASSWORD not in html and "<form" not in html


def test_a_first_password_is_not_written_into_the_retry_page(app, logged_in) -> None:  # type: ignore[no-untyped-def]
    client = logged_in("admin")
    csrf = csrf_of(client.get("/beheer/gebruikers").get_data(as_text=True))
    secret = "een-eerste-geheim-van-lengte"
    users = count_rows(app, "staff_user")
    with table_away(app, "audit_event"):
        failed = client.post("/beheer/gebruikers", data=new_account_form(csrf, secret))
    html = failed.get_data(as_text=True)
    assert failed.status_code == 503
    _action, fields = retry_form(html)
    assert fields["email"] == "nieuw@provincie.nl" and "password" not in fields
    assert secret not in html
    assert count_rows(app, "staff_user") == users
