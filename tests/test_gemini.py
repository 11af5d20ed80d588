"""The Gemini provider through the gateway: Flask test-client tests and end-to-end runs of the real
`openai` SDK (strict) against the served app, with the stateful Gemini fake behind it."""

from __future__ import annotations

import io
import json
import tempfile
import tracemalloc

import openai
import pytest

from blueprints.dispatcher import ids, uploads
from tests import seed
from tests.conftest import owned_store
from tests.fakes.gemini import checked_fakes

MODEL = "gemini-1.5-flash"
OPENAI_JSONL = (
    '{"custom_id": "req-1", "method": "POST", "url": "/v1/chat/completions", "body": {"model": "gemini-1.5-flash", '
    '"messages": [{"role": "user", "content": "What is 2+2?"}], "max_tokens": 100}}\n'
    '{"custom_id": "req-2", "method": "POST", "url": "/v1/chat/completions", "body": {"model": "gemini-1.5-flash", '
    '"messages": [{"role": "user", "content": "What is the capital of France?"}], "max_tokens": 100}}'
)
GEMINI = {"provider": "gemini"}


@pytest.fixture
def make_fake(rsps):
    """`make_fake(**options)`: a Gemini fake checked against the SDK types (no violations at teardown)."""
    yield from checked_fakes(rsps)


@pytest.fixture
def fake(make_fake):
    return make_fake()


def _line(custom_id: str, text: str, **body) -> str:
    return json.dumps({"custom_id": custom_id, "method": "POST", "url": "/v1/chat/completions",
                       "body": {"model": MODEL, "messages": [{"role": "user", "content": text}], **body}})


def _upload(sdk, content: bytes, name: str = "batch.jsonl", purpose: str = "batch"):
    return sdk.files.create(file=(name, content, "application/jsonl"), purpose=purpose, extra_body=GEMINI)


def _lines(content: bytes) -> list[dict]:
    return [json.loads(line) for line in content.splitlines() if line.strip()]


def _finish(sdk, batch_id: str):
    for _ in range(5):
        batch = sdk.batches.retrieve(batch_id, extra_query=GEMINI)
        if batch.status in ("completed", "failed", "expired", "cancelled"):
            return batch
    raise AssertionError(f"batch {batch_id} did not finish: {batch.status}")


# The seed document's Gemini snippets, as written (client = the sdk fixture, sleeps shortened).


def test_seed_gemini_batch_workflow_then_results(gateway, fake, capsys):
    scope = seed.run("gemini", gateway, api_key="sk-test-key", strict=True)  # the document's snippet
    client, batch, uploaded_file, provider = scope["client"], scope["batch"], scope["uploaded_file"], scope["provider"]

    out = capsys.readouterr().out
    assert "status = in_progress" in out and "Completed: 0/2" in out
    assert batch.status == "completed"
    assert batch.model == "gemini-1.5-flash"
    assert batch.input_file_id == uploaded_file.id
    assert (batch.request_counts.total, batch.request_counts.completed, batch.request_counts.failed) == (2, 2, 0)
    assert batch.completed_at is not None and batch.error_file_id  # offered; empty: nothing failed

    # What went up to Gemini: {key, request} lines under the gateway's own file ID.
    native = ids.decode_file(uploaded_file.id, "gemini").native
    sent = _lines(fake.files[native]["_content"])
    assert sent[0] == {"key": "req-1", "request": {
        "contents": [{"role": "user", "parts": [{"text": "What is 2+2?"}]}],
        "generationConfig": {"maxOutputTokens": 100}}}
    assert batch.id == ids.encode_batch("gemini", next(iter(fake.batches)))

    lines = _lines(client.files.content(batch.output_file_id, extra_query={"provider": provider}).content)
    by_id = {line["custom_id"]: line for line in lines}
    assert set(by_id) == {"req-1", "req-2"}
    first = by_id["req-1"]
    assert first["error"] is None and first["id"] == "batch_req_resp-req-1"
    assert first["response"]["status_code"] == 200
    body = first["response"]["body"]
    assert body["object"] == "chat.completion" and body["model"] == "gemini-1.5-flash-001"
    assert body["choices"][0]["message"]["content"] == "Answer: What is 2+2?"  # the thought part is dropped
    assert body["choices"][0]["finish_reason"] == "stop"
    assert body["usage"] == {"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8,
                             "prompt_tokens_details": {"cached_tokens": 0},
                             "completion_tokens_details": {"reasoning_tokens": 2}}
    assert by_id["req-2"]["response"]["body"]["choices"][0]["message"]["content"] == (
        "Answer: What is the capital of France?")

    # The snippet's last retrieve: usage summed from what the fake answered (README "Usage and cost")
    assert batch.usage.total_tokens == sum(line["response"]["body"]["usage"]["total_tokens"] for line in lines) > 0
    assert batch.usage.output_tokens_details.reasoning_tokens == sum(
        line["response"]["body"]["usage"]["completion_tokens_details"]["reasoning_tokens"] for line in lines)

    output_file = client.files.retrieve(batch.output_file_id, extra_query={"provider": provider})
    assert output_file.purpose == "batch_output" and output_file.id == batch.output_file_id


