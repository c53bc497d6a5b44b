"""The Redis cache backend (iop/cache.py) against a real, private redis-server: values live in Redis
while it is up; while it is down every call is served from the process's memory, quickly, with one
warning per outage that names no key; once Redis is back (after the back-off) writes go to Redis
again. Also a Redis that accepts connections and never answers (a partition) costs one call about
a second, not a hang."""

from __future__ import annotations

import logging
import socket
import subprocess
import time

import pytest
import redis

from iop import cache as cache_module
from iop.cache import ResilientRedisCache
from tests.test_faults import REDIS_SERVER, Redis

pytestmark = [pytest.mark.redis]

BACK_OFF = 1.0  # seconds on the fallback before Redis is tried again (production default: 5)
# Cache keys can carry e-mail addresses (allauth's rate limits): none may reach the log.
KEY = "login_failed:alice@example.org"


@pytest.fixture
def redis_server(tmp_path):
    if REDIS_SERVER is None:
        pytest.skip("redis-server is not installed: the Redis tests need it to start their own Redis")
    server = Redis(tmp_path)
    try:
        server.start()
    except (subprocess.CalledProcessError, RuntimeError) as exc:
        pytest.skip(f"Redis is unreachable: could not start redis-server ({exc})")
    yield server
    server.stop()  # a no-op when the test already stopped it


def _make_cache(location: str) -> ResilientRedisCache:
    return ResilientRedisCache(location, {"KEY_PREFIX": "t", "OPTIONS": {"fallback_retry_seconds": BACK_OFF}})


@pytest.fixture
def make_cache():
    """Cache objects on one location (as Django makes one per thread); their shared outage state
    and fallback store are forgotten after the test."""
    made = []

    def make(location: str) -> ResilientRedisCache:
        made.append(_make_cache(location))
        return made[-1]

    yield make
    for c in made:
        c._fallback.clear()
        cache_module._outages.pop(",".join(c._servers), None)


def _location(server: Redis) -> str:
    return f"redis://127.0.0.1:{server.port}/1"


def _raw(server: Redis) -> redis.Redis:
    return redis.Redis.from_url(_location(server))


def _timed(fn, *args, **kwargs):
    started = time.monotonic()
    result = fn(*args, **kwargs)
    return result, time.monotonic() - started


def _cache_records(caplog, level: int) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "iop.cache" and r.levelno == level]


def test_it_keeps_values_in_redis_while_it_is_up(redis_server, make_cache):
    c, raw = make_cache(_location(redis_server)), _raw(redis_server)
    c.set(KEY, [1.5, 2.5], 60)
    assert c.get(KEY) == [1.5, 2.5]
    assert raw.exists(c.make_key(KEY)) and 0 < raw.ttl(c.make_key(KEY)) <= 60
    assert c.add("counter", 1, 60) and not c.add("counter", 5, 60)
    assert c.incr("counter") == 2 and c.decr("counter", 2) == 0
    assert int(raw.get(c.make_key("counter"))) == 0
    c.set_many({"a": "x", "b": "y"}, 60)
    assert c.get_many(k for k in ("a", "b", "missing")) == {"a": "x", "b": "y"}
    assert raw.exists(c.make_key("a"), c.make_key("b")) == 2
    assert c.get_or_set("made", lambda: "z", 60) == "z" and raw.exists(c.make_key("made"))
    assert c.has_key("a") and "a" in c
    assert c.touch("a", 300) and raw.ttl(c.make_key("a")) > 60
    assert c.delete("a") and not raw.exists(c.make_key("a"))
    c.delete_many(["b", "made"])
    assert not raw.exists(c.make_key("b"), c.make_key("made"))
    with pytest.raises(ValueError):
        c.incr("never-set")  # Redis's own answer, not an outage: it propagates as with Django's backend
    assert not c._outage.down
    assert c._fallback.get(KEY) is None  # nothing went to memory


