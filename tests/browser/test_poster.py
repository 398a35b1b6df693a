"""The A4 poster prints on exactly one page in Chromium, with a QR code that scans."""

from __future__ import annotations

import io
import re

import pytest
import zxingcpp
from PIL import Image

pytestmark = pytest.mark.browser


def test_poster_fits_one_a4_page(accounts, live_server, staff_page, make_survey) -> None:  # type: ignore[no-untyped-def]
    make_survey(
        slug="poster-zomer",
        title="Jongerenpeiling Drenthe: wat wil jij deze zomer doen?",
        introduction="Vertel de provincie wat er deze zomer in jouw gemeente moet gebeuren. " * 4,
    )
    page = staff_page(accounts["researcher"])
    page.goto(f"{live_server}/ontwerp/poster-zomer/poster?bron=school-12")
    pdf = page.pdf(format="A4", print_background=True)
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
    assert pages == 1
    shot = page.locator("img.qr").screenshot()
    (code,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(shot)).convert("L"))
    assert code.text == f"{live_server}/p/poster-zomer?bron=school-12"


def test_fact_sheet_fits_one_a4_page(accounts, live_server, staff_page, runner) -> None:  # type: ignore[no-untyped-def]
    from tests.browser.test_form_browser import assert_accessible

    assert runner.invoke(args=["demo", "--responses", "300", "--seed", "5"]).exit_code == 0
    page = staff_page(accounts["researcher"])
    page.goto(f"{live_server}/analysis/jongerenpeiling-demo/feitenblad/GM0114")
    assert page.locator("h1").inner_text() == "Emmen"
    assert page.locator("svg.pairs").count() >= 5
    assert_accessible(page)
    pdf = page.pdf(format="A4", print_background=True)
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1
