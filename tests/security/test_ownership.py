"""Every file the gateway keeps belongs to the key that stored it: no other key, and no key at
all, can list, read, delete or batch it (404, as for a file that does not exist)."""

from __future__ import annotations

import io
import json

import boto3
import pytest
from moto import mock_aws

from blueprints.common import aws, filestore
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.gemini import FakeGemini

LINE = {"custom_id": "a", "method": "POST", "url": "/v1/chat/completions",
        "body": {"model": "claude-3-haiku-20240307", "messages": [{"role": "user", "content": "secret text"}]}}
ALICE, BOB = "sk-alice-key-0001", "sk-bob-key-0002"


def _auth(key: str | None) -> dict:
    return {"Authorization": f"Bearer {key}"} if key else {}


def _upload(client, provider: str, key: str | None):
    data = {"purpose": "batch", "provider": provider,
            "file": (io.BytesIO((json.dumps(LINE) + "\n").encode()), "mine.jsonl", "application/jsonl")}
    return client.post("/openai/v1/files", data=data, headers=_auth(key), content_type="multipart/form-data")


def _listed(client, provider: str, key: str | None) -> list[str]:
    response = client.get(f"/openai/v1/files?provider={provider}", headers=_auth(key))
    return [f["id"] for f in response.json.get("data", [])] if response.status_code == 200 else []


@pytest.fixture
def anthropic_fake(rsps):
    return FakeAnthropic().register(rsps)  # any key is a valid Anthropic key here


def test_anthropic_files_are_their_owners_only(client, anthropic_fake):
    uploaded = _upload(client, "anthropic", ALICE)
    assert uploaded.status_code == 200, uploaded.json
    file_id = uploaded.json["id"]
    assert _listed(client, "anthropic", ALICE) == [file_id]
    for key in (BOB, None):
        assert file_id not in _listed(client, "anthropic", key)
        for method, path in (("GET", f"/openai/v1/files/{file_id}"), ("GET", f"/openai/v1/files/{file_id}/content"),
                             ("DELETE", f"/openai/v1/files/{file_id}")):
            response = client.open(path, method=method, headers=_auth(key))
            expected = 404 if key else 401
            assert response.status_code == expected, (method, path, key, response.json)
            assert b"secret text" not in response.data
        batch = client.post("/openai/v1/batches", headers=_auth(key), json={
            "input_file_id": file_id, "endpoint": "/v1/chat/completions", "completion_window": "24h",
            "provider": "anthropic"})
        assert batch.status_code == (404 if key else 401)
    assert anthropic_fake.created_bodies == []
    content = client.get(f"/openai/v1/files/{file_id}/content", headers=_auth(ALICE))
    assert content.status_code == 200 and b"secret text" in content.data
    assert client.delete(f"/openai/v1/files/{file_id}", headers=_auth(ALICE)).json["deleted"] is True


def test_no_key_cannot_fill_the_store(client, anthropic_fake, app, tmp_path):
    assert _upload(client, "anthropic", None).status_code == 401
    stored = [p for p in (tmp_path / "files").rglob("*") if p.is_file() and p.suffix in (".json", ".jsonl")]
    assert stored == []


def test_gemini_copies_are_their_owners_only(client, rsps):
    FakeGemini(api_key=ALICE).register(rsps)
    uploaded = _upload(client, "gemini", ALICE)
    assert uploaded.status_code == 200, uploaded.json
    file_id = uploaded.json["id"]
    for key in (BOB, None):
        response = client.get(f"/openai/v1/files/{file_id}/content", headers=_auth(key))
        # No copy for this key: Gemini itself is asked, with this key, and refuses it (as it does, 400).
        assert response.status_code in ((400, 401, 403, 404) if key else (401,)), response.json
        assert b"secret text" not in response.data
    assert b"secret text" in client.get(f"/openai/v1/files/{file_id}/content", headers=_auth(ALICE)).data


def test_gateway_key_mode_owner_is_the_gateway_key(client, app, anthropic_fake):
    app.config.update(API_KEYS=["gw-one", "gw-two"], ANTHROPIC_API_KEY="sk-ant-operator")
    file_id = _upload(client, "anthropic", "gw-one").json["id"]
    assert _listed(client, "anthropic", "gw-one") == [file_id]
    assert _listed(client, "anthropic", "gw-two") == []
    assert client.get(f"/openai/v1/files/{file_id}", headers=_auth("gw-two")).status_code == 404


def test_the_store_holds_hashes_never_keys(client, anthropic_fake, tmp_path):
    _upload(client, "anthropic", ALICE)
    for path in (tmp_path / "files").rglob("*"):
        assert ALICE not in str(path)
        if path.is_file():
            assert ALICE.encode() not in path.read_bytes()


def test_a_configured_owner_secret_changes_every_owner(client, app, anthropic_fake):
    file_id = _upload(client, "anthropic", ALICE).json["id"]
    app.config["OWNER_SECRET"] = "rotated-secret"
    assert client.get(f"/openai/v1/files/{file_id}", headers=_auth(ALICE)).status_code == 404


def test_s3_store_keeps_owners_apart_and_one_generated_secret(app, client, anthropic_fake, monkeypatch):
    with mock_aws():
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        aws.reset_clients()
        filestore._store_for.cache_clear()
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="gateway-store")
        # Gateway keys: moto's own request mock would hide the Anthropic fake that checks passthrough keys.
        app.config.update(FILE_STORE="s3://gateway-store/files", API_KEYS=[ALICE, BOB], ANTHROPIC_API_KEY="sk-ant")
        file_id = _upload(client, "anthropic", ALICE).json["id"]
        assert _listed(client, "anthropic", BOB) == []
        assert client.get(f"/openai/v1/files/{file_id}", headers=_auth(BOB)).status_code == 404
        assert client.get(f"/openai/v1/files/{file_id}", headers=_auth(ALICE)).status_code == 200
        filestore._store_for.cache_clear()  # a second instance reads the same secret
        assert client.get(f"/openai/v1/files/{file_id}", headers=_auth(ALICE)).status_code == 200
        keys = [o["Key"] for o in boto3.client("s3", region_name="us-east-1").list_objects_v2(
            Bucket="gateway-store")["Contents"]]
        assert "files/.owner-secret" in keys
        assert all(ALICE not in k for k in keys)
    aws.reset_clients()
    filestore._store_for.cache_clear()
