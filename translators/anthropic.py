"""OpenAI batch shapes <-> Anthropic Message Batches (providers.md §B, §0.1, §0.2, §A.8).

Pure: dicts in, dicts out. No HTTP, no Flask, no config, no clock. Client input Anthropic cannot
honour raises `errors.BadRequest` naming the field.

Public functions:
- `chat_to_params(body, default_max_tokens=..., sampling=..., model=...)`: an OpenAI chat-completions
  body -> Messages params (also used by the Bedrock provider for Claude models).
- `SamplingRules`: which of temperature/top_p/top_k a Claude model takes, per API version and model.
- `responses_to_params(body, ...)` / `completion_to_params(body, ...)`: the same for a Responses or a
  legacy completions body (`TO_PARAMS` picks one per line url; `check_endpoint` refuses the others,
  `/v1/embeddings` with the reason: Anthropic has no embeddings model).
- `message_to_chat_completion(message, created=...)`: an Anthropic Message -> OpenAI chat.completion;
  `message_to_response` / `message_to_completion`: -> a Responses `response` / a `text_completion`
  (`FROM_MESSAGE` picks one per endpoint).
- `batch_request(item, ..., endpoint=...)`: one inline item or batch-file line -> `{"custom_id", "params"}`.
- `with_model(params, model)`: params with the batch's model when they name none.
- `result_line(line, ...)`: one line of a batch's results JSONL -> one OpenAI output/error line.
- `processing_status(native)`: a MessageBatch's processing status, with the fallback below.
- `openai_batch(natives, ...)`: one or more MessageBatch objects (a split batch) -> an OpenAI Batch.
- `to_unix(text)`: an RFC 3339 time -> Unix seconds.

Replies are read tolerantly (the official `anthropic` SDK types are the reference; the tables below
name every value they declare, and tests/test_anthropic_sdk_values.py fails when a new SDK declares
one that is in no table):
- an unknown `stop_reason` gives `finish_reason` "stop" (`batch_output.finish_reason`); the
  Anthropic value is kept on the choice as `native_finish_reason`;
- content blocks other than `text` and `tool_use` are skipped, known or not (`SKIPPED_BLOCKS`);
- an errored result with an unknown error type is status `batch_output.UNKNOWN_ERROR_STATUS` (500)
  with the Anthropic type as `code`;
- an unknown result `type` raises KeyError: there is no telling whether the request ran, so the
  caller (`batch_output.converted_lines`) turns the line into an `unconvertible_result` error line
  that carries Anthropic's own line;
- an unknown `processing_status` never fails a batch: the Message Batch counts as ended when it
  has an `ended_at` (then the batch is completed, expired or cancelled by the usual rules, with
  its results offered if Anthropic gives a `results_url`), else as still in progress.
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import functools
import json
import re
from dataclasses import dataclass

from errors import BadRequest
from translators import batch_output
from translators import openai_shapes as shapes
from translators.claude_models import NO_SAMPLING_MODELS, TEMPERATURE_AND_TOP_P_MODELS
from translators.typed_lines import UNSET, ChatBody, ChatLine

CHAT_COMPLETIONS, RESPONSES, COMPLETIONS, EMBEDDINGS = (
    shapes.CHAT_COMPLETIONS, shapes.RESPONSES, shapes.COMPLETIONS, shapes.EMBEDDINGS)
CUSTOM_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")

# §B.7: Anthropic stop_reason (the SDK's `StopReason`) -> OpenAI finish_reason. Unknown: "stop".
FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}

# Response content blocks (the SDK's `ContentBlock` union) that have a chat.completion counterpart.
HANDLED_BLOCKS = frozenset({"text", "tool_use"})
# The other blocks of that union: reasoning and server-side tool traffic, which a chat.completion
# has no place for. They are left out, as is any block type not listed anywhere.
SKIPPED_BLOCKS = frozenset({
    "thinking", "redacted_thinking", "server_tool_use", "web_search_tool_result", "web_fetch_tool_result",
    "code_execution_tool_result", "bash_code_execution_tool_result", "text_editor_code_execution_tool_result",
    "tool_search_tool_result", "container_upload",
})

# §B.4: Anthropic error type (the SDK's `ErrorType`) -> HTTP status, for errored results. The SDK's
# exceptions give 409 to ConflictError and 412 to PreconditionFailedError; `request_too_large` is
# documented (413) though the SDK does not list it. Unknown: `batch_output.UNKNOWN_ERROR_STATUS`.
ERROR_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "conflict_error": 409,
    "memory_path_conflict_error": 409,
    "memory_precondition_failed_error": 412,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}

# §B.3: result types (the SDK's `MessageBatchResult` union). `succeeded` and `errored` are
# converted; the others are requests that never ran, with their OpenAI error code.
SUCCEEDED, ERRORED = "succeeded", "errored"
NOT_RUN = {"expired": batch_output.EXPIRED, "canceled": batch_output.CANCELLED}
RESULT_TYPES = frozenset({SUCCEEDED, ERRORED, *NOT_RUN})

# §0.1: MessageBatch processing_status (the SDK's Literal) -> OpenAI status while it runs; `ended`
# is decided from the counts (`batch_status`). An unknown status: see `processing_status`.
ENDED = "ended"
IN_FLIGHT_STATUS = {"in_progress": "in_progress", "canceling": "cancelling"}
PROCESSING_STATUSES = frozenset({ENDED, *IN_FLIGHT_STATUS})


# §B.6: OpenAI tool_choice strings -> Anthropic tool_choice.
TOOL_CHOICE = {"auto": {"type": "auto"}, "required": {"type": "any"}, "none": {"type": "none"}}

# Chat fields that are accepted when they ask for OpenAI's default, and rejected otherwise.
NO_OP_VALUES: dict[str, tuple] = {
    "n": (None, 1),
    "stream": (None, False),
    "logprobs": (None, False),
    "top_logprobs": (None, 0),
    "presence_penalty": (None, 0, 0.0),
    "frequency_penalty": (None, 0, 0.0),
    "seed": (None,),
    "logit_bias": (None, {}),
    "store": (None, False),
    "metadata": (None, {}),
    "service_tier": (None, "auto", "default"),
    "modalities": (None, ["text"]),
    "stream_options": (None,),
    "reasoning_effort": (None,),
    "verbosity": (None,),
    "prediction": (None,),
    "audio": (None,),
    "web_search_options": (None,),
    "functions": (None,),
    "function_call": (None,),
    "prompt_cache_key": (None,),
}

# Chat fields translated below.
HANDLED = frozenset({
    "model", "messages", "max_tokens", "max_completion_tokens", "temperature", "top_p", "stop", "user",
    "safety_identifier", "tools", "tool_choice", "parallel_tool_calls", "response_format",
})

_DATA_URL = re.compile(r"^data:([\w.+-]+/[\w.+-]+);base64,(.*)$", re.DOTALL)

# The image media types Anthropic's image blocks take (`Base64ImageSourceParam`).
IMAGE_MEDIA_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")
# Document sources by media type: PDFs go as base64, plain text as a `text` source (the API
# refuses a base64 source of any other type).
PDF, PLAIN_TEXT = "application/pdf", "text/plain"
_DOCUMENT_EXTENSIONS = {".pdf": PDF, ".txt": PLAIN_TEXT}

# Sampling parameters and the rules that govern them (README "Provider notes").
SAMPLING_FIELDS = ("temperature", "top_p", "top_k")
# API version 2026-10-21 removed temperature, top_p and top_k from the Messages API (400 even at defaults).
NO_SAMPLING_SINCE = "2026-10-21"
# Which models take which: NO_SAMPLING_MODELS and TEMPERATURE_AND_TOP_P_MODELS (translators/claude_models.py).


def claude_name(model: str) -> str:
    """A Claude model ID without a Bedrock/Vertex prefix: `us.anthropic.claude-x-v1:0` -> `claude-x-v1:0`."""
    at = model.find("claude")
    return model[at:] if at >= 0 else model


@dataclass(frozen=True)
class SamplingRules:
    """Which of temperature, top_p and top_k a request may carry, by API version and model.

    `api_version` is the `anthropic-version` the gateway sends (None on Bedrock, whose Claude body
    follows 2023-06-01). Model patterns are `fnmatch` globs over `claude_name(model)`.
    """

    api_version: str | None = None
    no_sampling_models: tuple[str, ...] = NO_SAMPLING_MODELS
    temperature_and_top_p_models: tuple[str, ...] = TEMPERATURE_AND_TOP_P_MODELS
    enforced: bool = True  # False for models that are not Claude (Bedrock Converse)

    def check(self, model: str | None, params: dict, where: str = "") -> None:
        """A 400 naming the first sampling field the target refuses; `model` None checks the version only."""
        if not self.enforced:
            return
        present = [name for name in SAMPLING_FIELDS if params.get(name) is not None]
        if not present:
            return
        if self.api_version and self.api_version >= NO_SAMPLING_SINCE:
            raise BadRequest(f"{where}{present[0]} is not accepted by Anthropic API version {self.api_version} "
                             f"(temperature, top_p and top_k were removed in {NO_SAMPLING_SINCE}).",
                             param=where + present[0], code="unsupported_parameter")
        if model is None:
            return
        decide = _model_sampling if type(model) is str else _model_sampling.__wrapped__  # unhashable: as before
        refused, both = decide(model, self.no_sampling_models, self.temperature_and_top_p_models)
        if refused:
            raise BadRequest(f"{where}{present[0]} is not accepted by {model} (it takes no temperature, top_p or "
                             "top_k; DEEPINTSHIELD_ANTHROPIC_NO_SAMPLING_MODELS).",
                             param=where + present[0], code="unsupported_parameter")
        if "temperature" in present and "top_p" in present and not both:
            raise BadRequest(f"{where}temperature and {where}top_p cannot both be given for {model}; give only one "
                             "(DEEPINTSHIELD_ANTHROPIC_TEMPERATURE_AND_TOP_P_MODELS lists the models that take both).",
                             param=where + "top_p", code="unsupported_parameter")


UNRESTRICTED = SamplingRules(enforced=False)


@functools.lru_cache(maxsize=1024)
def _model_sampling(model: str, no_sampling: tuple[str, ...], both: tuple[str, ...]) -> tuple[bool, bool]:
    """(takes no sampling field, takes temperature and top_p together) for `model`: decided once per
    model (a batch file names one or a few), as the glob matching costs more than the rest of a line."""
    name = claude_name(model)
    return _matches(name, no_sampling), _matches(name, both)


def _matches(name: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)


def _unsupported(field: str, value: object) -> BadRequest:
    shown = json.dumps(value)
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    return BadRequest(f"{field}={shown} is not supported by Anthropic.", param=field, code="unsupported_parameter")


def _bad(field: str, text: str) -> BadRequest:
    return BadRequest(f"{field} {text}.", param=field)


# OpenAI chat request -> Anthropic Messages params (§B.6)


def chat_to_params(body: dict, *, default_max_tokens: int | None, sampling: SamplingRules = SamplingRules(),
                   model: str | None = None) -> dict:
    """An OpenAI chat-completions request body -> Anthropic Messages create params.

    `sampling` decides which of temperature/top_p the target takes; `model` is the model the request
    runs on when the body names none (None: not known yet, only the API-version rule applies).

    `model` is copied when the body has one. `system`/`developer` messages become the top-level
    `system`; `tool` messages become user `tool_result` blocks; consecutive messages of one role are
    merged (Anthropic wants user/assistant turns). `max_tokens` falls back to `default_max_tokens`
    (None: left out, for a caller that adds the configured one later, as a gateway-run line's `send` does).
    Fields Anthropic cannot honour (`n > 1`, `logprobs`, penalties, `seed`, temperature > 1, unknown
    fields, ...) raise `errors.BadRequest` naming the field.
    """
    params = _common(body, HANDLED, NO_OP_VALUES)
    max_tokens = _max_tokens(body, default_max_tokens, ("max_completion_tokens", "max_tokens"))
    if max_tokens is not None:
        params["max_tokens"] = max_tokens
    system, messages = _messages(body.get("messages"))
    if system is not None:
        params["system"] = system
    params["messages"] = messages
    params.update(_sampling(body))
    sampling.check(params.get("model") or model, params)
    # Each of the optional fields below is looked at only when the body has it (most have none).
    if "safety_identifier" in body or "user" in body:
        params.update(_user(body))
    if "tools" in body or "tool_choice" in body or "parallel_tool_calls" in body:
        params.update(_tools(body))
    if "response_format" in body:
        fmt = _response_format(body["response_format"])
        if fmt is not None:
            params["output_config"] = {"format": fmt}
    return params


def _common(body: object, handled: frozenset[str], no_op: dict[str, tuple]) -> dict:
    """Check a body's fields against an endpoint's tables; params with the body's `model` if it names one.

    A field in `handled` is translated by the caller; one in `no_op` is accepted only at the values
    listed (OpenAI's defaults: nothing to translate); any other field is refused.
    """
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object.", param="body")
    for key, value in body.items():
        if key in handled:
            continue
        if key not in no_op or value not in no_op[key]:
            raise _unsupported(key, value)
    params: dict = {}
    if body.get("model") is not None:
        if not isinstance(body["model"], str) or not body["model"]:
            raise _bad("model", "must be a non-empty string")
        params["model"] = body["model"]
    return params


def _user(body: dict) -> dict:
    """`safety_identifier` (else `user`) as Anthropic's `metadata.user_id`, its only metadata field."""
    user = body.get("safety_identifier", body.get("user"))
    if user is None:
        return {}
    if not isinstance(user, str):
        raise _bad("safety_identifier" if "safety_identifier" in body else "user", "must be a string")
    return {"metadata": {"user_id": user}}


def _max_tokens(body: dict, default: int | None, fields: tuple[str, ...]) -> int | None:
    """The first of `fields` the body sets (an integer >= 1), else `default`."""
    for field in fields:
        value = body.get(field)
        if value is None:
            continue
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise _bad(field, "must be an integer >= 1")
        return value
    return default


def _sampling(body: dict) -> dict:
    out: dict = {}
    temperature = body.get("temperature")
    if temperature is not None:
        if not isinstance(temperature, (int, float)) or isinstance(temperature, bool) or temperature < 0:
            raise _bad("temperature", "must be a number >= 0")
        if temperature > 1:
            # OpenAI allows 0-2, Anthropic 0-1; rescaling would silently change the request.
            raise BadRequest(f"temperature={temperature} is above Anthropic's maximum of 1.", param="temperature",
                             code="unsupported_parameter")
        out["temperature"] = temperature
    top_p = body.get("top_p")
    if top_p is not None:
        if not isinstance(top_p, (int, float)) or isinstance(top_p, bool) or not 0 <= top_p <= 1:
            raise _bad("top_p", "must be a number between 0 and 1")
        out["top_p"] = top_p
    stop = body.get("stop")
    if stop is not None:
        stops = [stop] if isinstance(stop, str) else stop
        if not isinstance(stops, list) or not all(isinstance(s, str) for s in stops):
            raise _bad("stop", "must be a string or a list of strings")
        if stops:
            out["stop_sequences"] = stops
    return out


def _messages(messages: object) -> tuple[str | list | None, list[dict]]:
    if not isinstance(messages, list) or not messages:
        raise _bad("messages", "must be a non-empty list")
    system: list[str] = []
    turns: list[dict] = []
    for index, message in enumerate(messages):
        if type(message) is dict:
            # Fast path: a plain-text system or user message (most lines are only these).
            role, content = message.get("role"), message.get("content")
            if type(content) is str:
                if role == "system" or role == "developer":
                    system.append(content)
                    continue
                if role == "user":
                    if turns and turns[-1]["role"] == "user":
                        _append(turns, {"role": "user", "content": content})
                    else:
                        turns.append({"role": "user", "content": content})
                    continue
        where = f"messages[{index}]"
        if not isinstance(message, dict):
            raise _bad(where, "must be an object")
        role = message.get("role")
        if role in ("system", "developer"):
            system.extend(_texts(message.get("content"), f"{where}.content"))
            continue
        if role == "user":
            turn = {"role": "user", "content": _user_content(message.get("content"), f"{where}.content")}
        elif role == "assistant":
            turn = {"role": "assistant", "content": _assistant_content(message, where)}
        elif role == "tool":
            turn = {"role": "user", "content": [_tool_result(message, where)]}
        else:
            raise _unsupported(f"{where}.role", role)
        _append(turns, turn)
    if not turns:
        raise _bad("messages", "must hold at least one user or assistant message")
    if not system:
        return None, turns
    if len(system) == 1:
        return system[0], turns
    return [{"type": "text", "text": text} for text in system], turns


def _append(turns: list[dict], turn: dict) -> None:
    """Add a turn, merging it into the previous one when both have the same role."""
    if turns and turns[-1]["role"] == turn["role"]:
        previous = turns[-1]
        previous["content"] = _as_blocks(previous["content"]) + _as_blocks(turn["content"])
        return
    turns.append(turn)


def _as_blocks(content: str | list) -> list:
    return [{"type": "text", "text": content}] if isinstance(content, str) else list(content)


def _texts(content: object, where: str) -> list[str]:
    """The text of a system/developer message: a string or a list of text parts."""
    if isinstance(content, str):
        return [content]
    if isinstance(content, list):
        texts = []
        for index, part in enumerate(content):
            if not isinstance(part, dict) or part.get("type") != "text" or not isinstance(part.get("text"), str):
                raise _bad(f"{where}[{index}]", "must be a text part")
            texts.append(part["text"])
        return texts
    raise _bad(where, "must be a string or a list of text parts")


def _user_content(content: object, where: str) -> str | list:
    if isinstance(content, str):
        return content
    if not isinstance(content, list) or not content:
        raise _bad(where, "must be a string or a non-empty list of content parts")
    return [_user_part(part, f"{where}[{index}]") for index, part in enumerate(content)]


def _user_part(part: object, where: str) -> dict:
    if not isinstance(part, dict):
        raise _bad(where, "must be an object")
    kind = part.get("type")
    if kind == "text":
        if not isinstance(part.get("text"), str):
            raise _bad(f"{where}.text", "must be a string")
        return {"type": "text", "text": part["text"]}
    if kind == "image_url":
        image = part.get("image_url")
        url = image.get("url") if isinstance(image, dict) else image
        if not isinstance(url, str):
            raise _bad(f"{where}.image_url.url", "must be a string")
        return {"type": "image", "source": _image_source(url, f"{where}.image_url.url")}
    if kind == "file":
        file = part.get("file") if isinstance(part.get("file"), dict) else {}
        data = file.get("file_data")
        if not isinstance(data, str):
            raise _unsupported(f"{where}.file", file)  # a file_id cannot be resolved on Anthropic's side
        return {"type": "document", "source": _document_source(data, file.get("filename"), f"{where}.file.file_data")}
    raise _unsupported(f"{where}.type", kind)


def _image_source(url: str, where: str) -> dict:
    """A base64 source for a data URL of one of Anthropic's four image types, a URL source for http(s)."""
    match = _DATA_URL.fullmatch(url)
    if match:
        if match[1] not in IMAGE_MEDIA_TYPES:
            raise BadRequest(f"{where}: image type {match[1]!r} is not supported by Anthropic (it takes "
                             f"{', '.join(IMAGE_MEDIA_TYPES)}).", param=where, code="unsupported_parameter")
        return {"type": "base64", "media_type": match[1], "data": match[2]}
    if url.startswith(("https://", "http://")):
        return {"type": "url", "url": url}
    raise _bad(where, "must be an http(s) URL or a base64 data URL")


def _document_source(data: str, filename: object, where: str) -> dict:
    """A document source for OpenAI's `file_data`: a data URL, or plain base64 typed by `filename`.

    PDFs go as a base64 source and plain text as a `text` source; any other type is refused, as
    Anthropic refuses it.
    """
    match = _DATA_URL.fullmatch(data)
    if match:
        media_type, payload = match[1], match[2]
    else:
        extension = "." + filename.rpartition(".")[2].lower() if isinstance(filename, str) and "." in filename else ""
        media_type, payload = _DOCUMENT_EXTENSIONS.get(extension), data
        if media_type is None:
            raise BadRequest(f"{where} must be a base64 data URL (data:application/pdf;base64,...) or come with a "
                             "filename ending in .pdf or .txt.", param=where, code="unsupported_parameter")
    if media_type == PDF:
        return {"type": "base64", "media_type": PDF, "data": payload}
    if media_type == PLAIN_TEXT:
        try:
            text = base64.b64decode(payload, validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            raise _bad(where, "is not base64-encoded UTF-8 text") from None
        return {"type": "text", "media_type": PLAIN_TEXT, "data": text}
    raise BadRequest(f"{where}: document type {media_type!r} is not supported by Anthropic (it takes "
                     f"{PDF} and {PLAIN_TEXT}).", param=where, code="unsupported_parameter")


def _assistant_content(message: dict, where: str) -> str | list:
    content = message.get("content")
    blocks: list[dict] = []
    if isinstance(content, str):
        if content:
            blocks.append({"type": "text", "text": content})
    elif isinstance(content, list):
        for index, part in enumerate(content):
            if not isinstance(part, dict) or part.get("type") not in ("text", "refusal"):
                raise _bad(f"{where}.content[{index}]", "must be a text or refusal part")
            text = part.get("text") if part["type"] == "text" else part.get("refusal")
            if not isinstance(text, str):
                raise _bad(f"{where}.content[{index}]", "has no text")
            blocks.append({"type": "text", "text": text})
    elif content is not None:
        raise _bad(f"{where}.content", "must be a string, a list of parts or null")
    if message.get("function_call") is not None:
        raise _unsupported(f"{where}.function_call", message["function_call"])
    for index, call in enumerate(message.get("tool_calls") or []):
        blocks.append(_tool_use(call, f"{where}.tool_calls[{index}]"))
    if not blocks:
        raise _bad(where, "has neither content nor tool_calls")
    if len(blocks) == 1 and blocks[0]["type"] == "text":
        return blocks[0]["text"]
    return blocks


def _tool_use(call: object, where: str) -> dict:
    if not isinstance(call, dict) or call.get("type", "function") != "function":
        raise _bad(where, "must be a function tool call")
    function = call.get("function") or {}
    name, arguments = function.get("name"), function.get("arguments") or "{}"
    if not isinstance(call.get("id"), str) or not isinstance(name, str):
        raise _bad(where, "needs an id and function.name")
    return {"type": "tool_use", "id": call["id"], "name": name,
            "input": _arguments(arguments, f"{where}.function.arguments")}


def _arguments(arguments: object, where: str) -> dict:
    """A tool call's `arguments` (a JSON text, or already an object) -> Anthropic's `input` object."""
    if arguments is None or arguments == "":
        return {}
    try:
        parsed = json.loads(arguments) if isinstance(arguments, str) else arguments
    except ValueError:
        raise _bad(where, "is not valid JSON") from None
    if not isinstance(parsed, dict):
        raise _bad(where, "must be a JSON object")
    return parsed


def _tool_result(message: dict, where: str) -> dict:
    tool_call_id = message.get("tool_call_id")
    if not isinstance(tool_call_id, str) or not tool_call_id:
        raise _bad(f"{where}.tool_call_id", "must be a non-empty string")
    content = message.get("content")
    if isinstance(content, list):
        content = [{"type": "text", "text": text} for text in _texts(content, f"{where}.content")]
    elif not isinstance(content, str):
        raise _bad(f"{where}.content", "must be a string or a list of text parts")
    return {"type": "tool_result", "tool_use_id": tool_call_id, "content": content}


def _tools(body: dict) -> dict:
    out: dict = {}
    tools = body.get("tools")
    if tools is not None:
        if not isinstance(tools, list):
            raise _bad("tools", "must be a list")
        converted = [_tool(tool, f"tools[{index}]") for index, tool in enumerate(tools)]
        if converted:
            out["tools"] = converted
    out.update(_tool_choice(body.get("tool_choice"), body.get("parallel_tool_calls"), "function.name"))
    return out


def _tool_choice(choice: object, parallel: object, name_path: str) -> dict:
    """`tool_choice` and `parallel_tool_calls` -> Anthropic `tool_choice` (§B.6).

    A named choice `{"type": "function", ...}` holds its name at `name_path` under the choice:
    `function.name` in chat, `name` in the Responses API (which is flat).
    """
    out: dict = {}
    if choice is not None:
        if isinstance(choice, str):
            if choice not in TOOL_CHOICE:
                raise _unsupported("tool_choice", choice)
            out["tool_choice"] = dict(TOOL_CHOICE[choice])
        elif isinstance(choice, dict) and choice.get("type") == "function":
            name: object = choice
            for key in name_path.split("."):
                name = name.get(key) if isinstance(name, dict) else None
            if not isinstance(name, str):
                raise _bad(f"tool_choice.{name_path}", "must be a string")
            out["tool_choice"] = {"type": "tool", "name": name}
        else:
            raise _unsupported("tool_choice", choice)
    if parallel is False and out.get("tool_choice", {}).get("type") != "none":
        out.setdefault("tool_choice", {"type": "auto"})["disable_parallel_tool_use"] = True
    return out


def _tool(tool: object, where: str) -> dict:
    """A chat tool: `{"type": "function", "function": {...}}`."""
    if not isinstance(tool, dict) or tool.get("type") != "function" or not isinstance(tool.get("function"), dict):
        raise _unsupported(f"{where}.type", tool.get("type") if isinstance(tool, dict) else tool)
    return _function_tool(tool["function"], f"{where}.function")


def _function_tool(function: dict, where: str) -> dict:
    """A function's name, description, parameters and strict flag -> an Anthropic custom tool."""
    if not isinstance(function.get("name"), str):
        raise _bad(f"{where}.name", "must be a string")
    out = {"name": function["name"]}
    if function.get("description") is not None:
        out["description"] = function["description"]
    out["input_schema"] = function.get("parameters") or {"type": "object", "properties": {}}
    if function.get("strict") is not None:
        out["strict"] = bool(function["strict"])
    return out


def _response_format(fmt: object) -> dict | None:
    if fmt is None or (isinstance(fmt, dict) and fmt.get("type") == "text"):
        return None
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        schema = (fmt.get("json_schema") or {}).get("schema")
        if not isinstance(schema, dict):
            raise _bad("response_format.json_schema.schema", "must be an object")
        return {"type": "json_schema", "schema": schema}
    raise _unsupported("response_format", fmt)


# OpenAI Responses request -> Anthropic Messages params (endpoints.md §2.1-§2.5)

# Responses fields translated below.
RESPONSES_HANDLED = frozenset({
    "model", "input", "instructions", "max_output_tokens", "temperature", "top_p", "tools", "tool_choice",
    "parallel_tool_calls", "text", "reasoning", "metadata", "user", "safety_identifier",
})

# Responses fields accepted at the values listed, refused otherwise. Stored state (previous_response_id,
# conversation, prompt) cannot work: each line is on its own and the gateway keeps no responses.
RESPONSES_NO_OP: dict[str, tuple] = {
    "stream": (None, False),
    "stream_options": (None,),
    "background": (None, False),
    "store": (None, False, True),  # nothing is stored either way; the Response says store=false
    "include": (None, []),
    "truncation": (None, "disabled"),  # "auto" drops context; Anthropic errors on an overflow instead
    "service_tier": (None, "auto", "default"),
    "top_logprobs": (None, 0),
    "previous_response_id": (None,),
    "conversation": (None,),
    "prompt": (None,),
    "prompt_cache_key": (None,),
    "max_tool_calls": (None,),
}

# Input items that hold no message for Anthropic: OpenAI's reasoning (its encrypted content is
# OpenAI-only) is left out, as endpoints.md §2.2 says. Any item type in no table is refused.
DROPPED_ITEMS = frozenset({"reasoning"})

# `reasoning.effort` -> Anthropic `output_config.effort`; None: nothing is sent ("none" asks for
# no extra effort, which is Anthropic's behaviour without the field).
EFFORTS = {"none": None, "minimal": "low", "low": "low", "medium": "medium", "high": "high", "xhigh": "xhigh",
           "max": "max"}

# `text.verbosity` values accepted: OpenAI's default only (Anthropic has no such control).
VERBOSITY = (None, "medium")


def responses_to_params(body: dict, *, default_max_tokens: int | None, sampling: SamplingRules = SamplingRules(),
                        model: str | None = None) -> dict:
    """An OpenAI Responses create body -> Anthropic Messages create params.

    Same contract as `chat_to_params`. `instructions` and system/developer messages become the
    top-level `system`; `function_call` items become assistant `tool_use` blocks and
    `function_call_output` items user `tool_result` blocks, merged into alternating turns;
    `text.format` json_schema and `reasoning.effort` go to `output_config`. `metadata` is checked
    and kept for the reply (Anthropic's own metadata takes only `user_id`).
    """
    params = _common(body, RESPONSES_HANDLED, RESPONSES_NO_OP)
    max_tokens = _max_tokens(body, default_max_tokens, ("max_output_tokens",))
    if max_tokens is not None:
        params["max_tokens"] = max_tokens
    system, messages = _input(body.get("input"), body.get("instructions"))
    if system is not None:
        params["system"] = system
    params["messages"] = messages
    params.update(_sampling(body))
    sampling.check(params.get("model") or model, params)
    params.update(_user(body))
    params.update(_response_tools(body))
    output_config = {**_text_format(body.get("text")), **_effort(body.get("reasoning"))}
    if output_config:
        params["output_config"] = output_config
    _metadata(body.get("metadata"))
    return params


def _input(value: object, instructions: object) -> tuple[str | list | None, list[dict]]:
    """`instructions` and `input` -> Anthropic's `system` and alternating `messages`."""
    system: list[str] = []
    if instructions is not None:
        if not isinstance(instructions, str):
            raise _bad("instructions", "must be a string")
        system.append(instructions)
    if isinstance(value, str):
        turns = [{"role": "user", "content": value}]
    elif isinstance(value, list) and value:
        turns = []
        for index, item in enumerate(value):
            turn = _input_item(item, f"input[{index}]")
            if turn is None:
                continue
            if turn["role"] == "system":
                system.extend(turn["content"])
            else:
                _append(turns, turn)
    else:
        raise _bad("input", "must be a string or a non-empty list of items")
    if not turns:
        raise _bad("input", "must hold at least one user or assistant message")
    if not system:
        return None, turns
    return (system[0] if len(system) == 1 else [{"type": "text", "text": text} for text in system]), turns


def _input_item(item: object, where: str) -> dict | None:
    """One input item -> a turn (role `system` carries the texts for `system`), or None to leave out."""
    if not isinstance(item, dict):
        raise _bad(where, "must be an object")
    kind = item.get("type", "message")  # an easy input message has no type
    if kind in DROPPED_ITEMS:
        return None
    convert = INPUT_ITEMS.get(kind)
    if convert is None:
        raise _unsupported(f"{where}.type", kind)
    return convert(item, where)


def _input_message(item: dict, where: str) -> dict:
    role, content = item.get("role"), item.get("content")
    if role in ("system", "developer"):
        return {"role": "system", "content": _input_texts(content, f"{where}.content")}
    if role == "user":
        return {"role": "user", "content": _input_content(content, f"{where}.content", USER_PARTS)}
    if role == "assistant":
        blocks = _input_content(content, f"{where}.content", ASSISTANT_PARTS)
        if isinstance(blocks, list) and len(blocks) == 1 and blocks[0]["type"] == "text":
            return {"role": "assistant", "content": blocks[0]["text"]}
        return {"role": "assistant", "content": blocks}
    raise _unsupported(f"{where}.role", role)


def _function_call(item: dict, where: str) -> dict:
    call_id, name = item.get("call_id"), item.get("name")
    if not isinstance(call_id, str) or not call_id:
        raise _bad(f"{where}.call_id", "must be a non-empty string")
    if not isinstance(name, str) or not name:
        raise _bad(f"{where}.name", "must be a non-empty string")
    arguments = _arguments(item.get("arguments"), f"{where}.arguments")
    return {"role": "assistant", "content": [{"type": "tool_use", "id": call_id, "name": name, "input": arguments}]}


def _function_call_output(item: dict, where: str) -> dict:
    call_id, output = item.get("call_id"), item.get("output")
    if not isinstance(call_id, str) or not call_id:
        raise _bad(f"{where}.call_id", "must be a non-empty string")
    if isinstance(output, list):
        content: str | list = [_part(part, f"{where}.output[{index}]", TOOL_OUTPUT_PARTS)
                               for index, part in enumerate(output)]
    elif isinstance(output, str):
        content = output
    else:
        raise _bad(f"{where}.output", "must be a string or a list of content parts")
    return {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call_id, "content": content}]}


def _input_texts(content: object, where: str) -> list[str]:
    """A system/developer message's text: a string or a list of `input_text` parts."""
    if isinstance(content, str):
        return [content]
    if isinstance(content, list):
        return [_part(part, f"{where}[{index}]", {"input_text": _text_part})["text"]
                for index, part in enumerate(content)]
    raise _bad(where, "must be a string or a list of input_text parts")


def _input_content(content: object, where: str, parts: dict) -> str | list:
    if isinstance(content, str):
        return content
    if not isinstance(content, list) or not content:
        raise _bad(where, "must be a string or a non-empty list of content parts")
    return [_part(part, f"{where}[{index}]", parts) for index, part in enumerate(content)]


def _part(part: object, where: str, table: dict) -> dict:
    """One content part through the table of the parts its place takes; any other type is refused."""
    if not isinstance(part, dict):
        raise _bad(where, "must be an object")
    convert = table.get(part.get("type"))
    if convert is None:
        raise _unsupported(f"{where}.type", part.get("type"))
    return convert(part, where)


def _text_part(part: dict, where: str) -> dict:
    if not isinstance(part.get("text"), str):
        raise _bad(f"{where}.text", "must be a string")
    return {"type": "text", "text": part["text"]}


def _refusal_part(part: dict, where: str) -> dict:
    """An earlier reply's refusal, given back as the assistant's text (as the chat translator does)."""
    if not isinstance(part.get("refusal"), str):
        raise _bad(f"{where}.refusal", "must be a string")
    return {"type": "text", "text": part["refusal"]}


def _input_image(part: dict, where: str) -> dict:
    if part.get("file_id") is not None:
        raise _unsupported(f"{where}.file_id", part["file_id"])  # an OpenAI file, which Anthropic cannot read
    url = part.get("image_url")
    if not isinstance(url, str):
        raise _bad(f"{where}.image_url", "must be a string")
    return {"type": "image", "source": _image_source(url, f"{where}.image_url")}


def _input_file(part: dict, where: str) -> dict:
    if part.get("file_id") is not None:
        raise _unsupported(f"{where}.file_id", part["file_id"])
    data, url = part.get("file_data"), part.get("file_url")
    if isinstance(data, str):
        return {"type": "document", "source": _document_source(data, part.get("filename"), f"{where}.file_data")}
    if isinstance(url, str) and url.startswith(("https://", "http://")):
        return {"type": "document", "source": {"type": "url", "url": url}}  # Anthropic reads PDFs by URL
    raise _bad(where, "needs file_data or an http(s) file_url")


# Which parts each place in the input takes.
USER_PARTS = {"input_text": _text_part, "input_image": _input_image, "input_file": _input_file}
ASSISTANT_PARTS = {"output_text": _text_part, "input_text": _text_part, "refusal": _refusal_part}
TOOL_OUTPUT_PARTS = USER_PARTS

# Input item type -> converter (a type in neither this table nor DROPPED_ITEMS is refused).
INPUT_ITEMS = {"message": _input_message, "function_call": _function_call,
               "function_call_output": _function_call_output}


def _response_tools(body: dict) -> dict:
    """Flat function tools (`{"type": "function", "name", ...}`) and the flat named tool choice."""
    out: dict = {}
    tools = body.get("tools")
    if tools is not None:
        if not isinstance(tools, list):
            raise _bad("tools", "must be a list")
        converted = []
        for index, tool in enumerate(tools):
            if not isinstance(tool, dict) or tool.get("type") != "function":
                # Hosted tools (web search, file search, ...) run on OpenAI's side.
                raise _unsupported(f"tools[{index}].type", tool.get("type") if isinstance(tool, dict) else tool)
            converted.append(_function_tool(tool, f"tools[{index}]"))
        if converted:
            out["tools"] = converted
    out.update(_tool_choice(body.get("tool_choice"), body.get("parallel_tool_calls"), "name"))
    return out


def _text_format(text: object) -> dict:
    """`text.format` -> `{"format": ...}` for `output_config` (json_schema only; flat in Responses)."""
    if text is None:
        return {}
    if not isinstance(text, dict):
        raise _bad("text", "must be an object")
    if text.get("verbosity") not in VERBOSITY:
        raise _unsupported("text.verbosity", text["verbosity"])
    extra = set(text) - {"format", "verbosity"}
    if extra:
        raise _unsupported(f"text.{sorted(extra)[0]}", text[sorted(extra)[0]])
    fmt = text.get("format")
    if fmt is None or (isinstance(fmt, dict) and fmt.get("type") == "text"):
        return {}
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        if not isinstance(fmt.get("schema"), dict):
            raise _bad("text.format.schema", "must be an object")
        if not isinstance(fmt.get("name"), str):  # OpenAI requires it, and the Response echoes the format
            raise _bad("text.format.name", "must be a string")
        return {"format": {"type": "json_schema", "schema": fmt["schema"]}}
    raise _unsupported("text.format", fmt)  # json_object: Anthropic has no schema-less JSON mode


def _effort(reasoning: object) -> dict:
    """`reasoning.effort` -> `{"effort": ...}` for `output_config`; summaries are refused (no counterpart)."""
    if reasoning is None:
        return {}
    if not isinstance(reasoning, dict):
        raise _bad("reasoning", "must be an object")
    for key, value in reasoning.items():
        if key != "effort" and value is not None:
            raise _unsupported(f"reasoning.{key}", value)
    effort = reasoning.get("effort")
    if effort is None:
        return {}
    if effort not in EFFORTS:
        raise _unsupported("reasoning.effort", effort)
    return {"effort": EFFORTS[effort]} if EFFORTS[effort] else {}


def _metadata(metadata: object) -> None:
    """OpenAI's rule for `metadata`: at most 16 string values under keys of at most 64 characters."""
    if metadata is None:
        return
    if not isinstance(metadata, dict) or len(metadata) > 16 or not all(
            isinstance(k, str) and len(k) <= 64 and isinstance(v, str) and len(v) <= 512
            for k, v in metadata.items()):
        raise _bad("metadata", "must map at most 16 keys (64 characters) to strings (512 characters)")


# OpenAI legacy completions request -> Anthropic Messages params (endpoints.md §4)

# Completions fields translated below.
COMPLETIONS_HANDLED = frozenset({"model", "prompt", "max_tokens", "temperature", "top_p", "stop", "user"})

# Completions fields accepted at OpenAI's defaults only: token-level controls a chat model does not have.
COMPLETIONS_NO_OP: dict[str, tuple] = {
    "n": (None, 1),
    "best_of": (None, 1),
    "stream": (None, False),
    "stream_options": (None,),
    "logprobs": (None,),
    "echo": (None, False),
    "suffix": (None,),
    "presence_penalty": (None, 0, 0.0),
    "frequency_penalty": (None, 0, 0.0),
    "seed": (None,),
    "logit_bias": (None, {}),
}


def completion_to_params(body: dict, *, default_max_tokens: int | None, sampling: SamplingRules = SamplingRules(),
                         model: str | None = None) -> dict:
    """An OpenAI completions body -> Anthropic Messages params: the prompt as one user message.

    Same contract as `chat_to_params`. One line is one Anthropic request, so `prompt` must be one
    text: a string or a list holding one string (more prompts, or token arrays, are refused).
    `max_tokens` falls back to `default_max_tokens` (not OpenAI's 16, which cuts most replies short).
    """
    params = _common(body, COMPLETIONS_HANDLED, COMPLETIONS_NO_OP)
    max_tokens = _max_tokens(body, default_max_tokens, ("max_tokens",))
    if max_tokens is not None:
        params["max_tokens"] = max_tokens
    params["messages"] = [{"role": "user", "content": _prompt(body.get("prompt"))}]
    params.update(_sampling(body))
    sampling.check(params.get("model") or model, params)
    params.update(_user(body))
    return params


def _prompt(prompt: object) -> str:
    if isinstance(prompt, list) and len(prompt) == 1:
        prompt = prompt[0]
    if isinstance(prompt, str) and prompt:
        return prompt
    if isinstance(prompt, list) and len(prompt) > 1 and all(isinstance(p, str) for p in prompt):
        raise BadRequest(f"prompt holds {len(prompt)} prompts; on Anthropic a line runs one prompt (give each "
                         "its own line).", param="prompt", code="unsupported_parameter")
    raise _bad("prompt", "must be a non-empty string or a list of one string (token arrays are not supported)")


# Line url -> its translator (every one has `chat_to_params`'s signature); the endpoints Anthropic runs.
TO_PARAMS = {CHAT_COMPLETIONS: chat_to_params, RESPONSES: responses_to_params, COMPLETIONS: completion_to_params}
# Batch endpoints Anthropic cannot run, with the reason the 400 gives.
REFUSED_ENDPOINTS = {EMBEDDINGS: "Anthropic has no embeddings model (it recommends Voyage AI); run embeddings "
                                 "batches on a provider that has one"}


# Batch items


def check_endpoint(endpoint: str, param: str = "endpoint") -> None:
    """A 400 for a batch endpoint or line url Anthropic cannot run (`REFUSED_ENDPOINTS` gives the reason)."""
    if endpoint in TO_PARAMS:
        return
    reason = REFUSED_ENDPOINTS.get(endpoint, "Anthropic has no counterpart for it")
    raise BadRequest(f"{endpoint!r} cannot run on Anthropic: {reason} (Anthropic runs "
                     f"{', '.join(TO_PARAMS)}).", param=param, code="unsupported_endpoint")


_OPENAI_ITEM_KEYS = frozenset({"custom_id", "method", "url", "body"})


def batch_request(item: object, *, default_max_tokens: int | None, sampling: SamplingRules = SamplingRules(),
                  model: str | None = None, endpoint: str = CHAT_COMPLETIONS) -> dict:
    """One inline `requests` item or batch-file line -> `{"custom_id", "params"}`.

    Anthropic-native `{custom_id, params}` items pass through unchanged after the checks (the
    sampling rules included); OpenAI lines `{custom_id, method, url, body}` (or `{custom_id, body}`)
    must have the batch's `endpoint` as `url` and are translated with its `TO_PARAMS` function.
    `model` is the batch's model for items that name none. Raises `BadRequest` with a field path
    relative to the item.
    """
    if not isinstance(item, dict):
        raise BadRequest("must be a JSON object.", param="")
    custom_id = item.get("custom_id")
    if not isinstance(custom_id, str) or not CUSTOM_ID.fullmatch(custom_id):
        raise BadRequest(f"custom_id {custom_id!r} must match ^[a-zA-Z0-9_-]{{1,64}}$ (Anthropic's rule).",
                         param="custom_id", code="invalid_custom_id")
    if "params" in item and "body" not in item:
        extra = set(item) - {"custom_id", "params"}
        if extra:
            raise BadRequest(f"unexpected keys {sorted(extra)} next to params.", param=sorted(extra)[0])
        params = item["params"]
        if not isinstance(params, dict):
            raise BadRequest("params must be an object.", param="params")
        if params.get("stream") is True:
            raise BadRequest("params.stream=true is not allowed in a batch.", param="params.stream")
        sampling.check(params.get("model") or model, params, "params.")
        return {"custom_id": custom_id, "params": params}
    if "body" not in item:
        raise BadRequest('needs "params" (Anthropic form) or "body" (OpenAI form).', param="body")
    extra = set(item) - _OPENAI_ITEM_KEYS if not item.keys() <= _OPENAI_ITEM_KEYS else None  # no set per line
    if extra:
        raise BadRequest(f"unexpected keys {sorted(extra)}.", param=sorted(extra)[0])
    if item.get("method", "POST") != "POST":
        raise BadRequest('method must be "POST".', param="method")
    url = item.get("url", endpoint)
    check_endpoint(url, "url")
    if url != endpoint:
        raise BadRequest(f"url {url!r} is not the batch's endpoint {endpoint!r}.", param="url")
    body = item["body"]
    if isinstance(body, dict) and body.get("stream") is True:
        raise BadRequest("body.stream=true is not allowed in a batch.", param="body.stream")
    try:
        params = TO_PARAMS[url](body, default_max_tokens=default_max_tokens, sampling=sampling, model=model)
    except BadRequest as error:
        raise BadRequest(error.message, param=f"body.{error.param}" if error.param else "body",
                         code=error.code) from None
    return {"custom_id": custom_id, "params": params}



# The typed fast path (translators/typed_lines.py): whole blocks of usual lines, same bytes as above.


def fast_chat_params(body: ChatBody, default_max_tokens: int | None, sampling: SamplingRules,
                     model: str | None = None) -> dict | None:
    """`chat_to_params` for a typed body, or None where it would raise or the body needs the general way.

    Only what is translated here identically to `chat_to_params` is accepted: text messages of the
    roles system, developer, user (string) and assistant (non-empty string), the sampling fields
    and `stop`; `typed_lines.ChatBody` refuses every other field.
    """
    n = body.n
    if n is not None and n is not UNSET and n != 1:
        return None
    params: dict = {}
    name = body.model
    if name is not None and name is not UNSET:
        if not name:
            return None
        params["model"] = name
    max_tokens = default_max_tokens
    value = body.max_completion_tokens  # read before max_tokens, as `_max_tokens` does
    if value is None or value is UNSET:
        value = body.max_tokens
    if value is not None and value is not UNSET:
        if value < 1:
            return None
        max_tokens = value
    if max_tokens is not None:
        params["max_tokens"] = max_tokens
    system: list[str] = []
    turns: list[dict] = []
    last = None  # the role of the last turn
    for message in body.messages:
        role, content = message.role, message.content
        if role == "system" or role == "developer":
            if type(content) is str:
                system.append(content)
            else:
                system.extend(part.text for part in content)  # type: ignore[union-attr]
            continue
        if type(content) is not str or not (role == "user" or (role == "assistant" and content)):
            return None
        if role == last:
            _append(turns, {"role": role, "content": content})
        else:
            turns.append({"role": role, "content": content})
            last = role
    if not turns:
        return None
    if system:
        params["system"] = system[0] if len(system) == 1 else [{"type": "text", "text": text} for text in system]
    params["messages"] = turns
    temperature, top_p, stop = body.temperature, body.top_p, body.stop
    sampled = False
    if temperature is not None and temperature is not UNSET:
        if not 0 <= temperature <= 1:
            return None
        params["temperature"] = temperature
        sampled = True
    if top_p is not None and top_p is not UNSET:
        if not 0 <= top_p <= 1:
            return None
        params["top_p"] = top_p
        sampled = True
    if stop is not None and stop is not UNSET:
        if type(stop) is str:
            params["stop_sequences"] = [stop]
        elif stop:
            params["stop_sequences"] = stop
    if sampled and sampling.enforced and not _sampling_allowed(sampling, name or model, params):
        return None
    return params


def _sampling_allowed(sampling: SamplingRules, model: str | None, params: dict) -> bool:
    """Whether `sampling.check(model, params)` passes (params with temperature and/or top_p, no top_k)."""
    if sampling.api_version and sampling.api_version >= NO_SAMPLING_SINCE:
        return False
    if model is None:
        return True
    refused, both = _model_sampling(model, sampling.no_sampling_models, sampling.temperature_and_top_p_models)
    return not refused and (both or "temperature" not in params or "top_p" not in params)


def fast_batch_requests(lines: list[ChatLine], *, default_max_tokens: int | None,
                        sampling: SamplingRules = SamplingRules(), model: str | None = None,
                        endpoint: str = CHAT_COMPLETIONS) -> list[dict] | None:
    """`batch_request` for a block of typed lines (one item each), or None when any line needs the general way."""
    if endpoint != CHAT_COMPLETIONS:
        return None
    out = []
    match = CUSTOM_ID.fullmatch
    for line in lines:
        if line.method != "POST" or line.url != endpoint or not match(line.custom_id) or line.body.stream is True:
            return None
        params = fast_chat_params(line.body, default_max_tokens, sampling, model)
        if params is None:
            return None
        out.append({"custom_id": line.custom_id, "params": params})
    return out


def with_model(params: dict, model: str | None) -> dict:
    """Params with the batch's `model` when they name none; `BadRequest` (param `model`) when neither does."""
    if "model" not in params:
        if not model:
            raise BadRequest("no model; set body.model or give model in extra_body.", param="model")
        params["model"] = model
    return params


# Anthropic Message -> OpenAI chat.completion (§B.7)


def message_to_chat_completion(message: dict, *, created: int) -> dict:
    """An Anthropic Message object -> an OpenAI chat.completion body.

    Text blocks are joined into `content`, `tool_use` blocks become `tool_calls`, every other block
    is left out (`SKIPPED_BLOCKS`, or a type not known at all). `finish_reason` comes from
    `stop_reason` through `FINISH_REASONS` ("stop" for one not listed), and the choice keeps
    Anthropic's own value as `native_finish_reason`. Usage counts cache writes and reads as prompt
    tokens, reads also as `cached_tokens`.
    """
    texts: list[str] = []
    tool_calls: list[dict] = []
    for block in message.get("content") or []:
        kind = block.get("type")
        if kind == "text":
            texts.append(block["text"])
        elif kind == "tool_use":
            tool_calls.append({
                "id": block["id"],
                "type": "function",
                "function": {"name": block["name"], "arguments": json.dumps(block.get("input") or {})},
            })
    reply: dict = {"role": "assistant", "content": "".join(texts) if texts else None, "refusal": None}
    if tool_calls:
        reply["tool_calls"] = tool_calls
    stop_reason = message.get("stop_reason")
    return {
        "id": message["id"],
        "object": "chat.completion",
        "created": created,
        "model": message["model"],
        "choices": [{
            "index": 0,
            "message": reply,
            "logprobs": None,
            "finish_reason": batch_output.finish_reason(stop_reason, FINISH_REASONS),
            "native_finish_reason": stop_reason,
        }],
        "usage": chat_usage(message.get("usage") or {}),
    }


def chat_usage(usage: dict) -> dict:
    """Anthropic usage -> OpenAI chat usage (Anthropic's input_tokens leaves out cache tokens)."""
    cache_write = usage.get("cache_creation_input_tokens") or 0
    cache_read = usage.get("cache_read_input_tokens") or 0
    prompt = (usage.get("input_tokens") or 0) + cache_write + cache_read
    completion = usage.get("output_tokens") or 0
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cache_read},
    }


