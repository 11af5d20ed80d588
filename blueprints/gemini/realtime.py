"""Gemini's synchronous API for the batches the gateway runs itself: one OpenAI batch line as one
`models/{model}:generateContent` call (the `Realtime` module of the Gemini provider).

`prepare` converts the line with the batch path's translator (`translators.gemini`: the same
GenerateContentRequest, the same refusals); `send` posts it with the Gemini client's key and turns
the GenerateContentResponse into a chat.completion with the converter the batch results use (finish
reasons, blocked prompts, usage). Vertex AI runs Gemini's request and reply shapes too, so
`blueprints/vertex/realtime.py` shares `generate_request`, `line_model` and `line_reply`.

Lines of `/v1/chat/completions`, `/v1/responses` and `/v1/completions` go to `:generateContent`
through `translators.gemini_endpoints` (the batch path's conversion, and its reply shapes);
`/v1/embeddings` lines go to `:batchEmbedContents` (one request per input, answered in order).
"""

from __future__ import annotations

import time
import uuid

from blueprints.common import mapping
from blueprints.common.provider import LineReply, LineRequest
from blueprints.gemini import NAME, client
from blueprints.gemini.operations import model_name
from errors import BadRequest
from translators import gemini_endpoints as endpoints

OPERATION = "realtime"  # the upstream metrics' name for these calls (as the other providers' realtime modules)


def generate_request(line: LineRequest, provider: str) -> dict:
    """The GenerateContentRequest for a generation line; a 400 for another endpoint or a body Gemini cannot take."""
    if line.url not in endpoints.GENERATE_ENDPOINTS:
        raise BadRequest(f"{provider} runs {', '.join(endpoints.GENERATE_ENDPOINTS)} lines through the gateway "
                         f"with generateContent, not {line.url}.", param="url", code="unsupported_endpoint")
    return endpoints.generate_request(line.url, line.body)


def line_model(line: LineRequest) -> str | None:
    """The model a line runs on: the batch's, else the one its body names (as a batch of one model)."""
    body_model = line.body.get("model")
    return line.model or (body_model if isinstance(body_model, str) else None)


def line_reply(provider: str, response: dict, *, model: str, url: str = endpoints.CHAT_COMPLETIONS) -> LineReply:
    """A GenerateContentResponse as the line's reply (chat.completion, response or text_completion by `url`);
    the request ID is Gemini's `responseId` (else a new one). A reply the converter cannot read is the
    provider's fault: a 502."""
    response_id = response.get("responseId")
    request_id = response_id if isinstance(response_id, str) and response_id else f"{provider}-{uuid.uuid4().hex}"
    # `created`: when the gateway got the answer (a batch result uses its batch's end time).
    body = mapping.mapped(provider, "reply", endpoints.reply_body, url, response, response_id=request_id,
                          model=model, created=int(time.time()))
    return LineReply(body=body, request_id=request_id)


def prepare(line: LineRequest) -> dict:
    """The request for `line` (pure): a GenerateContentRequest, or for an embeddings line
    `{"embed": [EmbedContentRequest, ...]}`; `BadRequest` for what Gemini would refuse."""
    request = ({"embed": endpoints.embed_requests(line.body)} if line.url == endpoints.EMBEDDINGS
               else generate_request(line, "Gemini"))
    model_name(line_model(line))  # a missing or malformed model is refused now, not in the worker
    return request


def _embed_reply(prepared: dict, line: LineRequest, model: str) -> LineReply:
    """`:batchEmbedContents` for the line's inputs, answered as a CreateEmbeddingResponse."""
    reply = client.batch_embed_contents(model, prepared["embed"], operation=OPERATION)
    body = mapping.mapped(NAME, "reply", endpoints.batch_embed_body, reply, count=len(prepared["embed"]),
                          model=model)
    return LineReply(body=body, request_id=f"{NAME}-{uuid.uuid4().hex}")


def send(prepared: dict, line: LineRequest) -> LineReply:
    model = model_name(line_model(line))
    if line.url == endpoints.EMBEDDINGS:
        return _embed_reply(prepared, line, model)
    return line_reply(NAME, client.generate_content(model, prepared, operation=OPERATION), model=model,
                      url=line.url)
