"""Generated from the official `anthropic` SDK: every value its types declare for a reply (stop
reasons, content block types, error types, result types, processing statuses) is either in one of
the translator's tables or in its explicit skip/fallback table, and a reply holding each of them
converts. A new SDK version that declares a new value fails here until someone maps it or lists it.
"""

from __future__ import annotations

import pytest

from schemas.batch import BatchSchema
from tests.fakes import anthropic as fake
from translators import anthropic as t
from translators import batch_output

STOP_REASONS = fake.declared_stop_reasons()
BLOCK_TYPES = fake.declared_block_types()
ERROR_TYPES = fake.declared_error_types()
RESULT_TYPES = fake.declared_result_types()
PROCESSING_STATUSES = fake.declared_processing_statuses()


def test_the_sdk_declares_what_these_tests_enumerate():
    # Guards the enumeration itself: an SDK refactor that hides the values must not pass vacuously.
    assert {"end_turn", "max_tokens", "tool_use", "refusal"} <= set(STOP_REASONS)
    assert {"text", "tool_use", "thinking"} <= set(BLOCK_TYPES)
    assert {"invalid_request_error", "overloaded_error", "conflict_error"} <= set(ERROR_TYPES)
    assert set(RESULT_TYPES) == {"succeeded", "errored", "canceled", "expired"}
    assert set(PROCESSING_STATUSES) == {"in_progress", "canceling", "ended"}


# Every declared value is in a table


@pytest.mark.parametrize("stop_reason", STOP_REASONS)
def test_every_stop_reason_is_mapped(stop_reason):
    assert stop_reason in t.FINISH_REASONS


@pytest.mark.parametrize("block_type", BLOCK_TYPES)
def test_every_content_block_is_handled_or_skipped(block_type):
    assert block_type in t.HANDLED_BLOCKS | t.SKIPPED_BLOCKS
    assert block_type in fake.BLOCKS  # so the conversion below holds one of each


def test_handled_and_skipped_blocks_do_not_overlap():
    assert not t.HANDLED_BLOCKS & t.SKIPPED_BLOCKS


@pytest.mark.parametrize("error_type", ERROR_TYPES)
def test_every_error_type_has_a_status(error_type):
    assert error_type in t.ERROR_STATUS


@pytest.mark.parametrize("result_type", RESULT_TYPES)
def test_every_result_type_is_converted(result_type):
    assert result_type in t.RESULT_TYPES


@pytest.mark.parametrize("status", PROCESSING_STATUSES)
def test_every_processing_status_is_known(status):
    assert status in t.PROCESSING_STATUSES


# A reply holding every declared value converts


def every_block() -> list[dict]:
    return [fake.BLOCKS[kind] for kind in BLOCK_TYPES]


@pytest.mark.parametrize("stop_reason", [*STOP_REASONS, None])  # Message.stop_reason is Optional
def test_a_message_with_every_block_and_each_stop_reason(stop_reason):
    line = {"custom_id": "r1", "result": fake.succeeded(fake.message(every_block(), stop_reason=stop_reason))}
    fake.check_result(line)  # as the SDK types allow it
    out = t.result_line(line, batch_id="msgbatch_1", created=1727203344)
    assert batch_output.is_success(out)
    choice = out["response"]["body"]["choices"][0]
    expected = t.FINISH_REASONS[stop_reason] if stop_reason else batch_output.FINISH_REASON_FALLBACK
    assert choice["finish_reason"] == expected and choice["native_finish_reason"] == stop_reason
    assert choice["message"]["content"] == fake.BLOCKS["text"]["text"]
    assert choice["message"]["tool_calls"] == [{"id": "toolu_01", "type": "function",
                                                "function": {"name": "lookup", "arguments": '{"q": "x"}'}}]


@pytest.mark.parametrize("error_type", ERROR_TYPES)
def test_an_errored_result_of_each_error_type(error_type):
    line = {"custom_id": "r2", "result": fake.errored(error_type, "went wrong", "req_01")}
    fake.check_result(line)
    out = t.result_line(line, batch_id="msgbatch_1", created=0)
    assert not batch_output.is_success(out)
    assert out["response"]["status_code"] == t.ERROR_STATUS[error_type]
    assert out["response"]["body"]["error"]["code"] == error_type
    assert out["response"]["body"]["error"]["message"] == "went wrong"
    assert out["response"]["request_id"] == "req_01"


SAMPLE_RESULTS = {
    "succeeded": fake.succeeded(fake.message()),
    "errored": fake.errored("api_error"),
    "canceled": fake.CANCELED,
    "expired": fake.EXPIRED,
}


@pytest.mark.parametrize("result_type", RESULT_TYPES)
def test_a_line_of_each_result_type(result_type):
    line = {"custom_id": "r3", "result": SAMPLE_RESULTS[result_type]}
    fake.check_result(line)
    out = t.result_line(line, batch_id="msgbatch_1", created=0)
    assert out["custom_id"] == "r3"
    assert batch_output.is_success(out) == (result_type == "succeeded")


@pytest.mark.parametrize("status", PROCESSING_STATUSES)
def test_a_message_batch_in_each_processing_status(status):
    ended = status == "ended"
    native = {
        "id": "msgbatch_01", "type": "message_batch", "processing_status": status,
        "request_counts": {"processing": 0 if ended else 2, "succeeded": 2 if ended else 0, "errored": 0,
                           "canceled": 0, "expired": 0},
        "created_at": "2024-09-24T18:37:24.100435Z", "expires_at": "2024-09-25T18:37:24.100435Z",
        "ended_at": "2024-09-24T18:42:24.100435Z" if ended else None,
        "cancel_initiated_at": "2024-09-24T18:38:00Z" if status == "canceling" else None,
        "archived_at": None, "results_url": "https://anthropic.fake/v1/messages/batches/msgbatch_01/results"
        if ended else None,
    }
    fake.check_batch(native)
    batch = t.openai_batch([native], batch_id="msgbatch_01", input_file_id="", output_file_id="file-o",
                           error_file_id="file-e")
    assert BatchSchema().validate(batch) == {}
    assert batch["status"] == {"in_progress": "in_progress", "canceling": "cancelling", "ended": "completed"}[status]
