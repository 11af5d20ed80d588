"""Anthropic provider through the gateway: Flask test-client tests and end-to-end runs of the real
`openai` SDK (strict) against the served app, with the Message Batches fake on `rsps`."""

from __future__ import annotations

import json

import openai
import pytest

from blueprints.dispatcher import ids
from tests import seed
from tests.fakes.anthropic import FakeAnthropic, anthropic_fakes, unix

CHAT = "/v1/chat/completions"


@pytest.fixture
def fakes(rsps):
    """Makes Anthropic fakes; a request or reply outside the SDK types fails the test at teardown."""
    with anthropic_fakes(rsps) as make:
        yield make


@pytest.fixture
def fake(fakes) -> FakeAnthropic:
    return fakes(polls_until_ended=2, api_key="sk-test-key")


def jsonl_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.split("\n") if line.strip()]


def test_seed_snippet_then_results(gateway, fake):
    scope = seed.run("anthropic", gateway, api_key="sk-test-key", strict=True)  # the document's snippet
    client, batch, requests = scope["client"], scope["batch"], scope["requests"]
    assert batch.status == "completed"
    assert batch.id.startswith("msgbatch_")
    assert batch.input_file_id == ""
    assert batch.request_counts.total == 2 and batch.request_counts.completed == 2
    assert batch.error_file_id  # offered, empty: nothing failed or failed to convert
    assert batch.completed_at == batch.created_at + 5 * 60 - 0  # fake ends 5 minutes after creation
    body = fake.created_bodies[0]
    assert body == {"requests": requests}  # native items pass through unchanged

    output = client.files.content(batch.output_file_id)
    lines = jsonl_lines(output.text)
    assert [line["custom_id"] for line in lines] == ["math-question", "geography-question"]
    for line in lines:
        assert line["error"] is None
        response = line["response"]
        assert response["status_code"] == 200
        completion = response["body"]
        assert completion["object"] == "chat.completion"
        assert completion["created"] == batch.completed_at
        assert completion["model"] == "claude-3-sonnet-20240229"
        assert completion["choices"][0]["finish_reason"] == "stop"
        assert completion["choices"][0]["message"]["content"].startswith("echo: What is")
        assert completion["usage"] == {"prompt_tokens": 15, "completion_tokens": 5, "total_tokens": 20,
                                       "prompt_tokens_details": {"cached_tokens": 3}}
        assert line["id"] == f"batch_req_{completion['id']}"
    info = client.files.retrieve(batch.output_file_id)
    assert info.purpose == "batch_output" and info.bytes == len(output.content)
    assert client.files.content(batch.error_file_id).content == b""
    assert client.files.retrieve(batch.error_file_id).bytes == 0


def openai_line(custom_id: str, content: str = "Hello", **body) -> str:
    return json.dumps({"custom_id": custom_id, "method": "POST", "url": CHAT,
                       "body": {"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": content}],
                                **body}})


def upload(sdk, lines: list[str], name: str = "batch_input.jsonl"):
    return sdk.files.create(file=(name, ("\n".join(lines) + "\n").encode(), "application/jsonl"),
                            purpose="batch", extra_body={"provider": "anthropic"})


def run_to_end(sdk, batch_id: str, polls: int = 10):
    for _ in range(polls):
        batch = sdk.batches.retrieve(batch_id, extra_query={"provider": "anthropic"})
        if batch.status in ("completed", "failed", "expired", "cancelled"):
            return batch
    raise AssertionError(f"batch {batch_id} did not end")


# File-based flow


