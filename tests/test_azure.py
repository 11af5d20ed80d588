"""Azure OpenAI through the gateway: the seed workflow with the real SDK in strict mode on both of
Azure's API forms, Azure's batch-file rules at upload, its IDs, keys and reply drift, against the
stateful fake resource (tests/fakes/azure.py)."""

from __future__ import annotations

import json

import openai
import pytest

from blueprints.dispatcher import ids
from tests.fakes.azure import DEPLOYMENT, FakeAzure

AZURE = {"provider": "azure"}


def _lines(*questions: str, url: str = "/v1/chat/completions", model: str = DEPLOYMENT) -> bytes:
    return "".join(json.dumps({"custom_id": f"req-{n}", "method": "POST", "url": url, "body": {
        "model": model, "messages": [{"role": "user", "content": q}], "max_tokens": 100}}) + "\n"
        for n, q in enumerate(questions, start=1)).encode()


def _upload(sdk, content: bytes, **extra):
    return sdk.files.create(file=("batch.jsonl", content, "application/jsonl"), purpose="batch",
                            extra_body={**AZURE, **extra})


def _run(sdk, content: bytes, endpoint: str = "/v1/chat/completions"):
    """The seed workflow: upload, create, poll to an end (without `provider` after the create)."""
    uploaded = _upload(sdk, content)
    batch = sdk.batches.create(input_file_id=uploaded.id, endpoint=endpoint, completion_window="24h",
                               extra_body=AZURE)
    assert batch.status == "validating" and batch.input_file_id == uploaded.id and batch.endpoint == endpoint
    statuses = []
    for _ in range(10):
        batch = sdk.batches.retrieve(batch.id)  # the ID names Azure
        statuses.append(batch.status)
        if batch.status in ("completed", "failed", "expired", "cancelled"):
            break
    return uploaded, batch, statuses


def _content(sdk, file_id: str) -> list[dict]:
    return [json.loads(line) for line in sdk.files.content(file_id).read().decode().splitlines()]


def test_seed_workflow_on_the_v1_api(sdk, azure_fake):
    uploaded, batch, statuses = _run(sdk, _lines("What is 2+2?", "What is the capital of France?"))
    assert uploaded.id.startswith("file-dszf_") and batch.id.startswith("batch_dsz_")
    assert statuses == ["in_progress", "finalizing", "completed"]
    assert batch.request_counts.total == 2 and batch.request_counts.completed == 2
    assert batch.endpoint == "/v1/chat/completions"  # Azure answered null
    output = _content(sdk, batch.output_file_id)
    assert sorted(line["custom_id"] for line in output) == ["req-1", "req-2"]
    for line in output:
        assert line["id"].startswith("batch_req_") and line["error"] is None  # Azure's lines have no id
        choice = line["response"]["body"]["choices"][0]
        assert choice["finish_reason"] == "stop" and choice["native_finish_reason"] == "stop"
        assert choice["content_filter_results"]["hate"]["filtered"] is False  # Azure's extras stay
    assert _content(sdk, batch.error_file_id) == []  # Azure's error file is empty: nothing failed
    assert sdk.files.retrieve(batch.output_file_id).purpose == "batch_output"
    assert all(path.startswith("/openai/v1/") and "api-version" not in path for _, path in azure_fake.calls)
    assert azure_fake.auth_headers == {"api-key"} and azure_fake.keys_seen == {"sk-test-key"}  # passthrough


def test_seed_workflow_on_the_dated_api_with_azures_drift(sdk, azure_fake, app):
    app.config["AZURE_OPENAI_API_VERSION"] = "2025-04-01-preview"
    content = _lines("What is 2+2?", "FAIL", url="/chat/completions")
    uploaded, batch, statuses = _run(sdk, content)
    # Azure answered "In_progress", ISO 8601 times, "" file IDs and null counters: the SDK saw OpenAI's shapes
    assert statuses == ["in_progress", "finalizing", "completed"]
    assert isinstance(batch.created_at, int) and batch.completed_at >= batch.created_at
    assert (batch.request_counts.completed, batch.request_counts.failed) == (1, 1)
    errors = _content(sdk, batch.error_file_id)
    assert [(e["custom_id"], e["response"]["status_code"]) for e in errors] == [("req-2", 400)]
    assert [line["custom_id"] for line in _content(sdk, batch.output_file_id)] == ["req-1"]
    assert sdk.files.content(uploaded.id).read() == content  # an uploaded file comes back as it went up
    for _, path in azure_fake.calls:
        assert path.startswith("/openai/") and not path.startswith("/openai/v1/")
        assert "api-version=2025-04-01-preview" in path
    created = next(b for b in azure_fake.batches.values())
    assert created["endpoint"] == "/chat/completions"  # the dated API's spelling, as the lines have it


