"""The Uploads API (`POST /uploads`, parts, complete, cancel) with the real SDK, per provider.

OpenAI: relayed to its fake (every request and reply checked against the SDK's types). Anthropic and
a declared chat server: parts kept in the file store, completed into a stored batch file through the
provider's own line checks (Bedrock, which stages parts in S3: tests/test_bedrock_uploads.py;
Gemini and Vertex AI: tests/test_uploads_google.py). Azure: a 400. `upload_file_chunked` takes no
`extra_body`, so the provider goes in the client's default query, as the reference recommends.
"""

from __future__ import annotations

import hashlib
import json
import tracemalloc

import openai
import pytest

from blueprints.common import uploads
from blueprints.dispatcher import ids
from tests.conftest import owned_store
from tests.fakes.anthropic import anthropic_fakes
from tests.fakes.chatserver import declare
from tests.fakes.openai import FakeOpenAI


def _line(number: int, model: str = "gpt-4o-mini", pad: int = 0) -> bytes:
    return json.dumps({"custom_id": f"r{number}", "method": "POST", "url": "/v1/chat/completions",
                       "body": {"model": model, "messages": [{"role": "user", "content": "q" * pad or "hi"}]}}
                      ).encode() + b"\n"


def _file(lines: int = 40, model: str = "gpt-4o-mini") -> bytes:
    return b"".join(_line(n, model) for n in range(lines))


@pytest.fixture
def fake_openai(rsps):
    fake = FakeOpenAI()
    fake.register(rsps)
    yield fake
    assert fake.violations == []


@pytest.fixture
def vllm(monkeypatch):
    """A declared chat server: its files (and so its uploads) live in the file store; no call reaches it here."""
    declare(monkeypatch, "vllm=http://127.0.0.1:9/v1")
    return "vllm"


def _on(sdk, provider: str):
    return sdk.with_options(default_query={"provider": provider})


def _parts_left(app, provider: str, upload_id: str) -> int:
    native = ids.decode_upload(upload_id).native
    return len(owned_store(app).list(f"{provider}.uploads.{native}", None, 100)[0])


# OpenAI: relayed


