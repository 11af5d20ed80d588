"""Vertex AI: storage_config, the custom_id channels, job mapping, Cloud Storage uploads (the emulator and a
scripted server for what the emulator does not do), credentials, and the operations through the Flask
test client against the Cloud Storage emulator and the `batchPredictionJobs` fake."""

from __future__ import annotations

import io
import json
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from google.genai import types
from openai.types import CreateEmbeddingResponse

from blueprints.dispatcher import ids
from blueprints.vertex import client as gcs_client
from blueprints.vertex import translate as tr
from errors import BadRequest
from tests.contracts import vertex_types
from tests.fakes.vertex import (
    ADC_TOKEN,
    BUCKET,
    LOCATION,
    MODEL,
    OTHER_BUCKET,
    PROJECT,
    TOKEN,
    FakeVertex,
    service_account_file,
    unconvertible_row,
)
from translators import gemini_endpoints as endpoints

AUTH = {"Authorization": f"Bearer {TOKEN}"}
VERTEX = {"provider": "vertex"}


def _request(custom_id: str, text: str = "Hello", model: str = MODEL) -> dict:
    return {"custom_id": custom_id, "method": "POST", "url": "/v1/chat/completions",
            "body": {"model": model, "messages": [{"role": "user", "content": text}], "max_tokens": 50}}


def _jsonl(lines: list[dict]) -> bytes:
    return "".join(json.dumps(line) + "\n" for line in lines).encode()


def _lines(data: bytes) -> list[dict]:
    return [json.loads(line) for line in data.splitlines() if line.strip()]


def _upload(client_, data: bytes, *, purpose: str = "batch", **form):
    return client_.post("/openai/v1/files", headers=AUTH, data={
        "provider": "vertex", "purpose": purpose, **form, "file": (io.BytesIO(data), "batch.jsonl")})


def _create(client_, file_id: str, **body):
    return client_.post("/openai/v1/batches", headers=AUTH, json={
        "provider": "vertex", "input_file_id": file_id, "endpoint": "/v1/chat/completions",
        "completion_window": "24h", **body})


def _finished(client_, batch_id: str) -> dict:
    for _ in range(6):
        batch = client_.get(f"/openai/v1/batches/{batch_id}", headers=AUTH).json
        if batch["status"] in ("completed", "failed", "expired", "cancelled"):
            return batch
    raise AssertionError(f"batch {batch_id} did not finish: {batch}")


def _content(client_, file_id: str) -> list[dict]:
    reply = client_.get(f"/openai/v1/files/{file_id}/content", headers=AUTH)
    assert reply.status_code == 200, reply.json
    return _lines(reply.data)


def _run(client_, requests: list[dict], **create) -> dict:
    uploaded = _upload(client_, _jsonl(requests))
    assert uploaded.status_code == 200, uploaded.json
    created = _create(client_, uploaded.json["id"], **({"model": MODEL} | create))
    assert created.status_code == 200, created.json
    return _finished(client_, created.json["id"])


# storage_config: exactly one of s3 / gcs, each provider its own


@pytest.mark.parametrize("storage", [{}, {"s3": {"bucket": "b-s3"}, "gcs": {"bucket": "b-gcs"}}])
def test_storage_config_takes_exactly_one_location(client, storage):
    reply = client.post("/openai/v1/batches", headers=AUTH, json={
        "provider": "vertex", "input_file_id": "x", "endpoint": "/v1/chat/completions", "completion_window": "24h",
        "storage_config": storage})
    assert reply.status_code == 400
    assert "exactly one of s3 or gcs" in reply.json["error"]["message"]


def test_bedrock_refuses_a_gcs_location_and_vertex_an_s3_one(client):
    bedrock = client.get("/openai/v1/files", headers=AUTH,
                         query_string={"provider": "bedrock", "storage_config[gcs][bucket]": "a-gcs-bucket"})
    assert bedrock.status_code == 400, bedrock.json
    assert bedrock.json["error"]["param"] == "storage_config.gcs"
    assert bedrock.json["error"]["code"] == "unsupported_parameter"
    vertex_ = client.get("/openai/v1/files", headers=AUTH,
                         query_string={"provider": "vertex", "storage_config[s3][bucket]": "an-s3-bucket"})
    assert vertex_.status_code == 400, vertex_.json
    assert vertex_.json["error"]["param"] == "storage_config.s3"
    assert vertex_.json["error"]["code"] == "unsupported_parameter"


def test_a_foreign_gateway_option_is_refused(client):
    reply = client.post("/openai/v1/batches", headers=AUTH, json={
        "provider": "vertex", "input_file_id": "x", "endpoint": "/v1/chat/completions", "completion_window": "24h",
        "role_arn": "arn:aws:iam::123456789012:role/R"})
    assert reply.status_code == 400 and reply.json["error"]["code"] == "unsupported_parameter"


