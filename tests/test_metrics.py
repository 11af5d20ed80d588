"""Prometheus metrics in one process (Flask test client, `responses` for the upstream, botocore's
Stubber): every series of `metrics`, labelled by URL rule never by raw path; `/metrics` and who may read
it. Summed over two gunicorn workers: test_observability_gunicorn.py."""

from __future__ import annotations

import io

import boto3
import pytest
import responses
from botocore.stub import Stubber
from prometheus_client import REGISTRY
from responses import registries

from app import create_app
from blueprints.common import aws
from translators import batch_output

OPENAI = "https://openai.fake/v1"
AUTH = {"Authorization": "Bearer sk-test-key-0123456789"}
BATCH = {"id": "batch_1", "object": "batch", "endpoint": "/v1/chat/completions", "input_file_id": "file-1",
         "completion_window": "24h", "status": "in_progress", "created_at": 1700000000}
FILE = {"id": "file-1", "object": "file", "bytes": 3, "created_at": 1, "filename": "a.jsonl", "purpose": "batch",
        "status": "processed"}


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


# Request metrics


def test_requests_are_counted_by_url_rule_method_provider_and_status(client, rsps):
    rsps.get(f"{OPENAI}/batches/batch_1", json=BATCH)
    route = "/openai/batches/<batch:batch_id>"
    labels = {"route": route, "method": "GET", "provider": "openai"}
    count = value("deepintshield_requests_total", **labels, status="200")
    observed = value("deepintshield_request_duration_seconds_count", **labels)
    unmatched = value("deepintshield_requests_total", route="unmatched", method="GET", provider="none", status="404")
    other = value("deepintshield_requests_total", route="unmatched", method="other", provider="none", status="405")
    for _ in range(3):
        client.get("/openai/batches/batch_1", headers=AUTH).close()
    client.get("/no/such/path/42").close()
    client.open("/healthz", method="BREW").close()
    assert value("deepintshield_requests_total", **labels, status="200") - count == 3
    assert value("deepintshield_request_duration_seconds_count", **labels) - observed == 3
    assert value("deepintshield_requests_total", route="unmatched", method="GET", provider="none",
                 status="404") - unmatched == 1
    # No rule matches a method it does not allow; an unknown method is "other" (clients cannot add series).
    assert value("deepintshield_requests_total", route="unmatched", method="other", provider="none",
                 status="405") - other == 1
    text = client.get("/metrics").get_data(as_text=True)
    assert f'route="{route}"' in text and "/no/such/path" not in text and "batch_1" not in text


def test_body_bytes_are_counted_both_ways_per_provider(client, rsps):
    rsps.post(f"{OPENAI}/files", json=FILE)
    rsps.get(f"{OPENAI}/files/file-1/content", body=b"z" * 300_000)
    received = value("deepintshield_received_bytes_total", provider="openai")
    sent = value("deepintshield_sent_bytes_total", provider="openai")
    with client.post("/openai/v1/files", headers=AUTH, data={
            "purpose": "user_data", "file": (io.BytesIO(b"abc" * 1000), "a.txt")}) as response:
        length, reply = response.request.content_length, len(response.data)
    with client.get("/openai/v1/files/file-1/content", headers=AUTH) as response:
        downloaded = len(response.data)
    assert downloaded == 300_000
    assert value("deepintshield_received_bytes_total", provider="openai") - received == length
    assert value("deepintshield_sent_bytes_total", provider="openai") - sent == reply + downloaded


def test_upstream_calls_errors_and_retries_are_counted_per_provider_and_operation(client):
    calls = value("deepintshield_upstream_duration_seconds_count", provider="openai", operation="retrieve_batch")
    retries = value("deepintshield_upstream_retries_total", provider="openai")
    errors_404 = value("deepintshield_upstream_errors_total", provider="openai", reason="404")
    unreachable = value("deepintshield_upstream_errors_total", provider="openai", reason="unreachable")
    with responses.RequestsMock(registry=registries.OrderedRegistry) as rsps:
        rsps.get(f"{OPENAI}/batches/batch_1", status=503, headers={"Retry-After": "0"})
        rsps.get(f"{OPENAI}/batches/batch_1", json=BATCH)
        rsps.get(f"{OPENAI}/batches/batch_2", status=404, json={"error": {"message": "No such batch"}})
        assert client.get("/openai/batches/batch_1", headers=AUTH).status_code == 200
        assert client.get("/openai/batches/batch_2", headers=AUTH).status_code == 404
    with responses.RequestsMock():  # nothing registered: the upstream cannot be reached
        assert client.get("/openai/batches/batch_3", headers=AUTH).status_code == 502
    assert value("deepintshield_upstream_duration_seconds_count", provider="openai",
                 operation="retrieve_batch") - calls == 3
    assert value("deepintshield_upstream_retries_total", provider="openai") - retries == 1
    assert value("deepintshield_upstream_errors_total", provider="openai", reason="404") - errors_404 == 1
    assert value("deepintshield_upstream_errors_total", provider="openai", reason="unreachable") - unreachable == 1


