"""translators/gemini_endpoints.py row by row: Responses and completions bodies -> GenerateContentRequest,
embeddings bodies -> EmbedContentRequests, and the reply shapes (strict under the openai SDK types)."""

from __future__ import annotations

import pytest
from openai.types import Completion, CreateEmbeddingResponse
from openai.types.responses import Response

from errors import BadRequest
from translators import gemini_endpoints as ge

USER = {"role": "user", "parts": [{"text": "hi"}]}


@pytest.mark.parametrize(("body", "expected"), [
    ({"input": "hi"}, {"contents": [USER]}),
    ({"input": "hi", "instructions": "Be brief."},
     {"contents": [USER], "systemInstruction": {"parts": [{"text": "Be brief."}]}}),
    ({"input": [{"role": "user", "content": [{"type": "input_text", "text": "hi"}]}], "max_output_tokens": 9,
      "temperature": 0.5, "top_p": 0.9, "metadata": {"a": "b"}},
     {"contents": [USER], "generationConfig": {"maxOutputTokens": 9, "temperature": 0.5, "topP": 0.9}}),
    ({"input": "hi", "reasoning": {"effort": "low"}},
     {"contents": [USER], "generationConfig": {"thinkingConfig": {"thinkingBudget": 1024}}}),
    ({"input": "hi", "text": {"format": {"type": "json_schema", "name": "x", "schema": {"type": "object"}}}},
     {"contents": [USER], "generationConfig": {"responseMimeType": "application/json",
                                               "responseJsonSchema": {"type": "object"}}}),
    ({"input": "hi", "tools": [{"type": "function", "name": "f", "parameters": {"type": "object"}}],
      "tool_choice": {"type": "function", "name": "f"}},
     {"contents": [USER],
      "tools": [{"functionDeclarations": [{"name": "f", "parametersJsonSchema": {"type": "object"}}]}],
      "toolConfig": {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["f"]}}}),
    ({"input": [{"role": "user", "content": "hi"},
                {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{\"a\": 1}"},
                {"type": "function_call_output", "call_id": "c1", "output": "42"},
                {"type": "reasoning", "summary": []}]},
     {"contents": [USER, {"role": "model", "parts": [{"functionCall": {"name": "f", "args": {"a": 1}}}]},
                   {"role": "user", "parts": [{"functionResponse": {"name": "f", "response": {"content": 42}}}]}]}),
])
def test_responses_rows(body, expected):
    assert ge.generate_request(ge.RESPONSES, body) == expected


@pytest.mark.parametrize(("body", "param"), [
    ({"input": "hi", "previous_response_id": "r"}, "body.previous_response_id"),
    ({"input": "hi", "tools": [{"type": "web_search"}]}, "body.tools[0]"),
    ({"input": "hi", "reasoning": {"effort": "extreme"}}, "body.reasoning_effort"),
    ({"input": "hi", "reasoning": {"summary": "auto"}}, "body.reasoning.summary"),
    ({"input": [{"type": "item_reference", "id": "x"}]}, "body.input[0].type"),
    ({"input": [{"role": "user", "content": [{"type": "input_image", "file_id": "f"}]}]},
     "body.input[0].content[0]"),
    ({"input": "hi", "text": {"format": {"type": "xml"}}}, "body.response_format"),
    ({"input": "hi", "frobnicate": 1}, "body.frobnicate"),
])
def test_responses_refusals(body, param):
    with pytest.raises(BadRequest) as caught:
        ge.generate_request(ge.RESPONSES, body)
    assert caught.value.param == param


@pytest.mark.parametrize(("body", "expected"), [
    ({"prompt": "hi"}, {"contents": [USER]}),
    ({"prompt": ["hi"], "max_tokens": 5, "stop": "x", "echo": False},
     {"contents": [USER], "generationConfig": {"maxOutputTokens": 5, "stopSequences": ["x"]}}),
])
def test_completions_rows(body, expected):
    assert ge.generate_request(ge.COMPLETIONS, body) == expected


