"""OpenAI batch shapes <-> the Gemini Batch and Files APIs (providers.md §C, §0.1, §0.2, §A.8).

Pure: dicts in, dicts out. No HTTP, no Flask, no config, no clock. Gateway IDs are made by the
caller's encoders (passed in), so this module does not depend on the dispatcher.

- §C.7 `generate_content_request(body)`: an OpenAI chat.completions body -> GenerateContentRequest;
  `batch_line(obj)`: one OpenAI batch input line -> one Gemini `{key, request}` line;
  `inline_request(obj)`: the same for inline `requests` (`{request, metadata: {key}}`).
- §C.8 `chat_completion(response, ...)`: GenerateContentResponse -> chat.completion body;
  `output_line(line, number, ...)`: one Gemini result (a results-file line `{key, response|error}` or
  an inline result `{metadata: {key}, response|error}`) -> one OpenAI output or error line;
  `identify(line, number, ...)`: its custom_id and request id (for `batch_output.converted_lines`).
- §C.4/§0.1/§0.2 `batch_object(operation, ...)`: a batch Operation -> OpenAI Batch.
- §C.2 `file_object(file, ...)`: a Gemini File -> OpenAI FileObject.

Tolerant of what Gemini sends (the tables below list every value `google-genai` declares, and the
generated tests in tests/test_gemini_generated.py keep them complete):
- a `finishReason` not in FINISH_REASONS becomes `batch_output.FINISH_REASON_FALLBACK` ("stop"); every
  choice keeps Gemini's own value as `native_finish_reason`;
- a prompt blocked for any reason (`promptFeedback.blockReason`, known or not) is `content_filter`;
- parts other than text and function calls (SKIPPED_PART_FIELDS, or kinds newer than the SDK) are
  skipped; thought text is skipped;
- a per-request error whose rpc status name or code is unknown is an error line with status
  `batch_output.UNKNOWN_ERROR_STATUS` (500) and Gemini's value as `code`;
- a batch state not in STATES (prefix `BATCH_STATE_` or `JOB_STATE_` stripped) is `completed` when
  Gemini says the batch ended (`done`, or an `endTime`), else `in_progress` (`known_state` tells the
  caller, which logs it);
- a file state not in FILE_STATUSES is FILE_STATUS_FALLBACK ("uploaded": the file exists, nothing
  more is known); a file source not in FILE_SOURCE_PURPOSES takes its purpose from its MIME type.
A result line this module still cannot read (not JSON, no key, no candidates and no block reason, a
function call without a name) raises KeyError/TypeError/ValueError; `batch_output.converted_lines`
turns it into an `unconvertible_result` error line that keeps the line. Bad client input raises
`BadRequest`.
"""

from __future__ import annotations

import binascii
import json
import re
from collections.abc import Callable

import msgspec

from errors import BadRequest
from translators import batch_output
from translators import openai_shapes as shapes
from translators.typed_lines import UNSET, ChatBody, ChatLine, UnsetType

CHAT_COMPLETIONS = shapes.CHAT_COMPLETIONS
# Gemini expires a batch left pending or running for 48 hours (providers.md §0).
BATCH_EXPIRY_SECONDS = 48 * 3600

# §0.1: batch state, prefix stripped (the wire says BATCH_STATE_X, the SDK and Vertex JOB_STATE_X; both
# become X) -> OpenAI status. Every `google.genai.types.JobState` value is here.
STATE_PREFIXES = ("BATCH_STATE_", "JOB_STATE_")
STATES = {
    "UNSPECIFIED": "validating",  # the job exists but has no state yet
    "QUEUED": "validating",  # created (or resumed), processing not begun
    "PENDING": "validating",  # the service is preparing to run it
    "RUNNING": "in_progress",
    "UPDATING": "in_progress",  # a running job being updated; it goes back to RUNNING
    "PAUSED": "in_progress",  # stopped and resumable: not ended, and OpenAI has no paused status
    "SUCCEEDED": "completed",
    "PARTIALLY_SUCCEEDED": "completed",  # ended with some results missing: what there is is offered
    "FAILED": "failed",
    "CANCELLING": "cancelling",
    "CANCELLED": "cancelled",
    "EXPIRED": "expired",
}
IN_FLIGHT = ("validating", "in_progress")

# §C.2: File `state` (every `types.FileState`) -> FileObject `status`.
FILE_STATUSES = {
    "STATE_UNSPECIFIED": "uploaded",
    "PROCESSING": "uploaded",
    "ACTIVE": "processed",
    "FAILED": "error",
}
FILE_STATUS_FALLBACK = "uploaded"  # a state newer than this table: the file exists, nothing more is known
# §C.2: File `source` (`types.FileSource`) -> FileObject `purpose`. The other sources (and unknown
# ones) take their purpose from the MIME type (`file_object`).
FILE_SOURCE_PURPOSES = {"GENERATED": "batch_output"}
PURPOSE_BY_MIME_TYPE_SOURCES = ("SOURCE_UNSPECIFIED", "UPLOADED", "REGISTERED")
JSONL_MIME_TYPES = ("jsonl", "application/jsonl", "application/x-jsonl", "application/json", "text/jsonl")

