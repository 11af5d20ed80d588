"""Bounded work per request: JSON bodies, JSONL lines, multipart forms and filenames.

Each attack from issue 10 is sent once; the gateway must answer a 4xx that names the problem,
store nothing, and (measured with tracemalloc) hold far less than 64 MB while doing so.
"""

from __future__ import annotations

import io
import json
import os
import time
import tracemalloc

import pytest

from blueprints.common import filestore
from tests.fakes.anthropic import FakeAnthropic

AUTH = {"Authorization": "Bearer sk-test-key"}
MB = 1024 * 1024
CHAT = {"model": "claude-3-haiku-20240307", "messages": [{"role": "user", "content": "hi"}]}
LINE = json.dumps({"custom_id": "a", "method": "POST", "url": "/v1/chat/completions", "body": CHAT}) + "\n"


@pytest.fixture
def fake(rsps):
    return FakeAnthropic().register(rsps)


def _peak(call):
    tracemalloc.start()
    try:
        result = call()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_json_body_past_the_cap_is_a_413_before_it_is_read(client, app):
    app.config["MAX_JSON_BYTES"] = 1 * MB
    body = b'{"requests": [' + b",".join([b"{}"] * (MB // 2)) + b"]}"
    response = client.post("/openai/v1/batches", data=body, headers={**AUTH, "Content-Type": "application/json"})
    assert response.status_code == 413 and response.json["error"]["code"] == "body_too_large"


def test_a_container_flood_under_the_cap_is_a_400_without_building_it(client, fake):
    body = b'{"provider": "anthropic", "input_file_id": "", "endpoint": "/v1/chat/completions", ' \
           b'"completion_window": "24h", "requests": [' + b",".join([b"{}"] * 3_000_000) + b"]}"
    response, peak = _peak(lambda: client.post("/openai/v1/batches", data=body,
                                               headers={**AUTH, "Content-Type": "application/json"}))
    assert response.status_code == 400 and response.json["error"]["code"] == "json_too_complex"
    assert peak < 48 * MB, f"{peak / MB:.0f} MB for a {len(body) / MB:.0f} MB body"
    assert fake.created_bodies == []


def test_deeply_nested_json_is_a_400_not_a_500(client, fake):
    for depth in (200, 100_000):
        body = b'{"metadata": ' + b"[" * depth + b"]" * depth + b"}"
        response = client.post("/openai/v1/batches", data=body, headers={**AUTH, "Content-Type": "application/json"})
        assert response.status_code == 400, (depth, response.json)
        assert "nested deeper" in response.json["error"]["message"]


def _upload(client, content: bytes, *, extra_fields: int = 0, filename: str = "in.jsonl"):
    data = {f"x{i}": "1" for i in range(extra_fields)}
    data.update({"purpose": "batch", "provider": "anthropic", "file": (io.BytesIO(content), filename)})
    return client.post("/openai/v1/files", data=data, headers=AUTH, content_type="multipart/form-data")


def test_a_jsonl_line_past_the_cap_is_a_400_naming_it(client, app, fake, tmp_path):
    app.config["MAX_LINE_BYTES"] = 256 * 1024
    good = LINE.strip()
    huge = '{"custom_id": "b", "method": "POST", "url": "/v1/chat/completions", "body": {"messages": ' \
           '[{"role": "user", "content": "' + "x" * 3 * MB + '"}]}}'
    response, peak = _peak(lambda: _upload(client, (good + "\n" + huge + "\n").encode()))
    assert response.status_code == 400 and response.json["error"]["param"] == "line 2"
    assert response.json["error"]["code"] == "line_too_long"
    assert peak < 24 * MB
    assert not [p for p in (tmp_path / "files").rglob("*.jsonl")]


def test_too_many_form_fields_is_a_413(client, fake):
    response = _upload(client, b"{}\n", extra_fields=500)
    assert response.status_code == 413 and response.json["error"]["code"] == "too_many_parts"


def test_filenames_are_cleaned_before_they_are_stored_or_echoed(client, fake):
    response = _upload(client, LINE.encode(), filename='a"; filename="evil.exe\r\nX-Injected: 1' + "n" * 5000)
    assert response.status_code == 200, response.json
    name = response.json["filename"]
    assert len(name) <= 255 and '"' not in name and "\r" not in name and "\n" not in name
    content = client.get(f"/openai/v1/files/{response.json['id']}/content", headers=AUTH)
    assert content.status_code == 200
    assert "X-Injected" not in content.headers and content.headers["Content-Disposition"].count("filename=") == 1


def test_temporary_files_of_a_killed_upload_are_swept(client, fake, tmp_path):
    assert _upload(client, LINE.encode()).status_code == 200
    (folder,) = {p.parent for p in (tmp_path / "files").rglob("*.jsonl")}
    stale, fresh = folder / ".upload-killed", folder / ".upload-in-flight"
    stale.write_bytes(b"half an upload")
    fresh.write_bytes(b"another worker, still writing")
    old = time.time() - filestore.STALE_TEMP_SECONDS - 60
    os.utime(stale, (old, old))
    filestore._store_for.cache_clear()  # as a restarted worker
    assert _upload(client, LINE.encode()).status_code == 200
    assert not stale.exists() and fresh.exists()
