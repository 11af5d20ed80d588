"""The one way to call a provider over HTTP: a pooled session per provider and worker.

Retries with backoff cover idempotent methods only: a replayed POST could create a second batch.
`Retry-After` is honoured up to `RETRY_AFTER_CAP` seconds (an unreadable one counts as none), and a
5xx that is left after those retries tells the SDK not to retry again (its retries would multiply
ours). Every call has a (connect, read) timeout, and all the calls of one client request share a
time budget (`DEEPINTSHIELD_UPSTREAM_BUDGET`): a call that would start after it is a 504, which
bounds retries and page loops alike. A streamed body must keep arriving at
`DEEPINTSHIELD_UPSTREAM_MIN_RATE` bytes a second on average over each `STALL_WINDOW` seconds, so
an upstream that trickles cannot hold a thread. Transport failures and error replies become
`UpstreamError`s that say which provider answered. Every call is timed, and its errors and urllib3's
retries counted, in `metrics`.
"""

from __future__ import annotations

import functools
import logging
import os
import time
import urllib.request
from collections.abc import Callable, Iterator
from http.cookiejar import CookieJar

import msgspec
import requests
from flask import current_app, g, has_request_context, request
from requests.adapters import HTTPAdapter
from requests.cookies import RequestsCookieJar, cookiejar_from_dict, merge_cookies
from requests.sessions import merge_hooks, merge_setting
from requests.structures import CaseInsensitiveDict
from urllib3.exceptions import HTTPError, InvalidHeader, ReadTimeoutError
from urllib3.util.retry import Retry

import metrics
from blueprints.common.streams import RELAY_CHUNK
from errors import UpstreamError, client_status

log = logging.getLogger("deepintshield.upstream")
_decode = msgspec.json.Decoder().decode

# Parses a provider's error reply into (message, code, type) or (message, code, type, param).
ErrorParser = Callable[[requests.Response], tuple]

RETRY_AFTER_CAP = 5  # seconds: a provider asking for longer gets its answer relayed instead
STALL_WINDOW = 30  # seconds over which a streamed body's rate is measured
RETRIED_METHODS = frozenset({"GET", "HEAD", "DELETE"})


class _Retry(Retry):
    """urllib3's Retry with `Retry-After` capped, and an unreadable `Retry-After` taken as absent.

    Counts each retry it allows for its provider (and logs the ones urllib3 itself logs only at DEBUG:
    those on an error status).
    """

    provider = "unknown"

    def parse_retry_after(self, retry_after: str) -> float:
        try:
            return min(super().parse_retry_after(retry_after), RETRY_AFTER_CAP)
        except InvalidHeader:
            return 0

    def new(self, **kw) -> _Retry:
        retry = super().new(**kw)
        retry.provider = self.provider
        return retry

    def increment(self, method=None, url=None, response=None, error=None, _pool=None, _stacktrace=None) -> _Retry:
        retry = super().increment(method, url, response, error, _pool, _stacktrace)  # raises when none are left
        metrics.upstream_retries(self.provider)
        if response is not None and error is None:
            log.info("retrying an upstream call", extra={"provider": self.provider, "upstream_status": response.status})
        return retry


PREPARED_URLS = 4096  # URLs whose prepared form is kept (per worker); the cache is emptied when full
_prepared_urls: dict[str, str] = {}


class _Prepared(requests.PreparedRequest):
    """requests' PreparedRequest without two costs that are a sixth of a short call's CPU (issue 16).

    - The URL: without query parameters, preparing it (parse, IDNA check, requote) depends on the
      URL string alone, so the result is kept and reused.
    - Cookies: an empty jar makes no Cookie header, but asking cookielib for one costs as much as
      preparing the headers.
    Anything else goes through requests' own code.
    """

    def prepare_url(self, url, params) -> None:
        if params or not isinstance(url, str):
            super().prepare_url(url, params)
            return
        prepared = _prepared_urls.get(url)
        if prepared is None:
            super().prepare_url(url, params)  # raises for a bad URL: nothing is kept
            if len(_prepared_urls) >= PREPARED_URLS:
                _prepared_urls.clear()
            _prepared_urls[url] = getattr(self, "url")  # noqa: B009 (mypy cannot type requests' attribute)
        else:
            setattr(self, "url", prepared)  # noqa: B010

    def prepare_cookies(self, cookies) -> None:
        if isinstance(cookies, CookieJar) and not len(cookies):
            self._cookies = cookies
            return
        super().prepare_cookies(cookies)


