"""OpenAI's Batch and FileObject as the gateway answers them (providers.md §A.2, §A.6), built in one place.

Every provider's translator describes its batch or file with the fields it knows and gets the whole
object back, every field present (null when unknown), so all providers answer the same shape.
Pure: no HTTP, no Flask, no config, no clock. Times are Unix seconds: `unix()` reads an RFC 3339 text
(any fraction length; a `Z`, an offset or none, meaning UTC) or a datetime (naive meaning UTC).
"""

from __future__ import annotations

import re
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
