"""The request's form readers: strict parsing, and the same fields whichever reads first."""

from __future__ import annotations

import logging

import pytest
from werkzeug.exceptions import BadRequest

from peiling import create_app
from peiling.web import local_path, parse_urlencoded

BODY = "a=1&b=twee+woorden&a=3&leeg=&c=%C3%A9"


@pytest.fixture
def bare_app(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("PEILING_INSTANCE_PATH", str(tmp_path))
    return create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "x"})


@pytest.mark.parametrize("first", ["form", "fields"])
def test_fields_and_form_agree_in_either_order(bare_app, first: str) -> None:  # type: ignore[no-untyped-def]
    expected = {"a": ["1", "3"], "b": ["twee woorden"], "leeg": [""], "c": ["é"]}
    with bare_app.test_request_context(
        "/", method="POST", data=BODY, content_type="application/x-www-form-urlencoded"
    ):
        from flask import request

        if first == "form":
            assert request.form.getlist("a") == ["1", "3"]
            assert request.fields == expected
        else:
            assert request.fields == expected
            assert request.form.getlist("a") == ["1", "3"] and request.form["c"] == "é"


def test_invalid_utf8_is_a_400_from_either_reader(bare_app) -> None:  # type: ignore[no-untyped-def]
    for reader in ("form", "fields"):
        with bare_app.test_request_context(
            "/", method="POST", data=b"a=%ff", content_type="application/x-www-form-urlencoded"
        ):
            from flask import request

            with pytest.raises(BadRequest):
                getattr(request, reader)


def test_parse_urlencoded_matches_the_standard_library() -> None:
    from urllib.parse import parse_qsl

    for body in ("a=1&b=2&a=3", "a", "a=&=b&&c=d+e%20f", "q=1%2B1%3D2", ""):
        expected: dict[str, list[str]] = {}
        for key, value in parse_qsl(body, keep_blank_values=True):
            expected.setdefault(key, []).append(value)
        assert parse_urlencoded(body.encode()) == expected


def test_health_check_reports_the_database(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """200 with a reachable database; 503, and no details, once it is gone."""
    from peiling import create_app

    db_file = tmp_path / "health.sqlite"
    app = create_app({"TESTING": True, "SECRET_KEY": "x",
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{db_file}"})  # fmt: skip
    client = app.test_client()
    ok = client.get("/healthz")
    assert ok.status_code == 200 and ok.get_json() == {"status": "ok"}
    assert ok.headers["Cache-Control"] == "no-store"
    nowhere = f"sqlite:///{tmp_path}/missing/dir/x.sqlite"  # a directory that is not there
    broken = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": nowhere})
    down = broken.test_client().get("/healthz")
    assert down.status_code == 503 and down.get_json() == {"status": "database unreachable"}
    assert "sqlite" not in down.get_data(as_text=True).lower()


def test_https_mode_sends_hsts_and_secure_cookies(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from peiling import create_app

    url = f"sqlite:///{tmp_path}/https.sqlite"
    plain = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": url})
    assert "Strict-Transport-Security" not in plain.test_client().get("/healthz").headers
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": url,
                      "HTTPS": True})  # fmt: skip
    client = app.test_client()
    assert client.get("/healthz").headers["Strict-Transport-Security"] == "max-age=31536000"
    login = client.get("/login", base_url="https://localhost")
    # Every cookie that carries something is Secure (a deletion, Max-Age=0, carries nothing).
    cookies = [c for c in login.headers.getlist("Set-Cookie") if "Max-Age=0" not in c]
    assert cookies and all("; Secure" in c for c in cookies), cookies


def test_request_values_get_like_werkzeug() -> None:
    """Cookies and query parameters answer get() as werkzeug's MultiDict does, including a
    miss (which no longer raises and catches inside)."""
    from peiling.web import Request, Values

    values = Values([("a", "1"), ("a", "2"), ("b", "x")])
    assert values.get("a") == "1"
    assert values.get("missing") is None
    assert values.get("missing", "d") == "d"
    assert values.get("a", type=int) == 1
    assert values.get("b", -1, type=int) == -1
    assert values.getlist("a") == ["1", "2"]
    request = Request.from_values("/?taal=en", headers={"Cookie": "peiling_form=abc"})
    assert isinstance(request.args, Values) and isinstance(request.cookies, Values)
    assert request.args.get("taal") == "en" and request.args.get("bron") is None
    assert request.cookies.get("peiling_form") == "abc" and request.cookies.get("session") is None


@pytest.mark.parametrize(
    "target",
    ["/analysis/", "/beheer/logboek?pagina=2", "/p/jongerenpeiling-demo?taal=en#vraag-3"],
)
def test_local_path_keeps_a_path_on_this_site(target: str) -> None:
    assert local_path(target) == target


@pytest.mark.parametrize(
    "target",
    [
        None,
        "",
        "analysis/",  # relative: resolved against whatever page the browser is on
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example",
        "/x\\..\\..\\",
        "/\t/evil.example",  # browsers drop the tab: //evil.example
        "/\n/evil.example",
        "/\r/evil.example",
        " /analysis/",
        "/analysis/ x",
        "/\x00/evil.example",
        "/\x7f/evil.example",
        "javascript:alert(1)",
        "/a\x1fb",
    ],
)
def test_local_path_refuses_anything_a_browser_could_take_elsewhere(target: str | None) -> None:
    assert local_path(target) is None


def _client_seen_by(app):  # type: ignore[no-untyped-def]
    """A test client of `app` with a route that answers the client address the app saw."""
    from flask import request

    app.add_url_rule("/test-address", "test_address", lambda: request.remote_addr or "")
    return app.test_client()


FORWARDED = {"X-Forwarded-For": "203.0.113.7"}


def _proxy_warnings(caplog) -> list[logging.LogRecord]:  # type: ignore[no-untyped-def]
    return [r for r in caplog.records if "PEILING_PROXY_COUNT" in r.getMessage()]


def test_forwarded_request_without_proxy_count_is_warned_about_once(bare_app, caplog) -> None:  # type: ignore[no-untyped-def]
    client = _client_seen_by(bare_app)
    with caplog.at_level(logging.WARNING, logger="peiling.web"):
        client.get("/test-address")
        assert not _proxy_warnings(caplog)  # no forwarding header: nothing to say
        first = client.get("/test-address", headers=FORWARDED)
        second = client.get("/test-address", headers=FORWARDED)
    assert len(_proxy_warnings(caplog)) == 1
    # Only a warning: the header is not believed, the request is served as before.
    assert first.get_data(as_text=True) == second.get_data(as_text=True) == "127.0.0.1"


def test_forwarded_request_behind_the_configured_proxies_is_not_warned_about(
    tmp_path, monkeypatch, caplog
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("PEILING_INSTANCE_PATH", str(tmp_path))
    config = {"SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "x", "PROXY_COUNT": 1}
    client = _client_seen_by(create_app(config))
    with caplog.at_level(logging.WARNING, logger="peiling.web"):
        reply = client.get("/test-address", headers=FORWARDED)
    assert reply.get_data(as_text=True) == "203.0.113.7"
    assert not _proxy_warnings(caplog)
