"""Rate limiting the public form per client, without storing who the client is.

A script that fetches the form and posts it again and again gets past the CSRF check and the
honeypot; counting posts per client stops it. The client is known only by a keyed hash of
its address (HMAC with the secret key and today's date), which lives in Redis for at most
the longest window and never reaches the database: no IP address is stored anywhere.

Counts live in Redis when PEILING_REDIS_URL is set, so every worker and every server counts
together. When Redis stops answering, respondents must still be able to answer: the limiter
falls back to counting in this process (a weaker limit, but a limit), says so once in the
log, and tries Redis again after a pause. Without Redis it counts per process from the start.

Fixed windows, all of them counted in one round trip to Redis (a small Lua script): this runs
on every post of the form, and `limits`' strategies (used for the login throttle) make one
round trip per window. Only `limits`' parser for "120 per minute" is used.
Flask-Limiter is not used for the reason auth/throttle.py gives.

The script is sent over a connection kept per thread (redis-py's `Connection`), not through
the `Redis` client: the client's pool, retry and command
machinery cost about three times the round trip itself (make bench, on every submission).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import os
import threading
import time
from functools import lru_cache
from typing import Any

from flask import Flask, current_app
from limits import parse_many
from redis.connection import ConnectionPool
from redis.exceptions import NoScriptError

log = logging.getLogger(__name__)

EXTENSION = "peiling.submit_limiter"
# After Redis failed, count in memory for this long before trying it again, so a dead Redis
# costs respondents one timeout per worker per pause, not one per request.
RETRY_REDIS_SECONDS = 30.0
# Redis is on the local network: an answer slower than this means it is in trouble.
REDIS_TIMEOUT_SECONDS = 0.25


# Count in every window, starting a window (with its expiry) at its first request. In one
# script, so that the count and the expiry can never come apart: with separate commands a key
# that expired between them would come back without an expiry and count for ever. KEYS are
# the windows' keys, ARGV their lengths and then their allowances; the reply is one number,
# 0 within every window, else the seconds until the first window over its allowance ends.
COUNT_SCRIPT = """
local wait = 0
for i, key in ipairs(KEYS) do
    local n = redis.call('INCR', key)
    local left = redis.call('TTL', key)
    if left < 0 then
        redis.call('EXPIRE', key, ARGV[i])
        left = tonumber(ARGV[i])
    end
    if wait == 0 and n > tonumber(ARGV[#KEYS + i]) then
        wait = math.max(1, left)
    end
end
return wait
"""
COUNT_SCRIPT_SHA = hashlib.sha1(COUNT_SCRIPT.encode()).hexdigest()  # noqa: S324 - Redis' name


class ScriptConnection:
    """Runs COUNT_SCRIPT over one kept connection per thread (and per process: a forked
    worker makes its own); a connection that failed is dropped and made again next time.

    The script is sent by `send()` and its answer read by `receive()`, so that the caller can
    work in between instead of sleeping through the round trip (see ClientLimiter.send)."""

    def __init__(self, redis_url: str) -> None:
        pool = ConnectionPool.from_url(
            redis_url,
            socket_timeout=REDIS_TIMEOUT_SECONDS,
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        )
        self._make = lambda: pool.connection_class(**pool.connection_kwargs)
        self._packer = self._make()  # never connected: only its pack_command() is used
        self._local = threading.local()

    def _connection(self) -> Any:
        local = self._local
        if getattr(local, "pid", None) != os.getpid():
            local.connection, local.pid, local.unread = self._make(), os.getpid(), False
        return local.connection

    def send(self, keys: tuple[str, ...], args: tuple[int, ...]) -> Any:
        """Send the script for `keys`; return the connection to `receive()` its answer on."""
        conn = self._connection()
        local = self._local
        try:
            if local.unread:  # a request stopped (an error) before reading its answer
                local.unread = False
                conn.read_response()
            conn.send_packed_command(
                self._packed("EVALSHA", COUNT_SCRIPT_SHA, keys, args), check_health=False
            )
        except BaseException:
            self._drop(conn)
            raise
        local.unread = True
        return conn

    def receive(self, conn: Any, keys: tuple[str, ...], args: tuple[int, ...]) -> int:
        """The answer to the script `send()` sent on `conn`."""
        try:
            try:
                reply = conn.read_response()
            except NoScriptError:  # a restarted Redis: the script is sent once in full
                reply = self._run(conn, self._packed("EVAL", COUNT_SCRIPT, keys, args))
        except BaseException:
            self._drop(conn)
            raise
        self._local.unread = False
        return int(reply)

    def _drop(self, conn: Any) -> None:
        conn.disconnect()
        self._local.unread = False

    @lru_cache(maxsize=4096)  # noqa: B019 - one limiter per app, kept as long as the app
    def _packed(
        self, command: str, script: str, keys: tuple[str, ...], args: tuple[int, ...]
    ) -> list[bytes]:
        # The same client sends the same command all day (a school: hundreds of times), and
        # packing it is most of redis-py's work for a round trip.
        return self._packer.pack_command(command, script, len(keys), *keys, *args)

    @staticmethod
    def _run(conn: Any, packed: list[bytes]) -> Any:
        conn.send_packed_command(packed, check_health=False)
        return conn.read_response()


class Counted:
    """One request counted by `ClientLimiter.send()`; `wait()` tells whether it was over."""

    __slots__ = ("_limiter", "_keys", "_conn", "_wait")

    def __init__(self, limiter: ClientLimiter, keys: tuple[str, ...], conn: Any) -> None:
        self._limiter, self._keys, self._conn = limiter, keys, conn
        self._wait: int | None = None

    def wait(self) -> int | None:
        """Seconds to wait when over a limit, else None (reads Redis' answer the first time)."""
        if self._keys:
            self._wait = self._limiter._finish(self._keys, self._conn)
            self._keys = ()
        return self._wait


class ClientLimiter:
    """Counts requests per client in fixed windows (`120 per minute;1200 per hour`)."""

    def __init__(self, limits_text: str, secret: str, redis_url: str | None, prefix: str) -> None:
        # (allowed, window length in seconds) per window
        self.windows = [
            (item.amount, item.get_expiry())
            for item in (parse_many(limits_text) if limits_text.strip() else [])
        ]
        # COUNT_SCRIPT's arguments: every window's length, then every window's allowance
        self._script_args = tuple(length for _, length in self.windows) + tuple(
            allowed for allowed, _ in self.windows
        )
        self._secret = secret.encode()
        self._prefix = prefix
        self._redis = ScriptConnection(redis_url) if redis_url and self.windows else None
        self._redis_down_until = 0.0
        self._counts: dict[str, tuple[int, float]] = {}  # here: key -> (count, window ends)
        self._lock = threading.Lock()

    def client(self, address: str | None, day: int | None = None) -> str:
        """A key for the client that cannot be turned back into its address."""
        if day is None:
            day = int(time.time() // 86400)  # the UTC day: yesterday's keys mean nothing today
        message = f"{day}|{client_network(address)}".encode()
        return hmac.digest(self._secret, message, "sha256").hex()[:24]

    @lru_cache(maxsize=4096)  # noqa: B019 - one limiter per app, kept as long as the app
    def keys(self, address: str | None, scope: str, day: int) -> tuple[str, ...]:
        """The client's key in each window; made once per client and day (a respondent
        posts every page of the form, a school's pupils share one address). The recent
        addresses stay in this process's memory only, as the requests themselves do."""
        client = self.client(address, day)
        return tuple(f"{self._prefix}:{scope}:{client}:{length}" for _, length in self.windows)

    def hit(self, address: str | None, scope: str = "submit") -> int | None:
        """Count one request; return the seconds to wait when over a limit, else None.

        A window starts with the client's first request in it (not on the clock's minute),
        so a burst cannot straddle two windows to get twice the allowance.
        """
        return self.send(address, scope).wait()

    def send(self, address: str | None, scope: str = "submit") -> Counted:
        """Count one request, as `hit()`, but leave reading Redis' answer to `wait()`: the
        caller can do its own work meanwhile instead of sleeping through the round trip (a
        worker that sleeps and wakes for every round trip costs CPU, make bench: about a
        sixth of a submission's). A request that ends before `wait()` has still counted."""
        if not self.windows:
            return Counted(self, (), None)
        keys = self.keys(address, scope, int(time.time() // 86400))
        conn = None
        if self._redis is not None and time.monotonic() >= self._redis_down_until:
            try:
                conn = self._redis.send(keys, self._script_args)
            except Exception as exc:  # noqa: BLE001 - any Redis failure: degrade, never fail
                self._redis_failed(exc)
        return Counted(self, keys, conn)

    def _finish(self, keys: tuple[str, ...], conn: Any) -> int | None:
        wait = None
        if conn is not None:
            try:
                wait = self._redis.receive(conn, keys, self._script_args)  # type: ignore[union-attr]
            except Exception as exc:  # noqa: BLE001 - any Redis failure: degrade, never fail
                self._redis_failed(exc)
        if wait is None:
            wait = self._wait_here(keys)
        return wait or None

    def _redis_failed(self, exc: Exception) -> None:
        self._redis_down_until = time.monotonic() + RETRY_REDIS_SECONDS
        log.warning(
            "rate limit: Redis unavailable (%s), counting in this process for %ds",
            type(exc).__name__,
            RETRY_REDIS_SECONDS,
        )

    def _wait_here(self, keys: tuple[str, ...]) -> int:
        """As COUNT_SCRIPT, counted in this process."""
        now = time.monotonic()
        wait = 0
        with self._lock:
            if len(self._counts) > 100_000:  # mostly ended windows: drop them
                self._counts = {k: v for k, v in self._counts.items() if v[1] > now}
            for key, (allowed, length) in zip(keys, self.windows, strict=True):
                count, ends = self._counts.get(key, (0, 0.0))
                if ends <= now:
                    count, ends = 0, now + length
                self._counts[key] = (count + 1, ends)
                if not wait and count + 1 > allowed:
                    wait = max(1, int(ends - now) + 1)
        return wait

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()
        self._redis_down_until = 0.0


def client_network(address: str | None) -> str:
    """What one client is counted by: an IPv4 address itself (also when IPv4-mapped), an
    IPv6 address's /64: one IPv6 host commonly holds a whole /64 and can take a new
    address for every request, so counting per address would not limit it at all."""
    if not address or ":" not in address:
        return address or "-"
    try:
        ip = ipaddress.IPv6Address(address)
    except ValueError:
        return address
    if ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ipaddress.IPv6Network((ip, 64), strict=False))


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
