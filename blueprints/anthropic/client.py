"""Anthropic's Message Batches endpoints (providers.md §B.1), and Messages for gateway-run lines: URLs,
headers, error parsing.

Every call goes through `blueprints.common.http.call`; the key comes from `auth.provider_key`.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Iterator
from typing import IO

import requests
from flask import current_app

from blueprints.common import auth, http
from errors import UpstreamError

NAME = "anthropic"
MESSAGES = "/v1/messages"
BATCHES = "/v1/messages/batches"
MSGBATCH_ID = re.compile(r"^msgbatch_[A-Za-z0-9_-]{1,128}$")
KEY_CHECK_TTL = 600  # seconds a key Anthropic accepted is taken as valid without asking again
_verified: dict[bytes, float] = {}  # sha256(key) -> until when it counts as checked


def _base() -> str:
    return current_app.config["ANTHROPIC_BASE_URL"]


def _headers() -> dict[str, str]:
    return {
        "x-api-key": auth.provider_key(NAME),
        "anthropic-version": current_app.config.get("ANTHROPIC_VERSION", "2023-06-01"),
        "accept": "application/json",
    }


def error_parser(response: requests.Response) -> tuple[str, str | None, str | None]:
    """`{"type": "error", "error": {"type", "message"}}` -> (message, code, type).

    Anthropic's error type goes into `code` (it is not an OpenAI type); the status decides `type`.
    """
    try:
        body = response.json()
    except ValueError:
        return (response.text.strip()[:300] or response.reason or f"HTTP {response.status_code}"), None, None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        code = error.get("type")
        return str(error.get("message") or code or response.reason), str(code) if code else None, None
    return str(body)[:300], None, None


def _call(method: str, path_or_url: str, **kwargs) -> requests.Response:
    url = path_or_url if path_or_url.startswith(("http://", "https://")) else _base() + path_or_url
    return http.call(NAME, method, url, error_parser=error_parser, headers=_headers(), **kwargs)


def create_batch(body: IO[bytes]) -> dict:
    """`POST /v1/messages/batches` with a JSON body read from a file object (streamed, with its length).

    A created batch whose reply names no Message Batch cannot be addressed: a 502 the SDK must not
    retry (a retry would create another batch).
    """
    headers = {**_headers(), "content-type": "application/json"}
    response = http.call(NAME, "POST", _base() + BATCHES, creates=True, error_parser=error_parser,
                         headers=headers, data=body)
    created = http.json_body(response, NAME, creates=True)
    if not isinstance(created.get("id"), str) or not MSGBATCH_ID.fullmatch(created["id"]):
        raise UpstreamError(NAME, 502, "created a batch but its reply has no Message Batch id", code="upstream_error",
                            type="upstream_error", retryable=False)
    return created


def create_message(params: dict, *, operation: str | None = None) -> requests.Response:
    """`POST /v1/messages` (one line of a batch the gateway runs itself): the 2xx reply, else `UpstreamError`."""
    return http.call(NAME, "POST", _base() + MESSAGES, creates=True, error_parser=error_parser, headers=_headers(),
                     json=params, operation=operation)


def verify_key() -> None:
    """Check this request's key with Anthropic (cached for `KEY_CHECK_TTL`): an invalid key is its 401."""
    fingerprint = hashlib.sha256(auth.provider_key(NAME).encode()).digest()
    now = time.monotonic()
    if _verified.get(fingerprint, 0.0) > now:
        return
    _call("GET", BATCHES, params={"limit": 1}).close()
    if len(_verified) >= 1024:
        _verified.clear()
    _verified[fingerprint] = now + KEY_CHECK_TTL


def get_batch(native: str) -> dict:
    return http.json_body(_call("GET", f"{BATCHES}/{native}"), NAME)


def list_batches(limit: int, after_id: str | None) -> dict:
    params: dict = {"limit": limit}
    if after_id:
        params["after_id"] = after_id
    return http.json_body(_call("GET", BATCHES, params=params), NAME)


def cancel_batch(native: str) -> dict:
    return http.json_body(_call("POST", f"{BATCHES}/{native}/cancel"), NAME)


def results(results_url: str) -> Iterator[bytes]:
    """The results JSONL of an ended batch, in chunks (the key goes only to Anthropic's own host)."""
    if not results_url.startswith(_base() + "/"):
        raise UpstreamError(NAME, 502, "results_url is not on the configured Anthropic host",
                            code="upstream_error", type="upstream_error")
    headers = {**_headers(), "accept": "application/binary"}
    response = http.call(NAME, "GET", results_url, error_parser=error_parser, headers=headers, stream=True)
    return http.streamed(response, provider=NAME)
