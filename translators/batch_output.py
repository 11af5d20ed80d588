"""OpenAI batch output and error file lines (providers.md §A.8), built from parts.

Each provider's translator converts its own result into a chat.completion body or an error, and
calls these to wrap it, so every provider's output file has the same envelope.
"""

from __future__ import annotations

EXPIRED = "batch_expired"
CANCELLED = "batch_cancelled"

_FAILURE_MESSAGES = {
    EXPIRED: "This request could not be executed before the completion window expired.",
    CANCELLED: "This request was not executed because the batch was cancelled.",
}

# OpenAI error `type` for the HTTP status of a failed request.
_ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
                404: "not_found_error", 413: "invalid_request_error", 429: "rate_limit_error"}


def line_id(provider_request_id: str) -> str:
    """The `id` of an output line, derived from the provider's ID for that request."""
    return f"batch_req_{provider_request_id}"


def success_line(custom_id: str, request_id: str, body: dict) -> dict:
    """An output-file line for a request that produced a response."""
    return {
        "id": line_id(request_id),
        "custom_id": custom_id,
        "response": {"status_code": 200, "request_id": request_id, "body": body},
        "error": None,
    }


def http_error_line(
    custom_id: str, request_id: str, status_code: int, message: str, *,
    type: str | None = None, code: str | None = None, param: str | None = None,
) -> dict:
    """An error-file line for a request the provider answered with an HTTP-level error."""
    fallback = "server_error" if status_code >= 500 else "invalid_request_error"
    error_type = type or _ERROR_TYPES.get(status_code, fallback)
    return {
        "id": line_id(request_id),
        "custom_id": custom_id,
        "response": {
            "status_code": status_code,
            "request_id": request_id,
            "body": {"error": {"message": message, "type": error_type, "param": param, "code": code}},
        },
        "error": None,
    }


def failure_line(custom_id: str, request_id: str, code: str, message: str | None = None) -> dict:
    """An error-file line for a request that never ran (expired, cancelled)."""
    return {
        "id": line_id(request_id),
        "custom_id": custom_id,
        "response": None,
        "error": {"code": code, "message": message or _FAILURE_MESSAGES.get(code, code)},
    }


def is_success(line: dict) -> bool:
    """Whether a converted line belongs in the output file (else the error file)."""
    return line.get("error") is None and (line.get("response") or {}).get("status_code") == 200
