"""Typed fast paths from provider result lines to OpenAI output lines (issue 16), one block at a time.

Each fast converter (`batch_output.FastConvert`) takes a block of result lines, decodes each line
into msgspec Structs that describe only the usual success shape (a text reply with a known
finish/stop reason and usage counts), and writes the output lines from byte templates whose strings
msgspec encodes: the bytes `batch_output.jsonl_chunks` gives for what the provider's translator
builds (same keys, same order, same encoder). Anything else declines the whole block (None), which
`batch_output.converted_chunks` then converts line by line as before: a line that does not decode
into the shape (a field missing or of another type, another result type, a content block or part
that is not plain text, JSON that is not valid) or a value the tables do not list (an unknown or
absent stop/finish reason). Fields the slow path never reads are skipped, so unknown fields are
accepted exactly as the slow path accepts them; the Structs name every field its output depends on.

The shapes here mirror translators/anthropic.py (`result_line`, `message_to_chat_completion`),
translators/gemini.py (`output_line`, `chat_completion`) and translators/bedrock.py (`output_line`),
for chat-completions batches only. tests/test_fast_results.py checks them against those slow paths:
a change there must keep it green (or decline what changed here).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import msgspec

from translators import anthropic, bedrock, gemini

_encode = msgspec.json.Encoder().encode
_UNSET = msgspec.UNSET

FastConvert = Callable[[list[bytes]], bytes | None]

# batch_output.success_line around a chat.completion body (anthropic.message_to_chat_completion,
# bedrock.converse_to_chat_completion): one choice, no tool calls.
_CHAT_LINE = (
    b'{"id":%s,"custom_id":%s,"response":{"status_code":200,"request_id":%s,"body":{"id":%s,'
    b'"object":"chat.completion","created":%s,"model":%s,"choices":[{"index":0,"message":{"role":"assistant",'
    b'"content":%s,"refusal":null},"logprobs":null,"finish_reason":%s,"native_finish_reason":%s}],'
    b'"usage":{"prompt_tokens":%d,"completion_tokens":%d,"total_tokens":%d,'
    b'"prompt_tokens_details":{"cached_tokens":%d}}}},"error":null}\n'
)


# A JSON string's escaping goes character by character, so a prefix of plain ASCII letters can be put
# before an encoded string's body: `"batch_req_` + `msg_01..."` is the encoding of "batch_req_msg_01...".
_BATCH_REQ = b'"batch_req_'  # batch_output.line_id
_CHATCMPL = b'"chatcmpl-'


def _decoded(decode: Callable[[bytes], object], lines: list[bytes]) -> list | None:
    """Each line decoded into its Struct (one line, one value: `decode_lines` would read two JSON
    values on one line as two results); None when any line does not fit."""
    try:
        return [decode(raw) for raw in lines]
    except (ValueError, RecursionError):  # msgspec.DecodeError, or UnicodeDecodeError (bad UTF-8 in a string)
        return None


def _reasons(table: dict[str, str]) -> dict[str, tuple[bytes, bytes]]:
    """native reason -> (OpenAI finish_reason, native reason), both JSON-encoded."""
    return {native: (_encode(finish), _encode(native)) for native, finish in table.items()}


# Anthropic Messages (Message Batch results and Bedrock's Claude records): text blocks only.


class _ClaudeUsage(msgspec.Struct, gc=False):
    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_creation_input_tokens: int | None = None
    cache_read_input_tokens: int | None = None


class _ClaudeBlock(msgspec.Struct, gc=False):
    type: str
    text: str


class _ClaudeMessage(msgspec.Struct, gc=False):
    id: str
    model: str
    stop_reason: str
    usage: _ClaudeUsage
    content: list[_ClaudeBlock] | None = None


_CLAUDE_REASONS = _reasons(anthropic.FINISH_REASONS)


def _claude_line(custom_id: str, message: _ClaudeMessage, created: bytes) -> bytes | None:
    """The output line of a Message (`success_line(custom_id, message.id, message_to_chat_completion)`)."""
    reasons = _CLAUDE_REASONS.get(message.stop_reason)
    if reasons is None:
        return None
    texts = []
    for block in message.content or ():
        if block.type != "text":
            return None
        texts.append(block.text)
    usage = message.usage
    cache_read = usage.cache_read_input_tokens or 0
    prompt = (usage.input_tokens or 0) + (usage.cache_creation_input_tokens or 0) + cache_read
    completion = usage.output_tokens or 0
    ident = _encode(message.id)
    return _CHAT_LINE % (
        _BATCH_REQ + ident[1:], _encode(custom_id), ident, ident, created, _encode(message.model),
        _encode("".join(texts)) if texts else b"null", reasons[0], reasons[1],
        prompt, completion, prompt + completion, cache_read)


class _AnthropicResult(msgspec.Struct, gc=False):
    type: str
    message: _ClaudeMessage | None = None


class _AnthropicLine(msgspec.Struct, gc=False):
    custom_id: str
    result: _AnthropicResult


_decode_anthropic = msgspec.json.Decoder(_AnthropicLine).decode


def anthropic_chat(created: object) -> FastConvert:
    """Message Batch results of a chat-completions batch that ended at `created` (`anthropic.result_line`)."""
    stamp = _encode(created)

    def convert(lines: list[bytes]) -> bytes | None:
        parsed = _decoded(_decode_anthropic, lines)
        if parsed is None:
            return None
        out = []
        for line in parsed:
            result = line.result
            if result.type != anthropic.SUCCEEDED or result.message is None:
                return None
            encoded = _claude_line(line.custom_id, result.message, stamp)
            if encoded is None:
                return None
            out.append(encoded)
        return b"".join(out)

    return convert


# Bedrock batch inference records (`bedrock.output_line`): a Claude Message or a Converse response.


class _ConverseBlock(msgspec.Struct, gc=False):
    text: str


class _ConverseMessage(msgspec.Struct, gc=False):
    content: list[_ConverseBlock]


class _ConverseOutput(msgspec.Struct, gc=False):
    message: _ConverseMessage


class _BedrockUsage(msgspec.Struct, gc=False):
    # Claude's names
    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_creation_input_tokens: int | None = None
    cache_read_input_tokens: int | None = None
    # Converse's names
    inputTokens: int | None = None  # noqa: N815 (Bedrock's wire names)
    outputTokens: int | None = None  # noqa: N815
    cacheReadInputTokens: int | None = None  # noqa: N815
    cacheWriteInputTokens: int | None = None  # noqa: N815


class _BedrockOutput(msgspec.Struct, gc=False):
    """A record's modelOutput: a Claude Message (`type` "message") or a Converse response."""

    usage: _BedrockUsage
    type: object = None  # any JSON value: only "message" means a Claude Message (bedrock.is_message)
    id: str | None = None
    model: str | None = None
    stop_reason: str | None = None
    content: list[_ClaudeBlock] | None = None
    output: _ConverseOutput | None = None
    stopReason: str | None = None  # noqa: N815


