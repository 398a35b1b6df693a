"""Waves: the whole journey through a real SMTP server, personal links, sampling, and
sending that survives a broken connection."""

from __future__ import annotations

import io
import re
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from peiling.extensions import db
from peiling.geo import AMSTERDAM
from peiling.panel import waves
from peiling.panel.models import Invitation, Mail, Member, MemberStatus, Panel, Wave
from peiling.surveys.models import Answer, Response, Survey
from tests.analysis.test_workbook import download
from tests.auth.fixtures import csrf_of
from tests.conftest import table_away
from tests.panel.fixtures import Inbox, add_members, member_and_wave
from tests.panel.test_recruitment import path, sign_up

PAGES = [
    {"questions": [{"code": "stem", "type": "yes_no", "text": "Ga je stemmen?", "required": True}]},
    {"questions": [{"code": "vertrouwen", "type": "grade", "required": True,
                    "text": "Welk cijfer geef je de gemeenteraad?"}]},
]  # fmt: skip


def wait_for(check, seconds: float = 15):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError("waited in vain")


def join(client, inbox: Inbox, code: str, email: str) -> None:  # type: ignore[no-untyped-def]
    assert sign_up(client, code, email=email).status_code == 200
    (mail,) = inbox.to(email)
    assert client.post(path(Inbox.links(mail)[0])).status_code == 200


def an_hour_later(app) -> None:  # type: ignore[no-untyped-def]
    """As if the wave's mails went out an hour and a minute ago (waves.REMINDER_GAP)."""
    with app.app_context():
        for mail in db.session.scalars(select(Mail)):
            mail.created_at -= timedelta(minutes=61)
        db.session.commit()


def staff_post(client, url: str, page_url: str, **data):  # type: ignore[no-untyped-def]
    token = csrf_of(client.get(page_url).get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **data})


