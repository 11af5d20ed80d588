"""Region names come from clients: only regions botocore knows (or the configured list) ever get a
boto3 client, and the client cache is bounded. Values with a trailing newline are 400s, not 5xx."""

from __future__ import annotations

import pytest

from blueprints.common import aws

AUTH = {"Authorization": "Bearer sk-test-key"}


def _list_files(client, region: str):
    return client.get("/openai/v1/files", headers=AUTH, query_string={
        "provider": "bedrock", "storage_config[s3][bucket]": "my-bucket", "storage_config[s3][region]": region})


def test_an_unknown_region_is_a_400_before_any_client_exists(client, app):
    with app.app_context():
        before = aws._client.cache_info().currsize
    response = _list_files(client, "zz-nowhere-9")
    assert response.status_code == 400 and response.json["error"]["code"] == "unknown_region"
    with app.app_context():
        assert aws._client.cache_info().currsize == before


def test_many_region_names_create_no_clients(client, app):
    for n in range(200):
        assert _list_files(client, f"xx-region{n}-1").status_code == 400
    assert aws._client.cache_info().currsize <= aws._client.cache_info().maxsize == 32


def test_a_configured_region_list_replaces_botocores(client, app):
    app.config["AWS_REGIONS"] = ["eu-west-1"]
    assert _list_files(client, "us-west-2").json["error"]["code"] == "unknown_region"


@pytest.mark.parametrize("field, value", [
    ("storage_config[s3][region]", "us-west-2\n"),
    ("storage_config[s3][bucket]", "my-bucket\n"),
])
def test_a_trailing_newline_is_a_400(client, field, value):
    query = {"provider": "bedrock", "storage_config[s3][bucket]": "my-bucket", field: value}
    response = client.get("/openai/v1/files", headers=AUTH, query_string=query)
    assert response.status_code == 400, response.json


def test_an_output_uri_with_a_newline_is_a_400(client):
    response = client.post("/openai/v1/batches", headers=AUTH, json={
        "provider": "bedrock", "input_file_id": "file-x", "endpoint": "/v1/chat/completions",
        "completion_window": "24h", "output_s3_uri": "s3://my-bucket/out\n"})
    assert response.status_code == 400 and response.json["error"]["param"] == "output_s3_uri"