class _BedrockRecord(msgspec.Struct, gc=False):
    recordId: str  # noqa: N815
    modelOutput: _BedrockOutput  # noqa: N815
    error: None = None


_decode_bedrock = msgspec.json.Decoder(_BedrockRecord).decode
_CONVERSE_REASONS = _reasons(bedrock.CONVERSE_FINISH_REASONS)


def bedrock_chat(*, job_id: str, model: str, created: object, custom_ids: Sequence[str] | None) -> FastConvert:
    """A job's records for a chat-completions batch (`bedrock.output_line` with the same arguments)."""
    stamp = _encode(created)
    model_json = _encode(model)

    def convert(lines: list[bytes]) -> bytes | None:
        parsed = _decoded(_decode_bedrock, lines)
        if parsed is None:
            return None
        out = []
        for record in parsed:
            rid = record.recordId
            output = record.modelOutput
            client_id = bedrock.custom_id(rid, custom_ids)
            encoded: bytes | None
            if output.type == "message":
                if output.id is None or output.model is None or output.stop_reason is None:
                    return None
                usage = output.usage
                encoded = _claude_line(client_id, _ClaudeMessage(
                    output.id, output.model, output.stop_reason,
                    _ClaudeUsage(usage.input_tokens, usage.output_tokens, usage.cache_creation_input_tokens,
                                 usage.cache_read_input_tokens),
                    output.content), stamp)
            else:
                encoded = _converse_line(client_id, bedrock.request_id(job_id, rid), output, model_json, stamp)
            if encoded is None:
                return None
            out.append(encoded)
        return b"".join(out)

    return convert


def _converse_line(client_id: str, rid: str, output: _BedrockOutput, model: bytes, created: bytes) -> bytes | None:
    """`success_line(client_id, rid, converse_to_chat_completion(...))` for text blocks only."""
    if output.output is None or output.stopReason is None:
        return None
    reasons = _CONVERSE_REASONS.get(output.stopReason)
    if reasons is None:
        return None
    texts = [block.text for block in output.output.message.content]
    usage = output.usage
    cache_read = usage.cacheReadInputTokens or 0
    prompt = (usage.inputTokens or 0) + cache_read + (usage.cacheWriteInputTokens or 0)
    completion = usage.outputTokens or 0
    ident = _encode(rid)
    return _CHAT_LINE % (
        _BATCH_REQ + ident[1:], _encode(client_id), ident, _CHATCMPL + ident[1:], created, model,
        _encode("".join(texts)) if texts else b"null", reasons[0], reasons[1],
        prompt, completion, prompt + completion, cache_read)


