"""Peiling: surveys and youth flash polls for Dutch provinces and municipalities."""

from __future__ import annotations

import os
from typing import Any

from flask import Flask


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the application: configuration, extensions, blueprints, error pages, CLI."""
    # PEILING_INSTANCE_PATH moves config, secret key and SQLite file out of the checkout.
    instance = os.environ.get("PEILING_INSTANCE_PATH") or None
    app = Flask(__name__, instance_path=instance, instance_relative_config=True)
    from peiling.web import Request, SessionInterface

    app.request_class = Request
    app.session_interface = SessionInterface()
    from peiling.config import load_config

    load_config(app, test_config)
    from peiling import logs

    logs.init_app(app)
    trust_proxies(app)
    register_extensions(app)
    register_blueprints(app)
    register_cli(app)
    return app


def trust_proxies(app: Flask) -> None:
    """Behind PROXY_COUNT reverse proxies, take the client's address and scheme from them.

    Login throttling counts per client address, and secure cookies need to know the
    request came in over HTTPS; without this every request seems to come from the proxy.
    """
    count = int(app.config.get("PROXY_COUNT") or 0)
    if count:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)  # type: ignore[method-assign]
    else:
        from peiling.web import UntrustedForwarding

        app.wsgi_app = UntrustedForwarding(app.wsgi_app)  # type: ignore[method-assign]


def register_extensions(app: Flask) -> None:
    from peiling import database, i18n, ratelimit, web
    from peiling.auth import throttle
    from peiling.extensions import csrf, db, login_manager, migrate

    web.init_app(app)
    i18n.init_app(app)
    db.init_app(app)
    database.init_app(app)
    migrate.init_app(app, db, directory=str(app.config.get("MIGRATIONS_DIR", _migrations())))
    csrf.init_app(app)
    login_manager.init_app(app)
    throttle.init_app(app)
    ratelimit.init_app(app)


def _migrations() -> str:
    from pathlib import Path

    return str(Path(__file__).resolve().parent.parent / "migrations")


def register_blueprints(app: Flask) -> None:
    from peiling.admin import bp as admin_bp
    from peiling.analysis import bp as analysis_bp
    from peiling.auth import bp as auth_bp
    from peiling.designer import bp as designer_bp
    from peiling.panel import bp as panel_bp
    from peiling.surveys import bp as surveys_bp

    app.register_blueprint(surveys_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(analysis_bp, url_prefix="/analysis")
    app.register_blueprint(admin_bp, url_prefix="/beheer")
    app.register_blueprint(designer_bp, url_prefix="/ontwerp")
    app.register_blueprint(panel_bp, url_prefix="/panel")


def register_cli(app: Flask) -> None:
    from peiling import jobs, retention
    from peiling.auth import cli as auth_cli
    from peiling.backup import cli as backup_cli
    from peiling.panel import cli as panel_cli
    from peiling.surveys import cli

    retention.init_app(app)
    jobs.init_app(app)
    backup_cli.init_app(app)
    cli.init_app(app)
    auth_cli.init_app(app)
    panel_cli.init_app(app)
