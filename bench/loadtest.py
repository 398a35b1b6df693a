"""Load and fault tests on loopback: `make loadtest` (about six minutes, bounded).

Simulated respondents walk the demo poll the way a phone does: open the form, post page one,
page two and the final page (each post carrying the earlier answers, as the form's hidden
fields do), and follow up on what they get back exactly as a person would:

- 303 to the thank-you page: acknowledged. Only these count as acknowledged.
- 503 with the page that keeps her answers: she waits a moment and presses the button again
  (the same form token, so a retry can never store twice).
- A dropped connection or a timeout: she does not know whether it arrived, and sends again.

Each scenario starts its own servers (gunicorn with the repository's gunicorn.conf.py, bound to
127.0.0.1), runs for a fixed time, lets the journeys under way finish (bounded too), and
then checks the database: every acknowledged submission stored (lost must be 0; a second copy
cannot exist, the form token has a unique index, so "exactly once" is "at least once"),
no response half-stored (every response has all its answers, and a volunteer's response its
contact row), and no 5xx other than the friendly retry page where the scenario breaks
something on purpose (none at all where it does not).

Scenarios (LOADTEST_SCENARIOS, comma-separated, default all):
  postgresql     200 respondents for 60 s, gunicorn + PostgreSQL + Redis
  sqlite         50 respondents for 30 s on the embedded default (WAL, busy timeout)
  database-stop  a PostgreSQL cluster of the test's own is stopped for 6 s mid-load, then started
  worker-kill    a gunicorn worker is killed with SIGKILL every 4 s during load
  redis-down     the Redis the app counts in is killed mid-load
  two-instances  two gunicorn instances on one PostgreSQL and Redis: one token posted to
                 both stores once, the rate limit counts across both, a staff login
                 made on one is valid on the other
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from bench.database import ROOT, forget_counts, run_flask
from bench.load import HOST, free_port, http_request, stop_server, wait_ready
from bench.respondent import FORM_PATH, SLUG, csrf_token, form_cookie

PG_URL = os.environ.get("BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
PG_BIN = Path(os.environ.get("LOADTEST_PG_BIN", "/usr/lib/postgresql/15/bin"))
TOKEN_RE = re.compile(r'name="token" value="([^"]+)"')
# Journeys under way when a scenario's time is up may take this long to finish.
GRACE_SECONDS = 40.0
REQUEST_TIMEOUT = 30.0

PAGE_1 = [("q_leeftijd", "17"), ("q_gemeente", "GM0114")]
PAGE_2 = [
    ("q_genoeg_te_doen", "onvoldoende"),
    ("q_organiseren", "ja"),
    ("q_activiteiten", "sport"),
    ("q_activiteiten", "muziek"),
    ("q_cijfer", "7"),
]
REMARK = "Meer te doen in het weekend, een skatebaan graag!"
PAGE_3_PLAIN = [("q_opmerking", REMARK), ("q_helpen", "nee")]
PAGE_3_VOLUNTEER = [
    ("q_opmerking", REMARK),
    ("q_helpen", "ja"),
    ("q_helpen__naam", "Sam de Vries"),
    ("q_helpen__email", "sam@example.org"),
    ("q_helpen__act", "sport"),
]


def out(text: str = "") -> None:
    print(text, flush=True)


# --------------------------------------------------------------------------- HTTP client


@dataclass
class Reply:
    status: int
    headers: dict[str, list[str]]
    body: bytes

    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


class Connection:
    """One keep-alive HTTP/1.1 connection, as a phone's browser keeps one."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: str = "", cookie: str = "") -> Reply:
        return await asyncio.wait_for(self._request(method, path, body, cookie), REQUEST_TIMEOUT)

    async def _request(self, method: str, path: str, body: str, cookie: str) -> Reply:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(HOST, self.port)
        assert self.reader is not None
        payload = body.encode()
        head = [f"{method} {path} HTTP/1.1", f"Host: {HOST}:{self.port}"]
        if cookie:
            head.append(f"Cookie: {cookie}")
        if method == "POST":
            head += [
                "Content-Type: application/x-www-form-urlencoded",
                f"Content-Length: {len(payload)}",
            ]
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + payload)
        await self.writer.drain()
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionResetError("closed before an answer")
        status = int(status_line.split()[1])
        headers: dict[str, list[str]] = {}
        while True:
            line = (await self.reader.readline()).decode("latin-1").rstrip("\r\n")
            if not line:
                break
            name, _, value = line.partition(":")
            headers.setdefault(name.strip().lower(), []).append(value.strip())
        if "chunked" in ",".join(headers.get("transfer-encoding", [])).lower():
            content = await self._chunks()
        else:
            content = await self.reader.readexactly(int(headers.get("content-length", ["0"])[0]))
        if "close" in ",".join(headers.get("connection", [])).lower():
            self.close()
        return Reply(status, headers, content)

    async def _chunks(self) -> bytes:
        assert self.reader is not None
        parts = []
        while True:
            size = int((await self.reader.readline()).split(b";")[0], 16)
            if size == 0:
                await self.reader.readline()
                return b"".join(parts)
            parts.append(await self.reader.readexactly(size))
            await self.reader.readline()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


