"""`make run` serves the demo poll, and running it a second time changes nothing."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TABLES = ("survey", "question", "response", "answer", "volunteer", "staff_user", "municipality")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_once(instance: Path) -> tuple[str, str]:
    """Start `make run`, fetch the demo poll, stop it; return its output and the page."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PEILING_")}
    env["PEILING_INSTANCE_PATH"] = str(instance)
    proc = subprocess.Popen(  # noqa: S603
        ["make", "--no-print-directory", "run", f"PORT={port}"],  # noqa: S607
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/p/jongerenpeiling-demo"
    page = ""
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310
                    page = response.read().decode()
                break
            except OSError:
                time.sleep(0.3)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        output, _ = proc.communicate(timeout=30)
    return output, page


def counts(instance: Path) -> dict[str, int]:
    with sqlite3.connect(instance / "peiling.sqlite") as conn:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}  # noqa: S608


def test_make_run_twice(tmp_path: Path) -> None:
    output, page = run_once(tmp_path)
    assert "Jongerenpeiling Drenthe" in page, output
    assert "Inloggen als medewerker: demo@peiling.local / " in output
    first = counts(tmp_path)
    assert first["survey"] == 1 and first["response"] == 833 and first["staff_user"] == 1
    assert first["municipality"] == 22
    assert (tmp_path / "secret_key").exists()

    output, page = run_once(tmp_path)
    assert "Jongerenpeiling Drenthe" in page, output
    assert "Demo-peiling bestaat al" in output
    assert counts(tmp_path) == first
