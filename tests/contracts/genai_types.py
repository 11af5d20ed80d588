"""Strict checks against the official `google-genai` SDK types (test-only), for the Gemini fake.

The SDK's models (`google.genai._common.BaseModel`) forbid unknown keys and use camelCase aliases,
but three things make them lenient, and each is closed here:
- `populate_by_name`: snake_case keys are accepted too. Wire values are validated by alias only
  (the camelCase the Gemini API documents and the gateway sends).
- `CaseInSensitiveEnum`: an unknown value only warns and becomes a pseudo-member, and "stop" reads
  as STOP. Every enum value must be a declared member, and a validated value must serialize back to
  what was sent (no case change; a number may be a JSON string only as proto3 JSON allows).
- The SDK has no wire model of a GenerateContentRequest (it builds the dict from its
  GenerateContentConfig in `batches._InlinedRequest_to_mldev`): `GenerateContentRequest` below
  composes one from the SDK's own field types, and `check_generate_content_request` also runs the
  SDK's Gemini-API converters over it, which refuse fields only Vertex AI takes.

Replies are checked the same way: Files as `types.File`; batch Operations through the SDK's own
reader `batches._BatchJob_from_mldev` into `types.BatchJob`, plus the raw `BATCH_STATE_*` value
against the wire names `_transformers.t_job_state` knows; result lines' `response` as
`types.GenerateContentResponse` and `error` as a google.rpc.Status (`RPC_CODES`).

Every check raises `ContractViolation` (an AssertionError) naming the path of the first problem.
"""

from __future__ import annotations

import base64
import binascii
import enum
import functools
import json
import re
import types as types_module
import typing
import warnings
from datetime import datetime
from typing import Any

import pydantic
from google.genai import _api_client, _common, batches, types
from google.genai import _transformers as transformers

# googleapis google/rpc/code.proto: every google.rpc.Code and its "HTTP Mapping".
RPC_CODES = {
    "OK": (0, 200), "CANCELLED": (1, 499), "UNKNOWN": (2, 500), "INVALID_ARGUMENT": (3, 400),
    "DEADLINE_EXCEEDED": (4, 504), "NOT_FOUND": (5, 404), "ALREADY_EXISTS": (6, 409),
    "PERMISSION_DENIED": (7, 403), "UNAUTHENTICATED": (16, 401), "RESOURCE_EXHAUSTED": (8, 429),
    "FAILED_PRECONDITION": (9, 400), "ABORTED": (10, 409), "OUT_OF_RANGE": (11, 400),
    "UNIMPLEMENTED": (12, 501), "INTERNAL": (13, 500), "UNAVAILABLE": (14, 503), "DATA_LOSS": (15, 500),
}
BATCH_TYPE = "type.googleapis.com/google.ai.generativelanguage.v1beta.GenerateContentBatch"
BATCH_OUTPUT_TYPE = "type.googleapis.com/google.ai.generativelanguage.v1beta.GenerateContentBatchOutput"
# An embeddings batch (`:asyncBatchEmbedContent`): its metadata and output types (the names are the
# proto messages' by analogy; google-genai reads neither).
EMBED_BATCH_TYPE = "type.googleapis.com/google.ai.generativelanguage.v1beta.EmbedContentBatch"
EMBED_BATCH_OUTPUT_TYPE = "type.googleapis.com/google.ai.generativelanguage.v1beta.EmbedContentBatchOutput"
# `batchStats` (providers.md §0.2; int64 counters, JSON strings). The SDK reads none of it on the Gemini API.
BATCH_STATS = ("requestCount", "successfulRequestCount", "failedRequestCount", "pendingRequestCount")
# Keys of a batch Operation and of its `metadata` (providers.md §C.4).
OPERATION_KEYS = ("name", "metadata", "done", "response", "error")
BATCH_METADATA_KEYS = ("@type", "name", "displayName", "model", "state", "createTime", "updateTime", "endTime",
                       "batchStats", "inputConfig", "output", "priority")
