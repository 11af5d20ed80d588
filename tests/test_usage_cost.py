"""The pure parts of usage and cost: summing result bodies (translators/usage.py), pricing them
(translators/cost.py, against genai-prices' shipped table) and the input estimate (translators/estimate.py)."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from blueprints.common import aws, filestore
from blueprints.common import usage as kept_usage
from blueprints.common.streams import Content
from blueprints.dispatcher import ids
from translators import cost, estimate, usage

CHAT = {"object": "chat.completion", "model": "gpt-4o-mini",
        "usage": {"prompt_tokens": 100, "completion_tokens": 40, "total_tokens": 140,
                  "prompt_tokens_details": {"cached_tokens": 30},
                  "completion_tokens_details": {"reasoning_tokens": 12}}}
RESPONSE = {"object": "response", "model": "gpt-4o-mini",
            "usage": {"input_tokens": 50, "output_tokens": 20, "total_tokens": 70,
                      "input_tokens_details": {"cached_tokens": 10}, "output_tokens_details": {"reasoning_tokens": 5}}}
EMBEDDINGS = {"object": "list", "model": "text-embedding-3-small",
              "usage": {"prompt_tokens": 8, "total_tokens": 8}}
TEXT = {"object": "text_completion", "model": "gpt-3.5-turbo-instruct",
        "usage": {"prompt_tokens": 4, "completion_tokens": 6, "total_tokens": 10}}


def output_line(body: dict, status: int = 200) -> bytes:
    return json.dumps({"id": "batch_req_1", "custom_id": "c", "error": None,
                       "response": {"status_code": status, "request_id": "r", "body": body}}).encode()


@pytest.mark.parametrize("body, expected", [
    (CHAT, {"input_tokens": 100, "cached_tokens": 30, "output_tokens": 40, "reasoning_tokens": 12,
            "total_tokens": 140}),
    (RESPONSE, {"input_tokens": 50, "cached_tokens": 10, "output_tokens": 20, "reasoning_tokens": 5,
                "total_tokens": 70}),
    (EMBEDDINGS, {"input_tokens": 8, "cached_tokens": 0, "output_tokens": 0, "reasoning_tokens": 0,
                  "total_tokens": 8}),
    (TEXT, {"input_tokens": 4, "cached_tokens": 0, "output_tokens": 6, "reasoning_tokens": 0, "total_tokens": 10}),
])
def test_each_result_shape_counts(body, expected):
    assert usage.numbers(body["usage"]) == expected


def test_odd_values_count_nothing_and_a_missing_total_is_the_sum():
    assert usage.numbers(None) == usage.zero()
    assert usage.numbers({"prompt_tokens": -3, "completion_tokens": True, "prompt_tokens_details": "x"}) == usage.zero()
    assert usage.numbers({"prompt_tokens": 3, "completion_tokens": 4})["total_tokens"] == 7


def test_an_output_file_sums_its_successes_per_model():
    error = json.dumps({"id": "batch_req_2", "custom_id": "e", "response": None,
                        "error": {"code": "batch_expired", "message": "expired"}}).encode()
    failed = output_line({"error": {"message": "bad"}, "usage": {"prompt_tokens": 999}}, status=400)
    lines = [output_line(CHAT), output_line(RESPONSE), output_line(EMBEDDINGS), output_line(TEXT), error, failed,
             b"", b"not json"]
    totals = usage.sum_output(lines)
    assert totals.usage() == {"input_tokens": 162, "input_tokens_details": {"cached_tokens": 40},
                              "output_tokens": 66, "output_tokens_details": {"reasoning_tokens": 17},
                              "total_tokens": 228}
    assert totals.lines == 4
    record = totals.record()
    assert record["by_model"]["gpt-4o-mini"]["input_tokens"] == 150
    assert record["by_model"]["text-embedding-3-small"]["total_tokens"] == 8
    assert set(record["by_model"]) == {"gpt-4o-mini", "text-embedding-3-small", "gpt-3.5-turbo-instruct"}


def test_models_past_the_limit_are_summed_together():
    totals = usage.Totals()
    for n in range(usage.MAX_MODELS + 5):
        totals.add_body({"model": f"m{n}", "usage": {"prompt_tokens": 1, "completion_tokens": 1}})
    assert len(totals.by_model) == usage.MAX_MODELS + 1
    assert totals.by_model[usage.OTHER]["input_tokens"] == 5
    assert totals.total["total_tokens"] == 2 * (usage.MAX_MODELS + 5)


def test_a_model_is_priced_with_its_cache_reads_and_the_batch_discount():
    numbers = {"input_tokens": 1_000_000, "cached_tokens": 200_000, "output_tokens": 1_000_000}
    priced = cost.costs({"gpt-4o-mini": numbers}, "openai", 0.5)
    # gpt-4o-mini: $0.15 per million input, $0.075 cached, $0.60 output; half of it in a batch
    assert priced["input_cost"] == pytest.approx((0.8 * 0.15 + 0.2 * 0.075) * 0.5)
    assert priced["output_cost"] == pytest.approx(0.6 * 0.5)
    assert priced["total_cost"] == pytest.approx(priced["input_cost"] + priced["output_cost"])
    (model,) = priced["models"]
    assert model["price_model"] == "gpt-4o-mini" and model["price_provider"] == "openai"
    assert priced["unpriced_models"] == []


@pytest.mark.parametrize("provider, model, price_provider", [
    ("anthropic", "claude-3-5-haiku-20241022", "anthropic"),
    ("bedrock", "anthropic.claude-3-5-haiku-20241022-v1:0", "aws"),
    ("gemini", "gemini-2.0-flash", "google"),
    ("vertex", "gemini-2.0-flash", "google"),
    ("azure", "gpt-4o-mini", "azure"),
])
def test_each_provider_is_priced_from_its_own_table(provider, model, price_provider):
    priced = cost.costs({model: {"input_tokens": 1000, "cached_tokens": 0, "output_tokens": 1000}}, provider, 0)
    assert priced["models"][0]["price_provider"] == price_provider and priced["total_cost"] > 0
    halved = cost.costs({model: {"input_tokens": 1000, "cached_tokens": 0, "output_tokens": 1000}}, provider, 0.5)
    assert halved["total_cost"] == pytest.approx(priced["total_cost"] / 2)


def test_an_unknown_model_makes_the_totals_null():
    priced = cost.costs({"gpt-4o-mini": {"input_tokens": 10, "cached_tokens": 0, "output_tokens": 1},
                         "my-own-llama": {"input_tokens": 10, "cached_tokens": 0, "output_tokens": 1}}, "openai", 0.5)
    assert priced["unpriced_models"] == ["my-own-llama"]
    assert priced["total_cost"] is None and priced["input_cost"] is None
    assert [m["total_cost"] is None for m in priced["models"]] == [False, True]
    # a model that used no tokens costs nothing, priced or not
    assert cost.costs({"": usage.zero()}, "openai", 0.5)["total_cost"] == 0


def test_the_discount_that_applies():
    assert cost.discount_for("bedrock", {}) == 0.5
    assert cost.discount_for("bedrock", {"bedrock": 0.3}) == 0.3
    assert cost.discount_for("vllm", {}) == 0.0
    assert cost.discount_for("openai", {}, gateway_run=True) == 0.0


IMAGE = {"type": "image_url", "image_url": {"url": "data:image/png;base64,xx"}}


def test_an_estimate_counts_the_text_and_the_output_caps():
    counted = estimate.Estimate("/v1/chat/completions")
    counted.add({"custom_id": "a", "method": "POST", "url": "/v1/chat/completions", "body": {
        "model": "gpt-4o-mini", "max_completion_tokens": 50,
        "messages": [{"role": "system", "content": "12345678"},
                     {"role": "user", "content": [{"type": "text", "text": "abcd"}, IMAGE]}]}})
    counted.add({"recordId": "R1", "modelInput": {"max_tokens": 7, "messages": [{"role": "user", "content": "x"}]}})
    counted.add({"key": "k", "request": {"contents": [{"parts": [{"text": "abc"}]}],
                                         "generationConfig": {"maxOutputTokens": 9}}})
    counted.add({"custom_id": "b", "params": {"model": "claude", "messages": [{"role": "user", "content": "hi"}]}})
    assert counted.lines == 4
    assert counted.input_tokens == 3 + 1 + 1 + 1  # 12 characters, then 1, 3 and 2 (each at least a token)
    assert counted.output_tokens_max == 50 + 7 + 9 and counted.lines_without_max_output == 1
    assert counted.by_model["gpt-4o-mini"] == {"lines": 1, "input_tokens": 3, "output_tokens_max": 50}
    assert counted.by_model[""]["lines"] == 2  # native lines that name no model

    embeddings = estimate.Estimate("/v1/embeddings", model="text-embedding-3-small")
    embeddings.add({"body": {"model": "ignored", "input": "a" * 40}})
    assert embeddings.by_model == {"text-embedding-3-small": {"lines": 1, "input_tokens": 10, "output_tokens_max": 0}}
    assert embeddings.lines_without_max_output == 0


# The kept record (blueprints/common/usage.py), on both file store engines


@pytest.fixture(params=["local", "s3"])
def store_app(request, app, monkeypatch):
    """The app on a local file store, and on an S3 one (moto)."""
    if request.param == "local":
        yield app
        return
    with mock_aws():
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        aws.reset_clients()
        filestore._store_for.cache_clear()
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="usage-store")
        app.config["FILE_STORE"] = "s3://usage-store/files"
        yield app
    aws.reset_clients()
    filestore._store_for.cache_clear()


class CountingOperations:
    """A provider's `file_content`, serving one output file and counting its reads."""

    def __init__(self, data: bytes) -> None:
        self.data, self.reads = data, 0

    def file_content(self, ref, options):
        self.reads += 1
        return Content(iter([self.data[:7], self.data[7:]]), "application/jsonl", None)


