"""A stateful fake of Anthropic's Message Batches API on `responses` (moto style).

Backend methods hold the rules and the state; the `_on_*` callbacks only parse, call, serialise.
A batch is `in_progress` until it has been read `polls_until_ended` times, then `ended`; a cancel
makes it `canceling` until the next read, then `ended` with its unfinished requests `canceled`.
What each request turns into is decided by its `custom_id`:

- contains `overload` -> errored, `overloaded_error` (529)
- contains `error`    -> errored, `invalid_request_error` (400)
- contains `expire`   -> expired
- contains `tool`     -> succeeded with thinking + text + `tool_use` blocks (stop_reason `tool_use`)
- anything else       -> succeeded with text "echo: <last user text>" and cache usage

Every call must carry `x-api-key` (equal to `api_key` when set) and `anthropic-version: 2023-06-01`,
and no `Authorization` header.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import responses

from tests.conftest import ANTHROPIC_BASE

VERSION = "2023-06-01"
CUSTOM_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
EPOCH = datetime(2024, 9, 24, 18, 37, 24, 100435, tzinfo=UTC)
COUNTERS = ("processing", "succeeded", "errored", "canceled", "expired")
_ID = r"/(msgbatch_[A-Za-z0-9_]+)"
_QUERY = r"(\?.*)?$"
JSON = {"content-type": "application/json"}


class FakeError(Exception):
    def __init__(self, status: int, error_type: str, message: str) -> None:
        super().__init__(message)
        self.status, self.error_type, self.message = status, error_type, message


def rfc3339(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def unix(moment: datetime) -> int:
    return int(moment.timestamp())


class FakeAnthropic:
    def __init__(self, base: str = ANTHROPIC_BASE, polls_until_ended: int = 2, api_key: str | None = None) -> None:
        self.base = base
        self.polls_until_ended = polls_until_ended
        self.api_key = api_key
        self.batches: dict[str, dict] = {}
        self.created_bodies: list[dict] = []  # every accepted create body, for assertions
        self.calls: list[tuple[str, str]] = []
        self.refuse_creates_after: int | None = None  # accept this many creates, then answer 529
        self._serial = 0

    # backend: state and rules

    def create(self, body: dict) -> dict:
        if self.refuse_creates_after is not None and self._serial >= self.refuse_creates_after:
            raise FakeError(529, "overloaded_error", "Overloaded")
        requests = body.get("requests") if isinstance(body, dict) else None
        if not isinstance(requests, list) or not requests:
            raise FakeError(400, "invalid_request_error", "requests: must be a non-empty list")
        seen = set()
        for index, item in enumerate(requests):
            custom_id = item.get("custom_id")
            if not isinstance(custom_id, str) or not CUSTOM_ID.fullmatch(custom_id):
                raise FakeError(400, "invalid_request_error", f"requests.{index}.custom_id: invalid")
            if custom_id in seen:
                raise FakeError(400, "invalid_request_error", f"requests.{index}.custom_id: duplicate")
            seen.add(custom_id)
            if not isinstance(item.get("params"), dict) or item["params"].get("stream"):
                raise FakeError(400, "invalid_request_error", f"requests.{index}.params: invalid")
        self._serial += 1
        batch_id = f"msgbatch_{self._serial:024d}"
        created = EPOCH + timedelta(seconds=self._serial)
        self.created_bodies.append(body)
        self.batches[batch_id] = {
            "id": batch_id,
            "type": "message_batch",
            "processing_status": "in_progress",
            "request_counts": {"processing": len(requests), "succeeded": 0, "errored": 0, "canceled": 0,
                               "expired": 0},
            "ended_at": None,
            "created_at": created,
            "expires_at": created + timedelta(hours=24),
            "archived_at": None,
            "cancel_initiated_at": None,
            "results_url": None,
            "_requests": requests,
            "_polls": 0,
            "_outcomes": None,
        }
        return self.batches[batch_id]

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
        outcomes = ["canceled" if cancelled else self.outcome(item["custom_id"]) for item in batch["_requests"]]
        batch["_outcomes"] = outcomes
        counts = dict.fromkeys(COUNTERS, 0)
        for outcome in outcomes:
            counts["errored" if outcome.startswith("errored") else outcome] += 1
        batch["request_counts"] = counts
        batch["processing_status"] = "ended"
        batch["ended_at"] = batch["created_at"] + timedelta(minutes=5)
        batch["results_url"] = f"{self.base}/v1/messages/batches/{batch['id']}/results"

    @staticmethod
    def outcome(custom_id: str) -> str:
        if "overload" in custom_id:
            return "errored:overloaded_error"
        if "error" in custom_id:
            return "errored:invalid_request_error"
        if "expire" in custom_id:
            return "expired"
        return "succeeded"

    def list_page(self, limit: int, after_id: str | None, before_id: str | None) -> dict:
        ordered = sorted(self.batches, reverse=True)  # newest first, like Anthropic
        if after_id:
            ordered = ordered[ordered.index(after_id) + 1:] if after_id in ordered else []
        if before_id:
            ordered = ordered[:ordered.index(before_id)] if before_id in ordered else []
        page = ordered[:limit]
        return {
            "data": [public(self.batches[b]) for b in page],
            "has_more": len(ordered) > limit,
            "first_id": page[0] if page else None,
            "last_id": page[-1] if page else None,
        }

    def results(self, batch_id: str) -> list[dict]:
        batch = self._find(batch_id)
        if batch["processing_status"] != "ended":
            raise FakeError(400, "invalid_request_error", "Batch has not ended")
        return [{"custom_id": item["custom_id"], "result": self._result(batch_id, number, item, outcome)}
                for number, (item, outcome) in enumerate(zip(batch["_requests"], batch["_outcomes"], strict=True))]

    @staticmethod
    def _result(batch_id: str, number: int, item: dict, outcome: str) -> dict:
        if outcome.startswith("errored:"):
            error_type = outcome.split(":", 1)[1]
            return {"type": "errored", "error": {
                "type": "error", "error": {"type": error_type, "message": f"{error_type} for {item['custom_id']}"},
                "request_id": f"req_{batch_id[-6:]}_{number}"}}
        if outcome in ("expired", "canceled"):
            return {"type": outcome}
        params = item["params"]
        message_id = f"msg_{batch_id[-8:]}_{number:03d}"
        if "tool" in item["custom_id"]:
            content = [{"type": "thinking", "thinking": "hmm", "signature": "sig"},
                       {"type": "text", "text": "Let me look."},
                       {"type": "tool_use", "id": f"toolu_{number:04d}", "name": "lookup", "input": {"q": "x"}}]
            stop = "tool_use"
        else:
            last = params["messages"][-1]["content"]
            text = last if isinstance(last, str) else " ".join(b.get("text", "") for b in last)
            content = [{"type": "text", "text": f"echo: {text}"}]
            stop = "end_turn"
        return {"type": "succeeded", "message": {
            "id": message_id, "type": "message", "role": "assistant", "model": params.get("model"),
            "content": content, "stop_reason": stop, "stop_sequence": None,
            "usage": {"input_tokens": 10, "output_tokens": 5, "cache_creation_input_tokens": 2,
                      "cache_read_input_tokens": 3, "service_tier": "batch"},
        }}

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
        return self

    def _wrap(self, handler):
        def callback(request):
            self.calls.append((request.method, request.url))
            key = request.headers.get("x-api-key")
            if not key or (self.api_key is not None and key != self.api_key):
                return error(401, "authentication_error", "invalid x-api-key")
            if request.headers.get("anthropic-version") != VERSION:
                return error(400, "invalid_request_error", "anthropic-version header is required")
            if request.headers.get("authorization"):
                return error(400, "invalid_request_error", "unexpected Authorization header")
            try:
                return handler(request)
            except FakeError as failure:
                return error(failure.status, failure.error_type, failure.message)
        return callback

    def _on_create(self, request):
        body = request.body
        if hasattr(body, "read"):
            body = body.read()
        return 200, JSON, json.dumps(public(self.create(json.loads(body))))

    def _on_list(self, request):
        query = {k: v[-1] for k, v in parse_qs(urlparse(request.url).query).items()}
        page = self.list_page(int(query.get("limit", 20)), query.get("after_id"), query.get("before_id"))
        return 200, JSON, json.dumps(page)

    @staticmethod
    def _batch_id(request) -> str:
        return re.search(r"/batches" + _ID, request.url)[1]

    def _on_get(self, request):
        return 200, JSON, json.dumps(public(self.get(self._batch_id(request))))

    def _on_cancel(self, request):
        return 200, JSON, json.dumps(public(self.cancel(self._batch_id(request))))

    def _on_results(self, request):
        body = "".join(json.dumps(line) + "\n" for line in self.results(self._batch_id(request)))
        return 200, {"content-type": "application/x-jsonl"}, body


def public(batch: dict) -> dict:
    """The MessageBatch as Anthropic sends it: no private keys, times as RFC 3339 strings."""
    return {key: rfc3339(value) if isinstance(value, datetime) else value
            for key, value in batch.items() if not key.startswith("_")}


def error(status: int, error_type: str, message: str) -> tuple[int, dict, str]:
    body = {"type": "error", "error": {"type": error_type, "message": message}, "request_id": "req_fake"}
    return status, JSON, json.dumps(body)
