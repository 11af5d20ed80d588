"""One batch line through a declared chat server's synchronous API (the `Realtime` protocol).

The line is OpenAI's own request, and the servers speak OpenAI's API, so `prepare` passes the body
through: it only refuses what such a server cannot run as a batch line (another endpoint, streaming,
no model) and puts the batch's `model`, when given, in place of the line's (the name the server
serves the model under often differs from what a file written for OpenAI says). `send` POSTs it to
`{base URL}{url without /v1}`, with the key as a bearer key when there is one, and gives back the
JSON reply as it is.
"""

from __future__ import annotations

import uuid

from blueprints.chat import ENDPOINTS
from blueprints.common import auth, http
from blueprints.common.provider import LineReply, LineRequest
from errors import BadRequest

_PREFIX = "/v1"


def prepare(line: LineRequest) -> dict:
    """The body to POST for `line` (pure: no HTTP, no Flask); `BadRequest` for what no server would run."""
    if line.url not in ENDPOINTS:
        raise BadRequest(f"{line.custom_id}: url {line.url!r} is not served; use one of {', '.join(ENDPOINTS)}.",
                         param="url", code="unsupported_endpoint")
    if line.body.get("stream") is True:
        raise BadRequest(f"{line.custom_id}: a batch line cannot stream.", param="body.stream")
    model = line.model or line.body.get("model")
    if not isinstance(model, str) or not model:
        raise BadRequest(f"{line.custom_id}: no model; set body.model or give the batch a model in extra_body.",
                         param="body.model")
    return {**line.body, "model": model}


class ChatRealtime:
    """The `Realtime` of one declared server: `prepare` as above, `send` to its base URL."""

    prepare = staticmethod(prepare)

    def __init__(self, name: str, base_url: str) -> None:
        self.name, self.base_url = name, base_url.rstrip("/")

    def send(self, prepared: dict, line: LineRequest) -> LineReply:
        """Run the line; an `UpstreamError` (with `upstream_status`) for the server's error reply."""
        key = auth.provider_key(self.name)
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        response = http.call(self.name, "POST", self.base_url + line.url.removeprefix(_PREFIX), json=prepared,
                             headers=headers, operation="batch_line")
        body = http.json_body(response, self.name)
        request_id = response.headers.get("x-request-id") or body.get("id")
        return LineReply(body=body, request_id=request_id if isinstance(request_id, str) and request_id
                         else f"req_{uuid.uuid4().hex}")
