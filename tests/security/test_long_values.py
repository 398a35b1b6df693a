"""Long values in every staff form: PostgreSQL refuses a string longer than its column
(VARCHAR(n)) where SQLite stores it, so a value that passed the form's checks but not the
column's would be a 500 on the production database only. Each field gets a value just over
the longest column it could reach, and a very long one."""

from __future__ import annotations

import io

import pytest

from tests.auth.fixtures import csrf_of
from tests.security.test_attacks import FIELDS, ROLE, STAFF_POSTS, UPLOAD_ENDPOINTS, url_of, world

__all__ = ["world"]  # the fixture, used by the tests below

# Which fields hold free text (the rest are choices, numbers or tokens and stay as they are).
TEXT = ["title", "titel", "slug", "name", "text", "code", "email", "profielvragen", "klassen",
        "q_vraag", "code_nl", "help", "introduction", "privacy_statement", "options",
        "show_if_values", "seed", "template"]  # fmt: skip


def long(value: str, length: int) -> str:
    """`value` padded to `length` with letters, keeping an e-mail address's shape."""
    if "@" in value:
        local, domain = value.split("@")
        return local + "x" * max(0, length - len(value)) + "@" + domain
    return value + "x" * max(0, length - len(value))


@pytest.mark.parametrize("length", [255, 10_000])
@pytest.mark.parametrize("endpoint", [e for e in STAFF_POSTS if e != "auth.logout"])
def test_a_long_value_in_a_staff_form_is_never_a_500(
    app, logged_in, world, endpoint: str, length: int
) -> None:  # type: ignore[no-untyped-def]
    client = logged_in(ROLE.get(endpoint, "researcher"))
    url = url_of(app, endpoint, world)
    page = {"admin.users": url}.get(endpoint, f"/ontwerp/{world['survey']}")
    csrf = csrf_of(client.get(page).get_data(as_text=True))
    data = {name: (long(value, length) if name in TEXT else value)
            for name, value in FIELDS.items()}  # fmt: skip
    data.update({name: "x" * length for name in TEXT if name not in data})
    data["csrf_token"] = csrf
    if endpoint in UPLOAD_ENDPOINTS:
        files = {"bestand": (io.BytesIO(b"gemeentecode;email\nGM0014;a@b.nl\n"), "x.csv")}
        response = client.post(url, data={**data, **files}, content_type="multipart/form-data")
    else:
        response = client.post(url, data=data)
    html = response.get_data(as_text=True)
    assert response.status_code < 500, (endpoint, response.status_code)
    assert "even niet bereikbaar" not in html and "Traceback" not in html, endpoint
