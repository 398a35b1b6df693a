"""Cross-site scripting in real Chromium: hostile text entered through every input (staff
and respondents, uploads, URL parameters) shows literally on every page that shows it.
Escaping stops it, not only the CSP: no dialog, no marker element, no CSP violation
needed, and no unescaped tag in the HTML the server sent.

It lives here rather than in tests/security/ to share tests/browser's session-wide
Chromium: a second sync Playwright in the same run fails to start."""

from __future__ import annotations

import csv
import io
import re
from html.parser import HTMLParser
from urllib.parse import quote

import pytest
from playwright.sync_api import Page

from peiling.auth.models import Role
from peiling.surveys.xlsform_writer import write_xlsform
from tests.analysis.test_dashboard import store
from tests.auth.fixtures import add_account

pytestmark = pytest.mark.browser

# Each tries to run alert()/confirm() and to make an element with id "xss".
PAYLOADS = [
    "<script>alert(1);document.body.id='xss'</script>",
    "<img id=xss src=x onerror=alert(2)>",
    '<svg id=xss onload="confirm(3)">',
    '<a id=xss href="javascript:alert(4)">klik</a>',
    "\"'><b id=xss onmouseover=alert(5)>",
    "<b id=xss <i onclick=alert(6)",
    "＜script＞alert(7)＜/script＞",
    "\u202e<b id=xss>gnp.exe",
    "<scr\u200bipt>alert(8)</script><i\u200b id=xss>",
    "{{7*7}}{% print 7*7 %}${7*7}",
]
ALL = " ".join(PAYLOADS)
SHORT = " ".join([PAYLOADS[1], PAYLOADS[6], PAYLOADS[9], PAYLOADS[2]])  # for 200-sign fields
# What the reader must see, literally.
SHOWN = ["<img id=xss src=x onerror=alert(2)>", "＜script＞alert(7)＜/script＞", "{{7*7}}"]
EMAIL = '"><svg/onload=alert(9)>@xss.nl'  # a valid address, as far as the pattern goes


