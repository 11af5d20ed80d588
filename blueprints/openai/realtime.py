"""One line of a gateway-run batch through an OpenAI-shaped synchronous API (the `Realtime` protocol).

OpenAI, Azure OpenAI and the declared OpenAI-compatible hosts speak OpenAI's own API, so a batch
line's body goes up as it is, to the line's endpoint under the same client description the
provider's Files/Batch operations use (`client.Client`: base URL, key header, `api-version`).
`OpenAIShapedRealtime` is that, given the client and how an endpoint becomes a path (Azure's dated
API puts some under a deployment: `blueprints/azure/realtime.py`). This module's own functions are
OpenAI's; a declared host gets its instance from `compatible.Configured.realtime_module`.

A reply keeps the provider's body, with each chat choice's finish reason read as the batch result
conversion reads it (`replies.with_native_finish_reasons`), so a gateway-run line and a provider
batch's line say the same thing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

import requests

from blueprints.common import http
from blueprints.common.provider import LineReply, LineRequest
from blueprints.openai import client as clients
from blueprints.openai import replies
from errors import BadRequest

# The synchronous endpoints a line may name (OpenAI's batch endpoints that answer one JSON object).
ENDPOINTS = ("/v1/chat/completions", "/v1/embeddings", "/v1/responses", "/v1/completions")
# The reply headers naming the call, in order of preference: OpenAI's (and most hosts'), Azure's gateway's.
REQUEST_ID_HEADERS = ("x-request-id", "apim-request-id")
OPERATION = "realtime"  # the upstream metrics' name for these calls

# (endpoint as in ENDPOINTS, request body) -> path segments under the client's base URL
Route = Callable[[str, dict], tuple[str, ...]]


def openai_path(endpoint: str, body: dict) -> tuple[str, ...]:
    """OpenAI's paths: the endpoint under the base URL, which already ends in the API's `/v1`."""
    return tuple(endpoint.removeprefix("/v1/").split("/"))


class OpenAIShapedRealtime:
    """`prepare`/`send` (the `Realtime` protocol) over one OpenAI-shaped API."""

    def __init__(self, client: Callable[[], clients.Client], route: Route = openai_path,
                 model_names: str | None = None) -> None:
        self.client = client  # the upstream, built from the settings when a line is sent
        self.route = route
        # What `body.model` names where the API cannot do without it (Azure: the deployment); None: optional.
        self.model_names = model_names

    def prepare(self, line: LineRequest) -> dict:
        """The line's endpoint and body, as they go up; BadRequest for one this API cannot answer in one reply."""
        # Azure's dated API spells its line urls without `/v1` (`/chat/completions`): the same endpoint
        endpoint = replies.client_endpoint(line.url)
        if endpoint not in ENDPOINTS:
            raise BadRequest(f"url {line.url!r} cannot be run by the gateway; it runs "
                             f"{', '.join(ENDPOINTS)}.", param="url", code="unsupported_endpoint")
        body = line.body
        if not isinstance(body, dict):
            raise BadRequest("body must be a JSON object.", param="body")
        if body.get("stream") is True:  # a stream is not one JSON reply
            raise BadRequest("body.stream=true is not allowed in a batch.", param="body.stream")
        if self.model_names and not (isinstance(body.get("model"), str) and body["model"]):
            raise BadRequest(f"needs body.model: {self.model_names}.", param="body.model")
        return {"endpoint": endpoint, "body": body}

    def send(self, prepared: dict, line: LineRequest) -> LineReply:
        """POST the prepared body; the provider's errors propagate as `UpstreamError` (from `http.call`)."""
        upstream = self.client()
        response = upstream.call("POST", *self.route(prepared["endpoint"], prepared["body"]), creates=True,
                                 json=prepared["body"], operation=OPERATION)
        body = http.json_body(response, upstream.provider, creates=True)
        return LineReply(body=replies.with_native_finish_reasons(body), request_id=_request_id(response, body))


def _request_id(response: requests.Response, body: dict) -> str:
    for name in REQUEST_ID_HEADERS:
        if response.headers.get(name):
            return response.headers[name]
    if isinstance(body.get("id"), str) and body["id"]:
        return body["id"]
    return f"req_{uuid.uuid4().hex}"


# OpenAI's own

OPENAI = OpenAIShapedRealtime(clients.openai)

prepare = OPENAI.prepare
send = OPENAI.send
