"""Calls to OpenAI's Files and Batch API (`OPENAI_BASE_URL`)."""

from __future__ import annotations

from urllib.parse import quote

import requests
from flask import current_app, request

from blueprints.common import auth, http

NAME = "openai"
# Headers a client may set that OpenAI honours; passed on as given, with the client's own key only
# (in gateway-key mode they would pick an organization or project for the operator's key).
_FORWARDED = ("OpenAI-Organization", "OpenAI-Project")


def url(*segments: str) -> str:
    """Upstream URL; each segment is percent-encoded so an ID can never add a path level."""
    return "/".join([current_app.config["OPENAI_BASE_URL"], *(quote(s, safe="") for s in segments)])


def headers(**extra: str) -> dict[str, str]:
    result = {"Authorization": f"Bearer {auth.provider_key(NAME)}"}
    if not auth.gateway_keys_enabled():
        for name in _FORWARDED:
            if name in request.headers:
                result[name] = request.headers[name]
    result.update(extra)
    return result


def call(method: str, *segments: str, creates: bool = False, **kwargs) -> requests.Response:
    kwargs["headers"] = headers(**kwargs.pop("headers", {}))
    return http.call(NAME, method, url(*segments), creates=creates, **kwargs)


def call_json(method: str, *segments: str, creates: bool = False, **kwargs) -> dict:
    """`call`, answering with the reply's JSON object."""
    return http.json_body(call(method, *segments, creates=creates, **kwargs), NAME, creates=creates)