class Injected(HTMLParser):
    """Elements and attributes in the HTML as the server sent it that only a payload makes:
    the marker id, event handler attributes (our pages have none: the CSP forbids them),
    javascript: links and scripts that call alert."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self._script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            value = (value or "").strip().lower()
            if (
                (name == "id" and value == "xss")
                or name.startswith("on")
                or (name in ("href", "src", "action") and value.startswith("javascript:"))
            ):
                self.found.append(f"<{tag} {name}={value!r}>")
        self._script = tag == "script"

    def handle_data(self, data: str) -> None:
        if self._script and ("alert" in data or "confirm" in data):
            self.found.append(f"<script>{data}")


def injected(raw: str) -> list[str]:
    parser = Injected()
    parser.feed(raw)
    return parser.found


class Watch:
    """What a page did: dialogs it opened and CSP violations it reported."""

    def __init__(self, page: Page) -> None:
        self.dialogs: list[str] = []
        self.violations: list[str] = []
        page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        page.on("console", lambda m: self._console(m.text))

    def _console(self, text: str) -> None:
        if "Content Security Policy" in text:
            self.violations.append(text)


def check(page: Page, watch: Watch, url: str, shown: list[str] | None = None) -> str:
    """Open `url` (or look at the page as it is, for url ""), and assert nothing ran."""
    raw = ""
    if url:
        response = page.goto(url)
        assert response is not None and response.status < 500, url
        raw = response.text()
    else:
        raw = page.content()  # after a form post: the page as Chromium parsed it
    page.wait_for_timeout(50)  # onload and onerror handlers fire by now
    where = url or page.url
    assert not injected(raw), (where, injected(raw))
    assert page.locator("#xss").count() == 0, where
    assert page.evaluate("document.body.id") != "xss", where
    assert not watch.dialogs, (where, watch.dialogs)
    assert not watch.violations, (where, watch.violations)
    text = page.inner_text("body")
    for expected in shown or []:
        assert expected in text, (where, expected)
    # {{7*7}}{% print 7*7 %} was not evaluated: no 49 (nor 4949) outside numbers that merely
    # contain it (a port, a year), nor in a removal code (ABCD-E49F-GHJK), random letters
    # and digits that held a 49 in one CI run.
    plain = re.sub(r"\b[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}\b", "", text)
    assert not re.search(r"(?<![0-9])(?:49)+(?![0-9])", plain), where
    return text


@pytest.fixture
def hostile(app, make_survey, accounts):  # type: ignore[no-untyped-def]
    """A survey whose every staff text is hostile, answered with hostile text."""
    options = [{"code": "a", "label": PAYLOADS[1]}, {"code": "b", "label": PAYLOADS[2]}]
    survey = make_survey(
        slug="xss", title=PAYLOADS[0] + PAYLOADS[1], introduction=ALL, privacy_statement=ALL,
        pages=[{"title": PAYLOADS[4], "questions": [
            {"code": "gemeente", "type": "municipality", "text": PAYLOADS[3], "help": ALL},
            {"code": "keuze", "type": "single_choice", "text": ALL, "help": ALL,
             "other": True, "options": options},
            {"code": "kort", "type": "short_text", "text": PAYLOADS[5]},
            {"code": "lang", "type": "long_text", "text": PAYLOADS[8]},
            {"code": "helpen", "type": "volunteer", "text": PAYLOADS[9]},
        ]}],
    )  # fmt: skip
    form = {"q_gemeente": ["GM0114"], "q_keuze": ["anders"], "q_keuze__anders": [SHORT],
            "q_kort": [SHORT], "q_lang": [ALL], "q_helpen": ["ja"],
            "q_helpen__naam": [ALL[:100]], "q_helpen__email": ["xss@example.nl"],
            "q_helpen__toestemming": ["ja"]}  # fmt: skip
    store(app, survey, [form] * 6)
    add_account(app, EMAIL, Role.RESEARCHER)
    return survey


def test_no_payload_runs_on_any_page(
    app, live_server, hostile, accounts, panel, staff_page, browser
) -> None:  # type: ignore[no-untyped-def]
    base = live_server
    # The respondent's side, with hostile URL parameters too.
    context = browser.new_context(locale="nl-NL")
    context.set_default_timeout(10_000)
    page = context.new_page()
    watch = Watch(page)
    bron = quote(ALL, safe="")
    check(page, watch, f"{base}/p/xss?bron={bron}&taal={bron}", SHOWN)
    check(page, watch, f"{base}/p/xss/privacy", SHOWN)
    check(page, watch, f"{base}/p/xss/bedankt")
    check(page, watch, f"{base}/login?next={bron}")
    check(page, watch, f"{base}/taal/{bron}?terug={bron}")
    check(page, watch, f"{base}/panel/{panel.slug}/aanmelden?code={bron}")
    # A respondent types the payloads into the form.
    page.goto(f"{base}/p/xss")
    page.locator("input[name=q_kort]").fill(SHORT)
    page.locator("textarea[name=q_lang]").fill(ALL)
    page.locator("input[name=q_keuze][value=anders]").check()
    page.locator("input[name=q_keuze__anders]").fill(SHORT)
    with page.expect_navigation():
        page.locator("button[name=actie]").last.click()
    check(page, watch, "")  # the thank-you page
    # The removal page shows back what she typed when it is not a code.
    page.goto(f"{base}/p/xss/verwijderen")
    page.locator("input[type=text]").first.fill(PAYLOADS[1][:40])
    with page.expect_navigation():
        page.locator("form button[type=submit]").last.click()
    check(page, watch, "")
    context.close()

    # Staff pages, as a researcher (results, designer, panel) and as an admin.
    staff = staff_page(accounts["researcher"])
    watch = Watch(staff)
    filters = f"gemeente={bron}&bron={bron}&leeftijd={bron}&van={bron}&rij={bron}&kolom={bron}"
    for url, shown in [
        ("/analysis/", None),
        (f"/analysis/xss/?{filters}", None),
        ("/analysis/xss/?rij=keuze&kolom=gemeente", [PAYLOADS[1]]),
        (f"/analysis/xss/open?zoek={bron}", None),
        ("/analysis/xss/open", SHOWN),
        ("/analysis/xss/vrijwilligers", [PAYLOADS[1]]),
        (f"/analysis/xss/vrijwilligers?gemeente={bron}&activiteit={bron}", None),
        ("/analysis/xss/feitenblad/GM0114", None),
        ("/analysis/xss/weging", None),
        ("/ontwerp/", None),
        ("/ontwerp/xss", [PAYLOADS[1]]),
        ("/ontwerp/xss/vraag/keuze", None),
        ("/ontwerp/xss/voorbeeld", SHOWN),
        (f"/ontwerp/xss/delen?bron={bron}", None),
        ("/ontwerp/xss/vertaling/en", None),
        (f"/panel/{panel.slug}/", None),
    ]:
        check(staff, watch, base + url, shown)

    # Uploads: an XLSForm, a panel's member list and weighting targets, all hostile.
    definition = {"slug": "xss-upload", "title": ALL[:150], "region": "drenthe",
                  "introduction": ALL, "privacy_statement": ALL, "pages": [{"questions": [
                      {"code": "v", "type": "single_choice", "text": ALL, "help": ALL,
                       "options": [{"code": "a", "label": PAYLOADS[1]},
                                   {"code": "b", "label": PAYLOADS[2]}]}]}]}  # fmt: skip
    staff.goto(f"{base}/ontwerp/importeren")
    staff.set_input_files("#bestand", files=[{"name": "x.xlsx", "buffer": write_xlsform(
        definition), "mimeType": "application/octet-stream"}])  # fmt: skip
    with staff.expect_navigation():
        staff.locator("form:has(#bestand) button[type=submit]").click()
    check(staff, watch, "")
    assert staff.url.endswith("/ontwerp/xss-upload"), staff.inner_text("main")
    check(staff, watch, f"{base}/ontwerp/xss-upload/voorbeeld", SHOWN)
    members = io.StringIO()
    csv.writer(members, delimiter=";").writerows(
        [["gemeentecode", "email", "opleiding"], [PAYLOADS[1], PAYLOADS[2], ALL[:200]]]
    )
    staff.goto(f"{base}/panel/{panel.slug}/importeren")
    staff.set_input_files("#bestand", files=[{"name": "<b id=xss>.csv", "mimeType": "text/csv",
                                              "buffer": members.getvalue().encode()}])  # fmt: skip
    with staff.expect_navigation():
        staff.locator("form:has(#bestand) button[type=submit]").click()
    check(staff, watch, "")
    staff.goto(f"{base}/analysis/xss/weging")
    targets = f"vraag;antwoord;aandeel\n{PAYLOADS[1]};{PAYLOADS[2]};0,5\nkeuze;{ALL[:80]};1\n"
    staff.set_input_files("#bestand", files=[{"name": "doelen.csv", "mimeType": "text/csv",
                                              "buffer": targets.encode()}])  # fmt: skip
    with staff.expect_navigation():
        staff.locator("form:has(#bestand) button[type=submit]").click()
    check(staff, watch, "")

    admin = staff_page(accounts["admin"])
    watch = Watch(admin)
    check(admin, watch, f"{base}/beheer/gebruikers", [EMAIL])
    check(admin, watch, f"{base}/beheer/logboek?actie={bron}")
