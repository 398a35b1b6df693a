"""Logs: every record the configured handler writes is one line, and none holds personal
data (e-mail addresses, names, answers, tokens, the client's address), whatever happened:
an unhandled exception, a database error, a failed login, a sign-up with its mail, a purge."""

from __future__ import annotations

import logging
import os
import re
import secrets
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask, request, url_for
from werkzeug.serving import make_server

from peiling import logs
from peiling.database import dispose_engines
from peiling.designer import services as designer
from peiling.extensions import db
from peiling.surveys.models import Survey
from tests.auth.fixtures import login
from tests.conftest import make_app, table_away
from tests.panel.test_recruitment import EMAIL, path, sign_up
from tests.surveys.test_form import ALL, PAGE_1, complete

CLIENT_IP = "203.0.113.77"
STAFF_EMAIL = "onbekend.persoon@provincie.nl"
KEY = "persoonlijke-sleutel-" + secrets.token_hex(8)
# What a respondent, volunteer or staff member typed (tests/surveys/test_form.py's answers).
PERSONAL = [CLIENT_IP, STAFF_EMAIL, EMAIL, KEY, "Daan Smit", "06 12345678", "Meer te doen graag",
            "Skatebaan", "@"]  # fmt: skip
LINE = re.compile(
    r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (DEBUG|INFO|WARNING|ERROR|CRITICAL) \S+ "
)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """An app of this module's own, with a test-only route that fails."""
    made, drop = make_app(tmp_path_factory.mktemp("logs"), "logs")

    @made.get("/test/kapot/<key>")
    def broken(key: str) -> str:
        # The message holds personal data, as a real error's message may.
        raise LookupError(f"geen lid met sleutel {key} en adres {request.args.get('email')}")

    yield made
    dispose_engines(made)
    drop()


@pytest.fixture
def client(app: Flask):  # type: ignore[no-untyped-def]
    made = app.test_client()
    made.environ_base["REMOTE_ADDR"] = CLIENT_IP
    return made


