"""Batch usage and cost end to end, through the real `openai` SDK (strict) against the served gateway.

Every provider the registry lists (and a declared OpenAI-compatible host), through its contract fake
(tests/fakes/contract.py): once a batch has ended, a retrieve shows `usage` with the sums of what the
fake answered; the output file is read once (counted at the provider's own `file_content`), and a
later retrieve or a list reads only the kept record. Then the cost endpoint, the estimate, a provider
that reports usage itself, a cancelled/expired batch with partial results, a file past the size cap
and a gateway-run batch.
"""

from __future__ import annotations

import json
import math
import time

import openai
import pytest

from blueprints import registry
from blueprints.dispatcher import ids
from tests import seed
from tests.fakes import compatible as compatible_fakes
from tests.fakes.anthropic import anthropic_fakes
from tests.fakes.chatserver import declare
from tests.fakes.compatible import compatible_contract  # noqa: F401 (the declared host's fixture)
from tests.fakes.contract import ContractFake
from tests.fakes.openai import FakeOpenAI

TERMINAL = ("completed", "failed", "expired", "cancelled")
OPENAI = {"provider": "openai"}


@pytest.fixture(params=[*sorted(registry.PROVIDERS), compatible_fakes.NAME])
def contract(request) -> ContractFake:
    return request.getfixturevalue(f"{request.param}_contract")


@pytest.fixture
def openai_fake(rsps):
    fake = FakeOpenAI()
    fake.register(rsps)
    yield fake
    assert fake.violations == []


def downloads(monkeypatch, provider: str) -> list:
    """Count the reads of `provider`'s files through its own `file_content` (what summing usage uses)."""
    operations = registry.get(provider).operations
    real = operations.file_content
    calls: list = []

    def counted(ref, options):
        calls.append(ids.encode_file(ref.provider, ref.native, ref.kind))  # the file ID the client sees
        return real(ref, options)

    monkeypatch.setattr(operations, "file_content", counted)
    return calls


def summed(lines: list[dict]) -> dict:
    """The test's own sum of the output lines' usage (chat.completion shape), as OpenAI's Batch.usage."""
    totals = {"input": 0, "cached": 0, "output": 0, "reasoning": 0, "total": 0}
    for line in lines:
        use = line["response"]["body"]["usage"]
        totals["input"] += use["prompt_tokens"]
        totals["output"] += use["completion_tokens"]
        totals["total"] += use["total_tokens"]
        totals["cached"] += (use.get("prompt_tokens_details") or {}).get("cached_tokens") or 0
        totals["reasoning"] += (use.get("completion_tokens_details") or {}).get("reasoning_tokens") or 0
    return {"input_tokens": totals["input"], "input_tokens_details": {"cached_tokens": totals["cached"]},
            "output_tokens": totals["output"], "output_tokens_details": {"reasoning_tokens": totals["reasoning"]},
            "total_tokens": totals["total"]}


def _jsonl(model: str, custom_ids: list[str], max_tokens: int | None = 50) -> bytes:
    def body(custom_id: str) -> dict:
        return {"model": model, "messages": [{"role": "user", "content": f"question for {custom_id}"}],
                **({"max_tokens": max_tokens} if max_tokens is not None else {})}
    return "".join(json.dumps({"custom_id": c, "method": "POST", "url": "/v1/chat/completions", "body": body(c)})
                   + "\n" for c in custom_ids).encode()


def _lines(sdk, file_id: str | None, query: dict) -> list[dict]:
    if not file_id:
        return []
    return [json.loads(line) for line in sdk.files.content(file_id, extra_query=query).read().splitlines() if line]


def _cost(sdk, batch_id: str, query: dict) -> dict:
    return sdk.get(f"/batches/{batch_id}/cost", cast_to=object, options={"params": query})


