"""Removal on request: the code on the thank-you page, and /p/<slug>/verwijderen deleting the
response with its answers and contact details, CSRF-checked, throttled, without storing any
address; kept counts follow."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from redis import Redis

from peiling.analysis.models import TallyState
from peiling.extensions import db
from peiling.surveys import removal
from peiling.surveys.definition import get_definition
from peiling.surveys.flow import check_questions
from peiling.surveys.logic import visible_pages
from peiling.surveys.models import Survey
from peiling.surveys.services import ResponseMeta, store_response
from tests.analysis.test_dashboard import short_form
from tests.conftest import count_rows, make_app
from tests.surveys.test_form import ALL, complete

CODE_RE = re.compile(r'<p class="code"[^>]*>([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4})</p>')


def code_on_thanks(r, done) -> str:  # type: ignore[no-untyped-def]
    """Follow the 303 as a browser does and read the code off the thank-you page."""
    page = r.client.get(done.headers["Location"])
    assert page.status_code == 200
    found = CODE_RE.search(page.get_data(as_text=True))
    assert found, "no removal code on the thank-you page"
    return found.group(1)


def remove(client, slug: str, typed: str, **kwargs):  # type: ignore[no-untyped-def]
    """Open the removal page and send `typed`, as a browser does."""
    form = client.get(f"/p/{slug}/verwijderen", **kwargs)
    assert form.status_code == 200
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.get_data(as_text=True))
    assert csrf
    return client.post(
        f"/p/{slug}/verwijderen", data={"csrf_token": csrf.group(1), "code": typed}, **kwargs
    )


def test_codes_are_derived_shown_in_groups_and_typed_loosely(app) -> None:  # type: ignore[no-untyped-def]
    with app.test_request_context():
        code = removal.code_for("token-" + "a" * 20)
        assert code == removal.code_for("token-" + "a" * 20)  # a retry shows the same code
        assert code != removal.code_for("token-" + "b" * 20)
        assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{12}", code)
        assert re.fullmatch(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}", removal.shown(code))
    assert removal.normalise(" abcd efgh-jkmn ") == "ABCDEFGHJKMN"
    assert removal.normalise("OIL0-1111-2222") == "0110" + "1111" + "2222"
    assert removal.normalise("abcd–efgh—jkmn") == "ABCDEFGHJKMN"  # dashes a phone makes
    for bad in ("", "ABCD-EFGH", "ABCD-EFGH-JKMNP", "ABCD-EFGH-JKMU", "ABCD EFGH JKM!", "x" * 99):
        assert removal.normalise(bad) is None


def test_code_is_the_first_60_bits_of_the_tokens_hmac_in_crockford_base_32(app) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        key = removal._derive(app.secret_key, b"peiling removal code")
        for n in range(200):
            token = f"token-{n:04d}-" + "x" * 16
            bits = int.from_bytes(hmac.digest(key, token.encode(), "sha256")[:8], "big") >> 4
            expected = "".join(removal.ALPHABET[(bits >> (5 * (11 - i))) & 31] for i in range(12))
            assert removal.code_for(token) == expected


def test_thank_you_page_shows_the_code_from_a_cookie_for_that_page_only(
    app, demo_survey, respondent
) -> None:  # type: ignore[no-untyped-def]
    r = respondent(demo_survey.slug)
    done = complete(r)
    assert done.status_code == 303
    cookies = done.headers.getlist("Set-Cookie")
    (cookie,) = [c for c in cookies if c.startswith(removal.COOKIE + "=")]
    value = cookie.split(";")[0].split("=", 1)[1]
    assert f"Path=/p/{demo_survey.slug}/bedankt;" in cookie + ";"
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Max-Age=300" in cookie
    assert value not in done.headers["Location"]  # never in a URL
    shown = code_on_thanks(r, done)
    assert shown.replace("-", "") == value
    page = r.client.get(done.headers["Location"])
    html = page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"
    assert f"/p/{demo_survey.slug}/verwijderen" in html
    assert "laten verwijderen" in html
    # A double click or a retry of the same form gives the same code; nothing more is stored.
    again = r.post(2, ALL)
    assert again.status_code == 303
    assert code_on_thanks(r, again) == shown
    with app.app_context():
        assert count_rows(app, "response") == 1
        stored = db.session.execute(sa.text("SELECT * FROM response")).mappings().one()
    assert stored["removal_hash"] == hashlib.sha256(value.encode()).hexdigest()
    assert not any(value in str(v) for v in stored.values())  # the code itself is not kept


def test_another_browser_sees_no_code(app, demo_survey, respondent) -> None:  # type: ignore[no-untyped-def]
    r = respondent(demo_survey.slug)
    done = complete(r)
    other = app.test_client()
    html = other.get(done.headers["Location"]).get_data(as_text=True)
    assert "Bedankt voor het meedoen!" in html and CODE_RE.search(html) is None


def test_the_code_removes_the_response_its_answers_and_contact_details(
    app, demo_survey, respondent
) -> None:  # type: ignore[no-untyped-def]
    first = respondent(demo_survey.slug)
    code = code_on_thanks(first, complete(first))
    second = respondent(demo_survey.slug)
    second.client = app.test_client()  # another browser, another respondent
    complete(second)
    with app.app_context():
        assert (count_rows(app, "response"), count_rows(app, "volunteer")) == (2, 2)
        answers = count_rows(app, "answer")
    # Typed loosely, in lower case with spaces: still hers.
    typed = code.lower().replace("-", " ")
    done = remove(app.test_client(), demo_survey.slug, typed)
    html = done.get_data(as_text=True)
    assert done.status_code == 200 and "Je antwoorden zijn verwijderd" in html
    with app.app_context():
        assert (count_rows(app, "response"), count_rows(app, "volunteer")) == (1, 1)
        assert count_rows(app, "answer") == answers // 2
    # The same code again (a second press, or typed later) says they were removed, and
    # removes nothing else: only the code's hash and the survey are kept of it.
    again = remove(app.test_client(), demo_survey.slug, code)
    assert again.status_code == 200
    assert "Je antwoorden zijn verwijderd" in again.get_data(as_text=True)
    with app.app_context():
        assert count_rows(app, "response") == 1
        kept = db.session.execute(sa.text("SELECT * FROM removed_response")).mappings().all()
    assert [dict(row) for row in kept] == [
        {"removal_hash": removal.hash_of(removal.normalise(code)), "survey_id": demo_survey.id}
    ]


def test_a_used_code_pressed_again_is_no_wrong_guess(app, demo_survey, respondent) -> None:  # type: ignore[no-untyped-def]
    r = respondent(demo_survey.slug)
    code = code_on_thanks(r, complete(r))
    here = {"environ_base": {"REMOTE_ADDR": "198.51.100.8"}}
    client = app.test_client()
    for _press in range(8):  # more than REMOVAL_LIMITS_PER_CLIENT's 5 per minute
        assert remove(client, demo_survey.slug, code, **here).status_code == 200
    assert remove(client, demo_survey.slug, "AAAA-AAAA-AAAA", **here).status_code == 422


def test_unknown_and_malformed_codes_get_an_error_summary(app, demo_survey, respondent) -> None:  # type: ignore[no-untyped-def]
    r = respondent(demo_survey.slug)
    complete(r)
    for typed, message in [
        ("ABCD-EFGH-JKMN", "We vinden geen antwoorden met deze code"),
        ("ABC", "Een verwijdercode heeft 12 letters en cijfers"),
    ]:
        page = remove(app.test_client(), demo_survey.slug, typed)
        html = page.get_data(as_text=True)
        assert page.status_code == 422
        assert 'class="error-summary" id="foutmeldingen"' in html and 'href="#code"' in html
        assert 'aria-invalid="true"' in html and 'aria-describedby="code-hint code-fout"' in html
        assert message in html and f'value="{typed}"' in html  # what she typed stays
        assert "<title>Fout:" in html
    with app.app_context():
        assert count_rows(app, "response") == 1


def test_a_code_removes_nothing_from_another_survey(
    app, make_survey, demo_survey, respondent
) -> None:  # type: ignore[no-untyped-def]
    r = respondent(demo_survey.slug)
    code = code_on_thanks(r, complete(r))
    other = make_survey()
    page = remove(app.test_client(), other.slug, code)
    assert page.status_code == 422
    with app.app_context():
        assert count_rows(app, "response") == 1
    # Removed from its own survey, the code is still unknown to the other one.
    assert remove(app.test_client(), demo_survey.slug, code).status_code == 200
    assert remove(app.test_client(), other.slug, code).status_code == 422


def test_removal_is_csrf_protected_without_a_session(app, demo_survey, respondent) -> None:  # type: ignore[no-untyped-def]
    r = respondent(demo_survey.slug)
    code = code_on_thanks(r, complete(r))
    stranger = app.test_client()
    # No form cookie (a cross-site POST): refused with a friendly page, nothing removed.
    page = stranger.post(f"/p/{demo_survey.slug}/verwijderen", data={"code": code})
    assert page.status_code == 400 and "Je sessie was verlopen" in page.get_data(as_text=True)
    # A cookie, but a token made for another browser's cookie.
    stranger.get(f"/p/{demo_survey.slug}/verwijderen")
    page = stranger.post(
        f"/p/{demo_survey.slug}/verwijderen", data={"code": code, "csrf_token": "x" * 43}
    )
    assert page.status_code == 400
    assert stranger.get_cookie("peiling_session") is None  # respondents get no session
    with app.app_context():
        assert count_rows(app, "response") == 1


def test_removal_works_after_the_poll_closed_and_404s_for_a_draft(
    app, make_survey, respondent
) -> None:  # type: ignore[no-untyped-def]
    survey = make_survey(pages=[{"questions": [{"code": "v", "type": "short_text", "text": "?"}]}])
    r = respondent(survey.slug)
    r.open()
    code = code_on_thanks(r, r.post(0, {"q_v": "iets"}))
    with app.app_context():
        db.session.execute(sa.update(Survey).values(status="closed"))
        db.session.commit()
    assert remove(app.test_client(), survey.slug, code).status_code == 200
    with app.app_context():
        assert count_rows(app, "response") == 0
        db.session.execute(sa.update(Survey).values(status="draft"))
        db.session.commit()
    assert app.test_client().get(f"/p/{survey.slug}/verwijderen").status_code == 404


def test_guesses_are_throttled_per_client(app, demo_survey, respondent) -> None:  # type: ignore[no-untyped-def]
    r = respondent(demo_survey.slug)
    code = code_on_thanks(r, complete(r))
    guesser = app.test_client()
    here = {"environ_base": {"REMOTE_ADDR": "198.51.100.7"}}
    for n in range(5):  # REMOVAL_LIMITS_PER_CLIENT: 5 per minute
        assert remove(guesser, demo_survey.slug, f"AAAA-AAAA-AAA{n}", **here).status_code == 422
    blocked = remove(guesser, demo_survey.slug, code, **here)
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) > 0
    assert "te vaak een verkeerde code" in blocked.get_data(as_text=True)
    with app.app_context():
        assert count_rows(app, "response") == 1  # even the right code waits
    elsewhere = {"environ_base": {"REMOTE_ADDR": "203.0.113.9"}}
    assert remove(app.test_client(), demo_survey.slug, code, **elsewhere).status_code == 200


def test_throttle_keys_in_redis_hold_no_address(tmp_path, demo_survey) -> None:  # type: ignore[no-untyped-def]
    prefix = "peiling-test-removal-" + secrets.token_hex(6)
    app, drop = make_app(
        tmp_path,
        "removal_redis",
        REDIS_URL="redis://127.0.0.1:6379/0",
        REMOVAL_THROTTLE_PREFIX=prefix,
    )
    redis = Redis.from_url("redis://127.0.0.1:6379/0")
    try:
        from peiling.surveys.cli import import_definition
        from tests.conftest import demo_definition

        with app.app_context():
            import_definition(demo_definition())
        address = "198.51.100.213"
        client = app.test_client()
        page = remove(
            client, "jongerenpeiling-demo", "ABCD-EFGH-JKMN", environ_base={"REMOTE_ADDR": address}
        )
        assert page.status_code == 422
        keys = [k.decode() for k in redis.scan_iter(match=f"*{prefix}*")]
        assert keys, "the failed guess was not counted in Redis"
        for key in keys:
            assert address not in key and "198.51.100" not in key and "100.213" not in key
            value = redis.dump(key) or b""
            assert address.encode() not in value
        assert not any("jongerenpeiling-demo" in k for k in keys)  # per client only
    finally:
        for key in redis.scan_iter(match=f"*{prefix}*"):
            redis.delete(key)
        redis.close()
        from peiling.database import dispose_engines

        dispose_engines(app)
        drop()


def test_store_response_makes_the_removal_hash_itself(app, demo_survey) -> None:  # type: ignore[no-untyped-def]
    """Panel waves and imports call store_response without a code: they get one all the same."""
    token = secrets.token_urlsafe(24)
    with app.test_request_context():
        defn = get_definition(db.session, db.session.get(Survey, demo_survey.id))
        form = short_form("17", "GM0114")
        answers, problems = check_questions(defn, visible_pages(defn, form), form)
        assert not problems
        store_response(db.session, defn, answers, ResponseMeta(token))
        stored = db.session.scalar(sa.text("SELECT removal_hash FROM response"))
        assert stored == removal.hash_of(removal.code_for(token))


@pytest.fixture
def kept_counts(app, demo_survey):  # type: ignore[no-untyped-def]
    """Twelve responses old enough to be kept in the tally; returns their codes."""
    when = datetime.now(UTC) - timedelta(hours=2)
    codes = []
    with app.test_request_context():
        defn = get_definition(db.session, db.session.get(Survey, demo_survey.id))
        for n in range(12):
            token = secrets.token_urlsafe(24)
            form = short_form(str(14 + n % 5), "GM0114")
            answers, problems = check_questions(defn, visible_pages(defn, form), form)
            assert not problems
            store_response(db.session, defn, answers, ResponseMeta(token, submitted_at=when))
            codes.append(removal.shown(removal.code_for(token)))
    return codes


def test_dashboard_counts_drop_after_a_removal_from_kept_counts(
    app, demo_survey, kept_counts, logged_in
) -> None:  # type: ignore[no-untyped-def]
    staff = logged_in("researcher")
    url = f"/analysis/{demo_survey.slug}/"
    assert "12 antwoorden" in staff.get(url).get_data(as_text=True)
    with app.app_context():
        state = db.session.get(TallyState, demo_survey.id)
        assert state is not None and state.responses == 12  # counts are kept now
    assert remove(app.test_client(), demo_survey.slug, kept_counts[3]).status_code == 200
    html = staff.get(url).get_data(as_text=True)
    assert "11 antwoorden" in html and "12 antwoorden" not in html
    with app.app_context():
        db.session.expire_all()
        assert db.session.get(TallyState, demo_survey.id).responses == 11  # type: ignore[union-attr]


def test_the_code_cookie_lives_five_minutes_by_default(app, demo_survey, respondent) -> None:  # type: ignore[no-untyped-def]
    """A shared school computer: the next pupil must not find the code in the history."""
    from peiling.config import DefaultConfig

    assert DefaultConfig.REMOVAL_CODE_SECONDS == 300
    r = respondent(demo_survey.slug)
    done = complete(r)
    cookie = [h for h in done.headers.getlist("Set-Cookie") if h.startswith(removal.COOKIE)]
    assert cookie and "Max-Age=300" in cookie[0]


def test_wrong_codes_from_many_clients_do_not_block_the_survey(
    app, demo_survey, respondent
) -> None:  # type: ignore[no-untyped-def]
    r = respondent(demo_survey.slug)
    code = code_on_thanks(r, complete(r))
    for host in range(8):  # 40 wrong codes: over the old 30 a minute per survey
        there = {"environ_base": {"REMOTE_ADDR": f"198.51.100.{host + 1}"}}
        for n in range(5):
            wrong = remove(app.test_client(), demo_survey.slug, f"AAAA-AAAA-AAA{n}", **there)
            assert wrong.status_code == 422
    mine = {"environ_base": {"REMOTE_ADDR": "203.0.113.50"}}
    assert remove(app.test_client(), demo_survey.slug, code, **mine).status_code == 200


def test_an_ipv6_client_is_counted_by_its_64_network(app) -> None:  # type: ignore[no-untyped-def]
    with app.test_request_context():
        key = removal.client_key
        assert key("2001:db8:1:2::1") == key("2001:db8:1:2:ffff:eeee:dddd:cccc")
        assert key("2001:db8:1:2::1") != key("2001:db8:1:3::1")
        assert key("::ffff:198.51.100.7") == key("198.51.100.7")
        assert key("198.51.100.7") != key("198.51.100.8")


def test_rotating_ipv6_addresses_within_a_64_are_throttled(app, demo_survey) -> None:  # type: ignore[no-untyped-def]
    for n in range(5):
        there = {"environ_base": {"REMOTE_ADDR": f"2001:db8:5:6::{n + 1}"}}
        assert (
            remove(app.test_client(), demo_survey.slug, "AAAA-AAAA-AAAA", **there).status_code
            == 422
        )
    rotated = {"environ_base": {"REMOTE_ADDR": "2001:db8:5:6:aaaa::9"}}
    blocked = remove(app.test_client(), demo_survey.slug, "AAAA-AAAA-AAAA", **rotated)
    assert blocked.status_code == 429
    html = blocked.get_data(as_text=True)
    assert re.search(r"Probeer het over 1 minuut opnieuw", html)
    assert "1 minuten" not in html


def test_the_wait_reads_in_english_with_its_plural(app, demo_survey) -> None:  # type: ignore[no-untyped-def]
    here = {"environ_base": {"REMOTE_ADDR": "198.51.100.77"}}
    for _ in range(5):
        remove(app.test_client(), demo_survey.slug, "AAAA-AAAA-AAAA", **here)
    with app.test_request_context("/?taal=en"):
        from flask_babel import force_locale, ngettext

        with force_locale("en"):
            msgid = (
                "Er is te vaak een verkeerde code ingevuld. "
                "Probeer het over %(num)d minuut opnieuw."
            )
            plural = msgid.replace("minuut", "minuten")
            assert ngettext(msgid, plural, 1).endswith("in 1 minute.")
            assert ngettext(msgid, plural, 3).endswith("in 3 minutes.")


def test_removal_works_while_redis_is_down(tmp_path, caplog) -> None:  # type: ignore[no-untyped-def]
    app, drop = make_app(tmp_path, "removal_no_redis", REDIS_URL="redis://127.0.0.1:1/0")
    try:
        from peiling.surveys.cli import import_definition
        from tests.conftest import demo_definition

        with app.app_context():
            import_definition(demo_definition())
        client = app.test_client()
        with caplog.at_level("WARNING"):
            page = remove(client, "jongerenpeiling-demo", "ABCD-EFGH-JKMN")
        assert page.status_code == 422  # an answer, not a 500
        lines = [r.getMessage() for r in caplog.records if "removal throttle" in r.getMessage()]
        assert lines and all(m == "removal throttle unavailable: ConnectionError" for m in lines)
    finally:
        from peiling.database import dispose_engines

        dispose_engines(app)
        drop()
