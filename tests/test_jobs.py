"""Slow work on Redis: exports and panel mail queued on RQ, done by a real `flask worker`
process, progress on the pages; and the thread when Redis is away.

Each test gets queue names of its own (JOBS_PREFIX) on the shared Redis and deletes every
key it made afterwards, so parallel runs and other users of the Redis are not disturbed.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import secrets
import subprocess
import sys
import time
import zlib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa
from flask import Flask
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue
from rq.job import Job

from peiling import jobs
from peiling.analysis import exports, workbook
from peiling.extensions import db
from peiling.panel import waves
from peiling.panel.models import Member, MemberStatus, Panel
from peiling.surveys.models import Survey
from tests.analysis.test_dashboard import row_of, short_form, store
from tests.auth.fixtures import csrf_of

REDIS_URL = os.environ.get("PEILING_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
QUEUED = "wacht op een vrije verwerker"
PEOPLE = ["anna@example.nl", "bram@example.nl", "cees@example.nl"]
LEAKED = "daan.lek@example.nl"


@pytest.fixture
def redis_jobs(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[Redis]:
    """The app queues on the real Redis, under a prefix of this test's own."""
    redis = Redis.from_url(REDIS_URL)
    try:
        redis.ping()
    except RedisError as exc:
        pytest.skip(f"no Redis at {REDIS_URL}: {exc}")
    prefix = f"peiling-test-{secrets.token_hex(6)}"
    monkeypatch.setitem(app.config, "REDIS_URL", REDIS_URL)
    monkeypatch.setitem(app.config, "JOBS_PREFIX", prefix)
    yield redis
    mine = list(redis.scan_iter(match=f"*{prefix}*", count=1000))
    if mine:
        redis.delete(*mine)
    for shared in ("rq:queues", "rq:workers"):  # RQ's registries of every queue and worker
        members = [m for m in redis.smembers(shared) if prefix.encode() in m]
        if members:
            redis.srem(shared, *members)
    assert not list(redis.scan_iter(match=f"*{prefix}*"))
    redis.close()


