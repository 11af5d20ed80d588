"""Streaming JSONL: split byte chunks into lines, and check batch input files line by line.

Everything here holds one chunk's lines at a time, so a 200 MB file costs one chunk of memory (plus
the set of `custom_id`s seen, which the uniqueness rule needs). A line is collected from its parts
in one join (never by repeated `+=`), and no line may pass `MAX_LINE_BYTES`; the dispatcher holds
client uploads to the tighter `DEEPINTSHIELD_MAX_LINE_BYTES` as the bytes arrive.

Every JSON value parsed here or with `decode_bounded` is bounded in nesting (`MAX_DEPTH`) and in
the number of objects and arrays (`MAX_CONTAINERS`, checked before decoding, as it is what makes a
small text expensive in memory): past either, a 400 that names the line.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Protocol

import msgspec

from errors import BadRequest
from translators.openai_shapes import CHAT_COMPLETIONS  # noqa: F401 (the batch-line url most checks take)
from translators.seen_ids import SeenIds
from translators.typed_lines import ChatLine, decode_chat_lines

# Formats a batch input line may be in. Providers choose which ones they accept.
OPENAI = "openai"          # {"custom_id", "method", "url", "body"}
ANTHROPIC = "anthropic"    # {"custom_id", "params"}
GEMINI = "gemini"          # {"key", "request"}
BEDROCK = "bedrock"        # {"recordId", "modelInput"}

MB = 1024 * 1024
# The longest line any JSONL stream may have here (client uploads have a tighter configured cap).
MAX_LINE_BYTES = 64 * MB
# Nesting deeper than this is refused: far beyond any real request, far below Python's recursion limit.
MAX_DEPTH = 64
# Objects plus arrays in one line or body: each costs ~100 bytes decoded however small its text.
MAX_CONTAINERS = 200_000

_decode = msgspec.json.Decoder().decode
_encoder = msgspec.json.Encoder()
_encode = _encoder.encode
_encode_lines = _encoder.encode_lines


class _Body(msgspec.Struct):
    stream: object = None


class _OpenAILine(msgspec.Struct):
    """The fields the batch rules look at; the rest of each line is checked as JSON and skipped."""

    custom_id: str
    method: str
    url: str
    body: _Body


_decode_openai_lines = msgspec.json.Decoder(_OpenAILine).decode_lines


class _TypedBody(Protocol):
    @property
    def stream(self) -> object: ...


class TypedLine(Protocol):
    """An OpenAI-format line parsed into a Struct (`_OpenAILine`, `typed_lines.ChatLine`): what the rules read."""

    @property
    def custom_id(self) -> str: ...
    @property
    def method(self) -> str: ...
    @property
    def url(self) -> str: ...
    @property
    def body(self) -> _TypedBody: ...


def _nothing() -> None:
    return None


def split_lines(chunks: Iterable[bytes], max_line: int = MAX_LINE_BYTES) -> Iterator[bytes]:
    """The lines in a stream of byte chunks, without their line ends; blank lines included.

    Splits on `\\n` only (never `str.splitlines()`, which would cut a JSON string holding U+2028).
    A line longer than `max_line` is a 400 naming it.
    """
    for block in line_blocks(chunks, max_line):
        yield from block


def line_blocks(chunks: Iterable[bytes], max_line: int) -> Iterator[list[bytes]]:
    """`split_lines`, a block at a time: the lines that end in each chunk (the last unended line joins
    the next chunk's block), in order; a line past `max_line` ends the stream with its 400 after the
    lines before it."""
    parts: list[bytes] = []  # the pieces of the line not yet ended
    pending = 0
    number = 0  # lines so far, blank ones included (for the line-too-long error)
    for chunk in chunks:
        if not chunk:
            continue
        if b"\n" not in chunk:
            parts.append(chunk)
            pending += len(chunk)
            if pending > max_line:
                raise line_too_long(number + 1, max_line)
            continue
        lines = chunk.split(b"\n")
        rest = lines.pop()
        if parts:
            parts.append(lines[0])
            lines[0] = b"".join(parts)
            parts.clear()
        first = lines[0]
        if len(first) <= max_line and len(chunk) <= max_line and b"\r" not in chunk and not first.endswith(b"\r"):
            number += len(lines)
            yield lines
        else:
            block: list[bytes] = []
            for line in lines:
                number += 1
                if len(line) > max_line:
                    if block:
                        yield block
                    raise line_too_long(number, max_line)
                block.append(line[:-1] if line.endswith(b"\r") else line)
            yield block
        if rest:
            parts.append(rest)
        pending = len(rest)
    if parts:
        line = b"".join(parts)
        if len(line) > max_line:  # a last line that came with a line end in its chunk was not measured yet
            raise line_too_long(number + 1, max_line)
        yield [line[:-1] if line.endswith(b"\r") else line]


def line_too_long(number: int, max_line: int) -> BadRequest:
    return BadRequest(f"Line {number} is longer than {max_line} bytes.", param=f"line {number}",
                      code="line_too_long")


def numbered_objects(lines: Iterable[bytes]) -> Iterator[tuple[int, dict]]:
    """`(line number, parsed object)` for each non-blank line; a non-object line is a 400."""
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        yield number, parse_line(raw, number)


def parse_line(raw: bytes, number: int) -> dict:
    """One JSONL line as an object; not JSON, not an object, or past the size bounds is a 400 naming it."""
    if raw.count(b"{") + raw.count(b"[") <= MAX_DEPTH:
        # The common line: too few brackets to break either bound, so it is decoded at once.
        # Anything unusual (invalid, not an object) goes the general way below for its 400.
        try:
            value = _decode(raw)
        except (msgspec.DecodeError, RecursionError):
            value = None
        if type(value) is dict:
            return value
    try:
        value = decode_bounded(raw)
    except ValueError as error:
        raise BadRequest(f"Line {number} is not valid JSON: {error}.", param="file", code="invalid_jsonl") from None
    except TooComplex as error:
        raise BadRequest(f"Line {number} {error}.", param=f"line {number}", code="json_too_complex") from None
    if not isinstance(value, dict):
        raise BadRequest(f"Line {number} must be a JSON object.", param="file", code="invalid_jsonl")
    return value


class TooComplex(Exception):
    """JSON nested deeper than MAX_DEPTH or holding more than MAX_CONTAINERS objects and arrays."""


_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"')


def decode_bounded(raw: bytes) -> object:
    """Decode JSON whose nesting and container count are within the bounds (`TooComplex` otherwise).

    The common case costs two `count`s: brackets in the text bound both measures from above, so
    only a text with many of them is measured exactly (strings taken out first, before anything is
    built in memory; the depth after decoding, without recursion). Invalid JSON raises `ValueError`.
    """
    brackets = raw.count(b"{") + raw.count(b"[")
    if brackets > MAX_CONTAINERS and len(_STRINGS.sub(b"", raw).translate(None, _NOT_OPENERS)) > MAX_CONTAINERS:
        raise TooComplex(f"holds more than {MAX_CONTAINERS} JSON objects and arrays")
    try:
        value = _decode(raw)
    except RecursionError:
        raise TooComplex(f"is nested deeper than {MAX_DEPTH} levels") from None
    except msgspec.DecodeError as error:
        raise ValueError(str(error)) from None
    if brackets > MAX_DEPTH and _depth(value) > MAX_DEPTH:
        raise TooComplex(f"is nested deeper than {MAX_DEPTH} levels")
    return value


_NOT_OPENERS = bytes(b for b in range(256) if b not in b"{[")


def _depth(value: object) -> int:
    """How deeply objects and arrays nest in a decoded value (iteratively: no recursion limit)."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, level = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        deepest = max(deepest, level)
        if deepest > MAX_DEPTH:
            return deepest
        stack.extend((child, level + 1) for child in children if isinstance(child, (dict, list)))
    return deepest


def line_format(obj: dict) -> str | None:
    """Which batch input format a parsed line is in, or None if none."""
    if "custom_id" in obj:
        return ANTHROPIC if "params" in obj and "body" not in obj else OPENAI
    if "key" in obj and "request" in obj:
        return GEMINI
    if "modelInput" in obj:
        return BEDROCK
    return None


class BatchInputCheck:
    """The shared rules for a `purpose=batch` file, applied one parsed line at a time.

    OpenAI-format lines need a unique `custom_id`, `method` POST, one `url` for the whole file
    (equal to `endpoint` when given) and a `body` object. Lines in a provider's native format
    (when `formats` allows it) need their own ID field. All lines of a file share one format, and
    there are at most `max_requests` of them when the provider has a cap.
    """

    def __init__(self, formats: Iterable[str] = (OPENAI,), endpoint: str | None = None,
                 max_requests: int | None = None) -> None:
        self.formats = tuple(formats)
        self.endpoint = endpoint
        self.max_requests = max_requests or None  # a provider's cap on requests per batch file
        self.format: str | None = None
        self.url: str | None = endpoint
        self.count = 0
        self._ids = SeenIds()

    def __call__(self, number: int, obj: dict) -> dict:
        # Fast path: a line like the earlier OpenAI-format lines, breaking no rule. Anything
        # else goes through `_check_line`, which names the rule the line breaks.
        body = obj.get("body")
        ident = obj.get("custom_id")
        if (self.format == OPENAI and type(body) is dict and type(ident) is str and ident
                and obj.get("method") == "POST" and obj.get("url") == self.url and body.get("stream") is not True
                and (self.max_requests is None or self.count < self.max_requests) and self._ids.add_new(ident)):
            self.count += 1
            return obj
        return self._check_line(number, obj)

    def _check_line(self, number: int, obj: dict) -> dict:
        kind = line_format(obj)
        if kind not in self.formats:
            expected = " or ".join(_FORMAT_NAMES[f] for f in self.formats)
            raise _line_error(number, f"is not a batch request line (expected {expected})")
        if self.format is None:
            self.format = kind
        elif kind != self.format:
            raise _line_error(number, f"is in {kind} format but earlier lines are in {self.format} format")
        if kind == OPENAI:
            self._check_openai(number, obj)
        ident = obj.get("custom_id", obj.get("key", obj.get("recordId")))
        if ident is not None or kind != BEDROCK:  # the other formats have the ID key (`line_format`): null is no ID
            if not isinstance(ident, str) or not ident:
                raise _line_error(number, "has an ID that is not a non-empty string", "custom_id")
            if ident in self._ids:
                raise _line_error(number, f"repeats custom_id {ident!r}", "custom_id")
            self._ids.add(ident)
        self.count += 1
        if self.max_requests is not None and self.count > self.max_requests:
            raise BadRequest(f"Line {number} is request {self.count}: a batch file takes at most "
                             f"{self.max_requests} requests.", param=f"line {number}", code="too_many_requests")
        return obj

    def _check_openai(self, number: int, obj: dict) -> None:
        if obj.get("method") != "POST":
            raise _line_error(number, 'must have "method": "POST"', "method")
        url = obj.get("url")
        if not isinstance(url, str) or not url:
            raise _line_error(number, 'must have a "url"', "url")
        if self.url is None:
            self.url = url
        elif url != self.url:
            where = "the batch endpoint" if self.endpoint else "the url of earlier lines"
            raise _line_error(number, f"has url {url!r}, not {self.url!r} ({where})", "url")
        body = obj.get("body")
        if not isinstance(body, dict):
            raise _line_error(number, 'must have a "body" object', "body")
        if body.get("stream") is True:
            raise _line_error(number, "asks for streaming, which batches do not support", "body.stream")

    def check_block(self, number: int, block: bytes) -> int:
        """Check a block of whole lines (ending in a newline) that follows line `number`; returns the
        number of its last line.

        Fast path for OpenAI-format lines: the block is decoded in one call into just the fields
        the rules need (the rest of each line is checked as JSON and skipped, never built into
        Python objects), and the rules run over the block at once. Anything the fast path does not
        accept goes line by line through `__call__`, which names the line that breaks a rule.
        """
        if self._accept_block(block):
            return number + block.count(b"\n")
        return check_each(self, number, block.split(b"\n")[:-1])

    def _accept_block(self, block: bytes) -> bool:
        if OPENAI not in self.formats or self.format not in (None, OPENAI):
            return False
        try:
            parsed = _decode_openai_lines(block)  # skips blank lines
        except (msgspec.DecodeError, RecursionError):  # other formats, wrong types, deep nesting
            return False
        commit = self._plan(parsed)
        if commit is None:
            return False
        commit()
        return True

    def plan_block(self, parsed: Sequence[TypedLine]) -> Callable[[], None] | None:
        """The rules over a block of already-parsed OpenAI-format lines, without changing any state.

        Returns the function that records the block (its IDs, count, format and url) once the
        caller has done its own work on it, or None when the block breaks a rule or is one the
        rules cannot decide at once (the caller then goes line by line, which names the line). A
        subclass that adds rules to `__call__` gets None unless it overrides this too.
        """
        if type(self).__call__ is not BatchInputCheck.__call__:
            return None
        return self._plan(parsed)

    def _plan(self, parsed: Sequence[TypedLine]) -> Callable[[], None] | None:
        if OPENAI not in self.formats or self.format not in (None, OPENAI):
            return None
        if not parsed:
            return _nothing
        url = self.url or parsed[0].url
        if not url or not all(p.method == "POST" and p.url == url and p.body.stream is not True for p in parsed):
            return None
        if self.max_requests is not None and self.count + len(parsed) > self.max_requests:
            return None  # line by line, to name the line past the cap
        ids = [p.custom_id for p in parsed]
        fresh = set(ids)
        if len(fresh) != len(ids) or "" in fresh or not self._ids.isdisjoint(fresh):
            return None

        def commit() -> None:
            self._ids.update(fresh)
            self.count += len(parsed)
            self.format, self.url = OPENAI, url

        return commit

    def finish(self) -> None:
        """Call after the last line: an empty file is a 400."""
        if self.count == 0:
            raise BadRequest("The batch file has no request lines.", param="file", code="empty_file")


_FORMAT_NAMES = {
    OPENAI: '{"custom_id", "method", "url", "body"}',
    ANTHROPIC: '{"custom_id", "params"}',
    GEMINI: '{"key", "request"}',
    BEDROCK: '{"recordId", "modelInput"}',
}


def _line_error(number: int, text: str, field: str | None = None) -> BadRequest:
    return BadRequest(f"Line {number} {text}.", param=f"line {number}" + (f": {field}" if field else ""),
                      code="invalid_batch_line")


def check_each(check: Callable[[int, dict], dict], number: int, lines: list[bytes]) -> int:
    """Parse and check the raw lines after line `number` one by one (blank lines skipped)."""
    for raw in lines:
        number += 1
        if raw.strip():
            check(number, parse_line(raw, number))
    return number


def checked_chunks(chunks: Iterable[bytes], check: Callable[[int, dict], dict],
                   max_line: int = MAX_LINE_BYTES) -> Iterator[bytes]:
    """Pass `chunks` through unchanged while `check` sees every complete line.

    The check runs as the bytes flow, so a bad line stops the stream (and with it the upstream
    upload) at that line. A check with a `check_block` method gets each chunk's whole lines at
    once; `check.finish()` runs at the end when the check has one. A line is held (as its parts)
    until it ends; past `max_line` it is a 400.
    """
    check_block = getattr(check, "check_block", None) or (
        lambda number, block: check_each(check, number, block.split(b"\n")[:-1]))
    parts: list[bytes] = []  # the unfinished line at the end of the previous chunks
    pending = 0
    number = 0
    for chunk in chunks:
        cut = chunk.rfind(b"\n")
        if cut < 0:
            parts.append(chunk)
            pending += len(chunk)
            if pending > max_line:
                raise line_too_long(number + 1, max_line)
        else:
            if pending + chunk.find(b"\n") > max_line:
                raise line_too_long(number + 1, max_line)
            if len(chunk) > max_line:  # whole lines inside one chunk may be too long too
                _check_lengths(chunk[: cut + 1], number, max_line)
            parts.append(chunk[: cut + 1])
            block = b"".join(parts)
            parts = [chunk[cut + 1:]]
            pending = len(parts[0])
            number = check_block(number, block)
        yield chunk
    rest = b"".join(parts)
    if rest.strip():
        check_each(check, number, [rest])
    finish = getattr(check, "finish", None)
    if finish:
        finish()


def _check_lengths(block: bytes, number: int, max_line: int) -> None:
    for offset, line in enumerate(block.split(b"\n"), start=1):
        if len(line) > max_line:
            raise line_too_long(number + offset, max_line)


def translated_lines(
    lines: Iterable[bytes], translate: Callable[[dict], dict | list[dict]],
    check: Callable[[int, dict], dict] | None = None,
    fast: Callable[[list[ChatLine]], list | None] | None = None,
) -> Iterator[bytes]:
    """Parse each line, check it, translate it, and yield it as JSONL (bytes with `\\n`): one line, or one
    per item when `translate` gives a list (a line that becomes several provider lines).

    With `fast` (a translator's typed fast path) and a `check` that has `plan_block`, blocks of lines
    go the typed way when they can (`translated_blocks`): same bytes, same errors, several times faster.
    """
    if fast is None:
        yield from _translated_each(lines, translate, check)
        return

    def step(number: int, obj: dict) -> dict | list[dict]:
        if check is not None:
            check(number, obj)
        try:
            return translate(obj)
        except BadRequest as error:
            raise BadRequest(f"Line {number}: {error.message}", param=f"line {number}", code=error.code) from None

    plan = getattr(check, "plan_block", None)
    for _, _, outs, typed in translated_blocks(lines, step, plan=plan, fast=fast):
        if typed:
            yield _encode_lines(outs)
        else:
            out = outs[0]
            yield b"".join(_encode(item) + b"\n" for item in out) if isinstance(out, list) else _encode(out) + b"\n"
    finish = getattr(check, "finish", None)
    if finish:
        finish()


def _translated_each(lines: Iterable[bytes], translate: Callable[[dict], dict | list[dict]],
                     check: Callable[[int, dict], dict] | None) -> Iterator[bytes]:
    for number, obj in numbered_objects(lines):
        if check is not None:
            check(number, obj)
        try:
            out = translate(obj)
        except BadRequest as error:
            raise BadRequest(f"Line {number}: {error.message}", param=f"line {number}", code=error.code) from None
        if isinstance(out, list):
            yield b"".join(_encode(item) + b"\n" for item in out)
        else:
            yield _encode(out) + b"\n"
    finish = getattr(check, "finish", None)
    if finish:
        finish()


# Lines are taken in blocks of about this many bytes for the typed path (one block is held at a time).
BLOCK_BYTES = 64 * 1024


def translated_blocks(
    lines: Iterable[bytes], step: Callable[[int, dict], object], *,
    plan: Callable[[list[ChatLine]], Callable[[], None] | None] | None = None,
    fast: Callable[[list[ChatLine]], list | None] | None = None,
) -> Iterator[tuple[int, list[bytes], list, bool]]:
    """Translate lines a block at a time: `(number of the line before, raw lines, outputs, typed)`.

    A block of whole lines is decoded at once into `typed_lines.ChatLine`s; when every line has that
    shape, `plan` (the batch rules, `BatchInputCheck.plan_block`) accepts the block and `fast` (the
    translator's typed path) translates it, the block's outputs come back at once (`typed` True; one
    per non-blank line) and only then is the block recorded by the rules. Anything else (`fast` or
    `plan` None, a line of another shape, a rule broken, a value the fast path does not translate
    exactly like the per-line path) goes line by line through `step(number, parsed line)` as before,
    one raw line per yield (`typed` False; no output for a blank line), so every 400 stays the same.
    `step` raising stops the stream at that line.
    """
    number = 0
    held: list[bytes] = []
    size = 0
    for raw in lines:
        held.append(raw)
        size += len(raw)
        if size >= BLOCK_BYTES:
            yield from _block(number, held, step, plan, fast)
            number += len(held)
            held, size = [], 0
    if held:
        yield from _block(number, held, step, plan, fast)


def _block(number: int, held: list[bytes], step: Callable[[int, dict], object],
           plan: Callable[[list[ChatLine]], Callable[[], None] | None] | None,
           fast: Callable[[list[ChatLine]], list | None] | None) -> Iterator[tuple[int, list[bytes], list, bool]]:
    if plan is not None and fast is not None:
        parsed = decode_chat_lines(b"\n".join(held))
        if parsed:
            commit = plan(parsed)
            if commit is not None:
                outs = fast(parsed)
                if outs is not None:
                    commit()
                    yield number, held, outs, True
                    return
    for raw in held:
        number += 1
        if raw.strip():
            yield number - 1, [raw], [step(number, parse_line(raw, number))], False


def block_numbers(number: int, held: list[bytes]) -> list[int]:
    """The line numbers of the non-blank lines of a block that follows line `number` (one per typed output)."""
    return [number + offset for offset, raw in enumerate(held, start=1) if raw.strip()]


def dumps(obj: object) -> bytes:
    """Compact JSON bytes (UTF-8), one line."""
    return _encode(obj)


def dumps_lines(objs: Iterable[object]) -> bytes:
    """Compact JSON lines (UTF-8), each ending in `\\n`: `dumps` of each, encoded at once."""
    return _encode_lines(objs)
