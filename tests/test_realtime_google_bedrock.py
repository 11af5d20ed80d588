"""Gateway-run batch lines on Gemini, Vertex AI and Bedrock: each provider's `Realtime` module.

`prepare` is checked against the batch path's own conversion; `send` runs against the providers'
fakes (tests/fakes: the Gemini and Vertex AI fakes on `responses`, the Bedrock fake on loopback through
`AWS_ENDPOINT_URL_BEDROCK_RUNTIME`), each of which checks the call against the official types, inside
an app context with `g.client_key` set, as the batch worker runs them. A success is a chat.completion
the OpenAI SDK's type takes strictly (the gateway's `native_finish_reason` aside); a provider's error
is an `UpstreamError` carrying the provider's own status, which the worker decides retries by.
"""

from __future__ import annotations

import contextlib
import re

import flask
import pytest
from botocore.exceptions import ReadTimeoutError
from openai.types.chat import ChatCompletion

from blueprints.bedrock import client as bedrock_client
from blueprints.bedrock import realtime as bedrock_rt
from blueprints.common.provider import LineRequest
from blueprints.gemini import client as gemini_client
from blueprints.gemini import realtime as gemini_rt
from blueprints.vertex import realtime as vertex_rt
from errors import APIError, BadRequest, UpstreamError
from tests.contracts.openai_types import strict
from tests.fakes import gemini as gemini_fakes
from tests.fakes.bedrock import REGION, AWSError
from tests.fakes.vertex import ADC_TOKEN, PROJECT, FakeVertex, service_account_file
from translators import bedrock as bedrock_tr
from translators import gemini as gemini_tr

CHAT = "/v1/chat/completions"
GEMINI = "gemini-2.5-flash"
CLAUDE = "anthropic.claude-3-sonnet-20240229-v1:0"
NOVA = "amazon.nova-lite-v1:0"
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="


def line(text: str = "Hello there", *, model: str | None = GEMINI, body_model: str | None = None, url: str = CHAT,
         region: str | None = None, **body) -> LineRequest:
    """A chat line; `model` is the batch's, `body_model` the line body's own."""
    body = {"messages": [{"role": "system", "content": "Be terse."}, {"role": "user", "content": text}], **body}
    if body_model:
        body["model"] = body_model
    return LineRequest(custom_id="req-1", url=url, body=body, model=model, region=region)


@contextlib.contextmanager
def worker(app, key: str = "sk-test-key"):
    """An app context as the batch worker has it: no request, the batch owner's key in `g.client_key`."""
    with app.app_context():
        flask.g.client_key = key
        yield


def completion(body: dict) -> ChatCompletion:
    """`body` as OpenAI's ChatCompletion, strictly: the one key the gateway adds, each choice's
    `native_finish_reason` (the provider's own value), is checked and set aside first."""
    choices = []
    for choice in body["choices"]:
        assert "native_finish_reason" in choice
        choices.append({key: value for key, value in choice.items() if key != "native_finish_reason"})
    validated = strict(ChatCompletion, {**body, "choices": choices}, "chat.completion")
    assert isinstance(validated, ChatCompletion)
    return validated


def upstream_error(call) -> UpstreamError:
    with pytest.raises(UpstreamError) as caught:
        call()
    return caught.value


# Gemini: prepare


def test_gemini_prepare_is_the_batch_path_s_request():
    body = line(temperature=0.2, max_tokens=50, stop=["END"]).body
    assert gemini_rt.prepare(line(temperature=0.2, max_tokens=50, stop=["END"])) == \
        gemini_tr.generate_content_request(body) == gemini_tr.batch_line({"custom_id": "x", "body": body})["request"]


def test_gemini_prepare_takes_the_batch_model_else_the_line_s():
    assert gemini_rt.line_model(line(model=None, body_model="gemini-2.5-pro")) == "gemini-2.5-pro"
    assert gemini_rt.line_model(line(model="models/gemini-2.5-flash", body_model="gemini-2.5-pro")) == \
        "models/gemini-2.5-flash"
    gemini_rt.prepare(line(model=None, body_model="gemini-2.5-pro"))  # a body's model is enough


