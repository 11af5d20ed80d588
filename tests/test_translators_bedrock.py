"""translators/bedrock.py: records both ways (Claude InvokeModel and Converse), result lines, jobs as
OpenAI Batches, and the names derived from a create request. Payloads are shaped like Bedrock's."""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from openai.types import Batch
from openai.types.chat import ChatCompletion

from errors import BadRequest
from tests.contracts import botocore_shapes as shapes
from tests.contracts.anthropic_types import check_params
from translators import batch_output
from translators import bedrock as tr

CLAUDE = "anthropic.claude-3-sonnet-20240229-v1:0"
NOVA = "amazon.nova-lite-v1:0"
ARN = "arn:aws:bedrock:us-west-2:123456789012:model-invocation-job/abc123def456"
T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


def line(body: dict, custom_id: str = "req-1") -> dict:
    return {"custom_id": custom_id, "method": "POST", "url": "/v1/chat/completions", "body": body}


def converse_input(body: dict) -> dict:
    """A Converse record's modelInput, checked against botocore's ConverseRequest (with the job's modelId)."""
    model_input = tr.chat_to_converse(body, default_max_tokens=4096)
    shapes.check("bedrock-runtime", "ConverseRequest", {**model_input, "modelId": NOVA}, "modelInput")
    return model_input


def claude_input(record: dict) -> dict:
    """A Claude record's modelInput, checked against the anthropic SDK's params (API 2023-06-01)."""
    body = dict(record["modelInput"])
    assert body.pop("anthropic_version") == "bedrock-2023-05-31"
    check_params({**body, "model": CLAUDE}, api_version="2023-06-01")
    return record["modelInput"]


# Model families and job types


@pytest.mark.parametrize("model, claude", [
    (CLAUDE, True),
    ("us.anthropic.claude-3-5-sonnet-20241022-v2:0", True),
    ("arn:aws:bedrock:us-west-2::foundation-model/anthropic.claude-3-haiku-20240307-v1:0", True),
    ("amazon.nova-lite-v1:0", False),
    ("meta.llama3-1-8b-instruct-v1:0", False),
])
def test_family(model, claude):
    assert tr.is_claude(model) is claude
    assert tr.invocation_type(model) == ("InvokeModel" if claude else "Converse")


@pytest.mark.parametrize("model_input, expected", [
    ({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 5, "messages": []}, "InvokeModel"),
    ({"schemaVersion": "messages-v1", "messages": []}, "InvokeModel"),
    ({"prompt": "hi", "max_gen_len": 5}, "InvokeModel"),
    ({"inputText": "hi"}, "InvokeModel"),
    ({"messages": [{"role": "user", "content": [{"text": "hi"}]}]}, "Converse"),
])
def test_record_invocation_type(model_input, expected):
    assert tr.record_invocation_type(model_input) == expected


# OpenAI line -> Claude record


def test_seed_line_to_claude_record():
    body = {"model": CLAUDE, "messages": [{"role": "user", "content": "What is 2+2?"}], "max_tokens": 100}
    record = tr.to_record(line(body), record_id="R0000000001", claude=True, default_max_tokens=4096)
    assert record == {
        "recordId": "R0000000001",
        "modelInput": {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 100,
                       "messages": [{"role": "user", "content": "What is 2+2?"}]},
    }
    claude_input(record)


def test_claude_record_drops_what_bedrock_rejects_and_keeps_the_rest():
    body = {"model": CLAUDE, "stream": False, "user": "u-1", "temperature": 0.2, "stop": "END",
            "messages": [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "Hi"}]}
    record = claude_input(tr.to_record(line(body), record_id="R0000000001", claude=True, default_max_tokens=512))
    assert record == {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 512, "system": "Be terse.",
                      "messages": [{"role": "user", "content": "Hi"}], "temperature": 0.2, "stop_sequences": ["END"]}


# OpenAI line -> Converse record


