"""Anthropic's Message Batches endpoints (providers.md §B.1): URLs, headers, error parsing.

Every call goes through `blueprints.common.http.call`; the key comes from `auth.provider_key`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO

import requests
from flask import current_app

from blueprints.common import auth, http
from errors import UpstreamError

NAME = "anthropic"
BATCHES = "/v1/messages/batches"


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
    """`POST /v1/messages/batches` with a JSON body read from a file object (streamed, with its length)."""
    headers = {**_headers(), "content-type": "application/json"}
    response = http.call(NAME, "POST", _base() + BATCHES, creates=True, error_parser=error_parser,
                         headers=headers, data=body)
    return http.json_body(response, NAME, creates=True)


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
