"""The Uploads API on Bedrock with the real SDK (strict): parts staged in the bucket (a moto server),
completed into the same S3 file `POST /files` makes, server-side (UploadPartCopy) when the parts are
large enough, else streamed; then run as a Bedrock batch through the seed's workflow (the job
control plane: tests/fakes/bedrock.py). `upload_file_chunked` takes no `extra_body`, so the provider
goes in the client's default query and the bucket is the configured default.
"""

from __future__ import annotations

import hashlib
import json

import openai
import pytest

from blueprints.bedrock import client as s3_client
from blueprints.common import uploads
from blueprints.dispatcher import ids
from errors import APIError
from tests.fakes.bedrock import BUCKET, REGION

ROLE = "arn:aws:iam::123456789012:role/BedrockBatch"
CLAUDE = "anthropic.claude-3-sonnet-20240229-v1:0"
PREFIX = "batch-input"
MiB = 1024 * 1024


@pytest.fixture
def s3(bedrock_s3):
    return bedrock_s3


@pytest.fixture
def fake(bedrock_fake):
    return bedrock_fake


@pytest.fixture
def test_config(test_config):
    return {**test_config, "BEDROCK_REGION": REGION, "BEDROCK_MIN_RECORDS": 2, "BEDROCK_ROLE_ARN": ROLE,
            "BEDROCK_DEFAULT_BUCKET": BUCKET, "BEDROCK_DEFAULT_PREFIX": PREFIX, "BEDROCK_ALLOWED_BUCKETS": []}


@pytest.fixture
def api(sdk, s3):
    return sdk.with_options(default_query={"provider": "bedrock"}).uploads


@pytest.fixture
def assembly(monkeypatch):
    """How each completed file was written: `("copy", sources)` or `("stream", key)`."""
    seen: list[tuple[str, object]] = []
    copy_parts, upload = s3_client.copy_parts, s3_client.upload

    def copying(region, bucket, key, sources):
        seen.append(("copy", [source for source, _ in sources]))
        return copy_parts(region, bucket, key, sources)

    def streaming(region, bucket, key, data):
        if "/_uploads/" not in key:  # a part going into staging is not an assembly
            seen.append(("stream", key))
        return upload(region, bucket, key, data)

    monkeypatch.setattr(s3_client, "copy_parts", copying)
    monkeypatch.setattr(s3_client, "upload", streaming)
    return seen


def line(number: int, pad: int = 0, model: str = CLAUDE) -> bytes:
    return json.dumps({"custom_id": f"req-{number}", "method": "POST", "url": "/v1/chat/completions",
                       "body": {"model": model, "max_tokens": 50,
                                "messages": [{"role": "user", "content": f"question {number} " + "q" * pad}]}}
                      ).encode() + b"\n"


def jsonl(size: int, pad: int = 1000) -> bytes:
    """Lines adding up to at least `size` bytes."""
    out, number, total = [], 0, 0
    while total < size:
        out.append(line(number, pad))
        total += len(out[-1])
        number += 1
    return b"".join(out)


def keys(s3, prefix: str = "") -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])]


def staged(s3, upload_id: str) -> list[str]:
    """The objects left in an upload's staging folder, relative to it."""
    folder = ids.decode_upload(upload_id).native.split("/", 2)[2] + "/"
    return [key[len(folder):] for key in keys(s3, folder)]


def files(s3) -> list[str]:
    """The `.jsonl` files under the prefix, as `list_files` sees them (staging excluded)."""
    return [key for key in keys(s3, f"{PREFIX}/") if "/" not in key[len(PREFIX) + 1:]]


def create(api, data: bytes, name: str = "in.jsonl"):
    return api.create(bytes=len(data), filename=name, mime_type="application/jsonl", purpose="batch")


# The chunked helper, both ways of assembling