def test_usage_is_summed_once_from_the_results(sdk, contract, monkeypatch):
    query = {"provider": contract.provider, **contract.query}
    reads = downloads(monkeypatch, contract.provider)
    custom_ids = [f"usage-{n}" for n in range(max(contract.min_lines, 3))]
    uploaded = sdk.files.create(file=("usage.jsonl", _jsonl(contract.model, custom_ids), "application/jsonl"),
                                purpose="batch", extra_body={"provider": contract.provider, **contract.upload_body})
    batch = sdk.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h",
                               extra_body={"provider": contract.provider, **contract.create_body})
    assert batch.usage is None  # nothing has run yet
    before = len(reads)  # (a provider may read its input at create)
    for _ in range(20):
        if batch.status in TERMINAL:
            break
        contract.script.finish(batch.id)
        batch = sdk.batches.retrieve(batch.id, extra_query=query)
    assert batch.status == "completed"
    assert reads[before:] == [batch.output_file_id]  # the retrieve that saw it end read the output file once
    again = sdk.batches.retrieve(batch.id, extra_query=query)
    assert again.usage == batch.usage and len(reads) == before + 1  # kept: no second read
    listed = {b.id: b for b in sdk.batches.list(extra_query=query).data}
    if contract.lists_batches_by_their_ids:
        assert listed[batch.id].usage == batch.usage  # a list gives the kept record
    assert len(reads) == before + 1

    output = _lines(sdk, batch.output_file_id, query)
    assert len(output) == len(custom_ids)
    assert batch.usage.model_dump() == summed(output)
    assert batch.usage.total_tokens > 0

    cost = _cost(sdk, batch.id, query)
    assert len(reads) == before + 2  # (the test's own download above), the cost read nothing
    assert cost["object"] == "batch.cost" and cost["batch_id"] == batch.id and cost["currency"] == "USD"
    assert cost["usage"] == summed(output) and cost["status"] == "completed"
    assert cost["batch_discount"] == (0.5 if contract.provider in ("openai", "azure", "anthropic", "gemini",
                                                                    "vertex", "bedrock") else 0.0)
    assert cost["prices_source"].startswith("genai-prices ")
    assert sum(m["input_tokens"] for m in cost["models"]) == batch.usage.input_tokens
    if cost["unpriced_models"]:
        assert cost["total_cost"] is None
    else:
        assert cost["total_cost"] == pytest.approx(cost["input_cost"] + cost["output_cost"])
        assert cost["total_cost"] > 0


def test_the_seed_workflow_shows_usage_the_fake_answered(gateway, rsps, monkeypatch):
    """The document's Anthropic snippet as written: each line answered with 10 input tokens, 2 cache
    writes and 3 cache reads (15 prompt tokens, 3 of them cached) and 5 output tokens."""
    with anthropic_fakes(rsps) as make:
        make(polls_until_ended=2, api_key="sk-test-key")
        reads = downloads(monkeypatch, "anthropic")
        scope = seed.run("anthropic", gateway, api_key="sk-test-key", strict=True)
        batch, client = scope["batch"], scope["client"]
        assert batch.status == "completed"
        assert batch.usage.model_dump() == {"input_tokens": 30, "input_tokens_details": {"cached_tokens": 6},
                                            "output_tokens": 10, "output_tokens_details": {"reasoning_tokens": 0},
                                            "total_tokens": 40}
        assert reads == [batch.output_file_id]
        assert client.batches.retrieve(batch.id).usage == batch.usage
        assert reads == [batch.output_file_id]
        cost = client.get(f"/batches/{batch.id}/cost", cast_to=object)
        # claude-3-sonnet: $3 / $15 per million (cache reads $0.30), half price in a batch
        assert cost["models"][0]["price_model"] == "claude-3-sonnet"
        assert cost["input_cost"] == pytest.approx((24 * 3 + 6 * 0.3) / 1e6 * 0.5)
        assert cost["output_cost"] == pytest.approx(10 * 15 / 1e6 * 0.5)


