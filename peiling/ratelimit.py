"""Rate limiting the public form per client, without storing who the client is.

A script that fetches the form and posts it again and again gets past the CSRF check and the
honeypot; counting posts per client stops it. The client is known only by a keyed hash of
its address (HMAC with the secret key and today's date), which lives in Redis for at most
the longest window and never reaches the database: no IP address is stored anywhere.

Counts live in Redis when PEILING_REDIS_URL is set, so every worker and every server counts
together. When Redis stops answering, respondents must still be able to answer: the limiter
falls back to counting in this process (a weaker limit, but a limit), says so once in the
log, and tries Redis again after a pause. Without Redis it counts per process from the start.

This uses `limits` directly for the same reason as auth/throttle.py: Flask-Limiter's app-wide
request hooks cost every request, and only one view needs the check.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time

from flask import Flask, current_app
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import FixedWindowRateLimiter

log = logging.getLogger(__name__)

EXTENSION = "peiling.submit_limiter"
# After Redis failed, count in memory for this long before trying it again, so a dead Redis
# costs respondents one timeout per worker per pause, not one per request.
RETRY_REDIS_SECONDS = 30.0
# Redis is on the local network: an answer slower than this means it is in trouble.
REDIS_TIMEOUT_SECONDS = 0.25


class ClientLimiter:
    """Counts requests per client in fixed windows (`120 per minute;1200 per hour`)."""

    def __init__(self, limits_text: str, secret: str, redis_url: str | None, prefix: str) -> None:
        self.items: list[RateLimitItem] = parse_many(limits_text) if limits_text.strip() else []
        self._secret = secret.encode()
        self._memory_storage = MemoryStorage()
        self._memory = FixedWindowRateLimiter(self._memory_storage)
        self._shared: FixedWindowRateLimiter | None = None
        self._shared_storage = None
        if redis_url and self.items:
            self._shared_storage = storage_from_string(
                redis_url,
                key_prefix=prefix,
                socket_timeout=REDIS_TIMEOUT_SECONDS,
                socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
            )
            self._shared = FixedWindowRateLimiter(self._shared_storage)
        self._redis_down_until = 0.0

    def client(self, address: str | None) -> str:
        """A key for the client that cannot be turned back into its address."""
        day = int(time.time() // 86400)  # the UTC day: yesterday's keys mean nothing today
        message = f"{day}|{address or '-'}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()[:24]

    def hit(self, address: str | None, scope: str = "submit") -> int | None:
        """Count one request; return the seconds to wait when over a limit, else None."""
        if not self.items:
            return None
        key = self.client(address)
        limiter = self._limiter()
        try:
            return self._hit(limiter, scope, key)
        except Exception as exc:  # noqa: BLE001 - any Redis failure: degrade, never fail
            if limiter is self._memory:
                raise
            self._redis_down_until = time.monotonic() + RETRY_REDIS_SECONDS
            log.warning(
                "rate limit: Redis unavailable (%s), counting in this process for %ds",
                type(exc).__name__,
                RETRY_REDIS_SECONDS,
            )
            return self._hit(self._memory, scope, key)

    def _limiter(self) -> FixedWindowRateLimiter:
        if self._shared is not None and time.monotonic() >= self._redis_down_until:
            return self._shared
        return self._memory

    def _hit(self, limiter: FixedWindowRateLimiter, scope: str, key: str) -> int | None:
        for item in self.items:
            if not limiter.hit(item, scope, key):
                reset = limiter.get_window_stats(item, scope, key).reset_time
                return max(1, int(reset - time.time()) + 1)
        return None

    def reset(self) -> None:
        self._memory_storage.reset()
        self._redis_down_until = 0.0


def init_app(app: Flask) -> None:
    config = app.config
    app.extensions[EXTENSION] = ClientLimiter(
        config.get("SUBMIT_LIMITS") or "",
        str(config["SECRET_KEY"]),
        config.get("REDIS_URL"),
        config.get("SUBMIT_LIMIT_PREFIX", "peiling-submit"),
    )


def submit_limiter() -> ClientLimiter:
    return current_app.extensions[EXTENSION]  # type: ignore[no-any-return]
