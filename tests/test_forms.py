"""Bracket un-flattening for query strings and multipart forms."""

from __future__ import annotations

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
