"""Slowing down, then blocking, repeated failed staff logins.

Failed attempts are counted per account and per client address in moving windows (by
default 5 a minute and 20 an hour per account, 20 a minute and 100 an hour per address):
the first limit makes an attacker wait a minute, the second blocks for up to an hour.
Counts live in Redis when PEILING_REDIS_URL is set, so every worker and server shares
them, and in memory otherwise; their keys are keyed hashes, never the address typed or the
client's IP address. When Redis stops answering, counting goes on in the process.

This uses `limits`, the engine of Flask-Limiter, directly in the one view that needs it:
Flask-Limiter's app-wide request hooks cost about 40 µs on every request, the respondents'
form included, even for routes without limits.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Callable
from typing import TypeVar

from flask import Flask, current_app
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

EXTENSION = "peiling.login_throttle"
log = logging.getLogger(__name__)
# After Redis failed, count in this process for a while before trying it again.
RETRY_REDIS_SECONDS = 30.0
T = TypeVar("T")


class Throttle:
    """Failed attempts in moving windows, per kind of key (`rules`: kind -> limits).

    Keys are keyed hashes of the values counted. Shared by the staff login (per account and
    per address) and the respondents' removal page (per client).
    """

    def __init__(
        self,
        storage_uri: str,
        rules: dict[str, str],
        prefix: str,
        secret: str = "",
        name: str = "login",
    ) -> None:
        # Short timeouts: a Redis in trouble must not hold up a login for long.
        options = {"socket_timeout": 0.5, "socket_connect_timeout": 0.5}
        redis = storage_uri.startswith(("redis://", "rediss://", "unix://"))
        self.storage = storage_from_string(storage_uri, **(options if redis else {}))
        self._limiter = MovingWindowRateLimiter(self.storage)
        self._memory_storage = MemoryStorage()
        self._memory = MovingWindowRateLimiter(self._memory_storage)
        self._shared = storage_uri != "memory://"
        self._redis_down_until = 0.0
        self._rules = [(kind, parse_many(limits)) for kind, limits in rules.items()]
        self._prefix = prefix
        self._secret = secret.encode()
        self.name = name

    def _keys(self, values: dict[str, str]) -> list[tuple[RateLimitItem, tuple[str, ...]]]:
        return [
            (limit, (self._prefix, kind, self._pseudonym(values[kind])))
            for kind, limits in self._rules
            for limit in limits
        ]

    def _pseudonym(self, value: str) -> str:
        # Redis keys name neither the address typed nor the client's IP address.
        return hmac.new(self._secret, value.encode(), hashlib.sha256).hexdigest()[:32]

    def _run(self, work: Callable[[MovingWindowRateLimiter], T]) -> T:
        """`work` on Redis, or in this process while Redis does not answer: a login page
        (or a removal page) must not fail because the counts are out of reach."""
        if self._shared and time.monotonic() >= self._redis_down_until:
            try:
                return work(self._limiter)
            except Exception as exc:  # noqa: BLE001 - any Redis failure: count here for now
                self._redis_down_until = time.monotonic() + RETRY_REDIS_SECONDS
                log.warning("%s throttle unavailable: %s", self.name, type(exc).__name__)
        return work(self._memory if self._shared else self._limiter)

    def wait_for(self, **values: str) -> int | None:
        """Seconds until another attempt is allowed, or None when it is allowed now."""

        def check(limiter: MovingWindowRateLimiter) -> int | None:
            for limit, key in self._keys(values):
                if not limiter.test(limit, *key):
                    reset = limiter.get_window_stats(limit, *key).reset_time
                    return max(1, int(reset - time.time()) + 1)
            return None

        return self._run(check)

    def failed_for(self, **values: str) -> None:
        """Count one failed attempt."""

        def count(limiter: MovingWindowRateLimiter) -> None:
            for limit, key in self._keys(values):
                limiter.hit(limit, *key)

        self._run(count)

    def reset(self) -> None:
        self.storage.reset()
        self._memory_storage.reset()
        self._redis_down_until = 0.0


class LoginThrottle(Throttle):
    """Failed staff logins, per account and per client address."""

    def __init__(
        self, storage_uri: str, per_account: str, per_address: str, prefix: str, secret: str = ""
    ) -> None:
        rules = {"account": per_account, "address": per_address}
        super().__init__(storage_uri, rules, prefix, secret)

    def wait(self, account: str, address: str) -> int | None:
        return self.wait_for(account=account.strip().lower()[:254], address=address)

    def failed(self, account: str, address: str) -> None:
        self.failed_for(account=account.strip().lower()[:254], address=address)


def init_app(app: Flask) -> None:
    config = app.config
    app.extensions[EXTENSION] = LoginThrottle(
        config.get("REDIS_URL") or "memory://",
        config["LOGIN_LIMITS_PER_ACCOUNT"],
        config["LOGIN_LIMITS_PER_ADDRESS"],
        config.get("LOGIN_THROTTLE_PREFIX", "peiling-login"),
        secret=str(config["SECRET_KEY"]),
    )


def throttle() -> LoginThrottle:
    return current_app.extensions[EXTENSION]  # type: ignore[no-any-return]
