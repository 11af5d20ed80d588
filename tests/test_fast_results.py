"""The typed result fast paths (translators/fast_results.py) against the per-line slow paths.

For every block of result lines the fast path either declines (None) or gives exactly the bytes the
slow path (`converted_lines` + `jsonl_chunks`, as the call sites ran it before the fast path) puts
in the output file, with nothing in the error file; and whole streams through
`batch_output.converted_chunks` (good and odd lines mixed, cut into chunks anywhere) give the same
output and error files, byte for byte, as the slow path. Lines are generated from the usual success
shape and then mutated at random places (extra or known fields added, fields removed, values
replaced by nulls, floats, unknown reasons, other types), plus lines that are not JSON at all.
"""

from __future__ import annotations

import copy
import functools
import itertools
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from blueprints.anthropic import operations as anthropic_ops
from errors import BadRequest
from translators import anthropic, batch_output, bedrock, fast_results, gemini, gemini_endpoints, jsonl

CREATED = 1_700_000_000
JOB = "job12345678"
MODEL = "amazon.nova-pro-v1:0"
CUSTOM_IDS = ["alpha", "b\u2028eta", "gamma", "d\"elta", "eps"]


@dataclass(frozen=True)
class Setup:
    name: str
    fast: batch_output.FastConvert
    convert: batch_output.Convert
    identify: batch_output.Identify
    number_blank: bool  # results numbered by position in the file (blank lines too), else non-blank only


SETUPS = {
    "anthropic": Setup(
        "anthropic", fast_results.anthropic_chat(CREATED),
        functools.partial(anthropic_ops._convert, batch_id="msgbatch_01x", created=CREATED,
                          endpoint=anthropic.CHAT_COMPLETIONS),
        functools.partial(anthropic_ops._identify, batch_id="msgbatch_01x"), False),
    "anthropic-no-created": Setup(
        "anthropic", fast_results.anthropic_chat(None),
        functools.partial(anthropic_ops._convert, batch_id="msgbatch_01x", created=None,
                          endpoint=anthropic.CHAT_COMPLETIONS),
        functools.partial(anthropic_ops._identify, batch_id="msgbatch_01x"), False),
    "gemini": Setup(
        "gemini", fast_results.gemini_chat(model="gemini-2.0-flash", created=CREATED),
        functools.partial(gemini_endpoints.output_line, url=gemini_endpoints.CHAT_COMPLETIONS, batch="batches/b1",
                          model="gemini-2.0-flash", created=CREATED),
        functools.partial(gemini.identify, batch="batches/b1"), True),
    "bedrock": Setup(
        "bedrock", fast_results.bedrock_chat(job_id=JOB, model=MODEL, created=CREATED, custom_ids=CUSTOM_IDS),
        lambda record, number: bedrock.output_line(record, job_id=JOB, model=MODEL, created=CREATED,
                                                   custom_ids=CUSTOM_IDS),
        lambda record, number: bedrock.result_identity(record, number, job_id=JOB, custom_ids=CUSTOM_IDS), False),
    "bedrock-no-sidecar": Setup(
        "bedrock", fast_results.bedrock_chat(job_id=JOB, model=MODEL, created=CREATED, custom_ids=None),
        lambda record, number: bedrock.output_line(record, job_id=JOB, model=MODEL, created=CREATED),
        lambda record, number: bedrock.result_identity(record, number, job_id=JOB), False),
}
PROVIDER_OF = {"anthropic-no-created": "anthropic", "bedrock-no-sidecar": "bedrock"}


def _join(chunks: Iterable[bytes]) -> bytes:
    return b"".join(chunks)


def slow_files(setup: Setup, chunks: Iterable[bytes]) -> tuple[bytes, bytes]:
    """(output file, error file) as the call sites made them before the fast path."""
    lines = jsonl.split_lines(chunks)
    if setup.number_blank:
        records: Iterable[tuple[int, bytes]] = ((n, raw) for n, raw in enumerate(lines, 1) if raw.strip())
    else:
        numbers = itertools.count(1)
        records = ((next(numbers), raw) for raw in lines if raw.strip())
    converted = list(batch_output.converted_lines(records, setup.convert, setup.identify, provider=setup.name))
    return (_join(batch_output.jsonl_chunks(converted, successes=True)),
            _join(batch_output.jsonl_chunks(converted, successes=False)))


