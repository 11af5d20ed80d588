"""A stateful fake of Vertex AI's `batchPredictionJobs` REST surface on `responses`, over a real Cloud
Storage emulator (PyPI `gcp-storage-emulator`, served on loopback), and the pytest fixtures that run them.

Cloud Storage is the emulator itself (providers-next.md §2.8): the gateway's resumable uploads,
listings, downloads and deletes go to it over HTTP (`STORAGE_EMULATOR_HOST`, no credentials). The
emulator does not enforce the 256 KiB rule on non-final pieces, ignores `maxResults`/`pageToken`
(one page) and answers deletes with 200: what the gateway's client must also handle on the real
service (308 `Range` shorter than sent, pages) is tested against a scripted server in
tests/test_vertex.py.

Vertex AI (`FakeVertex`, providers-next.md §1): create, get, list (page tokens, `labels.<key>:*` and
`labels.<key>=<value>` filters), `:cancel`. A job reads its input from the emulator as Vertex does:
every line is checked against the official types (tests/contracts/vertex_types.py) and Vertex's
importer rules (§1.7: one JSON type per top-level key across the file, no empty objects); a file that
breaks them fails the whole job (code 3), and the break is recorded. A job moves one step per GET:
PENDING -> RUNNING -> ... -> SUCCEEDED (at `polls_until_done`); on success it writes
`<outputUriPrefix>/prediction-model-<createTime>/predictions.jsonl` to the emulator, rows in reverse
input order (Vertex keeps no order), each with the echoed `request` (re-serialised: `file_data: null`
in every part) and every other top-level column echoed, numeric-looking strings re-typed as numbers
(the importer's coercion, §1.7). A request whose text holds "FAIL" gives a failed row: `status`
"Bad Request: {<Google error JSON>}" and no `response`. `:cancel` -> CANCELLING (one more GET sees
it), then CANCELLED with the rows of the first half of the requests exported. `completionStats` are int64
strings with zeros omitted, absent before RUNNING. Names carry the project number, as Vertex's do.
`POST .../publishers/google/models/{model}:generateContent` (the synchronous API, for gateway-run batches)
answers the `response` a row of the same request would hold (a model it does not know: 404 NOT_FOUND; a
"FAIL" text: 400 INVALID_ARGUMENT); `realtime_errors[text]` lists errors (`FakeError`: 429
RESOURCE_EXHAUSTED, 500 INTERNAL, ...) answered in turn to calls whose text is `text` before they
succeed, and `generated` records `(model path, request)` of each call answered.
Text embedding jobs (a model in EMBEDDING_MODELS, §1.13): every input line must be a text embedding
instance (`{"content", ...}`, checked), and each row is `{"instance": <the instance as sent>,
"predictions": [{"embeddings": {"statistics": {"token_count", "truncated"}, "values":
embedding_values(content)}}], "status": ""}`, no request ID (in reverse order too); a "FAIL" content
gives a failed row (`status` "Bad Request: {...}", no predictions). `scripted` keys such a row by its
instance's `custom_id` without `cid-` (`<custom_id>#<i>/<N>`).
`scripted[custom_id]` replaces the row of the line whose `custom_id` column is `cid-<custom_id>`
(a dict, or raw bytes written as they are); `unchecked` holds custom_ids whose rows, and job names
whose replies, are off spec on purpose. Every Vertex call must carry `Authorization: Bearer <token>`;
`POST <base>/token` is an OAuth token endpoint for a service-account file (Application Default
Credentials).

Every create body, input line, generateContent request and reply, job reply and result row is checked
against the official definitions; a request that breaks them gets Google's 400 INVALID_ARGUMENT, a
reply that would is not sent (500), and both are recorded in `violations`, which the fixtures turn into a
failure at teardown.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from functools import partial
from http.server import ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import pytest
import requests
import responses
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from gcp_storage_emulator.server import APIThread, RequestHandler, create_server

from blueprints.dispatcher import ids
from tests.contracts import genai_types
from tests.contracts import vertex_types as contract
from tests.fakes import fake_base
from tests.fakes.contract import ContractFake

VERTEX_BASE = fake_base("vertex")  # https://vertex.fake
TOKEN = "sk-test-key"  # the client's bearer key (the `sdk` fixture's): a Google access token in passthrough
ADC_TOKEN = "ya29.adc-token"  # what the token endpoint hands a service account
PROJECT = "dsi-test-project"
PROJECT_NUMBER = "123456789012"
LOCATION = "us-central1"
BUCKET = "dsi-test-bucket"
OTHER_BUCKET = "dsi-other-bucket"
MODEL = "gemini-2.5-flash"
MODELS = ("gemini-2.5-flash", "gemini-2.5-pro", "gemini-2.0-flash-001")  # the publisher models the fake knows
EMBEDDING_MODELS = ("text-embedding-005", "gemini-embedding-001")  # the text embedding models it knows
_EPOCH = 1_735_689_600  # 2025-01-01T00:00:00Z
_JOBS = re.compile(r"/v1/projects/([^/]+)/locations/([^/]+)/batchPredictionJobs(?:/(\d+))?(:cancel)?$")
_GENERATE = re.compile(r"/v1/projects/([^/]+)/locations/([^/]+)/(publishers/google/models/[^/:]+):generateContent$")
_NUMERIC = re.compile(r"-?\d+(\.\d+)?")
ENDED = ("JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED", "JOB_STATE_CANCELLED", "JOB_STATE_EXPIRED",
         "JOB_STATE_PARTIALLY_SUCCEEDED")


class FakeError(Exception):
    def __init__(self, code: int, status: str, message: str) -> None:
        super().__init__(message)
        self.code, self.status, self.message = code, status, message

    def body(self) -> str:
        return json.dumps({"error": {"code": self.code, "message": self.message, "status": self.status}})


def _time(seconds: int) -> str:
    return datetime.fromtimestamp(_EPOCH + seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S") + ".153782Z"


def _texts(request: dict) -> str:
    return " ".join(part.get("text", "") for turn in request.get("contents", []) for part in turn.get("parts", []))


def _embeds(model: str) -> bool:
    return model.removeprefix("publishers/google/models/") in EMBEDDING_MODELS


def embedding_values(text: str) -> list[float]:
    """The fake's (deterministic) embedding of `text`."""
    return [len(text) / 100, 0.5, -0.25]