# What `files.upload` lets a caller set on the File of an upload start (UploadFileConfig + size).
UPLOAD_FILE_FIELDS = ("name", "displayName", "mimeType", "sizeBytes")
FILE_NAME = re.compile(r"^files/[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$")


class ContractViolation(AssertionError):
    """A request or reply that the official types (or the wire rules above) do not allow."""


def wire_states() -> frozenset[str]:
    """The `BATCH_STATE_*` names the SDK reads from the Gemini API (`t_job_state` maps them to JobState)."""
    candidates = {"BATCH_STATE_" + state.value.removeprefix("JOB_STATE_") for state in types.JobState}
    return frozenset(name for name in candidates if transformers.t_job_state(name) != name)


class GenerateContentRequest(_common.BaseModel):
    """The wire body of one batch request (`{key, request}` lines, inline `request`s), from SDK types."""

    contents: list[types.Content]
    system_instruction: types.Content | None = None
    tools: list[types.Tool] | None = None
    tool_config: types.ToolConfig | None = None
    safety_settings: list[types.SafetySetting] | None = None
    generation_config: types.GenerationConfig | None = None
    cached_content: str | None = None


class EmbedContentRequest(_common.BaseModel):
    """One embedding request as google-genai writes it for the Gemini API (`_EmbedContentBatch_to_mldev`,
    `_EmbedContentConfig_to_mldev`): content, and the config keys it moves into each request."""

    content: types.Content
    task_type: str | None = None
    title: str | None = None
    output_dimensionality: int | None = None


class BatchEmbedContentsRequest(_common.BaseModel):
    """`:batchEmbedContents` (`models._EmbedContentParametersPrivate_to_mldev`): each request names the model."""

    requests: list[EmbedContentRequestWithModel]


class EmbedContentRequestWithModel(EmbedContentRequest):
    model: str


BatchEmbedContentsRequest.model_rebuild()


# Generic strict validation


def _fail(what: str, message: str) -> ContractViolation:
    return ContractViolation(f"{what}: {message}")


def strict(model: type[pydantic.BaseModel], wire: object, what: str) -> pydantic.BaseModel:
    """`wire` (a JSON value) as `model`, by camelCase alias only, enums declared, nothing coerced."""
    try:
        with warnings.catch_warnings():  # the SDK warns of unknown enum values: _declared_enums fails on them
            warnings.simplefilter("ignore")
            validated = model.model_validate_json(json.dumps(wire), by_alias=True, by_name=False)
    except pydantic.ValidationError as error:
        raise _fail(what, f"not a {model.__name__}:\n{error}") from None
    _declared_enums(validated, what)
    _same(wire, validated.model_dump(mode="json", by_alias=True, exclude_unset=True), what)
    return validated


def _declared_enums(value: object, path: str) -> None:
    """Every enum value in a validated value is a declared member (the SDK lets unknown ones through)."""
    if isinstance(value, enum.Enum):
        members = type(value).__members__
        if members.get(value.name) is not value:
            raise _fail(path, f"{value.value!r} is not a declared {type(value).__name__} "
                              f"(one of {sorted(m.value for m in members.values())})")
    elif isinstance(value, pydantic.BaseModel):
        for name in type(value).model_fields:
            _declared_enums(getattr(value, name), f"{path}.{name}")
    elif isinstance(value, dict):
        for key, item in value.items():
            _declared_enums(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _declared_enums(item, f"{path}[{index}]")


def _same(sent: object, read: object, path: str) -> None:
    """What was sent is what the SDK read, up to JSON spelling of the same value (int64 strings,
    nanosecond times, either base64 alphabet)."""
    if isinstance(sent, dict) and isinstance(read, dict):
        if set(sent) != set(read):
            raise _fail(path, f"keys {sorted(set(sent) ^ set(read))} do not survive the SDK types")
        for key in sent:
            _same(sent[key], read[key], f"{path}.{key}")
    elif isinstance(sent, list) and isinstance(read, list) and len(sent) == len(read):
        for index, (a, b) in enumerate(zip(sent, read, strict=True)):
            _same(a, b, f"{path}[{index}]")
    elif not _equivalent(sent, read):
        raise _fail(path, f"sent {sent!r}, the SDK types read {read!r} (wrong spelling or type)")


def _equivalent(sent: object, read: object) -> bool:
    if isinstance(sent, bool) or isinstance(read, bool):
        return sent is read
    if isinstance(sent, (int, float)) and isinstance(read, (int, float)):
        return sent == read
    if isinstance(sent, str) and isinstance(read, int):
        return sent == str(read)  # proto3 JSON writes int64 as a string
    if isinstance(sent, str) and isinstance(read, str):
        return sent == read or _same_time(sent, read) or _same_bytes(sent, read)
    return sent == read


def _same_time(sent: str, read: str) -> bool:
    try:
        return datetime.fromisoformat(sent) == datetime.fromisoformat(read)
    except ValueError:
        return False


def _same_bytes(sent: str, read: str) -> bool:
    def decoded(text: str) -> bytes:
        text = text.replace("-", "+").replace("_", "/")
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)

    try:
        return decoded(sent) == decoded(read)
    except (binascii.Error, ValueError):
        return False


