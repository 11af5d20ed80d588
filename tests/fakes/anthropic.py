"""A stateful fake of Anthropic's Message Batches API on `responses` (moto style), held to the
official `anthropic` SDK types in both directions.

Backend methods hold the rules and the state; the `_on_*` callbacks only parse, check, call and
serialise. A batch is `in_progress` until it has been read `polls_until_ended` times, then `ended`;
a cancel makes it `canceling` until the next read, then `ended` with its requests `canceled`.

Requests. Every call must carry `x-api-key` (equal to `api_key` when set), an `anthropic-version`
the API knows (`VERSIONS`) and no `Authorization` header. Every create body is checked with
`tests.contracts.anthropic_types.check_batch_create` for the API version in its header, then
against the documented envelope rules (`custom_id` pattern and uniqueness, no `stream`). A body
that fails is answered 400 `invalid_request_error`, as Anthropic answers it, AND recorded in
`violations`: the tests' fixture asserts that list empty at teardown, so a request the official
types reject fails the test that sent it even when the gateway turns the 400 into something else.
A test that sends a bad body on purpose takes it out of `violations` itself.

Replies. Every MessageBatch (`check_batch`), results line (`check_result_line`), Message in one
(`check_message`) and error body (`ErrorResponse`) is checked before it is sent; a failure is
recorded in `violations` and raised. Only the lines a test hands over with `answer_raw` (and the
`results_trailer`) go out unchecked: they are deliberately outside the types.

What each request ends as: the result a test gave for its `custom_id` with `answer` (any result
the SDK types allow: use `succeeded`, `errored`, `EXPIRED`, `CANCELED`, `message`, `BLOCKS`) or
the raw line it gave with `answer_raw`; otherwise decided by the `custom_id`:

- contains `overload` -> errored, `overloaded_error` (529)
- contains `error`    -> errored, `invalid_request_error` (400)
- contains `expire`   -> expired
- contains `tool`     -> succeeded with thinking + text + `tool_use` blocks (stop_reason `tool_use`)
- anything else       -> succeeded with text "echo: <last user text>" and cache usage

`break_results_after=n` makes every results body fail after n bytes (a connection reset, as a
dropped download looks to `requests`).

Messages (`POST /v1/messages`, where the lines of a gateway-run batch go): the body is checked with
`check_params` for the API version in its header, like a batch request's params; the reply is a
Message (`check_message`) with a `request-id` header, decided by the last user text:

- contains `FAIL`         -> 400 `invalid_request_error`
- contains `RATE_LIMIT`   -> the first call with that text: 429 `rate_limit_error` with `retry-after: 1`
- contains `OVERLOAD`     -> 529 `overloaded_error`
- contains `SERVER_ERROR` -> 500 `api_error`
- contains `tool`         -> thinking + text + `tool_use` blocks (stop_reason `tool_use`)
- anything else           -> text "echo: <last user text>" and cache usage
"""

from __future__ import annotations

import copy
import io
import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Literal, get_args, get_origin
from urllib.parse import parse_qs, urlparse

import pytest
import responses
from anthropic._constants import ANTHROPIC_API_VERSION
from anthropic.types import ContentBlock, StopReason
from anthropic.types.messages import MessageBatch, MessageBatchResult
from anthropic.types.shared import ErrorObject, ErrorResponse, ErrorType

from tests.contracts.anthropic_types import (
    check_batch,
    check_batch_create,
    check_message,
    check_params,
    check_result_line,
    strict,
)
from tests.fakes import fake_base
from tests.fakes.contract import ContractFake

ANTHROPIC_BASE = fake_base("anthropic")

# API versions the fake serves: the one the gateway sends by default, and the SDK's own.
VERSIONS = ("2023-06-01", ANTHROPIC_API_VERSION)
CUSTOM_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
EPOCH = datetime(2024, 9, 24, 18, 37, 24, 100435, tzinfo=UTC)
COUNTERS = ("processing", "succeeded", "errored", "canceled", "expired")
_ID = r"/(msgbatch_[A-Za-z0-9_]+)"
_QUERY = r"(\?.*)?$"
JSON = {"content-type": "application/json"}


# What the official SDK declares (read from its types, so a new SDK version shows up here)


def _members(union: object) -> tuple:
    """The members of a (possibly `Annotated`) Union type alias."""
    args = get_args(union)
    return get_args(args[0]) if args and get_args(args[0]) else args