# --------------------------------------------------------------------------- respondents


@dataclass
class Tally:
    journeys: int = 0  # started
    acknowledged: set[str] = field(default_factory=set)
    unfinished: set[str] = field(default_factory=set)  # tokens posted, never acknowledged
    statuses: Counter[int] = field(default_factory=Counter)
    retry_pages: int = 0  # 503 pages that kept the answers (the friendly retry page)
    form_unavailable: int = 0  # 503 "even niet bereikbaar" instead of the first page
    answers_lost_on_retry: int = 0  # 503 pages that did NOT carry the answers back
    other_5xx: int = 0
    connection_errors: int = 0
    timeouts: int = 0  # of which no answer within REQUEST_TIMEOUT
    requests: int = 0
    started: float = 0.0
    load_seconds: float = 0.0


def _kept_answers(reply: Reply, fields: list[tuple[str, str]]) -> bool:
    """Whether a 503 page carries every answer she sent (as hidden fields or filled in)."""
    html = reply.text()
    return all(f'value="{v}"' in html or f">{v}</textarea>" in html for _, v in fields)


async def journey(port: int, tally: Tally, volunteer: bool, hard_stop: float) -> None:
    conn = Connection(port)
    try:
        page = await _get_form(conn, tally, hard_stop)
        if page is None:
            return
        cookie, csrf, token = page
        tally.journeys += 1
        last = PAGE_3_VOLUNTEER if volunteer else PAGE_3_PLAIN
        steps = [(0, PAGE_1), (1, PAGE_1 + PAGE_2), (2, PAGE_1 + PAGE_2 + last)]
        for number, answers in steps:
            fields = [
                ("csrf_token", csrf),
                ("token", token),
                ("pagina", str(number)),
                ("taal", "nl"),
                ("actie", "verder"),
                *answers,
            ]
            if number == 2:
                tally.unfinished.add(token)
            reply = await _post_until_answered(conn, tally, fields, cookie, hard_stop)
            if reply is None:
                return
            expected = 303 if number == 2 else 200
            if reply.status != expected:
                tally.statuses[-reply.status] += 1  # unexpected: reported, and the run fails
                return
        tally.unfinished.discard(token)
        tally.acknowledged.add(token)
    finally:
        conn.close()


async def _send(
    conn: Connection, tally: Tally, method: str, body: str = "", cookie: str = ""
) -> Reply | None:
    """One request of the form; None (counted, after a pause) when the connection failed."""
    try:
        reply = await conn.request(method, FORM_PATH, body, cookie)
    except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError) as exc:
        tally.timeouts += isinstance(exc, TimeoutError)
        tally.connection_errors += 1
        conn.close()
        await asyncio.sleep(0.5)
        return None
    tally.requests += 1
    tally.statuses[reply.status] += 1
    return reply