def test_file_flow_with_mixed_results(sdk, fake):
    lines = [
        openai_line("ok-1", "First", max_tokens=50, temperature=0.2, stop=["\n\n"]),
        openai_line("tool-1", "Weather?", tools=[{"type": "function", "function": {"name": "lookup"}}]),
        openai_line("error-1", "Bad"),
        openai_line("overload-1", "Busy"),
        openai_line("expire-1", "Slow"),
    ]
    uploaded = upload(sdk, lines)
    assert uploaded.id.startswith("file-dsaf_") and uploaded.purpose == "batch"
    assert uploaded.bytes == len(("\n".join(lines) + "\n").encode()) and uploaded.filename == "batch_input.jsonl"
    assert sdk.files.retrieve(uploaded.id).id == uploaded.id
    assert sdk.files.content(uploaded.id).text == "\n".join(lines) + "\n"  # stored exactly as sent
    assert [f.id for f in sdk.files.list(extra_query={"provider": "anthropic"})] == [uploaded.id]

    # provider comes from the file ID itself
    batch = sdk.batches.create(input_file_id=uploaded.id, endpoint=CHAT, completion_window="24h")
    assert batch.id.startswith("batch_dsa_") and batch.input_file_id == uploaded.id
    assert ids.decode_batch(batch.id).native == f"{next(iter(fake.batches))}@{ids.decode_file(uploaded.id).native}"
    assert sdk.batches.retrieve(batch.id).input_file_id == uploaded.id  # recovered from the ID, no state
    assert batch.status == "in_progress" and batch.output_file_id is None
    sent = fake.created_bodies[0]["requests"]
    assert sent[0] == {"custom_id": "ok-1", "params": {
        "model": "claude-sonnet-4-5", "max_tokens": 50, "messages": [{"role": "user", "content": "First"}],
        "temperature": 0.2, "stop_sequences": ["\n\n"]}}
    assert sent[1]["params"]["max_tokens"] == 4096  # the configured default
    assert sent[1]["params"]["tools"] == [{"name": "lookup", "input_schema": {"type": "object", "properties": {}}}]

    batch = run_to_end(sdk, batch.id)
    assert batch.status == "expired"  # one request expired
    assert batch.request_counts.model_dump() == {"total": 5, "completed": 2, "failed": 3}
    assert batch.output_file_id and batch.error_file_id

    output = jsonl_lines(sdk.files.content(batch.output_file_id).text)
    assert {line["custom_id"] for line in output} == {"ok-1", "tool-1"}
    tool = next(line for line in output if line["custom_id"] == "tool-1")["response"]["body"]["choices"][0]
    assert tool["finish_reason"] == "tool_calls"
    assert tool["message"]["content"] == "Let me look."
    assert tool["message"]["tool_calls"] == [
        {"id": "toolu_0001", "type": "function", "function": {"name": "lookup", "arguments": '{"q": "x"}'}}]

    errors = {line["custom_id"]: line for line in jsonl_lines(sdk.files.content(batch.error_file_id).text)}
    assert set(errors) == {"error-1", "overload-1", "expire-1"}
    assert errors["error-1"]["response"]["status_code"] == 400
    assert errors["error-1"]["response"]["body"]["error"]["type"] == "invalid_request_error"
    assert errors["overload-1"]["response"]["status_code"] == 529
    assert errors["overload-1"]["response"]["body"]["error"]["code"] == "overloaded_error"
    assert errors["expire-1"]["response"] is None
    assert errors["expire-1"]["error"]["code"] == "batch_expired"

    error_file = sdk.files.retrieve(batch.error_file_id)
    assert error_file.purpose == "batch_output" and error_file.bytes > 0
    assert error_file.created_at == batch.expired_at


def test_file_expires_after(sdk, fake):
    uploaded = sdk.files.create(file=("in.jsonl", (openai_line("a") + "\n").encode()), purpose="batch",
                                expires_after={"anchor": "created_at", "seconds": 3600},
                                extra_body={"provider": "anthropic"})
    assert uploaded.expires_at == uploaded.created_at + 3600
    assert sdk.files.retrieve(uploaded.id).expires_at == uploaded.expires_at


def test_file_delete(sdk, fake):
    uploaded = upload(sdk, [openai_line("a")])
    deleted = sdk.files.delete(uploaded.id)
    assert deleted.deleted is True and deleted.id == uploaded.id
    with pytest.raises(openai.NotFoundError):
        sdk.files.retrieve(uploaded.id)
    with pytest.raises(openai.NotFoundError):
        sdk.files.delete(uploaded.id)