# translate: custom_id channels, models, states (pure)


@pytest.mark.parametrize("custom_id", ["req-1", "000123", "1e5", "Ünïcode ✓ / with spaces", "x" * 512, ""])
def test_custom_id_labels_round_trip_and_fit_the_label_rule(custom_id):
    labels = tr.custom_id_labels(custom_id)
    vertex_types.check_labels(labels, "labels")
    assert tr.labels_custom_id(labels) == custom_id
    assert tr.line_custom_id({"request": {"labels": labels}}) == custom_id  # the labels alone suffice
    line = tr.input_line(_request(custom_id or "x") | {"custom_id": custom_id})
    assert tr.line_custom_id(line) == custom_id  # the sibling first


def test_a_custom_id_the_labels_cannot_carry_is_refused():
    with pytest.raises(Exception, match="512 bytes"):
        tr.input_line(_request("é" * 257))


def test_input_lines_are_vertex_requests_without_empty_objects():
    body = {"model": MODEL, "messages": [
        {"role": "user", "content": "Look it up"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "lookup", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "{}"}],
        "tools": [{"type": "function", "function": {"name": "lookup", "parameters": {
            "type": "object", "properties": {}}}}]}
    line = tr.input_line({"custom_id": "t", "method": "POST", "url": "/v1/chat/completions", "body": body})
    vertex_types.check_input_line(line)
    assert "{}" not in json.dumps(line).replace(" ", "")
    assert line["request"]["tools"][0]["functionDeclarations"][0]["parametersJsonSchema"] == {"type": "object"}


def _embedding_line(custom_id: str, texts: str | list[str], **body) -> dict:
    return {"custom_id": custom_id, "method": "POST", "url": "/v1/embeddings",
            "body": {"model": "text-embedding-005", "input": texts, **body}}


def test_an_embeddings_line_is_one_instance_per_text_carrying_its_custom_id():
    instances = tr.input_line(_embedding_line("007", ["a b", "c"]))
    assert instances == [{"content": "a b", "custom_id": "cid-007#0/2"}, {"content": "c", "custom_id": "cid-007#1/2"}]
    for instance in instances:
        vertex_types.check_embedding_instance(instance)
        assert tr.request_custom_id(instance) == "007"
    assert tr.input_line(_embedding_line("x#1/2", "only")) == [{"content": "only", "custom_id": "cid-x#1/2#0/1"}]
    assert tr.request_custom_id({"content": "only", "custom_id": "cid-x#1/2#0/1"}) == "x#1/2"
    assert tr.request_custom_id(tr.input_line(_request("x#0/2") | {"custom_id": "x#0/2"})) == "x#0/2"  # chat: as is


@pytest.mark.parametrize("body, param", [({"dimensions": 8}, "body.dimensions"), ({"input": []}, "body.input"),
                                         ({"input": [1, 2]}, "body.input"), ({"encoding_format": "base64"},
                                                                             "body.encoding_format")])
def test_embeddings_lines_vertex_cannot_run_are_refused(body, param):
    with pytest.raises(BadRequest) as caught:
        tr.input_line(_embedding_line("e", "x") | {"body": {"model": "m", "input": "x", **body}})
    assert caught.value.param == param


VALUES = [0.25, -0.5]


@pytest.mark.parametrize("row", [
    # The documented row (providers-next.md §1.13)
    {"instance": {"content": "t", "custom_id": "cid-e#1/2"}, "status": "",
     "predictions": [{"embeddings": {"statistics": {"token_count": 3, "truncated": False}, "values": VALUES}}]},
    # The custom_id beside the instance, a bare prediction, the Gemini embedContent shape, instances[]
    {"instance": {"content": "t"}, "custom_id": "cid-e#1/2",
     "prediction": {"embeddings": {"statistics": {"token_count": 3}, "values": VALUES}}},
    {"instances": [{"content": "t", "custom_id": "cid-e#1/2"}],
     "predictions": [{"embeddings": [{"values": VALUES}], "usageMetadata": {"promptTokenCount": 3}}]},
    {"instance": {"content": "t", "custom_id": "cid-e#1/2"}, "predictions": [{"embedding": {"values": VALUES},
                                                                              "tokenCount": 3}]},
    {"instance": {"content": "t", "custom_id": "cid-e#1/2"}, "predictions": [{"values": VALUES}], "status": None},
])
def test_embedding_rows_in_every_shape_become_results(row):
    result = tr.embedding_result(row)
    assert result["key"] == "e#1/2" and result["response"]["embedding"]["values"] == VALUES
    assert result["response"]["tokenCount"] in (0, 3)