# Anthropic Message -> OpenAI Response (endpoints.md §2.6-§2.8)

# Anthropic stop_reason -> the Response's `incomplete_details.reason`; a reason not listed (every
# other one the SDK declares, or one it adds later) gives a `completed` Response.
INCOMPLETE_REASONS = {
    "max_tokens": "max_output_tokens",
    "model_context_window_exceeded": "max_output_tokens",
    "refusal": "content_filter",  # the text so far is kept
}
COMPLETED_STOP_REASONS = frozenset({"end_turn", "stop_sequence", "tool_use", "pause_turn"})


def message_to_response(message: dict, *, created: int, request: dict | None = None) -> dict:
    """An Anthropic Message -> an OpenAI Responses `response`.

    Consecutive text blocks become one `message` item (an `output_text` part each), `tool_use`
    blocks `function_call` items, in Anthropic's order; other blocks are left out as in
    `message_to_chat_completion`. Item IDs derive from the Message ID, so a download converted
    twice gives the same IDs. `request` (the Responses body, known on a gateway-run line only)
    supplies the echoed fields (`shapes.RESPONSE_ECHO`).
    """
    base = _id_base(message["id"])
    reason = INCOMPLETE_REASONS.get(message.get("stop_reason") or "")
    item_status = "incomplete" if reason else "completed"
    output: list[dict] = []
    texts: list[str] = []
    for block in message.get("content") or []:
        kind = block.get("type")
        if kind == "text":
            texts.append(block["text"])
        elif kind == "tool_use":
            _flush_texts(output, texts, base, item_status)
            output.append(shapes.function_call_item(
                id=f"fc_{base}_{len(output)}", call_id=block["id"], name=block["name"],
                arguments=json.dumps(block.get("input") or {})))
    _flush_texts(output, texts, base, item_status)
    return shapes.response(id=f"resp_{base}", created_at=created, model=message["model"], output=output,
                           usage=response_usage(message.get("usage") or {}), incomplete_reason=reason,
                           request=request)


