"""Old back-ups out: what `flask backup` deletes after writing a new one.

A back-up holds what was in the database that night, including responses a respondent has
since removed and contact details `flask purge` has since deleted. Kept forever, the
back-ups would undo both; so each back-up run deletes the runs older than
BACKUP_KEEP_DAYS (PEILING_BACKUP_KEEP_DAYS, default 14) in the folder it writes to.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

STAMP = "%Y%m%dT%H%M%SZ"
# The names `flask backup` gives its files; nothing else in the folder is ever touched.
NAME = re.compile(r"peiling-(\d{8}T\d{6}Z)\.(?:sqlite|dump)")


def file_name(moment: datetime, suffix: str) -> str:
    """The name of a back-up taken at `moment`: peiling-20260501T023000Z.dump."""
    return f"peiling-{moment.astimezone(UTC).strftime(STAMP)}{suffix}"


def taken_at(path: Path) -> datetime | None:
    """When the back-up `path` was taken, from its name; None for any other file."""
    match = NAME.fullmatch(path.name)
    if match is None:
        return None
    return datetime.strptime(match.group(1), STAMP).replace(tzinfo=UTC)


def prune(folder: Path, keep_days: int, now: datetime, spare: Path) -> list[Path]:
    """Delete the back-ups in `folder` taken more than `keep_days` days before `now`,
    never `spare` (the one just written); return what was deleted.

    The age is read from the name, not the file's mtime, which a copy or restore from
    elsewhere changes. Only regular files named as `flask backup` names them go."""
    cutoff = now - timedelta(days=keep_days)
    deleted = []
    for path in sorted(folder.iterdir()):
        moment = taken_at(path)
        if moment is None or moment >= cutoff or path.is_symlink() or not path.is_file():
            continue
        if path.resolve() == spare.resolve():
            continue
        path.unlink()
        deleted.append(path)
    return deleted