def test_openai_upload_file_chunked_end_to_end(sdk, fake_openai):
    data = _file()
    upload = sdk.uploads.upload_file_chunked(file=data, filename="in.jsonl", bytes=len(data),
                                             mime_type="application/jsonl", purpose="batch", part_size=1000)
    assert upload.status == "completed" and upload.file is not None and upload.file.bytes == len(data)
    assert fake_openai.files[upload.file.id]["_content"] == data
    assert sum(1 for method, path in fake_openai.calls if path.endswith("/parts")) == -(-len(data) // 1000)
    batch = sdk.batches.create(input_file_id=upload.file.id, endpoint="/v1/chat/completions", completion_window="24h")
    assert batch.input_file_id == upload.file.id


def test_openai_parts_out_of_order_md5_and_cancel(sdk, fake_openai):
    data = _file(4)
    half = len(data) // 2
    upload = sdk.uploads.create(bytes=len(data), filename="in.jsonl", mime_type="application/jsonl", purpose="batch")
    second = sdk.uploads.parts.create(upload.id, data=data[half:])
    first = sdk.uploads.parts.create(upload.id, data=data[:half])
    with pytest.raises(openai.BadRequestError) as error:
        sdk.uploads.complete(upload.id, part_ids=[first.id, second.id], md5="0" * 32)
    assert error.value.body["param"] == "md5"
    done = sdk.uploads.complete(upload.id, part_ids=[first.id, second.id], md5=hashlib.md5(data).hexdigest())
    assert fake_openai.files[done.file.id]["_content"] == data
    other = sdk.uploads.create(bytes=1, filename="x.jsonl", mime_type="application/jsonl", purpose="batch")
    assert sdk.uploads.cancel(other.id).status == "cancelled"


def test_openai_limits_are_checked_before_anything_goes_up(sdk, fake_openai, monkeypatch):
    with pytest.raises(openai.BadRequestError) as error:
        sdk.uploads.create(bytes=8 * 1024**3 + 1, filename="x.jsonl", mime_type="application/jsonl", purpose="batch")
    assert error.value.body["param"] == "bytes"
    upload = sdk.uploads.create(bytes=100, filename="x.jsonl", mime_type="application/jsonl", purpose="batch")
    monkeypatch.setattr(uploads, "MAX_PART_BYTES", 10)
    with pytest.raises(openai.BadRequestError) as error:
        sdk.uploads.parts.create(upload.id, data=b"x" * 11)
    assert (error.value.body["param"], error.value.body["code"]) == ("data", "part_too_large")
    assert fake_openai.uploads[upload.id]["_parts"] == {}


# File-store providers


def test_chat_server_upload_file_chunked_end_to_end(sdk, vllm, app):
    data = _file()
    upload = _on(sdk, vllm).uploads.upload_file_chunked(file=data, filename="in.jsonl", bytes=len(data),
                                                        mime_type="application/jsonl", purpose="batch", part_size=700)
    assert upload.status == "completed" and upload.id.startswith("upload_dsevllm_")
    assert upload.file.filename == "in.jsonl" and upload.file.bytes == len(data) and upload.file.purpose == "batch"
    assert ids.decode_file(upload.file.id).provider == "vllm"
    assert sdk.files.content(upload.file.id).content == data  # the file ID names its provider
    assert _parts_left(app, vllm, upload.id) == 0


def test_anthropic_upload_file_chunked_end_to_end(sdk, rsps, app):
    with anthropic_fakes(rsps) as make:
        make(api_key="sk-test-key")
        data = _file(10, model="claude-3-5-haiku-20241022")
        upload = _on(sdk, "anthropic").uploads.upload_file_chunked(
            file=data, filename="in.jsonl", bytes=len(data), mime_type="application/jsonl", purpose="batch",
            part_size=500)
        assert upload.file.id.startswith("file-dsaf_")
        assert sdk.files.content(upload.file.id).content == data
        with pytest.raises(openai.BadRequestError) as error:
            _on(sdk, "anthropic").uploads.create(bytes=1, filename="x.pdf", mime_type="application/pdf",
                                                 purpose="assistants")
        assert error.value.body["param"] == "purpose"


def test_parts_out_of_order_and_a_retried_part(sdk, vllm, app):
    data = _file(6)
    third = len(data) // 3
    chunks = [data[:third], data[third:2 * third], data[2 * third:]]
    api = _on(sdk, vllm).uploads
    upload = api.create(bytes=len(data), filename="in.jsonl", mime_type="application/jsonl", purpose="batch")
    last = api.parts.create(upload.id, data=chunks[2])
    middle = api.parts.create(upload.id, data=chunks[1])
    api.parts.create(upload.id, data=chunks[0])  # its reply "lost": the client sends it again
    first = api.parts.create(upload.id, data=chunks[0])
    assert _parts_left(app, vllm, upload.id) == 4
    with pytest.raises(openai.BadRequestError) as error:
        api.complete(upload.id, part_ids=[first.id, middle.id, first.id, last.id])
    assert error.value.body["code"] == "duplicate_part"
    with pytest.raises(openai.BadRequestError) as error:
        api.complete(upload.id, part_ids=[first.id, last.id])
    assert (error.value.body["param"], error.value.body["code"]) == ("part_ids", "upload_size_mismatch")
    done = api.complete(upload.id, part_ids=[first.id, middle.id, last.id])
    assert sdk.files.content(done.file.id).content == data
    assert _parts_left(app, vllm, upload.id) == 0  # the unlisted copy went with the rest
    assert api.complete(upload.id, part_ids=[first.id, middle.id, last.id]).file.id == done.file.id  # a retry
    with pytest.raises(openai.BadRequestError) as error:
        api.parts.create(upload.id, data=b"more")
    assert error.value.body["code"] == "upload_completed"


def test_cancel_removes_the_parts(sdk, vllm, app):
    api = _on(sdk, vllm).uploads
    upload = api.create(bytes=10, filename="in.jsonl", mime_type="application/jsonl", purpose="batch")
    part = api.parts.create(upload.id, data=b"0123456789")
    cancelled = api.cancel(upload.id)
    assert cancelled.status == "cancelled" and cancelled.file is None
    assert _parts_left(app, vllm, upload.id) == 0
    with pytest.raises(openai.BadRequestError) as error:
        api.complete(upload.id, part_ids=[part.id])
    assert error.value.body["code"] == "upload_cancelled"


def test_limits_and_expiry(sdk, vllm, app, monkeypatch):
    api = _on(sdk, vllm).uploads
    upload = api.create(bytes=20, filename="in.jsonl", mime_type="application/jsonl", purpose="batch")
    assert upload.expires_at == upload.created_at + 3600
    with pytest.raises(openai.BadRequestError) as error:  # larger than the whole upload
        api.parts.create(upload.id, data=b"x" * 21)
    assert error.value.body["param"] == "data"
    monkeypatch.setattr(uploads, "MAX_PART_BYTES", 8)
    with pytest.raises(openai.BadRequestError) as error:
        api.parts.create(upload.id, data=b"x" * 9)
    assert (error.value.body["param"], error.value.body["code"]) == ("data", "part_too_large")
    api.parts.create(upload.id, data=b"x" * 8)
    assert _parts_left(app, vllm, upload.id) == 1  # the refused ones left nothing
    with pytest.raises(openai.BadRequestError) as error:
        api.complete(upload.id, part_ids=["part_nosuchpart"])
    assert error.value.body["param"] == "part_ids[0]"
    later = uploads.now() + 3600
    monkeypatch.setattr(uploads, "now", lambda: later)
    with pytest.raises(openai.BadRequestError) as error:
        api.parts.create(upload.id, data=b"x")
    assert (error.value.body["param"], error.value.body["code"]) == ("upload_id", "upload_expired")
    assert _parts_left(app, vllm, upload.id) == 0
    with pytest.raises(openai.BadRequestError):
        api.cancel(upload.id)


def test_md5_mismatch_stores_nothing(sdk, vllm, app):
    data = _file(3)
    api = _on(sdk, vllm).uploads
    upload = api.create(bytes=len(data), filename="in.jsonl", mime_type="application/jsonl", purpose="batch")
    part = api.parts.create(upload.id, data=data)
    with pytest.raises(openai.BadRequestError) as error:
        api.complete(upload.id, part_ids=[part.id], md5=hashlib.md5(b"other").hexdigest())
    assert (error.value.body["param"], error.value.body["code"]) == ("md5", "md5_mismatch")
    assert sdk.files.list(extra_query={"provider": vllm}).data == []
    done = api.complete(upload.id, part_ids=[part.id], md5=hashlib.md5(data).hexdigest().upper())
    assert done.status == "completed"


def test_a_bad_line_is_a_400_naming_it_at_complete(sdk, vllm, app):
    data = _line(0) + b'{"custom_id": "r1", "method": "POST"}\n' + _line(2)
    api = _on(sdk, vllm).uploads
    upload = api.create(bytes=len(data), filename="in.jsonl", mime_type="application/jsonl", purpose="batch")
    first = api.parts.create(upload.id, data=data[:50])  # the bad line is cut across the parts
    second = api.parts.create(upload.id, data=data[50:])
    with pytest.raises(openai.BadRequestError) as error:
        api.complete(upload.id, part_ids=[first.id, second.id])
    assert error.value.body["param"].startswith("line 2") and error.value.body["code"] == "invalid_batch_line"
    assert sdk.files.list(extra_query={"provider": vllm}).data == []


def test_an_upload_is_its_owners_alone(sdk, vllm, gateway):
    upload = _on(sdk, vllm).uploads.create(bytes=1, filename="in.jsonl", mime_type="application/jsonl",
                                           purpose="batch")
    other = sdk.with_options(api_key="sk-other-key")
    with pytest.raises(openai.NotFoundError):
        other.uploads.parts.create(upload.id, data=b"x")


def test_providers_without_uploads_are_a_400(sdk):
    with pytest.raises(openai.BadRequestError) as error:
        _on(sdk, "azure").uploads.create(bytes=1, filename="x.jsonl", mime_type="application/jsonl", purpose="batch")
    assert error.value.body["code"] == "unsupported_endpoint"


def test_the_v1_prefix_serves_the_same_routes(client, vllm):
    reply = client.post("/openai/v1/uploads?provider=vllm", headers={"Authorization": "Bearer sk-test-key"},
                        json={"bytes": 1, "filename": "a.jsonl", "mime_type": "application/jsonl", "purpose": "batch"})
    assert reply.status_code == 200 and reply.get_json()["status"] == "pending"


def test_a_large_chunked_upload_is_assembled_with_bounded_memory(sdk, vllm, tmp_path):
    """~200 MB in 8 MiB parts: the SDK's part, the request reads and one block of lines being checked are
    all that is held at once (tracemalloc sees the SDK in this process too)."""
    path = tmp_path / "big.jsonl"
    with path.open("wb") as out:
        for number in range(200 * 1024 * 1024 // len(_line(0, pad=4000))):  # within 50,000 requests
            out.write(_line(number, pad=4000))
    size = path.stat().st_size
    tracemalloc.start()
    try:
        upload = _on(sdk, vllm).uploads.upload_file_chunked(file=path, mime_type="application/jsonl",
                                                            purpose="batch", part_size=8 * 1024 * 1024)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert upload.file.bytes == size
    assert peak < 40 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB for {size / 1e6:.0f} MB"
