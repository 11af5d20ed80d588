"""The Uploads API on Gemini (parts in the file store) and Vertex AI (parts in the user's bucket), with the
real SDK (strict) against their fakes: a multi-part upload completes into the file `POST /files` would
make, which then runs the seed workflow to results; a bad line is a 400 naming it at complete; cancel,
md5, retried parts, a retried complete and expiry behave as for every provider (tests/test_uploads.py).
"""

from __future__ import annotations

import hashlib
import json

import openai
import pytest

from blueprints.common import uploads
from blueprints.dispatcher import ids
from tests.conftest import owned_store
from tests.fakes.gemini import checked_fakes
from tests.fakes.vertex import BUCKET, MODEL

TERMINAL = ("completed", "failed", "expired", "cancelled")


def _line(custom_id: str, text: str = "Hello") -> bytes:
    return json.dumps({"custom_id": custom_id, "method": "POST", "url": "/v1/chat/completions",
                       "body": {"model": MODEL, "messages": [{"role": "user", "content": text}],
                                "max_tokens": 50}}).encode() + b"\n"


def _file(count: int) -> bytes:
    return b"".join(_line(f"req-{n}", f"question {n}") for n in range(count))


def _on(sdk, provider: str):
    return sdk.with_options(default_query={"provider": provider})


def _lines(content: bytes) -> list[dict]:
    return [json.loads(line) for line in content.splitlines() if line.strip()]


def _finished(sdk, batch_id: str, provider: str):
    for _ in range(10):
        batch = sdk.batches.retrieve(batch_id, extra_query={"provider": provider})
        if batch.status in TERMINAL:
            return batch
    raise AssertionError(f"batch {batch_id} did not finish: {batch.status}")


@pytest.fixture
def gemini(rsps):
    fakes = checked_fakes(rsps)
    make = next(fakes)
    yield make()
    next(fakes, None)  # teardown: no request or reply the google-genai types refuse


def _parts_in_bucket(gcs, upload_id: str) -> list[str]:
    native = ids.decode_upload(upload_id).native
    bucket, folder = native.split("/", 1)
    return gcs.names(bucket, f"{folder}/parts/")


def _parts_in_store(app, upload_id: str) -> int:
    native = ids.decode_upload(upload_id).native
    return len(owned_store(app).list(f"gemini.uploads.{native}", None, 100)[0])


# The seed workflow from a chunked upload


def test_gemini_upload_file_chunked_then_the_seed_workflow(sdk, gemini, app):
    data = _file(12)
    upload = _on(sdk, "gemini").uploads.upload_file_chunked(file=data, filename="in.jsonl", bytes=len(data),
                                                           mime_type="application/jsonl", purpose="batch",
                                                           part_size=400)
    assert upload.status == "completed" and upload.id.startswith("upload_dsg_")
    assert upload.file.filename == "in.jsonl" and upload.file.bytes == len(data) and upload.file.purpose == "batch"
    direct = sdk.files.create(file=("in.jsonl", data, "application/jsonl"), purpose="batch",
                              extra_body={"provider": "gemini"})
    made = {"id", "created_at", "expires_at"}  # Gemini's clock: 48 hours after each upload
    assert upload.file.model_dump(exclude=made) == direct.model_dump(exclude=made)
    assert upload.file.expires_at is not None
    assert sdk.files.content(upload.file.id).content == data
    assert _parts_in_store(app, upload.id) == 0
    assert len(gemini.files) == 2  # the converted lines went up once per file
    batch = sdk.batches.create(input_file_id=upload.file.id, endpoint="/v1/chat/completions",
                               completion_window="24h", extra_body={"provider": "gemini", "model": MODEL})
    batch = _finished(sdk, batch.id, "gemini")
    assert batch.status == "completed"
    output = _lines(sdk.files.content(batch.output_file_id).read())
    assert sorted(line["custom_id"] for line in output) == sorted(f"req-{n}" for n in range(12))


