"""One JSON object per log line, for every logger of the process: the app's, gunicorn's, urllib3's, botocore's.

Each line is `{"time", "level", "logger", "pid", "request_id"?, "message", <extra fields>..., "traceback"?}`:
- `request_id` comes from `REQUEST_ID`, a context variable `requestlog` sets when a request arrives and
  leaves set through the streaming of its body (until the next request on the same thread or greenlet),
  so lines that libraries log while serving it carry it too (a context variable is per thread, and per
  greenlet under gevent). Every LogRecord takes it when it is
  created (this module installs the record factory on import).
- Extra fields are whatever a call passes as `extra={...}` (`log.info("...", extra={"provider": p})`),
  but for names starting with `_` (urllib3 passes its own bookkeeping that way).
- A traceback is a field, never lines of its own.
- Bearer tokens, `key=`/`api-key:` style values and strings shaped like provider keys are redacted from
  messages and tracebacks, in case an exception or a library ever prints one (nothing in the gateway logs
  headers, bodies or query values).

`configure()` installs the formatter on the root logger when nothing has configured logging yet
(`flask run`, scripts); under gunicorn, `gunicorn.conf.py`'s `logconfig_dict` is `LOGCONFIG` (gunicorn's
own lines included). This module imports nothing of the app, so gunicorn's master can load it.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from contextvars import ContextVar

import msgspec

REQUEST_ID: ContextVar[str | None] = ContextVar("deepintshield_request_id", default=None)

_encode = msgspec.json.Encoder(enc_hook=str).encode  # an extra field of any type is written as its str()
# What every LogRecord has; anything else on a record came from `extra=` and is written as a field.
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName", "request_id"}

_SECRETS = re.compile(
    r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{8,}"  # Authorization: Bearer <token>
    r"|((?:api[_-]?key|x-api-key|x-goog-api-key|authorization|secret|token|password)"
    r"[\"']?\s*[:=]\s*[\"']?)(?!bearer\b)[^\s\"',;}]+"  # key=value, "x-api-key": "value"
    r"|\b(?:sk-[A-Za-z0-9_-]{8,}|AIza[0-9A-Za-z_-]{20,})"  # OpenAI/Anthropic and Google key shapes
)


def _redact(match: re.Match) -> str:
    return (match.group(1) or match.group(2) or "") + "[redacted]"


# Words one of `_SECRETS`'s matches must contain: text with none of them (most lines) skips the regex.
_HINTS = ("bearer", "key", "authorization", "secret", "token", "password", "sk-", "aiza")


def redact(text: str) -> str:
    """`text` with anything shaped like a credential replaced by `[redacted]`."""
    lowered = text.lower()
    for hint in _HINTS:
        if hint in lowered:
            return _SECRETS.sub(_redact, text)
    return text


def current_request_id() -> str | None:
    """The ID of the request being served by this thread (greenlet), if any."""
    return REQUEST_ID.get()


def _stamp_request_id(factory: Callable[..., logging.LogRecord]) -> Callable[..., logging.LogRecord]:
    """A LogRecord factory that also records the current request ID (read when the line is logged, not
    when a handler gets round to formatting it)."""

    def make(*args, **kwargs) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        record.request_id = REQUEST_ID.get()
        return record

    make.stamps_request_id = True
    return make


if not getattr(logging.getLogRecordFactory(), "stamps_request_id", False):
    logging.setLogRecordFactory(_stamp_request_id(logging.getLogRecordFactory()))


class JsonFormatter(logging.Formatter):
    """Formats a record as one line of JSON (see the module docstring for the fields)."""

    _second = -1
    _stamp = ""

    def _time(self, record: logging.LogRecord) -> str:
        """ISO 8601 UTC with milliseconds (the seconds part is formatted once per second)."""
        second = int(record.created)
        if second != self._second:
            self._second, self._stamp = second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        return f"{self._stamp}.{int(record.msecs):03d}Z"

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self._time(record),
            "level": record.levelname,
            "logger": record.name,
            "pid": record.process,
        }
        request_id = getattr(record, "request_id", None)
        if request_id is not None:
            entry["request_id"] = request_id
        entry["message"] = redact(record.getMessage())
        for key, value in record.__dict__.items():
            if key not in _STANDARD and key not in entry and key[0] != "_":  # "_": a library's own
                entry[key] = value
        if record.exc_info:
            entry["traceback"] = redact(self.formatException(record.exc_info))
        elif record.exc_text:
            entry["traceback"] = redact(record.exc_text)
        if record.stack_info:
            entry["stack"] = redact(self.formatStack(record.stack_info))
        return _encode(entry).decode()


# For `logging.config.dictConfig` (gunicorn's `logconfig_dict`): everything to stderr as JSON, at INFO.
LOGCONFIG = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "logformat.JsonFormatter"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
    "root": {"level": "INFO", "handlers": ["stderr"]},
    "loggers": {
        # No handlers of their own: they reach the root's JSON handler (gunicorn would add plain-text ones).
        "gunicorn.error": {"level": "INFO", "handlers": [], "propagate": True},
        # gunicorn's access lines are off: the app writes its own, once the response body has gone out.
        "gunicorn.access": {"level": "WARNING", "handlers": [], "propagate": False},
    },
}


def configure(level: int = logging.INFO) -> None:
    """Send every logger's lines to stderr as JSON, unless logging is configured already (gunicorn, pytest)."""
    logging.captureWarnings(True)  # Python's warnings become log lines (logger `py.warnings`) instead of raw stderr
    root = logging.getLogger()
    if root.handlers:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    root.setLevel(level)
