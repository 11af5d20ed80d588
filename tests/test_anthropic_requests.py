"""Requests to Anthropic are held to the official types before anything is submitted: a line or an
inline request the types (or the API's per-model sampling rules) refuse is a 400 from the gateway
that names it, at upload and at batch create, and nothing reaches Anthropic. The fake checks every
body that does reach it (tests/fakes/anthropic.py), so the accepted cases are checked too."""

from __future__ import annotations

import io
import json

import openai
import pytest
import requests

from tests.conftest import ANTHROPIC_BASE
from tests.fakes.anthropic import FakeAnthropic, anthropic_fakes

CHAT = "/v1/chat/completions"
PROVIDER = {"provider": "anthropic"}
NEW_VERSION = "2026-10-21"  # temperature, top_p and top_k removed from the Messages API

BMP = {"type": "image_url", "image_url": {"url": "data:image/bmp;base64,Qk0eAAAAAAAAABoAAAAMAAAA"}}
CSV = {"type": "file", "file": {"filename": "data.csv", "file_data": "data:text/csv;base64,YSxiCjEsMgo="}}


@pytest.fixture
def fake(rsps):
    with anthropic_fakes(rsps) as make:
        yield make(polls_until_ended=2, api_key="sk-test-key")


def body(content: object = "Hi", model: str | None = "claude-sonnet-4-5", **fields) -> dict:
    out = {"messages": [{"role": "user", "content": content}], **fields}
    if model:
        out["model"] = model
    return out


def line(custom_id: str, chat_body: dict) -> str:
    return json.dumps({"custom_id": custom_id, "method": "POST", "url": CHAT, "body": chat_body})


def upload(sdk, lines: list[str]):
    return sdk.files.create(file=("in.jsonl", ("\n".join(lines) + "\n").encode(), "application/jsonl"),
                            purpose="batch", extra_body=PROVIDER)


def create_inline(sdk, items: list[dict], **extra):
    return sdk.batches.create(input_file_id="", endpoint=CHAT, completion_window="24h",
                              extra_body={**PROVIDER, "requests": items, **extra})


def nothing_sent(fake: FakeAnthropic) -> bool:
    return fake.created_bodies == [] and not any(method == "POST" for method, _ in fake.calls)


# (what, chat body, API version, the field the 400 names)
REFUSED = [
    ("image/bmp", body([{"type": "text", "text": "What is this?"}, BMP]), None, "messages[0].content[1]"),
    ("text/csv document", body([CSV]), None, "messages[0].content[0].file.file_data"),
    ("temperature+top_p on claude-sonnet-4-5", body(temperature=0.5, top_p=0.9), None, "top_p"),
    ("temperature on claude-opus-4-7", body(model="claude-opus-4-7", temperature=0.5), None, "temperature"),
    ("top_p on API 2026-10-21", body(model="claude-3-haiku-20240307", top_p=0.5), NEW_VERSION, "top_p"),
    ("temperature on API 2026-10-21, no model", body(model=None, temperature=0), NEW_VERSION, "temperature"),
]


AUTH = {"Authorization": "Bearer sk-test-key"}


def post_upload(client, lines: list[str]):
    data = {"purpose": "batch", "provider": "anthropic",
            "file": (io.BytesIO(("\n".join(lines) + "\n").encode()), "in.jsonl", "application/jsonl")}
    return client.post("/openai/v1/files", headers=AUTH, data=data, content_type="multipart/form-data")


def post_create(client, items: list[dict], **extra):
    return client.post("/openai/v1/batches", headers=AUTH, json={
        "input_file_id": "", "endpoint": CHAT, "completion_window": "24h", **PROVIDER, "requests": items, **extra})


@pytest.mark.parametrize("what, chat_body, version, field", REFUSED, ids=[r[0] for r in REFUSED])
def test_refused_at_upload(client, fake, app, what, chat_body, version, field):
    if version:
        app.config["ANTHROPIC_VERSION"] = version
    response = post_upload(client, [line("fine", body()), line("bad", chat_body)])
    assert response.status_code == 400, response.json
    error = response.json["error"]
    assert error["message"].startswith("Line 2:") and field in error["param"]
    assert client.get("/openai/v1/files?provider=anthropic", headers=AUTH).json["data"] == []
    assert nothing_sent(fake)


@pytest.mark.parametrize("what, chat_body, version, field", REFUSED, ids=[r[0] for r in REFUSED])
def test_refused_at_create_inline(client, fake, app, what, chat_body, version, field):
    if version:
        app.config["ANTHROPIC_VERSION"] = version
    response = post_create(client, [{"custom_id": "fine", "body": body()}, {"custom_id": "bad", "body": chat_body}],
                           model="claude-sonnet-4-5")
    assert response.status_code == 400, response.json
    param = response.json["error"]["param"]
    assert param.startswith("requests[1].body.") and field in param
    assert nothing_sent(fake)