def test_large_parts_are_assembled_server_side(sdk, api, s3, assembly):
    data = jsonl(11 * MiB)  # 5 + 5 + 1 MiB parts: every part but the last at S3's minimum
    upload = api.upload_file_chunked(file=data, filename="big batch.jsonl", bytes=len(data),
                                     mime_type="application/jsonl", purpose="batch", part_size=5 * MiB)
    assert upload.status == "completed" and upload.id.startswith("upload_dsb_") and upload.bytes == len(data)
    assert upload.filename == "big batch.jsonl" and upload.expires_at == upload.created_at + 3600
    file = upload.file
    assert (file.bytes, file.purpose, file.filename, file.status) == (len(data), "batch", "big-batch.jsonl",
                                                                       "processed")
    [(how, sources)] = assembly
    assert how == "copy" and len(sources) == 3  # no byte went up twice
    region, bucket, key = ids.decode_file(file.id).native.split("/", 2)
    assert (region, bucket) == (REGION, BUCKET) and key in files(s3)
    assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == data
    assert s3.head_object(Bucket=BUCKET, Key=key)["ContentType"] == "application/jsonl"
    # The same file `POST /files` would give: retrieved, listed, downloaded as one.
    query = {"provider": "bedrock"}
    assert sdk.files.retrieve(file.id, extra_query=query) == file
    assert [f.id for f in sdk.files.list(extra_query=query).data] == [file.id]  # staging never listed
    assert sdk.files.content(file.id, extra_query=query).content == data
    assert staged(s3, upload.id) == ["upload.json"]  # the parts are gone; the record says completed


def test_small_parts_are_streamed_through_the_checks(sdk, api, s3, assembly):
    data = jsonl(8000, pad=10)
    upload = api.upload_file_chunked(file=data, filename="in.jsonl", bytes=len(data), mime_type="application/jsonl",
                                     purpose="batch", part_size=700)
    assert upload.status == "completed" and upload.file.bytes == len(data)
    [(how, key)] = assembly
    assert how == "stream" and f"{BUCKET}/{key}" in ids.decode_file(upload.file.id).native
    assert sdk.files.content(upload.file.id).content == data
    assert staged(s3, upload.id) == ["upload.json"]


def test_a_large_first_part_with_small_ones_after_is_streamed(api, s3, assembly):
    data = jsonl(5 * MiB + 3000)
    upload = create(api, data)
    first = api.parts.create(upload.id, data=data[:5 * MiB])
    second = api.parts.create(upload.id, data=data[5 * MiB:5 * MiB + 1000])  # below the minimum, not last
    third = api.parts.create(upload.id, data=data[5 * MiB + 1000:])
    done = api.complete(upload.id, part_ids=[first.id, second.id, third.id])
    assert [how for how, _ in assembly] == ["stream"]
    assert s3.get_object(Bucket=BUCKET, Key=ids.decode_file(done.file.id).native.split("/", 2)[2])["Body"].read() \
        == data


# Parts: any order, retried, checked at complete


def test_parts_out_of_order_and_a_retried_part(sdk, api, s3):
    data = jsonl(3000, pad=10)
    third = len(data) // 3
    chunks = [data[:third], data[third:2 * third], data[2 * third:]]
    upload = create(api, data)
    last = api.parts.create(upload.id, data=chunks[2])
    middle = api.parts.create(upload.id, data=chunks[1])
    api.parts.create(upload.id, data=chunks[0])  # its reply "lost": the client sends it again
    first = api.parts.create(upload.id, data=chunks[0])
    assert first.upload_id == upload.id and first.id.startswith("part_")
    assert len(staged(s3, upload.id)) == 5  # four parts and the record
    with pytest.raises(openai.BadRequestError) as error:
        api.complete(upload.id, part_ids=[first.id, middle.id, first.id, last.id])
    assert (error.value.body["param"], error.value.body["code"]) == ("part_ids[2]", "duplicate_part")
    with pytest.raises(openai.BadRequestError) as error:
        api.complete(upload.id, part_ids=[first.id, last.id])
    assert (error.value.body["param"], error.value.body["code"]) == ("part_ids", "upload_size_mismatch")
    with pytest.raises(openai.BadRequestError) as error:
        api.complete(upload.id, part_ids=[first.id, "part_0123456789abcdef01234567", last.id])
    assert (error.value.body["param"], error.value.body["code"]) == ("part_ids[1]", "unknown_part")
    with pytest.raises(openai.BadRequestError) as error:
        api.complete(upload.id, part_ids=["file-not-a-part"])
    assert (error.value.body["param"], error.value.body["code"]) == ("part_ids[0]", "unknown_part")
    assert files(s3) == []

    done = api.complete(upload.id, part_ids=[first.id, middle.id, last.id])
    assert sdk.files.content(done.file.id).content == data
    assert staged(s3, upload.id) == ["upload.json"]  # the unlisted copy went with the rest
    again = api.complete(upload.id, part_ids=[first.id, middle.id, last.id])  # a retry whose answer was lost
    assert again == done and files(s3) == [ids.decode_file(done.file.id).native.split("/", 2)[2]]
    with pytest.raises(openai.BadRequestError) as error:
        api.parts.create(upload.id, data=b"more")
    assert (error.value.body["param"], error.value.body["code"]) == ("upload_id", "upload_completed")
    assert staged(s3, upload.id) == ["upload.json"]
    with pytest.raises(openai.BadRequestError) as error:
        api.cancel(upload.id)
    assert error.value.body["code"] == "upload_completed"