def _split_gs(uri: str) -> tuple[str, str]:
    bucket, _, name = uri.removeprefix("gs://").partition("/")
    return bucket, name


def _retyped(value: object) -> object:
    """The importer's coercion of a numeric-looking string column (§1.7: "000000" comes back as 0)."""
    if isinstance(value, str) and _NUMERIC.fullmatch(value):
        return float(value) if "." in value else int(value)
    return value


def _has_empty_object(value: object) -> bool:
    if isinstance(value, dict):
        return not value or any(_has_empty_object(item) for item in value.values())
    if isinstance(value, list):
        return any(_has_empty_object(item) for item in value)
    return False


def _echoed(request: dict) -> dict:
    """The request as a row echoes it: re-serialised, absent part fields as null (§1.8)."""
    echo = json.loads(json.dumps(request))
    for turn in echo.get("contents", []):
        for part in turn.get("parts", []):
            part.setdefault("file_data", None)
    return echo


# Cloud Storage: the emulator


class _ThreadedAPI(APIThread):
    """The emulator's server, one thread per connection: the gateway may hold a download open while it
    uploads (a batch's conversion), which the emulator's one-connection-at-a-time server would block."""

    def run(self) -> None:
        self._httpd = ThreadingHTTPServer((self._host, self._port), partial(RequestHandler, self._storage))
        self._httpd.daemon_threads = True
        self.is_running.set()
        self._httpd.serve_forever()


