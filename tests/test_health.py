"""Liveness, readiness (the file store takes a write and gives it back) and version."""

from __future__ import annotations

import os

import boto3
from moto import mock_aws

from app import create_app
from blueprints import health
from blueprints.common import aws, filestore
from version import __version__


def test_healthz_and_version(client, monkeypatch):
    assert client.get("/healthz").json == {"status": "ok"}
    monkeypatch.setenv("SOURCE_VERSION", "abc123")
    assert client.get("/version").json == {"version": __version__, "commit": "abc123"}


def test_ready_with_a_writable_store(client):
    health._last.clear()
    reply = client.get("/readyz")
    assert reply.status_code == 200 and reply.json == {"status": "ready", "checks": {"config": "ok",
                                                                                     "file_store": "ok", "queue": "ok"}}


def test_not_ready_when_the_queue_does_not_answer(client, app):
    health._last.clear()
    app.config["QUEUE"] = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    reply = client.get("/readyz")
    assert reply.status_code == 503 and reply.json["checks"]["queue"] == "ConnectionError"
    assert "queue" in reply.json["error"]["message"] and "127.0.0.1:1" not in reply.text


def test_not_ready_names_the_failing_check(client, app, tmp_path):
    health._last.clear()
    blocked = tmp_path / "read-only"
    blocked.mkdir()
    os.chmod(blocked, 0o500)
    app.config["FILE_STORE"] = str(blocked / "files")
    try:
        reply = client.get("/readyz")
    finally:
        os.chmod(blocked, 0o700)
    if os.geteuid() == 0:  # root writes anywhere: make the store a file instead
        health._last.clear()
        (tmp_path / "a-file").write_text("x")
        app.config["FILE_STORE"] = str(tmp_path / "a-file")
        reply = client.get("/readyz")
    assert reply.status_code == 503
    error = reply.json["error"]
    assert error["code"] == "not_ready" and "file_store" in error["message"]
    assert reply.json["checks"]["config"] == "ok" and reply.json["checks"]["file_store"] != "ok"


def test_ready_with_an_s3_store(client, app, monkeypatch):
    health._last.clear()
    with mock_aws():
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        aws.reset_clients()
        filestore._store_for.cache_clear()
        app.config["FILE_STORE"] = "s3://ready-store/files"
        assert client.get("/readyz").status_code == 503  # no such bucket yet
        health._last.clear()
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="ready-store")
        assert client.get("/readyz").status_code == 200
        assert s3.list_objects_v2(Bucket="ready-store").get("KeyCount") == 0  # the probe cleaned up
    aws.reset_clients()
    filestore._store_for.cache_clear()


def test_a_local_store_on_an_ephemeral_platform_is_warned_about(monkeypatch, caplog, tmp_path):
    monkeypatch.setenv("DYNO", "web.1")
    create_app({"FILE_STORE": str(tmp_path / "files")})
    assert any("Heroku" in r.getMessage() and "DEEPINTSHIELD_FILE_STORE" in r.getMessage() for r in caplog.records)
    caplog.clear()
    create_app({"FILE_STORE": "s3://bucket/files"})
    assert not any("Heroku" in r.getMessage() for r in caplog.records)
