"""translators/gemini.py row by row (providers.md §C.7, §C.8, §C.4, §0.1, §0.2, §C.2, §A.8)."""

from __future__ import annotations

import json

import pytest

from errors import BadRequest
from schemas.batch import BatchSchema
from schemas.file import FileObjectSchema
from translators import gemini as t

USER = {"role": "user", "content": "Hi"}


def _request(**body) -> dict:
    return t.generate_content_request({"model": "gemini-2.5-flash", "messages": [USER], **body})


# §C.7 OpenAI chat -> GenerateContentRequest


@pytest.mark.parametrize("messages, system, contents", [
    pytest.param([{"role": "system", "content": "Be terse."}, USER],
                 {"parts": [{"text": "Be terse."}]}, [{"role": "user", "parts": [{"text": "Hi"}]}], id="system"),
    pytest.param([{"role": "developer", "content": [{"type": "text", "text": "Dev rule."}]}, USER],
                 {"parts": [{"text": "Dev rule."}]}, [{"role": "user", "parts": [{"text": "Hi"}]}],
                 id="developer-parts"),
    pytest.param([USER, {"role": "assistant", "content": "Hello!"}, {"role": "user", "content": "Again"}], None,
                 [{"role": "user", "parts": [{"text": "Hi"}]}, {"role": "model", "parts": [{"text": "Hello!"}]},
                  {"role": "user", "parts": [{"text": "Again"}]}], id="assistant-is-model"),
    pytest.param([USER, {"role": "user", "content": "More"}], None,
                 [{"role": "user", "parts": [{"text": "Hi"}, {"text": "More"}]}], id="same-role-merged"),
    pytest.param([{"role": "user", "content": [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}},
        {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}},
        {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBERi0="}},
    ]}], None, [{"role": "user", "parts": [
        {"text": "What is this?"},
        {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}},
        {"fileData": {"fileUri": "https://example.com/cat.jpg", "mimeType": "image/jpeg"}},
        {"inlineData": {"mimeType": "audio/wav", "data": "UklGRg=="}},
        {"inlineData": {"mimeType": "application/pdf", "data": "JVBERi0="}},
    ]}], id="content-parts"),
    pytest.param([USER,
                  {"role": "assistant", "content": None, "tool_calls": [
                      {"id": "call_1", "type": "function",
                       "function": {"name": "weather", "arguments": '{"city": "Paris"}'}}]},
                  {"role": "tool", "tool_call_id": "call_1", "content": '{"temp": 21}'},
                  ], None,
                 [{"role": "user", "parts": [{"text": "Hi"}]},
                  {"role": "model", "parts": [{"functionCall": {"name": "weather", "args": {"city": "Paris"}}}]},
                  {"role": "user", "parts": [{"functionResponse": {"name": "weather",
                                                                   "response": {"content": {"temp": 21}}}}]}],
                 id="tool-call-and-result"),
    pytest.param([USER,
                  {"role": "assistant", "tool_calls": [
                      {"id": "a", "type": "function", "function": {"name": "f", "arguments": "{}"}},
                      {"id": "b", "type": "function", "function": {"name": "g", "arguments": "{}"}}]},
                  {"role": "tool", "tool_call_id": "a", "content": "plain text"},
                  {"role": "tool", "tool_call_id": "b", "content": "[1, 2]"},
                  ], None,
                 [{"role": "user", "parts": [{"text": "Hi"}]},
                  {"role": "model", "parts": [{"functionCall": {"name": "f", "args": {}}},
                                              {"functionCall": {"name": "g", "args": {}}}]},
                  {"role": "user", "parts": [
                      {"functionResponse": {"name": "f", "response": {"content": "plain text"}}},
                      {"functionResponse": {"name": "g", "response": {"content": [1, 2]}}}]}],
                 id="parallel-tool-results-merged"),
])
def test_messages(messages, system, contents):
    request = t.generate_content_request({"messages": messages})
    assert request.get("systemInstruction") == system
    assert request["contents"] == contents


