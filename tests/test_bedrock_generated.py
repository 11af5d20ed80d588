"""Generated from the official definitions: every value botocore's bedrock / bedrock-runtime models
(and, for Claude on Bedrock, the anthropic SDK) declare is either mapped by translators/bedrock.py or
listed as falling back / skipped, and a result holding every declared value converts. A botocore or
SDK upgrade that adds a value fails here until someone maps it or lists it."""

from __future__ import annotations

import json
import re
import typing
from datetime import UTC, datetime

import pytest
from anthropic.types import ContentBlock as ClaudeContentBlock
from anthropic.types import StopReason as ClaudeStopReason
from openai.types import Batch
from openai.types.chat import ChatCompletion

from tests.contracts import botocore_shapes as shapes
from tests.fakes.bedrock import CLAUDE_BLOCK_SAMPLES, CONVERSE_BLOCK_SAMPLES, claude_output, converse_output
from translators import anthropic as anthropic_tr
from translators import batch_output
from translators import bedrock as tr

RUNTIME = "bedrock-runtime"
ARN = "arn:aws:bedrock:us-west-2:123456789012:model-invocation-job/abc123def456"


def declared_enum(service: str, shape: str) -> list[str]:
    return list(shapes.model(service).shape_for(shape).enum)


def declared_members(service: str, shape: str) -> list[str]:
    return list(shapes.model(service).shape_for(shape).members)


CONTENT_BLOCKS = declared_members(RUNTIME, "ContentBlock")
STOP_REASONS = declared_enum(RUNTIME, "StopReason")
JOB_STATUSES = declared_enum("bedrock", "ModelInvocationJobStatus")
CLAUDE_STOP_REASONS = list(typing.get_args(ClaudeStopReason))
CLAUDE_BLOCKS = [member.model_fields["type"].annotation.__args__[0]
                 for member in typing.get_args(typing.get_args(ClaudeContentBlock)[0])]


# Tables against the declarations


def test_every_content_block_member_is_handled_or_skipped():
    assert len(CONTENT_BLOCKS) >= 14  # what botocore 1.44 declares; more only ever means new kinds
    assert tr.CONVERSE_HANDLED_BLOCKS.isdisjoint(tr.CONVERSE_SKIPPED_BLOCKS)
    assert set(CONTENT_BLOCKS) == tr.CONVERSE_HANDLED_BLOCKS | tr.CONVERSE_SKIPPED_BLOCKS


def test_every_stop_reason_is_mapped():
    assert set(STOP_REASONS) == set(tr.CONVERSE_FINISH_REASONS)


def test_every_tool_use_type_is_a_server_tool():
    assert set(declared_enum(RUNTIME, "ToolUseType")) == tr.SERVER_TOOL_USE_TYPES


def test_every_job_status_is_mapped():
    assert set(JOB_STATUSES) == set(tr.STATUSES)
    assert set(JOB_STATUSES) >= tr.RESULT_STATUSES


def test_record_error_codes_are_bedrock_runtimes_exceptions_with_their_statuses():
    assert shapes.exception_statuses(RUNTIME) == tr.RECORD_ERROR_STATUS


@pytest.mark.parametrize("ours, shape", [(tr.TOOL_NAME, "ToolName"), (tr.TOOL_USE_ID, "ToolUseId")])
def test_tool_name_and_id_rules_are_botocores(ours, shape):
    metadata = shapes.model(RUNTIME).shape_for(shape).metadata
    assert metadata["pattern"].endswith("+")
    assert ours.pattern == f"{metadata['pattern'][:-1]}{{{metadata['min']},{metadata['max']}}}"


def test_request_formats_are_declared():
    assert set(tr.IMAGE_FORMATS.values()) <= set(declared_enum(RUNTIME, "ImageFormat"))
    assert {fmt for fmt, _ in tr.DOCUMENT_SOURCES.values()} <= set(declared_enum(RUNTIME, "DocumentFormat"))
    assert {member for _, member in tr.DOCUMENT_SOURCES.values()} <= set(declared_members(RUNTIME, "DocumentSource"))
    assert set(declared_enum(RUNTIME, "OutputFormatType")) == {"json_schema"}
    assert declared_members(RUNTIME, "OutputFormatStructure") == ["jsonSchema"]


def test_the_samples_cover_every_declared_block():
    assert set(CONVERSE_BLOCK_SAMPLES) == set(CONTENT_BLOCKS)
    for kind, block in CONVERSE_BLOCK_SAMPLES.items():
        assert list(block) == [kind]
    shapes.check(RUNTIME, "ConverseResponse", converse_output(list(CONVERSE_BLOCK_SAMPLES.values())), "sample")
    assert set(CLAUDE_BLOCK_SAMPLES) == set(CLAUDE_BLOCKS)


