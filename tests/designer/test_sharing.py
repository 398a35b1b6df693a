"""Sharing a poll: tagged links, QR codes that decode to the link, link previews."""

from __future__ import annotations

import io
import re

import pytest
import zxingcpp
from PIL import Image

from peiling.designer.sharing import public_url, qr_png, qr_svg


def decode_png(png: bytes) -> str:
    (result,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)).convert("L"))
    return str(result.text)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (None, "https://peiling.drenthe.nl/p/zomer"),
        ("school-12", "https://peiling.drenthe.nl/p/zomer?bron=school-12"),
        ("Instagram", "https://peiling.drenthe.nl/p/zomer?bron=instagram"),
        ("<script>", "https://peiling.drenthe.nl/p/zomer"),  # not a tag: ignored
    ],
)
def test_public_links(source: str | None, expected: str) -> None:
    assert public_url("https://peiling.drenthe.nl/", "zomer", source) == expected


def test_qr_codes_decode_to_the_link() -> None:
    url = "https://peiling.drenthe.nl/p/jongerenpeiling-2027?bron=school-12"
    assert decode_png(qr_png(url)) == url
    svg = qr_svg(url).decode()
    assert svg.startswith("<svg") and f"<title>{url}</title>" in svg


def test_share_pages_for_researchers(app, logged_in, make_survey) -> None:  # type: ignore[no-untyped-def]
    make_survey(slug="zomer-delen", title="Zomer delen")
    client = logged_in("researcher")
    page = client.get("/ontwerp/zomer-delen/delen?bron=school-12").get_data(as_text=True)
    assert "http://localhost/p/zomer-delen?bron=school-12" in page
    png = client.get("/ontwerp/zomer-delen/qr.png?bron=school-12")
    assert png.mimetype == "image/png"
    assert decode_png(png.data) == "http://localhost/p/zomer-delen?bron=school-12"
    app.config["PUBLIC_BASE_URL"] = "https://peiling.drenthe.nl"
    try:
        png = client.get("/ontwerp/zomer-delen/qr.png")
        assert decode_png(png.data) == "https://peiling.drenthe.nl/p/zomer-delen"
        assert client.get("/ontwerp/zomer-delen/qr.svg").mimetype == "image/svg+xml"
    finally:
        app.config["PUBLIC_BASE_URL"] = None
    assert logged_in("analyst").get("/ontwerp/zomer-delen/qr.png").status_code == 403
    assert logged_in("anonymous").get("/ontwerp/zomer-delen/poster").status_code == 302


def test_public_form_has_a_link_preview(client, make_survey) -> None:  # type: ignore[no-untyped-def]
    make_survey(slug="met-preview", title="Zomer <b>2027</b>", introduction="Vertel het ons!")
    html = client.get("/p/met-preview").get_data(as_text=True)
    assert '<meta property="og:title" content="Zomer &lt;b&gt;2027&lt;/b&gt;">' in html
    assert '<meta property="og:description" content="Vertel het ons!">' in html
    assert re.search(r'<meta property="og:url" content="http://localhost/p/met-preview">', html)
