"""Webhooks: a batch created with `webhook_url` gets one signed POST when it ends, on both job-store engines.

The receiver is a small HTTP server on a loopback port (so `DEEPINTSHIELD_WEBHOOK_ALLOW_LOCAL` is on
here) that records every POST and answers with the statuses a test scripts. Every event is checked
with the OpenAI SDK's own `webhooks.unwrap`. The polling and retry schedule is driven by calling the
sweep with the watch clock moved on, and huey in immediate mode, rather than by waiting.
"""

from __future__ import annotations

import dataclasses
import json
import time

import openai
import pytest

from blueprints import registry
from blueprints.gateway import keys
from blueprints.gateway import queue as gateway_queue
from blueprints.gateway.store import Watch, store_for
from blueprints.webhooks import events, urls, watches
from tests.fakes.openai import FakeOpenAI
from tests.gateway import echo_realtime
from tests.gateway.redis_server import on_engine
from tests.gateway.webhook_receiver import SECRET

QUERY = {"provider": "openai"}


@pytest.fixture(params=["sqlite", "redis"])
def test_config(request, test_config):
    return on_engine(request, {**test_config, "WEBHOOK_SECRET": SECRET, "WEBHOOK_ALLOW_LOCAL": True,
                               "WEBHOOK_TIMEOUT": 5.0})


@pytest.fixture
def fake(rsps):
    fake = FakeOpenAI()
    fake.register(rsps)
    rsps.add_passthru("http://127.0.0.1")  # the receiver: webhooks are posted with requests, which `responses` mocks
    return fake


@pytest.fixture
def echo(monkeypatch):
    spec = dataclasses.replace(registry.PROVIDERS["openai"], realtime="tests.gateway.echo_realtime")
    monkeypatch.setitem(registry.PROVIDERS, "openai", spec)
    echo_realtime.CALLS.clear()
    echo_realtime.DELAY["seconds"] = 0.0


@pytest.fixture
def immediate(app):
    """huey running each task as it is queued, in this thread (the sweep's tasks, driven by the test)."""
    gateway_queue.bind(app)
    huey = gateway_queue.queue_for(app.config["QUEUE"]).huey
    huey.immediate = True
    yield
    huey.immediate = False