def fast_files(setup: Setup, chunks: Iterable[bytes]) -> tuple[bytes, bytes]:
    converted = list(batch_output.converted_chunks(chunks, setup.fast, setup.convert, setup.identify,
                                                   provider=setup.name, number_blank=setup.number_blank))
    return (_join(batch_output.jsonl_chunks(converted, successes=True)),
            _join(batch_output.jsonl_chunks(converted, successes=False)))


# Result lines: the usual success shape of each provider, drawn with varied values.

TEXTS = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", "plain", "line\u2028sep\u2029para", 'quote " and \\ backslash', "tab\t nl\n cr\r nul\x00",
                     "caf\u00e9 \U0001f600 \u4e2d\u6587", "\x7f\x1f", "</script>"]),
)
COUNTS = st.one_of(st.integers(0, 10**6), st.sampled_from([0, 1, 2**31, 2**63 - 1]))
ANTHROPIC_REASONS = sorted(anthropic.FINISH_REASONS) + ["a_new_reason"]
CONVERSE_REASONS = sorted(bedrock.CONVERSE_FINISH_REASONS) + ["a_new_reason"]
GEMINI_REASONS = sorted(gemini.FINISH_REASONS) + ["A_NEW_REASON"]


@st.composite
def claude_messages(draw: st.DrawFn) -> dict:
    usage = {"input_tokens": draw(COUNTS), "output_tokens": draw(COUNTS)}
    for name in ("cache_creation_input_tokens", "cache_read_input_tokens"):
        choice = draw(st.sampled_from(["absent", "null", "count"]))
        if choice != "absent":
            usage[name] = None if choice == "null" else draw(COUNTS)
    return {"id": draw(st.sampled_from(["msg_01abc", "msg_\u00e9\"x", ""])), "type": "message", "role": "assistant",
            "model": draw(st.sampled_from(["claude-3-5-sonnet-20240620", "m\u2028"])),
            "content": [{"type": "text", "text": draw(TEXTS)} for _ in range(draw(st.integers(0, 3)))],
            "stop_reason": draw(st.sampled_from(ANTHROPIC_REASONS)), "stop_sequence": None, "usage": usage}


@st.composite
def anthropic_lines(draw: st.DrawFn) -> dict:
    custom_id = draw(st.sampled_from(["request-1", "r\u2028", "x" * 64, "q\"uote"]))
    return {"custom_id": custom_id, "result": {"type": "succeeded", "message": draw(claude_messages())}}


@st.composite
def converse_outputs(draw: st.DrawFn) -> dict:
    usage = {"inputTokens": draw(COUNTS), "outputTokens": draw(COUNTS), "totalTokens": draw(COUNTS)}
    for name in ("cacheReadInputTokens", "cacheWriteInputTokens"):
        choice = draw(st.sampled_from(["absent", "null", "count"]))
        if choice != "absent":
            usage[name] = None if choice == "null" else draw(COUNTS)
    return {"output": {"message": {"role": "assistant",
                                   "content": [{"text": draw(TEXTS)} for _ in range(draw(st.integers(0, 3)))]}},
            "stopReason": draw(st.sampled_from(CONVERSE_REASONS)), "usage": usage, "metrics": {"latencyMs": 812}}


@st.composite
def bedrock_lines(draw: st.DrawFn) -> dict:
    record_id = draw(st.sampled_from(["R0000000001", "R0000000005", "R0000000009", "own-id", "R00000000x1"]))
    output = draw(st.one_of(claude_messages(), converse_outputs()))
    return {"recordId": record_id, "modelInput": {"messages": [{"role": "user", "content": "hi"}]},
            "modelOutput": output}


@st.composite
def gemini_lines(draw: st.DrawFn) -> dict:
    candidates = []
    for i in range(draw(st.integers(1, 2))):
        candidate = {"content": {"parts": [{"text": draw(TEXTS)} for _ in range(draw(st.integers(0, 3)))],
                                 "role": "model"},
                     "finishReason": draw(st.sampled_from(GEMINI_REASONS)), "avgLogprobs": -0.12}
        if draw(st.booleans()):
            candidate["index"] = draw(st.sampled_from([i, 7]))
        candidates.append(candidate)
    usage = {"promptTokenCount": draw(COUNTS), "candidatesTokenCount": draw(COUNTS)}
    for name in ("totalTokenCount", "thoughtsTokenCount", "toolUsePromptTokenCount", "cachedContentTokenCount"):
        if draw(st.booleans()):
            usage[name] = draw(COUNTS)
    response = {"candidates": candidates, "usageMetadata": usage,
                "responseId": draw(st.sampled_from(["resp1", "r\u2028\"", ""]))}
    if draw(st.booleans()):
        response["modelVersion"] = draw(st.sampled_from(["gemini-2.0-flash-001", "", None]))
    return {"key": draw(st.sampled_from(["request-1", "k\u2028", "q\"uote"])), "response": response}