def test_file_list_pages_and_order(sdk, fake):
    made = [upload(sdk, [openai_line(f"r{i}")], name=f"f{i}.jsonl").id for i in range(3)]
    newest_first = list(reversed(made))
    seen = [f.id for f in sdk.files.list(limit=2, extra_query={"provider": "anthropic"})]
    assert seen == newest_first
    oldest_first = [f.id for f in sdk.files.list(limit=2, order="asc", extra_query={"provider": "anthropic"})]
    assert oldest_first == made


@pytest.mark.parametrize("lines, fragment", [
    ([openai_line("a"), openai_line("a")], "Line 2"),
    ([openai_line("bad id!")], "Line 1"),
    ([openai_line("a", n=2)], "Line 1"),
    ([openai_line("a", stream=True)], "Line 1"),
    ([json.dumps({"custom_id": "a", "method": "POST", "url": "/v1/embeddings", "body": {"input": "x"}})], "Line 1"),
    (["{not json"], "Line 1"),
])
def test_bad_upload_names_the_line(sdk, fake, lines, fragment):
    with pytest.raises(openai.BadRequestError) as caught:
        upload(sdk, lines)
    assert fragment in caught.value.message
    assert sdk.files.list(extra_query={"provider": "anthropic"}).data == []


def test_upload_needs_purpose_batch(sdk, fake):
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.files.create(file=("x.jsonl", b"{}\n"), purpose="user_data", extra_body={"provider": "anthropic"})
    assert caught.value.param == "purpose"


# Split batches


def test_file_split_over_several_message_batches(sdk, fake, app):
    app.config["ANTHROPIC_MAX_BATCH_REQUESTS"] = 2
    uploaded = upload(sdk, [openai_line(f"r{i}", f"question {i}") for i in range(5)] + [openai_line("error-x")])
    batch = sdk.batches.create(input_file_id=uploaded.id, endpoint=CHAT, completion_window="24h",
                               extra_body={"provider": "anthropic"})
    assert [len(body["requests"]) for body in fake.created_bodies] == [2, 2, 2]
    ref = ids.decode_batch(batch.id)
    assert batch.id.startswith("batch_dsa_")
    assert ref.native.partition("@")[0].split(",") == list(fake.batches)
    assert batch.input_file_id == uploaded.id
    assert batch.request_counts.total == 6

    batch = run_to_end(sdk, batch.id)
    assert batch.status == "completed"
    assert batch.request_counts.model_dump() == {"total": 6, "completed": 5, "failed": 1}
    output = jsonl_lines(sdk.files.content(batch.output_file_id).text)
    assert [line["custom_id"] for line in output] == [f"r{i}" for i in range(5)]
    assert all(line["response"]["body"]["created"] == batch.completed_at for line in output)
    errors = jsonl_lines(sdk.files.content(batch.error_file_id).text)
    assert [line["custom_id"] for line in errors] == ["error-x"]


def test_split_by_bytes(client, fake, app):
    app.config["ANTHROPIC_MAX_BATCH_BYTES"] = 600
    items = [{"custom_id": f"r{i}", "params": {"model": "m", "max_tokens": 5,
                                               "messages": [{"role": "user", "content": "x" * 150}]}}
             for i in range(4)]
    response = client.post("/openai/v1/batches", headers={"Authorization": "Bearer sk-test-key"}, json={
        "input_file_id": "", "endpoint": CHAT, "completion_window": "24h", "provider": "anthropic",
        "requests": items})
    assert response.status_code == 200, response.json
    sizes = [len(json.dumps(body, separators=(",", ":"))) for body in fake.created_bodies]
    assert len(sizes) >= 2 and all(size <= 600 for size in sizes)
    assert sum(len(body["requests"]) for body in fake.created_bodies) == 4