def test_claude_tables_cover_the_anthropic_sdk():
    assert set(CLAUDE_STOP_REASONS) <= set(anthropic_tr.FINISH_REASONS)
    assert set(CLAUDE_BLOCKS) <= {"text", "tool_use"} | anthropic_tr.SKIPPED_BLOCKS


# A result holding every declared value converts


@pytest.mark.parametrize("stop_reason", STOP_REASONS)
def test_converse_result_with_every_block_converts(stop_reason):
    blocks = list(CONVERSE_BLOCK_SAMPLES.values())
    record = {"recordId": "R0000000001", "modelInput": {}, "modelOutput": converse_output(blocks, stop_reason)}
    line = tr.output_line(record, job_id="abc123def456", model="amazon.nova-lite-v1:0", created=1,
                          custom_ids=["req-1"])
    assert batch_output.is_success(line) and line["custom_id"] == "req-1"
    body = line["response"]["body"]
    ChatCompletion.model_validate(body)
    choice = body["choices"][0]
    assert choice["finish_reason"] == tr.CONVERSE_FINISH_REASONS[stop_reason]
    assert choice["native_finish_reason"] == stop_reason
    cited = "".join(part["text"] for part in CONVERSE_BLOCK_SAMPLES["citationsContent"]["citationsContent"]["content"])
    assert choice["message"]["content"] == CONVERSE_BLOCK_SAMPLES["text"]["text"] + cited  # answer text, with citations
    use = CONVERSE_BLOCK_SAMPLES["toolUse"]["toolUse"]
    assert choice["message"]["tool_calls"] == [{"id": use["toolUseId"], "type": "function", "function": {
        "name": use["name"], "arguments": json.dumps(use["input"])}}]


@pytest.mark.parametrize("stop_reason", CLAUDE_STOP_REASONS)
def test_claude_result_with_every_block_converts(stop_reason):
    record = {"recordId": "R0000000001", "modelInput": {},
              "modelOutput": claude_output(list(CLAUDE_BLOCK_SAMPLES.values()), stop_reason)}
    line = tr.output_line(record, job_id="abc123def456", model="anthropic.claude-3-sonnet-20240229-v1:0",
                          created=1, custom_ids=["req-1"])
    assert batch_output.is_success(line) and line["custom_id"] == "req-1"
    body = line["response"]["body"]
    ChatCompletion.model_validate(body)
    assert body["choices"][0]["message"]["content"] == CLAUDE_BLOCK_SAMPLES["text"]["text"]
    assert [c["id"] for c in body["choices"][0]["message"]["tool_calls"]] == [CLAUDE_BLOCK_SAMPLES["tool_use"]["id"]]


@pytest.mark.parametrize("code", sorted(shapes.exception_statuses(RUNTIME)))
def test_every_declared_record_error_code_keeps_its_status(code):
    line = tr.output_line({"recordId": "R0000000001", "error": {"errorCode": code, "errorMessage": "m"}},
                          job_id="j", model="m", created=1)
    assert line["response"]["status_code"] == shapes.exception_statuses(RUNTIME)[code]
    assert line["response"]["body"]["error"]["code"] == code


@pytest.mark.parametrize("status", JOB_STATUSES)
def test_every_job_status_makes_a_batch(status):
    job = {"jobArn": ARN, "modelId": "amazon.nova-lite-v1:0", "status": status,
           "submitTime": datetime(2026, 1, 1, tzinfo=UTC), "endTime": datetime(2026, 1, 2, tzinfo=UTC),
           "inputDataConfig": {"s3InputDataConfig": {"s3Uri": "s3://bkt/in.jsonl"}},
           "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": "s3://bkt/out/"}}}
    batch = tr.job_to_batch(job, batch_id="batch_x", input_file_id="file-x", output_file_id="file-o",
                            error_file_id="file-e")
    Batch.model_validate(batch)
    assert batch["status"] == tr.STATUSES[status]
    assert (batch["output_file_id"] is not None) is (status in tr.RESULT_STATUSES)


def test_s3_uri_and_model_rules_are_read_from_botocore():
    from blueprints.common import aws

    for rule, shape in ((aws.S3_URI, "S3Uri"), (aws.MODEL_ID, "ModelId")):
        metadata = shapes.model("bedrock").shape_for(shape).metadata
        assert rule.pattern == re.compile(metadata["pattern"]) and rule.max == metadata["max"]
