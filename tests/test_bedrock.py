"""Bedrock through the gateway: Flask test-client tests and end-to-end runs of the seed's Bedrock
snippets with the real OpenAI SDK (strict), S3 in a moto server and the job control plane in the
loopback fake (tests/fakes/bedrock.py), both reached through boto3's AWS_ENDPOINT_URL_* variables."""

from __future__ import annotations

import json
import time

import openai
import pytest

from blueprints.dispatcher import ids
from tests import seed
from tests.fakes.bedrock import BUCKET, OTHER_BUCKET, REGION

ROLE = "arn:aws:iam::123456789012:role/BedrockBatch"
CLAUDE = "anthropic.claude-3-sonnet-20240229-v1:0"
NOVA = "amazon.nova-lite-v1:0"

SEED_JSONL = '''{"custom_id": "req-1", "method": "POST", "url": "/v1/chat/completions", "body": {"model": "anthropic.claude-3-sonnet-20240229-v1:0", "messages": [{"role": "user", "content": "What is 2+2?"}], "max_tokens": 100}}
{"custom_id": "req-2", "method": "POST", "url": "/v1/chat/completions", "body": {"model": "anthropic.claude-3-sonnet-20240229-v1:0", "messages": [{"role": "user", "content": "What is the capital of France?"}], "max_tokens": 100}}'''  # noqa: E501


def chat_lines(count: int, model: str = CLAUDE, fail: tuple[int, ...] = ()) -> str:
    lines = []
    for n in range(count):
        text = f"question {n}" + (" FAIL" if n in fail else "")
        lines.append(json.dumps({"custom_id": f"req-{n}", "method": "POST", "url": "/v1/chat/completions",
                                 "body": {"model": model, "max_tokens": 50,
                                          "messages": [{"role": "system", "content": "Be terse."},
                                                       {"role": "user", "content": text}]}}))
    return "\n".join(lines) + "\n"




@pytest.fixture
def s3(bedrock_s3):
    return bedrock_s3


@pytest.fixture
def fake(bedrock_fake):
    return bedrock_fake


@pytest.fixture
def test_config(test_config):
    return {**test_config, "BEDROCK_REGION": REGION, "BEDROCK_MIN_RECORDS": 2, "BEDROCK_ROLE_ARN": ROLE,
            "BEDROCK_DEFAULT_BUCKET": "", "BEDROCK_DEFAULT_PREFIX": "deepintshield", "BEDROCK_ALLOWED_BUCKETS": []}


def storage(prefix: str = "batch-input", bucket: str = BUCKET) -> dict:
    return {"s3": {"bucket": bucket, "region": REGION, "prefix": prefix}}


def upload(sdk, content: str, name: str = "batch_e2e.jsonl", prefix: str = "batch-input"):
    return sdk.files.create(file=(name, content.encode(), "application/jsonl"), purpose="batch",
                            extra_body={"provider": "bedrock", "storage_config": storage(prefix)})


def objects(s3, prefix: str = "") -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])]


# The seed's snippets, as written


def test_seed_files_snippets(sdk, fake, s3):
    uploaded = upload(sdk, SEED_JSONL)
    assert uploaded.filename == "batch_e2e.jsonl" and uploaded.bytes == len(SEED_JSONL.encode())
    assert uploaded.purpose == "batch" and uploaded.status == "processed"
    (key,) = objects(s3, "batch-input/")
    assert ids.decode_file(uploaded.id).native == f"{REGION}/{BUCKET}/{key}"
    assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == SEED_JSONL.encode()

    # For Bedrock (requires S3 config)
    response = sdk.files.list(
        extra_query={
            "provider": "bedrock",
            "storage_config": {
                "s3": {
                    "bucket": BUCKET,
                    "region": "us-west-2",
                    "prefix": "batch-input",
                },
            },
        }
    )
    assert [(f.id, f.filename) for f in response.data] == [(uploaded.id, "batch_e2e.jsonl")]

    file_id = uploaded.id
    response = sdk.files.retrieve(
        file_id,
        extra_query={"provider": "bedrock"}
    )
    assert (response.id, response.filename, response.purpose, response.bytes) == (
        file_id, "batch_e2e.jsonl", "batch", len(SEED_JSONL.encode()))

    response = sdk.files.content(
        file_id,
        extra_query={"provider": "bedrock"}
    )
    content = response.read() if hasattr(response, "read") else response.content
    assert content.decode("utf-8") == SEED_JSONL

    response = sdk.files.delete(
        file_id,
        extra_query={"provider": "bedrock"}
    )
    assert response.deleted is True and response.id == file_id
    assert objects(s3, "batch-input/") == []
    with pytest.raises(openai.NotFoundError):
        sdk.files.retrieve(file_id, extra_query={"provider": "bedrock"})