# Gemini batch results files (`gemini.output_line`): `{key, response}` with text parts.


class _GeminiPart(msgspec.Struct, gc=False):
    text: str
    thought: bool | None = None


class _GeminiContent(msgspec.Struct, gc=False):
    parts: list[_GeminiPart] | None = None


class _GeminiCandidate(msgspec.Struct, gc=False):
    finishReason: str  # noqa: N815
    content: _GeminiContent | None = None
    index: int | msgspec.UnsetType = _UNSET
    logprobsResult: None = None  # noqa: N815 (logprobs take the slow path)


class _GeminiUsage(msgspec.Struct, gc=False):
    promptTokenCount: int = 0  # noqa: N815
    toolUsePromptTokenCount: int = 0  # noqa: N815
    thoughtsTokenCount: int = 0  # noqa: N815
    candidatesTokenCount: int = 0  # noqa: N815
    totalTokenCount: int | msgspec.UnsetType = _UNSET  # noqa: N815
    cachedContentTokenCount: int = 0  # noqa: N815


class _GeminiResponse(msgspec.Struct, gc=False):
    candidates: list[_GeminiCandidate]
    responseId: str  # noqa: N815
    usageMetadata: _GeminiUsage  # noqa: N815
    modelVersion: str | None = None  # noqa: N815
    # Read by the slow path even when there are candidates (`.get` on it): a dict or nothing.
    promptFeedback: dict | None = None  # noqa: N815


class _GeminiLine(msgspec.Struct, gc=False):
    key: str
    response: _GeminiResponse


_decode_gemini = msgspec.json.Decoder(_GeminiLine).decode
_GEMINI_REASONS = _reasons(gemini.FINISH_REASONS)
_GEMINI_LINE = (
    b'{"id":%s,"custom_id":%s,"response":{"status_code":200,"request_id":%s,"body":{"id":%s,'
    b'"object":"chat.completion","created":%s,"model":%s,"choices":[%s],'
    b'"usage":{"prompt_tokens":%d,"completion_tokens":%d,"total_tokens":%d,'
    b'"prompt_tokens_details":{"cached_tokens":%d},"completion_tokens_details":{"reasoning_tokens":%d}}}},'
    b'"error":null}\n'
)
_GEMINI_CHOICE = (
    b'{"index":%d,"message":{"role":"assistant","content":%s,"refusal":null},"logprobs":null,'
    b'"finish_reason":%s,"native_finish_reason":%s}'
)


def gemini_chat(*, model: str, created: object) -> FastConvert:
    """A results file's lines for a chat-completions batch of `model` that ended at `created`."""
    stamp = _encode(created)

    def convert(lines: list[bytes]) -> bytes | None:
        parsed = _decoded(_decode_gemini, lines)
        if parsed is None:
            return None
        out = []
        for line in parsed:
            response = line.response
            request_id = response.responseId
            if not request_id or not response.candidates:
                return None
            choices = []
            for position, candidate in enumerate(response.candidates):
                reasons = _GEMINI_REASONS.get(candidate.finishReason)
                if reasons is None:
                    return None
                parts = candidate.content.parts if candidate.content is not None else None
                texts = []
                for part in parts or ():
                    if not part.thought:  # thought text is left out, as gemini._choice leaves it out
                        texts.append(part.text)
                index = candidate.index
                choices.append(_GEMINI_CHOICE % (position if index is _UNSET else index, _encode("".join(texts)),
                                                 reasons[0], reasons[1]))
            usage = response.usageMetadata
            prompt = usage.promptTokenCount + usage.toolUsePromptTokenCount
            thoughts = usage.thoughtsTokenCount
            completion = usage.candidatesTokenCount + thoughts
            total = usage.totalTokenCount
            ident = _encode(request_id)
            out.append(_GEMINI_LINE % (
                _BATCH_REQ + ident[1:], _encode(line.key), ident, _CHATCMPL + ident[1:], stamp,
                _encode(response.modelVersion or model),
                b",".join(choices), prompt, completion, prompt + completion if total is _UNSET else total,
                usage.cachedContentTokenCount, thoughts))
        return b"".join(out)

    return convert