def test_seed_file_operations_with_gemini(sdk, fake, capsys):
    client = sdk
    uploaded = _upload(sdk, OPENAI_JSONL.encode(), "batch_input.jsonl")
    # List files for OpenAI or Gemini (no S3 config needed)
    response = client.files.list(
        extra_query={"provider": "gemini"}
    )
    for file in response.data:
        print(f"File ID: {file.id}, Name: {file.filename}")
    # Retrieve file metadata (specify provider)
    file_id = uploaded.id
    response = client.files.retrieve(
        file_id,
        extra_query={"provider": "gemini"}
    )
    print(f"File ID: {response.id}")
    print(f"Filename: {response.filename}")
    print(f"Purpose: {response.purpose}")
    print(f"Bytes: {response.bytes}")
    # Download file content (specify provider)
    response = client.files.content(
        file_id,
        extra_query={"provider": "gemini"}
    )
    # Handle different response types
    if hasattr(response, "read"):
        content = response.read()
    elif hasattr(response, "content"):
        content = response.content
    else:
        content = response
    # Decode bytes to string if needed
    if isinstance(content, bytes):
        content = content.decode("utf-8")
    print(f"File content:\n{content}")
    # Delete file (specify provider)
    response = client.files.delete(
        file_id,
        extra_query={"provider": "gemini"}
    )
    print(f"Deleted: {response.deleted}")

    out = capsys.readouterr().out
    assert f"File ID: {uploaded.id}, Name: batch_input.jsonl" in out
    assert "Purpose: batch" in out and f"Bytes: {len(OPENAI_JSONL.encode())}" in out
    assert content == OPENAI_JSONL  # the bytes the client sent, not the converted lines
    assert "Deleted: True" in out
    assert fake.files == {}
    with pytest.raises(openai.NotFoundError):
        client.files.retrieve(file_id, extra_query={"provider": "gemini"})
    with pytest.raises(openai.NotFoundError):
        client.files.content(file_id, extra_query={"provider": "gemini"})


# Results, cancel, lists (end to end)


def test_failed_lines_go_to_the_error_file(sdk, fake):
    content = "\n".join([_line("ok-1", "Hello"), _line("bad-1", "Please FAIL"), _line("ok-2", "Bye")]).encode()
    uploaded = _upload(sdk, content)
    batch = sdk.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h",
                               extra_body={"provider": "gemini", "model": "models/gemini-2.5-flash"})
    assert batch.status == "validating" and batch.model == "gemini-2.5-flash"
    batch = _finish(sdk, batch.id)
    assert batch.status == "completed"
    assert (batch.request_counts.total, batch.request_counts.completed, batch.request_counts.failed) == (3, 2, 1)
    assert batch.output_file_id and batch.error_file_id

    output = _lines(sdk.files.content(batch.output_file_id).content)
    assert [line["custom_id"] for line in output] == ["ok-1", "ok-2"]
    assert all(line["response"]["status_code"] == 200 for line in output)
    errors = _lines(sdk.files.content(batch.error_file_id).content)
    assert errors == [{
        "id": errors[0]["id"], "custom_id": "bad-1", "error": None,
        "response": {"status_code": 400, "request_id": errors[0]["response"]["request_id"], "body": {"error": {
            "message": "Request contains an invalid argument.", "type": "invalid_request_error",
            "param": None, "code": "INVALID_ARGUMENT"}}},
    }]
    assert errors[0]["id"] == "batch_req_" + errors[0]["response"]["request_id"]

    error_file = sdk.files.retrieve(batch.error_file_id)
    assert error_file.purpose == "batch_output" and error_file.bytes > 0


