"""Prometheus metrics: the series the gateway keeps, the cheap calls that update them, and `/metrics`.

Series (all prefixed `deepintshield_`):
- `requests_total{route, method, provider, status}` and `request_duration_seconds{route, method, provider}`:
  every request, counted when its response has finished streaming (`requestlog`). `route` is the URL
  rule (`/openai/v1/files/<path:file_id>`), never the raw path; `unmatched` when no rule matched.
- `received_bytes_total{provider}`, `sent_bytes_total{provider}`: request and response body bytes the
  gateway itself read from and wrote to its clients.
- `upstream_duration_seconds{provider, operation}`: each upstream call, to the response head (a streamed
  body's transfer is not in it), retries included. `operation` is botocore's operation name for AWS
  calls (`PutObject`, `CreateModelInvocationJob`) and the gateway operation that made the call for the
  HTTP providers (`create_file`, `retrieve_batch`, ...). `provider` `filestore` is the gateway's S3 file store.
- `upstream_errors_total{provider, reason}`: error replies (`reason` = the upstream status) and failed
  calls (`timeout`, `unreachable`, `connection`, `body_broke_off`, `body_timeout`, `body_too_slow`).
- `upstream_retries_total{provider}`: retries made by urllib3 (HTTP providers) and botocore (AWS).
- `result_lines_total{provider, outcome}`: result lines converted into OpenAI lines, `outcome` one of
  `output`, `error`, `unconvertible`; counted each time a result file is read.
- `batches_created_total{provider}`: batches the gateway created.

Under gunicorn every worker writes its values to files in `PROMETHEUS_MULTIPROC_DIR` (gunicorn.conf.py
makes a fresh directory per server start) and `/metrics` sums them over the workers. Without that
variable (`flask run`, tests) values live in this process and `/metrics` also shows its `process_*`
series. Label children are cached, so an update is a dict lookup and an add.
"""

from __future__ import annotations

import functools
import hmac

from flask import Flask, Response, current_app
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
    values,
)

from blueprints.common import auth
from errors import APIError

# Where values live, as prometheus_client decided when imported (from `PROMETHEUS_MULTIPROC_DIR`).
MULTIPROCESS = values.ValueClass._multiprocess
# No `_created` series: multiprocess mode has none, so the exposition reads the same in both modes.
disable_created_metrics()

# Seconds: from a gateway-only answer (~1 ms) to a 512 MB transfer.
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
# Any other method (clients can send any token) is counted as "other", so it cannot add series.
_METHODS = frozenset({"GET", "POST", "DELETE", "HEAD", "OPTIONS", "PUT", "PATCH"})

REQUESTS = Counter("deepintshield_requests", "Requests answered, by URL rule, method, provider and status.",
                   ["route", "method", "provider", "status"])
REQUEST_SECONDS = Histogram("deepintshield_request_duration_seconds",
                            "Time from a request's arrival to the end of its response body.",
                            ["route", "method", "provider"], buckets=BUCKETS)
RECEIVED_BYTES = Counter("deepintshield_received_bytes", "Request body bytes read from clients.", ["provider"])
SENT_BYTES = Counter("deepintshield_sent_bytes", "Response body bytes written to clients.", ["provider"])
UPSTREAM_SECONDS = Histogram("deepintshield_upstream_duration_seconds",
                             "Time of one upstream call to its response head, retries included.",
                             ["provider", "operation"], buckets=BUCKETS)
UPSTREAM_ERRORS = Counter("deepintshield_upstream_errors", "Upstream error replies and failed upstream calls.",
                          ["provider", "reason"])
UPSTREAM_RETRIES = Counter("deepintshield_upstream_retries", "Upstream calls retried.", ["provider"])
RESULT_LINES = Counter("deepintshield_result_lines", "Provider result lines converted, by outcome.",
                       ["provider", "outcome"])
BATCHES_CREATED = Counter("deepintshield_batches_created", "Batches created.", ["provider"])


@functools.lru_cache(maxsize=4096)
def _child(metric, *labels: str):
    """The child of `metric` for these label values (`labels()` validates and locks on every call)."""
    return metric.labels(*labels)


def method_label(method: str) -> str:
    return method if method in _METHODS else "other"


def record_request(route: str, method: str, provider: str, status: int, seconds: float,
                   received: int, sent: int) -> None:
    """One finished request (called by `requestlog` once its response body is done)."""
    method = method_label(method)
    _child(REQUESTS, route, method, provider, str(status)).inc()
    _child(REQUEST_SECONDS, route, method, provider).observe(seconds)
    if received:
        _child(RECEIVED_BYTES, provider).inc(received)
    if sent:
        _child(SENT_BYTES, provider).inc(sent)


def observe_upstream(provider: str, operation: str, seconds: float) -> None:
    _child(UPSTREAM_SECONDS, provider, operation).observe(seconds)


def upstream_error(provider: str, reason: str) -> None:
    _child(UPSTREAM_ERRORS, provider, reason).inc()


def upstream_retries(provider: str, count: int = 1) -> None:
    _child(UPSTREAM_RETRIES, provider).inc(count)


def result_lines(provider: str, output: int, error: int, unconvertible: int) -> None:
    for outcome, count in (("output", output), ("error", error), ("unconvertible", unconvertible)):
        if count:
            _child(RESULT_LINES, provider, outcome).inc(count)


def batch_created(provider: str) -> None:
    _child(BATCHES_CREATED, provider).inc()


# /metrics


def exposition() -> bytes:
    """The text exposition of every series (summed over the gunicorn workers in multiprocess mode)."""
    if MULTIPROCESS:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(REGISTRY)


def _authorize() -> None:
    """`/metrics` is guarded by `DEEPINTSHIELD_METRICS_KEY` when set (a scraper needs no client key),
    else like every other route: one of the gateway keys when they are set, open in passthrough mode."""
    auth.check_origin()
    key = current_app.config.get("METRICS_KEY")
    if not key:
        auth.authenticate()
        return
    if not hmac.compare_digest(auth.bearer_token().encode(), key.encode()):
        raise APIError(401, "Invalid or missing metrics key (DEEPINTSHIELD_METRICS_KEY).", code="invalid_api_key",
                       headers={"WWW-Authenticate": "Bearer"})


def view() -> Response:
    _authorize()
    return Response(exposition(), content_type=CONTENT_TYPE_LATEST)


def register(app: Flask) -> None:
    app.add_url_rule("/metrics", "metrics", view)
