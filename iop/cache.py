"""A Redis cache that keeps the app usable while Redis is down.

Django's ``RedisCache`` raises on every call while Redis is unreachable, and the cache sits on the
sign-in path (allauth's rate limits and TOTP replay protection) and on break-glass look-ups, so an
outage would turn those into 500s. ``ResilientRedisCache`` sends every operation to Redis as
Django's backend does; when Redis cannot be reached it serves the operation from a per-process
``LocMemCache`` instead, so rate limits and replay checks keep working, per process, until Redis
is back. ``settings.py`` selects it for every ``redis://``, ``rediscache://`` and ``rediss://``
``CACHE_URL``.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import redis
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from redis.backoff import NoBackoff
from redis.retry import Retry

logger = logging.getLogger(__name__)

# What "Redis is unreachable" looks like: refused, reset or timed-out connections, and socket
# errors redis-py did not wrap. Any other error (incr on a missing key, a full Redis) propagates
# exactly as it does with Django's backend.
REDIS_DOWN = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError)
# Redis answered but refused the credentials: a configuration error that must fail loudly, not
# run unnoticed on per-process memory (redis-py derives it from ConnectionError).
REDIS_REFUSED = (redis.exceptions.AuthenticationError, redis.exceptions.AuthorizationError)

# Defaults for the redis-py connection, overridable in OPTIONS (or CACHE_URL's query string).
# Short timeouts so a partitioned Redis costs one request at most ~1 s instead of hanging it;
# no retries inside redis-py, because the back-off below is the retry policy.
DEFAULT_OPTIONS: dict[str, Any] = {
    "socket_connect_timeout": 0.5,
    "socket_timeout": 1.0,
    "retry": Retry(NoBackoff(), 0),
}


class _Outage:
    """Whether one Redis location is down, shared by every thread of the process (Django makes
    one cache object per thread, so this cannot live on the instance)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.down = False
        self.retry_at = 0.0


_outages: dict[str, _Outage] = {}
_outages_lock = threading.Lock()


class ResilientRedisCache(RedisCache):
    """Django's RedisCache with a per-process in-memory fallback while Redis is unreachable.

    Extra OPTIONS (lower case, so they can be given in ``CACHE_URL``'s query string):
    ``fallback_retry_seconds`` (default 5) is how long to stay on the fallback before trying
    Redis again; ``fallback_max_entries`` (default 10,000) bounds the fallback's size.

    When Redis fails, one WARNING is logged per outage and, once a retry succeeds, one INFO;
    neither names a key or a value (keys can hold e-mail addresses). While down, only one
    request per back-off period tries Redis; the others go straight to memory. What was written
    to memory during the outage is dropped when Redis is back.
    """

    def __init__(self, server, params):
        options = {**DEFAULT_OPTIONS, **params.get("OPTIONS", {})}
        self._retry_seconds = float(options.pop("fallback_retry_seconds", 5))
        max_entries = int(options.pop("fallback_max_entries", 10_000))
        super().__init__(server, {**params, "OPTIONS": options})
        location = ",".join(self._servers)
        with _outages_lock:
            self._outage = _outages.setdefault(location, _Outage())
        # LocMemCache objects with the same name share one store per process, so every thread's
        # cache object sees the same fallback data. Same KEY_PREFIX, VERSION and TIMEOUT as Redis.
        self._fallback = LocMemCache(
            f"{__name__}.fallback:{location}", {**params, "OPTIONS": {"MAX_ENTRIES": max_entries}}
        )

    def _call(self, name: str, *args: Any) -> Any:
        """Run the RedisCache method ``name``, or the fallback's while Redis is unreachable."""
        outage = self._outage
        probing = False
        if outage.down:
            with outage.lock:
                if outage.down:
                    now = time.monotonic()
                    if now < outage.retry_at:
                        return getattr(self._fallback, name)(*args)
                    # This call tries Redis; the others stay on the fallback until it answers.
                    outage.retry_at = now + self._retry_seconds
                    probing = True
        reached = True
        try:
            return getattr(super(), name)(*args)
        except REDIS_REFUSED:
            raise
        except REDIS_DOWN as exc:
            reached = False
            self._went_down(exc)
        finally:
            if probing and reached:  # Redis answered (even with an error of its own)
                self._came_back()
        return getattr(self._fallback, name)(*args)

    def _went_down(self, exc: Exception) -> None:
        outage = self._outage
        with outage.lock:
            outage.retry_at = time.monotonic() + self._retry_seconds
            if outage.down:
                return
            outage.down = True
        # The exception names the server and the socket error only, never the command's key.
        logger.warning(
            "Cache: Redis is unreachable (%s: %s); serving the cache from this process's memory and "
            "retrying every %g s. Sign-in rate limits and TOTP replay checks are per process until it is back.",
            type(exc).__name__,
            exc,
            self._retry_seconds,
        )

    def _came_back(self) -> None:
        outage = self._outage
        with outage.lock:
            if not outage.down:
                return
            outage.down = False
        # Redis is the truth again; stale entries (a rate-limit lock, a counter) must not
        # resurface in the next outage.
        self._fallback.clear()
        logger.info("Cache: Redis is reachable again; the cache is back on Redis.")

    # RedisCache's public API. BaseCache builds get_or_set, decr, incr_version, decr_version,
    # __contains__ and the async a*() methods out of these, so they fall back through them.

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("add", key, value, timeout, version)

    def get(self, key, default=None, version=None):
        return self._call("get", key, default, version)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("set", key, value, timeout, version)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("touch", key, timeout, version)

    def delete(self, key, version=None):
        return self._call("delete", key, version)

    def get_many(self, keys, version=None):
        return self._call("get_many", list(keys), version)  # a generator could be read only once

    def has_key(self, key, version=None):
        return self._call("has_key", key, version)

    def incr(self, key, delta=1, version=None):
        return self._call("incr", key, delta, version)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("set_many", data, timeout, version)

    def delete_many(self, keys, version=None):
        return self._call("delete_many", list(keys), version)

    def clear(self):
        return self._call("clear")
