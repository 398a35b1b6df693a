"""Attacks on the web layer: open redirects, session fixation, CSRF on every POST route,
SQL injection through query parameters, path traversal, oversized uploads and the
security headers of every kind of page."""

from __future__ import annotations

import io
import re
from urllib.parse import quote, urlsplit

import pytest
import sqlalchemy as sa
from flask import Flask

from peiling.extensions import db
from peiling.panel.models import Member, MemberStatus, Wave, key_hash
from peiling.surveys.models import Survey
from peiling.web import UPLOAD_ENDPOINTS, UPLOAD_LIMIT
from tests.analysis.test_dashboard import store
from tests.auth.fixtures import PASSWORD, csrf_of, login

OFF_SITE = [
    "//evil.example",
    "//evil.example/analysis/",
    "/\\evil.example",
    "\\\\evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "https://evil.example",
    "https:evil.example",
    "HTTPS://evil.example",
    "///evil.example",
    "%2F%2Fevil.example",
    "%2f%2fevil.example",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    " //evil.example",
    "\t//evil.example",
    " https://evil.example",
    "\t/\\evil.example",
    "\x00//evil.example",
]


def stays_here(location: str) -> bool:
    """A Location a browser follows to this site only (it drops tabs and newlines)."""
    cleaned = re.sub(r"[\t\n\r]", "", location).strip("\x00 ").replace("\\", "/")
    parts = urlsplit(cleaned)
    return not parts.scheme and not parts.netloc and cleaned.startswith("/")


@pytest.mark.parametrize("target", OFF_SITE)
def test_login_next_never_leaves_the_site(app, accounts, target: str) -> None:  # type: ignore[no-untyped-def]
    client = app.test_client()
    csrf = csrf_of(client.get("/login").get_data(as_text=True))
    response = client.post(f"/login?next={quote(target, safe='')}",
                           data={"email": accounts["researcher"], "password": PASSWORD,
                                 "csrf_token": csrf})  # fmt: skip
    if "\x00" in target:  # refused outright (peiling.web.refuse_nul): no redirect at all
        assert response.status_code == 400 and "Location" not in response.headers
        return
    assert response.status_code == 302
    assert response.headers["Location"] == "/analysis/", response.headers["Location"]
    # And the language switch, the other redirect that takes a target from the URL.
    switched = client.get(f"/taal/en?terug={quote(target, safe='')}")
    assert switched.status_code == 303 and stays_here(switched.headers["Location"]), (
        switched.headers["Location"]
    )


def test_login_next_on_the_site_is_followed(app, accounts) -> None:  # type: ignore[no-untyped-def]
    client = app.test_client()
    csrf = csrf_of(client.get("/login").get_data(as_text=True))
    response = client.post("/login?next=/beheer/logboek", data={
        "email": accounts["admin"], "password": PASSWORD, "csrf_token": csrf})  # fmt: skip
    assert response.headers["Location"] == "/beheer/logboek"


def test_a_session_from_before_login_is_not_carried_over(app, accounts) -> None:  # type: ignore[no-untyped-def]
    client = app.test_client()
    client.get("/login")
    with client.session_transaction() as session:
        session["geplant"] = "door een aanvaller"  # a value an attacker fixed beforehand
    before = client.get_cookie("peiling_session")
    assert before is not None
    assert login(client, accounts["researcher"]).status_code == 302
    after = client.get_cookie("peiling_session")
    assert after is not None and after.value != before.value
    with client.session_transaction() as session:
        assert "geplant" not in session and "_user_id" in session
    # The cookie from before the login opens nothing.
    stranger = app.test_client()
    stranger.set_cookie("peiling_session", before.value)
    assert stranger.get("/analysis/").status_code == 302
    assert client.get("/analysis/").status_code == 200


# ---------------------------------------------------------------- CSRF on every POST route

# Routes that take no CSRF token, and why. Everything else must refuse a POST without one.
CSRF_EXEMPT = {
    "panel.wave_form": "the personal link's token (256 bits) is the secret; no session",
    "panel.confirm": "the confirmation key from the mail is the secret; no session",
    "panel.my_data": "the member's personal key is the secret; no session",
    "panel.delete_me": "the member's personal key is the secret; no session",
    "panel.unsubscribe": "the member's personal key is the secret; no session",
}
# The public form and the panel sign-up use formguard's signed double-submit cookie.
FORMGUARD = {"surveys.post", "surveys.removal_post", "panel.signup"}
# Who may use a staff route (researchers design, manage panels and weight; admins manage
# accounts); anyone else is turned away before the CSRF check matters.
ROLE = {"admin.users": "admin"}


