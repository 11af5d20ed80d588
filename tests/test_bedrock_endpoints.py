"""Bedrock batches of `/v1/responses`, `/v1/embeddings` and `/v1/completions` lines.

End to end with the real OpenAI SDK (strict) against S3 in moto and the loopback Bedrock fake, which
checks every record (Claude bodies by the anthropic SDK, Converse by botocore, Titan by AWS's documented
body) and writes results as Bedrock does; every result body is validated strictly by the SDK's own
type (`Response`, `CreateEmbeddingResponse`, `Completion`). Then the gateway-run path (`realtime.py`)
through the same translations, and the translation rules themselves.
"""

from __future__ import annotations

import json

import openai
import pytest
from openai.types import Completion, CreateEmbeddingResponse
from openai.types.responses import Response

from blueprints.bedrock import realtime as bedrock_rt
from blueprints.common.provider import LineRequest
from errors import BadRequest
from tests.contracts.openai_types import strict
from tests.fakes.bedrock import BUCKET, REGION, claude_output, converse_output
from translators import bedrock as tr

ROLE = "arn:aws:iam::123456789012:role/BedrockBatch"
CLAUDE = "anthropic.claude-3-sonnet-20240229-v1:0"
NOVA = "amazon.nova-lite-v1:0"
TITAN = "amazon.titan-embed-text-v2:0"
RESPONSES, EMBEDDINGS, COMPLETIONS = "/v1/responses", "/v1/embeddings", "/v1/completions"
WEATHER = {"type": "function", "name": "get_weather", "description": "Weather for a city",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}
SCHEMA = {"type": "json_schema", "name": "answer", "strict": True,
          "schema": {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"],
                     "additionalProperties": False}}


@pytest.fixture
def fake(bedrock_fake):
    return bedrock_fake


@pytest.fixture
def test_config(test_config):
    return {**test_config, "BEDROCK_REGION": REGION, "BEDROCK_MIN_RECORDS": 2, "BEDROCK_ROLE_ARN": ROLE,
            "BEDROCK_DEFAULT_BUCKET": "", "BEDROCK_DEFAULT_PREFIX": "deepintshield", "BEDROCK_ALLOWED_BUCKETS": []}


def jsonl(url: str, bodies: list[dict]) -> str:
    return "".join(json.dumps({"custom_id": f"req-{n}", "method": "POST", "url": url, "body": body}) + "\n"
                   for n, body in enumerate(bodies))


def upload(sdk, content: str):
    return sdk.files.create(file=("lines.jsonl", content.encode(), "application/jsonl"), purpose="batch",
                            extra_body={"provider": "bedrock", "storage_config": {
                                "s3": {"bucket": BUCKET, "region": REGION, "prefix": "batch-input"}}})


def run_batch(sdk, fake, url: str, bodies: list[dict], model: str | None = None) -> tuple[dict, dict, dict]:
    """Upload, create, poll to the end; `(create call, records by custom_id, result bodies by custom_id)`."""
    extra = {"provider": "bedrock", **({"model": model} if model else {})}
    batch = sdk.batches.create(input_file_id=upload(sdk, jsonl(url, bodies)).id, endpoint=url,
                               completion_window="24h", extra_body=extra)
    assert batch.endpoint == url
    while batch.status not in ("completed", "failed"):
        batch = sdk.batches.retrieve(batch.id)
    assert batch.status == "completed" and batch.endpoint == url, batch.errors
    (_, create), = [c for c in fake.calls if c[0] == "create"]
    records = [record["modelInput"] for job in fake.jobs.values() for record in job.records]
    assert sdk.files.content(batch.error_file_id).read() == b""
    lines = [json.loads(line) for line in sdk.files.content(batch.output_file_id).read().decode().splitlines()]
    bodies_out = {line["custom_id"]: line["response"]["body"] for line in lines}
    return create, {f"req-{n}": record for n, record in enumerate(records)}, bodies_out


def refused(sdk, content: str) -> openai.BadRequestError:
    with pytest.raises(openai.BadRequestError) as caught:
        upload(sdk, content)
    return caught.value


# /v1/responses


