"""Anthropic result downloads end to end, through the real `openai` SDK (strict) and the served app:
every value the official SDK declares comes through without losing a line, and a results stream
that breaks makes the client's read fail instead of ending short."""

from __future__ import annotations

import json

import httpx2 as httpx
import openai
import pytest

from blueprints.common.streams import RELAY_CHUNK
from tests.fakes import anthropic as fake_module
from tests.fakes.anthropic import FakeAnthropic, anthropic_fakes
from translators import anthropic as t
from translators import batch_output

CHAT = "/v1/chat/completions"
PROVIDER = {"provider": "anthropic"}


@pytest.fixture
def fake(rsps):
    with anthropic_fakes(rsps) as make:
        yield make(polls_until_ended=2, api_key="sk-test-key")


def jsonl_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.split("\n") if line.strip()]


def openai_line(custom_id: str, text: str = "Hello") -> str:
    return json.dumps({"custom_id": custom_id, "method": "POST", "url": CHAT,
                       "body": {"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": text}]}})


def run_batch(sdk, custom_ids: list[str]):
    """Upload OpenAI lines for `custom_ids`, create a batch from the file, poll it to its end."""
    data = ("\n".join(openai_line(c) for c in custom_ids) + "\n").encode()
    uploaded = sdk.files.create(file=("in.jsonl", data, "application/jsonl"), purpose="batch", extra_body=PROVIDER)
    batch = sdk.batches.create(input_file_id=uploaded.id, endpoint=CHAT, completion_window="24h")
    for _ in range(5):
        batch = sdk.batches.retrieve(batch.id)
        if batch.status not in ("in_progress", "cancelling"):
            return batch
    raise AssertionError("the batch did not end")


def test_every_declared_value_and_unconvertible_lines_download_completely(sdk, fake: FakeAnthropic):
    """Done-when: a batch whose results hold every stop reason, block type, error type and result type
    the SDK declares, plus lines that cannot be converted, downloads with every custom_id exactly once
    across the output and error files, normal lines intact."""
    every_block = [fake_module.BLOCKS[kind] for kind in fake_module.declared_block_types()]
    expected_success: dict[str, str | None] = {}  # custom_id -> native stop reason
    expected_errors: dict[str, int] = {}  # custom_id -> status code (None: a request that never ran)
    for stop_reason in [*fake_module.declared_stop_reasons(), None]:
        custom_id = f"stop-{stop_reason}"
        fake.answer(custom_id, fake_module.succeeded(
            fake_module.message(every_block, stop_reason=stop_reason, message_id=f"msg_{stop_reason}")))
        expected_success[custom_id] = stop_reason
    for error_type in fake_module.declared_error_types():
        custom_id = f"err-{error_type}"
        fake.answer(custom_id, fake_module.errored(error_type, f"{error_type} says no", f"req_{error_type}"))
        expected_errors[custom_id] = t.ERROR_STATUS[error_type]
    for result_type in fake_module.declared_result_types():
        custom_id = f"result-{result_type}"
        result = {"succeeded": fake_module.succeeded(fake_module.message(message_id="msg_plain")),
                  "errored": fake_module.errored("api_error"),
                  "canceled": fake_module.CANCELED, "expired": fake_module.EXPIRED}[result_type]
        fake.answer(custom_id, result)
        if result_type == "succeeded":
            expected_success[custom_id] = "end_turn"
        else:
            expected_errors[custom_id] = 500 if result_type == "errored" else None
    # Deliberately outside the types: an unknown result type, a Message without its id, not JSON at all.
    fake.answer_raw("raw-unknown", b'{"custom_id": "raw-unknown", "result": {"type": "deferred", "until": 1}}')
    fake.answer_raw("raw-broken", json.dumps({"custom_id": "raw-broken", "result": {
        "type": "succeeded", "message": {"type": "message", "content": []}}}).encode(), counted_as="succeeded")
    fake.answer_raw("raw-garbage", b"{this is not json")
    unconvertible = {"raw-unknown", "raw-broken"}
    custom_ids = [*expected_success, *expected_errors, *unconvertible, "raw-garbage"]

    batch = run_batch(sdk, custom_ids)
    assert batch.status == "expired"  # one request expired (§0.1)
    assert batch.request_counts.total == len(custom_ids)
    output = sdk.files.content(batch.output_file_id).content
    errors = sdk.files.content(batch.error_file_id).content
    assert sdk.files.retrieve(batch.output_file_id).bytes == len(output)
    assert sdk.files.retrieve(batch.error_file_id).bytes == len(errors)
    output_lines, error_lines = jsonl_lines(output.decode()), jsonl_lines(errors.decode())

    seen = [line["custom_id"] for line in output_lines + error_lines]
    garbage_id = f"line-{custom_ids.index('raw-garbage') + 1}"  # its custom_id cannot be read
    assert sorted(seen) == sorted([c for c in custom_ids if c != "raw-garbage"] + [garbage_id])

    assert {line["custom_id"] for line in output_lines} == set(expected_success)
    for line in output_lines:
        native = expected_success[line["custom_id"]]
        choice = line["response"]["body"]["choices"][0]
        assert choice["native_finish_reason"] == native
        assert choice["finish_reason"] == (t.FINISH_REASONS[native] if native else "stop")
        assert choice["message"]["content"] == "Hello!"
        if line["custom_id"].startswith("stop-"):
            assert [c["function"]["name"] for c in choice["message"]["tool_calls"]] == ["lookup"]
        assert line["response"]["body"]["usage"]["total_tokens"] == 20

    errors_by_id = {line["custom_id"]: line for line in error_lines}
    for custom_id, status in expected_errors.items():
        line = errors_by_id[custom_id]
        if status is None:
            assert line["response"] is None and line["error"]["code"] in ("batch_expired", "batch_cancelled")
        else:
            assert line["response"]["status_code"] == status
    for custom_id in [*unconvertible, garbage_id]:
        body = errors_by_id[custom_id]["response"]["body"]
        assert errors_by_id[custom_id]["response"]["status_code"] == 502
        assert body["error"]["code"] == batch_output.UNCONVERTIBLE and "provider_result" in body
    assert errors_by_id[garbage_id]["response"]["body"]["provider_result"] == "{this is not json"
    assert errors_by_id["raw-unknown"]["response"]["body"]["provider_result"]["result"]["until"] == 1


