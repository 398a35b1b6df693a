"""Two posts of one form at the same moment: a double click, or two people at once.

A request that checks before it writes (is this slug free, what is the next position,
whom does this code belong to) and a second one doing the same both see the old state.
Before peiling.database.lock_rows and flush_or_recheck, the second answered 503 ("even
niet bereikbaar") in most rounds on both databases: a unique key refused its insert.
Each test runs a few rounds, so that one lucky order of the two threads cannot pass it.
"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from peiling.analysis.models import WeightTarget
from peiling.auth.models import User
from peiling.database import flush_or_recheck, lock_rows
from peiling.extensions import db
from peiling.panel import waves
from peiling.panel.models import (
    Invitation,
    Mail,
    Member,
    MemberStatus,
    Panel,
    RecruitmentCode,
    Wave,
)
from peiling.panel.services import normalise_code
from peiling.surveys.importer import DefinitionError, build_survey
from peiling.surveys.models import Page, Question, Response, Survey, SurveyKind, SurveyStatus
from tests.auth.fixtures import PASSWORD, csrf_of
from tests.designer.problem_html import beside
from tests.panel.fixtures import add_members, codes, inbox, panel  # noqa: F401 - fixtures
from tests.panel.test_waves import wait_for

ROUNDS = 4


def together(calls: list[Callable[[], Any]]) -> list[str]:
    """Make each request at the same moment, each in a thread of its own; return "status:
    text of the page" per request, in the order they answered."""
    start = threading.Barrier(len(calls))
    answers: list[str] = []

    def run(call: Callable[[], Any]) -> None:
        start.wait()
        response = call()
        answers.append(f"{response.status_code}: {response.get_data(as_text=True)}")

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(answers) == len(calls), "a request did not come back"
    return answers


def at_once(
    clients: list[FlaskClient], page: str, url: str, data: dict[str, Any] | Callable[[], dict]
) -> list[str]:
    """Post `data` (or what it makes: a file is read once) from each client at the same
    moment, each with the token of its own copy of `page`."""
    forms = [
        {
            **(data() if callable(data) else data),
            "csrf_token": csrf_of(c.get(page).get_data(as_text=True)),
        }
        for c in clients
    ]
    return together(
        [partial(c.post, url, data=form) for c, form in zip(clients, forms, strict=True)]
    )


def statuses(answers: list[str]) -> list[int]:
    return sorted(int(answer.split(":", 1)[0]) for answer in answers)


def page_with(answers: list[str], status: int) -> str:
    """The text of the page that answered with `status`."""
    return next(a for a in answers if a.startswith(f"{status}:"))


def scalar(app: Flask, query: Any) -> Any:
    with app.app_context():
        return db.session.scalar(query)


@pytest.fixture
def two(logged_in) -> Callable[[str], list[FlaskClient]]:  # type: ignore[no-untyped-def]
    return lambda name: [logged_in(name), logged_in(name)]


def test_new_questionnaire_with_the_same_slug(app, two) -> None:  # type: ignore[no-untyped-def]
    clients = two("researcher")
    for n in range(ROUNDS):
        slug = f"dubbel-{n}"
        data = {"template": "leeg", "slug": slug, "title": "Dubbel"}
        answers = at_once(clients, "/ontwerp/nieuw", "/ontwerp/nieuw", data)
        assert statuses(answers) == [302, 422], answers
        refused = page_with(answers, 422)
        assert beside(refused, "slug") == "Fout: is al in gebruik door een andere vragenlijst"
        assert scalar(app, sa.select(sa.func.count()).where(Survey.slug == slug)) == 1


def test_copy_to_the_same_slug(app, two, make_survey) -> None:  # type: ignore[no-untyped-def]
    source = make_survey(status="draft")
    clients = two("researcher")
    for n in range(ROUNDS):
        slug = f"kopie-{n}"
        answers = at_once(clients, "/ontwerp/", f"/ontwerp/{source.slug}/kopie", {"slug": slug})
        assert statuses(answers) == [302, 422], answers  # one made it, one is told why not
        assert scalar(app, sa.select(sa.func.count()).where(Survey.slug == slug)) == 1
        assert "Kopiëren is niet gelukt" in page_with(answers, 422)  # the summary's heading
        messages = [c.get("/ontwerp/").get_data(as_text=True) for c in clients]
        assert sum(f"Kopie gemaakt als concept: {slug}." in m for m in messages) == 1