def test_follow_up_calls_find_azure_without_provider(sdk, azure_fake):
    uploaded, batch, _ = _run(sdk, _lines("Hello"))
    assert ids.decode_file(uploaded.id).provider == "azure"
    assert sdk.files.retrieve(uploaded.id).filename == "batch.jsonl"
    listed = sdk.batches.list(limit=1, extra_query=AZURE)
    assert [b.id for b in listed.data] == [batch.id]
    files = list(sdk.files.list(limit=1, extra_query=AZURE))  # pages with the gateway's `after`
    assert uploaded.id in [f.id for f in files] and len(files) == len(azure_fake.files)
    assert sdk.files.delete(uploaded.id).deleted is True
    with pytest.raises(openai.NotFoundError) as caught:
        sdk.files.retrieve(uploaded.id)
    assert "azure answered" in caught.value.message


def test_an_unconvertible_result_goes_to_the_error_file(sdk, azure_fake):
    azure_fake.unconvertible.add("req-2")
    _, batch, _ = _run(sdk, _lines("one", "two"))
    assert [line["custom_id"] for line in _content(sdk, batch.output_file_id)] == ["req-1"]
    (error,) = _content(sdk, batch.error_file_id)
    assert error["custom_id"] == "req-2" and error["response"]["status_code"] == 502
    assert error["response"]["body"]["error"]["code"] == "unconvertible_result"
    assert error["response"]["body"]["provider_result"]["response"]["body"] == {"oops": True}


@pytest.mark.parametrize("content, fragment, param", ids=["embeddings", "dated-url-on-v1", "two-deployments",
                                                           "no-deployment", "bom", "get"], argvalues=[
    (_lines("a", url="/v1/embeddings"), "Line 1 has url '/v1/embeddings'", "line 1: url"),
    (_lines("a", url="/chat/completions"), "Line 1 has url '/chat/completions'", "line 1: url"),
    (_lines("a") + _lines("b").replace(b"req-1", b"req-2").replace(DEPLOYMENT.encode(), b"other"),
     "Line 2 names deployment 'other'", "line 2: body.model"),
    (_lines("a", model=""), "Line 1 needs body.model", "line 1: body.model"),
    (b"\xef\xbb\xbf" + _lines("a"), "byte order mark", "line 1"),
    (_lines("a").replace(b'"POST"', b'"GET"'), 'Line 1 must have "method": "POST"', "line 1: method"),
])
def test_azures_batch_file_rules_are_400s_naming_the_line(sdk, azure_fake, content, fragment, param):
    with pytest.raises(openai.BadRequestError) as caught:
        _upload(sdk, content)
    assert fragment in caught.value.message and caught.value.param == param
    assert azure_fake.files == {}  # the upload was cut off: nothing reached Azure


def test_the_dated_api_takes_its_own_line_urls(sdk, azure_fake, app):
    app.config["AZURE_OPENAI_API_VERSION"] = "2024-10-21"
    with pytest.raises(openai.BadRequestError) as caught:
        _upload(sdk, _lines("a"))
    assert "Azure's batch API here takes '/chat/completions'" in caught.value.message
    uploaded = _upload(sdk, _lines("a", url="/chat/completions"))
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.batches.create(input_file_id=uploaded.id, endpoint="/v1/responses", completion_window="24h")
    assert caught.value.param == "endpoint" and caught.value.code == "unsupported_endpoint"
    with pytest.raises(openai.BadRequestError) as caught:  # Azure fails any window but 24h
        sdk.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions",
                           completion_window="48h")  # type: ignore[arg-type]
    assert caught.value.param == "completion_window"
    assert azure_fake.batches == {}


def test_caps_on_requests_and_bytes(sdk, azure_fake, app):
    app.config["AZURE_OPENAI_MAX_BATCH_REQUESTS"] = 1
    with pytest.raises(openai.BadRequestError) as caught:
        _upload(sdk, _lines("a", "b"))
    assert "Line 2 is request 2" in caught.value.message
    app.config["AZURE_OPENAI_MAX_BATCH_BYTES"] = 100
    with pytest.raises(openai.BadRequestError) as caught:
        _upload(sdk, _lines("a"))
    assert caught.value.code == "file_too_large"
    assert azure_fake.files == {}


def test_gateway_key_mode_sends_the_azure_key_as_api_key(sdk, azure_fake, app):
    app.config.update(API_KEYS=["sk-test-key"], AZURE_OPENAI_API_KEY="azure-secret")
    _upload(sdk, _lines("a"))
    assert azure_fake.keys_seen == {"azure-secret"} and azure_fake.auth_headers == {"api-key"}
    app.config["AZURE_OPENAI_API_KEY"] = ""
    with pytest.raises(openai.BadRequestError) as caught:
        _upload(sdk, _lines("a"))
    assert caught.value.code == "provider_not_configured" and "AZURE_OPENAI_API_KEY" in caught.value.message