@pytest.mark.parametrize(("request_", "param"), [
    (line(model=None), "model"),
    (line(model="not a model!"), "model"),
    (line(url="/v1/moderations"), "url"),
    (line(url="/v1/responses"), "body.messages"),  # a chat body is not a Responses body
    (line(url="/v1/embeddings"), "body.messages"),
    (line(logit_bias={"1": 2}), "body.logit_bias"),  # the batch translator's refusal
    (line(reasoning_effort="extreme"), "body.reasoning_effort"),
])
def test_gemini_prepare_refuses_what_gemini_cannot_run(request_, param):
    with pytest.raises(BadRequest) as caught:
        gemini_rt.prepare(request_)
    assert caught.value.param == param


# Gemini: send


@pytest.fixture
def gemini_fake(rsps):
    with contextlib.contextmanager(gemini_fakes.checked_fakes)(rsps) as make:
        yield make


def test_gemini_send_answers_a_chat_completion(app, gemini_fake):
    fake = gemini_fake()
    request = line("What is 2+2?", max_tokens=40)
    prepared = gemini_rt.prepare(request)
    with worker(app):
        reply = gemini_rt.send(prepared, request)
    assert fake.generated == [(GEMINI, prepared)]
    assert re.fullmatch(r"resp-gc\d{6}", reply.request_id)  # Gemini's responseId
    result = completion(reply.body)
    assert result.id == f"chatcmpl-{reply.request_id}" and result.model == "gemini-2.5-flash-001"
    assert result.choices[0].message.content == "Answer: What is 2+2?"  # the thought part left out
    assert result.choices[0].finish_reason == "stop" and reply.body["choices"][0]["native_finish_reason"] == "STOP"
    assert result.usage is not None and result.usage.completion_tokens == 5  # 3 + 2 thinking tokens
    assert result.usage.completion_tokens_details is not None
    assert result.usage.completion_tokens_details.reasoning_tokens == 2


def test_gemini_send_with_the_models_prefix_and_gateway_keys(app, gemini_fake):
    fake = gemini_fake(api_key="sk-gemini-server")
    app.config.update(API_KEYS=["gw-key"], GEMINI_API_KEY="sk-gemini-server")
    request = line(model="models/gemini-2.5-pro")
    with worker(app, "gw-key"):
        gemini_rt.send(gemini_rt.prepare(request), request)
    assert [model for model, _ in fake.generated] == ["gemini-2.5-pro"]


