"""Every link a staff member or respondent can follow leads somewhere, and every in-page
reference (a summary's "#field", a label's `for`, aria-describedby) names an element that
is there: a crawl from the start pages, as each kind of account, over realistic data."""

from __future__ import annotations

from collections import Counter
from html.parser import HTMLParser
from typing import NamedTuple
from urllib.parse import urldefrag, urljoin, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from peiling.extensions import db
from peiling.panel import waves
from peiling.panel.models import Panel, Wave
from peiling.surveys.demo import add_synthetic_responses
from peiling.surveys.models import Survey
from tests.panel.fixtures import add_members

MAX_PAGES = 400  # per account; the data below gives roughly 60-120
MAX_QUERIES_PER_PATH = 4  # filter links multiply; a few of each path are enough
# Links whose target is not a page of ours, or which end the session.
LEAVE_ALONE = ("mailto:", "tel:", "javascript:")


class Page(HTMLParser):
    """The links and id references of one HTML page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.ids: Counter[str] = Counter()
        self.references: list[tuple[str, str]] = []  # (what refers, id)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if "id" in a:
            self.ids[a["id"]] += 1
        if tag == "a" and "href" in a:
            self.links.append(a["href"])
        if tag in ("link", "script", "img") and (a.get("href") or a.get("src")):
            self.links.append(a.get("href") or a.get("src", ""))
        if tag == "form" and a.get("method", "get").lower() == "get" and "action" in a:
            self.links.append(a["action"])
        if tag == "label" and a.get("for"):
            self.references.append(("label for", a["for"]))
        for name in ("aria-describedby", "aria-labelledby", "aria-controls"):
            for target in a.get(name, "").split():
                self.references.append((name, target))


class Found(NamedTuple):
    status: int
    referrer: str  # the page that linked to it
    html: bool
    redirected: bool


def crawl(client: FlaskClient, starts: list[str]) -> dict[str, Found]:
    """GET every same-origin link reachable from `starts`; returns what each answered, and
    asserts each HTML page's in-page references on the way."""
    seen: dict[str, Found] = {}
    per_path: Counter[str] = Counter()
    queue = [(url, "(start)") for url in starts]
    while queue and len(seen) < MAX_PAGES:
        url, referrer = queue.pop(0)
        if url in seen:
            continue
        path = urlsplit(url).path
        if urlsplit(url).query:
            per_path[path] += 1
            if per_path[path] > MAX_QUERIES_PER_PATH:
                continue
        response = client.get(url, follow_redirects=True)
        seen[url] = Found(response.status_code, referrer, response.mimetype == "text/html",
                          bool(response.history))  # fmt: skip
        if response.mimetype != "text/html" or response.status_code != 200:
            response.close()
            continue
        page = Page()
        page.feed(response.get_data(as_text=True))
        doubled = [i for i, n in page.ids.items() if n > 1]
        assert not doubled, (url, "id used twice", doubled)
        for what, target in page.references:
            assert target in page.ids, (url, what, target)
        here = response.request.path + (
            "?" + response.request.query_string.decode() if response.request.query_string else ""
        )
        for href in page.links:
            if href.startswith(LEAVE_ALONE):
                continue
            target, fragment = urldefrag(urljoin("http://localhost" + here, href))
            if href.startswith("#"):
                assert fragment in page.ids or fragment in ("", "top", "inhoud"), (url, href)
                continue
            parts = urlsplit(target)
            if parts.netloc != "localhost":
                continue
            queue.append((parts.path + ("?" + parts.query if parts.query else ""), url))
    return seen


@pytest.fixture
def world(app: Flask, demo_survey: Survey, panel: Panel, make_survey) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """The demo poll with answers, a second questionnaire in draft, and a panel with
    members and a wave whose invitations went out."""
    wave_survey = make_survey(slug="vertrouwen", title="Vertrouwen in de politiek",
                              kind="panel", region="groningen")  # fmt: skip
    make_survey(slug="concept", title="Nog in ontwerp", status="draft")
    add_members(app, panel, 5)
    with app.app_context():
        survey = db.session.get(Survey, demo_survey.id)
        add_synthetic_responses(db.session, survey, 60, seed=7)
        made = waves.create_wave(db.session, db.session.get(Panel, panel.id),
                                 db.session.get(Survey, wave_survey.id), "Golf 1",
                                 {"all": True}, seed=3)  # fmt: skip
        db.session.commit()
        wave_id = made.id
    with app.test_request_context():  # the mails' links are made from the request's address
        waves.queue_mails(db.session, db.session.get(Wave, wave_id), "invitation")
        db.session.commit()
    return {"demo": demo_survey.slug, "panel": panel.slug}


@pytest.mark.parametrize("account", ["admin", "researcher", "analyst", "analyst_emmen"])
def test_every_link_on_the_staff_pages_leads_somewhere(logged_in, world, account) -> None:  # type: ignore[no-untyped-def]
    client = logged_in(account)
    seen = crawl(client, ["/", "/analysis/", "/ontwerp/", "/panel/"])
    # A page an account may not open is not linked for it either: her start pages excepted.
    broken = {url: found for url, found in seen.items()
              if found.status >= 400 and url not in ("/ontwerp/", "/panel/")}  # fmt: skip
    assert not broken, broken
    assert len(seen) > 15, seen  # the crawl did get somewhere
    assert len(seen) < MAX_PAGES, "crawl cut off: raise MAX_PAGES"


def test_every_link_a_respondent_sees_leads_somewhere(client, world) -> None:  # type: ignore[no-untyped-def]
    slug = world["demo"]
    seen = crawl(client, [f"/p/{slug}", f"/p/{slug}/privacy", f"/p/{slug}/verwijderen",
                          f"/panel/{world['panel']}/aanmelden", "/login"])  # fmt: skip
    broken = {url: found for url, found in seen.items() if found.status >= 400}
    assert not broken, broken
    assert f"/p/{slug}/privacy" in seen and any(u.startswith("/static/peiling") for u in seen)


@pytest.mark.parametrize("answers", [0, 1])
def test_every_staff_page_works_before_the_answers_come_in(  # type: ignore[no-untyped-def]
    app, logged_in, demo_survey, panel, answers: int
) -> None:
    """A questionnaire just published (no answer, or one), a panel without members: the
    pages that divide by a count or draw a chart have nothing to work with yet."""
    with app.app_context():
        add_synthetic_responses(db.session, db.session.get(Survey, demo_survey.id), answers, 1)
        db.session.commit()
    seen = crawl(logged_in("researcher"), ["/", "/analysis/", "/ontwerp/", "/panel/"])
    broken = {url: found for url, found in seen.items() if found.status >= 400}
    assert not broken, broken
    assert f"/analysis/{demo_survey.slug}/" in seen and "/panel/groninger-panel/" in seen
