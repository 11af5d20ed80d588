"""Gemini end to end through the real `openai` SDK (strict): results holding every value google-genai
declares, values beyond it and unconvertible lines download completely; a results download that
breaks upstream fails the client's read; unknown batch states never fail a retrieve or a list."""

from __future__ import annotations

import json

import httpx2 as httpx
import openai
import pytest

from blueprints.dispatcher import ids
from tests.fakes.gemini import checked_fakes, declared_results, off_spec_results
from translators import batch_output

MODEL = "gemini-2.5-flash"
GEMINI = {"provider": "gemini"}


@pytest.fixture
def make_fake(rsps):
    yield from checked_fakes(rsps)


@pytest.fixture
def fake(make_fake):
    return make_fake()


def _request(custom_id: str, text: str = "Hello") -> dict:
    return {"custom_id": custom_id, "method": "POST", "url": "/v1/chat/completions",
            "body": {"model": MODEL, "messages": [{"role": "user", "content": text}], "max_tokens": 50}}


def _lines(content: bytes) -> list[dict]:
    return [json.loads(line) for line in content.splitlines() if line.strip()]


def _finished(sdk, batch_id: str):
    for _ in range(5):
        batch = sdk.batches.retrieve(batch_id, extra_query=GEMINI)
        if batch.status in ("completed", "failed", "expired", "cancelled"):
            return batch
    raise AssertionError(f"batch {batch_id} did not finish: {batch.status}")


def _run(sdk, fake, requests: list[dict], *, inline: bool):
    if inline:
        batch = sdk.batches.create(input_file_id="", endpoint="/v1/chat/completions", completion_window="24h",
                                   extra_body={**GEMINI, "model": MODEL, "requests": requests})
    else:
        content = "\n".join(json.dumps(r) for r in requests).encode()
        uploaded = sdk.files.create(file=("batch.jsonl", content, "application/jsonl"), purpose="batch",
                                    extra_body=GEMINI)
        batch = sdk.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions",
                                   completion_window="24h", extra_body={**GEMINI, "model": MODEL})
    return _finished(sdk, batch.id)


@pytest.mark.parametrize("inline", [False, True], ids=["file", "inline"])
def test_every_declared_value_and_every_unconvertible_line_downloads_completely(sdk, fake, inline):
    """Done-when: every custom_id exactly once across the output and error files, normal lines intact."""
    scripted = {**declared_results(), **off_spec_results()}
    if inline:  # inline results are JSON objects in the batch itself: a line that is not JSON cannot occur
        del scripted["not-json"]
    fake.scripted.update(scripted)
    fake.unchecked.update(off_spec_results())  # beyond the SDK types on purpose; the rest is checked
    normal = [f"plain-{i}" for i in range(3)]
    batch = _run(sdk, fake, [_request(key) for key in [*normal, *scripted]], inline=inline)
    assert batch.status == "completed" and batch.output_file_id and batch.error_file_id

    output = _lines(sdk.files.content(batch.output_file_id).read())
    errors = _lines(sdk.files.content(batch.error_file_id).read())
    custom_ids = [line["custom_id"] for line in output + errors]
    assert len(custom_ids) == len(set(custom_ids))
    expected = set(normal) | set(scripted)
    if "not-json" in scripted:  # its key cannot be read: the line keeps its place as line-<number>
        number = len(normal) + list(scripted).index("not-json") + 1
        expected = expected - {"not-json"} | {f"line-{number}"}
    assert set(custom_ids) == expected
    assert all(batch_output.is_success(line) for line in output)
    assert not any(batch_output.is_success(line) for line in errors)

    by_id = {line["custom_id"]: line for line in output + errors}
    for key in normal:  # the fake's ordinary answers, intact
        body = by_id[key]["response"]["body"]
        assert body["choices"][0]["message"]["content"] == "Answer: Hello"
        assert body["choices"][0]["finish_reason"] == "stop" and body["choices"][0]["native_finish_reason"] == "STOP"
        assert by_id[key]["id"] == f"batch_req_resp-{key}"
    assert by_id["finish-MAX_TOKENS"]["response"]["body"]["choices"][0]["finish_reason"] == "length"
    assert by_id["call-STOP"]["response"]["body"]["choices"][0]["finish_reason"] == "tool_calls"
    assert by_id["blocked-JAILBREAK"]["response"]["body"]["choices"][0]["finish_reason"] == "content_filter"
    assert by_id["error-RESOURCE_EXHAUSTED"]["response"]["status_code"] == 429
    assert by_id["error-CANCELLED"]["error"]["code"] == batch_output.CANCELLED
    assert by_id["new-finish"]["response"]["body"]["choices"][0]["native_finish_reason"] == "BRAND_NEW_REASON"
    unconvertible = by_id["unconvertible"]["response"]
    assert unconvertible["status_code"] == 502 and unconvertible["body"]["provider_result"]["key" if not inline
                                                                                            else "metadata"]

    # The counts come from Gemini's batchStats: every line with a response counts as completed.
    assert batch.request_counts.total == len(normal) + len(scripted)
    assert sdk.files.retrieve(batch.output_file_id).purpose == "batch_output"


