"""OpenAI's Batch and FileObject as the gateway answers them (providers.md §A.2, §A.6), built in one place.

Every provider's translator describes its batch or file with the fields it knows and gets the whole
object back, every field present (null when unknown), so all providers answer the same shape.
Pure: no HTTP, no Flask, no config, no clock. Times are Unix seconds: `unix()` reads an RFC 3339 text
(any fraction length; a `Z`, an offset or none, meaning UTC) or a datetime (naive meaning UTC).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import msgspec

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


# Responses API `response` objects (endpoints.md §2.6-§2.8) and legacy `text_completion` objects (§4.2)

# Request fields a Response echoes, with what it says when the request did not give them (or is not
# known: a Message Batch result carries no request). `openai.types.responses.Response` requires
# `tools`, `tool_choice` and `parallel_tool_calls`; the others are sent because OpenAI always sends them.
RESPONSE_ECHO: dict[str, object] = {
    "instructions": None,
    "max_output_tokens": None,
    "metadata": {},
    "parallel_tool_calls": True,
    "previous_response_id": None,
    "reasoning": {"effort": None, "summary": None},
    "temperature": None,
    "text": {"format": {"type": "text"}},
    "tool_choice": "auto",
    "tools": [],
    "top_p": None,
    "truncation": "disabled",
    "user": None,
}


def response_usage(*, input_tokens: int, output_tokens: int, cached_tokens: int = 0, cache_write_tokens: int = 0,
                   reasoning_tokens: int = 0) -> dict:
    """A Response's `usage`; `input_tokens` already counts cached and cache-written tokens.

    `cache_write_tokens` is required by openai 3.x (`InputTokensDetails`) and ignored by 1.x.
    """
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": cached_tokens, "cache_write_tokens": cache_write_tokens},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": reasoning_tokens},
        "total_tokens": input_tokens + output_tokens,
    }


def output_message(*, id: str, texts: list[str], status: str = "completed") -> dict:
    """A `message` output item with one `output_text` part per text."""
    return {"type": "message", "id": id, "status": status, "role": "assistant",
            "content": [{"type": "output_text", "text": text, "annotations": []} for text in texts]}


def function_call_item(*, id: str, call_id: str, name: str, arguments: str) -> dict:
    """A `function_call` output item; `arguments` is a JSON text, as OpenAI sends it."""
    return {"type": "function_call", "id": id, "call_id": call_id, "name": name, "arguments": arguments,
            "status": "completed"}


def response(*, id: str, created_at: int, model: str, output: list[dict], usage: dict | None,
             incomplete_reason: str | None = None, request: dict | None = None) -> dict:
    """A Responses API `response`: `completed`, or `incomplete` with `incomplete_reason`.

    The request fields in `RESPONSE_ECHO` are echoed from `request` (defaults when it is None or
    lacks them). No `store`: the SDK's `Response` (openai 3.x) has no such field.
    """
    echo = {name: (request or {}).get(name) for name in RESPONSE_ECHO}
    echo = {name: RESPONSE_ECHO[name] if value is None else value for name, value in echo.items()}
    return {
        "id": id, "object": "response", "created_at": created_at, "completed_at": created_at,
        "status": "incomplete" if incomplete_reason else "completed", "error": None,
        "incomplete_details": {"reason": incomplete_reason} if incomplete_reason else None,
        "model": model, "output": output, **echo, "usage": usage,
    }


def text_completion(*, id: str, created: int, model: str, text: str, finish_reason: str, usage: dict | None,
                    native_finish_reason: str | None = None) -> dict:
    """A legacy `text_completion` with one choice; the provider's own finish reason is kept beside it."""
    choice = {"text": text, "index": 0, "logprobs": None, "finish_reason": finish_reason,
              "native_finish_reason": native_finish_reason}
    return {"id": id, "object": "text_completion", "created": created, "model": model, "choices": [choice],
            "usage": usage}


