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


# Result bodies of the endpoints beyond chat (endpoints.md §2.6, §3.1, §4.2). Every provider whose
# reply is first read as a chat.completion (its translator's own converter) reshapes it here, so the
# rules (finish reason -> status, usage names) are written once.

RESPONSES = "/v1/responses"
EMBEDDINGS = "/v1/embeddings"
COMPLETIONS = "/v1/completions"
# chat finish_reason -> Response `incomplete_details.reason`; any other reason is a completed Response.
INCOMPLETE_REASONS = {"length": "max_output_tokens", "content_filter": "content_filter"}
# The finish reasons a text_completion choice may carry (openai.types.CompletionChoice).
COMPLETION_FINISH_REASONS = ("stop", "length", "content_filter")


def _suffix(chat: dict) -> str:
    """The provider's response ID inside a chat.completion ID (`chatcmpl-<id>`)."""
    return str(chat["id"]).removeprefix("chatcmpl-")


def response_usage(usage: dict | None) -> dict | None:
    """Chat `usage` as Responses `usage` (cache writes are not reported by chat usage: 0)."""
    if usage is None:
        return None
    return {
        "input_tokens": usage.get("prompt_tokens", 0),
        "input_tokens_details": {"cached_tokens": (usage.get("prompt_tokens_details") or {}).get("cached_tokens", 0),
                                 "cache_write_tokens": 0},
        "output_tokens": usage.get("completion_tokens", 0),
        "output_tokens_details": {
            "reasoning_tokens": (usage.get("completion_tokens_details") or {}).get("reasoning_tokens", 0)},
        "total_tokens": usage.get("total_tokens", 0),
    }


def _output_items(message: dict, suffix: str, status: str) -> list[dict]:
    """A chat message's text and tool calls as Responses output items (text first, as chat puts it)."""
    items: list[dict] = []
    calls = message.get("tool_calls") or []
    text = message.get("content")
    if text or (text is not None and not calls):
        items.append({"type": "message", "id": f"msg_{suffix}", "status": status, "role": "assistant",
                      "content": [{"type": "output_text", "text": text, "annotations": []}]})
    for number, call in enumerate(calls):
        function = call["function"]
        items.append({"type": "function_call", "id": f"fc_{suffix}_{number}", "call_id": call["id"],
                      "name": function["name"], "arguments": function["arguments"], "status": "completed"})
    return items


def response_from_chat(chat: dict) -> dict:
    """A chat.completion (its first choice) as an OpenAI Responses `response` object.

    `length` and `content_filter` make the Response `incomplete` with the matching reason; a blocked
    prompt (no content, no calls) has no output items. What the request asked for (instructions,
    tools, temperature...) is not echoed: batch results do not carry the request, so those fields are
    null or their defaults.
    """
    suffix = _suffix(chat)
    choice = chat["choices"][0]
    reason = INCOMPLETE_REASONS.get(choice.get("finish_reason"))
    status = "incomplete" if reason else "completed"
    created = chat["created"]
    return {
        "id": f"resp_{suffix}", "object": "response", "created_at": created,
        "completed_at": created if status == "completed" else None, "status": status, "error": None,
        "incomplete_details": {"reason": reason} if reason else None, "instructions": None,
        "max_output_tokens": None, "model": chat["model"],
        "output": _output_items(choice["message"], suffix, status), "parallel_tool_calls": True,
        "previous_response_id": None, "reasoning": None, "store": False, "temperature": None,
        "text": {"format": {"type": "text"}}, "tool_choice": "auto", "tools": [], "top_p": None,
        "truncation": "disabled", "usage": response_usage(chat.get("usage")), "user": None, "metadata": None,
    }


def completion_from_chat(chat: dict) -> dict:
    """A chat.completion as a legacy `text_completion` (tool calls cannot happen: their reason is stop)."""
    choices = []
    for position, choice in enumerate(chat["choices"]):
        reason = choice.get("finish_reason")
        choices.append({"text": choice["message"].get("content") or "", "index": choice.get("index", position),
                        "logprobs": None,
                        "finish_reason": reason if reason in COMPLETION_FINISH_REASONS else "stop"})
    usage = chat.get("usage")
    return {
        "id": f"cmpl-{_suffix(chat)}", "object": "text_completion", "created": chat["created"],
        "model": chat["model"], "choices": choices,
        "usage": {key: usage.get(key, 0) for key in ("prompt_tokens", "completion_tokens", "total_tokens")}
        if usage is not None else None,
    }


def embedding_list(vectors: list, *, model: str, prompt_tokens: int = 0) -> dict:
    """An OpenAI `CreateEmbeddingResponse`: `vectors[i]` (floats, or a base64 text) is `data[i]`."""
    return {
        "object": "list",
        "data": [{"object": "embedding", "index": index, "embedding": vector} for index, vector in enumerate(vectors)],
        "model": model,
        "usage": {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens},
    }


def base64_floats(values: list) -> str:
    """An embedding as OpenAI's `encoding_format: "base64"` gives it: little-endian float32, base64."""
    return base64.b64encode(struct.pack(f"<{len(values)}f", *values)).decode()