def test_the_whole_journey_through_a_wave(
    app, client, inbox, codes, logged_in, make_survey
) -> None:  # type: ignore[no-untyped-def]
    people = ["anna@example.nl", "bram@example.nl", "cees@example.nl"]
    for code, email in zip(codes, people, strict=False):
        join(app.test_client(), inbox, code, email)
    survey = make_survey(pages=PAGES, slug="verkiezingen", title="Verkiezingen", kind="panel",
                         region="groningen")  # fmt: skip
    staff = logged_in("researcher")
    made = staff_post(staff, "/panel/groninger-panel/golven", "/panel/groninger-panel/golven",
                      name="Golf 1", survey=str(survey.id), mode="all")  # fmt: skip
    assert made.status_code == 302
    wave_url = made.headers["Location"]
    sent = staff_post(staff, wave_url + "/uitnodigen", wave_url)
    assert sent.status_code == 302
    wait_for(lambda: all(len(inbox.to(p)) == 2 for p in people))  # confirmation + invitation
    invitation = inbox.to("anna@example.nl")[1]
    assert invitation["Subject"] == "Uitnodiging: Verkiezingen"
    link = Inbox.links(invitation)[0]
    assert "/panel/w/" in link and len(link.rsplit("/", 1)[1]) >= 43

    # Half of it on her phone...
    phone = app.test_client()
    first = phone.get(path(link))
    assert first.status_code == 200 and "Ga je stemmen?" in first.get_data(as_text=True)
    second = phone.post(path(link), data={"pagina": "0", "actie": "verder", "q_stem": "ja"})
    assert "Welk cijfer" in second.get_data(as_text=True)
    data_url = Inbox.links(invitation)[1]
    mine = phone.get(path(data_url)).get_data(as_text=True)
    assert "Verkiezingen: begonnen; bewaard tot je klaar bent: stem = ja" in mine
    # ...and the rest later on her laptop, where the first answer is still there.
    laptop = app.test_client()
    later = laptop.get(path(link)).get_data(as_text=True)
    assert "Welk cijfer" in later and 'name="q_stem" value="ja"' in later
    done = laptop.post(path(link), data={"pagina": "1", "actie": "verder", "q_stem": "ja",
                                         "q_vertrouwen": "6"})  # fmt: skip
    assert done.status_code == 303
    assert "Bedankt voor je antwoorden" in laptop.get(path(link)).get_data(as_text=True)
    with app.app_context():
        (response,) = db.session.scalars(select(Response)).all()
        assert (response.municipality_code, response.source) == ("GM0014", "panel-groninger-panel")
        assert response.age == time.gmtime().tm_year - 1984  # from her profile, not asked
        assert db.session.scalar(select(func.count()).select_from(Answer)) == 2

    assert "Verkiezingen: ingevuld op" in laptop.get(path(data_url)).get_data(as_text=True)

    # The reminder goes only to those who have not finished.
    an_hour_later(app)
    staff_post(staff, wave_url + "/herinneren", wave_url)
    wait_for(
        lambda: len(inbox.to("bram@example.nl")) == 3 and len(inbox.to("cees@example.nl")) == 3
    )
    assert len(inbox.to("anna@example.nl")) == 2
    reminder = inbox.to("bram@example.nl")[2]
    assert reminder["Subject"] == "Herinnering: Verkiezingen"

    # Bram unsubscribes through the link in his mail, and gets nothing more.
    unsubscribe = Inbox.links(reminder)[-1]
    assert app.test_client().post(path(unsubscribe)).status_code == 200
    an_hour_later(app)
    staff_post(staff, wave_url + "/herinneren", wave_url)
    wait_for(lambda: len(inbox.to("cees@example.nl")) == 4)
    time.sleep(0.3)
    assert len(inbox.to("bram@example.nl")) == 3
    gone = app.test_client().get(path(Inbox.links(reminder)[0]))
    assert gone.status_code == 410 and "niet meer" in gone.get_data(as_text=True)
    page = staff.get(wave_url).get_data(as_text=True)
    assert "33%" in page  # 1 of 3 completed

    # Anna deletes her data: profile, address, invitation and mails go; her answers stay.
    assert app.test_client().post(path(data_url) + "/verwijderen").status_code == 200
    with app.app_context():
        assert db.session.scalar(select(Member).where(Member.email == "anna@example.nl")) is None
        assert db.session.scalar(select(func.count()).select_from(Invitation)) == 2
        assert (
            db.session.scalar(
                select(func.count()).select_from(Mail).where(Mail.to_address == "anna@example.nl")
            )
            == 0
        )
        assert db.session.scalar(select(func.count()).select_from(Response)) == 1
        assert db.session.scalar(select(func.count()).select_from(Answer)) == 2


def test_links_that_must_not_work_store_nothing(app, inbox, panel, make_survey) -> None:  # type: ignore[no-untyped-def]
    survey = make_survey(pages=PAGES, slug="golf", kind="panel", region="groningen")
    closed = make_survey(pages=PAGES, slug="gesloten-golf", kind="panel", region="groningen",
                         status="closed")  # fmt: skip
    with app.app_context():
        p = db.session.get(Panel, panel.id)
        for n, email in enumerate(["x@example.nl", "y@example.nl"]):
            db.session.add(Member(panel_id=p.id, email=email, municipality_code="GM0014",
                                  birth_year=1990 + n, status=MemberStatus.ACTIVE))  # fmt: skip
        db.session.flush()
        open_wave = waves.create_wave(db.session, p, db.session.get(Survey, survey.id), "A",
                                      {"all": True}, 1)  # fmt: skip
        closed_wave = waves.create_wave(db.session, p, db.session.get(Survey, closed.id), "B",
                                        {"all": True}, 1)  # fmt: skip
        tokens = {w.name: db.session.scalars(select(Invitation.token).where(
            Invitation.wave_id == w.id).order_by(Invitation.id)).all()
            for w in (open_wave, closed_wave)}  # fmt: skip
        x = db.session.scalar(select(Member).where(Member.email == "x@example.nl"))
        x.status = MemberStatus.UNSUBSCRIBED
        db.session.commit()
    client = app.test_client()
    answer = {"pagina": "1", "actie": "verder", "q_stem": "nee", "q_vertrouwen": "8"}
    cases = [
        (tokens["B"][1], 410, "gesloten"),  # a closed wave
        (tokens["A"][0], 410, "niet meer"),  # an unsubscribed member
        ("A" * 43, 404, "Deze link werkt niet"),  # a guessed token
        (tokens["A"][1][:-2], 404, "Deze link werkt niet"),  # almost right
    ]
    for token, status, text in cases:
        response = client.post(f"/panel/w/{token}", data=answer)
        assert response.status_code == status, token
        assert text in response.get_data(as_text=True)
    assert client.post(f"/panel/w/{tokens['A'][1]}", data=answer).status_code == 303
    again = client.post(f"/panel/w/{tokens['A'][1]}", data=answer)  # used: a clear page
    assert again.status_code == 200 and "Je hebt deze vragenlijst ingevuld" in again.get_data(
        as_text=True
    )
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Response)) == 1