def test_converse_record_full():
    body = {
        "model": "amazon.nova-lite-v1:0", "max_completion_tokens": 64, "temperature": 0.5, "top_p": 0.9,
        "stop": ["x", "y"],
        "messages": [
            {"role": "developer", "content": "Use tools."},
            {"role": "user", "content": [{"type": "text", "text": "Weather?"},
                                         {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBO"}}]},
            {"role": "assistant", "content": None, "tool_calls": [{
                "id": "call_1", "type": "function", "function": {"name": "weather", "arguments": '{"city": "Oslo"}'}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "-3C"},
            {"role": "user", "content": "Thanks"},
        ],
        "tools": [{"type": "function", "function": {"name": "weather", "description": "Look up weather",
                                                    "parameters": {"type": "object"}}}],
        "tool_choice": {"type": "function", "function": {"name": "weather"}},
    }
    record = tr.to_record(line(body, "r9"), record_id="R0000000009", claude=False, default_max_tokens=4096)
    assert converse_input(body) == record["modelInput"]
    assert record == {"recordId": "R0000000009", "modelInput": {
        "system": [{"text": "Use tools."}],
        "messages": [
            {"role": "user", "content": [{"text": "Weather?"},
                                         {"image": {"format": "png", "source": {"bytes": "iVBO"}}}]},
            {"role": "assistant", "content": [{"toolUse": {"toolUseId": "call_1", "name": "weather",
                                                           "input": {"city": "Oslo"}}}]},
            # the tool result and the next user turn are one user message (roles alternate)
            {"role": "user", "content": [{"toolResult": {"toolUseId": "call_1", "content": [{"text": "-3C"}]}},
                                         {"text": "Thanks"}]},
        ],
        "inferenceConfig": {"maxTokens": 64, "temperature": 0.5, "topP": 0.9, "stopSequences": ["x", "y"]},
        "toolConfig": {"tools": [{"toolSpec": {"name": "weather", "description": "Look up weather",
                                               "inputSchema": {"json": {"type": "object"}}}}],
                       "toolChoice": {"tool": {"name": "weather"}}},
    }}


@pytest.mark.parametrize("choice, expected", [("auto", {"auto": {}}), ("required", {"any": {}})])
def test_converse_tool_choice(choice, expected):
    body = {"messages": [{"role": "user", "content": "x"}], "tool_choice": choice,
            "tools": [{"type": "function", "function": {"name": "f"}}]}
    assert converse_input(body)["toolConfig"]["toolChoice"] == expected


def test_converse_structured_output():
    schema = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}
    body = {"messages": [{"role": "user", "content": "x"}],
            "response_format": {"type": "json_schema", "json_schema": {
                "name": "reply", "description": "The reply.", "schema": schema, "strict": True}}}
    assert converse_input(body)["outputConfig"] == {"textFormat": {"type": "json_schema", "structure": {
        "jsonSchema": {"schema": json.dumps(schema, separators=(",", ":")), "name": "reply",
                       "description": "The reply."}}}}
    body["response_format"]["json_schema"] = {"schema": schema}
    assert converse_input(body)["outputConfig"]["textFormat"]["structure"]["jsonSchema"] == {
        "schema": json.dumps(schema, separators=(",", ":"))}


def test_converse_documents():
    text = base64.b64encode(b"Quarterly numbers: up.").decode()
    pdf = base64.b64encode(b"%PDF-1.4 ...").decode()
    body = {"messages": [{"role": "user", "content": [
        {"type": "file", "file": {"filename": "notes.txt", "file_data": text}},
        {"type": "file", "file": {"file_data": f"data:application/pdf;base64,{pdf}"}},
        {"type": "text", "text": "Summarise."}]}]}
    content = converse_input(body)["messages"][0]["content"]
    assert content[0]["document"]["format"] == "txt"
    assert content[0]["document"]["source"] == {"text": "Quarterly numbers: up."}
    assert content[1]["document"]["format"] == "pdf" and content[1]["document"]["source"] == {"bytes": pdf}
    assert re.fullmatch(r"document-\d{8}", content[0]["document"]["name"])
    assert content[0]["document"]["name"] != content[1]["document"]["name"]


def test_converse_leaves_out_empty_texts_converse_refuses():
    body = {"messages": [{"role": "system", "content": ""}, {"role": "user", "content": "x"}],
            "tools": [{"type": "function", "function": {"name": "f", "description": "", "strict": True}}]}
    model_input = converse_input(body)
    assert "system" not in model_input
    assert model_input["toolConfig"]["tools"] == [{"toolSpec": {
        "name": "f", "inputSchema": {"json": {"type": "object", "properties": {}}}, "strict": True}}]


@pytest.mark.parametrize("body, param, fragment", [
    ({"messages": [{"role": "user", "content": "x"}], "seed": 1}, "seed", "Bedrock Converse"),
    ({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://x/y.png"}}]}]},
     "messages[0].content[0]", "base64"),
    ({"messages": [{"role": "user", "content": "x"}], "tool_choice": "none",
      "tools": [{"type": "function", "function": {"name": "f"}}]}, "tool_choice", "none"),
    ({"messages": [{"role": "user", "content": "x"}],
      "response_format": {"type": "json_schema", "json_schema": {"name": 5, "schema": {}}}},
     "response_format.json_schema.name", "string"),
    ({"messages": [{"role": "user", "content": "x"}], "stop": ["END", ""]}, "stop", "empty"),
    ({"messages": [{"role": "user", "content": "x"}], "tools": [{"type": "function", "function": {"name": "a b"}}]},
     "tools", "tool name"),
    ({"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "tool_calls": [
        {"id": "call 1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}]}, "messages", "call 1"),
    ({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {
        "url": "data:image/png;base64,!!notbase64"}}]}]}, "messages[0].content[0]", "base64"),
    ({"messages": [{"role": "user", "content": [{"type": "file", "file": {"file_data": "eA==",
                                                                           "filename": "a.csv"}}]}]},
     "messages[0].content[0].file.file_data", ".pdf or .txt"),
    ({"messages": []}, "messages", "non-empty"),
])
def test_converse_rejects_what_it_cannot_carry(body, param, fragment):
    with pytest.raises(BadRequest) as caught:
        tr.chat_to_converse(body, default_max_tokens=10)
    assert caught.value.param == param and fragment in caught.value.message


# Names derived from the request


JOB_NAME = re.compile(r"^[a-zA-Z0-9]{1,63}(-*[a-zA-Z0-9\+\-\.]){0,63}$")
TOKEN = re.compile(r"^[a-zA-Z0-9]{1,256}(-*[a-zA-Z0-9]){0,256}$")


@pytest.mark.parametrize("key", [
    "batch-input/fe5deb2275dd71cccd1d5665-batch_e2e.jsonl", "x.jsonl", "a/b/___.jsonl", "p/" + "long_name" * 20,
])
def test_job_name_and_token_fit_bedrock_patterns(key):
    token = tr.client_request_token({"input": key, "model": CLAUDE})
    name = tr.job_name(key, token)
    assert TOKEN.fullmatch(token) and JOB_NAME.fullmatch(name) and len(name) <= 63
    assert token == tr.client_request_token({"model": CLAUDE, "input": key})  # key order does not matter
    assert token != tr.client_request_token({"input": key, "model": CLAUDE, "metadata": {"a": "b"}})


@pytest.mark.parametrize("key, converted", [
    ("batch-input/k-in.jsonl", "batch-input/_bedrock/0123456789abcdef/k-in.jsonl"),
    ("a/b/in.jsonl", "a/b/_bedrock/0123456789abcdef/in.jsonl"),
    ("in.jsonl", "_bedrock/0123456789abcdef/in.jsonl"),
])
def test_converted_key_round_trip(key, converted):
    assert tr.converted_key(key, "0123456789abcdef" * 4) == converted
    assert tr.original_key(converted) == key
    assert tr.original_key(key) == key


@pytest.mark.parametrize("key, uri", [
    ("batch-input/x.jsonl", "s3://bkt/batch-input/batch-output/"), ("x.jsonl", "s3://bkt/batch-output/"),
])
def test_default_output_uri(key, uri):
    assert tr.default_output_uri("bkt", key) == uri


@pytest.mark.parametrize("uri, prefix", [
    ("s3://bkt/batch-output", "batch-output/abc123def456/"),
    ("s3://bkt/batch-output/", "batch-output/abc123def456/"),
    ("s3://bkt", "abc123def456/"),
])
def test_job_output_prefix(uri, prefix):
    job = {"jobArn": ARN, "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": uri}}}
    assert tr.job_output_prefix(job) == ("bkt", prefix)


# metadata <-> tags


@pytest.mark.parametrize("metadata", [
    {"team": "search"}, {"note": "nightly run #3, ok?"}, {"ключ": "значение"}, {"b": "b64:looks-encoded"},
    {"k": "x" * 180 + "!"}, {"k": ""},
])
def test_metadata_round_trips_through_tags(metadata):
    tags = tr.metadata_to_tags(metadata)
    pattern = re.compile(r"^[a-zA-Z0-9\s._:/=+@-]*$")
    assert all(pattern.fullmatch(t["key"]) and pattern.fullmatch(t["value"]) and len(t["value"]) <= 256 for t in tags)
    assert tr.tags_to_metadata(tags + [{"key": "owner", "value": "ops"}]) == metadata


def test_metadata_too_long_for_a_tag_is_400():
    with pytest.raises(BadRequest) as caught:
        tr.metadata_to_tags({"k": "é" * 200})
    assert caught.value.param == "metadata"


def test_no_metadata_tags_is_none():
    assert tr.metadata_to_tags(None) == [] and tr.tags_to_metadata([{"key": "x", "value": "y"}]) is None


# Output records -> OpenAI lines


CLAUDE_OUTPUT = {
    "recordId": "req-1",
    "modelInput": {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 100, "messages": []},
    "modelOutput": {"id": "msg_bdrk_01ABC", "type": "message", "role": "assistant", "model": "claude-3-sonnet-20240229",
                    "content": [{"type": "text", "text": "4"}], "stop_reason": "end_turn", "stop_sequence": None,
                    "usage": {"input_tokens": 12, "output_tokens": 1}},
}
CONVERSE_OUTPUT = {
    "recordId": "r2",
    "modelInput": {"messages": [{"role": "user", "content": [{"text": "Weather?"}]}]},
    "modelOutput": {"output": {"message": {"role": "assistant", "content": [
        {"reasoningContent": {"reasoningText": {"text": "thinking"}}}, {"text": "Let me check."},
        {"toolUse": {"toolUseId": "tooluse_1", "name": "weather", "input": {"city": "Oslo"}}}]}},
        "stopReason": "tool_use", "usage": {"inputTokens": 20, "outputTokens": 9, "totalTokens": 29,
                                            "cacheReadInputTokens": 5}, "metrics": {"latencyMs": 300}},
}


def test_claude_output_line():
    out = tr.output_line(CLAUDE_OUTPUT, job_id="abc123def456", model=CLAUDE, created=1700)
    assert out["id"] == "batch_req_msg_bdrk_01ABC" and out["custom_id"] == "req-1" and out["error"] is None
    body = out["response"]["body"]
    ChatCompletion.model_validate(body)
    assert body["choices"][0]["message"]["content"] == "4" and body["created"] == 1700
    assert body["usage"]["total_tokens"] == 13


def test_converse_output_line():
    out = tr.output_line(CONVERSE_OUTPUT, job_id="abc123def456", model="amazon.nova-lite-v1:0", created=1700)
    assert out["response"]["request_id"] == "abc123def456-r2" and out["id"] == "batch_req_abc123def456-r2"
    body = out["response"]["body"]
    ChatCompletion.model_validate(body)
    assert body["id"] == "chatcmpl-abc123def456-r2" and body["model"] == "amazon.nova-lite-v1:0"
    choice = body["choices"][0]
    assert choice["finish_reason"] == "tool_calls" and choice["message"]["content"] == "Let me check."
    assert choice["message"]["tool_calls"] == [{"id": "tooluse_1", "type": "function",
                                                "function": {"name": "weather", "arguments": '{"city": "Oslo"}'}}]
    assert body["usage"] == {"prompt_tokens": 25, "completion_tokens": 9, "total_tokens": 34,
                             "prompt_tokens_details": {"cached_tokens": 5}}


@pytest.mark.parametrize("error, status, code", [
    ({"errorCode": 400, "errorMessage": "bad request"}, 400, None),
    ({"errorCode": "429", "errorMessage": "throttled"}, 429, None),
    ({"errorCode": "ValidationException", "errorMessage": "extraneous key"}, 400, "ValidationException"),
    ({"errorCode": "ModelTimeoutException", "errorMessage": "slow"}, 408, "ModelTimeoutException"),
    ({"errorCode": "BrandNewException", "errorMessage": "new"}, batch_output.UNKNOWN_ERROR_STATUS, "BrandNewException"),
    ({"errorCode": 7, "errorMessage": "odd number"}, batch_output.UNKNOWN_ERROR_STATUS, "7"),
    ({"errorMessage": "no code"}, batch_output.UNKNOWN_ERROR_STATUS, None),
])
def test_error_record(error, status, code):
    out = tr.output_line({"recordId": "r3", "modelInput": {}, "error": error}, job_id="abc123def456",
                         model=CLAUDE, created=1)
    assert out["custom_id"] == "r3" and out["response"]["status_code"] == status and out["error"] is None
    assert out["response"]["body"]["error"]["message"] == error["errorMessage"]
    assert out["response"]["body"]["error"]["code"] == code


@pytest.mark.parametrize("stop, finish", sorted(tr.CONVERSE_FINISH_REASONS.items()) + [
    ("a_reason_from_next_year", batch_output.FINISH_REASON_FALLBACK), (None, batch_output.FINISH_REASON_FALLBACK)])
def test_converse_finish_reasons(stop, finish):
    response = {"output": {"message": {"role": "assistant", "content": [{"text": "x"}]}}, "stopReason": stop}
    body = tr.converse_to_chat_completion(response, completion_id="c", model="m", created=1)
    assert body["choices"][0]["finish_reason"] == finish
    assert body["choices"][0]["native_finish_reason"] == stop


def test_converse_unknown_and_skipped_blocks_leave_text_and_tool_calls():
    content = [{"video": {"format": "mp4", "source": {"bytes": "AA=="}}}, {"text": "a"},
               {"hologram": {"depth": 3}},  # a block kind from a newer API
               {"toolUse": {"toolUseId": "t1", "name": "search", "input": {}, "type": "server_tool_use"}},
               {"toolUse": {"toolUseId": "t2", "name": "f", "input": {"x": 1}}},
               {"toolUse": {"toolUseId": "t3", "name": "g", "input": {}, "type": "a_type_from_next_year"}},
               {"text": "b"}]
    body = tr.converse_to_chat_completion({"output": {"message": {"role": "assistant", "content": content}},
                                           "stopReason": "tool_use"}, completion_id="c", model="m", created=1)
    message = body["choices"][0]["message"]
    assert message["content"] == "ab"
    assert [call["id"] for call in message["tool_calls"]] == ["t2"]


@pytest.mark.parametrize("record", [
    {"recordId": "R0000000001", "modelOutput": {"generation": "llama text"}},
    {"recordId": "R0000000001", "modelOutput": {"output": {"image": {}}, "stopReason": "end_turn"}},
    {"recordId": "R0000000001", "modelOutput": {"output": {"message": {"content": ["plain"]}}}},
    {"modelOutput": {}},
])
def test_what_cannot_be_converted_raises_for_converted_lines(record):
    with pytest.raises(batch_output.CONVERSION_ERRORS):
        tr.output_line(record, job_id="j", model="m", created=1)


# recordIds and the custom_id sidecar


def test_record_ids_fit_the_strictest_reading():
    assert [tr.record_id(n) for n in (1, 42, 9_999_999_999)] == ["R0000000001", "R0000000042", "R9999999999"]
    assert all(tr.RECORD_ID.fullmatch(tr.record_id(n)) for n in (1, 50_000))


@pytest.mark.parametrize("record, ok", [
    ({"recordId": "CALL0000001", "modelInput": {}}, True),
    ({"modelInput": {}}, True),  # Bedrock assigns one
    ({"recordId": "r1", "modelInput": {}}, False),
    ({"recordId": "CALL-000001", "modelInput": {}}, False),
    ({"recordId": 12345678901, "modelInput": {}}, False),
])
def test_record_id_problem(record, ok):
    assert (tr.record_id_problem(record) is None) is ok


def test_custom_ids_round_trip_through_the_sidecar():
    custom_ids = ["req-1", "a\nb", "ключ", '"quoted"'] + [f"x{n}" for n in range(5000)]
    data = b"".join(tr.custom_ids_chunks(custom_ids, chunk_size=1000))
    assert tr.parse_custom_ids(data.split(b"\n")) == custom_ids
    assert tr.custom_id("R0000000002", custom_ids) == "a\nb"
    assert tr.custom_id("R0000009999", custom_ids) == "R0000009999"  # past the sidecar: the recordId
    assert tr.custom_id("CALL0000001", custom_ids) == "CALL0000001"  # a client's own recordId
    assert tr.custom_id("R0000000002", None) == "R0000000002"  # no sidecar
    with pytest.raises(ValueError):
        tr.parse_custom_ids([b'"a"', b"7"])


@pytest.mark.parametrize("converted, sidecar", [
    ("batch-input/_bedrock/0123456789abcdef/k-in.jsonl", "batch-input/_bedrock/0123456789abcdef/ids/k-in.jsonl"),
    ("_bedrock/0123456789abcdef/in.jsonl", "_bedrock/0123456789abcdef/ids/in.jsonl"),
    ("batch-input/k-in.jsonl", None),
])
def test_custom_ids_key_is_never_under_the_input_uri(converted, sidecar):
    assert tr.custom_ids_key(converted) == sidecar
    if sidecar:
        assert not sidecar.startswith(converted) and tr.original_key(sidecar) == sidecar


def test_output_lines_map_record_ids_back_to_custom_ids():
    custom_ids = ["req-1", "r2"]
    claude = {**CLAUDE_OUTPUT, "recordId": "R0000000001"}
    assert tr.output_line(claude, job_id="j", model=CLAUDE, created=1, custom_ids=custom_ids)["custom_id"] == "req-1"
    error = {"recordId": "R0000000002", "error": {"errorCode": 400, "errorMessage": "x"}}
    out = tr.output_line(error, job_id="j", model=CLAUDE, created=1, custom_ids=custom_ids)
    assert out["custom_id"] == "r2" and out["response"]["request_id"] == "j-R0000000002"
    assert tr.result_identity({"recordId": "R0000000002"}, 9, job_id="j", custom_ids=custom_ids) == (
        "r2", "j-R0000000002")
    assert tr.result_identity(None, 9, job_id="j", custom_ids=custom_ids) == ("j-line-9", "j-line-9")


# Job -> OpenAI Batch


def job(status: str, **extra) -> dict:
    base = {
        "jobArn": ARN, "jobName": "ds-x", "modelId": CLAUDE, "roleArn": "arn:aws:iam::123456789012:role/r",
        "status": status, "submitTime": T0, "lastModifiedTime": T0 + timedelta(minutes=5),
        "inputDataConfig": {"s3InputDataConfig": {"s3Uri": "s3://bkt/in/_bedrock/0123456789abcdef/x.jsonl"}},
        "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": "s3://bkt/out/"}},
        "jobExpirationTime": T0 + timedelta(hours=24),
    }
    return {**base, **extra}