def test_usage_is_kept_once_and_a_second_first_retrieve_keeps_the_same(store_app):
    ref = ids.ResourceId("anthropic", "batch", "msgbatch_01usage")
    operations = CountingOperations(b"\n".join([output_line(CHAT), output_line(RESPONSE)]) + b"\n")

    def ended() -> dict:
        return {"id": ids.encode_batch("anthropic", ref.native), "status": "completed", "usage": None,
                "output_file_id": ids.encode_file("anthropic", ref.native, "output")}

    with store_app.test_request_context(headers={"Authorization": "Bearer sk-test-key"}):
        listed = kept_usage.fill(ended(), ref, operations, None, compute=False)
        assert listed["usage"] is None and operations.reads == 0  # a list never reads results
        first = kept_usage.fill(ended(), ref, operations, None)
        assert first["usage"]["total_tokens"] == 210 and operations.reads == 1
        # another worker that had not seen the record yet sums the same file: the same record
        assert kept_usage._summed(ended(), ref, operations, None)["usage"] == first["usage"]
        assert operations.reads == 2
        assert kept_usage.fill(ended(), ref, operations, None)["usage"] == first["usage"]
        assert kept_usage.fill(ended(), ref, operations, None, compute=False)["usage"] == first["usage"]
        assert operations.reads == 2
        assert kept_usage.kept(ref)["by_model"]["gpt-4o-mini"]["input_tokens"] == 150
        running = ended() | {"status": "in_progress"}
        assert kept_usage.fill(running, ref, operations, None)["usage"] is None  # results may still change
    with store_app.test_request_context(headers={"Authorization": "Bearer sk-someone-else"}):
        assert kept_usage.kept(ref) is None  # owner-scoped


def test_the_estimate_path_is_not_a_batch_id(client):
    reply = client.get("/openai/v1/batches/estimate", headers={"Authorization": "Bearer sk-test-key"})
    assert reply.status_code == 405 and set(reply.headers["Allow"].split(", ")) == {"POST", "OPTIONS"}
    assert reply.json["error"]["type"] == "invalid_request_error"
