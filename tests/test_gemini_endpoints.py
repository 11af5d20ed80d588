"""Gemini and Vertex AI batches of `/v1/responses`, `/v1/completions` and `/v1/embeddings` lines end to end
through the real `openai` SDK (strict): upload, create, poll, download; every result body is parsed by
the SDK's own `Response` / `Completion` / `CreateEmbeddingResponse` (`model_validate`, strict)."""

from __future__ import annotations

import json

import openai
import pytest
from openai.types import Completion, CreateEmbeddingResponse
from openai.types.responses import Response

from tests.fakes import vertex as vertex_fakes
from tests.fakes.gemini import checked_fakes

MODEL = "gemini-2.5-flash"
GEMINI = {"provider": "gemini"}
VERTEX = {"provider": "vertex"}
SHAPES = {"/v1/responses": Response, "/v1/completions": Completion, "/v1/embeddings": CreateEmbeddingResponse}
BODIES = {
    "/v1/responses": lambda text: {"model": MODEL, "instructions": "Be brief.", "input": [
        {"role": "user", "content": [{"type": "input_text", "text": text}]}], "max_output_tokens": 64,
        "reasoning": {"effort": "low"}, "metadata": {"team": "a"}},
    "/v1/completions": lambda text: {"model": MODEL, "prompt": [text], "max_tokens": 32},
    "/v1/embeddings": lambda text: {"model": "gemini-embedding-001", "input": [text, text + "!"],
                                    "dimensions": 4},
}


@pytest.fixture
def fake(rsps):
    yield from checked_fakes(rsps)


def _lines(content: bytes) -> list[dict]:
    return [json.loads(line) for line in content.splitlines() if line.strip()]


def _file(url: str, texts: list[str]) -> bytes:
    return "".join(json.dumps({"custom_id": f"r-{n}", "method": "POST", "url": url, "body": BODIES[url](text)}) + "\n"
                   for n, text in enumerate(texts)).encode()


def _run(sdk, provider: dict, url: str, data: bytes, *, upload: dict, create: dict):
    uploaded = sdk.files.create(file=("lines.jsonl", data, "application/jsonl"), purpose="batch",
                                extra_body={**provider, **upload})
    batch = sdk.batches.create(input_file_id=uploaded.id, endpoint=url, completion_window="24h",  # type: ignore[arg-type]
                               extra_body={**provider, **create})
    assert batch.endpoint == url
    for _ in range(10):
        batch = sdk.batches.retrieve(batch.id, extra_query=provider)
        if batch.status in ("completed", "failed", "expired", "cancelled"):
            break
    assert batch.status == "completed", batch
    assert batch.endpoint == url
    output = _lines(sdk.files.content(batch.output_file_id).read())
    errors = _lines(sdk.files.content(batch.error_file_id).read())
    return output, errors


def _bodies(output: list[dict], url: str) -> dict:
    return {line["custom_id"]: SHAPES[url].model_validate(line["response"]["body"], strict=True) for line in output}


@pytest.mark.parametrize("url", list(SHAPES))
def test_gemini_batches_of_each_endpoint(sdk, fake, url):
    make = fake
    gemini = make()
    output, errors = _run(sdk, GEMINI, url, _file(url, ["What is 2+2?", "please FAIL"]), upload={},
                          create={"model": BODIES[url]("x")["model"]})
    bodies = _bodies(output, url)
    assert list(bodies) == ["r-0"]
    assert [(e["custom_id"], e["response"]["status_code"]) for e in errors] == [("r-1", 400)]
    body = bodies["r-0"]
    if isinstance(body, Response):
        assert body.status == "completed" and body.output_text == "Answer: What is 2+2?"
        assert body.usage is not None and body.usage.output_tokens_details.reasoning_tokens == 2
    elif isinstance(body, Completion):
        assert body.choices[0].text == "Answer: What is 2+2?" and body.choices[0].finish_reason == "stop"
    else:
        assert [d.index for d in body.data] == [0, 1] and all(len(d.embedding) == 4 for d in body.data)
        assert body.data[0].embedding != body.data[1].embedding and body.usage.prompt_tokens == 6
    batch_kind = next(iter(gemini.batches.values()))["metadata"]["@type"]
    assert batch_kind.endswith("EmbedContentBatch" if url == "/v1/embeddings" else "GenerateContentBatch")


def test_gemini_embeddings_in_base64_are_refused(sdk, fake):
    fake()
    data = json.dumps({"custom_id": "e", "method": "POST", "url": "/v1/embeddings",
                       "body": {"model": "m", "input": "hi", "encoding_format": "base64"}}).encode()
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.files.create(file=("l.jsonl", data, "application/jsonl"), purpose="batch", extra_body=GEMINI)
    assert caught.value.param == "line 1" and "encoding_format" in caught.value.message


def test_gemini_batch_endpoint_must_match_the_lines(sdk, fake):
    fake()
    uploaded = sdk.files.create(file=("l.jsonl", _file("/v1/responses", ["a"]), "application/jsonl"),
                                purpose="batch", extra_body=GEMINI)
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.batches.create(input_file_id=uploaded.id, endpoint="/v1/completions", completion_window="24h",
                           extra_body={**GEMINI, "model": MODEL})
    assert caught.value.param == "endpoint"


