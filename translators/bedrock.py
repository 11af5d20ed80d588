"""OpenAI batch shapes <-> AWS Bedrock model invocation jobs (providers.md §D, §0.1, §0.2, §A.8).

Pure: dicts in, dicts out. No boto3, no Flask, no config, no clock. Client input Bedrock cannot take
raises `errors.BadRequest` naming the field; a reply value this module does not know never loses a
result (see "Results").

Records (§D.6): the n-th OpenAI line `{custom_id, method, url, body}` becomes `{recordId, modelInput}`
with `recordId = record_id(n)` (`R` + 10 digits). AWS's pages call recordId an "alphanumeric string",
older ones and an AWS sample an "11 character alphanumeric string"; we take the strictest reading
(`RECORD_ID`). The client's custom_ids go, in line order, to a sidecar object (`custom_ids_key`) the
results are mapped back through, so the gateway keeps no state. A file uploaded already in Bedrock
format keeps its recordIds (custom_id = recordId), which must fit the same rule. For Claude models
`modelInput` is the Anthropic Messages body (the Anthropic translator's params) without `model` and
`stream`, plus `anthropic_version`; for every other family it is a Converse request (job type
`Converse`) shaped as botocore's `ConverseRequest` without `modelId`.

Results (§D.7): each line of `<output>/<jobId>/<input>.jsonl.out` becomes an OpenAI output line
(`modelOutput`: a Claude Message or a Converse response) or error line (`error`). Converse content
blocks other than text, cited text and client tool calls are skipped (`CONVERSE_SKIPPED_BLOCKS`, and any
kind not listed at all); an unknown `stopReason` becomes `batch_output.FINISH_REASON_FALLBACK` and is kept as
`native_finish_reason`; an unknown record error code becomes `batch_output.UNKNOWN_ERROR_STATUS` with
the code kept. What still cannot be converted raises (KeyError, TypeError, ...), which
`batch_output.converted_lines` turns into an error line that keeps the record. Without the custom_id
sidecar (deleted, or never written), results still come out, with custom_id = recordId.

Jobs (§D.3): `STATUSES` maps every `ModelInvocationJobStatus`. A status not in it (from a newer API,
or none at all) is read as `completed`, with its results offered, once the job has an `endTime`, and
as `in_progress` before.

Names: `clientRequestToken` is a hash of the create request (an SDK retry sends the same request,
so Bedrock returns the job it already made); `jobName` and the key of the converted input derive
from it. The converted input sits at `<dir>/_bedrock/<token16>/<name>.jsonl` next to the upload, so
the original upload's key is recoverable from the job's input URI.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Sequence

from errors import BadRequest
from translators import batch_output
from translators import endpoint_bodies as bodies
from translators import openai_shapes as shapes
from translators.anthropic import UNRESTRICTED, SamplingRules, chat_to_params, message_to_chat_completion

ANTHROPIC_VERSION = "bedrock-2023-05-31"
CHAT_COMPLETIONS = shapes.CHAT_COMPLETIONS
RESPONSES, EMBEDDINGS, COMPLETIONS = shapes.RESPONSES, shapes.EMBEDDINGS, shapes.COMPLETIONS
# The batch endpoints Bedrock runs: the chat-style three through the chat translation, embeddings on Titan.
ENDPOINTS = (CHAT_COMPLETIONS, RESPONSES, EMBEDDINGS, COMPLETIONS)
INVOKE_MODEL = "InvokeModel"
CONVERSE = "Converse"

# §0.1: every Bedrock ModelInvocationJobStatus -> OpenAI batch status.
STATUSES = {
    "Submitted": "validating",
    "Validating": "validating",
    "Scheduled": "in_progress",
    "InProgress": "in_progress",
    "Completed": "completed",
    "PartiallyCompleted": "completed",
    "Failed": "failed",
    "Expired": "expired",
    "Stopping": "cancelling",
    "Stopped": "cancelled",
}
# Job statuses whose output folder holds results.
RESULT_STATUSES = frozenset({"Completed", "PartiallyCompleted", "Stopped"})
# What a status not in STATUSES reads as, before and after the job's `endTime`.
UNKNOWN_STATUS_RUNNING, UNKNOWN_STATUS_ENDED = "in_progress", "completed"

# §D.7: every Converse StopReason -> OpenAI finish_reason (others: batch_output.finish_reason's fallback).
CONVERSE_FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "guardrail_intervened": "content_filter",
    "content_filtered": "content_filter",
    "malformed_model_output": "stop",
    "malformed_tool_use": "stop",
}
# Converse response content blocks (botocore ContentBlock members): those that become the message's
# content or tool calls, and those left out of a chat.completion. A kind in neither is left out too.
# `citationsContent` carries answer text (with its sources): the text is kept, the citations are not.
CONVERSE_HANDLED_BLOCKS = frozenset({"text", "toolUse", "citationsContent"})
CONVERSE_SKIPPED_BLOCKS = frozenset({
    "image", "document", "video", "audio", "toolResult", "guardContent", "cachePoint", "reasoningContent",
    "searchResult", "toolAddition", "toolRemoval",
})
# toolUse `type`s (botocore ToolUseType) of tools Bedrock ran itself: not calls for the client to make.
# A toolUse without a type is the client's; one with a type not listed here is skipped as unknown.
SERVER_TOOL_USE_TYPES = frozenset({"server_tool_use"})

# Named record error codes -> status: bedrock-runtime's exceptions with the `httpStatusCode`
# botocore declares for each (tests check the two agree). A numeric errorCode is the status itself.
RECORD_ERROR_STATUS = {
    "AccessDeniedException": 403,
    "ConflictException": 400,
    "InternalServerException": 500,
    "ModelErrorException": 424,
    "ModelNotReadyException": 429,
    "ModelStreamErrorException": 424,
    "ModelTimeoutException": 408,
    "ResourceNotFoundException": 404,
    "ServiceQuotaExceededException": 400,
    "ServiceUnavailableException": 503,
    "ThrottlingException": 429,
    "ValidationException": 400,
}

# Anthropic params Bedrock's Claude InvokeModel body does not take (model and stream live elsewhere;
# Bedrock rejects `metadata`, `service_tier` as extraneous keys).
CLAUDE_DROPPED = ("model", "stream", "metadata", "service_tier")
# Anthropic params a Converse request carries (`metadata` and `disable_parallel_tool_use` have no
# Converse counterpart and are dropped: the first is for abuse tracking, the second a hint).
CONVERSE_PARAMS = frozenset({"model", "max_tokens", "system", "messages", "temperature", "top_p", "stop_sequences",
                             "metadata", "tools", "tool_choice", "output_config"})
# Anthropic image media type -> Converse ImageFormat.
IMAGE_FORMATS = {"image/png": "png", "image/jpeg": "jpeg", "image/gif": "gif", "image/webp": "webp"}
# Anthropic document sources -> Converse DocumentFormat and DocumentSource member: PDFs come as
# base64 (`bytes`), plain text as text (`text`). These are all the Anthropic translator emits.
DOCUMENT_SOURCES = {("base64", "application/pdf"): ("pdf", "bytes"), ("text", "text/plain"): ("txt", "text")}
# Anthropic tool_choice type -> Converse toolChoice.
TOOL_CHOICES = {"auto": {"auto": {}}, "any": {"any": {}}}
# botocore bedrock-runtime ToolName and ToolUseId (pattern and length; tests check they agree).
TOOL_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")
TOOL_USE_ID = re.compile(r"[a-zA-Z0-9_.:-]{1,64}")

# Embedding models a batch job runs with the body `titan_input` writes: Titan Text Embeddings V2, which
# AWS's Titan page names for "throughput optimized batch jobs" (endpoints.md §3.3). Titan Multimodal G1
# (another body, batch support not confirmed), Titan Text G1 and Cohere Embed (no evidence batch jobs take
# them) are refused. Matched inside an ID, so inference profiles and ARNs of the model qualify.
TITAN_TEXT_EMBEDDINGS_V2 = "amazon.titan-embed-text-v2:0"
EMBEDDING_MODELS = (TITAN_TEXT_EMBEDDINGS_V2,)
# Titan V2's body: `dimensions` takes these values; `normalize` (default true) is a Bedrock extension of the line.
TITAN_DIMENSIONS = (256, 512, 1024)
EMBEDDING_FIELDS = frozenset({"model", "input", "dimensions", "encoding_format", "user", "normalize"})
# `reasoning.effort` -> Claude's extended thinking budget (Anthropic: at least 1024, below max_tokens).
THINKING_BUDGETS = {"minimal": 1024, "low": 1024, "medium": 4096, "high": 16384, "xhigh": 32768, "max": 32768}
NO_REASONING = (None, "none")
# Chat fields an error of the shared chat translation names -> the Responses field the client wrote.
RESPONSES_PARAMS = {"messages": "input", "max_completion_tokens": "max_output_tokens", "response_format": "text.format"}

# recordId: the strictest reading of AWS's pages (11 letters and digits); ours are R + 10 digits.
RECORD_ID = re.compile(r"[A-Za-z0-9]{11}")
_OUR_RECORD_ID = re.compile(r"R[0-9]{10}")

# Bedrock tag keys/values (botocore TagKey/TagValue): metadata that does not fit is base64url-encoded.
_TAG_TEXT = re.compile(r"^[a-zA-Z0-9\s._:/=+@-]*$")
TAG_KEY_MAX, TAG_VALUE_MAX = 128, 256
META_TAG = "ds-meta:"         # + the metadata key as it is
META_TAG_B64 = "ds-meta64:"   # + base64url(metadata key)
B64_VALUE = "b64:"            # value prefix for a base64url-encoded metadata value
ENDPOINT_TAG = "ds-endpoint"  # the batch's endpoint, when not chat completions (`endpoint_tags`)

_CONVERTED = re.compile(r"^(?:(?P<dir>.*)/)?_bedrock/[a-z0-9]{16}/(?P<name>[^/]+)$")
_JOB_ARN = re.compile(
    r"^arn:aws[a-z-]*:bedrock:(?P<region>[a-z0-9-]+):\d{12}:model-invocation-job/(?P<id>[a-z0-9]{12})$"
)
_S3_URI = re.compile(r"^s3://(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:/(?P<key>.*))?$")


# Model families


def is_claude(model_id: str) -> bool:
    """Whether a Bedrock model ID (plain, cross-region profile or ARN) is an Anthropic Claude model."""
    return "anthropic.claude" in model_id


def is_embedding_model(model_id: str) -> bool:
    """Whether a Bedrock model ID names an embedding model (Titan, Cohere, Nova embeddings: all say "embed")."""
    return "embed" in model_id.lower()


def check_model(endpoint: str, model_id: str) -> None:
    """A 400 naming `model` when the batch's endpoint cannot run on it: embeddings need a model in
    `EMBEDDING_MODELS`, the chat-style endpoints a model that is not an embedding model."""
    if endpoint == EMBEDDINGS:
        if not any(known in model_id for known in EMBEDDING_MODELS):
            raise BadRequest(f"model {model_id!r} cannot run an {EMBEDDINGS} batch on Bedrock; embeddings batches "
                             f"run on {', '.join(EMBEDDING_MODELS)}.", param="model", code="unsupported_model")
    elif is_embedding_model(model_id):
        raise BadRequest(f"model {model_id!r} is an embedding model; it cannot answer {endpoint} lines.",
                         param="model", code="unsupported_model")


def invocation_type(model_id: str, endpoint: str = CHAT_COMPLETIONS) -> str:
    """The job type for OpenAI lines of `endpoint` converted for `model_id`: model-native InvokeModel
    bodies for Claude and for embeddings (Converse is a chat API), Converse for the other chat models."""
    return INVOKE_MODEL if endpoint == EMBEDDINGS or is_claude(model_id) else CONVERSE


def record_invocation_type(model_input: dict) -> str:
    """The job type of a file already in Bedrock format, judged from its first `modelInput`.

    Converse bodies have `messages` and none of the model-native markers (Claude's
    `anthropic_version`, Nova's `schemaVersion`); anything else is a native InvokeModel body.
    """
    native = "anthropic_version" in model_input or "schemaVersion" in model_input
    return CONVERSE if "messages" in model_input and not native else INVOKE_MODEL


# Record IDs and the custom_id sidecar


def record_id(number: int) -> str:
    """The recordId of the `number`-th (1-based) record the gateway converts."""
    return f"R{number:010d}"


def record_id_problem(record: dict) -> str | None:
    """Why the recordId of a client-written Bedrock record does not fit `RECORD_ID`; None if it does
    (or if it has none: Bedrock then assigns one)."""
    value = record.get("recordId")
    if value is None or (isinstance(value, str) and RECORD_ID.fullmatch(value)):
        return None
    return (f"has recordId {value!r}; Bedrock's recordId is an 11 character alphanumeric string "
            "(e.g. CALL0000001)")


def custom_id(record_id_: str, custom_ids: Sequence[str] | None) -> str:
    """The client's custom_id for a result's recordId: from the sidecar for our IDs, else the recordId."""
    if custom_ids is None or not _OUR_RECORD_ID.fullmatch(record_id_):
        return record_id_
    number = int(record_id_[1:])
    return custom_ids[number - 1] if 1 <= number <= len(custom_ids) else record_id_


def custom_ids_chunks(custom_ids: Iterable[str], chunk_size: int = batch_output.CHUNK) -> Iterator[bytes]:
    """The sidecar's bytes: one JSON string per line, in record order."""
    pending = bytearray()
    for value in custom_ids:
        pending += json.dumps(value).encode() + b"\n"
        if len(pending) >= chunk_size:
            yield bytes(pending)
            pending.clear()
    if pending:
        yield bytes(pending)


def parse_custom_ids(lines: Iterable[bytes]) -> list[str]:
    """The custom_ids from the sidecar's lines; ValueError if it is not what `custom_ids_chunks` wrote."""
    values = [json.loads(line) for line in lines if line.strip()]
    if not all(isinstance(value, str) for value in values):
        raise ValueError("a custom_id sidecar line is not a JSON string")
    return values


# OpenAI line -> Bedrock record (§D.6)


def line_model(line: dict) -> str | None:
    """The `body.model` of an OpenAI batch line, if any."""
    body = line.get("body")
    model = body.get("model") if isinstance(body, dict) else None
    return model if isinstance(model, str) and model else None


def to_record(line: dict, *, record_id: str, claude: bool, default_max_tokens: int, model: str | None = None,
              sampling: SamplingRules = SamplingRules()) -> dict:
    """One OpenAI batch line -> one Bedrock record `{recordId, modelInput}`.

    The line's `url` (chat completions when absent) chooses the translation (`model_input`). For
    Claude, `sampling` (with the job's `model`) decides which of temperature/top_p the body may carry.
    """
    url = line.get("url") or CHAT_COMPLETIONS
    return {"recordId": record_id, "modelInput": model_input(url, line["body"], claude=claude, model=model,
                                                             default_max_tokens=default_max_tokens, sampling=sampling)}


def model_input(url: str, body: dict, *, claude: bool, default_max_tokens: int, model: str | None = None,
                sampling: SamplingRules = SamplingRules()) -> dict:
    """The `modelInput` (= the bedrock-runtime request) for one OpenAI body of endpoint `url`.

    Embeddings become Titan's InvokeModel body; Responses and Completions bodies become chat bodies
    (`endpoint_bodies`) and go the chat way: the Claude Messages body, or a Converse request.
    """
    if url == EMBEDDINGS:
        return titan_input(body)
    if url == RESPONSES:
        try:
            chat = bodies.responses_to_chat(body)
            effort = chat.pop("reasoning_effort", None)
            return _chat_input(chat, claude=claude, default_max_tokens=default_max_tokens, model=model,
                               sampling=sampling, effort=effort)
        except BadRequest as error:
            raise _as_responses_error(error) from None
    if url == COMPLETIONS:
        return _chat_input(bodies.completions_to_chat(body), claude=claude, default_max_tokens=default_max_tokens,
                           model=model, sampling=sampling)
    if url != CHAT_COMPLETIONS:
        raise BadRequest(f"Bedrock batches run {', '.join(ENDPOINTS)} lines, not {url}.", param="url",
                         code="unsupported_endpoint")
    return _chat_input(body, claude=claude, default_max_tokens=default_max_tokens, model=model, sampling=sampling)


def _chat_input(body: dict, *, claude: bool, default_max_tokens: int, model: str | None,
                sampling: SamplingRules, effort: str | None = None) -> dict:
    """A chat body as the Claude Messages body (with `thinking` for a reasoning effort) or a Converse request."""
    if not claude:
        if effort not in NO_REASONING:
            raise _refused("reasoning.effort cannot be carried (reasoning settings are model-specific)",
                           "reasoning.effort")
        return chat_to_converse(body, default_max_tokens=default_max_tokens)
    params = chat_to_params(body, default_max_tokens=default_max_tokens, sampling=sampling, model=model)
    if effort not in NO_REASONING:
        params["thinking"] = _thinking(effort, params)
    model_input_ = {"anthropic_version": ANTHROPIC_VERSION}
    model_input_.update({k: v for k, v in params.items() if k not in CLAUDE_DROPPED})
    return model_input_


def _thinking(effort: str | None, params: dict) -> dict:
    """Claude's extended thinking for a `reasoning.effort`, under Anthropic's rules for it: a budget of
    at least 1024 tokens below `max_tokens`, no temperature, top_p of 0.95 or more, no forced tool."""
    budget = THINKING_BUDGETS.get(effort or "")
    if budget is None:
        raise BadRequest(f"reasoning.effort {effort!r} is not supported (one of none, {', '.join(THINKING_BUDGETS)}).",
                         param="reasoning.effort", code="unsupported_parameter")
    if params["max_tokens"] <= budget:
        raise BadRequest(f"reasoning.effort {effort!r} gives Claude a thinking budget of {budget} tokens, which needs "
                         f"max_output_tokens above {budget} (it is {params['max_tokens']}).",
                         param="max_output_tokens", code="unsupported_parameter")
    if params.get("temperature") is not None:
        raise BadRequest("temperature cannot be set with reasoning.effort on Claude (extended thinking).",
                         param="temperature", code="unsupported_parameter")
    if params.get("top_p") is not None and params["top_p"] < 0.95:
        raise BadRequest("top_p must be at least 0.95 with reasoning.effort on Claude (extended thinking).",
                         param="top_p", code="unsupported_parameter")
    if params.get("tool_choice", {}).get("type") in ("any", "tool"):
        raise BadRequest("tool_choice must be auto or none with reasoning.effort on Claude (extended thinking).",
                         param="tool_choice", code="unsupported_parameter")
    return {"type": "enabled", "budget_tokens": budget}


def _as_responses_error(error: BadRequest) -> BadRequest:
    """An error of the shared chat translation, naming the Responses field the client wrote."""
    param = error.param
    if param:
        head, dot, rest = param.partition(".")
        head, bracket, index = head.partition("[")
        # Chat messages do not number like input items (instructions come first): name `input` itself.
        param = "input" if head == "messages" else RESPONSES_PARAMS.get(head, head) + bracket + index + dot + rest
    return BadRequest(error.message, param=param, code=error.code)


def titan_input(body: dict) -> dict:
    """An embeddings body -> Titan Text Embeddings V2's InvokeModel body `{inputText, dimensions?, normalize?}`.

    One text per record (`endpoint_bodies.embedding_text`); vectors come back as floats, so
    `encoding_format` base64 is refused (a batch result cannot know the request asked for it).
    """
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object.", param="body")
    for key in body:
        if key not in EMBEDDING_FIELDS:
            raise _refused(f"{key} is not supported for embeddings", key)
    if body.get("encoding_format") not in (None, "float"):
        raise BadRequest('encoding_format must be "float" on Bedrock (Titan answers floats).',
                         param="encoding_format", code="unsupported_parameter")
    out: dict = {"inputText": bodies.embedding_text(body)}
    dimensions = body.get("dimensions")
    if dimensions is not None:
        if dimensions not in TITAN_DIMENSIONS or isinstance(dimensions, bool):
            raise BadRequest(f"dimensions must be one of {', '.join(map(str, TITAN_DIMENSIONS))} on Titan Text "
                             "Embeddings V2.", param="dimensions", code="unsupported_parameter")
        out["dimensions"] = dimensions
    normalize = body.get("normalize")
    if normalize is not None:
        if not isinstance(normalize, bool):
            raise BadRequest("normalize must be true or false.", param="normalize")
        out["normalize"] = normalize
    return out


def check_body(url: str, body: object, *, default_max_tokens: int) -> None:
    """What an upload can check of a line before the model is known: the body translates for `url`
    (a 400 naming the field otherwise). Claude's sampling and Converse-only rules wait for the batch."""
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object.", param="body")
    model_input(url, body, claude=True, default_max_tokens=default_max_tokens, sampling=UNRESTRICTED)


def _refused(text: str, param: str) -> BadRequest:
    return BadRequest(f"{text} (Bedrock Converse).", param=param, code="unsupported_parameter")


def chat_to_converse(body: dict, *, default_max_tokens: int) -> dict:
    """An OpenAI chat-completions body -> a Converse request body (botocore ConverseRequest, no `modelId`).

    The body goes through the Anthropic translation first (one set of rules for roles, tool calls
    and unsupported fields), and those params are then written in Converse's shape. Values Converse
    refuses are a 400; empty system texts and tool descriptions, which Converse does not take
    (NonEmptyString) and which say nothing, are left out.
    """
    try:
        params = chat_to_params(body, default_max_tokens=default_max_tokens, sampling=UNRESTRICTED)
    except BadRequest as error:
        # Same rules, but this model is not Anthropic's: name the service that runs it.
        raise BadRequest(error.message.replace("Anthropic", "Bedrock Converse"), param=error.param,
                         code=error.code) from None
    for key in params:
        if key not in CONVERSE_PARAMS:
            raise _refused(f"{key} cannot be carried", key)
    out: dict = {"messages": [_converse_message(m, i) for i, m in enumerate(params["messages"])]}
    system = params.get("system")
    if system is not None:
        texts = [system] if isinstance(system, str) else [block["text"] for block in system]
        if any(texts):
            out["system"] = [{"text": text} for text in texts if text]
    inference = {"maxTokens": params["max_tokens"]}
    for source, target in (("temperature", "temperature"), ("top_p", "topP"), ("stop_sequences", "stopSequences")):
        if source in params:
            inference[target] = params[source]
    if "" in inference.get("stopSequences", ()):
        raise _refused("stop sequences must not be empty", "stop")
    out["inferenceConfig"] = inference
    tools = _converse_tools(params)
    if tools:
        out["toolConfig"] = tools
    if "output_config" in params:
        out["outputConfig"] = _converse_output_config(params["output_config"], body.get("response_format"))
    return out


def _converse_message(message: dict, index: int) -> dict:
    content = message["content"]
    blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
    return {"role": message["role"],
            "content": [_converse_block(b, f"messages[{index}].content[{n}]") for n, b in enumerate(blocks)]}


def _converse_block(block: dict, where: str) -> dict:
    kind = block["type"]
    if kind == "text":
        return {"text": block["text"]}
    if kind == "image":
        source = block["source"]
        if source["type"] != "base64" or source["media_type"] not in IMAGE_FORMATS:
            raise _refused(f"{where}: images must be base64 data URLs of types {', '.join(IMAGE_FORMATS)}", where)
        return {"image": {"format": IMAGE_FORMATS[source["media_type"]],
                          "source": {"bytes": _base64(source["data"], where)}}}
    if kind == "document":
        source = block["source"]
        target = DOCUMENT_SOURCES.get((source["type"], source.get("media_type")))
        if target is None:
            raise _refused(f"{where}: documents must be PDF (base64) or plain text", where)
        doc_format, member = target
        data = _base64(source["data"], where) if member == "bytes" else source["data"]
        # Converse wants a name per document (DocumentBlock.name); derive it from the content so it is stable.
        return {"document": {"format": doc_format, "name": f"document-{hash_text(data) % 10**8:08d}",
                             "source": {member: data}}}
    if kind == "tool_use":
        return {"toolUse": {"toolUseId": _tool_use_id(block["id"]), "name": _tool_name(block["name"]),
                            "input": block["input"]}}
    if kind == "tool_result":
        content = block["content"]
        texts = [content] if isinstance(content, str) else [part["text"] for part in content]
        return {"toolResult": {"toolUseId": _tool_use_id(block["tool_use_id"]),
                               "content": [{"text": t} for t in texts]}}
    raise _refused(f"{where}: content of type {kind!r} is not supported", where)


def _base64(data: str, where: str) -> str:
    """Converse's blobs travel as base64 in JSON and must hold at least one byte."""
    try:
        if base64.b64decode(data, validate=True):
            return data
    except (binascii.Error, ValueError):
        pass
    raise BadRequest(f"{where}: the data URL does not hold base64 data.", param=where)


def _tool_name(name: str) -> str:
    if not TOOL_NAME.fullmatch(name):
        raise _refused(f"tool name {name!r} must be 1-64 letters, digits, _ or -", "tools")
    return name


def _tool_use_id(value: str) -> str:
    if not TOOL_USE_ID.fullmatch(value):
        raise _refused(f"tool call id {value!r} must be 1-64 letters, digits or _.:-", "messages")
    return value


def _converse_tools(params: dict) -> dict | None:
    tools = params.get("tools")
    choice = params.get("tool_choice")
    if not tools:
        return None
    specs = []
    for tool in tools:
        spec = {"name": _tool_name(tool["name"])}
        if tool.get("description"):
            spec["description"] = tool["description"]
        spec["inputSchema"] = {"json": tool["input_schema"]}
        if "strict" in tool:
            spec["strict"] = tool["strict"]
        specs.append({"toolSpec": spec})
    config: dict = {"tools": specs}
    if choice is not None:
        if choice["type"] == "tool":
            config["toolChoice"] = {"tool": {"name": _tool_name(choice["name"])}}
        elif choice["type"] in TOOL_CHOICES:
            # disable_parallel_tool_use has no Converse counterpart; it is a hint, not a contract.
            config["toolChoice"] = dict(TOOL_CHOICES[choice["type"]])
        else:
            raise _refused('tool_choice "none" is not supported; leave out tools instead', "tool_choice")
    return config


def _converse_output_config(output_config: dict, response_format: dict) -> dict:
    """Anthropic's `output_config.format` (a JSON schema) -> Converse `outputConfig.textFormat`
    (botocore OutputConfig/OutputFormat: the schema as a JSON string, with the name and description
    of OpenAI's `response_format.json_schema`)."""
    for key in output_config:
        if key != "format":
            raise _refused(f"output_config.{key} cannot be carried", "response_format")
    spec = response_format.get("json_schema") or {}
    definition = {"schema": json.dumps(output_config["format"]["schema"], separators=(",", ":"))}
    for key in ("name", "description"):
        value = spec.get(key)
        if value is not None and not isinstance(value, str):
            raise BadRequest(f"response_format.json_schema.{key} must be a string.",
                             param=f"response_format.json_schema.{key}")
        if value is not None:
            definition[key] = value
    return {"textFormat": {"type": "json_schema", "structure": {"jsonSchema": definition}}}


def hash_text(text: str) -> int:
    """A stable integer from a string (Python's `hash` is salted per process)."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


# Names derived from the create request


def client_request_token(request: dict) -> str:
    """The job's idempotency token: a hash of everything that defines the create request."""
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def job_name(input_key: str, token: str) -> str:
    """A valid, readable `jobName`: `ds-<input name>-<token prefix>` (letters, digits, `-` only)."""
    stem = input_key.rsplit("/", 1)[-1]
    stem = stem[: -len(".jsonl")] if stem.endswith(".jsonl") else stem
    stem = re.sub(r"[^A-Za-z0-9]+", "-", stem).strip("-")[:36].strip("-")
    return f"ds-{stem}-{token[:16]}" if stem else f"ds-{token[:16]}"


def converted_key(input_key: str, token: str) -> str:
    """Where the converted records of `input_key` are written: beside it, in a folder per request."""
    folder, _, name = input_key.rpartition("/")
    return f"{folder}/_bedrock/{token[:16]}/{name}" if folder else f"_bedrock/{token[:16]}/{name}"


def custom_ids_key(converted: str) -> str | None:
    """Where the custom_ids of a converted input are: `<dir>/_bedrock/<token16>/ids/<name>`.

    Not a key the converted input's own key is a prefix of (names end in `.jsonl`, never `/`), so
    even a job reading its input URI as a prefix cannot take it for input. None for a key that is
    not a converted input.
    """
    if not _CONVERTED.fullmatch(converted):
        return None
    folder, _, name = converted.rpartition("/")
    return f"{folder}/ids/{name}"


def original_key(input_key: str) -> str:
    """The uploaded file's key behind a job's input key (itself when it was not converted)."""
    match = _CONVERTED.fullmatch(input_key)
    if not match:
        return input_key
    return f"{match['dir']}/{match['name']}" if match["dir"] else match["name"]


def default_output_uri(bucket: str, input_key: str) -> str:
    """Where results go when the client names no `output_s3_uri`: a `batch-output/` folder beside the input."""
    folder = input_key.rpartition("/")[0]
    return f"s3://{bucket}/{folder}/batch-output/" if folder else f"s3://{bucket}/batch-output/"


def split_s3_uri(uri: str) -> tuple[str, str]:
    """`s3://bucket/key` -> `(bucket, key)`; the key may be empty."""
    match = _S3_URI.fullmatch(uri)
    if not match:
        raise KeyError(f"S3 URI {uri!r}")
    return match["bucket"], match["key"] or ""


def job_output_prefix(job: dict) -> tuple[str, str]:
    """`(bucket, key prefix)` of the folder Bedrock writes this job's results into (§D.7)."""
    bucket, prefix = split_s3_uri(job["outputDataConfig"]["s3OutputDataConfig"]["s3Uri"])
    prefix = prefix.rstrip("/")
    job_id = arn_parts(job["jobArn"])[1]
    return bucket, f"{prefix}/{job_id}/" if prefix else f"{job_id}/"


def arn_parts(arn: str) -> tuple[str, str]:
    """A job ARN -> `(region, 12-character job ID)`."""
    match = _JOB_ARN.fullmatch(arn)
    if not match:
        raise KeyError(f"job ARN {arn!r}")
    return match["region"], match["id"]


# metadata <-> tags


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _unb64(token: str) -> str:
    return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()


def metadata_to_tags(metadata: dict[str, str] | None) -> list[dict]:
    """OpenAI batch `metadata` -> Bedrock job tags. Text outside the tag alphabet is base64url-encoded."""
    tags = []
    for key, value in (metadata or {}).items():
        tag_key = META_TAG + key if key and _TAG_TEXT.fullmatch(key) else META_TAG_B64 + _b64(key)
        tag_value = value if _TAG_TEXT.fullmatch(value) and not value.startswith(B64_VALUE) else B64_VALUE + _b64(value)
        if len(tag_key) > TAG_KEY_MAX or len(tag_value) > TAG_VALUE_MAX:
            raise BadRequest(f"metadata {key!r} is too long for a Bedrock job tag (values of up to 256 letters, "
                             "digits, spaces and ._:/=+@- or about 190 other characters).", param="metadata")
        tags.append({"key": tag_key, "value": tag_value})
    return tags


def endpoint_tags(endpoint: str) -> list[dict]:
    """The tag that records a batch's endpoint (its results are read in its shape); none for chat completions,
    so jobs made before other endpoints existed read as chat."""
    return [] if endpoint == CHAT_COMPLETIONS else [{"key": ENDPOINT_TAG, "value": endpoint}]


def tags_endpoint(tags: list[dict]) -> str:
    """A job's endpoint from its tags (`endpoint_tags`); chat completions without one, or with a value not known."""
    for tag in tags:
        if tag.get("key") == ENDPOINT_TAG and tag.get("value") in ENDPOINTS:
            return tag["value"]
    return CHAT_COMPLETIONS


def tags_to_metadata(tags: list[dict]) -> dict[str, str] | None:
    """Bedrock job tags -> OpenAI `metadata` (only the tags `metadata_to_tags` wrote); None if none."""
    metadata = {}
    for tag in tags:
        key, value = tag["key"], tag.get("value", "")
        try:
            if key.startswith(META_TAG_B64):
                key = _unb64(key[len(META_TAG_B64):])
            elif key.startswith(META_TAG):
                key = key[len(META_TAG):]
            else:
                continue
            metadata[key] = _unb64(value[len(B64_VALUE):]) if value.startswith(B64_VALUE) else value
        except (binascii.Error, UnicodeDecodeError, ValueError):
            continue  # a tag someone else wrote with our prefix: not ours to decode
    return metadata or None


# Output record -> OpenAI output/error line (§D.7, §A.8)


def request_id(job_id: str, record_id_: str) -> str:
    """The request ID of a record that carries none of its own."""
    return f"{job_id}-{record_id_}"


def result_identity(record: dict | None, number: int, *, job_id: str,
                    custom_ids: Sequence[str] | None = None) -> tuple[str, str]:
    """`(custom_id, request_id)` for the error line of a result that cannot be converted
    (`batch_output.Identify`); a line without a recordId is named by its number in the results."""
    rid = record.get("recordId") if isinstance(record, dict) else None
    if isinstance(rid, str) and rid:
        return custom_id(rid, custom_ids), request_id(job_id, rid)
    unnamed = f"{job_id}-line-{number}"
    return unnamed, unnamed


def output_line(record: dict, *, job_id: str, model: str, created: int,
                custom_ids: Sequence[str] | None = None, endpoint: str = CHAT_COMPLETIONS) -> dict:
    """One line of a job's `.jsonl.out` -> one OpenAI batch output or error line.

    `custom_ids` (the sidecar, None without one) maps our recordIds back to the client's custom_ids.
    `model` (the job's model ID) names Converse completions, which carry no model; `created` (the
    job's end time) becomes each completion's `created`; `endpoint` (the batch's) the shape of the body.
    """
    rid = record["recordId"]
    if not isinstance(rid, str):
        raise TypeError(f"recordId {rid!r} is not a string")
    client_id = custom_id(rid, custom_ids)
    error = record.get("error")
    if error is not None:
        return error_line(client_id, request_id(job_id, rid), error)
    output = record["modelOutput"]
    # A Claude Message names itself; a Converse response (or an embedding) carries no ID, so the record's stands in.
    rid_full = output["id"] if is_message(output) else request_id(job_id, rid)
    body = model_output_to_body(endpoint, output, reply_id=rid_full, model=model, created=created)
    return batch_output.success_line(client_id, rid_full, body)


def model_output_to_body(endpoint: str, output: dict, *, reply_id: str, model: str, created: int,
                         request: dict | None = None) -> dict:
    """A model's answer (a record's `modelOutput`, or bedrock-runtime's reply) in the shape of `endpoint`.

    `reply_id` stems the IDs (a Claude Message's own ID wins); `request` (the line's body, known on the
    gateway-run path) is echoed in a Response.
    """
    if endpoint == EMBEDDINGS:
        return titan_to_embeddings(output, model=model)
    stem = output["id"] if is_message(output) else reply_id
    completion = model_output_to_chat_completion(output, completion_id=f"chatcmpl-{stem}", model=model,
                                                 created=created)
    if endpoint == RESPONSES:
        return shapes.response_from_chat(completion, response_id=f"resp_{stem}", usage=responses_usage(output),
                               request=request)
    if endpoint == COMPLETIONS:
        return shapes.completion_from_chat(completion, completion_id=f"cmpl-{stem}")
    return completion


def responses_usage(output: dict) -> dict:
    """A Claude Message's or Converse response's usage as a Response's: cache reads and writes count as
    input tokens and are named; reasoning tokens only where Claude reports them (inside output tokens)."""
    usage = output.get("usage") or {}
    if is_message(output):
        read, write = usage.get("cache_read_input_tokens") or 0, usage.get("cache_creation_input_tokens") or 0
        details = usage.get("output_tokens_details") or {}
        return shapes.response_usage(input_tokens=(usage.get("input_tokens") or 0) + read + write,
                                     output_tokens=usage.get("output_tokens") or 0, cached_tokens=read,
                                     cache_write_tokens=write, reasoning_tokens=details.get("thinking_tokens") or 0)
    read, write = usage.get("cacheReadInputTokens") or 0, usage.get("cacheWriteInputTokens") or 0
    return shapes.response_usage(input_tokens=(usage.get("inputTokens") or 0) + read + write,
                                 output_tokens=usage.get("outputTokens") or 0, cached_tokens=read,
                                 cache_write_tokens=write)


def titan_to_embeddings(output: dict, *, model: str) -> dict:
    """Titan's `{embedding, inputTextTokenCount}` -> an OpenAI embedding list of one vector."""
    vector = shapes.embedding_vector(output["embedding"], "embedding values")
    return shapes.embedding_list([vector], model=model,
                                 prompt_tokens=int(output.get("inputTextTokenCount") or 0))


def is_message(output: dict) -> bool:
    """Whether a model's output is an Anthropic Message (Claude's InvokeModel body), not a Converse response."""
    return output.get("type") == "message"


def model_output_to_chat_completion(output: dict, *, completion_id: str, model: str, created: int) -> dict:
    """A model's answer (a record's `modelOutput`, or bedrock-runtime's reply to the same `modelInput`) as an
    OpenAI chat.completion: a Claude Message by the Anthropic converter (its own `id` and `model`), a Converse
    response by `converse_to_chat_completion` (`completion_id`, `model`)."""
    if is_message(output):
        return message_to_chat_completion(output, created=created)
    return converse_to_chat_completion(output, completion_id=completion_id, model=model, created=created)


def error_status(code: object) -> tuple[int, str | None]:
    """`(status, code)` of a record's `errorCode`: a number is the status itself; a name known from
    `RECORD_ERROR_STATUS` has its status; anything else is `UNKNOWN_ERROR_STATUS`, the code kept."""
    if isinstance(code, str) and code.isdigit():
        code = int(code)
    if isinstance(code, int) and not isinstance(code, bool):
        return (code, None) if 100 <= code <= 599 else (batch_output.UNKNOWN_ERROR_STATUS, str(code))
    if isinstance(code, str) and code in RECORD_ERROR_STATUS:
        return RECORD_ERROR_STATUS[code], code
    return batch_output.UNKNOWN_ERROR_STATUS, (str(code) if code is not None else None)


def error_line(custom_id_: str, rid: str, error: dict) -> dict:
    """A record's `{"errorCode", "errorMessage"}` -> an OpenAI error-file line."""
    code = error.get("errorCode")
    status, name = error_status(code)
    message = str(error.get("errorMessage") or code or "The record failed.")
    return batch_output.http_error_line(custom_id_, rid, status, message, code=name)


def converse_to_chat_completion(response: dict, *, completion_id: str, model: str, created: int) -> dict:
    """A Converse response `{output: {message}, stopReason, usage}` -> an OpenAI chat.completion.

    Text blocks (and the text of citationsContent blocks) are joined into `content`, client toolUse
    blocks become `tool_calls`, every other block is left out. `finish_reason` comes from
    `CONVERSE_FINISH_REASONS` (unknown: the fallback), and the choice keeps Bedrock's own `stopReason`
    as `native_finish_reason`.
    """
    texts: list[str] = []
    tool_calls: list[dict] = []
    for block in response["output"]["message"]["content"]:
        if not isinstance(block, dict):
            raise TypeError(f"a content block is a {type(block).__name__}, not an object")
        if "text" in block:
            texts.append(block["text"])
        elif "citationsContent" in block:
            texts.extend(part["text"] for part in block["citationsContent"].get("content") or [] if "text" in part)
        elif "toolUse" in block:
            use = block["toolUse"]
            if use.get("type") is not None:
                continue  # a tool Bedrock ran (SERVER_TOOL_USE_TYPES) or a kind not known yet
            tool_calls.append({"id": use["toolUseId"], "type": "function",
                               "function": {"name": use["name"], "arguments": json.dumps(use.get("input") or {})}})
    message: dict = {"role": "assistant", "content": "".join(texts) if texts else None, "refusal": None}
    if tool_calls:
        message["tool_calls"] = tool_calls
    native = response.get("stopReason")
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "message": message, "logprobs": None,
                     "finish_reason": batch_output.finish_reason(native, CONVERSE_FINISH_REASONS),
                     "native_finish_reason": native}],
        "usage": converse_usage(response.get("usage") or {}),
    }


