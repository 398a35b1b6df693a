"""Real gunicorn processes on loopback (the harness of `make loadtest`, at a small size).

Two instances sharing one database and Redis behave as one: the same form token posted to
both stores one response, the rate limit counts across both, a staff login made on one is
valid on the other. And a short crowd of respondents on the embedded default is stored
exactly once, none half-stored, without a 5xx.
"""

from __future__ import annotations

import os

import pytest

from bench import loadtest

PG_URL = os.environ.get("PEILING_TEST_DATABASE_URL")


@pytest.mark.skipif(not PG_URL, reason="two instances share PostgreSQL: the PostgreSQL run")
def test_two_gunicorn_instances_behave_as_one(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(loadtest, "PG_URL", PG_URL)
    outcome = loadtest.scenario_two_instances()
    assert outcome.failures() == []
    assert outcome.stored.responses == 1 and outcome.lost == 0
    notes = "\n".join(outcome.notes)
    assert "same token to both instances: 303 and 303" in notes
    assert "10 answered, 2 refused with 429" in notes
    assert "other: 200" in notes


def test_a_short_crowd_on_sqlite_is_stored_exactly_once() -> None:
    with loadtest.site(None, redis=None) as site, loadtest.gunicorn(site, workers=2) as server:
        tally = loadtest.run_crowd(server.port, users=8, seconds=3)
        outcome = loadtest.Outcome("short crowd", tally, loadtest.stored(site.engine, None))
    assert outcome.failures() == []
    assert len(tally.acknowledged) >= 8 and outcome.stored.responses == len(tally.acknowledged)