def _keys(value: object, allowed: tuple[str, ...], what: str, required: tuple[str, ...] = ()) -> dict:
    if not isinstance(value, dict):
        raise _fail(what, f"must be an object, not {value!r}")
    if extra := set(value) - set(allowed):
        raise _fail(what, f"keys {sorted(extra)} are not allowed (only {list(allowed)})")
    if missing := [key for key in required if key not in value]:
        raise _fail(what, f"keys {missing} are required")
    return value


# Requests the gateway sends


@functools.cache
def _client() -> _api_client.BaseApiClient:
    """A Gemini API (not Vertex AI) client for the SDK's converters; it never sends anything."""
    return _api_client.BaseApiClient(api_key="contract-check")


def check_generate_content_request(request: object, what: str = "request") -> None:
    """One GenerateContentRequest: valid as the SDK types, and sent as the SDK would send it."""
    model = strict(GenerateContentRequest, request, what)
    config = model.generation_config.model_dump(exclude_none=True) if model.generation_config else {}
    for name in ("system_instruction", "tools", "tool_config", "safety_settings", "cached_content"):
        if getattr(model, name) is not None:
            config[name] = getattr(model, name)
    try:  # the SDK's own Gemini API writer: refuses what only Vertex AI takes
        sdk = batches._InlinedRequest_to_mldev(_client(), {"contents": model.contents, "config": config})["request"]
    except ValueError as error:
        raise _fail(what, f"the SDK would not send this to the Gemini API: {error}") from None
    sent = set(request.get("generationConfig") or {})
    if dropped := sent - set(sdk.get("generationConfig") or {}):
        raise _fail(f"{what}.generationConfig", f"keys {sorted(dropped)} are never sent by the SDK to the Gemini API")
    if "cachedContent" in request and request["cachedContent"] != sdk["cachedContent"]:
        raise _fail(f"{what}.cachedContent",
                    f"the SDK sends {sdk['cachedContent']!r}, not {request['cachedContent']!r}")


def check_embed_request(request: object, what: str = "request") -> None:
    """One EmbedContentRequest of an embeddings batch (no model: the batch has it)."""
    validated = strict(EmbedContentRequest, request, what)
    if not all(part.text for part in validated.content.parts or []) or not validated.content.parts:
        raise _fail(f"{what}.content", "only text parts are embedded (EmbedContentBatch.contents)")


def check_batch_embed_contents(body: object) -> None:
    """A `:batchEmbedContents` body: `{requests: [{model, content, ...}]}`."""
    validated = strict(BatchEmbedContentsRequest, body, "body")
    if not validated.requests:
        raise _fail("body.requests", "must not be empty")


def check_batch_line(line: object, what: str = "line", embeddings: bool = False) -> None:
    """A `{key, request}` line of an uploaded batch input file (providers.md §C.6); `embeddings`: of an
    embeddings batch (endpoints.md §3.2: the request is an EmbedContentRequest)."""
    _keys(line, ("key", "request"), what, required=("key", "request"))
    if not isinstance(line["key"], str) or not line["key"]:
        raise _fail(f"{what}.key", "must be a non-empty string")
    if embeddings:
        check_embed_request(line["request"], f"{what}.request")
    else:
        check_generate_content_request(line["request"], f"{what}.request")