def converse_usage(usage: dict) -> dict:
    """Converse usage -> OpenAI chat usage (cache reads and writes count as prompt tokens)."""
    cache_read = usage.get("cacheReadInputTokens") or 0
    prompt = (usage.get("inputTokens") or 0) + cache_read + (usage.get("cacheWriteInputTokens") or 0)
    completion = usage.get("outputTokens") or 0
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": cache_read}}


# Job -> OpenAI Batch (§D.3, §0.1, §0.2)


unix = shapes.unix  # a boto3 datetime (naive means UTC) -> Unix seconds


def batch_status(job: dict) -> str:
    """The OpenAI status of a job; a status not in `STATUSES` reads by whether the job has ended."""
    native = job.get("status")
    if native in STATUSES:
        return STATUSES[native]
    return UNKNOWN_STATUS_ENDED if job.get("endTime") is not None else UNKNOWN_STATUS_RUNNING


def has_results(job: dict) -> bool:
    """Whether the job's output folder is read for results (an unknown status: once it has ended)."""
    native = job.get("status")
    if native in STATUSES:
        return native in RESULT_STATUSES
    return job.get("endTime") is not None


def request_counts(job: dict, manifest: dict | None = None) -> dict | None:
    """§0.2 from the job's record counters, else from its `manifest.json.out`; None while unknown."""
    for source in (job, manifest or {}):
        if any(f in source for f in ("totalRecordCount", "successRecordCount", "errorRecordCount")):
            return {"total": int(source.get("totalRecordCount") or 0),
                    "completed": int(source.get("successRecordCount") or 0),
                    "failed": int(source.get("errorRecordCount") or 0)}
    return None


