"""The Vertex typed fast path (`translate.vertex_fast_lines`, `operations._InputCheck.plan_block`).

Seeded random lines from tests/test_typed_fast_path.py, reshaped for Vertex (models that agree or not,
custom_ids of one label, several, or too long for the labels): for every block the fast path declines
(recording nothing) or gives exactly `input_line`'s bytes and the rule state (IDs, count, url, the
one model) of the per-line path; whole files give the same bytes and the same 400; and a batch
created through the gateway writes the same converted input either way.
"""

from __future__ import annotations

import io
import json
import random

import pytest

from blueprints.dispatcher import ids
from blueprints.vertex import operations
from blueprints.vertex import translate as tr
from errors import BadRequest
from tests.fakes.vertex import BUCKET, MODEL, TOKEN
from tests.test_typed_fast_path import dump, good_line, random_line
from translators import jsonl
from translators.typed_lines import decode_chat_lines

IDS = ["é" * 15, "x" * 31, "x" * 32, "中" * 40, "x" * 512, "x" * 513, "é" * 257, "7", "{}"]
TEXTS = ["{}", '{"a": {}}', "[{}]"]  # make `input_line`'s `{}` walk run (it must keep everything)


def vertex_line(rng: random.Random, wild: float, models: list, usual: bool = False) -> dict:
    """A line of `random_line`/`good_line` (only the latter when `usual`), with a model from `models` and at
    times a custom_id (not when `usual`) or text that matters to Vertex."""
    line = good_line(rng) if usual or rng.random() >= 0.3 else random_line(rng, wild)
    body = line.get("body")
    if isinstance(body, dict):
        model = rng.choice(models)
        if model is None:
            body.pop("model", None)
        else:
            body["model"] = model
        messages = body.get("messages")
        if rng.random() < 0.2 and isinstance(messages, list) and messages and isinstance(messages[-1], dict):
            messages[-1]["content"] = rng.choice(TEXTS)
    if not usual and rng.random() < 0.25 and "custom_id" in line:
        line["custom_id"] = rng.choice(IDS) + str(rng.randrange(10**6))
    return line


def model_set(rng: random.Random) -> list:
    """The models a file's lines name: one (sometimes left out), or at times a second one."""
    sets = [[MODEL], [MODEL, None], [MODEL, MODEL, MODEL, "gemini-2.5-pro"], [None], [MODEL, None, 5, ""]]
    return rng.choice(sets)


def new_check(rng: random.Random) -> tuple[operations._InputCheck, operations._InputCheck]:
    model_given = rng.random() < 0.3
    endpoint = rng.choice([None, "/v1/chat/completions", "/v1/chat/completions", "/v1/embeddings"])
    max_requests = rng.choice([None, None, 3, 8, 200_000])
    checks = []
    for _ in range(2):
        check = operations._InputCheck(model_given=model_given, converts=False, endpoint=endpoint)
        check.max_requests = max_requests
        checks.append(check)
    return checks[0], checks[1]


def state(check: operations._InputCheck) -> tuple:
    return check.count, check.format, check.url, check.model, sorted(check._ids._recent)


def run(lines: list[bytes], check, fast=None) -> tuple[bytes, tuple | None]:
    out: list[bytes] = []
    try:
        for piece in jsonl.translated_lines(iter(lines), tr.input_line, check, fast=fast):
            out.append(piece)
    except BadRequest as error:
        return b"".join(out), (error.message, error.param, error.code)
    return b"".join(out), None


