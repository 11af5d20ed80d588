"""The seed's OpenAI snippets, run as written (base URL and sleeps aside) through the real SDK in
strict mode against the gateway on a loopback port, with the stateful OpenAI fake upstream."""

from __future__ import annotations

import json

import openai
import pytest

from tests.fakes.openai import FakeOpenAI

SEED_JSONL = '''{"custom_id": "request-1", "method": "POST", "url": "/v1/chat/completions", "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hello!"}], "max_tokens": 100}}
{"custom_id": "request-2", "method": "POST", "url": "/v1/chat/completions", "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "How are you?"}], "max_tokens": 100}}'''  # noqa: E501


@pytest.fixture
def fake(rsps):
    fake = FakeOpenAI()
    fake.register(rsps)
    yield fake
    assert fake.violations == []  # everything sent and answered matched the openai SDK's types


def _upload(sdk, content: str = SEED_JSONL, name: str = "batch_input.jsonl"):
    return sdk.files.create(file=(name, content.encode(), "application/jsonl"), purpose="batch",
                            extra_body={"provider": "openai"})


def test_seed_files_snippets(sdk, fake):
    response = _upload(sdk)
    assert response.id.startswith("file-") and response.purpose == "batch"
    assert response.bytes == len(SEED_JSONL.encode()) and response.filename == "batch_input.jsonl"
    file_id = response.id

    listed = sdk.files.list(extra_query={"provider": "openai"})
    assert [f.id for f in listed.data] == [file_id]

    retrieved = sdk.files.retrieve(file_id, extra_query={"provider": "openai"})
    assert (retrieved.id, retrieved.filename, retrieved.purpose, retrieved.bytes) == (
        file_id, "batch_input.jsonl", "batch", len(SEED_JSONL.encode()))

    response = sdk.files.content(file_id, extra_query={"provider": "openai"})
    content = response.read() if hasattr(response, "read") else response.content
    assert content.decode("utf-8") == SEED_JSONL

    deleted = sdk.files.delete(file_id, extra_query={"provider": "openai"})
    assert deleted.deleted is True and deleted.id == file_id
    with pytest.raises(openai.NotFoundError) as caught:
        sdk.files.retrieve(file_id, extra_query={"provider": "openai"})
    assert "openai" in caught.value.message
    assert fake.keys_seen == {"sk-test-key"}  # passthrough: the client's key reached the provider


def test_seed_batch_workflow_to_downloaded_results(sdk, fake):
    provider = "openai"
    jsonl_content = SEED_JSONL.replace("request-", "req-")
    uploaded_file = sdk.files.create(
        file=("batch_e2e.jsonl", jsonl_content.encode(), "application/jsonl"),
        purpose="batch",
        extra_body={"provider": provider},
    )
    batch = sdk.batches.create(
        input_file_id=uploaded_file.id,
        endpoint="/v1/chat/completions",
        completion_window="24h",
        extra_body={"provider": provider},
    )
    assert batch.status == "validating" and batch.input_file_id == uploaded_file.id
    statuses = []
    for _ in range(10):
        batch = sdk.batches.retrieve(batch.id, extra_query={"provider": provider})
        statuses.append(batch.status)
        if batch.status in ["completed", "failed", "expired", "cancelled"]:
            break
    assert statuses == ["in_progress", "finalizing", "completed"]
    assert batch.request_counts.total == 2 and batch.request_counts.completed == 2
    assert batch.output_file_id and batch.error_file_id is None

    output = sdk.files.content(batch.output_file_id, extra_query={"provider": provider}).read().decode()
    lines = [json.loads(line) for line in output.splitlines()]
    assert sorted(line["custom_id"] for line in lines) == ["req-1", "req-2"]
    for line in lines:
        assert line["error"] is None and line["response"]["status_code"] == 200
        assert line["response"]["body"]["object"] == "chat.completion"
    output_file = sdk.files.retrieve(batch.output_file_id)
    assert output_file.purpose == "batch_output"


def test_batch_error_file_and_cancel(sdk, fake):
    failing = SEED_JSONL.replace('"gpt-4o-mini", "messages": [{"role": "user", "content": "How', '"fail", '
                                 '"messages": [{"role": "user", "content": "How')
    batch = sdk.batches.create(input_file_id=_upload(sdk, failing).id, endpoint="/v1/chat/completions",
                               completion_window="24h")
    while batch.status != "completed":
        batch = sdk.batches.retrieve(batch.id)
    assert (batch.request_counts.completed, batch.request_counts.failed) == (1, 1)
    error_line = json.loads(sdk.files.content(batch.error_file_id).read())
    assert error_line["custom_id"] == "request-2" and error_line["response"]["status_code"] == 400

    other = sdk.batches.create(input_file_id=_upload(sdk).id, endpoint="/v1/chat/completions",
                               completion_window="24h", extra_body={"provider": "openai"})
    cancelled = sdk.batches.cancel(other.id, extra_body={"provider": "openai"})
    assert cancelled.status == "cancelling"
    assert sdk.batches.retrieve(other.id).status == "cancelled"