def test_a_failed_embedding_row_is_an_error_and_an_unreadable_one_raises():
    error = {"error": {"code": 400, "message": "empty", "status": "INVALID_ARGUMENT"}}
    failed = tr.embedding_result({"instance": {"content": "", "custom_id": "cid-e#0/1"},
                                  "status": f"Bad Request: {json.dumps(error)}"})
    assert failed == {"key": "e#0/1", "error": error["error"]}
    for row in ({"instance": {"content": "t"}, "predictions": [{"embeddings": {"values": VALUES}}]},  # no custom_id
                {"instance": {"content": "t", "custom_id": "cid-e#0/1"}, "predictions": []},
                {"instance": {"content": "t", "custom_id": "cid-e#0/1"}, "predictions": [{"embeddings": {
                    "values": ["x"]}}]}):
        with pytest.raises((KeyError, TypeError, ValueError)):
            tr.embedding_result(row)


def test_a_line_with_a_text_unanswered_is_an_error_line():
    row = tr.embedding_result({"instance": {"content": "t", "custom_id": "cid-e#0/2"}, "status": "",
                               "predictions": [{"embeddings": {"values": [0.5]}}]})
    [(number, group)] = list(endpoints.group_embeddings([(1, row)]))  # its second text never came
    line = endpoints.embedding_line(group, number, batch="j/9", model="m", created=1, provider="Vertex AI")
    assert line["custom_id"] == "e" and line["response"]["status_code"] == 502
    assert line["response"]["body"]["error"]["message"] == "Vertex AI returned no result for input 1 of this line."


def test_an_embeddings_job_counts_requests_not_texts():
    job = {"labels": {tr.JOB_LABEL_REQUESTS: "4", tr.JOB_LABEL_ENDPOINT: "embeddings"},
           "completionStats": {"successfulCount": "6", "failedCount": "1"}}  # 7 texts of 4 requests
    assert tr.request_counts(job) == {"total": 4, "completed": 3, "failed": 1}


def test_embedding_results_gather_into_one_openai_list_per_line():
    rows = [tr.embedding_result({"instance": {"content": "t", "custom_id": f"cid-e#{i}/2"}, "status": "",
                                 "predictions": [{"embeddings": {"statistics": {"token_count": 2 + i},
                                                                 "values": [float(i)]}}]}) for i in (1, 0)]
    groups = list(endpoints.group_embeddings(enumerate(rows, start=1)))
    assert len(groups) == 1
    line = endpoints.embedding_line(groups[0][1], 1, batch="projects/p/locations/l/batchPredictionJobs/9",
                                    model="text-embedding-005", created=1)
    body = CreateEmbeddingResponse.model_validate(line["response"]["body"], strict=True)
    assert line["custom_id"] == "e" and [d.embedding for d in body.data] == [[0.0], [1.0]]
    assert body.usage.prompt_tokens == 5


@pytest.mark.parametrize(("model", "path"), [
    ("gemini-2.5-flash", "publishers/google/models/gemini-2.5-flash"),
    ("models/gemini-2.0-flash-001", "publishers/google/models/gemini-2.0-flash-001"),
    ("publishers/google/models/gemini-2.5-pro", "publishers/google/models/gemini-2.5-pro"),
    ("projects/p1/locations/us-central1/models/123@2", "projects/p1/locations/us-central1/models/123@2"),
])
def test_model_paths(model, path):
    assert tr.model_path(model) == path


@pytest.mark.parametrize("model", ["publishers/anthropic/models/claude-3", "a/../b", "projects/x", "bad model"])
def test_models_that_cannot_run_gemini_lines_are_refused(model):
    with pytest.raises(ValueError):
        tr.model_path(model)


def test_every_declared_job_state_is_mapped():
    assert {state.value.removeprefix("JOB_STATE_") for state in types.JobState} <= set(tr.JOB_STATES)


def _job(**fields) -> dict:
    return {"name": f"projects/{PROJECT}/locations/{LOCATION}/batchPredictionJobs/1",
            "model": "publishers/google/models/gemini-2.5-flash", "createTime": "2026-01-01T00:00:00.1Z", **fields}


def _batch(job: dict) -> dict:
    return tr.job_to_batch(job, batch_id="b", input_file_id="f", output_file_id="o", error_file_id="e")


def test_an_unknown_state_falls_back():
    assert _batch(_job(state="JOB_STATE_BRAND_NEW"))["status"] == "in_progress"
    ended = _batch(_job(state="JOB_STATE_BRAND_NEW", endTime="2026-01-02T00:00:00Z",
                        outputInfo={"gcsOutputDirectory": "gs://b/o"}))
    assert ended["status"] == "completed" and ended["output_file_id"] == "o" and ended["error_file_id"] == "e"


