"""Strict checks against the official `anthropic` SDK types (test-only).

The SDK's request types are TypedDicts and its reply types pydantic models that allow unknown
keys; here both are made strict: an unknown key anywhere, a wrong literal, a missing required
field is a failure. The SDK (2.x) describes API version 2026-10-21; API version 2023-06-01, which
the gateway sends by default, differs for requests only in also taking `temperature` (0-1),
`top_p` (0-1) and `top_k` (>= 0), checked here by hand.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from collections.abc import Iterator

import anthropic.types
import pydantic
from anthropic.types import Message
from anthropic.types.message_create_params import MessageCreateParamsNonStreaming
from anthropic.types.messages import MessageBatch, MessageBatchIndividualResponse
from anthropic.types.messages.batch_create_params import BatchCreateParams
from typing_extensions import is_typeddict

SAMPLING_SINCE_REMOVED = "2026-10-21"


@functools.cache
def _strict_typeddicts() -> None:
    """Make every TypedDict of the SDK refuse unknown keys (pydantic reads `__pydantic_config__`)."""
    for info in pkgutil.walk_packages(anthropic.types.__path__, anthropic.types.__name__ + "."):
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if isinstance(value, type) and is_typeddict(value) and value.__module__ == module.__name__:
                value.__pydantic_config__ = pydantic.ConfigDict(extra="forbid", arbitrary_types_allowed=True)


@functools.cache
def _adapter(type_: object) -> pydantic.TypeAdapter:
    _strict_typeddicts()
    return pydantic.TypeAdapter(type_)


def _drained(value: object, path: str = "") -> Iterator[tuple[str, object]]:
    """Walk a validated value, consuming lazy iterables (pydantic validates them as they are read)
    and yielding `(path, model)` for every pydantic model met."""
    if isinstance(value, pydantic.BaseModel):
        yield path, value
        for name in type(value).model_fields:
            yield from _drained(getattr(value, name), f"{path}.{name}")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _drained(item, f"{path}.{key}")
    elif isinstance(value, (list, tuple)) or (hasattr(value, "__next__") and not isinstance(value, (str, bytes))):
        for index, item in enumerate(value):
            yield from _drained(item, f"{path}[{index}]")


def strict(type_: object, value: object, what: str) -> object:
    """Validate `value` as `type_`; any unknown key (also on a reply model) or invalid value fails."""
    try:
        validated = _adapter(type_).validate_python(value)
        models = list(_drained(validated))
    except pydantic.ValidationError as error:
        raise AssertionError(f"{what} does not match the anthropic SDK types:\n{error}") from None
    for path, model in models:
        extra = model.__pydantic_extra__
        if extra:
            raise AssertionError(f"{what}{path}: keys {sorted(extra)} are not in {type(model).__name__}")
    return validated


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
