"""How the gateway reaches an OpenAI-shaped Files and Batch API.

One `Client` describes one such API: OpenAI's own (`OPENAI_BASE_URL`), an Azure OpenAI resource
(`blueprints/azure`) or an OpenAI-compatible host declared by configuration (`compatible.py`): its
base URL (the path style is part of it: `…/v1`, `…/openai/v1`, `…/openai`), the header and scheme
the key goes in, a query every call carries (Azure's `api-version`), and the client headers passed
on. The operations (`operations.OpenAIShaped`) are the same over each. A `Client` is built per
request from the settings, so it holds nothing but these values.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

import requests
from flask import current_app, has_request_context, request

from blueprints.common import auth, http

NAME = "openai"
# Headers a client may set that OpenAI honours; passed on as given, with the client's own key only
# (in gateway-key mode they would pick an organization or project for the operator's key).
_FORWARDED = ("OpenAI-Organization", "OpenAI-Project")


@dataclass(frozen=True)
class Client:
    """One OpenAI-shaped upstream, as the calls to it need it."""

    provider: str  # the provider's name: in errors and metrics, and whose key is sent
    base_url: str  # everything before `files` / `batches`, without a trailing slash
    key_header: str = "Authorization"
    key_scheme: str = "Bearer"  # "": the key alone (Azure's `api-key: <key>`)
    query: tuple[tuple[str, str], ...] = ()  # sent with every call (Azure's `api-version`)
    forwarded: tuple[str, ...] = ()  # client headers passed on, with the client's own key only

    def url(self, *segments: str) -> str:
        """Upstream URL; each segment is percent-encoded so an ID can never add a path level."""
        return "/".join([self.base_url, *(quote(s, safe="") for s in segments)])

    def headers(self, **extra: str) -> dict[str, str]:
        key = auth.provider_key(self.provider)
        result = {self.key_header: f"{self.key_scheme} {key}" if self.key_scheme else key}
        # Outside a request (a worker running a gateway-run batch) there are no client headers to pass on.
        if self.forwarded and has_request_context() and not auth.gateway_keys_enabled():
            for name in self.forwarded:
                if name in request.headers:
                    result[name] = request.headers[name]
        result.update(extra)
        return result

    def call(self, method: str, *segments: str, creates: bool = False, **kwargs) -> requests.Response:
        kwargs["headers"] = self.headers(**kwargs.pop("headers", {}))
        if self.query:  # last, so no parameter of ours can replace it
            kwargs["params"] = {**(kwargs.get("params") or {}), **dict(self.query)}
        return http.call(self.provider, method, self.url(*segments), creates=creates, **kwargs)

    def call_json(self, method: str, *segments: str, creates: bool = False, **kwargs) -> dict:
        """`call`, answering with the reply's JSON object."""
        return http.json_body(self.call(method, *segments, creates=creates, **kwargs), self.provider,
                              creates=creates)


def openai() -> Client:
    """OpenAI's own API (`OPENAI_BASE_URL`, bearer key, organization and project headers passed on)."""
    return Client(NAME, current_app.config["OPENAI_BASE_URL"], forwarded=_FORWARDED)