def test_seed_batch_workflow_with_results(gateway, fake, s3, capsys):
    scope = seed.run("bedrock", gateway, strict=True)  # the document's snippet, as written
    client, batch, uploaded_file = scope["client"], scope["batch"], scope["uploaded_file"]
    provider, model = scope["provider"], scope["model"]
    out = capsys.readouterr().out
    assert "Poll 1: status = in_progress" in out and "workflow completed" in out
    assert batch.status == "completed" and batch.model == model
    assert batch.input_file_id == uploaded_file.id and batch.endpoint == "/v1/chat/completions"
    assert (batch.request_counts.total, batch.request_counts.completed, batch.request_counts.failed) == (2, 2, 0)
    # Both files once there are results: only reading them tells whether a line could not be converted.
    assert batch.output_file_id and batch.error_file_id and batch.completed_at >= batch.created_at

    # What Bedrock was given: Claude records next to the input, results under output_s3_uri/<jobId>/.
    (_, create), = [c for c in fake.calls if c[0] == "create"]
    assert create["modelInvocationType"] == "InvokeModel" and create["modelId"] == model
    assert create["outputDataConfig"]["s3OutputDataConfig"]["s3Uri"] == f"s3://{BUCKET}/batch-output"
    input_key = create["inputDataConfig"]["s3InputDataConfig"]["s3Uri"].split("/", 3)[3]
    assert input_key.startswith("batch-input/_bedrock/") and input_key.endswith("-batch_e2e.jsonl")
    records = [json.loads(line) for line in s3.get_object(Bucket=BUCKET, Key=input_key)["Body"].iter_lines()]
    assert records[0] == {"recordId": "R0000000001", "modelInput": {
        "anthropic_version": "bedrock-2023-05-31", "max_tokens": 100,
        "messages": [{"role": "user", "content": "What is 2+2?"}]}}
    assert [r["recordId"] for r in records] == ["R0000000001", "R0000000002"]
    # The client's custom_ids, in record order, beside the records (not under the input key as a prefix).
    folder, name = input_key.rsplit("/", 1)
    sidecar = s3.get_object(Bucket=BUCKET, Key=f"{folder}/ids/{name}")["Body"].read()
    assert sidecar == b'"req-1"\n"req-2"\n'
    job_id = ids.decode_batch(batch.id).native.rsplit("/", 1)[1]
    assert f"batch-output/{job_id}/manifest.json.out" in objects(s3, "batch-output/")

    content = client.files.content(batch.output_file_id, extra_query={"provider": provider}).read().decode()
    lines = [json.loads(line) for line in content.splitlines()]
    assert sorted(line["custom_id"] for line in lines) == ["req-1", "req-2"]
    for line in lines:
        assert line["error"] is None and line["response"]["status_code"] == 200
        assert line["id"] == "batch_req_" + line["response"]["request_id"]
        body = line["response"]["body"]
        assert body["object"] == "chat.completion" and body["choices"][0]["finish_reason"] == "stop"
        assert body["choices"][0]["message"]["content"].startswith("echo: What is")
        assert body["usage"]["total_tokens"] == body["usage"]["prompt_tokens"] + body["usage"]["completion_tokens"]
    # The snippet's last retrieve: usage summed from what the fake answered (README "Usage and cost")
    assert batch.usage.input_tokens == sum(line["response"]["body"]["usage"]["prompt_tokens"] for line in lines) > 0
    assert batch.usage.output_tokens == sum(line["response"]["body"]["usage"]["completion_tokens"] for line in lines)

    output_file = client.files.retrieve(batch.output_file_id, extra_query={"provider": provider})
    assert output_file.purpose == "batch_output" and output_file.bytes == len(content.encode())