def test_item_larger_than_byte_limit(client, fake, app):
    app.config["ANTHROPIC_MAX_BATCH_BYTES"] = 100
    response = client.post("/openai/v1/batches", headers={"Authorization": "Bearer k"}, json={
        "input_file_id": "", "endpoint": CHAT, "completion_window": "24h", "provider": "anthropic",
        "requests": [{"custom_id": "big",
                      "params": {"model": "m", "messages": [{"role": "user", "content": "x" * 200}]}}]})
    assert response.status_code == 400
    assert response.json["error"]["param"] == "requests[0]"
    assert fake.created_bodies == []


def test_failed_split_create_cancels_the_created_parts(client, fake, app):
    app.config["ANTHROPIC_MAX_BATCH_REQUESTS"] = 1
    fake.refuse_creates_after = 1
    response = client.post("/openai/v1/batches", headers={"Authorization": "Bearer sk-test-key"}, json={
        "input_file_id": "", "endpoint": CHAT, "completion_window": "24h", "provider": "anthropic",
        "requests": [{"custom_id": "a", "body": {"model": "m", "messages": [{"role": "user", "content": "x"}]}},
                     {"custom_id": "b", "body": {"model": "m", "messages": [{"role": "user", "content": "y"}]}}]})
    assert response.status_code == 502
    assert response.headers["x-should-retry"] == "false"
    (only,) = fake.batches.values()
    assert only["processing_status"] == "canceling"
    assert only["id"] in response.json["error"]["message"]


# Cancel


def test_cancel(sdk, fake):
    batch = sdk.batches.create(input_file_id="", endpoint=CHAT, completion_window="24h", extra_body={
        "provider": "anthropic", "requests": [{"custom_id": "a", "body": {
            "model": "m", "messages": [{"role": "user", "content": "x"}]}}]})
    cancelled = sdk.batches.cancel(batch.id, extra_body={"provider": "anthropic"})
    assert cancelled.status == "cancelling" and cancelled.cancelling_at is not None
    batch = sdk.batches.retrieve(batch.id)
    assert batch.status == "cancelled" and batch.cancelled_at is not None
    assert batch.request_counts.model_dump() == {"total": 1, "completed": 0, "failed": 1}
    assert sdk.files.content(batch.output_file_id).text == ""
    (line,) = jsonl_lines(sdk.files.content(batch.error_file_id).text)
    assert line["custom_id"] == "a" and line["error"]["code"] == "batch_cancelled"
    assert sdk.batches.cancel(batch.id).status == "cancelled"  # cancelling again is harmless


def test_cancel_completed_batch_is_400(sdk, fake):
    batch = sdk.batches.create(input_file_id="", endpoint=CHAT, completion_window="24h",
                               extra_body={"provider": "anthropic", "requests": [GOOD]})
    assert run_to_end(sdk, batch.id).status == "completed"
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.batches.cancel(batch.id)
    assert caught.value.code == "batch_not_cancellable"


def test_cancel_split_batch_cancels_every_part(sdk, fake, app):
    app.config["ANTHROPIC_MAX_BATCH_REQUESTS"] = 1
    batch = sdk.batches.create(input_file_id="", endpoint=CHAT, completion_window="24h", extra_body={
        "provider": "anthropic", "requests": [
            {"custom_id": c, "params": {"model": "m", "max_tokens": 1, "messages": [{"role": "user", "content": c}]}}
            for c in ("a", "b", "c")]})
    first = next(iter(fake.batches))
    fake.end_now(first)  # one part already finished: it stays as it is
    cancelled = sdk.batches.cancel(batch.id)
    assert cancelled.status == "cancelling"
    assert [b["processing_status"] for b in fake.batches.values()] == ["ended", "canceling", "canceling"]
    batch = sdk.batches.retrieve(batch.id)
    assert batch.status == "cancelled"
    assert batch.request_counts.model_dump() == {"total": 3, "completed": 1, "failed": 2}


# List