def run_worker(app: Flask, *options: str, **more: str) -> subprocess.CompletedProcess[str]:
    """`flask --app peiling worker --burst` in a process of its own, configured as a
    deployment would be: the same database, instance folder, Redis and mail server,
    all through PEILING_* variables (and `more` of them)."""
    config = app.config
    env = {k: v for k, v in os.environ.items() if not k.startswith("PEILING_")}
    env.update(
        **{f"PEILING_{name}": value for name, value in more.items()},
        PEILING_INSTANCE_PATH=app.instance_path,
        PEILING_DATABASE_URL=config["SQLALCHEMY_DATABASE_URI"],
        # JSON, as every PEILING_ value: carries PostgreSQL's search_path to the test schema.
        PEILING_SQLALCHEMY_ENGINE_OPTIONS=json.dumps(config["SQLALCHEMY_ENGINE_OPTIONS"]),
        PEILING_SECRET_KEY=config["SECRET_KEY"],
        PEILING_REDIS_URL=config["REDIS_URL"],
        PEILING_JOBS_PREFIX=config["JOBS_PREFIX"],
    )
    for name in ("MAIL_SERVER", "MAIL_PORT", "MAIL_SENDER"):
        if config.get(name) is not None:
            env[f"PEILING_{name}"] = str(config[name])
    command = [sys.executable, "-m", "flask", "--app", "peiling", "worker", "--burst", *options]
    done = subprocess.run(  # noqa: S603 - our own command line
        command, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def start_export(client, slug: str) -> str:  # type: ignore[no-untyped-def]
    csrf = csrf_of(client.get(f"/analysis/{slug}/").get_data(as_text=True))
    started = client.post(f"/analysis/{slug}/export/achtergrond", data={"csrf_token": csrf})
    assert started.status_code == 303
    return started.headers["Location"]


def workbook_rows(client, job_html: str) -> list[tuple]:  # type: ignore[no-untyped-def]
    link = re.search(r'href="([^"]+/bestand)"', job_html).group(1)  # type: ignore[union-attr]
    response = client.get(link)
    try:
        book = openpyxl.load_workbook(io.BytesIO(response.data), read_only=True)
        return list(book["Data"].iter_rows(values_only=True))
    finally:
        response.close()


def test_an_export_waits_in_the_queue_then_a_worker_process_writes_it(
    app, demo_survey, logged_in, redis_jobs
) -> None:  # type: ignore[no-untyped-def]
    store(app, demo_survey, [short_form("16", "GM0114")] * 6 + [short_form("19", "GM0106")])
    client = logged_in("researcher")
    job_url = start_export(client, demo_survey.slug)
    job = job_url.rsplit("/", 1)[1]

    waiting = client.get(job_url).get_data(as_text=True)
    assert QUEUED in waiting and "data-running" in waiting and "progress.js" in waiting
    queue = Queue(jobs.queue_name(app, jobs.EXPORTS), connection=redis_jobs)
    assert queue.name == app.config["JOBS_PREFIX"] + "-exports" and queue.count == 1
    time.sleep(0.5)
    assert QUEUED in client.get(job_url).get_data(as_text=True)  # no thread took it

    run_worker(app)
    done = client.get(job_url).get_data(as_text=True)
    assert "De werkmap is klaar." in done and "data-running" not in done
    status = json.loads((Path(app.instance_path) / "exports" / job / "status.json").read_text())
    assert (status["state"], status["rows"], status["total"]) == ("done", 7, 7)
    rows = workbook_rows(client, done)
    assert len(rows) == 1 + 7  # the header and every response
    age, place = rows[0].index("Leeftijd"), rows[0].index("Gemeente")
    assert Counter(r[age] for r in rows[1:]) == {16: 6, 19: 1}
    assert sorted(Counter(r[place] for r in rows[1:]).values()) == [1, 6]
    assert queue.count == 0


def test_a_queued_export_shows_its_progress_and_its_failure(
    app, demo_survey, logged_in, redis_jobs, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """The queued job itself, taken from Redis and run here (RQ's job.perform()), so the
    page can be read while it runs."""
    monkeypatch.setattr(workbook, "PROGRESS_EVERY", 3)
    store(app, demo_survey, [short_form("16", "GM0114")] * 7)
    client = logged_in("researcher")
    job_url = start_export(client, demo_survey.slug)
    key = f"{app.config['JOBS_PREFIX']}-exports-"  # and the job's id
    pages: list[str] = []
    original = workbook._data

    def watched(*args, **kwargs):  # type: ignore[no-untyped-def]
        progress = args[6]

        def tell(rows: int, total: int) -> None:
            progress(rows, total)
            pages.append(client.get(job_url).get_data(as_text=True))

        return original(*args[:6], tell, *args[7:], **kwargs)

    monkeypatch.setattr(workbook, "_data", watched)
    with app.app_context():
        Job.fetch(key + job_url.rsplit("/", 1)[1], connection=redis_jobs).perform()
    assert [re.search(r"Bezig: (\d+) van (\d+)", p).groups() for p in pages] == [  # type: ignore[union-attr]
        ("3", "7"),
        ("6", "7"),
        ("7", "7"),
    ]
    assert '<progress max="100" value="43"' in pages[0]
    assert len(workbook_rows(client, client.get(job_url).get_data(as_text=True))) == 8

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("secret detail")

    monkeypatch.setattr(workbook, "write", broken)
    failing_url = start_export(client, demo_survey.slug)
    assert QUEUED in client.get(failing_url).get_data(as_text=True)
    with app.app_context():
        Job.fetch(key + failing_url.rsplit("/", 1)[1], connection=redis_jobs).perform()
    html = client.get(failing_url).get_data(as_text=True)
    assert "mislukt" in html and "secret detail" not in html and "data-running" not in html


def failing_job() -> None:
    """A job (run by the worker process, which imports this module) whose database error
    carries an e-mail address in its message, as a real one's statement values do."""
    db.session.execute(sa.text("SELECT * FROM nowhere WHERE email = :e"), {"e": LEAKED})


def stored(redis: Redis, key: bytes) -> list[bytes]:
    """Every value under `key` as bytes, zlib-compressed ones (RQ's job data) unpacked."""
    kind = redis.type(key).decode()
    values: list[bytes] = {
        "string": lambda: [redis.get(key)],
        "hash": lambda: [b for kv in redis.hgetall(key).items() for b in kv],
        "zset": lambda: redis.zrange(key, 0, -1),
        "set": lambda: list(redis.smembers(key)),
        "list": lambda: redis.lrange(key, 0, -1),
        "stream": lambda: [b for _, f in redis.xrange(key) for kv in f.items() for b in kv],
    }[kind]()
    unpacked = []
    for value in values:
        try:
            unpacked.append(zlib.decompress(value))
        except zlib.error:
            unpacked.append(value)
    return unpacked


def test_a_failed_job_leaves_only_its_exception_type_in_the_log_and_in_redis(
    app, redis_jobs
) -> None:  # type: ignore[no-untyped-def]
    assert jobs.enqueue(app, jobs.MAIL, failing_job, key="lek", ttl=None)
    done = run_worker(app, LOG_LEVEL="warning")
    output = (done.stdout + done.stderr).splitlines()
    for line in output:
        assert LEAKED not in line, line  # (the frames' source lines are in, not values)
        assert " INFO " not in line, line  # PEILING_LOG_LEVEL=warning, RQ's loggers too
    (failed,) = [line for line in output if " ERROR peiling.jobs " in line]
    assert " job tests.test_jobs.failing_job failed exception=" in failed
    # OperationalError from SQLite, ProgrammingError (undefined table) from PostgreSQL.
    assert re.search(r"exception=(OperationalError|ProgrammingError) traceback=", failed)
    assert any(" ERROR rq.worker " in line and "JobFailed" in line for line in output)

    job = Job.fetch(f"{app.config['JOBS_PREFIX']}-{jobs.MAIL}-lek", connection=redis_jobs)
    assert job.is_failed
    exc = job.latest_result().exc_string  # type: ignore[union-attr]
    assert re.search(r"peiling\.jobs\.JobFailed: (OperationalError|ProgrammingError)\n$", exc)
    assert LEAKED not in exc and "nowhere" not in exc and "failing_job" not in exc
    prefix = app.config["JOBS_PREFIX"].encode()
    keys = [k for k in redis_jobs.scan_iter(match=b"*" + prefix + b"*") if prefix in k]
    assert len(keys) >= 2  # the job and its failed registry, at least
    for key in keys:
        for value in stored(redis_jobs, key):
            assert LEAKED.encode() not in value, key


def add_members(app: Flask, panel: Panel, survey: Survey) -> int:
    with app.app_context():
        p = db.session.get(Panel, panel.id)
        for n, email in enumerate(PEOPLE):
            db.session.add(Member(panel_id=p.id, email=email, municipality_code="GM0014",
                                  birth_year=1990 + n, status=MemberStatus.ACTIVE))  # fmt: skip
        db.session.flush()
        wave = waves.create_wave(db.session, p, db.session.get(Survey, survey.id), "Golf 1",
                                 {"all": True}, 1)  # fmt: skip
        db.session.commit()
        return wave.id


def invitations_row(html: str) -> list[str]:
    """Queued, sent and failed of the wave page's invitations row."""
    return row_of(html, "Uitnodigingen")


def test_a_mail_batch_waits_in_the_queue_then_a_worker_process_sends_it_once(
    app, inbox, panel, make_survey, logged_in, redis_jobs
) -> None:  # type: ignore[no-untyped-def]
    survey = make_survey(slug="golf", kind="panel", region="groningen")
    wave_url = f"/panel/{panel.slug}/golven/{add_members(app, panel, survey)}"
    staff = logged_in("researcher")
    csrf = csrf_of(staff.get(wave_url).get_data(as_text=True))
    assert staff.post(wave_url + "/uitnodigen", data={"csrf_token": csrf}).status_code == 302

    page = staff.get(wave_url).get_data(as_text=True)
    assert invitations_row(page) == ["3", "0", "0"]
    assert "data-running" in page and "progress.js" in page and "Stand bijwerken" in page
    assert Queue(jobs.queue_name(app, jobs.MAIL), connection=redis_jobs).count == 1
    time.sleep(0.5)
    assert inbox.messages == []  # nothing goes out before a worker takes it

    run_worker(app)
    assert sorted(m["To"] for m in inbox.messages) == PEOPLE  # each exactly once
    assert {m["Subject"] for m in inbox.messages} == {"Uitnodiging: Testpeiling"}
    page = staff.get(wave_url).get_data(as_text=True)
    assert invitations_row(page) == ["0", "3", "0"] and "data-running" not in page
    run_worker(app)  # an empty queue: nothing twice
    assert len(inbox.messages) == 3


def test_without_a_reachable_redis_the_work_is_done_in_a_thread(
    app, inbox, panel, make_survey, demo_survey, logged_in, monkeypatch, caplog
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:1/0")  # nobody listens
    survey = make_survey(slug="golf", kind="panel", region="groningen")
    wave_url = f"/panel/{panel.slug}/golven/{add_members(app, panel, survey)}"
    store(app, demo_survey, [short_form("16", "GM0114")] * 3)
    staff = logged_in("researcher")
    with caplog.at_level(logging.WARNING, logger="peiling.jobs"):
        csrf = csrf_of(staff.get(wave_url).get_data(as_text=True))
        assert staff.post(wave_url + "/uitnodigen", data={"csrf_token": csrf}).status_code == 302
        job_url = start_export(staff, demo_survey.slug)
    assert [r.getMessage() for r in caplog.records if r.name == "peiling.jobs"] == [
        "Redis unreachable (ConnectionError): mail job runs in this process",
        "Redis unreachable (ConnectionError): exports job runs in this process",
    ]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        html = staff.get(job_url).get_data(as_text=True)
        if "De werkmap is klaar." in html and len(inbox.messages) == 3:
            break
        assert QUEUED not in html
        time.sleep(0.1)
    assert len(workbook_rows(staff, html)) == 4
    assert sorted(m["To"] for m in inbox.messages) == PEOPLE
    assert invitations_row(staff.get(wave_url).get_data(as_text=True)) == ["0", "3", "0"]


def test_a_queued_export_that_no_worker_took_within_the_hour_shows_as_failed(app) -> None:  # type: ignore[no-untyped-def]
    job = secrets.token_hex(16)
    folder = Path(app.instance_path) / "exports" / job
    folder.mkdir(parents=True)
    old = time.time() - exports.KEEP_SECONDS - 5
    status = {"owner": 1, "survey": "s", "name": "s.xlsx", "state": "queued", "updated": old}
    (folder / "status.json").write_text(json.dumps(status))
    assert exports.status(app, job, 1).state == "failed"  # type: ignore[union-attr]
    status["updated"] = time.time() - exports.STALE_SECONDS - 5  # waiting, not stuck
    (folder / "status.json").write_text(json.dumps(status))
    assert exports.status(app, job, 1).state == "queued"  # type: ignore[union-attr]


def test_the_worker_command_needs_redis(runner) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(args=["worker", "--burst"])
    assert result.exit_code == 2 and "PEILING_REDIS_URL" in result.output
