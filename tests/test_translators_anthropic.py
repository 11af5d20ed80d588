"""translators/anthropic.py, table by table (providers.md §B.6, §B.7, §B.3/§A.8, §0.1, §0.2)."""

from __future__ import annotations

import json

import pytest

from errors import BadRequest
from schemas.batch import BatchSchema
from translators import anthropic as t

USER = {"role": "user", "content": "Hi"}


def params(**body) -> dict:
    return t.chat_to_params({"model": "claude-x", "messages": [USER], **body}, default_max_tokens=4096)


# §B.6: OpenAI chat body -> Messages params


def test_minimal_body_gets_default_max_tokens():
    assert t.chat_to_params({"model": "claude-x", "messages": [USER]}, default_max_tokens=321) == {
        "model": "claude-x", "max_tokens": 321, "messages": [{"role": "user", "content": "Hi"}],
    }


def test_model_is_optional():
    assert "model" not in t.chat_to_params({"messages": [USER]}, default_max_tokens=5)


@pytest.mark.parametrize("body, expected", [
    ({"max_tokens": 100}, {"max_tokens": 100}),
    ({"max_completion_tokens": 50, "max_tokens": 100}, {"max_tokens": 50}),
    ({"temperature": 0.7}, {"temperature": 0.7}),
    ({"temperature": 1}, {"temperature": 1}),
    ({"top_p": 0.9}, {"top_p": 0.9}),
    ({"stop": "END"}, {"stop_sequences": ["END"]}),
    ({"stop": ["a", "b"]}, {"stop_sequences": ["a", "b"]}),
    ({"stop": []}, {}),
    ({"user": "user-42"}, {"metadata": {"user_id": "user-42"}}),
    ({"safety_identifier": "sid"}, {"metadata": {"user_id": "sid"}}),
    ({"tool_choice": "auto"}, {"tool_choice": {"type": "auto"}}),
    ({"tool_choice": "required"}, {"tool_choice": {"type": "any"}}),
    ({"tool_choice": "none"}, {"tool_choice": {"type": "none"}}),
    ({"tool_choice": {"type": "function", "function": {"name": "f"}}}, {"tool_choice": {"type": "tool", "name": "f"}}),
    ({"parallel_tool_calls": False}, {"tool_choice": {"type": "auto", "disable_parallel_tool_use": True}}),
    ({"tool_choice": "required", "parallel_tool_calls": False},
     {"tool_choice": {"type": "any", "disable_parallel_tool_use": True}}),
    ({"parallel_tool_calls": True}, {}),
    ({"response_format": {"type": "text"}}, {}),
    ({"response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}}},
     {"output_config": {"format": {"type": "json_schema", "schema": {"type": "object"}}}}),
    # OpenAI defaults are accepted and leave nothing behind
    ({"n": 1, "stream": False, "logprobs": False, "presence_penalty": 0, "frequency_penalty": 0.0,
      "store": False, "service_tier": "auto"}, {}),
])
def test_field_rows(body, expected):
    out = params(**body)
    base = {"model", "messages"} | ({"max_tokens"} if "max_tokens" not in expected else set())
    assert {k: v for k, v in out.items() if k not in base} == expected


def test_tools():
    out = params(tools=[
        {"type": "function", "function": {"name": "get_weather", "description": "Weather",
                                          "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
                                          "strict": True}},
        {"type": "function", "function": {"name": "noargs"}},
    ])
    assert out["tools"] == [
        {"name": "get_weather", "description": "Weather",
         "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}, "strict": True},
        {"name": "noargs", "input_schema": {"type": "object", "properties": {}}},
    ]


def test_system_and_developer_become_system():
    out = t.chat_to_params({"messages": [
        {"role": "system", "content": "Be brief."}, USER,
    ]}, default_max_tokens=1)
    assert out["system"] == "Be brief."
    out = t.chat_to_params({"messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "developer", "content": [{"type": "text", "text": "Use French."}]}, USER,
    ]}, default_max_tokens=1)
    assert out["system"] == [{"type": "text", "text": "Be brief."}, {"type": "text", "text": "Use French."}]
    assert out["messages"] == [{"role": "user", "content": "Hi"}]


def test_user_content_parts_and_images():
    out = params(messages=[{"role": "user", "content": [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo=", "detail": "low"}},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}},
        {"type": "file", "file": {"filename": "a.pdf", "file_data": "data:application/pdf;base64,JVBERi0="}},
    ]}])
    assert out["messages"] == [{"role": "user", "content": [
        {"type": "text", "text": "What is this?"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
        {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
        {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0="}},
    ]}]


def test_tool_call_round_trip():
    out = params(messages=[
        {"role": "user", "content": "Weather in Paris and Rome?"},
        {"role": "assistant", "content": "Checking.", "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "w", "arguments": '{"city": "Paris"}'}},
            {"id": "call_2", "type": "function", "function": {"name": "w", "arguments": '{"city": "Rome"}'}},
        ]},
        {"role": "tool", "tool_call_id": "call_1", "content": "18C"},
        {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "21C"}]},
        {"role": "user", "content": "Thanks"},
    ])
    assert out["messages"] == [
        {"role": "user", "content": "Weather in Paris and Rome?"},
        {"role": "assistant", "content": [
            {"type": "text", "text": "Checking."},
            {"type": "tool_use", "id": "call_1", "name": "w", "input": {"city": "Paris"}},
            {"type": "tool_use", "id": "call_2", "name": "w", "input": {"city": "Rome"}},
        ]},
        # consecutive tool results and the next user turn share one user message
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "call_1", "content": "18C"},
            {"type": "tool_result", "tool_use_id": "call_2", "content": [{"type": "text", "text": "21C"}]},
            {"type": "text", "text": "Thanks"},
        ]},
    ]


