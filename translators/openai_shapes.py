"""OpenAI's Batch and FileObject as the gateway answers them (providers.md §A.2, §A.6), built in one place.

Every provider's translator describes its batch or file with the fields it knows and gets the whole
object back, every field present (null when unknown), so all providers answer the same shape.
Pure: no HTTP, no Flask, no config, no clock. Times are Unix seconds: `unix()` reads an RFC 3339 text
(any fraction length; a `Z`, an offset or none, meaning UTC) or a datetime (naive meaning UTC).
"""

from __future__ import annotations

import base64
import re
import struct
from datetime import UTC, datetime

CHAT_COMPLETIONS = "/v1/chat/completions"
RESPONSES = "/v1/responses"
EMBEDDINGS = "/v1/embeddings"
COMPLETIONS = "/v1/completions"
COMPLETION_WINDOW = "24h"
# The Batch field that holds when a batch ended, per terminal status.
ENDED_AT = {"completed": "completed_at", "failed": "failed_at", "expired": "expired_at", "cancelled": "cancelled_at"}
IN_FLIGHT = ("validating", "in_progress", "finalizing", "cancelling")

_LONG_FRACTION = re.compile(r"(\.\d{6})\d+")


def unix(moment: str | datetime | None) -> int | None:
    """Unix seconds of an RFC 3339 time or a datetime; None for None (or an empty text)."""
    if moment is None or moment == "":
        return None
    if isinstance(moment, str):
        # fromisoformat takes at most 6 fraction digits (Gemini sends 9): sub-microseconds do not matter here.
        moment = datetime.fromisoformat(_LONG_FRACTION.sub(r"\1", moment.strip()).replace("z", "Z"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def batch(
    *, id: str, status: str, created_at: int, input_file_id: str = "", endpoint: str = CHAT_COMPLETIONS,
    model: str | None = None, request_counts: dict | None = None, output_file_id: str | None = None,
    error_file_id: str | None = None, ended_at: int | None = None, in_progress_at: int | None = None,
    expires_at: int | None = None, cancelling_at: int | None = None, errors: dict | None = None,
    metadata: dict | None = None, usage: dict | None = None, completion_window: str = COMPLETION_WINDOW,
) -> dict:
    """An OpenAI Batch; `ended_at` goes to the field of `status` (`completed_at`, `failed_at`, ...)."""
    shape = {
        "id": id, "object": "batch", "endpoint": endpoint, "model": model, "errors": errors,
        "input_file_id": input_file_id, "completion_window": completion_window, "status": status,
        "output_file_id": output_file_id, "error_file_id": error_file_id, "created_at": created_at,
        "in_progress_at": in_progress_at, "expires_at": expires_at, "finalizing_at": None, "completed_at": None,
        "failed_at": None, "expired_at": None, "cancelling_at": cancelling_at, "cancelled_at": None,
        "request_counts": request_counts, "usage": usage, "metadata": metadata,
    }
    if status in ENDED_AT:
        shape[ENDED_AT[status]] = ended_at
    return shape


def batch_errors(code: str | None, message: str | None) -> dict:
    """A Batch's `errors`: one error about the batch itself (no line)."""
    return {"object": "list", "data": [{"code": code, "message": message, "param": None, "line": None}]}


def file_object(
    *, id: str, bytes: int, created_at: int, filename: str, purpose: str, status: str = "processed",
    expires_at: int | None = None, status_details: str | None = None,
) -> dict:
    """An OpenAI FileObject."""
    return {"id": id, "object": "file", "bytes": bytes, "created_at": created_at, "filename": filename,
            "purpose": purpose, "status": status, "expires_at": expires_at, "status_details": status_details}


# Model replies in OpenAI's shape for each batch endpoint (endpoints.md §2.6, §3.1, §4.2), built from a
# `chat.completion` (what every chat-style provider converter already yields) where that loses nothing
# the target type carries.

# chat.completion finish_reason -> a Response's `incomplete_details.reason` (others: completed).
INCOMPLETE_REASONS = {"length": "max_output_tokens", "content_filter": "content_filter"}
# Chat finish reasons a text_completion choice can carry (`tool_calls` cannot happen without tools).
COMPLETION_FINISH_REASONS = frozenset({"stop", "length", "content_filter"})


def response_usage(*, input_tokens: int, output_tokens: int, cached_tokens: int = 0, cache_write_tokens: int = 0,
                   reasoning_tokens: int = 0) -> dict:
    """A Response's `usage` (every detail present: openai 3.x requires `cache_write_tokens`)."""
    return {"input_tokens": input_tokens,
            "input_tokens_details": {"cached_tokens": cached_tokens, "cache_write_tokens": cache_write_tokens},
            "output_tokens": output_tokens, "output_tokens_details": {"reasoning_tokens": reasoning_tokens},
            "total_tokens": input_tokens + output_tokens}


def response(completion: dict, *, response_id: str, usage: dict, request: dict | None = None) -> dict:
    """A `chat.completion` as an OpenAI `response` object.

    The message's text becomes one `message` item with one `output_text` part, its tool calls
    `function_call` items (item IDs derive from `response_id`, so converting again gives the same
    IDs); `finish_reason` length / content_filter make the Response `incomplete`. `request` (the
    Responses body, when known) is echoed in the fields a Response repeats; without it they take
    the API's defaults (a batch job's results carry no request).
    """
    choice = completion["choices"][0]
    message = choice["message"]
    reason = INCOMPLETE_REASONS.get(choice.get("finish_reason") or "")
    status = "incomplete" if reason else "completed"
    stem = response_id.removeprefix("resp_")
    output: list[dict] = []
    if message.get("content") is not None or message.get("refusal") is not None:
        parts = []
        if message.get("content") is not None:
            parts.append({"type": "output_text", "text": message["content"], "annotations": []})
        if message.get("refusal") is not None:
            parts.append({"type": "refusal", "refusal": message["refusal"]})
        output.append({"type": "message", "id": f"msg_{stem}_0", "status": status, "role": "assistant",
                       "content": parts})
    for number, call in enumerate(message.get("tool_calls") or [], start=len(output)):
        output.append({"type": "function_call", "id": f"fc_{stem}_{number}", "call_id": call["id"],
                       "name": call["function"]["name"], "arguments": call["function"]["arguments"],
                       "status": "completed"})
    echo = request or {}
    return {
        "id": response_id, "object": "response", "created_at": completion["created"], "status": status,
        "error": None, "incomplete_details": {"reason": reason} if reason else None,
        "instructions": echo.get("instructions"), "max_output_tokens": echo.get("max_output_tokens"),
        "model": completion["model"], "output": output,
        "parallel_tool_calls": echo.get("parallel_tool_calls", True), "previous_response_id": None,
        "reasoning": echo.get("reasoning") or {"effort": None, "summary": None},
        "temperature": _number(echo.get("temperature")), "text": echo.get("text") or {"format": {"type": "text"}},
        "tool_choice": echo.get("tool_choice") or "auto", "tools": list(echo.get("tools") or []),
        "top_p": _number(echo.get("top_p")), "truncation": echo.get("truncation") or "disabled", "usage": usage,
        "user": echo.get("user"), "metadata": echo.get("metadata") or {},
    }


def _number(value: object) -> float | None:
    """An echoed sampling value as the float a Response holds (None when absent or not a number)."""
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def text_completion(completion: dict, *, completion_id: str) -> dict:
    """A `chat.completion` as an OpenAI `text_completion`: the reply's text is the completion."""
    choice = completion["choices"][0]
    finish = choice.get("finish_reason")
    usage = completion.get("usage") or {}
    return {
        "id": completion_id, "object": "text_completion", "created": completion["created"],
        "model": completion["model"],
        "choices": [{"text": choice["message"].get("content") or "", "index": 0, "logprobs": None,
                     "finish_reason": finish if finish in COMPLETION_FINISH_REASONS else "stop"}],
        "usage": {"prompt_tokens": usage.get("prompt_tokens", 0),
                  "completion_tokens": usage.get("completion_tokens", 0), "total_tokens": usage.get("total_tokens", 0)},
    }


def embedding_list(vectors: list[list[float]], *, model: str, prompt_tokens: int) -> dict:
    """An OpenAI `CreateEmbeddingResponse`: one `embedding` per vector, in order."""
    return {"object": "list",
            "data": [{"object": "embedding", "index": index, "embedding": vector}
                     for index, vector in enumerate(vectors)],
            "model": model, "usage": {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens}}


def usage_from_chat(usage: dict | None) -> dict:
    """A chat.completion's `usage` as a Response's (chat usage reports no cache writes: 0)."""
    usage = usage or {}
    return response_usage(
        input_tokens=usage.get("prompt_tokens") or 0, output_tokens=usage.get("completion_tokens") or 0,
        cached_tokens=(usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0,
        reasoning_tokens=(usage.get("completion_tokens_details") or {}).get("reasoning_tokens") or 0)


def response_from_chat(chat: dict) -> dict:
    """`response` for a provider whose converter yields a chat.completion with chat usage (Gemini, Vertex)."""
    stem = str(chat["id"]).removeprefix("chatcmpl-")
    return response(chat, response_id=f"resp_{stem}", usage=usage_from_chat(chat.get("usage")))


def completion_from_chat(chat: dict) -> dict:
    """`text_completion` for a chat.completion, its ID derived from the completion's."""
    return text_completion(chat, completion_id=f"cmpl-{str(chat['id']).removeprefix('chatcmpl-')}")


def base64_floats(values: list) -> str:
    """An embedding as OpenAI's `encoding_format: "base64"` gives it: little-endian float32, base64."""
    return base64.b64encode(struct.pack(f"<{len(values)}f", *values)).decode()