def test_it_serves_from_memory_while_redis_is_down_and_warns_once(redis_server, make_cache, caplog):
    caplog.set_level(logging.INFO, logger="iop.cache")
    location = _location(redis_server)
    c, other_thread = make_cache(location), make_cache(location)
    c.set("before", "in redis", 60)
    redis_server.stop()

    calls = [
        (c.get, ("before",), None),  # Redis's data is out of reach, not an error
        (c.set, (KEY, "v", 60), None),
        (c.get, (KEY,), "v"),
        (c.add, ("totp-used", "y", 30), True),
        (c.add, ("totp-used", "y", 30), False),  # replay protection still holds in this process
        (c.add, ("n", 1, 60), True),
        (c.incr, ("n",), 2),
        (c.decr, ("n",), 1),
        (c.get_many, ([KEY, "n", "missing"],), {KEY: "v", "n": 1}),
        (c.has_key, (KEY,), True),
        (c.touch, (KEY, 60), True),
        (c.get_or_set, ("made", "z", 60), "z"),
        (c.set_many, ({"a": 1, "b": 2}, 60), []),
        (c.delete_many, (["a", "b"],), None),
        (c.get, ("a",), None),
        (c.delete, (KEY,), True),
        (c.get, (KEY,), None),
        # Another thread's cache object shares the outage and the memory.
        (other_thread.get, ("n",), 1),
        (other_thread.add, ("totp-used", "y", 30), False),
    ]
    for fn, args, expected in calls:
        result, took = _timed(fn, *args)
        assert result == expected, (fn.__name__, args, result)
        assert took < 1, (fn.__name__, took)

    # Past the back-off Redis is tried again (still down): still served, still one warning.
    time.sleep(BACK_OFF + 0.2)
    result, took = _timed(c.get, "n")
    assert result == 1 and took < 1

    warnings = _cache_records(caplog, logging.WARNING)
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert "ConnectionError" in warnings[0].getMessage()
    for record in caplog.records:
        message = record.getMessage()
        assert "alice" not in message and "totp-used" not in message and "before" not in message, message
    assert not _cache_records(caplog, logging.INFO)


def test_it_goes_back_to_redis_after_the_back_off(redis_server, make_cache, caplog):
    caplog.set_level(logging.INFO, logger="iop.cache")
    c, raw = make_cache(_location(redis_server)), _raw(redis_server)
    redis_server.stop()
    c.set("during", "memory", 60)
    assert c.get("during") == "memory"
    redis_server.start()  # same port, empty

    # Inside the back-off Redis is not asked even though it is back.
    c.set("still-memory", 1, 60)
    assert not raw.exists(c.make_key("still-memory"))

    time.sleep(BACK_OFF + 0.2)
    c.set("after", "redis", 60)
    assert raw.get(c.make_key("after")) is not None
    assert c.get("after") == "redis"
    # What was cached in memory during the outage is dropped, not carried into the next one.
    assert c.get("during") is None and c._fallback.get("during") is None
    assert len(_cache_records(caplog, logging.WARNING)) == 1
    assert [r.getMessage() for r in _cache_records(caplog, logging.INFO)] == [
        "Cache: Redis is reachable again; the cache is back on Redis."
    ]


def test_a_redis_that_never_answers_costs_one_call_about_a_second(make_cache, caplog):
    """A partition: the port accepts connections (the kernel's backlog) and nothing ever answers."""
    caplog.set_level(logging.INFO, logger="iop.cache")
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    try:
        c = make_cache(f"redis://127.0.0.1:{silent.getsockname()[1]}/1")
        result, took = _timed(c.get, KEY, "default")
        assert result == "default" and took < 2.5, took  # the 1 s read timeout, not a hang
        result, took = _timed(c.set, KEY, "v", 60)
        assert took < 0.1, took  # in the back-off: straight to memory
        assert c.get(KEY) == "v"
        warnings = _cache_records(caplog, logging.WARNING)
        assert len(warnings) == 1 and "TimeoutError" in warnings[0].getMessage()
    finally:
        silent.close()


def test_refused_credentials_fail_loudly_instead_of_falling_back(redis_server, make_cache):
    """A wrong or missing password is a configuration error: it raises on every call rather than
    quietly running the cache in each process's memory."""
    _raw(redis_server).config_set("requirepass", "the-right-one")
    for location in (_location(redis_server), f"redis://:a-wrong-one@127.0.0.1:{redis_server.port}/1"):
        c = make_cache(location)
        with pytest.raises(redis.exceptions.AuthenticationError):
            c.set(KEY, 1)
        assert c._fallback.get(KEY) is None
    redis.Redis(port=redis_server.port, password="the-right-one").config_set("requirepass", "")