def _literal(model: type, field: str = "type") -> str:
    """The one value of a pydantic model's Literal field."""
    annotation = model.model_fields[field].annotation
    assert get_origin(annotation) is Literal, f"{model.__name__}.{field} is not a Literal"
    (value,) = get_args(annotation)
    return value


def declared_stop_reasons() -> tuple[str, ...]:
    return get_args(StopReason)


def declared_block_types() -> tuple[str, ...]:
    return tuple(_literal(member) for member in _members(ContentBlock))


def declared_error_types() -> tuple[str, ...]:
    """`ErrorType` and the `type` of every `ErrorObject` member (one list, in declaration order)."""
    values = list(get_args(ErrorType))
    values += [value for value in (_literal(m) for m in _members(ErrorObject)) if value not in values]
    return tuple(values)


def declared_result_types() -> tuple[str, ...]:
    return tuple(_literal(member) for member in _members(MessageBatchResult))


def declared_processing_statuses() -> tuple[str, ...]:
    return get_args(MessageBatch.model_fields["processing_status"].annotation)


# `ErrorType` values with no `ErrorObject` member: an errored result carrying one is checked with
# the error object against `ErrorType` and the rest of the line against the SDK's result types.
ERROR_TYPES_WITHOUT_OBJECT = frozenset(get_args(ErrorType)) - {_literal(m) for m in _members(ErrorObject)}


# Building results the SDK types allow

MODEL = "claude-sonnet-4-5"
USAGE = {"input_tokens": 10, "output_tokens": 5, "cache_creation_input_tokens": 2, "cache_read_input_tokens": 3,
         "service_tier": "batch"}
EXPIRED = {"type": "expired"}
CANCELED = {"type": "canceled"}

# One valid block of every `ContentBlock` member, by type.
BLOCKS: dict[str, dict] = {
    "text": {"type": "text", "text": "Hello!", "citations": None},
    "thinking": {"type": "thinking", "thinking": "Let me think.", "signature": "sig"},
    "redacted_thinking": {"type": "redacted_thinking", "data": "opaque"},
    "tool_use": {"type": "tool_use", "id": "toolu_01", "name": "lookup", "input": {"q": "x"}},
    "server_tool_use": {"type": "server_tool_use", "id": "srvtoolu_01", "name": "web_search",
                        "input": {"query": "x"}},
    "web_search_tool_result": {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_01",
                               "content": {"type": "web_search_tool_result_error", "error_code": "unavailable"}},
    "web_fetch_tool_result": {"type": "web_fetch_tool_result", "tool_use_id": "srvtoolu_02",
                              "content": {"type": "web_fetch_tool_result_error", "error_code": "unavailable"}},
    "code_execution_tool_result": {"type": "code_execution_tool_result", "tool_use_id": "srvtoolu_03",
                                   "content": {"type": "code_execution_tool_result_error",
                                               "error_code": "unavailable"}},
    "bash_code_execution_tool_result": {"type": "bash_code_execution_tool_result", "tool_use_id": "srvtoolu_04",
                                        "content": {"type": "bash_code_execution_tool_result_error",
                                                    "error_code": "unavailable"}},
    "text_editor_code_execution_tool_result": {
        "type": "text_editor_code_execution_tool_result", "tool_use_id": "srvtoolu_05",
        "content": {"type": "text_editor_code_execution_tool_result_error", "error_code": "file_not_found"}},
    "tool_search_tool_result": {"type": "tool_search_tool_result", "tool_use_id": "srvtoolu_06",
                                "content": {"type": "tool_search_tool_result_error", "error_code": "unavailable"}},
    "container_upload": {"type": "container_upload", "file_id": "file_01"},
}


def message(content: list[dict] | None = None, *, stop_reason: str | None = "end_turn", message_id: str = "msg_01",
            model: str = MODEL) -> dict:
    """A Message (`check_message` holds it to the types when the fake sends it)."""
    return {"id": message_id, "type": "message", "role": "assistant", "model": model,
            "content": [BLOCKS["text"]] if content is None else content, "stop_reason": stop_reason,
            "stop_sequence": None, "usage": dict(USAGE)}


def succeeded(msg: dict) -> dict:
    return {"type": "succeeded", "message": msg}


def errored(error_type: str, text: str | None = None, request_id: str | None = "req_fake_01") -> dict:
    response = {"type": "error", "error": {"type": error_type, "message": text or f"{error_type} happened"}}
    if request_id is not None:
        response["request_id"] = request_id
    return {"type": "errored", "error": response}