def test_a_stratified_sample_is_exact_and_reproducible() -> None:
    members = {"GM0014": list(range(1, 101)), "GM0047": list(range(101, 131)),
               "GM1950": list(range(131, 136))}  # fmt: skip
    per = {"GM0014": 40, "GM0047": 10, "GM1950": 9}
    sample = waves.draw(members, seed=7, per=per)
    counts = Counter("GM0014" if m <= 100 else "GM0047" if m <= 130 else "GM1950" for m in sample)
    assert counts == {"GM0014": 40, "GM0047": 10, "GM1950": 5}  # all 5 where fewer exist
    assert waves.draw(members, seed=7, per=per) == sample
    assert waves.draw(members, seed=8, per=per) != sample
    share = waves.draw(members, seed=7, share=0.2)
    assert len(share) == 20 + 6 + 1
    assert waves.draw(members, seed=3) == sorted(m for ids in members.values() for m in ids)


@pytest.mark.parametrize("broken_after", [0, 2])
def test_a_broken_connection_mid_batch_sends_everyone_exactly_one(
    app, inbox, panel, make_survey, broken_after
) -> None:  # type: ignore[no-untyped-def]
    survey = make_survey(pages=PAGES, slug=f"golf-{broken_after}", kind="panel", region="groningen")
    emails = [f"lid{n}@example.nl" for n in range(6)]
    with app.test_request_context("/"):
        p = db.session.get(Panel, panel.id)
        for e in emails:
            db.session.add(Member(panel_id=p.id, email=e, municipality_code="GM0014",
                                  birth_year=1980, status=MemberStatus.ACTIVE))  # fmt: skip
        db.session.flush()
        wave = waves.create_wave(db.session, p, db.session.get(Survey, survey.id), "G",
                                 {"all": True}, 1)  # fmt: skip
        ids = waves.queue_mails(db.session, wave, "invitation")
        db.session.commit()
        assert len(ids) == 6
        from peiling.mail import send_queued

        # The server accepts `broken_after` mails, then drops the connection once.
        original = inbox.handle_DATA
        accepted = 0

        async def flaky(server, session, envelope):  # type: ignore[no-untyped-def]
            nonlocal accepted
            if accepted == broken_after and not inbox.refuse and not getattr(flaky, "done", False):
                flaky.done = True  # type: ignore[attr-defined]
                inbox.refuse = 1
            result = await original(server, session, envelope)
            if result.startswith("250"):
                accepted += 1
            return result

        inbox.handle_DATA = flaky  # type: ignore[method-assign]
        sent, failed = send_queued(db.session)
        assert failed == 1 and sent == 5
        assert waves.queue_mails(db.session, db.session.get(Wave, wave.id), "invitation") == []
        db.session.commit()
        sent, failed = send_queued(db.session)  # the retry
        assert (sent, failed) == (1, 0)
        assert send_queued(db.session) == (0, 0)
        statuses = db.session.scalars(select(Mail.status).where(Mail.kind == "invitation")).all()
        assert [s.value for s in statuses] == ["sent"] * 6
    assert Counter(m["To"] for m in inbox.messages) == dict.fromkeys(emails, 1)


