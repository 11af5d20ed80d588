"""Gateway-run batch lines on OpenAI, Azure OpenAI (both API forms), a declared OpenAI-compatible host and
Anthropic: `prepare` (pure: these tests run without an app) and `send` against each provider's fake, in an
app context with the client's key in `g.client_key`, as the worker runs them.

Each success body is a strict `openai` SDK object; a provider error is an `UpstreamError` carrying the
provider's own status (a 429 keeps its Retry-After), and a POST is never repeated by the gateway itself.
"""

from __future__ import annotations

import uuid

import flask
import pytest
from openai.types import Completion, CreateEmbeddingResponse
from openai.types.chat import ChatCompletion
from openai.types.responses import Response

from blueprints import registry
from blueprints.anthropic import realtime as anthropic_realtime
from blueprints.azure import realtime as azure_realtime
from blueprints.common.provider import LineReply, LineRequest
from blueprints.openai import realtime as openai_realtime
from errors import BadRequest, UpstreamError
from tests.fakes.anthropic import USAGE, anthropic_fakes
from tests.fakes.azure import DEPLOYMENT, REALTIME_DEPLOYMENT, FakeAzure
from tests.fakes.compatible import declare
from tests.fakes.openai import FakeOpenAI

CHAT = "/v1/chat/completions"
CLAUDE = "claude-sonnet-4-5"
DEPLOYED = f"/openai/deployments/{REALTIME_DEPLOYMENT}"  # the dated API's deployment-scoped paths


def chat_line(text: str = "What is 2+2?", model: str | None = "gpt-4o-mini", url: str = CHAT,
              batch_model: str | None = None, **fields) -> LineRequest:
    body = {"messages": [{"role": "user", "content": text}], **fields}
    if model is not None:
        body["model"] = model
    return LineRequest(custom_id="req-1", url=url, body=body, model=batch_model)


def run(module, line: LineRequest) -> LineReply:
    return module.send(module.prepare(line), line)


def completion(reply: LineReply) -> ChatCompletion:
    """The reply's body as the SDK reads it, strictly."""
    return ChatCompletion.model_validate(reply.body, strict=True)


@pytest.fixture
def worker(app):
    """An app context as the worker has it: no request, the batch's client key in `g.client_key`."""
    with app.app_context():
        flask.g.client_key = "sk-test-key"
        yield app


@pytest.fixture
def openai_fake(rsps):
    fake = FakeOpenAI()  # at OPENAI_BASE_URL (tests/conftest.py)
    fake.register(rsps)
    yield fake
    assert fake.violations == []


@pytest.fixture
def azure(rsps):
    fake = FakeAzure().register(rsps)
    yield fake
    assert fake.violations == []


@pytest.fixture
def anthropic(rsps):
    with anthropic_fakes(rsps) as make:
        yield make(api_key="sk-test-key")


# Every provider here runs gateway lines


@pytest.mark.parametrize("name", ["openai", "azure", "anthropic"])
def test_the_providers_name_their_realtime_module_and_take_execution(name):
    provider = registry.get(name)
    assert provider.realtime_module is not None and "execution" in provider.options


def test_a_declared_host_gets_its_own_realtime_calls(monkeypatch):
    declared = declare(monkeypatch, "groq=https://groq.fake/openai/v1")["groq"]
    assert "execution" in declared.options
    assert declared.realtime_module is registry.get("groq").realtime_module  # one per host, cached


# prepare: pure


@pytest.mark.parametrize("url", ["/v1/chat/completions", "/v1/embeddings", "/v1/responses", "/v1/completions"])
def test_openai_prepare_passes_the_body_as_it_is(url):
    line = LineRequest(custom_id="a", url=url, body={"model": "m", "input": "x", "temperature": 1.7})
    assert openai_realtime.prepare(line) == {"endpoint": url, "body": line.body}


def test_azure_prepare_reads_the_dated_line_spelling():
    line = chat_line(model=REALTIME_DEPLOYMENT, url="/chat/completions")
    assert azure_realtime.prepare(line)["endpoint"] == CHAT