def test_new_account_with_the_same_address(app, two) -> None:  # type: ignore[no-untyped-def]
    clients = two("admin")
    for n in range(ROUNDS):
        email = f"dubbel{n}@provincie.nl"
        data = {"email": email, "role": "analyst", "password": PASSWORD}
        answers = at_once(clients, "/beheer/gebruikers", "/beheer/gebruikers", data)
        assert statuses(answers) == [302, 422], answers
        assert f"Er bestaat al een account voor {email}." in page_with(answers, 422)
        assert scalar(app, sa.select(sa.func.count()).where(User.email == email)) == 1


def test_add_page_twice(app, two, make_survey) -> None:  # type: ignore[no-untyped-def]
    survey = make_survey(status="draft")
    clients = two("researcher")
    editor = f"/ontwerp/{survey.slug}"
    for n in range(ROUNDS):
        answers = at_once(clients, editor, f"{editor}/pagina", {"title": f"Extra {n}"})
        assert statuses(answers) == [302, 302], answers
    # Each post added its page on the other's result: none lost, none refused.
    with app.app_context():
        pages = db.session.scalars(
            sa.select(Page).where(Page.survey_id == survey.id).order_by(Page.position)
        ).all()
        assert [p.position for p in pages] == list(range(1 + 2 * ROUNDS))
        titles = [p.title for p in pages[1:]]
        assert sorted(titles) == sorted(f"Extra {n}" for n in range(ROUNDS) for _ in (1, 2))


def test_add_the_same_question_twice(app, two, make_survey) -> None:  # type: ignore[no-untyped-def]
    survey = make_survey(status="draft")
    clients = two("researcher")
    editor = f"/ontwerp/{survey.slug}"
    for n in range(ROUNDS):
        data = {"page": "0", "code": f"nieuw_{n}", "type": "short_text", "text": "Nieuw?"}
        answers = at_once(clients, editor, f"{editor}/vraag", data)
        assert statuses(answers) == [302, 422], answers
        # One added it; the other saw it there and was told, in the editor with its form.
        assert beside(page_with(answers, 422), "code-0") == "Fout: is al in gebruik"
        added = sa.select(sa.func.count()).where(
            Question.survey_id == survey.id, Question.code == f"nieuw_{n}"
        )
        assert scalar(app, added) == 1
    assert scalar(app, sa.select(sa.func.count()).where(Question.survey_id == survey.id)) == (
        1 + ROUNDS
    )


def test_import_the_same_members_twice(app, two, panel) -> None:  # type: ignore[no-untyped-def] # noqa: F811
    clients = two("researcher")
    url = "/panel/groninger-panel/importeren"
    for n in range(ROUNDS):
        rows = "".join(f"lid{n}.{k}@example.nl;Veendam;1980\n" for k in range(3))
        csv = ("email;gemeente;geboortejaar\n" + rows).encode()
        answers = at_once(
            clients, url, url, lambda csv=csv: {"bestand": (io.BytesIO(csv), "leden.csv")}
        )
        assert statuses(answers) == [200, 422], answers
        refused = page_with(answers, 422)
        assert refused.count("staat al in het panel") == 3  # each row named, nothing half done
        added = sa.select(sa.func.count()).where(Member.email.like(f"lid{n}.%"))
        assert scalar(app, added) == 3


def test_upload_the_same_weighting_targets_twice(app, two, demo_survey) -> None:  # type: ignore[no-untyped-def]
    """On PostgreSQL every cell ended up twice in most rounds (each delete missed the rows
    the other had just added); SQLite's single writer hid it."""
    clients = two("researcher")
    url = f"/analysis/{demo_survey.slug}/weging"
    csv = b"gemeente;leeftijd;aantal\nGM0114;;1000\nGM0106;;2000\n"
    for _n in range(ROUNDS):
        answers = at_once(clients, url, url, lambda: {"bestand": (io.BytesIO(csv), "doelen.csv")})
        assert statuses(answers) == [302, 302], answers
        with app.app_context():
            cells = db.session.execute(
                sa.select(WeightTarget.municipality_code, WeightTarget.population)
            ).all()
        assert sorted(cells) == [("GM0106", 2000), ("GM0114", 1000)]


