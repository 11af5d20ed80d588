"""Structured logs in one process (Flask test client, `responses` for the upstream): every line one JSON
object with the request ID and a traceback as a field, credentials redacted, and the access line written
when the response body has gone out (true duration, bytes in and out, complete or not). No key in any
log line. The same under gunicorn: test_observability_gunicorn.py."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import time

import pytest

from app import create_app
from logformat import REQUEST_ID, JsonFormatter, redact

OPENAI = "https://openai.fake/v1"
AUTH = {"Authorization": "Bearer sk-test-key-0123456789"}
FILE = {"id": "file-1", "object": "file", "bytes": 3, "created_at": 1, "filename": "a.jsonl", "purpose": "batch",
        "status": "processed"}


@contextlib.contextmanager
def captured_log(level: int = logging.DEBUG):
    """Every line any logger writes meanwhile, as the gateway's JSON handler writes it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(level)
    lines: list[dict] = []
    try:
        yield lines
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        text = stream.getvalue()
        lines.extend(json.loads(line) for line in text.splitlines())
        lines.append({"raw": text})  # the last item: everything written, for greps


def access_lines(lines: list[dict]) -> list[dict]:
    return [line for line in lines if line.get("logger") == "deepintshield.access"]


# Log lines


def test_every_line_is_one_json_object_with_the_request_id_and_a_traceback_field():
    outside = REQUEST_ID.set(None)  # (a test-client response left unclosed by an earlier test leaves its ID set)
    with captured_log() as lines:
        token = REQUEST_ID.set("req_abc")
        try:
            logging.getLogger("urllib3.connectionpool").warning("Retrying (%r) after connection broken", "Retry(2)")
            logging.getLogger("botocore.credentials").info("Found credentials in environment variables.")
            try:
                raise ZeroDivisionError("division by zero")
            except ZeroDivisionError:
                logging.getLogger("gunicorn.error").exception("Error handling request")
            logging.getLogger("deepintshield").info("with fields", extra={"provider": "openai", "n": 2})
        finally:
            REQUEST_ID.reset(token)
        logging.getLogger("deepintshield").info("between requests")
    REQUEST_ID.reset(outside)
    raw = lines.pop()["raw"]
    assert len(raw.splitlines()) == len(lines) == 5  # the traceback is inside its line
    assert [line["logger"] for line in lines] == ["urllib3.connectionpool", "botocore.credentials", "gunicorn.error",
                                                  "deepintshield", "deepintshield"]
    assert all(line["request_id"] == "req_abc" for line in lines[:4]) and "request_id" not in lines[4]
    assert lines[0]["level"] == "WARNING" and lines[0]["message"] == "Retrying ('Retry(2)') after connection broken"
    assert lines[2]["message"] == "Error handling request"
    assert lines[2]["traceback"].startswith("Traceback") and "ZeroDivisionError" in lines[2]["traceback"]
    assert (lines[3]["provider"], lines[3]["n"]) == ("openai", 2)
    assert {"time", "level", "logger", "pid", "message"} <= set(lines[4])


def test_the_request_id_is_taken_when_the_line_is_logged_not_when_it_is_formatted():
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    log = logging.getLogger("deepintshield.test")
    log.addHandler(handler)
    try:
        token = REQUEST_ID.set("req_then")
        log.warning("during")
        REQUEST_ID.reset(token)
    finally:
        log.removeHandler(handler)
    assert json.loads(JsonFormatter().format(records[0]))["request_id"] == "req_then"


@pytest.mark.parametrize("text, secret", [
    ("Authorization: Bearer sk-live-abcdef0123456789", "abcdef0123456789"),
    ("headers={'x-api-key': 'anthropic-key-0123456789'}", "anthropic-key-0123456789"),
    ('{"x-goog-api-key": "AIzaSyD-0123456789abcdefghijkl"}', "0123456789abcdefghijkl"),
    ("https://host/v1/files?key=AIzaSyD-0123456789abcdefghijkl&alt=media", "0123456789abcdefghijkl"),
    ("Incorrect API key provided: sk-proj-0123456789abcdef.", "0123456789abcdef"),
    ("authorization=bearer gw-secret-key-42", "gw-secret-key-42"),
])
def test_credentials_are_redacted_from_messages(text, secret):
    assert secret not in redact(text) and "[redacted]" in redact(text)