# §C.8: candidate `finishReason` (every `types.FinishReason`, docstrings quoted in the comments) ->
# OpenAI `finish_reason`. Blocked for safety or policy: content_filter; cut off by a token limit:
# length; anything else ended the generation without a block or a truncation: stop. STOP becomes
# tool_calls when the candidate holds function calls. Unknown values: batch_output.finish_reason.
FINISH_REASONS = {
    "FINISH_REASON_UNSPECIFIED": "stop",
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "CONTINUATION": "length",  # "reached the per-request token limit, but generation is not yet complete"
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter",
    "IMAGE_SAFETY": "content_filter",
    "IMAGE_PROHIBITED_CONTENT": "content_filter",
    "IMAGE_RECITATION": "content_filter",
    "MODEL_ARMOR": "content_filter",  # "blocked by Model Armor"
    "ESCALATION": "content_filter",  # "filtered by an escalation rule"
    "PUP_LIMITED_DISABLED": "content_filter",  # account limited "due to Prohibited Use Policy violations"
    "LANGUAGE": "stop",
    "OTHER": "stop",
    "MALFORMED_FUNCTION_CALL": "stop",
    "UNEXPECTED_TOOL_CALL": "stop",
    "TOO_MANY_TOOL_CALLS": "stop",
    "NO_IMAGE": "stop",
    "IMAGE_OTHER": "stop",
    "MALFORMED_RESPONSE": "stop",  # "finishes due to malformed response": neither a block nor a limit
    "MISSING_THOUGHT_SIGNATURE": "stop",  # the request lacked a thought signature: no block, no limit
}
# §C.8: `promptFeedback.blockReason` (every `types.BlockedReason`): a prompt refused for any reason
# is content_filter, and so is a reason newer than this table (BLOCK_REASON_FALLBACK).
BLOCK_REASONS = {
    "BLOCKED_REASON_UNSPECIFIED": "content_filter",
    "SAFETY": "content_filter",
    "OTHER": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "IMAGE_SAFETY": "content_filter",
    "MODEL_ARMOR": "content_filter",
    "JAILBREAK": "content_filter",
}
BLOCK_REASON_FALLBACK = "content_filter"

# §C.8: `Part` fields (wire names of every `types.Part` field). Text that is not a thought and
# function calls become the message; the rest has no chat.completion form and is skipped, as are
# part kinds newer than the SDK.
HANDLED_PART_FIELDS = ("text", "thought", "functionCall")
SKIPPED_PART_FIELDS = (
    "inlineData", "fileData", "functionResponse", "executableCode", "codeExecutionResult", "toolCall",
    "toolResponse", "thoughtSignature", "videoMetadata", "mediaResolution", "partMetadata",
    "audioTranscription", "mediaProcessing", "speechMetadata", "documentMetadata", "spreadsheetMetadata",
    "audioMetadata",
)

# google.rpc.Code name -> the HTTP status an OpenAI error line carries (the "HTTP Mapping" of
# googleapis google/rpc/code.proto). CANCELLED is not an HTTP error: it becomes a `batch_cancelled`
# failure line. A name or code not here: batch_output.UNKNOWN_ERROR_STATUS.
RPC_HTTP_STATUS = {
    "INVALID_ARGUMENT": 400,
    "FAILED_PRECONDITION": 400,
    "OUT_OF_RANGE": 400,
    "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403,
    "NOT_FOUND": 404,
    "ALREADY_EXISTS": 409,
    "ABORTED": 409,
    "RESOURCE_EXHAUSTED": 429,
    "UNKNOWN": 500,
    "INTERNAL": 500,
    "DATA_LOSS": 500,
    "UNIMPLEMENTED": 501,
    "UNAVAILABLE": 503,
    "DEADLINE_EXCEEDED": 504,
}
# google.rpc.Code numbers (code.proto) -> names: a google.rpc.Status carries only the number.
RPC_CODE_NAMES = {
    1: "CANCELLED", 2: "UNKNOWN", 3: "INVALID_ARGUMENT", 4: "DEADLINE_EXCEEDED", 5: "NOT_FOUND",
    6: "ALREADY_EXISTS", 7: "PERMISSION_DENIED", 8: "RESOURCE_EXHAUSTED", 9: "FAILED_PRECONDITION",
    10: "ABORTED", 11: "OUT_OF_RANGE", 12: "UNIMPLEMENTED", 13: "INTERNAL", 14: "UNAVAILABLE",
    15: "DATA_LOSS", 16: "UNAUTHENTICATED",
}

# §C.7: chat body key -> generationConfig key, values copied once their JSON type is the one
# types.GenerationConfig declares (INTEGER_KEYS: integers; the others: numbers).
GENERATION_KEYS = {
    "max_tokens": "maxOutputTokens",
    "max_completion_tokens": "maxOutputTokens",
    "temperature": "temperature",
    "top_p": "topP",
    "n": "candidateCount",
    "presence_penalty": "presencePenalty",
    "frequency_penalty": "frequencyPenalty",
    "seed": "seed",
    "top_k": "topK",  # not OpenAI, but Gemini callers send it
}
INTEGER_KEYS = ("maxOutputTokens", "candidateCount", "seed", "logprobs")
# Keys handled by their own rule below.
SPECIAL_KEYS = ("messages", "stop", "response_format", "logprobs", "top_logprobs", "tools", "tool_choice",
                "reasoning_effort", "safety_settings", "cached_content", "thinking_config")
# OpenAI keys with no Gemini meaning that change nothing about the answer: dropped.
IGNORED_KEYS = ("model", "user", "metadata", "store", "parallel_tool_calls", "service_tier", "stream",
                "stream_options")