class Gcs:
    """The running emulator: its base URL, and plain HTTP helpers for tests and the fake."""

    def __init__(self) -> None:
        self.server = create_server("127.0.0.1", 0, in_memory=True)
        api = self.server._api
        self.server._api = _ThreadedAPI(api._host, api._port, api._storage)
        self.server.start()
        self.url = f"http://127.0.0.1:{self.server._api._httpd.server_port}"
        self.http = requests.Session()

    def reset(self, *buckets: str) -> None:
        self.server.wipe()
        for bucket in buckets:
            self.create_bucket(bucket)

    def create_bucket(self, bucket: str) -> None:
        self.http.post(f"{self.url}/storage/v1/b", params={"project": PROJECT}, json={"name": bucket},
                       timeout=5).raise_for_status()

    def _object(self, bucket: str, name: str) -> str:
        return f"{self.url}/storage/v1/b/{bucket}/o/{quote(name, safe='')}"

    def read(self, bucket: str, name: str) -> bytes | None:
        reply = self.http.get(self._object(bucket, name), params={"alt": "media"}, timeout=5)
        if reply.status_code == 404:
            return None
        reply.raise_for_status()
        return reply.content

    def write(self, bucket: str, name: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        # (the emulator parses a media upload whose type starts with application/json, jsonl included)
        self.http.post(f"{self.url}/upload/storage/v1/b/{bucket}/o", params={"uploadType": "media", "name": name},
                       data=data, headers={"Content-Type": content_type}, timeout=5).raise_for_status()

    def names(self, bucket: str, prefix: str = "") -> list[str]:
        reply = self.http.get(f"{self.url}/storage/v1/b/{bucket}/o", params={"prefix": prefix}, timeout=5)
        reply.raise_for_status()
        return sorted(item["name"] for item in reply.json().get("items") or [])

    def stat(self, bucket: str, name: str) -> dict | None:
        reply = self.http.get(self._object(bucket, name), timeout=5)
        return None if reply.status_code == 404 else reply.json()

    def stop(self) -> None:
        self.server.stop()


# Vertex AI: batchPredictionJobs


class FakeVertex:
    def __init__(self, gcs: Gcs, base: str = VERTEX_BASE, token: str = TOKEN, polls_until_done: int = 3) -> None:
        self.gcs, self.base, self.token = gcs, base, token
        self.polls_until_done = polls_until_done
        self.jobs: dict[str, dict] = {}
        self.scripted: dict[str, dict | bytes] = {}
        self.unchecked: set[str] = set()  # custom_ids (rows) and job names (replies) off spec on purpose
        self.violations: list[str] = []
        self.calls: list[str] = []  # "METHOD path?query" of every call, in order
        self.token_grants = 0
        self.realtime_errors: dict[str, list[FakeError]] = {}  # request text -> errors answered in turn
        self.generated: list[tuple[str, dict]] = []  # (model path, request) of each generateContent answered
        self._seq = 0

    def _tick(self) -> int:
        self._seq += 1
        return self._seq

    # backend

    def create(self, project: str, location: str, body: dict) -> dict:
        contract.check_create_job(body)
        model = body["model"]
        if model.removeprefix("publishers/google/models/") not in MODELS + EMBEDDING_MODELS:
            raise FakeError(404, "NOT_FOUND", f"The PublisherModel {model} does not exist.")
        number = self._tick()
        name = f"projects/{PROJECT_NUMBER}/locations/{location}/batchPredictionJobs/{7_000_000_000 + number}"
        job = {**json.loads(json.dumps(body)), "name": name, "state": "JOB_STATE_PENDING", "modelVersionId": "1",
               "createTime": _time(number), "updateTime": _time(number)}
        self.jobs[name] = {"job": job, "polls": 0, "cancelled": False, "seq": number}
        return job

    def _input(self, job: dict) -> tuple[list[dict] | None, str | None]:
        """The job's input lines, or why Vertex's import would fail the job."""
        bucket, name = _split_gs(job["inputConfig"]["gcsSource"]["uris"][0])
        data = self.gcs.read(bucket, name)
        if data is None:
            return None, "Failed to read the input: the object does not exist or cannot be read."
        lines, types_seen = [], {}
        for number, raw in enumerate(data.split(b"\n"), start=1):
            if not raw.strip():
                continue
            try:
                line = json.loads(raw)
                if _embeds(job["model"]):
                    contract.check_embedding_instance(line, f"input line {number}")
                else:
                    contract.check_input_line(line, f"input line {number}")
            except (ValueError, contract.ContractViolation) as error:
                self.violations.append(f"{name} line {number}: {error}")
                return None, f"Failed to import data: line {number} is not a request."
            for key, value in line.items():
                if types_seen.setdefault(key, type(value)) is not type(value) or _has_empty_object(value):
                    self.violations.append(f"{name} line {number}: {key} breaks the importer's rules")
                    return None, "Failed to import data. Please check the 'Prepare input' section."
            lines.append(line)
        return lines, None

    def get(self, name: str) -> dict:
        entry = self._entry(name)
        job = entry["job"]
        if job["state"] in ENDED:
            return job
        entry["polls"] += 1
        job["updateTime"] = _time(self._tick())
        if entry["cancelled"]:
            entry["cancel_polls"] += 1
            if entry["cancel_polls"] > 1:  # one look at CANCELLING first
                self._end(entry, "JOB_STATE_CANCELLED", exported=0.5)
        elif job["state"] == "JOB_STATE_PENDING":
            lines, problem = self._input(job)
            if problem:
                job["error"] = {"code": 3 if lines is None and "import" in problem else 9, "message": problem}
                job["state"], job["endTime"] = "JOB_STATE_FAILED", job["updateTime"]
                return job
            entry["lines"] = lines
            job["state"], job["startTime"], job["completionStats"] = "JOB_STATE_RUNNING", job["updateTime"], {}
        if job["state"] == "JOB_STATE_RUNNING" and entry["polls"] >= self.polls_until_done:
            self._end(entry, "JOB_STATE_SUCCEEDED")
        return job

    def finish(self, name: str) -> None:
        entry = self._entry(name)
        if entry["job"]["state"] not in ENDED:
            if "lines" not in entry:
                entry["lines"], problem = self._input(entry["job"])
                assert problem is None, problem
            self._end(entry, "JOB_STATE_SUCCEEDED")

    def _end(self, entry: dict, state: str, exported: float = 1.0) -> None:
        job = entry["job"]
        lines = entry.get("lines") or []
        lines = lines[: int(len(lines) * exported)]
        rows = [self._row(line, job["model"]) for line in reversed(lines)]
        directory = f"{job['outputConfig']['gcsDestination']['outputUriPrefix'].rstrip('/')}/" \
                    f"prediction-model-{job['createTime']}"
        bucket, folder = _split_gs(directory)
        self.gcs.write(bucket, f"{folder}/predictions.jsonl",
                       b"".join((row if isinstance(row, bytes) else json.dumps(row).encode()) + b"\n" for row in rows))
        failed = sum(1 for row in rows if not isinstance(row, dict) or row.get("status"))
        stats = {}
        if len(rows) - failed:
            stats["successfulCount"] = str(len(rows) - failed)
        if failed:
            stats["failedCount"] = str(failed)
        job.update(state=state, endTime=job["updateTime"], completionStats=stats,
                   outputInfo={"gcsOutputDirectory": directory})
        if state == "JOB_STATE_CANCELLED":
            job["error"] = {"code": 1, "message": "CANCELED"}

    def _row(self, line: dict, model: str) -> dict | bytes:
        custom_id = str(line.get("custom_id", "")).removeprefix("cid-")
        if custom_id in self.scripted:
            return self.scripted[custom_id]
        if _embeds(model):
            return self._embedding_row(line)
        echoed = {key: _retyped(value) for key, value in line.items() if key != "request"}
        row: dict = {"status": "", "processed_time": "2026-01-01T00:00:00.000+00:00",
                     "request": _echoed(line["request"]), **echoed}
        text = _texts(line["request"])
        if "FAIL" in text:
            error = {"error": {"code": 400, "message": "Please use a valid role: user, model.",
                               "status": "INVALID_ARGUMENT"}}
            row["status"] = f"Bad Request: {json.dumps(error)}"
            return row
        row["response"] = self._response(text, model)
        return row

    @staticmethod
    def _embedding_row(instance: dict) -> dict:
        """A text embedding row (§1.13): the instance echoed, no request ID."""
        row: dict = {"instance": json.loads(json.dumps(instance)), "status": ""}
        if "FAIL" in instance["content"]:
            error = {"error": {"code": 400, "message": "The text content is empty or invalid.",
                               "status": "INVALID_ARGUMENT"}}
            row["status"] = f"Bad Request: {json.dumps(error)}"
            return row
        row["predictions"] = [{"embeddings": {
            "statistics": {"token_count": len(instance["content"].split()), "truncated": False},
            "values": embedding_values(instance["content"])}}]
        return row

    def _response(self, text: str, model: str) -> dict:
        """The deterministic GenerateContentResponse to a request whose text is `text`."""
        prompt = len(text.split())
        return {
            "candidates": [{"content": {"role": "model", "parts": [{"text": f"Answer: {text}"}]},
                            "finishReason": "STOP", "avgLogprobs": -0.1}],
            "modelVersion": model.rpartition("/")[2] + "-001@default",
            "createTime": "2026-01-01T00:00:00.000000Z",
            "responseId": f"resp-{self._tick()}",
            "usageMetadata": {"promptTokenCount": prompt, "candidatesTokenCount": 3, "totalTokenCount": prompt + 3},
        }

    def generate(self, model: str, request: dict) -> dict:
        """One generateContent call on a publisher model: the response a batch row of this request would hold."""
        contract.check_generate_content_request(request)
        if model.removeprefix("publishers/google/models/") not in MODELS + EMBEDDING_MODELS:
            raise FakeError(404, "NOT_FOUND", f"Publisher Model `{model}` was not found or your project does not "
                                              "have access to it.")
        text = _texts(request)
        if self.realtime_errors.get(text):
            raise self.realtime_errors[text].pop(0)
        if "FAIL" in text:
            raise FakeError(400, "INVALID_ARGUMENT", "Please use a valid role: user, model.")
        self.generated.append((model, request))
        return self._response(text, model)

    def cancel(self, name: str) -> None:
        entry = self._entry(name)
        if entry["job"]["state"] in ENDED:
            raise FakeError(400, "FAILED_PRECONDITION", f"Cannot cancel a job in state {entry['job']['state']}.")
        entry["cancelled"], entry["cancel_polls"] = True, 0
        entry["job"]["state"] = "JOB_STATE_CANCELLING"

    def list(self, project: str, location: str, page_size: int, token: str | None, filter: str | None) -> dict:
        jobs = sorted((e for e in self.jobs.values() if e["job"]["name"].split("/")[3] == location),
                      key=lambda e: -e["seq"])
        selected = [e["job"] for e in jobs if self._matches(e["job"], filter)]
        start = int(token or 0)
        body: dict = {"batchPredictionJobs": selected[start:start + page_size]}
        if start + page_size < len(selected):
            body["nextPageToken"] = str(start + page_size)
        return body

    @staticmethod
    def _matches(job: dict, filter: str | None) -> bool:
        if not filter:
            return True
        match = re.fullmatch(r"labels\.([a-z][a-z0-9_-]*)(?::\*|=(\S+))", filter)
        if not match:
            raise FakeError(400, "INVALID_ARGUMENT", f"Unsupported filter {filter!r}.")
        labels = job.get("labels") or {}
        return match[1] in labels and (match[2] is None or labels[match[1]] == match[2])

    def _entry(self, name: str) -> dict:
        if name not in self.jobs:
            raise FakeError(404, "NOT_FOUND", f"The BatchPredictionJob does not exist: {name}")
        return self.jobs[name]

    def assert_no_violations(self) -> None:
        assert not self.violations, "the Vertex fake saw requests or replies the official types refuse:\n" + \
            "\n".join(self.violations)

    # HTTP layer

    def register(self, rsps: responses.RequestsMock) -> FakeVertex:
        rsps.add_passthru(self.gcs.url)
        rsps.add_callback("POST", f"{self.base}/token", callback=self._on_token)
        pattern = re.compile(rf"^{re.escape(self.base)}(/v1/[^?]*)(\?.*)?$")
        for method in ("GET", "POST"):
            rsps.add_callback(method, pattern, callback=self._wrap(pattern))
        return self

    def _on_token(self, request):
        form = parse_qs(request.body if isinstance(request.body, str) else (request.body or b"").decode())
        if form.get("grant_type") != ["urn:ietf:params:oauth:grant-type:jwt-bearer"] or not form.get("assertion"):
            return 400, {}, json.dumps({"error": "invalid_grant"})
        self.token_grants += 1
        return 200, {"Content-Type": "application/json"}, json.dumps(
            {"access_token": ADC_TOKEN, "expires_in": 3600, "token_type": "Bearer"})

    def _wrap(self, pattern: re.Pattern):
        def callback(request):
            path = pattern.match(request.url)[1]
            self.calls.append(f"{request.method} {request.url.removeprefix(self.base)}")
            try:
                if request.headers.get("Authorization") != f"Bearer {self.token}":
                    raise FakeError(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.")
                return self._route(request, path)
            except FakeError as error:
                return error.code, {"Content-Type": "application/json"}, error.body()
            except contract.ContractViolation as violation:
                self.violations.append(f"{request.method} {request.url}: {violation}")
                return 400, {"Content-Type": "application/json"}, FakeError(400, "INVALID_ARGUMENT",
                                                                            str(violation)).body()
        return callback

    def _route(self, request, path: str):
        generate = _GENERATE.fullmatch(path)
        if generate and request.method == "POST":
            project, _, model = generate.groups()
            if project not in (PROJECT, PROJECT_NUMBER):
                raise FakeError(403, "PERMISSION_DENIED", f"Permission denied on project {project}.")
            return self._reply(self.generate(model, self._json(request)), genai_types.check_generate_content_response)
        match = _JOBS.fullmatch(path)
        if not match:
            raise FakeError(404, "NOT_FOUND", f"No route {path}.")
        project, location, job_id, cancel = match.groups()
        if project not in (PROJECT, PROJECT_NUMBER):
            raise FakeError(403, "PERMISSION_DENIED", f"Permission denied on project {project}.")
        name = f"projects/{PROJECT_NUMBER}/locations/{location}/batchPredictionJobs/{job_id}"
        query = {k: v[0] for k, v in parse_qs(urlsplit(request.url).query).items()}
        if request.method == "POST" and job_id is None:
            return self._reply(self.create(project, location, self._json(request)))
        if request.method == "GET" and job_id is None:
            size = int(query.get("pageSize", "100"))
            if not 0 < size <= 1000:
                raise FakeError(400, "INVALID_ARGUMENT", f"Invalid pageSize {size}.")
            body = self.list(project, location, size, query.get("pageToken"), query.get("filter"))
            return self._reply(body, contract.check_job_list)
        if request.method == "GET" and not cancel:
            return self._reply(self.get(name))
        if request.method == "POST" and cancel:
            if self._json(request) != {}:
                raise FakeError(400, "INVALID_ARGUMENT", "cancel takes an empty body.")
            self.cancel(name)
            return 200, {"Content-Type": "application/json"}, "{}"
        raise FakeError(405, "INVALID_ARGUMENT", f"{request.method} {path} is not allowed.")

    @staticmethod
    def _json(request) -> dict:
        body = request.body
        try:
            value = json.loads(body or b"{}")
        except ValueError:
            raise FakeError(400, "INVALID_ARGUMENT", "Invalid JSON payload received.") from None
        if not isinstance(value, dict):
            raise FakeError(400, "INVALID_ARGUMENT", "Invalid JSON payload received.")
        return value

    def _reply(self, body: dict, check=None):
        try:
            if not any(job.get("name") in self.unchecked for job in body.get("batchPredictionJobs") or [body]):
                (check or contract.check_job)(body)
            self._check_rows(body)
        except contract.ContractViolation as violation:
            self.violations.append(f"reply: {violation}")
            return 500, {}, FakeError(500, "INTERNAL", f"the fake's reply breaks the official types: {violation}"
                                      ).body()
        return 200, {"Content-Type": "application/json"}, json.dumps(body)

    def _check_rows(self, body: dict) -> None:
        """The rows of every ended job in a reply (checked once they exist), but the unchecked ones."""
        for job in body.get("batchPredictionJobs") or [body]:
            directory = (job.get("outputInfo") or {}).get("gcsOutputDirectory")
            if not directory or job.get("_rows_checked"):
                continue
            bucket, folder = _split_gs(directory)
            for number, raw in enumerate((self.gcs.read(bucket, f"{folder}/predictions.jsonl") or b"").split(b"\n")):
                if not raw.strip():
                    continue
                try:
                    row = json.loads(raw)
                except ValueError:
                    continue  # a scripted raw row: unchecked by definition
                if _embeds(job.get("model", "")):
                    custom_id = str((row.get("instance") or {}).get("custom_id", "")).removeprefix("cid-")
                    if custom_id not in self.unchecked:
                        contract.check_embedding_row(row, f"{job['name']} row {number + 1}")
                elif str(row.get("custom_id", "")).removeprefix("cid-") not in self.unchecked:
                    contract.check_result_row(row, f"{job['name']} row {number + 1}")


class Script:
    """The contract test's handle on the fake (tests/fakes/contract.py `Scripting`)."""

    def __init__(self, fake: FakeVertex) -> None:
        self.fake = fake

    def next_batch_has_an_unconvertible_line(self, custom_id: str) -> None:
        self.fake.scripted[custom_id] = unconvertible_row(custom_id)
        self.fake.unchecked.add(custom_id)

    def finish(self, batch_id: str) -> None:
        self.fake.finish(ids.decode_batch(batch_id, "vertex").native)


def unconvertible_row(custom_id: str) -> dict:
    """A row that keeps its custom_id but whose response no chat.completion can be made of."""
    return {"status": "", "custom_id": f"cid-{custom_id}", "request": {"contents": []},
            "response": {"candidates": "not a list"}}


def service_account_file(directory: Path) -> str:
    """A service account key file whose tokens the fake's token endpoint grants (ADC in gateway-key mode)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    path = directory / "sa.json"
    path.write_text(json.dumps({
        "type": "service_account", "project_id": PROJECT, "private_key_id": "k1", "private_key": pem,
        "client_email": f"batch@{PROJECT}.iam.gserviceaccount.com", "client_id": "1",
        "token_uri": f"{VERTEX_BASE}/token"}))
    return str(path)


# Fixtures


@pytest.fixture(scope="session")
def gcs_emulator():
    gcs = Gcs()
    yield gcs
    gcs.stop()


@pytest.fixture
def gcs(gcs_emulator):
    """The emulator, emptied, with two buckets."""
    gcs_emulator.reset(BUCKET, OTHER_BUCKET)
    return gcs_emulator


@pytest.fixture
def vertex_app(app, gcs):
    """The app configured for Vertex AI against the emulator (a default bucket and a project)."""
    from blueprints.vertex import client

    client.reset_credentials()
    app.config.update(VERTEX_PROJECT=PROJECT, VERTEX_LOCATION=LOCATION, VERTEX_DEFAULT_BUCKET=BUCKET,
                      VERTEX_STORAGE_EMULATOR_HOST=gcs.url)
    yield app
    client.reset_credentials()


@pytest.fixture
def vertex(vertex_app, rsps, gcs):
    """The Vertex fake on `rsps`; after the test, nothing the gateway sent (or the fake wrote) broke the rules."""
    fake = FakeVertex(gcs).register(rsps)
    yield fake
    fake.assert_no_violations()


@pytest.fixture
def vertex_contract(vertex) -> ContractFake:
    return ContractFake(provider="vertex", script=Script(vertex), model=MODEL, create_body={"model": MODEL})


__all__ = ["ADC_TOKEN", "BUCKET", "EMBEDDING_MODELS", "LOCATION", "MODEL", "OTHER_BUCKET", "PROJECT", "TOKEN",
           "FakeVertex", "Gcs", "embedding_values", "gcs", "gcs_emulator", "service_account_file", "unconvertible_row",
           "vertex", "vertex_app", "vertex_contract"]
