"""Instructions per submission and per hello world, counted by valgrind (callgrind).

    .venv/bin/python -m bench.instructions      (or `make bench-instructions`)

Requests per second on a shared machine drift by tens of percent from one round to the
next; the number of instructions a request runs does not. This counts, in-process (each
request handed straight to the WSGI app, without a web server), the user-space instructions
of one complete submission of the demo poll (on the bench's PostgreSQL schema, with Redis
counting it, as in `make bench`), of the same POST to the floor (bench/floor.py: only the
count and the store statement) and of one hello world request. Submission minus floor is
Peiling's own work: form token, validation, removal code, cookies, its hooks. Each is
counted twice, with a short and a longer series of requests, and the difference divided by
the extra requests, so that start-up and imports drop out. About five minutes; the figures
repeat within a few percent.

It leaves out what a load run also pays: gunicorn, PostgreSQL, Redis, the kernel and the
caches other processes take, so its ratio is not the throughput ratio of `make bench`; it
tells whether a change made a request cheaper, which a noisy throughput run cannot.

With `--parts` (`make bench-parts`, about fifteen minutes) it also counts the submission
with each part of Peiling's own work switched off in turn (bench/parts.py), and with all of
them off: what each part costs, and what is left beside the floor.
"""

from __future__ import annotations

import io
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from werkzeug.test import EnvironBuilder, run_wsgi_app

from bench.database import REDIS_URL, ROOT, BenchDatabase, bench_database
from bench.page import session_and_csrf
from bench.respondent import FORM_PATH, submission_body

SHORT, LONG = 100, 400
WARM_UP = 50


def _serve(app: Any, environ: dict[str, Any], body: bytes, expected: str) -> None:
    """One request straight into the WSGI app (no test client: its own work would be a
    large part of a hello world's count)."""
    environ = {**environ, "wsgi.input": io.BytesIO(body)}
    # buffered: the body is read whole and the app's iterable closed, as a server does
    _body, status, _headers = run_wsgi_app(app, environ, buffered=True)
    assert status.startswith(expected), status  # noqa: S101 - a bench's own check


def child(kind: str, count: int, parts_off: list[str] | None = None) -> None:
    """Run `count` requests (after a warm-up) in this process: what valgrind counts; a
    submission with `parts_off` switched off (bench/parts.py) when given."""
    if kind == "hello":
        from bench.hello import app as hello

        environ = EnvironBuilder(path="/").get_environ()
        for _ in range(WARM_UP + count):
            _serve(hello, environ, b"", "200")
        return
    if parts_off:
        from bench.parts import switch_off

        switch_off(parts_off)
    from peiling import create_app

    peiling = create_app()
    cookie, csrf = session_and_csrf(peiling.test_client(use_cookies=False))
    app: Any = peiling
    if kind == "floor":
        from bench.floor import app
    # The body without its token is built once, as the load script does: only the work of
    # the app is counted, not urlencode's.
    stem = f"{submission_body(csrf)}&token=instructions-{secrets.token_hex(6)}-"
    # Every body has the same length (tokens of one length), so one environ serves all.
    environ = EnvironBuilder(
        path=FORM_PATH,
        method="POST",
        data=f"{stem}{0:09d}",
        content_type="application/x-www-form-urlencoded",
        headers={"Cookie": cookie},
    ).get_environ()
    for n in range(WARM_UP + count):
        body = f"{stem}{n:09d}".encode()
        _serve(app, environ, body, "303")  # every one stored, or the bench stops


def _count(kind: str, count: int, env: dict[str, str], workdir: Path, parts_off: str = "") -> int:
    """User-space instructions of a child process running `count` requests of `kind`
    (`parts_off`: comma-separated names of bench/parts.py, switched off)."""
    out = workdir / f"callgrind-{kind}-{count}-{parts_off.replace(',', '+')}.out"
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
            parts_off,
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


def per_request(kind: str, env: dict[str, str], workdir: Path, parts_off: str = "") -> float:
    long = _count(kind, LONG, env, workdir, parts_off)
    return (long - _count(kind, SHORT, env, workdir, parts_off)) / (LONG - SHORT)


def floor_environment(bench: BenchDatabase, workdir: Path) -> dict[str, str]:
    """What bench/floor.py needs: a real submission's statement parameters, recorded here."""
    from bench.floor import record_parameters
    from peiling import create_app
    from peiling.database import dispose_engines

    os.environ.update(bench.env)
    app = create_app()
    try:
        parameters = record_parameters(app)
    finally:
        dispose_engines(app)
    path = workdir / "floor-parameters.json"
    path.write_text(json.dumps(parameters), encoding="utf-8")
    return {
        "BENCH_FLOOR_PARAMETERS": str(path),
        "BENCH_FLOOR_SCHEMA": bench.schema,
        "BENCH_REDIS_URL": REDIS_URL,
    }


def parts_report(submission: float, floor: float, env: dict[str, str], workdir: Path) -> list[str]:
    """Each part of Peiling's own work (bench/parts.py): the submission counted with it
    switched off, and with all of them off. Counts do not depend on the machine's load,
    so the children run side by side, one per CPU."""
    from bench.parts import PARTS

    runs = [*PARTS, ",".join(PARTS)]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        without = dict(
            zip(
                runs,
                pool.map(lambda off: per_request("submission", env, workdir, off), runs),
                strict=True,
            )
        )
    own = submission - floor
    lines = ["Peiling's own work, part by part (the submission with that part switched off):"]
    for name, (description, _replace) in PARTS.items():
        saved = submission - without[name]
        lines.append(f"   {description:<44} {saved / 1e3:7.0f} K  {saved / own:4.0%}")
    rest = without[runs[-1]] - floor
    lines.append(
        f"   {'all of them off: saved':<44} {(submission - without[runs[-1]]) / 1e3:7.0f} K"
    )
    lines.append(
        f"   {'left beside the floor (everything else)':<44} {rest / 1e3:7.0f} K  {rest / own:4.0%}"
    )
    return lines


def main(parts: bool = False) -> int:
    if shutil.which("valgrind") is None:
        print("valgrind is not installed: run `make bench-instructions`, which installs it.")
        return 2
    # numpy's thread pool (pandas is imported by the app) runs instructions of its own.
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}
    with bench_database() as bench, tempfile.TemporaryDirectory() as tmp:
        env.update(bench.env)
        workdir = Path(tmp)
        env.update(floor_environment(bench, workdir))
        submission = per_request("submission", env, workdir)
        floor = per_request("floor", env, workdir)
        hello = per_request("hello", env, workdir)
        by_part = parts_report(submission, floor, env, workdir) if parts else []
    print("Instructions per request, in-process, counted by callgrind (user space only):")
    print(f"   complete submission of the demo poll:  {submission / 1e6:6.3f} M")
    print(f"   the same POST to the floor:            {floor / 1e6:6.3f} M")
    print(f"   hello world:                           {hello / 1e6:6.3f} M")
    print(f"   ratio hello / submission:              {hello / submission:6.3f}")
    print(f"   ratio hello / floor:                   {hello / floor:6.3f}")
    print(f"   submission - floor (Peiling's own):    {(submission - floor) / 1e6:6.3f} M")
    print("   (no web server, database, Redis or kernel: not the throughput ratio of make bench)")
    for line in by_part:
        print(line)
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        child(sys.argv[2], int(sys.argv[3]), [p for p in sys.argv[4].split(",") if p])
    else:
        sys.exit(main(parts="--parts" in sys.argv[1:]))
