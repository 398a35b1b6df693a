"""Render the README's screenshots in Chromium from a throwaway demo database.

Usage: .venv/bin/python scripts/screenshots.py  (or `make screenshots`)
"""

from __future__ import annotations

import tempfile
import threading
from pathlib import Path

from flask_migrate import upgrade
from playwright.sync_api import sync_playwright
from werkzeug.serving import make_server

from peiling import create_app

OUT = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(
            {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/shots.sqlite", "SECRET_KEY": "shots"}
        )
        app.instance_path = tmp
        with app.app_context():
            upgrade()
        app.test_cli_runner().invoke(args=["demo", "--responses", "300", "--seed", "1"])
        password = (Path(tmp) / "demo-login.txt").read_text().strip()
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        root = f"http://127.0.0.1:{server.server_port}"
        try:
            shoot(root + "/p/jongerenpeiling-demo")
            shoot_designer(root, password)
        finally:
            server.shutdown()


def shoot(base: str) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_page(
            locale="nl-NL",
            viewport={"width": 390, "height": 844},
            device_scale_factor=2,
            is_mobile=True,
        )
        page.goto(base)
        page.get_by_label("Hoe oud ben je?").fill("16")
        page.get_by_label("In welke gemeente woon je?").select_option(label="Emmen")
        page.get_by_role("button", name="Volgende").click()
        page.locator("#vraag-genoeg_te_doen").get_by_label("Nee, te weinig").check()
        page.locator("#vraag-organiseren").get_by_label("Ja", exact=True).check()
        page.locator("#vraag-activiteiten").get_by_label("Sport en bewegen").check()
        page.screenshot(path=OUT / "form-phone.png")
        page.goto(base)
        page.get_by_label("Hoe oud ben je?").fill("zeventien")
        page.get_by_role("button", name="Volgende").click()
        page.screenshot(path=OUT / "form-errors.png")
        browser.close()


def shoot_designer(root: str, password: str) -> None:
    """The designer's editor of the demo poll and a refused question, the results and a
    fact sheet, on a laptop-sized screen."""
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_page(locale="nl-NL", viewport={"width": 1100, "height": 900})
        page.goto(root + "/login")
        page.fill("#email", "demo@peiling.local")
        page.fill("#password", password)
        page.click("button[type=submit]")
        page.goto(root + "/ontwerp/jongerenpeiling-demo")
        page.locator("#vraag-activiteiten").scroll_into_view_if_needed()
        page.screenshot(path=OUT / "designer.png")
        # A refused question: each reason beside its field, the summary linking to them.
        page.goto(root + "/ontwerp/jongerenpeiling-demo/vraag/activiteiten")
        page.get_by_label("Vraag", exact=True).fill("")
        page.get_by_label("Hoogstens zoveel keuzes").fill("0")
        page.get_by_role("button", name="Vraag bewaren").click()
        page.screenshot(path=OUT / "designer-errors.png")
        page.goto(root + "/analysis/jongerenpeiling-demo/")
        page.locator("#r-genoeg_te_doen").scroll_into_view_if_needed()
        page.screenshot(path=OUT / "results.png")
        page.set_viewport_size({"width": 800, "height": 1130})
        page.goto(root + "/analysis/jongerenpeiling-demo/feitenblad/GM0114")
        page.screenshot(path=OUT / "factsheet.png", full_page=True)
        browser.close()


if __name__ == "__main__":
    main()