def test_a_results_download_that_breaks_upstream_fails_the_clients_read(sdk, make_fake):
    """After the first bytes went out, an upstream failure must break the client's read: the file is
    never a short body that looks complete."""
    fake = make_fake(break_downloads_after=1_500_000)  # past the first relay read (1 MiB)
    big = "x" * 100_000
    batch = _run(sdk, fake, [_request(f"r{i}", big) for i in range(30)], inline=False)
    with pytest.raises(openai.APIConnectionError) as caught:
        sdk.files.content(batch.output_file_id).read()
    # The 200 and the first chunks went out; the body then ends without its last chunk.
    assert isinstance(caught.value.__cause__, httpx.RemoteProtocolError)
    assert "incomplete chunked read" in str(caught.value.__cause__)

    fake.break_downloads_after = None  # the same download, whole
    assert len(_lines(sdk.files.content(batch.output_file_id).read())) == 30


def test_a_results_download_that_breaks_before_the_first_byte_is_an_error_status(sdk, make_fake):
    fake = make_fake(break_downloads_after=10)
    batch = _run(sdk, fake, [_request("r1")], inline=False)
    with pytest.raises(openai.APIStatusError) as caught:
        sdk.files.content(batch.output_file_id)
    assert caught.value.status_code == 502


def test_unknown_states_never_fail_a_retrieve_or_a_list(sdk, fake):
    batch = _run(sdk, fake, [_request("a"), _request("b")], inline=False)
    native = ids.decode_batch(batch.id).native
    stored = fake.batches[native]
    fake.unchecked.add(native)  # a state newer than google-genai
    stored["metadata"]["state"] = "BATCH_STATE_ARCHIVED"
    ended = sdk.batches.retrieve(batch.id)
    assert ended.status == "completed" and ended.output_file_id == batch.output_file_id
    assert len(_lines(sdk.files.content(ended.output_file_id).read())) == 2
    assert sdk.files.retrieve(ended.output_file_id).bytes > 0
    assert [b.status for b in sdk.batches.list(extra_query=GEMINI)] == ["completed"]


def test_an_unknown_state_of_a_batch_not_ended_reads_in_progress(sdk, make_fake):
    fake = make_fake(polls_until_running=100, polls_until_done=100)
    content = json.dumps(_request("a")).encode()
    uploaded = sdk.files.create(file=("in.jsonl", content, "application/jsonl"), purpose="batch", extra_body=GEMINI)
    batch = sdk.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h",
                               extra_body={**GEMINI, "model": MODEL})
    native = ids.decode_batch(batch.id).native
    fake.unchecked.add(native)
    fake.batches[native]["metadata"]["state"] = "BATCH_STATE_WAITING_FOR_CAPACITY"
    assert sdk.batches.retrieve(batch.id).status == "in_progress"
    assert [b.status for b in sdk.batches.list(extra_query=GEMINI)] == ["in_progress"]
    with pytest.raises(openai.NotFoundError):  # no results yet, and the answer says so
        sdk.files.content(ids.encode_file("gemini", native, "output"))


def test_unknown_file_state_never_fails_a_retrieve_or_a_list(sdk, fake):
    content = json.dumps(_request("a")).encode()
    uploaded = sdk.files.create(file=("in.jsonl", content, "application/jsonl"), purpose="batch", extra_body=GEMINI)
    native = ids.decode_file(uploaded.id).native
    fake.unchecked.add(native)
    fake.files[native]["state"] = "ARCHIVED"
    assert sdk.files.retrieve(uploaded.id).status == "uploaded"
    assert [f.status for f in sdk.files.list(extra_query=GEMINI)] == ["uploaded"]
