"""A real `redis-server` for the tests of the Redis engine (Debian's package; `.ci/run` installs it).

Started once per session on a free loopback port, with no persistence, and flushed before each test
that asks for it. Without `redis-server` on the PATH the tests that need it are skipped, except
under CI (`CI_REQUIRE_REDIS=1`), where that is a failure.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory) -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("CI_REQUIRE_REDIS"):
            pytest.fail("redis-server is not installed (CI installs Debian's redis-server package)")
        pytest.skip("redis-server is not installed")
    port = _free_port()
    folder = tmp_path_factory.mktemp("redis")
    process = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
                                "no", "--dir", str(folder)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    url = f"redis://127.0.0.1:{port}/0"
    import redis

    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                pytest.fail("redis-server did not start")
            time.sleep(0.05)
    yield url
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def redis_url(redis_server: str) -> str:
    """The session's Redis, emptied for this test."""
    import redis

    redis.Redis.from_url(redis_server).flushall()
    return redis_server


def on_engine(request: pytest.FixtureRequest, config: dict) -> dict:
    """`config` for the engine `request.param` names: "sqlite" (the test's own file) or "redis" (this
    session's server). For a module's `test_config(request, test_config)` fixture with
    `params=["sqlite", "redis"]`, which runs every test of the module on both."""
    if request.param == "redis":
        return {**config, "QUEUE": request.getfixturevalue("redis_url")}
    return config
