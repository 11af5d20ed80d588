"""App-level behaviour through the Flask test client, with `responses` for the upstream: errors in
OpenAI's shape, request IDs and logs, credentials, upstream failures and retries, size limits."""

from __future__ import annotations

import io
import json
import logging

import pytest
import requests
import responses
from responses import registries

from app import create_app
from logformat import JsonFormatter
from schemas.error import ErrorSchema

OPENAI = "https://openai.fake/v1"
BATCH = {"id": "batch_1", "object": "batch", "endpoint": "/v1/chat/completions", "input_file_id": "file-1",
         "completion_window": "24h", "status": "in_progress", "created_at": 1700000000}


def assert_error_shape(response, status: int) -> dict:
    assert response.status_code == status
    assert response.mimetype == "application/json"
    assert ErrorSchema().validate(response.json) == {}
    return response.json["error"]


def test_healthz(client):
    assert client.get("/healthz").json == {"status": "ok"}


@pytest.mark.parametrize(
    "method, path, status",
    [("GET", "/openai/nothing", 404), ("PUT", "/openai/files", 405), ("DELETE", "/openai/batches", 405),
     ("GET", "/", 404)],
)
def test_routing_errors_are_json(client, method, path, status):
    response = client.open(path, method=method)
    assert_error_shape(response, status)
    if status == 405:
        assert "GET" in response.headers["Allow"]


def test_unexpected_errors_are_json_without_a_trace(client, rsps, monkeypatch):
    from blueprints.openai import operations

    monkeypatch.setattr(operations, "list_files", lambda query: 1 / 0)
    error = assert_error_shape(client.get("/openai/files"), 500)
    assert "ZeroDivision" not in error["message"] and "Traceback" not in error["message"]


def test_both_prefixes_serve_every_route(client, rsps):
    rsps.get(f"{OPENAI}/batches/batch_1", json=BATCH)
    for prefix in ("/openai", "/openai/v1"):
        assert client.get(f"{prefix}/batches/batch_1", headers={"Authorization": "Bearer k"}).json["id"] == "batch_1"


def test_request_id_is_echoed_or_generated_and_logged(client, rsps, caplog):
    rsps.get(f"{OPENAI}/batches/batch_1", json=BATCH)
    caplog.set_level(logging.INFO, "deepintshield.access")
    # The access line is written when the server closes the response (the test client: on close()).
    with client.get("/openai/batches/batch_1", headers={"x-request-id": "abc-123",
                                                       "Authorization": "Bearer sk-secret-1"}) as given:
        assert given.headers["x-request-id"] == "abc-123"
    with client.get("/openai/nothing") as made:
        assert made.headers["x-request-id"].startswith("req_")
    record = json.loads(JsonFormatter().format(caplog.records[0]))
    assert record["request_id"] == "abc-123" and record["provider"] == "openai" and record["status"] == 200
    assert record["route"] == "/openai/batches/<batch:batch_id>" and record["method"] == "GET"
    assert "sk-secret-1" not in caplog.text


def test_passthrough_sends_the_clients_key(client, rsps):
    call = rsps.get(f"{OPENAI}/batches/batch_1", json=BATCH)
    client.get("/openai/batches/batch_1", headers={"Authorization": "Bearer sk-client",
                                                   "OpenAI-Project": "proj_1"})
    assert call.calls[0].request.headers["Authorization"] == "Bearer sk-client"
    assert call.calls[0].request.headers["OpenAI-Project"] == "proj_1"


def test_passthrough_without_a_key_is_401(client, rsps):
    assert_error_shape(client.get("/openai/batches/batch_1"), 401)


@pytest.fixture
def keyed_client(test_config):
    test_config.update(API_KEYS=["gw-key-1", "gw-key-2"], OPENAI_API_KEY="sk-server-openai")
    return create_app(test_config).test_client()


def test_gateway_keys_mode(keyed_client, rsps, caplog):
    call = rsps.get(f"{OPENAI}/batches/batch_1", json=BATCH)
    error = assert_error_shape(keyed_client.get("/openai/batches/batch_1",
                                                headers={"Authorization": "Bearer wrong"}), 401)
    assert "wrong" not in error["message"]
    assert_error_shape(keyed_client.get("/openai/batches/batch_1"), 401)
    ok = keyed_client.get("/openai/batches/batch_1", headers={"Authorization": "Bearer gw-key-2"})
    assert ok.status_code == 200
    assert call.calls[0].request.headers["Authorization"] == "Bearer sk-server-openai"
    assert "sk-server-openai" not in caplog.text and "sk-server-openai" not in ok.get_data(as_text=True)


