"""Bedrock end to end through the real OpenAI SDK (strict): results holding every value the official
definitions declare, plus lines the gateway cannot convert, download completely; a result stream
that breaks fails the client's read; what Bedrock would refuse is a 400 before anything is written.

S3 is a moto server, the job control plane the loopback fake (tests/fakes/bedrock.py), which checks
every request, record and result against botocore's models and the anthropic SDK."""

from __future__ import annotations

import json
import typing

import httpx2 as httpx
import openai
import pytest
from anthropic.types import StopReason as ClaudeStopReason
from botocore.exceptions import ResponseStreamingError
from botocore.response import StreamingBody

from app import create_app
from blueprints.dispatcher import ids
from tests.contracts import botocore_shapes as shapes
from tests.fakes.bedrock import (
    BUCKET,
    CLAUDE_BLOCK_SAMPLES,
    CONVERSE_BLOCK_SAMPLES,
    REGION,
    claude_output,
    converse_output,
)
from translators import anthropic as anthropic_tr
from translators import batch_output
from translators import bedrock as tr


@pytest.fixture
def s3(bedrock_s3):
    return bedrock_s3


@pytest.fixture
def fake(bedrock_fake):
    return bedrock_fake

ROLE = "arn:aws:iam::123456789012:role/BedrockBatch"
CLAUDE = "anthropic.claude-3-sonnet-20240229-v1:0"
NOVA = "amazon.nova-lite-v1:0"
RUNTIME_ERRORS = shapes.exception_statuses("bedrock-runtime")


@pytest.fixture
def test_config(test_config):
    return {**test_config, "BEDROCK_REGION": REGION, "BEDROCK_MIN_RECORDS": 2, "BEDROCK_ROLE_ARN": ROLE,
            "BEDROCK_DEFAULT_BUCKET": "", "BEDROCK_DEFAULT_PREFIX": "deepintshield", "BEDROCK_ALLOWED_BUCKETS": []}


def storage(prefix: str = "batch-input") -> dict:
    return {"s3": {"bucket": BUCKET, "region": REGION, "prefix": prefix}}


def objects(s3, prefix: str = "") -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])]


def chat_line(custom_id: str, text: str, model: str) -> str:
    return json.dumps({"custom_id": custom_id, "method": "POST", "url": "/v1/chat/completions",
                       "body": {"model": model, "max_tokens": 64, "messages": [{"role": "user", "content": text}]}})


def run_batch(sdk, lines: list[str], **extra_body) -> openai.types.Batch:
    uploaded = sdk.files.create(file=("cases.jsonl", ("\n".join(lines) + "\n").encode(), "application/jsonl"),
                                purpose="batch", extra_body={"provider": "bedrock", "storage_config": storage()})
    batch = sdk.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h",
                               extra_body={"provider": "bedrock", **extra_body})
    while batch.status not in ("completed", "failed", "cancelled", "expired"):
        batch = sdk.batches.retrieve(batch.id)
    assert batch.status == "completed", batch.errors
    return batch


def download(sdk, file_id: str | None) -> list[dict]:
    if file_id is None:
        return []
    return [json.loads(line) for line in sdk.files.content(file_id).read().decode().splitlines()]


def scripted(fake, cases: dict[str, dict], model: str, plain: int = 3) -> list[str]:
    """Input lines for `cases` (custom_id -> scripted result) plus `plain` ordinary ones."""
    lines = []
    for number, (custom_id, result) in enumerate(cases.items()):
        text = f"case {number}"
        fake.script[text] = result
        lines.append(chat_line(custom_id, text, model))
    lines += [chat_line(f"plain/{n} ü", f"plain question {n}", model) for n in range(plain)]
    return lines


def assert_complete(batch, successes: list[dict], failures: list[dict], custom_ids: list[str]) -> None:
    """Every custom_id exactly once across the output and error files, each line in the right file."""
    seen = [line["custom_id"] for line in successes + failures]
    assert sorted(seen) == sorted(custom_ids) and len(seen) == len(set(seen))
    assert all(batch_output.is_success(line) for line in successes)
    assert not any(batch_output.is_success(line) for line in failures)
    assert batch.request_counts.total == len(custom_ids)


def assert_plain(successes: list[dict], count: int) -> None:
    plain = {line["custom_id"]: line for line in successes if line["custom_id"].startswith("plain/")}
    assert sorted(plain) == sorted(f"plain/{n} ü" for n in range(count))
    for custom_id, line in plain.items():
        choice = line["response"]["body"]["choices"][0]
        assert choice["message"]["content"] == f"echo: plain question {custom_id.split('/')[1].split()[0]}"
        assert choice["finish_reason"] == "stop"


# Done when: every declared value, plus lines that cannot be converted, download completely