def test_codes_twice(app, two, panel) -> None:  # type: ignore[no-untyped-def] # noqa: F811
    clients = two("researcher")
    page = "/panel/groninger-panel/"
    for _n in range(ROUNDS):
        answers = at_once(clients, page, "/panel/groninger-panel/codes", {"n_GM0014": "2"})
        assert statuses(answers) == [302, 302], answers
    # Two batches per round, each its own number: a mail merge per batch gets its own codes.
    with app.app_context():
        batches = db.session.execute(
            sa.select(RecruitmentCode.batch, sa.func.count()).group_by(RecruitmentCode.batch)
        ).all()
    assert sorted(batches) == [(b, 2) for b in range(1, 2 * ROUNDS + 1)]


def test_draw_the_same_wave_twice(app, two, panel, make_survey) -> None:  # type: ignore[no-untyped-def] # noqa: F811
    """A second wave would invite every member a second time to the same questionnaire."""
    add_members(app, panel, 3)
    survey = make_survey(slug="golfpeiling", kind="panel", region="groningen")
    clients = two("researcher")
    url = "/panel/groninger-panel/golven"
    for n in range(ROUNDS):
        data = {"name": f"Golf {n}", "survey": str(survey.id), "mode": "all"}
        answers = at_once(clients, url, url, data)
        assert statuses(answers) == [302, 422], answers
        refused = page_with(answers, 422)
        assert f"Dit panel heeft al een golf met de naam ‘Golf {n}’" in refused
    with app.app_context():
        names = db.session.scalars(sa.select(Wave.name).order_by(Wave.id)).all()
        invited = db.session.scalar(sa.select(sa.func.count()).select_from(Invitation))
    assert names == [f"Golf {n}" for n in range(ROUNDS)]
    assert invited == 3 * ROUNDS  # each member once per wave


def test_remind_twice(app, two, panel, make_survey, inbox) -> None:  # type: ignore[no-untyped-def] # noqa: F811
    """Two presses at once, an hour after the last mail: one reminder each round. (The
    mail's unique key alone held this before waves.reminder_refused; its lock must not
    break it, and a press just after the other's commit is refused, not a second round.)"""
    from tests.panel.test_waves import an_hour_later

    add_members(app, panel, 3)
    with app.app_context():
        wave = waves.create_wave(db.session, db.session.get(Panel, panel.id),
                                 make_survey(slug="herinner", kind="panel", region="groningen"),
                                 "Golf", {"all": True}, 7)  # fmt: skip
        db.session.commit()
        url = f"/panel/groninger-panel/golven/{wave.id}"
    clients = two("researcher")
    clients[0].post(
        url + "/uitnodigen",
        data={"csrf_token": csrf_of(clients[0].get(url).get_data(as_text=True))},
    )
    wait_for(lambda: len(inbox.messages) == 3)
    for n in range(ROUNDS):
        an_hour_later(app)
        answers = at_once(clients, url, url + "/herinneren", {})
        assert statuses(answers) == [302, 302], answers
        with app.app_context():
            kinds = db.session.scalars(sa.select(Mail.kind)).all()
        assert sorted(kinds) == sorted(
            ["invitation"] * 3 + [f"reminder-{k}" for k in range(1, n + 2) for _ in range(3)]
        )
        wait_for(lambda n=n: len(inbox.messages) == 3 * (n + 2))  # sent before the next round