def test_gateway_keys_mode_without_a_provider_key(test_config, rsps):
    test_config.update(API_KEYS=["gw"], OPENAI_API_KEY="")
    client = create_app(test_config).test_client()
    error = assert_error_shape(
        client.get("/openai/batches/batch_1", headers={"Authorization": "Bearer gw"}), 400)
    assert error["code"] == "provider_not_configured" and "OPENAI_API_KEY" in error["message"]
    assert len(rsps.calls) == 0


AUTH = {"Authorization": "Bearer sk-test"}


@pytest.mark.parametrize(
    "upstream_status, body, status",
    [
        (404, {"error": {"message": "No such batch", "type": "invalid_request_error", "param": "id", "code": None}},
         404),
        (429, {"error": {"message": "Slow down", "type": "rate_limit_error", "param": None, "code": None}}, 429),
        (401, {"error": {"message": "Incorrect API key provided: sk-te****", "type": "invalid_request_error",
                         "param": None, "code": "invalid_api_key"}}, 401),
        (500, {"error": {"message": "boom", "type": "server_error", "param": None, "code": None}}, 502),
        (418, "teapot", 400),
    ],
)
def test_upstream_errors_keep_status_and_name_the_provider(client, test_config, upstream_status, body, status):
    with responses.RequestsMock() as rsps:
        kwargs = {"json": body} if isinstance(body, dict) else {"body": body}
        rsps.get(f"{OPENAI}/batches/batch_1", status=upstream_status, **kwargs)
        error = assert_error_shape(client.get("/openai/batches/batch_1", headers=AUTH), status)
    assert error["message"].startswith("openai answered:")


def test_upstream_timeout_and_refused_connection(client, rsps):
    rsps.get(f"{OPENAI}/batches/batch_1", body=requests.ReadTimeout("read timed out"))
    error = assert_error_shape(client.get("/openai/batches/batch_1", headers=AUTH), 504)
    assert error["code"] == "upstream_timeout"
    rsps.get(f"{OPENAI}/batches/batch_2", body=requests.ConnectionError("Connection refused"))
    error = assert_error_shape(client.get("/openai/batches/batch_2", headers=AUTH), 502)
    assert error["code"] == "upstream_unreachable"


def test_create_with_unknown_outcome_tells_the_sdk_not_to_retry(client, rsps):
    rsps.post(f"{OPENAI}/batches", body=requests.ReadTimeout("read timed out"))
    response = client.post("/openai/batches", headers=AUTH, json={
        "input_file_id": "file-1", "endpoint": "/v1/chat/completions", "completion_window": "24h"})
    assert_error_shape(response, 504)
    assert response.headers["x-should-retry"] == "false"
    rsps.post(f"{OPENAI}/batches", status=503, json={"error": {"message": "overloaded"}})
    rsps.replace("POST", f"{OPENAI}/batches", status=503, json={"error": {"message": "overloaded"}})
    response = client.post("/openai/batches", headers=AUTH, json={
        "input_file_id": "file-1", "endpoint": "/v1/chat/completions", "completion_window": "24h"})
    assert response.status_code == 502 and response.headers["x-should-retry"] == "false"


def test_idempotent_calls_are_retried_honouring_retry_after_but_posts_are_not(client):
    with responses.RequestsMock(registry=registries.OrderedRegistry) as rsps:
        first = rsps.get(f"{OPENAI}/batches/batch_1", status=503, headers={"Retry-After": "0"})
        second = rsps.get(f"{OPENAI}/batches/batch_1", json=BATCH)
        assert client.get("/openai/batches/batch_1", headers=AUTH).status_code == 200
        assert first.call_count == 1 and second.call_count == 1
    with responses.RequestsMock(registry=registries.OrderedRegistry, assert_all_requests_are_fired=False) as rsps:
        post = rsps.post(f"{OPENAI}/batches/batch_1/cancel", status=503, json={"error": {"message": "x"}})
        rsps.post(f"{OPENAI}/batches/batch_1/cancel", json=BATCH)
        assert client.post("/openai/batches/batch_1/cancel", headers=AUTH).status_code == 502
        assert post.call_count == 1


def test_bodiless_cancel_and_delete_with_json_content_type(client, rsps):
    rsps.post(f"{OPENAI}/batches/batch_1/cancel", json={**BATCH, "status": "cancelling"})
    rsps.delete(f"{OPENAI}/files/file-1", json={"id": "file-1", "object": "file", "deleted": True})
    headers = {**AUTH, "Content-Type": "application/json"}
    assert client.post("/openai/batches/batch_1/cancel", headers=headers).json["status"] == "cancelling"
    assert client.delete("/openai/files/file-1", headers=headers).json["deleted"] is True
    assert client.delete("/openai/files/file-1", headers=headers, json={"provider": "openai"}).status_code == 200