def test_converse_results_with_every_declared_value_download_completely(sdk, fake):
    every_block = list(CONVERSE_BLOCK_SAMPLES.values())
    cases: dict[str, dict] = {f"stop {reason}": {"modelOutput": converse_output(every_block, reason)}
                              for reason in tr.CONVERSE_FINISH_REASONS}
    cases |= {f"error {code}": {"error": {"errorCode": code, "errorMessage": f"{code} happened"}}
              for code in RUNTIME_ERRORS}
    cases["error 429"] = {"error": {"errorCode": 429, "errorMessage": "slow down"}}
    cases["error unknown"] = {"error": {"errorCode": "BrandNewException", "errorMessage": "new"}}
    # Off spec on purpose: what a newer API could send (checked=False keeps the fake from flagging it).
    cases["future reason and block"] = {"checked": False, "modelOutput": converse_output(
        [{"text": "still here"}, {"hologram": {"depth": 3}}], "a_reason_from_next_year")}
    cases["unconvertible"] = {"checked": False, "modelOutput": {
        "output": {"image": {"format": "png"}}, "stopReason": "end_turn",
        "usage": {"inputTokens": 1, "outputTokens": 1, "totalTokens": 2}, "metrics": {"latencyMs": 1}}}
    lines = scripted(fake, cases, NOVA)
    batch = run_batch(sdk, lines)
    successes, failures = download(sdk, batch.output_file_id), download(sdk, batch.error_file_id)
    custom_ids = [json.loads(line)["custom_id"] for line in lines]
    assert_complete(batch, successes, failures, custom_ids)
    assert_plain(successes, 3)
    by_id = {line["custom_id"]: line for line in successes + failures}

    for reason, finish in tr.CONVERSE_FINISH_REASONS.items():
        body = by_id[f"stop {reason}"]["response"]["body"]
        assert body["model"] == NOVA and body["choices"][0]["finish_reason"] == finish
        assert body["choices"][0]["native_finish_reason"] == reason
        message = body["choices"][0]["message"]
        assert message["content"] == "hellocited"  # text, then the text of the citationsContent block
        assert [c["id"] for c in message["tool_calls"]] == ["tooluse_1"]
    future = by_id["future reason and block"]["response"]["body"]["choices"][0]
    assert future["message"]["content"] == "still here"
    assert (future["finish_reason"], future["native_finish_reason"]) == ("stop", "a_reason_from_next_year")
    for code, status in RUNTIME_ERRORS.items():
        response = by_id[f"error {code}"]["response"]
        assert response["status_code"] == status and response["body"]["error"]["code"] == code
    assert by_id["error 429"]["response"]["status_code"] == 429
    unknown = by_id["error unknown"]["response"]
    assert (unknown["status_code"], unknown["body"]["error"]["code"]) == (500, "BrandNewException")
    kept = by_id["unconvertible"]["response"]
    assert kept["status_code"] == 502 and kept["body"]["error"]["code"] == batch_output.UNCONVERTIBLE
    assert kept["body"]["provider_result"]["modelOutput"]["output"] == {"image": {"format": "png"}}
    assert kept["body"]["provider_result"]["recordId"].startswith("R")


def test_claude_results_with_every_declared_value_download_completely(sdk, fake):
    every_block = list(CLAUDE_BLOCK_SAMPLES.values())
    reasons = typing.get_args(ClaudeStopReason)
    cases: dict[str, dict] = {f"stop {reason}": {"modelOutput": claude_output(every_block, reason, f"msg_bdrk_{n}")}
                              for n, reason in enumerate(reasons)}
    cases |= {f"error {code}": {"error": {"errorCode": code, "errorMessage": "m"}} for code in RUNTIME_ERRORS}
    cases["error 400"] = {"error": {"errorCode": 400, "errorMessage": "Malformed input request"}}
    # A body no Claude Message looks like (a Llama reply): off spec on purpose, kept in the error file.
    cases["unconvertible"] = {"checked": False, "modelOutput": {"generation": "llama text", "stop_reason": "stop"}}
    lines = scripted(fake, cases, CLAUDE)
    batch = run_batch(sdk, lines, model=CLAUDE)
    successes, failures = download(sdk, batch.output_file_id), download(sdk, batch.error_file_id)
    custom_ids = [json.loads(line)["custom_id"] for line in lines]
    assert_complete(batch, successes, failures, custom_ids)
    assert_plain(successes, 3)
    by_id = {line["custom_id"]: line for line in successes + failures}
    for n, reason in enumerate(reasons):
        line = by_id[f"stop {reason}"]
        assert line["response"]["request_id"] == f"msg_bdrk_{n}"
        choice = line["response"]["body"]["choices"][0]
        assert choice["finish_reason"] == anthropic_tr.FINISH_REASONS[reason]
        assert choice["message"]["content"] == CLAUDE_BLOCK_SAMPLES["text"]["text"]
        assert choice["message"]["tool_calls"][0]["id"] == CLAUDE_BLOCK_SAMPLES["tool_use"]["id"]
    for code, status in RUNTIME_ERRORS.items():
        assert by_id[f"error {code}"]["response"]["status_code"] == status
    assert by_id["unconvertible"]["response"]["body"]["error"]["code"] == batch_output.UNCONVERTIBLE
    # The records Bedrock was given are what the anthropic SDK takes (the fake checked each one).
    (_, create), = [c for c in fake.calls if c[0] == "create"]
    assert create["modelInvocationType"] == "InvokeModel"