def _flush_texts(output: list[dict], texts: list[str], base: str, status: str) -> None:
    """Close the run of text blocks so far as one `message` item."""
    if texts:
        output.append(shapes.output_message(id=f"msg_{base}_{len(output)}", texts=list(texts), status=status))
        texts.clear()


def _id_base(message_id: str) -> str:
    """`msg_01Xy` -> `01Xy`: the part the Response and its items are named after."""
    if not isinstance(message_id, str):
        raise TypeError("the message id is not a string")
    return message_id.removeprefix("msg_")


def response_usage(usage: dict) -> dict:
    """Anthropic usage -> Responses usage: cache writes and reads count as input, reads also as cached."""
    cache_write = usage.get("cache_creation_input_tokens") or 0
    cache_read = usage.get("cache_read_input_tokens") or 0
    return shapes.response_usage(
        input_tokens=(usage.get("input_tokens") or 0) + cache_write + cache_read,
        output_tokens=usage.get("output_tokens") or 0, cached_tokens=cache_read, cache_write_tokens=cache_write,
        reasoning_tokens=(usage.get("output_tokens_details") or {}).get("thinking_tokens") or 0)


# Anthropic Message -> OpenAI text_completion (endpoints.md §4.2)

# A completion's finish_reason is stop, length or content_filter: `tool_calls` cannot happen (no tools).
COMPLETION_FINISH_REASONS = {
    native: ("stop" if reason == "tool_calls" else reason) for native, reason in FINISH_REASONS.items()}


