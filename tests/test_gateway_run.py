"""Gateway-run batches, the core: the OpenAI lifecycle through the real SDK, with a worker in this process.

The provider is OpenAI (its Files API from the stateful fake), its real-time module replaced by
`tests/gateway/echo_realtime.py`, so these tests are about the job store, the queue, the runner
and the Batch objects, not about any provider's reply format (the providers' own realtime tests
cover those).
"""

from __future__ import annotations

import dataclasses
import json
import time

import openai
import pytest

from blueprints import registry
from blueprints.gateway import limits, runner
from blueprints.gateway.store import Job, store_for
from tests.fakes.openai import FakeOpenAI
from tests.gateway import echo_realtime
from tests.gateway.redis_server import on_engine

QUERY = {"provider": "openai"}


@pytest.fixture(params=["sqlite", "redis"])
def test_config(request, test_config):
    """Every test here on both engines: the embedded SQLite file and a real Redis."""
    return on_engine(request, test_config)


@pytest.fixture
def echo(monkeypatch):
    spec = dataclasses.replace(registry.PROVIDERS["openai"], realtime="tests.gateway.echo_realtime")
    monkeypatch.setitem(registry.PROVIDERS, "openai", spec)
    echo_realtime.CALLS.clear()
    echo_realtime.DELAY["seconds"] = 0.0
    return echo_realtime


@pytest.fixture
def fake(rsps):
    fake = FakeOpenAI()
    fake.register(rsps)
    return fake