@pytest.mark.parametrize("module", [openai_realtime, azure_realtime])
@pytest.mark.parametrize("line, param, fragment", [
    (LineRequest("a", "/v1/moderations", {"model": "m", "input": "x"}), "url", "'/v1/moderations'"),
    (LineRequest("a", "/v1/images/generations", {"model": "m"}), "url", "'/v1/images/generations'"),
    (LineRequest("a", CHAT, {"model": "m", "messages": [], "stream": True}), "body.stream", "stream"),
])
def test_openai_shaped_prepare_refuses_what_one_reply_cannot_answer(module, line, param, fragment):
    with pytest.raises(BadRequest) as caught:
        module.prepare(line)
    assert caught.value.param == param and fragment in caught.value.message


def test_azure_prepare_needs_the_deployment_in_body_model():
    with pytest.raises(BadRequest) as caught:
        azure_realtime.prepare(chat_line(model=None))
    assert caught.value.param == "body.model" and "deployment" in caught.value.message
    assert openai_realtime.prepare(chat_line(model=None))  # OpenAI leaves that to OpenAI


def test_anthropic_prepare_translates_like_the_batch_path(worker):
    line = LineRequest("req-1", CHAT, {"model": CLAUDE, "messages": [
        {"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}], "stop": "END"})
    params = anthropic_realtime.prepare(line)["params"]
    assert params == {"model": CLAUDE, "system": "Be brief.", "messages": [{"role": "user", "content": "Hi"}],
                      "stop_sequences": ["END"], "max_tokens": worker.config["ANTHROPIC_DEFAULT_MAX_TOKENS"]}


def test_anthropic_prepare_takes_the_batch_model_for_a_body_without_one(worker):
    assert anthropic_realtime.prepare(chat_line(model=None, batch_model=CLAUDE))["params"]["model"] == CLAUDE
    assert anthropic_realtime.prepare(chat_line(model="claude-x", batch_model=CLAUDE))["params"]["model"] == "claude-x"
    with pytest.raises(BadRequest) as caught:
        anthropic_realtime.prepare(chat_line(model=None))
    assert caught.value.param == "body.model"


@pytest.mark.parametrize("line, param", [
    (chat_line(url="/v1/embeddings"), "url"),
    (chat_line(url="/v1/moderations"), "url"),
    (chat_line(url="/v1/responses"), "body.messages"),  # a chat body is no Responses body
    (chat_line(n=2), "body.n"),
    (chat_line(temperature=1.5), "body.temperature"),
    (chat_line(stream=True), "body.stream"),
    (chat_line(logprobs=True), "body.logprobs"),
    (LineRequest("not ok!", CHAT, {"model": CLAUDE, "messages": [{"role": "user", "content": "x"}]}), "custom_id"),
])
def test_anthropic_prepare_refuses_what_the_batch_path_refuses(worker, line, param):
    with pytest.raises(BadRequest) as caught:
        anthropic_realtime.prepare(line)
    assert caught.value.param == param


# send: OpenAI


def test_openai_chat_line(worker, openai_fake):
    reply = run(openai_realtime, chat_line())
    parsed = completion(reply)
    assert parsed.choices[0].message.content == "Answer to: What is 2+2?"
    assert reply.body["choices"][0]["native_finish_reason"] == "stop"
    assert reply.request_id == "req_0001"  # x-request-id
    assert openai_fake.calls == [("POST", "/v1/chat/completions")] and openai_fake.keys_seen == {"sk-test-key"}


@pytest.mark.parametrize("url, body, reply_type", [
    ("/v1/embeddings", {"model": "text-embedding-3-small", "input": ["a", "b"]}, CreateEmbeddingResponse),
    ("/v1/responses", {"model": "gpt-4o-mini", "input": "Hello"}, Response),
    ("/v1/completions", {"model": "gpt-3.5-turbo-instruct", "prompt": "Say hi"}, Completion),
])
def test_openai_other_endpoints(worker, openai_fake, url, body, reply_type):
    reply = run(openai_realtime, LineRequest("a", url, body))
    reply_type.model_validate(reply.body, strict=True)
    assert openai_fake.calls == [("POST", url)]


def test_an_unknown_finish_reason_is_kept_as_native_finish_reason(worker, openai_fake):
    reply = run(openai_realtime, chat_line("ODD_FINISH please"))
    assert completion(reply).choices[0].finish_reason == "stop"
    assert reply.body["choices"][0]["native_finish_reason"] == "eos"


@pytest.mark.parametrize("text, upstream, status", [("FAIL me", 400, 400), ("SERVER_ERROR", 500, 502)])
def test_openai_errors_carry_the_providers_status_and_are_not_retried(worker, openai_fake, text, upstream, status):
    with pytest.raises(UpstreamError) as caught:
        run(openai_realtime, chat_line(text))
    assert (caught.value.upstream_status, caught.value.status, caught.value.provider) == (upstream, status, "openai")
    assert len(openai_fake.sync.calls) == 1  # a POST is never replayed by the gateway's own session


def test_a_429_keeps_retry_after_and_the_next_try_succeeds(worker, openai_fake):
    line = chat_line("RATE_LIMIT once")
    with pytest.raises(UpstreamError) as caught:
        run(openai_realtime, line)
    assert caught.value.upstream_status == 429 and caught.value.headers["Retry-After"] == "1"
    assert completion(run(openai_realtime, line)).choices[0].message.content == "Answer to: RATE_LIMIT once"


def test_gateway_key_mode_sends_the_gateway_key(worker, openai_fake):
    worker.config.update(API_KEYS=["gw-key"], OPENAI_API_KEY="sk-operator")
    run(openai_realtime, chat_line())
    assert openai_fake.keys_seen == {"sk-operator"}


# send: Azure


def test_azure_v1_api(worker, azure):
    reply = run(azure_realtime, chat_line(model=REALTIME_DEPLOYMENT))
    assert completion(reply).choices[0].message.content == "Answer to: What is 2+2?"
    assert reply.body["choices"][0]["content_filter_results"]  # Azure's annotations stay
    assert azure.calls == [("POST", "/openai/v1/chat/completions")] and azure.auth_headers == {"api-key"}
    assert reply.request_id == str(uuid.UUID(int=1))  # apim-request-id (the fake's first UUID)


@pytest.mark.parametrize("url, body, path", [
    (CHAT, {"messages": [{"role": "user", "content": "Hi"}]}, f"{DEPLOYED}/chat/completions"),
    ("/chat/completions", {"messages": [{"role": "user", "content": "Hi"}]}, f"{DEPLOYED}/chat/completions"),
    ("/v1/embeddings", {"input": "Hi"}, f"{DEPLOYED}/embeddings"),
    ("/v1/responses", {"input": "Hi"}, "/openai/responses"),
])
def test_azure_dated_api_addresses_deployments(worker, azure, url, body, path):
    worker.config["AZURE_OPENAI_API_VERSION"] = "2024-10-21"
    run(azure_realtime, LineRequest("a", url, {"model": REALTIME_DEPLOYMENT, **body}))
    assert azure.calls == [("POST", f"{path}?api-version=2024-10-21")] and azure.auth_headers == {"api-key"}


@pytest.mark.parametrize("version", ["", "2024-10-21"])
def test_azure_a_batch_only_deployment_is_its_404(worker, azure, version):
    worker.config["AZURE_OPENAI_API_VERSION"] = version
    with pytest.raises(UpstreamError) as caught:
        run(azure_realtime, chat_line(model=DEPLOYMENT))
    assert (caught.value.upstream_status, caught.value.code) == (404, "DeploymentNotFound")


def test_azure_429_and_content_refusal(worker, azure):
    with pytest.raises(UpstreamError) as throttled:
        run(azure_realtime, chat_line("RATE_LIMIT", model=REALTIME_DEPLOYMENT))
    assert throttled.value.upstream_status == 429 and throttled.value.headers == {"Retry-After": "1"}
    with pytest.raises(UpstreamError) as refused:
        run(azure_realtime, chat_line("FAIL", model=REALTIME_DEPLOYMENT))
    assert refused.value.upstream_status == 400 and refused.value.provider == "azure"


# send: a declared OpenAI-compatible host


def test_a_declared_host_runs_lines_at_its_base_url(worker, rsps, monkeypatch):
    declare(monkeypatch, "groq=https://groq.fake/openai/v1")
    fake = FakeOpenAI("https://groq.fake/openai/v1")
    fake.register(rsps)
    groq = registry.get("groq").realtime_module
    reply = run(groq, chat_line(model="llama-3.1-8b-instant"))
    assert completion(reply).model == "llama-3.1-8b-instant"
    assert fake.calls == [("POST", "/openai/v1/chat/completions")] and fake.keys_seen == {"sk-test-key"}
    worker.config.update(API_KEYS=["gw-key"], GROQ_API_KEY="gsk-operator")
    with pytest.raises(UpstreamError) as caught:
        run(groq, chat_line("FAIL", model="llama-3.1-8b-instant"))
    assert caught.value.provider == "groq" and caught.value.upstream_status == 400
    assert fake.keys_seen == {"sk-test-key", "gsk-operator"} and fake.violations == []


# send: Anthropic


def test_anthropic_chat_line(worker, anthropic):
    worker.config["ANTHROPIC_DEFAULT_MAX_TOKENS"] = 321
    reply = run(anthropic_realtime, chat_line("Hi there", model=CLAUDE))
    parsed = completion(reply)
    assert parsed.choices[0].message.content == "echo: Hi there" and parsed.choices[0].finish_reason == "stop"
    assert reply.body["choices"][0]["native_finish_reason"] == "end_turn"
    cache = USAGE["cache_creation_input_tokens"] + USAGE["cache_read_input_tokens"]
    assert parsed.usage.prompt_tokens == USAGE["input_tokens"] + cache
    assert parsed.usage.prompt_tokens_details.cached_tokens == USAGE["cache_read_input_tokens"]
    assert reply.request_id == "req_msg_rt_0001"  # request-id
    assert anthropic.messages == [{"model": CLAUDE, "max_tokens": 321, "messages": [
        {"role": "user", "content": "Hi there"}]}]
    assert anthropic.versions == ["2023-06-01"]


def test_anthropic_tool_calls_read_as_in_batch_results(worker, anthropic):
    parsed = completion(run(anthropic_realtime, chat_line("use a tool", model=CLAUDE)))
    assert parsed.choices[0].finish_reason == "tool_calls"
    assert parsed.choices[0].message.tool_calls[0].function.name == "lookup"
    assert parsed.choices[0].message.content == "Let me look."  # thinking left out


def test_anthropic_batch_model_and_body_max_tokens(worker, anthropic):
    run(anthropic_realtime, chat_line(model=None, batch_model=CLAUDE, max_completion_tokens=7))
    assert anthropic.messages[-1]["model"] == CLAUDE and anthropic.messages[-1]["max_tokens"] == 7


def test_anthropic_sampling_rules_are_the_configured_ones(worker, anthropic):
    line = chat_line(model=CLAUDE, temperature=0.5, top_p=0.9)
    with pytest.raises(BadRequest) as caught:
        run(anthropic_realtime, line)
    assert caught.value.param == "body.top_p" and anthropic.calls == []  # refused before anything is sent
    worker.config["ANTHROPIC_TEMPERATURE_AND_TOP_P_MODELS"] = ["claude-sonnet-4-5*"]
    run(anthropic_realtime, line)
    assert anthropic.messages[-1]["temperature"] == 0.5


@pytest.mark.parametrize("text, upstream, status", [("FAIL", 400, 400), ("OVERLOAD", 529, 502),
                                                    ("SERVER_ERROR", 500, 502)])
def test_anthropic_errors_carry_its_status(worker, anthropic, text, upstream, status):
    with pytest.raises(UpstreamError) as caught:
        run(anthropic_realtime, chat_line(text, model=CLAUDE))
    assert (caught.value.upstream_status, caught.value.status, caught.value.provider) == (upstream, status,
                                                                                          "anthropic")
    assert len(anthropic.calls) == 1


def test_anthropic_429_keeps_retry_after(worker, anthropic):
    line = chat_line("RATE_LIMIT", model=CLAUDE)
    with pytest.raises(UpstreamError) as caught:
        run(anthropic_realtime, line)
    assert caught.value.upstream_status == 429 and caught.value.headers == {"Retry-After": "1"}
    assert completion(run(anthropic_realtime, line)).choices[0].message.content == "echo: RATE_LIMIT"