def post_endpoints(app: Flask) -> set[str]:
    return {r.endpoint for r in app.url_map.iter_rules() if "POST" in (r.methods or ())}


@pytest.fixture
def world(app, make_survey, panel):  # type: ignore[no-untyped-def]
    """A draft survey, a panel and a wave: something for every POST route to change."""
    survey = make_survey(status="draft", languages=["nl", "en"])
    with app.app_context():
        wave = Wave(panel_id=panel.id, survey_id=survey.id, name="Golf", sample={"all": True},
                    seed=1)  # fmt: skip
        db.session.add(wave)
        db.session.commit()
        return {"survey": survey.slug, "panel": panel.slug, "wave_id": wave.id}


def url_of(app: Flask, endpoint: str, world: dict) -> str:  # type: ignore[type-arg]
    rule = next(r for r in app.url_map.iter_rules(endpoint) if "POST" in (r.methods or ()))
    values = {"slug": world["panel"] if endpoint.startswith("panel.") else world["survey"],
              "code": "vraag", "lang": "en", "wave_id": world["wave_id"],
              "action": {"designer.lifecycle": "publiceren",
                         "designer.question_action": "verwijderen",
                         "panel.wave_send": "uitnodigen"}.get(endpoint)}  # fmt: skip
    with app.test_request_context():
        from flask import url_for

        return url_for(endpoint, **{k: values[k] for k in rule.arguments})


def snapshot(app: Flask) -> dict[str, list]:  # type: ignore[type-arg]
    """Every row of every table, to see that a refused request changed nothing."""
    with app.app_context():
        db.session.remove()
        with db.engine.connect() as conn:
            return {
                t.name: sorted(map(repr, conn.execute(sa.select(t)).all()))
                for t in db.metadata.sorted_tables
            }


# Plausible form fields, so a request that got past the check would change something.
FIELDS = {"title": "Veranderd", "titel": "Veranderd", "slug": "nieuw-adres", "name": "Nieuw",
          "text": "Nieuwe vraag?", "type": "short_text", "code": "nieuw", "region": "drenthe",
          "email": "nieuw@provincie.nl", "role": "researcher", "password": PASSWORD,
          "current": PASSWORD, "new": PASSWORD + "x", "confirm": PASSWORD + "x",
          "profielvragen": "opleiding: Opleiding", "n_GM0014": "3", "klassen": "1a",
          "survey": "1", "mode": "all", "taal": "nl", "q_vraag": "iets", "pagina": "0",
          "token": "t" * 32, "actie": "verzenden", "code_nl": "x"}  # fmt: skip

STAFF_POSTS = sorted(
    {
        "admin.users", "auth.logout", "auth.password", "analysis.weights",
        "analysis.export_start", "designer.settings", "designer.add_page",
        "designer.add_question", "designer.question", "designer.question_action",
        "designer.preview", "designer.lifecycle", "designer.duplicate", "designer.new",
        "designer.upload", "designer.translation", "panel.wave_new", "panel.wave_send",
        "panel.class_links", "panel.new", "panel.profile_questions", "panel.targets",
        "panel.make_codes", "panel.import_members",
    }
)  # fmt: skip


def test_the_list_of_post_routes_is_complete(app) -> None:  # type: ignore[no-untyped-def]
    """Every POST route is checked below, or listed as exempt with its reason."""
    known = set(STAFF_POSTS) | FORMGUARD | set(CSRF_EXEMPT) | {"auth.login"}
    assert post_endpoints(app) == known


