"""Recruitment by letter: codes, sign-up, double opt-in by mail through a real SMTP server,
a member's own data, unsubscribing and deletion, all without an account."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import openpyxl
import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from peiling.extensions import db
from peiling.panel import services
from peiling.panel.models import Mail, MailStatus, Member, MemberStatus, RecruitmentCode
from tests.auth.fixtures import csrf_of

EMAIL = "anna.de.vries@example.nl"


def path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def sign_up(client, code: str, email: str = EMAIL, **fields):  # type: ignore[no-untyped-def]
    page = client.get(f"/panel/groninger-panel/aanmelden?code={code}")
    assert page.status_code == 200
    data = {"csrf_token": csrf_of(page.get_data(as_text=True)), "code": code, "email": email,
            "geboortejaar": "1984", "geslacht": "vrouw", "profiel_opleiding": "hbo"}  # fmt: skip
    data.update(fields)
    return client.post("/panel/groninger-panel/aanmelden", data=data)


def members(app) -> list[Member]:  # type: ignore[no-untyped-def]
    with app.app_context():
        found = db.session.scalars(select(Member).order_by(Member.id)).all()
        for m in found:
            db.session.expunge(m)
        return list(found)


def test_code_sign_up_confirmation_mail_and_own_data(app, client, inbox, codes) -> None:  # type: ignore[no-untyped-def]
    response = sign_up(client, codes[0])
    assert response.status_code == 200
    assert "Kijk in je e-mail" in response.get_data(as_text=True)
    (mail,) = inbox.to(EMAIL)
    assert mail["From"] == "Groninger Panel <panel@provincie.nl>"
    assert mail.get_body(preferencelist=("html",)) is not None  # plain text and HTML
    confirm, data_url, unsubscribe_url = inbox.links(mail)
    assert mail["List-Unsubscribe"].strip() == f"<{unsubscribe_url}>"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    (member,) = members(app)
    assert member.status is MemberStatus.INVITED and member.municipality_code == "GM0014"
    assert len(member.key) >= 43  # 256 bits
    assert member.key in data_url and member.key in unsubscribe_url
    assert member.key not in confirm  # a key of its own, stored only as a hash
    assert member.confirm_hash == services.key_hash(confirm.rsplit("/", 1)[1])

    # The link shows a button; only pressing it confirms (mail scanners follow links).
    assert client.get(path(confirm)).status_code == 200
    assert members(app)[0].status is MemberStatus.INVITED
    done = client.post(path(confirm))
    assert done.status_code == 200 and "Je doet mee!" in done.get_data(as_text=True)
    (member,) = members(app)
    assert member.status is MemberStatus.ACTIVE and member.joined_at is not None
    # Pressed again (a double click, a refresh): confirmed all the same, nothing changes.
    again = client.post(path(confirm))
    assert again.status_code == 200 and "Je doet mee!" in again.get_data(as_text=True)
    assert members(app)[0].joined_at == member.joined_at
    # An hour later the used link no longer works.
    with app.app_context():
        an_hour_ago = datetime.now(UTC) - services.CONFIRMED_AGAIN - timedelta(seconds=1)
        db.session.execute(sa.update(Member).values(confirmed_at=an_hour_ago))
        db.session.commit()
    late = client.post(path(confirm))
    assert late.status_code == 404 and "Deze link werkt niet (meer)" in late.get_data(as_text=True)

    with app.app_context():
        code = db.session.scalar(
            select(RecruitmentCode).where(RecruitmentCode.member_id == member.id)
        )
        assert code is not None and code.used_at is not None
        sent = db.session.scalars(select(Mail)).all()
        assert [(m.kind, m.status) for m in sent] == [("confirm", MailStatus.SENT)]
        assert sent[0].text_body is None and sent[0].html_body is None  # no copies kept

    page = client.get(path(data_url))
    html = page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"
    for shown in (EMAIL, "Groningen", "1984", "Vrouw", "Hbo of wo", "doet mee", codes[0],
                  "bevestiging"):  # fmt: skip
        assert shown in html, shown


def test_each_code_works_once(app, client, inbox, codes) -> None:  # type: ignore[no-untyped-def]
    first = sign_up(client, codes[0])
    assert first.status_code == 200
    (mail,) = inbox.to(EMAIL)
    client.post(path(inbox.links(mail)[0]))
    again = sign_up(client, codes[0], email="iemand.anders@example.nl")
    assert again.status_code == 422
    assert "al gebruikt" in again.get_data(as_text=True)
    unknown = sign_up(client, "ABCD-EFGH-JKMN", email="derde@example.nl")
    assert unknown.status_code == 422
    assert len(members(app)) == 1 and len(inbox.messages) == 1


def test_a_code_is_read_as_people_type_it(app, client, inbox, codes) -> None:  # type: ignore[no-untyped-def]
    typed = codes[1].replace("-", " ").lower().replace("0", "o").replace("1", "l")
    assert sign_up(client, typed).status_code == 200
    assert members(app)[0].municipality_code == "GM0014"


def test_an_unconfirmed_sign_up_can_be_done_again(app, client, inbox, codes) -> None:  # type: ignore[no-untyped-def]
    sign_up(client, codes[3], email="typfout@exmaple.nl")
    sign_up(client, codes[3], email=EMAIL)
    (member,) = members(app)
    assert member.email == EMAIL and member.municipality_code == "GM0047"
    old, new = inbox.to("typfout@exmaple.nl")[0], inbox.to(EMAIL)[0]
    assert client.post(path(inbox.links(old)[0])).status_code == 404  # replaced
    assert client.post(path(inbox.links(new)[0])).status_code == 200


def test_mistakes_are_explained_and_the_answers_kept(app, client, inbox, codes) -> None:  # type: ignore[no-untyped-def]
    response = sign_up(client, codes[0], email="geen-adres", geboortejaar="84")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert (
        'id="foutmeldingen"' in html and 'href="#email"' in html and 'href="#geboortejaar"' in html
    )
    assert 'value="geen-adres"' in html and 'value="84"' in html and codes[0] in html
    assert 'aria-invalid="true"' in html
    assert members(app) == [] and inbox.messages == []


def test_sign_up_needs_the_form_cookie(app, codes) -> None:  # type: ignore[no-untyped-def]
    stranger = app.test_client()
    data = {"code": codes[0], "email": EMAIL, "geboortejaar": "1984"}
    response = stranger.post("/panel/groninger-panel/aanmelden", data=data)
    assert response.status_code == 400
    assert members(app) == []


def test_guessing_codes_is_stopped(app, client, inbox, codes) -> None:  # type: ignore[no-untyped-def]
    # Five wrong codes a minute from one address (LOGIN_LIMITS_PER_ACCOUNT), then a pause.
    statuses = [sign_up(client, f"GUES-SING-{n:04d}", email=f"p{n}@example.nl").status_code
                for n in range(6)]  # fmt: skip
    assert statuses == [422] * 5 + [429]
    assert sign_up(client, codes[0]).status_code == 429  # even a right one, for a while
    assert members(app) == []


def test_unsubscribe_then_delete_everything(app, client, inbox, codes) -> None:  # type: ignore[no-untyped-def]
    sign_up(client, codes[0])
    (mail,) = inbox.to(EMAIL)
    confirm, data_url, unsubscribe_url = inbox.links(mail)
    client.post(path(confirm))
    assert client.get(path(unsubscribe_url)).status_code == 200
    assert members(app)[0].status is MemberStatus.ACTIVE  # a GET changes nothing
    # One click from the mail program (RFC 8058): a POST without any token but the key.
    done = app.test_client().post(path(unsubscribe_url), data="List-Unsubscribe=One-Click",
                                  content_type="application/x-www-form-urlencoded")  # fmt: skip
    assert done.status_code == 200 and "Je bent afgemeld" in done.get_data(as_text=True)
    (member,) = members(app)
    assert member.status is MemberStatus.UNSUBSCRIBED and member.left_at is not None

    gone = client.post(path(data_url) + "/verwijderen")
    assert gone.status_code == 200 and "verwijderd" in gone.get_data(as_text=True)
    assert members(app) == []
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Mail)) == 0  # held her address
        printed = codes[0].replace("-", "")
        code = db.session.scalar(select(RecruitmentCode).where(RecruitmentCode.code == printed))
        assert code.used_at is not None and code.member_id is None  # still used, by nobody
    # Her links now say what happened, by nothing more than her key's hash.
    for url in (data_url, unsubscribe_url):
        after = client.get(path(url))
        assert after.status_code == 410, url
        assert "Je gegevens zijn verwijderd" in after.get_data(as_text=True)
    again = client.post(path(data_url) + "/verwijderen")  # a double click
    assert again.status_code == 410 and "Je gegevens zijn verwijderd" in again.get_data(
        as_text=True
    )
    with app.app_context():
        kept = db.session.execute(sa.text("SELECT * FROM deleted_member")).mappings().all()
    assert [dict(row) for row in kept] == [
        {"key_hash": services.key_hash(member.key), "panel_id": member.panel_id}
    ]


@pytest.mark.parametrize("url", ["/panel/mijn-gegevens/{key}", "/panel/afmelden/{key}",
                                 "/panel/mijn-gegevens/{key}/verwijderen"])  # fmt: skip
def test_a_guessed_key_gets_a_clear_page_and_changes_nothing(
    app, client, inbox, codes, url
) -> None:  # type: ignore[no-untyped-def]
    sign_up(client, codes[0])
    before = members(app)
    real = before[0].key
    near = real[:-1] + ("B" if real.endswith("A") else "A")  # one character off
    for key in ("x" * 43, near, ""):
        response = client.post(url.format(key=key))
        assert response.status_code in (404, 405, 308)  # 308: an empty key, "//" merged
        if response.status_code == 404 and key:
            assert "Deze link werkt niet" in response.get_data(as_text=True)
    assert [(m.id, m.status) for m in members(app)] == [(m.id, m.status) for m in before]


def test_a_broken_smtp_connection_keeps_the_mail_until_it_is_sent(
    app, client, inbox, codes, runner
) -> None:  # type: ignore[no-untyped-def]
    inbox.refuse = 1
    response = sign_up(client, codes[0])
    assert response.status_code == 200  # she is told to look in her mail; it follows
    assert inbox.messages == []
    with app.app_context():
        (mail,) = db.session.scalars(select(Mail)).all()
        assert mail.status is MailStatus.QUEUED and mail.attempts == 1 and mail.last_error
    result = runner.invoke(args=["mail", "send"])
    assert result.exit_code == 0 and "1 verstuurd, 0 mislukt" in result.output
    assert len(inbox.to(EMAIL)) == 1
    assert runner.invoke(args=["mail", "send"]).output.startswith("0 verstuurd")  # not twice
    assert len(inbox.to(EMAIL)) == 1


def test_researchers_make_and_download_codes(app, logged_in, panel) -> None:  # type: ignore[no-untyped-def]
    client = logged_in("researcher")
    page = client.get("/panel/groninger-panel/")
    assert page.status_code == 200
    form = {
        f"n_{code}": "0" for code in re.findall(r'name="n_(GM\d{4})"', page.get_data(as_text=True))
    }
    assert len(form) == 10  # Groningen's municipalities
    form.update(n_GM0014="40", n_GM1950="7", csrf_token=csrf_of(page.get_data(as_text=True)))
    assert client.post("/panel/groninger-panel/codes", data=form).status_code == 302
    text = client.get("/panel/groninger-panel/codes/1.csv").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))
    assert len(rows) == 47
    assert sum(r["gemeentecode"] == "GM1950" for r in rows) == 7
    assert {r["gemeente"] for r in rows} == {"Groningen", "Westerwolde"}
    assert len({r["code"] for r in rows}) == 47
    for r in rows:
        assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){2}", r["code"])
        assert r["aanmeldadres"].endswith(f"/panel/groninger-panel/aanmelden?code={r['code']}")
    book = openpyxl.load_workbook(
        io.BytesIO(client.get("/panel/groninger-panel/codes/1.xlsx").data)
    )
    sheet = book["Codes"]
    assert sheet.max_row == 48 and sheet["C2"].value == rows[0]["code"]
    for other in ("analyst", "admin"):
        assert logged_in(other).get("/panel/groninger-panel/codes/1.csv").status_code == 403


def test_panel_health_members_against_targets_and_per_month(app, logged_in, panel) -> None:  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    def at(month: int) -> datetime:
        return datetime(2026, month, 15, 12, tzinfo=UTC)

    with app.app_context():
        rows = [("GM0014", at(3), None)] * 3 + [("GM0014", at(4), at(5))] + [
            ("GM0047", at(4), None)] * 2  # fmt: skip
        for n, (place, joined, left) in enumerate(rows):
            status = MemberStatus.UNSUBSCRIBED if left else MemberStatus.ACTIVE
            db.session.add(Member(panel_id=panel.id, email=f"g{n}@example.nl", birth_year=1970,
                                  municipality_code=place, status=status, joined_at=joined,
                                  left_at=left))  # fmt: skip
        db.session.commit()
    client = logged_in("researcher")
    page = client.get("/panel/groninger-panel/").get_data(as_text=True)
    form = {f"doel_{code}": "0" for code in re.findall(r'name="doel_(GM\d{4})"', page)}
    form.update(doel_GM0014="6", doel_GM0047="8", csrf_token=csrf_of(page))
    assert client.post("/panel/groninger-panel/doelen", data=form).status_code == 302
    html = client.get("/panel/groninger-panel/").get_data(as_text=True)

    def row(label: str) -> list[str]:
        found = re.search(rf'<th scope="row">{label}</th>(.*?)</tr>', html, re.S)
        assert found, label
        return re.findall(r"<td>(.*?)</td>", found.group(1))

    assert row("Groningen") == ["3", "6", "50%", "0", "1"]  # active, target, share, ...
    assert row("Veendam") == ["2", "8", "25%", "0", "0"]
    assert row("2026-03") == ["3", "0"] and row("2026-04") == ["3", "0"]
    assert row("2026-05") == ["0", "1"]
    bad = dict(form, doel_GM0014="veel")
    client.post("/panel/groninger-panel/doelen", data=bad)
    assert "Groningen</th><td>3</td><td>6</td>" in client.get("/panel/groninger-panel/").get_data(
        as_text=True
    )


def test_researchers_define_the_profile_questions(app, logged_in, panel, client, codes) -> None:  # type: ignore[no-untyped-def]
    staff = logged_in("researcher")
    page = staff.get("/panel/groninger-panel/").get_data(as_text=True)
    assert "opleiding | Opleiding | mbo=Mbo, hbo=Hbo of wo" in page  # the fixture's
    text = ("werk | Werk je? | ja=Ja, nee=Nee\n"
            "wijk | Woon je in de stad? | stad=In de stad, dorp=In een dorp")  # fmt: skip
    staff.post(
        "/panel/groninger-panel/profiel", data={"csrf_token": csrf_of(page), "profielvragen": text}
    )
    with app.app_context():
        from peiling.panel.models import Panel

        fields = db.session.get(Panel, panel.id).profile_fields
    assert [f["code"] for f in fields] == ["werk", "wijk"]
    assert fields[1]["options"] == [["stad", "In de stad"], ["dorp", "In een dorp"]]
    signup = client.get(f"/panel/groninger-panel/aanmelden?code={codes[0]}").get_data(as_text=True)
    assert "Woon je in de stad?" in signup and "In een dorp" in signup
    for bad in ("werk | Werk je?", "Werk | x | ja=Ja", "geslacht | G | v=V", "a | b | =Leeg"):
        page = staff.get("/panel/groninger-panel/").get_data(as_text=True)
        refused = staff.post(
            "/panel/groninger-panel/profiel",
            data={"csrf_token": csrf_of(page), "profielvragen": bad},
        )
        shown = refused.get_data(as_text=True)
        assert refused.status_code == 422
        assert "Regel 1: schrijf code | Vraag | waarde=Antwoord, waarde=Antwoord" in shown, bad
    with app.app_context():
        assert [f["code"] for f in db.session.get(Panel, panel.id).profile_fields] == [
            "werk",
            "wijk",
        ]


def test_a_new_address_counts_once_confirmed_there(app, client, inbox, codes) -> None:  # type: ignore[no-untyped-def]
    sign_up(client, codes[0])
    (first,) = inbox.to(EMAIL)
    confirm, data_url, _unsubscribe = inbox.links(first)
    client.post(path(confirm))
    form = {"email": "anna@nieuw.example", "gemeente": "GM0014", "geboortejaar": "1984",
            "geslacht": "vrouw", "profiel_opleiding": "hbo"}  # fmt: skip
    taken = client.post(path(data_url), data={**form, "email": "ANNA.DE.VRIES@example.nl "})
    assert taken.status_code == 303  # her own address again: nothing to confirm
    assert client.post(path(data_url), data={**form, "email": "geen adres"}).status_code == 422
    assert client.post(path(data_url), data=form).status_code == 303
    assert members(app)[0].email == EMAIL  # not yet
    page = client.get(path(data_url)).get_data(as_text=True)
    assert "wordt anna@nieuw.example zodra je dat bevestigt" in page
    (change,) = inbox.to("anna@nieuw.example")
    assert "op dit adres krijgen" in inbox.text(change)
    done = client.post(path(inbox.links(change)[0]))
    assert "Je nieuwe e-mailadres is bevestigd" in done.get_data(as_text=True)
    again = client.post(path(inbox.links(change)[0]))  # a double click says the same
    assert "Je nieuwe e-mailadres is bevestigd" in again.get_data(as_text=True)
    (member,) = members(app)
    assert (member.email, member.pending_email, member.status) == (
        "anna@nieuw.example",
        None,
        MemberStatus.ACTIVE,
    )


def test_a_refused_change_of_my_data_shows_what_she_sent(app, client, inbox, codes) -> None:  # type: ignore[no-untyped-def]
    """A typo in the birth year must not put back her old municipality, gender and school:
    the page shows the mistake next to what she sent, and nothing is changed."""
    sign_up(client, codes[0])
    confirm, data_url, _unsubscribe = inbox.links(inbox.to(EMAIL)[0])
    client.post(path(confirm))
    sent = {"email": EMAIL, "gemeente": "GM0047", "geboortejaar": "19844",
            "geslacht": "man", "profiel_opleiding": "mbo"}  # fmt: skip
    refused = client.post(path(data_url), data=sent)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert 'id="geboortejaar" name="geboortejaar" value="19844"' in html
    assert 'aria-invalid="true"' in html
    for name, code in (("gemeente", "GM0047"), ("geslacht", "man"), ("profiel_opleiding", "mbo")):
        chosen = re.search(rf'<select id="{name}".*?</select>', html, re.S)
        assert chosen and f'<option value="{code}" selected>' in chosen.group(0), name
    (member,) = members(app)
    assert (member.municipality_code, member.birth_year, member.gender) == ("GM0014", 1984, "vrouw")
    page = client.get(path(data_url)).get_data(as_text=True)  # later: what is stored
    assert 'name="geboortejaar" value="1984"' in page


# Shaped like an address, but longer than the 254 characters an address column holds
# (RFC 5321): PostgreSQL refused it with a 500 where SQLite stored it.
TOO_LONG = "anna@" + "a" * 247 + ".nl"


def test_an_address_too_long_to_store_is_refused_at_the_field(app, client, inbox, codes) -> None:  # type: ignore[no-untyped-def]
    assert len(TOO_LONG) == 254 + 1
    refused = sign_up(client, codes[0], email=TOO_LONG)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and 'href="#email"' in html, refused.status_code
    assert f'value="{TOO_LONG}"' in html  # what she typed stays, to shorten
    assert members(app) == [] and inbox.messages == []
    longest = TOO_LONG[:-4] + ".nl"  # 254 characters: stored, and mailed
    assert sign_up(client, codes[0], email=longest).status_code == 200
    assert [m.email for m in members(app)] == [longest] and inbox.to(longest)
    # Her own page refuses the long address as a new one, and keeps the one she has.
    _confirm, data_url, _unsubscribe = inbox.links(inbox.to(longest)[0])
    form = {"email": TOO_LONG, "gemeente": "GM0014", "geboortejaar": "1984",
            "geslacht": "vrouw", "profiel_opleiding": "hbo"}  # fmt: skip
    changed = client.post(path(data_url), data=form)
    assert changed.status_code == 422, changed.status_code
    assert [(m.email, m.pending_email) for m in members(app)] == [(longest, None)]


def test_a_panel_name_as_long_as_allowed_still_gives_the_confirmation_mail(
    app, client, inbox, codes, panel
) -> None:  # type: ignore[no-untyped-def]
    """ "Bevestig je aanmelding voor " and a name of 200 characters made a subject PostgreSQL
    refused (the sign-up failed); the subject is now cut to fit, with an ellipsis."""
    name = ("Inwonerspanel van de provincie Groningen over wonen, werken en bestuur " * 3)[:200]
    with app.app_context():
        db.session.get(type(panel), panel.id).name = name
        db.session.commit()
    assert sign_up(client, codes[0]).status_code == 200
    (mail,) = inbox.to(EMAIL)
    assert mail["Subject"].startswith("Bevestig je aanmelding voor Inwonerspanel van de")
    assert len(mail["Subject"]) == 200 and mail["Subject"].endswith("…")