def test_cancel_of_finished_batch_is_a_400(sdk, fake):
    batch = sdk.batches.create(input_file_id=_upload(sdk).id, endpoint="/v1/chat/completions",
                               completion_window="24h")
    while batch.status != "completed":
        batch = sdk.batches.retrieve(batch.id)
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.batches.cancel(batch.id)
    assert "Cannot cancel" in caught.value.message


def test_seed_batch_list_and_auto_pagination(sdk, fake):
    file_id = _upload(sdk).id
    created = [sdk.batches.create(input_file_id=file_id, endpoint="/v1/chat/completions",
                                  completion_window="24h").id for _ in range(5)]
    page = sdk.batches.list(limit=2, extra_query={"provider": "openai"})
    assert len(page.data) == 2 and page.has_more
    seen = [batch.id for batch in sdk.batches.list(limit=2, extra_query={"provider": "openai"})]
    assert seen == list(reversed(created))

    for n in range(4):
        _upload(sdk, name=f"more-{n}.jsonl")
    files = [f.id for f in sdk.files.list(limit=2, extra_query={"provider": "openai"})]
    assert len(files) == 5 and len(set(files)) == 5


def test_gateway_fields_never_reach_openai(sdk, fake):
    """OpenAI takes none of the gateway-only fields: each is refused as every provider refuses a foreign one."""
    for extra in ({"model": "gpt-4o-mini"}, {"role_arn": "arn:aws:iam::123456789012:role/x"}):
        with pytest.raises(openai.BadRequestError) as caught:
            sdk.files.create(file=("x.jsonl", SEED_JSONL.encode()), purpose="batch",
                             extra_body={"provider": "openai", **extra})
        assert caught.value.code == "unsupported_parameter" and caught.value.param == next(iter(extra))
    uploaded = sdk.files.create(file=("x.jsonl", SEED_JSONL.encode()), purpose="batch",
                                extra_body={"provider": "openai"})
    batch = sdk.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions",
                               completion_window="24h", metadata={"team": "a"}, extra_body={"provider": "openai"})
    assert batch.metadata == {"team": "a"}
    assert fake.violations == []  # the fake holds every body to the openai SDK's types: no gateway field got through


def test_old_sdk_raw_slash_id_and_bad_ids(sdk, fake, client):
    with pytest.raises(openai.NotFoundError) as caught:  # as OpenAI answers for an ID it does not know
        sdk.batches.retrieve("batches/../files")
    assert caught.value.code == "invalid_id"
    for path in ("/openai/batches/a/../b", "/openai/files/file-1%2F..%2Fbatches", "/openai/files/x%3Fy=1",
                 "/openai/v1/batches/batch_1%23frag/cancel"):
        response = client.open(path, method="POST" if path.endswith("cancel") else "GET")
        assert response.status_code == 404, path
        assert response.json["error"]["param"] == "id"
    assert fake.calls == []  # nothing went upstream


def test_unknown_provider_missing_objects_and_upstream_404(sdk, fake):
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.files.list(extra_query={"provider": "nonesuch"})
    assert caught.value.param == "provider"
    with pytest.raises(openai.NotFoundError) as caught:
        sdk.files.retrieve("file-missing")
    assert caught.value.param == "id" and "openai answered" in caught.value.message
    with pytest.raises(openai.NotFoundError):
        sdk.batches.retrieve("batch_missing")
    with pytest.raises(openai.NotFoundError):
        sdk.batches.create(input_file_id="file-missing", endpoint="/v1/chat/completions", completion_window="24h")


@pytest.mark.parametrize(
    "content, fragment",
    [
        ("", "no request lines"),
        ("\n\n", "no request lines"),
        ('{"custom_id": "a", "method": "POST", "url": "/v1/chat/completions", "body": {}}\nnot json\n', "Line 2"),
        ('{"custom_id": "a", "method": "POST", "url": "/v1/chat/completions", "body": {}}\n'
         '{"custom_id": "a", "method": "POST", "url": "/v1/chat/completions", "body": {}}', "Line 2 repeats"),
        ('{"custom_id": "a", "method": "POST", "url": "/v1/chat/completions", "body": {}}\n'
         '{"custom_id": "b", "method": "POST", "url": "/v1/embeddings", "body": {}}', "Line 2 has url"),
        ('{"custom_id": "a", "method": "GET", "url": "/v1/chat/completions", "body": {}}', "Line 1 must have"),
        ('[1, 2]', "Line 1 must be a JSON object"),
    ],
)
def test_bad_batch_files_are_400s_naming_the_line(sdk, fake, content, fragment):
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.files.create(file=("bad.jsonl", content.encode()), purpose="batch", extra_body={"provider": "openai"})
    assert fragment in caught.value.message
    assert fake.files == {}  # the upstream upload was aborted, nothing stored