def test_malformed_bodies_and_unknown_fields_are_400(client, rsps):
    response = client.post("/openai/batches", headers={**AUTH, "Content-Type": "application/json"}, data="{oops")
    assert_error_shape(response, 400)
    error = assert_error_shape(client.post("/openai/batches", headers=AUTH, json={
        "input_file_id": "file-1", "endpoint": "/v1/chat/completions", "completion_window": "24h",
        "provder": "openai"}), 400)
    assert error["param"] == "provder"
    error = assert_error_shape(client.post("/openai/batches", headers=AUTH, json={
        "input_file_id": "file-1", "endpoint": "/v1/chat/completions", "completion_window": "24h",
        "metadata": {"k": 1}}), 400)
    assert error["param"].startswith("metadata")
    assert len(rsps.calls) == 0


def test_upstream_reply_that_is_not_an_openai_object_is_502(client, rsps):
    rsps.get(f"{OPENAI}/batches/batch_1", json={**BATCH, "status": "ended"})
    error = assert_error_shape(client.get("/openai/batches/batch_1", headers=AUTH), 502)
    assert "status" in error["message"]


def test_upload_larger_than_the_limit_is_413_before_reading(test_config, rsps):
    test_config["MAX_CONTENT_LENGTH"] = 1000
    client = create_app(test_config).test_client()
    response = client.post("/openai/files", headers=AUTH, data={
        "purpose": "batch", "file": (io.BytesIO(b"x" * 5000), "big.jsonl")})
    error = assert_error_shape(response, 413)
    assert "DEEPINTSHIELD_MAX_UPLOAD_BYTES" in error["message"]
    assert len(rsps.calls) == 0


def test_upload_needs_multipart_and_a_file(client, rsps):
    assert_error_shape(client.post("/openai/files", headers=AUTH, json={"purpose": "batch"}), 400)
    error = assert_error_shape(client.post("/openai/files", headers=AUTH, data={"purpose": "batch"}), 400)
    assert error["param"] == "file"


def test_file_before_purpose_is_spooled_and_still_routed(client, rsps):
    stored = rsps.post(f"{OPENAI}/files", json={"id": "file-1", "object": "file", "bytes": 3, "created_at": 1,
                                                "filename": "a.txt", "purpose": "user_data", "status": "processed"})
    boundary = "b0undary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\nabc\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nuser_data\r\n"
            f"--{boundary}--\r\n").encode()
    response = client.post("/openai/files", headers=AUTH, data=body,
                           content_type=f"multipart/form-data; boundary={boundary}")
    assert response.status_code == 200, response.json
    sent = b"".join(stored.calls[0].request.body)
    assert b"abc" in sent and b'name="purpose"\r\n\r\nuser_data' in sent


def test_upstream_reply_that_is_not_json_is_502_and_not_retried_after_a_post(client, rsps):
    rsps.get(f"{OPENAI}/batches/batch_1", body="<html>gateway timeout</html>", content_type="text/html")
    error = assert_error_shape(client.get("/openai/batches/batch_1", headers=AUTH), 502)
    assert "not a JSON object" in error["message"] and error["message"].startswith("openai answered")
    rsps.post(f"{OPENAI}/batches", body="<html>", content_type="text/html")
    response = client.post("/openai/batches", headers=AUTH, json={
        "input_file_id": "file-1", "endpoint": "/v1/chat/completions", "completion_window": "24h"})
    assert response.status_code == 502 and response.headers["x-should-retry"] == "false"


def test_a_huge_plain_form_field_is_413(client, rsps):
    response = client.post("/openai/files", headers=AUTH, data={
        "purpose": "batch", "note": "x" * (1024 * 1024 + 1), "file": (io.BytesIO(b"{}"), "a.jsonl")})
    error = assert_error_shape(response, 413)
    assert error["param"] == "note"
    assert len(rsps.calls) == 0


def test_a_malformed_multipart_body_is_400(client, rsps):
    response = client.post("/openai/files", headers=AUTH, data=b"--b\r\nno headers here\r\n\r\n",
                           content_type="multipart/form-data; boundary=b")
    assert_error_shape(response, 400)


def test_startup_log_says_which_credential_mode_runs(test_config, caplog):
    caplog.set_level(logging.INFO, "deepintshield")
    create_app(test_config)
    assert "passthrough mode" in caplog.text and "loopback clients only" in caplog.text
    caplog.clear()
    create_app({**test_config, "API_KEYS": ["gw-secret"]})
    assert "gateway-key mode" in caplog.text and "gw-secret" not in caplog.text
