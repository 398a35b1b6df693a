"""The public form is rate limited per client, counted across instances through Redis,
without any address being stored, and it keeps working when Redis is gone."""

from __future__ import annotations

import logging
import re
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask_migrate import upgrade
from redis import Redis

from peiling import create_app
from peiling.database import dispose_engines
from peiling.extensions import db
from peiling.ratelimit import submit_limiter
from peiling.surveys import formguard
from tests.conftest import Respondent, count_rows, database_config, demo_definition
from tests.surveys.test_form import ALL, PAGE_1, PAGE_2

REDIS = "redis://127.0.0.1:6379/0"
REDIS_SERVER = shutil.which("redis-server")
CLIENT = "203.0.113.77"


def build_apps(tmp: Path, count: int, **extra: object) -> tuple[list[Flask], object]:
    """`count` app instances (as separate gunicorn processes would be) on one database."""
    config, drop = database_config(tmp, "limits")
    settings = {
        "TESTING": True,
        "SECRET_KEY": "shared-" + secrets.token_hex(8),  # the instances share their config
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        **config,
        **extra,
    }
    apps = [create_app(dict(settings)) for _ in range(count)]
    for app in apps:
        app.instance_path = str(tmp / "instance")
    with apps[0].app_context():
        upgrade()
    with apps[0].app_context():
        from peiling.surveys.cli import import_definition

        import_definition(demo_definition())
    return apps, drop


@pytest.fixture
def prefix() -> Iterator[str]:
    prefix = "peiling-test-" + secrets.token_hex(4)
    yield prefix
    redis = Redis.from_url(REDIS)
    for key in redis.scan_iter(f"*{prefix}*"):
        redis.delete(key)


@pytest.fixture
def apps(tmp_path: Path, prefix: str) -> Iterator[list[Flask]]:
    built, drop = build_apps(
        tmp_path, 2, REDIS_URL=REDIS, SUBMIT_LIMITS="5 per minute", SUBMIT_LIMIT_PREFIX=prefix
    )
    yield built
    for app in built:
        dispose_engines(app)
    drop()  # type: ignore[operator]


def visitor(app: Flask, address: str = CLIENT) -> Respondent:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return Respondent(client, "jongerenpeiling-demo")


def test_posts_over_the_limit_keep_the_answers_and_store_nothing(apps) -> None:  # type: ignore[no-untyped-def]
    app = apps[0]
    r = visitor(app)
    r.open()
    for _ in range(5):
        assert r.post(0, PAGE_1).status_code == 200
    page = r.post(1, {**PAGE_1, **PAGE_2})
    html = page.get_data(as_text=True)
    assert page.status_code == 429
    assert "Even rustig aan" in html and "Je antwoorden staan er nog" in html
    assert 1 <= int(page.headers["Retry-After"]) <= 61
    assert "Wacht 1 minuut en probeer het dan opnieuw" in html
    # The answers of the page she sent are still filled in.
    assert 'value="onvoldoende" checked' in html.replace("\n", " ") or re.search(
        r'value="onvoldoende"[^>]*checked', html
    )
    assert count_rows(app, "response") == 0
    # A flood without a form of ours gets the short friendly 429 page, no questionnaire.
    bare = r.client.post(r.url, data={"token": "nee"})
    assert bare.status_code == 429 and "Even rustig aan" in bare.get_data(as_text=True)
    assert 'name="q_' not in bare.get_data(as_text=True)
    # Another client (another address) is not held up by this one.
    other = visitor(app, "198.51.100.9")
    other.open()
    assert other.post(0, PAGE_1).status_code == 200


def test_the_limit_counts_across_instances_and_one_token_stores_once(apps) -> None:  # type: ignore[no-untyped-def]
    first, second = apps
    a, b = visitor(first), visitor(second)
    a.open()
    # The same browser, its form posted to both instances.
    b.token, b.csrf = a.token, a.csrf
    cookie = a.client.get_cookie(formguard.COOKIE, path="/p/")
    assert cookie is not None
    b.client.set_cookie(formguard.COOKIE, cookie.value, path="/p/")
    assert a.post(0, PAGE_1).status_code == 200
    assert a.post(1, {**PAGE_1, **PAGE_2}).status_code == 200
    assert a.post(2, ALL).status_code == 303
    assert b.post(2, ALL).status_code == 303  # the retry lands on the other instance
    assert count_rows(first, "response") == 1
    # Four posts so far, from one client, through two instances: one more is allowed.
    assert b.post(0, PAGE_1).status_code == 200
    assert a.post(0, PAGE_1).status_code == 429
    assert b.post(0, PAGE_1).status_code == 429


