"""The OpenAI contract checks refuse what the openai SDK's types refuse (so the fake cannot agree
with a gateway mistake)."""

from __future__ import annotations

import pytest

from tests.contracts import openai_types as c

BODY = {"input_file_id": "file-1", "endpoint": "/v1/chat/completions", "completion_window": "24h"}
FILE = {"id": "file-1", "object": "file", "bytes": 1, "created_at": 1, "filename": "a.jsonl", "purpose": "batch",
        "status": "processed", "expires_at": None, "status_details": None}


def test_valid_values_pass():
    c.check_batch_create({**BODY, "metadata": {"k": "v"}, "output_expires_after": {"anchor": "created_at",
                                                                                   "seconds": 3600}})
    c.check_upload({"purpose": "batch", "expires_after[anchor]": "created_at", "expires_after[seconds]": "3600"})
    c.check_reply(FILE)
    c.check_reply({"object": "list", "data": [FILE], "first_id": "file-1", "last_id": "file-1", "has_more": False})


@pytest.mark.parametrize("body", [
    {**BODY, "provider": "openai"},  # a gateway field leaking upstream
    {**BODY, "completion_window": "48h"},
    {**BODY, "endpoint": "/v1/unknown"},
    {k: v for k, v in BODY.items() if k != "input_file_id"},
])
def test_batch_bodies_the_sdk_would_not_build_are_refused(body):
    with pytest.raises(AssertionError):
        c.check_batch_create(body)


@pytest.mark.parametrize("reply", [
    {**FILE, "surprise": 1},
    {**FILE, "status": "weird"},
    {**FILE, "purpose": 7},
])
def test_replies_outside_the_sdk_types_are_refused(reply):
    with pytest.raises(AssertionError):
        c.check_reply(reply)


def test_an_upload_with_an_unknown_field_is_refused():
    with pytest.raises(AssertionError):
        c.check_upload({"purpose": "batch", "storage_config[s3][bucket]": "b"})
