"""OpenAI batch output and error file lines (providers.md §A.8), and the one rule for turning a
provider's result lines into them.

Each provider's translator converts one of its result lines into a chat.completion body or an
error, and wraps it with the builders here, so every provider's output file has the same envelope.
`converted_lines` runs a provider's converter over a stream of result lines with the rule every
provider shares: a line the converter cannot handle never fails the file; it becomes an error-file
line that keeps its `custom_id` and the provider's own line, and the rest of the file goes on.
`jsonl_chunks` then picks the output (or error) lines and batches them into chunks for the wire.

`converted_chunks` is the same rule for a results stream of JSONL bytes, with a typed fast path
(translators/fast_results.py): each block of whole lines (one upstream chunk's worth) is offered
whole to the provider's fast converter, which either encodes every line of it at once (all of them
output lines, bytes equal to what `converted_lines` gives) or declines, and then that block goes
line by line through `converted_lines` unchanged.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping

import msgspec

import metrics
from translators import jsonl

EXPIRED = "batch_expired"
CANCELLED = "batch_cancelled"
UNCONVERTIBLE = "unconvertible_result"

# What an unknown provider finish/stop reason becomes (the provider's own value is kept beside it
# as `native_finish_reason`): the generation ended without an error the provider told us about.
FINISH_REASON_FALLBACK = "stop"
# The HTTP status of an errored request whose error type the gateway does not know.
UNKNOWN_ERROR_STATUS = 500
# Output lines are sent in chunks of about this size (one write per chunk, not per line).
CHUNK = 64 * 1024

_FAILURE_MESSAGES = {
    EXPIRED: "This request could not be executed before the completion window expired.",
    CANCELLED: "This request was not executed because the batch was cancelled.",
}

# OpenAI error `type` for the HTTP status of a failed request.
_ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
                404: "not_found_error", 413: "invalid_request_error", 429: "rate_limit_error"}

# What a converter raises on a value it cannot read. Anything else is a bug and propagates.
CONVERSION_ERRORS = (KeyError, TypeError, ValueError, AttributeError, IndexError)

_decode = msgspec.json.Decoder().decode
_encode = msgspec.json.Encoder().encode
# Result lines are added to the metrics every this many lines (and at the end), not one by one.
_COUNT_BLOCK = 1024


def line_id(provider_request_id: str) -> str:
    """The `id` of an output line, derived from the provider's ID for that request."""
    return f"batch_req_{provider_request_id}"


def success_line(custom_id: str, request_id: str, body: dict) -> dict:
    """An output-file line for a request that produced a response."""
    return {
        "id": line_id(request_id),
        "custom_id": custom_id,
        "response": {"status_code": 200, "request_id": request_id, "body": body},
        "error": None,
    }


def http_error_line(
    custom_id: str, request_id: str, status_code: int, message: str, *,
    type: str | None = None, code: str | None = None, param: str | None = None,
) -> dict:
    """An error-file line for a request the provider answered with an HTTP-level error."""
    fallback = "server_error" if status_code >= 500 else "invalid_request_error"
    error_type = type or _ERROR_TYPES.get(status_code, fallback)
    return {
        "id": line_id(request_id),
        "custom_id": custom_id,
        "response": {
            "status_code": status_code,
            "request_id": request_id,
            "body": {"error": {"message": message, "type": error_type, "param": param, "code": code}},
        },
        "error": None,
    }


def failure_line(custom_id: str, request_id: str, code: str, message: str | None = None) -> dict:
    """An error-file line for a request that never ran (expired, cancelled)."""
    return {
        "id": line_id(request_id),
        "custom_id": custom_id,
        "response": None,
        "error": {"code": code, "message": message or _FAILURE_MESSAGES.get(code, code)},
    }


def unconvertible_line(custom_id: str, request_id: str, provider: str, reason: str, provider_line: object) -> dict:
    """An error-file line for a result the gateway could not convert.

    Status 502 (the provider's reply was not what the gateway understands), code
    `unconvertible_result`, and the provider's own line under `response.body.provider_result`, so
    a result that was paid for is never lost.
    """
    line = http_error_line(
        custom_id, request_id, 502,
        f"The gateway could not convert this {provider} result ({reason}); the provider's own result is "
        "in response.body.provider_result.",
        type="server_error", code=UNCONVERTIBLE,
    )
    line["response"]["body"]["provider_result"] = provider_line
    return line


def is_success(line: dict) -> bool:
    """Whether a converted line belongs in the output file (else the error file)."""
    return line.get("error") is None and (line.get("response") or {}).get("status_code") == 200


def finish_reason(native: str | None, table: Mapping[str, str]) -> str:
    """OpenAI's `finish_reason` for a provider's finish/stop reason; an unknown one falls back to "stop"."""
    return table.get(native, FINISH_REASON_FALLBACK) if native is not None else FINISH_REASON_FALLBACK


# Converting a stream of provider result lines

Convert = Callable[[dict, int], dict]
"""(provider result line, its number) -> one OpenAI output or error line."""
Identify = Callable[[dict | None, int], tuple[str, str]]
"""(provider result line or None if unparsable, its number) -> (custom_id, request_id) for an error line."""