def message_to_completion(message: dict, *, created: int, request: dict | None = None) -> dict:
    """An Anthropic Message -> an OpenAI `text_completion`: its text blocks joined as the one choice."""
    stop_reason = message.get("stop_reason")
    return shapes.text_completion(
        id=f"cmpl-{_id_base(message['id'])}", created=created, model=message["model"],
        text="".join(block["text"] for block in message.get("content") or [] if block.get("type") == "text"),
        finish_reason=batch_output.finish_reason(stop_reason, COMPLETION_FINISH_REASONS),
        native_finish_reason=stop_reason, usage=chat_usage(message.get("usage") or {}))


def _chat(message: dict, *, created: int, request: dict | None = None) -> dict:
    return message_to_chat_completion(message, created=created)


# Line url -> the converter of its Message (the batch's endpoint decides for every line).
FROM_MESSAGE = {CHAT_COMPLETIONS: _chat, RESPONSES: message_to_response, COMPLETIONS: message_to_completion}


# Results JSONL line -> OpenAI output/error line (§B.3, §A.8)


def result_request_id(batch_id: str, custom_id: str) -> str:
    """The request ID of a result line that carries none: the Message Batch and the `custom_id`."""
    return f"{batch_id}_{custom_id}"


def result_line(line: dict, *, batch_id: str, created: int, endpoint: str = CHAT_COMPLETIONS) -> dict:
    """One line of a Message Batch's results -> one OpenAI batch output or error line.

    `batch_id` is the native Message Batch ID; with `custom_id` it names lines that have no upstream
    request ID. `created` (the batch's `ended_at`) becomes each reply's `created`/`created_at`; the
    batch's `endpoint` picks the reply's shape (`FROM_MESSAGE`).
    Raises KeyError/TypeError on a line it cannot read, including an unknown result type (for
    `batch_output.converted_lines`, which keeps such a line whole in the error file).
    """
    custom_id = line["custom_id"]
    if not isinstance(custom_id, str):
        raise TypeError("custom_id is not a string")
    result = line["result"]
    kind = result["type"]
    if kind == SUCCEEDED:
        message = result["message"]
        return batch_output.success_line(custom_id, message["id"], FROM_MESSAGE[endpoint](message, created=created))
    if kind == ERRORED:
        response = result.get("error") or {}
        error = response.get("error") or {}
        error_type = error["type"]
        if not isinstance(error_type, str):
            raise TypeError("the error type is not a string")
        return batch_output.http_error_line(
            custom_id, response.get("request_id") or result_request_id(batch_id, custom_id),
            ERROR_STATUS.get(error_type, batch_output.UNKNOWN_ERROR_STATUS),
            str(error.get("message") or error_type), code=error_type,
        )
    if kind in NOT_RUN:
        return batch_output.failure_line(custom_id, result_request_id(batch_id, custom_id), NOT_RUN[kind])
    raise KeyError(f"result type {kind!r}")


