"""One line of a gateway-run Anthropic batch through the Messages API (the `Realtime` protocol).

The line goes the way a batch-file line goes to Message Batches (`operations.py`), through the same
translator: `translate.batch_request` (the envelope rules, then the line url's translator:
`chat_to_params`, `responses_to_params` or `completion_to_params`; `/v1/embeddings` and the other
urls are refused by `translate.check_endpoint`), the batch's
`model` for a body that names none (`translate.with_model`), then the configured default
`max_tokens` (`DEEPINTSHIELD_ANTHROPIC_DEFAULT_MAX_TOKENS`) and the Claude sampling rules of
`DEEPINTSHIELD_ANTHROPIC_VERSION`: a refusal is the same `BadRequest` the batch path gives, so a line
Anthropic would refuse is a 400 naming it at create.

`send` posts to `/v1/messages` with the headers every Anthropic call has (`client.py`) and makes the
Message the line url's reply (a `chat.completion`, a `response` or a `text_completion`) with the
converter a `succeeded` batch result goes through (`translate.FROM_MESSAGE`), so finish reasons,
tool calls and usage read the same. A `response` here also echoes the line's request fields
(instructions, tools, metadata, ...), which a Message Batch result cannot: it has no request.
"""

from __future__ import annotations

import time
import uuid

from flask import current_app

from blueprints.anthropic import NAME, client
from blueprints.common import claude, http, mapping
from blueprints.common.provider import LineReply, LineRequest
from errors import BadRequest
from translators import anthropic as translate

OPERATION = "realtime"  # the upstream metrics' name for these calls


def prepare(line: LineRequest) -> dict:
    """The Messages params for a line; BadRequest as the batch path gives it."""
    translate.check_endpoint(line.url, "url")
    item = {"custom_id": line.custom_id, "method": "POST", "url": line.url, "body": line.body}
    params = translate.batch_request(item, default_max_tokens=None, sampling=translate.UNRESTRICTED,
                                     model=line.model, endpoint=line.url)["params"]
    config = current_app.config
    try:
        translate.with_model(params, line.model)
        params.setdefault("max_tokens", int(config["ANTHROPIC_DEFAULT_MAX_TOKENS"]))
        claude.sampling_rules(config["ANTHROPIC_VERSION"]).check(params["model"], params)
    except BadRequest as error:
        raise _in_body(error) from None
    return {"params": params}


def send(prepared: dict, line: LineRequest) -> LineReply:
    """POST the params to `/v1/messages`; Anthropic's errors propagate as `UpstreamError` (from `http.call`)."""
    response = client.create_message(prepared["params"], operation=OPERATION)
    message = http.json_body(response, NAME, creates=True)
    body = mapping.mapped(NAME, "Message", translate.FROM_MESSAGE[line.url], message, created=int(time.time()),
                          request=line.body)
    request_id = response.headers.get("request-id") or body["id"] or f"req_{uuid.uuid4().hex}"
    return LineReply(body=body, request_id=request_id)


def _in_body(error: BadRequest) -> BadRequest:
    """A translator's refusal with its field named within the line (`body.model`), as the batch path names it."""
    return BadRequest(error.message, param=f"body.{error.param}" if error.param else "body", code=error.code)