@pytest.mark.parametrize("body, config", [
    ({"max_tokens": 100}, {"maxOutputTokens": 100}),
    ({"max_completion_tokens": 50}, {"maxOutputTokens": 50}),
    ({"temperature": 0.2, "top_p": 0.9, "n": 2}, {"temperature": 0.2, "topP": 0.9, "candidateCount": 2}),
    ({"stop": "END"}, {"stopSequences": ["END"]}),
    ({"stop": ["a", "b"]}, {"stopSequences": ["a", "b"]}),
    ({"presence_penalty": 0.5, "frequency_penalty": 0.1, "seed": 7},
     {"presencePenalty": 0.5, "frequencyPenalty": 0.1, "seed": 7}),
    ({"response_format": {"type": "json_object"}}, {"responseMimeType": "application/json"}),
    ({"response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}}},
     {"responseMimeType": "application/json", "responseJsonSchema": {"type": "object"}}),
    ({"logprobs": True, "top_logprobs": 3}, {"responseLogprobs": True, "logprobs": 3}),
    ({"reasoning_effort": "low"}, {"thinkingConfig": {"thinkingBudget": 1024}}),
    ({"top_k": 40}, {"topK": 40}),
])
def test_generation_config(body, config):
    assert _request(**body)["generationConfig"] == config


def test_no_generation_config_when_nothing_is_set():
    assert _request(response_format={"type": "text"}, user="u1", store=False) == {
        "contents": [{"role": "user", "parts": [{"text": "Hi"}]}]}


TOOL = {"type": "function", "function": {"name": "weather", "description": "Get weather",
                                         "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}


@pytest.mark.parametrize("choice, config", [
    ("auto", {"functionCallingConfig": {"mode": "AUTO"}}),
    ("none", {"functionCallingConfig": {"mode": "NONE"}}),
    ("required", {"functionCallingConfig": {"mode": "ANY"}}),
    ({"type": "function", "function": {"name": "weather"}},
     {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["weather"]}}),
])
def test_tools_and_tool_choice(choice, config):
    request = _request(tools=[TOOL], tool_choice=choice)
    assert request["tools"] == [{"functionDeclarations": [{
        "name": "weather", "description": "Get weather",
        "parametersJsonSchema": {"type": "object", "properties": {"city": {"type": "string"}}}}]}]
    assert request["toolConfig"] == config


@pytest.mark.parametrize("body, param", [
    ({"messages": []}, "body.messages"),
    ({"messages": [{"role": "system", "content": "only system"}]}, "body.messages"),
    ({"messages": [{"role": "critic", "content": "x"}]}, "body.messages[0].role"),
    ({"messages": [USER, {"role": "tool", "tool_call_id": "nope", "content": "x"}]}, "body.messages[1].tool_call_id"),
    ({"messages": [{"role": "user", "content": [{"type": "video", "video": {}}]}]}, "body.messages[0].content[0]"),
    ({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "ftp://x/y.png"}}]}]},
     "body.messages[0].content[0]"),
    ({"messages": [USER], "logit_bias": {"1": 2}}, "body.logit_bias"),
    ({"messages": [USER], "tools": [{"type": "web_search"}]}, "body.tools[0]"),
    ({"messages": [USER], "tool_choice": "sometimes"}, "body.tool_choice"),
    ({"messages": [USER, {"role": "assistant", "tool_calls": [
        {"id": "c", "type": "function", "function": {"name": "f", "arguments": "not json"}}]}]},
     "body.messages[1].tool_calls[0].function.arguments"),
])
def test_bad_bodies_name_the_field(body, param):
    with pytest.raises(BadRequest) as caught:
        t.generate_content_request(body)
    assert caught.value.param == param


def test_batch_line_and_inline_request():
    line = {"custom_id": "req-1", "method": "POST", "url": "/v1/chat/completions",
            "body": {"model": "m", "messages": [USER], "max_tokens": 5}}
    request = {"contents": [{"role": "user", "parts": [{"text": "Hi"}]}], "generationConfig": {"maxOutputTokens": 5}}
    assert t.batch_line(line) == {"key": "req-1", "request": request}
    assert t.inline_request(line) == {"request": request, "metadata": {"key": "req-1"}}