def test_gemini_completions_with_two_prompts_is_a_400_naming_the_line(sdk, fake):
    fake()
    data = _file("/v1/completions", ["a"]) + json.dumps(
        {"custom_id": "two", "method": "POST", "url": "/v1/completions",
         "body": {"model": MODEL, "prompt": ["a", "b"]}}).encode()
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.files.create(file=("l.jsonl", data, "application/jsonl"), purpose="batch", extra_body=GEMINI)
    assert caught.value.param == "line 2" and "2 prompts" in caught.value.message


@pytest.mark.parametrize("url", ["/v1/responses", "/v1/completions"])
def test_vertex_batches_of_each_endpoint(sdk, vertex, gcs, url):
    storage = {"storage_config": {"gcs": {"bucket": vertex_fakes.BUCKET, "prefix": "in"}}}
    output, errors = _run(sdk, VERTEX, url, _file(url, ["What is 2+2?", "please FAIL"]), upload=storage,
                          create={"model": vertex_fakes.MODEL})
    bodies = _bodies(output, url)
    assert list(bodies) == ["r-0"] and [e["custom_id"] for e in errors] == ["r-1"]
    body = bodies["r-0"]
    text = body.output_text if isinstance(body, Response) else body.choices[0].text
    assert text.startswith("Answer: ")


def _embedding_file(inputs: dict[str, str | list[str]], **body) -> bytes:
    return "".join(json.dumps({"custom_id": custom_id, "method": "POST", "url": "/v1/embeddings",
                               "body": {"model": "text-embedding-005", "input": texts, **body}}) + "\n"
                   for custom_id, texts in inputs.items()).encode()


VERTEX_STORAGE = {"storage_config": {"gcs": {"bucket": vertex_fakes.BUCKET, "prefix": "in"}}}


def test_vertex_embeddings_batches(sdk, vertex, gcs):
    """Each text one instance carrying its custom_id; rows (no request ID, reverse order) gathered back into
    one CreateEmbeddingResponse per line, a failed text failing its line."""
    inputs: dict[str, str | list[str]] = {"r-0": ["What is 2+2?", "and 3+3"], "000123": "please FAIL",
                                          "r-2": "just one", "r-3": ["a b", "c", "d e f"]}
    output, errors = _run(sdk, VERTEX, "/v1/embeddings", _embedding_file(inputs), upload=VERTEX_STORAGE,
                          create={"model": "text-embedding-005"})
    bodies = _bodies(output, "/v1/embeddings")
    assert sorted(bodies) == ["r-0", "r-2", "r-3"]
    for custom_id, body in bodies.items():
        texts = inputs[custom_id] if isinstance(inputs[custom_id], list) else [inputs[custom_id]]
        assert [d.embedding for d in body.data] == [vertex_fakes.embedding_values(t) for t in texts]
        assert [d.index for d in body.data] == list(range(len(texts)))
        assert body.usage.prompt_tokens == body.usage.total_tokens == sum(len(t.split()) for t in texts)
        assert body.model == "text-embedding-005"
    assert [(e["custom_id"], e["response"]["status_code"]) for e in errors] == [("000123", 400)]
    instances = [line for job in vertex.jobs.values() for line in job["lines"]]
    assert {"content": "c", "custom_id": "cid-r-3#1/3"} in instances and len(instances) == 7


def test_vertex_embeddings_without_a_result(sdk, vertex, gcs):
    """A cancelled job's unexported texts, and a row whose custom_id did not come back, become error lines
    (one per request); the row itself goes to the error file as it was."""
    vertex.scripted["r-1#0/1"] = {"instance": {"content": "lost"}, "status": "",
                                  "predictions": [{"embeddings": {"values": [0.1]}}]}
    data = _embedding_file({"r-0": ["x", "y"], "r-1": "lost", "r-2": ["z", "w", "v"]})
    uploaded = sdk.files.create(file=("e.jsonl", data, "application/jsonl"), purpose="batch",
                                extra_body={**VERTEX, **VERTEX_STORAGE})
    batch = sdk.batches.create(input_file_id=uploaded.id, endpoint="/v1/embeddings", completion_window="24h",
                               extra_body={**VERTEX, "model": "text-embedding-005"})
    sdk.batches.retrieve(batch.id, extra_query=VERTEX)  # running
    sdk.batches.cancel(batch.id, extra_query=VERTEX)
    for _ in range(5):
        batch = sdk.batches.retrieve(batch.id, extra_query=VERTEX)
    assert batch.status == "cancelled"
    output = _lines(sdk.files.content(batch.output_file_id).read())
    errors = _lines(sdk.files.content(batch.error_file_id).read())
    # Exported: the first half of the 6 instances (r-0's two, r-1's); r-2 has none.
    assert [line["custom_id"] for line in output] == ["r-0"]
    codes = {e["custom_id"]: (e["error"] or e["response"]["body"]["error"])["code"] for e in errors}
    assert codes == {"line-1": "unconvertible_result", "r-1": "batch_cancelled", "r-2": "batch_cancelled"}


def test_vertex_embeddings_lines_vertex_cannot_run_are_a_400(sdk, vertex, gcs):
    for body, param in (({"dimensions": 8}, "line 1"), ({"encoding_format": "base64"}, "line 1")):
        with pytest.raises(openai.BadRequestError) as caught:
            sdk.files.create(file=("e.jsonl", _embedding_file({"a": "x"}, **body), "application/jsonl"),
                             purpose="batch", extra_body={**VERTEX, **VERTEX_STORAGE})
        assert caught.value.param == param and next(iter(body)) in caught.value.message