@pytest.mark.parametrize("seed", range(30))
def test_an_accepted_block_is_byte_identical_and_records_the_same_state(seed, app):
    rng = random.Random(5000 + seed)
    accepted = declined = 0
    with app.app_context():
        for _ in range(80):
            wild = rng.choice([0.0, 0.0, 0.02, 0.1, 0.4])
            models = model_set(rng)
            lines = [dump(rng, vertex_line(rng, wild, models)) for _ in range(rng.randrange(1, 8))]
            if rng.random() < 0.2:
                lines.insert(rng.randrange(len(lines) + 1), rng.choice([b"", b"  "]))
            if rng.random() < 0.1:
                lines.append(lines[0])
            check_slow, check_fast = new_check(rng)
            if rng.random() < 0.4 and check_slow.endpoint != "/v1/embeddings":  # earlier lines seen
                body = {"messages": []} if rng.random() < 0.5 else {"model": rng.choice([MODEL, "gemini-2.5-pro"])}
                earlier = [json.dumps({"custom_id": "request-1", "method": "POST", "url": "/v1/chat/completions",
                                       "body": body}).encode()]
                for check in (check_slow, check_fast):
                    jsonl.check_each(check, 0, earlier)
            before = state(check_fast)
            parsed = decode_chat_lines(b"\n".join(lines))
            commit = check_fast.plan_block(parsed) if parsed else None
            outs = tr.vertex_fast_lines(parsed) if commit is not None else None
            assert state(check_fast) == before  # planning and translating record nothing
            expected, error = run(lines, check_slow)
            if outs is None:
                declined += 1
                continue
            accepted += 1
            commit()
            assert error is None, (lines, error)
            assert jsonl.dumps_lines(outs) == expected, lines
            assert state(check_fast) == state(check_slow)
    assert accepted > 10 and declined > 10, (accepted, declined)


@pytest.mark.parametrize("seed", range(25))
def test_pipeline_gives_the_same_bytes_the_same_400_and_the_same_model(seed, app, monkeypatch):
    rng = random.Random(6000 + seed)
    monkeypatch.setattr(jsonl, "BLOCK_BYTES", rng.choice([1, 200, 600, 2000, 64 * 1024]))
    typed: list[bool] = []

    def counting(lines):
        out = tr.vertex_fast_lines(lines)
        typed.append(out is not None)
        return out

    with app.app_context():
        for attempt in range(8):
            clean = attempt == 0  # one usual file per seed, so the typed way is taken in each
            wild = 0.0 if clean else rng.choice([0.0, 0.0, 0.005, 0.02, 0.1])
            models = [MODEL, None] if clean else model_set(rng)
            lines = [dump(rng, vertex_line(rng, wild, models, clean))
                     for _ in range(rng.randrange(10, 40) if clean else rng.randrange(1, 40))]
            for _ in range(0 if clean else rng.randrange(0, 3)):
                lines.insert(rng.randrange(len(lines) + 1),
                             rng.choice([b"", b"not json", b"[1]", b'{"custom_id": 1}', lines[0]]))
            check_slow, check_fast = new_check(rng)
            if clean:
                for check in (check_slow, check_fast):
                    check.url = check.endpoint = None
                    check.max_requests = None
            expected = run(lines, check_slow)
            assert run(lines, check_fast, counting) == expected, expected[1]
            assert state(check_fast) == state(check_slow)
    assert any(typed)


def test_the_usual_file_goes_the_typed_way_and_errors_name_their_line(app, monkeypatch):
    monkeypatch.setattr(jsonl, "BLOCK_BYTES", 1000)
    good = [{"custom_id": f"r{i}", "method": "POST", "url": "/v1/chat/completions",
             "body": {"model": MODEL, "messages": [{"role": "user", "content": f"q{i}"}], "max_tokens": 5}}
            for i in range(40)]
    raw = [json.dumps(line).encode() for line in good]
    typed = []

    def counting(lines):
        typed.append(len(lines))
        return tr.vertex_fast_lines(lines)

    with app.app_context():
        check = operations._InputCheck(model_given=False, converts=False)
        out, error = run(raw, check, counting)
        assert error is None and sum(typed) == 40 and check.model == MODEL and check.count == 40
        assert json.loads(out.split(b"\n")[3]) == {"custom_id": "cid-r3", "request": {
            "contents": [{"role": "user", "parts": [{"text": "q3"}]}], "generationConfig": {"maxOutputTokens": 5},
            "labels": {"deepintshield_cid": "h" + b"r3".hex()}}}
        # A second model after several typed blocks: the per-line 400, naming its line.
        mixed = raw[:33] + [raw[33].replace(MODEL.encode(), b"gemini-2.5-pro")] + raw[34:]
        _, error = run(mixed, operations._InputCheck(model_given=False, converts=False), tr.vertex_fast_lines)
        assert error is not None and error[1] == "line 34: body.model" and "gemini-2.5-pro" in error[0]
        # ... unless the request names the model.
        out, error = run(mixed, operations._InputCheck(model_given=True, converts=False), tr.vertex_fast_lines)
        assert error is None and out.count(b"\n") == 40
        # A custom_id the labels cannot carry, late in the file.
        long = raw[:37] + [raw[37].replace(b'"r37"', json.dumps("x" * 513).encode())] + raw[38:]
        _, error = run(long, operations._InputCheck(model_given=False, converts=False), tr.vertex_fast_lines)
        assert error is not None and error[1] == "line 38" and "513 bytes" in error[0]


