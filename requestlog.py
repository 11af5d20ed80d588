"""Request IDs, and per request one JSON access line and the request metrics, written once the response
has finished streaming.

`RequestLog` wraps the Flask app's WSGI callable:
- An incoming `x-request-id` is kept (if sane) or one is generated; it is echoed on every response and
  set in `logformat.REQUEST_ID` for the whole request (until the next one on the same thread or
  greenlet), so every log line written meanwhile carries it, gunicorn's report of a broken body too.
- The request body is counted as the app reads it, the response body as the server takes it.
- When the server closes the response (after its last byte, or when the client went away or an upstream
  stream broke off), the access line is logged with the true duration and byte counts, `complete` saying
  whether the whole body went out, and the request is counted in `metrics`.
The URL rule and the provider are taken from the request context before it ends (`teardown_request`).
Nothing here logs headers, bodies or query values, so keys cannot leak into the logs.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator

from flask import Flask, g, request

import metrics
from logformat import REQUEST_ID

log = logging.getLogger("deepintshield.access")
_SANE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_LABELS = "deepintshield.labels"  # environ key: (route, provider), set before the request context ends
UNMATCHED = "unmatched"  # the route of a request no URL rule matched (never the raw path)
NO_PROVIDER = "none"  # the provider of a request that named none (or failed before naming one)


class _CountingInput:
    """The WSGI input stream, counting the bytes the app reads from it."""

    def __init__(self, stream) -> None:
        self._stream = stream
        self.count = 0

    def read(self, *args) -> bytes:
        data = self._stream.read(*args)
        self.count += len(data)
        return data

    def readinto(self, buffer) -> int:
        readinto = getattr(self._stream, "readinto", None)
        if readinto is None:  # gunicorn's body has none (Werkzeug then reads through this one)
            data = self._stream.read(len(buffer))
            count = len(data)
            buffer[:count] = data
        else:
            count = readinto(buffer) or 0
        self.count += count
        return count

    def readline(self, *args) -> bytes:
        data = self._stream.readline(*args)
        self.count += len(data)
        return data

    def readlines(self, *args) -> list[bytes]:
        lines = self._stream.readlines(*args)
        self.count += sum(map(len, lines))
        return lines

    def __iter__(self) -> Iterator[bytes]:
        for line in self._stream:
            self.count += len(line)
            yield line

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


class _Response:
    """The app's response iterable, counting the bytes sent; its `close()` writes the access line."""

    def __init__(self, body: Iterable[bytes], on_close: Callable[[_Response], None]) -> None:
        self._body = body
        self._on_close = on_close
        self.sent = 0
        self.complete = False

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._body:
            self.sent += len(chunk)
            yield chunk
        self.complete = True

    def close(self) -> None:
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            self._on_close(self)


class RequestLog:
    """WSGI middleware: request IDs, the access line and the request metrics (see the module docstring)."""

    def __init__(self, app: Callable) -> None:
        self.app = app

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        started = time.perf_counter()
        incoming = environ.get("HTTP_X_REQUEST_ID", "")
        rid = incoming if _SANE_ID.fullmatch(incoming) else f"req_{os.urandom(16).hex()}"  # uuid4's bits, 4x faster
        # Left set after the response (until this thread's or greenlet's next request): gunicorn logs an
        # error in the body's streaming only after closing the response, and that line should carry it.
        REQUEST_ID.set(rid)
        body_in = environ["wsgi.input"] = _CountingInput(environ["wsgi.input"])
        status = [500]

        def start(status_line: str, headers: list, exc_info=None):
            status[0] = int(status_line[:3])
            headers.append(("x-request-id", rid))
            return start_response(status_line, headers, exc_info)

        def finished(response: _Response | None) -> None:
            route, provider = environ.get(_LABELS, (UNMATCHED, NO_PROVIDER))
            seconds = time.perf_counter() - started
            sent = response.sent if response is not None else 0
            complete = response is not None and response.complete
            method = environ.get("REQUEST_METHOD", "")
            metrics.record_request(route, method, provider, status[0], seconds, body_in.count, sent)
            if log.isEnabledFor(logging.INFO):
                # The record made directly: Logger.info would walk the stack for the caller's file and line
                # (a sixth of the line's cost), which no field of the line shows.
                log.handle(log.makeRecord(log.name, logging.INFO, __file__, 0, "%s %s %s", (method, route, status[0]),
                                          None, "finished", {
                    "method": method, "route": route, "provider": provider, "status": status[0],
                    "duration_ms": round(seconds * 1000, 2), "bytes_in": body_in.count, "bytes_out": sent,
                    "complete": complete,
                }))

        try:
            body = self.app(environ, start)
        except BaseException:
            finished(None)
            raise
        return _Response(body, finished)


def _labels(_error: BaseException | None) -> None:
    """Before the request context ends: keep what the access line needs from it."""
    rule = request.url_rule
    request.environ[_LABELS] = (rule.rule if rule is not None else UNMATCHED,
                                g.get("provider") or NO_PROVIDER)


def register(app: Flask) -> None:
    app.teardown_request(_labels)
    app.wsgi_app = RequestLog(app.wsgi_app)