GOOD = {"anthropic": anthropic_lines(), "gemini": gemini_lines(), "bedrock": bedrock_lines()}

# Values a mutation puts somewhere: nulls, other types, floats where ints go, unknown and known reasons.
VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 2**70), st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([1.0, 0.0, "", "x", [], {}, [{}], {"a": 1}, "text", "message", "succeeded", "errored",
                     "expired", "canceled", "tool_use", "end_turn", "STOP", "MAX_TOKENS", "A_NEW_REASON"]),
    st.sampled_from(ANTHROPIC_REASONS + CONVERSE_REASONS + GEMINI_REASONS),
    st.fixed_dictionaries({"type": st.sampled_from(["text", "thinking", "tool_use"]), "text": TEXTS}),
    st.fixed_dictionaries({"text": TEXTS, "thought": st.sampled_from([True, False, None, 1])}),
    st.fixed_dictionaries({"functionCall": st.just({"name": "f", "args": {}})}),
    st.fixed_dictionaries({"type": st.just("tool_use"), "id": st.just("tu_1"), "name": st.just("f"),
                           "input": st.just({"a": 1})}),
    st.fixed_dictionaries({"errorCode": st.sampled_from([400, "ThrottlingException"]),
                           "errorMessage": st.just("no")}),
    st.fixed_dictionaries({"type": st.just("invalid_request_error"), "message": st.just("bad")}),
)
# Keys a mutation adds: unknown ones, and ones some slow path reads.
KEYS = st.sampled_from([
    "extra", "x_future_field", "thought", "functionCall", "promptFeedback", "logprobsResult", "index", "type",
    "error", "status", "metadata", "id", "model", "output", "stopReason", "stop_reason", "content", "usage",
    "totalTokenCount", "cachedContentTokenCount", "thoughtsTokenCount", "cache_read_input_tokens", "text",
    "message", "result", "custom_id", "key", "recordId", "responseId", "modelVersion", "candidates",
    "output_tokens_details", "citationsContent", "toolUse", "parts",
])


def _containers(value: object) -> list:
    found, stack = [], [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            found.append(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            found.append(item)
            stack.extend(item)
    return found


@st.composite
def mutated(draw: st.DrawFn, good: st.SearchStrategy) -> dict:
    line = copy.deepcopy(draw(good))
    for _ in range(draw(st.integers(0, 3))):
        target = draw(st.sampled_from(_containers(line)))
        operation = draw(st.sampled_from(["add", "replace", "delete"]))
        # (values are copied: the strategies hand out shared objects, which must not change)
        if isinstance(target, dict):
            if operation == "add" or not target:
                target[draw(KEYS)] = copy.deepcopy(draw(VALUES))
            elif operation == "replace":
                target[draw(st.sampled_from(sorted(target)))] = copy.deepcopy(draw(VALUES))
            else:
                del target[draw(st.sampled_from(sorted(target)))]
        elif operation == "add" or not target:
            target.append(copy.deepcopy(draw(VALUES)))
        elif operation == "replace":
            target[draw(st.integers(0, len(target) - 1))] = copy.deepcopy(draw(VALUES))
        else:
            target.pop(draw(st.integers(0, len(target) - 1)))
    return line


ODD_LINES = st.sampled_from([b"{not json", b"[1, 2]", b'"a string"', b"null", b"{}", b'{"a": 1} {"b": 2}',
                             b'{"custom_id": "c", "result": {"type": "expired"}}',
                             b'{"key": "k", "error": {"code": 8, "message": "quota"}}',
                             b'{"recordId": "R0000000002", "error": {"errorCode": 429, "errorMessage": "slow"}}',
                             b"\xff\xfe{}", b'{"x": "\xe9"}'])


def _encoded(line: dict, style: int) -> bytes:
    if style == 0:
        return json.dumps(line).encode()
    if style == 1:
        return json.dumps(line, separators=(",", ":"), ensure_ascii=False).encode()
    return json.dumps(line, indent=None, ensure_ascii=True, sort_keys=True).encode()


@st.composite
def result_lines(draw: st.DrawFn, provider: str) -> bytes:
    kind = draw(st.sampled_from(["good", "good", "mutated", "mutated", "odd"]))
    if kind == "odd":
        return draw(ODD_LINES)
    line = draw(GOOD[provider]) if kind == "good" else draw(mutated(GOOD[provider]))
    return _encoded(line, draw(st.integers(0, 2)))


def _check_block(setup: Setup, lines: list[bytes]) -> bool:
    """Whether the fast path accepted the block; when it did, its bytes are the slow path's."""
    fast = setup.fast(lines)
    if fast is None:
        return False
    output, errors = slow_files(setup, [b"\n".join(lines) + b"\n"])
    assert fast == output
    assert errors == b""
    return True


SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(st.sampled_from(sorted(SETUPS)), st.data())
def test_a_block_is_declined_or_converted_byte_for_byte(name: str, data: st.DataObject) -> None:
    setup = SETUPS[name]
    lines = data.draw(st.lists(result_lines(PROVIDER_OF.get(name, name)), min_size=1, max_size=4))
    _check_block(setup, lines)


@SETTINGS
@given(st.sampled_from(sorted(SETUPS)), st.data())
def test_a_stream_gives_the_same_output_and_error_files(name: str, data: st.DataObject) -> None:
    setup = SETUPS[name]
    lines = data.draw(st.lists(result_lines(PROVIDER_OF.get(name, name)), max_size=12))
    ends = data.draw(st.lists(st.sampled_from([b"\n", b"\n", b"\r\n", b"\n\n", b"\n  \n"]),
                              min_size=len(lines), max_size=len(lines)))
    stream = b"".join(line + end for line, end in zip(lines, ends, strict=True))
    if data.draw(st.booleans()):
        stream = stream.rstrip(b"\n")  # a last line without its line end
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=6)))
    chunks = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]
    assert fast_files(setup, chunks) == slow_files(setup, chunks)


