"""Accounts: the CLI, the admin page, passwords, sessions, throttling and the audit log."""

from __future__ import annotations

import logging
import secrets
import time

import pytest
import sqlalchemy as sa
from redis import Redis

from peiling import create_app
from peiling.auth.models import AuditEvent, Role, User
from peiling.auth.throttle import LoginThrottle
from peiling.extensions import db
from tests.auth.fixtures import PASSWORD, add_account, csrf_of, login
from tests.conftest import make_app


def audit_actions(app) -> list[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    with app.app_context():
        rows = db.session.execute(
            sa.select(AuditEvent.actor, AuditEvent.action, AuditEvent.target).order_by(
                AuditEvent.id
            )
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


def test_cli_creates_accounts_with_a_scope(app, runner) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(
        args=["users", "create", "Emmen@Drenthe.nl", "--role", "analyst",
              "--municipality", "GM0114", "--volunteers", "--password", PASSWORD]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "emmen@drenthe.nl (analyst; GM0114)" in result.output
    prompted = runner.invoke(
        args=["users", "create", "beheer@drenthe.nl", "--role", "admin"],
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert prompted.exit_code == 0, prompted.output
    with app.app_context():
        emmen = db.session.scalar(sa.select(User).where(User.email == "emmen@drenthe.nl"))
        assert emmen.municipalities == {"GM0114"} and emmen.can_see_volunteers
        assert PASSWORD not in emmen.password_hash and emmen.check_password(PASSWORD)
        admin = db.session.scalar(sa.select(User).where(User.email == "beheer@drenthe.nl"))
        assert admin.role is Role.ADMIN and admin.municipalities is None
    listing = runner.invoke(args=["users", "list"])
    assert "emmen@drenthe.nl\tanalyst\tGM0114 vrijwilligers" in listing.output
    assert ("", "user_created", "emmen@drenthe.nl") in audit_actions(app)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["x@drenthe.nl", "--role", "analyst", "--municipality", "GM9999"], "Onbekende gemeente"),
        (["x@drenthe.nl", "--role", "researcher", "--municipality", "GM0114"], "Alleen een"),
        (["geen-adres", "--role", "admin"], "geen geldig e-mailadres"),
    ],
)  # fmt: skip
def test_cli_refuses_bad_accounts(app, runner, args, message) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(args=["users", "create", *args, "--password", PASSWORD])
    assert result.exit_code != 0 and message in result.output
    short = runner.invoke(args=["users", "create", "y@drenthe.nl", "--role", "admin",
                                "--password", "kort"])  # fmt: skip
    assert short.exit_code != 0 and "minstens 12 tekens" in short.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0


def test_admin_creates_an_account_in_the_app(app, logged_in) -> None:  # type: ignore[no-untyped-def]
    client = logged_in("admin")
    csrf = csrf_of(client.get("/beheer/gebruikers").get_data(as_text=True))
    form = {"csrf_token": csrf, "email": "nieuw@assen.nl", "role": "analyst",
            "municipalities": ["GM0106"], "password": PASSWORD}  # fmt: skip
    response = client.post("/beheer/gebruikers", data=form)
    assert response.status_code == 302
    page = client.get("/beheer/gebruikers").get_data(as_text=True)
    assert "nieuw@assen.nl" in page and "GM0106" in page
    again = client.post("/beheer/gebruikers", data=form)
    assert again.status_code == 422 and "Er bestaat al een account" in again.get_data(as_text=True)
    assert ("admin@provincie.nl", "user_created", "nieuw@assen.nl") in audit_actions(app)
    log = client.get("/beheer/logboek").get_data(as_text=True)
    assert "nieuw@assen.nl" in log and "user_created" in log


def test_logout_ends_the_session(logged_in) -> None:  # type: ignore[no-untyped-def]
    client = logged_in("researcher")
    html = client.get("/analysis/").get_data(as_text=True)
    assert client.post("/logout", data={"csrf_token": csrf_of(html)}).status_code == 302
    assert client.get("/analysis/").status_code == 302


def test_session_expires(app, accounts) -> None:  # type: ignore[no-untyped-def]
    app.config["PERMANENT_SESSION_LIFETIME"] = 1
    try:
        client = app.test_client()
        assert login(client, accounts["researcher"]).status_code == 302
        assert client.get("/analysis/").status_code == 200
        time.sleep(2.1)  # the signed cookie carries its own time; it is now too old
        assert client.get("/analysis/").status_code == 302
    finally:
        app.config["PERMANENT_SESSION_LIFETIME"] = 8 * 3600


def test_session_cookie_flags(app, accounts) -> None:  # type: ignore[no-untyped-def]
    response = login(app.test_client(), accounts["analyst"])
    cookie = next(h for h in response.headers.getlist("Set-Cookie") if "peiling_session=" in h)
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Expires=" in cookie


def test_change_password_logs_out_other_sessions(app, accounts, logged_in, caplog) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.DEBUG)
    mine, other = logged_in("analyst"), logged_in("analyst")
    page = mine.get("/account/wachtwoord").get_data(as_text=True)
    new = "een-ander-lang-wachtwoord"
    data = {"csrf_token": csrf_of(page), "current": "fout-wachtwoord", "new": new, "repeat": new}
    wrong = mine.post("/account/wachtwoord", data=data)
    assert wrong.status_code == 422 and "huidige wachtwoord klopt niet" in wrong.get_data(True)
    mismatch = mine.post("/account/wachtwoord", data={**data, "current": PASSWORD, "repeat": "x"})
    assert mismatch.status_code == 422 and "niet gelijk" in mismatch.get_data(True)
    done = mine.post("/account/wachtwoord", data={**data, "current": PASSWORD})
    assert done.status_code == 302
    assert mine.get("/analysis/").status_code == 200  # this session goes on
    assert other.get("/analysis/").status_code == 302  # the other one is logged out
    assert login(app.test_client(), accounts["analyst"]).status_code == 422
    assert login(app.test_client(), accounts["analyst"], new).status_code == 302
    with app.app_context():
        stored = db.session.scalar(
            sa.select(User.password_hash).where(User.email == accounts["analyst"])
        )
    assert new not in stored and PASSWORD not in stored  # fmt: skip
    assert new not in caplog.text and PASSWORD not in caplog.text
    assert ("analyst@provincie.nl", "password_changed", "analyst@provincie.nl") in audit_actions(
        app
    )


