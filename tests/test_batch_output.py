"""The one rule for provider result lines: every line comes out once, an unconvertible one as an
error line that keeps its custom_id and the provider's own line; output and error files split."""

from __future__ import annotations

import json

import pytest

from blueprints.common.streams import primed
from translators import batch_output as bo


def _convert(line: dict, number: int) -> dict:
    if line["kind"] == "ok":
        return bo.success_line(line["id"], f"r{number}", {"text": line["text"]})
    if line["kind"] == "failed":
        return bo.http_error_line(line["id"], f"r{number}", 400, "bad")
    raise KeyError(f"kind {line['kind']!r}")


def _identify(line: dict | None, number: int) -> tuple[str, str]:
    if line is None:
        return f"line-{number}", f"r{number}"
    return line["id"], f"r{number}"


def _records(*lines: object) -> list[tuple[int, bytes]]:
    return [(n, raw if isinstance(raw, bytes) else json.dumps(raw).encode()) for n, raw in enumerate(lines, 1)]


def test_every_record_gives_exactly_one_line_and_unknown_values_go_to_the_error_file():
    records = _records({"kind": "ok", "id": "a", "text": "x"}, {"kind": "new-kind", "id": "b"},
                       b"{not json", [1, 2], {"kind": "failed", "id": "c"}, {"kind": "ok", "id": "d", "text": "y"})
    lines = list(bo.converted_lines(records, _convert, _identify, provider="acme"))
    assert [line["custom_id"] for line in lines] == ["a", "b", "line-3", "line-4", "c", "d"]
    unknown = lines[1]
    assert unknown["response"]["status_code"] == 502
    error = unknown["response"]["body"]["error"]
    assert error["code"] == bo.UNCONVERTIBLE and error["type"] == "server_error"
    assert "acme" in error["message"] and "kind 'new-kind'" in error["message"]
    assert unknown["response"]["body"]["provider_result"] == {"kind": "new-kind", "id": "b"}
    assert lines[2]["response"]["body"]["provider_result"] == "{not json"
    assert "not valid JSON" in lines[2]["response"]["body"]["error"]["message"]
    assert lines[3]["response"]["body"]["provider_result"] == [1, 2]


def test_an_identify_that_cannot_read_the_line_falls_back_to_the_line_number():
    records = _records({"kind": "new"})  # no "id": identify raises KeyError on it
    (line,) = bo.converted_lines(records, _convert, _identify, provider="acme")
    assert line["custom_id"] == "line-1"


def test_a_broken_stream_is_not_swallowed():
    def records():
        yield 1, b'{"kind": "ok", "id": "a", "text": "x"}'
        raise ConnectionError("upstream went away")

    lines = bo.converted_lines(records(), _convert, _identify, provider="acme")
    assert next(lines)["custom_id"] == "a"
    with pytest.raises(ConnectionError):
        next(lines)


def test_jsonl_chunks_split_output_from_errors_and_batch_lines():
    lines = [bo.success_line(f"s{i}", f"r{i}", {"n": i}) for i in range(50)]
    lines += [bo.failure_line("e1", "x", bo.EXPIRED)]
    out = list(bo.jsonl_chunks(lines, successes=True, chunk_size=1024))
    assert len(out) > 1 and all(chunk.endswith(b"\n") for chunk in out)
    parsed = [json.loads(line) for line in b"".join(out).splitlines()]
    assert [p["custom_id"] for p in parsed] == [f"s{i}" for i in range(50)]
    errors = b"".join(bo.jsonl_chunks(lines, successes=False))
    assert [json.loads(line)["custom_id"] for line in errors.splitlines()] == ["e1"]


def test_finish_reason_falls_back_to_stop():
    table = {"end": "stop", "long": "length"}
    assert bo.finish_reason("long", table) == "length"
    assert bo.finish_reason("SOMETHING_NEW", table) == bo.FINISH_REASON_FALLBACK == "stop"
    assert bo.finish_reason(None, table) == "stop"


def test_primed_runs_the_stream_to_its_first_chunk_now():
    started = []

    def chunks():
        started.append(True)
        yield b"a"
        yield b"b"

    stream = primed(chunks())
    assert started == [True]
    assert b"".join(stream) == b"ab"
    assert list(primed(iter(()))) == []