# §C.8 GenerateContentResponse -> chat.completion


def _response(parts, finish="STOP", **extra) -> dict:
    return {"candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": finish, "index": 0}],
            "usageMetadata": {"promptTokenCount": 7, "candidatesTokenCount": 2, "totalTokenCount": 9},
            "modelVersion": "gemini-2.5-flash-001", "responseId": "r1", **extra}


@pytest.mark.parametrize("finish, parts, expected", [
    ("STOP", [{"text": "hello"}], "stop"),
    ("STOP", [{"functionCall": {"name": "f", "args": {}}}], "tool_calls"),
    ("MAX_TOKENS", [{"text": "hel"}], "length"),
    ("SAFETY", [], "content_filter"),
    ("RECITATION", [{"text": "x"}], "content_filter"),
    ("PROHIBITED_CONTENT", [], "content_filter"),
    ("OTHER", [{"text": "x"}], "stop"),
    ("MALFORMED_FUNCTION_CALL", [], "stop"),
    ("FINISH_REASON_UNSPECIFIED", [{"text": "x"}], "stop"),
    ("CONTINUATION", [{"text": "x"}], "length"),
    ("MODEL_ARMOR", [], "content_filter"),
    ("ESCALATION", [], "content_filter"),
    ("PUP_LIMITED_DISABLED", [], "content_filter"),
    ("MALFORMED_RESPONSE", [], "stop"),
    ("MISSING_THOUGHT_SIGNATURE", [], "stop"),
    ("MAX_TOKENS", [{"functionCall": {"name": "f", "args": {}}}], "length"),  # cut off mid-call: not tool_calls
    ("NEW_REASON", [{"text": "x"}], "stop"),  # newer than the table: the fallback
    (None, [{"functionCall": {"name": "f", "args": {}}}], "tool_calls"),
    (None, [{"text": "x"}], "stop"),
])
def test_finish_reasons(finish, parts, expected):
    response = _response(parts, finish)
    if finish is None:
        del response["candidates"][0]["finishReason"]
    choice = t.chat_completion(response, response_id="r1", model="m", created=1)["choices"][0]
    assert choice["finish_reason"] == expected
    assert choice["native_finish_reason"] == finish


def test_unknown_parts_are_skipped():
    parts = [{"text": "a"}, {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}},
             {"executableCode": {"language": "PYTHON", "code": "1"}}, {"hologram": {"x": 1}},
             {"text": "b", "thoughtSignature": "c2ln"}, {"functionCall": {"name": "f", "args": {}}}]
    message = t.chat_completion(_response(parts), response_id="r", model="m", created=1)["choices"][0]["message"]
    assert message["content"] == "ab" and [c["function"]["name"] for c in message["tool_calls"]] == ["f"]


def test_text_tool_calls_and_usage():
    response = _response([{"text": "Plan...", "thought": True}, {"text": "Hello"}, {"text": " there"},
                          {"functionCall": {"name": "weather", "args": {"city": "Paris"}}},
                          {"functionCall": {"id": "given", "name": "time", "args": {}}}])
    response["usageMetadata"] = {"promptTokenCount": 10, "candidatesTokenCount": 4, "thoughtsTokenCount": 6,
                                 "cachedContentTokenCount": 3, "totalTokenCount": 20}
    body = t.chat_completion(response, response_id="r1", model="fallback", created=1700000000)
    assert body["id"] == "chatcmpl-r1" and body["created"] == 1700000000
    assert body["model"] == "gemini-2.5-flash-001"
    message = body["choices"][0]["message"]
    assert message["content"] == "Hello there"
    assert message["tool_calls"] == [
        {"id": "call_0", "type": "function", "function": {"name": "weather", "arguments": '{"city": "Paris"}'}},
        {"id": "given", "type": "function", "function": {"name": "time", "arguments": "{}"}},
    ]
    assert body["usage"] == {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20,
                             "prompt_tokens_details": {"cached_tokens": 3},
                             "completion_tokens_details": {"reasoning_tokens": 6}}