@pytest.mark.parametrize("part_size", [5 * MiB, 1000], ids=["copied", "streamed"])
def test_md5_is_checked_before_anything_is_stored(api, s3, assembly, part_size):
    data = jsonl(5 * MiB + 2000 if part_size == 5 * MiB else 2500, pad=10)
    upload = create(api, data)
    parts = [api.parts.create(upload.id, data=data[at:at + part_size]).id for at in range(0, len(data), part_size)]
    with pytest.raises(openai.BadRequestError) as error:
        api.complete(upload.id, part_ids=parts, md5=hashlib.md5(b"other").hexdigest())
    assert (error.value.body["param"], error.value.body["code"]) == ("md5", "md5_mismatch")
    assert files(s3) == []  # copied: checked before any write; streamed: the upload aborted
    assert [how for how, _ in assembly] == ([] if part_size == 5 * MiB else ["stream"])
    assert s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []
    done = api.complete(upload.id, part_ids=parts, md5=hashlib.md5(data).hexdigest().upper())
    assert done.status == "completed" and done.file.bytes == len(data)
    assert assembly[-1][0] == ("copy" if part_size == 5 * MiB else "stream")


def test_the_sdk_sends_md5_with_the_chunked_helper(api):
    data = jsonl(2000, pad=10)
    upload = api.upload_file_chunked(file=data, filename="in.jsonl", bytes=len(data), mime_type="application/jsonl",
                                     purpose="batch", part_size=1024, md5=hashlib.md5(data).hexdigest())
    assert upload.status == "completed"
    with pytest.raises(openai.BadRequestError) as error:
        api.upload_file_chunked(file=data, filename="in.jsonl", bytes=len(data), mime_type="application/jsonl",
                                purpose="batch", part_size=1024, md5="0" * 32)
    assert error.value.body["param"] == "md5"


@pytest.mark.parametrize("copied", [True, False], ids=["copied", "streamed"])
def test_a_bad_line_is_a_400_naming_it_and_nothing_is_stored(api, s3, assembly, copied):
    bad = json.dumps({"custom_id": "req-x", "method": "POST", "url": "/v1/chat/completions"}).encode() + b"\n"
    head = jsonl(5 * MiB + 500, pad=10) if copied else line(0)
    number = head.count(b"\n") + 1
    data = head + bad + line(99)
    upload = create(api, data)
    cut = 5 * MiB if copied else len(head) + 10  # copied: S3's minimum first part; streamed: the bad line cut
    first = api.parts.create(upload.id, data=data[:cut])
    second = api.parts.create(upload.id, data=data[cut:])
    with pytest.raises(openai.BadRequestError) as error:
        api.complete(upload.id, part_ids=[first.id, second.id])
    assert error.value.body["param"].startswith(f"line {number}")
    assert error.value.body["code"] == "invalid_batch_line" and f"Line {number}" in error.value.body["message"]
    assert files(s3) == [] and s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []
    assert [how for how, _ in assembly] == ([] if copied else ["stream"])
    assert len(staged(s3, upload.id)) == 3  # still pending: the parts stay for another try


