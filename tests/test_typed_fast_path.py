"""The typed fast path of batch-line conversion (translators/typed_lines.py, `jsonl.translated_lines(fast=)`).

Property tests over seeded random lines: for every block the fast path either declines or gives
exactly the per-line path's bytes (and rule state), and the whole pipeline (fast blocks + per-line
fallback) gives the same bytes and the same 400 (message, param, code) as the per-line pipeline.
"""

from __future__ import annotations

import json
import random

import pytest

from errors import BadRequest
from translators import anthropic, bedrock, gemini, jsonl
from translators import gemini_endpoints as endpoints
from translators.typed_lines import decode_chat_lines

CLAUDE = "anthropic.claude-3-5-sonnet-20240620-v1:0"
NOVA = "amazon.nova-pro-v1:0"
NO_SAMPLING = "claude-opus-4-7*"
BOTH = "claude-3-5-sonnet*"
RULES = [
    anthropic.SamplingRules(),
    anthropic.SamplingRules(api_version="2023-06-01", no_sampling_models=(NO_SAMPLING,),
                            temperature_and_top_p_models=(BOTH,)),
    anthropic.SamplingRules(api_version="2026-10-21"),
    anthropic.UNRESTRICTED,
]

MISSING = object()
TEXTS = ["hi", "", "é ü 中文 😀", "line\nbreak \"quoted\" back\\slash \t tab", "x\u2028y\u2029z", "\x00\x1f",
         "a" * 300, " "]
IDS = ["request-1", "request-2", "req_3", "R-4", "", "bad id!", "x" * 64, "x" * 65, "é", 5, None]
MODELS = [MISSING, None, "", "gpt-4o-mini", CLAUDE, "claude-opus-4-7", "claude-3-5-sonnet-20240620", NOVA, 5]
INTS = [MISSING, None, 0, 1, -1, 256, 2**63 - 1, 2**64, 1.0, True, "5"]
NUMBERS = [MISSING, None, 0, 1, 0.0, 1.0, 0.5, 0.2, 2, -0.1, 1.0000001, True, 1e-300, "x", 10**30]
STOPS = [MISSING, None, "", "END", [], ["a", ""], [1], ["a", "b"], ["\u2028"]]
NS = [MISSING, None, 1, 1.0, 2, 0, True]
STREAMS = [MISSING, None, False, True, 0]
ROLES = ["system", "developer", "user", "assistant", "tool", "bogus"]
EXTRA_BODY = [("seed", None), ("logprobs", False), ("unknown", 1), ("user", "u1"), ("max_tokens", None)]


def _message(rng: random.Random) -> object:
    roll = rng.random()
    if roll < 0.02:
        return "not an object"
    role = rng.choice(ROLES) if rng.random() < 0.3 else rng.choice(["user", "system"])
    kind = rng.random()
    if kind < 0.7:
        content: object = rng.choice(TEXTS)
    elif kind < 0.85:
        content = [{"type": "text", "text": rng.choice(TEXTS)} for _ in range(rng.randrange(0, 3))]
        if content and rng.random() < 0.2:
            content[0]["extra"] = 1  # type: ignore[index]
        if content and rng.random() < 0.1:
            content[0]["type"] = "image_url"  # type: ignore[index]
    else:
        content = rng.choice([None, 5, {"text": "x"}])
    message = {"role": role, "content": content}
    if rng.random() < 0.03:
        message["name"] = "bob"
    if rng.random() < 0.03:
        del message["role"]
    return message


def _set(obj: dict, key: str, value: object) -> None:
    if value is not MISSING:
        obj[key] = value


