"""The synchronous endpoints of an OpenAI-shaped fake (OpenAI, a declared host, Azure): the lines of a
gateway-run batch go there, one call each.

`SyncEndpoints` holds the rules and the deterministic replies; each fake checks the request and its
own reply against the `openai` SDK's types (`tests/contracts/openai_types.py`: `check_sync_request`,
`check_sync_reply`), renders failures in its own error shape and sets its own request-ID header.

What a call ends as is decided by the text it carries (the last chat message, the Responses `input`,
the embeddings `input`, the completions `prompt`):
- contains `FAIL`         -> 400 `invalid_request_error`
- contains `RATE_LIMIT`   -> the first call with that text: 429 with `Retry-After: 1`; later ones succeed
- contains `SERVER_ERROR` -> 500
- contains `ODD_FINISH`   -> a chat completion with finish_reason `eos` (a host's own value, outside
                             OpenAI's types: that reply is deliberately not checked)
- anything else           -> a reply saying "Answer to: <text>"
"""

from __future__ import annotations

import itertools
import json

PATHS = ("chat/completions", "embeddings", "responses", "completions")
USAGE = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
ODD_FINISH = "eos"


class SyncFailure(Exception):
    """A scripted error reply: the fake renders it in its own error shape."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


class SyncEndpoints:
    def __init__(self, clock_start: int = 1_700_000_000) -> None:
        self.calls: list[tuple[str, dict]] = []  # (path, body) of every call that reached the rules
        self.throttled: set[str] = set()  # texts already answered 429 once
        self._clock = itertools.count(clock_start)
        self._ids = itertools.count(1)

    def answer(self, path: str, body: dict) -> tuple[dict, bool]:
        """(the reply, whether it is meant to be within the SDK's types) or a scripted `SyncFailure`."""
        self.calls.append((path, body))
        text = question(path, body)
        if "FAIL" in text:
            raise SyncFailure(400, "invalid_request_error", f"The fake refuses: {text}")
        if "RATE_LIMIT" in text and text not in self.throttled:
            self.throttled.add(text)
            raise SyncFailure(429, "rate_limit_exceeded", "Rate limit reached; try again in 1s.",
                              {"Retry-After": "1"})
        if "SERVER_ERROR" in text:
            raise SyncFailure(500, "server_error", "The server had an error while processing your request.")
        number, created = next(self._ids), next(self._clock)
        reply = getattr(self, "_" + path.replace("/", "_"))(body, text, number, created)
        if "ODD_FINISH" in text and path == "chat/completions":
            reply["choices"][0]["finish_reason"] = ODD_FINISH
            return reply, False
        return reply, True

    @staticmethod
    def _chat_completions(body: dict, text: str, number: int, created: int) -> dict:
        return {"id": f"chatcmpl-{number:04d}", "object": "chat.completion", "created": created,
                "model": body["model"], "choices": [{"index": 0, "message": {
                    "role": "assistant", "content": f"Answer to: {text}", "refusal": None},
                    "logprobs": None, "finish_reason": "stop"}], "usage": dict(USAGE)}

    @staticmethod
    def _completions(body: dict, text: str, number: int, created: int) -> dict:
        return {"id": f"cmpl-{number:04d}", "object": "text_completion", "created": created, "model": body["model"],
                "choices": [{"text": f"Answer to: {text}", "index": 0, "logprobs": None, "finish_reason": "stop"}],
                "usage": dict(USAGE)}

    @staticmethod
    def _embeddings(body: dict, text: str, number: int, created: int) -> dict:
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        return {"object": "list", "model": body["model"], "usage": {"prompt_tokens": 3, "total_tokens": 3},
                "data": [{"object": "embedding", "index": index, "embedding": [0.1, 0.2, float(index)]}
                         for index in range(len(inputs))]}

    @staticmethod
    def _responses(body: dict, text: str, number: int, created: int) -> dict:
        return {
            "id": f"resp_{number:04d}", "object": "response", "created_at": created, "status": "completed",
            "model": body["model"], "error": None, "incomplete_details": None, "instructions": None,
            "metadata": {}, "parallel_tool_calls": True, "temperature": 1.0, "top_p": 1.0, "tool_choice": "auto",
            "tools": [], "output": [{"id": f"msg_{number:04d}", "type": "message", "role": "assistant",
                                     "status": "completed", "content": [{"type": "output_text", "annotations": [],
                                                                         "text": f"Answer to: {text}"}]}],
            "usage": {"input_tokens": 10, "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
                      "output_tokens": 5, "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 15},
        }


def question(path: str, body: dict) -> str:
    """The text a call carries, which decides its fate (see the module docstring)."""
    if path == "chat/completions":
        value = (body.get("messages") or [{}])[-1].get("content")
    elif path == "completions":
        value = body.get("prompt")
    else:
        value = body.get("input")
        if isinstance(value, list) and value and isinstance(value[-1], dict):
            value = value[-1].get("content")
    return value if isinstance(value, str) else json.dumps(value)
