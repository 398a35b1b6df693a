"""Staff accounts of every kind, and a way to log in as one."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from peiling.auth.models import Role
from peiling.auth.services import create_user
from peiling.extensions import db

PASSWORD = "een-lang-geheim-wachtwoord"

# name: (role, municipalities, can see volunteers)
KINDS: dict[str, tuple[Role, tuple[str, ...], bool]] = {
    "admin": (Role.ADMIN, (), False),
    "researcher": (Role.RESEARCHER, (), True),
    "analyst": (Role.ANALYST, (), True),
    "analyst_emmen": (Role.ANALYST, ("GM0114",), True),
    "analyst_no_volunteers": (Role.ANALYST, (), False),
}


def add_account(app: Flask, email: str, role: Role = Role.ADMIN) -> None:
    """One account with the test password, stored at once."""
    with app.app_context():
        create_user(db.session, email, role, PASSWORD)
        db.session.commit()


@pytest.fixture
def accounts(app: Flask) -> dict[str, str]:
    """One account of each kind; returns name -> email."""
    emails = {}
    with app.app_context():
        for name, (role, places, volunteers) in KINDS.items():
            email = f"{name.replace('_', '-')}@provincie.nl"
            create_user(db.session, email, role, PASSWORD, places, volunteers)
            emails[name] = email
        db.session.commit()
    return emails


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert found, "no csrf_token on the page"
    return found.group(1)


def login(client: FlaskClient, email: str, password: str = PASSWORD, **extra: Any):  # type: ignore[no-untyped-def]
    csrf = csrf_of(client.get("/login").get_data(as_text=True))
    return client.post(
        "/login", data={"email": email, "password": password, "csrf_token": csrf, **extra}
    )


@pytest.fixture
def logged_in(app: Flask, accounts: dict[str, str]):  # type: ignore[no-untyped-def]
    """A function that returns a fresh client logged in as account `name` (or anonymous)."""

    def make(name: str) -> FlaskClient:
        client = app.test_client()
        if name != "anonymous":
            assert login(client, accounts[name]).status_code == 302
        return client

    return make


def new_account_form(csrf: str, password: str) -> dict[str, str]:
    """The admin's form for a new analyst account, with its first password."""
    return {"csrf_token": csrf, "email": "nieuw@provincie.nl", "role": "analyst",
            "password": password}  # fmt: skip