async def _get_form(
    conn: Connection, tally: Tally, hard_stop: float
) -> tuple[str, str, str] | None:
    while time.monotonic() < hard_stop:
        reply = await _send(conn, tally, "GET")
        if reply is None:
            continue
        if reply.status == 200:
            html = reply.text()
            found = TOKEN_RE.search(html)
            assert found is not None, "no form token on the form page"
            return form_cookie(reply.headers.get("set-cookie", [])), csrf_token(html), found[1]
        if reply.status == 503:
            tally.form_unavailable += 1
        elif reply.status >= 500:
            tally.other_5xx += 1
        await asyncio.sleep(1.0)  # the friendly "even niet bereikbaar" page: come back soon
    return None


async def _post_until_answered(
    conn: Connection, tally: Tally, fields: list[tuple[str, str]], cookie: str, hard_stop: float
) -> Reply | None:
    body = urlencode(fields)
    answers = [(k, v) for k, v in fields if k.startswith("q_")]
    while time.monotonic() < hard_stop:
        reply = await _send(conn, tally, "POST", body, cookie)
        if reply is None:
            continue  # did it arrive? She cannot know: she presses the button again
        if reply.status == 503:
            if _kept_answers(reply, answers):
                tally.retry_pages += 1
            else:
                tally.answers_lost_on_retry += 1
            await asyncio.sleep(1.0 + random.random())  # noqa: S311 - "in a moment"
            continue
        if reply.status >= 500:
            tally.other_5xx += 1
            await asyncio.sleep(0.5)
            continue
        return reply
    return None


async def crowd(port: int, users: int, seconds: float, tally: Tally) -> None:
    """`users` respondents, each starting a new journey as soon as one ends, for `seconds`."""
    rng = random.Random(7)  # noqa: S311 - a reproducible mix of respondents
    deadline = time.monotonic() + seconds
    hard_stop = deadline + GRACE_SECONDS

    async def respondent() -> None:
        while time.monotonic() < deadline:
            await journey(port, tally, volunteer=rng.random() < 1 / 7, hard_stop=hard_stop)

    tally.started = time.monotonic()
    await asyncio.gather(*(respondent() for _ in range(users)))
    tally.load_seconds = time.monotonic() - tally.started


def run_crowd(
    port: int, users: int, seconds: float, during: Callable[[], None] | None = None
) -> Tally:
    """Run the crowd; `during` runs in a thread alongside (the fault to inject)."""
    tally = Tally()

    async def main() -> None:
        work = asyncio.create_task(crowd(port, users, seconds, tally))
        if during is not None:
            await asyncio.to_thread(during)
        await work

    # In a thread of its own: the caller's thread may already run an event loop (pytest
    # with Playwright's sync API does), and asyncio.run() refuses to nest.
    failure: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(main())
        except BaseException as exc:  # noqa: BLE001 - handed to the caller below
            failure.append(exc)

    thread = threading.Thread(target=run, name="loadtest-crowd")
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return tally


# --------------------------------------------------------------------------- checking


@dataclass
class Stored:
    responses: int
    tokens: set[str]
    half_stored: int  # responses without all their answers or without their volunteer row
    answer_counts: Counter[int]


def stored(engine: sa.Engine, schema: str | None) -> Stored:
    with engine.connect() as conn:
        if schema:
            conn.execute(sa.text(f'SET search_path TO "{schema}"'))
        tokens = [row[0] for row in conn.execute(sa.text("SELECT submission_token FROM response"))]
        rows = conn.execute(
            sa.text(
                "SELECT r.id, (SELECT count(*) FROM answer a WHERE a.response_id = r.id),"
                " EXISTS (SELECT 1 FROM volunteer v WHERE v.response_id = r.id),"
                " EXISTS (SELECT 1 FROM answer a WHERE a.response_id = r.id"
                "         AND a.value_text = 'ja' AND a.option_id IS NULL)"
                " FROM response r"
            )
        ).all()
    counts: Counter[int] = Counter(n for _, n, _, _ in rows)
    plain = len(PAGE_1) + len(PAGE_2) + 2  # opmerking, and helpen's own "nee" row
    helper = plain + 1  # helpen "ja" plus one activity
    half = sum(
        1
        for _, n, has_volunteer, said_yes in rows
        if n != (helper if said_yes else plain) or has_volunteer != said_yes
    )
    return Stored(len(tokens), set(tokens), half, counts)