@pytest.mark.parametrize("endpoint", [*STAFF_POSTS, "auth.login", *sorted(FORMGUARD)])
@pytest.mark.parametrize("token", ["missing", "wrong"])
def test_post_without_a_valid_csrf_token_is_refused(
    app, accounts, logged_in, world, endpoint: str, token: str
) -> None:  # type: ignore[no-untyped-def]
    public = endpoint in FORMGUARD or endpoint == "auth.login"
    client = logged_in("anonymous" if public else ROLE.get(endpoint, "researcher"))
    url = url_of(app, endpoint, world)
    if endpoint in ("surveys.post", "surveys.removal_post"):
        with app.app_context():  # the public pages are for an open survey
            db.session.execute(sa.update(Survey).values(status="open"))
            db.session.commit()
    if public:
        client.get(url.replace("/p/", "/p/") if endpoint != "auth.login" else "/login")
    data = dict(FIELDS, email=accounts["researcher"]) if endpoint == "auth.login" else FIELDS
    if token == "wrong":
        data = dict(data, csrf_token="IjAwMDAi.aW52YWxpZA.c2lnbmF0dXJl")
    before = snapshot(app)
    files = {"bestand": (io.BytesIO(b"gemeentecode;email\nGM0014;a@b.nl\n"), "x.csv")}
    if endpoint in UPLOAD_ENDPOINTS:
        response = client.post(url, data={**data, **files}, content_type="multipart/form-data")
    else:
        response = client.post(url, data=data)
    assert response.status_code == 400, (endpoint, response.status_code)
    html = response.get_data(as_text=True)
    assert "Traceback" not in html and "<title>" in html  # the friendly page
    assert snapshot(app) == before, endpoint
    if endpoint == "auth.login":
        assert client.get("/analysis/").status_code == 302  # not logged in either


def test_the_same_posts_with_a_valid_token_are_not_refused(app, logged_in, world) -> None:  # type: ignore[no-untyped-def]
    """The control: the 400s above come from the token, not from the test's data."""
    client = logged_in("researcher")
    for endpoint in ["designer.add_question", "designer.lifecycle", "panel.make_codes"]:
        url = url_of(app, endpoint, world)
        page = client.get(f"/ontwerp/{world['survey']}" if endpoint.startswith("designer")
                          else f"/panel/{world['panel']}/")  # fmt: skip
        csrf = csrf_of(page.get_data(as_text=True))
        before = snapshot(app)
        response = client.post(url, data=dict(FIELDS, csrf_token=csrf))
        assert response.status_code != 400, endpoint
        assert snapshot(app) != before, endpoint


@pytest.mark.parametrize("endpoint", [*STAFF_POSTS, "auth.login", "panel.signup"])
def test_a_nul_in_a_posted_field_is_refused_before_any_view(
    app, accounts, logged_in, world, endpoint: str
) -> None:  # type: ignore[no-untyped-def]
    """With a valid token, a NUL in the fields is a 400, nothing changed: PostgreSQL would
    refuse it in a text parameter (a DataError, shown as "database down"), SQLite would
    store it."""
    public = endpoint in ("auth.login", "panel.signup")
    client = logged_in("anonymous" if public else ROLE.get(endpoint, "researcher"))
    url = url_of(app, endpoint, world)
    page = {"auth.login": "/login", "panel.signup": url, "admin.users": url}.get(
        endpoint, f"/ontwerp/{world['survey']}"
    )
    csrf = csrf_of(client.get(page).get_data(as_text=True))
    data = {name: f"{value}\x00" for name, value in FIELDS.items()}
    data["csrf_token"] = csrf
    before = snapshot(app)
    if endpoint in UPLOAD_ENDPOINTS:
        files = {"bestand": (io.BytesIO(b"gemeentecode;email\nGM0014;a@b.nl\n"), "x.csv")}
        response = client.post(url, data={**data, **files}, content_type="multipart/form-data")
    else:
        response = client.post(url, data=data)
    assert response.status_code == 400, (endpoint, response.status_code)
    assert "Er ging iets mis met je verzoek" in response.get_data(as_text=True)
    assert snapshot(app) == before, endpoint


@pytest.mark.parametrize(
    "url", ["/panel/bevestigen/{confirm}", "/panel/mijn-gegevens/{key}",
            "/panel/mijn-gegevens/{key}/verwijderen", "/panel/afmelden/{key}"],
)  # fmt: skip
def test_a_nul_to_a_members_own_links_is_refused(app, panel, url: str) -> None:  # type: ignore[no-untyped-def]
    """The pages behind a member's personal key take no CSRF token (the key is the
    secret), so the request guard is all that stands before them; a real key, so that
    a request that got through would confirm, change, delete or unsubscribe her."""
    with app.app_context():
        db.session.add(Member(panel_id=panel.id, key="k" * 64, email="dirk@example.nl",
                              municipality_code="GM0014", birth_year=1990,
                              status=MemberStatus.INVITED,
                              confirm_hash=key_hash("c" * 64)))  # fmt: skip
        db.session.commit()
    address = url.format(key="k" * 64, confirm="c" * 64)
    fields = {"email": "dirk@example.nl", "geboortejaar": "1990", "gemeente": "GM0014"}
    before = snapshot(app)
    refused = app.test_client().post(address, data={k: f"{v}\x00" for k, v in fields.items()})
    assert refused.status_code == 400
    assert "Er ging iets mis met je verzoek" in refused.get_data(as_text=True)
    assert snapshot(app) == before
    # The control: without the NUL the same request does what it is for.
    done = app.test_client().post(address, data=dict(fields, geboortejaar="1991"))
    assert done.status_code in (200, 303), done.status_code
    assert snapshot(app) != before


