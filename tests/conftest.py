"""Fixtures: an app on SQLite or on PostgreSQL (PEILING_TEST_DATABASE_URL), builders, clients."""

from __future__ import annotations

import contextlib
import copy
import json
import os
import re
import secrets
import threading
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from werkzeug.serving import make_server

from peiling import create_app
from peiling.database import dispose_engines
from peiling.extensions import db
from peiling.surveys import definition
from peiling.surveys.cli import import_definition
from peiling.surveys.models import Survey

# Staff accounts of every kind and logged-in clients, an SMTP server and a panel, for every
# test package.
pytest_plugins = ["tests.auth.fixtures", "tests.panel.fixtures"]

REFERENCE_TABLES = {"region", "municipality", "alembic_version"}
PG_URL = os.environ.get("PEILING_TEST_DATABASE_URL")


def database_config(tmp: Path, name: str) -> tuple[dict[str, Any], Any]:
    """Config for a database of the test run's own, and a function that drops it again."""
    if not PG_URL:
        url = f"sqlite:///{tmp / (name + '.sqlite')}"
        return {"SQLALCHEMY_DATABASE_URI": url}, lambda: None
    schema = f"peiling_test_{name}_{secrets.token_hex(4)}"
    admin = sa.create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))

    def drop() -> None:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    options = {"connect_args": {"options": f"-csearch_path={schema}"}, "pool_pre_ping": True}
    return {"SQLALCHEMY_DATABASE_URI": PG_URL, "SQLALCHEMY_ENGINE_OPTIONS": options}, drop


def make_app(tmp: Path, name: str, **extra: Any) -> tuple[Flask, Any]:
    config, drop = database_config(tmp, name)
    instance = tmp / f"instance-{name}"
    instance.mkdir(exist_ok=True)
    settings = {"TESTING": True, "SECRET_KEY": "test-" + secrets.token_hex(8)}
    # A real salted hash, but cheap: scrypt costs ~50 ms per account and login.
    settings["PASSWORD_HASH_METHOD"] = "pbkdf2:sha256:1000"
    app = create_app({**settings, **config, **extra})
    app.instance_path = str(instance)
    try:
        with app.app_context():
            upgrade()
    except Exception:
        with app.app_context():
            db.engine.dispose()
        drop()
        raise
    return app, drop


@pytest.fixture(scope="session")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    app, drop = make_app(tmp_path_factory.mktemp("db"), "main")
    yield app
    dispose_engines(app)
    drop()


@pytest.fixture(autouse=True)
def _clean_database(request: pytest.FixtureRequest) -> Iterator[None]:
    """Empty every table but the reference data after each test that used the app."""
    yield
    if "app" not in request.fixturenames:
        return
    app = request.getfixturevalue("app")
    with app.app_context():
        db.session.remove()
        with db.engine.begin() as conn:
            for table in reversed(db.metadata.sorted_tables):
                if table.name not in REFERENCE_TABLES:
                    conn.execute(table.delete())
    definition.clear_cache()
    app.extensions["peiling.login_throttle"].reset()  # one test's failures never block another
    app.extensions["peiling.submit_limiter"].reset()
    app.extensions["peiling.removal_throttle"].reset()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask):  # type: ignore[no-untyped-def]
    return app.test_cli_runner()


def demo_definition() -> dict[str, Any]:
    text = (
        resources.files("peiling.surveys")
        .joinpath("definitions", "jongerenpeiling-demo.json")
        .read_text(encoding="utf-8")
    )
    return json.loads(text)


@pytest.fixture
def make_survey(app: Flask):  # type: ignore[no-untyped-def]
    """Builder: store a questionnaire from a definition dict (defaults filled in)."""

    def build(pages: list[dict[str, Any]] | None = None, **fields: Any) -> Survey:
        data: dict[str, Any] = {
            "slug": fields.pop("slug", "test-" + secrets.token_hex(3)),
            "title": "Testpeiling",
            "kind": "flash_poll",
            "status": "open",
            "region": "drenthe",
            "pages": pages
            or [{"questions": [{"code": "vraag", "type": "short_text", "text": "Iets?"}]}],
        }
        data.update(fields)
        with app.app_context():
            survey = import_definition(copy.deepcopy(data))
            db.session.refresh(survey)
            db.session.expunge(survey)
            return survey

    return build


@pytest.fixture
def demo_survey(make_survey) -> Survey:  # type: ignore[no-untyped-def]
    data = demo_definition()
    return make_survey(**data)


class Respondent:
    """A browser-like respondent: keeps cookies, and the CSRF and form tokens of the page."""

    def __init__(self, client: FlaskClient, slug: str) -> None:
        self.client = client
        self.slug = slug
        self.url = f"/p/{slug}"
        self.csrf = ""
        self.token = ""
        self.language = ""  # the form's hidden `taal` field, sent back as a browser would
        self.last = None

    def open(self, query: str = "", **kwargs: Any):  # type: ignore[no-untyped-def]
        response = self.client.get(self.url + query, **kwargs)
        self._remember(response)
        return response

    def _remember(self, response) -> None:  # type: ignore[no-untyped-def]
        html = response.get_data(as_text=True)
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', html)
        token = re.search(r'name="token" value="([^"]+)"', html)
        if csrf:
            self.csrf = csrf.group(1)
        if token:
            self.token = token.group(1)
        language = re.search(r'name="taal" value="([^"]+)"', html)
        if language:
            self.language = language.group(1)
        self.last = response

    def post(self, page: int, answers: dict[str, Any], action: str = "verder", **extra: Any):  # type: ignore[no-untyped-def]
        data = {
            "csrf_token": self.csrf,
            "token": self.token,
            "pagina": str(page),
            "actie": action,
            **({"taal": self.language} if self.language else {}),
            **answers,
            **extra,
        }
        response = self.client.post(self.url, data=data)
        self._remember(response)
        return response


@pytest.fixture
def respondent(client: FlaskClient):  # type: ignore[no-untyped-def]
    return lambda slug: Respondent(client, slug)


def buffered(app: Any) -> Any:
    """`app`, with each response read whole (and its file closed) before it is sent.

    Werkzeug's development server never closes a response whose client hung up halfway
    (a browser test that moves on while a stylesheet is still coming): the open static file
    then surfaces as a ResourceWarning in whichever test runs next. gunicorn closes it.
    """

    def wsgi(environ: Any, start_response: Any) -> list[bytes]:
        body = app(environ, start_response)
        try:
            return [b"".join(body)]
        finally:
            if hasattr(body, "close"):
                body.close()

    return wsgi


@pytest.fixture(scope="session")
def live_server(app: Flask) -> Iterator[str]:
    """The app served over real HTTP on loopback, for Chromium."""
    server = make_server("127.0.0.1", 0, buffered(app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@contextlib.contextmanager
def table_away(app: Flask, table: str) -> Iterator[None]:
    """A real database failure: `table` is renamed away while the block runs."""
    with app.app_context():
        db.session.execute(sa.text(f"ALTER TABLE {table} RENAME TO {table}_away"))
        db.session.commit()
    try:
        yield
    finally:
        with app.app_context():
            db.session.execute(sa.text(f"ALTER TABLE {table}_away RENAME TO {table}"))
            db.session.commit()


def count_rows(app: Flask, table: str) -> int:
    with app.app_context():
        return db.session.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()  # noqa: S608


@pytest.fixture
def compiled(app: Flask):  # type: ignore[no-untyped-def]
    """The cached form definition of a stored survey."""

    def get(survey: Survey) -> definition.SurveyDef:
        with app.app_context():
            return definition.get_definition(db.session, db.session.get(Survey, survey.id))

    return get