def test_vertex_upload_file_chunked_then_the_seed_workflow(sdk, vertex, gcs):
    data = _file(5) + _line("000123", "please FAIL")
    api = sdk.with_options(default_query={"provider": "vertex"}).uploads
    upload = api.upload_file_chunked(file=data, filename="in.jsonl", bytes=len(data), mime_type="application/jsonl",
                                     purpose="batch", part_size=300)
    assert upload.status == "completed" and upload.id.startswith("upload_dsv_")
    assert upload.file.filename == "in.jsonl" and upload.file.bytes == len(data) and upload.file.purpose == "batch"
    assert _parts_in_bucket(gcs, upload.id) == []
    bucket, name = ids.decode_file(upload.file.id).native.split("/", 1)
    assert bucket == BUCKET and gcs.read(bucket, name) == data
    assert name.startswith("deepintshield/") and "/_uploads/" not in name  # where POST /files puts it
    listed = [f.id for f in sdk.files.list(extra_query={"provider": "vertex"}).data]
    assert listed == [upload.file.id]  # the upload's own objects are not files
    batch = sdk.batches.create(input_file_id=upload.file.id, endpoint="/v1/chat/completions",
                               completion_window="24h", extra_body={"provider": "vertex", "model": MODEL})
    batch = _finished(sdk, batch.id, "vertex")
    assert batch.status == "completed" and batch.request_counts.completed == 5
    output = _lines(sdk.files.content(batch.output_file_id).read())
    errors = _lines(sdk.files.content(batch.error_file_id).read())
    assert sorted(line["custom_id"] for line in output) == [f"req-{n}" for n in range(5)]
    assert [line["custom_id"] for line in errors] == ["000123"]


def test_vertex_upload_follows_storage_config(sdk, vertex, gcs):
    data = _file(2)
    api = _on(sdk, "vertex").uploads
    upload = api.create(bytes=len(data), filename="in.jsonl", mime_type="application/jsonl", purpose="batch",
                        extra_body={"storage_config": {"gcs": {"bucket": BUCKET, "prefix": "team/a"}}})
    part = api.parts.create(upload.id, data=data)
    done = api.complete(upload.id, part_ids=[part.id])
    assert ids.decode_file(done.file.id).native.startswith(f"{BUCKET}/team/a/")
    with pytest.raises(openai.BadRequestError) as error:
        api.create(bytes=1, filename="x.jsonl", mime_type="application/jsonl", purpose="batch",
                   extra_body={"expires_after": {"anchor": "created_at", "seconds": 3600}})
    assert error.value.body["param"] == "expires_after"


# The rules, on both


@pytest.fixture(params=["gemini", "vertex"])
def google(request):
    """`(provider, parts left of an upload ID)` with the provider's fake in place."""
    if request.param == "gemini":
        request.getfixturevalue("gemini")
        app = request.getfixturevalue("app")
        return "gemini", lambda upload_id: _parts_in_store(app, upload_id)
    gcs = request.getfixturevalue("gcs")  # before `rsps` mocks every HTTP call
    request.getfixturevalue("vertex")
    return "vertex", lambda upload_id: len(_parts_in_bucket(gcs, upload_id))


def test_a_bad_line_is_a_400_naming_it_at_complete(sdk, google):
    provider, parts_left = google
    data = _line("a") + b'{"custom_id": "b", "method": "POST"}\n' + _line("c")
    api = _on(sdk, provider).uploads
    upload = api.create(bytes=len(data), filename="in.jsonl", mime_type="application/jsonl", purpose="batch")
    first = api.parts.create(upload.id, data=data[:60])  # the bad line is cut across the parts
    second = api.parts.create(upload.id, data=data[60:])
    with pytest.raises(openai.BadRequestError) as error:
        api.complete(upload.id, part_ids=[first.id, second.id])
    assert error.value.body["param"].startswith("line 2")
    assert sdk.files.list(extra_query={"provider": provider}).data == []
    assert parts_left(upload.id) == 2  # still there: the client may cancel, or complete other parts
    assert api.cancel(upload.id).status == "cancelled"
    assert parts_left(upload.id) == 0