def test_assistant_text_only_stays_a_string():
    out = params(messages=[USER, {"role": "assistant", "content": "Hello"}, USER])
    assert out["messages"][1] == {"role": "assistant", "content": "Hello"}


@pytest.mark.parametrize("body, param", [
    ({"n": 2}, "n"),
    ({"logprobs": True}, "logprobs"),
    ({"top_logprobs": 3}, "top_logprobs"),
    ({"seed": 7}, "seed"),
    ({"presence_penalty": 0.5}, "presence_penalty"),
    ({"frequency_penalty": 1}, "frequency_penalty"),
    ({"logit_bias": {"50256": -100}}, "logit_bias"),
    ({"temperature": 1.5}, "temperature"),
    ({"top_p": 2}, "top_p"),
    ({"max_tokens": 0}, "max_tokens"),
    ({"stream": True}, "stream"),
    ({"response_format": {"type": "json_object"}}, "response_format"),
    ({"tool_choice": "sometimes"}, "tool_choice"),
    ({"tools": [{"type": "custom", "custom": {"name": "x"}}]}, "tools[0].type"),
    ({"functions": [{"name": "f"}]}, "functions"),
    ({"frobnicate": 1}, "frobnicate"),
    ({"messages": []}, "messages"),
    ({"messages": [{"role": "system", "content": "only system"}]}, "messages"),
    ({"messages": [{"role": "function", "content": "x"}]}, "messages[0].role"),
    ({"messages": [{"role": "user", "content": [{"type": "input_audio", "input_audio": {}}]}]},
     "messages[0].content[0].type"),
    ({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "ftp://x"}}]}]},
     "messages[0].content[0].image_url.url"),
    ({"messages": [{"role": "assistant", "content": None, "tool_calls": [
        {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{not json"}}]}]},
     "messages[0].tool_calls[0].function.arguments"),
    ({"messages": [{"role": "tool", "content": "x"}]}, "messages[0].tool_call_id"),
])
def test_unsupported_or_bad_fields_name_the_field(body, param):
    with pytest.raises(BadRequest) as caught:
        params(**body)
    assert caught.value.param == param
    assert caught.value.status == 400


# §B.7: Message -> chat.completion

MESSAGE = {
    "id": "msg_01FqExample", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
    "content": [{"type": "text", "text": "Hello!"}], "stop_reason": "end_turn", "stop_sequence": None,
    "usage": {"input_tokens": 10, "output_tokens": 34, "cache_creation_input_tokens": 0,
              "cache_read_input_tokens": 0, "service_tier": "batch"},
}


def test_message_to_chat_completion():
    assert t.message_to_chat_completion(MESSAGE, created=1727203044) == {
        "id": "msg_01FqExample", "object": "chat.completion", "created": 1727203044, "model": "claude-sonnet-4-5",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello!", "refusal": None},
                     "logprobs": None, "finish_reason": "stop", "native_finish_reason": "end_turn"}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 34, "total_tokens": 44,
                  "prompt_tokens_details": {"cached_tokens": 0}},
    }


@pytest.mark.parametrize("stop_reason, finish_reason", [
    ("end_turn", "stop"), ("stop_sequence", "stop"), ("pause_turn", "stop"), ("max_tokens", "length"),
    ("model_context_window_exceeded", "length"), ("tool_use", "tool_calls"), ("refusal", "content_filter"),
])
def test_stop_reasons(stop_reason, finish_reason):
    out = t.message_to_chat_completion({**MESSAGE, "stop_reason": stop_reason}, created=0)
    assert out["choices"][0]["finish_reason"] == finish_reason
    assert out["choices"][0]["native_finish_reason"] == stop_reason


@pytest.mark.parametrize("stop_reason", ["gave_up", None])
def test_unknown_or_missing_stop_reason_falls_back_to_stop(stop_reason):
    choice = t.message_to_chat_completion({**MESSAGE, "stop_reason": stop_reason}, created=0)["choices"][0]
    assert choice["finish_reason"] == "stop" and choice["native_finish_reason"] == stop_reason
    assert choice["message"]["content"] == "Hello!"


def test_tool_use_and_skipped_blocks():
    message = {**MESSAGE, "stop_reason": "tool_use", "content": [
        {"type": "thinking", "thinking": "Let me think", "signature": "abc"},
        {"type": "text", "text": "I'll check. "},
        {"type": "text", "text": "One moment."},
        {"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {"city": "Paris"}},
    ]}
    choice = t.message_to_chat_completion(message, created=0)["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] == "I'll check. One moment."
    assert choice["message"]["tool_calls"] == [
        {"id": "toolu_01", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}},
    ]
    assert json.loads(choice["message"]["tool_calls"][0]["function"]["arguments"]) == {"city": "Paris"}


def test_only_tool_use_gives_null_content():
    message = {**MESSAGE, "stop_reason": "tool_use",
               "content": [{"type": "tool_use", "id": "toolu_01", "name": "f", "input": {}}]}
    assert t.message_to_chat_completion(message, created=0)["choices"][0]["message"]["content"] is None


def test_unknown_block_is_skipped():
    message = {**MESSAGE, "content": [{"type": "hologram", "beam": 1}, {"type": "text", "text": "Still here."},
                                      {"no_type": True}]}
    assert t.message_to_chat_completion(message, created=0)["choices"][0]["message"]["content"] == "Still here."


def test_usage_with_cache_tokens():
    usage = {"input_tokens": 5, "output_tokens": 7, "cache_creation_input_tokens": 100,
             "cache_read_input_tokens": 900}
    assert t.chat_usage(usage) == {"prompt_tokens": 1005, "completion_tokens": 7, "total_tokens": 1012,
                                   "prompt_tokens_details": {"cached_tokens": 900}}


# §B.3 -> §A.8: result lines


def test_succeeded_line():
    line = t.result_line({"custom_id": "r1", "result": {"type": "succeeded", "message": MESSAGE}},
                         batch_id="msgbatch_1", created=99)
    assert line["id"] == "batch_req_msg_01FqExample"
    assert line["custom_id"] == "r1" and line["error"] is None
    assert line["response"]["status_code"] == 200
    assert line["response"]["request_id"] == "msg_01FqExample"
    assert line["response"]["body"]["created"] == 99


@pytest.mark.parametrize("error_type, status, openai_type", [
    ("invalid_request_error", 400, "invalid_request_error"),
    ("authentication_error", 401, "authentication_error"),
    ("billing_error", 402, "invalid_request_error"),
    ("permission_error", 403, "permission_error"),
    ("not_found_error", 404, "not_found_error"),
    ("request_too_large", 413, "invalid_request_error"),
    ("rate_limit_error", 429, "rate_limit_error"),
    ("api_error", 500, "server_error"),
    ("timeout_error", 504, "server_error"),
    ("overloaded_error", 529, "server_error"),
    ("conflict_error", 409, "invalid_request_error"),
    ("memory_path_conflict_error", 409, "invalid_request_error"),
    ("memory_precondition_failed_error", 412, "invalid_request_error"),
    ("a_new_error", 500, "server_error"),  # unknown: UNKNOWN_ERROR_STATUS, Anthropic's type as code
])
def test_errored_line(error_type, status, openai_type):
    raw = {"custom_id": "r2", "result": {"type": "errored", "error": {
        "type": "error", "error": {"type": error_type, "message": "boom"}, "request_id": "req_011"}}}
    line = t.result_line(raw, batch_id="msgbatch_1", created=0)
    assert line == {"id": "batch_req_req_011", "custom_id": "r2", "error": None, "response": {
        "status_code": status, "request_id": "req_011",
        "body": {"error": {"message": "boom", "type": openai_type, "param": None, "code": error_type}}}}


def test_errored_line_without_request_id_derives_one():
    raw = {"custom_id": "r2", "result": {"type": "errored", "error": {
        "type": "error", "error": {"type": "api_error", "message": "x"}}}}
    assert t.result_line(raw, batch_id="msgbatch_1", created=0)["id"] == "batch_req_msgbatch_1_r2"


@pytest.mark.parametrize("kind, code", [("expired", "batch_expired"), ("canceled", "batch_cancelled")])
def test_expired_and_canceled_lines(kind, code):
    line = t.result_line({"custom_id": "r3", "result": {"type": kind}}, batch_id="msgbatch_9", created=0)
    assert line["response"] is None
    assert line["error"]["code"] == code and line["error"]["message"]
    assert line["id"] == "batch_req_msgbatch_9_r3"


@pytest.mark.parametrize("line", [
    {"custom_id": "r", "result": {"type": "vanished"}},  # unknown: did it run? the line is kept whole instead
    {"custom_id": "r", "result": {"type": "errored", "error": {"type": "error", "error": {"message": "no type"}}}},
    {"custom_id": 7, "result": {"type": "expired"}},
    {"result": {"type": "expired"}},
])
def test_lines_that_cannot_be_read_raise(line):
    with pytest.raises((KeyError, TypeError)):
        t.result_line(line, batch_id="msgbatch_1", created=0)


# Batch items (inline requests / file lines)


def test_native_item_passes_through():
    item = {"custom_id": "math-question", "params": {"model": "claude-3", "max_tokens": 100, "messages": [USER]}}
    assert t.batch_request(item, default_max_tokens=5) == item


@pytest.mark.parametrize("item", [
    {"custom_id": "q1", "method": "POST", "url": "/v1/chat/completions", "body": {"model": "c", "messages": [USER]}},
    {"custom_id": "q1", "body": {"model": "c", "messages": [USER]}},
])
def test_openai_item_is_translated(item):
    assert t.batch_request(item, default_max_tokens=7) == {
        "custom_id": "q1", "params": {"model": "c", "max_tokens": 7, "messages": [USER]}}


@pytest.mark.parametrize("item, param", [
    ({"custom_id": "has space", "params": {}}, "custom_id"),
    ({"custom_id": "x" * 65, "params": {}}, "custom_id"),
    ({"params": {}}, "custom_id"),
    ({"custom_id": "a", "params": {"stream": True}}, "params.stream"),
    ({"custom_id": "a", "params": "text"}, "params"),
    ({"custom_id": "a", "body": {"messages": [USER], "stream": True}}, "body.stream"),
    ({"custom_id": "a", "body": {"messages": [USER], "n": 3}}, "body.n"),
    ({"custom_id": "a", "url": "/v1/embeddings", "body": {"input": "x"}}, "url"),
    ({"custom_id": "a", "method": "GET", "body": {}}, "method"),
    ({"custom_id": "a"}, "body"),
])
def test_bad_items(item, param):
    with pytest.raises(BadRequest) as caught:
        t.batch_request(item, default_max_tokens=1)
    assert caught.value.param == param


# §0.1 / §0.2: MessageBatch -> Batch


def native(status="in_progress", cancel=None, ended=None, **counts) -> dict:
    return {
        "id": "msgbatch_01", "type": "message_batch", "processing_status": status,
        "request_counts": {"processing": 0, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0, **counts},
        "created_at": "2024-09-24T18:37:24.100435Z", "expires_at": "2024-09-25T18:37:24.100435Z",
        "ended_at": ended, "cancel_initiated_at": cancel, "archived_at": None, "results_url": None,
    }


ENDED = "2024-09-24T19:00:00Z"
CANCEL = "2024-09-24T18:40:00Z"


@pytest.mark.parametrize("batch, status", [
    (native(processing=3), "in_progress"),
    (native("canceling", cancel=CANCEL, processing=3), "cancelling"),
    (native("ended", ended=ENDED, succeeded=3), "completed"),
    (native("ended", ended=ENDED, succeeded=2, errored=1), "completed"),
    (native("ended", ended=ENDED, errored=3), "completed"),  # every request errored: still completed
    (native("ended", ended=ENDED, succeeded=1, expired=2), "expired"),
    (native("ended", cancel=CANCEL, ended=ENDED, succeeded=1, canceled=2), "cancelled"),
])
def test_status_table(batch, status):
    assert t.batch_status([batch]) == status


@pytest.mark.parametrize("batch, status", [
    (native("paused", processing=3), "in_progress"),
    (native("archiving", ended=ENDED, succeeded=3), "completed"),
    (native("archiving", ended=ENDED, succeeded=1, expired=1), "expired"),
    (native("archiving", cancel=CANCEL, processing=3), "cancelling"),
    ({k: v for k, v in native(ended=ENDED, succeeded=1).items() if k != "processing_status"}, "completed"),
])
def test_unknown_processing_status_falls_back_on_ended_at(batch, status):
    assert t.batch_status([batch]) == status


def test_all_errored_is_completed_with_everything_failed():
    batch = t.openai_batch([native("ended", ended=ENDED, errored=3)], **ids_kwargs())
    assert BatchSchema().validate(batch) == {}
    assert batch["status"] == "completed" and batch["errors"] is None and batch["failed_at"] is None
    assert batch["completed_at"] == t.to_unix(ENDED)
    assert batch["request_counts"] == {"total": 3, "completed": 0, "failed": 3}
    assert (batch["output_file_id"], batch["error_file_id"]) == ("file-out", "file-err")


@pytest.mark.parametrize("counts, expected", [
    ({"processing": 5}, {"total": 5, "completed": 0, "failed": 0}),
    ({"succeeded": 3, "errored": 1, "expired": 2, "canceled": 4}, {"total": 10, "completed": 3, "failed": 7}),
    ({"succeeded": 1, "deferred": 2}, {"total": 3, "completed": 1, "failed": 0}),  # a count added later
])
def test_counts_table(counts, expected):
    assert t.request_counts([native(**counts)]) == expected


def ids_kwargs():
    return {"batch_id": "msgbatch_01", "input_file_id": "", "output_file_id": "file-out", "error_file_id": "file-err"}


def test_running_batch_object_is_a_valid_openai_batch():
    batch = t.openai_batch([native(processing=2)], **ids_kwargs())
    assert BatchSchema().validate(batch) == {}
    assert batch["status"] == "in_progress"
    assert batch["created_at"] == 1727203044 and batch["expires_at"] == 1727203044 + 86400
    assert batch["output_file_id"] is None and batch["error_file_id"] is None
    assert batch["endpoint"] == "/v1/chat/completions" and batch["input_file_id"] == ""


def test_completed_batch_with_errors_has_both_files():
    batch = t.openai_batch([native("ended", ended=ENDED, succeeded=1, errored=1)], **ids_kwargs())
    assert BatchSchema().validate(batch) == {}
    assert batch["completed_at"] == t.to_unix(ENDED)
    assert (batch["output_file_id"], batch["error_file_id"]) == ("file-out", "file-err")


def test_completed_batch_without_failures_still_offers_the_error_file():
    # A results line the gateway cannot convert lands in the error file whatever Anthropic counted.
    batch = t.openai_batch([native("ended", ended=ENDED, succeeded=2)], **ids_kwargs())
    assert (batch["output_file_id"], batch["error_file_id"]) == ("file-out", "file-err")


def test_cancelled_batch_times():
    batch = t.openai_batch([native("ended", cancel=CANCEL, ended=ENDED, canceled=2)], **ids_kwargs())
    assert batch["status"] == "cancelled"
    assert batch["cancelling_at"] == t.to_unix(CANCEL) and batch["cancelled_at"] == t.to_unix(ENDED)
    assert batch["completed_at"] is None and batch["error_file_id"] == "file-err"


def test_split_batch_aggregates():
    first = native("ended", ended=ENDED, succeeded=2)
    second = {**native(processing=3), "id": "msgbatch_02", "created_at": "2024-09-24T18:37:30Z"}
    running = t.openai_batch([first, second], **ids_kwargs())
    assert running["status"] == "in_progress" and running["output_file_id"] is None
    assert running["request_counts"] == {"total": 5, "completed": 2, "failed": 0}
    later = {**second, "processing_status": "ended", "ended_at": "2024-09-24T19:10:00Z",
             "request_counts": {"processing": 0, "succeeded": 2, "errored": 0, "canceled": 0, "expired": 1}}
    done = t.openai_batch([first, later], **ids_kwargs())
    assert done["status"] == "expired" and done["expired_at"] == t.to_unix("2024-09-24T19:10:00Z")
    assert done["created_at"] == 1727203044
    assert done["request_counts"] == {"total": 5, "completed": 4, "failed": 1}


def test_split_batch_cancel_in_flight_is_cancelling():
    first = native("ended", ended=ENDED, cancel=CANCEL, canceled=2)
    second = {**native("canceling", cancel=CANCEL, processing=1), "id": "msgbatch_02"}
    assert t.batch_status([first, second]) == "cancelling"


@pytest.mark.parametrize("text, expected", [
    ("2024-09-24T18:37:24.100435Z", 1727203044),
    ("2024-09-24T18:37:24Z", 1727203044),
    ("2024-09-24T18:37:24.123456789Z", 1727203044),
    ("2024-09-24T20:37:24+02:00", 1727203044),
    ("2024-09-24T18:37:24.5", 1727203044),
    (None, None),
])
def test_to_unix(text, expected):
    assert t.to_unix(text) == expected