@pytest.mark.parametrize("reason", ["JAILBREAK", "A_NEW_REASON"])
def test_any_block_reason_is_content_filter(reason):
    choice = t.chat_completion({"promptFeedback": {"blockReason": reason}}, response_id="r", model="m",
                               created=1)["choices"][0]
    assert (choice["finish_reason"], choice["native_finish_reason"]) == ("content_filter", reason)


def test_no_candidates_and_no_block_reason_cannot_be_converted():
    with pytest.raises(KeyError):
        t.chat_completion({"promptFeedback": {}}, response_id="r", model="m", created=1)


def test_blocked_prompt_is_content_filter():
    body = t.chat_completion({"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {"promptTokenCount": 4}},
                             response_id="r", model="gemini-x", created=1)
    assert body["choices"] == [{"index": 0, "message": {"role": "assistant", "content": None, "refusal": None},
                                "logprobs": None, "finish_reason": "content_filter",
                                "native_finish_reason": "SAFETY"}]
    assert body["model"] == "gemini-x" and body["usage"]["prompt_tokens"] == 4


def test_logprobs():
    response = _response([{"text": "Hi"}])
    response["candidates"][0]["logprobsResult"] = {
        "chosenCandidates": [{"token": "Hi", "logProbability": -0.1}],
        "topCandidates": [{"candidates": [{"token": "Hi", "logProbability": -0.1},
                                          {"token": "Yo", "logProbability": -2.5}]}]}
    logprobs = t.chat_completion(response, response_id="r", model="m", created=1)["choices"][0]["logprobs"]
    assert logprobs["content"][0]["token"] == "Hi" and logprobs["content"][0]["bytes"] == [72, 105]
    assert [alt["token"] for alt in logprobs["content"][0]["top_logprobs"]] == ["Hi", "Yo"]


# Result lines -> OpenAI output / error lines (§C.6, §A.8)


def test_success_line():
    line = t.output_line({"key": "req-1", "response": _response([{"text": "hello"}])},
                         number=1, batch="batches/abc", model="m", created=5)
    assert line["id"] == "batch_req_r1" and line["custom_id"] == "req-1" and line["error"] is None
    assert line["response"]["status_code"] == 200 and line["response"]["request_id"] == "r1"
    assert line["response"]["body"]["choices"][0]["message"]["content"] == "hello"


@pytest.mark.parametrize("error_key, status, http_status, code", [
    ("error", {"code": 400, "message": "bad", "status": "INVALID_ARGUMENT"}, 400, "INVALID_ARGUMENT"),
    ("error", {"code": 3, "message": "bad"}, 400, "INVALID_ARGUMENT"),
    ("status", {"code": 8, "message": "quota"}, 429, "RESOURCE_EXHAUSTED"),
    ("error", {"code": 13, "message": "boom", "status": "INTERNAL"}, 500, "INTERNAL"),
    ("error", {"code": 4, "message": "slow"}, 504, "DEADLINE_EXCEEDED"),
    ("error", {"code": 99, "message": "new"}, 500, "99"),  # an rpc code newer than code.proto
    ("error", {"code": 503, "message": "new", "status": "BRAND_NEW"}, 503, "BRAND_NEW"),
    ("error", {"code": 3, "message": "new", "status": "BRAND_NEW"}, 500, "BRAND_NEW"),
    ("error", {"message": "bare"}, 500, None),
])
def test_error_lines(error_key, status, http_status, code):
    line = t.output_line({"key": "req-2", error_key: status}, number=3, batch="batches/abc", model="m", created=5)
    assert line["id"] == "batch_req_abc-3" and line["custom_id"] == "req-2" and line["error"] is None
    assert line["response"]["status_code"] == http_status
    assert line["response"]["body"]["error"]["code"] == code
    assert line["response"]["body"]["error"]["message"] == status["message"]


def test_cancelled_request_is_a_failure_line():
    line = t.output_line({"key": "k", "error": {"code": 1, "message": "Cancelled."}},
                         number=1, batch="batches/b", model="m", created=1)
    assert line["response"] is None and line["error"] == {"code": "batch_cancelled", "message": "Cancelled."}


@pytest.mark.parametrize("line", [{"key": "k"}, {"response": {}}, {"key": "k", "error": "bad"},
                                  {"key": 7, "error": {"code": 3}}, {"key": "k", "response": {}},
                                  {"key": "k", "response": _response([{"functionCall": {"args": {}}}])}])
def test_unconvertible_result_lines_raise(line):
    with pytest.raises((KeyError, TypeError)):
        t.output_line(line, number=1, batch="batches/b", model="m", created=1)


def test_inline_results_carry_their_key_in_metadata():
    output = {"inlinedResponses": {"inlinedResponses": [
        {"response": _response([{"text": "hi"}]), "metadata": {"key": "a"}},
        {"error": {"code": 3, "message": "bad"}, "metadata": {"key": "b"}},
    ]}}
    lines = [t.output_line(item, n, batch="batches/b", model="m", created=1)
             for n, item in enumerate(t.inline_results(output), start=1)]
    assert [line["custom_id"] for line in lines] == ["a", "b"]
    assert lines[1]["id"] == "batch_req_b-2" and lines[1]["response"]["status_code"] == 400


@pytest.mark.parametrize("line, expected", [
    ({"key": "k", "response": {"responseId": "r9"}}, ("k", "r9")),
    ({"metadata": {"key": "m"}, "error": {}}, ("m", "b-4")),
    (None, ("line-4", "b-4")),
])
def test_identify(line, expected):
    assert t.identify(line, 4, batch="batches/b") == expected


def test_identify_raises_without_a_key():  # converted_lines then falls back to identify(None, ...)
    with pytest.raises(KeyError):
        t.identify({"response": {}}, 4, batch="batches/b")


# §C.4 / §0.1 / §0.2 Operation -> Batch


def _operation(state, stats=None, **extra) -> dict:
    meta = {"@type": "type.googleapis.com/google.ai.generativelanguage.v1beta.GenerateContentBatch",
            "name": "batches/abc", "displayName": "x", "model": "models/gemini-2.5-flash", "state": state,
            "createTime": "2025-01-01T00:00:00.123456789Z", "updateTime": "2025-01-01T00:10:00Z",
            "inputConfig": {"fileName": "files/in1"}}
    if stats is not None:
        meta["batchStats"] = stats
    if extra.pop("ended", False):
        meta["endTime"] = "2025-01-01T01:00:00Z"
    return {"name": "batches/abc", "metadata": meta, **extra}


def _batch(operation, **kwargs) -> dict:
    return t.batch_object(operation, encode_batch=lambda n: f"B[{n}]", encode_file=lambda n, k: f"F[{n}:{k}]",
                          **kwargs)


@pytest.mark.parametrize("state, status", [
    ("BATCH_STATE_PENDING", "validating"), ("JOB_STATE_PENDING", "validating"),
    ("BATCH_STATE_RUNNING", "in_progress"), ("JOB_STATE_RUNNING", "in_progress"),
    ("BATCH_STATE_SUCCEEDED", "completed"), ("JOB_STATE_SUCCEEDED", "completed"),
    ("BATCH_STATE_FAILED", "failed"), ("BATCH_STATE_CANCELLED", "cancelled"), ("JOB_STATE_CANCELLED", "cancelled"),
    ("BATCH_STATE_EXPIRED", "expired"), ("BATCH_STATE_UNSPECIFIED", "validating"),
    ("JOB_STATE_QUEUED", "validating"), ("JOB_STATE_PAUSED", "in_progress"), ("JOB_STATE_UPDATING", "in_progress"),
    ("JOB_STATE_CANCELLING", "cancelling"), ("JOB_STATE_PARTIALLY_SUCCEEDED", "completed"),
    ("RUNNING", "in_progress"),
])
def test_states(state, status):
    assert t.state(_operation(state)) == status
    assert t.known_state(_operation(state))


@pytest.mark.parametrize("state, ended, status", [
    ("BATCH_STATE_ARCHIVED", False, "in_progress"), ("BATCH_STATE_ARCHIVED", True, "completed"),
    (None, False, "in_progress"), ("STRANGE", True, "completed"),
])
def test_unknown_states_fall_back_on_whether_the_batch_ended(state, ended, status):
    operation = _operation(state, ended=ended)
    if state is None:
        del operation["metadata"]["state"]
    assert t.state(operation) == status and not t.known_state(operation)
    done_only = _operation(state, done=True)
    assert t.state(done_only) == "completed"


def test_unknown_ended_state_offers_its_results():
    operation = _operation("BATCH_STATE_ARCHIVED", {"requestCount": "2", "successfulRequestCount": "2"},
                           ended=True, done=True, response={"responsesFile": "files/batch-abc"})
    batch = _batch(operation)
    assert batch["status"] == "completed" and batch["completed_at"] == 1735693200
    assert batch["output_file_id"] == "F[batches/abc:output]"
    assert BatchSchema().validate(batch) == {}


def test_gemini_cancelling_state():
    batch = _batch(_operation("JOB_STATE_CANCELLING"))
    assert batch["status"] == "cancelling" and batch["cancelling_at"] == 1735690200
    assert BatchSchema().validate(batch) == {}


@pytest.mark.parametrize("stats, counts", [
    (None, {"total": 0, "completed": 0, "failed": 0}),
    ({"requestCount": "10", "pendingRequestCount": "10"}, {"total": 10, "completed": 0, "failed": 0}),
    ({"requestCount": "10", "successfulRequestCount": "7", "failedRequestCount": "1", "pendingRequestCount": "2"},
     {"total": 10, "completed": 7, "failed": 1}),
    ({"requestCount": "3", "failedRequestCount": "3"}, {"total": 3, "completed": 0, "failed": 3}),
])
def test_request_counts(stats, counts):
    assert t.request_counts(stats) == counts


def test_running_batch():
    batch = _batch(_operation("BATCH_STATE_RUNNING", {"requestCount": "2", "pendingRequestCount": "2"}))
    assert batch["id"] == "B[batches/abc]" and batch["status"] == "in_progress"
    assert batch["model"] == "gemini-2.5-flash" and batch["input_file_id"] == "F[files/in1:file]"
    assert batch["created_at"] == 1735689600 and batch["expires_at"] == 1735689600 + 48 * 3600
    assert batch["output_file_id"] is None and batch["error_file_id"] is None
    assert BatchSchema().validate(batch) == {}


def test_succeeded_batch_with_failures():
    output = {"responsesFile": "files/batch-abc"}
    batch = _batch(_operation("BATCH_STATE_SUCCEEDED", {"requestCount": "3", "successfulRequestCount": "2",
                                                        "failedRequestCount": "1"}, ended=True, done=True,
                              response=output))
    assert batch["status"] == "completed" and batch["completed_at"] == 1735693200
    assert batch["output_file_id"] == "F[batches/abc:output]" and batch["error_file_id"] == "F[batches/abc:errors]"
    assert BatchSchema().validate(batch) == {}


def test_a_batch_whose_every_request_failed_is_completed_with_both_files():
    batch = _batch(_operation("BATCH_STATE_SUCCEEDED", {"requestCount": "2", "failedRequestCount": "2"},
                              ended=True, done=True, response={"responsesFile": "files/batch-abc"}))
    assert batch["status"] == "completed" and batch["request_counts"] == {"total": 2, "completed": 0, "failed": 2}
    assert batch["output_file_id"] == "F[batches/abc:output]" and batch["error_file_id"] == "F[batches/abc:errors]"


def test_results_mirrored_in_metadata_output_give_both_files():
    operation = _operation("BATCH_STATE_SUCCEEDED", {"requestCount": "1", "successfulRequestCount": "1"}, ended=True)
    operation["metadata"]["output"] = {"inlinedResponses": {"inlinedResponses": []}}
    del operation["metadata"]["inputConfig"]
    batch = _batch(operation)
    assert batch["output_file_id"] == "F[batches/abc:output]" and batch["error_file_id"] == "F[batches/abc:errors]"
    assert batch["input_file_id"] == ""


def test_failed_batch_carries_the_error():
    batch = _batch(_operation("BATCH_STATE_FAILED", ended=True, done=True,
                              error={"code": 3, "message": "Input file is malformed."}))
    assert batch["status"] == "failed" and batch["failed_at"] == 1735693200
    assert batch["errors"] == {"object": "list", "data": [
        {"code": "INVALID_ARGUMENT", "message": "Input file is malformed.", "param": None, "line": None}]}
    assert BatchSchema().validate(batch) == {}


@pytest.mark.parametrize("state, status", [("BATCH_STATE_RUNNING", "cancelling"),
                                           ("BATCH_STATE_PENDING", "cancelling"),
                                           ("BATCH_STATE_CANCELLED", "cancelled")])
def test_just_cancelled(state, status):
    batch = _batch(_operation(state, ended=state.endswith("CANCELLED")), cancelling_at=1735690000)
    assert batch["status"] == status
    assert batch["cancelling_at"] == (1735690000 if status == "cancelling" else None)


@pytest.mark.parametrize("value, seconds", [
    ("2025-01-01T00:00:00Z", 1735689600), ("2025-01-01T00:00:00.999999999Z", 1735689600),
    ("2025-01-01T01:00:00+01:00", 1735689600), (None, None),
])
def test_timestamps(value, seconds):
    assert t.timestamp(value) == seconds


# §C.2 File -> FileObject


FILE = {"name": "files/abc", "displayName": "batch.jsonl", "mimeType": "jsonl", "sizeBytes": "1234",
        "createTime": "2025-01-01T00:00:00.5Z", "expirationTime": "2025-01-03T00:00:00Z", "state": "ACTIVE",
        "source": "UPLOADED"}


@pytest.mark.parametrize("changes, expected", [
    ({}, {"bytes": 1234, "filename": "batch.jsonl", "purpose": "batch", "status": "processed"}),
    ({"state": "PROCESSING"}, {"status": "uploaded"}),
    ({"state": "FAILED", "error": {"code": 3, "message": "bad file"}},
     {"status": "error", "status_details": "bad file"}),
    ({"source": "GENERATED", "displayName": None}, {"purpose": "batch_output", "filename": "files/abc"}),
    ({"mimeType": "image/png"}, {"purpose": "user_data"}),
    ({"sizeBytes": None}, {"bytes": 0}),
])
def test_file_object(changes, expected):
    file = {k: v for k, v in {**FILE, **changes}.items() if v is not None}
    obj = t.file_object(file, file_id="file-x")
    assert {k: obj[k] for k in expected} == expected
    assert obj["created_at"] == 1735689600 and obj["expires_at"] == 1735689600 + 48 * 3600
    assert FileObjectSchema().validate(obj) == {}


def test_file_object_prefers_the_stored_details():
    obj = t.file_object(FILE, file_id="file-x", filename="mine.jsonl", purpose="user_data", size=99)
    assert (obj["filename"], obj["purpose"], obj["bytes"]) == ("mine.jsonl", "user_data", 99)


def test_unknown_file_state_and_source_fall_back():
    obj = t.file_object({**FILE, "state": "ARCHIVED", "source": "MIRRORED"}, file_id="file-x")
    assert obj["status"] == t.FILE_STATUS_FALLBACK == "uploaded" and obj["purpose"] == "batch"
    assert FileObjectSchema().validate(obj) == {}


def test_results_file_object():
    operation = _operation("BATCH_STATE_SUCCEEDED", ended=True)
    obj = t.results_file_object(operation, file_id="file-o", kind="output", size=10)
    assert obj["filename"] == "batch_abc_output.jsonl" and obj["purpose"] == "batch_output"
    assert obj["created_at"] == 1735693200
    assert FileObjectSchema().validate(obj) == {}


def test_translation_is_deterministic():
    line = {"key": "req-1", "response": _response([{"functionCall": {"name": "f", "args": {"a": 1}}}])}
    first = t.output_line(line, number=1, batch="batches/b", model="m", created=1)
    assert json.dumps(first) == json.dumps(t.output_line(line, number=1, batch="batches/b", model="m", created=1))
