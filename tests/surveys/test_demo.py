"""`flask demo`: the demo jongerenpeiling, synthetic responses and the demo login."""

from __future__ import annotations

import re

import sqlalchemy as sa

from peiling.extensions import db
from tests.conftest import count_rows

TABLES = ("survey", "question", "question_option", "response", "answer", "volunteer", "staff_user")


def snapshot(app) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return {t: count_rows(app, t) for t in TABLES}


def test_demo_twice_changes_nothing(app, runner) -> None:  # type: ignore[no-untyped-def]
    first = runner.invoke(args=["demo", "--responses", "60", "--if-empty", "--seed", "3"])
    assert first.exit_code == 0, first.output
    assert "Demo-peiling geladen: /p/jongerenpeiling-demo" in first.output
    assert "60 nepantwoorden toegevoegd." in first.output
    login = re.search(r"Inloggen als medewerker: (\S+) / (\S+)", first.output)
    assert login and login.group(1) == "demo@peiling.local"
    before = snapshot(app)
    assert before["survey"] == 1 and before["response"] == 60 and before["staff_user"] == 1
    second = runner.invoke(args=["demo", "--responses", "60", "--if-empty"])
    assert second.exit_code == 0, second.output
    assert "bestaat al" in second.output and "nepantwoorden" not in second.output
    assert f"/ {login.group(2)}" in second.output  # the same login is printed again
    assert snapshot(app) == before


def test_demo_login_works(app, runner, client) -> None:  # type: ignore[no-untyped-def]
    out = runner.invoke(args=["demo"]).output
    email, password = re.search(r"medewerker: (\S+) / (\S+)", out).groups()
    response = client.post(
        "/login", data={"email": email, "password": password, "csrf_token": _csrf(client)}
    )
    assert response.status_code == 302
    page = client.get(response.headers["Location"])
    assert "Jongerenpeiling Drenthe" in page.get_data(as_text=True)


def _csrf(client) -> str:  # type: ignore[no-untyped-def]
    html = client.get("/login").get_data(as_text=True)
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)


def test_synthetic_responses_look_like_the_real_poll(app, runner) -> None:  # type: ignore[no-untyped-def]
    assert runner.invoke(args=["demo", "--responses", "833", "--seed", "7"]).exit_code == 0
    with app.app_context():
        rows = db.session.execute(
            sa.text(
                "SELECT q.code, o.code, count(*) FROM answer a "
                "JOIN question q ON q.id = a.question_id"
                " JOIN question_option o ON o.id = a.option_id GROUP BY q.code, o.code"
            )
        ).all()
        counts = {(q, o): n for q, o, n in rows}
        municipalities = db.session.execute(
            sa.text("SELECT count(DISTINCT municipality_code) FROM response")
        ).scalar()
        volunteers = db.session.execute(sa.text("SELECT count(*) FROM volunteer")).scalar()
        ages = db.session.execute(sa.text("SELECT min(age), max(age) FROM response")).one()
    total = 833
    assert 0.30 < counts[("genoeg_te_doen", "onvoldoende")] / total < 0.42  # "ruim een derde"
    assert 0.44 < counts[("organiseren", "ja")] / total < 0.56  # "de helft"
    top = sorted((n, o) for (q, o), n in counts.items() if q == "activiteiten")[-4:]
    assert {o for _, o in top} == {"ontmoeting", "sport", "ontspanning", "muziek"}
    assert municipalities == 12
    assert 85 < volunteers < 145  # roughly one in seven, as the 114 of 833
    assert tuple(ages) >= (12, 0) and ages[1] <= 25