# MessageBatch -> OpenAI Batch (§B.2, §0.1, §0.2)


to_unix = shapes.unix  # RFC 3339 -> Unix seconds (one reader for every provider)


def processing_status(native: dict) -> str:
    """A Message Batch's `processing_status`; one not in `PROCESSING_STATUSES` reads as `ended` when
    the batch has an `ended_at`, else as `in_progress` (a status Anthropic adds later never fails a
    retrieve or a list page)."""
    status = native.get("processing_status")
    if status in PROCESSING_STATUSES:
        return status
    return ENDED if native.get("ended_at") else "in_progress"


def request_counts(natives: list[dict]) -> dict:
    """§0.2, summed over the Message Batches behind one OpenAI batch.

    `total` is the sum of every count Anthropic gives (the SDK: "the sum of all values always
    matches the total"), so a count it adds later is still in the total.
    """
    total = completed = failed = 0
    for native in natives:
        counts = native["request_counts"]
        total += sum(value for value in counts.values() if isinstance(value, int) and not isinstance(value, bool))
        completed += int(counts.get("succeeded") or 0)
        failed += sum(int(counts.get(name) or 0) for name in ("errored", "expired", "canceled"))
    return {"total": total, "completed": completed, "failed": failed}


def batch_status(natives: list[dict]) -> str:
    """§0.1 over one or more Message Batches.

    Running (any part not ended, per `processing_status`): `in_progress`, or `cancelling` once a
    cancel was asked for. All ended: `cancelled` if a cancel was asked for, `expired` if any request
    expired, else `completed`, also when every request errored (OpenAI's `failed` means the batch
    itself never ran; the errored requests are counted failed and listed in the error file).
    """
    statuses = [processing_status(native) for native in natives]
    cancelled = any(native.get("cancel_initiated_at") for native in natives)
    if any(status != ENDED for status in statuses):
        return "cancelling" if cancelled or "canceling" in statuses else "in_progress"
    if cancelled:
        return "cancelled"
    if any(int(native["request_counts"].get("expired") or 0) for native in natives):
        return "expired"
    return "completed"


