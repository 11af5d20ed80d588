"""The shared batch-file rules and the streaming line splitter."""

from __future__ import annotations

import json
import time

import pytest

from errors import BadRequest
from translators import jsonl


def line(custom_id="a", url="/v1/chat/completions", **extra) -> bytes:
    obj = {"custom_id": custom_id, "method": "POST", "url": url, "body": {"model": "m", "messages": []}}
    obj.update(extra)
    return json.dumps(obj).encode()


def run(content: bytes, chunk: int = 7, **check_args) -> bytes:
    chunks = [content[i:i + chunk] for i in range(0, len(content), chunk)]
    return b"".join(jsonl.checked_chunks(chunks, jsonl.BatchInputCheck(**check_args)))


def test_split_lines_handles_chunk_boundaries_crlf_and_u2028():
    text = '{"a": "x\u2028y"}\r\n{"b": 1}\n\n{"c": 2}'.encode()
    for size in (1, 2, 5, 100):
        chunks = [text[i:i + size] for i in range(0, len(text), size)]
        assert list(jsonl.split_lines(chunks)) == ['{"a": "x\u2028y"}'.encode(), b'{"b": 1}', b"", b'{"c": 2}']


def test_valid_file_passes_through_unchanged_whatever_the_chunking():
    content = line("a") + b"\n" + line("b") + b"\n\n" + line("c")
    for size in (1, 3, 64, 4096):
        assert run(content, size) == content


@pytest.mark.parametrize(
    "content, message, param",
    [
        (b"", "no request lines", "file"),
        (line("a") + b"\n{oops", "Line 2 is not valid JSON", "file"),
        (line("a") + b"\n" + line("a"), "Line 2 repeats custom_id 'a'", "line 2: custom_id"),
        (line("a") + b"\n" + line("b", url="/v1/embeddings"), "Line 2 has url", "line 2: url"),
        (line("a", method="GET"), 'Line 1 must have "method": "POST"', "line 1: method"),
        (line("a", body=[1]), 'must have a "body" object', "line 1: body"),
        (line("a", body={"stream": True}), "asks for streaming", "line 1: body.stream"),
        (b'{"prompt": "x"}', "is not a batch request line", "line 1"),
        (line(custom_id=""), "not a non-empty string", "line 1: custom_id"),
        (line(custom_id=None), "not a non-empty string", "line 1: custom_id"),
        (line("a") + b"\n" + line(custom_id=None), "Line 2 has an ID that is not", "line 2: custom_id"),
    ],
)
def test_broken_rules_name_the_line(content, message, param):
    with pytest.raises(BadRequest) as caught:
        run(content)
    assert message in caught.value.message
    assert caught.value.param == param


def test_a_null_id_is_no_id_in_every_format_but_bedrocks():
    for content, formats in ((b'{"custom_id": null, "params": {}}', (jsonl.ANTHROPIC,)),
                             (b'{"key": null, "request": {}}', (jsonl.GEMINI,))):
        with pytest.raises(BadRequest, match="not a non-empty string"):
            run(content, formats=formats)
    record = b'{"modelInput": {}}'  # Bedrock's recordId may be left out
    assert run(record, formats=(jsonl.BEDROCK,)) == record


def test_endpoint_is_enforced_when_known():
    with pytest.raises(BadRequest) as caught:
        run(line("a", url="/v1/embeddings"), endpoint="/v1/chat/completions")
    assert "the batch endpoint" in caught.value.message


def test_native_formats_only_where_allowed_and_never_mixed():
    gemini = b'{"key": "k1", "request": {"contents": []}}'
    assert run(gemini, formats=(jsonl.OPENAI, jsonl.GEMINI)) == gemini
    with pytest.raises(BadRequest):
        run(gemini)
    with pytest.raises(BadRequest) as caught:
        run(gemini + b"\n" + line("a"), formats=(jsonl.OPENAI, jsonl.GEMINI))
    assert "Line 2" in caught.value.message


def test_translated_lines_checks_and_converts():
    content = [line("a") + b"\n" + line("b")]
    check = jsonl.BatchInputCheck()
    out = list(jsonl.translated_lines(jsonl.split_lines(content), lambda o: {"id": o["custom_id"]}, check))
    assert out == [b'{"id":"a"}\n', b'{"id":"b"}\n'] and check.count == 2


@pytest.mark.parametrize("chunk", [1, 5, 64, 100_000])
def test_line_numbers_stay_right_across_fast_blocks_with_blank_lines(chunk):
    good = b"\n".join([line("a"), b"", line("b"), b"  ", line("c")]) + b"\r\n\n"
    with pytest.raises(BadRequest) as caught:
        run(good + line("d") + b"\n" + line("b"), chunk)
    assert caught.value.message == "Line 8 repeats custom_id 'b'."