def test_refused_through_the_sdk_at_upload_and_at_create(sdk, fake):
    chat_body = REFUSED[0][1]
    with pytest.raises(openai.BadRequestError) as caught:
        upload(sdk, [line("fine", body()), line("bad", chat_body)])
    assert "- Line 2:" in caught.value.message
    assert caught.value.param == "line 2: body.messages[0].content[1].image_url.url"
    with pytest.raises(openai.BadRequestError) as caught:
        create_inline(sdk, [{"custom_id": "bad", "body": chat_body}])
    assert caught.value.param == "requests[0].body.messages[0].content[1].image_url.url"
    assert nothing_sent(fake)


@pytest.mark.parametrize("params, version, field", [
    ({"temperature": 0.5, "top_p": 0.9}, None, "requests[0].params.top_p"),
    ({"model": "claude-opus-4-7", "temperature": 0.5}, None, "requests[0].params.temperature"),
    ({"top_k": 5}, NEW_VERSION, "requests[0].params.top_k"),
])
def test_native_items_follow_the_sampling_rules(client, fake, app, params, version, field):
    if version:
        app.config["ANTHROPIC_VERSION"] = version
    item = {"custom_id": "n", "params": {"model": "claude-sonnet-4-5", "max_tokens": 10,
                                         "messages": [{"role": "user", "content": "Hi"}], **params}}
    response = post_create(client, [item])
    assert response.status_code == 400 and response.json["error"]["param"] == field
    assert nothing_sent(fake)


@pytest.mark.parametrize("model, fields, field", [
    ("claude-sonnet-4-5", {"temperature": 0.5, "top_p": 0.9}, "top_p"),
    ("claude-opus-4-7", {"temperature": 0.5}, "temperature"),
])
def test_file_lines_checked_again_for_the_batch_model(sdk, fake, model, fields, field):
    # At upload the model is not known (the lines name none): only the API-version rule applies.
    uploaded = upload(sdk, [line("a", body(model=None)), line("b", body(model=None, **fields))])
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.batches.create(input_file_id=uploaded.id, endpoint=CHAT, completion_window="24h",
                           extra_body={**PROVIDER, "model": model})
    assert "- Line 2:" in caught.value.message and field in caught.value.param
    assert nothing_sent(fake)


def test_accepted_requests_go_out_as_the_new_api_version_takes_them(sdk, fake, app):
    app.config["ANTHROPIC_VERSION"] = NEW_VERSION
    png = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
    text = {"type": "file", "file": {"filename": "notes.txt", "file_data": "aGVsbG8="}}
    uploaded = upload(sdk, [line("a", body([{"type": "text", "text": "Look"}, png, text], max_tokens=20,
                                            stop=["END"], user="u1"))])
    batch = sdk.batches.create(input_file_id=uploaded.id, endpoint=CHAT, completion_window="24h")
    assert batch.status == "in_progress"
    assert set(fake.versions) == {NEW_VERSION}  # the header comes from ANTHROPIC_VERSION
    sent = fake.created_bodies[0]["requests"][0]["params"]
    assert sent["messages"][0]["content"][2] == {"type": "document", "source": {
        "type": "text", "media_type": "text/plain", "data": "hello"}}
    assert "temperature" not in sent and sent["metadata"] == {"user_id": "u1"}


# The fake itself: it refuses what the official types refuse, and records it


@pytest.mark.parametrize("params", [
    {"model": "m", "max_tokens": 1, "messages": [{"role": "user", "content": [
        {"type": "image", "source": {"type": "base64", "media_type": "image/bmp", "data": "Qk0="}}]}]},
    {"model": "m", "max_tokens": 1, "messages": [{"role": "user", "content": "x"}], "frobnicate": True},
    {"model": "m", "messages": [{"role": "user", "content": "x"}]},
])
def test_the_fake_refuses_bodies_outside_the_types(rsps, params):
    fake = FakeAnthropic(api_key="k").register(rsps)
    reply = requests.post(f"{ANTHROPIC_BASE}/v1/messages/batches", json={"requests": [
        {"custom_id": "a", "params": params}]}, headers={"x-api-key": "k", "anthropic-version": "2023-06-01"})
    assert reply.status_code == 400 and reply.json()["error"]["type"] == "invalid_request_error"
    assert len(fake.violations) == 1 and fake.batches == {}


def test_the_fake_checks_sampling_fields_per_api_version(rsps):
    fake = FakeAnthropic(api_key="k").register(rsps)
    item = {"custom_id": "a", "params": {"model": "m", "max_tokens": 1, "temperature": 0.5,
                                         "messages": [{"role": "user", "content": "x"}]}}
    for version, status in (("2023-06-01", 200), (NEW_VERSION, 400), ("2099-01-01", 400)):
        reply = requests.post(f"{ANTHROPIC_BASE}/v1/messages/batches", json={"requests": [item]},
                              headers={"x-api-key": "k", "anthropic-version": version})
        assert reply.status_code == status, version
    assert len(fake.violations) == 2