def test_wave_results_break_down_by_profile(app, panel, make_survey, logged_in) -> None:  # type: ignore[no-untyped-def]
    survey = make_survey(pages=PAGES, slug="profielgolf", title="Profielgolf", kind="panel",
                         region="groningen")  # fmt: skip
    # Women (hbo) all vote, men (mbo) none; grades 8 and 5.
    people = [("vrouw", "hbo", "ja", "8")] * 6 + [("man", "mbo", "nee", "5")] * 7
    with app.test_request_context("/"):
        p = db.session.get(Panel, panel.id)
        for n, (gender, school, _vote, _grade) in enumerate(people):
            db.session.add(Member(panel_id=p.id, email=f"m{n}@example.nl", birth_year=1980,
                                  municipality_code="GM0014", gender=gender,
                                  profile={"opleiding": school},
                                  status=MemberStatus.ACTIVE))  # fmt: skip
        db.session.flush()
        wave = waves.create_wave(db.session, p, db.session.get(Survey, survey.id), "P",
                                 {"all": True}, 5)  # fmt: skip
        tokens = db.session.scalars(select(Invitation.token).where(Invitation.wave_id == wave.id)
                                    .order_by(Invitation.member_id)).all()  # fmt: skip
        db.session.commit()
    client = app.test_client()
    for token, (_gender, _school, vote, grade) in zip(tokens, people, strict=True):
        answer = {"pagina": "1", "actie": "verder", "q_stem": vote, "q_vertrouwen": grade}
        assert client.post(f"/panel/w/{token}", data=answer).status_code == 303

    staff = logged_in("researcher")
    page = staff.get("/analysis/profielgolf/?profiel=geslacht").get_data(as_text=True)
    table = re.search(r"Ga je stemmen\? – naar geslacht</caption>(.*?)</table>", page, re.S)
    assert table
    head = re.findall(r'<th scope="col">(.*?)</th>', table.group(1))
    assert head == ["Antwoord", "Vrouw", "Man", "Anders", "Zeg ik liever niet"]
    ja = re.search(r'<th scope="row">Ja</th>(.*?)</tr>', table.group(1), re.S).group(1)  # type: ignore[union-attr]
    cells = [re.sub(r"<[^>]+>", " ", c).split() for c in re.findall(r"<td>(.*?)</td>", ja, re.S)]
    assert cells[0][:2] == ["6", "(100%)"] and cells[1][:2] == ["0", "(0%)"]
    by_school = staff.get("/analysis/profielgolf/?profiel=opleiding").get_data(as_text=True)
    assert "Ga je stemmen? – naar opleiding" in by_school

    content = download(staff, "/analysis/profielgolf/export.xlsx")
    sheet = pd.read_excel(io.BytesIO(content), sheet_name="Profiel")

    def figure(field: str, value: str, code: str, answer: str) -> tuple[int, float]:  # noqa: E306
        row = sheet[(sheet["Profielvraag"] == field) & (sheet["Waarde"] == value)
                    & (sheet["Code"] == code) & (sheet["Antwoord"] == answer)]  # fmt: skip
        assert len(row) == 1
        return int(row["Aantal"].iloc[0]), float(row["%"].iloc[0])

    assert figure("Geslacht", "Vrouw", "stem", "Ja") == (6, 1.0)
    assert figure("Geslacht", "Man", "stem", "Nee") == (7, 1.0)
    assert figure("Opleiding", "Mbo", "vertrouwen", "5") == (7, 1.0)
    assert figure("Opleiding", "Hbo of wo", "stem", "Nee") == (0, 0.0)


