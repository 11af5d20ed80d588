"""What an OpenAI-shaped provider other than OpenAI answers, made into the objects OpenAI's SDK takes.

Pure: no HTTP, no Flask context, no settings. Azure OpenAI and the OpenAI-compatible hosts declared
by configuration answer in OpenAI's shapes with drift (providers-next.md §3.7, §4.2):
capitalised or unknown statuses, `endpoint: null`, `""` file IDs, null counters, ISO 8601 timestamps,
`bytes: null`, file statuses OpenAI has not. Every object gets the gateway's IDs for the provider
(`ids.encode_file` / `ids.encode_batch`), and a batch that offers results gets both of the
gateway's result files, each converted from all of the provider's result lines (`result_line`), so
a line the gateway cannot convert still reaches the error file.

A value these functions cannot read at all raises KeyError/TypeError/ValueError, which the
operations turn into a 502 naming the provider (`mapping.mapped`).
"""

from __future__ import annotations

from collections.abc import Mapping

from blueprints.dispatcher import ids
from schemas.batch import BATCH_STATUSES, TIMESTAMPS
from schemas.requests import BATCH_ENDPOINTS
from translators import batch_output
from translators import openai_shapes as shapes

# File statuses OpenAI's FileObject has; Azure's others (providers-next.md §3.5): pending and running
# files are not processed yet, deleting and deleted ones are gone. Unknown: `uploaded`.
_FILE_STATUSES = {"uploaded": "uploaded", "processed": "processed", "error": "error", "pending": "uploaded",
                  "running": "uploaded"}
GONE = frozenset({"deleting", "deleted"})
# Spellings of OpenAI batch statuses seen elsewhere (Azure's docs loop on "canceled"; Together's CANCELING).
_BATCH_ALIASES = {"canceled": "cancelled", "canceling": "cancelling"}
# OpenAI's chat finish reasons; another value is kept as `native_finish_reason` and read as "stop".
FINISH_REASONS = {reason: reason for reason in ("stop", "length", "tool_calls", "content_filter", "function_call")}