def _upload(sdk, texts: list[str]) -> str:
    content = "\n".join(json.dumps({"custom_id": f"req-{n}", "method": "POST", "url": "/v1/chat/completions",
                                    "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}]}})
                        for n, text in enumerate(texts)).encode()
    return sdk.files.create(file=("in.jsonl", content, "application/jsonl"), purpose="batch", extra_body=QUERY).id


def _create(sdk, webhook_url: str, **extra):
    return sdk.batches.create(input_file_id=_upload(sdk, ["hello", "world"]), endpoint="/v1/chat/completions",
                              completion_window="24h", extra_body={**QUERY, "webhook_url": webhook_url, **extra})


def _sweep_at(app, monkeypatch, t: float) -> int:
    monkeypatch.setattr(watches, "now", lambda: t)
    with app.app_context():
        return watches.sweep()


def _store(app):
    return store_for(app.config["QUEUE"])


def test_a_gateway_run_batch_posts_one_signed_event_when_it_ends(sdk, app, fake, echo, receiver, gateway_worker):
    batch = _create(sdk, receiver.url, execution="gateway", metadata={"job": "w1"})
    watch = _store(app).get_watch(batch.id)
    assert watch is None or watch.record["key"] is None  # (None: delivered already) no key kept for it
    deadline = time.monotonic() + 20
    while sdk.batches.retrieve(batch.id).status != "completed" and time.monotonic() < deadline:
        time.sleep(0.05)
    receiver.wait_for(1)
    time.sleep(0.3)  # nothing more comes
    ((event, raw),) = receiver.events()
    assert event.type == "batch.completed" and event.object == "event" and event.data.id == batch.id
    assert raw["id"].startswith("evt_") and raw["id"] == receiver.posts[0][0]["webhook-id"]
    done = sdk.batches.retrieve(batch.id)
    carried = openai.types.Batch.model_validate(raw["data"]["batch"])  # the whole Batch object, as the SDK reads it
    assert carried == done and carried.request_counts.completed == 2 and carried.metadata == {"job": "w1"}
    assert event.data.batch == raw["data"]["batch"]  # what the README's snippet reads
    assert event.created_at == done.completed_at
    assert receiver.posts[0][0]["content-type"] == "application/json"
    assert _store(app).get_watch(batch.id) is None  # delivered: nothing left to watch


def test_a_provider_batch_is_polled_with_the_clients_key_and_posted_once(sdk, app, fake, receiver, immediate,
                                                                         monkeypatch):
    batch = _create(sdk, receiver.url)
    assert not batch.id.startswith("batch_ds")  # OpenAI's own batch, not a gateway-run one
    watch = _store(app).get_watch(batch.id)
    assert watch is not None and watch.record["key"] and "sk-test-key" not in json.dumps(watch.record)
    t = time.time()
    assert _sweep_at(app, monkeypatch, t) == 0  # the first look is a minute after the create
    looks = 0
    while not receiver.posts and looks < 10:
        t += 61
        looks += _sweep_at(app, monkeypatch, t)
    assert looks == 3  # validating -> in_progress -> finalizing -> completed, a look each
    assert fake.calls.count(("GET", f"/v1/batches/{batch.id}")) == 3 and "sk-test-key" in fake.keys_seen
    ((event, raw),) = receiver.events()
    assert event.type == "batch.completed" and event.data.id == batch.id
    assert raw["data"]["batch"]["status"] == "completed" and raw["data"]["batch"]["output_file_id"]
    assert _store(app).get_watch(batch.id) is None
    for later in (120, 3600, 86400):  # delivered once: no more POSTs, no more looks
        assert _sweep_at(app, monkeypatch, t + later) == 0
    assert len(receiver.posts) == 1


def test_a_refused_post_is_retried_with_backoff_and_the_same_event(sdk, app, fake, receiver, immediate, monkeypatch):
    receiver.statuses[:] = [500, 500]
    batch = _create(sdk, receiver.url)
    t = time.time()
    while not receiver.posts:
        t += 61
        _sweep_at(app, monkeypatch, t)
    assert len(receiver.posts) == 1
    assert _sweep_at(app, monkeypatch, t + 4) == 0  # the first retry waits 5 s
    assert _sweep_at(app, monkeypatch, t + 6) == 1
    assert len(receiver.posts) == 2
    assert _sweep_at(app, monkeypatch, t + 6 + 299) == 0  # the second, 5 minutes
    assert _sweep_at(app, monkeypatch, t + 6 + 301) == 1
    assert _sweep_at(app, monkeypatch, t + 6 + 301 + 86400) == 0  # a 200: done
    parsed = receiver.events()
    assert len(parsed) == 3
    assert len({headers["webhook-id"] for headers, _ in receiver.posts}) == 1
    assert len({body for _, body in receiver.posts}) == 1  # the same event, byte for byte
    assert {event.data.id for event, _ in parsed} == {batch.id}
    assert _store(app).get_watch(batch.id) is None


def test_a_receiver_that_never_accepts_is_given_up_after_the_last_attempt(app, receiver, immediate, monkeypatch):
    receiver.statuses[:] = [503] * 20
    store = _store(app)
    batch = {"id": "batch_given_up", "status": "failed", "failed_at": 1_700_000_000}
    event = events.event_id(batch["id"])
    store.add_watch(Watch(batch["id"], "owner", 0.0, {
        "provider": "openai", "url": receiver.url, "created_at": 0, "polls": 0, "poll_errors": 0, "attempts": 0,
        "key": None, "storage": None, "event": event, "body": events.event_body(batch, event, 1_700_000_000)}))
    t = time.time()
    for _ in range(30):
        t += 40_000
        _sweep_at(app, monkeypatch, t)
    assert len(receiver.posts) == len(watches.DELIVERY_WAITS) + 1
    assert store.get_watch(batch["id"]) is None
    event_seen, _ = receiver.events()[0]
    assert event_seen.type == "batch.failed"


def test_a_watch_whose_batch_cannot_be_read_is_given_up(app, fake, receiver, immediate, monkeypatch):
    store = _store(app)
    t = time.time()
    base = {"provider": "openai", "url": receiver.url, "created_at": int(t), "polls": 0, "poll_errors": 0,
            "attempts": 0, "storage": None, "event": None}
    with app.app_context():
        sealed = keys.seal("sk-test-key", "batch_nobody_made")
    store.add_watch(Watch("batch_nobody_made", "owner", t, {**base, "key": sealed}))  # the fake: a 404
    store.add_watch(Watch("batch_sealed_elsewhere", "owner", t, {**base, "key": "bm90IGEgc2VhbGVkIGtleQ=="}))
    _sweep_at(app, monkeypatch, t + 1)
    assert store.get_watch("batch_nobody_made") is None  # a 404: at once
    for n in range(1, watches.POLL_ERRORS):  # a key that does not unseal: after POLL_ERRORS looks
        watch = store.get_watch("batch_sealed_elsewhere")
        assert watch is not None and watch.record["poll_errors"] == n
        _sweep_at(app, monkeypatch, t + 1 + n * 1000)  # past the longest wait between looks
    assert store.get_watch("batch_sealed_elsewhere") is None
    assert receiver.posts == []
    assert ("GET", "/v1/batches/batch_nobody_made") in fake.calls and "sk-test-key" in fake.keys_seen


@pytest.mark.parametrize("url, allow_local, says", [
    ("ftp://example.com/hook", True, "https://"),
    ("http://93.184.216.34/hook", True, "https://"),  # http to a public address
    ("https://169.254.169.254/latest/meta-data", True, "link-local"),  # never, whatever the setting
    ("https://[::ffff:169.254.169.254]/x", True, "link-local"),
    ("https://127.0.0.1/hook", False, "loopback or private"),
    ("https://10.1.2.3/hook", False, "loopback or private"),
    ("https://user:secret@93.184.216.34/hook", True, "credentials"),
    ("https://93.184.216.34/" + "a" * 2100, True, "2048"),
    ("", True, "webhook_url"),
])
def test_a_webhook_url_that_cannot_be_used_is_a_400_naming_it(sdk, app, fake, url, allow_local, says):
    app.config["WEBHOOK_ALLOW_LOCAL"] = allow_local
    with pytest.raises(openai.BadRequestError) as caught:
        _create(sdk, url)
    assert caught.value.body["param"] == "webhook_url" and says in caught.value.message
    assert "secret" not in caught.value.message
    assert not fake.batches  # refused before anything was created upstream


def test_without_a_secret_webhooks_are_refused(sdk, app, fake, receiver):
    app.config["WEBHOOK_SECRET"] = ""
    with pytest.raises(openai.BadRequestError) as caught:
        _create(sdk, receiver.url)
    assert caught.value.body["param"] == "webhook_url" and caught.value.code == "webhooks_not_configured"


def test_a_repeated_create_keeps_one_watch(sdk, app, fake, echo, receiver):
    input_file = _upload(sdk, ["same"])
    made = [sdk.batches.create(input_file_id=input_file, endpoint="/v1/chat/completions", completion_window="24h",
                               extra_body={**QUERY, "execution": "gateway", "webhook_url": receiver.url})
            for _ in range(2)]
    assert made[0].id == made[1].id
    store = _store(app)
    assert store.due_watches(time.time() + 3600, 10) == [made[0].id]


def test_a_connection_that_reaches_a_refused_address_is_cut_before_sending(receiver):
    """The check on the connected socket (what a name resolving to an inside address later would reach)."""
    status = urls.post(receiver.url, "{}", {}, timeout=2.0, allow_local=False)
    assert status is None and receiver.posts == []
    assert urls.post(receiver.url, "{}", {}, timeout=2.0, allow_local=True) == 200


def test_watches_are_claimed_by_one_worker_at_a_time(app):
    store = _store(app)
    record = {"provider": "openai", "url": "https://example.com/", "n": 1}
    assert store.add_watch(Watch("batch_a", "o", 100.0, record)) is True
    assert store.add_watch(Watch("batch_a", "o", 5.0, {"n": 2})) is False  # the first one stays
    assert store.add_watch(Watch("batch_b", "o", 300.0, record)) is True
    assert store.due_watches(50.0, 10) == []
    assert store.due_watches(400.0, 10) == ["batch_a", "batch_b"]
    assert store.due_watches(400.0, 1) == ["batch_a"]
    claimed = store.claim_watch("batch_a", until=500.0, now=150.0)
    assert claimed is not None and claimed.due == 500.0 and claimed.record["n"] == 1
    assert store.claim_watch("batch_a", until=600.0, now=160.0) is None  # held
    store.set_watch("batch_a", 700.0, attempts=3)
    assert store.get_watch("batch_a") == Watch("batch_a", "o", 700.0, {**record, "attempts": 3})
    assert store.nudge_watch("batch_a", 200.0) is True and store.get_watch("batch_a").due == 200.0
    assert store.nudge_watch("batch_a", 250.0) is True and store.get_watch("batch_a").due == 200.0  # never later
    assert store.nudge_watch("batch_missing", 200.0) is False
    store.drop_watch("batch_a")
    assert store.get_watch("batch_a") is None and store.due_watches(10_000.0, 10) == ["batch_b"]


def test_the_signature_is_the_standard_webhooks_one(app):
    body = events.event_body({"id": "batch_x", "status": "expired", "expired_at": 5}, "evt_1", 5)
    headers = events.signed_headers("evt_1", body, SECRET, int(time.time()))
    parsed = openai.OpenAI(api_key="unused", base_url="http://127.0.0.1:9").webhooks.unwrap(body, headers,
                                                                                            secret=SECRET)
    assert parsed.type == "batch.expired" and parsed.data.id == "batch_x"
    with pytest.raises(openai.InvalidWebhookSignatureError):
        openai.OpenAI(api_key="unused", base_url="http://127.0.0.1:9").webhooks.unwrap(
            body.replace("batch_x", "batch_y"), headers, secret=SECRET)