def test_wave_results_are_weighted_by_gender(app, panel, make_survey) -> None:  # type: ignore[no-untyped-def]
    from peiling.analysis.filters import Filters
    from peiling.analysis.weighting import parse_targets, weighting
    from peiling.auth.access import Scope
    from peiling.surveys.definition import get_definition

    survey = make_survey(pages=PAGES, slug="gewogen-golf", kind="panel", region="groningen")
    people = [("vrouw", "ja")] * 6 + [("man", "nee")] * 7
    with app.test_request_context("/"):
        p = db.session.get(Panel, panel.id)
        for n, (gender, _vote) in enumerate(people):
            db.session.add(Member(panel_id=p.id, email=f"w{n}@example.nl", birth_year=1980,
                                  municipality_code="GM0014", gender=gender,
                                  status=MemberStatus.ACTIVE))  # fmt: skip
        db.session.flush()
        wave = waves.create_wave(db.session, p, db.session.get(Survey, survey.id), "W",
                                 {"all": True}, 5)  # fmt: skip
        tokens = db.session.scalars(select(Invitation.token).where(Invitation.wave_id == wave.id)
                                    .order_by(Invitation.member_id)).all()  # fmt: skip
        stored = db.session.get(Survey, survey.id)
        for row in parse_targets(db.session, stored, "geslacht;aantal\nvrouw;5000\nMan;5000"):
            row.survey_id = survey.id
            db.session.add(row)
        db.session.commit()
    client = app.test_client()
    for token, (_gender, vote) in zip(tokens, people, strict=True):
        answer = {"pagina": "1", "actie": "verder", "q_stem": vote, "q_vertrouwen": "7"}
        assert client.post(f"/panel/w/{token}", data=answer).status_code == 303
    with app.test_request_context("/"):
        defn = get_definition(db.session, db.session.get(Survey, survey.id))
        found = weighting(db.session, defn, Scope(None, True), Filters())
        question = next(q for q in defn.questions if q.code == "stem")
    assert found is not None and found.dimensions == ["geslacht"] and found.unused == []
    # Six women, seven men, weighted to half and half: women 13/12 each, men 13/14.
    assert found.shares[(question.id, "ja")] == pytest.approx(0.5)
    assert found.effective == pytest.approx(13 * 13 / (6 * (13 / 12) ** 2 + 7 * (13 / 14) ** 2))


def test_invitations_that_fail_are_tried_again_in_the_background(
    app, inbox, panel, make_survey, logged_in
) -> None:  # type: ignore[no-untyped-def]
    make_survey(pages=PAGES, slug="herhaal", kind="panel", region="groningen")
    emails = [f"h{n}@example.nl" for n in range(3)]
    with app.app_context():
        for e in emails:
            db.session.add(Member(panel_id=panel.id, email=e, municipality_code="GM0014",
                                  birth_year=1980, status=MemberStatus.ACTIVE))  # fmt: skip
        db.session.commit()
        survey_id = db.session.scalar(select(Survey.id).where(Survey.slug == "herhaal"))
    staff = logged_in("researcher")
    made = staff_post(staff, "/panel/groninger-panel/golven", "/panel/groninger-panel/golven",
                      name="H", survey=str(survey_id), mode="all")  # fmt: skip
    wave_url = made.headers["Location"]
    inbox.refuse = 2  # the server drops the first two attempts
    app.config["MAIL_RETRY_SECONDS"] = 0.05
    try:
        staff_post(staff, wave_url + "/uitnodigen", wave_url)
        wait_for(lambda: len(inbox.messages) == 3)
    finally:
        app.config.pop("MAIL_RETRY_SECONDS")
    time.sleep(0.2)
    assert Counter(m["To"] for m in inbox.messages) == dict.fromkeys(emails, 1)
    with app.app_context():
        statuses = db.session.scalars(select(Mail.status)).all()
        assert [s.value for s in statuses] == ["sent"] * 3


