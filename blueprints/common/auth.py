"""Client authentication and the provider key each upstream call uses.

Passthrough (no `DEEPINTSHIELD_API_KEYS`): the client's bearer key *is* the provider key.
Gateway-key mode: the client must present one of `DEEPINTSHIELD_API_KEYS` (constant-time compare)
and the gateway uses its own `<PROVIDER>_API_KEY`. Keys never appear in logs, errors or responses.

`owner()` names who owns what the gateway stores for a request: a keyed hash (HMAC-SHA256 with the
owner secret) of the key the client presented, the gateway key in gateway-key mode. Only the hash
is ever written; a rotated key is a new owner.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from contextlib import contextmanager

from flask import current_app, g, has_request_context, request

from blueprints import registry
from errors import APIError


def bearer_token() -> str:
    """The client's bearer key; outside a request (a worker running a client's batch), the key the
    worker was given for that batch (`g.client_key`); while a `?provider=all` list calls one provider
    in passthrough, the key the client sent for it (`acting_as`)."""
    if not has_request_context():
        return g.get("client_key", "")
    acting = g.get("acting_key")
    if acting is not None:
        return acting
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def gateway_keys_enabled() -> bool:
    return bool(current_app.config["API_KEYS"])


def check_origin() -> None:
    """Before each API request: a browser request from a page of another origin is refused.

    The SDK sends no `Origin`; a browser does, on every cross-site POST. Without this, any web page
    a developer visits could use the gateway on their machine (and its AWS credentials for Bedrock).
    Same-origin requests and `DEEPINTSHIELD_ALLOWED_ORIGINS` pass.
    """
    origin = request.headers.get("Origin")
    if origin is None:
        return
    same = origin.rstrip("/") in (f"http://{request.host}", f"https://{request.host}")
    if not same and origin.rstrip("/") not in current_app.config["ALLOWED_ORIGINS"]:
        raise APIError(403, f"Requests from pages on {origin!r} are not allowed (DEEPINTSHIELD_ALLOWED_ORIGINS).",
                       code="origin_not_allowed")


def authenticate() -> None:
    """Before each API request: in gateway-key mode, reject clients without a valid key."""
    check_origin()
    keys = current_app.config["API_KEYS"]
    if not keys:
        return
    token = bearer_token().encode()
    # Compare against every key so the time taken does not say which one nearly matched.
    matched = False
    for key in keys:
        matched |= hmac.compare_digest(token, key.encode())
    if not matched:
        raise APIError(401, "Invalid or missing gateway API key.", code="invalid_api_key",
                       headers={"WWW-Authenticate": "Bearer"})
    g.gateway_client = True


@contextmanager
def acting_as(key: str | None) -> Iterator[None]:
    """Within: `key` stands for the client's bearer key (None: the bearer itself), for the provider
    calls and owner of one provider's part of a `?provider=all` list (`blueprints/crosslist`)."""
    previous = g.get("acting_key")
    g.acting_key = key
    try:
        yield
    finally:
        g.acting_key = previous


def owner(secret: bytes) -> str:
    """The owner of objects stored for this request: a keyed hash of the client's key (401 without one)."""
    key = bearer_token()
    if not key:
        raise APIError(401, "Missing bearer API key: files the gateway keeps belong to the key that stored them.",
                       code="missing_api_key", headers={"WWW-Authenticate": "Bearer"})
    return hmac.new(secret, key.encode(), hashlib.sha256).hexdigest()[:32]


def provider_key(provider: str) -> str:
    """The key to send to `provider` for this request; "" when it is to be called without one (a
    provider whose key is optional, with none configured, in gateway-key mode)."""
    if gateway_keys_enabled():
        spec = registry.get(provider)
        setting = spec.credential
        key = current_app.config.get(setting, "") if setting else ""
        if not key and not spec.optional_key:
            raise APIError(
                400,
                f"The gateway has no {provider} key configured ({setting}).",
                param="provider", code="provider_not_configured",
            )
        return key
    key = bearer_token()
    if not key:
        raise APIError(401, "Missing bearer API key for the provider.", code="missing_api_key",
                       headers={"WWW-Authenticate": "Bearer"})
    return key