def failed_logins_until_blocked(client, email: str, limit: int = 10) -> int:  # type: ignore[no-untyped-def]
    for attempt in range(1, limit + 1):
        status = login(client, email, "helemaal-fout").status_code
        if status == 429:
            return attempt
        assert status == 422
    return 0


def test_failed_logins_are_throttled_per_account(app, accounts) -> None:  # type: ignore[no-untyped-def]
    client = app.test_client()
    assert failed_logins_until_blocked(client, accounts["researcher"]) == 6  # 5 per minute
    blocked = login(client, accounts["researcher"])  # even the right password now waits
    assert blocked.status_code == 429
    html = blocked.get_data(as_text=True)
    assert "Te veel mislukte pogingen. Probeer het over 1 minuut opnieuw." in html
    assert 'name="email"' in html  # the login page itself, to try again from
    assert 0 < int(blocked.headers["Retry-After"]) <= 60
    # Another account from the same address is not blocked by this one's failures.
    assert login(client, accounts["admin"]).status_code == 302
    failures = [a for a in audit_actions(app) if a[1] == "login_failed"]
    assert len(failures) == 5 and failures[0][2] == accounts["researcher"]


def test_an_address_that_is_no_account_is_not_kept_in_the_audit_log(app) -> None:  # type: ignore[no-untyped-def]
    typed = "geheim-wachtwoord-in-het-verkeerde-veld"
    assert login(app.test_client(), typed, "wat-dan-ook").status_code == 422
    failures = [a for a in audit_actions(app) if a[1] == "login_failed"]
    assert failures and all(typed not in str(a) for a in failures)
    assert failures[-1][2] == "(onbekend account)"


def test_successful_logins_are_not_counted(app, accounts) -> None:  # type: ignore[no-untyped-def]
    for _ in range(8):
        assert login(app.test_client(), accounts["admin"]).status_code == 302


