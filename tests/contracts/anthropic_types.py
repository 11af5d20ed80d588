"""Strict checks against the official `anthropic` SDK types (test-only).

The SDK's request types are TypedDicts and its reply types pydantic models that allow unknown
keys; here both are made strict: an unknown key anywhere, a wrong literal, a missing required
field is a failure. The SDK (2.x) describes API version 2026-10-21; API version 2023-06-01, which
the gateway sends by default, differs for requests only in also taking `temperature` (0-1),
`top_p` (0-1) and `top_k` (>= 0), checked here by hand.
"""

from __future__ import annotations

import anthropic.types
from anthropic.types import Message
from anthropic.types.message_create_params import MessageCreateParamsNonStreaming
from anthropic.types.messages import MessageBatch, MessageBatchIndividualResponse
from anthropic.types.messages.batch_create_params import BatchCreateParams

from tests.contracts import sdk_types

SAMPLING_SINCE_REMOVED = "2026-10-21"


def strict(type_: object, value: object, what: str) -> object:
    """Validate `value` as `type_` of the anthropic SDK, strictly (see `sdk_types.strict`)."""
    return sdk_types.strict(anthropic.types, type_, value, what)


def _sampling(params: dict, api_version: str, what: str) -> dict:
    """The params without the sampling fields API 2023-06-01 takes (checked here); unchanged for newer versions."""
    if api_version >= SAMPLING_SINCE_REMOVED:
        return params
    rest = dict(params)
    for name, low, high, kind in (("temperature", 0, 1, (int, float)), ("top_p", 0, 1, (int, float)),
                                  ("top_k", 0, None, (int,))):
        if name in rest:
            value = rest.pop(name)
            ok = isinstance(value, kind) and not isinstance(value, bool) and value >= low
            assert ok and (high is None or value <= high), f"{what}.{name}={value!r} is out of range"
    return rest


def check_params(params: dict, *, api_version: str, what: str = "params") -> None:
    """A Messages create body (non-streaming) as the given API version takes it."""
    strict(MessageCreateParamsNonStreaming, _sampling(params, api_version, what), what)


def check_batch_create(body: dict, *, api_version: str) -> None:
    """A `POST /v1/messages/batches` body: the envelope, then each request's params for its version."""
    assert isinstance(body, dict) and isinstance(body.get("requests"), list), "body needs a requests list"
    envelope = {"requests": [{**item, "params": {"model": "m", "max_tokens": 1, "messages": []}}
                             if isinstance(item, dict) else item for item in body["requests"]]}
    strict(BatchCreateParams, {**body, **envelope}, "body")
    for index, item in enumerate(body["requests"]):
        check_params(item["params"], api_version=api_version, what=f"requests[{index}].params")


def check_message(message: dict, what: str = "message") -> None:
    strict(Message, message, what)


def check_batch(batch: dict, what: str = "MessageBatch") -> None:
    strict(MessageBatch, batch, what)


def check_result_line(line: dict, what: str = "result line") -> None:
    strict(MessageBatchIndividualResponse, line, what)