def test_counters_are_strings_zeros_omitted_and_incomplete_may_be_unknown():
    assert _batch(_job(state="JOB_STATE_PENDING"))["request_counts"] == {"total": 0, "completed": 0, "failed": 0}
    counts = _batch(_job(state="JOB_STATE_RUNNING", completionStats={"successfulCount": "3", "incompleteCount": "-1"}))
    assert counts["request_counts"] == {"total": 3, "completed": 3, "failed": 0}
    labelled = _batch(_job(state="JOB_STATE_RUNNING", labels={tr.JOB_LABEL_REQUESTS: "7"},
                           completionStats={"failedCount": "2"}))
    assert labelled["request_counts"] == {"total": 7, "completed": 0, "failed": 2}


def test_a_failed_job_carries_its_error():
    batch = _batch(_job(state="JOB_STATE_FAILED", endTime="2026-01-02T00:00:00Z",
                        error={"code": 3, "message": "Failed to import data."}))
    assert batch["status"] == "failed" and batch["failed_at"] and batch["output_file_id"] is None
    assert batch["errors"]["data"][0]["code"] == "INVALID_ARGUMENT"


@pytest.mark.parametrize(("status", "code", "http"), [
    ('Bad Request: {"error": {"code": 400, "message": "bad role", "status": "INVALID_ARGUMENT"}}',
     "INVALID_ARGUMENT", 400),
    ('Too Many Requests: {"error": {"code": 429, "message": "slow down", "status": "RESOURCE_EXHAUSTED"}}',
     "RESOURCE_EXHAUSTED", 429),
    ("Internal error encountered.", None, 500),
])
def test_failed_rows_are_error_lines(status, code, http):
    row = {"status": status, "custom_id": "cid-r1", "request": {"contents": []}}
    line = tr.output_line(row, 1, job="projects/p/locations/l/batchPredictionJobs/9", model=MODEL, created=1)
    assert line["custom_id"] == "r1" and line["response"]["status_code"] == http
    assert line["response"]["body"]["error"]["code"] == code


def test_regional_and_global_hosts(vertex_app):
    with vertex_app.test_request_context():
        vertex_app.config["VERTEX_BASE_URL"] = "https://{location}-aiplatform.googleapis.com"
        assert gcs_client.vertex_base("europe-west4") == "https://europe-west4-aiplatform.googleapis.com"
        assert gcs_client.vertex_base("global") == "https://aiplatform.googleapis.com"


# Uploads


def test_an_upload_is_sent_in_pieces_and_kept_whole(client, vertex, gcs, monkeypatch):
    monkeypatch.setattr(gcs_client, "UPLOAD_CHUNK", 256 * 1024)
    requests = [_request(f"r{n}", "x" * 2000) for n in range(400)]  # ~850 KB: 4 pieces
    data = _jsonl(requests)
    reply = _upload(client, data)
    assert reply.status_code == 200, reply.json
    assert reply.json["bytes"] == len(data) and reply.json["purpose"] == "batch"
    bucket, name = ids.decode_file(reply.json["id"]).native.split("/", 1)
    assert bucket == BUCKET and name.startswith("deepintshield/") and name.endswith("-batch.jsonl")
    assert gcs.read(bucket, name) == data
    assert client.get(f"/openai/v1/files/{reply.json['id']}/content", headers=AUTH).data == data


def test_a_bad_line_stops_the_upload_and_leaves_no_object(client, vertex, gcs, monkeypatch):
    monkeypatch.setattr(gcs_client, "UPLOAD_CHUNK", 256 * 1024)
    good = _jsonl([_request(f"r{n}", "x" * 2000) for n in range(200)])
    reply = _upload(client, good + b'{"custom_id": "bad", "method": "POST", "url": "/v1/chat/completions", '
                                   b'"body": {"messages": [{"role": "robot", "content": "hi"}]}}\n')
    assert reply.status_code == 400, reply.json
    assert reply.json["error"]["param"] == "line 201"
    assert gcs.names(BUCKET) == []


def test_unsupported_chat_fields_and_long_custom_ids_are_refused_at_upload(client, vertex, gcs):
    reply = _upload(client, _jsonl([_request("a"), _request("b") | {"body": {"messages": [
        {"role": "user", "content": "hi"}], "audio": {"voice": "x"}}}]))
    assert reply.status_code == 400 and reply.json["error"]["param"] == "line 2"
    reply = _upload(client, _jsonl([_request("é" * 300)]))
    assert reply.status_code == 400 and "512 bytes" in reply.json["error"]["message"]