def check_inline_request(item: object, what: str = "inline request") -> None:
    """One inline request: `{request, metadata}` (types.InlinedRequest on the wire)."""
    _keys(item, ("request", "metadata"), what, required=("request",))
    metadata = item.get("metadata")
    if metadata is not None and not (isinstance(metadata, dict) and all(
            isinstance(k, str) and isinstance(v, str) for k, v in metadata.items())):
        raise _fail(f"{what}.metadata", "must map strings to strings (InlinedRequest.metadata)")
    check_generate_content_request(item["request"], f"{what}.request")


def check_batch_create(body: object) -> None:
    """`models/{model}:batchGenerateContent`: `{"batch": {displayName, inputConfig}}` as the SDK writes it
    (`_CreateBatchJobParameters_to_mldev`: displayName, inputConfig, webhookConfig)."""
    _keys(body, ("batch",), "body", required=("batch",))
    batch = _keys(body["batch"], ("displayName", "inputConfig", "webhookConfig"), "batch", required=("inputConfig",))
    if "displayName" in batch and not isinstance(batch["displayName"], str):
        raise _fail("batch.displayName", "must be a string")
    config = batch["inputConfig"]
    if isinstance(config, dict) and set(config) == {"fileName"}:
        if not isinstance(config["fileName"], str) or not FILE_NAME.match(config["fileName"]):
            raise _fail("batch.inputConfig.fileName", f"{config['fileName']!r} is not a file name")
        return
    if not (isinstance(config, dict) and set(config) == {"requests"}):
        raise _fail("batch.inputConfig", "must hold exactly one of fileName or requests")
    items = _keys(config["requests"], ("requests",), "batch.inputConfig.requests", required=("requests",))["requests"]
    if not isinstance(items, list) or not items:
        raise _fail("batch.inputConfig.requests.requests", "must be a non-empty list")
    for index, item in enumerate(items):
        check_inline_request(item, f"batch.inputConfig.requests.requests[{index}]")


def check_upload_start(headers: dict, body: object) -> None:
    """A resumable upload start, as `files.upload` sends it (`_extra_utils.prepare_resumable_upload`)."""
    expected = {"X-Goog-Upload-Protocol": "resumable", "X-Goog-Upload-Command": "start"}
    for name, value in expected.items():
        if headers.get(name) != value:
            raise _fail(f"header {name}", f"must be {value!r}, not {headers.get(name)!r}")
    if not str(headers.get("X-Goog-Upload-Header-Content-Length", "")).isdigit():
        raise _fail("header X-Goog-Upload-Header-Content-Length", "must be the size in bytes")
    if not headers.get("X-Goog-Upload-Header-Content-Type"):
        raise _fail("header X-Goog-Upload-Header-Content-Type", "must be the file's MIME type")
    if not str(headers.get("Content-Type", "")).startswith("application/json"):
        raise _fail("header Content-Type", "must be application/json")
    _keys(body, ("file",), "body")
    if "file" in body:
        strict(types.File, _keys(body["file"], UPLOAD_FILE_FIELDS, "body.file"), "body.file")


def check_upload_finish(headers: dict, size: int) -> None:
    """The single `upload, finalize` call of a resumable upload (the SDK's last chunk)."""
    if headers.get("X-Goog-Upload-Command") != "upload, finalize":
        raise _fail("header X-Goog-Upload-Command", f"must be 'upload, finalize', not "
                                                    f"{headers.get('X-Goog-Upload-Command')!r}")
    if not str(headers.get("X-Goog-Upload-Offset", "")).isdigit():
        raise _fail("header X-Goog-Upload-Offset", "must be a byte offset")
    if headers.get("Content-Length") != str(size):
        raise _fail("header Content-Length", f"must be the body size {size}, not {headers.get('Content-Length')!r}")


# Replies the fake sends


def check_file(file: object, what: str = "File") -> None:
    strict(types.File, file, what)


