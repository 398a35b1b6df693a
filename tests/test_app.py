"""The application factory: configuration, secret key, migrations and error pages."""

from __future__ import annotations

import os
import stat

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade

from peiling import create_app
from peiling.config import normalise_database_url
from peiling.extensions import db
from tests.conftest import make_app


def test_secret_key_is_generated_once_into_the_instance_folder(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("PEILING_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("PEILING_SECRET_KEY", raising=False)
    first = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    second = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    key_file = tmp_path / "secret_key"
    assert len(first.config["SECRET_KEY"]) == 64
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
    assert key_file.read_text() == first.config["SECRET_KEY"]
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    other = tmp_path / "elsewhere"
    monkeypatch.setenv("PEILING_INSTANCE_PATH", str(other))
    assert (
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"}).config["SECRET_KEY"]
        != (first.config["SECRET_KEY"])
    )


def test_environment_variables_configure_the_app(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("PEILING_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("PEILING_SECRET_KEY", "from-the-environment")
    monkeypatch.setenv("PEILING_DATABASE_URL", f"sqlite:///{tmp_path / 'x.sqlite'}")
    app = create_app()
    assert app.config["SECRET_KEY"] == "from-the-environment"
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'x.sqlite'}"
    assert not (tmp_path / "secret_key").exists()


def test_instance_config_file_is_read(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("PEILING_INSTANCE_PATH", str(tmp_path))
    (tmp_path / "config.py").write_text("SECRET_KEY = 'from-file'\nRESPONDED_COOKIE_DAYS = 7\n")
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["SECRET_KEY"] == "from-file"
    assert app.config["RESPONDED_COOKIE_DAYS"] == 7


def test_default_database_is_sqlite_in_the_instance_folder(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("PEILING_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("PEILING_DATABASE_URL", raising=False)
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'peiling.sqlite'}"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgres://u@h/d", "postgresql+psycopg://u@h/d"),
        ("postgresql://u@h/d", "postgresql+psycopg://u@h/d"),
        ("postgresql+psycopg://u@h/d", "postgresql+psycopg://u@h/d"),
        ("sqlite:///x", "sqlite:///x"),
    ],
)
def test_database_url_normalisation(url: str, expected: str) -> None:
    assert normalise_database_url(url) == expected


def test_migrations_and_models_agree(tmp_path) -> None:
    """A fresh database built by the migrations has exactly the schema the models describe."""
    app, drop = make_app(tmp_path, "migrations")
    try:
        with app.app_context(), db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
            assert diff == []
            names = set(db.inspect(conn).get_table_names())
            counts = {
                t: conn.execute(db.text(f"SELECT count(*) FROM {t}")).scalar()  # noqa: S608
                for t in ("region", "municipality")
            }
        assert counts == {"region": 2, "municipality": 22}
        assert {"survey", "question", "answer", "response", "volunteer"} <= names
        with app.app_context():
            downgrade(revision="base")
            with db.engine.connect() as conn:
                assert set(db.inspect(conn).get_table_names()) <= {"alembic_version"}
    finally:
        with app.app_context():
            db.engine.dispose()
        drop()


def test_unexpected_errors_show_a_friendly_page_without_traceback(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("PEILING_INSTANCE_PATH", str(tmp_path))
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "x"})

    @app.get("/kapot")
    def broken() -> str:
        raise RuntimeError("secret internals")

    response = app.test_client().get("/kapot")
    html = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Er ging iets mis" in html
    assert "secret internals" not in html and "Traceback" not in html


def test_unreachable_database_gives_503(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("PEILING_INSTANCE_PATH", str(tmp_path))
    url = "postgresql+psycopg://nobody@127.0.0.1:9/none"  # nothing listens on port 9
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": "x",
            "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"connect_timeout": 2}},
        }
    )
    response = app.test_client().get("/p/jongerenpeiling-demo")
    assert response.status_code == 503
    assert "Even niet bereikbaar" in response.get_data(as_text=True)


def test_security_headers(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/p/niets")
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_static_files_are_versioned_and_cacheable(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/static/peiling.css")
    assert response.status_code == 200
    assert "max-age=31536000" in response.headers["Cache-Control"]
    response.close()