def test_throttling_is_shared_through_redis(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Two app instances (two servers) on one Redis see each other's failed logins."""
    prefix = "peiling-test-" + secrets.token_hex(4)
    redis = Redis.from_url("redis://127.0.0.1:6379/0")
    config = {"REDIS_URL": "redis://127.0.0.1:6379/0", "LOGIN_THROTTLE_PREFIX": prefix}
    first, drop = make_app(tmp_path, "redis", **config)
    try:
        add_account(first, "redis@drenthe.nl")
        client = first.test_client()
        for _ in range(5):
            assert login(client, "redis@drenthe.nl", "fout-fout-fout").status_code == 422
        keys = [key.decode() for key in redis.scan_iter(f"*{prefix}*")]
        assert keys
        # Keyed hashes only: neither the address typed nor the client's IP is in Redis.
        assert not any("redis@drenthe.nl" in k or "127.0.0.1" in k for k in keys)
        # A second app (as another server would, with the same secret key) shares the count.
        database = {k: first.config[k] for k in ("SQLALCHEMY_DATABASE_URI",)}
        database["SQLALCHEMY_ENGINE_OPTIONS"] = first.config.get("SQLALCHEMY_ENGINE_OPTIONS", {})
        secret = first.config["SECRET_KEY"]
        second = create_app({**config, **database, "TESTING": True, "SECRET_KEY": secret})
        assert login(second.test_client(), "redis@drenthe.nl").status_code == 429
        with second.app_context():
            db.engine.dispose()
    finally:
        for key in redis.scan_iter(f"*{prefix}*"):
            redis.delete(key)
        with first.app_context():
            db.engine.dispose()
        drop()


def test_logins_still_work_and_are_counted_when_redis_is_unreachable(tmp_path) -> None:  # type: ignore[no-untyped-def]
    config = {"REDIS_URL": "redis://127.0.0.1:1/0"}  # nothing listens there
    app, drop = make_app(tmp_path, "noredis", **config)
    try:
        add_account(app, "weg@drenthe.nl")
        client = app.test_client()
        statuses = [login(client, "weg@drenthe.nl", "fout-fout-fout").status_code for _ in range(6)]
        assert statuses == [422] * 5 + [429]  # counted in the process meanwhile
        assert login(app.test_client(), "weg@drenthe.nl").status_code == 429
    finally:
        with app.app_context():
            db.engine.dispose()
        drop()


def test_throttle_counts_per_address_as_well() -> None:
    throttle = LoginThrottle("memory://", "5/minute", "2/minute;3/hour", "unit")
    for account in ("a@x.nl", "b@x.nl"):
        assert throttle.wait(account, "10.0.0.1") is None
        throttle.failed(account, "10.0.0.1")
    wait = throttle.wait("c@x.nl", "10.0.0.1")  # a third account, the same address
    assert wait is not None and 1 <= wait <= 61
    assert throttle.wait("c@x.nl", "10.0.0.2") is None  # another address is not affected


def test_throttling_behind_a_proxy_counts_the_client_address(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """With PROXY_COUNT=1 each client behind the proxy has a count of its own."""
    app, drop = make_app(tmp_path, "proxy", PROXY_COUNT=1, LOGIN_LIMITS_PER_ADDRESS="2/minute")
    try:
        client = app.test_client()
        for n in range(2):
            address = {"X-Forwarded-For": "203.0.113.7"}
            csrf = csrf_of(client.get("/login", headers=address).get_data(as_text=True))
            form = {"email": f"iemand{n}@x.nl", "password": "fout-fout-fout", "csrf_token": csrf}
            assert client.post("/login", data=form, headers=address).status_code == 422
        blocked = client.post("/login", data={**form, "email": "ander@x.nl"}, headers=address)
        assert blocked.status_code == 429  # this client used up its address's count
        other = {"X-Forwarded-For": "198.51.100.9"}
        allowed = client.post("/login", data={**form, "email": "ander@x.nl"}, headers=other)
        assert allowed.status_code == 422  # another client behind the same proxy is not blocked
    finally:
        with app.app_context():
            db.engine.dispose()
        drop()