def test_converse_model_with_failed_records_and_manifest_counts(sdk, fake, s3):
    fake.report_counts = False  # counts come from manifest.json.out
    uploaded = upload(sdk, chat_lines(4, NOVA, fail=(2,)))
    batch = sdk.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h",
                               metadata={"team": "search", "note": "nightly run #3, ok?"},
                               extra_body={"provider": "bedrock"})  # model from the lines, default output
    assert batch.model == NOVA and batch.metadata == {"team": "search", "note": "nightly run #3, ok?"}
    (_, create), = [c for c in fake.calls if c[0] == "create"]
    assert create["modelInvocationType"] == "Converse"
    assert create["outputDataConfig"]["s3OutputDataConfig"]["s3Uri"] == f"s3://{BUCKET}/batch-input/batch-output/"
    assert {"key": "ds-meta:team", "value": "search"} in create["tags"]
    while batch.status not in ("completed", "failed"):
        batch = sdk.batches.retrieve(batch.id, extra_query={"provider": "bedrock"})
    assert batch.status == "completed", batch.errors
    assert batch.metadata == {"team": "search", "note": "nightly run #3, ok?"}
    assert (batch.request_counts.total, batch.request_counts.completed, batch.request_counts.failed) == (4, 3, 1)
    assert batch.error_file_id

    output = sdk.files.content(batch.output_file_id).read().decode()  # provider comes from the ID
    successes = [json.loads(line) for line in output.splitlines()]
    assert sorted(s["custom_id"] for s in successes) == ["req-0", "req-1", "req-3"]
    body = successes[0]["response"]["body"]
    assert body["model"] == NOVA
    assert body["choices"][0]["message"]["content"] == f"echo: question {successes[0]['custom_id'][4:]}"
    errors = [json.loads(line) for line in sdk.files.content(batch.error_file_id).read().decode().splitlines()]
    assert len(errors) == 1 and errors[0]["custom_id"] == "req-2"
    assert errors[0]["response"]["status_code"] == 400
    assert "FAIL" in errors[0]["response"]["body"]["error"]["message"]


def test_file_already_in_bedrock_format_goes_through_untouched(sdk, fake, s3):
    records = "".join(json.dumps({"recordId": f"CALL{n:07d}", "modelInput": {
        "messages": [{"role": "user", "content": [{"text": f"hi {n}"}]}]}}) + "\n" for n in range(3))
    uploaded = upload(sdk, records, name="native.jsonl")
    batch = sdk.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h",
                               extra_body={"provider": "bedrock", "model": NOVA})
    (_, create), = [c for c in fake.calls if c[0] == "create"]
    uploaded_key = ids.decode_file(uploaded.id).native.split("/", 2)[2]
    assert create["inputDataConfig"]["s3InputDataConfig"]["s3Uri"] == f"s3://{BUCKET}/{uploaded_key}"
    assert create["modelInvocationType"] == "Converse"
    assert objects(s3, "batch-input/") == [uploaded_key]  # nothing converted or written
    assert batch.input_file_id == uploaded.id


def test_create_retry_returns_the_same_job(sdk, fake):
    uploaded = upload(sdk, SEED_JSONL)
    args = dict(input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h",
                extra_body={"provider": "bedrock", "model": CLAUDE})
    first = sdk.batches.create(**args)
    again = sdk.batches.create(**args)
    assert again.id == first.id and len(fake.jobs) == 1
    creates = [c for _, c in fake.calls if _ == "create"]
    assert creates[0]["clientRequestToken"] == creates[1]["clientRequestToken"]
    other = sdk.batches.create(**{**args, "metadata": {"run": "2"}})
    assert other.id != first.id and len(fake.jobs) == 2


def test_cancel(sdk, fake):
    fake.polls_per_step = 100  # stays Submitted until stopped
    batch = sdk.batches.create(input_file_id=upload(sdk, chat_lines(4)).id, endpoint="/v1/chat/completions",
                               completion_window="24h", extra_body={"provider": "bedrock"})
    cancelled = sdk.batches.cancel(batch.id, extra_body={"provider": "bedrock"})
    assert cancelled.id == batch.id and cancelled.status == "cancelling" and cancelled.cancelling_at
    again = sdk.batches.cancel(batch.id, extra_query={"provider": "bedrock"})
    assert again.status in ("cancelling", "cancelled")