def batch_of(native: dict, manifest: dict | None = None) -> dict:
    batch = tr.job_to_batch(native, batch_id="batch_dsb_x", input_file_id="file-dsbf_x", output_file_id="file-dsbo_x",
                            error_file_id="file-dsbe_x", metadata={"k": "v"}, manifest=manifest)
    Batch.model_validate(batch)  # what the strict SDK checks
    return batch


@pytest.mark.parametrize("status, expected", sorted(tr.STATUSES.items()))
def test_status_table(status, expected):
    assert batch_of(job(status))["status"] == expected


@pytest.mark.parametrize("extra, status, results", [
    ({"status": "Paused"}, "in_progress", False),
    ({"status": "Paused", "endTime": T0 + timedelta(hours=1)}, "completed", True),
    ({"status": None}, "in_progress", False),
])
def test_unknown_status_falls_back_by_end_time(extra, status, results):
    native = {k: v for k, v in {**job("x"), **extra}.items() if v is not None}
    batch = batch_of(native)
    assert batch["status"] == status and tr.has_results(native) is results
    assert (batch["output_file_id"] is not None) is results and (batch["error_file_id"] is not None) is results
    if results:
        assert batch["completed_at"] == int((T0 + timedelta(hours=1)).timestamp())


def test_every_record_failed_is_completed_not_failed():
    batch = batch_of(job("Completed", endTime=T0, totalRecordCount=3, successRecordCount=0, errorRecordCount=3))
    assert batch["status"] == "completed" and batch["request_counts"] == {"total": 3, "completed": 0, "failed": 3}
    assert batch["error_file_id"] and batch["errors"] is None