def test_tool_calls_come_back_as_tool_calls(sdk, fake):
    tools = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}]
    uploaded = _upload(sdk, _line("t-1", "Find cats", tools=tools, tool_choice="required").encode())
    sent = _lines(fake.files[ids.decode_file(uploaded.id).native]["_content"])[0]["request"]
    assert sent["toolConfig"] == {"functionCallingConfig": {"mode": "ANY"}}
    batch = sdk.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h",
                               extra_body={"provider": "gemini", "model": MODEL})
    batch = _finish(sdk, batch.id)
    choice = _lines(sdk.files.content(batch.output_file_id).content)[0]["response"]["body"]["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["tool_calls"] == [
        {"id": "call_0", "type": "function", "function": {"name": "lookup", "arguments": '{"query": "Find cats"}'}}]


def test_inline_requests(sdk, fake):
    requests = [json.loads(_line("a", "One")), json.loads(_line("b", "Two FAIL"))]
    batch = sdk.batches.create(input_file_id="", endpoint="/v1/chat/completions", completion_window="24h",
                               extra_body={"provider": "gemini", "model": MODEL, "requests": requests})
    assert batch.input_file_id == ""
    config = fake.batches[ids.decode_batch(batch.id).native]["metadata"]["inputConfig"]
    assert config["requests"]["requests"][0] == {
        "request": {"contents": [{"role": "user", "parts": [{"text": "One"}]}]}, "metadata": {"key": "a"}}
    batch = _finish(sdk, batch.id)
    assert [line["custom_id"] for line in _lines(sdk.files.content(batch.output_file_id).content)] == ["a"]
    assert [line["custom_id"] for line in _lines(sdk.files.content(batch.error_file_id).content)] == ["b"]
    with pytest.raises(openai.BadRequestError) as caught:  # nothing to delete: the results live in the batch
        sdk.files.delete(batch.output_file_id)
    assert caught.value.param == "file_id"


def test_cancel(sdk, fake):
    uploaded = _upload(sdk, OPENAI_JSONL.encode())
    batch = sdk.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h",
                               extra_body={"provider": "gemini", "model": MODEL})
    cancelled = sdk.batches.cancel(batch.id, extra_body=GEMINI)
    assert cancelled.status == "cancelling" and cancelled.cancelling_at is not None
    batch = sdk.batches.retrieve(batch.id, extra_query=GEMINI)
    assert batch.status == "cancelled" and batch.cancelled_at is not None
    assert batch.output_file_id is None
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.batches.cancel(batch.id)
    assert "already finished" in caught.value.message
    with pytest.raises(openai.NotFoundError):
        sdk.files.content(ids.encode_file("gemini", ids.decode_batch(batch.id).native, "output"))


def test_job_state_spelling_is_accepted(sdk, make_fake):
    fake = make_fake(state_prefix="JOB_STATE_")
    uploaded = _upload(sdk, OPENAI_JSONL.encode())
    batch = sdk.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h",
                               extra_body={"provider": "gemini", "model": MODEL})
    assert [sdk.batches.retrieve(batch.id).status for _ in range(2)] == ["in_progress", "completed"]
    assert next(iter(fake.batches.values()))["metadata"]["state"] == "JOB_STATE_SUCCEEDED"


def test_file_list_pagination_visits_every_file_once(sdk, fake):
    uploaded = [_upload(sdk, _line(f"r{i}", "x").encode(), f"f{i}.jsonl").id for i in range(5)]
    fake.files["files/outside"] = {**fake.files[ids.decode_file(uploaded[0]).native], "name": "files/outside",
                                   "displayName": "outside.png", "mimeType": "image/png", "_seq": 0}
    seen = [f.id for f in sdk.files.list(limit=2, extra_query=GEMINI)]
    assert sorted(seen) == sorted([*uploaded, ids.encode_file("gemini", "files/outside")])
    assert len(seen) == len(set(seen)) == 6
    batch_files = [f.id for f in sdk.files.list(limit=2, purpose="batch", extra_query=GEMINI)]
    assert sorted(batch_files) == sorted(uploaded)
    first = sdk.files.list(limit=3, extra_query=GEMINI)
    assert first.has_more and len(first.data) == 3


def test_batch_list_pagination_visits_every_batch_once(sdk, fake):
    uploaded = _upload(sdk, OPENAI_JSONL.encode())
    created = [sdk.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h",
                                  extra_body={"provider": "gemini", "model": MODEL}).id for _ in range(5)]
    seen = [b.id for b in sdk.batches.list(limit=2, extra_query=GEMINI)]
    assert sorted(seen) == sorted(created) and len(seen) == 5
    page = sdk.batches.list(limit=5, extra_query=GEMINI)
    assert not page.has_more and len(page.data) == 5


