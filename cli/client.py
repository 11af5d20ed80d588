"""The gateway as the command line sees it: one `openai` SDK client, the provider named the way the
README says (`extra_body` on a POST, `extra_query` on a GET), which provider an ID names, and the
gateway's own extensions (a batch's cost, an estimate, the list across providers), which a gateway
that predates them answers with a 404 or 405: those become one clear message, not a stack trace.
"""

from __future__ import annotations

import re
from contextlib import suppress
from typing import Any
from urllib.parse import quote

import click
import openai
from openai import OpenAI, omit

DEFAULT_URL = "http://localhost:8080/openai"
ALL_PROVIDERS = "all"

# ID codes (blueprints/registry.py, README "IDs"): an encoded ID names its provider, so follow-up calls
# need no `--provider`. `c<name>` is a declared OpenAI-compatible host, `e<name>` a declared chat server;
# `openai` marks a batch the gateway runs itself for OpenAI (whose own IDs carry no code).
_CODES = {"a": "anthropic", "g": "gemini", "b": "bedrock", "v": "vertex", "z": "azure", "openai": "openai"}
_ENCODED = re.compile(r"^(?:batch_ds([a-z0-9]+)|file-ds([a-z0-9]+)[foe]|upload_ds([a-z0-9]+))_[A-Za-z0-9_-]+$")
_ANTHROPIC_BATCH = re.compile(r"^msgbatch_[A-Za-z0-9_~-]+$")


def connect(base_url: str, api_key: str | None, *, strict: bool = False) -> OpenAI:
    """The SDK client for the gateway at `base_url` (`strict`: the SDK validates every reply, as the tests do)."""
    if not api_key:
        raise click.UsageError("No API key: set OPENAI_API_KEY or pass --api-key.")
    return OpenAI(base_url=base_url, api_key=api_key, _strict_response_validation=strict)


def named(provider: str | None) -> dict[str, str]:
    """The provider as the gateway takes it: `extra_body` on a POST, `extra_query` on a GET. Nothing when
    not given: the ID names it (see `provider_of`), or the gateway's default (OpenAI) applies."""
    return {"provider": provider} if provider else {}


def provider_of(resource_id: str) -> str | None:
    """The provider a gateway ID names, or None for an ID that names none (OpenAI's own `batch_…`/`file-…`,
    or a provider's native ID, which needs `--provider`)."""
    if _ANTHROPIC_BATCH.fullmatch(resource_id):
        return "anthropic"
    match = _ENCODED.fullmatch(resource_id)
    if not match:
        return None
    code = next(group for group in match.groups() if group)
    if code in _CODES:
        return _CODES[code]
    return code[1:] if code[0] in "ce" and len(code) > 1 else None


def message_of(error: openai.APIStatusError) -> str:
    """The gateway's own message (the SDK's `message` prefixes "Error code: N - ")."""
    body = error.body
    found = body.get("message") if isinstance(body, dict) else None
    return found if isinstance(found, str) and found else error.message


def describe(error: openai.APIStatusError, provider: str | None = None) -> str:
    """One line for a gateway error: status, code and the gateway's own message (which names the field)."""
    label = error.code or getattr(error, "type", None) or "error"
    message = f"{error.status_code} {label}: {message_of(error)}"
    if error.status_code == 404 and error.code == "invalid_id" and not provider:
        message += " (a provider's native ID needs --provider)"
    return message


class Unavailable(click.ClickException):
    """The gateway does not serve one of its extensions (it predates it)."""

    def __init__(self, what: str, base_url: str, error: openai.APIStatusError) -> None:
        super().__init__(f"The gateway at {base_url} does not serve {what} (it answered "
                         f"{error.status_code}: {message_of(error)}); it predates this feature: update the gateway.")


def _route_missing(error: openai.APIStatusError, tail: str) -> bool:
    """A 404/405 that means "no such route" rather than "no such resource": 405 (a route for another method
    matched), a routing 404 (no error code), or an older gateway reading the extension's path as an ID."""
    if error.status_code == 405:
        return True
    return error.status_code == 404 and (error.code is None or tail in message_of(error))


def batch_cost(client: OpenAI, batch_id: str, provider: str | None) -> Any:
    """`GET /batches/{id}/cost`: what a batch used and what it cost (a JSON object)."""
    try:
        return client.get(f"/batches/{quote(batch_id, safe='')}/cost", cast_to=object,
                          options={"params": named(provider)})
    except openai.APIStatusError as error:
        if _route_missing(error, "/cost"):
            raise Unavailable("batch costs (GET /batches/{id}/cost)", str(client.base_url), error) from error
        raise


def estimate(client: OpenAI, body: dict[str, Any]) -> Any:
    """`POST /batches/estimate`: what a batch of an input file would cost (a JSON object)."""
    try:
        return client.post("/batches/estimate", cast_to=object, body=body)
    except openai.APIStatusError as error:
        if _route_missing(error, "estimate"):
            raise Unavailable("estimates (POST /batches/estimate)", str(client.base_url), error) from error
        raise


def check_estimate_served(client: OpenAI, provider: str) -> None:
    """Fail before uploading anything if the gateway has no estimate endpoint: a body without an input
    file is refused where the endpoint exists, and a 404/405 where it does not."""
    with suppress(openai.APIStatusError):  # served: it refused the probe (no input file), all the probe asks
        estimate(client, named(provider))


def list_batches(client: OpenAI, provider: str | None, limit: int, after: str | None = None,
                 headers: dict[str, str] | None = None) -> Any:
    """One page of `GET /batches` (a `SyncCursorPage[Batch]`); `provider="all"` lists across providers,
    with the providers that could not be listed in the page's extra `provider_errors` field
    (`[{"provider", "error": {"message", "type", "param", "code"}}]`)."""
    try:
        return client.batches.list(limit=limit, after=after or omit, extra_query=named(provider),
                                   extra_headers=headers or None)
    except openai.APIStatusError as error:
        across = provider == ALL_PROVIDERS and (
            _route_missing(error, "all") or error.code in ("unknown_provider", "unsupported_parameter"))
        if across:
            raise Unavailable("lists across providers (GET /batches?provider=all)", str(client.base_url),
                              error) from error
        raise