def random_line(rng: random.Random, wild: float = 0.15) -> dict:
    """A chat-completions batch line; with probability about `wild` per field, an unusual value."""
    def pick(usual, choices):
        return rng.choice(choices) if rng.random() < wild else usual

    count = rng.randrange(1, 5)
    messages = [_message(rng) for _ in range(count)] if rng.random() < wild * 2 else (
        [{"role": rng.choice(["system", "developer"]), "content": rng.choice(TEXTS)}
         for _ in range(rng.randrange(0, 3))]
        + [{"role": rng.choice(["user", "assistant", "user"]), "content": rng.choice(TEXTS[:4])}
           for _ in range(rng.randrange(1, 4))])
    body: dict = {}
    _set(body, "model", pick("gpt-4o-mini", MODELS))
    body["messages"] = pick(messages, [[], None, "x", messages])
    if rng.random() < 0.5:
        _set(body, "max_tokens", pick(256, INTS))
    if rng.random() < 0.3:
        _set(body, "max_completion_tokens", pick(128, INTS))
    if rng.random() < 0.6:
        _set(body, "temperature", pick(0.2, NUMBERS))
    if rng.random() < 0.3:
        _set(body, "top_p", pick(0.9, NUMBERS))
    if rng.random() < 0.3:
        _set(body, "stop", pick(["END"], STOPS))
    if rng.random() < 0.2:
        _set(body, "n", pick(1, NS))
    if rng.random() < 0.2:
        _set(body, "stream", pick(False, STREAMS))
    if rng.random() < wild / 2:
        key, value = rng.choice(EXTRA_BODY)
        body[key] = value
    line: dict = {"custom_id": f"request-{rng.randrange(10**9)}", "method": "POST", "url": "/v1/chat/completions",
                  "body": body}
    if rng.random() < wild:
        line["custom_id"] = rng.choice(IDS)
    if rng.random() < wild / 3:
        line["method"] = rng.choice(["GET", "post", None])
    if rng.random() < wild / 3:
        line["url"] = rng.choice(["/v1/embeddings", "/v1/responses", "", None])
    if rng.random() < wild / 4:
        line[rng.choice(["extra", "params"])] = {}
    if rng.random() < wild / 4:
        line["body"] = rng.choice([None, "x", []])
    if rng.random() < wild / 6:
        line = {k: v for k, v in line.items() if k != rng.choice(["custom_id", "method", "url", "body"])}
    return line


def good_line(rng: random.Random) -> dict:
    """A line every path accepts (under the default sampling rules), in varied spellings of its values."""
    body: dict = {"messages": [{"role": rng.choice(["system", "developer"]), "content": rng.choice(TEXTS)}
         for _ in range(rng.randrange(0, 3))]
                  + [{"role": "user", "content": rng.choice(TEXTS)}, {"role": "assistant", "content": "ok"},
                     {"role": "user", "content": rng.choice(TEXTS)}][: rng.randrange(1, 4)]}
    _set(body, "model", rng.choice([MISSING, None, "claude-sonnet-4-5", CLAUDE]))
    _set(body, "max_tokens", rng.choice([MISSING, None, 1, 256, 2**63 - 1]))
    _set(body, "temperature", rng.choice([MISSING, None, 0, 1, 0.0, 1.0, 0.7]))
    _set(body, "stop", rng.choice([MISSING, None, "END", [], ["a", "b"]]))
    return {"custom_id": f"request-{rng.randrange(10**9)}", "method": "POST", "url": "/v1/chat/completions",
            "body": body}


def dump(rng: random.Random, line: dict) -> bytes:
    """JSON text of a line, in one of several spellings (escaped or raw unicode, spaces)."""
    style = rng.random()
    if style < 0.4:
        return json.dumps(line).encode()
    if style < 0.8:
        return json.dumps(line, ensure_ascii=False, separators=(",", ":")).encode()
    return json.dumps(line, ensure_ascii=False, indent=None, separators=(" , ", " : ")).encode()


# Providers: (translate, fast, check maker) built from one set of options.


def anthropic_target(rules: anthropic.SamplingRules, model: str | None = None):
    def translate(obj: dict) -> dict:
        return anthropic.batch_request(obj, default_max_tokens=4096, sampling=rules, model=model)

    def fast(lines):
        return anthropic.fast_batch_requests(lines, default_max_tokens=4096, sampling=rules, model=model)

    return translate, fast


