"""`/v1/responses` and `/v1/completions` batches on Anthropic end to end, through the real `openai` SDK
(strict) and the served app, with the Message Batches fake checking every params against the
`anthropic` SDK types; `/v1/embeddings` is a 400 at upload and at create. Gateway-run lines of both
endpoints go through the same translator (`realtime.prepare`/`send` against the Messages fake)."""

from __future__ import annotations

import base64
import json

import flask
import openai
import pytest
from openai.types import Completion
from openai.types.responses import Response

from blueprints.anthropic import realtime
from blueprints.common.provider import LineRequest
from errors import BadRequest
from tests.fakes import anthropic as fake_module
from tests.fakes.anthropic import FakeAnthropic, anthropic_fakes

RESPONSES, COMPLETIONS, EMBEDDINGS, CHAT = "/v1/responses", "/v1/completions", "/v1/embeddings", "/v1/chat/completions"
PROVIDER = {"provider": "anthropic"}
CLAUDE = "claude-sonnet-4-5"
WEATHER = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
TOOL = {"type": "function", "name": "get_weather", "parameters": WEATHER, "strict": True}


@pytest.fixture
def fake(rsps):
    with anthropic_fakes(rsps) as make:
        yield make(polls_until_ended=2, api_key="sk-test-key")


def line(custom_id: str, url: str, body: dict) -> dict:
    return {"custom_id": custom_id, "method": "POST", "url": url, "body": body}


def upload(sdk, lines: list[dict]):
    data = "".join(json.dumps(item) + "\n" for item in lines).encode()
    return sdk.files.create(file=("in.jsonl", data, "application/jsonl"), purpose="batch", extra_body=PROVIDER)


def run(sdk, lines: list[dict], endpoint: str):
    """Upload, create, poll to the end; the ended batch and its output lines by custom_id."""
    batch = sdk.batches.create(input_file_id=upload(sdk, lines).id, endpoint=endpoint, completion_window="24h")
    assert batch.endpoint == endpoint
    for _ in range(5):
        batch = sdk.batches.retrieve(batch.id)
        if batch.status == "completed":
            break
    assert batch.status == "completed" and batch.endpoint == endpoint
    output = sdk.files.content(batch.output_file_id).text
    return batch, {item["custom_id"]: item for item in map(json.loads, output.splitlines())}


RESPONSE_LINES = [
    line("plain", RESPONSES, {"model": CLAUDE, "input": "Hello", "instructions": "Be terse.", "temperature": 0.5,
                              "max_output_tokens": 64, "metadata": {"job": "nightly"}, "reasoning": {"effort": "low"},
                              "text": {"format": {"type": "json_schema", "name": "w", "schema": WEATHER}}}),
    line("tool-call", RESPONSES, {"model": CLAUDE, "tools": [TOOL], "tool_choice": "required", "input": [
        {"role": "user", "content": [{"type": "input_text", "text": "Weather?"},
                                     {"type": "input_image", "image_url": "data:image/png;base64,iVBO"}]},
        {"type": "function_call", "call_id": "call_1", "name": "get_weather", "arguments": '{"city": "Paris"}'},
        {"type": "function_call_output", "call_id": "call_1", "output": "18C"}]}),
    line("cut-short", RESPONSES, {"model": CLAUDE, "input": [{"role": "user", "content": "Long story"}]}),
]


def test_a_responses_batch_runs_and_answers_response_objects(sdk, fake: FakeAnthropic):
    fake.answer("cut-short", fake_module.succeeded(fake_module.message(stop_reason="max_tokens",
                                                                       message_id="msg_cut")))
    batch, output = run(sdk, RESPONSE_LINES, RESPONSES)
    assert batch.request_counts is not None and batch.request_counts.completed == 3
    requests = {item["custom_id"]: item["params"] for item in fake.created_bodies[0]["requests"]}
    assert requests["plain"]["system"] == "Be terse." and requests["plain"]["max_tokens"] == 64
    assert requests["plain"]["output_config"] == {"format": {"type": "json_schema", "schema": WEATHER},
                                                  "effort": "low"}
    assert requests["tool-call"]["tool_choice"] == {"type": "any"}
    assert [turn["role"] for turn in requests["tool-call"]["messages"]] == ["user", "assistant", "user"]
    parsed = {custom_id: Response.model_validate(item["response"]["body"], strict=True)
              for custom_id, item in output.items()}
    assert parsed["plain"].status == "completed" and parsed["plain"].output_text.startswith("echo: ")
    assert [item.type for item in parsed["tool-call"].output] == ["message", "function_call"]
    assert parsed["cut-short"].status == "incomplete"
    assert parsed["cut-short"].incomplete_details is not None
    assert parsed["cut-short"].incomplete_details.reason == "max_output_tokens"
    usage = parsed["plain"].usage
    assert usage is not None and usage.input_tokens_details.cached_tokens == 3