# The usual lines are accepted (the tests above are not vacuous), with every known reason.


def _usual(count: int, make: Callable[[int], dict]) -> list[bytes]:
    return [json.dumps(make(i)).encode() for i in range(count)]


def test_usual_anthropic_results_take_the_fast_path_with_every_known_stop_reason():
    for reason in anthropic.FINISH_REASONS:
        def make(i: int, reason: str = reason) -> dict:
            message = {"id": f"msg_{i}", "type": "message", "model": "claude", "role": "assistant",
                       "content": [{"type": "text", "text": "a\u2028"}, {"type": "text", "text": "b"}],
                       "stop_reason": reason, "stop_sequence": None,
                       "usage": {"input_tokens": 3, "output_tokens": 4, "cache_read_input_tokens": 2}}
            return {"custom_id": f"r{i}", "result": {"type": "succeeded", "message": message}}
        assert _check_block(SETUPS["anthropic"], _usual(3, make)), reason


def test_usual_gemini_results_take_the_fast_path_with_every_known_finish_reason():
    for reason in gemini.FINISH_REASONS:
        def make(i: int, reason: str = reason) -> dict:
            return {"key": f"k{i}", "response": {
                "candidates": [{"content": {"role": "model", "parts": [
                                    {"text": "hm", "thought": True}, {"text": "caf\u00e9"}, {"text": "!"}]},
                                "finishReason": reason, "avgLogprobs": -0.1, "index": 0}],
                "usageMetadata": {"promptTokenCount": 4, "candidatesTokenCount": 5, "totalTokenCount": 9},
                "modelVersion": "gemini-2.0-flash-001", "responseId": f"resp{i}"}}
        assert _check_block(SETUPS["gemini"], _usual(3, make)), reason


def test_usual_bedrock_records_take_the_fast_path_with_every_known_stop_reason():
    for reason in bedrock.CONVERSE_FINISH_REASONS:
        def converse(i: int, reason: str = reason) -> dict:
            return {"recordId": f"R{i + 1:010d}", "modelInput": {}, "modelOutput": {
                "output": {"message": {"role": "assistant", "content": [{"text": "x"}]}}, "stopReason": reason,
                "usage": {"inputTokens": 1, "outputTokens": 2, "totalTokens": 3}}}
        assert _check_block(SETUPS["bedrock"], _usual(3, converse)), reason
    for reason in anthropic.FINISH_REASONS:
        def claude(i: int, reason: str = reason) -> dict:
            return {"recordId": "own", "modelOutput": {
                "id": f"msg_{i}", "type": "message", "model": "claude", "content": [{"type": "text", "text": "y"}],
                "stop_reason": reason, "usage": {"input_tokens": 1, "output_tokens": 2}}}
        assert _check_block(SETUPS["bedrock"], _usual(3, claude)), reason