def test_class_links_are_anonymous_and_tag_the_class(
    app, panel, make_survey, logged_in, respondent
) -> None:  # type: ignore[no-untyped-def]
    import base64

    from peiling.designer.sharing import qr_svg

    survey = make_survey(pages=PAGES, slug="jeugdpanel", kind="panel", region="groningen")
    staff = logged_in("researcher")
    made = staff_post(staff, "/panel/groninger-panel/golven", "/panel/groninger-panel/golven",
                      name="Klassen", survey=str(survey.id), mode="all")  # fmt: skip
    url = made.headers["Location"] + "/klassen"
    page = staff_post(staff, url, url, klassen="Dr. Nassau College 3B\n\nPenta Collége 2a\n")
    html = page.get_data(as_text=True)
    links = re.findall(r'<a href="(http://[^"]+)">', html)
    assert links == ["http://localhost/p/jeugdpanel?bron=dr-nassau-college-3b",
                     "http://localhost/p/jeugdpanel?bron=penta-college-2a"]  # fmt: skip
    qr = re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', html)
    assert [base64.b64decode(q) for q in qr] == [qr_svg(link) for link in links]

    for other in ("analyst", "admin"):
        assert logged_in(other).get(url).status_code == 403

    pupil = respondent("jeugdpanel")
    form = pupil.open("?bron=dr-nassau-college-3b").get_data(as_text=True)
    assert '<input type="hidden" name="bron" value="dr-nassau-college-3b">' in form
    tag = {"bron": "dr-nassau-college-3b"}  # the hidden field, as the browser sends it back
    pupil.post(0, {"q_stem": "nee", **tag})
    assert pupil.post(1, {"q_stem": "nee", "q_vertrouwen": "9", **tag}).status_code == 303
    with app.app_context():
        (stored,) = db.session.scalars(select(Response)).all()
        assert stored.source == "dr-nassau-college-3b"
        assert (stored.municipality_code, stored.age, stored.profile) == (None, None, None)


def test_each_token_opens_only_its_own_wave(app, panel, make_survey) -> None:  # type: ignore[no-untyped-def]
    other = [
        {"questions": [{"code": "fiets", "type": "yes_no", "text": "Fiets je?", "required": True}]}
    ]
    first = make_survey(pages=PAGES, slug="golf-a", kind="panel", region="groningen")
    second = make_survey(pages=other, slug="golf-b", kind="panel", region="groningen")
    with app.app_context():
        db.session.add(Member(panel_id=panel.id, email="z@example.nl", municipality_code="GM0014",
                              birth_year=1990, status=MemberStatus.ACTIVE))  # fmt: skip
        db.session.flush()
        p = db.session.get(Panel, panel.id)
        a = waves.create_wave(db.session, p, db.session.get(Survey, first.id), "A", {}, 1)
        b = waves.create_wave(db.session, p, db.session.get(Survey, second.id), "B", {}, 1)
        token = select(Invitation.token)
        token_a = db.session.scalar(token.where(Invitation.wave_id == a.id))
        token_b = db.session.scalar(token.where(Invitation.wave_id == b.id))
        db.session.commit()
    client = app.test_client()
    assert "Ga je stemmen?" in client.get(f"/panel/w/{token_a}").get_data(as_text=True)
    assert "Fiets je?" in client.get(f"/panel/w/{token_b}").get_data(as_text=True)
    # Wave B's answers sent with wave A's token: A's questions are what counts.
    wrong = client.post(
        f"/panel/w/{token_a}", data={"pagina": "0", "actie": "verder", "q_fiets": "ja"}
    )
    assert wrong.status_code == 422 and "Ga je stemmen?" in wrong.get_data(as_text=True)
    done = {"pagina": "1", "actie": "verder", "q_stem": "ja", "q_vertrouwen": "7"}
    assert client.post(f"/panel/w/{token_a}", data=done).status_code == 303
    assert "Fiets je?" in client.get(f"/panel/w/{token_b}").get_data(as_text=True)  # B still open
    with app.app_context():
        (response,) = db.session.scalars(select(Response)).all()
        assert response.survey_id == first.id


def test_a_database_failure_between_wave_pages_keeps_the_answers(app, panel, make_survey) -> None:  # type: ignore[no-untyped-def]
    survey = make_survey(pages=PAGES, slug="golf-storing", kind="panel", region="groningen")
    token = one_member_wave(app, panel, survey, "s@example.nl", 1980, "S")
    client = app.test_client()
    # A real failure: the invitations are briefly out of reach.
    with table_away(app, "panel_invitation"):
        page = client.post(f"/panel/w/{token}", data={"pagina": "0", "actie": "verder",
                                                      "q_stem": "ja"})  # fmt: skip
    html = page.get_data(as_text=True)
    assert page.status_code == 503 and "Even niet bereikbaar" in html and "Traceback" not in html
    fields = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', html)
    assert ("q_stem", "ja") in fields and ("pagina", "0") in fields
    again = client.post(f"/panel/w/{token}", data=dict(fields))
    assert again.status_code == 200 and "Welk cijfer" in again.get_data(as_text=True)


