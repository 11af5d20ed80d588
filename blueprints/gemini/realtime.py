"""Gemini's synchronous API for the batches the gateway runs itself: one OpenAI batch line as one
`models/{model}:generateContent` call (the `Realtime` module of the Gemini provider).

`prepare` converts the line with the batch path's translator (`translators.gemini`: the same
GenerateContentRequest, the same refusals); `send` posts it with the Gemini client's key and turns
the GenerateContentResponse into a chat.completion with the converter the batch results use (finish
reasons, blocked prompts, usage). Vertex AI runs Gemini's request and reply shapes too, so
`blueprints/vertex/realtime.py` shares `chat_request` and `line_reply`.

Only `/v1/chat/completions` lines: the translators have no embeddings conversion, so an embeddings
batch is refused when it is created rather than failing line by line.
"""

from __future__ import annotations

import time
import uuid

from blueprints.common import mapping
from blueprints.common.provider import LineReply, LineRequest
from blueprints.gemini import NAME, client
from blueprints.gemini.operations import model_name
from errors import BadRequest
from translators import gemini as translate

OPERATION = "realtime"  # the upstream metrics' name for these calls (as the other providers' realtime modules)


def chat_request(line: LineRequest, provider: str) -> dict:
    """The GenerateContentRequest for a chat line; a 400 for another endpoint or a body Gemini cannot take."""
    if line.url != translate.CHAT_COMPLETIONS:
        raise BadRequest(f"{provider} runs only {translate.CHAT_COMPLETIONS} lines through the gateway, "
                         f"not {line.url}.", param="url", code="unsupported_endpoint")
    return translate.generate_content_request(line.body)


def line_model(line: LineRequest) -> str | None:
    """The model a line runs on: the batch's, else the one its body names (as a batch of one model)."""
    body_model = line.body.get("model")
    return line.model or (body_model if isinstance(body_model, str) else None)


def line_reply(provider: str, response: dict, *, model: str) -> LineReply:
    """A GenerateContentResponse as the line's chat.completion; the request ID is Gemini's `responseId`
    (else a new one). A reply the converter cannot read is the provider's fault: a 502."""
    response_id = response.get("responseId")
    request_id = response_id if isinstance(response_id, str) and response_id else f"{provider}-{uuid.uuid4().hex}"
    # `created`: when the gateway got the answer (a batch result uses its batch's end time).
    body = mapping.mapped(provider, "reply", translate.chat_completion, response, response_id=request_id,
                          model=model, created=int(time.time()))
    return LineReply(body=body, request_id=request_id)


def prepare(line: LineRequest) -> dict:
    """The GenerateContentRequest for `line` (pure); `BadRequest` for what Gemini would be refused."""
    request = chat_request(line, "Gemini")
    model_name(line_model(line))  # a missing or malformed model is refused now, not in the worker
    return request


def send(prepared: dict, line: LineRequest) -> LineReply:
    model = model_name(line_model(line))
    return line_reply(NAME, client.generate_content(model, prepared, operation=OPERATION), model=model)