def test_list_auto_pagination_visits_every_batch_once(sdk, fake):
    made = [sdk.batches.create(input_file_id="", endpoint=CHAT, completion_window="24h", extra_body={
        "provider": "anthropic", "requests": [{"custom_id": f"r{i}", "params": {
            "model": "m", "max_tokens": 1, "messages": [{"role": "user", "content": "x"}]}}]}).id for i in range(5)]
    seen = [b.id for b in sdk.batches.list(limit=2, extra_query={"provider": "anthropic"})]
    assert seen == list(reversed(made))
    after_ids = [dict(p.split("=") for p in url.split("?")[1].split("&")).get("after_id")
                 for method, url in fake.calls if method == "GET" and url.split("?")[0].endswith("/batches")]
    assert after_ids == [None, made[3], made[1]]


# Bad batch input: 400 naming the item, nothing created upstream

GOOD = {"custom_id": "ok", "params": {"model": "m", "max_tokens": 1, "messages": [{"role": "user", "content": "x"}]}}


@pytest.mark.parametrize("body, param", [
    ({"requests": [GOOD, {**GOOD, "custom_id": "has space"}]}, "requests[1].custom_id"),
    ({"requests": [GOOD, GOOD]}, "requests[1].custom_id"),
    ({"requests": [{"custom_id": "s", "params": {**GOOD["params"], "stream": True}}]}, "requests[0].params.stream"),
    ({"requests": [{"custom_id": "s", "body": {"model": "m", "messages": [{"role": "user", "content": "x"}],
                                               "stream": True}}]}, "requests[0].body.stream"),
    ({"requests": [{"custom_id": "n", "body": {"model": "m", "messages": [{"role": "user", "content": "x"}],
                                               "n": 2}}]}, "requests[0].body.n"),
    ({"requests": [{"custom_id": "n", "body": {"messages": [{"role": "user", "content": "x"}]}}]},
     "requests[0].model"),
    ({"requests": []}, "requests"),
    ({}, "input_file_id"),
    ({"requests": [GOOD], "input_file_id": "file-dsaf_YWJj"}, "requests"),
    ({"requests": [GOOD], "endpoint": "/v1/embeddings"}, "endpoint"),
    ({"requests": [GOOD], "metadata": {"k": "v"}}, "metadata"),
])
def test_bad_batch_input(sdk, fake, body, param):
    request = {"input_file_id": "", "endpoint": CHAT, **{k: v for k, v in body.items()
                                                         if k in ("input_file_id", "endpoint", "metadata")}}
    extra = {"provider": "anthropic", **{k: v for k, v in body.items() if k == "requests"}}
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.batches.create(completion_window="24h", extra_body=extra, **request)
    assert caught.value.param == param
    assert fake.created_bodies == []


def test_inline_model_from_extra_body(sdk, fake):
    sdk.batches.create(input_file_id="", endpoint=CHAT, completion_window="24h", extra_body={
        "provider": "anthropic", "model": "claude-haiku-4-5",
        "requests": [{"custom_id": "a", "body": {"messages": [{"role": "user", "content": "x"}]}}]})
    assert fake.created_bodies[0]["requests"][0]["params"]["model"] == "claude-haiku-4-5"


# Errors and auth


def test_unknown_batch_is_404(sdk, fake):
    with pytest.raises(openai.NotFoundError) as caught:
        sdk.batches.retrieve("msgbatch_doesnotexist")
    assert caught.value.code == "not_found_error"


def test_results_before_end_are_404(sdk, fake):
    batch = sdk.batches.create(input_file_id="", endpoint=CHAT, completion_window="24h",
                               extra_body={"provider": "anthropic", "requests": [GOOD]})
    output_id = ids.encode_file("anthropic", batch.id, "output")
    fake.polls_until_ended = 99
    with pytest.raises(openai.NotFoundError):
        sdk.files.content(output_id)


def test_output_file_cannot_be_deleted(sdk, fake):
    with pytest.raises(openai.BadRequestError):
        sdk.files.delete(ids.encode_file("anthropic", "msgbatch_x", "output"))


