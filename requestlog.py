"""Request IDs and one structured log line per request (method, route, provider, status, duration).

An incoming `x-request-id` is kept (if sane) or one is generated; it is echoed on every response.
Nothing here logs headers, bodies or query values, so keys cannot leak into the logs.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

import msgspec
from flask import Flask, Response, g, request

log = logging.getLogger("deepintshield.access")
_encode = msgspec.json.Encoder().encode
_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def _start() -> None:
    g.started = time.perf_counter()
    incoming = request.headers.get("x-request-id", "")
    g.request_id = incoming if _SANE_ID.fullmatch(incoming) else f"req_{uuid.uuid4().hex}"


def _finish(response: Response) -> Response:
    response.headers["x-request-id"] = g.get("request_id", "")
    log.info(_encode({
        "request_id": g.get("request_id"),
        "method": request.method,
        "route": request.url_rule.rule if request.url_rule else None,
        "provider": g.get("provider"),
        "status": response.status_code,
        "duration_ms": round((time.perf_counter() - g.get("started", time.perf_counter())) * 1000, 2),
    }).decode())
    return response


def register(app: Flask) -> None:
    app.before_request(_start)
    app.after_request(_finish)
