"""Every staff URL for every kind of user: who gets in, who is sent to log in, who gets 403."""

from __future__ import annotations

import pytest

from peiling.extensions import db
from peiling.panel import services
from peiling.panel.models import Panel

URLS = [
    "/analysis/",
    "/analysis/matrix/",
    "/analysis/matrix/vrijwilligers",
    "/analysis/matrix/open",
    "/analysis/matrix/weging",
    "/analysis/matrix/export.xlsx",
    "/analysis/matrix/export/GM0114.xlsx",
    "/analysis/matrix/export/GM0106.xlsx",
    "/beheer/gebruikers",
    "/beheer/logboek",
    "/account/wachtwoord",
    "/ontwerp/",
    "/ontwerp/nieuw",
    "/ontwerp/matrix",
    "/ontwerp/matrix/vraag/vraag",
    "/ontwerp/matrix/voorbeeld",
    "/ontwerp/matrix/delen",
    "/ontwerp/matrix/qr.svg",
    "/ontwerp/matrix/qr.png",
    "/ontwerp/matrix/poster",
    "/ontwerp/matrix/vragenlijst.xlsx",
    "/ontwerp/matrix/vragenlijst.json",
    "/ontwerp/importeren",
    "/panel/",
    "/panel/nieuw",
    "/panel/matrix/",
    "/panel/matrix/codes/1.csv",
    "/panel/matrix/codes/1.xlsx",
    "/panel/matrix/importeren",
    "/panel/matrix/golven",
]
DESIGNER = {"anonymous": 302, "*": 403, "researcher": 200}
USERS = ["anonymous", "admin", "researcher", "analyst", "analyst_emmen", "analyst_no_volunteers"]

# 302: to the login page; 403: logged in, but not allowed.
EXPECTED = {
    "/analysis/": {"anonymous": 302},
    "/analysis/matrix/": {"anonymous": 302},
    "/analysis/matrix/open": {"anonymous": 302},
    "/analysis/matrix/weging": {"anonymous": 302, "*": 403, "researcher": 200},
    "/analysis/matrix/export.xlsx": {"anonymous": 302},
    "/analysis/matrix/export/GM0114.xlsx": {"anonymous": 302},
    "/analysis/matrix/export/GM0106.xlsx": {"anonymous": 302, "analyst_emmen": 404},
    "/analysis/matrix/vrijwilligers": {
        "anonymous": 302,
        "admin": 403,
        "analyst_no_volunteers": 403,
    },
    "/beheer/gebruikers": {"anonymous": 302, "*": 403, "admin": 200},
    "/beheer/logboek": {"anonymous": 302, "*": 403, "admin": 200},
    "/account/wachtwoord": {"anonymous": 302},
    **{url: DESIGNER for url in URLS if url.startswith(("/ontwerp/", "/panel/"))},
}


def expected(url: str, user: str) -> int:
    rules = EXPECTED[url]
    return rules.get(user, rules.get("*", 200))


@pytest.mark.parametrize("user", USERS)
@pytest.mark.parametrize("url", URLS)
def test_staff_url_access(app, logged_in, make_survey, url: str, user: str) -> None:  # type: ignore[no-untyped-def]
    make_survey(slug="matrix")
    with app.app_context():
        panel = Panel(slug="matrix", name="Matrixpanel", region_code="drenthe")
        db.session.add(panel)
        db.session.flush()
        services.new_codes(db.session, panel, {"GM0114": 2})
        db.session.commit()
    client = logged_in(user)
    response = client.get(url)
    response.close()  # a download keeps its file open until then
    assert response.status_code == expected(url, user)
    if response.status_code == 302:
        assert response.headers["Location"].startswith("/login?next=")
    if response.status_code == 403:
        assert "Geen toegang" in response.get_data(as_text=True)


@pytest.mark.parametrize("user", USERS[1:])
def test_admin_links_only_for_admins(logged_in, user: str) -> None:  # type: ignore[no-untyped-def]
    html = logged_in(user).get("/analysis/").get_data(as_text=True)
    assert ('href="/beheer/gebruikers"' in html) is (user == "admin")