def test_sign_up_sent_twice(app, inbox, codes) -> None:  # type: ignore[no-untyped-def] # noqa: F811
    """A double click on the panel's sign-up form: one member, one mail, a live link."""
    for n, code in enumerate(codes):
        email = f"dubbel{n}@example.nl"
        clients = [app.test_client(), app.test_client()]
        page = f"/panel/groninger-panel/aanmelden?code={code}"
        data = {"code": code, "email": email, "geboortejaar": "1990", "geslacht": "vrouw"}
        answers = at_once(clients, page, "/panel/groninger-panel/aanmelden", data)
        assert statuses(answers) == [200, 200], answers
        assert all("Kijk in je e-mail" in a for a in answers)
        assert scalar(app, sa.select(sa.func.count()).where(Member.email == email)) == 1
        assert scalar(app, sa.select(sa.func.count()).where(Mail.to_address == email)) == 1
    for n in range(len(codes)):
        (message,) = inbox.to(f"dubbel{n}@example.nl")
        link = inbox.links(message)[0].split("://", 1)[1].split("/", 1)[1]
        assert app.test_client().post("/" + link).status_code == 200


def test_the_same_sign_up_later_sends_a_new_mail(app, inbox, codes) -> None:  # type: ignore[no-untyped-def] # noqa: F811
    """Within a minute the same sign-up is the same; after it, she may ask for a new mail."""
    from tests.panel.test_recruitment import sign_up

    client = app.test_client()
    assert sign_up(client, codes[0]).status_code == 200
    assert sign_up(client, codes[0]).status_code == 200
    assert scalar(app, sa.select(sa.func.count()).select_from(Mail)) == 1
    with app.app_context():
        earlier = datetime.now(UTC) - timedelta(minutes=2)
        db.session.execute(sa.update(Mail).values(created_at=earlier))
        db.session.commit()
    assert sign_up(client, codes[0]).status_code == 200
    assert scalar(app, sa.select(sa.func.count()).select_from(Mail)) == 2


def test_delete_my_data_twice(app, panel) -> None:  # type: ignore[no-untyped-def] # noqa: F811
    """The ORM answered the second press with a 500: it had deleted no row. Then the second
    said "Misschien zijn je gegevens al verwijderd"; now it says they were (410)."""
    add_members(app, panel, ROUNDS)
    with app.app_context():
        keys = db.session.scalars(sa.select(Member.key).order_by(Member.id)).all()
    for key in keys:
        url = f"/panel/mijn-gegevens/{key}/verwijderen"
        answers = together([partial(app.test_client().post, url) for _ in range(2)])
        assert statuses(answers) == [200, 410], answers
        assert all("Je gegevens zijn verwijderd" in answer for answer in answers)
    assert scalar(app, sa.select(sa.func.count()).select_from(Member)) == 0


def test_confirm_a_sign_up_twice(app, codes, inbox) -> None:  # type: ignore[no-untyped-def] # noqa: F811
    """A double click on "Bevestigen": the browser shows the second answer, which said the
    link did not work (it had just been used by the first)."""
    from tests.panel.test_recruitment import path, sign_up

    for n, code in enumerate(codes[:ROUNDS]):
        email = f"bevestig{n}@example.nl"
        client = app.test_client()
        assert sign_up(client, code, email=email).status_code == 200
        confirm = path(inbox.links(inbox.to(email)[0])[0])
        answers = together([partial(client.post, confirm) for _ in range(2)])
        assert statuses(answers) == [200, 200], answers
        assert all("Je doet mee!" in answer for answer in answers)
    active = sa.select(sa.func.count()).where(Member.status == MemberStatus.ACTIVE)
    assert scalar(app, active) == ROUNDS  # five codes in the fixture


def test_remove_my_answers_twice(app, demo_survey, respondent) -> None:  # type: ignore[no-untyped-def]
    """A double click on "remove my answers": the browser shows the second answer, which
    said the code was unknown (and counted a wrong guess) although the first had removed
    them."""
    from tests.surveys.test_form import complete
    from tests.surveys.test_removal import code_on_thanks

    url = f"/p/{demo_survey.slug}/verwijderen"
    for _round in range(ROUNDS):
        r = respondent(demo_survey.slug)
        r.client = app.test_client()  # a browser of her own
        code = code_on_thanks(r, complete(r))
        data = {"csrf_token": csrf_of(r.client.get(url).get_data(as_text=True)), "code": code}
        answers = together([partial(r.client.post, url, data=data) for _ in range(2)])
        assert statuses(answers) == [200, 200], answers
        assert all("Je antwoorden zijn verwijderd" in answer for answer in answers)
    assert scalar(app, sa.select(sa.func.count()).select_from(Response)) == 0


