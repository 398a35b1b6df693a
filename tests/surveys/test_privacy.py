"""Nothing identifying is stored with a response, a new column of `response` gets looked at,
and every public page of a survey links to its privacy statement."""

from __future__ import annotations

import re

import sqlalchemy as sa

from peiling.extensions import db
from peiling.surveys.models import Response
from tests.surveys.test_form import PAGE_1, PAGE_2, PAGE_3

ADDRESS = "198.51.100.237"
FORWARDED = "203.0.113.148"
AGENT = "Mozilla/5.0 (Zorblax-Privacytest 7.3.91; Quixotron) PeilingProbe/4.2.17"

# Reviewed: none of these identifies a respondent. A new column fails this test until it has
# been looked at and added here with its reason.
RESPONSE_COLUMNS = {
    "id": "row number",
    "survey_id": "which questionnaire",
    "submission_token": "random per form, makes submission idempotent",
    "municipality_code": "her answer to the municipality question, or a panel member's",
    "age": "her answer to the age question, or a panel member's",
    "source": "a campaign tag from the link (?bron=), checked against a short pattern",
    "language": "the language she answered in",
    "submitted_at": "moment of submission, for response curves",
    "profile": "a panel member's profile answers, copied without a link back",
    "removal_hash": "SHA-256 of the removal code she alone was shown",
}


def parts(text: str) -> set[str]:
    """The pieces of an address or user agent worth searching for: the whole, and every
    word and number of four or more characters, and every pair of an address's numbers."""
    pieces = {text}
    pieces |= {p for p in re.split(r"[\s()/;]+", text) if len(p) >= 4}
    octets = text.split(".")
    if len(octets) == 4:
        pieces |= {".".join(octets[i : i + 2]) for i in range(3)}
    return pieces


def every_value(app) -> list[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    """(table, column, value as text) for every column of every row of the respondent tables,
    the columns read from the database itself."""
    out = []
    with app.app_context(), db.engine.connect() as conn:
        inspector = sa.inspect(conn)
        for table in ("response", "answer", "volunteer"):
            columns = [c["name"] for c in inspector.get_columns(table)]
            rows = conn.execute(sa.table(table, *(sa.column(c) for c in columns)).select())
            for row in rows:
                out += [(table, c, str(v)) for c, v in zip(columns, row, strict=True)]
    return out


def test_no_address_or_user_agent_is_stored_anywhere_with_a_response(app, demo_survey) -> None:  # type: ignore[no-untyped-def]
    client = app.test_client()
    env = {
        "environ_base": {"REMOTE_ADDR": ADDRESS, "HTTP_USER_AGENT": AGENT},
        "headers": {"X-Forwarded-For": FORWARDED, "User-Agent": AGENT},
    }
    url = f"/p/{demo_survey.slug}?bron=school"
    html = client.get(url, **env).get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]
    token = re.search(r'name="token" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]
    form = {"csrf_token": csrf, "token": token, "bron": "school", "actie": "verder"}
    answers = {**PAGE_1, **PAGE_2, **PAGE_3, "q_helpen__email": "sam@example.org"}
    for page, fields in enumerate([PAGE_1, {**PAGE_1, **PAGE_2}, answers]):
        data = {**form, "pagina": str(page), **fields}
        done = client.post(f"/p/{demo_survey.slug}", data=data, **env)
    assert done.status_code == 303
    values = every_value(app)
    tables = {t for t, _, _ in values}
    assert tables == {"response", "answer", "volunteer"}  # all three hold a row to search
    needles = parts(ADDRESS) | parts(FORWARDED) | parts(AGENT)
    for table, column, value in values:
        for needle in needles:
            assert needle not in value, f"{table}.{column} holds {needle!r}"


def test_response_columns_are_a_reviewed_list() -> None:
    assert {c.name for c in Response.__table__.columns} == set(RESPONSE_COLUMNS)


def test_every_public_page_links_to_the_privacy_statement(app, make_survey, respondent) -> None:  # type: ignore[no-untyped-def]
    statement = "Deze peiling doet de Jongerenraad Drenthe.\n\nWe bewaren alles twee jaar."
    survey = make_survey(privacy_statement=statement, pages=[
        {"questions": [{"code": "een", "type": "short_text", "text": "Eén?"}]},
        {"questions": [{"code": "twee", "type": "short_text", "text": "Twee?"}]},
    ])  # fmt: skip
    link = f'href="/p/{survey.slug}/privacy"'
    r = respondent(survey.slug)
    assert link in r.open().get_data(as_text=True)  # the first page
    assert link in r.post(0, {"q_een": "a"}).get_data(as_text=True)  # the second page
    done = r.post(1, {"q_een": "a", "q_twee": "b"})
    assert done.status_code == 303
    assert link in r.client.get(done.headers["Location"]).get_data(as_text=True)  # thank you
    assert link in r.client.get(f"/p/{survey.slug}/verwijderen").get_data(as_text=True)
    page = r.client.get(f"/p/{survey.slug}/privacy")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "<p>Deze peiling doet de Jongerenraad Drenthe.</p>" in html
    assert "<p>We bewaren alles twee jaar.</p>" in html