def test_list_after_an_id_no_longer_listed_is_a_400(sdk, fake):
    _upload(sdk, OPENAI_JSONL.encode())
    gone = ids.encode_file("gemini", "files/deleted-meanwhile")
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.files.list(after=gone, extra_query=GEMINI)
    assert caught.value.param == "after"


# Upload rules


def _stored(app) -> list:
    """What the gateway file store holds for Gemini."""
    return owned_store(app).list("gemini", None, 100)[0]


def test_malformed_jsonl_is_a_400_naming_the_line(sdk, fake, app):
    content = (_line("a", "x") + "\n{not json\n").encode()
    with pytest.raises(openai.BadRequestError) as caught:
        _upload(sdk, content)
    assert caught.value.param == "file" and "Line 2" in caught.value.message
    with pytest.raises(openai.BadRequestError) as caught:
        _upload(sdk, (_line("a", "x") + "\n" + _line("b", "y", logit_bias={"1": 1})).encode())
    assert caught.value.param == "line 2" and "logit_bias" in caught.value.message
    with pytest.raises(openai.BadRequestError) as caught:
        _upload(sdk, json.dumps({"custom_id": "e", "method": "POST", "url": "/v1/moderations",
                                 "body": {"input": "x"}}).encode())
    assert caught.value.param == "line 1" and "/v1/moderations" in caught.value.message
    assert fake.files == {} and fake.upload_starts == []
    assert _stored(app) == []


def test_gemini_format_goes_up_untouched(sdk, fake):
    content = (b'{"key": "g-1", "request": {"contents": [{"role": "user", "parts": [{"text": "Hi"}]}]}}\r\n'
               b'{"key":"g-2","request":{"contents":[{"parts":[{"text":"Yo"}]}]}}\n')
    uploaded = _upload(sdk, content)
    assert fake.files[ids.decode_file(uploaded.id).native]["_content"] == content.replace(b"\r\n", b"\n")
    assert sdk.files.content(uploaded.id).content == content


def test_unsupported_mime_type_is_retried_with_the_next(sdk, make_fake):
    fake = make_fake(unsupported_mime_types=("jsonl",))
    uploaded = _upload(sdk, OPENAI_JSONL.encode())
    assert fake.upload_starts == ["jsonl", "application/jsonl"]
    assert fake.files[ids.decode_file(uploaded.id).native]["mimeType"] == "application/jsonl"


def test_every_mime_type_refused_is_a_400_and_leaves_no_copy(sdk, make_fake, app):
    app.config["GEMINI_JSONL_MIME_TYPES"] = ["jsonl", "text/plain"]
    make_fake(unsupported_mime_types=("jsonl", "text/plain"))
    with pytest.raises(openai.BadRequestError) as caught:
        _upload(sdk, OPENAI_JSONL.encode())
    assert "Unsupported MIME type: text/plain" in caught.value.message
    assert _stored(app) == []


def test_other_purposes_go_up_as_sent(sdk, fake):
    png = b"\x89PNG\r\n\x1a\nnot really"
    uploaded = sdk.files.create(file=("cat.png", png, "image/png"), purpose="vision", extra_body=GEMINI)
    native = fake.files[ids.decode_file(uploaded.id).native]
    assert native["_content"] == png and native["mimeType"] == "image/png"
    assert uploaded.purpose == "vision" and uploaded.bytes == len(png) and uploaded.filename == "cat.png"
    assert sdk.files.content(uploaded.id).content == png


# Batch create rules


def test_missing_model_is_a_400(sdk, fake):
    uploaded = _upload(sdk, OPENAI_JSONL.encode())
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h",
                           extra_body=GEMINI)
    assert caught.value.param == "model"
    assert fake.batches == {}


@pytest.mark.parametrize("extra, param", [
    ({"model": "../files/x"}, "model"),
    ({"model": MODEL, "input_file_id": ""}, "input_file_id"),
    ({"model": MODEL, "endpoint": "/v1/embeddings"}, "endpoint"),
    ({"model": MODEL, "metadata": {"team": "a"}}, "metadata"),
    ({"model": MODEL, "output_expires_after": {"anchor": "created_at", "seconds": 3600}}, "output_expires_after"),
])
def test_bad_batch_requests(sdk, fake, extra, param):
    uploaded = _upload(sdk, OPENAI_JSONL.encode())
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h",
                           extra_body={**GEMINI, **extra})
    assert caught.value.param == param
    assert fake.batches == {}


# Files: store copy, delete, errors (Flask test client)