def bedrock_target(claude: bool, rules: anthropic.SamplingRules, model: str):
    options = {"claude": claude, "model": model, "sampling": rules, "default_max_tokens": 4096}
    state = {"n": 0}

    def translate(obj: dict) -> dict:
        state["n"] += 1
        return bedrock.to_record(obj, record_id=bedrock.record_id(state["n"]), **options)

    def fast(lines):
        ids = [bedrock.record_id(state["n"] + i) for i in range(1, len(lines) + 1)]
        out = bedrock.fast_records(lines, record_ids=ids, **options)
        if out is not None:
            state["n"] += len(lines)
        return out

    return translate, fast


def targets(rng: random.Random):
    rules = rng.choice(RULES)
    model = rng.choice([CLAUDE, "claude-opus-4-7"])
    return [
        ("anthropic", lambda: anthropic_target(rules)),
        ("anthropic+model", lambda: anthropic_target(rules, model)),
        ("bedrock-claude", lambda: bedrock_target(True, rules, CLAUDE)),
        ("bedrock-claude-nosampling", lambda: bedrock_target(True, RULES[1], "claude-opus-4-7")),
        ("bedrock-converse", lambda: bedrock_target(False, anthropic.UNRESTRICTED, NOVA)),
        ("gemini", lambda: (gemini.batch_line, gemini.fast_batch_lines)),
        ("gemini-gateway", lambda: (endpoints.batch_lines, gemini.fast_batch_lines)),
    ]


def new_check(rng: random.Random) -> jsonl.BatchInputCheck:
    endpoint = rng.choice([None, None, "/v1/chat/completions", "/v1/embeddings"])
    max_requests = rng.choice([None, None, 3, 8, 20])
    return jsonl.BatchInputCheck((jsonl.OPENAI,), endpoint, max_requests)


def state(check: jsonl.BatchInputCheck) -> tuple:
    return check.count, check.format, check.url, sorted(check._ids._recent)


def counted(fast, accepted: list[bool]):
    def call(lines):
        out = fast(lines)
        accepted.append(out is not None)
        return out

    return call


def run(lines: list[bytes], translate, check, fast=None) -> tuple[bytes, tuple | None]:
    out: list[bytes] = []
    try:
        for piece in jsonl.translated_lines(iter(lines), translate, check, fast=fast):
            out.append(piece)
    except BadRequest as error:
        return b"".join(out), (error.message, error.param, error.code)
    return b"".join(out), None


@pytest.mark.parametrize("seed", range(40))
def test_an_accepted_block_is_byte_identical_and_records_the_same_state(seed):
    """Block level: the fast path declines, or its bytes and the rules' state equal the per-line path's."""
    rng = random.Random(seed)
    accepted = declined = 0
    for _ in range(60):
        wild = rng.choice([0.0, 0.02, 0.1, 0.4])
        lines = [dump(rng, random_line(rng, wild)) for _ in range(rng.randrange(1, 8))]
        if rng.random() < 0.2:
            lines.insert(rng.randrange(len(lines) + 1), rng.choice([b"", b"  ", b"\t"]))
        if rng.random() < 0.1:  # a custom_id repeated inside the block
            lines.append(lines[0])
        for name, make in targets(rng):
            translate_slow, _ = make()
            translate_fast, fast = make()
            check_slow, check_fast = new_check(rng), None
            check_fast = jsonl.BatchInputCheck(check_slow.formats, check_slow.endpoint, check_slow.max_requests)
            if rng.random() < 0.3 and check_slow.endpoint != "/v1/embeddings":  # earlier lines seen
                earlier = [json.dumps({"custom_id": i, "method": "POST", "url": "/v1/chat/completions",
                                       "body": {}}).encode() for i in ("request-1", "req_3")]
                for check in (check_slow, check_fast):
                    jsonl.check_each(check, 0, earlier)
            before = state(check_fast)
            parsed = decode_chat_lines(b"\n".join(lines))
            commit = check_fast.plan_block(parsed) if parsed else None
            outs = fast(parsed) if commit is not None else None
            expected, error = run(lines, translate_slow, check_slow)
            if outs is None:
                declined += 1
                assert state(check_fast) == before, name  # nothing recorded for a declined block
                continue
            accepted += 1
            commit()
            assert error is None, (name, lines, error)
            assert b"".join(jsonl.dumps(o) + b"\n" for o in outs) == expected, (name, lines)
            check_slow.finish()
            assert state(check_fast) == state(check_slow), name
    assert accepted > 10 and declined > 10, (accepted, declined)  # both ways are exercised