def test_aws_calls_are_timed_and_counted_through_botocores_hooks(app, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    aws.reset_clients()
    try:
        with app.app_context():
            s3 = aws.client("s3", "us-east-1", provider="filestore")
        labels = {"provider": "filestore", "operation": "HeadObject"}
        calls = value("deepintshield_upstream_duration_seconds_count", **labels)
        missing = value("deepintshield_upstream_errors_total", provider="filestore", reason="404")
        with Stubber(s3) as stub:
            stub.add_response("head_object", {"ContentLength": 3}, {"Bucket": "b", "Key": "k"})
            stub.add_client_error("head_object", "404", http_status_code=404)
            assert s3.head_object(Bucket="b", Key="k")["ContentLength"] == 3
            with pytest.raises(aws.ClientError):
                s3.head_object(Bucket="b", Key="gone")
        assert value("deepintshield_upstream_duration_seconds_count", **labels) - calls == 2
        assert value("deepintshield_upstream_errors_total", provider="filestore", reason="404") - missing == 1
        # A client made for Bedrock counts as Bedrock, the same service for the file store as the file store.
        assert aws._client("s3", "us-east-1", "bedrock") is not s3
    finally:
        aws.reset_clients()
        boto3.DEFAULT_SESSION = None


def test_result_lines_are_counted_by_provider_and_outcome():
    def convert(line: dict, number: int) -> dict:
        if line["ok"]:
            return batch_output.success_line(line["id"], f"r{number}", {})
        return batch_output.http_error_line(line["id"], f"r{number}", 400, "bad")

    def identify(line, number):
        return (line or {}).get("id", f"line-{number}"), f"r{number}"

    records = [(1, b'{"id": "a", "ok": true}'), (2, b'{"id": "b", "ok": false}'), (3, b"not json"),
               (4, {"id": "c"}), (5, {"id": "d", "ok": True})]
    before = {outcome: value("deepintshield_result_lines_total", provider="testing", outcome=outcome)
              for outcome in ("output", "error", "unconvertible")}
    lines = list(batch_output.converted_lines(records, convert, identify, provider="testing"))
    assert len(lines) == 5
    after = {outcome: value("deepintshield_result_lines_total", provider="testing", outcome=outcome) - before[outcome]
             for outcome in before}
    assert after == {"output": 2, "error": 1, "unconvertible": 2}


def test_batches_created_are_counted_per_provider(client, rsps):
    rsps.post(f"{OPENAI}/batches", json=BATCH)
    before = value("deepintshield_batches_created_total", provider="openai")
    response = client.post("/openai/batches", headers=AUTH, json={
        "input_file_id": "file-1", "endpoint": "/v1/chat/completions", "completion_window": "24h"})
    assert response.status_code == 200
    assert value("deepintshield_batches_created_total", provider="openai") - before == 1


# /metrics and who may read it


def test_metrics_are_open_in_passthrough_mode_and_in_the_prometheus_text_format(client):
    response = client.get("/metrics")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    text = response.get_data(as_text=True)
    for name in ("deepintshield_requests_total", "deepintshield_request_duration_seconds_bucket",
                 "deepintshield_upstream_duration_seconds", "deepintshield_upstream_errors_total",
                 "deepintshield_upstream_retries_total", "deepintshield_received_bytes_total",
                 "deepintshield_sent_bytes_total", "deepintshield_result_lines_total",
                 "deepintshield_batches_created_total"):
        assert f"# TYPE {name.removesuffix('_bucket').removesuffix('_total')}" in text, name


def test_metrics_need_a_gateway_key_when_gateway_keys_are_set(test_config):
    client = create_app({**test_config, "API_KEYS": ["gw-key-1"]}).test_client()
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer gw-key-1"}).status_code == 200


@pytest.mark.parametrize("gateway_keys", [[], ["gw-key-1"]])
def test_metrics_key_is_the_only_key_for_metrics_when_set(test_config, gateway_keys):
    client = create_app({**test_config, "API_KEYS": gateway_keys, "METRICS_KEY": "scrape-key"}).test_client()
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer gw-key-1"}).status_code == 401
    response = client.get("/metrics", headers={"Authorization": "Bearer scrape-key"})
    assert response.status_code == 200 and b"deepintshield_requests_total" in response.data
    assert client.get("/metrics", headers={"Authorization": "Bearer scrape-key",
                                           "Origin": "https://evil.example"}).status_code == 403