def test_other_endpoints_and_long_custom_ids_decline_and_labels_match_at_their_edges():
    def parsed(url: str = "/v1/chat/completions", custom_id: str = "a") -> list:
        line = {"custom_id": custom_id, "method": "POST", "url": url,
                "body": {"messages": [{"role": "user", "content": "hi"}]}}
        return decode_chat_lines(json.dumps(line).encode())

    assert tr.vertex_fast_lines(parsed()) is not None
    for url in ("/v1/embeddings", "/v1/responses", "/v1/completions"):
        assert tr.vertex_fast_lines(parsed(url)) is None
    assert tr.vertex_fast_lines(parsed(custom_id="é" * 256)) is not None  # 512 bytes: 17 labels
    assert tr.vertex_fast_lines(parsed(custom_id="é" * 256 + "x")) is None
    assert tr.vertex_fast_lines(parsed() + parsed(custom_id="x" * 513)) is None  # one line declines the block
    # The labels at the edges of their pieces: one label up to 31 bytes, then one more per 31.
    for custom_id in ("x", "x" * 30, "x" * 31, "x" * 32, "é" * 15 + "x", "é" * 16, "x" * 62, "x" * 63, "é" * 256):
        line = {"custom_id": custom_id, "method": "POST", "url": "/v1/chat/completions",
                "body": {"messages": [{"role": "user", "content": "hi"}]}}
        out = tr.vertex_fast_lines(decode_chat_lines(json.dumps(line).encode()))
        assert out is not None and jsonl.dumps_lines(out) == jsonl.dumps(tr.input_line(line)) + b"\n", custom_id


def test_the_upload_check_with_conversion_keeps_the_per_line_way(app):
    parsed = decode_chat_lines(b'{"custom_id": "a", "method": "POST", "url": "/v1/chat/completions", '
                               b'"body": {"messages": [{"role": "user", "content": "hi"}]}}\n')
    with app.app_context():
        assert operations._InputCheck(model_given=True, converts=True).plan_block(parsed) is None
        assert operations._InputCheck(model_given=True, converts=False).plan_block(parsed) is not None


def test_a_created_batch_writes_the_same_input_either_way(client, vertex, gcs, monkeypatch):
    """Through the gateway: the converted input Vertex gets is `input_line`'s, and most of it went the typed way."""
    monkeypatch.setattr(jsonl, "BLOCK_BYTES", 2000)
    rng = random.Random(7)
    lines = [good_line(rng) for _ in range(60)]
    for line in lines:
        line["body"]["model"] = rng.choice([MODEL, None])
    data = b"".join(json.dumps(line).encode() + b"\n" for line in lines)
    expected = b"".join(jsonl.dumps(tr.input_line(line)) + b"\n" for line in lines)
    typed = []

    def counting(parsed):
        out = fast(parsed)
        typed.append(out is not None)
        return out

    fast = tr.vertex_fast_lines
    monkeypatch.setattr(tr, "vertex_fast_lines", counting)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    uploaded = client.post("/openai/v1/files", headers=headers, data={
        "provider": "vertex", "purpose": "batch", "file": (io.BytesIO(data), "batch.jsonl")})
    assert uploaded.status_code == 200, uploaded.json
    created = client.post("/openai/v1/batches", headers=headers, json={
        "provider": "vertex", "input_file_id": uploaded.json["id"], "endpoint": "/v1/chat/completions",
        "completion_window": "24h"})
    assert created.status_code == 200, created.json
    assert created.json["model"] == MODEL and any(typed)
    name = ids.decode_file(uploaded.json["id"]).native.split("/", 1)[1]
    converted = [n for n in gcs.names(BUCKET) if "/_vertex/" in n and n.endswith("-batch.jsonl")]
    assert len(converted) == 1 and converted[0].endswith(name.rpartition("/")[2])
    assert gcs.read(BUCKET, converted[0]) == expected