def test_no_endpoint_configured_is_a_400(sdk, azure_fake, app):
    app.config["AZURE_OPENAI_ENDPOINT"] = ""
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.files.list(extra_query=AZURE)
    assert caught.value.code == "provider_not_configured"


def test_a_foreign_option_is_refused_like_everywhere(sdk, azure_fake):
    uploaded = _upload(sdk, _lines("a"))
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h",
                           extra_body={"model": DEPLOYMENT})
    assert caught.value.status_code == 400 and caught.value.code == "unsupported_parameter"
    assert caught.value.param == "model" and azure_fake.batches == {}


def test_result_files_and_cancel(sdk, azure_fake):
    _, batch, _ = _run(sdk, _lines("a"))
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.files.delete(batch.output_file_id)
    sources = [ids.encode_file("azure", f) for f in (azure_fake.batches[ids.decode_batch(batch.id).native]
                                                     ["output_file_id"], azure_fake.batches[
                                                         ids.decode_batch(batch.id).native]["error_file_id"])]
    assert caught.value.code == "derived_file" and all(s in caught.value.message for s in sources)
    other = sdk.batches.create(input_file_id=_upload(sdk, _lines("b")).id, endpoint="/v1/chat/completions",
                               completion_window="24h", extra_body=AZURE)
    assert sdk.batches.cancel(other.id).status == "cancelling"
    cancelled = sdk.batches.retrieve(other.id)
    assert cancelled.status == "cancelled" and _content(sdk, cancelled.output_file_id) == []


def test_a_failed_validation_reads_as_failed_with_azures_errors(sdk, azure_fake):
    azure_fake.deployments = {"another"}
    _, batch, _ = _run(sdk, _lines("a"))
    assert batch.status == "failed" and batch.output_file_id is None and batch.error_file_id is None
    assert batch.errors.data[0].code == "model_not_found" and batch.errors.data[0].line is None


def test_the_fake_answers_openais_shapes_without_drift(sdk, rsps):
    fake = FakeAzure(drift=False).register(rsps)
    _, batch, _ = _run(sdk, _lines("a"))
    assert batch.status == "completed"
    assert fake.violations == []  # every reply also matched the openai SDK's types


def _endpoint_lines(url: str, bodies: list[dict]) -> bytes:
    return "".join(json.dumps({"custom_id": f"req-{n}", "method": "POST", "url": url, "body": body}) + "\n"
                   for n, body in enumerate(bodies, start=1)).encode()


def test_responses_batches_pass_through_and_parse_as_responses(sdk, azure_fake):
    bodies = [{"model": DEPLOYMENT, "input": "Hello!"}, {"model": DEPLOYMENT, "input": [
        {"role": "user", "content": "How are you?"}], "max_output_tokens": 50}]
    _, batch, statuses = _run(sdk, _endpoint_lines("/v1/responses", bodies), endpoint="/v1/responses")
    assert statuses[-1] == "completed" and batch.request_counts.completed == 2
    output = sorted(_content(sdk, batch.output_file_id), key=lambda line: line["custom_id"])
    assert [line["custom_id"] for line in output] == ["req-1", "req-2"]
    for line in output:
        response = openai.types.responses.Response.model_validate(line["response"]["body"])
        assert response.status == "completed" and response.output_text.startswith("Answer to:")


def test_embeddings_batches_are_a_400_unless_configured(sdk, azure_fake, app):
    """Azure's batch FAQ says embeddings are not supported: a 400 naming the line, until an operator
    lists the url in DEEPINTSHIELD_AZURE_OPENAI_BATCH_URLS (then they pass through)."""
    lines = _endpoint_lines("/v1/embeddings", [{"model": DEPLOYMENT, "input": "Hello!"},
                                               {"model": DEPLOYMENT, "input": ["a", "b"]}])
    with pytest.raises(openai.BadRequestError) as caught:
        _upload(sdk, lines)
    assert caught.value.param == "line 1: url" and azure_fake.files == {}
    app.config["AZURE_OPENAI_BATCH_URLS"] = ["/v1/chat/completions", "/v1/responses", "/v1/embeddings"]
    _, batch, statuses = _run(sdk, lines, endpoint="/v1/embeddings")
    assert statuses[-1] == "completed" and batch.request_counts.completed == 2
    output = sorted(_content(sdk, batch.output_file_id), key=lambda line: line["custom_id"])
    counts = [len(openai.types.CreateEmbeddingResponse.model_validate(line["response"]["body"]).data)
              for line in output]
    assert counts == [1, 2]
