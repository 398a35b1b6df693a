"""Instructions per submission and per hello world, counted by valgrind (callgrind).

    .venv/bin/python -m bench.instructions      (or `make bench-instructions`)

Requests per second on a shared machine drift by tens of percent from one round to the
next; the number of instructions a request runs does not. This counts, in-process (the WSGI
app called directly, no web server), the user-space instructions of one complete submission
of the demo poll (on the bench's PostgreSQL schema, with Redis counting it, as in `make
bench`) and of one hello world request. Each is counted twice, with a short and a longer
series of requests, and the difference divided by the extra requests, so that start-up
and imports drop out. About three minutes; the figures repeat within a few percent.

It leaves out what a load run also pays: gunicorn, PostgreSQL, Redis, the kernel and the
caches other processes take, so its ratio is not the throughput ratio of `make bench`; it
tells whether a change made a request cheaper, which a noisy throughput run cannot.
"""

from __future__ import annotations

import io
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.database import ROOT, bench_database
from bench.respondent import FORM_PATH, csrf_token, form_cookie, submission_body

SHORT, LONG = 100, 400
WARM_UP = 50


def _environ(method: str, path: str, body: bytes = b"", cookie: str = "") -> dict[str, Any]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1:8000",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
        "CONTENT_LENGTH": str(len(body)),
    }
    if method == "POST":
        environ["CONTENT_TYPE"] = "application/x-www-form-urlencoded"
    if cookie:
        environ["HTTP_COOKIE"] = cookie
    return environ


def _call(app: Any, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
    seen: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        seen["status"], seen["headers"] = status, headers
        return lambda _data: None

    chunks = app(environ, start_response)
    try:
        body = b"".join(chunks)
    finally:
        if hasattr(chunks, "close"):
            chunks.close()
    return seen["status"], seen["headers"], body


def child(kind: str, count: int) -> None:
    """Run `count` requests (after a warm-up) in this process: what valgrind counts."""
    if kind == "hello":
        from bench.hello import app as hello

        for _ in range(WARM_UP + count):
            status, _headers, _body = _call(hello, _environ("GET", "/"))
            assert status.startswith("200"), status  # noqa: S101 - a bench's own check
        return
    from peiling import create_app

    app = create_app()
    _status, headers, html = _call(app, _environ("GET", FORM_PATH))
    cookie = form_cookie(v for k, v in headers if k.lower() == "set-cookie")
    body = submission_body(csrf_token(html.decode()))
    run = secrets.token_hex(6)
    for n in range(WARM_UP + count):
        posted = f"{body}&token=instructions-{run}-{n:09d}".encode()
        status, _headers, _body = _call(app, _environ("POST", FORM_PATH, posted, cookie))
        assert status.startswith("303"), status  # noqa: S101 - every one must be stored


def _count(kind: str, count: int, env: dict[str, str], workdir: Path) -> int:
    """User-space instructions of a child process running `count` requests of `kind`."""
    out = workdir / f"callgrind-{kind}-{count}.out"
    done = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={out}",
            sys.executable,
            "-m",
            "bench.instructions",
            "--child",
            kind,
            str(count),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or found is None:
        raise RuntimeError(f"valgrind {kind} {count} failed:\n{done.stderr[-2000:]}")
    return int(found.group(1))


def per_request(kind: str, env: dict[str, str], workdir: Path) -> float:
    return (_count(kind, LONG, env, workdir) - _count(kind, SHORT, env, workdir)) / (LONG - SHORT)


def main() -> int:
    if shutil.which("valgrind") is None:
        print("valgrind is not installed: run `make bench-instructions`, which installs it.")
        return 2
    # numpy's thread pool (pandas is imported by the app) runs instructions of its own.
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}
    with bench_database() as bench, tempfile.TemporaryDirectory() as tmp:
        env.update(bench.env)
        workdir = Path(tmp)
        submission = per_request("submission", env, workdir)
        hello = per_request("hello", env, workdir)
    print("Instructions per request, in-process, counted by callgrind (user space only):")
    print(f"   complete submission of the demo poll:  {submission / 1e6:6.3f} M")
    print(f"   hello world:                           {hello / 1e6:6.3f} M")
    print(f"   ratio hello / submission:              {hello / submission:6.3f}")
    print("   (no web server, database, Redis or kernel: not the throughput ratio of make bench)")
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        child(sys.argv[2], int(sys.argv[3]))
    else:
        sys.exit(main())