def test_gemini_send_converts_as_batch_results_do(app, monkeypatch):
    """Values newer than the tables (a finish reason) and blocked prompts, through the results' converter."""
    replies = iter([
        {"candidates": [{"content": {"role": "model", "parts": [{"text": "hm"}]}, "finishReason": "NEW_REASON"}]},
        {"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {"promptTokenCount": 4}},
        {"candidates": ["not an object"]},
    ])
    monkeypatch.setattr(gemini_client, "generate_content", lambda model, request, **_: next(replies))
    request = line()
    with worker(app):
        new, blocked = (gemini_rt.send({}, request).body for _ in range(2))
        unreadable = upstream_error(lambda: gemini_rt.send({}, request))
    assert (new["choices"][0]["finish_reason"], new["choices"][0]["native_finish_reason"]) == ("stop", "NEW_REASON")
    assert (blocked["choices"][0]["finish_reason"], blocked["choices"][0]["native_finish_reason"]) == \
        ("content_filter", "SAFETY")
    completion(new), completion(blocked)
    assert unreadable.status == 502 and unreadable.code == "unmappable_reply"


def test_gemini_send_refused_request(app, gemini_fake):
    gemini_fake()
    request = line("please FAIL")
    with worker(app):
        error = upstream_error(lambda: gemini_rt.send(gemini_rt.prepare(request), request))
    assert (error.status, error.upstream_status, error.code) == (400, 400, "INVALID_ARGUMENT")


def test_gemini_send_rate_limited_then_answered(app, gemini_fake):
    fake = gemini_fake()
    fake.realtime_errors["busy"] = [gemini_fakes.FakeError(429, "RESOURCE_EXHAUSTED", "Resource has been exhausted")]
    request = line("busy")
    with worker(app):
        error = upstream_error(lambda: gemini_rt.send(gemini_rt.prepare(request), request))
        assert fake.generated == []  # the POST was not replayed: retries are the worker's
        assert (error.status, error.upstream_status, error.type) == (429, 429, "rate_limit_error")
        completion(gemini_rt.send(gemini_rt.prepare(request), request).body)
    assert len(fake.generated) == 1


def test_gemini_send_server_error(app, gemini_fake):
    fake = gemini_fake()
    fake.realtime_errors["boom"] = [gemini_fakes.FakeError(500, "INTERNAL", "An internal error has occurred.")]
    request = line("boom")
    with worker(app):
        error = upstream_error(lambda: gemini_rt.send(gemini_rt.prepare(request), request))
    assert (error.status, error.upstream_status) == (502, 500)


def test_gemini_send_with_a_wrong_key(app, gemini_fake):
    gemini_fake()
    request = line()
    with worker(app, "sk-wrong"):
        error = upstream_error(lambda: gemini_rt.send(gemini_rt.prepare(request), request))
    assert (error.status, error.upstream_status) == (400, 400)  # Gemini answers a bad key with 400


# Vertex AI


def test_vertex_prepare_is_gemini_s_request():
    request = line(max_tokens=20)
    assert vertex_rt.prepare(request) == gemini_rt.prepare(request)
    vertex_rt.prepare(line(model="projects/p-1/locations/europe-west4/endpoints/123"))  # a tuned model's endpoint


@pytest.mark.parametrize(("request_", "param"), [
    (line(model=None), "model"),
    (line(model="publishers/anthropic/models/claude-3"), "model"),  # lines are Gemini requests
    (line(url="/v1/embeddings"), "url"),
    (line(logit_bias={"1": 2}), "body.logit_bias"),
])
def test_vertex_prepare_refuses_what_vertex_cannot_run(request_, param):
    with pytest.raises(BadRequest) as caught:
        vertex_rt.prepare(request_)
    assert caught.value.param == param


def test_vertex_send_answers_a_chat_completion(vertex_app, vertex):
    request = line("What is 2+2?", model=None, body_model=GEMINI)
    prepared = vertex_rt.prepare(request)
    with worker(vertex_app):
        reply = vertex_rt.send(prepared, request)
    assert vertex.calls == [f"POST /v1/projects/{PROJECT}/locations/us-central1/publishers/google/models/"
                            f"{GEMINI}:generateContent"]
    assert vertex.generated == [(f"publishers/google/models/{GEMINI}", prepared)]
    result = completion(reply.body)
    assert reply.request_id.startswith("resp-") and result.id == f"chatcmpl-{reply.request_id}"
    assert result.model == "gemini-2.5-flash-001@default"
    assert result.choices[0].message.content == "Answer: What is 2+2?"
    assert result.usage is not None and result.usage.total_tokens == result.usage.prompt_tokens + 3


def test_vertex_send_names_a_tuned_model_by_its_resource_name(vertex_app, vertex):
    name = "projects/p-1/locations/europe-west4/endpoints/123"
    request = line(model=name)
    with worker(vertex_app):
        upstream_error(lambda: vertex_rt.send(vertex_rt.prepare(request), request))  # the fake serves publisher models
    assert vertex.calls == [f"POST /v1/{name}:generateContent"]


@pytest.mark.parametrize(("text", "model", "errors", "expected"), [
    ("please FAIL", GEMINI, [], (400, 400, "INVALID_ARGUMENT")),
    ("hi", "gemini-9-imaginary", [], (404, 404, "NOT_FOUND")),
    ("boom", GEMINI, [(500, "INTERNAL")], (502, 500, "INTERNAL")),
    ("busy", GEMINI, [(429, "RESOURCE_EXHAUSTED")], (429, 429, "RESOURCE_EXHAUSTED")),
])
def test_vertex_send_errors_carry_vertex_s_status(vertex_app, vertex, text, model, errors, expected):
    from tests.fakes.vertex import FakeError

    vertex.realtime_errors[text] = [FakeError(status, name, "scripted") for status, name in errors]
    request = line(text, model=model)
    with worker(vertex_app):
        error = upstream_error(lambda: vertex_rt.send(vertex_rt.prepare(request), request))
        assert (error.status, error.upstream_status, error.code) == expected
        if errors:  # scripted once: the next call (the worker's retry) is answered
            completion(vertex_rt.send(vertex_rt.prepare(request), request).body)


def test_vertex_send_needs_a_project(vertex_app, vertex):
    vertex_app.config["VERTEX_PROJECT"] = ""
    request = line()
    with worker(vertex_app), pytest.raises(APIError) as caught:
        vertex_rt.send(vertex_rt.prepare(request), request)
    assert caught.value.code == "provider_not_configured" and vertex.calls == []


def test_vertex_send_with_gateway_keys_uses_application_default_credentials(vertex_app, rsps, gcs, monkeypatch,
                                                                             tmp_path):
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", service_account_file(tmp_path))
    vertex_app.config["API_KEYS"] = ["gw-key"]
    fake = FakeVertex(gcs, token=ADC_TOKEN).register(rsps)
    request = line()
    with worker(vertex_app, "gw-key"):
        completion(vertex_rt.send(vertex_rt.prepare(request), request).body)
    assert fake.token_grants == 1
    fake.assert_no_violations()


# Bedrock: prepare (reads the gateway's Claude settings: inside an app context)


@pytest.fixture
def test_config(test_config):
    return {**test_config, "BEDROCK_REGION": REGION}


def test_bedrock_prepare_claude_is_the_batch_record_s_model_input(app):
    with app.app_context():
        prepared = bedrock_rt.prepare(line(model=CLAUDE, temperature=0.5))
    assert prepared == {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 4096, "system": "Be terse.",
                        "messages": [{"role": "user", "content": "Hello there"}], "temperature": 0.5}


def test_bedrock_prepare_converse_for_other_models(app):
    with app.app_context():
        prepared = bedrock_rt.prepare(line(model=None, max_tokens=64, body_model=NOVA))
    assert prepared == bedrock_tr.chat_to_converse(line(max_tokens=64).body, default_max_tokens=4096)
    assert prepared["inferenceConfig"] == {"maxTokens": 64} and "modelId" not in prepared


def test_bedrock_prepare_follows_the_configured_claude_sampling_rules(app):
    sonnet = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
    request = line(model=sonnet, temperature=0.5, top_p=0.9)
    with app.app_context():
        with pytest.raises(BadRequest) as caught:
            bedrock_rt.prepare(request)
        assert caught.value.param == "top_p"
        app.config["ANTHROPIC_TEMPERATURE_AND_TOP_P_MODELS"] = ["claude-sonnet-4-5*"]
        assert bedrock_rt.prepare(request)["top_p"] == 0.9


@pytest.mark.parametrize(("request_", "param"), [
    (line(model=None), "model"),
    (line(model="not a model id!"), "model"),
    (line(model=CLAUDE, url="/v1/moderations"), "url"),
    (line(model=CLAUDE, url="/v1/embeddings"), "model"),
    (line(model=NOVA, tool_choice="none", tools=[{"type": "function", "function": {"name": "f"}}]), "tool_choice"),
])
def test_bedrock_prepare_refuses_what_bedrock_cannot_run(app, request_, param):
    with app.app_context(), pytest.raises(BadRequest) as caught:
        bedrock_rt.prepare(request_)
    assert caught.value.param == param


# Bedrock: send (bedrock-runtime in the loopback fake)


def test_bedrock_send_claude_through_invoke_model(app, bedrock_fake):
    request = line("What is 2+2?", model=CLAUDE)
    with worker(app):
        prepared = bedrock_rt.prepare(request)
        reply = bedrock_rt.send(prepared, request)
    (operation, params), = bedrock_fake.calls
    assert operation == "invoke" and params["modelId"] == CLAUDE and params["contentType"] == "application/json"
    assert reply.request_id.startswith("fake-000001-")  # Bedrock's x-amzn-RequestId
    result = completion(reply.body)
    assert result.id.startswith("msg_bdrk_") and result.choices[0].message.content == "echo: What is 2+2?"
    assert result.choices[0].finish_reason == "stop" and reply.body["choices"][0]["native_finish_reason"] == "end_turn"
    assert result.usage is not None and result.usage.prompt_tokens == 6


def test_bedrock_send_others_through_converse(app, bedrock_fake):
    image = {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}}
    request = LineRequest(custom_id="r", url=CHAT, model=NOVA, region=REGION, body={
        "messages": [{"role": "user", "content": [image, {"type": "text", "text": "Describe it"}]}]})
    with worker(app):
        reply = bedrock_rt.send(bedrock_rt.prepare(request), request)
    (operation, params), = bedrock_fake.calls
    assert operation == "converse" and params["modelId"] == NOVA
    # The image went as base64 once (boto3 encodes the bytes it is given; the record holds base64 text).
    assert params["messages"][0]["content"][0]["image"]["source"]["bytes"] == PNG
    result = completion(reply.body)
    assert result.id == f"chatcmpl-{reply.request_id}" and result.model == NOVA
    assert result.choices[0].message.content == "echo: Describe it"