def test_ordinary_text_is_left_alone():
    text = "passthrough mode: each client's bearer key is used as its provider key; GET /openai/v1/files 200"
    assert redact(text) == text


# The access line


def test_the_access_line_is_written_when_a_streamed_body_has_gone_out(client, rsps):
    body = b"x" * (3 * 1024 * 1024)
    rsps.get(f"{OPENAI}/files/file-1/content", body=body)
    route = "/openai/v1/files/<path:file_id>/content"
    with captured_log(logging.INFO) as lines:
        response = client.get("/openai/v1/files/file-1/content", headers={**AUTH, "x-request-id": "slow-reader"})
        assert access_lines(lines) == []  # headers are out, the body is not
        received = 0
        for chunk in response.response:  # the client reads slowly
            received += len(chunk)
            time.sleep(0.1)
        assert access_lines(lines) == []  # read, but the server has not closed the response yet
        response.close()
    line = access_lines(lines)[0]
    assert received == len(body)
    assert line["request_id"] == "slow-reader" and line["route"] == route and line["status"] == 200
    assert line["bytes_out"] == len(body) and line["bytes_in"] == 0 and line["complete"] is True
    assert line["duration_ms"] >= 100  # at least one of the client's pauses


def test_a_client_that_goes_away_mid_body_is_logged_incomplete(client, rsps):
    rsps.get(f"{OPENAI}/files/file-1/content", body=b"y" * (3 * 1024 * 1024))
    with captured_log(logging.INFO) as lines:
        response = client.get("/openai/v1/files/file-1/content", headers=AUTH)
        first = next(iter(response.response))
        response.close()
    line = access_lines(lines)[0]
    assert line["complete"] is False and line["bytes_out"] == len(first) < 3 * 1024 * 1024


def test_bytes_in_are_the_request_body_the_gateway_read(client, rsps):
    rsps.post(f"{OPENAI}/files", json=FILE)
    content = b'{"custom_id": "a", "method": "POST", "url": "/v1/chat/completions", "body": {}}\n' * 50
    with captured_log(logging.INFO) as lines, client.post("/openai/v1/files", headers=AUTH, data={
            "purpose": "user_data", "file": (io.BytesIO(content), "a.jsonl")}) as response:
        assert response.status_code == 200
        length = response.request.content_length
    assert length > len(content)
    assert access_lines(lines)[0]["bytes_in"] == length


# Keys never reach the logs


def test_no_key_in_any_log_line_of_a_request_whose_provider_errs(test_config, rsps):
    client = create_app({**test_config, "API_KEYS": ["gw-key-secret-1"],
                         "OPENAI_API_KEY": "sk-server-key-secret-2"}).test_client()
    # OpenAI echoes (part of) a wrong key in its message; the gateway relays it to the client only.
    rsps.get(f"{OPENAI}/batches/batch_1", status=401, json={"error": {
        "message": "Incorrect API key provided: sk-server-key-secret-2.", "code": "invalid_api_key"}})
    rsps.get(f"{OPENAI}/batches/batch_2", body=ZeroDivisionError("sk-server-key-secret-2"))  # a traceback
    with captured_log() as lines:
        with client.get("/openai/batches/batch_1", headers={"Authorization": "Bearer gw-key-secret-1"}) as first:
            assert first.status_code == 401
        with client.get("/openai/batches/batch_2", headers={"Authorization": "Bearer gw-key-secret-1"}) as second:
            assert second.status_code == 500
        with client.get("/openai/batches/batch_1", headers={"Authorization": "Bearer gw-key-wrong-3"}) as third:
            assert third.status_code == 401
    raw = lines.pop()["raw"]
    assert any("traceback" in line for line in lines)  # the unexpected error was logged, with its traceback
    assert len(access_lines(lines)) == 3
    for secret in ("gw-key-secret-1", "sk-server-key-secret-2", "gw-key-wrong-3"):
        assert secret not in raw