def job_to_batch(
    job: dict, *, batch_id: str, input_file_id: str, output_file_id: str, error_file_id: str,
    metadata: dict[str, str] | None = None, manifest: dict | None = None, endpoint: str = CHAT_COMPLETIONS,
) -> dict:
    """A Get response or List summary of a job -> an OpenAI Batch.

    `output_file_id` / `error_file_id` are the IDs the job's results would have; both are set once
    the job has results (`has_results`): only reading the results tells whether a line could not be
    converted, and such a line is in the error file. A job whose every record failed is `completed`
    with them all counted failed; only Bedrock's own `Failed` (the job never ran) is `failed`.
    """
    status = batch_status(job)
    counts = request_counts(job, manifest)
    results = has_results(job)
    return shapes.batch(
        id=batch_id, status=status, created_at=unix(job["submitTime"]), input_file_id=input_file_id,
        endpoint=endpoint, model=job["modelId"], request_counts=counts, metadata=metadata,
        output_file_id=output_file_id if results else None,
        # Both files once there are results: only reading them tells whether a line could not be converted.
        error_file_id=error_file_id if results else None,
        expires_at=unix(job.get("jobExpirationTime")),  # Bedrock does not say when a job started running
        cancelling_at=unix(job.get("lastModifiedTime")) if status == "cancelling" else None,
        ended_at=unix(job.get("endTime")),
        errors=shapes.batch_errors("bedrock_job_failed", job.get("message") or "The Bedrock job failed.")
        if status == "failed" else None,
    )