def check_result(line: dict, what: str = "result line") -> None:
    """A results line as the SDK types allow it (see `ERROR_TYPES_WITHOUT_OBJECT`), its Message too."""
    result = line.get("result") if isinstance(line, dict) else None
    if isinstance(result, dict) and result.get("type") == "errored":
        error = (result.get("error") or {}).get("error")
        if isinstance(error, dict) and error.get("type") in ERROR_TYPES_WITHOUT_OBJECT:
            strict(ErrorType, error["type"], f"{what}.result.error.error.type")
            assert set(error) == {"type", "message"} and isinstance(error["message"], str), \
                f"{what}.result.error.error must be {{type, message}}"
            line = copy.deepcopy(line)
            line["result"]["error"]["error"]["type"] = "api_error"  # a declared member, for the rest
    check_result_line(line, what)
    if isinstance(result, dict) and result.get("type") == "succeeded":
        check_message(result["message"], f"{what}.result.message")


class FakeError(Exception):
    def __init__(self, status: int, error_type: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.error_type, self.message, self.headers = status, error_type, message, headers or {}


class Violation(AssertionError):
    """A request the official types reject, or a reply the fake itself got wrong."""


def rfc3339(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def unix(moment: datetime) -> int:
    return int(moment.timestamp())


class _Breaking(io.RawIOBase):
    """A body that fails after `limit` bytes, as a connection reset mid-download."""

    def __init__(self, data: bytes, limit: int) -> None:
        self._data, self._limit, self._at = data, limit, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self._at >= self._limit:
            raise ConnectionResetError("connection reset by the fake")
        size = min(len(buffer), self._limit - self._at, len(self._data) - self._at)
        buffer[:size] = self._data[self._at:self._at + size]
        self._at += size
        return size


class FakeAnthropic:
    def __init__(self, base: str = ANTHROPIC_BASE, polls_until_ended: int = 2, api_key: str | None = None) -> None:
        self.base = base
        self.polls_until_ended = polls_until_ended
        self.api_key = api_key
        self.batches: dict[str, dict] = {}
        self.created_bodies: list[dict] = []  # every accepted create body, for assertions
        self.calls: list[tuple[str, str]] = []
        self.versions: list[str] = []  # the anthropic-version of every call
        self.violations: list[str] = []  # asserted empty by the tests' fixture
        self.refuse_creates_after: int | None = None  # accept this many creates, then answer 529
        self.answers: dict[str, dict] = {}  # custom_id -> result (checked when sent)
        self.raw_answers: dict[str, tuple[bytes, str]] = {}  # custom_id -> (line sent as is, counted as)
        self.results_trailer = b""  # appended to every results body as is (e.g. a partial last line)
        self.break_results_after: int | None = None
        self.messages: list[dict] = []  # every accepted `POST /v1/messages` body, for assertions
        self.throttled: set[str] = set()  # texts already answered 429 once
        self._serial = 0

    # test controls

    def answer(self, custom_id: str, result: dict) -> None:
        """End the request `custom_id` with `result` (a `MessageBatchResult`, checked when sent)."""
        self.answers[custom_id] = result

    def answer_raw(self, custom_id: str, line: bytes, counted_as: str = "errored") -> None:
        """Send `line` as the results line of `custom_id`, unchecked, counted under `counted_as`."""
        assert counted_as in COUNTERS[1:]
        self.raw_answers[custom_id] = (line, counted_as)

    def assert_clean(self) -> None:
        assert not self.violations, "the Anthropic fake saw requests/replies outside the SDK types:\n" + \
            "\n".join(self.violations)

    # backend: state and rules

    def create(self, body: dict, api_version: str) -> dict:
        if self.refuse_creates_after is not None and self._serial >= self.refuse_creates_after:
            raise FakeError(529, "overloaded_error", "Overloaded")
        try:
            check_batch_create(body, api_version=api_version)
        except AssertionError as error:
            raise self._refused(f"create body for anthropic-version {api_version}: {error}") from None
        seen = set()
        for index, item in enumerate(body["requests"]):
            custom_id = item["custom_id"]
            if not CUSTOM_ID.fullmatch(custom_id):
                raise self._refused(f"requests.{index}.custom_id: {custom_id!r} does not match {CUSTOM_ID.pattern}")
            if custom_id in seen:
                raise self._refused(f"requests.{index}.custom_id: {custom_id!r} is used twice")
            seen.add(custom_id)
        if not body["requests"]:
            raise self._refused("requests: must hold at least one request")
        self._serial += 1
        batch_id = f"msgbatch_{self._serial:024d}"
        created = EPOCH + timedelta(seconds=self._serial)
        self.created_bodies.append(body)
        self.batches[batch_id] = {
            "id": batch_id,
            "type": "message_batch",
            "processing_status": "in_progress",
            "request_counts": {"processing": len(body["requests"]), "succeeded": 0, "errored": 0, "canceled": 0,
                               "expired": 0},
            "ended_at": None,
            "created_at": created,
            "expires_at": created + timedelta(hours=24),
            "archived_at": None,
            "cancel_initiated_at": None,
            "results_url": None,
            "_requests": body["requests"],
            "_polls": 0,
            "_lines": None,
        }
        return self.batches[batch_id]

    def _refused(self, message: str) -> FakeError:
        self.violations.append(message)
        return FakeError(400, "invalid_request_error", message)

    def _find(self, batch_id: str) -> dict:
        if batch_id not in self.batches:
            raise FakeError(404, "not_found_error", f"No batch {batch_id}")
        return self.batches[batch_id]

    def get(self, batch_id: str) -> dict:
        batch = self._find(batch_id)
        batch["_polls"] += 1
        if batch["processing_status"] == "canceling":
            self._end(batch, cancelled=True)
        elif batch["processing_status"] == "in_progress" and batch["_polls"] >= self.polls_until_ended:
            self._end(batch, cancelled=False)
        return batch

    def cancel(self, batch_id: str) -> dict:
        batch = self._find(batch_id)
        if batch["processing_status"] == "ended":
            raise FakeError(400, "invalid_request_error", f"Batch {batch_id} has ended and cannot be canceled")
        if batch["processing_status"] == "in_progress":
            batch["processing_status"] = "canceling"
            batch["cancel_initiated_at"] = batch["created_at"] + timedelta(seconds=30)
        return batch

    def end_now(self, batch_id: str) -> dict:
        """Test helper: finish a batch without polling."""
        batch = self._find(batch_id)
        if batch["processing_status"] != "ended":
            self._end(batch, cancelled=batch["processing_status"] == "canceling")
        return batch

    def _end(self, batch: dict, cancelled: bool) -> None:
        lines: list[tuple[bytes, str]] = []  # (the results line, the counter it is counted under)
        for number, item in enumerate(batch["_requests"]):
            custom_id = item["custom_id"]
            if custom_id in self.raw_answers and not cancelled:
                lines.append(self.raw_answers[custom_id])
                continue
            if cancelled:
                result = CANCELED
            elif custom_id in self.answers:
                result = self.answers[custom_id]
            else:
                result = self._default_result(batch["id"], number, item)
            line = {"custom_id": custom_id, "result": result}
            self._checked(check_result, line, f"results line of {custom_id!r}")
            lines.append((json.dumps(line).encode(), result["type"]))
        batch["_lines"] = [line for line, _ in lines]
        counts = dict.fromkeys(COUNTERS, 0)
        for _, counted_as in lines:
            counts[counted_as] += 1
        batch["request_counts"] = counts
        batch["processing_status"] = "ended"
        batch["ended_at"] = batch["created_at"] + timedelta(minutes=5)
        batch["results_url"] = f"{self.base}/v1/messages/batches/{batch['id']}/results"

    @staticmethod
    def _default_result(batch_id: str, number: int, item: dict) -> dict:
        custom_id = item["custom_id"]
        if "overload" in custom_id:
            return errored("overloaded_error", f"overloaded_error for {custom_id}", f"req_{batch_id[-6:]}_{number}")
        if "error" in custom_id:
            return errored("invalid_request_error", f"invalid_request_error for {custom_id}",
                           f"req_{batch_id[-6:]}_{number}")
        if "expire" in custom_id:
            return EXPIRED
        return succeeded(_answer(item["params"], f"msg_{batch_id[-8:]}_{number:03d}", tools="tool" in custom_id,
                                 number=number))

    def create_message(self, params: dict, api_version: str) -> dict:
        """`POST /v1/messages`: the Message for `params`, or the failure its last user text scripts."""
        try:
            check_params(params, api_version=api_version)
        except AssertionError as error:
            raise self._refused(f"message params for anthropic-version {api_version}: {error}") from None
        text = _last_text(params)
        if "FAIL" in text:
            raise FakeError(400, "invalid_request_error", f"The fake refuses: {text}")
        if "RATE_LIMIT" in text and text not in self.throttled:
            self.throttled.add(text)
            raise FakeError(429, "rate_limit_error", "Number of request tokens has exceeded your rate limit.",
                            {"retry-after": "1"})
        if "OVERLOAD" in text:
            raise FakeError(529, "overloaded_error", "Overloaded")
        if "SERVER_ERROR" in text:
            raise FakeError(500, "api_error", "Internal server error")
        self.messages.append(params)
        number = len(self.messages)
        return _answer(params, f"msg_rt_{number:04d}", tools="tool" in text, number=number)

    def list_page(self, limit: int, after_id: str | None, before_id: str | None) -> dict:
        ordered = sorted(self.batches, reverse=True)  # newest first, like Anthropic
        if after_id:
            ordered = ordered[ordered.index(after_id) + 1:] if after_id in ordered else []
        if before_id:
            ordered = ordered[:ordered.index(before_id)] if before_id in ordered else []
        page = ordered[:limit]
        return {
            "data": [self._public(self.batches[b]) for b in page],
            "has_more": len(ordered) > limit,
            "first_id": page[0] if page else None,
            "last_id": page[-1] if page else None,
        }

    def results_body(self, batch_id: str) -> bytes:
        batch = self._find(batch_id)
        if batch["processing_status"] != "ended":
            raise FakeError(400, "invalid_request_error", "Batch has not ended")
        return b"".join(line + b"\n" for line in batch["_lines"]) + self.results_trailer

    # reply checks

    def _checked(self, check, value, what: str) -> None:
        try:
            check(value, what)
        except AssertionError as error:
            self.violations.append(f"the fake's own reply: {error}")
            raise Violation(str(error)) from None

    def _public(self, batch: dict) -> dict:
        out = public(batch)
        self._checked(check_batch, out, f"MessageBatch {batch['id']}")
        return out

    def _error(self, status: int, error_type: str, text: str,
               headers: dict[str, str] | None = None) -> tuple[int, dict, str]:
        body = {"type": "error", "error": {"type": error_type, "message": text}, "request_id": "req_fake"}
        self._checked(lambda value, what: strict(ErrorResponse, value, what), body, "error reply")
        return status, {**JSON, "request-id": "req_fake", **(headers or {})}, json.dumps(body)

    # HTTP layer: thin

    def register(self, rsps: responses.RequestsMock) -> FakeAnthropic:
        root = re.escape(f"{self.base}/v1/messages/batches")
        rsps.add_callback(responses.POST, re.compile(root + _QUERY), callback=self._wrap(self._on_create))
        rsps.add_callback(responses.GET, re.compile(root + _QUERY), callback=self._wrap(self._on_list))
        rsps.add_callback(responses.GET, re.compile(root + _ID + "/results" + _QUERY),
                          callback=self._wrap(self._on_results))
        rsps.add_callback(responses.GET, re.compile(root + _ID + _QUERY), callback=self._wrap(self._on_get))
        rsps.add_callback(responses.POST, re.compile(root + _ID + "/cancel" + _QUERY),
                          callback=self._wrap(self._on_cancel))
        rsps.add_callback(responses.POST, re.compile(re.escape(f"{self.base}/v1/messages") + _QUERY),
                          callback=self._wrap(self._on_message))
        return self

    def _wrap(self, handler):
        def callback(request):
            self.calls.append((request.method, request.url))
            key = request.headers.get("x-api-key")
            if not key or (self.api_key is not None and key != self.api_key):
                return self._error(401, "authentication_error", "invalid x-api-key")
            version = request.headers.get("anthropic-version")
            self.versions.append(version)
            if version not in VERSIONS:
                self.violations.append(f"anthropic-version {version!r} is not one of {VERSIONS}")
                return self._error(400, "invalid_request_error", f"anthropic-version: {version!r} is not valid")
            if request.headers.get("authorization"):
                self.violations.append("an Authorization header was sent to Anthropic")
                return self._error(400, "invalid_request_error", "unexpected Authorization header")
            try:
                return handler(request, version)
            except FakeError as failure:
                return self._error(failure.status, failure.error_type, failure.message, failure.headers)
        return callback

    def _on_create(self, request, version: str):
        body = request.body
        if hasattr(body, "read"):
            body = body.read()
        try:
            parsed = json.loads(body)
        except ValueError:
            raise self._refused("the create body is not JSON") from None
        return 200, JSON, json.dumps(self._public(self.create(parsed, version)))

    def _on_list(self, request, version: str):
        query = {k: v[-1] for k, v in parse_qs(urlparse(request.url).query).items()}
        limit = query.get("limit", "20")
        if not limit.isdigit() or not 1 <= int(limit) <= 1000:  # BatchListParams: "Ranges from 1 to 1000"
            raise self._refused(f"limit: {limit!r} must be an integer from 1 to 1000")
        unknown = set(query) - {"limit", "after_id", "before_id"}
        if unknown:
            raise self._refused(f"unknown query parameters {sorted(unknown)}")
        page = self.list_page(int(limit), query.get("after_id"), query.get("before_id"))
        return 200, JSON, json.dumps(page)

    def _on_message(self, request, version: str):
        try:
            params = json.loads(request.body)
        except ValueError:
            raise self._refused("the message body is not JSON") from None
        reply = self.create_message(params, version)
        self._checked(check_message, reply, f"Message {reply['id']}")
        return 200, {**JSON, "request-id": f"req_{reply['id']}"}, json.dumps(reply)

    @staticmethod
    def _batch_id(request) -> str:
        return re.search(r"/batches" + _ID, request.url)[1]

    def _on_get(self, request, version: str):
        return 200, JSON, json.dumps(self._public(self.get(self._batch_id(request))))

    def _on_cancel(self, request, version: str):
        return 200, JSON, json.dumps(self._public(self.cancel(self._batch_id(request))))

    def _on_results(self, request, version: str):
        body = self.results_body(self._batch_id(request))
        if self.break_results_after is not None:
            body = io.BufferedReader(_Breaking(body, self.break_results_after))
        return 200, {"content-type": "application/x-jsonl"}, body


def _last_text(params: dict) -> str:
    last = params["messages"][-1]["content"]
    return last if isinstance(last, str) else " ".join(b.get("text", "") for b in last)


def _answer(params: dict, message_id: str, *, tools: bool, number: int) -> dict:
    """The Message answering `params`: an echo of the last user text, or a tool call."""
    if tools:
        content = [{"type": "thinking", "thinking": "hmm", "signature": "sig"},
                   {"type": "text", "text": "Let me look."},
                   {"type": "tool_use", "id": f"toolu_{number:04d}", "name": "lookup", "input": {"q": "x"}}]
        return message(content, stop_reason="tool_use", message_id=message_id, model=params["model"])
    return message([{"type": "text", "text": f"echo: {_last_text(params)}"}], message_id=message_id,
                   model=params["model"])


def public(batch: dict) -> dict:
    """The MessageBatch as Anthropic sends it: no private keys, times as RFC 3339 strings."""
    return {key: rfc3339(value) if isinstance(value, datetime) else value
            for key, value in batch.items() if not key.startswith("_")}


@contextmanager
def anthropic_fakes(rsps: responses.RequestsMock) -> Iterator[Callable[..., FakeAnthropic]]:
    """For a fixture: makes fakes registered on `rsps`, and fails the test if any saw a violation."""
    made: list[FakeAnthropic] = []

    def make(**kwargs) -> FakeAnthropic:
        made.append(FakeAnthropic(**kwargs).register(rsps))
        return made[-1]

    yield make
    for fake in made:
        fake.assert_clean()


class _ContractScript:
    def __init__(self, fake: FakeAnthropic) -> None:
        self.fake = fake

    def next_batch_has_an_unconvertible_line(self, custom_id: str) -> None:
        line = json.dumps({"custom_id": custom_id, "result": {"type": "a_result_type_from_next_year"}})
        self.fake.answer_raw(custom_id, line.encode())

    def finish(self, batch_id: str) -> None:
        pass  # a batch ends after `polls_until_ended` reads


@pytest.fixture
def anthropic_contract(rsps):
    """The Anthropic fake for the provider contract test (tests/fakes/contract.py)."""
    with anthropic_fakes(rsps) as make:
        fake = make(api_key="sk-test-key")
        yield ContractFake("anthropic", _ContractScript(fake), model="claude-3-5-haiku-20241022",
                           lists_batches_by_their_ids=False)