def test_buckets_outside_the_allow_list_are_refused(client, vertex, vertex_app):
    vertex_app.config["VERTEX_ALLOWED_BUCKETS"] = [BUCKET]
    reply = _upload(client, _jsonl([_request("a")]), **{"storage_config[gcs][bucket]": OTHER_BUCKET})
    assert reply.status_code == 403 and reply.json["error"]["code"] == "bucket_not_allowed"
    other = ids.encode_file("vertex", f"{OTHER_BUCKET}/x.jsonl")
    assert client.get(f"/openai/v1/files/{other}", headers=AUTH).status_code == 403


def test_without_a_default_bucket_files_need_storage_config(client, vertex, vertex_app):
    vertex_app.config["VERTEX_DEFAULT_BUCKET"] = ""
    reply = _upload(client, _jsonl([_request("a")]))
    assert reply.status_code == 400 and reply.json["error"]["param"] == "storage_config"


class ScriptedGcs:
    """A Cloud Storage host for what the emulator does not do: it keeps fewer bytes than a piece (308 with a
    shorter `Range`, or none), pages listings, and needs the bearer token (no emulator configured)."""

    def __init__(self, rsps: responses.RequestsMock, keep: list[int | None]) -> None:
        self.keep = keep  # per PUT: bytes of the piece to keep (None: all)
        self.data = bytearray()
        self.puts: list[tuple[str, int]] = []
        self.auth: list[str | None] = []
        rsps.add_callback("POST", gcs_client.GCS + "/upload/storage/v1/b/bkt/o", callback=self.start)
        rsps.add_callback("PUT", gcs_client.GCS + "/upload/session/1", callback=self.put)

    def start(self, request):
        self.auth.append(request.headers.get("Authorization"))
        return 200, {"Location": gcs_client.GCS + "/upload/session/1"}, ""

    def put(self, request):
        self.auth.append(request.headers.get("Authorization"))
        span = request.headers["Content-Range"]
        body = request.body or b""
        self.puts.append((span, len(body)))
        first = int(span.split(" ")[1].split("-")[0]) if "*/" not in span else len(self.data)
        assert first == len(self.data), f"resumed at {first}, persisted {len(self.data)}"
        keep = self.keep.pop(0) if self.keep else None
        self.data += body[: len(body) if keep is None else keep]
        if span.endswith("/*") or len(self.data) < int(span.rpartition("/")[2]):
            headers = {"Range": f"bytes=0-{len(self.data) - 1}"} if self.data else {}
            return 308, headers, ""
        return 200, {"Content-Type": "application/json"}, json.dumps(
            {"name": "o", "bucket": "bkt", "size": str(len(self.data)), "timeCreated": "2026-01-01T00:00:00Z"})


def test_uploads_resume_from_what_cloud_storage_persisted(vertex_app, rsps, monkeypatch):
    monkeypatch.setattr(gcs_client, "UPLOAD_CHUNK", 256 * 1024)
    vertex_app.config["VERTEX_STORAGE_EMULATOR_HOST"] = ""
    server = ScriptedGcs(rsps, keep=[100_000, None, 0, 0, None, 10, None])
    data = bytes(range(256)) * 4000  # 1,024,000 bytes
    with vertex_app.test_request_context(headers=AUTH):
        obj = gcs_client.upload("bkt", "o", [data[i:i + 70_000] for i in range(0, len(data), 70_000)],
                            content_type="application/jsonl")
    assert obj["size"] == str(len(data)) and bytes(server.data) == data
    pieces = [size for span, size in server.puts if not span.endswith(f"/{len(data)}")]
    assert all(size % (256 * 1024) == 0 for size in pieces)  # every piece but the last
    assert server.auth[0] == f"Bearer {TOKEN}"  # the start; the session URI authenticates the pieces
    assert set(server.auth[1:]) == {None}


def test_listings_follow_page_tokens(vertex_app, rsps):
    vertex_app.config["VERTEX_STORAGE_EMULATOR_HOST"] = ""
    pages = {None: {"items": [{"name": "p/a"}], "nextPageToken": "t1"}, "t1": {"items": [{"name": "p/b"}]}}
    seen = []

    def listing(request):
        token = parse_qs(urlsplit(request.url).query).get("pageToken", [None])[0]
        seen.append((token, request.headers.get("Authorization")))
        return 200, {}, json.dumps(pages[token])

    rsps.add_callback("GET", gcs_client.GCS + "/storage/v1/b/bkt/o", callback=listing)
    with vertex_app.test_request_context(headers=AUTH):
        assert [o["name"] for o in gcs_client.list_objects("bkt", "p/", start_after="p/")] == ["p/a", "p/b"]
    assert seen == [(None, f"Bearer {TOKEN}"), ("t1", f"Bearer {TOKEN}")]