def test_stopped_job_has_partial_results(sdk, fake):
    batch = sdk.batches.create(input_file_id=upload(sdk, chat_lines(4)).id, endpoint="/v1/chat/completions",
                               completion_window="24h", extra_body={"provider": "bedrock"})
    batch = sdk.batches.retrieve(batch.id)  # -> InProgress
    assert batch.status == "in_progress" and batch.output_file_id is None
    batch = sdk.batches.cancel(batch.id)
    while batch.status == "cancelling":
        batch = sdk.batches.retrieve(batch.id)  # Stopping -> Stopped: half the records ran
    assert batch.status == "cancelled" and batch.cancelled_at
    assert (batch.request_counts.total, batch.request_counts.completed) == (4, 2) and batch.error_file_id
    assert sdk.files.content(batch.error_file_id).read() == b""  # offered, and empty: nothing failed
    lines = sdk.files.content(batch.output_file_id).read().decode().splitlines()
    assert len(lines) == 2


def test_list_batches_paginates_and_filters_by_model(sdk, fake):
    created = []
    for n in range(5):
        model = CLAUDE if n % 2 == 0 else NOVA
        created.append(sdk.batches.create(
            input_file_id=upload(sdk, chat_lines(2, model), name=f"in{n}.jsonl").id, endpoint="/v1/chat/completions",
            completion_window="24h", metadata={"n": str(n)}, extra_body={"provider": "bedrock"}))
    newest_first = [b.id for b in reversed(created)]

    page = sdk.batches.list(limit=2, extra_query={"provider": "bedrock"})
    assert [b.id for b in page.data] == newest_first[:2] and page.has_more
    assert [b.id for b in sdk.batches.list(limit=2, extra_query={"provider": "bedrock"})] == newest_first
    assert all(b.metadata and b.input_file_id.startswith("file-dsbf_") for b in page.data)

    claude = [b.id for b in sdk.batches.list(limit=1, extra_query={"provider": "bedrock", "model": CLAUDE})]
    assert claude == [b.id for b in reversed(created) if b.model == CLAUDE] and len(claude) == 3


def test_below_the_minimum_records_the_gateway_runs_the_batch_on_bedrock_runtime(sdk, fake, app, s3, gateway_worker):
    app.config["BEDROCK_MIN_RECORDS"] = 100
    uploaded = upload(sdk, chat_lines(3, fail=(1,)))
    batch = sdk.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h",
                               extra_body={"provider": "bedrock"})
    for _ in range(200):
        if batch.status in ("completed", "failed", "expired", "cancelled"):
            break
        time.sleep(0.05)
        batch = sdk.batches.retrieve(batch.id, extra_query={"provider": "bedrock"})
    assert batch.status == "completed" and (batch.request_counts.completed, batch.request_counts.failed) == (2, 1)
    # no job: one InvokeModel per line (Claude), nothing written beside the upload
    assert [operation for operation, _ in fake.calls] == ["invoke"] * 3
    assert len(objects(s3, "batch-input/")) == 1
    query = {"provider": "bedrock"}
    output = [json.loads(line) for line in sdk.files.content(batch.output_file_id, extra_query=query).text.splitlines()]
    errors = [json.loads(line) for line in sdk.files.content(batch.error_file_id, extra_query=query).text.splitlines()]
    assert [line["custom_id"] for line in output] == ["req-0", "req-2"]
    assert output[0]["response"]["body"]["choices"][0]["message"]["content"] == "echo: question 0"
    assert output[0]["response"]["request_id"].startswith("fake-")  # bedrock-runtime's x-amzn-RequestId
    (failed,) = errors
    assert failed["custom_id"] == "req-1" and failed["response"]["status_code"] == 400


def test_more_records_than_the_cap_is_a_400_at_upload(sdk, fake, app, s3):
    app.config["BEDROCK_MAX_RECORDS"] = 2
    with pytest.raises(openai.BadRequestError) as caught:
        upload(sdk, chat_lines(3))
    assert "Line 3 is request 3" in caught.value.message and caught.value.code == "too_many_requests"
    assert objects(s3, "batch-input/") == []