_KNOWN_KEYS = frozenset((*GENERATION_KEYS, *SPECIAL_KEYS, *IGNORED_KEYS))
# `reasoning_effort` -> thinkingConfig.thinkingBudget (the mapping of Gemini's OpenAI-compatible endpoint).
THINKING_BUDGETS = {"none": 0, "minimal": 1024, "low": 1024, "medium": 8192, "high": 24576}
TOOL_CHOICE_MODES = {"auto": "AUTO", "none": "NONE", "required": "ANY"}
# `thinking_config` (Gemini's own, sent by Gemini callers; either spelling) -> types.ThinkingConfig.
THINKING_CONFIG_TYPES = {"includeThoughts": bool, "thinkingBudget": int, "thinkingLevel": str}
THINKING_LEVELS = ("MINIMAL", "LOW", "MEDIUM", "HIGH", "XHIGH")  # types.ThinkingLevel but UNSPECIFIED
# `safety_settings` items {category, threshold}: the types.HarmCategory / HarmBlockThreshold values
# the Gemini API takes. Refused: the unused UNSPECIFIED values, and the image categories the SDK
# documents as "not supported in Gemini API". (`method` is Vertex AI only: refused too.)
SAFETY_CATEGORIES = (
    "HARM_CATEGORY_HARASSMENT", "HARM_CATEGORY_HATE_SPEECH", "HARM_CATEGORY_SEXUALLY_EXPLICIT",
    "HARM_CATEGORY_DANGEROUS_CONTENT", "HARM_CATEGORY_CIVIC_INTEGRITY", "HARM_CATEGORY_JAILBREAK",
)
REFUSED_SAFETY_CATEGORIES = (
    "HARM_CATEGORY_UNSPECIFIED", "HARM_CATEGORY_IMAGE_HATE", "HARM_CATEGORY_IMAGE_DANGEROUS_CONTENT",
    "HARM_CATEGORY_IMAGE_HARASSMENT", "HARM_CATEGORY_IMAGE_SEXUALLY_EXPLICIT",
)
SAFETY_THRESHOLDS = ("BLOCK_LOW_AND_ABOVE", "BLOCK_MEDIUM_AND_ABOVE", "BLOCK_ONLY_HIGH", "BLOCK_NONE", "OFF")
CACHED_CONTENTS = "cachedContents/"  # the resource prefix the SDK adds to a bare cache name
# Image/file extension -> MIME type for `fileData` parts given by URL.
URL_MIME_TYPES = {
    "png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "webp": "image/webp", "gif": "image/gif",
    "heic": "image/heic", "heif": "image/heif", "pdf": "application/pdf", "mp3": "audio/mpeg",
    "wav": "audio/wav", "mp4": "video/mp4", "txt": "text/plain",
}
AUDIO_MIME_TYPES = {"wav": "audio/wav", "mp3": "audio/mpeg"}

_DATA_URL = re.compile(r"^data:([\w.+-]+/[\w.+-]+)(?:;[\w=.+-]+)*;base64,(.*)$", re.DOTALL)


# §C.7 OpenAI chat -> GenerateContentRequest


def _bad(message: str, param: str) -> BadRequest:
    return BadRequest(message, param=param, code="unsupported_for_gemini")