def test_usage_the_provider_reports_is_kept(sdk, openai_fake, monkeypatch):
    reads = downloads(monkeypatch, "openai")
    uploaded = sdk.files.create(file=("in.jsonl", _jsonl("gpt-4o-mini", ["a", "b"])), purpose="batch",
                                extra_body=OPENAI)
    batch = sdk.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h",
                               extra_body=OPENAI)
    native = openai_fake.batches[batch.id]
    while native["status"] != "completed":
        openai_fake.poll_batch(batch.id)
    theirs = {"input_tokens": 1000, "input_tokens_details": {"cached_tokens": 100}, "output_tokens": 500,
              "output_tokens_details": {"reasoning_tokens": 50}, "total_tokens": 1500}
    native["usage"] = theirs
    batch = sdk.batches.retrieve(batch.id, extra_query=OPENAI)
    assert batch.usage.model_dump() == theirs and reads == []
    cost = sdk.get(f"/batches/{batch.id}/cost", cast_to=object)
    # gpt-4o-mini: $0.15 input, $0.075 cached input, $0.60 output per million; half price in a batch
    assert cost["input_cost"] == pytest.approx((900 * 0.15 + 100 * 0.075) / 1e6 * 0.5)
    assert cost["output_cost"] == pytest.approx(500 * 0.6 / 1e6 * 0.5)
    assert cost["model"] == "gpt-4o-mini" and reads == []


@pytest.mark.parametrize("ending", ["cancelled", "expired"])
def test_an_ended_batch_with_partial_results_gets_their_usage(sdk, openai_fake, monkeypatch, ending):
    uploaded = sdk.files.create(file=("in.jsonl", _jsonl("gpt-4o-mini", ["a", "b", "c"])), purpose="batch",
                                extra_body=OPENAI)
    batch = sdk.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h",
                               extra_body=OPENAI)
    native = openai_fake.batches[batch.id]
    openai_fake.poll_batch(batch.id)  # in_progress
    assert sdk.batches.retrieve(batch.id, extra_query=OPENAI).usage is None  # not ended: nothing summed
    openai_fake._complete(native)  # two of three lines answered (10 + 5 tokens each) before the end
    output = openai_fake.files[native["output_file_id"]]
    kept = output["_content"].splitlines()[:2]
    output["_content"] = b"\n".join(kept) + b"\n"
    output["bytes"] = len(output["_content"])
    native.update(status=ending, **{f"{ending}_at": openai_fake.now()},
                  request_counts={"total": 3, "completed": 2, "failed": 1})
    reads = downloads(monkeypatch, "openai")
    batch = sdk.batches.retrieve(batch.id, extra_query=OPENAI)
    assert batch.status == ending
    assert batch.usage.model_dump() == {"input_tokens": 20, "input_tokens_details": {"cached_tokens": 0},
                                        "output_tokens": 10, "output_tokens_details": {"reasoning_tokens": 0},
                                        "total_tokens": 30}
    assert reads == [batch.output_file_id]


@pytest.fixture
def small_scan(test_config):
    return {**test_config, "USAGE_SCAN_BYTES": 100}


def test_an_output_file_past_the_cap_leaves_usage_null_and_is_not_read_again(app, small_scan, openai_fake,
                                                                               monkeypatch, gateway, sdk):
    app.config.update(small_scan)
    uploaded = sdk.files.create(file=("in.jsonl", _jsonl("gpt-4o-mini", ["a", "b"])), purpose="batch",
                                extra_body=OPENAI)
    batch = sdk.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h",
                               extra_body=OPENAI)
    while openai_fake.batches[batch.id]["status"] != "completed":
        openai_fake.poll_batch(batch.id)
    reads = downloads(monkeypatch, "openai")
    first = sdk.batches.retrieve(batch.id, extra_query=OPENAI)
    assert first.usage is None
    assert sdk.batches.retrieve(batch.id, extra_query=OPENAI).usage is None
    assert reads == [first.output_file_id]  # its size was kept: the second retrieve did not try again
    app.config["USAGE_SCAN_BYTES"] = 1 << 20  # the cap raised past it: the next retrieve sums it
    assert sdk.batches.retrieve(batch.id, extra_query=OPENAI).usage.total_tokens == 30
    assert reads == [first.output_file_id] * 2


