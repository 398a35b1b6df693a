"""Slowing down, then blocking, repeated failed staff logins.

Failed attempts are counted per account and per client address in moving windows (by
default 5 a minute and 20 an hour per account, 20 a minute and 100 an hour per address):
the first limit makes an attacker wait a minute, the second blocks for up to an hour.
Counts live in Redis when PEILING_REDIS_URL is set, so every worker and server shares
them, and in memory otherwise.

This uses `limits`, the engine of Flask-Limiter, directly in the one view that needs it:
Flask-Limiter's app-wide request hooks cost about 40 µs on every request, the respondents'
form included, even for routes without limits.
"""

from __future__ import annotations

import time

from flask import Flask, current_app
from limits import RateLimitItem, parse_many
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

EXTENSION = "peiling.login_throttle"


class LoginThrottle:
    def __init__(self, storage_uri: str, per_account: str, per_address: str, prefix: str) -> None:
        self.storage = storage_from_string(storage_uri)
        self._limiter = MovingWindowRateLimiter(self.storage)
        self._rules: list[tuple[str, list[RateLimitItem]]] = [
            ("account", parse_many(per_account)),
            ("address", parse_many(per_address)),
        ]
        self._prefix = prefix

    def _keys(self, account: str, address: str) -> list[tuple[RateLimitItem, tuple[str, ...]]]:
        values = {"account": account.strip().lower()[:254], "address": address}
        return [
            (limit, (self._prefix, kind, values[kind]))
            for kind, limits in self._rules
            for limit in limits
        ]

    def wait(self, account: str, address: str) -> int | None:
        """Seconds until another attempt is allowed, or None when it is allowed now."""
        for limit, key in self._keys(account, address):
            if not self._limiter.test(limit, *key):
                reset = self._limiter.get_window_stats(limit, *key).reset_time
                return max(1, int(reset - time.time()) + 1)
        return None

    def failed(self, account: str, address: str) -> None:
        """Count one failed attempt."""
        for limit, key in self._keys(account, address):
            self._limiter.hit(limit, *key)

    def reset(self) -> None:
        self.storage.reset()


def init_app(app: Flask) -> None:
    config = app.config
    app.extensions[EXTENSION] = LoginThrottle(
        config.get("REDIS_URL") or "memory://",
        config["LOGIN_LIMITS_PER_ACCOUNT"],
        config["LOGIN_LIMITS_PER_ADDRESS"],
        config.get("LOGIN_THROTTLE_PREFIX", "peiling-login"),
    )


def throttle() -> LoginThrottle:
    return current_app.extensions[EXTENSION]  # type: ignore[no-any-return]