def test_a_completions_batch_answers_text_completions(sdk, fake: FakeAnthropic):
    lines = [line("one", COMPLETIONS, {"model": CLAUDE, "prompt": "Once upon", "max_tokens": 20, "stop": "\n"}),
             line("listed", COMPLETIONS, {"model": CLAUDE, "prompt": ["A single prompt"]})]
    _, output = run(sdk, lines, COMPLETIONS)
    params = {item["custom_id"]: item["params"] for item in fake.created_bodies[0]["requests"]}
    assert params["one"]["messages"] == [{"role": "user", "content": "Once upon"}]
    assert params["one"]["stop_sequences"] == ["\n"]
    for custom_id, text in (("one", "echo: Once upon"), ("listed", "echo: A single prompt")):
        completion = Completion.model_validate(output[custom_id]["response"]["body"], strict=True)
        assert completion.object == "text_completion" and completion.choices[0].text == text
        assert completion.choices[0].finish_reason == "stop"


def test_several_prompts_in_one_line_are_a_400_naming_the_line(sdk, fake: FakeAnthropic):
    lines = [line("a", COMPLETIONS, {"model": CLAUDE, "prompt": "x"}),
             line("b", COMPLETIONS, {"model": CLAUDE, "prompt": ["x", "y"]})]
    with pytest.raises(openai.BadRequestError) as caught:
        upload(sdk, lines)
    assert "Line 2" in caught.value.message and "2 prompts" in caught.value.message


def test_a_bad_responses_field_is_a_400_naming_the_line_and_field(sdk, fake: FakeAnthropic):
    lines = [line("a", RESPONSES, {"model": CLAUDE, "input": "x", "previous_response_id": "resp_1"})]
    with pytest.raises(openai.BadRequestError) as caught:
        upload(sdk, lines)
    assert "Line 1" in caught.value.message and "previous_response_id" in caught.value.message


def test_embeddings_lines_are_a_400_at_upload(sdk, fake: FakeAnthropic):
    lines = [line("e1", EMBEDDINGS, {"model": "voyage-3", "input": ["a", "b"]})]
    with pytest.raises(openai.BadRequestError) as caught:
        upload(sdk, lines)
    assert "Line 1" in caught.value.message and "no embeddings model" in caught.value.message
    assert fake.created_bodies == []


def test_an_embeddings_batch_is_a_400_at_create(sdk, fake: FakeAnthropic):
    uploaded = upload(sdk, [line("c1", CHAT, {"model": CLAUDE, "messages": [{"role": "user", "content": "x"}]})])
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.batches.create(input_file_id=uploaded.id, endpoint=EMBEDDINGS, completion_window="24h")
    assert "no embeddings model" in caught.value.message
    assert caught.value.body is not None and caught.value.body.get("param") == "endpoint"
    assert fake.created_bodies == []


def test_a_file_of_another_endpoint_is_a_400_naming_the_line(sdk, fake: FakeAnthropic):
    uploaded = upload(sdk, RESPONSE_LINES[:1])
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.batches.create(input_file_id=uploaded.id, endpoint=COMPLETIONS, completion_window="24h")
    assert "Line 1" in caught.value.message and fake.created_bodies == []


def test_chat_batches_keep_their_ids_and_shape(sdk, fake: FakeAnthropic):
    batch, output = run(sdk, [line("c1", CHAT, {"model": CLAUDE, "messages": [{"role": "user", "content": "x"}]})],
                        CHAT)
    token = batch.id.removeprefix("batch_dsa_")
    native = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    assert "@" in native and "~" not in native  # `msgbatch_…@<file key>`, as before endpoints were recorded
    assert output["c1"]["response"]["body"]["object"] == "chat.completion"


# Gateway-run lines: the same translator, one Messages call each


@pytest.fixture
def worker(app, rsps):
    with anthropic_fakes(rsps) as make:
        make(api_key="sk-test-key")
        with app.app_context():
            flask.g.client_key = "sk-test-key"
            yield app


@pytest.mark.parametrize("url, body, reply_type", [
    (RESPONSES, {"model": CLAUDE, "input": "Hello", "instructions": "Be terse.", "metadata": {"k": "v"},
                 "tools": [TOOL]}, Response),
    (COMPLETIONS, {"model": CLAUDE, "prompt": "Hello"}, Completion),
])
def test_gateway_run_lines(worker, url, body, reply_type):
    request = LineRequest("req-1", url, body)
    reply = realtime.send(realtime.prepare(request), request)
    parsed = reply_type.model_validate(reply.body, strict=True)
    if reply_type is Response:  # a gateway-run line knows its request, so the Response echoes it
        assert (parsed.instructions, parsed.metadata, parsed.tools[0].name) == ("Be terse.", {"k": "v"},
                                                                               "get_weather")
        assert parsed.output_text == "echo: Hello"


def test_gateway_run_embeddings_are_refused(worker):
    with pytest.raises(BadRequest) as caught:
        realtime.prepare(LineRequest("e", EMBEDDINGS, {"model": "m", "input": "x"}))
    assert caught.value.param == "url" and "no embeddings model" in caught.value.message
