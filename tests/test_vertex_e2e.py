"""Vertex AI end to end through the real `openai` SDK (strict), against the Cloud Storage emulator and the
`batchPredictionJobs` fake: the seed workflow (upload, create, poll, download converted results)."""

from __future__ import annotations

import json

import openai
import pytest

from tests.fakes.vertex import BUCKET, MODEL

VERTEX = {"provider": "vertex"}


def _request(custom_id: str, text: str = "Hello") -> dict:
    return {"custom_id": custom_id, "method": "POST", "url": "/v1/chat/completions",
            "body": {"model": MODEL, "messages": [{"role": "user", "content": text}], "max_tokens": 100}}


def _lines(content: bytes) -> list[dict]:
    return [json.loads(line) for line in content.splitlines() if line.strip()]


def test_seed_workflow(sdk, vertex, gcs):
    """Upload, create, poll, download: every custom_id comes back, the failed one in the error file."""
    requests = [_request("req-1", "What is 2+2?"), _request("req-2", "What is the capital of France?"),
                _request("000123", "please FAIL")]
    jsonl_bytes = "".join(json.dumps(r) + "\n" for r in requests).encode()
    uploaded = sdk.files.create(file=("batch_e2e.jsonl", jsonl_bytes, "application/jsonl"), purpose="batch",
                                extra_body={**VERTEX, "storage_config": {"gcs": {"bucket": BUCKET,
                                                                                 "prefix": "batch-input"}}})
    assert uploaded.filename == "batch_e2e.jsonl" and uploaded.bytes == len(jsonl_bytes)
    batch = sdk.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h",
                               extra_body={**VERTEX, "model": MODEL})
    assert batch.status == "validating"
    for _ in range(10):
        batch = sdk.batches.retrieve(batch.id, extra_query=VERTEX)
        if batch.status in ("completed", "failed", "expired", "cancelled"):
            break
    assert batch.status == "completed", batch
    assert batch.request_counts.total == 3 and batch.request_counts.completed == 2
    assert batch.request_counts.failed == 1
    assert batch.input_file_id == uploaded.id
    output = _lines(sdk.files.content(batch.output_file_id).read())
    errors = _lines(sdk.files.content(batch.error_file_id).read())
    assert sorted(line["custom_id"] for line in output) == ["req-1", "req-2"]
    assert [line["custom_id"] for line in errors] == ["000123"]
    assert errors[0]["response"]["status_code"] == 400
    assert output[0]["response"]["body"]["choices"][0]["message"]["content"].startswith("Answer: ")
    assert sdk.files.content(uploaded.id).read() == jsonl_bytes


def test_the_contract_fixture_drives_a_whole_lifecycle(sdk, vertex_contract):
    """What tests/test_provider_contract.py does with every provider, through `vertex_contract`."""
    fake = vertex_contract
    provider = {"provider": fake.provider}
    lines = [_request(f"c-{n}") | {"body": {"model": fake.model, "messages": [{"role": "user", "content": "hi"}]}}
             for n in range(max(fake.min_lines, 3))]
    data = "".join(json.dumps(line) + "\n" for line in lines).encode()
    uploaded = sdk.files.create(file=("c.jsonl", data, "application/jsonl"), purpose="batch",
                                extra_body={**provider, **fake.upload_body})
    assert uploaded.id in [f.id for f in sdk.files.list(extra_query={**provider, **fake.query})]
    assert sdk.files.retrieve(uploaded.id, extra_query={**provider, **fake.query}).bytes == len(data)
    assert sdk.files.content(uploaded.id, extra_query={**provider, **fake.query}).read() == data
    fake.script.next_batch_has_an_unconvertible_line("c-1")
    batch = sdk.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h",
                               extra_body={**provider, **fake.create_body})
    fake.script.finish(batch.id)
    batch = sdk.batches.retrieve(batch.id, extra_query={**provider, **fake.query})
    assert batch.status == "completed"
    output = _lines(sdk.files.content(batch.output_file_id).read())
    errors = _lines(sdk.files.content(batch.error_file_id).read())
    assert sorted(line["custom_id"] for line in output) == ["c-0", "c-2"]
    assert [(e["custom_id"], e["response"]["body"]["error"]["code"]) for e in errors] == \
        [("c-1", "unconvertible_result")]
    with pytest.raises(openai.BadRequestError) as refused:
        sdk.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h",
                           extra_body={**provider, **fake.create_body, "output_s3_uri": "s3://b/o"})
    assert refused.value.body["code"] == "unsupported_parameter"
    assert sdk.files.delete(uploaded.id, extra_body={**provider, **fake.query}).deleted
    second = sdk.files.create(file=("c.jsonl", data, "application/jsonl"), purpose="batch",
                              extra_body={**provider, **fake.upload_body})
    running = sdk.batches.create(input_file_id=second.id, endpoint="/v1/chat/completions", completion_window="24h",
                                 extra_body={**provider, **fake.create_body})
    assert sdk.batches.cancel(running.id, extra_body={**provider, **fake.query}).status == "cancelling"