def test_responses_on_claude(sdk, fake):
    call = {"type": "function_call", "call_id": "toolu_01", "name": "get_weather", "arguments": '{"city": "Paris"}'}
    bodies = [
        {"model": CLAUDE, "instructions": "Be terse.", "input": "What is 2+2?", "max_output_tokens": 100,
         "temperature": 0.5, "metadata": {"run": "7"}, "store": False},
        {"model": CLAUDE, "tools": [WEATHER], "tool_choice": "auto", "input": [
            {"role": "user", "content": [{"type": "input_text", "text": "Weather in Paris?"}]}, call,
            {"type": "function_call_output", "call_id": "toolu_01", "output": "sunny"},
            {"role": "user", "content": "And tomorrow?"}]},
        {"model": CLAUDE, "input": "Think hard", "reasoning": {"effort": "low"}, "max_output_tokens": 2048},
        {"model": CLAUDE, "input": "Long one", "text": {"format": SCHEMA}},
    ]
    fake.script["And tomorrow?"] = {"modelOutput": claude_output(
        [{"type": "text", "text": "Checking."},
         {"type": "tool_use", "id": "toolu_02", "name": "get_weather", "input": {"city": "Paris"}}], "tool_use")}
    fake.script["Long one"] = {"modelOutput": claude_output([{"type": "text", "text": "{\"a\": \"x"}], "max_tokens")}
    create, records, results = run_batch(sdk, fake, RESPONSES, bodies)
    assert create["modelInvocationType"] == "InvokeModel"
    assert {"key": "ds-endpoint", "value": RESPONSES} in create["tags"]
    assert records["req-0"]["system"] == "Be terse." and records["req-0"]["max_tokens"] == 100
    assert "metadata" not in records["req-0"]  # dropped: Bedrock's Claude body refuses it
    assert [m["role"] for m in records["req-1"]["messages"]] == ["user", "assistant", "user"]
    assert records["req-1"]["messages"][2]["content"][0]["type"] == "tool_result"
    assert records["req-2"]["thinking"] == {"type": "enabled", "budget_tokens": 1024}
    assert records["req-3"]["output_config"]["format"]["type"] == "json_schema"
    for body in results.values():
        strict(Response, body, "response")
    first = Response.model_validate(results["req-0"])
    assert first.status == "completed" and first.output_text == "echo: What is 2+2?"
    assert first.usage is not None and first.usage.input_tokens_details.cached_tokens == 0
    calls = Response.model_validate(results["req-1"])
    assert [item.type for item in calls.output] == ["message", "function_call"]
    assert calls.output[1].call_id == "toolu_02" and json.loads(calls.output[1].arguments) == {"city": "Paris"}
    cut = Response.model_validate(results["req-3"])
    assert cut.status == "incomplete" and cut.incomplete_details.reason == "max_output_tokens"


def test_responses_on_converse(sdk, fake):
    bodies = [{"model": NOVA, "input": [{"role": "developer", "content": "Answer in JSON."},
                                        {"role": "user", "content": f"Question {n}"}],
               "text": {"format": SCHEMA}, "max_output_tokens": 50} for n in range(2)]
    fake.script["Question 1"] = {"modelOutput": {**converse_output([{"text": "blocked"}], "content_filtered"),
                                                 "usage": {"inputTokens": 4, "outputTokens": 1, "totalTokens": 9,
                                                           "cacheReadInputTokens": 3, "cacheWriteInputTokens": 1}}}
    create, records, results = run_batch(sdk, fake, RESPONSES, bodies)
    assert create["modelInvocationType"] == "Converse"
    assert records["req-0"]["system"] == [{"text": "Answer in JSON."}]
    assert records["req-0"]["outputConfig"]["textFormat"]["structure"]["jsonSchema"]["name"] == "answer"
    for body in results.values():
        strict(Response, body, "response")
    filtered = Response.model_validate(results["req-1"])
    assert filtered.status == "incomplete" and filtered.incomplete_details.reason == "content_filter"
    assert filtered.usage.input_tokens == 8 and filtered.usage.input_tokens_details.cached_tokens == 3
    assert filtered.model == NOVA


@pytest.mark.parametrize(("body", "param"), [
    ({"model": CLAUDE, "input": "x", "previous_response_id": "resp_1"}, "previous_response_id"),
    ({"model": CLAUDE, "input": [{"type": "item_reference", "id": "msg_1"}]}, "input[0].type"),
    ({"model": CLAUDE, "input": "x", "tools": [{"type": "web_search"}]}, "tools[0].type"),
    ({"model": CLAUDE, "input": "x", "reasoning": {"effort": "high"}}, "max_output_tokens"),
    ({"model": CLAUDE, "input": "x", "text": {"format": {"type": "json_object"}}}, "text.format"),
    ({"model": CLAUDE, "input": "x", "temperature": 1.5}, "temperature"),
])
def test_responses_lines_bedrock_would_refuse_are_400_at_upload(sdk, fake, body, param):
    error = refused(sdk, jsonl(RESPONSES, [{"model": CLAUDE, "input": "fine"}, body]))
    assert error.body["param"] == f"line 2: body.{param}", error.body


# /v1/embeddings