def openai_batch(
    natives: list[dict], *, batch_id: str, input_file_id: str, output_file_id: str, error_file_id: str,
    metadata: dict | None = None, endpoint: str = CHAT_COMPLETIONS,
) -> dict:
    """One or more MessageBatch objects (a split batch) -> one OpenAI Batch.

    `output_file_id` / `error_file_id` are the IDs the batch's results would have; both are set
    once every part ended. The error file is offered even when Anthropic counts no failed request:
    a results line the gateway cannot convert goes there, and only reading the results tells.
    """
    status = batch_status(natives)
    ended = status in shapes.ENDED_AT
    created = min(to_unix(n["created_at"]) for n in natives)
    cancel_times = [to_unix(n["cancel_initiated_at"]) for n in natives if n.get("cancel_initiated_at")]
    expires = [to_unix(n["expires_at"]) for n in natives if n.get("expires_at")]
    return shapes.batch(
        id=batch_id, status=status, created_at=created, input_file_id=input_file_id, endpoint=endpoint,
        request_counts=request_counts(natives), metadata=metadata,
        output_file_id=output_file_id if ended else None, error_file_id=error_file_id if ended else None,
        in_progress_at=created,  # Anthropic starts processing on create
        expires_at=max(expires) if expires else None, cancelling_at=min(cancel_times) if cancel_times else None,
        ended_at=ended_at(natives) if ended else None,
    )


def ended_at(natives: list[dict]) -> int | None:
    """When the last of the Message Batches ended (None while any is running)."""
    times = [to_unix(n.get("ended_at")) for n in natives]
    if not times or any(t is None for t in times):
        return None
    return max(times)