def test_disallowed_bucket_is_403_without_s3_calls(sdk, fake, app, s3, monkeypatch):
    app.config["BEDROCK_ALLOWED_BUCKETS"] = [BUCKET]
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9")  # any S3 call would now fail with 502
    with pytest.raises(openai.PermissionDeniedError) as caught:
        sdk.files.create(file=("x.jsonl", SEED_JSONL.encode()), purpose="batch",
                         extra_body={"provider": "bedrock", "storage_config": storage(bucket=OTHER_BUCKET)})
    assert caught.value.code == "bucket_not_allowed"
    other_id = ids.encode_file("bedrock", f"{REGION}/{OTHER_BUCKET}/batch-input/x.jsonl")
    other_storage = {"provider": "bedrock", "storage_config": storage(bucket=OTHER_BUCKET)}
    for call in (lambda: sdk.files.retrieve(other_id), lambda: sdk.files.content(other_id),
                 lambda: sdk.files.delete(other_id), lambda: sdk.files.list(extra_query=other_storage),
                 lambda: sdk.batches.create(input_file_id=other_id, endpoint="/v1/chat/completions",
                                            completion_window="24h", extra_body={"provider": "bedrock"})):
        with pytest.raises(openai.PermissionDeniedError):
            call()


def test_output_bucket_outside_allow_list_is_403(sdk, fake, app):
    uploaded = upload(sdk, SEED_JSONL)
    app.config["BEDROCK_ALLOWED_BUCKETS"] = [BUCKET]
    with pytest.raises(openai.PermissionDeniedError):
        sdk.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h",
                           extra_body={"provider": "bedrock", "output_s3_uri": f"s3://{OTHER_BUCKET}/out"})
    assert fake.calls == []


@pytest.mark.parametrize("content, fragment", [
    ('{"custom_id": "a", "method": "POST", "url": "/v1/chat/completions", "body": {}}\n{not json}\n', "Line 2"),
    ('{"custom_id": "a", "method": "POST", "url": "/v1/embeddings", "body": {}}\n', "Line 1"),
    ('{"key": "a", "request": {}}\n', "Line 1"),
    ("", "no request lines"),
])
def test_malformed_jsonl_upload_is_a_400_and_writes_nothing(sdk, fake, s3, content, fragment):
    with pytest.raises(openai.BadRequestError) as caught:
        upload(sdk, content)
    assert fragment in caught.value.message
    assert objects(s3) == []


def test_bad_line_found_on_create_names_it(sdk, fake, s3):
    lines = chat_lines(2) + json.dumps({"custom_id": "x", "method": "POST", "url": "/v1/chat/completions",
                                        "body": {"model": CLAUDE, "messages": [], "max_tokens": 5}}) + "\n"
    uploaded = upload(sdk, lines)
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h",
                           extra_body={"provider": "bedrock"})
    assert "Line 3" in caught.value.message and "messages" in caught.value.message
    assert fake.calls == []


def test_mixed_models_without_model_param_is_a_400(sdk, fake):
    uploaded = upload(sdk, chat_lines(2, CLAUDE) + chat_lines(1, NOVA).replace("req-0", "req-9"))
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h",
                           extra_body={"provider": "bedrock"})
    assert "Line 3" in caught.value.message and fake.calls == []


def test_results_of_running_batch_are_404(sdk, fake):
    fake.polls_per_step = 100
    batch = sdk.batches.create(input_file_id=upload(sdk, SEED_JSONL).id, endpoint="/v1/chat/completions",
                               completion_window="24h", extra_body={"provider": "bedrock"})
    output_id = ids.encode_file("bedrock", ids.decode_batch(batch.id).native, "output")
    with pytest.raises(openai.NotFoundError):
        sdk.files.content(output_id)


def test_failed_job_reports_bedrock_message(sdk, fake):
    fake.min_records = 10  # Bedrock's own quota is stricter than the gateway's check
    batch = sdk.batches.create(input_file_id=upload(sdk, SEED_JSONL).id, endpoint="/v1/chat/completions",
                               completion_window="24h", extra_body={"provider": "bedrock"})
    batch = sdk.batches.retrieve(batch.id)
    assert batch.status == "failed" and batch.failed_at and batch.output_file_id is None
    assert "minimum is 10" in batch.errors.data[0].message


