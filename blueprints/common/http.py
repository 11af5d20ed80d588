"""The one way to call a provider over HTTP: a pooled session per provider and worker.

Retries with backoff (honouring `Retry-After`) cover idempotent methods only: a replayed POST could
create a second batch. Every call has a (connect, read) timeout. Transport failures and error
replies become `UpstreamError`s that say which provider answered.
"""

from __future__ import annotations

import functools
import logging
import os
import urllib.request
from collections.abc import Callable

import msgspec
import requests
from flask import current_app
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from blueprints.common.streams import RELAY_CHUNK
from errors import UpstreamError, client_status

log = logging.getLogger("deepintshield.upstream")
_decode = msgspec.json.Decoder().decode

# Parses a provider's error reply into (message, code, type) or (message, code, type, param).
ErrorParser = Callable[[requests.Response], tuple]


@functools.cache
def session(provider: str, retries: int = 3) -> requests.Session:
    """One pooled session per provider in this worker process, created on first use (after fork)."""
    retry = Retry(
        total=retries,
        connect=retries,
        read=0,  # a read error on a GET is retried by the client, not here: the body may be half-sent
        backoff_factor=0.5,
        status_forcelist=(429, 500, 502, 503, 504),
        allowed_methods=frozenset({"GET", "HEAD", "DELETE"}),  # never replay a POST
        respect_retry_after_header=True,
        raise_on_status=False,  # the last reply is translated by us
    )
    s = requests.Session()
    # Looking proxies and CA bundles up in os.environ on every call costs a quarter of a short
    # call; read them once here instead, unless proxies are in play (then requests must apply
    # NO_PROXY per URL, which only its per-call lookup does).
    if not any(urllib.request.getproxies().values()):
        s.trust_env = False
        s.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
    adapter = HTTPAdapter(max_retries=retry, pool_connections=4, pool_maxsize=32)
    s.mount("https://", adapter)
    s.mount("http://", adapter)
    return s


def default_error(response: requests.Response) -> tuple[str, str | None, str | None, str | None]:
    """Message, code, type and param from the common `{"error": {...}}` / `{"message": ...}` bodies."""
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip()[:300]
        return (text or response.reason or f"HTTP {response.status_code}"), None, None, None
    error = body.get("error", body) if isinstance(body, dict) else body
    if isinstance(error, dict):
        code = error.get("code")
        return (
            str(error.get("message") or response.reason),
            str(code) if code is not None else None,
            error.get("type") if isinstance(error.get("type"), str) else None,
            error.get("param") if isinstance(error.get("param"), str) else None,
        )
    return str(error), None, None, None


def call(
    provider: str,
    method: str,
    url: str,
    *,
    creates: bool = False,
    error_parser: ErrorParser = default_error,
    **kwargs,
) -> requests.Response:
    """Send one request to `provider`; return the 2xx response or raise `UpstreamError`.

    `creates=True` marks a call that may create something upstream: if its outcome is unknown
    (timeout, dropped connection), the client is told not to retry, so nothing is duplicated.
    """
    kwargs.setdefault("timeout", current_app.config["UPSTREAM_TIMEOUT"])
    try:
        response = session(provider, current_app.config["UPSTREAM_RETRIES"]).request(method, url, **kwargs)
    except requests.ConnectTimeout:
        raise UpstreamError(provider, 504, "connection timed out", code="upstream_timeout") from None
    except requests.Timeout:
        raise UpstreamError(provider, 504, "timed out", code="upstream_timeout",
                            retryable=False if creates else None) from None
    except requests.ConnectionError as error:
        unreachable = _never_connected(error)
        raise UpstreamError(
            provider, 502, "unreachable" if unreachable else "connection failed",
            code="upstream_unreachable", retryable=False if creates and not unreachable else None,
        ) from None
    if response.status_code >= 400:
        try:
            message, code, error_type, *rest = error_parser(response)
        finally:
            response.close()
        status = client_status(response.status_code)
        headers = {}
        if response.status_code == 429 and "retry-after" in response.headers:
            headers["Retry-After"] = response.headers["retry-after"]
        log.info("upstream error provider=%s status=%s", provider, response.status_code)
        raise UpstreamError(
            provider, status, f"{message} (HTTP {response.status_code})",
            code=code, type=error_type if status < 500 else "upstream_error", param=rest[0] if rest else None,
            retryable=False if creates and status >= 500 else None, headers=headers,
        )
    return response


def _never_connected(error: requests.ConnectionError) -> bool:
    text = repr(error)
    return any(s in text for s in ("NewConnectionError", "Connection refused", "NameResolutionError"))


def json_body(response: requests.Response, provider: str, *, creates: bool = False) -> dict:
    """The JSON object a provider answered with; anything else is the provider's fault (502).

    An empty body reads as `{}` (some providers answer 200 with no body, e.g. Gemini's cancel).
    """
    try:
        body = _decode(response.content) if response.content else {}
    except msgspec.DecodeError:
        body = None
    if not isinstance(body, dict):
        raise UpstreamError(provider, 502, "answered with a body that is not a JSON object",
                            code="upstream_error", type="upstream_error", retryable=False if creates else None)
    return body


def streamed(response: requests.Response, chunk_size: int = RELAY_CHUNK, *, provider: str = "the provider"):
    """The body of a streamed response in chunks; closes the response when done or abandoned.

    A body that breaks off (connection reset, read timeout) raises `UpstreamError` naming `provider`:
    a 502 when nothing has been sent yet (`streams.primed`), a broken connection after that.
    """
    try:
        yield from response.iter_content(chunk_size)
    except requests.RequestException as error:
        log.info("upstream body broke off provider=%s error=%r", provider, error)
        raise UpstreamError(provider, 502, "the response body broke off", code="upstream_error",
                            type="upstream_error") from None
    finally:
        response.close()