class Written:
    """What the configured handler wrote, record by record, and on stderr."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self.records: list[str] = []
        self.capsys = capsys

    def check(self, *more: str, stderr: str | None = None) -> list[str]:
        """Every record is one line in the format, on stderr (the test's, or a command's
        as `stderr`), and free of personal data."""
        err = (self.capsys.readouterr().err if stderr is None else stderr).splitlines()
        assert self.records, "nothing was logged"
        for text in self.records:
            assert text.splitlines() == [text] and "\n" not in text
            assert LINE.match(text), text
            assert text in err  # the handler's own output, not a copy of the record
            for secret in [*PERSONAL, *more]:
                assert secret.lower() not in text.lower(), (secret, text)
        return self.records


@pytest.fixture
def written(app: Flask, capsys, monkeypatch) -> Written:  # type: ignore[no-untyped-def]
    (handler,) = [h for h in logging.getLogger().handlers if getattr(h, "_peiling_handler", 0)]
    seen = Written(capsys)
    original = handler.format

    def format_and_keep(record: logging.LogRecord) -> str:
        text = original(record)
        # The test's own SMTP server (aiosmtpd, logger mail.log) logs the envelope; a
        # deployment sends to a real mail server and has no such logger.
        if not record.name.startswith("mail.log"):
            seen.records.append(text)
        return text

    monkeypatch.setattr(handler, "format", format_and_keep)
    return seen


def test_an_unhandled_exception_is_one_line_with_its_type_and_traceback(client, written) -> None:  # type: ignore[no-untyped-def]
    response = client.get(f"/test/kapot/{KEY}?email={STAFF_EMAIL}&token=abc")
    html = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Er ging iets mis" in html and "Traceback" not in html and "LookupError" not in html
    (line,) = [t for t in written.check() if "unhandled error" in t]
    assert " ERROR peiling.web unhandled error on GET /test/kapot/<key> " in line
    assert " exception=LookupError traceback=Traceback (most recent call last):\\n" in line
    assert "in broken\\n" in line and line.endswith("\\nLookupError")


def test_a_database_error_on_the_public_form(app, demo_survey, respondent, written) -> None:  # type: ignore[no-untyped-def]
    r = respondent(demo_survey.slug)
    r.client.environ_base["REMOTE_ADDR"] = CLIENT_IP
    r.open()
    r.post(0, PAGE_1)
    with table_away(app, "answer"):  # a real failure: the answer table is briefly gone
        assert r.post(2, ALL).status_code == 503
    lines = written.check(r.token, r.csrf)
    assert any(f"could not store response for {demo_survey.slug}: " in t for t in lines)


def test_a_failed_staff_login(client, accounts, written) -> None:  # type: ignore[no-untyped-def]
    assert login(client, STAFF_EMAIL, "geheim-wachtwoord-1").status_code == 422
    assert login(client, accounts["researcher"], "geheim-wachtwoord-2").status_code == 422
    lines = written.check("geheim-wachtwoord", accounts["researcher"])
    failed = [t for t in lines if "staff login failed" in t]
    assert failed[0].endswith("for account (unknown)") and re.search(r"account \d+$", failed[1])


def test_a_panel_sign_up_and_its_mail(client, inbox, codes, written) -> None:  # type: ignore[no-untyped-def]
    assert sign_up(client, codes[0]).status_code == 200
    (mail,) = inbox.to(EMAIL)
    confirm = inbox.links(mail)[0]
    assert client.post(path(confirm)).status_code == 200
    keys = [link.rsplit("/", 1)[1] for link in inbox.links(mail)]
    lines = written.check(codes[0], *keys)
    assert any(re.search(r" INFO peiling\.mail mail \d+ sent", t) for t in lines)


def test_a_purge_from_the_command_line(app, demo_survey, respondent, runner, written) -> None:  # type: ignore[no-untyped-def]
    complete(respondent(demo_survey.slug))
    with app.app_context():
        survey = db.session.get(Survey, demo_survey.id)
        designer.close(survey)
        survey.closed_at = datetime.now(UTC) - timedelta(days=91)
        db.session.commit()
    result = runner.invoke(args=["purge"])
    assert "1 vrijwilligers verwijderd" in result.stdout
    lines = written.check(stderr=result.stderr)
    assert any("purge: contact details of 1 volunteers deleted (after 90 days)" in t for t in lines)


# Requests whose path holds a personal key, and how the access log must show that path.
# "%77" is "w" and "%2F" a slash: the router decodes them and opens the same personal page.
KEYED = [
    (f"/panel/w/{KEY}", "/panel/w/[token]"),
    (f"/panel/bevestigen/{KEY}?bron=mail", "/panel/bevestigen/[key]"),
    (f"/panel/mijn-gegevens/{KEY}/verwijderen", "/panel/mijn-gegevens/[key]/verwijderen"),
    (f"/panel/%77/{KEY}", "/panel/w/[token]"),
    (f"/panel/afmelden%2F{KEY}", "/panel/afmelden/[key]"),
]


def get(url: str) -> int:
    """The status of a GET to `url`, whatever it is."""
    try:
        with urllib.request.urlopen(url, timeout=10) as reply:  # noqa: S310 - loopback
            return int(reply.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def test_the_development_server_leaves_out_address_query_and_keys(app, written) -> None:  # type: ignore[no-untyped-def]
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_port}"
        assert get(f"{base}/healthz?sleutel={KEY}") == 200
        statuses = [get(base + keyed) for keyed, _ in KEYED]
    finally:
        server.shutdown()
        thread.join(timeout=5)
    assert statuses == [404, 200, 405, 404, 404]  # each reached its rule (verwijderen: POST)
    lines = written.check("127.0.0.1")  # KEY is among the personal data checked
    assert any(t.endswith(' werkzeug "GET /healthz HTTP/1.1" 200 -') for t in lines), lines
    for _, shown in KEYED:
        assert any(" werkzeug " in t and f"GET {shown} HTTP/1.1" in t for t in lines), shown


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        *KEYED[:1],
        (f"/panel/mijn-gegevens/{KEY}", "/panel/mijn-gegevens/[key]"),
        (f"/panel//W//{KEY}/", "/panel//W//[token]/"),
        (f"GET /panel/afmelden/{KEY} HTTP/1.1", "GET /panel/afmelden/[key] HTTP/1.1"),
        (f"https://peiling.example/panel/w/{KEY}", "https://peiling.example/panel/w/[token]"),
        ("/panel/noord/aanmelden", "/panel/noord/aanmelden"),  # a panel's name is public
        ("/panel/w/", "/panel/w/"),
        ("/p/fietsen/bedankt", "/p/fietsen/bedankt"),
    ],
)
def test_mask_path(text: str, masked: str) -> None:
    assert logs.mask_path(text).split("?")[0] == masked


def test_every_url_rule_with_a_key_or_token_is_masked(app) -> None:  # type: ignore[no-untyped-def]
    """The explicit list in peiling/logs.py against the app's own URL rules: a new route
    with a secret in its path fails here until the list has it."""
    secret_names = {"key", "token"}
    covered = []
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if not secret_names & set(rule.arguments) or rule.rule.startswith("/test/"):
                continue  # (/test/kapot/<key> is this module's own failing route)
            # 1 fits every other argument of these rules: a slug, a number.
            values = {name: KEY if name in secret_names else 1 for name in rule.arguments}
            path = url_for(rule.endpoint, **values)
            assert KEY in path
            assert KEY not in logs.mask_path(path), (rule.rule, logs.mask_path(path))
            covered.append(rule.endpoint)
    assert {
        "panel.confirm",
        "panel.my_data",
        "panel.delete_me",
        "panel.unsubscribe",
        "panel.wave_form",
    } <= set(covered), covered


def test_line_breaks_and_chained_exceptions_stay_on_one_line() -> None:
    formatter = logs.OneLineFormatter()
    message = f"{EMAIL}\nstaat niet in de lijst"  # in the message only, not in the source
    try:
        try:
            {}["x"]  # noqa: B018
        except KeyError as exc:
            raise ValueError(message) from exc
    except ValueError:
        record = logging.LogRecord(
            "peiling.test", logging.ERROR, __file__, 1, "eerste\nregel\r\u2028%s", ("x\\y",),
            sys.exc_info(),
        )  # fmt: skip
    text = formatter.format(record)
    assert text.splitlines() == [text]
    assert " ERROR peiling.test eerste\\nregel\\r\\u2028x\\\\y exception=ValueError " in text
    assert "\\nKeyError\\n" in text and text.endswith("\\nValueError")
    assert EMAIL not in text and "staat niet" not in text  # exceptions' messages stay out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_gunicorn_writes_one_line_per_event_without_address_query_or_keys(tmp_path) -> None:  # type: ignore[no-untyped-def]
    root = Path(__file__).resolve().parent.parent
    port = _free_port()
    env = {**os.environ, "PEILING_BIND": f"127.0.0.1:{port}", "PEILING_WORKERS": "1",
           "PEILING_THREADS": "1", "PEILING_INSTANCE_PATH": str(tmp_path),
           "PEILING_DATABASE_URL": f"sqlite:///{tmp_path / 'g.sqlite'}"}  # fmt: skip
    gunicorn = Path(sys.executable).parent / "gunicorn"
    out, err = tmp_path / "out.log", tmp_path / "err.log"
    with out.open("w") as stdout, err.open("w") as stderr:
        process = subprocess.Popen(  # noqa: S603 - the project's own gunicorn and settings
            # No control socket: its default path is shared by every gunicorn of this user.
            [str(gunicorn), "-c", "gunicorn.conf.py", "--no-control-socket", "wsgi:app"],
            cwd=root, env=env, stdout=stdout, stderr=stderr,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    url = f"http://127.0.0.1:{port}/healthz?sleutel={KEY}"
                    with urllib.request.urlopen(url, timeout=5) as reply:  # noqa: S310
                        assert reply.status == 200
                    break
                except OSError:
                    assert time.monotonic() < deadline and process.poll() is None
                    time.sleep(0.2)
            # No database behind this gunicorn: the keyed pages fail (500), and are logged.
            for keyed, _ in KEYED:
                get(f"http://127.0.0.1:{port}{keyed}")
            # A request line gunicorn cannot parse goes to its error log, with the address.
            with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
                raw.sendall(f"GET /panel/w/{KEY}\r\n\r\n".encode())
                assert raw.recv(100).startswith(b"HTTP/1.1 400 ")
        finally:
            process.terminate()
            process.wait(timeout=30)
    access = out.read_text().splitlines()
    errors = err.read_text().splitlines()
    assert any(
        re.search(r' INFO gunicorn\.access "GET /healthz" 200 \d+ \d+ms$', x) for x in access
    )
    assert any("gunicorn.error Booting worker" in line for line in errors), errors
    for _, shown in KEYED:
        assert any(f' INFO gunicorn.access "GET {shown}" ' in x for x in access), (shown, access)
    invalid = " WARNING gunicorn.error Invalid request from ip=[address]: Invalid HTTP request"
    assert any(f"{invalid} line: 'GET /panel/w/[token]'" in line for line in errors), errors
    for line in access + errors:
        assert LINE.match(line), line
        assert KEY not in line and "127.0.0.1 " not in line.split("Listening at")[0]
        assert "ip=127.0.0.1" not in line
    assert len([line for line in errors if "Listening at" in line]) == 1  # not twice