class _Session(requests.Session):
    """A Session that prepares its requests as `_Prepared` (the body of requests' `prepare_request`
    otherwise; netrc is not looked up: `trust_env` is only left on when proxies are in play).

    Settings neither the call nor the session sets (cookies, params, auth, extra headers, proxies) are
    not merged: requests' `merge_setting` builds a fresh mapping for each, about a tenth of a short
    call, to come to the same value (tests/test_http_prepare.py compares the results).
    """

    def prepare_request(self, request: requests.Request) -> requests.PreparedRequest:
        if self.trust_env:  # proxies: requests' own path, netrc and all
            return super().prepare_request(request)
        cookies = request.cookies or {}
        if not cookies and not len(self.cookies):
            merged_cookies = RequestsCookieJar()  # what merging two empty jars into a new one gives
        else:
            if not isinstance(cookies, CookieJar):
                cookies = cookiejar_from_dict(cookies)
            merged_cookies = merge_cookies(merge_cookies(RequestsCookieJar(), self.cookies), cookies)
        p = _Prepared()
        p.prepare(
            method=request.method.upper(),
            url=request.url,
            files=request.files,
            data=request.data,
            json=request.json,
            # prepare_headers copies them: the session's own mapping is not changed
            headers=merge_setting(request.headers, self.headers, dict_class=CaseInsensitiveDict)
            if request.headers else self.headers,
            params=merge_setting(request.params, self.params) if request.params or self.params else {},
            auth=merge_setting(request.auth, self.auth),
            cookies=merged_cookies,
            hooks=merge_hooks(request.hooks, self.hooks),
        )
        return p

    def merge_environment_settings(self, url, proxies, stream, verify, cert) -> dict:
        if self.trust_env:
            return super().merge_environment_settings(url, proxies, stream, verify, cert)
        return {"proxies": merge_setting(proxies, self.proxies) if proxies or self.proxies else {},
                "stream": self.stream if stream is None else stream,
                "verify": self.verify if verify is None else verify,
                "cert": self.cert if cert is None else cert}


@functools.cache
def session(provider: str, retries: int = 3) -> requests.Session:
    """One pooled session per provider in this worker process, created on first use (after fork)."""
    retry = _Retry(
        total=retries,
        connect=retries,
        read=0,  # a read error on a GET is retried by the client, not here: the body may be half-sent
        backoff_factor=0.5,
        status_forcelist=(429, 500, 502, 503, 504),
        allowed_methods=RETRIED_METHODS,  # never replay a POST
        respect_retry_after_header=True,
        raise_on_status=False,  # the last reply is translated by us
    )
    retry.provider = provider
    s = _Session()
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
    operation: str | None = None,
    **kwargs,
) -> requests.Response:
    """Send one request to `provider`; return the 2xx response or raise `UpstreamError`.

    `creates=True` marks a call that may create something upstream: if its outcome is unknown
    (timeout, dropped connection), the client is told not to retry, so nothing is duplicated.
    `operation` names the call in the upstream metrics (default: the gateway operation serving the request).
    """
    kwargs.setdefault("timeout", _timeout(provider))
    started = time.perf_counter()
    try:
        response = session(provider, current_app.config["UPSTREAM_RETRIES"]).request(method, url, **kwargs)
    except requests.ConnectTimeout:
        metrics.upstream_error(provider, "timeout")
        raise UpstreamError(provider, 504, "connection timed out", code="upstream_timeout") from None
    except requests.Timeout:
        metrics.upstream_error(provider, "timeout")
        raise UpstreamError(provider, 504, "timed out", code="upstream_timeout",
                            retryable=False if creates else None) from None
    except requests.ConnectionError as error:
        if _read_timed_out(error):  # requests reports a read timeout inside retries as a ConnectionError
            metrics.upstream_error(provider, "timeout")
            raise UpstreamError(provider, 504, "timed out", code="upstream_timeout",
                                retryable=False if creates else None) from None
        unreachable = _never_connected(error)
        metrics.upstream_error(provider, "unreachable" if unreachable else "connection")
        raise UpstreamError(
            provider, 502, "unreachable" if unreachable else "connection failed",
            code="upstream_unreachable", retryable=False if creates and not unreachable else None,
        ) from None
    finally:
        metrics.observe_upstream(provider, operation or _operation(), time.perf_counter() - started)
    if response.status_code >= 400:
        metrics.upstream_error(provider, str(response.status_code))
        try:
            message, code, error_type, *rest = error_parser(response)
        finally:
            response.close()
        status = client_status(response.status_code)
        headers = {}
        if response.status_code == 429 and "retry-after" in response.headers:
            headers["Retry-After"] = response.headers["retry-after"]
        log.info("upstream error reply", extra={"provider": provider, "upstream_status": response.status_code})
        # A 5xx after a create may have created something; after our own retries, the SDK's would multiply them.
        retried = method.upper() in RETRIED_METHODS and current_app.config["UPSTREAM_RETRIES"] > 0
        raise UpstreamError(
            provider, status, f"{message} (HTTP {response.status_code})",
            code=code, type=error_type if status < 500 else "upstream_error", param=rest[0] if rest else None,
            retryable=False if status >= 500 and (creates or retried) else None, headers=headers,
            upstream_status=response.status_code,
        )
    return response


