"""Staff sessions end at logout, copies of the cookie included, and a lifetime after login."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from peiling.auth import sessions
from peiling.auth.models import EndedSession
from peiling.extensions import db
from tests.auth.fixtures import csrf_of, login

COOKIE = "peiling_session"


def copy_of(app: Flask, client: FlaskClient) -> FlaskClient:
    """Another browser holding a copy of `client`'s session cookie."""
    cookie = client.get_cookie(COOKIE)
    assert cookie is not None
    thief = app.test_client()
    thief.set_cookie(COOKIE, cookie.value)
    return thief


def logout(client: FlaskClient) -> None:
    csrf = csrf_of(client.get("/analysis/").get_data(as_text=True))
    response = client.post("/logout", data={"csrf_token": csrf})
    assert response.status_code == 302 and response.headers["Location"] == "/login"


def test_logging_out_ends_every_copy_of_the_session(app, accounts) -> None:  # type: ignore[no-untyped-def]
    client = app.test_client()
    assert login(client, accounts["researcher"]).status_code == 302
    thief = copy_of(app, client)
    assert thief.get("/analysis/").status_code == 200  # a copy works while the session lasts
    logout(client)
    assert client.get("/analysis/").status_code == 302
    refused = thief.get("/analysis/")
    assert refused.status_code == 302 and refused.headers["Location"].startswith("/login")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(EndedSession)) == 1


def test_other_sessions_of_the_account_stay_logged_in(app, accounts) -> None:  # type: ignore[no-untyped-def]
    laptop, phone = app.test_client(), app.test_client()
    assert login(laptop, accounts["analyst"]).status_code == 302
    assert login(phone, accounts["analyst"]).status_code == 302
    logout(laptop)
    assert phone.get("/analysis/").status_code == 200
    # Logging in again after a logout is a new session, not the ended one.
    assert login(laptop, accounts["analyst"]).status_code == 302
    assert laptop.get("/analysis/").status_code == 200


def test_a_session_ends_its_lifetime_after_login_however_often_it_is_used(app, accounts) -> None:  # type: ignore[no-untyped-def]
    client = app.test_client()
    assert login(client, accounts["admin"]).status_code == 302
    assert client.get("/analysis/").status_code == 200  # renews the cookie, not the login
    lifetime = int(app.permanent_session_lifetime.total_seconds())
    with client.session_transaction() as cookie:
        cookie[sessions.SINCE] -= lifetime - 60  # a minute left
    assert client.get("/analysis/").status_code == 200
    with client.session_transaction() as cookie:
        cookie[sessions.SINCE] -= 60
    assert client.get("/analysis/").status_code == 302


def test_a_session_without_an_id_is_refused(app, accounts) -> None:  # type: ignore[no-untyped-def]
    """A session cookie from before session ids (or made any other way) is not a login."""
    client = app.test_client()
    assert login(client, accounts["admin"]).status_code == 302
    with client.session_transaction() as cookie:
        del cookie[sessions.SID]
    assert client.get("/analysis/").status_code == 302


def test_purge_forgets_ended_sessions_past_their_lifetime(app, runner) -> None:  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    with app.app_context():
        db.session.add_all([
            EndedSession(sid_hash="a" * 64, ends_at=now - timedelta(minutes=1)),
            EndedSession(sid_hash="b" * 64, ends_at=now + timedelta(hours=1)),
        ])  # fmt: skip
        db.session.commit()
    result = runner.invoke(args=["purge"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        left = db.session.scalars(select(EndedSession.sid_hash)).all()
    assert left == ["b" * 64]


def test_validity_of_a_session_by_its_start(app) -> None:  # type: ignore[no-untyped-def]
    start = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
    lifetime = timedelta(hours=8)
    cookie: dict[str, object] = {}
    sessions.begin(cookie, start)
    with app.app_context():
        assert sessions.valid(db.session, cookie, lifetime, start + lifetime - timedelta(seconds=1))
        assert not sessions.valid(db.session, cookie, lifetime, start + lifetime)
        assert not sessions.valid(db.session, {}, lifetime, start)
        sessions.end(db.session, cookie, lifetime)
        db.session.flush()
        assert not sessions.valid(db.session, cookie, lifetime, start)
        db.session.rollback()
