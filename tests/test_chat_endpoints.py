"""Servers declared in `DEEPINTSHIELD_CHAT_ENDPOINTS` (OpenAI-compatible, no Files/Batch API): the
declaration and its clashes, their IDs, their files kept in the gateway's file store (through the real
SDK), the upload's line checks, and one line run through `realtime` against a real loopback server."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import openai
import pytest
import requests
from flask import g
from openai.types import CreateEmbeddingResponse
from openai.types.chat import ChatCompletion
from openai.types.responses import Response

import config
from blueprints import chat, registry
from blueprints.chat import realtime
from blueprints.common.provider import LineRequest
from blueprints.dispatcher import ids
from blueprints.openai import compatible
from errors import BadRequest, UpstreamError
from tests.conftest import server_env
from tests.fakes.chatserver import ChatServer, declare

ROOT = Path(__file__).resolve().parent.parent
CHAT = "/v1/chat/completions"


def _line(custom_id: str, content: str, url: str = CHAT, model: str = "llama3") -> dict:
    body = ({"model": model, "messages": [{"role": "user", "content": content}]} if url == CHAT
            else {"model": model, "input": content})
    return {"custom_id": custom_id, "method": "POST", "url": url, "body": body}


def _jsonl(*lines: dict) -> bytes:
    return "".join(json.dumps(line) + "\n" for line in lines).encode()


# The declaration


def test_a_declared_server_is_a_gateway_only_provider():
    declared = chat.declared({chat.VARIABLE: "vllm=http://localhost:8000/v1/, ollama=http://localhost:11434/v1"},
                             taken=registry.BUILT_IN)
    assert list(declared) == ["vllm", "ollama"]
    vllm = declared["vllm"]
    assert (vllm.code, vllm.url, vllm.credential) == ("evllm", "http://localhost:8000/v1", "VLLM_API_KEY")
    assert vllm.gateway_only and vllm.optional_key and vllm.realtime == "blueprints.chat.realtime"
    assert vllm.options == {"model", "execution", "webhook_url"} and set(vllm.settings) == {"VLLM_API_KEY"}
    assert isinstance(vllm.realtime_module, realtime.ChatRealtime)
    assert vllm.realtime_module.base_url == "http://localhost:8000/v1"


@pytest.mark.parametrize("declaration, problem", [
    ("vllm", "'vllm' is not name=URL"),
    ("vLLM=http://localhost:8000/v1", "'vLLM' is not a name"),
    ("a=http://a/v1,a=http://b/v1", "'a' is declared twice"),
    ("a=localhost:8000", "'localhost:8000' (for a) is not an http:// or https:// URL"),
])
def test_a_declaration_that_does_not_parse_stops_startup(declaration, problem):
    with pytest.raises(config.ConfigError) as caught:
        config.load({chat.VARIABLE: declaration})
    (line,) = caught.value.lines
    assert line.startswith(f"{chat.VARIABLE}: ") and problem in line
    assert chat.declared({chat.VARIABLE: declaration}, taken=registry.BUILT_IN) == {}


def test_a_taken_name_is_not_registered_and_stops_startup():
    environ = {chat.VARIABLE: "gemini=http://a/v1,groq=http://b/v1,vllm=http://c/v1",
               compatible.VARIABLE: "groq=https://api.groq.com/openai/v1"}
    taken = {**registry.BUILT_IN, **compatible.declared(environ, taken=registry.BUILT_IN)}
    assert list(chat.declared(environ, taken=taken)) == ["vllm"]
    assert chat.problems(config.load(environ)) == [
        f"{chat.VARIABLE}: 'gemini' is a built-in provider; declare the server under another name",
        f"{chat.VARIABLE}: 'groq' is also declared in {compatible.VARIABLE}; declare the server under another name",
    ]


def _python(code: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=server_env(**env), capture_output=True,
                          text=True, timeout=60)


def test_startup_reads_the_declaration_from_the_environment():
    code = ("import json, config; from blueprints import registry; from blueprints.dispatcher import ids;"
            "s = config.from_environment(); p = registry.get('vllm');"
            "print(json.dumps([list(registry.PROVIDERS), p.code, p.url, s['VLLM_API_KEY'] == 'vk-1',"
            " ids.decode_file(ids.encode_file('vllm', 'abc')).provider]))")
    result = _python(code, DEEPINTSHIELD_CHAT_ENDPOINTS="vllm=http://localhost:8000/v1", VLLM_API_KEY="vk-1",
                     DEEPINTSHIELD_OPENAI_COMPATIBLE="groq=https://api.groq.com/openai/v1")
    assert result.returncode == 0, result.stderr
    providers, code_, url, key_loaded, routed = json.loads(result.stdout)
    assert providers == [*registry.BUILT_IN, "groq", "vllm"] and code_ == "evllm"
    assert url == "http://localhost:8000/v1" and key_loaded and routed == "vllm"

    clash = subprocess.run([sys.executable, "-m", "config", "--check"], cwd=ROOT, capture_output=True, text=True,
                           env=server_env(DEEPINTSHIELD_CHAT_ENDPOINTS="anthropic=http://localhost:8000/v1"),
                           timeout=60)
    assert clash.returncode == 1
    assert clash.stderr.strip() == (f"{chat.VARIABLE}: 'anthropic' is a built-in provider; declare the server "
                                    "under another name")


def test_ids_name_the_server(monkeypatch):
    declare(monkeypatch, "vllm=http://localhost:8000/v1,v2=http://localhost:8001/v1")
    file_id = ids.encode_file("vllm", "0123abc")
    assert file_id.startswith("file-dsevllmf_")
    assert ids.decode_file(file_id) == ids.ResourceId("vllm", "file", "0123abc")
    assert ids.encode_file("v2", "b1", "output").startswith("file-dsev2o_")
    batch_id = ids.encode_batch("vllm", "b1")
    assert batch_id.startswith("batch_dsevllm_") and ids.decode_batch(batch_id).provider == "vllm"
    with pytest.raises(ids.InvalidId):
        ids.decode_file(file_id, "v2")


# Files


@pytest.fixture
def vllm(monkeypatch, chat_server) -> ChatServer:
    declare(monkeypatch, f"vllm={chat_server.base_url}")
    return chat_server


def test_files_live_in_the_file_store_owned_by_the_key(sdk, vllm, gateway):
    content = _jsonl(_line("a", "hello"), _line("b", "world"))
    first = sdk.files.create(file=("in.jsonl", content, "application/jsonl"), purpose="batch",
                             extra_body={"provider": "vllm"})
    second = sdk.files.create(file=("two.jsonl", content), purpose="batch",
                              extra_body={"provider": "vllm", "expires_after": {"anchor": "created_at",
                                                                               "seconds": 3600}})
    assert first.id.startswith("file-dsevllmf_") and first.bytes == len(content) and first.purpose == "batch"
    assert second.expires_at == second.created_at + 3600
    assert sdk.files.retrieve(first.id).filename == "in.jsonl"  # the ID names the provider
    assert sdk.files.content(first.id).read() == content
    assert [f.id for f in sdk.files.list(extra_query={"provider": "vllm"})] == [second.id, first.id]
    assert [f.id for f in sdk.files.list(extra_query={"provider": "vllm"}, order="asc")] == [first.id, second.id]
    assert [f.id for f in sdk.files.list(extra_query={"provider": "vllm"}, after=second.id)] == [first.id]

    with openai.OpenAI(base_url=f"{gateway}/openai", api_key="sk-other-key", max_retries=0) as other:
        with pytest.raises(openai.NotFoundError):
            other.files.retrieve(first.id)
        assert other.files.list(extra_query={"provider": "vllm"}).data == []

    deleted = sdk.files.delete(first.id)
    assert deleted.deleted and deleted.id == first.id
    with pytest.raises(openai.NotFoundError):
        sdk.files.retrieve(first.id)
    assert vllm.calls == {}  # the server has no Files API: nothing reached it


def test_a_file_may_hold_any_served_endpoint(sdk, vllm):
    for url in chat.ENDPOINTS:
        uploaded = sdk.files.create(file=("in.jsonl", _jsonl(_line("a", "x", url), _line("b", "y", url))),
                                    purpose="batch", extra_body={"provider": "vllm"})
        assert uploaded.bytes > 0


@pytest.mark.parametrize("lines, param, words", [
    ([_line("a", "x"), _line("b", "y", "/v1/completions")], "line 2: url", "has url '/v1/completions'"),
    ([_line("a", "x", "/v1/moderations")], "line 1: url", "a server without a batch API runs /v1/chat"),
    ([_line("a", "x"), _line("b", "y", "/v1/embeddings")], "line 2: url", "not '/v1/chat/completions'"),
    ([_line("a", "x"), _line("a", "y")], "line 2: custom_id", "repeats custom_id 'a'"),
    ([{**_line("a", "x"), "method": "GET"}], "line 1: method", "POST"),
])
def test_an_upload_is_checked_line_by_line(sdk, vllm, lines, param, words):
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.files.create(file=("in.jsonl", _jsonl(*lines)), purpose="batch", extra_body={"provider": "vllm"})
    assert caught.value.param == param and words in caught.value.message
    assert sdk.files.list(extra_query={"provider": "vllm"}).data == []  # nothing was stored


def test_a_large_upload_is_checked_block_by_block(sdk, vllm):
    lines = [_line(f"r{n}", "x" * 50) for n in range(5000)]
    uploaded = sdk.files.create(file=("big.jsonl", _jsonl(*lines)), purpose="batch", extra_body={"provider": "vllm"})
    assert uploaded.bytes == len(_jsonl(*lines))
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.files.create(file=("big.jsonl", _jsonl(*lines, _line("last", "x", "/v1/responses"))), purpose="batch",
                         extra_body={"provider": "vllm"})
    assert caught.value.param == "line 5001: url"


def test_only_batch_files_and_the_servers_options(sdk, vllm):
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.files.create(file=("in.jsonl", _jsonl(_line("a", "x"))), purpose="fine-tune",
                         extra_body={"provider": "vllm"})
    assert caught.value.param == "purpose"
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.files.list(extra_query={"provider": "vllm", "role_arn": "arn:aws:iam::123456789012:role/Batch"})
    assert caught.value.code == "unsupported_parameter" and caught.value.param == "role_arn"


# One line through the server's synchronous API


def _request(url: str = CHAT, content: str = "hello", model: str | None = None, body_model: str = "llama3"
             ) -> LineRequest:
    line = _line("req-1", content, url, body_model)
    return LineRequest(custom_id="req-1", url=url, body=line["body"], model=model)


def test_prepare_passes_the_line_through_with_the_batchs_model():
    line = _request()
    assert realtime.prepare(line) == line.body
    assert realtime.prepare(_request(model="served-name"))["model"] == "served-name"
    assert line.body["model"] == "llama3"  # the line itself is left as it was
    no_model = LineRequest("req-1", CHAT, {"messages": []})
    assert realtime.prepare(LineRequest("req-1", CHAT, {"messages": []}, model="m"))["model"] == "m"  # filled in
    for refused, param in [(no_model, "body.model"), (_request("/v1/completions"), "url"),
                           (LineRequest("req-1", CHAT, {"model": "m", "messages": [], "stream": True}),
                            "body.stream")]:
        with pytest.raises(BadRequest) as caught:
            realtime.prepare(refused)
        assert caught.value.param == param


@pytest.fixture
def worker(app, vllm):
    """What a worker running a batch line has: the app's context and the client's key, no request."""
    with app.app_context():
        g.client_key = "sk-test-key"
        yield registry.get("vllm").realtime_module


def _send(runner, line: LineRequest):
    return runner.send(runner.prepare(line), line)


def test_send_runs_each_endpoint(worker, vllm):
    reply = _send(worker, _request(model="served-name"))
    completion = ChatCompletion.model_validate(reply.body)
    assert completion.model == "served-name" and completion.choices[0].message.content == "Answer to: hello"
    assert reply.request_id == completion.id  # no x-request-id header: the body's ID
    embedded = _send(worker, _request("/v1/embeddings", "some text"))
    assert len(CreateEmbeddingResponse.model_validate(embedded.body).data) == 1
    assert embedded.request_id.startswith("req_")  # neither: a generated one
    answered = _send(worker, _request("/v1/responses", "a question"))
    assert Response.model_validate(answered.body).output_text == "Answer to: a question"
    vllm.request_ids = True
    assert _send(worker, _request(content="again")).request_id.startswith("req-")
    assert vllm.calls == {"hello": 1, "some text": 1, "a question": 1, "again": 1}
    assert vllm.keys_seen == {"sk-test-key"}  # passthrough: the client's key


def test_gateway_key_mode_sends_the_configured_key_or_none(app, worker, vllm):
    app.config["API_KEYS"] = ["sk-test-key"]
    _send(worker, _request(content="no key"))
    app.config["VLLM_API_KEY"] = "vllm-secret"
    _send(worker, _request(content="a key"))
    assert vllm.keys_seen == {None, "vllm-secret"}


def test_server_errors_are_upstream_errors_with_its_status(worker, vllm):
    for content, status in [("FAIL", 400), ("RATE", 429), ("BOOM", 500)]:
        with pytest.raises(UpstreamError) as caught:
            _send(worker, _request(content=content))
        assert caught.value.upstream_status == status and caught.value.provider == "vllm"
    assert _send(worker, _request(content="RATE")).body["object"] == "chat.completion"  # once only
    assert _send(worker, _request(content="BOOM")).body["object"] == "chat.completion"
    assert vllm.calls == {"FAIL": 1, "RATE": 2, "BOOM": 2}


def test_the_fake_has_no_files_or_batch_api(chat_server):
    for method, path in [("GET", "/files"), ("POST", "/files"), ("POST", "/batches")]:
        assert requests.request(method, chat_server.base_url + path, timeout=5).status_code == 404

