"""The systemd units in deploy/systemd are valid and start commands that exist."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
UNITS = ROOT / "deploy" / "systemd"
ANALYZE = shutil.which("systemd-analyze")


def unit_lines(name: str, key: str) -> list[str]:
    lines = (UNITS / name).read_text().splitlines()
    return [line.split("=", 1)[1] for line in lines if line.startswith(key + "=")]


@pytest.mark.skipif(ANALYZE is None, reason="needs systemd-analyze")
def test_systemd_accepts_every_unit(tmp_path: Path) -> None:
    """systemd-analyze verify, with the units' /srv/peiling pointed at this checkout."""
    venv = Path(sys.executable).parent.parent
    for unit in UNITS.iterdir():
        text = unit.read_text().replace("/srv/peiling/.venv", str(venv))
        text = text.replace("/srv/peiling", str(ROOT))
        (tmp_path / unit.name).write_text(text)
    done = subprocess.run(  # noqa: S603
        [str(ANALYZE), "verify", *sorted(str(p) for p in tmp_path.iterdir())],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == done.stderr.strip() == ""  # not even a warning


def test_the_timers_run_purge_and_backup_daily() -> None:
    for name, command in [("peiling-purge", "purge"), ("peiling-backup", "backup")]:
        (when,) = unit_lines(f"{name}.timer", "OnCalendar")
        assert when.startswith("*-*-* ")  # every day
        assert unit_lines(f"{name}.timer", "Persistent") == ["true"]
        start = unit_lines(f"{name}.service", "ExecStart")[0]
        assert f"--app peiling {command}" in start


@pytest.mark.parametrize(
    ("unit", "expected"),
    [
        ("peiling.service", ["db", "upgrade"]),
        ("peiling-worker.service", ["worker"]),
        ("peiling-purge.service", ["purge"]),
        # A folder: the command picks the suffix and deletes the old backups there.
        ("peiling-backup.service", ["backup", "/var/backups/peiling/"]),
    ],
)
def test_the_flask_commands_the_units_start_exist(unit: str, expected: list[str]) -> None:
    commands = unit_lines(unit, "ExecStart") + unit_lines(unit, "ExecStartPre")
    flask = next(c for c in commands if "flask --app peiling" in c)
    args = shlex.split(flask)[3:]
    assert args == expected
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "flask", "--app", "peiling", *args, "--help"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