@pytest.mark.parametrize(("age", "asked"), [(40, False), (14, True)])
def test_a_wave_uses_the_members_age_for_a_guardians_permission(
    app, panel, make_survey, age, asked
) -> None:  # type: ignore[no-untyped-def]
    pages = [{"questions": [{"code": "helpen", "type": "volunteer", "text": "Wil je helpen?"}]}]
    survey = make_survey(pages=pages, slug="helpgolf", kind="panel", region="groningen")
    token = one_member_wave(app, panel, survey, "h@example.nl", datetime.now(UTC).year - age, "H")
    client = app.test_client()
    html = client.get(f"/panel/w/{token}").get_data(as_text=True)
    assert ('name="q_helpen__toestemming"' in html) is asked
    assert "Ik ben 16 jaar of ouder" not in html  # her age is known: no choice
    contact = {"pagina": "0", "actie": "verder", "q_helpen": "ja",
               "q_helpen__naam": "Lot", "q_helpen__email": "lot@example.org"}  # fmt: skip
    first = client.post(f"/panel/w/{token}", data=contact)
    assert first.status_code == (422 if asked else 303)
    if asked:
        given = {**contact, "q_helpen__toestemming": "ja"}
        assert client.post(f"/panel/w/{token}", data=given).status_code == 303
    with app.app_context():
        stored = db.session.execute(sa.text("SELECT guardian_consent FROM volunteer")).all()
    assert stored == [(True if asked else None,)]


def test_a_finished_wave_shows_the_code_that_removes_its_answers(app, panel, make_survey) -> None:  # type: ignore[no-untyped-def]
    from tests.surveys.test_removal import remove

    survey = make_survey(pages=PAGES, slug="golf-code", kind="panel", region="groningen")
    token = one_member_wave(app, panel, survey, "c@example.nl", 1975, "C")
    client = app.test_client()
    done = {"pagina": "1", "actie": "verder", "q_stem": "ja", "q_vertrouwen": "7"}
    assert client.post(f"/panel/w/{token}", data=done).status_code == 303
    html = client.get(f"/panel/w/{token}").get_data(as_text=True)
    assert "Bedankt voor je antwoorden!" in html and "Je verwijdercode" in html
    code = re.search(r'<p class="code"[^>]*>([0-9A-Z-]{14})</p>', html)
    assert code is not None and f'href="/p/{survey.slug}/verwijderen"' in html
    assert db_count(app, Response) == 1
    removed = remove(app.test_client(), survey.slug, code.group(1))
    assert removed.status_code == 200, removed.get_data(as_text=True)
    assert db_count(app, Response) == 0 and db_count(app, Answer) == 0


def db_count(app, model) -> int:  # type: ignore[no-untyped-def]
    with app.app_context():
        return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


def one_member_wave(app, panel, survey, email: str, birth_year: int, name: str) -> str:  # type: ignore[no-untyped-def]
    """A wave of `survey` with one active member of `panel`; her personal link's token."""
    wave_id = member_and_wave(app, panel, survey, email, birth_year, name)
    with app.app_context():
        token = db.session.scalar(select(Invitation.token).where(Invitation.wave_id == wave_id))
        return str(token)


