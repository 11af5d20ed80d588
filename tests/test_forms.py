"""Bracket un-flattening for query strings and multipart forms, and how the query and the body combine."""

from __future__ import annotations

import io

import pytest
from werkzeug.datastructures import MultiDict

from blueprints.dispatcher.forms import unflatten
from errors import BadRequest


def test_nested_dicts_and_lists_are_rebuilt():
    form = MultiDict([
        ("purpose", "batch"),
        ("provider", "bedrock"),
        ("storage_config[s3][bucket]", "b"),
        ("storage_config[s3][region]", "us-west-2"),
        ("storage_config[s3][prefix]", "batch-input"),
        ("tags[]", "x"),
        ("tags[]", "y"),
    ])
    assert unflatten(form.items(multi=True)) == {
        "purpose": "batch",
        "provider": "bedrock",
        "storage_config": {"s3": {"bucket": "b", "region": "us-west-2", "prefix": "batch-input"}},
        "tags": ["x", "y"],
    }


def test_query_string_from_the_sdk(client):
    from flask import request

    with client.application.test_request_context(
        "/openai/files?provider=bedrock&storage_config%5Bs3%5D%5Bbucket%5D=b&storage_config%5Bs3%5D%5Bregion%5D=us-west-2"
        "&tags%5B%5D=a&tags%5B%5D=b&empty="
    ):
        assert unflatten(request.args.items(multi=True)) == {
            "provider": "bedrock",
            "storage_config": {"s3": {"bucket": "b", "region": "us-west-2"}},
            "tags": ["a", "b"],
            "empty": "",
        }


@pytest.mark.parametrize(
    "items",
    [
        [("a", "1"), ("a[b]", "2")],
        [("a[b]", "1"), ("a", "2")],
        [("a[]", "1"), ("a[b]", "2")],
        [("items[][a]", "1")],
        [("a]b", "1")],
    ],
)
def test_conflicting_or_malformed_keys_are_400(items):
    with pytest.raises(BadRequest):
        unflatten(items)


# Found by the schemathesis run (tests/test_openapi_fuzz.py): `?provider=AAA` beside a form naming openai was
# accepted, the query's value dropped unread. A name in both the query and the body must agree.

OPENAI = "https://openai.fake/v1"
FILE = {"id": "file-1", "object": "file", "bytes": 2, "created_at": 1700000000, "filename": "a.jsonl",
        "purpose": "user_data", "status": "processed"}
BATCH = {"id": "batch_1", "object": "batch", "endpoint": "/v1/chat/completions", "input_file_id": "file-1",
         "completion_window": "24h", "status": "cancelling", "created_at": 1700000000}
KEY = {"Authorization": "Bearer sk-test"}


@pytest.mark.parametrize("query", ["provider=AAA", "provider=bedrock"])
def test_a_parameter_given_differently_in_the_query_and_the_form_is_400(client, rsps, query):
    response = client.post(f"/openai/v1/files?{query}", headers=KEY, data={
        "provider": "openai", "purpose": "user_data", "file": (io.BytesIO(b"{}"), "a.jsonl")})
    assert response.status_code == 400
    assert response.json["error"]["param"] == "provider"
    assert response.json["error"]["code"] == "conflicting_parameter"
    assert not rsps.calls  # nothing was sent anywhere


def test_a_parameter_given_differently_in_the_query_and_the_json_body_is_400(client, rsps):
    response = client.post("/openai/v1/batches?storage_config[s3][bucket]=one", headers=KEY, json={
        "input_file_id": "file-1", "endpoint": "/v1/chat/completions", "completion_window": "24h",
        "storage_config": {"s3": {"bucket": "two"}}})
    assert response.status_code == 400 and response.json["error"]["param"] == "storage_config"
    assert not rsps.calls


def test_the_same_value_in_both_or_null_in_the_body_is_fine(client, rsps):
    rsps.post(f"{OPENAI}/files", json=FILE)
    rsps.post(f"{OPENAI}/batches/batch_1/cancel", json=BATCH)
    uploaded = client.post("/openai/v1/files?provider=openai", headers=KEY, data={
        "provider": "openai", "purpose": "user_data", "file": (io.BytesIO(b"{}"), "a.jsonl")})
    assert uploaded.status_code == 200, uploaded.json
    # A JSON null is a value not given: the query's provider stands.
    cancelled = client.post("/openai/v1/batches/batch_1/cancel?provider=openai", headers=KEY, json={"provider": None})
    assert cancelled.status_code == 200, cancelled.json