# custom_ids without gateway state


def test_results_keep_their_record_ids_when_the_sidecar_is_gone(sdk, fake, s3):
    lines = [chat_line(f"q{n}", f"question {n}", NOVA) for n in range(3)]
    batch = run_batch(sdk, lines)
    (sidecar,) = [key for key in objects(s3, "batch-input/_bedrock/") if "/ids/" in key]
    s3.delete_object(Bucket=BUCKET, Key=sidecar)
    successes = download(sdk, batch.output_file_id)
    assert sorted(line["custom_id"] for line in successes) == ["R0000000001", "R0000000002", "R0000000003"]


def test_a_file_in_bedrock_format_keeps_its_record_ids(sdk, fake):
    records = "".join(json.dumps({"recordId": f"CALL{n:07d}", "modelInput": {
        "messages": [{"role": "user", "content": [{"text": f"hi {n}"}]}]}}) + "\n" for n in range(3))
    uploaded = sdk.files.create(file=("native.jsonl", records.encode()), purpose="batch",
                                extra_body={"provider": "bedrock", "storage_config": storage()})
    batch = sdk.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h",
                               extra_body={"provider": "bedrock", "model": NOVA})
    while batch.status != "completed":
        batch = sdk.batches.retrieve(batch.id)
    successes = download(sdk, batch.output_file_id)
    assert sorted(line["custom_id"] for line in successes) == [f"CALL{n:07d}" for n in range(3)]


def test_record_ids_outside_the_strictest_reading_are_a_400_at_upload(sdk, fake, s3):
    records = json.dumps({"recordId": "r1", "modelInput": {"messages": []}}) + "\n"
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.files.create(file=("native.jsonl", records.encode()), purpose="batch",
                         extra_body={"provider": "bedrock", "storage_config": storage()})
    assert caught.value.param == "line 1: recordId" and "11 character" in caught.value.message
    assert objects(s3) == []


# Job statuses a newer API may add


def test_an_unknown_job_status_reads_by_its_end_time(sdk, fake):
    batch = run_batch(sdk, [chat_line(f"q{n}", f"question {n}", NOVA) for n in range(2)])
    job_id = ids.decode_batch(batch.id).native.rsplit("/", 1)[1]
    fake.future_status[job_id] = "Archived"  # ended (it has an endTime): completed, results offered
    again = sdk.batches.retrieve(batch.id)
    assert again.status == "completed" and again.output_file_id == batch.output_file_id
    assert len(download(sdk, again.output_file_id)) == 2
    assert [b.status for b in sdk.batches.list(extra_query={"provider": "bedrock"}).data] == ["completed"]

    fake.polls_per_step = 100
    running = sdk.batches.create(input_file_id=batch.input_file_id, endpoint="/v1/chat/completions",
                                 completion_window="24h", metadata={"run": "2"}, extra_body={"provider": "bedrock"})
    fake.future_status[ids.decode_batch(running.id).native.rsplit("/", 1)[1]] = "Paused"  # no endTime yet
    running = sdk.batches.retrieve(running.id)
    assert running.status == "in_progress" and running.output_file_id is None


# A result stream that breaks


def breaking_reads(monkeypatch, after: int) -> None:
    """Every S3 body read from now on breaks once more than `after` bytes of it were read."""
    original = StreamingBody.read

    def read(self, amt=None):
        data = original(self, amt)
        self.read_so_far = getattr(self, "read_so_far", 0) + len(data)
        if self.read_so_far > after:
            raise ResponseStreamingError(error="Connection reset by peer (test)")
        return data

    monkeypatch.setattr(StreamingBody, "read", read)


def test_a_result_stream_that_breaks_midway_fails_the_clients_read(sdk, fake, monkeypatch):
    text = "x" * 4000
    lines = [chat_line(f"q{n}", f"{text} {n}", NOVA) for n in range(400)]  # ~3 MB of results
    batch = run_batch(sdk, lines)
    breaking_reads(monkeypatch, after=1024 * 1024)  # the first S3 chunk comes through, the second breaks
    with sdk.files.with_streaming_response.content(batch.output_file_id) as response:
        assert response.status_code == 200  # bytes were already on their way
        with pytest.raises((httpx.HTTPError, openai.APIConnectionError)):
            response.read()