def test_the_public_form_explains_a_nul_and_keeps_the_answers(app, demo_survey, respondent) -> None:  # type: ignore[no-untyped-def]
    """The control: the respondents' form validates its fields itself, so a NUL there is
    an error next to the field with everything kept, not a 400."""
    r = respondent(demo_survey.slug)
    r.open()
    shown = r.post(0, {"q_leeftijd": "17\x00", "q_gemeente": "GM0106\x00"})
    html = shown.get_data(as_text=True)
    assert shown.status_code == 422 and "Er zijn nog 2 problemen" in html
    assert 'name="q_leeftijd" class="short" value="17' in html


# ---------------------------------------------------------------- SQL injection

SQL = ["'", "\"", "' OR 1=1--", "' OR '1'='1", "GM0114' OR '1'='1", "1; DROP TABLE response--",
       "' UNION SELECT email, password_hash FROM staff_user--", "%00", "\x00", "GM0114\x00",
       "') OR ('a'='a", "\\'; --"]  # fmt: skip
PARAMETERS = ["gemeente", "leeftijd", "bron", "van", "tot", "rij", "kolom", "profiel", "zoek",
              "activiteit", "actie", "taal", "code", "next", "terug", "opgeslagen"]  # fmt: skip


@pytest.fixture
def answered(app, make_survey):  # type: ignore[no-untyped-def]
    """Six answers in Emmen and six in Assen, each with an open answer and a volunteer."""
    survey = make_survey(pages=[{"questions": [
        {"code": "gemeente", "type": "municipality", "text": "Gemeente?"},
        {"code": "mening", "type": "short_text", "text": "Mening?"},
        {"code": "helpen", "type": "volunteer", "text": "Helpen?"},
    ]}])  # fmt: skip
    forms = [{"q_gemeente": [place], "q_mening": [f"mening-uit-{place}"], "q_helpen": ["ja"],
              "q_helpen__naam": [f"Naam {place}"], "q_helpen__email": ["x@y.nl"],
              "q_helpen__toestemming": ["ja"]}
             for place in ["GM0114", "GM0106"] for _ in range(6)]  # fmt: skip
    store(app, survey, forms)
    return survey


def test_query_parameters_cannot_inject_sql_or_widen_results(app, answered, logged_in) -> None:  # type: ignore[no-untyped-def]
    client = logged_in("analyst_emmen")  # may see Emmen (GM0114), never Assen (GM0106)
    slug = answered.slug
    pages = ["/analysis/", f"/analysis/{slug}/", f"/analysis/{slug}/open",
             f"/analysis/{slug}/vrijwilligers", f"/analysis/{slug}/feitenblad/GM0114"]  # fmt: skip
    for page in pages:
        for payload in SQL:
            query = "&".join(f"{name}={quote(payload, safe='')}" for name in PARAMETERS)
            response = client.get(f"{page}?{query}")
            html = response.get_data(as_text=True)
            assert response.status_code < 500, (page, payload, response.status_code)
            assert "GM0106" not in html and "Assen" not in html.replace("<option", ""), (
                page, payload)  # fmt: skip
            assert "pbkdf2" not in html  # no column of another table came back
            # A filter that matches no municipality shows nothing, never more.
            one = client.get(f"{page}?gemeente={quote(payload, safe='')}").get_data(as_text=True)
            assert "mening-uit-GM0106" not in one and "Naam GM0106" not in one
            if page.endswith("/open") or page.endswith("/vrijwilligers"):
                assert "mening-uit-GM0114" not in one and "Naam GM0114" not in one, payload
    admin = logged_in("admin")
    for payload in SQL:
        response = admin.get(f"/beheer/logboek?actie={quote(payload, safe='')}")
        assert response.status_code in (200, 400) and "<td>login</td>" not in response.get_data(
            as_text=True
        )
        assert admin.get(f"/p/{slug}?bron={quote(payload, safe='')}").status_code < 500
    with app.app_context():
        assert db.session.scalar(sa.text("SELECT count(*) FROM response")) == 12  # all there


