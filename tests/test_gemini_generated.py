"""Generated from google-genai: every value the SDK declares is mapped (or listed as falling back) by
translators/gemini.py, and a result file holding all of them converts line for line.

A google-genai release that adds a FinishReason, BlockedReason, JobState, FileState, FileSource or
Part field fails here until the value is mapped or listed as skipped/falling back.
"""

from __future__ import annotations

import json

import pytest
from google.genai import types

from tests.contracts import genai_types as contract
from tests.fakes.gemini import declared_results, off_spec_results
from translators import batch_output
from translators import gemini as t

BATCH = "batches/gen1"


def test_every_finish_reason_is_mapped():
    assert set(contract.values(types.FinishReason)) <= set(t.FINISH_REASONS)
    assert set(t.FINISH_REASONS.values()) <= {"stop", "length", "content_filter"}


def test_every_block_reason_is_mapped():
    assert set(contract.values(types.BlockedReason)) <= set(t.BLOCK_REASONS)
    assert set(t.BLOCK_REASONS.values()) == {t.BLOCK_REASON_FALLBACK} == {"content_filter"}


def test_every_job_state_is_mapped_with_either_prefix():
    for value in contract.values(types.JobState):
        name = value.removeprefix("JOB_STATE_")
        assert name in t.STATES, value
        operation = {"metadata": {"state": value}}
        assert t.known_state(operation) and t.state(operation) == t.STATES[name]
    for wire in contract.wire_states():  # the spelling Gemini's REST API sends
        assert t.known_state({"metadata": {"state": wire}}), wire


def test_every_file_state_and_source_is_mapped():
    assert set(contract.values(types.FileState)) <= set(t.FILE_STATUSES)
    sources = set(t.FILE_SOURCE_PURPOSES) | set(t.PURPOSE_BY_MIME_TYPE_SOURCES)
    assert set(contract.values(types.FileSource)) <= sources
    assert not set(t.FILE_SOURCE_PURPOSES) & set(t.PURPOSE_BY_MIME_TYPE_SOURCES)


def test_every_part_field_is_handled_or_skipped():
    handled, skipped = set(t.HANDLED_PART_FIELDS), set(t.SKIPPED_PART_FIELDS)
    assert not handled & skipped
    assert handled | skipped == set(contract.part_fields())


def test_every_rpc_code_has_the_http_status_of_code_proto():
    for name, (number, http_status) in contract.RPC_CODES.items():
        if name == "OK":
            continue
        assert t.RPC_CODE_NAMES[number] == name
        if name == "CANCELLED":  # a request that never ran: a batch_cancelled failure line
            assert name not in t.RPC_HTTP_STATUS
        else:
            assert t.RPC_HTTP_STATUS[name] == http_status, name


# A result file with every declared value, values beyond the SDK, and lines that cannot be converted


def _records(results: dict) -> list[tuple[int, bytes]]:
    return [(n, r if isinstance(r, bytes) else json.dumps(r).encode()) for n, r in enumerate(results.values(), 1)]


@pytest.fixture(scope="module")
def converted() -> dict[str, dict]:
    results = {**declared_results(), **off_spec_results()}
    lines = list(batch_output.converted_lines(
        _records(results), lambda line, n: t.output_line(line, n, batch=BATCH, model="gemini-2.5-flash", created=7),
        lambda line, n: t.identify(line, n, batch=BATCH), provider="gemini"))
    assert len(lines) == len(results)
    by_id = {line["custom_id"]: line for line in lines}
    assert len(by_id) == len(lines)  # every custom_id once
    not_json = list(results).index("not-json") + 1
    assert set(by_id) == set(results) - {"not-json"} | {f"line-{not_json}"}
    return by_id


def _choice(line: dict) -> dict:
    assert batch_output.is_success(line), line
    (choice,) = line["response"]["body"]["choices"]
    return choice


@pytest.mark.parametrize("reason", contract.values(types.FinishReason))
def test_every_finish_reason_converts(converted, reason):
    choice = _choice(converted[f"finish-{reason}"])
    assert choice["finish_reason"] == t.FINISH_REASONS[reason]
    assert choice["native_finish_reason"] == reason
    assert choice["message"]["content"] == f"ended by {reason}"
    call = _choice(converted[f"call-{reason}"])
    assert call["finish_reason"] == ("tool_calls" if reason == "STOP" else t.FINISH_REASONS[reason])
    assert call["message"]["tool_calls"][0]["function"] == {"name": "lookup", "arguments": json.dumps({"q": reason})}


@pytest.mark.parametrize("reason", contract.values(types.BlockedReason))
def test_every_block_reason_converts(converted, reason):
    choice = _choice(converted[f"blocked-{reason}"])
    assert (choice["finish_reason"], choice["native_finish_reason"]) == ("content_filter", reason)
    assert choice["message"]["content"] is None


@pytest.mark.parametrize("name", [n for n in contract.RPC_CODES if n != "OK"])
def test_every_rpc_error_converts(converted, name):
    line = converted[f"error-{name}"]
    assert not batch_output.is_success(line)
    if name == "CANCELLED":
        assert line["response"] is None and line["error"]["code"] == batch_output.CANCELLED
    else:
        assert line["response"]["status_code"] == contract.RPC_CODES[name][1]
        assert line["response"]["body"]["error"]["code"] == name
        assert line["response"]["body"]["error"]["message"] == f"{name} here"


def test_every_part_kind_converts(converted):
    message = _choice(converted["every-part"])["message"]
    assert message["content"] == "example"  # the text part; the thought and every other kind are skipped
    assert [c["function"]["name"] for c in message["tool_calls"]] == ["lookup"]


def test_values_beyond_the_sdk_fall_back(converted):
    new_finish = _choice(converted["new-finish"])
    assert (new_finish["finish_reason"], new_finish["native_finish_reason"]) == (
        batch_output.FINISH_REASON_FALLBACK, "BRAND_NEW_REASON")
    new_block = _choice(converted["new-block"])
    assert (new_block["finish_reason"], new_block["native_finish_reason"]) == ("content_filter", "BRAND_NEW_BLOCK")
    assert _choice(converted["new-part"])["message"]["content"] == "still here"
    new_code = converted["new-code"]["response"]
    assert new_code["status_code"] == batch_output.UNKNOWN_ERROR_STATUS and new_code["body"]["error"]["code"] == "42"


def test_lines_that_cannot_be_converted_keep_the_providers_line(converted):
    line = converted["unconvertible"]
    assert line["response"]["status_code"] == 502
    assert line["response"]["body"]["error"]["code"] == batch_output.UNCONVERTIBLE
    assert line["response"]["body"]["provider_result"] == off_spec_results()["unconvertible"]
    not_json = next(v for k, v in converted.items() if k.startswith("line-"))
    assert not_json["response"]["body"]["provider_result"] == off_spec_results()["not-json"].decode()
    assert not_json["id"].startswith("batch_req_gen1-")