def test_bedrock_send_refused_request(app, bedrock_fake):
    request = line("please FAIL", model=NOVA)
    with worker(app):
        error = upstream_error(lambda: bedrock_rt.send(bedrock_rt.prepare(request), request))
    assert (error.status, error.upstream_status, error.code) == (400, 400, "ValidationException")


@pytest.mark.parametrize(("model", "scripted", "expected"), [
    (CLAUDE, (429, "ThrottlingException"), (429, 429)),
    (NOVA, (429, "ThrottlingException"), (429, 429)),
    (NOVA, (429, "ModelNotReadyException"), (429, 429)),
    (CLAUDE, (500, "InternalServerException"), (502, 500)),
    (NOVA, (503, "ServiceUnavailableException"), (502, 503)),
    (CLAUDE, (408, "ModelTimeoutException"), (502, 408)),
])
def test_bedrock_send_errors_are_not_retried_and_carry_bedrock_s_status(app, bedrock_fake, model, scripted,
                                                                         expected):
    status, code = scripted
    bedrock_fake.runtime_errors["busy"] = [AWSError(status, code, "scripted")]
    request = line("busy", model=model)
    with worker(app):
        error = upstream_error(lambda: bedrock_rt.send(bedrock_rt.prepare(request), request))
        assert (error.status, error.upstream_status, error.code) == (*expected, code)
        assert bedrock_fake.runtime_calls == 1  # botocore did not retry: the worker decides
        completion(bedrock_rt.send(bedrock_rt.prepare(request), request).body)  # the worker's retry
    assert bedrock_fake.runtime_calls == 2


def test_bedrock_send_in_the_batch_s_region(app, bedrock_fake):
    with worker(app):
        completion(bedrock_rt.send(bedrock_rt.prepare(line(model=NOVA)), line(model=NOVA, region="eu-west-1")).body)
        with pytest.raises(BadRequest) as caught:
            bedrock_rt.send({}, line(model=NOVA, region="mars-north-1"))
    assert caught.value.code == "unknown_region" and bedrock_fake.runtime_calls == 1


def test_bedrock_send_timeout_is_a_504_without_a_status(app, monkeypatch):
    class Runtime:
        def converse(self, **params):
            raise ReadTimeoutError(endpoint_url="https://bedrock-runtime.fake")

    monkeypatch.setattr(bedrock_client, "runtime", lambda region: Runtime())
    request = line(model=NOVA)
    with worker(app):
        error = upstream_error(lambda: bedrock_rt.send(bedrock_rt.prepare(request), request))
    assert (error.status, error.upstream_status, error.code) == (504, None, "upstream_timeout")