def test_search_finds_its_text_and_no_more(app, answered, logged_in) -> None:  # type: ignore[no-untyped-def]
    """The control for the test above: the same pages do show Emmen's texts."""
    client = logged_in("analyst_emmen")
    html = client.get(f"/analysis/{answered.slug}/open?zoek=uit").get_data(as_text=True)
    assert "mening-uit-GM0114" in html and "mening-uit-GM0106" not in html
    volunteers = client.get(f"/analysis/{answered.slug}/vrijwilligers").get_data(as_text=True)
    assert "Naam GM0114" in volunteers


# ---------------------------------------------------------------- path traversal

TRAVERSALS = ["../../../../etc/passwd", "..%2F..%2F..%2Fetc%2Fpasswd", "%2e%2e%2f%2e%2e%2fetc",
              "..\\..\\..\\windows\\win.ini", "%2Fetc%2Fpasswd", "....//....//etc",
              "%252e%252e%252f", "..%00", "%c0%ae%c0%ae%2f"]  # fmt: skip


def test_paths_cannot_leave_their_folder(app, answered, logged_in, world) -> None:  # type: ignore[no-untyped-def]
    client = logged_in("researcher")
    slug, panel_slug = answered.slug, world["panel"]
    for bad in TRAVERSALS:
        urls = [
            f"/analysis/{bad}/export.xlsx", f"/analysis/{slug}/export/{bad}.xlsx",
            f"/analysis/{slug}/export/taak/{bad}", f"/analysis/{slug}/export/taak/{bad}/bestand",
            f"/analysis/{slug}/feitenblad/{bad}", f"/ontwerp/{slug}/vragenlijst.{bad}",
            f"/ontwerp/{bad}/vragenlijst.xlsx", f"/ontwerp/{slug}/qr.{bad}",
            f"/panel/{panel_slug}/codes/{bad}.csv", f"/panel/{bad}/", f"/p/{bad}",
            f"/static/{bad}", f"/static/{bad}/peiling/config.py", f"/panel/mijn-gegevens/{bad}",
            f"/panel/w/{bad}", f"/taal/{bad}",
        ]  # fmt: skip
        for url in urls:
            response = client.get(url)
            body = response.get_data()
            response.close()
            assert response.status_code in (303, 308, 400, 404), (url, response.status_code)
            assert b"root:" not in body and b"SECRET_KEY" not in body, url
    # A job id that walks out of the exports folder to a real file is still no job.
    with app.app_context():
        from peiling.analysis import exports

        assert exports.status(app, "../" * 3 + "x" * 23, 1) is None
        assert exports.status(app, "..%2F" * 6 + "xx", 1) is None


def test_download_names_carry_no_path(app, answered, logged_in) -> None:  # type: ignore[no-untyped-def]
    client = logged_in("researcher")
    response = client.get(f"/analysis/{answered.slug}/export.xlsx")
    disposition = response.headers["Content-Disposition"]
    response.close()
    name = re.search(r'filename="?([^";]+)', disposition).group(1)
    assert name == f"{answered.slug}.xlsx" and "/" not in name and "\\" not in name


# ---------------------------------------------------------------- request size


def _is_friendly_413(response) -> bool:  # type: ignore[no-untyped-def]
    html = response.get_data(as_text=True)
    return response.status_code == 413 and "Te veel gegevens" in html and "Traceback" not in html


def multipart(csrf: str, content: bytes) -> tuple[bytes, str]:
    """A multipart body built here: the test client would spool a large one to a temporary
    file that it leaves for the garbage collector when the app refuses it unread."""
    boundary = "grens1234567890"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n'
        f'{csrf}\r\n--{boundary}\r\nContent-Disposition: form-data; name="bestand"; '
        f'filename="groot.csv"\r\nContent-Type: text/csv\r\n\r\n'
    ).encode()
    body += content + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


