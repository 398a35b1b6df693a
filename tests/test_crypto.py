"""Volunteers' contact details are encrypted at rest and readable only with the key."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from cryptography.fernet import Fernet

from peiling import crypto
from peiling.extensions import db
from tests.surveys.test_form import complete


def stored(app) -> tuple[str, str | None, str]:  # type: ignore[no-untyped-def]
    with app.app_context():
        return tuple(db.session.execute(sa.text("SELECT name, email, phone FROM volunteer")).one())  # type: ignore[return-value]


def test_contact_details_are_stored_encrypted(app, demo_survey, respondent) -> None:  # type: ignore[no-untyped-def]
    complete(respondent(demo_survey.slug))
    name, email, phone = stored(app)
    assert email is None
    assert "Daan" not in name and "12345678" not in phone
    with app.app_context():
        assert (crypto.decrypt(name), crypto.decrypt(phone)) == ("Daan Smit", "06 12345678")
        # Another key opens nothing; listed before the old one (a rotation), the old tokens
        # still open and new ones are made with the new key.
        old = (Path(app.instance_path) / "encryption_key").read_text().strip()
        new = Fernet.generate_key().decode()
        saved = app.extensions.pop(crypto.EXTENSION)
        try:
            app.config["ENCRYPTION_KEY"] = new
            assert crypto.decrypt(name) is None
            app.extensions.pop(crypto.EXTENSION)
            app.config["ENCRYPTION_KEY"] = f"{new},{old}"
            assert crypto.decrypt(name) == "Daan Smit"
            token = crypto.encrypt("Sanne")
            assert Fernet(new.encode()).decrypt(token.encode()) == b"Sanne"  # type: ignore[union-attr]
        finally:
            app.config.pop("ENCRYPTION_KEY", None)
            app.extensions[crypto.EXTENSION] = saved


def test_the_migration_encrypts_what_was_stored_before(app, demo_survey, respondent) -> None:  # type: ignore[no-untyped-def]
    from flask_migrate import downgrade, upgrade

    complete(respondent(demo_survey.slug))
    with app.app_context():
        db.session.remove()
        downgrade(revision="0012")  # as it was stored before encryption
    assert stored(app) == ("Daan Smit", None, "06 12345678")
    with app.app_context():
        db.session.remove()
        upgrade()
    name, _email, phone = stored(app)
    assert "Daan" not in name
    with app.app_context():
        assert crypto.decrypt(name) == "Daan Smit" and crypto.decrypt(phone) == "06 12345678"