def test_embeddings_on_titan(sdk, fake):
    bodies = [{"model": TITAN, "input": "alpha beta", "dimensions": 256},
              {"model": TITAN, "input": ["gamma"], "encoding_format": "float", "normalize": False, "user": "u1"}]
    create, records, results = run_batch(sdk, fake, EMBEDDINGS, bodies)
    assert create["modelInvocationType"] == "InvokeModel" and create["modelId"] == TITAN
    assert records == {"req-0": {"inputText": "alpha beta", "dimensions": 256},
                       "req-1": {"inputText": "gamma", "normalize": False}}
    for body in results.values():
        strict(CreateEmbeddingResponse, body, "embeddings")
    first = CreateEmbeddingResponse.model_validate(results["req-0"])
    assert len(first.data) == 1 and len(first.data[0].embedding) == 256 and first.model == TITAN
    assert first.usage.prompt_tokens == first.usage.total_tokens == 2
    assert len(results["req-1"]["data"][0]["embedding"]) == 1024


def test_embeddings_refusals(sdk, fake):
    error = refused(sdk, jsonl(EMBEDDINGS, [{"model": TITAN, "input": "a"}, {"model": TITAN, "input": ["b", "c"]}]))
    assert error.body["param"] == "line 2: body.input" and "2 texts" in error.body["message"]
    error = refused(sdk, jsonl(EMBEDDINGS, [{"model": TITAN, "input": "a", "encoding_format": "base64"}]))
    assert error.body["param"] == "line 1: body.encoding_format"
    error = refused(sdk, jsonl(EMBEDDINGS, [{"model": TITAN, "input": "a", "dimensions": 300}]))
    assert error.body["param"] == "line 1: body.dimensions"
    for url, model in ((EMBEDDINGS, NOVA), (EMBEDDINGS, "cohere.embed-english-v3"), (RESPONSES, TITAN)):
        body = {"model": model, "input": "a"}
        uploaded = upload(sdk, jsonl(url, [body, body]))
        with pytest.raises(openai.BadRequestError) as caught:
            sdk.batches.create(input_file_id=uploaded.id, endpoint=url, completion_window="24h",
                               extra_body={"provider": "bedrock"})
        assert caught.value.body["param"] == "model"
    assert not fake.jobs


# /v1/completions


@pytest.mark.parametrize("model", [CLAUDE, NOVA])
def test_completions(sdk, fake, model):
    bodies = [{"model": model, "prompt": "Say hi", "max_tokens": 20, "stop": ["\n"]},
              {"model": model, "prompt": ["The sky is"], "temperature": 0.2}]
    create, records, results = run_batch(sdk, fake, COMPLETIONS, bodies)
    assert create["modelInvocationType"] == ("InvokeModel" if model == CLAUDE else "Converse")
    for body in results.values():
        strict(Completion, _openai_only(body), "completion")
    done = Completion.model_validate(results["req-1"])
    assert done.object == "text_completion" and done.choices[0].text == "echo: The sky is"
    assert done.id.startswith("cmpl-") and done.choices[0].finish_reason == "stop"


def test_completions_refusals(sdk, fake):
    error = refused(sdk, jsonl(COMPLETIONS, [{"model": CLAUDE, "prompt": ["a", "b"]}]))
    assert error.body["param"] == "line 1: body.prompt" and "2 prompts" in error.body["message"]
    error = refused(sdk, jsonl(COMPLETIONS, [{"model": CLAUDE, "prompt": "a", "echo": True}]))
    assert error.body["param"] == "line 1: body.echo"
    error = refused(sdk, jsonl(COMPLETIONS, [{"model": CLAUDE, "prompt": [1, 2, 3]}]))
    assert error.body["param"] == "line 1: body.prompt"


def test_upload_refuses_endpoints_bedrock_does_not_run(sdk, fake):
    error = refused(sdk, jsonl("/v1/moderations", [{"model": CLAUDE, "input": "a"}]))
    assert error.body["param"] == "line 1: url"


# Gateway-run (bedrock-runtime), through the same translations


