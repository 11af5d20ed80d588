"""Bedrock's synchronous API (bedrock-runtime) for the batches the gateway runs itself, e.g. those below
Bedrock's minimum records per job: one OpenAI batch line as one model call (the `Realtime` module
of the Bedrock provider).

`prepare` builds the very `modelInput` a batch record of the line would hold (`tr.to_record` with the
batch path's `record_options`, for the line's endpoint: the Anthropic Messages body for Claude, with
the configured sampling rules and default `max_tokens`; a Converse request for every other chat model;
Titan's body for embeddings). `send` runs it the way a batch job runs a record: `InvokeModel` with a
model-native body (Claude, Titan), `Converse` with the Converse request, in the batch's region (else
the configured one), on the gateway's AWS credentials, without botocore's retries. The answer goes
through the converter of batch results (`tr.model_output_to_body`, the line's body echoed in a
Response); AWS errors are `UpstreamError`s with Bedrock's own status (`aws.aws_error`: throttling is
429), timeouts 504s.
"""

from __future__ import annotations

import time
import uuid

from flask import current_app

from blueprints.bedrock import NAME, client
from blueprints.bedrock.operations import record_options
from blueprints.common import aws, mapping
from blueprints.common.provider import LineReply, LineRequest
from errors import BadRequest
from translators import bedrock as tr

# bedrock-runtime's model ID rules (botocore), for the call each family is sent with.
INVOKE_MODEL_ID = aws.string_rule("bedrock-runtime", "InvokeModelIdentifier")
CONVERSE_MODEL_ID = aws.string_rule("bedrock-runtime", "ConversationalModelId")


def _model(line: LineRequest) -> str:
    """The batch's model, else the one the line's body names (as the batch path takes it from line 1);
    one that cannot run the line's endpoint is a 400 naming `model`."""
    model = line.model or tr.line_model({"body": line.body})
    if not model:
        raise BadRequest("Pass model (the Bedrock model ID the batch runs).", param="model")
    problem = (INVOKE_MODEL_ID if _invoke_model(model, line.url) else CONVERSE_MODEL_ID).problem(model)
    if problem:
        raise BadRequest(f"model {model!r} is not a Bedrock model ID ({problem}).", param="model")
    tr.check_model(line.url, model)
    return model


def _invoke_model(model: str, url: str) -> bool:
    """Whether the line runs as InvokeModel with a model-native body (as its batch job type would be)."""
    return tr.invocation_type(model, url) == tr.INVOKE_MODEL


def prepare(line: LineRequest) -> dict:
    """The `modelInput` for `line` (no upstream call; reads the gateway's Claude settings), or
    `BadRequest` for what Bedrock would be refused."""
    if line.url not in tr.ENDPOINTS:
        raise BadRequest(f"Bedrock runs {', '.join(tr.ENDPOINTS)} lines, not {line.url}.",
                         param="url", code="unsupported_endpoint")
    model = _model(line)
    record = tr.to_record({"url": line.url, "body": line.body}, record_id=tr.record_id(1), **record_options(model))
    return record["modelInput"]


def send(prepared: dict, line: LineRequest) -> LineReply:
    model = _model(line)
    region = line.region or current_app.config["BEDROCK_REGION"]
    if _invoke_model(model, line.url):
        output, request_id = client.invoke_model(region, model, prepared)
    else:
        output, request_id = client.converse(region, model, prepared)
    request_id = request_id or f"{NAME}-{uuid.uuid4().hex}"
    # `created`: when the gateway got the answer (a batch result uses its job's end time).
    body = mapping.mapped(NAME, "reply", tr.model_output_to_body, line.url, output, reply_id=request_id,
                          model=model, created=int(time.time()), request=line.body)
    return LineReply(body=body, request_id=request_id)