def test_retried_parts_md5_and_a_retried_complete(sdk, google):
    provider, parts_left = google
    data = _file(3)
    half = len(data) // 2
    api = _on(sdk, provider).uploads
    upload = api.create(bytes=len(data), filename="in.jsonl", mime_type="application/jsonl", purpose="batch")
    second = api.parts.create(upload.id, data=data[half:])
    api.parts.create(upload.id, data=data[:half])  # its reply "lost": sent again
    first = api.parts.create(upload.id, data=data[:half])
    assert parts_left(upload.id) == 3
    with pytest.raises(openai.BadRequestError) as error:
        api.complete(upload.id, part_ids=[first.id])
    assert error.value.body["code"] == "upload_size_mismatch"
    with pytest.raises(openai.BadRequestError) as error:
        api.complete(upload.id, part_ids=[first.id, "part_nosuchpart"])
    assert (error.value.body["param"], error.value.body["code"]) == ("part_ids[1]", "unknown_part")
    with pytest.raises(openai.BadRequestError) as error:
        api.complete(upload.id, part_ids=[first.id, second.id], md5=hashlib.md5(b"other").hexdigest())
    assert (error.value.body["param"], error.value.body["code"]) == ("md5", "md5_mismatch")
    assert sdk.files.list(extra_query={"provider": provider}).data == []
    done = api.complete(upload.id, part_ids=[first.id, second.id], md5=hashlib.md5(data).hexdigest())
    assert done.status == "completed" and done.file.bytes == len(data)
    assert parts_left(upload.id) == 0  # the unlisted copy went with the rest
    again = api.complete(upload.id, part_ids=[first.id, second.id])
    assert again.file.id == done.file.id and again.status == "completed"
    assert [f.id for f in sdk.files.list(extra_query={"provider": provider}).data] == [done.file.id]
    with pytest.raises(openai.BadRequestError) as error:
        api.parts.create(upload.id, data=b"more")
    assert error.value.body["code"] == "upload_completed"


def test_cancel_and_expiry(sdk, google, monkeypatch):
    provider, parts_left = google
    api = _on(sdk, provider).uploads
    upload = api.create(bytes=10, filename="in.jsonl", mime_type="application/jsonl", purpose="batch")
    assert upload.expires_at == upload.created_at + 3600
    part = api.parts.create(upload.id, data=b"0123456789")
    cancelled = api.cancel(upload.id)
    assert cancelled.status == "cancelled" and cancelled.file is None
    assert api.cancel(upload.id).status == "cancelled"
    assert parts_left(upload.id) == 0
    with pytest.raises(openai.BadRequestError) as error:
        api.complete(upload.id, part_ids=[part.id])
    assert error.value.body["code"] == "upload_cancelled"

    late = api.create(bytes=20, filename="in.jsonl", mime_type="application/jsonl", purpose="batch")
    api.parts.create(late.id, data=b"x" * 8)
    later = uploads.now() + 3600
    monkeypatch.setattr(uploads, "now", lambda: later)
    with pytest.raises(openai.BadRequestError) as error:
        api.parts.create(late.id, data=b"x")
    assert (error.value.body["param"], error.value.body["code"]) == ("upload_id", "upload_expired")
    assert parts_left(late.id) == 0
    with pytest.raises(openai.BadRequestError) as error:
        api.cancel(late.id)
    assert error.value.body["code"] == "upload_expired"


def test_other_purposes_and_a_part_too_large(sdk, google):
    provider, _ = google
    api = _on(sdk, provider).uploads
    upload = api.create(bytes=5, filename="notes.txt", mime_type="text/plain", purpose="user_data")
    with pytest.raises(openai.BadRequestError) as error:
        api.parts.create(upload.id, data=b"x" * 6)  # larger than the whole upload
    assert error.value.body["param"] == "data"
    part = api.parts.create(upload.id, data=b"hello")
    done = api.complete(upload.id, part_ids=[part.id])
    assert done.file.purpose == "user_data" and done.file.bytes == 5
    with pytest.raises(openai.NotFoundError):
        native = ids.decode_upload(upload.id).native
        api.parts.create(ids.encode_upload(provider, native[:-24] + "0" * 24), data=b"x")  # never made
