"""What an OpenAI-shaped provider other than OpenAI answers, normalised (blueprints/openai/replies.py):
Azure's drift (providers-next.md §3.7), unknown values, result lines (§3.8)."""

from __future__ import annotations

import pytest

from blueprints.dispatcher import ids
from blueprints.openai import replies
from schemas.batch import BatchSchema
from schemas.file import FileObjectSchema
from translators import batch_output

AZURE_CREATED = {  # Azure's batch guide, create reply (dated API)
    "id": "batch_6caaf24d-54a5-46be-b1b7-518884fcbdde", "completion_window": "24h", "created_at": 1722476583,
    "endpoint": None, "input_file_id": "file-655111ec9cfc44489d9af078f08116ef", "object": "batch",
    "status": "validating", "cancelled_at": None, "cancelling_at": None, "completed_at": None, "error_file_id": None,
    "errors": None, "expired_at": None, "expires_at": 1722562983, "failed_at": None, "finalizing_at": None,
    "in_progress_at": None, "metadata": None, "output_file_id": None,
    "request_counts": {"completed": 0, "failed": 0, "total": 0},
}


@pytest.mark.parametrize("value, expected", [
    (1722476583, 1722476583), (1762445017.0, 1762445017), ("1722476583", 1722476583), (None, None), ("", None),
    ("2024-07-19T17:13:57.2491382+00:00", 1721409237), ("2024-10-16T19:33:59.153782Z", 1729107239),
    ("2024-07-19T17:13:57", 1721409237),
])
def test_timestamps(value, expected):
    assert replies.to_unix(value) == expected


def test_azures_create_reply_becomes_a_strict_batch():
    batch = replies.batch_object("azure", AZURE_CREATED, endpoint="/v1/chat/completions")
    assert BatchSchema().validate(batch) == {}
    assert batch["id"] == ids.encode_batch("azure", AZURE_CREATED["id"])
    assert batch["input_file_id"] == ids.encode_file("azure", AZURE_CREATED["input_file_id"])
    assert batch["endpoint"] == "/v1/chat/completions" and batch["output_file_id"] is None


def test_azures_drift_is_normalised():
    drifted = {**AZURE_CREATED, "status": "Completed", "created_at": "2024-07-19T17:13:57.2491382+00:00",
               "endpoint": "/chat/completions", "output_file_id": "file-3304e310", "error_file_id": "",
               "request_counts": {"total": 3, "completed": None, "failed": None},
               "errors": {"data": [{"code": "token_limit_exceeded", "message": "Enqueued token limit reached"}]}}
    batch = replies.batch_object("azure", drifted, endpoint="/v1/responses")
    assert BatchSchema().validate(batch) == {}
    assert batch["status"] == "completed" and batch["created_at"] == 1721409237
    assert batch["endpoint"] == "/v1/chat/completions"  # the dated spelling, as clients name it
    assert batch["request_counts"] == {"total": 3, "completed": 0, "failed": 0}
    assert batch["errors"]["data"] == [{"code": "token_limit_exceeded", "message": "Enqueued token limit reached",
                                        "param": None, "line": None}]
    # results offered: both of the gateway's result files, over the batch
    assert ids.decode_file(batch["output_file_id"]) == ids.ResourceId("azure", "output", AZURE_CREATED["id"])
    assert ids.decode_file(batch["error_file_id"]) == ids.ResourceId("azure", "errors", AZURE_CREATED["id"])


@pytest.mark.parametrize("status, ended, expected", [
    ("Canceled", False, "cancelled"), ("CANCELING", False, "cancelling"), ("paused", False, "in_progress"),
    ("succeeded", True, "completed"), ("In_progress", False, "in_progress"),
])
def test_statuses(status, ended, expected):
    reply = {**AZURE_CREATED, "status": status, "completed_at": 1722477429 if ended else None}
    assert replies.batch_object("azure", reply, endpoint="/v1/chat/completions")["status"] == expected


def test_usage_and_metadata_outside_openais_shape_are_left_out():
    reply = {**AZURE_CREATED, "usage": {"input_tokens": 1}, "metadata": {"a": "b", "n": None}}
    batch = replies.batch_object("azure", reply, endpoint="/v1/chat/completions")
    assert batch["usage"] is None and batch["metadata"] == {"a": "b"}


@pytest.mark.parametrize("status, expected", [
    ("processed", "processed"), ("pending", "uploaded"), ("running", "uploaded"), ("error", "error"),
    ("Processed", "processed"), ("mysterious", "uploaded"), (None, "processed"),
])
def test_file_statuses(status, expected):
    reply = {"id": "file-1", "object": "file", "bytes": None, "created_at": 1743391067, "filename": "test.jsonl",
             "purpose": "batch", "status": status}
    file = replies.file_object("azure", reply)
    assert file["status"] == expected and file["bytes"] == 0 and FileObjectSchema().validate(file) == {}


@pytest.mark.parametrize("status", ["deleting", "deleted"])
def test_files_being_deleted_are_gone(status):
    assert replies.file_object("azure", {"id": "file-1", "created_at": 1, "purpose": "batch", "status": status}) is None


def test_result_lines():
    azure_line = {"custom_id": "task-0", "response": {"body": {"choices": [
        {"finish_reason": "stop", "index": 0, "message": {"content": "x", "role": "assistant"}},
        {"finish_reason": "end_turn", "index": 1, "message": {"content": "y", "role": "assistant"}}],
        "object": "chat.completion"}, "request_id": "660b7424", "status_code": 200}, "error": None}
    line = replies.result_line(azure_line, 1)
    assert line["id"] == "batch_req_660b7424" and batch_output.is_success(line)
    assert [(c["finish_reason"], c["native_finish_reason"]) for c in line["response"]["body"]["choices"]] == [
        ("stop", "stop"), ("stop", "end_turn")]
    refused = {"custom_id": "task-1", "response": {"status_code": 400, "request_id": "r", "body": {
        "error": {"code": "content_filter", "message": "filtered"}}}, "error": None}
    assert not batch_output.is_success(replies.result_line(refused, 2))
    never_ran = {"id": "x", "custom_id": "task-2", "error": {"code": "batch_expired", "message": "expired"}}
    assert replies.result_line(never_ran, 3)["error"] == {"code": "batch_expired", "message": "expired"}


@pytest.mark.parametrize("line", [
    {"custom_id": 7, "response": {"status_code": 200, "body": {}}},
    {"custom_id": "a", "response": {"status_code": "200", "body": {}}},
    {"custom_id": "a", "response": {"body": {}}},
    {"custom_id": "a"},
    {"custom_id": "a", "response": {"status_code": 200, "body": "text"}},
])
def test_lines_that_do_not_convert_reach_the_error_file_with_their_custom_id(line):
    (converted,) = batch_output.converted_lines([(1, line)], replies.result_line, replies.identify, provider="azure")
    assert converted["response"]["body"]["error"]["code"] == batch_output.UNCONVERTIBLE
    assert converted["custom_id"] == (line["custom_id"] if isinstance(line["custom_id"], str) else "line-1")
