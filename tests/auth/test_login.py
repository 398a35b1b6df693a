"""Staff login: the demo account, wrong passwords and the `next` parameter."""

from __future__ import annotations

import re

import pytest

from peiling.auth.models import Role, User
from peiling.auth.views import safe_next
from peiling.extensions import db


@pytest.fixture
def staff(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        user = User(email="onderzoek@drenthe.nl", role=Role.RESEARCHER)
        user.set_password("lang-en-geheim-wachtwoord")
        db.session.add(user)
        db.session.commit()
        assert "lang-en-geheim" not in user.password_hash
        assert user.password_hash.startswith("pbkdf2:sha256:1000$")  # the suite's setting
    return "onderzoek@drenthe.nl", "lang-en-geheim-wachtwoord"


def login(client, email, password, next_url=""):  # type: ignore[no-untyped-def]
    html = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    return client.post(
        "/login" + next_url, data={"email": email, "password": password, "csrf_token": csrf}
    )


def test_login_and_logout(client, staff) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/analysis/").status_code == 302
    response = login(client, *staff)
    assert response.status_code == 302 and response.headers["Location"] == "/analysis/"
    assert client.get("/analysis/").status_code == 200
    html = client.get("/analysis/").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    assert client.post("/logout", data={"csrf_token": csrf}).status_code == 302
    assert client.get("/analysis/").status_code == 302


def test_the_bare_address_leads_to_the_login_then_to_the_start_page(client, staff) -> None:  # type: ignore[no-untyped-def]
    first = client.get("/")
    assert first.status_code == 302 and first.headers["Location"] == "/login"
    assert client.get(first.headers["Location"]).status_code == 200
    login(client, *staff)
    after = client.get("/")
    assert after.status_code == 302 and after.headers["Location"] == "/analysis/"
    assert client.get("/analysis/").status_code == 200


def test_wrong_password_is_refused(client, staff) -> None:  # type: ignore[no-untyped-def]
    response = login(client, staff[0], "fout")
    assert response.status_code == 422
    assert "horen niet bij elkaar" in response.get_data(as_text=True)
    assert client.get("/analysis/").status_code == 302


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/analysis/", "/analysis/"),
        ("https://evil.example/", "/analysis/"),
        ("//evil.example/", "/analysis/"),
        ("/\\evil.example", "/analysis/"),
        ("javascript:alert(1)", "/analysis/"),
    ],
)
def test_next_never_leaves_the_site(app, target, expected) -> None:  # type: ignore[no-untyped-def]
    with app.test_request_context():
        assert safe_next(target) == expected


def test_passwords_are_hashed_with_scrypt_by_default(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from peiling import create_app

    monkeypatch.setenv("PEILING_INSTANCE_PATH", str(tmp_path))
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    with app.app_context():
        user = User(email="x@drenthe.nl", role=Role.ADMIN)
        user.set_password("een-lang-geheim-wachtwoord")
    assert user.password_hash.startswith("scrypt:")
    assert user.check_password("een-lang-geheim-wachtwoord")