@dataclass
class Outcome:
    name: str
    tally: Tally
    stored: Stored
    notes: list[str] = field(default_factory=list)
    faults_expected: bool = False  # retry pages are fine where something was broken on purpose

    @property
    def lost(self) -> int:
        return len(self.tally.acknowledged - self.stored.tokens)

    @property
    def unexpected(self) -> int:
        return sum(n for status, n in self.tally.statuses.items() if status < 0)

    def failures(self) -> list[str]:
        problems = []
        if not self.tally.acknowledged:
            problems.append("nothing was acknowledged")
        if self.lost:
            problems.append(f"{self.lost} acknowledged submissions not stored")
        if self.stored.half_stored:
            problems.append(f"{self.stored.half_stored} responses half-stored")
        if self.tally.other_5xx:
            problems.append(f"{self.tally.other_5xx} answers with a 5xx other than the retry page")
        if self.tally.answers_lost_on_retry:
            problems.append(f"{self.tally.answers_lost_on_retry} retry pages without the answers")
        if not self.faults_expected and (self.tally.retry_pages or self.tally.statuses[503]):
            problems.append(f"{self.tally.statuses[503]} answers with 503 under plain load")
        if self.unexpected:
            problems.append(f"{self.unexpected} unexpected statuses")
        stored_unacknowledged = self.stored.tokens - self.tally.acknowledged
        if stored_unacknowledged - self.tally.unfinished:
            problems.append("responses stored that no respondent sent")
        return problems

    def report(self) -> None:
        t = self.tally
        rate = len(t.acknowledged) / t.load_seconds if t.load_seconds else 0.0
        statuses = ", ".join(f"{s}: {n}" for s, n in sorted(t.statuses.items()))
        out(f"  journeys started          {t.journeys}")
        out(f"  acknowledged (303)        {len(t.acknowledged)}")
        out(f"  stored                    {self.stored.responses}")
        out(f"  lost (must be 0)          {self.lost}")
        out(f"  half-stored               {self.stored.half_stored}")
        out(f"  5xx (must be 0)           {t.other_5xx}")
        out(f"  retry pages, answers kept {t.retry_pages}")
        out(f"  first page unavailable    {t.form_unavailable}")
        out(f"  dropped connections       {t.connection_errors} ({t.timeouts} timed out)")
        out(f"  unfinished at the end     {len(t.unfinished)}")
        out(f"  requests                  {t.requests} ({statuses})")
        out(
            f"  throughput                {rate:.0f} acknowledged submissions/s, "
            f"{t.requests / t.load_seconds:.0f} requests/s over {t.load_seconds:.0f} s"
        )
        for note in self.notes:
            out(f"  {note}")
        problems = self.failures()
        out(
            "  result                    "
            + ("PASS" if not problems else "FAIL: " + "; ".join(problems))
        )


# --------------------------------------------------------------------------- servers


@dataclass
class Site:
    """An instance folder and environment for gunicorn and the flask CLI."""

    workdir: Path
    env: dict[str, str]
    engine: sa.Engine
    schema: str | None

    def flask(self, *args: str) -> str:
        return run_flask(self.env, *args)


CONFIG = """\
# Written by bench/loadtest.py for one scenario; deleted when it ends.
SECRET_KEY = {secret!r}
SUBMIT_LIMITS = {limits!r}
SUBMIT_LIMIT_PREFIX = {prefix!r}
{extra}
"""