def check_file_list(body: object) -> None:
    strict(types.ListFilesResponse, body, "ListFilesResponse")


def check_status(status: object, what: str = "error") -> None:
    """A google.rpc.Status: `{code, message, details}` with a declared non-OK google.rpc.Code."""
    _keys(status, ("code", "message", "details"), what, required=("code",))
    codes = {number for number, _ in RPC_CODES.values()} - {0}
    if not isinstance(status["code"], int) or isinstance(status["code"], bool) or status["code"] not in codes:
        raise _fail(f"{what}.code", f"{status['code']!r} is not a google.rpc.Code error")
    if not isinstance(status.get("message", ""), str):
        raise _fail(f"{what}.message", "must be a string")
    details = status.get("details", [])
    if not isinstance(details, list) or not all(isinstance(d, dict) and isinstance(d.get("@type"), str)
                                                for d in details):
        raise _fail(f"{what}.details", "must be a list of Any messages (each with @type)")
    strict(types.JobError, {k: v for k, v in status.items() if k != "details"}, what)


def check_error_reply(body: object) -> None:
    """An HTTP error reply: `{"error": {code: <HTTP status>, message, status: <rpc name>}}`."""
    error = _keys(_keys(body, ("error",), "error reply", required=("error",))["error"],
                  ("code", "message", "status", "details"), "error", required=("code", "message", "status"))
    if error["status"] not in RPC_CODES or not isinstance(error["code"], int):
        raise _fail("error", f"status {error['status']!r} / code {error['code']!r} is not a google.rpc error")


def check_generate_content_response(response: object, what: str = "response") -> None:
    """A GenerateContentResponse as the Gemini API writes it.

    The SDK reads one key under another name (`batches._CitationMetadata_from_mldev`: citationSources
    -> citations); it is renamed before the check.
    """
    if not isinstance(response, dict):
        raise _fail(what, "must be an object")
    renamed = json.loads(json.dumps(response))
    for candidate in renamed.get("candidates") or []:
        citations = candidate.get("citationMetadata") if isinstance(candidate, dict) else None
        if isinstance(citations, dict) and "citationSources" in citations:
            citations["citations"] = citations.pop("citationSources")
    strict(types.GenerateContentResponse, renamed, what)


def check_embed_response(response: object, what: str = "response") -> None:
    """One embedding result (`types.SingleEmbedContentResponse`: embedding, tokenCount)."""
    strict(types.SingleEmbedContentResponse, response, what)


def check_result_line(line: object, what: str = "result line") -> None:
    """A line of a batch's results file: `{key, response}` or `{key, error}` (providers.md §C.6); an
    embedding result (`response.embedding`) is a SingleEmbedContentResponse."""
    _keys(line, ("key", "response", "error"), what, required=("key",))
    if ("response" in line) == ("error" in line):
        raise _fail(what, "must hold exactly one of response or error")
    if not isinstance(line["key"], str):
        raise _fail(f"{what}.key", "must be a string")
    if isinstance(line.get("response"), dict) and "embedding" in line["response"]:
        check_embed_response(line["response"], f"{what}.response")
    elif "response" in line:
        check_generate_content_response(line["response"], f"{what}.response")
    else:
        check_status(line["error"], f"{what}.error")


def _check_output(output: object, what: str) -> None:
    """`response` / `metadata.output` of a batch: responsesFile or inlinedResponses."""
    _keys(output, ("@type", "responsesFile", "inlinedResponses"), what)
    if output.get("@type", BATCH_OUTPUT_TYPE) not in (BATCH_OUTPUT_TYPE, EMBED_BATCH_OUTPUT_TYPE):
        raise _fail(f"{what}.@type", f"must be {BATCH_OUTPUT_TYPE} or {EMBED_BATCH_OUTPUT_TYPE}")
    items = _keys(output.get("inlinedResponses", {"inlinedResponses": []}), ("inlinedResponses",),
                  f"{what}.inlinedResponses")["inlinedResponses"]
    for index, item in enumerate(items):
        where = f"{what}.inlinedResponses.inlinedResponses[{index}]"
        _keys(item, ("response", "error", "metadata"), where)
        if ("response" in item) == ("error" in item):
            raise _fail(where, "must hold exactly one of response or error")
        if "response" in item:
            check_generate_content_response(item["response"], f"{where}.response")
        else:
            check_status(item["error"], f"{where}.error")
    dest = batches._BatchJobDestination_from_mldev(transformers.t_recv_batch_job_destination(json.loads(
        json.dumps(output))))
    _validated_sdk_dict(types.BatchJobDestination, dest, what)