def _text_of(content: object, where: str) -> str:
    """The text of a system/developer message (a string or a list of text parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for part in content:
            if not isinstance(part, dict) or part.get("type") != "text":
                raise _bad(f"{where} may only hold text parts.", where)
            texts.append(part.get("text", ""))
        return "".join(texts)
    raise _bad(f"{where} must be a string or a list of text parts.", where)


def _base64(data: object, where: str) -> str:
    """`data` if it is base64 (Gemini's `inlineData.data` is bytes in base64 on the wire)."""
    try:
        binascii.a2b_base64(data, strict_mode=True)
    except (binascii.Error, TypeError, ValueError):
        raise _bad(f"{where}: the data is not base64.", where) from None
    return data


def _inline_data(mime_type: str, data: object, where: str) -> dict:
    return {"inlineData": {"mimeType": mime_type, "data": _base64(data, where)}}


def _url_part(url: object, where: str) -> dict:
    if not isinstance(url, str) or not url:
        raise _bad(f"{where} needs a url.", where)
    match = _DATA_URL.match(url)
    if match:
        return _inline_data(match[1], match[2], where)
    if url.startswith(("http://", "https://", "gs://")):
        extension = url.split("?", 1)[0].rsplit(".", 1)[-1].lower()
        file_data = {"fileUri": url}
        if extension in URL_MIME_TYPES:
            file_data["mimeType"] = URL_MIME_TYPES[extension]
        return {"fileData": file_data}
    raise _bad(f"{where}: only data: URLs and http(s) URLs are supported.", where)


def _content_part(part: object, where: str) -> dict:
    if not isinstance(part, dict):
        raise _bad(f"{where} must be an object.", where)
    kind = part.get("type")
    if kind == "text":
        return {"text": part.get("text", "")}
    if kind == "image_url":
        image = part.get("image_url")
        return _url_part(image.get("url") if isinstance(image, dict) else image, where)
    if kind == "input_audio":
        audio = part.get("input_audio") or {}
        mime = AUDIO_MIME_TYPES.get(audio.get("format", ""))
        if mime is None:
            raise _bad(f"{where}: audio format must be wav or mp3.", where)
        return _inline_data(mime, audio.get("data", ""), where)
    if kind == "file":
        file = part.get("file") or {}
        match = _DATA_URL.match(file.get("file_data", "")) if isinstance(file.get("file_data"), str) else None
        if not match:
            raise _bad(f"{where}: file parts need file_data as a base64 data: URL.", where)
        return _inline_data(match[1], match[2], where)
    raise _bad(f"{where}: content part type {kind!r} is not supported.", where)


def _parts(content: object, where: str) -> list[dict]:
    if content is None:
        return []
    if isinstance(content, str):
        return [{"text": content}]
    if isinstance(content, list):
        return [_content_part(part, f"{where}[{i}]") for i, part in enumerate(content)]
    raise _bad(f"{where} must be a string or a list of parts.", where)


def _call_args(arguments: object, where: str) -> dict:
    if isinstance(arguments, dict):
        return arguments
    try:
        args = json.loads(arguments or "{}")
    except (TypeError, ValueError):
        raise _bad(f"{where} is not a JSON object string.", where) from None
    if not isinstance(args, dict):
        raise _bad(f"{where} must encode a JSON object.", where)
    return args


def _tool_result(content: object) -> object:
    """A tool message's content as Gemini's `response.content`: parsed JSON when it is JSON."""
    text = _text_of(content, "tool message content") if not isinstance(content, str) else content
    try:
        return json.loads(text)
    except ValueError:
        return text


def _turns(messages: object) -> tuple[list[str], list[dict]]:
    """System texts and `contents` turns; consecutive turns of one role are merged."""
    if not isinstance(messages, list) or not messages:
        raise BadRequest("body.messages must be a non-empty list.", param="body.messages")
    system: list[str] = []
    contents: list[dict] = []
    call_names: dict[str, str] = {}  # tool_call_id -> function name, for tool messages

    def add(role: str, parts: list[dict]) -> None:
        if not parts:
            return
        if contents and contents[-1]["role"] == role:
            contents[-1]["parts"].extend(parts)
        else:
            contents.append({"role": role, "parts": parts})

    for i, message in enumerate(messages):
        if type(message) is dict and type(message.get("content")) is str:
            # Fast path: a plain-text system or user message (most lines are only these).
            role = message.get("role")
            if role == "system" or role == "developer":
                system.append(message["content"])
                continue
            if role == "user":
                add("user", [{"text": message["content"]}])
                continue
        where = f"body.messages[{i}]"
        if not isinstance(message, dict):
            raise BadRequest(f"{where} must be an object.", param=where)
        role = message.get("role")
        content = message.get("content")
        if role in ("system", "developer"):
            system.append(_text_of(content, f"{where}.content"))
        elif role == "user":
            add("user", _parts(content, f"{where}.content"))
        elif role == "assistant":
            parts = _parts(content, f"{where}.content")
            for j, call in enumerate(message.get("tool_calls") or []):
                function = call.get("function") or {}
                name = function.get("name")
                if not name:
                    raise _bad(f"{where}.tool_calls[{j}] needs function.name.", f"{where}.tool_calls[{j}]")
                call_names[call.get("id", "")] = name
                args = _call_args(function.get("arguments"), f"{where}.tool_calls[{j}].function.arguments")
                parts.append({"functionCall": {"name": name, "args": args}})
            add("model", parts)
        elif role == "tool":
            name = call_names.get(message.get("tool_call_id", ""))
            if name is None:
                raise _bad(f"{where}.tool_call_id does not match an earlier assistant tool call.",
                           f"{where}.tool_call_id")
            add("user", [{"functionResponse": {"name": name, "response": {"content": _tool_result(content)}}}])
        elif role == "function":
            name = message.get("name")
            if not name:
                raise _bad(f"{where}.name is required for function messages.", f"{where}.name")
            add("user", [{"functionResponse": {"name": name, "response": {"content": _tool_result(content)}}}])
        else:
            raise _bad(f"{where}.role {role!r} is not supported.", f"{where}.role")
    if not contents:
        raise BadRequest("body.messages needs at least one user or assistant message.", param="body.messages")
    return system, contents


def _tools(tools: object) -> list[dict]:
    if not isinstance(tools, list):
        raise _bad("body.tools must be a list.", "body.tools")
    declarations = []
    for i, tool in enumerate(tools):
        if not isinstance(tool, dict) or tool.get("type") != "function":
            raise _bad(f"body.tools[{i}]: only function tools are supported.", f"body.tools[{i}]")
        function = tool.get("function") or {}
        if not function.get("name"):
            raise _bad(f"body.tools[{i}].function.name is required.", f"body.tools[{i}].function.name")
        declaration = {"name": function["name"]}
        if function.get("description"):
            declaration["description"] = function["description"]
        if function.get("parameters"):
            # Full JSON Schema goes in parametersJsonSchema; `parameters` takes only an OpenAPI subset.
            declaration["parametersJsonSchema"] = function["parameters"]
        declarations.append(declaration)
    return [{"functionDeclarations": declarations}] if declarations else []


def _tool_config(choice: object) -> dict:
    if isinstance(choice, str):
        if choice not in TOOL_CHOICE_MODES:
            raise _bad(f"body.tool_choice {choice!r} is not supported.", "body.tool_choice")
        return {"functionCallingConfig": {"mode": TOOL_CHOICE_MODES[choice]}}
    if isinstance(choice, dict) and choice.get("type") == "function" and (choice.get("function") or {}).get("name"):
        return {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": [choice["function"]["name"]]}}
    raise _bad("body.tool_choice must be auto, none, required or a named function.", "body.tool_choice")


def _response_format(response_format: object, config: dict) -> None:
    kind = response_format.get("type") if isinstance(response_format, dict) else None
    if kind == "text":
        return
    if kind == "json_object":
        config["responseMimeType"] = "application/json"
        return
    if kind == "json_schema":
        schema = (response_format.get("json_schema") or {}).get("schema")
        config["responseMimeType"] = "application/json"
        if schema is not None:
            config["responseJsonSchema"] = schema
        return
    raise _bad("body.response_format type must be text, json_object or json_schema.", "body.response_format")


def _typed(value: object, target: str, param: str) -> int | float:
    """A generationConfig value of the JSON type Gemini declares for `target`."""
    integer = target in INTEGER_KEYS
    if isinstance(value, bool) or not isinstance(value, int if integer else (int, float)):
        raise _bad(f"{param} must be {'an integer' if integer else 'a number'}.", param)
    return value


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(word.title() for word in rest)


def _thinking_config(value: object) -> dict:
    """Gemini's own `thinking_config` (camelCase or snake_case keys), checked as types.ThinkingConfig."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _bad("body.thinking_config must be an object.", "body.thinking_config")
    config = {}
    for key, item in value.items():
        name = _camel(key)
        param = f"body.thinking_config.{key}"
        kind = THINKING_CONFIG_TYPES.get(name)
        if kind is None:
            raise _bad(f"{param} is not a thinking_config field ({', '.join(THINKING_CONFIG_TYPES)}).", param)
        if isinstance(item, bool) != (kind is bool) or not isinstance(item, kind):
            raise _bad(f"{param} must be a {kind.__name__}.", param)
        if name == "thinkingLevel" and item not in THINKING_LEVELS:
            raise _bad(f"{param} must be one of {', '.join(THINKING_LEVELS)}.", param)
        config[name] = item
    return config


def _safety_settings(value: object) -> list[dict]:
    """`safety_settings`: [{category, threshold}] with values the Gemini API takes."""
    if not isinstance(value, list):
        raise _bad("body.safety_settings must be a list.", "body.safety_settings")
    for i, setting in enumerate(value):
        param = f"body.safety_settings[{i}]"
        if not isinstance(setting, dict) or set(setting) != {"category", "threshold"}:
            raise _bad(f"{param} must be an object with exactly category and threshold.", param)
        if setting["category"] not in SAFETY_CATEGORIES:
            raise _bad(f"{param}.category must be one of {', '.join(SAFETY_CATEGORIES)}.", f"{param}.category")
        if setting["threshold"] not in SAFETY_THRESHOLDS:
            raise _bad(f"{param}.threshold must be one of {', '.join(SAFETY_THRESHOLDS)}.", f"{param}.threshold")
    return value


def generate_content_request(body: dict) -> dict:
    """An OpenAI chat.completions request body as a Gemini GenerateContentRequest (§C.7)."""
    unknown = sorted(body.keys() - _KNOWN_KEYS)
    if unknown:
        raise _bad(f"body.{unknown[0]} has no Gemini equivalent.", f"body.{unknown[0]}")
    system, contents = _turns(body.get("messages"))
    request: dict = {"contents": contents}
    if system:
        request["systemInstruction"] = {"parts": [{"text": text} for text in system]}

    config: dict = {}
    for key, target in GENERATION_KEYS.items():
        value = body.get(key)
        if value is not None:
            config[target] = _typed(value, target, f"body.{key}")
    stop = body.get("stop")
    if stop is not None:
        config["stopSequences"] = [stop] if isinstance(stop, str) else stop
        if not isinstance(stop, (str, list)) or not all(isinstance(s, str) for s in config["stopSequences"]):
            raise _bad("body.stop must be a string or a list of strings.", "body.stop")
    if body.get("response_format") is not None:
        _response_format(body["response_format"], config)
    if body.get("logprobs"):
        config["responseLogprobs"] = True
        if body.get("top_logprobs") is not None:
            config["logprobs"] = _typed(body["top_logprobs"], "logprobs", "body.top_logprobs")
    thinking = _thinking_config(body.get("thinking_config"))
    if body.get("reasoning_effort") is not None:
        if body["reasoning_effort"] not in THINKING_BUDGETS:
            raise _bad(f"body.reasoning_effort {body['reasoning_effort']!r} is not supported.",
                       "body.reasoning_effort")
        thinking["thinkingBudget"] = THINKING_BUDGETS[body["reasoning_effort"]]
    if thinking:
        config["thinkingConfig"] = thinking
    if config:
        request["generationConfig"] = config

    if body.get("tools"):
        tools = _tools(body["tools"])
        if tools:
            request["tools"] = tools
    if body.get("tool_choice") is not None:
        request["toolConfig"] = _tool_config(body["tool_choice"])
    if body.get("safety_settings") is not None:
        request["safetySettings"] = _safety_settings(body["safety_settings"])
    cached = body.get("cached_content")
    if cached is not None:
        if not isinstance(cached, str) or not cached.removeprefix(CACHED_CONTENTS):
            raise _bad("body.cached_content must name a cached content.", "body.cached_content")
        request["cachedContent"] = cached if cached.startswith(CACHED_CONTENTS) else CACHED_CONTENTS + cached
    return request


def batch_line(obj: dict) -> dict:
    """One OpenAI batch input line (already checked) as a Gemini file-input line `{key, request}`."""
    return {"key": obj["custom_id"], "request": generate_content_request(obj["body"])}


# The typed fast path (translators/typed_lines.py): whole blocks of usual lines, same bytes as above.
# Its output is Structs that encode like the dicts above (same keys, same order, unset ones left out)
# and are not tracked by the cyclic GC: a block makes thousands, and as dicts the GC's collections
# (which can free none of them) cost about a third of the time.


class _Part(msgspec.Struct, gc=False):
    text: str


class _Content(msgspec.Struct, gc=False):
    role: str
    parts: list[_Part]


class _System(msgspec.Struct, gc=False):
    parts: list[_Part]


class _Config(msgspec.Struct, omit_defaults=True, gc=False):
    maxOutputTokens: int | UnsetType = UNSET  # noqa: N815 (Gemini's field names)
    temperature: float | UnsetType = UNSET
    topP: float | UnsetType = UNSET  # noqa: N815
    candidateCount: int | UnsetType = UNSET  # noqa: N815
    stopSequences: list[str] | UnsetType = UNSET  # noqa: N815


class _Request(msgspec.Struct, omit_defaults=True, gc=False):
    contents: list[_Content]
    systemInstruction: _System | UnsetType = UNSET  # noqa: N815
    generationConfig: _Config | UnsetType = UNSET  # noqa: N815


class _Line(msgspec.Struct, gc=False):
    key: str
    request: _Request


def fast_content_request(body: ChatBody) -> _Request | None:
    """`generate_content_request` for a typed body (as a Struct that encodes the same), or None where it
    would raise or the body needs the general way.

    Accepted: system/developer/user/assistant messages with string content, the generation keys
    `typed_lines.ChatBody` types (all of the right JSON type once decoded; Gemini takes any value of
    it) and `stop`; `model` and `stream` are ignored as there.
    """
    system: list[_Part] = []
    contents: list[_Content] = []
    last = None
    for message in body.messages:
        role, content = message.role, message.content
        if type(content) is not str:
            return None
        if role == "system" or role == "developer":
            system.append(_Part(content))
            continue
        if role == "user":
            turn = "user"
        elif role == "assistant":
            turn = "model"
        else:
            return None
        if turn == last:
            contents[-1].parts.append(_Part(content))
        else:
            contents.append(_Content(turn, [_Part(content)]))
            last = turn
    if not contents:
        return None  # also an empty list of messages
    request = _Request(contents)
    if system:
        request.systemInstruction = _System(system)
    # GENERATION_KEYS' order; max_completion_tokens, read after max_tokens, wins.
    max_tokens, completion = body.max_tokens, body.max_completion_tokens
    if completion is not None and completion is not UNSET:
        max_tokens = completion
    temperature, top_p, n, stop = body.temperature, body.top_p, body.n, body.stop
    if (max_tokens is None or max_tokens is UNSET) and (temperature is None or temperature is UNSET) and (
            top_p is None or top_p is UNSET) and (n is None or n is UNSET) and (stop is None or stop is UNSET):
        return request
    config = _Config()
    if max_tokens is not None:
        config.maxOutputTokens = max_tokens
    if temperature is not None:
        config.temperature = temperature
    if top_p is not None:
        config.topP = top_p
    if n is not None:
        config.candidateCount = n
    if stop is not None and stop is not UNSET:
        config.stopSequences = [stop] if type(stop) is str else stop
    request.generationConfig = config
    return request


def fast_batch_lines(lines: list[ChatLine]) -> list[_Line] | None:
    """`batch_line` for a block of typed chat-completions lines, or None when any needs the general way."""
    out = []
    for line in lines:
        if line.url != shapes.CHAT_COMPLETIONS:
            return None
        request = fast_content_request(line.body)
        if request is None:
            return None
        out.append(_Line(line.custom_id, request))
    return out


def inline_request(obj: dict) -> dict:
    """One OpenAI batch input line (already checked) as a Gemini inline request."""
    return {"request": generate_content_request(obj["body"]), "metadata": {"key": obj["custom_id"]}}


# §C.8 GenerateContentResponse -> chat.completion


def _logprobs(result: dict | None) -> dict | None:
    if not result:
        return None
    tops = result.get("topCandidates") or []
    content = []
    for i, chosen in enumerate(result.get("chosenCandidates") or []):
        token = chosen.get("token", "")
        alternatives = tops[i].get("candidates", []) if i < len(tops) else []
        content.append({
            "token": token,
            "logprob": chosen.get("logProbability", 0.0),
            "bytes": list(token.encode()),
            "top_logprobs": [
                {"token": alt.get("token", ""), "logprob": alt.get("logProbability", 0.0),
                 "bytes": list(alt.get("token", "").encode())}
                for alt in alternatives
            ],
        })
    return {"content": content, "refusal": None}


def _choice(candidate: dict, position: int) -> dict:
    texts: list[str] = []
    calls: list[dict] = []
    for part in (candidate.get("content") or {}).get("parts") or []:
        if "text" in part and not part.get("thought"):
            texts.append(part["text"])
        elif "functionCall" in part:
            call = part["functionCall"]
            calls.append({
                "id": call.get("id") or f"call_{len(calls)}",
                "type": "function",
                "function": {"name": call["name"], "arguments": json.dumps(call.get("args") or {})},
            })
        # Any other part (SKIPPED_PART_FIELDS, or a kind newer than the SDK) has no chat form.
    native = candidate.get("finishReason")
    finish = batch_output.finish_reason(native, FINISH_REASONS)
    # A candidate with no finishReason has not been cut short: with calls, it stopped to call them.
    if calls and native in (None, "STOP"):
        finish = "tool_calls"
    message: dict = {"role": "assistant", "content": "".join(texts) if texts or not calls else None,
                     "refusal": None}
    if calls:
        message["tool_calls"] = calls
    return {
        "index": candidate.get("index", position),
        "message": message,
        "logprobs": _logprobs(candidate.get("logprobsResult")),
        "finish_reason": finish,
        "native_finish_reason": native,
    }


def _usage(metadata: dict) -> dict:
    prompt = metadata.get("promptTokenCount", 0) + metadata.get("toolUsePromptTokenCount", 0)
    thoughts = metadata.get("thoughtsTokenCount", 0)
    # Thinking is billed as output, so it counts as completion tokens (and reasoning tokens).
    completion = metadata.get("candidatesTokenCount", 0) + thoughts
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": metadata.get("totalTokenCount", prompt + completion),
        "prompt_tokens_details": {"cached_tokens": metadata.get("cachedContentTokenCount", 0)},
        "completion_tokens_details": {"reasoning_tokens": thoughts},
    }


def chat_completion(response: dict, *, response_id: str, model: str, created: int) -> dict:
    """A GenerateContentResponse as an OpenAI chat.completion body (§C.8).

    A blocked prompt (no candidates, `promptFeedback.blockReason`) is one empty `content_filter`
    choice whose `native_finish_reason` is the block reason.
    """
    candidates = response.get("candidates") or []
    block_reason = (response.get("promptFeedback") or {}).get("blockReason")
    if candidates:
        choices = [_choice(candidate, i) for i, candidate in enumerate(candidates)]
    elif block_reason is not None:
        choices = [{"index": 0, "message": {"role": "assistant", "content": None, "refusal": None},
                    "logprobs": None, "finish_reason": BLOCK_REASONS.get(block_reason, BLOCK_REASON_FALLBACK),
                    "native_finish_reason": block_reason}]
    else:
        raise KeyError("candidates")
    return {
        "id": f"chatcmpl-{response_id}",
        "object": "chat.completion",
        "created": created,
        "model": response.get("modelVersion") or model,
        "choices": choices,
        "usage": _usage(response.get("usageMetadata") or {}),
    }


def _error_status(status: dict) -> tuple[str | None, int | None]:
    """The code (rpc status name) and HTTP status of a per-request error; HTTP None: cancelled.

    Read as a google.rpc.Status (`code` is a google.rpc.Code number) or as Gemini's HTTP error shape
    (`code` an HTTP status, `status` the rpc name). A name or number this module does not know is
    kept as the code, with batch_output.UNKNOWN_ERROR_STATUS.
    """
    code = status.get("code")
    name = status.get("status") if isinstance(status.get("status"), str) else None
    http_code = code if isinstance(code, int) and 400 <= code <= 599 else None
    if name is None and isinstance(code, int) and http_code is None:
        name = RPC_CODE_NAMES.get(code, str(code))
    if name == "CANCELLED":
        return name, None
    return name, http_code or RPC_HTTP_STATUS.get(name, batch_output.UNKNOWN_ERROR_STATUS)


def custom_id(line: dict) -> str:
    """The custom_id of a result: `key` (results file), else `metadata.key` (inline results)."""
    key = line["key"] if "key" in line else (line.get("metadata") or {})["key"]
    if not isinstance(key, str):
        raise TypeError(f"key {key!r} is not a string")
    return key


def _request_id(line: dict, number: int, batch: str) -> str:
    response = line.get("response")
    response_id = response.get("responseId") if isinstance(response, dict) else None
    return response_id if isinstance(response_id, str) and response_id else f"{batch.rpartition('/')[2]}-{number}"


def identify(line: dict | None, number: int, *, batch: str) -> tuple[str, str]:
    """(custom_id, request id) of result `number` of `batch`, for a line `output_line` could not convert.

    `line` is None when it was not a JSON object; a line without a key is `line-<number>`
    (`batch_output.converted_lines` falls back to that when this raises).
    """
    if line is None:
        return f"line-{number}", f"{batch.rpartition('/')[2]}-{number}"
    return custom_id(line), _request_id(line, number, batch)


def output_line(line: dict, number: int, *, batch: str, model: str, created: int) -> dict:
    """One Gemini result as an OpenAI output line (§A.8): `{key, response}` / `{key, error}` from a
    results file, or `{metadata: {key}, response}` / `{metadata: {key}, error}` from an inline batch.

    `number` is the result's position (IDs for results without a `responseId`), `batch` the batch
    name, `model` its model, `created` its end time (the completion's `created`).
    """
    key = custom_id(line)
    request_id = _request_id(line, number, batch)
    response = line.get("response")
    if response is not None:
        body = chat_completion(response, response_id=request_id, model=model, created=created)
        return batch_output.success_line(key, request_id, body)
    status = line.get("error") or line.get("status")  # providers.md §C.6: the key name is not documented
    if not isinstance(status, dict):
        raise KeyError("response")
    name, http_status = _error_status(status)
    message = str(status.get("message") or name or "The request failed.")
    if http_status is None:
        return batch_output.failure_line(key, request_id, batch_output.CANCELLED, message)
    return batch_output.http_error_line(key, request_id, http_status, message, code=name)


def results_context(operation: dict) -> dict:
    """The `batch`, `model` and `created` that `output_line`/`identify` take, from a batch Operation."""
    meta = operation["metadata"]
    return {
        "batch": meta.get("name") or operation["name"],
        "model": model_name(meta.get("model", "")),
        "created": timestamp(meta.get("endTime") or meta.get("updateTime") or meta["createTime"]),
    }


def inline_results(output: dict) -> list:
    """The results of an inline batch (each `{metadata: {key}, response|error}`), from `batch_output_of`."""
    return (output.get("inlinedResponses") or {}).get("inlinedResponses") or []


# §C.4 Operation -> Batch


timestamp = shapes.unix  # RFC 3339 (nanosecond fractions too) -> Unix seconds


def native_state(operation: dict) -> str | None:
    """Gemini's own state name without its prefix (BATCH_STATE_X and JOB_STATE_X both give X)."""
    raw = (operation.get("metadata") or {}).get("state")
    if not isinstance(raw, str):
        return None
    for prefix in STATE_PREFIXES:
        if raw.startswith(prefix):
            return raw[len(prefix):]
    return raw


def known_state(operation: dict) -> bool:
    """Whether STATES maps the Operation's state (else `state` used its fallback)."""
    return native_state(operation) in STATES


def state(operation: dict) -> str:
    """The OpenAI status of a batch Operation.

    A state not in STATES (newer than this table, or missing) is `completed` if Gemini says the batch
    ended (`done`, or an `endTime`), so whatever results there are get offered, else `in_progress`.
    """
    name = native_state(operation)
    if name in STATES:
        return STATES[name]
    ended = operation.get("done") is True or bool((operation.get("metadata") or {}).get("endTime"))
    return "completed" if ended else "in_progress"


def request_counts(stats: dict | None) -> dict:
    """§0.2: `batchStats` (int64 as strings, zeros omitted) -> OpenAI request_counts."""
    stats = stats or {}
    return {
        "total": int(stats.get("requestCount", "0")),
        "completed": int(stats.get("successfulRequestCount", "0")),
        "failed": int(stats.get("failedRequestCount", "0")),
    }


def batch_output_of(operation: dict) -> dict:
    """Where a batch's results are: `{"responsesFile": ...}` or `{"inlinedResponses": ...}`, or {}."""
    for output in (operation.get("response"), operation.get("metadata", {}).get("output")):
        if output and (output.get("responsesFile") or output.get("inlinedResponses")):
            return output
    return {}


def model_name(model: str) -> str:
    return model.removeprefix("models/")


def batch_object(
    operation: dict,
    *,
    encode_batch: Callable[[str], str],
    encode_file: Callable[[str, str], str],
    cancelling_at: int | None = None,
    endpoint: str = CHAT_COMPLETIONS,
) -> dict:
    """A Gemini batch Operation as an OpenAI Batch (of `endpoint`, which the Operation does not name).

    `encode_batch(name)` / `encode_file(name, kind)` make gateway IDs. `cancelling_at` is set right
    after a cancel call: a batch still in flight is then reported as `cancelling`.
    """
    meta = operation["metadata"]
    name = meta.get("name") or operation["name"]
    status = state(operation)
    if cancelling_at is not None and status in IN_FLIGHT:
        status = "cancelling"
    created = timestamp(meta["createTime"])
    file_name = (meta.get("inputConfig") or {}).get("fileName")
    # Both files once there are results, whatever the counts say: only reading the results tells
    # whether a line could not be converted (it goes to the error file), so it must always be reachable.
    results = bool(batch_output_of(operation))
    error = operation.get("error")
    code = (error.get("status") or RPC_CODE_NAMES.get(error.get("code"), str(error.get("code", "")))) if error else None
    return shapes.batch(
        id=encode_batch(name), status=status, created_at=created, endpoint=endpoint,
        input_file_id=encode_file(file_name, "file") if file_name else "",
        model=model_name(meta["model"]) if meta.get("model") else None,
        request_counts=request_counts(meta.get("batchStats")), expires_at=created + BATCH_EXPIRY_SECONDS,
        # A cancel just made, or Gemini's own CANCELLING (since its last update).
        cancelling_at=(cancelling_at or timestamp(meta.get("updateTime"))) if status == "cancelling" else None,
        ended_at=timestamp(meta.get("endTime") or meta.get("updateTime")),
        output_file_id=encode_file(name, "output") if results else None,
        error_file_id=encode_file(name, "errors") if results else None,
        errors=shapes.batch_errors(code or None, error.get("message")) if error else None,
    )


# §C.2 File -> FileObject


def file_object(file: dict, *, file_id: str, filename: str | None = None, purpose: str | None = None,
                size: int | None = None) -> dict:
    """A Gemini File as an OpenAI FileObject; the gateway's stored name, purpose and size win."""
    status = FILE_STATUSES.get(file.get("state", "STATE_UNSPECIFIED"), FILE_STATUS_FALLBACK)
    if purpose is None:
        if file.get("source") in FILE_SOURCE_PURPOSES:
            purpose = FILE_SOURCE_PURPOSES[file["source"]]
        elif file.get("mimeType") in JSONL_MIME_TYPES:
            purpose = "batch"
        else:
            purpose = "user_data"
    return shapes.file_object(
        id=file_id, bytes=size if size is not None else int(file.get("sizeBytes", "0")),
        created_at=timestamp(file["createTime"]), filename=filename or file.get("displayName") or file["name"],
        purpose=purpose, status=status, expires_at=timestamp(file.get("expirationTime")),
        status_details=(file.get("error") or {}).get("message") if status == "error" else None,
    )


def results_file_object(operation: dict, *, file_id: str, kind: str, size: int) -> dict:
    """The FileObject of a batch's output (`kind` "output") or error ("errors") file.

    `size` is the size of Gemini's results file: the converted file's size is not known without
    converting it, so this is an estimate.
    """
    meta = operation["metadata"]
    suffix = (meta.get("name") or operation["name"]).rpartition("/")[2]
    return shapes.file_object(
        id=file_id, bytes=size, filename=f"batch_{suffix}_{kind}.jsonl", purpose="batch_output",
        created_at=timestamp(meta.get("endTime") or meta.get("updateTime") or meta["createTime"]),
    )
