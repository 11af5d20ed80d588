"""translators/anthropic.py for `/v1/responses` and `/v1/completions` lines (endpoints.md §2, §4), table
by table: request rows, refused rows naming the field, reply conversion held to the `openai` SDK types
strictly, and `/v1/embeddings` refused with its reason."""

from __future__ import annotations

import json

import pytest
from openai.types import Completion
from openai.types.responses import Response

from errors import BadRequest
from tests.fakes import anthropic as fake
from translators import anthropic as t

CLAUDE = "claude-x"
WEATHER = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}


def responses(**body) -> dict:
    return t.responses_to_params({"model": CLAUDE, "input": "Hi", **body}, default_max_tokens=4096)


def completions(**body) -> dict:
    return t.completion_to_params({"model": CLAUDE, "prompt": "Once", **body}, default_max_tokens=4096)


# /v1/responses: top-level fields


def test_minimal_responses_body():
    assert responses() == {"model": CLAUDE, "max_tokens": 4096, "messages": [{"role": "user", "content": "Hi"}]}


@pytest.mark.parametrize("body, expected", [
    ({"max_output_tokens": 100}, {"max_tokens": 100}),
    ({"instructions": "Be terse."}, {"system": "Be terse."}),
    ({"temperature": 0.5}, {"temperature": 0.5}),
    ({"top_p": 0.9}, {"top_p": 0.9}),
    ({"user": "u1"}, {"metadata": {"user_id": "u1"}}),
    ({"safety_identifier": "s1", "user": "u1"}, {"metadata": {"user_id": "s1"}}),
    ({"metadata": {"job": "nightly"}}, {}),  # kept for the reply only: Anthropic's metadata is user_id
    ({"tool_choice": "auto"}, {"tool_choice": {"type": "auto"}}),
    ({"tool_choice": "required"}, {"tool_choice": {"type": "any"}}),
    ({"tool_choice": "none"}, {"tool_choice": {"type": "none"}}),
    ({"tool_choice": {"type": "function", "name": "f"}}, {"tool_choice": {"type": "tool", "name": "f"}}),
    ({"parallel_tool_calls": False}, {"tool_choice": {"type": "auto", "disable_parallel_tool_use": True}}),
    ({"text": {"format": {"type": "text"}}}, {}),
    ({"text": {"format": {"type": "json_schema", "name": "w", "schema": WEATHER, "strict": True}}},
     {"output_config": {"format": {"type": "json_schema", "schema": WEATHER}}}),
    ({"reasoning": {"effort": "minimal"}}, {"output_config": {"effort": "low"}}),
    ({"reasoning": {"effort": "high", "summary": None}}, {"output_config": {"effort": "high"}}),
    ({"reasoning": {"effort": "none"}}, {}),
    ({"text": {"format": {"type": "json_schema", "name": "w", "schema": WEATHER}}, "reasoning": {"effort": "max"}},
     {"output_config": {"format": {"type": "json_schema", "schema": WEATHER}, "effort": "max"}}),
    # OpenAI's defaults are accepted and leave nothing behind
    ({"stream": False, "background": False, "store": True, "include": [], "truncation": "disabled",
      "service_tier": "auto", "top_logprobs": 0, "previous_response_id": None}, {}),
])
def test_responses_field_rows(body, expected):
    out = responses(**body)
    for key, value in expected.items():
        assert out[key] == value
    assert not {"output_config", "tool_choice", "system", "metadata"} - set(expected) & set(out)


def test_responses_function_tools_are_flat():
    tool = {"type": "function", "name": "get_weather", "description": "Weather", "parameters": WEATHER,
            "strict": True}
    assert responses(tools=[tool])["tools"] == [
        {"name": "get_weather", "description": "Weather", "input_schema": WEATHER, "strict": True}]
    assert responses(tools=[{"type": "function", "name": "f"}])["tools"] == [
        {"name": "f", "input_schema": {"type": "object", "properties": {}}}]


# /v1/responses: input items