# Files and batches through the gateway


def test_files_list_retrieve_delete(client, vertex, gcs):
    first = _upload(client, _jsonl([_request("a")])).json
    second = _upload(client, b"not jsonl", purpose="user_data").json
    third = _upload(client, _jsonl([_request("b")])).json
    listed = client.get("/openai/v1/files", headers=AUTH, query_string={"provider": "vertex", "limit": 2}).json
    assert [f["id"] for f in listed["data"]] == [third["id"], second["id"]] and listed["has_more"]
    rest = client.get("/openai/v1/files", headers=AUTH,
                      query_string={"provider": "vertex", "after": second["id"]}).json
    assert [f["id"] for f in rest["data"]] == [first["id"]] and not rest["has_more"]
    batch_files = client.get("/openai/v1/files", headers=AUTH,
                             query_string={"provider": "vertex", "purpose": "user_data"}).json
    assert [f["id"] for f in batch_files["data"]] == [second["id"]]
    retrieved = client.get(f"/openai/v1/files/{second['id']}", headers=AUTH).json
    assert retrieved == second
    assert client.delete(f"/openai/v1/files/{second['id']}", headers=AUTH).json["deleted"] is True
    assert client.get(f"/openai/v1/files/{second['id']}", headers=AUTH).status_code == 404
    assert client.delete(f"/openai/v1/files/{second['id']}", headers=AUTH).status_code == 404


def test_results_convert_every_row_and_keep_custom_ids(client, vertex, gcs):
    vertex.scripted["odd"] = unconvertible_row("odd")
    vertex.scripted["raw"] = b'{"status": "", "custom_id": "cid-raw", "response": {'  # not JSON: its id is lost
    vertex.scripted["labels-only"] = {  # no sibling: the custom_id comes back from the echoed labels
        "status": "", "request": {"contents": [], "labels": tr.custom_id_labels("labels-only")},
        "response": {"candidates": [{"content": {"role": "model", "parts": [{"text": "hi"}]},
                                     "finishReason": "STOP"}]}}
    vertex.unchecked.update({"odd", "raw"})
    batch = _run(client, [_request("ok"), _request("odd"), _request("raw"), _request("labels-only"),
                          _request("bad", "FAIL please")])
    assert batch["status"] == "completed"
    output = _content(client, batch["output_file_id"])
    errors = _content(client, batch["error_file_id"])
    assert sorted(line["custom_id"] for line in output) == ["labels-only", "ok"]
    by_id = {line["custom_id"]: line for line in errors}
    assert by_id["odd"]["response"]["body"]["error"]["code"] == "unconvertible_result"
    assert by_id["odd"]["response"]["body"]["provider_result"]["response"] == {"candidates": "not a list"}
    assert by_id["bad"]["response"]["status_code"] == 400
    unreadable = [line for cid, line in by_id.items() if cid.startswith("line-")]
    assert len(unreadable) == 1 and unreadable[0]["response"]["body"]["error"]["code"] == "unconvertible_result"
    # its request ran, but the gateway cannot tell which it was: it is also listed as not answered
    assert by_id["raw"]["error"]["code"] == "batch_expired"
    retrieved = client.get(f"/openai/v1/files/{batch['output_file_id']}", headers=AUTH).json
    assert retrieved["purpose"] == "batch_output" and retrieved["bytes"] > 0


def test_cancel_exports_what_ran_and_lists_the_rest_as_cancelled(client, vertex, gcs):
    uploaded = _upload(client, _jsonl([_request(f"r{n}") for n in range(4)])).json
    created = _create(client, uploaded["id"], model=MODEL).json
    client.get(f"/openai/v1/batches/{created['id']}", headers=AUTH)  # running
    cancelled = client.post(f"/openai/v1/batches/{created['id']}/cancel", headers=AUTH).json
    assert cancelled["status"] == "cancelling" and cancelled["cancelling_at"]
    batch = _finished(client, created["id"])
    assert batch["status"] == "cancelled" and batch["cancelled_at"]
    assert batch["errors"]["data"][0]["code"] == "CANCELLED"
    output = _content(client, batch["output_file_id"])
    errors = _content(client, batch["error_file_id"])
    assert len(output) == 2 and {line["error"]["code"] for line in errors} == {"batch_cancelled"}
    assert sorted(line["custom_id"] for line in output + errors) == ["r0", "r1", "r2", "r3"]
    again = client.post(f"/openai/v1/batches/{created['id']}/cancel", headers=AUTH)
    assert again.status_code == 200 and again.json["status"] == "cancelled"


