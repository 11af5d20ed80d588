"""OpenAI batch shapes <-> AWS Bedrock model invocation jobs (providers.md §D, §0.1, §0.2, §A.8).

Pure: dicts in, dicts out. No boto3, no Flask, no config, no clock. Unmapped provider values raise
`KeyError` (the caller answers 502); client input Bedrock cannot take raises `errors.BadRequest`.

Records (§D.6): an OpenAI line `{custom_id, method, url, body}` becomes `{recordId, modelInput}`
with `recordId = custom_id`, so results map back without state. For Claude models `modelInput` is
the Anthropic Messages body (the Anthropic translator's params) without `model`/`stream`, plus
`anthropic_version`; for every other family it is a Converse request (job type `Converse`).

Results (§D.7): each line of `<output>/<jobId>/<input>.jsonl.out` becomes an OpenAI output line
(`modelOutput`: a Claude Message or a Converse response) or error line (`error`).

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
from datetime import UTC, datetime

from errors import BadRequest
from translators import batch_output
from translators.anthropic import UNRESTRICTED, SamplingRules, chat_to_params, message_to_chat_completion

ANTHROPIC_VERSION = "bedrock-2023-05-31"
CHAT_COMPLETIONS = "/v1/chat/completions"
COMPLETION_WINDOW = "24h"
INVOKE_MODEL = "InvokeModel"
CONVERSE = "Converse"

# §0.1: Bedrock job status -> OpenAI batch status.
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
# Where a finished job's `endTime` goes, per OpenAI status.
END_TIME_FIELD = {"completed": "completed_at", "failed": "failed_at", "expired": "expired_at",
                  "cancelled": "cancelled_at"}

# §D.7: Converse stopReason -> OpenAI finish_reason.
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
# Converse response content blocks left out of a chat.completion.
CONVERSE_SKIPPED_BLOCKS = frozenset({"reasoningContent", "citationsContent"})

# Anthropic params Bedrock's Claude InvokeModel body does not take (model and stream live elsewhere;
# Bedrock rejects `metadata`, `service_tier` as extraneous keys).
CLAUDE_DROPPED = ("model", "stream", "metadata", "service_tier")
# Anthropic image media type -> Converse image format.
IMAGE_FORMATS = {"image/png": "png", "image/jpeg": "jpeg", "image/gif": "gif", "image/webp": "webp"}
# Anthropic document media type -> Converse document format.
DOCUMENT_FORMATS = {"application/pdf": "pdf", "text/plain": "txt", "text/csv": "csv", "text/html": "html",
                    "text/markdown": "md"}
# Anthropic tool_choice type -> Converse toolChoice.
TOOL_CHOICES = {"auto": {"auto": {}}, "any": {"any": {}}}

# Bedrock tag keys/values (botocore TagKey/TagValue): metadata that does not fit is base64url-encoded.
_TAG_TEXT = re.compile(r"^[a-zA-Z0-9\s._:/=+@-]*$")
TAG_KEY_MAX, TAG_VALUE_MAX = 128, 256
META_TAG = "ds-meta:"         # + the metadata key as it is
META_TAG_B64 = "ds-meta64:"   # + base64url(metadata key)
B64_VALUE = "b64:"            # value prefix for a base64url-encoded metadata value

_CONVERTED = re.compile(r"^(?:(?P<dir>.*)/)?_bedrock/[a-z0-9]{16}/(?P<name>[^/]+)$")
_JOB_ARN = re.compile(
    r"^arn:aws[a-z-]*:bedrock:(?P<region>[a-z0-9-]+):\d{12}:model-invocation-job/(?P<id>[a-z0-9]{12})$"
)
_S3_URI = re.compile(r"^s3://(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:/(?P<key>.*))?$")


# Model families


def is_claude(model_id: str) -> bool:
    """Whether a Bedrock model ID (plain, cross-region profile or ARN) is an Anthropic Claude model."""
    return "anthropic.claude" in model_id


def invocation_type(model_id: str) -> str:
    """The job type for OpenAI lines converted for `model_id`."""
    return INVOKE_MODEL if is_claude(model_id) else CONVERSE


def record_invocation_type(model_input: dict) -> str:
    """The job type of a file already in Bedrock format, judged from its first `modelInput`.

    Converse bodies have `messages` and none of the model-native markers (Claude's
    `anthropic_version`, Nova's `schemaVersion`); anything else is a native InvokeModel body.
    """
    native = "anthropic_version" in model_input or "schemaVersion" in model_input
    return CONVERSE if "messages" in model_input and not native else INVOKE_MODEL


# OpenAI line -> Bedrock record (§D.6)


def line_model(line: dict) -> str | None:
    """The `body.model` of an OpenAI batch line, if any."""
    body = line.get("body")
    model = body.get("model") if isinstance(body, dict) else None
    return model if isinstance(model, str) and model else None


def to_record(line: dict, *, claude: bool, default_max_tokens: int, model: str | None = None,
              sampling: SamplingRules = SamplingRules()) -> dict:
    """One OpenAI batch line -> one Bedrock record `{recordId, modelInput}`.

    For Claude, `sampling` (with the job's `model`) decides which of temperature/top_p the body may carry.
    """
    body = line["body"]
    if claude:
        params = chat_to_params(body, default_max_tokens=default_max_tokens, sampling=sampling, model=model)
        model_input = {"anthropic_version": ANTHROPIC_VERSION}
        model_input.update({k: v for k, v in params.items() if k not in CLAUDE_DROPPED})
    else:
        model_input = chat_to_converse(body, default_max_tokens=default_max_tokens)
    return {"recordId": line["custom_id"], "modelInput": model_input}


def chat_to_converse(body: dict, *, default_max_tokens: int) -> dict:
    """An OpenAI chat-completions body -> a Converse request body (without `modelId`).

    The body goes through the Anthropic translation first (one set of rules for roles, tool calls
    and unsupported fields), and those params are then written in Converse's shape.
    """
    try:
        params = chat_to_params(body, default_max_tokens=default_max_tokens, sampling=UNRESTRICTED)
    except BadRequest as error:
        # Same rules, but this model is not Anthropic's: name the service that runs it.
        raise BadRequest(error.message.replace("Anthropic", "Bedrock Converse"), param=error.param,
                         code=error.code) from None
    if "output_config" in params:
        raise BadRequest("response_format json_schema is not supported by Bedrock Converse.",
                         param="response_format", code="unsupported_parameter")
    out: dict = {"messages": [_converse_message(m, i) for i, m in enumerate(params["messages"])]}
    system = params.get("system")
    if system is not None:
        texts = [system] if isinstance(system, str) else [block["text"] for block in system]
        out["system"] = [{"text": text} for text in texts]
    inference = {"maxTokens": params["max_tokens"]}
    for source, target in (("temperature", "temperature"), ("top_p", "topP"), ("stop_sequences", "stopSequences")):
        if source in params:
            inference[target] = params[source]
    out["inferenceConfig"] = inference
    tools = _converse_tools(params)
    if tools:
        out["toolConfig"] = tools
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
    if kind in ("image", "document"):
        source = block["source"]
        formats = IMAGE_FORMATS if kind == "image" else DOCUMENT_FORMATS
        if source["type"] != "base64" or source["media_type"] not in formats:
            raise BadRequest(f"{where}: Bedrock Converse takes only base64 data URLs of types "
                             f"{', '.join(formats)} for {kind}s.", param=where, code="unsupported_parameter")
        media = {"format": formats[source["media_type"]], "source": {"bytes": source["data"]}}
        if kind == "document":
            # Converse wants a name per document; derive it from the bytes so it is stable.
            media["name"] = f"document-{hash_text(source['data']) % 10**8:08d}"
        return {kind: media}
    if kind == "tool_use":
        return {"toolUse": {"toolUseId": block["id"], "name": block["name"], "input": block["input"]}}
    if kind == "tool_result":
        content = block["content"]
        texts = [content] if isinstance(content, str) else [part["text"] for part in content]
        return {"toolResult": {"toolUseId": block["tool_use_id"], "content": [{"text": t} for t in texts]}}
    raise BadRequest(f"{where}: content of type {kind!r} is not supported by Bedrock Converse.", param=where,
                     code="unsupported_parameter")


def _converse_tools(params: dict) -> dict | None:
    tools = params.get("tools")
    choice = params.get("tool_choice")
    if not tools:
        return None
    config: dict = {"tools": [{"toolSpec": {
        "name": tool["name"],
        **({"description": tool["description"]} if "description" in tool else {}),
        "inputSchema": {"json": tool["input_schema"]},
    }} for tool in tools]}
    if choice is not None:
        if choice["type"] == "tool":
            config["toolChoice"] = {"tool": {"name": choice["name"]}}
        elif choice["type"] in TOOL_CHOICES:
            # disable_parallel_tool_use has no Converse counterpart; it is a hint, not a contract.
            config["toolChoice"] = dict(TOOL_CHOICES[choice["type"]])
        else:
            raise BadRequest('tool_choice "none" is not supported by Bedrock Converse; leave out tools instead.',
                             param="tool_choice", code="unsupported_parameter")
    return config


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


def request_id(job_id: str, record_id: str) -> str:
    """The request ID of a record that carries none of its own."""
    return f"{job_id}-{record_id}"


def output_line(record: dict, *, job_id: str, model: str, created: int) -> dict:
    """One line of a job's `.jsonl.out` -> one OpenAI batch output or error line.

    `model` (the job's model ID) names Converse completions, which carry no model; `created` (the
    job's end time) becomes each completion's `created`.
    """
    record_id = record["recordId"]
    error = record.get("error")
    if error is not None:
        return error_line(record_id, request_id(job_id, record_id), error)
    output = record["modelOutput"]
    if output.get("type") == "message":
        completion = message_to_chat_completion(output, created=created)
        return batch_output.success_line(record_id, output["id"], completion)
    if "output" in output and "stopReason" in output:
        rid = request_id(job_id, record_id)
        completion = converse_to_chat_completion(output, completion_id=f"chatcmpl-{rid}", model=model,
                                                 created=created)
        return batch_output.success_line(record_id, rid, completion)
    raise KeyError(f"modelOutput of record {record_id!r} is neither a Claude Message nor a Converse response")


def error_line(record_id: str, rid: str, error: dict) -> dict:
    """A record's `{"errorCode", "errorMessage"}` -> an OpenAI error-file line.

    A numeric `errorCode` is the HTTP status; a named one (e.g. `ValidationException`) becomes the
    line's error `code` with status 500, as its status is not known.
    """
    code = error.get("errorCode")
    message = str(error.get("errorMessage") or code or "The record failed.")
    if isinstance(code, int) and not isinstance(code, bool):
        return batch_output.http_error_line(record_id, rid, code, message)
    if isinstance(code, str) and code.isdigit():
        return batch_output.http_error_line(record_id, rid, int(code), message)
    return batch_output.http_error_line(record_id, rid, 500, message, code=str(code) if code else None)


def converse_to_chat_completion(response: dict, *, completion_id: str, model: str, created: int) -> dict:
    """A Converse response `{output: {message}, stopReason, usage}` -> an OpenAI chat.completion."""
    texts: list[str] = []
    tool_calls: list[dict] = []
    for block in response["output"]["message"]["content"]:
        if "text" in block:
            texts.append(block["text"])
        elif "toolUse" in block:
            use = block["toolUse"]
            tool_calls.append({"id": use["toolUseId"], "type": "function",
                               "function": {"name": use["name"], "arguments": json.dumps(use.get("input") or {})}})
        elif not CONVERSE_SKIPPED_BLOCKS.intersection(block):
            raise KeyError(f"Converse content block {sorted(block)}")
    message: dict = {"role": "assistant", "content": "".join(texts) if texts else None, "refusal": None}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "message": message, "logprobs": None,
                     "finish_reason": CONVERSE_FINISH_REASONS[response["stopReason"]]}],
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


def unix(moment: datetime | None) -> int | None:
    """A boto3 datetime (naive means UTC) -> Unix seconds."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


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
    metadata: dict[str, str] | None = None, manifest: dict | None = None,
) -> dict:
    """A Get response or List summary of a job -> an OpenAI Batch.

    `output_file_id` / `error_file_id` are the IDs the job's results would have; they are set once
    the job has results (Completed, PartiallyCompleted, Stopped), the error file only when a record
    failed or the failures are not known.
    """
    native_status = job["status"]
    status = STATUSES[native_status]
    counts = request_counts(job, manifest)
    has_results = native_status in RESULT_STATUSES
    end = unix(job.get("endTime"))
    batch = {
        "id": batch_id,
        "object": "batch",
        "endpoint": CHAT_COMPLETIONS,
        "model": job["modelId"],
        "errors": None,
        "input_file_id": input_file_id,
        "completion_window": COMPLETION_WINDOW,
        "status": status,
        "output_file_id": output_file_id if has_results else None,
        "error_file_id": error_file_id if has_results and (counts is None or counts["failed"] > 0) else None,
        "created_at": unix(job["submitTime"]),
        "in_progress_at": None,  # Bedrock does not say when a job started running
        "expires_at": unix(job.get("jobExpirationTime")),
        "finalizing_at": None,
        "completed_at": None,
        "failed_at": None,
        "expired_at": None,
        "cancelling_at": unix(job.get("lastModifiedTime")) if status == "cancelling" else None,
        "cancelled_at": None,
        "request_counts": counts,
        "metadata": metadata,
    }
    if status in END_TIME_FIELD:
        batch[END_TIME_FIELD[status]] = end
    if status == "failed":
        batch["errors"] = {"object": "list", "data": [{
            "code": "bedrock_job_failed", "message": job.get("message") or "The Bedrock job failed.",
            "param": None, "line": None,
        }]}
    return batch