AUTH = {"Authorization": "Bearer sk-test-key"}


def _post_file(client, content: bytes, purpose: str = "batch"):
    return client.post("/openai/files", headers=AUTH, content_type="multipart/form-data",
                       data={"purpose": purpose, "provider": "gemini", "file": (io.BytesIO(content), "in.jsonl")})


def test_content_when_the_stored_copy_is_gone(client, fake, app):
    file_id = _post_file(client, OPENAI_JSONL.encode()).get_json()["id"]
    key = ids.decode_file(file_id).native.removeprefix("files/")
    owned_store(app).delete("gemini", key)
    reply = client.get(f"/openai/files/{file_id}/content", headers=AUTH)
    assert reply.status_code == 404
    error = reply.get_json()["error"]
    assert error["code"] == "file_content_unavailable" and "does not give back uploaded files" in error["message"]
    # The Gemini file itself is still there and can still be retrieved and deleted.
    assert client.get(f"/openai/files/{file_id}", headers=AUTH).get_json()["filename"] == "in.jsonl"
    assert client.delete(f"/openai/files/{file_id}", headers=AUTH).get_json()["deleted"] is True


def test_generated_files_download_raw(client, fake):
    line = b'{"key": "k", "error": {"code": 3, "message": "bad"}}\n'
    fake._add_file("files/batch-raw", line, "application/jsonl", "GENERATED", None)
    reply = client.get(f"/openai/files/{ids.encode_file('gemini', 'files/batch-raw')}/content", headers=AUTH)
    assert reply.status_code == 200 and reply.data == line


def test_delete_removes_both_and_then_404s(client, fake, app):
    file_id = _post_file(client, OPENAI_JSONL.encode()).get_json()["id"]
    native = ids.decode_file(file_id).native
    assert client.delete(f"/openai/files/{file_id}", headers=AUTH).status_code == 200
    assert native not in fake.files
    with pytest.raises(Exception, match="No such file"):
        owned_store(app).get("gemini", native.removeprefix("files/"))
    reply = client.delete(f"/openai/files/{file_id}", headers=AUTH)
    assert reply.status_code == 404 and reply.get_json()["error"]["param"] == "id"


def test_delete_output_file_deletes_the_results_file(sdk, fake):
    uploaded = _upload(sdk, OPENAI_JSONL.encode())
    batch = sdk.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h",
                               extra_body={"provider": "gemini", "model": MODEL})
    batch = _finish(sdk, batch.id)
    results = fake.batches[ids.decode_batch(batch.id).native]["response"]["responsesFile"]
    assert sdk.files.delete(batch.output_file_id).deleted is True
    assert results not in fake.files


def test_unknown_ids_are_404(client, fake):
    assert client.get(f"/openai/batches/{ids.encode_batch('gemini', 'batches/nope')}", headers=AUTH).status_code == 404
    reply = client.get(f"/openai/files/{ids.encode_file('gemini', 'files/nope')}", headers=AUTH)
    assert reply.status_code == 404 and reply.get_json()["error"]["code"] == "NOT_FOUND"


def test_gateway_key_mode_sends_the_gateway_gemini_key(client, make_fake, app):
    app.config.update(API_KEYS=["gw-client"], GEMINI_API_KEY="gemini-secret")
    fake = make_fake(api_key="gemini-secret")
    reply = client.post("/openai/files", headers={"Authorization": "Bearer gw-client"},
                        content_type="multipart/form-data",
                        data={"purpose": "batch", "provider": "gemini",
                              "file": (io.BytesIO(OPENAI_JSONL.encode()), "in.jsonl")})
    assert reply.status_code == 200 and len(fake.files) == 1
    assert "gemini-secret" not in reply.get_data(as_text=True)


def test_wrong_key_is_reported_without_the_key(client, fake):
    reply = client.get("/openai/files?provider=gemini", headers={"Authorization": "Bearer sk-wrong"})
    assert reply.status_code == 400
    assert "API key not valid" in reply.get_json()["error"]["message"]
    assert "sk-wrong" not in reply.get_data(as_text=True)


def test_a_batch_reply_that_is_not_gemini_shaped_is_a_502(client, fake):
    uploaded = _post_file(client, OPENAI_JSONL.encode()).get_json()["id"]
    reply = client.post("/openai/batches", headers=AUTH, json={
        "input_file_id": uploaded, "endpoint": "/v1/chat/completions", "completion_window": "24h",
        "provider": "gemini", "model": MODEL})
    batch_id = reply.get_json()["id"]
    stored = next(iter(fake.batches.values()))
    fake.unchecked.add(stored["name"])  # not Gemini's shape at all
    stored["metadata"]["createTime"] = "yesterday"
    reply = client.get(f"/openai/batches/{batch_id}", headers=AUTH)
    assert reply.status_code == 502 and reply.get_json()["error"]["code"] == "unmappable_reply"