def test_the_model_can_come_from_the_lines_but_only_one(client, vertex, gcs):
    uploaded = _upload(client, _jsonl([_request("a"), _request("b")])).json
    batch = _create(client, uploaded["id"]).json
    assert batch["model"] == MODEL
    mixed = _upload(client, _jsonl([_request("a"), _request("b", model="gemini-2.5-pro")])).json
    reply = _create(client, mixed["id"])
    assert reply.status_code == 400 and reply.json["error"]["param"] == "line 2: body.model"
    assert len([name for name in gcs.names(BUCKET) if "/_vertex/" in name]) == 1  # the first batch's input only
    assert len([c for c in vertex.calls if c.startswith("POST")]) == 1  # the mixed file started no job


def test_an_unknown_model_is_vertex_s_404_and_leaves_nothing(client, vertex, gcs):
    uploaded = _upload(client, _jsonl([_request("a")])).json
    reply = _create(client, uploaded["id"], model="gemini-0-nonexistent")
    assert reply.status_code == 404, reply.json
    assert [name for name in gcs.names(BUCKET) if "/_vertex/" in name] == []


def test_metadata_is_kept_and_batches_list_statelessly(client, vertex, gcs):
    uploaded = _upload(client, _jsonl([_request("a")])).json
    made = [_create(client, uploaded["id"], model=MODEL, metadata={"run": f"Nightly eval #{n}"}).json
            for n in range(3)]
    assert made[0]["metadata"] == {"run": "Nightly eval #0"}
    assert client.get(f"/openai/v1/batches/{made[1]['id']}", headers=AUTH).json["metadata"] == \
        {"run": "Nightly eval #1"}
    first = client.get("/openai/v1/batches", headers=AUTH, query_string={"provider": "vertex", "limit": 2}).json
    assert [b["id"] for b in first["data"]] == [made[2]["id"], made[1]["id"]] and first["has_more"]
    rest = client.get("/openai/v1/batches", headers=AUTH,
                      query_string={"provider": "vertex", "limit": 2, "after": first["last_id"]}).json
    assert [b["id"] for b in rest["data"]] == [made[0]["id"]] and not rest["has_more"]
    listings = [call for call in vertex.calls if call.startswith("GET") and "batchPredictionJobs?" in call]
    assert listings and all("filter=labels.deepintshield_requests%3A%2A" in call for call in listings)


def test_a_job_whose_input_vertex_cannot_import_fails(client, vertex, gcs):
    uploaded = _upload(client, _jsonl([_request("a")])).json
    created = _create(client, uploaded["id"], model=MODEL).json
    job = vertex.jobs[ids.decode_batch(created["id"]).native]["job"]
    bucket, name = job["inputConfig"]["gcsSource"]["uris"][0][5:].split("/", 1)
    gcs.write(bucket, name, b'{"custom_id": 1, "request": {"contents": []}}\n{"custom_id": "x", "request": {}}\n')
    batch = _finished(client, created["id"])
    assert batch["status"] == "failed" and batch["errors"]["data"][0]["code"] == "INVALID_ARGUMENT"
    assert batch["output_file_id"] is None
    vertex.violations.clear()  # written by the test on purpose


def test_results_before_the_end_are_a_404(client, vertex, gcs):
    uploaded = _upload(client, _jsonl([_request("a")])).json
    created = _create(client, uploaded["id"], model=MODEL).json
    output = ids.encode_file("vertex", ids.decode_batch(created["id"]).native, "output")
    assert client.get(f"/openai/v1/files/{output}/content", headers=AUTH).status_code == 404


def test_unknown_states_never_fail_a_retrieve(client, vertex, gcs):
    uploaded = _upload(client, _jsonl([_request("a")])).json
    created = _create(client, uploaded["id"], model=MODEL).json
    native = ids.decode_batch(created["id"]).native
    vertex.jobs[native]["job"]["state"] = "JOB_STATE_BRAND_NEW"
    vertex.unchecked.add(native)  # a state newer than the SDK's JobState, on purpose
    assert client.get(f"/openai/v1/batches/{created['id']}", headers=AUTH).json["status"] == "in_progress"
    listed = client.get("/openai/v1/batches", headers=AUTH, query_string={"provider": "vertex"}).json
    assert [b["status"] for b in listed["data"]] == ["in_progress"]


# Credentials


def test_passthrough_needs_the_client_s_google_token(client, vertex, gcs):
    reply = client.post("/openai/v1/batches", json={
        "provider": "vertex", "input_file_id": ids.encode_file("vertex", f"{BUCKET}/a.jsonl"),
        "endpoint": "/v1/chat/completions", "completion_window": "24h", "model": MODEL})
    assert reply.status_code == 401 and reply.json["error"]["code"] == "missing_api_key"


