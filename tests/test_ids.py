"""The ID scheme: round trips for every provider's ID shapes, provider recovery, and rejection of
anything that could steer a request to another upstream path."""

from __future__ import annotations

import re

import pytest

from blueprints.dispatcher import ids
from errors import NotFound

URL_SAFE = re.compile(r"^[A-Za-z0-9_-]+$")
ARN = "arn:aws:bedrock:us-west-2:123456789012:model-invocation-job/abcdef123456"


@pytest.mark.parametrize(
    "provider, native, kind",
    [
        ("anthropic", "0001f2a9c3b4d5e6f7a8b9c0", "file"),
        ("anthropic", "msgbatch_01Hk", "output"),
        ("anthropic", "msgbatch_01Hk,msgbatch_02Zz", "errors"),
        ("gemini", "files/abc-123", "file"),
        ("gemini", "batches/xyz789", "output"),
        ("gemini", "batches/xyz789", "errors"),
        ("bedrock", "us-west-2/my-bucket/batch-input/0001f2_batch e2e.jsonl".replace(" ", "_"), "file"),
        ("bedrock", ARN, "output"),
        ("bedrock", ARN, "errors"),
    ],
)
def test_file_ids_round_trip_and_are_url_safe(provider, native, kind):
    encoded = ids.encode_file(provider, native, kind)
    assert URL_SAFE.fullmatch(encoded) and encoded.startswith("file-")
    assert ids.decode_file(encoded) == ids.ResourceId(provider, kind, native)
    assert ids.decode_file(encoded, provider) == ids.ResourceId(provider, kind, native)


@pytest.mark.parametrize(
    "provider, native, passes_through",
    [
        ("openai", "batch_abc123", True),
        ("anthropic", "msgbatch_013Zva2CMHLNnXjNJJKqJ2EF", True),
        ("anthropic", "msgbatch_a,msgbatch_b", False),
        ("anthropic", "msgbatch_a@fe5deb1b39a85be00eaacd91", False),
        ("gemini", "batches/123456", False),
        ("bedrock", ARN, False),
        ("bedrock", "abcdef123456", False),
    ],
)
def test_batch_ids_round_trip(provider, native, passes_through):
    encoded = ids.encode_batch(provider, native)
    assert URL_SAFE.fullmatch(encoded)
    assert (encoded == native) is passes_through
    assert ids.decode_batch(encoded) == ids.ResourceId(provider, "batch", native)


def test_openai_ids_pass_through_and_default_to_openai():
    assert ids.encode_file("openai", "file-abc123") == "file-abc123"
    assert ids.decode_file("file-abc123") == ids.ResourceId("openai", "file", "file-abc123")
    assert ids.decode_batch("batch_abc") == ids.ResourceId("openai", "batch", "batch_abc")


def test_msgbatch_ids_name_their_provider():
    assert ids.decode_batch("msgbatch_01x").provider == "anthropic"


@pytest.mark.parametrize(
    "provider, gateway_id, expected",
    [
        ("gemini", "batches/xyz", "batches/xyz"),
        ("bedrock", ARN, ARN),
        ("bedrock", "abcdef123456", "abcdef123456"),
    ],
)
def test_native_batch_forms_are_accepted_when_the_provider_is_named(provider, gateway_id, expected):
    assert ids.decode_batch(gateway_id, provider) == ids.ResourceId(provider, "batch", expected)


def test_native_gemini_file_name_is_accepted_when_named():
    assert ids.decode_file("files/abc", "gemini") == ids.ResourceId("gemini", "file", "files/abc")


def test_a_named_provider_must_agree_with_the_id():
    """An ID of another provider is not an ID of the named one: 404, as OpenAI answers for unknown IDs."""
    encoded = ids.encode_batch("gemini", "batches/1")
    with pytest.raises(NotFound) as caught:
        ids.decode_batch(encoded, "bedrock")
    assert caught.value.status == 404 and caught.value.code == "invalid_id"
    assert "belongs to provider 'gemini'" in caught.value.message
    with pytest.raises(NotFound):
        ids.decode_batch("msgbatch_x", "openai")


@pytest.mark.parametrize(
    "provider, gateway_id",
    [
        (None, "file-1/../batches"),
        (None, "a?b=c"),
        (None, "a#b"),
        (None, "a%2Fb"),
        (None, ".."),
        ("gemini", "files/../batches/x"),
        ("gemini", "batches/x/../../files/y"),
        ("gemini", "batches/x?alt=media"),
        ("bedrock", "arn:aws:bedrock:us-west-2:123456789012:model-invocation-job/../x"),
        ("bedrock", "us-west-2/bucket/../other"),
        ("anthropic", "msgbatch_x/../y"),
    ],
)
def test_ids_that_could_change_the_upstream_path_are_404(provider, gateway_id):
    with pytest.raises(NotFound) as caught:
        ids.decode_batch(gateway_id, provider)
    assert caught.value.status == 404 and caught.value.code == "invalid_id"
    with pytest.raises(NotFound):
        ids.decode_file(gateway_id, provider)


def test_encoded_ids_with_forged_payloads_are_404():
    forged = "batch_dsg_" + ids._b64encode("batches/x/../../files/y")
    with pytest.raises(NotFound):
        ids.decode_batch(forged)
    with pytest.raises(NotFound):
        ids.decode_file("file-dsgf_!!!")
    with pytest.raises(NotFound):
        ids.decode_file("file-dsgf_" + ids._b64encode("batches/x"))  # a batch where a file belongs


def test_azure_ids_are_encoded_so_they_name_azure():
    assert ids.encode_file("azure", "file-abc123").startswith("file-dszf_")
    assert ids.decode_batch(ids.encode_batch("azure", "batch_6caaf24d-54a5")) == ids.ResourceId(
        "azure", "batch", "batch_6caaf24d-54a5")
    assert ids.decode_file(ids.encode_file("azure", "batch_1", "errors")).kind == "errors"


def test_codes_of_any_length_route_to_their_provider(monkeypatch):
    """A declared host's code is `c<name>`: the first `_` ends the code (the kind letter before it)."""
    from blueprints import registry
    from blueprints.openai import compatible

    monkeypatch.setitem(registry.PROVIDERS, "foe", compatible.provider("foe", "https://foe.example/v1"))
    encoded = ids.encode_file("foe", "file-abc", "output")
    assert encoded.startswith("file-dscfoeo_")
    assert ids.decode_file(encoded) == ids.ResourceId("foe", "output", "file-abc")
    assert ids.decode_batch(ids.encode_batch("foe", "batch_x")) == ids.ResourceId("foe", "batch", "batch_x")
    # a code no provider has is no encoded ID: the default provider's native ID, as before
    assert ids.decode_file("file-dsqqf_YWJj") == ids.ResourceId("openai", "file", "file-dsqqf_YWJj")