def test_gateway_key_mode_sends_configured_key(client, fakes, app):
    fake = fakes(api_key="sk-ant-gateway")
    app.config.update(API_KEYS=["gw-key"], ANTHROPIC_API_KEY="sk-ant-gateway")
    response = client.post("/openai/v1/batches", headers={"Authorization": "Bearer gw-key"}, json={
        "input_file_id": "", "endpoint": CHAT, "completion_window": "24h", "provider": "anthropic",
        "requests": [GOOD]})
    assert response.status_code == 200, response.json
    assert response.json["id"] in fake.batches
    assert "sk-ant-gateway" not in response.get_data(as_text=True)


def test_wrong_key_maps_to_401(client, fakes):
    fakes(api_key="right")
    response = client.get("/openai/v1/batches/msgbatch_abc", headers={"Authorization": "Bearer wrong"})
    assert response.status_code == 401
    assert set(response.json["error"]) == {"message", "type", "param", "code"}
    assert "wrong" not in response.json["error"]["message"]


def test_unconvertible_result_becomes_a_502_error_line(sdk, fake):
    fake.answer_raw("odd", b'{"custom_id": "odd", "result": {"type": "vanished"}}')
    batch = sdk.batches.create(input_file_id="", endpoint=CHAT, completion_window="24h", extra_body={
        "provider": "anthropic", "requests": [GOOD, {**GOOD, "custom_id": "odd"}]})
    batch = run_to_end(sdk, batch.id)
    assert [line["custom_id"] for line in jsonl_lines(sdk.files.content(batch.output_file_id).text)] == ["ok"]
    (line,) = jsonl_lines(sdk.files.content(batch.error_file_id).text)
    assert line["custom_id"] == "odd" and line["response"]["status_code"] == 502
    assert line["response"]["body"]["error"]["code"] == "unconvertible_result"
    assert "vanished" in line["response"]["body"]["error"]["message"]
    assert line["response"]["body"]["provider_result"] == {"custom_id": "odd", "result": {"type": "vanished"}}


def test_list_after_a_split_batch_id_uses_its_last_part(client, fake):
    split_id = ids.encode_batch("anthropic", "msgbatch_a,msgbatch_b")
    response = client.get(f"/openai/v1/batches?provider=anthropic&limit=3&after={split_id}",
                          headers={"Authorization": "Bearer sk-test-key"})
    assert response.status_code == 200
    assert response.json == {"object": "list", "data": [], "first_id": None, "last_id": None, "has_more": False}
    assert fake.calls[-1][1].endswith("?limit=3&after_id=msgbatch_b")


@pytest.mark.parametrize("ended", [False, True])
def test_unknown_processing_status_falls_back(sdk, fake, monkeypatch, ended):
    """A status Anthropic adds later never fails a retrieve or a list page: ended_at decides."""
    batch = sdk.batches.create(input_file_id="", endpoint=CHAT, completion_window="24h",
                               extra_body={"provider": "anthropic", "requests": [GOOD]})
    native = fake.batches[batch.id]
    if ended:
        fake.end_now(batch.id)
    real = fake._public

    def public(stored):
        out = dict(real(stored))  # checked as sent by Anthropic today, then given a status it may add
        out["processing_status"] = "archiving"
        return out

    monkeypatch.setattr(fake, "_public", public)
    fake.polls_until_ended = 99
    retrieved = sdk.batches.retrieve(batch.id)
    listed = sdk.batches.list(extra_query={"provider": "anthropic"}).data
    assert [b.id for b in listed] == [batch.id]
    if not ended:
        assert retrieved.status == listed[0].status == "in_progress" and retrieved.output_file_id is None
        return
    assert retrieved.status == listed[0].status == "completed"
    assert retrieved.completed_at == unix(native["ended_at"])
    (line,) = jsonl_lines(sdk.files.content(retrieved.output_file_id).text)
    assert line["custom_id"] == "ok"