def test_completed_job_with_errors():
    end = T0 + timedelta(hours=1)
    batch = batch_of(job("Completed", endTime=end, totalRecordCount=120, processedRecordCount=120,
                         successRecordCount=118, errorRecordCount=2))
    assert batch["request_counts"] == {"total": 120, "completed": 118, "failed": 2}
    assert (batch["output_file_id"], batch["error_file_id"]) == ("file-dsbo_x", "file-dsbe_x")
    assert batch["created_at"] == int(T0.timestamp()) and batch["completed_at"] == int(end.timestamp())
    assert batch["expires_at"] == int((T0 + timedelta(hours=24)).timestamp())
    assert batch["model"] == CLAUDE and batch["metadata"] == {"k": "v"} and batch["endpoint"] == "/v1/chat/completions"


def test_counts_from_manifest_and_both_files_once_there_are_results():
    manifest = {"totalRecordCount": 100, "processedRecordCount": 100, "successRecordCount": 100,
                "errorRecordCount": 0, "inputTokenCount": 5, "outputTokenCount": 7}
    batch = batch_of(job("PartiallyCompleted", endTime=T0), manifest)
    assert batch["status"] == "completed" and batch["request_counts"] == {"total": 100, "completed": 100, "failed": 0}
    assert batch["output_file_id"] and batch["error_file_id"]  # only reading them tells what they hold


def test_unknown_counts_keep_the_error_file():
    batch = batch_of(job("Stopped", endTime=T0))
    assert batch["request_counts"] is None and batch["cancelled_at"] == int(T0.timestamp())
    assert batch["output_file_id"] and batch["error_file_id"]


@pytest.mark.parametrize("status", ["Submitted", "InProgress", "Failed", "Expired", "Stopping"])
def test_no_result_files_before_results(status):
    batch = batch_of(job(status, endTime=T0, message="Bad input"))
    assert batch["output_file_id"] is None and batch["error_file_id"] is None


def test_failed_job_carries_message():
    batch = batch_of(job("Failed", endTime=T0, message="The job has 3 records; the minimum is 100."))
    assert batch["failed_at"] == int(T0.timestamp())
    assert batch["errors"]["data"][0]["message"] == "The job has 3 records; the minimum is 100."


def test_stopping_sets_cancelling_at():
    assert batch_of(job("Stopping"))["cancelling_at"] == int((T0 + timedelta(minutes=5)).timestamp())


def test_naive_datetimes_are_utc():
    assert tr.unix(datetime(1970, 1, 2)) == 86400 and tr.unix(None) is None
