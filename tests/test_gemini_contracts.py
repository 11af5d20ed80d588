"""What the gateway sends Gemini is what google-genai's types allow, and the checks that say so work.

- Every GenerateContentRequest the translator builds passes tests/contracts/genai_types.py; a body
  whose values the types would refuse is a 400 naming the field before anything is sent.
- The translator's request tables (safety settings, thinking config, integer fields) are generated
  from the SDK's enums and models.
- The contract refuses what it must (so a fake checked by it cannot drift), and the fake answers a
  request that breaks it with Gemini's 400 INVALID_ARGUMENT.
"""

from __future__ import annotations

import io
import json
import typing

import pytest
from google.genai import types

from blueprints.dispatcher import ids
from errors import BadRequest
from tests.contracts import genai_types as contract
from tests.fakes.gemini import checked_fakes
from translators import gemini as t

USER = {"role": "user", "content": "Hi"}
AUTH = {"Authorization": "Bearer sk-test-key"}

TRANSLATED = {
    "plain": {"messages": [USER]},
    "system-and-turns": {"messages": [{"role": "system", "content": "Be terse."}, USER,
                                      {"role": "assistant", "content": "Hello"}, {"role": "user", "content": "Again"}]},
    "generation": {"messages": [USER], "max_tokens": 5, "temperature": 0.3, "top_p": 0.9, "n": 2, "seed": 3,
                   "presence_penalty": 0.1, "frequency_penalty": 0.2, "top_k": 40, "stop": ["a", "b"]},
    "stop-string": {"messages": [USER], "stop": "END", "max_completion_tokens": 9},
    "json-schema": {"messages": [USER], "response_format": {"type": "json_schema", "json_schema": {
        "name": "x", "schema": {"type": "object", "properties": {"a": {"type": "string"}}}}}},
    "json-object": {"messages": [USER], "response_format": {"type": "json_object"}},
    "logprobs": {"messages": [USER], "logprobs": True, "top_logprobs": 3},
    "reasoning": {"messages": [USER], "reasoning_effort": "high"},
    "thinking": {"messages": [USER], "thinking_config": {"include_thoughts": True, "thinkingLevel": "LOW"}},
    "tools": {"messages": [USER], "tool_choice": {"type": "function", "function": {"name": "f"}}, "tools": [
        {"type": "function", "function": {"name": "f", "description": "d", "parameters": {"type": "object"}}}]},
    "tool-results": {"messages": [USER, {"role": "assistant", "content": None, "tool_calls": [
        {"id": "c", "type": "function", "function": {"name": "f", "arguments": '{"x": 1}'}}]},
        {"role": "tool", "tool_call_id": "c", "content": '{"ok": true}'}]},
    "media": {"messages": [{"role": "user", "content": [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
        {"type": "image_url", "image_url": {"url": "https://example.com/a.jpg"}},
        {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}},
        {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBERi0="}}]}]},
    "safety": {"messages": [USER], "safety_settings": [
        {"category": category, "threshold": "BLOCK_ONLY_HIGH"} for category in t.SAFETY_CATEGORIES]},
    "cached-bare": {"messages": [USER], "cached_content": "abc"},
    "cached-named": {"messages": [USER], "cached_content": "cachedContents/abc"},
}


@pytest.mark.parametrize("body", TRANSLATED.values(), ids=TRANSLATED.keys())
def test_every_translation_is_what_the_sdk_would_send(body):
    line = {"custom_id": "k", "method": "POST", "url": "/v1/chat/completions", "body": body}
    contract.check_batch_line(t.batch_line(line))
    contract.check_inline_request(t.inline_request(line))


@pytest.mark.parametrize("body, param", [
    ({"temperature": "hot"}, "body.temperature"),
    ({"n": 1.5}, "body.n"),
    ({"max_tokens": True}, "body.max_tokens"),
    ({"logprobs": True, "top_logprobs": "3"}, "body.top_logprobs"),
    ({"stop": [1]}, "body.stop"),
    ({"stop": {"a": 1}}, "body.stop"),
    ({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {
        "url": "data:image/png;base64,@@not base64@@"}}]}]}, "body.messages[0].content[0]"),
    ({"messages": [{"role": "user", "content": [{"type": "input_audio", "input_audio": {
        "data": "???", "format": "wav"}}]}]}, "body.messages[0].content[0]"),
    ({"thinking_config": {"budget": 3}}, "body.thinking_config.budget"),
    ({"thinking_config": {"thinkingBudget": "3"}}, "body.thinking_config.thinkingBudget"),
    ({"thinking_config": {"includeThoughts": 1}}, "body.thinking_config.includeThoughts"),
    ({"thinking_config": {"thinkingLevel": "low"}}, "body.thinking_config.thinkingLevel"),
    ({"thinking_config": "on"}, "body.thinking_config"),
    ({"safety_settings": [{"category": "HARM_CATEGORY_IMAGE_HATE", "threshold": "OFF"}]},
     "body.safety_settings[0].category"),
    ({"safety_settings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "off"}]},
     "body.safety_settings[0].threshold"),
    ({"safety_settings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "OFF", "method": "SEVERITY"}]},
     "body.safety_settings[0]"),
    ({"safety_settings": {"category": "HARM_CATEGORY_HARASSMENT"}}, "body.safety_settings"),
    ({"cached_content": "cachedContents/"}, "body.cached_content"),
    ({"cached_content": 7}, "body.cached_content"),
])
def test_values_the_types_refuse_are_a_400_naming_the_field(body, param):
    with pytest.raises(BadRequest) as caught:
        t.generate_content_request({"messages": [USER], **body})
    assert caught.value.param == param


def test_a_bare_cache_name_gets_the_resource_prefix_as_the_sdk_adds_it():
    assert t.generate_content_request({"messages": [USER], "cached_content": "abc"})["cachedContent"] == \
        "cachedContents/abc"


# Request tables generated from the SDK


def _aliases(model: type) -> dict[str, typing.Any]:
    return {field.alias: field.annotation for field in model.model_fields.values()}


def test_safety_tables_cover_the_sdk_enums():
    categories = set(contract.values(types.HarmCategory))
    assert set(t.SAFETY_CATEGORIES) | set(t.REFUSED_SAFETY_CATEGORIES) == categories
    assert not set(t.SAFETY_CATEGORIES) & set(t.REFUSED_SAFETY_CATEGORIES)
    assert set(t.SAFETY_THRESHOLDS) == set(contract.values(types.HarmBlockThreshold)) - {
        "HARM_BLOCK_THRESHOLD_UNSPECIFIED"}


def test_thinking_config_tables_follow_the_sdk_model():
    fields = _aliases(types.ThinkingConfig)
    assert set(t.THINKING_CONFIG_TYPES) == set(fields)
    assert set(t.THINKING_LEVELS) == set(contract.values(types.ThinkingLevel)) - {"THINKING_LEVEL_UNSPECIFIED"}
    assert fields["thinkingBudget"] == int | None and fields["includeThoughts"] == bool | None


def test_generation_fields_have_the_sdk_types():
    fields = _aliases(types.GenerationConfig)
    for target in set(t.GENERATION_KEYS.values()) | {"logprobs"}:
        expected = int if target in t.INTEGER_KEYS else float
        assert fields[target] == expected | None, target


# The contract refuses what it must


REQUEST = {"contents": [{"role": "user", "parts": [{"text": "Hi"}]}]}


@pytest.mark.parametrize("request_, why", [
    ({**REQUEST, "generation_config": {"temperature": 1}}, "generation_config"),  # snake_case key
    ({**REQUEST, "generationConfig": {"temperature": "warm"}}, "temperature"),
    ({**REQUEST, "safetySettings": [{"category": "HARM_CATEGORY_NEW", "threshold": "OFF"}]}, "declared"),
    ({**REQUEST, "safetySettings": [{"category": "harm_category_harassment", "threshold": "OFF"}]}, "spelling"),
    ({**REQUEST, "safetySettings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "OFF",
                                     "method": "SEVERITY"}]}, "Gemini API"),  # Vertex AI only
    ({**REQUEST, "tools": [{"retrieval": {}}]}, "Gemini API"),
    ({**REQUEST, "generationConfig": {"enableAffectiveDialog": True}}, "never sent"),
    ({**REQUEST, "cachedContent": "abc"}, "cachedContents/abc"),
    ({**REQUEST, "priority": 3}, "priority"),
    ({"contents": [{"role": "user", "parts": [{"inlineData": {"mimeType": "a/b", "data": "!!"}}]}]}, "base64"),
])
def test_the_request_contract_refuses(request_, why):
    with pytest.raises(contract.ContractViolation, match=why):
        contract.check_generate_content_request(request_)