def test_a_line_bedrock_would_refuse_is_refused_as_by_post_files(api, s3):
    data = line(0, model=CLAUDE) + json.dumps({"custom_id": "e", "method": "POST", "url": "/v1/moderations",
                                               "body": {"input": "x"}}).encode() + b"\n"
    upload = create(api, data)
    part = api.parts.create(upload.id, data=data)
    with pytest.raises(openai.BadRequestError) as via_upload:
        api.complete(upload.id, part_ids=[part.id])
    with pytest.raises(openai.BadRequestError) as via_files:
        api._client.files.create(file=("in.jsonl", data), purpose="batch", extra_body={"provider": "bedrock"})
    assert via_upload.value.body == via_files.value.body
    assert files(s3) == []


# Cancel, expiry, limits, IDs


def test_cancel_removes_the_parts(api, s3):
    upload = api.create(bytes=10, filename="in.jsonl", mime_type="application/jsonl", purpose="batch")
    part = api.parts.create(upload.id, data=b"0123456789")
    assert len(staged(s3, upload.id)) == 2
    cancelled = api.cancel(upload.id)
    assert cancelled.status == "cancelled" and cancelled.file is None and cancelled.id == upload.id
    assert staged(s3, upload.id) == ["upload.json"]
    assert api.cancel(upload.id) == cancelled  # a cancel retried answers the same
    with pytest.raises(openai.BadRequestError) as error:
        api.complete(upload.id, part_ids=[part.id])
    assert error.value.body["code"] == "upload_cancelled"
    with pytest.raises(openai.BadRequestError) as error:
        api.parts.create(upload.id, data=b"x")
    assert error.value.body["code"] == "upload_cancelled"
    assert staged(s3, upload.id) == ["upload.json"]


def test_an_expired_upload_loses_its_parts(api, s3, monkeypatch):
    data = line(0)
    upload = create(api, data)
    part = api.parts.create(upload.id, data=data)
    later = upload.expires_at
    monkeypatch.setattr(uploads, "now", lambda: later)
    with pytest.raises(openai.BadRequestError) as error:
        api.complete(upload.id, part_ids=[part.id])
    assert (error.value.body["param"], error.value.body["code"]) == ("upload_id", "upload_expired")
    assert staged(s3, upload.id) == ["upload.json"]
    folder = ids.decode_upload(upload.id).native.split("/", 2)[2]
    assert folder.startswith(f"{PREFIX}/_uploads/")
    record = json.loads(s3.get_object(Bucket=BUCKET, Key=f"{folder}/upload.json")["Body"].read())
    assert record["status"] == "expired"
    for call in (lambda: api.parts.create(upload.id, data=b"x"), lambda: api.cancel(upload.id)):
        with pytest.raises(openai.BadRequestError) as error:
            call()
        assert error.value.body["code"] == "upload_expired"
    assert files(s3) == []


def test_limits_and_refusals(api, s3):
    for kwargs, param in [({"purpose": "assistants"}, "purpose"), ({"bytes": 8 * 1024**3 + 1}, "bytes"),
                          ({"extra_body": {"expires_after": {"anchor": "created_at", "seconds": 3600}}},
                           "expires_after")]:
        with pytest.raises(openai.BadRequestError) as error:
            api.create(**{"bytes": 1, "filename": "x.jsonl", "mime_type": "application/jsonl", "purpose": "batch",
                          **kwargs})
        assert error.value.body["param"] == param
    assert keys(s3) == []
    upload = api.create(bytes=20, filename="in.jsonl", mime_type="application/jsonl", purpose="batch")
    with pytest.raises(openai.BadRequestError) as error:  # larger than the whole upload
        api.parts.create(upload.id, data=b"x" * 21)
    assert (error.value.body["param"], error.value.body["code"]) == ("data", "part_too_large")
    assert staged(s3, upload.id) == ["upload.json"]  # the refused part left nothing


