"""The gateway's one error type hierarchy and the handlers that render every error in OpenAI's shape.

Code below a view raises `APIError` (or a subclass); nothing else builds error bodies. Every
error, Flask's own 404/405/413/500 included, leaves as
`{"error": {"message", "type", "param", "code"}}` with a fitting status. Any 5xx answer to a POST
carries `x-should-retry: false`: the upstream create may have happened, and the SDK would replay it.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, request
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

log = logging.getLogger("deepintshield")

# OpenAI's error `type` for each status we answer with.
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "invalid_request_error",
    405: "invalid_request_error",
    409: "invalid_request_error",
    413: "invalid_request_error",
    415: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
}


class APIError(Exception):
    """An error the client should see, with its HTTP status and OpenAI error fields."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        type: str | None = None,
        retryable: bool | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param
        self.code = code
        self.type = type or ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
        # None: let the SDK decide from the status. False: a create may have happened upstream,
        # so the SDK must not replay the POST.
        self.retryable = retryable
        self.headers = dict(headers or {})

    def to_dict(self) -> dict:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}

    def response(self) -> Response:
        response = jsonify(self.to_dict())
        response.status_code = self.status
        response.headers.update(self.headers)
        if self.retryable is not None:
            response.headers["x-should-retry"] = "true" if self.retryable else "false"
        return response


class BadRequest(APIError):
    def __init__(self, message: str, *, param: str | None = None, code: str | None = None) -> None:
        super().__init__(400, message, param=param, code=code)


class NotFound(APIError):
    def __init__(self, message: str, *, param: str | None = "id", code: str | None = None) -> None:
        super().__init__(404, message, param=param, code=code)


class UpstreamError(APIError):
    """The provider answered with an error, or could not be reached.

    `status` keeps the provider's status where it means the same to the client (4xx, 429); a
    provider's own failure becomes 502, a timeout 504.
    """

    def __init__(
        self,
        provider: str,
        status: int,
        message: str,
        *,
        code: str | None = None,
        type: str | None = None,
        param: str | None = None,
        retryable: bool | None = None,
        headers: dict[str, str] | None = None,
        upstream_status: int | None = None,
    ) -> None:
        self.provider = provider
        # The provider's own HTTP status (None: no reply, e.g. a timeout): what a gateway-run batch's
        # error line reports, and what its worker decides retries by.
        self.upstream_status = upstream_status
        super().__init__(
            status,
            f"{provider} answered: {message}" if not message.startswith(provider) else message,
            param=param,
            code=code,
            type=type,
            retryable=retryable,
            headers=headers,
        )


def client_status(upstream_status: int) -> int:
    """The status the client gets for a provider's error status."""
    if upstream_status in (400, 401, 403, 404, 409, 413, 422, 429):
        return upstream_status
    if upstream_status == 408 or upstream_status == 504:
        return 504
    if 400 <= upstream_status < 500:
        return 400
    return 502


def first_error_path(messages: object, prefix: str = "") -> tuple[str, str]:
    """The first field path and message of a marshmallow `normalized_messages()` tree."""
    if isinstance(messages, dict) and messages:
        key, value = next(iter(messages.items()))
        path = f"{prefix}.{key}" if prefix else str(key)
        if key == "_schema":
            path = prefix
        return first_error_path(value, path)
    if isinstance(messages, list) and messages:
        return first_error_path(messages[0], prefix)
    return prefix, str(messages)


def handle_api_error(error: APIError) -> Response:
    if error.status >= 500 and error.retryable is None and request.method == "POST":
        # A POST may have created something upstream before it failed: the SDK must not replay it.
        error.retryable = False
    return error.response()


def handle_validation_error(error: ValidationError) -> Response:
    path, message = first_error_path(error.normalized_messages())
    text = f"{path}: {message}" if path else message
    return BadRequest(text, param=path or None).response()


def handle_http_error(error: HTTPException) -> Response:
    """Werkzeug's routing 404/405, its 413 and any other HTTP exception, as JSON."""
    status = error.code or 500
    message = error.description or error.name
    if status == 413:
        message = "Request body too large for this gateway (DEEPINTSHIELD_MAX_UPLOAD_BYTES)."
    response = APIError(status, message).response()
    for name, value in error.get_response().headers.items():
        if name.lower() == "allow":
            response.headers["Allow"] = value
    return response


def handle_unexpected(error: Exception) -> Response:
    log.exception("unhandled error")
    failure = APIError(500, "The gateway failed to handle this request.", type="server_error")
    return handle_api_error(failure)


def register(app: Flask) -> None:
    app.register_error_handler(APIError, handle_api_error)
    app.register_error_handler(ValidationError, handle_validation_error)
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(Exception, handle_unexpected)