# chat.completion finish_reason -> a Response's `incomplete_details.reason` (others: completed).
INCOMPLETE_REASONS = {"length": "max_output_tokens", "content_filter": "content_filter"}
# Chat finish reasons a text_completion choice can carry (`tool_calls` cannot happen without tools).
COMPLETION_FINISH_REASONS = frozenset({"stop", "length", "content_filter"})


# From a chat.completion: the providers whose converter yields one (Gemini, Vertex AI, Bedrock) build
# their `response` and `text_completion` objects through these, on the builders above.


def usage_from_chat(usage: dict | None) -> dict:
    """A chat.completion's `usage` as a Response's (chat usage reports no cache writes: 0)."""
    usage = usage or {}
    return response_usage(
        input_tokens=usage.get("prompt_tokens") or 0, output_tokens=usage.get("completion_tokens") or 0,
        cached_tokens=(usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0,
        reasoning_tokens=(usage.get("completion_tokens_details") or {}).get("reasoning_tokens") or 0)


def _stem(chat: dict) -> str:
    return str(chat["id"]).removeprefix("chatcmpl-")


def response_from_chat(chat: dict, *, response_id: str | None = None, usage: dict | None = None,
                       request: dict | None = None) -> dict:
    """A chat.completion (its first choice) as a `response`: its text (and refusal) one `message` item,
    its tool calls `function_call` items; length / content_filter endings make it `incomplete`."""
    response_id = response_id or f"resp_{_stem(chat)}"
    stem = response_id.removeprefix("resp_")
    choice = chat["choices"][0]
    message = choice["message"]
    reason = INCOMPLETE_REASONS.get(choice.get("finish_reason") or "")
    status = "incomplete" if reason else "completed"
    output: list[dict] = []
    if message.get("content") is not None or message.get("refusal") is not None:
        item = output_message(id=f"msg_{stem}_0", texts=[message["content"]] if message.get("content") is not None
                              else [], status=status)
        if message.get("refusal") is not None:
            item["content"].append({"type": "refusal", "refusal": message["refusal"]})
        output.append(item)
    for number, call in enumerate(message.get("tool_calls") or [], start=len(output)):
        output.append(function_call_item(id=f"fc_{stem}_{number}", call_id=call["id"],
                                         name=call["function"]["name"], arguments=call["function"]["arguments"]))
    return response(id=response_id, created_at=chat["created"], model=chat["model"], output=output,
                    usage=usage if usage is not None else usage_from_chat(chat.get("usage")),
                    incomplete_reason=reason, request=request)


def completion_from_chat(chat: dict, *, completion_id: str | None = None) -> dict:
    """A chat.completion as a `text_completion`: the reply's text is the completion."""
    choice = chat["choices"][0]
    finish = choice.get("finish_reason")
    usage = chat.get("usage") or {}
    return text_completion(
        id=completion_id or f"cmpl-{_stem(chat)}", created=chat["created"], model=chat["model"],
        text=choice["message"].get("content") or "",
        finish_reason=finish if finish in COMPLETION_FINISH_REASONS else "stop",
        native_finish_reason=choice.get("native_finish_reason"),
        usage={"prompt_tokens": usage.get("prompt_tokens", 0), "completion_tokens": usage.get("completion_tokens", 0),
               "total_tokens": usage.get("total_tokens", 0)})


def embedding_vector(values: object, what: str = "embedding values") -> list[float]:
    """An embedding's values as floats; TypeError naming `what` unless they are a list of numbers
    (booleans are not). Checked and converted in C: a vector holds hundreds to thousands of values."""
    try:
        return msgspec.convert(values, list[float])
    except msgspec.ValidationError:
        raise TypeError(f"{what} are not a list of numbers") from None


def embedding_list(vectors: list, *, model: str, prompt_tokens: int) -> dict:
    """An OpenAI `CreateEmbeddingResponse`: one `embedding` per vector, in order."""
    return {"object": "list",
            "data": [{"object": "embedding", "index": index, "embedding": vector}
                     for index, vector in enumerate(vectors)],
            "model": model, "usage": {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens}}

