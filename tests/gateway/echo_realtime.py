"""A provider's real-time module for the gateway-run core's own tests: answers in-process, by script.

`SCRIPT` maps a user message's text to what happens: "FAIL" a 400, "RATE" a 429 (Retry-After 0) on
the first call, "BOOM" a 500 on the first call, "SLOW" a pause; anything else a chat completion that
echoes the text. `CALLS` counts the calls per text, so a test can tell each line ran once.
"""

from __future__ import annotations

import collections
import threading
import time

from blueprints.common.provider import LineReply, LineRequest
from errors import BadRequest, UpstreamError

CALLS: collections.Counter[str] = collections.Counter()
_lock = threading.Lock()
DELAY = {"seconds": 0.0}


def prepare(line: LineRequest) -> dict:
    if line.url != "/v1/chat/completions":
        raise BadRequest(f"url {line.url!r} is not supported here")
    messages = line.body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise BadRequest("messages must be a non-empty list")
    return {"text": str(messages[-1].get("content")), "model": line.model or line.body.get("model", "m")}


def send(prepared: dict, line: LineRequest) -> LineReply:
    text = prepared["text"]
    with _lock:
        CALLS[text] += 1
        calls = CALLS[text]
    if DELAY["seconds"]:
        time.sleep(DELAY["seconds"])
    if "SLOW" in text:
        time.sleep(0.5)
    if "FAIL" in text:
        raise UpstreamError("echo", 400, "this line fails (HTTP 400)", code="bad_line", upstream_status=400,
                            type="invalid_request_error")
    if "RATE" in text and calls == 1:
        raise UpstreamError("echo", 429, "slow down (HTTP 429)", upstream_status=429, headers={"Retry-After": "0"})
    if "BOOM" in text and calls == 1:
        raise UpstreamError("echo", 502, "boom (HTTP 500)", upstream_status=500)
    body = {
        "id": f"chatcmpl-{line.custom_id}", "object": "chat.completion", "created": 1_700_000_000,
        "model": prepared["model"],
        "choices": [{"index": 0, "message": {"role": "assistant", "content": f"echo: {text}"},
                     "finish_reason": "stop", "logprobs": None}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
    }
    return LineReply(body, f"req_{line.custom_id}")