def test_unknown_reasons_errors_and_other_blocks_decline_and_keep_the_slow_paths_lines():
    anthropic_setup = SETUPS["anthropic"]
    good = {"custom_id": "r", "result": {"type": "succeeded", "message": {
        "id": "msg_1", "model": "claude", "content": [{"type": "text", "text": "x"}], "stop_reason": "end_turn",
        "usage": {"input_tokens": 1, "output_tokens": 1}}}}
    assert anthropic_setup.fast([json.dumps(good).encode()]) is not None
    for change in ({"stop_reason": "brand_new"}, {"stop_reason": None},
                   {"content": [{"type": "tool_use", "id": "t", "name": "f", "input": {}}]},
                   {"content": [{"type": "thinking", "thinking": "hm"}]}, {"usage": None}):
        odd = copy.deepcopy(good)
        odd["result"]["message"].update(change)
        assert anthropic_setup.fast([json.dumps(good).encode(), json.dumps(odd).encode()]) is None, change
    errored = {"custom_id": "e", "result": {"type": "errored", "error": {"type": "error", "error": {
        "type": "overloaded_error", "message": "busy"}}}}
    assert anthropic_setup.fast([json.dumps(errored).encode()]) is None
    # The stream still splits them exactly as before: the errored line in the error file.
    stream = [json.dumps(good).encode() + b"\n" + json.dumps(errored).encode() + b"\n"]
    output, errors = fast_files(anthropic_setup, stream)
    assert (output, errors) == slow_files(anthropic_setup, stream)
    assert json.loads(errors)["response"]["status_code"] == 529


def test_declining_and_accepting_keep_the_result_metrics_counts():
    import metrics

    setup = SETUPS["gemini"]
    good = _usual(2, lambda i: {"key": f"k{i}", "response": {
        "candidates": [{"content": {"parts": [{"text": "a"}]}, "finishReason": "STOP"}],
        "usageMetadata": {"promptTokenCount": 1}, "responseId": f"r{i}"}})

    def counts() -> list[float]:
        return [metrics.RESULT_LINES.labels(provider="gemini", outcome=o)._value.get()
                for o in ("output", "error", "unconvertible")]

    before = counts()
    list(batch_output.converted_chunks([b"\n".join(good) + b"\n{bad\n"], setup.fast, setup.convert,
                                       setup.identify, provider="gemini", number_blank=True))
    list(batch_output.converted_chunks([b"\n".join(good) + b"\n"], setup.fast, setup.convert,
                                       setup.identify, provider="gemini", number_blank=True))
    after = counts()
    assert [a - b for a, b in zip(after, before, strict=True)] == [4, 0, 1]


def test_a_line_with_bad_utf8_in_a_string_goes_to_the_error_file_with_its_text():
    # msgspec raises UnicodeDecodeError (not DecodeError) for it: the line must not break the download.
    setup = SETUPS["anthropic"]
    output, errors = fast_files(setup, [b'{"custom_id": "\xe9"}\n'])
    assert output == b""
    line = json.loads(errors)
    assert line["custom_id"] == "line-1" and line["response"]["body"]["provider_result"] == '{"custom_id": "\ufffd"}'


def _collected(lines: Iterable[bytes]) -> tuple[list[bytes], str | None]:
    seen: list[bytes] = []
    try:
        for line in lines:
            seen.append(line)
    except BadRequest as error:
        return seen, error.message
    return seen, None


@settings(max_examples=400, deadline=None)
@given(st.lists(st.text(alphabet="ab \r\n", max_size=60).map(str.encode), max_size=8), st.integers(1, 30))
def test_line_blocks_give_the_lines_of_the_whole_text_with_the_same_too_long_errors(chunks: list[bytes],
                                                                                     max_line: int):
    """`jsonl.line_blocks` (which `split_lines` and the results fast path read) against the whole text
    split at once: the same lines, `\r` ends dropped, and the 400 at the first line past `max_line`."""

    def whole() -> Iterator[bytes]:
        lines = b"".join(chunks).split(b"\n")
        if lines[-1] == b"":
            lines.pop()  # the text ended with its line end
        for number, line in enumerate(lines, start=1):
            if len(line) > max_line:
                raise jsonl.line_too_long(number, max_line)
            yield line[:-1] if line.endswith(b"\r") else line

    blocks = (line for block in jsonl.line_blocks(chunks, max_line) for line in block)
    assert _collected(blocks) == _collected(whole())