def test_a_partial_last_line_becomes_an_error_line(sdk, fake):
    fake.results_trailer = b'{"custom_id": "cut-off", "result": {"type": "succ'
    batch = run_batch(sdk, ["a", "b"])
    assert batch.status == "completed" and batch.request_counts.failed == 0
    assert [line["custom_id"] for line in jsonl_lines(sdk.files.content(batch.output_file_id).text)] == ["a", "b"]
    # Anthropic counted nothing failed, yet the error file is offered and holds the cut-off line.
    (line,) = jsonl_lines(sdk.files.content(batch.error_file_id).text)
    assert line["custom_id"] == "line-3" and line["response"]["status_code"] == 502
    assert line["response"]["body"]["provider_result"] == fake.results_trailer.decode()


def many_ids(count: int) -> list[str]:
    return [f"r{i:04d}" for i in range(count)]


def test_a_results_stream_that_breaks_midway_fails_the_read(sdk, fake):
    # Enough results that the gateway has sent output when the upstream stream breaks: it reads
    # upstream RELAY_CHUNK (1 MiB) at a time and sends a chunk per 64 KiB of converted lines.
    long_text = "x" * 6000
    for custom_id in many_ids(300):
        fake.answer(custom_id, fake_module.succeeded(fake_module.message(
            [{"type": "text", "text": long_text}], message_id=f"msg_{custom_id}")))
    batch = run_batch(sdk, many_ids(300))
    whole = sdk.files.content(batch.output_file_id).content
    assert len(jsonl_lines(whole.decode())) == 300 and len(whole) > 1.5 * RELAY_CHUNK

    fake.break_results_after = RELAY_CHUNK + RELAY_CHUNK // 4
    with pytest.raises((httpx.RemoteProtocolError, openai.APIConnectionError)):
        sdk.files.content(batch.output_file_id).read()


def test_a_results_stream_that_breaks_before_the_first_byte_is_an_http_error(sdk, fake):
    batch = run_batch(sdk, ["a", "b"])
    fake.break_results_after = 10
    with pytest.raises(openai.APIStatusError) as caught:
        sdk.files.content(batch.output_file_id)
    assert caught.value.status_code == 502 and "anthropic" in caught.value.message.lower()