@contextlib.contextmanager
def site(
    url: str | None,
    redis: str | None = REDIS_URL,
    limits: str = "100000000 per minute;1000000000 per hour",
    schema: bool = True,
) -> Iterator[Site]:
    """A fresh database (a schema of its own on PostgreSQL, a file for SQLite), migrated and
    loaded with the demo poll, and an instance folder pointing at it."""
    workdir = Path(tempfile.mkdtemp(prefix="peiling-loadtest-"))
    instance = workdir / "instance"
    instance.mkdir()
    name = f"peiling_load_{secrets.token_hex(4)}"
    extra = []
    env = {"PEILING_INSTANCE_PATH": str(instance)}
    admin: sa.Engine
    if url is None:
        database = instance / "peiling.sqlite"
        admin = sa.create_engine(f"sqlite:///{database}", poolclass=NullPool)
        schema_name = None
    else:
        env["PEILING_DATABASE_URL"] = url
        admin = sa.create_engine(url, poolclass=NullPool)
        schema_name = name if schema else None
        if schema_name:
            with admin.begin() as conn:
                conn.execute(sa.text(f'CREATE SCHEMA "{schema_name}"'))
            extra.append(
                "SQLALCHEMY_ENGINE_OPTIONS = {'pool_pre_ping': True, 'connect_args':"
                f" {{'options': '-csearch_path={schema_name}'}}}}"
            )
    if redis:
        extra.append(f"REDIS_URL = {redis!r}")
    (instance / "config.py").write_text(
        CONFIG.format(
            secret=secrets.token_hex(32), limits=limits, prefix=name, extra="\n".join(extra)
        )
    )
    the_site = Site(workdir, env, admin, schema_name)
    try:
        the_site.flask("db", "upgrade")
        the_site.flask("demo")
        yield the_site
    finally:
        try:
            if schema_name:
                with admin.begin() as conn:
                    conn.execute(sa.text(f'DROP SCHEMA "{schema_name}" CASCADE'))
        finally:
            admin.dispose()
            shutil.rmtree(workdir, ignore_errors=True)
            if redis:
                with contextlib.suppress(Exception):  # a Redis the scenario killed
                    forget_counts(name, redis)


@dataclass
class Gunicorn:
    port: int
    proc: subprocess.Popen[bytes]

    def workers(self) -> list[int]:
        """Pids of the master's worker processes (from /proc)."""
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(OSError):
                    stat = (entry / "stat").read_text()
                    parent = int(stat.rsplit(")", 1)[1].split()[1])
                    if parent == self.proc.pid:
                        found.append(int(entry.name))
        return found


