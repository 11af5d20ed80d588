"""Fixtures: a fresh app per test, its test client, the upstream mock, and the real OpenAI SDK
against the app served on a loopback port."""

from __future__ import annotations

import importlib
import importlib.util
import os
import threading

import httpx2 as httpx
import pytest
import responses
from _pytest.fixtures import FixtureFunctionDefinition
from openai import OpenAI
from werkzeug.serving import make_server

from app import create_app
from blueprints import registry
from blueprints.anthropic import client as anthropic_client
from blueprints.common import aws, filestore, http
from blueprints.gateway import queue as gateway_queue
from tests.fakes import fake_base
from tests.gateway.redis_server import redis_server, redis_url  # noqa: F401 fixtures for every test
from tests.gateway.webhook_receiver import receiver  # noqa: F401 a fixture for every test

OPENAI_BASE = fake_base("openai")  # https://openai.fake/v1
ANTHROPIC_BASE = fake_base("anthropic")
GEMINI_BASE = fake_base("gemini")


@pytest.fixture
def test_config(tmp_path) -> dict:
    return {
        "TESTING": True,
        "API_KEYS": [],
        # every provider's upstream: its fake (providers with a base URL setting)
        **{spec.base_url: fake_base(name) for name, spec in registry.PROVIDERS.items() if spec.base_url},
        "FILE_STORE": str(tmp_path / "files"),
        "QUEUE": str(tmp_path / "queue.db"),
        "UPSTREAM_RETRIES": 2,
        "UPSTREAM_TIMEOUT": (2.0, 10.0),
    }


@pytest.fixture
def app(test_config):
    http.session.cache_clear()
    aws.reset_clients()
    filestore._store_for.cache_clear()
    anthropic_client._verified.clear()
    yield create_app(test_config)
    http.session.cache_clear()
    aws.reset_clients()


def server_env(**settings: str) -> dict[str, str]:
    """The environment for a gateway started as a process: this one without the gateway's own settings
    (whatever the shell or CI has set must not change what a test sees), plus `settings`."""
    inherited = {name: value for name, value in os.environ.items()
                 if not name.startswith("DEEPINTSHIELD_") and name not in ("PORT", "WEB_CONCURRENCY")}
    return {**inherited, **settings}


def owned_store(app, key: str = "sk-test-key") -> filestore.OwnedStore:
    """The file store as the client holding `key` sees it (for tests that look behind the API)."""
    with app.test_request_context(headers={"Authorization": f"Bearer {key}"}):
        return filestore.store()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def gateway(app):
    """The app served on 127.0.0.1 in a background thread; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def sdk(gateway):
    """The real OpenAI SDK, strict response validation on, no retries."""
    with OpenAI(
        base_url=f"{gateway}/openai",
        api_key="sk-test-key",
        max_retries=0,
        timeout=30,
        http_client=httpx.Client(),
        _strict_response_validation=True,
    ) as client:
        yield client


@pytest.fixture
def gateway_worker(app):
    """A worker for gateway-run batches inside the test process (so `responses` fakes reach it): huey's
    consumer with four threads on the app's queue. Yields the consumer; stopped after the test."""
    gateway_queue.bind(app)
    consumer = gateway_queue.queue_for(app.config["QUEUE"]).huey.create_consumer(
        workers=4, worker_type="thread", periodic=False, initial_delay=0.01, backoff=1.1, max_delay=0.05)
    consumer.start()
    yield consumer
    consumer.stop(graceful=True)


# Every registered provider's fake module: its fixtures (`<provider>_contract` for the provider contract
# test above all) are visible to every test, so a new provider's fake needs no edit here. So are those of
# the fake that stands for every server declared in DEEPINTSHIELD_CHAT_ENDPOINTS (`chat_server`).
for _provider in [*registry.PROVIDERS, "chatserver"]:
    if importlib.util.find_spec(f"tests.fakes.{_provider}") is None:
        continue  # a provider declared by configuration is served by another's code (and fake)
    _fake = importlib.import_module(f"tests.fakes.{_provider}")
    globals().update({_name: _value for _name, _value in vars(_fake).items()
                      if isinstance(_value, FixtureFunctionDefinition)})