def test_a_large_upload_is_converted_with_bounded_memory(client, make_fake, app, monkeypatch):
    """20 MB of OpenAI lines: converted and stored without holding the file (the fake's own
    `responses` layer reads the upload body whole, so memory is measured before the bytes go up)."""
    fake = make_fake(keep_uploads=False)
    peaks = []
    start_upload = fake.start_upload

    def measured_start(*args):
        peaks.append(tracemalloc.get_traced_memory()[1])
        return start_upload(*args)

    monkeypatch.setattr(fake, "start_upload", measured_start)
    text = "x" * 2000
    with tempfile.TemporaryFile() as upload:
        number = 0
        while upload.tell() < 20 * 1024 * 1024:
            upload.write(_line(f"r{number}", text).encode() + b"\n")
            number += 1
        size = upload.tell()
        upload.seek(0)
        tracemalloc.start()
        try:
            reply = client.post("/openai/files", headers=AUTH, content_type="multipart/form-data",
                                data={"purpose": "batch", "provider": "gemini", "file": (upload, "big.jsonl")})
        finally:
            tracemalloc.stop()
    assert reply.status_code == 200 and reply.get_json()["bytes"] == size
    # Held at once: one body read, the multipart decoder's buffer, a block of lines being checked and
    # its converted lines: a few reads' worth, whatever the file size.
    limit = 8 * uploads.CHUNK
    assert peaks and peaks[0] < limit, f"peak {peaks[0] / 1e6:.1f} MB while converting {size / 1e6:.0f} MB"
    uploaded = next(iter(fake.files.values()))
    assert int(uploaded["sizeBytes"]) > 0.9 * size
    assert _stored(app)[0].bytes == size


def test_bad_inline_request_names_it(sdk, fake):
    requests = [json.loads(_line("a", "One")), json.loads(_line("b", "Two", logit_bias={"1": 1}))]
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.batches.create(input_file_id="", endpoint="/v1/chat/completions", completion_window="24h",
                           extra_body={"provider": "gemini", "model": MODEL, "requests": requests})
    assert caught.value.param == "line 2" and "logit_bias" in caught.value.message
    assert fake.batches == {}


def test_results_gone_upstream_is_an_error_status_before_any_byte(client, fake):
    file_id = _post_file(client, OPENAI_JSONL.encode()).get_json()["id"]
    batch_id = client.post("/openai/batches", headers=AUTH, json={
        "input_file_id": file_id, "endpoint": "/v1/chat/completions", "completion_window": "24h",
        "provider": "gemini", "model": MODEL}).get_json()["id"]
    for _ in range(3):
        batch = client.get(f"/openai/batches/{batch_id}", headers=AUTH).get_json()
    assert batch["status"] == "completed"
    del fake.files[f"files/batch-{ids.decode_batch(batch_id).native.rpartition('/')[2]}"]
    reply = client.get(f"/openai/files/{batch['output_file_id']}/content", headers=AUTH)
    assert reply.status_code == 404 and reply.get_json()["error"]["code"] == "NOT_FOUND"


def test_create_answers_200_even_when_the_created_job_does_not_map(client, fake, monkeypatch):
    from blueprints.gemini import operations

    uploaded = _post_file(client, OPENAI_JSONL.encode()).get_json()["id"]

    def unmappable(*args, **kwargs):
        raise KeyError("BATCH_STATE_NEW")

    monkeypatch.setattr(operations.translate, "batch_object", unmappable)
    reply = client.post("/openai/batches", headers=AUTH, json={
        "input_file_id": uploaded, "endpoint": "/v1/chat/completions", "completion_window": "24h",
        "provider": "gemini", "model": MODEL})
    assert reply.status_code == 200, reply.get_json()
    body = reply.get_json()
    assert ids.decode_batch(body["id"]).native == next(iter(fake.batches))
    assert body["status"] == "validating" and body["input_file_id"] == uploaded and body["model"] == MODEL
    assert len(fake.batches) == 1
    reply = client.get(f"/openai/batches/{body['id']}", headers=AUTH)
    assert reply.status_code == 502 and reply.get_json()["error"]["code"] == "unmappable_reply"
