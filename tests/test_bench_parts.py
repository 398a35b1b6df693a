"""bench/parts.py: each part of a submission that `make bench-parts` switches off still
names real code, is really switched off, and leaves a submission that is stored."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa
from flask import Flask
from werkzeug.datastructures import Headers

from bench import parts
from bench.page import session_and_csrf
from bench.respondent import FORM_PATH, THANKS_PATH, submission_fields
from peiling.database import dispose_engines
from peiling.extensions import db
from peiling.surveys import definition
from peiling.surveys.cli import import_definition
from tests.conftest import demo_definition, make_app


def test_a_renamed_target_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    from peiling.surveys import formguard

    monkeypatch.delattr(formguard, "check")
    with pytest.raises(AttributeError, match="update bench/parts.py"):
        parts.switch_off(["guard"])


@pytest.fixture
def switched(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Flask, str]]:
    """An app created after the part `request.param` was switched off (as the bench does:
    some parts are hooks registered at creation), with the demo poll loaded."""
    name = request.param
    with pytest.MonkeyPatch.context() as patch:
        for owner, attribute, stand_in in parts.replacements([name]):
            patch.setattr(owner, attribute, stand_in)  # raises if the target is gone
        definition.clear_cache()
        app, drop = make_app(tmp_path, "parts")
        try:
            with app.app_context():
                import_definition(demo_definition())
            yield app, name
        finally:
            dispose_engines(app)
            drop()
            definition.clear_cache()


def _post(app: Flask, token: str, **changed: str) -> tuple[int, Headers, str]:
    """A complete submission of the demo poll, with the fields in `changed` replaced."""
    client = app.test_client(use_cookies=False)
    cookie, csrf = session_and_csrf(client)
    fields = submission_fields(csrf, token)
    assert set(changed) <= {name for name, _value in fields}, changed
    fields = [(name, changed.get(name, value)) for name, value in fields]
    response = client.post(
        FORM_PATH,
        data=urlencode(fields),
        content_type="application/x-www-form-urlencoded",
        headers={"Cookie": cookie},
    )
    return response.status_code, response.headers, response.get_data(as_text=True)


def _stored(app: Flask, token: str) -> sa.Row | None:
    with app.app_context():
        return db.session.execute(
            sa.text("SELECT id, removal_hash FROM response WHERE submission_token = :t"),
            {"t": token},
        ).first()


def _answers(app: Flask, response_id: int) -> list[tuple]:
    with app.app_context():
        rows = db.session.execute(
            sa.text(
                "SELECT question_id, option_id, value_number, value_text FROM answer"
                " WHERE response_id = :r ORDER BY position"
            ),
            {"r": response_id},
        )
        return [tuple(row) for row in rows]


def _part_is_off(app: Flask, name: str) -> bool:
    """Whether `app` shows part `name` switched off, after one valid submission that it
    must store either way: a wrong CSRF token or an unknown option let through, a second
    response storing the first one's answers, the removal hash being the token's tail, a
    303 without cookies or Content-Security-Policy, an English page in another language,
    a NUL in the URL not refused. Every part needs a branch (the tests run them all)."""
    first_token, token = "parts-token-00000000000001", "parts-token-00000000000002"
    status, headers, _html = _post(app, first_token)
    first = _stored(app, first_token)
    assert status == 303 and headers["Location"].endswith(THANKS_PATH) and first is not None
    if name == "guard":
        status, _headers, _html = _post(app, token, csrf_token="not-a-valid-token")
        return status == 303 and _stored(app, token) is not None
    if name == "validation":
        status, _headers, _html = _post(app, token, q_gemeente="GM9999")
        return status == 303 and _stored(app, token) is not None
    if name == "answer-values":
        status, _headers, _html = _post(app, token, q_cijfer="3")
        second = _stored(app, token)
        assert status == 303 and second is not None
        return _answers(app, second.id) == _answers(app, first.id)
    if name == "removal":
        return bool(first.removal_hash == first_token[-12:])
    if name == "cookies":
        return "Set-Cookie" not in headers
    if name == "security-headers":
        return "Content-Security-Policy" not in headers
    if name == "language":
        status, _headers, html = _post(app, token, taal="en", q_cijfer="11")
        assert status == 422 and _stored(app, token) is None
        # The page's own language (the language buttons carry lang attributes too).
        return '<html lang="en"' not in html
    if name == "hooks":
        return app.test_client().get(FORM_PATH + "%00").status_code != 400
    raise AssertionError(f"no check for {name}")


@pytest.mark.parametrize("switched", list(parts.PARTS), indirect=True)
def test_a_part_switched_off_is_off_and_submissions_are_stored(
    switched: tuple[Flask, str],
) -> None:
    app, name = switched
    assert _part_is_off(app, name)


@pytest.mark.parametrize("name", list(parts.PARTS))
def test_each_part_is_on_in_the_real_code(app: Flask, demo_survey, name: str) -> None:  # type: ignore[no-untyped-def]
    """The same requests against the real code: so each check above can fail."""
    del demo_survey
    definition.clear_cache()
    assert not _part_is_off(app, name)
