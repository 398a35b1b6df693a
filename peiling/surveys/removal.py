"""Removal on request: the code on the thank-you page with which a respondent has her own
response deleted, with its answers and any contact details she left.

The code is an HMAC of the response's submission token, keyed by SECRET_KEY: it needs no
storage of its own, and a double click or a refresh shows the same code. Only a SHA-256 of
it is stored (response.removal_hash), so the database alone cannot delete anything. Twelve
Crockford base-32 characters (60 bits): finding any of a poll's codes by guessing takes
billions of tries per response, so failed guesses are throttled per client only (by a
keyed hash: no IP address is stored, not even in Redis keys; an IPv6 client counts by its
/64 network). A limit per survey would protect nothing and let anyone block every
respondent's removals with a few hundred wrong codes.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import re
from functools import lru_cache

from flask import Flask, current_app
from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from werkzeug.http import dump_cookie

from peiling.auth.throttle import Throttle
from peiling.database import lock_rows
from peiling.ratelimit import client_network
from peiling.surveys.models import Answer, RemovedResponse, Response, Volunteer

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford: no I, L, O or U
LENGTH = 12
_SHIFTS = tuple(range(5 * (LENGTH - 1), -1, -5))  # 5 bits a character, most significant first
COOKIE = "peiling_verwijdercode"
EXTENSION = "peiling.removal_throttle"
TYPED_MAX = 64  # longer input is not a code; do not spend work on it
_CODE_RE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{12}$")
# What people type for what they see: Crockford reads I and L as 1, O as 0.
_LOOKALIKES = str.maketrans({"I": "1", "L": "1", "O": "0"})
_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015._]")
_PLACEHOLDER = "0" * LENGTH


@lru_cache(maxsize=8)
def _derive(app_secret: str | bytes, purpose: bytes) -> bytes:
    # Keys of their own, derived from SECRET_KEY, so these MACs mean nothing anywhere else.
    raw = app_secret.encode() if isinstance(app_secret, str) else bytes(app_secret)
    return hmac.digest(raw, purpose, "sha256")


def code_for(token: str) -> str:
    """The removal code of the response stored with submission token `token` (normalised):
    the first 60 bits of an HMAC of the token, in Crockford's base 32."""
    key = _derive(current_app.secret_key or b"", b"peiling removal code")
    number = int.from_bytes(hmac.digest(key, token.encode(), "sha256")[:8], "big") >> 4
    # A list, not a generator: about two thirds of the time of a join over a generator or
    # of base64's base 32 translated to Crockford's letters (timeit, Python 3.11).
    return "".join([ALPHABET[number >> shift & 31] for shift in _SHIFTS])


def shown(code: str) -> str:
    """`code` as people read it: ABCD-EFGH-JKMN."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def normalise(typed: str) -> str | None:
    """The code someone typed, in its stored form; None when it cannot be a code.

    Case, spaces and dashes do not matter, and I, L and O count as 1, 1 and 0.
    """
    if len(typed) > TYPED_MAX:
        return None
    code = _SEPARATORS.sub("", typed).upper().translate(_LOOKALIKES)
    return code if _CODE_RE.match(code) else None


def hash_of(code: str) -> str:
    """What response.removal_hash holds for a (normalised) code."""
    return hashlib.sha256(code.encode()).hexdigest()


def from_cookie(value: str | None) -> str | None:
    """The code in the thank-you page's cookie, if it is one."""
    return value if value and _CODE_RE.match(value) else None


@lru_cache(maxsize=512)
def _cookie_parts(path: str, max_age: int, secure: bool) -> tuple[str, str]:
    # Everything but the code is the same for every response to a survey: built once.
    header = dump_cookie(
        COOKIE,
        _PLACEHOLDER,
        max_age=max_age,
        path=path,
        httponly=True,
        samesite="Strict",
        secure=secure,
        sync_expires=False,
    )
    before, after = header.split(_PLACEHOLDER, 1)
    return before, after


def cookie_header(code: str, thanks_path: str, max_age: int, secure: bool) -> str:
    """The Set-Cookie value that takes `code` to the thank-you page at `thanks_path` only."""
    before, after = _cookie_parts(thanks_path, max_age, secure)
    return before + code + after


class Removal(enum.Enum):
    REMOVED = "removed"  # now
    ALREADY = "already"  # earlier, with the same code (a double click, or typed again)
    UNKNOWN = "unknown"


def remove_response(session: Session, survey_id: int, code: str) -> Removal:
    """Delete the survey's response with removal code `code` (normalised), its answers and
    its volunteer's contact details, and keep the code's hash as removed."""
    digest = hash_of(code)
    # Locked first: a second press of the same code waits for the first's commit, then
    # finds the code among the removed instead of failing on the deleted rows.
    mine = Response.survey_id == survey_id, Response.removal_hash == digest
    if lock_rows(session, Response.removal_hash, *mine) == 0:
        removed = session.get(RemovedResponse, digest)
        known = removed is not None and removed.survey_id == survey_id
        return Removal.ALREADY if known else Removal.UNKNOWN
    response_id = session.scalar(select(Response.id).where(*mine))
    # Explicitly rather than by ON DELETE CASCADE, which SQLite honours only when the
    # connection enabled foreign keys.
    session.execute(delete(Volunteer).where(Volunteer.response_id == response_id))
    session.execute(delete(Answer).where(Answer.response_id == response_id))
    session.execute(delete(Response).where(Response.id == response_id))
    session.add(RemovedResponse(removal_hash=digest, survey_id=survey_id))
    return Removal.REMOVED


def client_key(address: str) -> str:
    """A key for counting one client's guesses that does not reveal its address: keyed, so
    that it cannot be reversed by hashing every IPv4 address; an IPv6 client by its /64."""
    key = _derive(current_app.secret_key or b"", b"peiling removal client")
    return hmac.new(key, client_network(address).encode(), "sha256").hexdigest()[:32]


def throttle() -> Throttle:
    """Failed guesses per client (the login throttle's mechanism, under a rule of its own)."""
    return current_app.extensions[EXTENSION]  # type: ignore[no-any-return]


def init_app(app: Flask) -> None:
    config = app.config
    app.extensions[EXTENSION] = Throttle(
        config.get("REDIS_URL") or "memory://",
        {"client": config["REMOVAL_LIMITS_PER_CLIENT"]},
        config.get("REMOVAL_THROTTLE_PREFIX", "peiling-removal"),
        name="removal",
    )
