"""Vertex AI's synchronous API for the batches the gateway runs itself: one OpenAI batch line as one
Gemini `generateContent` call (the `Realtime` module of the Vertex AI provider).

Vertex AI takes Gemini's GenerateContentRequest and answers with its GenerateContentResponse, so the
request and the reply are converted exactly as the Gemini provider's (`blueprints.gemini.realtime`,
which uses the batch path's translator). What differs is where the call goes and how it is signed
(`client.generate_content`): `projects/{project}/locations/{location}/publishers/google/models/{m}`
on the configured project and location for a model name, or a tuned model's (endpoint's) own
resource name on its location's host; the Vertex client's access token (the client's in passthrough
mode, Application Default Credentials with gateway keys).
"""

from __future__ import annotations

from blueprints.common.provider import LineReply, LineRequest
from blueprints.gemini.realtime import OPERATION, generate_request, line_model, line_reply
from blueprints.vertex import NAME, client
from blueprints.vertex import translate as tr
from blueprints.vertex.operations import model_path, project_and_location
from errors import BadRequest
from translators.gemini_endpoints import EMBEDDINGS


def _model_path(line: LineRequest) -> str:
    model = line_model(line)
    if model is None:
        raise BadRequest("Pass model (the Gemini model the batch runs); the line names none.", param="model")
    return model_path(model)


def prepare(line: LineRequest) -> dict:
    """The GenerateContentRequest for `line` (pure); `BadRequest` for what Vertex AI would be refused."""
    if line.url == EMBEDDINGS:
        # Vertex's embedding calls differ by model (`:predict` for text-embedding-*, `:embedContent` for
        # gemini-embedding, per google-genai's `embed_content`); not built yet.
        raise BadRequest("Vertex AI does not run /v1/embeddings lines through the gateway yet; use the gemini "
                         "provider for embeddings.", param="url", code="unsupported_endpoint")
    request = generate_request(line, "Vertex AI")
    _model_path(line)  # a missing or non-Gemini model is refused now, not in the worker
    return request


def send(prepared: dict, line: LineRequest) -> LineReply:
    path = _model_path(line)
    if path.startswith("projects/"):
        name = path  # a tuned model or an endpoint: its project and location are in its name
    else:
        project, location = project_and_location()
        name = f"projects/{project}/locations/{location}/{path}"
    return line_reply(NAME, client.generate_content(name, prepared, operation=OPERATION), model=tr.model_name(path),
                      url=line.url)
