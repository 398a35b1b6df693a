"""Load over loopback: gunicorn serving Peiling or hello world, wrk driving it.

`gunicorn()` starts `python -m gunicorn` on 127.0.0.1 and a free port with the given
settings (and an empty config file, so the repository's gunicorn.conf.py with its access
log does not apply), waits until it answers, and always stops it again: SIGTERM to the
master, then SIGKILL to its process group (started as a session of its own) if it lingers.

`wrk()` runs wrk with bench/load.lua for a fixed window plus a grace period, a fixed
number of connections, and returns what the script counted: the answers by status (in all
and within the window), wrk's errors and latency percentiles. Throughput is the number of
successful answers within the window divided by the window.
"""

from __future__ import annotations

import contextlib
import dataclasses
import http.client
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bench.cpu import Snapshot, snapshot
from bench.database import ROOT

LUA_SCRIPT = Path(__file__).resolve().parent / "load.lua"
HOST = "127.0.0.1"


@dataclass(frozen=True)
class GunicornSettings:
    """Worker settings; `spec` is `sync:4` (4 sync workers) or `gthread:2x4` (2 x 4 threads)."""

    worker_class: str
    workers: int
    threads: int = 1

    @classmethod
    def parse(cls, spec: str) -> GunicornSettings:
        kind, _, size = spec.strip().partition(":")
        workers, _, threads = size.partition("x")
        if kind not in ("sync", "gthread") or not workers.isdigit():
            raise ValueError(f"bad gunicorn setting {spec!r}: use sync:N or gthread:NxT")
        return cls(kind, int(workers), int(threads or 1))

    @property
    def name(self) -> str:
        if self.worker_class == "gthread":
            return f"gthread {self.workers}x{self.threads}"
        return f"sync {self.workers}"

    def args(self) -> list[str]:
        args = ["--workers", str(self.workers), "--worker-class", self.worker_class]
        if self.worker_class == "gthread":
            args += ["--threads", str(self.threads)]
        return args

    def command_line(self) -> str:
        return " ".join(self.args())


COMMON_ARGS = [
    "--no-control-socket",
    "--timeout",
    "30",
    "--graceful-timeout",
    "5",
    "--log-level",
    "warning",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Reply:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str:
        return next((v for k, v in self.headers if k.lower() == name.lower()), "")

    def set_cookies(self) -> list[str]:
        return [v for k, v in self.headers if k.lower() == "set-cookie"]


def http_request(
    port: int,
    method: str,
    path: str,
    body: str | None = None,
    cookie: str = "",
    timeout: float = 10,
) -> Reply:
    """One request over loopback on a connection of its own (redirects are not followed)."""
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    headers = {"Cookie": cookie} if cookie else {}
    if body is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        conn.request(
            method, path, body=body.encode() if body is not None else None, headers=headers
        )
        response = conn.getresponse()
        return Reply(response.status, response.getheaders(), response.read())
    finally:
        conn.close()


@dataclass(frozen=True)
class Server:
    port: int
    group: int  # process group of master and workers (the master's pid)


@contextlib.contextmanager
def gunicorn(
    app_spec: str, settings: GunicornSettings, env: dict[str, str], workdir: Path, ready: str
) -> Iterator[Server]:
    """Serve `app_spec` (`module:app`) with `settings`; yield it once `ready` answers."""
    port = free_port()
    empty_config = workdir / "gunicorn-bench.conf.py"
    empty_config.write_text("# the bench passes every setting on the command line\n")
    log_path = workdir / f"gunicorn-{app_spec.replace(':', '-')}-{port}.log"
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--config",
        str(empty_config),
        "--bind",
        f"{HOST}:{port}",
        *settings.args(),
        *COMMON_ARGS,
        app_spec,
    ]
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_ready(proc, port, ready, log_path)
        yield Server(port, proc.pid)
    finally:
        stop_server(proc)


def wait_ready(proc: subprocess.Popen[bytes], port: int, path: str, log_path: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {proc.returncode}:\n{log_path.read_text()}")
        with contextlib.suppress(OSError, http.client.HTTPException):
            if http_request(port, "GET", path, timeout=2).status == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer {path} within 60 s:\n{log_path.read_text()}")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # the session started for this gunicorn only
            proc.wait(timeout=10)
    # Workers left behind by a master that died: same process group, started by us.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


@dataclass
class WrkResult:
    statuses: dict[int, int]
    in_window: dict[int, int]
    window_s: float
    errors: dict[str, int]
    latency_ms: dict[str, float]
    success: int  # the status that counts as success (200 for hello, 303 for submissions)
    cpu: Snapshot | None = None  # server and PostgreSQL over the window, wrk over the run
    wall_s: float = 0.0  # wall time of the window as this process saw it

    @property
    def answered_in_window(self) -> int:
        return sum(self.in_window.values())

    @property
    def answered(self) -> int:
        return sum(self.statuses.values())

    @property
    def rate(self) -> float:
        return self.in_window.get(self.success, 0) / self.window_s

    @property
    def succeeded(self) -> int:
        return self.statuses.get(self.success, 0)

    @property
    def others(self) -> dict[int, int]:
        return {s: n for s, n in sorted(self.statuses.items()) if s != self.success}

    @property
    def error_total(self) -> int:
        return sum(self.errors.values())


@dataclass(frozen=True)
class WrkSettings:
    seconds: float = 10
    grace: float = 3
    connections: int = 16
    threads: int = 1

    def describe(self) -> str:
        return (
            f"wrk -t{self.threads} -c{self.connections}, {self.seconds:g} s window "
            f"(+{self.grace:g} s grace in which nothing new is sent)"
        )


def wrk(
    server: Server,
    path: str,
    settings: WrkSettings,
    success: int,
    method: str = "GET",
    body: str = "",
    cookie: str = "",
) -> WrkResult:
    """Drive `path` with wrk and bench/load.lua; raise when wrk fails or prints no result.

    CPU snapshots are taken when wrk starts, when the window ends and after wrk exited.
    """
    env = {
        **os.environ,
        "BENCH_METHOD": method,
        "BENCH_BODY": body,
        "BENCH_COOKIE": cookie,
        "BENCH_RUN_ID": secrets.token_urlsafe(9),
        "BENCH_WINDOW_MS": str(int(settings.seconds * 1000)),
    }
    duration = int(settings.seconds + settings.grace + 0.999)
    command = [
        "wrk",
        "-t",
        str(settings.threads),
        "-c",
        str(settings.connections),
        "-d",
        f"{duration}s",
        "--timeout",
        "10s",
        "-s",
        str(LUA_SCRIPT),
        f"http://{HOST}:{server.port}{path}",
    ]
    start = snapshot(server.group)
    started = time.monotonic()
    proc = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        time.sleep(settings.seconds)
        window = snapshot(server.group) - start
        wall = time.monotonic() - started
        stdout, stderr = proc.communicate(timeout=duration + 60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    children = snapshot(server.group).children - start.children
    cpu = dataclasses.replace(window, children=children)
    line = next((x for x in stdout.splitlines() if x.startswith("BENCH_RESULT ")), None)
    if proc.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({proc.returncode}):\n{stdout}{stderr}")
    data = json.loads(line.removeprefix("BENCH_RESULT "))
    return WrkResult(
        statuses={int(k): v for k, v in data["statuses"].items()},
        in_window={int(k): v for k, v in data["in_window"].items()},
        window_s=data["window_ms"] / 1000,
        errors=data["errors"],
        latency_ms={k: v / 1000 for k, v in data["latency_us"].items()},
        success=success,
        cpu=cpu,
        wall_s=wall,
    )