@pytest.mark.parametrize(("url", "model", "body", "reply_type", "operation"), [
    (RESPONSES, CLAUDE, {"input": "Hello", "instructions": "Be terse.", "tools": [WEATHER],
                         "metadata": {"k": "v"}, "temperature": 1}, Response, "invoke"),
    (RESPONSES, NOVA, {"input": [{"role": "user", "content": [{"type": "input_text", "text": "Hi"}]}]}, Response,
     "converse"),
    (EMBEDDINGS, TITAN, {"input": "Hello", "dimensions": 512}, CreateEmbeddingResponse, "invoke"),
    (COMPLETIONS, CLAUDE, {"prompt": "Hello"}, Completion, "invoke"),
    (COMPLETIONS, NOVA, {"prompt": ["Hello"]}, Completion, "converse"),
])
def test_gateway_run_lines(app, fake, url, model, body, reply_type, operation):
    request = LineRequest(custom_id="r", url=url, body=body, model=model, region=REGION)
    with app.app_context():
        prepared = bedrock_rt.prepare(request)
        assert prepared == tr.to_record({"url": url, "body": body}, record_id=tr.record_id(1), claude=model == CLAUDE,
                                        model=model, default_max_tokens=4096,
                                        sampling=tr.SamplingRules(api_version=None))["modelInput"]
        reply = bedrock_rt.send(prepared, request)
    (called, params), = fake.calls
    assert called == operation and params["modelId"] == model
    strict(reply_type, _openai_only(reply.body), url)
    if url == RESPONSES and model == CLAUDE:  # the request is echoed where the Response repeats it
        echoed = Response.model_validate(reply.body)
        assert echoed.instructions == "Be terse." and echoed.metadata == {"k": "v"}
        assert echoed.tools[0].name == "get_weather"
        assert echoed.temperature == 1.0 and echoed.output_text == "echo: Hello"
    if url == EMBEDDINGS:
        assert len(reply.body["data"][0]["embedding"]) == 512


@pytest.mark.parametrize(("request_", "param"), [
    (LineRequest("r", EMBEDDINGS, {"input": "x"}, model=CLAUDE), "model"),
    (LineRequest("r", RESPONSES, {"input": "x"}, model=TITAN), "model"),
    (LineRequest("r", RESPONSES, {"input": "x", "reasoning": {"effort": "low"}}, model=NOVA), "reasoning.effort"),
    (LineRequest("r", RESPONSES, {"input": "x", "conversation": "conv_1"}, model=NOVA), "conversation"),
    (LineRequest("r", RESPONSES, {"input": "x", "reasoning": {"effort": "low"}, "max_output_tokens": 4000,
                                  "temperature": 0.3}, model=CLAUDE), "temperature"),
    (LineRequest("r", COMPLETIONS, {"prompt": "x", "best_of": 3}, model=NOVA), "best_of"),
])
def test_gateway_run_refusals(app, request_, param):
    with app.app_context(), pytest.raises(BadRequest) as caught:
        bedrock_rt.prepare(request_)
    assert caught.value.param == param


# Translation rules


def test_job_types_and_model_checks():
    assert tr.invocation_type(TITAN, EMBEDDINGS) == tr.invocation_type(CLAUDE, RESPONSES) == tr.INVOKE_MODEL
    assert tr.invocation_type(NOVA, RESPONSES) == tr.invocation_type(NOVA, COMPLETIONS) == tr.CONVERSE
    assert tr.record_invocation_type({"inputText": "a"}) == tr.INVOKE_MODEL
    tr.check_model(EMBEDDINGS, f"arn:aws:bedrock:{REGION}::foundation-model/{TITAN}")
    for endpoint, model in ((EMBEDDINGS, "amazon.titan-embed-image-v1"), (COMPLETIONS, TITAN)):
        with pytest.raises(BadRequest):
            tr.check_model(endpoint, model)
    assert tr.tags_endpoint(tr.endpoint_tags(EMBEDDINGS)) == EMBEDDINGS and tr.endpoint_tags(tr.CHAT_COMPLETIONS) == []
    assert tr.tags_endpoint([{"key": "ds-endpoint", "value": "/v1/odd"}]) == tr.CHAT_COMPLETIONS


def test_an_unconvertible_embedding_result_keeps_the_record():
    record = {"recordId": tr.record_id(1), "modelOutput": {"embedding": "nope"}}
    with pytest.raises(TypeError):
        tr.output_line(record, job_id="j", model=TITAN, created=0, endpoint=EMBEDDINGS)


def _openai_only(body: dict) -> dict:
    """`body` without the gateway's one extension, each choice's `native_finish_reason` (README)."""
    body = json.loads(json.dumps(body))
    for choice in body.get("choices") or []:
        choice.pop("native_finish_reason", None)
    return body


@pytest.mark.parametrize("values", ["nope", [0.5, True], [0.5, None], [0.5, "0.25"], {"0": 0.5}])
def test_embedding_values_must_be_numbers(values):
    record = {"recordId": tr.record_id(1), "modelOutput": {"embedding": values, "inputTextTokenCount": 3}}
    with pytest.raises(TypeError, match="embedding values are not a list of numbers"):
        tr.output_line(record, job_id="j", model=TITAN, created=0, endpoint=EMBEDDINGS)


def test_embedding_values_come_back_as_floats():
    record = {"recordId": tr.record_id(1), "modelOutput": {"embedding": [1, -2, 0.25], "inputTextTokenCount": 3}}
    line = tr.output_line(record, job_id="j", model=TITAN, created=0, endpoint=EMBEDDINGS)
    vector = line["response"]["body"]["data"][0]["embedding"]
    assert vector == [1.0, -2.0, 0.25] and all(type(v) is float for v in vector)