@contextlib.contextmanager
def gunicorn(the_site: Site, workers: int | None = None) -> Iterator[Gunicorn]:
    """The app under gunicorn with the repository's own gunicorn.conf.py (production settings:
    gthread workers, access log without addresses), on a free loopback port."""
    port = free_port()
    env = {**os.environ, **the_site.env, "PEILING_BIND": f"{HOST}:{port}"}
    if workers:
        env["PEILING_WORKERS"] = str(workers)
    log_path = the_site.workdir / f"gunicorn-{port}.log"
    command = [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "wsgi:app"]
    with log_path.open("wb") as log:
        proc = subprocess.Popen(  # noqa: S603
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        wait_ready(proc, port, FORM_PATH, log_path)
        yield Gunicorn(port, proc)
    finally:
        stop_server(proc)
        tracebacks = log_path.read_text(errors="replace").count("Traceback")
        if tracebacks:
            kept = Path(tempfile.gettempdir()) / f"peiling-loadtest-{port}.log"
            shutil.copy(log_path, kept)
            out(f"  gunicorn log: {tracebacks} tracebacks (never sent to a browser): {kept}")


def _as_postgres(command: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root.
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


class Cluster:
    """A throwaway PostgreSQL cluster on a port of its own, which the test may stop."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="peiling-pg-"))
        self.data = self.folder / "data"
        self.port = free_port()
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        subprocess.run(  # noqa: S603
            _as_postgres(
                [str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres"]
            ),
            check=True,
            capture_output=True,
        )

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.folder}"
        subprocess.run(  # noqa: S603
            _as_postgres(
                [
                    str(PG_BIN / "pg_ctl"),
                    "-D",
                    str(self.data),
                    "-l",
                    str(self.folder / "log"),
                    "-o",
                    options,
                    "-w",
                    "start",
                ]  # fmt: skip
            ),
            check=True,
            capture_output=True,
        )

    def stop(self) -> None:
        subprocess.run(  # noqa: S603
            _as_postgres(
                [str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"]
            ),
            check=False,
            capture_output=True,
        )

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


class RedisServer:
    """A Redis of the test's own, which the test may kill."""

    def __init__(self) -> None:
        self.port = free_port()
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.proc = subprocess.Popen(  # noqa: S603
            [binary, "--port", str(self.port), "--bind", HOST, "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )
        from redis import Redis

        client = Redis(host=HOST, port=self.port)
        for _ in range(100):
            with contextlib.suppress(Exception):
                client.ping()
                return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)


# --------------------------------------------------------------------------- scenarios


def scenario_postgresql() -> Outcome:
    users, seconds = _int("LOADTEST_USERS", 200), _int("LOADTEST_SECONDS", 60)
    with site(PG_URL) as s, gunicorn(s) as g:
        tally = run_crowd(g.port, users, seconds)
        return Outcome(
            f"PostgreSQL: {users} respondents, {seconds} s", tally, stored(s.engine, s.schema)
        )


def scenario_sqlite() -> Outcome:
    users, seconds = _int("LOADTEST_SQLITE_USERS", 50), _int("LOADTEST_SQLITE_SECONDS", 30)
    with site(None, redis=None) as s, gunicorn(s) as g:
        tally = run_crowd(g.port, users, seconds)
        outcome = Outcome(
            f"SQLite (the embedded default): {users} respondents, {seconds} s",
            tally,
            stored(s.engine, None),
        )
        locked = (
            (s.workdir / f"gunicorn-{g.port}.log")
            .read_text(errors="replace")
            .count("database is locked")
        )
        outcome.notes.append(f"'database is locked' in the server log: {locked}")
    return outcome


def scenario_database_stop() -> Outcome:
    users, seconds = 50, 30
    cluster = Cluster()
    try:
        cluster.start()
        with site(cluster.url, schema=False) as s, gunicorn(s) as g:
            timeline: list[str] = []
            health: list[tuple[int, int]] = []

            def outage() -> None:
                time.sleep(8)
                cluster.stop()
                timeline.append("stopped PostgreSQL at 8 s")
                time.sleep(1)
                down = http_request(g.port, "GET", "/healthz", timeout=10).status
                timeline.append(f"/healthz while it was down: {down}")
                time.sleep(5)
                cluster.start()
                timeline.append("started it again at 14 s")
                time.sleep(1)
                up = http_request(g.port, "GET", "/healthz", timeout=10).status
                timeline.append(f"/healthz a second after: {up}")
                if (down, up) != (503, 200):
                    health.append((down, up))

            tally = run_crowd(g.port, users, seconds, during=outage)
            outcome = Outcome(
                f"PostgreSQL stopped mid-load: {users} respondents, {seconds} s",
                tally,
                stored(s.engine, None),
                notes=timeline,
                faults_expected=True,
            )
            if health:
                outcome.tally.statuses[-598] += 1  # the health check did not tell the truth
            if not tally.retry_pages:
                outcome.notes.append("no respondent saw the retry page: the outage was not felt")
                outcome.tally.statuses[-599] += 1  # the scenario did not test what it should
            return outcome
    finally:
        cluster.remove()


def scenario_worker_kill() -> Outcome:
    users, seconds = 100, 30
    with site(PG_URL) as s, gunicorn(s) as g:
        killed: list[int] = []

        def kill_workers() -> None:
            for _ in range(5):
                time.sleep(4)
                pids = g.workers()
                if pids:
                    victim = random.choice(pids)  # noqa: S311
                    os.kill(victim, signal.SIGKILL)
                    killed.append(victim)

        tally = run_crowd(g.port, users, seconds, during=kill_workers)
        return Outcome(
            f"gunicorn workers killed with SIGKILL: {users} respondents, {seconds} s",
            tally,
            stored(s.engine, s.schema),
            notes=[f"workers killed: {len(killed)}"],
            faults_expected=True,  # a request cut off by the kill is a dropped connection
        )


def scenario_redis_down() -> Outcome:
    users, seconds = 100, 30
    redis = RedisServer()
    try:
        with site(PG_URL, redis=redis.url) as s, gunicorn(s) as g:

            def kill_redis() -> None:
                time.sleep(8)
                redis.kill()

            tally = run_crowd(g.port, users, seconds, during=kill_redis)
            return Outcome(
                f"Redis killed at 8 s: {users} respondents, {seconds} s",
                tally,
                stored(s.engine, s.schema),
                notes=["rate limiting fell back to counting per process"],
            )
    finally:
        redis.kill()


def scenario_two_instances() -> Outcome:
    """Two gunicorn instances sharing PostgreSQL and Redis behave as one."""
    notes: list[str] = []
    with (
        site(PG_URL, limits="12 per minute") as s,
        gunicorn(s, workers=2) as a,
        gunicorn(s, workers=2) as b,
    ):
        tally = Tally(started=time.monotonic())
        # One form, its final page posted to both instances (a retry that the load balancer
        # sends elsewhere): one response.
        page = http_request(a.port, "GET", FORM_PATH)
        cookie = form_cookie(v for k, v in page.headers if k.lower() == "set-cookie")
        html = page.body.decode()
        token = TOKEN_RE.search(html)
        assert token is not None
        fields = [("csrf_token", csrf_token(html)), ("token", token[1]), ("pagina", "2"),
                  ("taal", "nl"), ("actie", "verder"), *PAGE_1, *PAGE_2, *PAGE_3_PLAIN]  # fmt: skip
        body = urlencode(fields)
        first = http_request(a.port, "POST", FORM_PATH, body, cookie)
        second = http_request(b.port, "POST", FORM_PATH, body, cookie)
        tally.requests += 3
        for reply in (first, second):
            tally.statuses[reply.status] += 1
        if first.status == second.status == 303:
            tally.acknowledged.add(token[1])
        notes.append(f"same token to both instances: {first.status} and {second.status}")
        # The rate limit (12 a minute here) counts across both: alternate between them.
        statuses = []
        for n in range(12):
            reply = http_request((a, b)[n % 2].port, "POST", FORM_PATH, body, cookie)
            statuses.append(reply.status)
        limited = statuses.count(429)
        notes.append(
            f"posts 3 to 14 of one client alternating between instances: {statuses.count(303)}"
            f" answered, {limited} refused with 429 (limit 12 a minute in all)"
        )
        if limited != 2:
            tally.statuses[-429] += 1
        # A staff login made on one instance is valid on the other (signed-cookie sessions).
        login_ok = _login_across(s, a.port, b.port)
        notes.append(f"staff login on one instance, page on the other: {login_ok}")
        if login_ok != 200:
            tally.statuses[-login_ok] += 1
        tally.load_seconds = time.monotonic() - tally.started
        tally.journeys = 1
        return Outcome(
            "Two instances on one PostgreSQL and Redis", tally, stored(s.engine, s.schema), notes
        )


def _login_across(s: Site, first: int, second: int) -> int:
    email, password = "twee@drenthe.nl", secrets.token_urlsafe(12)
    s.flask("users", "create", email, "--role", "admin", "--password", password)
    form = http_request(first, "GET", "/login")
    cookie = "; ".join(v.split(";", 1)[0] for k, v in form.headers if k.lower() == "set-cookie")
    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form.body.decode())
    assert found is not None
    body = urlencode({"csrf_token": found[1], "email": email, "password": password})
    done = http_request(first, "POST", "/login", body, cookie)
    session = "; ".join(v.split(";", 1)[0] for k, v in done.headers if k.lower() == "set-cookie")
    return http_request(second, "GET", "/analysis/", cookie=session or cookie).status


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


SCENARIOS: dict[str, Callable[[], Outcome]] = {
    "postgresql": scenario_postgresql,
    "sqlite": scenario_sqlite,
    "database-stop": scenario_database_stop,
    "worker-kill": scenario_worker_kill,
    "redis-down": scenario_redis_down,
    "two-instances": scenario_two_instances,
}


def main() -> int:
    chosen = [
        n.strip() for n in os.environ.get("LOADTEST_SCENARIOS", ",".join(SCENARIOS)).split(",")
    ]
    out(f"Peiling load and fault tests on loopback ({os.cpu_count()} cores), {SLUG}")
    failed = []
    for name in chosen:
        out()
        out(f"== {name} ==")
        began = time.monotonic()
        outcome = SCENARIOS[name]()
        out(f"-- {outcome.name} ({time.monotonic() - began:.0f} s in all)")
        outcome.report()
        if outcome.failures():
            failed.append(name)
    out()
    out("ALL PASSED" if not failed else f"FAILED: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