def test_a_new_address_saved_twice(app, panel, inbox) -> None:  # type: ignore[no-untyped-def] # noqa: F811
    """One confirmation mail, whose link works: a second would have replaced its key."""
    add_members(app, panel, ROUNDS)
    with app.app_context():
        keys = db.session.scalars(sa.select(Member.key).order_by(Member.id)).all()
    for n, key in enumerate(keys):
        url = f"/panel/mijn-gegevens/{key}"
        form = {"email": f"nieuw{n}@example.nl", "geboortejaar": "1980", "geslacht": "vrouw",
                "gemeente": "GM0014"}  # fmt: skip
        answers = together([partial(app.test_client().post, url, data=form) for _ in range(2)])
        assert statuses(answers) == [303, 303], answers
        wait_for(lambda n=n: len(inbox.to(f"nieuw{n}@example.nl")) == 1)
    time.sleep(0.3)  # a second mail would have been sent by now
    for n in range(ROUNDS):
        (message,) = inbox.to(f"nieuw{n}@example.nl")
        link = "/" + inbox.links(message)[0].split("://", 1)[1].split("/", 1)[1]
        assert app.test_client().post(link).status_code == 200
        assert scalar(app, sa.select(Member.id).where(Member.email == f"nieuw{n}@example.nl"))


# ------------------------------------------------------------- the two helpers themselves


def test_lock_rows_makes_the_second_wait_and_read_the_first_result(app, codes) -> None:  # type: ignore[no-untyped-def] # noqa: F811
    where = (RecruitmentCode.code == normalise_code(codes[0]),)
    seen: list[Any] = []

    def second() -> None:
        with app.app_context():
            assert lock_rows(db.session, RecruitmentCode.used_at, *where) == 1
            seen.append(db.session.scalar(sa.select(RecruitmentCode.used_at).where(*where)))
            db.session.rollback()

    with app.app_context():
        assert lock_rows(db.session, RecruitmentCode.used_at, *where) == 1
        thread = threading.Thread(target=second)
        thread.start()
        time.sleep(0.5)
        assert seen == [], "the second request went ahead while the first held the row"
        db.session.execute(
            sa.update(RecruitmentCode).where(*where).values(used_at=datetime.now(UTC))
        )
        db.session.commit()
    thread.join(timeout=30)
    assert len(seen) == 1 and seen[0] is not None  # it read what the first committed


def test_flush_or_recheck_turns_a_lost_race_into_the_checks_error(app) -> None:  # type: ignore[no-untyped-def]
    data = {"slug": "gelijktijdig", "title": "Eerste", "region": "drenthe", "pages": [
        {"questions": [{"code": "v", "type": "short_text", "text": "Vraag?"}]}]}  # fmt: skip
    with app.app_context():
        ours = build_survey(db.session, data)  # the slug is free now
        db.session.add(ours)
        with db.engine.begin() as other:  # another request takes it meanwhile
            other.execute(sa.insert(Survey).values(
                slug="gelijktijdig", title="Tweede", kind=SurveyKind.FLASH_POLL,
                status=SurveyStatus.DRAFT, region_code="drenthe"))  # fmt: skip
        with pytest.raises(DefinitionError, match="er bestaat al een vragenlijst"):
            flush_or_recheck(db.session, lambda: build_survey(db.session, data))
        # A check that still passes means another cause: the IntegrityError itself comes out.
        with db.session.no_autoflush:  # two new rows with one slug, each checked alone
            db.session.add(build_survey(db.session, {**data, "slug": "vrij"}))
            db.session.add(build_survey(db.session, {**data, "slug": "vrij"}))
        with pytest.raises(sa.exc.IntegrityError):
            flush_or_recheck(db.session, lambda: None)