def test_wrong_purpose_and_wrong_endpoint(sdk, fake):
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.files.create(file=("a.jsonl", b"{}"), purpose="batch_output")  # type: ignore[arg-type]
    assert caught.value.param == "purpose"
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.batches.create(input_file_id="file-1", endpoint="/v1/nothing", completion_window="24h")  # type: ignore
    assert caught.value.param == "endpoint"
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.batches.create(input_file_id="file-1", endpoint="/v1/chat/completions", completion_window="48h")  # type: ignore
    assert caught.value.param == "completion_window"
    assert fake.calls == []


def test_large_upload_streams_through(sdk, fake):
    line = json.dumps({"custom_id": "x", "method": "POST", "url": "/v1/chat/completions",
                       "body": {"model": "m", "messages": [{"role": "user", "content": "y" * 1000}]}})
    content = "\n".join(line.replace('"x"', f'"r{n}"') for n in range(3000)).encode()  # ~3.1 MB
    uploaded = sdk.files.create(file=("big.jsonl", content), purpose="batch")
    assert uploaded.bytes == len(content)
    assert fake.files[uploaded.id]["_content"] == content
    assert sdk.files.content(uploaded.id).read() == content


def test_more_requests_than_openai_takes_is_a_400_before_anything_is_stored(sdk, fake, app):
    app.config["OPENAI_MAX_BATCH_REQUESTS"] = 1
    with pytest.raises(openai.BadRequestError) as caught:
        _upload(sdk)
    assert "Line 2 is request 2" in caught.value.message
    assert fake.files == {}


def _endpoint_lines(url: str, bodies: list[dict]) -> str:
    return "\n".join(json.dumps({"custom_id": f"req-{n}", "method": "POST", "url": url, "body": body})
                     for n, body in enumerate(bodies, 1))


ENDPOINT_BATCHES = {
    "/v1/responses": ([{"model": "gpt-4.1-mini", "input": "Hello!", "max_output_tokens": 100},
                       {"model": "gpt-4.1-mini", "instructions": "Be brief.",
                        "input": [{"role": "user", "content": "How are you?"}]}], openai.types.responses.Response),
    "/v1/embeddings": ([{"model": "text-embedding-3-small", "input": "Hello!"},
                        {"model": "text-embedding-3-small", "input": ["a", "b"]}],
                       openai.types.CreateEmbeddingResponse),
    "/v1/completions": ([{"model": "gpt-3.5-turbo-instruct", "prompt": "Say hi", "max_tokens": 5}],
                        openai.types.Completion),
}


@pytest.mark.parametrize("endpoint", sorted(ENDPOINT_BATCHES))
def test_seed_workflow_for_other_endpoints_passes_through(sdk, fake, endpoint):
    """OpenAI takes these batches itself: the seed workflow runs unchanged and each result body parses
    as the SDK's own type for the endpoint."""
    bodies, kind = ENDPOINT_BATCHES[endpoint]
    uploaded = _upload(sdk, _endpoint_lines(endpoint, bodies))
    batch = sdk.batches.create(input_file_id=uploaded.id, endpoint=endpoint, completion_window="24h",
                               extra_body={"provider": "openai"})
    while batch.status not in ("completed", "failed", "expired", "cancelled"):
        batch = sdk.batches.retrieve(batch.id, extra_query={"provider": "openai"})
    assert batch.status == "completed" and batch.endpoint == endpoint
    assert batch.request_counts.completed == len(bodies)
    output = sdk.files.content(batch.output_file_id, extra_query={"provider": "openai"}).read().decode()
    lines = sorted((json.loads(line) for line in output.splitlines()), key=lambda line: line["custom_id"])
    assert [line["custom_id"] for line in lines] == [f"req-{n}" for n in range(1, len(bodies) + 1)]
    for line, body in zip(lines, bodies, strict=True):
        result = kind.model_validate(line["response"]["body"], strict=False)
        assert result.model == body["model"]
        if endpoint == "/v1/embeddings":
            expected = len(body["input"]) if isinstance(body["input"], list) else 1
            assert [item.index for item in result.data] == list(range(expected))
        elif endpoint == "/v1/responses":
            assert result.status == "completed" and result.output_text.startswith("Answer to:")
        else:
            assert result.choices[0].text == "Answer to: Say hi"