def test_gateway_keys_use_application_default_credentials(client, vertex_app, rsps, gcs, monkeypatch, tmp_path):
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", service_account_file(tmp_path))
    vertex_app.config["API_KEYS"] = ["gw-key"]
    fake = FakeVertex(gcs, token=ADC_TOKEN).register(rsps)
    headers = {"Authorization": "Bearer gw-key"}
    uploaded = client.post("/openai/v1/files", headers=headers, data={
        "provider": "vertex", "purpose": "batch", "file": (io.BytesIO(_jsonl([_request("a")])), "b.jsonl")}).json
    created = client.post("/openai/v1/batches", headers=headers, json={
        "provider": "vertex", "input_file_id": uploaded["id"], "endpoint": "/v1/chat/completions",
        "completion_window": "24h", "model": MODEL})
    assert created.status_code == 200, created.json
    assert client.get(f"/openai/v1/batches/{created.json['id']}", headers=headers).status_code == 200
    assert fake.token_grants == 1  # one token, reused until it nears expiry
    fake.assert_no_violations()


def test_gateway_keys_without_google_credentials_are_a_400(client, vertex_app, gcs, monkeypatch, tmp_path):
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "missing.json"))
    vertex_app.config["API_KEYS"] = ["gw-key"]
    batch = ids.encode_batch("vertex", f"projects/{PROJECT}/locations/{LOCATION}/batchPredictionJobs/1")
    reply = client.get(f"/openai/v1/batches/{batch}", headers={"Authorization": "Bearer gw-key"})
    assert reply.status_code == 400 and reply.json["error"]["code"] == "provider_not_configured"
    assert "missing.json" not in reply.json["error"]["message"]


def test_the_contract_fixture(vertex_contract):
    assert vertex_contract.provider == "vertex" and vertex_contract.model == MODEL


@pytest.mark.parametrize("native", [
    f"projects/{PROJECT}/locations/us-central1/batchPredictionJobs/123",
    "projects/123456789012/locations/global/batchPredictionJobs/9",
])
def test_job_names_are_batch_ids(native):
    assert ids.decode_batch(ids.encode_batch("vertex", native)) == ids.ResourceId("vertex", "batch", native)


@pytest.mark.parametrize("native", ["projects/p/locations/l/batchPredictionJobs/../x", "bkt/../secret",
                                    "projects/x/locations/y/batchPredictionJobs/1?alt=media"])
def test_ids_cannot_steer_requests(client, native):
    gateway_id = "batch_dsv_" + ids._b64encode(native)
    assert client.get(f"/openai/v1/batches/{gateway_id}", headers=AUTH).json["error"]["code"] == "invalid_id"


# Settings and the contract checks themselves


def test_startup_checks_the_default_bucket_and_prefix():
    import config

    base = config.load({})
    assert config.load({})["VERTEX_BASE_URL"] == "https://{location}-aiplatform.googleapis.com"
    from blueprints.vertex import PROVIDER

    assert PROVIDER.check({**base, "VERTEX_DEFAULT_BUCKET": "a-bucket", "VERTEX_ALLOWED_BUCKETS": ["b-bucket"]})
    assert PROVIDER.check({**base, "VERTEX_DEFAULT_PREFIX": "a/../b"})
    assert PROVIDER.check({**base, "VERTEX_DEFAULT_BUCKET": "a-bucket", "VERTEX_ALLOWED_BUCKETS": ["a-bucket"]}) == []
    with pytest.raises(config.ConfigError):
        config.load({"DEEPINTSHIELD_VERTEX_BASE_URL": "https://{region}.example.com"})
    with pytest.raises(config.ConfigError):
        config.load({"DEEPINTSHIELD_VERTEX_BUCKET": "Not_A_Bucket"})


@pytest.mark.parametrize(("line", "why"), [
    ({"request": {"contents": [{"role": "user", "parts": [{"text": "hi"}]}], "model": "m"}}, "model"),
    ({"request": {"contents": [{"role": "user", "parts": [{"text": "hi"}]}], "labels": {"A": "b"}}}, "label key"),
    ({"request": {"contents": [{"role": "user", "parts": [{"text": "hi"}]}], "labels": {"a": "B"}}}, "label value"),
    ({"request": {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}, "status": ""}, "own columns"),
    ({"custom_id": "x"}, "request"),
])
def test_the_input_line_contract_refuses(line, why):
    with pytest.raises(vertex_types.ContractViolation):
        vertex_types.check_input_line(line)
