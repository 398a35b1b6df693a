"""Large workbooks made in the background, with progress the browser can follow.

A job is a folder in the instance folder (`exports/<random id>/`) holding `status.json`
and, when done, the workbook. Any process that shares the instance folder can report on
it, the job's page keeps its progress up to date (static/progress.js; without JavaScript,
by its "Stand bijwerken" link), and the file is gone an hour later. With Redis
(PEILING_REDIS_URL) the job goes on a queue and waits there ("queued") for `flask worker`
(peiling/jobs.py); without Redis, or when it does not answer, it runs in a thread of the
process that started it. A job whose process died shows as failed once its status has not
moved for a while.
"""

from __future__ import annotations

import json
import logging
import secrets
import shutil
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from flask import Flask, current_app

from peiling import jobs
from peiling.auth.access import Scope

log = logging.getLogger(__name__)
KEEP_SECONDS = 3600
STALE_SECONDS = 300
JOB_LENGTH = 32


@dataclass
class Status:
    owner: int  # the staff account that asked for it; nobody else may see or fetch it
    survey: str
    name: str  # the download's file name
    state: str = "running"  # queued (waiting for a worker), running, done, failed
    rows: int = 0
    total: int = 0
    updated: float = 0.0

    @property
    def percent(self) -> int:
        return min(100, round(100 * self.rows / self.total)) if self.total else 0


def _folder(app: Flask) -> Path:
    return Path(app.instance_path) / "exports"


def _write(folder: Path, status: Status) -> None:
    status.updated = time.time()
    temporary = folder / "status.json.tmp"
    temporary.write_text(json.dumps(asdict(status)))
    temporary.replace(folder / "status.json")  # readers never see half a file


def status(app: Flask, job: str, owner: int) -> Status | None:
    """The job's status for `owner`, or None when it does not exist for her."""
    if len(job) != JOB_LENGTH or not job.isalnum():
        return None
    path = _folder(app) / job / "status.json"
    try:
        found = Status(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None
    if found.owner != owner:
        return None
    # A running job's status moves at least every few seconds; a queued one may wait for
    # a worker up to KEEP_SECONDS, after which RQ drops it (its ttl).
    patience = {"running": STALE_SECONDS, "queued": KEEP_SECONDS}.get(found.state)
    if patience is not None and time.time() - found.updated > patience:
        found.state = "failed"
    return found


def file_of(app: Flask, job: str) -> Path:
    return _folder(app) / job / "werkmap.xlsx"


def _clean(app: Flask) -> None:
    root = _folder(app)
    if not root.exists():
        return
    for folder in root.iterdir():
        try:
            old = time.time() - folder.stat().st_mtime > KEEP_SECONDS
        except OSError:
            continue
        if old:
            shutil.rmtree(folder, ignore_errors=True)


def start(
    app: Flask,
    survey_id: int,
    slug: str,
    owner: int,
    scope: Scope,
    municipality: str | None,
    minimum: int,
) -> str:
    """Begin writing a workbook in the background; return the job's id."""
    _clean(app)
    job = secrets.token_hex(JOB_LENGTH // 2)
    folder = _folder(app) / job
    folder.mkdir(parents=True)
    name = f"{slug}-{municipality}.xlsx" if municipality else f"{slug}.xlsx"
    work = (survey_id, scope, municipality, minimum)
    if app.config.get("REDIS_URL"):
        # Written before it is queued: a quick worker must find the folder ready.
        _write(folder, Status(owner, slug, name, state="queued"))
        if jobs.enqueue(app, jobs.EXPORTS, run_queued, job, *work, key=job, ttl=KEEP_SECONDS):
            return job
    current = Status(owner, slug, name)
    _write(folder, current)
    thread = threading.Thread(
        target=_run,
        args=(app, folder, current, *work),
        name=f"export-{job[:8]}",
        daemon=True,
    )
    thread.start()
    return job


def run_queued(
    job: str, survey_id: int, scope: Scope, municipality: str | None, minimum: int
) -> None:
    """The worker's side of start() (an RQ job): mark the job running, write the workbook."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    folder = _folder(app) / job
    try:
        current = Status(**json.loads((folder / "status.json").read_text()))
    except (OSError, ValueError, TypeError):  # cleaned away while it waited: nobody waits
        log.warning("export %s: its folder is gone", job)
        return
    current.state = "running"
    _write(folder, current)
    _run(app, folder, current, survey_id, scope, municipality, minimum)


def _run(
    app: Flask,
    folder: Path,
    current: Status,
    survey_id: int,
    scope: Scope,
    municipality: str | None,
    minimum: int,
) -> None:
    from peiling.analysis import workbook
    from peiling.extensions import db
    from peiling.surveys.definition import get_definition
    from peiling.surveys.models import Survey

    def progress(rows: int, total: int) -> None:
        current.rows, current.total = rows, total
        _write(folder, current)

    try:
        with app.app_context():
            survey: Any = db.session.get(Survey, survey_id)
            request = workbook.Request(municipality, scope, minimum, progress)
            workbook.write(
                folder / "werkmap.xlsx", db.session, get_definition(db.session, survey), request
            )
            db.session.remove()
        current.state = "done"
    except Exception:  # the page says it failed; the details go to the log only
        log.exception("export %s failed", folder.name)
        current.state = "failed"
    _write(folder, current)