@pytest.mark.parametrize("seed", range(30))
def test_pipeline_gives_the_same_bytes_and_the_same_400(seed, monkeypatch):
    """Whole files mixing good and bad lines: fast + fallback equals the per-line pipeline exactly."""
    rng = random.Random(1000 + seed)
    monkeypatch.setattr(jsonl, "BLOCK_BYTES", rng.choice([1, 200, 600, 2000, 64 * 1024]))
    accepted: list[bool] = []
    for _ in range(8):
        wild = rng.choice([0.0, 0.0, 0.005, 0.02, 0.1])
        share = rng.random()
        lines = [dump(rng, good_line(rng) if rng.random() < share else random_line(rng, wild))
                 for _ in range(rng.randrange(1, 40))]
        for _ in range(rng.randrange(0, 3)):
            lines.insert(rng.randrange(len(lines) + 1),
                         rng.choice([b"", b"not json", b"[1]", b"{\"custom_id\": 1}", lines[0]]))
        for name, make in targets(rng):
            translate_slow, _ = make()
            translate_fast, fast = make()
            check_slow = new_check(rng)
            check_fast = jsonl.BatchInputCheck(check_slow.formats, check_slow.endpoint, check_slow.max_requests)
            expected = run(lines, translate_slow, check_slow)
            got = run(lines, translate_fast, check_fast, counted(fast, accepted))
            assert got == expected, (name, expected[1])
            assert state(check_fast) == state(check_slow)
    assert any(accepted) or len(accepted) < 10  # the typed path is exercised


