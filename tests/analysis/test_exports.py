"""Large workbooks in the background: progress, the file, and nobody else's job."""

from __future__ import annotations

import io
import re
import time

import pandas as pd

from peiling.analysis import workbook
from tests.analysis.test_dashboard import short_form, store
from tests.auth.fixtures import csrf_of


def wait_until_done(client, url: str, seconds: float = 30):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        html = client.get(url).get_data(as_text=True)
        if "Bezig:" not in html:
            return html
        assert "data-running" in html and "<progress" in html and "Stand bijwerken" in html
        time.sleep(0.1)
    raise AssertionError("the export did not finish in time")


def test_background_export_reports_progress_and_delivers(
    app, demo_survey, logged_in, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(workbook, "PROGRESS_EVERY", 3)
    seen = []
    original = workbook._data

    def watched(*args, **kwargs):  # type: ignore[no-untyped-def]
        progress = args[6] if len(args) > 6 else kwargs.get("progress")

        def tell(rows: int, total: int) -> None:
            seen.append((rows, total))
            progress(rows, total)

        args = (*args[:6], tell, *args[7:])
        return original(*args, **kwargs)

    monkeypatch.setattr(workbook, "_data", watched)
    store(app, demo_survey, [short_form("16", "GM0114")] * 7)
    client = logged_in("researcher")
    csrf = csrf_of(client.get(f"/analysis/{demo_survey.slug}/").get_data(as_text=True))
    started = client.post(f"/analysis/{demo_survey.slug}/export/achtergrond",
                          data={"csrf_token": csrf})  # fmt: skip
    assert started.status_code == 303
    job_url = started.headers["Location"]
    html = wait_until_done(client, job_url)
    assert "De werkmap is klaar." in html
    assert seen == [(3, 7), (6, 7), (7, 7)]  # told along the way, and at the end
    link = re.search(r'href="([^"]+/bestand)"', html).group(1)
    response = client.get(link)
    try:
        data = pd.read_excel(io.BytesIO(response.data), sheet_name="Data")
    finally:
        response.close()
    assert len(data) == 7
    # Nobody else sees or fetches it.
    other = logged_in("analyst")
    assert other.get(job_url).status_code == 404
    assert other.get(link).status_code == 404
    assert client.get(job_url.replace(job_url.rsplit("/", 1)[1], "0" * 32)).status_code == 404


def test_a_failing_export_says_so_without_details(app, demo_survey, logged_in, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("secret detail")

    monkeypatch.setattr(workbook, "write", broken)
    client = logged_in("researcher")
    csrf = csrf_of(client.get(f"/analysis/{demo_survey.slug}/").get_data(as_text=True))
    started = client.post(f"/analysis/{demo_survey.slug}/export/achtergrond",
                          data={"csrf_token": csrf})  # fmt: skip
    html = wait_until_done(client, started.headers["Location"])
    assert "mislukt" in html and "secret detail" not in html