@pytest.mark.parametrize("endpoint", sorted(UPLOAD_ENDPOINTS))
def test_oversized_uploads_get_a_friendly_413(app, logged_in, world, endpoint: str) -> None:  # type: ignore[no-untyped-def]
    client = logged_in("researcher")
    url = url_of(app, endpoint, world)
    csrf = csrf_of(client.get(url).get_data(as_text=True))
    before = snapshot(app)
    body, kind = multipart(csrf, b"a;b\n" * (UPLOAD_LIMIT // 4 + 1024))
    response = client.post(url, data=body, content_type=kind)
    assert _is_friendly_413(response), (endpoint, response.status_code)
    assert snapshot(app) == before
    # Well over the small limit of other forms, but under this one: read, not refused.
    body, kind = multipart(csrf, b"a;b\n" * (UPLOAD_LIMIT // 8))
    assert client.post(url, data=body, content_type=kind).status_code != 413


def test_an_oversized_public_form_gets_a_friendly_413(app, make_survey, respondent) -> None:  # type: ignore[no-untyped-def]
    survey = make_survey()
    person = respondent(survey.slug)
    person.open()
    response = person.post(0, {"q_vraag": "x" * (app.config["MAX_CONTENT_LENGTH"] + 10)})
    assert _is_friendly_413(response)
    many = "&".join(f"v{n}=1" for n in range(3000))  # more fields than any questionnaire
    crowded = person.client.post(person.url, data=many,
                                 content_type="application/x-www-form-urlencoded")  # fmt: skip
    assert _is_friendly_413(crowded)
    # A staff form without a file gets no more than the small limit either.
    signup = person.client.post("/login", data={"email": "x" * 600_000})
    assert _is_friendly_413(signup)


# ---------------------------------------------------------------- security headers

HEADERS = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
           "Referrer-Policy": "same-origin"}  # fmt: skip


def assert_secure_headers(response, where: str) -> None:  # type: ignore[no-untyped-def]
    csp = response.headers.get("Content-Security-Policy", "")
    assert "default-src 'self'" in csp and "script-src 'self'" in csp, where
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, where
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp, where
    for name, value in HEADERS.items():
        allowed = {value, "no-referrer"} if name == "Referrer-Policy" else {value}
        assert response.headers.get(name) in allowed, (where, name)
    assert "Permissions-Policy" in response.headers, where


def test_every_page_sends_the_security_headers(app, answered, logged_in, world) -> None:  # type: ignore[no-untyped-def]
    slug = answered.slug
    anonymous = app.test_client()
    public = [f"/p/{slug}", f"/p/{slug}/privacy", f"/p/{slug}/bedankt", "/login", "/healthz",
              "/static/peiling.css", "/static/form.js", "/bestaat-niet", "/p/bestaat-niet",
              "/taal/en?terug=/login", f"/panel/{world['panel']}/aanmelden"]  # fmt: skip
    for url in public:
        response = anonymous.get(url)
        response.close()
        assert_secure_headers(response, url)
    assert_secure_headers(anonymous.put("/login"), "405")
    assert_secure_headers(anonymous.post("/login", data={"x": "y" * 600_000}), "413")
    staff = logged_in("researcher")
    with app.test_request_context():
        from flask import url_for

        routes = [r for r in app.url_map.iter_rules() if "GET" in (r.methods or ())]
    values = {"slug": slug, "code": "GM0114", "lang": "en", "kind": "svg",
              "wave_id": world["wave_id"], "batch": 1, "job": "0" * 32, "key": "x" * 43,
              "token": "x" * 43, "filename": "peiling.css"}  # fmt: skip
    seen = 0
    with app.test_request_context():
        urls = []
        for rule in routes:
            args = {k: values[k] for k in rule.arguments}
            if rule.endpoint.startswith("panel.") and "slug" in args:
                args["slug"] = world["panel"]
            if rule.endpoint in ("designer.export", "panel.download_codes"):
                args["kind"] = "xlsx"
            urls.append(url_for(rule.endpoint, **args))
    for url in urls:
        response = staff.get(url)
        response.close()
        assert response.status_code != 500, url
        assert_secure_headers(response, url)
        seen += 1
    assert seen == len(routes) > 40
    # And the friendly 500 page.
    original = app.view_functions["healthz"]
    app.view_functions["healthz"] = lambda: 1 / 0
    try:
        broken = anonymous.get("/healthz")
    finally:
        app.view_functions["healthz"] = original
    assert broken.status_code == 500 and "ZeroDivision" not in broken.get_data(as_text=True)
    assert_secure_headers(broken, "500")