@pytest.mark.parametrize(("body", "param"), [
    ({"prompt": ["a", "b"]}, "body.prompt"), ({"prompt": [1, 2]}, "body.prompt"),
    ({"prompt": "a", "echo": True}, "body.echo"), ({"prompt": "a", "logprobs": 2}, "body.logprobs"),
])
def test_completions_refusals(body, param):
    with pytest.raises(BadRequest) as caught:
        ge.generate_request(ge.COMPLETIONS, body)
    assert caught.value.param == param


def test_embedding_lines_fan_out_and_group_back():
    obj = {"custom_id": "e#1", "url": ge.EMBEDDINGS, "body": {"input": ["a", "b"], "dimensions": 2}}
    lines = ge.batch_lines(obj)
    assert lines == [{"key": "e#1#0/2", "request": {"content": {"parts": [{"text": "a"}]}, "outputDimensionality": 2}},
                     {"key": "e#1#1/2", "request": {"content": {"parts": [{"text": "b"}]}, "outputDimensionality": 2}}]
    results = [(n, {"key": line["key"], "response": {"embedding": {"values": [n, 0.5]}, "tokenCount": 1}})
               for n, line in enumerate(reversed(lines), start=1)]
    [(number, group)] = list(ge.group_embeddings(results))
    out = ge.embedding_line(group, number, batch="batches/b", model="m", created=1)
    body = CreateEmbeddingResponse.model_validate(out["response"]["body"], strict=True)
    assert out["custom_id"] == "e#1" and [d.embedding for d in body.data] == [[2, 0.5], [1, 0.5]]
    assert body.usage.prompt_tokens == 2


@pytest.mark.parametrize(("body", "param"), [
    ({"input": [[1, 2]]}, "body.input"), ({"input": []}, "body.input"), ({"input": "a", "dimensions": 0},
                                                                          "body.dimensions"),
    ({"input": "a", "encoding_format": "base64"}, "body.encoding_format"),
])
def test_embedding_refusals(body, param):
    with pytest.raises(BadRequest) as caught:
        ge.embed_requests(body)
    assert caught.value.param == param


def _reply(parts: list[dict], finish: str = "STOP") -> dict:
    return {"candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": finish}],
            "usageMetadata": {"promptTokenCount": 4, "candidatesTokenCount": 2, "thoughtsTokenCount": 1,
                              "cachedContentTokenCount": 1, "totalTokenCount": 7}}


@pytest.mark.parametrize(("parts", "finish", "status", "reason", "kinds"), [
    ([{"text": "ok"}], "STOP", "completed", None, ["message"]),
    ([{"text": "ok"}], "MAX_TOKENS", "incomplete", "max_output_tokens", ["message"]),
    ([{"text": "no"}], "SAFETY", "incomplete", "content_filter", ["message"]),
    ([{"functionCall": {"name": "f", "args": {}}}], "STOP", "completed", None, ["function_call"]),
])
def test_response_shape_rows(parts, finish, status, reason, kinds):
    body = ge.reply_body(ge.RESPONSES, _reply(parts, finish), response_id="x", model="m", created=1)
    response = Response.model_validate(body, strict=True)
    assert response.status == status and [item.type for item in response.output] == kinds
    assert (response.incomplete_details.reason if response.incomplete_details else None) == reason
    assert response.usage is not None and response.usage.input_tokens_details.cached_tokens == 1
    assert response.usage.output_tokens == 3 and response.usage.output_tokens_details.reasoning_tokens == 1


def test_completion_shape():
    body = ge.reply_body(ge.COMPLETIONS, _reply([{"text": "ok"}], "MAX_TOKENS"), response_id="x", model="m",
                         created=1)
    completion = Completion.model_validate(body, strict=True)
    assert completion.choices[0].text == "ok" and completion.choices[0].finish_reason == "length"