def test_a_result_stream_that_breaks_before_the_first_byte_is_an_error_status(sdk, fake, monkeypatch):
    batch = run_batch(sdk, [chat_line(f"q{n}", f"question {n}", NOVA) for n in range(2)])
    breaking_reads(monkeypatch, after=0)
    with pytest.raises(openai.InternalServerError) as caught:
        sdk.files.content(batch.output_file_id)
    assert caught.value.status_code == 502


# Requests Bedrock takes, or a 400 before anything is written


def test_structured_output_and_documents_reach_converse_as_botocore_shapes_them(sdk, fake, s3):
    schema = {"type": "object", "properties": {"answer": {"type": "string"}}}
    body = {"model": NOVA, "max_tokens": 50,
            "response_format": {"type": "json_schema", "json_schema": {"name": "reply", "schema": schema}},
            "messages": [{"role": "user", "content": [
                {"type": "file", "file": {"filename": "a.txt", "file_data": "aGVsbG8="}},
                {"type": "text", "text": "Answer in JSON."}]}]}
    lines = [json.dumps({"custom_id": f"s{n}", "method": "POST", "url": "/v1/chat/completions", "body": body})
             for n in range(2)]
    batch = run_batch(sdk, lines)
    assert len(download(sdk, batch.output_file_id)) == 2  # the fake checked each record against ConverseRequest
    (_, create), = [c for c in fake.calls if c[0] == "create"]
    key = create["inputDataConfig"]["s3InputDataConfig"]["s3Uri"].split("/", 3)[3]
    record = json.loads(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().splitlines()[0])
    assert record["modelInput"]["outputConfig"]["textFormat"]["structure"]["jsonSchema"]["name"] == "reply"
    assert record["modelInput"]["messages"][0]["content"][0]["document"]["source"] == {"text": "hello"}


@pytest.mark.parametrize("prefix", ["a+b", "x=1", "team,a", "me@corp", "a//b"])
def test_a_prefix_bedrock_cannot_read_is_a_400_before_any_write(sdk, fake, s3, prefix):
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.files.create(file=("in.jsonl", chat_line("a", "b", NOVA).encode()), purpose="batch",
                         extra_body={"provider": "bedrock", "storage_config": storage(prefix)})
    assert caught.value.param == "storage_config.s3.prefix" and caught.value.code == "invalid_s3_uri"
    assert objects(s3) == []


def test_an_output_uri_bedrock_cannot_write_is_a_400_before_any_write(sdk, fake, s3):
    uploaded = sdk.files.create(file=("in.jsonl", "\n".join(chat_line(f"q{n}", "x", NOVA) for n in range(2)).encode()),
                                purpose="batch", extra_body={"provider": "bedrock", "storage_config": storage()})
    for uri in (f"s3://{BUCKET}/out//x", f"s3://{BUCKET}/out+1/"):
        with pytest.raises(openai.BadRequestError) as caught:
            sdk.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h",
                               extra_body={"provider": "bedrock", "output_s3_uri": uri})
        assert caught.value.param == "output_s3_uri"
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h",
                           extra_body={"provider": "bedrock", "model": "not a model!"})
    assert caught.value.param == "model"
    assert fake.calls == [] and len(objects(s3)) == 1


@pytest.mark.parametrize("setting, variable", [
    ({"BEDROCK_DEFAULT_PREFIX": "batch+input"}, "DEEPINTSHIELD_BEDROCK_PREFIX"),
    ({"BEDROCK_DEFAULT_PREFIX": "p" * 900}, "DEEPINTSHIELD_BEDROCK_PREFIX"),
    ({"BEDROCK_DEFAULT_BUCKET": "My_Bucket"}, "DEEPINTSHIELD_BEDROCK_BUCKET"),
])
def test_startup_refuses_a_default_location_bedrock_cannot_use(test_config, setting, variable):
    with pytest.raises(ValueError, match=variable):
        create_app({**test_config, **setting})


def test_the_seed_location_starts(test_config):
    create_app({**test_config, "BEDROCK_DEFAULT_BUCKET": "your-s3-bucket", "BEDROCK_DEFAULT_PREFIX": "batch-input"})


@pytest.mark.parametrize("prefix", ["../x", "a/./b", ".."])
def test_a_prefix_with_dot_segments_is_a_400_before_any_write(sdk, fake, s3, prefix):
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.files.create(file=("in.jsonl", b'{"recordId": "R0000000001", "modelInput": {}}\n'), purpose="batch",
                         extra_body={"provider": "bedrock", "storage_config": storage(prefix)})
    assert caught.value.param == "storage_config.s3.prefix"
    assert objects(s3) == []