def converted_lines(
    records: Iterable[tuple[int, bytes | dict]], convert: Convert, identify: Identify, *, provider: str,
) -> Iterator[dict]:
    """OpenAI lines for `(number, raw bytes or parsed line)` records, one per record, never fewer.

    A record that is not a JSON object, or that `convert` cannot handle, becomes `unconvertible_line`
    (with the `custom_id` that `identify` finds, and the provider's line as it was). Errors of the
    stream itself (an upstream read that breaks) propagate: a download is never silently short.
    Every line is counted in `metrics.RESULT_LINES` by outcome (output, error, unconvertible).
    """
    counts = [0, 0, 0]  # output, error, unconvertible: added to the metrics in blocks, not per line
    try:
        for number, record in records:
            parsed: dict | None = None
            try:
                parsed = _parsed(record)
                line = convert(parsed, number)
            except CONVERSION_ERRORS + (msgspec.DecodeError,) as error:
                counts[2] += 1
                yield _unconvertible(record, parsed, number, identify, provider, error)
            else:
                counts[0 if is_success(line) else 1] += 1
                yield line
            if number % _COUNT_BLOCK == 0:
                metrics.result_lines(provider, *counts)
                counts = [0, 0, 0]
    finally:  # the end of the file, or a download abandoned or broken off
        metrics.result_lines(provider, *counts)


def _parsed(record: bytes | dict) -> dict:
    value = _decode(record) if isinstance(record, (bytes, bytearray, memoryview)) else record
    if not isinstance(value, dict):
        raise TypeError("the result line is not a JSON object")
    return value


def _unconvertible(record: bytes | dict, parsed: dict | None, number: int, identify: Identify, provider: str,
                   error: Exception) -> dict:
    try:
        custom_id, request_id = identify(parsed, number)
    except CONVERSION_ERRORS:
        custom_id, request_id = identify(None, number)
    return unconvertible_line(str(custom_id), request_id, provider, describe(error), _original(record, parsed))


def _original(record: bytes | dict, parsed: dict | None) -> object:
    """The provider's line as it came: its JSON value, else its text."""
    if parsed is not None or isinstance(record, dict):
        return parsed if parsed is not None else record
    raw = bytes(record)
    try:
        return _decode(raw)
    except (msgspec.DecodeError, UnicodeDecodeError):  # msgspec raises the latter for bad UTF-8 in a string
        return raw.decode("utf-8", "replace")


def describe(error: Exception) -> str:
    """A short account of what a converter did not understand."""
    if isinstance(error, KeyError):
        return f"missing or unknown {error.args[0]}" if error.args else "a missing field"
    if isinstance(error, msgspec.DecodeError):
        return f"the line is not valid JSON: {error}"
    return f"{type(error).__name__}: {error}"


# Converting a stream of result bytes, block by block, with a fast path

FastConvert = Callable[[list[bytes]], bytes | None]
"""(a block's non-blank result lines) -> the JSONL of their output lines, one per line and every one
a success, byte for byte what `converted_lines` + `jsonl_chunks` would give; or None to decline."""


class Encoded:
    """Output-file lines a fast path already encoded (JSONL, one per result line, all successes)."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data


def converted_chunks(
    chunks: Iterable[bytes], fast: FastConvert | None, convert: Convert, identify: Identify, *, provider: str,
    numbers: Iterator[int] | None = None, number_blank: bool = False, max_line: int = jsonl.MAX_LINE_BYTES,
) -> Iterator[dict | Encoded]:
    """`converted_lines` over the lines of a JSONL byte stream, trying `fast` on each block first.

    Lines are split as `jsonl.split_lines` splits them (same line-too-long errors) and blank lines
    are skipped. Each result takes the next of `numbers` (default from 1); with `number_blank`,
    blank lines take a number too (results numbered by their position in the file). A block `fast`
    accepts is one `Encoded`, counted as output lines in the metrics; a block it declines goes
    through `converted_lines` line by line, exactly as without a fast path.
    """
    numbers = itertools.count(1) if numbers is None else numbers
    for block in jsonl.line_blocks(chunks, max_line):
        lines = [raw for raw in block if raw.strip()]
        data = fast(lines) if fast is not None and lines else None
        if data is not None:
            metrics.result_lines(provider, len(lines), 0, 0)
            yield Encoded(data)
            taken = len(block) if number_blank else len(lines)
            next(itertools.islice(numbers, taken - 1, taken), None)  # the numbers these results had
        elif number_blank:
            # zip takes from the block first, so no number is drawn past its end
            records = [(n, raw) for raw, n in zip(block, numbers, strict=False) if raw.strip()]
            yield from converted_lines(records, convert, identify, provider=provider)
        elif lines:
            yield from converted_lines([(n, raw) for raw, n in zip(lines, numbers, strict=False)], convert, identify,
                                       provider=provider)


def jsonl_chunks(lines: Iterable[dict | Encoded], *, successes: bool, chunk_size: int = CHUNK) -> Iterator[bytes]:
    """The output (`successes=True`) or error lines among `lines` as JSONL, in chunks of about `chunk_size`.

    An `Encoded` block (output lines only) is added as it is to the output file and skipped in the error file.
    """
    pending = bytearray()
    for line in lines:
        if type(line) is Encoded:
            if successes:
                pending += line.data
                if len(pending) >= chunk_size:
                    yield bytes(pending)
                    pending.clear()
            continue
        assert isinstance(line, dict)
        if is_success(line) == successes:
            pending += _encode(line)
            pending += b"\n"
            if len(pending) >= chunk_size:
                yield bytes(pending)
                pending.clear()
    if pending:
        yield bytes(pending)