def _jsonl(texts: list[str], custom_ids: list[str] | None = None) -> bytes:
    ids = custom_ids or [f"req-{n}" for n in range(len(texts))]
    return "\n".join(json.dumps({"custom_id": cid, "method": "POST", "url": "/v1/chat/completions",
                                 "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}]}})
                     for cid, text in zip(ids, texts, strict=True)).encode()


def _create(sdk, content: bytes, **extra):
    uploaded = sdk.files.create(file=("in.jsonl", content, "application/jsonl"), purpose="batch",
                                extra_body=QUERY)
    return sdk.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h",
                              extra_body={**QUERY, "execution": "gateway", **extra})


def _wait(sdk, batch_id: str, seconds: float = 20.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        batch = sdk.batches.retrieve(batch_id)
        if batch.status in ("completed", "failed", "expired", "cancelled"):
            return batch
        time.sleep(0.05)
    raise AssertionError(f"batch {batch_id} still {batch.status}")


def _lines(sdk, file_id: str | None) -> list[dict]:
    if file_id is None:
        return []
    return [json.loads(line) for line in sdk.files.content(file_id).read().decode().splitlines() if line]


def test_a_batch_runs_to_completed_with_results_usage_and_counts(sdk, fake, echo, gateway_worker):
    batch = _create(sdk, _jsonl(["hello", "world", "FAIL please", "RATE me", "BOOM"]), metadata={"job": "t1"})
    assert batch.id.startswith("batch_dsopenai_") and batch.status == "validating"
    assert batch.request_counts.total == 5 and batch.metadata == {"job": "t1"}

    done = _wait(sdk, batch.id)
    assert done.status == "completed"
    assert (done.request_counts.completed, done.request_counts.failed) == (4, 1)
    assert done.in_progress_at and done.finalizing_at and done.completed_at
    assert done.usage.input_tokens == 12 and done.usage.output_tokens == 8 and done.usage.total_tokens == 20
    output, errors = _lines(sdk, done.output_file_id), _lines(sdk, done.error_file_id)
    assert [line["custom_id"] for line in output] == ["req-0", "req-1", "req-3", "req-4"]  # input order
    assert output[0]["response"]["body"]["choices"][0]["message"]["content"] == "echo: hello"
    assert output[0]["response"]["request_id"] == "req_req-0"
    (failed,) = errors
    assert failed["custom_id"] == "req-2" and failed["response"]["status_code"] == 400
    assert failed["response"]["body"]["error"]["code"] == "bad_line"
    # retried after a 429 and a 500: two calls each, one result each
    assert echo.CALLS["RATE me"] == 2 and echo.CALLS["BOOM"] == 2 and echo.CALLS["hello"] == 1

    retrieved = sdk.files.retrieve(done.output_file_id)
    assert retrieved.purpose == "batch_output" and retrieved.bytes > 0
    # provider optional on follow-ups; a wrong one is a 404
    with pytest.raises(openai.NotFoundError):
        sdk.batches.retrieve(done.id, extra_query={"provider": "anthropic"})


def test_a_bad_line_is_a_400_naming_it_before_anything_runs(sdk, fake, echo):
    content = _jsonl(["fine", "fine too"]) + b'\n{"custom_id": "x", "method": "POST", "url": "/v1/chat/completions", ' \
                                               b'"body": {"model": "m", "messages": []}}'
    with pytest.raises(openai.BadRequestError) as caught:
        _create(sdk, content)
    assert "Line 3" in caught.value.message and "messages" in caught.value.message
    assert caught.value.body["param"] == "line 3"
    assert not echo.CALLS


def test_cancel_stops_lines_not_started_and_keeps_what_ran(sdk, fake, echo, gateway_worker, app):
    app.config["GATEWAY_CHUNK_LINES"] = 1
    app.config["GATEWAY_CONCURRENCY"] = 1
    echo.DELAY["seconds"] = 0.2
    batch = _create(sdk, _jsonl([f"line {n}" for n in range(20)]))
    deadline = time.monotonic() + 10
    while sdk.batches.retrieve(batch.id).request_counts.completed < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    cancelling = sdk.batches.cancel(batch.id)
    assert cancelling.status in ("cancelling", "cancelled") and cancelling.cancelling_at
    done = _wait(sdk, batch.id)
    assert done.status == "cancelled" and done.cancelled_at
    output, errors = _lines(sdk, done.output_file_id), _lines(sdk, done.error_file_id)
    assert sorted(line["custom_id"] for line in output + errors) == sorted(f"req-{n}" for n in range(20))
    assert 2 <= len(output) < 20
    assert {line["error"]["code"] for line in errors} == {"batch_cancelled"}
    assert done.request_counts.completed == len(output) and done.request_counts.failed == len(errors)


def test_a_batch_past_its_window_expires_with_what_it_has(sdk, fake, echo, gateway_worker, app, monkeypatch):
    app.config["GATEWAY_CHUNK_LINES"] = 1
    app.config["GATEWAY_CONCURRENCY"] = 1
    echo.DELAY["seconds"] = 0.1
    batch = _create(sdk, _jsonl([f"line {n}" for n in range(10)]))
    deadline = time.monotonic() + 10
    while sdk.batches.retrieve(batch.id).request_counts.completed < 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    later = time.time() + 25 * 3600
    monkeypatch.setattr(runner, "now", lambda: later)
    done = _wait(sdk, batch.id)
    assert done.status == "expired" and done.expired_at
    errors = _lines(sdk, done.error_file_id)
    assert errors and {line["error"]["code"] for line in errors} == {"batch_expired"}
    assert done.request_counts.completed + len(errors) == 10


def test_an_identical_create_repeated_returns_the_same_batch(sdk, fake, echo):
    uploaded = sdk.files.create(file=("in.jsonl", _jsonl(["a", "b"]), "application/jsonl"), purpose="batch",
                                extra_body=QUERY)
    made = [sdk.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h",
                               extra_body={**QUERY, "execution": "gateway"}) for _ in range(2)]
    assert made[0].id == made[1].id


def test_list_shows_gateway_run_batches_then_the_providers_own(sdk, fake, echo, gateway_worker):
    own = sdk.batches.create(
        input_file_id=sdk.files.create(file=("o.jsonl", _jsonl(["x"]), "application/jsonl"), purpose="batch",
                                       extra_body=QUERY).id,
        endpoint="/v1/chat/completions", completion_window="24h", extra_body=QUERY)
    runs = [_create(sdk, _jsonl([f"t{n}"], [f"c{n}"])) for n in range(3)]
    listed = [batch.id for batch in sdk.batches.list(limit=2, extra_query=QUERY)]
    assert listed == [runs[2].id, runs[1].id, runs[0].id, own.id]


def test_another_key_cannot_see_a_job(sdk, fake, echo, gateway):
    batch = _create(sdk, _jsonl(["mine"]))
    with openai.OpenAI(base_url=f"{gateway}/openai", api_key="sk-other", max_retries=0) as other:
        with pytest.raises(openai.NotFoundError):
            other.batches.retrieve(batch.id)
        assert [b.id for b in other.batches.list(extra_query=QUERY)] == []


def test_a_chunk_whose_worker_died_runs_again_and_each_line_is_recorded_once(app):
    store = store_for(app.config["QUEUE"])

    store.create(Job("gw-" + "0" * 24, "openai", "o", "in_progress", {"created_at": 0}, chunks=2))
    first = store.claim("gw-" + "0" * 24, "openai", until=100.0, max_live=0, now=10.0)
    assert first == 0
    assert store.record("gw-" + "0" * 24, 0, True, b"{}") is True
    # the worker dies: its lease runs out, the next claim takes chunk 0 again before chunk 1
    assert store.claim("gw-" + "0" * 24, "openai", until=200.0, max_live=0, now=50.0) == 1
    assert store.claim("gw-" + "0" * 24, "openai", until=300.0, max_live=0, now=150.0) == 0
    assert store.record("gw-" + "0" * 24, 0, True, b"{}") is False  # a line run twice is kept once
    job = store.get("gw-" + "0" * 24)
    assert job is not None and job.completed == 1


def test_the_rate_limit_bucket_is_shared_and_refills(app):
    store = store_for(app.config["QUEUE"])
    waits = [store.take("rpm:openai:*", 60.0, 1.0, 1000.0) for _ in range(61)]
    assert waits[:60] == [0.0] * 60  # a minute's worth at once
    assert waits[60] == pytest.approx(1.0)  # then one a second
    assert store.take("rpm:openai:*", 60.0, 1.0, 1001.0) == 0.0  # refilled
    # tokens: a big charge drives the bucket below zero; the next call waits for the refill
    assert store.take("tpm:openai:*", 1000.0, 5000.0, 1000.0) == 0.0
    assert store.take("tpm:openai:*", 1000.0, 0.0, 1000.0) > 0


def test_rpm_limits_slow_the_lines_of_a_batch(sdk, fake, echo, gateway_worker, app):
    app.config["GATEWAY_RATE_LIMITS"] = limits.parse("openai:gpt-4o*=120rpm")
    app.config["GATEWAY_CHUNK_LINES"] = 1
    store = store_for(app.config["QUEUE"])
    # Timed from the first take: the bucket refills 2 a second from then on, so however slowly the
    # takes run on a loaded machine, the third line's token comes 1 s after it.
    started = time.monotonic()
    for _ in range(119):  # all but one of this minute's requests already spent by other work
        store.take("rpm:openai:gpt-4o*", 120.0, 1.0, time.time())
    done = _wait(sdk, _create(sdk, _jsonl(["a", "b", "c"])).id)
    assert done.status == "completed" and done.request_counts.completed == 3
    assert time.monotonic() - started >= 0.95  # two of the three waited for the bucket (0.5 s each)


def test_rate_limit_setting_names_its_problem():
    assert limits.parse("openai=500rpm/200000tpm,anthropic:claude-3-5-haiku*=50rpm") == [
        limits.Limit("openai", "*", 500.0, 200000.0), limits.Limit("anthropic", "claude-3-5-haiku*", 50.0, None)]
    with pytest.raises(ValueError, match="500rps"):
        limits.parse("openai=500rps")
    assert limits.matching(limits.parse("openai:gpt-4o*=1rpm,openai=2rpm"), "openai", "gpt-4o-mini").rpm == 1.0


def test_a_job_whose_provider_is_gone_fails_once_instead_of_retrying(app):
    store = store_for(app.config["QUEUE"])
    job_id = "gw-" + "1" * 24
    store.create(Job(job_id, "nosuchserver", "o", "validating",
                     {"created_at": 0, "expires_at": 10**10, "total": 3}, chunks=1))
    with app.app_context():
        runner.drive(job_id)
    job = store.get(job_id)
    assert job is not None and job.status == "failed" and job.record["never_ran"] == 3
    assert job.record["errors"]["data"][0]["code"] == "provider_not_configured"
    assert job_id not in store.active()