def _validated_sdk_dict(model: type[pydantic.BaseModel], value: dict, what: str) -> None:
    """A dict the SDK's own reader built (snake_case keys it wrote, camelCase below them)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            validated = model.model_validate(value)
    except pydantic.ValidationError as error:
        raise _fail(what, f"not a {model.__name__} as the SDK reads it:\n{error}") from None
    _declared_enums(validated, what)


def check_operation(operation: object, what: str = "Operation") -> None:
    """A batch Operation (create, get, list items), read the way the SDK reads it."""
    _keys(operation, OPERATION_KEYS, what, required=("name", "metadata"))
    meta = _keys(operation["metadata"], BATCH_METADATA_KEYS, f"{what}.metadata", required=("@type", "state"))
    if meta["@type"] not in (BATCH_TYPE, EMBED_BATCH_TYPE):
        raise _fail(f"{what}.metadata.@type", f"must be {BATCH_TYPE} or {EMBED_BATCH_TYPE}")
    if meta["state"] not in wire_states():
        raise _fail(f"{what}.metadata.state", f"{meta['state']!r} is not a state the SDK reads "
                                              f"({sorted(wire_states())})")
    if not isinstance(operation.get("done", False), bool):
        raise _fail(f"{what}.done", "must be a boolean")
    stats = _keys(meta.get("batchStats", {}), BATCH_STATS, f"{what}.metadata.batchStats")
    for key, value in stats.items():
        if not (isinstance(value, str) and value.isdigit()):
            raise _fail(f"{what}.metadata.batchStats.{key}", f"{value!r} is not an int64 JSON string")
    for key in ("response", "output"):
        holder = operation if key == "response" else meta
        if key in holder:
            _check_output(holder[key], f"{what}.{'metadata.' if key == 'output' else ''}{key}")
    if "error" in operation:
        check_status(operation["error"], f"{what}.error")
    _validated_sdk_dict(types.BatchJob, batches._BatchJob_from_mldev(json.loads(json.dumps(operation))), what)


def check_operation_list(body: object) -> None:
    _keys(body, ("operations", "nextPageToken"), "ListBatchesResponse")
    for index, operation in enumerate(body.get("operations") or []):
        check_operation(operation, f"operations[{index}]")
    _validated_sdk_dict(types.ListBatchJobsResponse, batches._ListBatchJobsResponse_from_mldev(
        json.loads(json.dumps(body))), "ListBatchesResponse")


def values(enum_type: type[enum.Enum]) -> list[Any]:
    """Every value an SDK enum declares (for the generated tests)."""
    return [member.value for member in enum_type]


def example(annotation: Any) -> Any:
    """A small valid wire value of an SDK field type (for building results with every Part kind)."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types_module.UnionType:
        return example(args[0])
    if origin is list:
        return [example(args[0])]
    if origin is dict or annotation is Any:
        return {}
    if isinstance(annotation, type):
        if issubclass(annotation, enum.Enum):
            return next(iter(annotation)).value
        if issubclass(annotation, pydantic.BaseModel):
            return {}
        if issubclass(annotation, bool):
            return True
        if issubclass(annotation, bytes):
            return base64.b64encode(b"example").decode()
        if issubclass(annotation, (int, float)):
            return 1
        if issubclass(annotation, str):
            return "example"
    raise TypeError(f"no example for {annotation!r}")


def part_fields() -> dict[str, Any]:
    """Wire name -> annotation of every `types.Part` field."""
    return {field.alias or name: field.annotation for name, field in types.Part.model_fields.items()}