def test_the_reply_contract_refuses():
    file = {"name": "files/a", "state": "ACTIVE", "sizeBytes": "3", "createTime": "2025-01-01T00:00:00.123456789Z"}
    contract.check_file(file)
    with pytest.raises(contract.ContractViolation, match="colour"):
        contract.check_file({**file, "colour": "red"})
    with pytest.raises(contract.ContractViolation, match="declared FileState"):
        contract.check_file({**file, "state": "ARCHIVED"})
    with pytest.raises(contract.ContractViolation, match="declared FinishReason"):
        contract.check_generate_content_response({"candidates": [{"finishReason": "NEW"}]})
    with pytest.raises(contract.ContractViolation, match="not a google.rpc.Code"):
        contract.check_result_line({"key": "k", "error": {"code": 400, "message": "HTTP, not rpc"}})
    operation = {"name": "batches/b", "metadata": {"@type": contract.BATCH_TYPE, "state": "BATCH_STATE_RUNNING",
                                                   "batchStats": {"requestCount": "2"}}}
    contract.check_operation(operation)
    for state in ("JOB_STATE_RUNNING", "BATCH_STATE_PAUSED"):  # the SDK reads neither from the Gemini API
        with pytest.raises(contract.ContractViolation, match="not a state the SDK reads"):
            contract.check_operation({**operation, "metadata": {**operation["metadata"], "state": state}})
    with pytest.raises(contract.ContractViolation, match="int64"):
        contract.check_operation({**operation, "metadata": {**operation["metadata"], "batchStats": {
            "requestCount": 2}}})