def test_unknown_batch_is_404(sdk, fake):
    missing = ids.encode_batch("bedrock", f"arn:aws:bedrock:{REGION}:123456789012:model-invocation-job/abcdefabcdef")
    with pytest.raises(openai.NotFoundError):
        sdk.batches.retrieve(missing)


def test_files_list_pages_with_after(sdk, fake):
    uploaded = [upload(sdk, SEED_JSONL, name=f"f{n}.jsonl") for n in range(3)]
    query = {"provider": "bedrock", "storage_config": storage()}
    page = sdk.files.list(limit=2, extra_query=query)
    assert [f.id for f in page.data] == [u.id for u in reversed(uploaded)][:2] and page.has_more
    assert [f.filename for f in sdk.files.list(limit=2, extra_query=query)] == ["f2.jsonl", "f1.jsonl", "f0.jsonl"]


# Flask test client: rules that need no SDK


def test_role_is_required(client, fake, app, s3):
    app.config["BEDROCK_ROLE_ARN"] = ""
    # enough records for a job (a smaller batch is run by the gateway, which needs no role)
    s3.put_object(Bucket=BUCKET, Key="batch-input/x.jsonl", Body=chat_lines(2).encode())
    file_id = ids.encode_file("bedrock", f"{REGION}/{BUCKET}/batch-input/x.jsonl")
    reply = client.post("/openai/batches", json={"input_file_id": file_id, "endpoint": "/v1/chat/completions",
                                                 "completion_window": "24h", "provider": "bedrock"})
    assert reply.status_code == 400 and reply.json["error"]["param"] == "role_arn"


def test_storage_is_required_without_default_bucket(client, fake):
    reply = client.get("/openai/files", query_string={"provider": "bedrock"})
    assert reply.status_code == 400 and reply.json["error"]["param"] == "storage_config"


def test_default_bucket_and_prefix(client, fake, app, s3):
    app.config["BEDROCK_DEFAULT_BUCKET"] = BUCKET
    reply = client.post("/openai/files", data={"purpose": "batch", "provider": "bedrock",
                                               "file": (__import__("io").BytesIO(SEED_JSONL.encode()), "a b.jsonl")})
    assert reply.status_code == 200, reply.json
    (key,) = objects(s3)
    assert key.startswith("deepintshield/") and key.endswith("-a-b.jsonl") and reply.json["filename"] == "a-b.jsonl"