def test_a_reminder_comes_after_the_invitations_and_not_within_the_hour(
    app, inbox, panel, make_survey, logged_in
) -> None:  # type: ignore[no-untyped-def]
    add_members(app, panel, 2)
    survey = make_survey(pages=PAGES, slug="herinnering", kind="panel", region="groningen")
    staff = logged_in("researcher")
    made = staff_post(staff, "/panel/groninger-panel/golven", "/panel/groninger-panel/golven",
                      name="Golf", survey=str(survey.id), mode="all")  # fmt: skip
    wave_url = made.headers["Location"]

    def mails() -> list[str]:
        with app.app_context():
            return sorted(db.session.scalars(select(Mail.kind)))

    early = staff_post(staff, wave_url + "/herinneren", wave_url)
    assert early.status_code == 302
    assert "Verstuur eerst de uitnodigingen" in staff.get(wave_url).get_data(as_text=True)
    assert mails() == []

    staff_post(staff, wave_url + "/uitnodigen", wave_url)
    wait_for(lambda: len(inbox.messages) == 2)
    staff_post(staff, wave_url + "/herinneren", wave_url)
    page = staff.get(wave_url).get_data(as_text=True)
    sent = re.search(r"gingen om (\d\d:\d\d) weg\. Een herinnering kan vanaf (\d\d:\d\d)", page)
    assert sent, page
    now = datetime.now(UTC).astimezone(AMSTERDAM)
    assert sent.group(1) in {now.strftime("%H:%M"), (now - timedelta(minutes=1)).strftime("%H:%M")}
    assert mails() == ["invitation", "invitation"]

    an_hour_later(app)
    staff_post(staff, wave_url + "/herinneren", wave_url)
    assert mails() == ["invitation", "invitation", "reminder-1", "reminder-1"]
    wait_for(lambda: len(inbox.messages) == 4)


def test_a_title_as_long_as_allowed_still_gives_invitations_and_reminders(
    app, inbox, panel, make_survey, logged_in
) -> None:  # type: ignore[no-untyped-def]
    """A title may have 200 characters, and so may a mail's subject: "Uitnodiging: " before
    it made 213, which PostgreSQL refused (a 500, nobody invited) where SQLite stored it."""
    title = ("Vertrouwen in de lokale politiek en de gemeenteraad van " * 4)[:199] + "?"
    assert len(title) == 200
    survey = make_survey(pages=PAGES, slug="lang", title=title, kind="panel", region="groningen")
    add_members(app, panel, 2)
    staff = logged_in("researcher")
    made = staff_post(staff, "/panel/groninger-panel/golven", "/panel/groninger-panel/golven",
                      name="Golf 1", survey=str(survey.id), mode="all")  # fmt: skip
    wave_url = made.headers["Location"]
    assert staff_post(staff, wave_url + "/uitnodigen", wave_url).status_code == 302
    wait_for(lambda: len(inbox.messages) == 2)
    an_hour_later(app)
    assert staff_post(staff, wave_url + "/herinneren", wave_url).status_code == 302
    wait_for(lambda: len(inbox.messages) == 4)
    subjects = sorted({m["Subject"] for m in inbox.messages})
    assert [s[:12] for s in subjects] == ["Herinnering:", "Uitnodiging:"]
    for subject in subjects:
        assert len(subject) <= 200 and subject.endswith("…"), subject
        assert title[:150] in subject  # most of the title is still there


def test_a_panel_with_a_long_address_stores_its_waves_answers(app, make_survey, logged_in) -> None:  # type: ignore[no-untyped-def]
    """A panel's address may have 80 characters; its waves' answers carry "panel-<address>"
    as their source, whose column holds 40. PostgreSQL refused the longer tag, so every
    member saw "even niet bereikbaar" and nothing was stored; SQLite stored it."""
    slug = "jongerenpanel-drenthe-gemeenteraadsverkiezingen-maart-2026"
    assert len(f"panel-{slug}") > 40
    with app.app_context():
        long = Panel(slug=slug, name="Jongerenpanel", region_code="groningen")
        db.session.add(long)
        db.session.commit()
        db.session.refresh(long)
        db.session.expunge(long)
    survey = make_survey(pages=PAGES, slug="lang-adres", kind="panel", region="groningen")
    token = one_member_wave(app, long, survey, "l@example.nl", 1990, "L")
    done = {"pagina": "1", "actie": "verder", "q_stem": "ja", "q_vertrouwen": "7"}
    answered = app.test_client().post(f"/panel/w/{token}", data=done)
    assert answered.status_code == 303, answered.status_code
    with app.app_context():
        (source,) = db.session.scalars(select(Response.source)).all()
    assert source == f"panel-{slug}"[:40] and not source.endswith("-")
    # The dashboard splits by it and filters on it.
    staff = logged_in("researcher")
    page = staff.get(f"/analysis/lang-adres/?bron={source}").get_data(as_text=True)
    assert f'<th scope="row">{source}</th><td>1</td>' in page