def test_the_usual_file_goes_the_typed_way_and_errors_keep_their_line_numbers(monkeypatch):
    monkeypatch.setattr(jsonl, "BLOCK_BYTES", 1000)
    good = [json.dumps({"custom_id": f"r{i}", "method": "POST", "url": "/v1/chat/completions",
                        "body": {"model": "m", "messages": [{"role": "user", "content": f"q{i}"}],
                                 "max_tokens": 5}}).encode() for i in range(40)]
    translate, fast = anthropic_target(anthropic.SamplingRules())
    typed = []

    def counting(lines):
        typed.append(len(lines))
        return fast(lines)

    out, error = run(good, translate, jsonl.BatchInputCheck(), counting)
    assert error is None and out.count(b"\n") == 40 and sum(typed) == 40
    assert json.loads(out.split(b"\n")[3]) == {"custom_id": "r3", "params": {
        "model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "q3"}]}}
    # A bad line after several accepted blocks: the per-line error, with its own line number.
    bad = good[:33] + [good[33].replace(b'"max_tokens": 5', b'"max_tokens": 0')] + good[34:]
    out, error = run(bad, translate, jsonl.BatchInputCheck(), fast)
    assert error == ("Line 34: max_tokens must be an integer >= 1.", "line 34", None)
    duplicate = good[:30] + [b""] + [good[2]]
    out, error = run(duplicate, translate, jsonl.BatchInputCheck(), fast)
    assert error == ("Line 32 repeats custom_id 'r2'.", "line 32: custom_id", "invalid_batch_line")


def test_a_subclass_with_its_own_rules_gets_no_typed_path():
    class Stricter(jsonl.BatchInputCheck):
        def __call__(self, number, obj):
            raise BadRequest("no", param="x")

    parsed = decode_chat_lines(b'{"custom_id": "a", "method": "POST", "url": "u", "body": {"messages": []}}\n')
    assert jsonl.BatchInputCheck().plan_block(parsed) is not None
    assert Stricter().plan_block(parsed) is None


def _items(operations, lines, model, monkeypatch) -> tuple[list, tuple | None]:
    monkeypatch.setattr(operations.storedfiles, "lines", lambda namespace, key: iter(lines))
    out: list = []
    try:
        for label, item in operations._file_items("key", 4096, model, "/v1/chat/completions"):
            out.append((label, jsonl.dumps(item)))
    except BadRequest as error:
        return out, (error.message, error.param, error.code)
    return out, None


@pytest.mark.parametrize("seed", range(12))
def test_anthropic_create_items_are_the_same_with_the_typed_path(seed, app, monkeypatch):
    """The Anthropic create path (`_file_items`): same labels, items and 400 with and without the fast path."""
    from blueprints.anthropic import operations

    rng = random.Random(2000 + seed)
    monkeypatch.setattr(jsonl, "BLOCK_BYTES", rng.choice([1, 300, 2000, 64 * 1024]))
    fast = anthropic.fast_batch_requests
    typed = []

    def counting(*args, **kwargs):
        out = fast(*args, **kwargs)
        typed.append(out is not None)
        return out

    with app.app_context():
        for _ in range(6):
            wild = rng.choice([0.0, 0.0, 0.01, 0.1])
            lines = [dump(rng, random_line(rng, wild) if rng.random() < 0.1 else good_line(rng))
                     for _ in range(rng.randrange(1, 30))]
            if rng.random() < 0.5:
                lines.insert(rng.randrange(len(lines) + 1), rng.choice([b"", b"[1]", lines[0]]))
            model = rng.choice([None, "claude-sonnet-4-5", "claude-opus-4-7"])
            monkeypatch.setattr(anthropic, "fast_batch_requests", lambda *a, **k: None)
            expected = _items(operations, lines, model, monkeypatch)
            monkeypatch.setattr(anthropic, "fast_batch_requests", counting)
            assert _items(operations, lines, model, monkeypatch) == expected
    assert any(typed)


def _upload_check(operations, lines: list[bytes], chunk: int) -> tuple[int, tuple | None]:
    """Run the Anthropic upload check (`checked_chunks` with `_LineCheck`) over `lines` in `chunk`-byte
    chunks: (bytes passed through, the 400 as (message, param, code) or None)."""
    body = b"".join(line + b"\n" for line in lines)
    check = operations._LineCheck(4096, None, None)
    passed = 0
    try:
        for piece in jsonl.checked_chunks((body[i:i + chunk] for i in range(0, len(body), chunk)), check):
            passed += len(piece)
    except BadRequest as error:
        return passed, (error.message, error.param, error.code)
    return passed, None


@pytest.mark.parametrize("seed", range(12))
def test_anthropic_upload_check_is_the_same_with_the_typed_path(seed, app, monkeypatch):
    """The Anthropic upload check (`_LineCheck.check_block`): the same bytes pass and the same 400 stops
    the upload, with and without the fast path, whatever the chunking."""
    from blueprints.anthropic import operations

    rng = random.Random(3000 + seed)
    fast = anthropic.fast_batch_requests
    typed = []

    def counting(*args, **kwargs):
        out = fast(*args, **kwargs)
        typed.append(out is not None)
        return out

    with app.app_context():
        for _ in range(6):
            wild = rng.choice([0.0, 0.0, 0.01, 0.1])
            lines = [dump(rng, random_line(rng, wild) if rng.random() < 0.1 else good_line(rng))
                     for _ in range(rng.randrange(1, 30))]
            if rng.random() < 0.5:
                lines.insert(rng.randrange(len(lines) + 1), rng.choice([b"", b"[1]", b"not json", lines[0]]))
            chunk = rng.choice([7, 300, 2000, 1 << 20])
            monkeypatch.setattr(anthropic, "fast_batch_requests", lambda *a, **k: None)
            expected = _upload_check(operations, lines, chunk)
            monkeypatch.setattr(anthropic, "fast_batch_requests", counting)
            assert _upload_check(operations, lines, chunk) == expected
    assert any(typed)