def test_no_address_is_kept_in_redis(apps, prefix: str) -> None:  # type: ignore[no-untyped-def]
    r = visitor(apps[0])
    r.open()
    assert r.post(0, PAGE_1).status_code == 200
    redis = Redis.from_url(REDIS)
    keys = [key.decode() for key in redis.scan_iter(f"*{prefix}*")]
    assert keys, "the post was counted in Redis"
    for key in keys:
        assert CLIENT not in key and CLIENT.replace(".", "") not in key
        assert CLIENT.encode() not in (redis.get(key) or b"")
    # The key is the keyed hash the limiter computes, not the address.
    with apps[0].app_context():
        assert any(submit_limiter().client(CLIENT) in key for key in keys)


class Recorder(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.skipif(REDIS_SERVER is None, reason="needs redis-server")
def test_respondents_keep_answering_when_redis_dies(tmp_path: Path) -> None:
    """A Redis of the test's own, stopped in the middle: the form goes on working, and the
    limit still counts (in the process) meanwhile."""
    port = free_port()
    server = subprocess.Popen(  # noqa: S603
        [
            str(REDIS_SERVER),
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],  # fmt: skip
        stdout=subprocess.DEVNULL,
    )
    try:
        redis = Redis(host="127.0.0.1", port=port)
        for _ in range(50):
            try:
                redis.ping()
                break
            except Exception:  # noqa: BLE001 - not up yet
                time.sleep(0.05)
        (app,), drop = build_apps(
            tmp_path, 1, REDIS_URL=f"redis://127.0.0.1:{port}/0", SUBMIT_LIMITS="8 per minute"
        )
        try:
            done = visitor(app)
            done.open()
            assert done.post(0, PAGE_1).status_code == 200  # counted in Redis
            assert redis.dbsize() > 0
            server.terminate()
            server.wait(5)
            # A handler of its own: Alembic's logging setup replaces the root's handlers.
            seen = Recorder()
            logging.getLogger("peiling.ratelimit").addHandler(seen)
            try:
                assert done.post(1, {**PAGE_1, **PAGE_2}).status_code == 200
                assert done.post(2, ALL).status_code == 303
            finally:
                logging.getLogger("peiling.ratelimit").removeHandler(seen)
            assert count_rows(app, "response") == 1
            assert sum("Redis unavailable" in r.getMessage() for r in seen.records) == 1
            # Still limited, now in this process: 8 a minute, of which the 2 posts made since
            # Redis died are counted here (the first went to Redis).
            other = visitor(app)
            other.open()
            statuses = [other.post(0, PAGE_1).status_code for _ in range(7)]
            assert statuses == [200] * 6 + [429]
        finally:
            dispose_engines(app)
            drop()  # type: ignore[operator]
    finally:
        server.kill()
        server.wait(5)


def test_without_redis_it_counts_in_the_process(tmp_path: Path) -> None:
    (app,), drop = build_apps(tmp_path, 1, SUBMIT_LIMITS="2 per minute")
    try:
        r = visitor(app)
        r.open()
        assert [r.post(0, PAGE_1).status_code for _ in range(3)] == [200, 200, 429]
        (tmp_path / "uur").mkdir()
        hourly = build_apps(tmp_path / "uur", 1, SUBMIT_LIMITS="100 per minute;1 per hour")
        (by_hour,), drop_hourly = hourly
        try:
            h = visitor(by_hour)
            h.open()
            assert h.post(0, PAGE_1).status_code == 200
            page = h.post(0, PAGE_1)
            html = page.get_data(as_text=True)
            assert page.status_code == 429 and int(page.headers["Retry-After"]) > 3000
            assert "Wacht 60 minuten en probeer het dan opnieuw" in html  # the real wait
        finally:
            dispose_engines(by_hour)
            drop_hourly()  # type: ignore[operator]
    finally:
        dispose_engines(app)
        drop()  # type: ignore[operator]


def test_redis_answers_the_wait_of_the_window_over_its_allowance(
    tmp_path: Path, prefix: str
) -> None:
    """With a roomy minute and a tight hour, the hour decides: the wait is the hour's, and
    every window goes on counting (Redis' script answers the wait in one number)."""
    (app,), drop = build_apps(
        tmp_path,
        1,
        REDIS_URL=REDIS,
        SUBMIT_LIMITS="100 per minute;1 per hour",
        SUBMIT_LIMIT_PREFIX=prefix,
    )
    try:
        with app.app_context():
            client = submit_limiter().client(CLIENT)
        r = visitor(app)
        r.open()
        assert r.post(0, PAGE_1).status_code == 200
        page = r.post(0, PAGE_1)
        assert page.status_code == 429
        assert 3000 < int(page.headers["Retry-After"]) <= 3600
        assert "Wacht 60 minuten en probeer het dan opnieuw" in page.get_data(as_text=True)
        redis = Redis.from_url(REDIS)
        assert int(redis.get(f"{prefix}:submit:{client}:60") or 0) == 2
        assert int(redis.get(f"{prefix}:submit:{client}:3600") or 0) == 2
    finally:
        dispose_engines(app)
        drop()  # type: ignore[operator]


def test_the_default_limit_lets_a_class_through(app, demo_survey) -> None:  # type: ignore[no-untyped-def]
    """Thirty pupils behind one school address finish a three-page poll within a minute."""
    for _ in range(30):
        r = visitor(app, "192.0.2.10")
        r.open()
        assert r.post(0, PAGE_1).status_code == 200
        assert r.post(1, {**PAGE_1, **PAGE_2}).status_code == 200
        assert r.post(2, ALL).status_code == 303
    assert count_rows(app, "response") == 30
    with app.app_context():
        db.session.remove()


def test_ipv6_hosts_are_counted_by_their_network(tmp_path: Path) -> None:
    """A host that takes a new address from its /64 for every post is still one client."""
    (app,), drop = build_apps(tmp_path, 1, SUBMIT_LIMITS="2 per minute")
    try:
        statuses = []
        for n in range(3):
            r = visitor(app, f"2001:db8:1:2::{n + 1}")
            r.open()
            statuses.append(r.post(0, PAGE_1).status_code)
        assert statuses == [200, 200, 429]
        other = visitor(app, "2001:db8:1:3::1")  # the next /64: someone else
        other.open()
        assert other.post(0, PAGE_1).status_code == 200
    finally:
        dispose_engines(app)
        drop()  # type: ignore[operator]


def test_a_window_never_loses_its_expiry(apps, prefix: str) -> None:  # type: ignore[no-untyped-def]
    """Even a key found without an expiry (say, it expired between two commands of an older
    version) gets one, so a client can never stay counted for good."""
    with apps[0].app_context():
        limiter = submit_limiter()
        key = f"{prefix}:submit:{limiter.client(CLIENT)}:60"
    redis = Redis.from_url(REDIS)
    redis.set(key, 3)  # no expiry
    r = visitor(apps[0])
    r.open()
    assert r.post(0, PAGE_1).status_code == 200  # the 4th of 5 a minute
    assert int(redis.get(key) or 0) == 4
    assert 0 < redis.ttl(key) <= 60


def test_counting_goes_on_in_redis_after_redis_forgot_its_scripts(
    apps, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:  # type: ignore[no-untyped-def]
    """A restarted Redis has no scripts loaded: the count is sent once in full and goes on
    in Redis, not in the process (the limiter keeps one connection per thread)."""
    with apps[0].app_context():
        key = f"{prefix}:submit:{submit_limiter().client(CLIENT)}:60"
    redis = Redis.from_url(REDIS)
    r = visitor(apps[0])
    r.open()
    assert r.post(0, PAGE_1).status_code == 200
    assert int(redis.get(key) or 0) == 1
    redis.script_flush()
    with caplog.at_level(logging.WARNING, logger="peiling.ratelimit"):
        assert r.post(0, PAGE_1).status_code == 200
        assert r.post(0, PAGE_1).status_code == 200
    assert int(redis.get(key) or 0) == 3
    assert not [rec for rec in caplog.records if "Redis unavailable" in rec.getMessage()]


def test_a_post_that_stops_before_reading_its_count_leaves_the_next_count_right(
    apps, prefix: str
) -> None:  # type: ignore[no-untyped-def]
    """The count is sent to Redis first and its answer read later: a post refused before
    that (a token that is not ours, 400) still counts, and the next post on the same
    connection reads its own answer, not the one left over (or the sixth post would read
    the fifth's "go ahead")."""
    with apps[0].app_context():
        key = f"{prefix}:submit:{submit_limiter().client(CLIENT)}:60"
    r = visitor(apps[0])
    r.open()
    bad = {**PAGE_1, "token": "kort"}
    assert [r.post(0, bad).status_code for _ in range(4)] == [400] * 4
    assert r.post(0, PAGE_1).status_code == 200  # the fifth of 5 a minute
    assert int(Redis.from_url(REDIS).get(key) or 0) == 5
    assert r.post(0, PAGE_1).status_code == 429
    assert r.post(0, bad).status_code == 400
    assert r.post(0, PAGE_1).status_code == 429
    assert int(Redis.from_url(REDIS).get(key) or 0) == 8


def test_a_redis_that_takes_the_count_and_answers_too_late_is_counted_around(
    prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The count is sent, then Redis stalls (CLIENT PAUSE holds every write for a second):
    reading the answer gives up after the limiter's timeout, the request is counted in the
    process instead, and the next one on that connection gets its own answer again."""
    from peiling.ratelimit import REDIS_TIMEOUT_SECONDS, ClientLimiter

    limiter = ClientLimiter("2 per minute", "geheim", REDIS, prefix)
    redis = Redis.from_url(REDIS)
    assert limiter.hit(CLIENT) is None  # connected, script loaded, counted in Redis
    redis.execute_command("CLIENT", "PAUSE", 1000, "WRITE")
    try:
        with caplog.at_level(logging.WARNING, logger="peiling.ratelimit"):
            counted = limiter.send(CLIENT)
            started = time.monotonic()
            late = counted.wait()
            waited = time.monotonic() - started
            assert counted.wait() is late  # answered once, then kept
    finally:
        redis.execute_command("CLIENT", "UNPAUSE")
    assert late is None  # the first count here: within 2 a minute
    assert REDIS_TIMEOUT_SECONDS <= waited < REDIS_TIMEOUT_SECONDS + 0.5
    assert sum("Redis unavailable" in rec.getMessage() for rec in caplog.records) == 1
    # Redis is left alone for a while now; counting goes on here: the second and third.
    assert [limiter.hit(CLIENT), limiter.hit(CLIENT) is not None] == [None, True]
    # Back to Redis (as after the pause): the answer read is this request's own. (Whether
    # the stalled count reached Redis is up to Redis: its client was dropped meanwhile.)
    limiter.reset()
    wait = limiter.hit(CLIENT)
    in_redis = int(redis.get(f"{prefix}:submit:{limiter.client(CLIENT)}:60") or 0)
    assert in_redis in (2, 3)
    assert (wait is not None) == (in_redis > 2)


def test_a_redis_that_takes_connections_but_never_answers_is_counted_around(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A Redis that accepts the connection and then hangs (a real socket nobody reads):
    counting gives up after the limiter's timeout, counts in the process, says so once."""
    from peiling.ratelimit import REDIS_TIMEOUT_SECONDS, ClientLimiter

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        limiter = ClientLimiter("2 per minute", "geheim", f"redis://127.0.0.1:{port}/0", "t")
        with caplog.at_level(logging.WARNING, logger="peiling.ratelimit"):
            started = time.monotonic()
            first = limiter.send(CLIENT).wait()
            waited = time.monotonic() - started
            # Redis counts as down now: the next posts are counted here without a try.
            assert [limiter.hit(CLIENT), limiter.hit(CLIENT) is not None] == [None, True]
    assert first is None
    assert REDIS_TIMEOUT_SECONDS <= waited < REDIS_TIMEOUT_SECONDS + 1
    assert sum("Redis unavailable" in rec.getMessage() for rec in caplog.records) == 1