def test_citation_sources_are_read_as_the_sdk_reads_them():
    contract.check_generate_content_response({"candidates": [{"citationMetadata": {"citationSources": [
        {"startIndex": 1, "endIndex": 4, "uri": "https://example.com"}]}}]})


# The fake answers a request that breaks the contract as Gemini would


@pytest.fixture
def make_fake(rsps):
    yield from checked_fakes(rsps)


def _upload(client, content: bytes):
    return client.post("/openai/files", headers=AUTH, content_type="multipart/form-data", data={
        "purpose": "batch", "provider": "gemini", "file": (io.BytesIO(content), "in.jsonl")})


SNAKE = {"key": "g-1", "request": {"contents": [{"role": "user", "parts": [{"text": "Hi"}]}],
                                   "generation_config": {"max_output_tokens": 5}}}


def test_the_fake_answers_400_invalid_argument_and_records_the_violation(client, make_fake, app):
    fake = make_fake()
    reply = _upload(client, json.dumps(SNAKE).encode())  # a file in Gemini's format goes up as sent
    assert reply.status_code == 400 and reply.get_json()["error"]["code"] == "INVALID_ARGUMENT"
    assert "generation_config" in reply.get_json()["error"]["message"]
    assert len(fake.violations) == 1 and "line 1" in fake.violations[0]
    with pytest.raises(AssertionError, match="generation_config"):
        fake.assert_no_violations()
    fake.violations.clear()
    assert fake.files == {}


def test_the_fake_checks_the_input_lines_a_batch_reads(client, make_fake):
    fake = make_fake()
    line = {**SNAKE, "request": {"contents": SNAKE["request"]["contents"]}}
    file_id = _upload(client, json.dumps(line).encode()).get_json()["id"]
    fake.files[ids.decode_file(file_id).native]["_content"] = json.dumps(SNAKE).encode()  # changed since
    reply = client.post("/openai/batches", headers=AUTH, json={
        "input_file_id": file_id, "endpoint": "/v1/chat/completions", "completion_window": "24h",
        "provider": "gemini", "model": "gemini-2.5-flash"})
    assert reply.status_code == 400 and "generation_config" in reply.get_json()["error"]["message"]
    assert len(fake.violations) == 1 and fake.batches == {}
    fake.violations.clear()


def test_the_fake_refuses_to_send_a_reply_the_types_refuse(client, make_fake):
    fake = make_fake()
    fake._add_file("files/odd", b"", "jsonl", "UPLOADED", None)["state"] = "ARCHIVED"
    reply = client.get(f"/openai/files/{ids.encode_file('gemini', 'files/odd')}", headers=AUTH)
    assert reply.status_code == 502
    assert fake.violations and "ARCHIVED" in fake.violations[0]
    fake.violations.clear()