def to_unix(value: object) -> int | None:
    """Unix seconds from a number, a numeric string or an ISO 8601 time (`shapes.unix`); None stays None."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise TypeError(f"a timestamp cannot be {value!r}")
    if isinstance(value, (int, float)):
        return int(value)
    text = str(value).strip()
    if text.lstrip("-").isdigit():
        return int(text)
    return shapes.unix(text)  # ValueError for anything else


def client_endpoint(value: object) -> str | None:
    """The endpoint as the gateway's clients spell it (`/v1/…`): Azure's dated API says `/chat/completions`."""
    if not isinstance(value, str) or not value:
        return None
    if value not in BATCH_ENDPOINTS and f"/v1{value}" in BATCH_ENDPOINTS:
        return f"/v1{value}"
    return value


def file_object(provider: str, reply: Mapping) -> dict | None:
    """OpenAI's FileObject for the provider's file; None for one being deleted or gone."""
    status = str(reply.get("status") or "processed").lower()
    if status in GONE:
        return None
    details = reply.get("status_details")
    return shapes.file_object(
        id=_file_id(provider, reply["id"]),
        bytes=int(reply.get("bytes") or 0),  # Azure: null while the size is not known yet
        created_at=to_unix(reply["created_at"]),
        filename=str(reply.get("filename") or ""),
        purpose=reply["purpose"],
        status=_FILE_STATUSES.get(status, "uploaded"),
        expires_at=to_unix(reply.get("expires_at")),
        status_details=details if isinstance(details, str) else None,
    )


def batch_object(provider: str, reply: Mapping, *, endpoint: str) -> dict:
    """OpenAI's Batch for the provider's batch. `endpoint` stands in when the provider's is null
    (Azure's examples): the one the client created it with, else the provider's default."""
    native = reply["id"]
    if not isinstance(native, str):
        raise TypeError("the batch ID is not a string")
    results = bool(reply.get("output_file_id") or reply.get("error_file_id"))  # Azure sends "" for none
    status = str(reply.get("status") or "").lower()
    status = _BATCH_ALIASES.get(status, status)
    if status not in BATCH_STATUSES:  # unknown: completed once it ended (results offered), else in progress
        ended = results or any(reply.get(name) for name in shapes.ENDED_AT.values())
        status = "completed" if ended else "in_progress"
    input_file = reply.get("input_file_id")
    shape = shapes.batch(
        id=_batch_id(provider, native),
        endpoint=client_endpoint(reply.get("endpoint")) or endpoint,
        model=reply.get("model") if isinstance(reply.get("model"), str) else None,
        errors=_errors(reply.get("errors")),
        input_file_id=_file_id(provider, input_file) if input_file else "",
        completion_window=str(reply.get("completion_window") or shapes.COMPLETION_WINDOW),
        status=status,
        # Both of the gateway's result files whenever the provider offers results: a line that does
        # not convert goes to the error file, and only reading the results tells whether one does.
        output_file_id=_file_id(provider, native, "output") if results else None,
        error_file_id=_file_id(provider, native, "errors") if results else None,
        created_at=to_unix(reply["created_at"]),
        request_counts=_counts(reply.get("request_counts")),
        usage=_usage(reply.get("usage")),
        metadata=_metadata(reply.get("metadata")),
    )
    return shape | {name: to_unix(reply.get(name)) for name in TIMESTAMPS}  # every time the provider gave


def _file_id(provider: str, native: object, kind: str = "file") -> str:
    if not isinstance(native, str):
        raise TypeError(f"a file ID that is not a string: {native!r}")
    try:
        return ids.encode_file(provider, native, kind)
    except ids.InvalidId as error:  # a reply's ID, not the client's: the provider's fault (502)
        raise ValueError(error.message) from None


def _batch_id(provider: str, native: str) -> str:
    try:
        return ids.encode_batch(provider, native)
    except ids.InvalidId as error:
        raise ValueError(error.message) from None


def _errors(errors: object) -> dict | None:
    if not isinstance(errors, Mapping):
        return None
    data = [item for item in errors.get("data") or [] if isinstance(item, Mapping)]
    return {"object": "list", "data": [{
        "code": _text(item.get("code")), "message": _text(item.get("message")), "param": _text(item.get("param")),
        "line": item["line"] if isinstance(item.get("line"), int) and not isinstance(item["line"], bool) else None,
    } for item in data]}


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _counts(counts: object) -> dict | None:
    """`request_counts` with null counters as 0 (Azure's examples); absent stays absent (Together)."""
    if not isinstance(counts, Mapping):
        return None
    return {name: int(counts.get(name) or 0) for name in ("total", "completed", "failed")}


def _usage(usage: object) -> dict | None:
    """OpenAI's batch `usage` when the provider's is in its shape; anything else is left out."""
    if not isinstance(usage, Mapping):
        return None
    numbers = ("input_tokens", "output_tokens", "total_tokens")
    details = {"input_tokens_details": "cached_tokens", "output_tokens_details": "reasoning_tokens"}
    if not all(_is_int(usage.get(name)) for name in numbers):
        return None
    if not all(isinstance(usage.get(part), Mapping) and _is_int(usage[part].get(key)) for part, key in details.items()):
        return None
    return {**{name: usage[name] for name in numbers},
            **{part: {key: usage[part][key]} for part, key in details.items()}}


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _metadata(metadata: object) -> dict | None:
    if not isinstance(metadata, Mapping):
        return None
    return {str(key): str(value) for key, value in metadata.items() if value is not None}


# Result lines


def result_line(line: dict, number: int) -> dict:
    """One OpenAI output or error line for one of the provider's result lines (already OpenAI's shape).

    Extra keys in the body stay (Azure's content filter results); a missing line `id` is made from
    the request ID; each chat choice gets `native_finish_reason`. A line with neither a response nor
    an error, or a response without an integer status, does not convert.
    """
    custom_id = line["custom_id"]
    if not isinstance(custom_id, str):
        raise TypeError("custom_id is not a string")
    response, error = line.get("response"), line.get("error")
    if error is not None and not isinstance(error, dict):
        raise TypeError("error is not an object")
    if response is None:
        if error is None:
            raise ValueError("the line has neither a response nor an error")
        request_id = f"line-{number}"
        return {"id": _line_id(line, request_id), "custom_id": custom_id, "response": None,
                "error": {"code": _text(error.get("code")), "message": _text(error.get("message"))}}
    if not isinstance(response, dict):
        raise TypeError("response is not an object")
    status = response["status_code"]
    if not _is_int(status):
        raise TypeError(f"status_code {status!r} is not an integer")
    body = response.get("body")
    if status == 200:
        if not isinstance(body, dict):
            raise TypeError("the body of a 200 response is not an object")
        body = with_native_finish_reasons(body)
    request_id = response.get("request_id") if isinstance(response.get("request_id"), str) else f"line-{number}"
    return {"id": _line_id(line, request_id), "custom_id": custom_id,
            "response": {"status_code": status, "request_id": request_id, "body": body}, "error": error}


def identify(line: dict | None, number: int) -> tuple[str, str]:
    """(custom_id, request ID) for the error line of a result line that did not convert."""
    custom_id = line.get("custom_id") if line is not None else None
    return (custom_id if isinstance(custom_id, str) else f"line-{number}"), f"line-{number}"


def _line_id(line: dict, request_id: str) -> str:
    return line["id"] if isinstance(line.get("id"), str) and line["id"] else batch_output.line_id(request_id)


def with_native_finish_reasons(body: dict) -> dict:
    """A chat.completion body whose choices keep the provider's finish reason as `native_finish_reason`."""
    choices = body.get("choices")
    if not isinstance(choices, list):
        return body  # a Responses API or embeddings body: as it is
    converted = []
    for choice in choices:
        if isinstance(choice, dict) and "finish_reason" in choice:
            native = choice["finish_reason"]
            choice = {**choice, "finish_reason": batch_output.finish_reason(native if isinstance(native, str)
                                                                             else None, FINISH_REASONS),
                      "native_finish_reason": native}
        converted.append(choice)
    return {**body, "choices": converted}