def test_input_items_become_alternating_turns():
    items = [
        {"role": "developer", "content": "Use tools."},
        {"type": "message", "role": "user", "content": [
            {"type": "input_text", "text": "Weather in Paris?"},
            {"type": "input_image", "image_url": "data:image/png;base64,iVBO", "detail": "auto"}]},
        {"type": "reasoning", "id": "rs_1", "summary": []},
        {"role": "assistant", "content": [{"type": "output_text", "text": "Checking.", "annotations": []}]},
        {"type": "function_call", "call_id": "call_1", "name": "get_weather", "arguments": '{"city": "Paris"}'},
        {"type": "function_call", "call_id": "call_2", "name": "get_weather", "arguments": '{"city": "Lyon"}'},
        {"type": "function_call_output", "call_id": "call_1", "output": "18C"},
        {"type": "function_call_output", "call_id": "call_2", "output": [{"type": "input_text", "text": "20C"}]},
        {"role": "user", "content": "And tomorrow?"},
    ]
    out = t.responses_to_params({"model": CLAUDE, "instructions": "Be terse.", "input": items},
                                default_max_tokens=10)
    assert out["system"] == [{"type": "text", "text": "Be terse."}, {"type": "text", "text": "Use tools."}]
    assert out["messages"] == [
        {"role": "user", "content": [
            {"type": "text", "text": "Weather in Paris?"},
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBO"}}]},
        {"role": "assistant", "content": [
            {"type": "text", "text": "Checking."},
            {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {"city": "Paris"}},
            {"type": "tool_use", "id": "call_2", "name": "get_weather", "input": {"city": "Lyon"}}]},
        {"role": "user", "content": [  # every result for one assistant turn in one user message
            {"type": "tool_result", "tool_use_id": "call_1", "content": "18C"},
            {"type": "tool_result", "tool_use_id": "call_2", "content": [{"type": "text", "text": "20C"}]},
            {"type": "text", "text": "And tomorrow?"}]},
    ]


@pytest.mark.parametrize("part, block", [
    ({"type": "input_text", "text": "x"}, {"type": "text", "text": "x"}),
    ({"type": "input_image", "image_url": "https://x.test/a.png"},
     {"type": "image", "source": {"type": "url", "url": "https://x.test/a.png"}}),
    ({"type": "input_file", "file_data": "data:application/pdf;base64,JVBE", "filename": "a.pdf"},
     {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBE"}}),
    ({"type": "input_file", "file_url": "https://x.test/a.pdf"},
     {"type": "document", "source": {"type": "url", "url": "https://x.test/a.pdf"}}),
])
def test_user_part_rows(part, block):
    out = responses(input=[{"role": "user", "content": [part]}])
    assert out["messages"] == [{"role": "user", "content": [block]}]


def test_assistant_single_text_stays_a_string():
    out = responses(input=[{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}])
    assert out["messages"][1] == {"role": "assistant", "content": "b"}


@pytest.mark.parametrize("body, param", [
    ({"input": []}, "input"),
    ({"input": 3}, "input"),
    ({"input": [{"role": "system", "content": "only system"}]}, "input"),
    ({"input": [{"type": "item_reference", "id": "x"}]}, "input[0].type"),
    ({"input": [{"type": "web_search_call", "id": "x"}]}, "input[0].type"),
    ({"input": [{"role": "tool", "content": "x"}]}, "input[0].role"),
    ({"input": [{"role": "user", "content": [{"type": "input_audio"}]}]}, "input[0].content[0].type"),
    ({"input": [{"role": "user", "content": [{"type": "input_image", "file_id": "file-1"}]}]},
     "input[0].content[0].file_id"),
    ({"input": [{"role": "user", "content": [{"type": "input_file", "file_id": "file-1"}]}]},
     "input[0].content[0].file_id"),
    ({"input": [{"role": "user", "content": [{"type": "input_image", "image_url": "data:image/bmp;base64,x"}]}]},
     "input[0].content[0].image_url"),
    ({"input": [{"type": "function_call", "call_id": "c", "name": "f", "arguments": "{oops"}]},
     "input[0].arguments"),
    ({"input": [{"type": "function_call", "name": "f", "arguments": "{}"}]}, "input[0].call_id"),
    ({"input": [{"type": "function_call_output", "call_id": "c", "output": 5}]}, "input[0].output"),
    ({"instructions": ["x"]}, "instructions"),
    ({"previous_response_id": "resp_1"}, "previous_response_id"),
    ({"conversation": "conv_1"}, "conversation"),
    ({"prompt": {"id": "pmpt_1"}}, "prompt"),
    ({"stream": True}, "stream"),
    ({"background": True}, "background"),
    ({"include": ["reasoning.encrypted_content"]}, "include"),
    ({"truncation": "auto"}, "truncation"),
    ({"top_logprobs": 3}, "top_logprobs"),
    ({"max_output_tokens": 0}, "max_output_tokens"),
    ({"temperature": 1.5}, "temperature"),
    ({"tools": [{"type": "web_search"}]}, "tools[0].type"),
    ({"tools": [{"type": "function"}]}, "tools[0].name"),
    ({"tool_choice": {"type": "allowed_tools", "mode": "auto", "tools": []}}, "tool_choice"),
    ({"tool_choice": {"type": "function"}}, "tool_choice.name"),
    ({"text": {"format": {"type": "json_object"}}}, "text.format"),
    ({"text": {"format": {"type": "json_schema", "name": "w"}}}, "text.format.schema"),
    ({"text": {"format": {"type": "json_schema", "schema": WEATHER}}}, "text.format.name"),
    ({"text": {"verbosity": "low"}}, "text.verbosity"),
    ({"reasoning": {"effort": "high", "summary": "auto"}}, "reasoning.summary"),
    ({"reasoning": {"effort": "extreme"}}, "reasoning.effort"),
    ({"metadata": {"k": 1}}, "metadata"),
    ({"stop": "END"}, "stop"),  # no such field in the Responses API
    ({"messages": [{"role": "user", "content": "x"}]}, "messages"),
])
def test_responses_refusals_name_the_field(body, param):
    with pytest.raises(BadRequest) as caught:
        responses(**body)
    assert caught.value.param == param


def test_responses_sampling_rules_apply():
    rules = t.SamplingRules(no_sampling_models=("claude-x",))
    with pytest.raises(BadRequest) as caught:
        t.responses_to_params({"model": CLAUDE, "input": "x", "temperature": 0.2}, default_max_tokens=1,
                              sampling=rules)
    assert caught.value.param == "temperature"


# /v1/completions


@pytest.mark.parametrize("body, expected", [
    ({}, {"model": CLAUDE, "max_tokens": 4096, "messages": [{"role": "user", "content": "Once"}]}),
    ({"prompt": ["Upon"]}, {"messages": [{"role": "user", "content": "Upon"}]}),
    ({"max_tokens": 16}, {"max_tokens": 16}),
    ({"stop": ["\n"]}, {"stop_sequences": ["\n"]}),
    ({"temperature": 0.3}, {"temperature": 0.3}),
    ({"user": "u"}, {"metadata": {"user_id": "u"}}),
    ({"n": 1, "best_of": 1, "echo": False, "stream": False, "presence_penalty": 0, "logit_bias": {}}, {}),
])
def test_completions_field_rows(body, expected):
    out = completions(**body)
    for key, value in expected.items():
        assert out[key] == value


@pytest.mark.parametrize("body, param", [
    ({"prompt": ["a", "b"]}, "prompt"),  # one line is one Anthropic request
    ({"prompt": [1, 2, 3]}, "prompt"),
    ({"prompt": [[1, 2]]}, "prompt"),
    ({"prompt": ""}, "prompt"),
    ({"prompt": None}, "prompt"),
    ({"n": 2}, "n"),
    ({"best_of": 3}, "best_of"),
    ({"echo": True}, "echo"),
    ({"suffix": "end"}, "suffix"),
    ({"logprobs": 2}, "logprobs"),
    ({"seed": 7}, "seed"),
    ({"temperature": 2}, "temperature"),
    ({"max_completion_tokens": 5}, "max_completion_tokens"),
])
def test_completions_refusals_name_the_field(body, param):
    with pytest.raises(BadRequest) as caught:
        completions(**body)
    assert caught.value.param == param


def test_several_prompts_say_why():
    with pytest.raises(BadRequest) as caught:
        completions(prompt=["a", "b"])
    assert "2 prompts" in caught.value.message and "its own line" in caught.value.message


# Endpoints and batch items


@pytest.mark.parametrize("endpoint", [t.CHAT_COMPLETIONS, t.RESPONSES, t.COMPLETIONS])
def test_endpoints_anthropic_runs(endpoint):
    t.check_endpoint(endpoint)


@pytest.mark.parametrize("endpoint, fragment", [
    ("/v1/embeddings", "no embeddings model"), ("/v1/moderations", "no counterpart")])
def test_other_endpoints_are_refused_with_a_reason(endpoint, fragment):
    with pytest.raises(BadRequest) as caught:
        t.check_endpoint(endpoint)
    assert caught.value.param == "endpoint" and fragment in caught.value.message
    assert caught.value.code == "unsupported_endpoint"


@pytest.mark.parametrize("url, body", [
    (t.RESPONSES, {"model": CLAUDE, "input": "Hi"}),
    (t.COMPLETIONS, {"model": CLAUDE, "prompt": "Hi"}),
])
def test_batch_items_go_through_their_urls_translator(url, body):
    item = {"custom_id": "a", "method": "POST", "url": url, "body": body}
    out = t.batch_request(item, default_max_tokens=7, endpoint=url)
    assert out == {"custom_id": "a", "params": {"model": CLAUDE, "max_tokens": 7,
                                                "messages": [{"role": "user", "content": "Hi"}]}}


@pytest.mark.parametrize("url, endpoint, param", [
    (t.RESPONSES, t.CHAT_COMPLETIONS, "url"),
    (t.EMBEDDINGS, t.EMBEDDINGS, "url"),
])
def test_batch_items_with_another_url_are_refused(url, endpoint, param):
    item = {"custom_id": "a", "method": "POST", "url": url, "body": {"model": CLAUDE, "input": "x"}}
    with pytest.raises(BadRequest) as caught:
        t.batch_request(item, default_max_tokens=7, endpoint=endpoint)
    assert caught.value.param == param


def test_a_responses_item_names_the_field_inside_body():
    item = {"custom_id": "a", "url": t.RESPONSES, "body": {"model": CLAUDE, "input": "x", "conversation": "c"}}
    with pytest.raises(BadRequest) as caught:
        t.batch_request(item, default_max_tokens=7, endpoint=t.RESPONSES)
    assert caught.value.param == "body.conversation"


# Message -> Response


def tool_message(stop_reason: str = "tool_use") -> dict:
    return fake.message([fake.BLOCKS["thinking"], {"type": "text", "text": "Checking.", "citations": None},
                         fake.BLOCKS["tool_use"], {"type": "text", "text": "Done?", "citations": None}],
                        stop_reason=stop_reason, message_id="msg_01AB")


def test_message_to_response_keeps_the_order_of_texts_and_calls():
    body = t.message_to_response(tool_message(), created=1700000000)
    parsed = Response.model_validate(body, strict=True)
    assert parsed.id == "resp_01AB" and parsed.status == "completed" and parsed.incomplete_details is None
    assert [item["type"] for item in body["output"]] == ["message", "function_call", "message"]
    assert [item["id"] for item in body["output"]] == ["msg_01AB_0", "fc_01AB_1", "msg_01AB_2"]
    call = body["output"][1]
    assert (call["call_id"], call["name"], json.loads(call["arguments"])) == ("toolu_01", "lookup", {"q": "x"})
    assert parsed.output_text == "Checking.Done?"
    assert (parsed.tools, parsed.tool_choice, parsed.parallel_tool_calls) == ([], "auto", True)
    assert "store" not in body  # not a field of the SDK's Response


@pytest.mark.parametrize("stop_reason, status, reason", [
    *[(native, "completed", None) for native in sorted(t.COMPLETED_STOP_REASONS)],
    ("max_tokens", "incomplete", "max_output_tokens"),
    ("model_context_window_exceeded", "incomplete", "max_output_tokens"),
    ("refusal", "incomplete", "content_filter"),
    ("from_next_year", "completed", None),
    (None, "completed", None),
])
def test_stop_reason_to_status(stop_reason, status, reason):
    body = t.message_to_response(fake.message(stop_reason=stop_reason), created=1)
    parsed = Response.model_validate(body, strict=True)
    assert parsed.status == status
    assert (parsed.incomplete_details.reason if parsed.incomplete_details else None) == reason
    assert body["output"][0]["status"] == ("incomplete" if reason else "completed")


@pytest.mark.parametrize("stop_reason", fake.declared_stop_reasons())
def test_every_declared_stop_reason_has_a_response_status(stop_reason):
    assert stop_reason in t.COMPLETED_STOP_REASONS | set(t.INCOMPLETE_REASONS)


def test_response_usage_counts_cache_and_thinking_tokens():
    message = fake.message()
    message["usage"] = {**fake.USAGE, "output_tokens_details": {"thinking_tokens": 3}}
    usage = Response.model_validate(t.message_to_response(message, created=1), strict=True).usage
    assert usage is not None
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (15, 5, 20)
    assert usage.input_tokens_details.cached_tokens == 3 and usage.input_tokens_details.cache_write_tokens == 2
    assert usage.output_tokens_details.reasoning_tokens == 3


def test_a_known_request_is_echoed():
    request = {"model": CLAUDE, "input": "x", "instructions": "Be terse.", "metadata": {"job": "n"},
               "temperature": 1, "max_output_tokens": 50, "tool_choice": {"type": "function", "name": "f"},
               "tools": [{"type": "function", "name": "f", "parameters": WEATHER, "strict": True}],
               "parallel_tool_calls": False, "reasoning": {"effort": "low"},
               "text": {"format": {"type": "json_schema", "name": "w", "schema": WEATHER}}}
    parsed = Response.model_validate(t.message_to_response(fake.message(), created=1, request=request), strict=True)
    assert (parsed.instructions, parsed.metadata, parsed.max_output_tokens) == ("Be terse.", {"job": "n"}, 50)
    assert parsed.tools[0].name == "f" and parsed.parallel_tool_calls is False
    assert parsed.reasoning is not None and parsed.reasoning.effort == "low"


# Message -> text_completion


@pytest.mark.parametrize("stop_reason, finish_reason", [
    ("end_turn", "stop"), ("stop_sequence", "stop"), ("max_tokens", "length"), ("refusal", "content_filter"),
    ("tool_use", "stop"), ("model_context_window_exceeded", "length"), ("gave_up", "stop"), (None, "stop"),
])
def test_message_to_completion(stop_reason, finish_reason):
    message = fake.message([fake.BLOCKS["thinking"], {"type": "text", "text": "a", "citations": None},
                            {"type": "text", "text": "b", "citations": None}], stop_reason=stop_reason)
    body = t.message_to_completion(message, created=5)
    parsed = Completion.model_validate(body, strict=True)
    assert parsed.id == "cmpl-01" and parsed.choices[0].text == "ab"
    assert parsed.choices[0].finish_reason == finish_reason
    assert body["choices"][0]["native_finish_reason"] == stop_reason
    assert parsed.usage is not None and parsed.usage.prompt_tokens == 15


@pytest.mark.parametrize("endpoint, model", [(t.RESPONSES, Response), (t.COMPLETIONS, Completion)])
def test_result_lines_take_the_batch_endpoint(endpoint, model):
    line = {"custom_id": "c1", "result": fake.succeeded(fake.message())}
    out = t.result_line(line, batch_id="msgbatch_1", created=9, endpoint=endpoint)
    assert out["response"]["status_code"] == 200
    model.model_validate(out["response"]["body"], strict=True)


def test_openai_batch_names_its_endpoint():
    native = {"id": "msgbatch_1", "processing_status": "in_progress", "created_at": "2024-09-24T18:37:24Z",
              "request_counts": {"processing": 1}}
    batch = t.openai_batch([native], batch_id="b", input_file_id="", output_file_id="o", error_file_id="e",
                           endpoint=t.RESPONSES)
    assert batch["endpoint"] == t.RESPONSES
