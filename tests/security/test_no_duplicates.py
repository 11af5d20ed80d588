"""A create the SDK would retry into a duplicate: whatever goes wrong after the upstream create,
the client is told not to retry, so one SDK call makes exactly one upstream batch. And the file
store takes files only for keys the provider accepts."""

from __future__ import annotations

import io
import json

import httpx2 as httpx
import openai
import pytest
import responses

from tests.conftest import ANTHROPIC_BASE

REQUESTS = [{"custom_id": "a", "params": {"model": "claude-3-haiku-20240307", "max_tokens": 5,
                                          "messages": [{"role": "user", "content": "hi"}]}}]


@pytest.mark.parametrize("reply", [
    {"type": "message_batch"},  # no id
    {"id": 12345, "type": "message_batch"},  # not a string
    {"id": "msgbatch_ok", "type": "message_batch", "processing_status": "surprise"},  # id, but nothing else maps
    "<html>not json</html>",
])
def test_one_sdk_call_makes_one_upstream_create(gateway, rsps, reply):
    body = reply if isinstance(reply, str) else json.dumps(reply)
    rsps.add(responses.POST, f"{ANTHROPIC_BASE}/v1/messages/batches", body=body, status=200,
             content_type="application/json")
    sdk = openai.OpenAI(base_url=f"{gateway}/openai", api_key="sk-ant", max_retries=3, http_client=httpx.Client())
    try:
        batch = sdk.batches.create(input_file_id="", endpoint="/v1/chat/completions", completion_window="24h",
                                   extra_body={"provider": "anthropic", "requests": REQUESTS})
        assert batch.id == "msgbatch_ok"  # the one case that names the created batch answers with it
    except openai.APIStatusError as error:
        assert error.status_code == 502 and error.response.headers["x-should-retry"] == "false"
    creates = [c for c in rsps.calls if c.request.method == "POST"]
    assert len(creates) == 1


def test_an_upload_with_a_key_anthropic_refuses_stores_nothing(client, rsps, tmp_path):
    rsps.add(responses.GET, f"{ANTHROPIC_BASE}/v1/messages/batches", status=401,
             json={"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}})
    line = {"custom_id": "a", "method": "POST", "url": "/v1/chat/completions",
            "body": {"model": "claude-3-haiku-20240307", "messages": [{"role": "user", "content": "hi"}]}}
    response = client.post("/openai/v1/files", headers={"Authorization": "Bearer made-up"},
                           content_type="multipart/form-data",
                           data={"purpose": "batch", "provider": "anthropic",
                                 "file": (io.BytesIO((json.dumps(line) + "\n").encode()), "in.jsonl")})
    assert response.status_code == 401
    assert not [p for p in (tmp_path / "files").rglob("*.jsonl")]