def test_estimate_before_submitting(sdk, openai_fake):
    data = _jsonl("gpt-4o-mini", ["a", "b"], max_tokens=100) + _jsonl("gpt-4o-mini", ["c"], max_tokens=None)
    uploaded = sdk.files.create(file=("in.jsonl", data), purpose="batch", extra_body=OPENAI)
    estimate = sdk.post("/batches/estimate", cast_to=object,
                        body={"input_file_id": uploaded.id, "endpoint": "/v1/chat/completions", **OPENAI})
    # the text the model reads: "question for X" per line (14 characters: 4 tokens; the role is a name)
    assert estimate["object"] == "batch.estimate" and estimate["method"] == "approximate"
    assert estimate["lines"] == 3 and estimate["input_tokens"] == 3 * math.ceil(len("question for a") / 4) == 12
    assert estimate["output_tokens_max"] is None and estimate["lines_without_max_output"] == 1
    assert estimate["models"][0]["output_tokens_max"] == 200
    assert estimate["min_cost"] == pytest.approx(12 * 0.15 / 1e6 * 0.5)
    assert estimate["max_cost"] is None  # a line sets no maximum: the most it could cost is unknown
    assert estimate["models"][0]["max_cost"] == pytest.approx((12 * 0.15 + 200 * 0.6) / 1e6 * 0.5)

    capped = sdk.files.create(file=("in.jsonl", _jsonl("gpt-4o-mini", ["a"], max_tokens=10)), purpose="batch",
                              extra_body=OPENAI)
    estimate = sdk.post("/batches/estimate", cast_to=object, body={
        "input_file_id": capped.id, "endpoint": "/v1/chat/completions", "model": "gpt-4o", "execution": "gateway"})
    assert estimate["provider"] == "openai" and estimate["batch_discount"] == 0.0  # real-time prices
    assert estimate["models"][0]["model"] == "gpt-4o" and estimate["output_tokens_max"] == 10
    assert estimate["max_cost"] == pytest.approx((4 * 2.5 + 10 * 10) / 1e6)


def test_estimate_refuses_what_it_cannot_read(sdk, openai_fake):
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.post("/batches/estimate", cast_to=object, body={"input_file_id": "file-x", **OPENAI})
    assert caught.value.body["param"] == "endpoint"
    with pytest.raises(openai.NotFoundError):
        sdk.post("/batches/estimate", cast_to=object,
                 body={"input_file_id": "file-missing", "endpoint": "/v1/chat/completions", **OPENAI})


def test_a_gateway_run_batch_has_usage_and_a_cost_at_real_time_prices(gateway, gateway_worker, sdk, chat_server,
                                                                      monkeypatch):
    declare(monkeypatch, f"vllm={chat_server.base_url}")
    uploaded = sdk.files.create(file=("in.jsonl", _jsonl("m", ["a", "b"])), purpose="batch",
                                extra_body={"provider": "vllm"})
    batch = sdk.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h",
                               extra_body={"provider": "vllm"})
    deadline = time.monotonic() + 20
    while batch.status not in TERMINAL:
        assert time.monotonic() < deadline
        time.sleep(0.1)
        batch = sdk.batches.retrieve(batch.id)
    assert batch.status == "completed"
    output = _lines(sdk, batch.output_file_id, {})
    assert batch.usage.model_dump() == summed(output) and batch.usage.total_tokens > 0
    cost = _cost(sdk, batch.id, {})
    assert cost["batch_discount"] == 0.0 and cost["usage"] == summed(output)
    assert [m["model"] for m in cost["models"]] == [output[0]["response"]["body"]["model"]]
    assert cost["models"][0]["input_tokens"] == batch.usage.input_tokens
