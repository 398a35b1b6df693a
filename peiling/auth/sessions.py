"""Staff sessions that end when they should: at logout, and a working day after login.

A staff session is Flask's signed cookie. Flask renews it on every request, so without more
a session used daily never ends, and logging out only clears this browser's copy of it. So
each login gets a random session id and its time in the cookie: a session older than
PERMANENT_SESSION_LIFETIME (absolute, from the login) is refused, and so is one whose id
was logged out (table ended_session, until that lifetime has passed).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import MutableMapping
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from peiling.auth.models import EndedSession

SID = "sid"
SINCE = "since"


def _hash(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


def begin(cookie: MutableMapping[str, Any], now: datetime | None = None) -> None:
    """Give a new login's session its id and start time."""
    cookie[SID] = secrets.token_urlsafe(18)
    cookie[SINCE] = int((now or datetime.now(UTC)).timestamp())


def _ends_at(cookie: MutableMapping[str, Any], lifetime: timedelta) -> datetime | None:
    since = cookie.get(SINCE)
    if not isinstance(since, int) or not isinstance(cookie.get(SID), str):
        return None  # from before session ids, or not a login session at all
    return datetime.fromtimestamp(since, UTC) + lifetime


def valid(
    db_session: Session,
    cookie: MutableMapping[str, Any],
    lifetime: timedelta,
    now: datetime | None = None,
) -> bool:
    """Whether this login session may still be used (one query when it may)."""
    ends_at = _ends_at(cookie, lifetime)
    if ends_at is None or ends_at <= (now or datetime.now(UTC)):
        return False
    return db_session.get(EndedSession, _hash(cookie[SID])) is None


def end(db_session: Session, cookie: MutableMapping[str, Any], lifetime: timedelta) -> None:
    """Record that this session was logged out, so that no copy of its cookie works."""
    ends_at = _ends_at(cookie, lifetime)
    if ends_at is not None:
        db_session.merge(EndedSession(sid_hash=_hash(cookie[SID]), ends_at=ends_at))


def purge_ended(db_session: Session, now: datetime | None = None) -> int:
    """Forget logged-out sessions whose lifetime has passed (they are refused anyway)."""
    result = db_session.execute(
        delete(EndedSession).where(EndedSession.ends_at <= (now or datetime.now(UTC)))
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
