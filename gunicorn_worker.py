"""The gunicorn worker: gevent greenlets, and clients that must keep their bytes moving.

Why gevent: a client that sends its request (or reads its response) one byte a second holds
whatever serves it. With threads, 16 such clients held every thread and everyone else timed out;
a greenlet per connection costs a few KB, so slow clients no longer starve the others. The code
stays synchronous (gevent patches the standard library's blocking calls).

Deadlines, so that slow connections also do not pile up:
- Headers: gunicorn's async workers read each request's headers under a `gevent.Timeout` of
  `keepalive` seconds (an absolute deadline, which a trickle cannot stretch).
- Body and response: `PacedSocket` counts the time the connection spends waiting on the client.
  Over each `window` seconds of such waiting it must move at least `min_rate` bytes a second, in
  either direction; a client that does not is cut off: its next read sees the end of the stream (so
  the app answers it as a client that went away) and its next write a broken pipe.

gunicorn's own errors (a malformed request line, headers too large) are answered in the gateway's
JSON error shape instead of gunicorn's HTML, and errors gevent would print raw to stderr are logged
(one JSON line, like every other).
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import socket
import time

import gevent
from gevent.socket import wait_write
from gunicorn import util
from gunicorn.workers.ggevent import GeventWorker

import config

WINDOW = config.value("CLIENT_WINDOW")
# Bytes per sendfile(2) call: large enough to be few calls, small enough to check the pace between them.
SENDFILE_BLOCK = 4 * 1024 * 1024
MIN_RATE = config.value("CLIENT_MIN_RATE")

_ERROR_TYPES = {400: "invalid_request_error", 403: "permission_error", 414: "invalid_request_error",
                417: "invalid_request_error", 431: "invalid_request_error"}


class _Pace:
    """Bytes moved and seconds spent waiting, in the current window, for one direction."""

    def __init__(self) -> None:
        self.bytes = 0
        self.waited = 0.0

    def reset(self) -> None:
        self.bytes, self.waited = 0, 0.0


class PacedSocket:
    """A client socket that must keep moving at `min_rate` bytes a second over each `window` of waiting.

    Time the server spends elsewhere (calling a provider, say) is not counted: only time blocked on
    this client. Everything but `recv`, `sendall`, `send` and `sendfile` passes through to the real socket.
    """

    def __init__(self, sock: socket.socket, window: float = WINDOW, min_rate: float = MIN_RATE) -> None:
        self._sock = sock
        self._window = window
        self._least = min_rate * window
        self._in, self._out = _Pace(), _Pace()
        self._cut = False

    def __getattr__(self, name: str):
        return getattr(self._sock, name)

    def _wait(self, pace: _Pace, operation, *args):
        """Run a socket call with the window's remaining wait as its timeout; None if it timed out."""
        self._sock.settimeout(max(self._window - pace.waited, 0.001))
        started = time.monotonic()
        try:
            return operation(*args)
        except TimeoutError:
            return None
        finally:
            pace.waited += time.monotonic() - started
            self._sock.settimeout(None)

    def _too_slow(self, pace: _Pace) -> bool:
        """At the end of a window of waiting: was the client too slow? (Starts the next window if not.)"""
        if pace.waited < self._window:
            return False
        if pace.bytes < self._least:
            self._cut = True
            with contextlib.suppress(OSError):  # already gone
                self._sock.shutdown(socket.SHUT_RDWR)
            return True
        pace.reset()
        return False

    def recv(self, size: int, *flags) -> bytes:
        while not self._cut:
            data = self._wait(self._in, self._sock.recv, size, *flags)
            if data is not None:
                self._in.bytes += len(data)
                self._too_slow(self._in)
                return data
            self._too_slow(self._in)
        return b""  # cut off: read as the end of the stream

    def sendall(self, data, *flags) -> None:
        view = memoryview(data)
        while view:
            if self._cut:
                raise BrokenPipeError(errno.EPIPE, "client too slow")
            sent = self._wait(self._out, self._sock.send, view, *flags) or 0
            self._out.bytes += sent
            view = view[sent:]
            if self._too_slow(self._out):
                raise BrokenPipeError(errno.EPIPE, "client too slow to read its response")

    def sendfile(self, file, offset: int = 0, count: int | None = None) -> int:
        """Send `count` bytes of `file` from `offset` (to its end when None) with sendfile(2), paced.

        gunicorn calls this for a WSGI file wrapper (a stored file's download), so the kernel copies
        the bytes from the page cache to the socket. gevent's own `sendfile` reads and sends 8 KiB
        at a time in Python; this waits for the socket only when it is full, under the same pace
        rule as `sendall`.
        """
        out, source = self._sock.fileno(), file.fileno()
        total = 0
        while count is None or total < count:
            if self._cut:
                raise BrokenPipeError(errno.EPIPE, "client too slow")
            size = SENDFILE_BLOCK if count is None else min(SENDFILE_BLOCK, count - total)
            try:
                sent = os.sendfile(out, source, offset + total, size)
            except BlockingIOError:  # the socket is full: wait for the client to read some
                self._wait(self._out, _wait_write, out, max(self._window - self._out.waited, 0.001))
                if self._too_slow(self._out):
                    raise BrokenPipeError(errno.EPIPE, "client too slow to read its response") from None
                continue
            if not sent:
                break  # the file ended early
            total += sent
            self._out.bytes += sent
        return total

    def send(self, data, *flags) -> int:
        if self._cut:
            raise BrokenPipeError(errno.EPIPE, "client too slow")
        return self._sock.send(data, *flags)


def _wait_write(fileno: int, timeout: float) -> None:
    """Block this greenlet until the socket takes bytes again; TimeoutError after `timeout` seconds."""
    wait_write(fileno, timeout=timeout)  # gevent raises socket.timeout, which is TimeoutError


def write_json_error(sock: socket.socket, status: int, reason: str, message: str) -> None:
    """gunicorn's error page, as the gateway's JSON error body."""
    body = json.dumps({"error": {"message": message or reason, "type": _ERROR_TYPES.get(
        status, "server_error" if status >= 500 else "invalid_request_error"), "param": None, "code": None}})
    head = (f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")
    util.write_nonblock(sock, (head + body).encode("latin-1", "replace"))


def _log_hub_error(context, kind, value, tb) -> None:
    """gevent's report of an error no greenlet caught, as a log line (gevent would print it raw to stderr)."""
    logging.getLogger("gevent").error("uncaught error in %s", type(context).__name__ if context is not None
                                      else "the event loop", exc_info=(kind, value, tb) if value is not None else None)


class Worker(GeventWorker):
    """gunicorn's gevent worker, with paced client sockets, JSON error pages and gevent's errors logged."""

    def init_process(self) -> None:
        util.write_error = write_json_error  # gunicorn writes its own error pages through this
        super().init_process()

    def patch(self) -> None:
        super().patch()
        gevent.get_hub().print_exception = _log_hub_error

    def handle(self, listener, client, addr) -> None:
        super().handle(listener, PacedSocket(client), addr)