def test_non_loopback_client_is_refused_without_gateway_keys(client, fake):
    reply = client.get("/openai/files", query_string={"provider": "bedrock"}, environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert reply.status_code == 401 and reply.json["error"]["code"] == "loopback_only"
    reply = client.get("/openai/files", query_string={"provider": "bedrock"}, environ_base={"REMOTE_ADDR": "::1"})
    assert reply.status_code == 400  # passed the guard (then: no storage_config)


def test_non_loopback_client_with_gateway_key_is_served(client, fake, app):
    app.config["API_KEYS"] = ["gw-key"]
    reply = client.get("/openai/files", query_string={"provider": "bedrock"}, environ_base={"REMOTE_ADDR": "10.1.2.3"},
                       headers={"Authorization": "Bearer gw-key"})
    assert reply.status_code == 400 and reply.json["error"]["param"] == "storage_config"


def test_output_files_cannot_be_deleted(client, fake):
    arn = f"arn:aws:bedrock:{REGION}:123456789012:model-invocation-job/abcdefabcdef"
    reply = client.delete(f"/openai/files/{ids.encode_file('bedrock', arn, 'output')}")
    assert reply.status_code == 400


def test_inline_requests_and_other_endpoints_are_400(client, fake):
    file_id = ids.encode_file("bedrock", f"{REGION}/{BUCKET}/batch-input/x.jsonl")
    base = {"input_file_id": file_id, "completion_window": "24h", "provider": "bedrock"}
    reply = client.post("/openai/batches", json={**base, "endpoint": "/v1/moderations"})
    assert reply.status_code == 400 and reply.json["error"]["param"] == "endpoint"
    reply = client.post("/openai/batches", json={**base, "endpoint": "/v1/chat/completions", "requests": [{"a": 1}]})
    assert reply.status_code == 400 and reply.json["error"]["param"] == "requests"
    reply = client.post("/openai/batches", json={**base, "endpoint": "/v1/chat/completions",
                                                 "output_expires_after": {"anchor": "created_at", "seconds": 3600}})
    assert reply.status_code == 400 and reply.json["error"]["param"] == "output_expires_after"


def test_missing_input_file_is_404(client, fake):
    file_id = ids.encode_file("bedrock", f"{REGION}/{BUCKET}/batch-input/none.jsonl")
    reply = client.post("/openai/batches", json={"input_file_id": file_id, "endpoint": "/v1/chat/completions",
                                                 "completion_window": "24h", "provider": "bedrock"})
    assert reply.status_code == 404 and reply.json["error"]["param"] == "input_file_id"


def test_expires_after_is_refused(sdk, fake, s3):
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.files.create(file=("x.jsonl", SEED_JSONL.encode()), purpose="batch",
                         expires_after={"anchor": "created_at", "seconds": 3600},
                         extra_body={"provider": "bedrock", "storage_config": storage()})
    assert caught.value.param == "expires_after" and objects(s3) == []


# Files past the 8 MB multipart threshold: streamed in parts, converted line by line


def big_jsonl(lines: int, tail: str = "") -> bytes:
    return (chat_lines(lines, NOVA) + tail).encode()


def test_large_file_upload_convert_and_run(sdk, fake, s3):
    content = big_jsonl(40_000)
    assert len(content) > 9 * 1024 * 1024
    uploaded = sdk.files.create(file=("big.jsonl", content), purpose="batch",
                                extra_body={"provider": "bedrock", "storage_config": storage()})
    assert uploaded.bytes == len(content)
    key = ids.decode_file(uploaded.id).native.split("/", 2)[2]
    assert s3.head_object(Bucket=BUCKET, Key=key)["ETag"].endswith('-2"')  # a two-part multipart upload
    batch = sdk.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h",
                               extra_body={"provider": "bedrock"})
    assert batch.status == "validating"
    (_, create), = [c for c in fake.calls if c[0] == "create"]
    converted = create["inputDataConfig"]["s3InputDataConfig"]["s3Uri"].split("/", 3)[3]
    body = s3.get_object(Bucket=BUCKET, Key=converted)["Body"]
    records = [json.loads(raw) for raw in body.iter_lines()]
    assert len(records) == 40_000 and records[-1]["recordId"] == "R0000040000"
    assert records[-1]["modelInput"]["messages"] == [{"role": "user", "content": [{"text": "question 39999"}]}]


def test_large_upload_with_a_bad_last_line_leaves_nothing(sdk, fake, s3):
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.files.create(file=("big.jsonl", big_jsonl(40_000, "{oops\n")), purpose="batch",
                         extra_body={"provider": "bedrock", "storage_config": storage()})
    assert "Line 40001" in caught.value.message
    assert objects(s3) == [] and s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []


def test_create_answers_200_when_the_follow_up_get_fails(sdk, fake):
    fake.failing_gets = 3  # boto3's three attempts
    uploaded = upload(sdk, SEED_JSONL)
    batch = sdk.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h",
                               metadata={"k": "v"}, extra_body={"provider": "bedrock"})
    assert batch.status == "validating" and batch.input_file_id == uploaded.id and batch.metadata == {"k": "v"}
    assert len(fake.jobs) == 1 and sdk.batches.retrieve(batch.id).id == batch.id


def test_results_come_only_from_the_jobs_own_folder(sdk, fake):
    batches = []
    for tag in ("a", "b"):
        content = chat_lines(3).replace('"req-', f'"{tag}-')
        batches.append(sdk.batches.create(
            input_file_id=upload(sdk, content, name=f"{tag}.jsonl").id, endpoint="/v1/chat/completions",
            completion_window="24h", extra_body={"provider": "bedrock", "output_s3_uri": f"s3://{BUCKET}/shared-out"}))
    for tag, batch in zip(("a", "b"), batches, strict=True):
        while batch.status != "completed":
            batch = sdk.batches.retrieve(batch.id)
        lines = [json.loads(x) for x in sdk.files.content(batch.output_file_id).read().decode().splitlines()]
        assert sorted(x["custom_id"] for x in lines) == [f"{tag}-0", f"{tag}-1", f"{tag}-2"]