def _operation() -> str:
    """The gateway operation being served (the view's name, e.g. `create_file`), for the metrics."""
    endpoint = request.endpoint if has_request_context() else None
    return endpoint.rpartition(".")[2] if endpoint else "none"


def _timeout(provider: str) -> tuple[float, float]:
    """(connect, read) seconds for the next call, within what is left of this request's budget."""
    connect, read = current_app.config["UPSTREAM_TIMEOUT"]
    if not has_request_context():
        return connect, read
    deadline = g.get("upstream_deadline")
    if deadline is None:
        deadline = g.upstream_deadline = time.monotonic() + float(current_app.config["UPSTREAM_BUDGET"])
    left = deadline - time.monotonic()
    if left <= 0:
        raise UpstreamError(provider, 504, "the request's upstream time budget (DEEPINTSHIELD_UPSTREAM_BUDGET) "
                                           "is spent", code="upstream_budget_exceeded", retryable=False)
    return min(connect, left), min(read, left)


def _read_timed_out(error: requests.ConnectionError) -> bool:
    reason = getattr(error.args[0], "reason", None) if error.args else None
    return isinstance(reason, ReadTimeoutError)


def _never_connected(error: requests.ConnectionError) -> bool:
    text = repr(error)
    return any(s in text for s in ("NewConnectionError", "Connection refused", "NameResolutionError"))


def json_body(response: requests.Response, provider: str, *, creates: bool = False) -> dict:
    """The JSON object a provider answered with; anything else is the provider's fault (502).

    An empty body reads as `{}` (some providers answer 200 with no body, e.g. Gemini's cancel).
    """
    try:
        body = _decode(response.content) if response.content else {}
    except (msgspec.DecodeError, RecursionError):  # not JSON, or nested past any sane depth
        body = None
    if not isinstance(body, dict):
        raise UpstreamError(provider, 502, "answered with a body that is not a JSON object",
                            code="upstream_error", type="upstream_error", retryable=False if creates else None)
    return body


def streamed(response: requests.Response, chunk_size: int = RELAY_CHUNK, *, provider: str = "the provider",
             min_rate: float | None = None) -> Iterator[bytes]:
    """The body of a streamed response in chunks; closes the response when done or abandoned.

    Reads what has arrived (`read1`), so a body trickling in below `min_rate` bytes a second (over each
    `STALL_WINDOW`; default `DEEPINTSHIELD_UPSTREAM_MIN_RATE`) is cut off with a 504 instead of holding
    this thread. A body that breaks off (connection reset, read timeout, shorter than its length)
    raises `UpstreamError` naming `provider`: an error status when nothing has been sent yet
    (`streams.primed`), a broken connection after that, so the client's read fails too.
    """
    if min_rate is None:  # read now: the body is often relayed after the request context is gone
        min_rate = float(current_app.config["UPSTREAM_MIN_RATE"]) if has_request_context() else 0.0
    return _relayed(response, chunk_size, provider, min_rate)


def _relayed(response: requests.Response, chunk_size: int, provider: str, min_rate: float) -> Iterator[bytes]:
    raw = response.raw
    window_start, window_bytes = time.monotonic(), 0
    try:
        while True:
            try:
                data = raw.read1(chunk_size)
            except ReadTimeoutError:
                metrics.upstream_error(provider, "body_timeout")
                raise UpstreamError(provider, 504, "the response body timed out", code="upstream_timeout",
                                    type="upstream_error", retryable=False) from None
            except (HTTPError, OSError) as error:
                metrics.upstream_error(provider, "body_broke_off")
                log.info("upstream body broke off", extra={"provider": provider, "error": repr(error)})
                raise UpstreamError(provider, 502, "the response body broke off", code="upstream_error",
                                    type="upstream_error", retryable=False) from None
            if not data:
                return
            yield data
            window_bytes += len(data)
            now = time.monotonic()
            if now - window_start >= STALL_WINDOW:
                if window_bytes < min_rate * (now - window_start):
                    metrics.upstream_error(provider, "body_too_slow")
                    raise UpstreamError(provider, 504, f"the body arrived at under {min_rate:.0f} bytes a second",
                                        code="upstream_too_slow", retryable=False)
                window_start, window_bytes = now, 0
    finally:
        response.close()