def test_fast_block_path_agrees_with_the_line_by_line_rules():
    """Every rule, checked through blocks of whole lines and through single lines, gives the same verdict."""
    cases = [
        line("a", body={"stream": False, "messages": []}),
        line("a", body={"stream": True}),
        line("a", method="post"),
        line("a", url=""),
        line(custom_id=7),
        b'{"custom_id": "a", "params": {"model": "m"}}',
        b'{"custom_id": "a", "method": "POST", "url": "/v1/chat/completions", "body": {"x": tru}}',
    ]
    for case in cases:
        content = line("first") + b"\n" + case + b"\n"
        verdicts = []
        for check_args in ({}, {"formats": (jsonl.OPENAI, jsonl.ANTHROPIC)}):
            for size in (3, 100_000):
                try:
                    run(content, size, **check_args)
                    verdicts.append("ok")
                except BadRequest as error:
                    verdicts.append(error.message)
            assert verdicts[-1] == verdicts[-2], case


@pytest.mark.parametrize("chunk", [3, 100_000])
def test_a_provider_cap_on_requests_names_the_first_line_past_it(chunk):
    content = b"\n".join(line(f"r{n}") for n in range(5))
    assert run(content, chunk, max_requests=5) == content
    with pytest.raises(BadRequest) as caught:
        run(content, chunk, max_requests=4)
    assert caught.value.message == "Line 5 is request 5: a batch file takes at most 4 requests."
    assert caught.value.code == "too_many_requests"


# Bounded work per line


def test_a_line_past_the_cap_is_a_400_naming_it_without_collecting_it_whole():
    chunks = [b'{"a": 1}\n', b"x" * 600, b"y" * 600]
    with pytest.raises(BadRequest) as caught:
        list(jsonl.split_lines(chunks, max_line=1000))
    assert caught.value.param == "line 2" and caught.value.code == "line_too_long"
    check = jsonl.BatchInputCheck()
    with pytest.raises(BadRequest) as caught:
        list(jsonl.checked_chunks([b"z" * 600, b"z" * 600], check, max_line=1000))
    assert caught.value.param == "line 1"
    with pytest.raises(BadRequest):  # a long line that ends inside the next chunk
        list(jsonl.checked_chunks([b"z" * 900, b"z" * 200 + b"\n"], check, max_line=1000))
    with pytest.raises(BadRequest) as caught:  # a long line inside one big chunk
        list(jsonl.checked_chunks([b"{}\n" + b"z" * 2000 + b"\n{}\n"], check, max_line=1000))
    assert caught.value.param == "line 2"


def test_a_line_in_many_small_chunks_is_joined_once():
    line = b'{"custom_id": "a", "method": "POST", "url": "/v1/chat/completions", "body": {"x": "' + b"q" * 400_000
    chunks = [line[i:i + 7] for i in range(0, len(line), 7)] + [b'"}}\n']
    started = time.perf_counter()
    (joined,) = list(jsonl.split_lines(chunks))
    assert joined.endswith(b'"}}') and time.perf_counter() - started < 2  # quadratic += took far longer
    check = jsonl.BatchInputCheck()
    assert b"".join(jsonl.checked_chunks(chunks, check)).endswith(b"\n") and check.count == 1


def test_deep_nesting_and_container_floods_are_400s_naming_the_line():
    deep = b'{"custom_id": "a", "body": ' + b"[" * 100 + b"]" * 100 + b"}"
    with pytest.raises(BadRequest) as caught:
        jsonl.parse_line(deep, 7)
    assert caught.value.param == "line 7" and "nested deeper" in caught.value.message
    very_deep = b"[" * 5000 + b"]" * 5000
    with pytest.raises(BadRequest):
        jsonl.parse_line(very_deep, 1)
    flood = b'{"requests": [' + b",".join([b"{}"] * (jsonl.MAX_CONTAINERS + 1)) + b"]}"
    with pytest.raises(BadRequest) as caught:
        jsonl.parse_line(flood, 3)
    assert "more than" in caught.value.message
    # Brackets inside strings do not count.
    texty = b'{"text": "' + b"{[" * (jsonl.MAX_CONTAINERS + 5) + b'"}'
    assert jsonl.parse_line(texty, 1)["text"].startswith("{[")
    check = jsonl.BatchInputCheck()
    with pytest.raises(BadRequest) as caught:  # the block fast path falls back and names the line
        list(jsonl.checked_chunks([b'{"custom_id": "a", "method": "POST", "url": "/v1/chat/completions", '
                                   b'"body": {"x": ' + b"[" * 2000 + b"]" * 2000 + b"}}\n"], check))
    assert caught.value.param == "line 1"