def test_unknown_and_foreign_upload_ids_are_404(api, s3):
    upload = api.create(bytes=1, filename="in.jsonl", mime_type="application/jsonl", purpose="batch")
    missing = ids.encode_upload("bedrock", f"{REGION}/{BUCKET}/{PREFIX}/_uploads/{'0' * 24}")
    not_staging = ids.encode_upload("bedrock", f"{REGION}/{BUCKET}/{PREFIX}/other")
    for upload_id in (missing, not_staging, upload.id[:-2] + "!!", "upload_dsb_bm90IGFuIElE"):
        with pytest.raises(openai.NotFoundError):
            api.parts.create(upload_id, data=b"x")
        with pytest.raises(openai.NotFoundError):
            api.cancel(upload_id)
    assert api.cancel(upload.id).status == "cancelled"


def test_storage_config_places_the_upload_and_its_file(sdk, s3):
    storage = {"s3": {"bucket": BUCKET, "region": REGION, "prefix": "elsewhere/in"}}
    data = line(0) + line(1)
    upload = sdk.uploads.create(bytes=len(data), filename="in.jsonl", mime_type="application/jsonl", purpose="batch",
                                extra_body={"provider": "bedrock", "storage_config": storage})
    assert ids.decode_upload(upload.id).native.startswith(f"{REGION}/{BUCKET}/elsewhere/in/_uploads/")
    part = sdk.uploads.parts.create(upload.id, data=data)  # the ID names the provider and where it lives
    done = sdk.uploads.complete(upload.id, part_ids=[part.id])
    key = ids.decode_file(done.file.id).native.split("/", 2)[2]
    assert key.startswith("elsewhere/in/") and "/" not in key[len("elsewhere/in/"):]
    listed = sdk.files.list(extra_query={"provider": "bedrock", "storage_config": storage}).data
    assert [f.id for f in listed] == [done.file.id]


# The completed file as batch input: the seed's workflow


def test_the_completed_file_runs_as_a_bedrock_batch(sdk, api, fake, s3):
    data = line(1) + line(2)
    upload = api.upload_file_chunked(file=data, filename="batch_e2e.jsonl", bytes=len(data),
                                     mime_type="application/jsonl", purpose="batch", part_size=200)
    batch = sdk.batches.create(input_file_id=upload.file.id, endpoint="/v1/chat/completions", completion_window="24h",
                               extra_body={"provider": "bedrock", "model": CLAUDE,
                                           "output_s3_uri": f"s3://{BUCKET}/batch-output"})
    for _ in range(20):
        batch = sdk.batches.retrieve(batch.id, extra_query={"provider": "bedrock"})
        if batch.status in ["completed", "failed", "expired", "cancelled"]:
            break
    assert batch.status == "completed" and batch.input_file_id == upload.file.id
    assert (batch.request_counts.total, batch.request_counts.completed) == (2, 2)
    output = sdk.files.content(batch.output_file_id, extra_query={"provider": "bedrock"}).read().decode()
    results = {result["custom_id"]: result for result in map(json.loads, output.splitlines())}
    assert sorted(results) == ["req-1", "req-2"]
    assert results["req-1"]["response"]["body"]["choices"][0]["message"]["content"].startswith("echo: question 1")


def test_a_copy_that_fails_leaves_no_file_and_no_multipart_upload(app, s3):
    """A part gone since it was listed stops the server-side assembly, which is aborted. (A part changed
    since, by its ETag, too on S3: moto does not check CopySourceIfMatch.)"""
    s3.put_object(Bucket=BUCKET, Key="staged/a", Body=b"a" * (5 * MiB))
    s3.put_object(Bucket=BUCKET, Key="staged/b", Body=b"b")
    etag = s3.head_object(Bucket=BUCKET, Key="staged/a")["ETag"]
    with app.app_context():
        with pytest.raises(APIError):
            s3_client.copy_parts(REGION, BUCKET, "out.jsonl", [("staged/a", etag), ("staged/gone", etag)])
        assert keys(s3) == ["staged/a", "staged/b"]
        assert s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []
        s3_client.copy_parts(REGION, BUCKET, "out.jsonl", [("staged/a", etag)])
    assert s3.get_object(Bucket=BUCKET, Key="out.jsonl")["Body"].read() == b"a" * (5 * MiB)
