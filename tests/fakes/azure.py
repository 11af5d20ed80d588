"""A stateful fake of an Azure OpenAI resource's Files and Batch API (providers-next.md §3), on `responses`.

One resource, both API surfaces over the same state (§3.1):
- v1: `{endpoint}/openai/v1/files…`, `…/batches…`; `api-version` optional (`v1` or `preview`);
- dated: `{endpoint}/openai/files…?api-version=…`; a call without `api-version` is a 404 (the dated
  routes do not exist without one) [U: Azure's exact answer is not in the references].
Auth (§3.2): the key in an `api-key` header; on v1 a bearer key is accepted too (the documented plain
OpenAI client). Which header carried the key is recorded in `auth_headers`.

Rules (§3.3-3.6, §3.9): uploads need `purpose` from Azure's list and a Content-Type on the file part;
a batch needs `completion_window` "24h" (another value makes the job fail), an `endpoint` of the
surface used; validation (the first poll) fails the job with Azure's codes: `url_mismatch` (a line's
url differs from the endpoint), `model_not_found` (not one of `deployments`), `model_mismatch`,
`invalid_json_line` (a UTF-8 byte order mark included), `duplicate_custom_id`, `empty_file`,
`too_many_tasks`. Batches advance one step per retrieve: validating -> in_progress -> finalizing ->
completed. Lines whose last message says "FAIL" get Azure's per-line content-filter 400.

Replies follow Azure's official examples, drift included (§3.7-3.8): `endpoint: null` on create and
retrieve (the list has it), `"output_file_id": ""` and `"error_file_id": ""` before there are results,
null counters until the job ran, on dated preview versions ISO 8601 timestamps and capitalised
statuses; an error file even when nothing failed (empty); output lines without a top-level `id`,
with `content_filter_results`, `prompt_filter_results` and a UUID `request_id`; errors as
`{"error": {"code", "message"}}` (no `type`/`param`) [U]. With `drift=False` it answers OpenAI's
own shapes instead, and every reply is checked against the `openai` SDK's types.

Requests are checked against the official definitions where Azure has none of its own: the upload
form and batch body against the `openai` SDK's types (`tests/contracts/openai_types.py`; the dated
surface's `endpoint` read in its `/v1/…` form). Violations are recorded; fixtures assert none.

Real-time calls (the lines of a gateway-run batch), addressed as the `openai` SDK's clients address
them (§3.1, S11 `lib/azure.py`): on v1 `/openai/v1/chat/completions` (also `embeddings`,
`responses`, `completions`) with `body.model` the deployment; on the dated API
`/openai/deployments/{deployment}/chat/completions?api-version=…` (also `embeddings`,
`completions`) and `/openai/responses?api-version=…`. The deployment must be one of
`realtime_deployments` (a Global-Batch one takes batch jobs only), else Azure's 404
`DeploymentNotFound` [U: the exact answer for a batch-only deployment is not in the references].
Bodies and replies are checked against the `openai` SDK's types (the reply before Azure's content
filter annotations are added: `content_filter_results`, `prompt_filter_results`, as in §3.8);
replies carry an `apim-request-id` header; scripted failures as in `tests/fakes/openai_sync.py`.
"""

from __future__ import annotations

import io
import itertools
import json
import re
import uuid
from datetime import UTC, datetime
from functools import partial

import pytest
import responses
from werkzeug.wrappers import Request

from blueprints.dispatcher import ids
from tests.contracts import openai_types
from tests.fakes.contract import ContractFake
from tests.fakes.openai_sync import SyncEndpoints, SyncFailure

ENDPOINT = "https://azure.fake"  # tests/conftest.py points AZURE_OPENAI_ENDPOINT here
DEPLOYMENT = "gpt-4o-batch"  # a Global-Batch deployment of the fake resource
REALTIME_DEPLOYMENT = "gpt-4o"  # a Standard deployment: real-time calls
API_VERSION = "2025-04-01-preview"
PURPOSES = {"assistants", "batch", "fine-tune", "vision", "user_data", "evals"}
UPLOAD_FIELDS = {"purpose", "file", "expires_after[anchor]", "expires_after[seconds]"}
BATCH_FIELDS = {"input_file_id", "endpoint", "completion_window", "metadata", "output_expires_after"}
V1_ENDPOINTS = {"/v1/chat/completions", "/v1/responses", "/v1/embeddings", "/v1/completions"}
DATED_ENDPOINTS = {"/chat/completions", "/responses", "/embeddings", "/completions"}
STEPS = ["validating", "in_progress", "finalizing", "completed"]
MAX_TASKS = 100_000
FILTER = {name: {"filtered": False, "severity": "safe"} for name in ("hate", "self_harm", "sexual", "violence")}


class FakeError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class FakeAzure:
    def __init__(self, endpoint: str = ENDPOINT, deployments: tuple[str, ...] = (DEPLOYMENT,), drift: bool = True,
                 clock_start: int = 1_722_476_583,
                 realtime_deployments: tuple[str, ...] = (REALTIME_DEPLOYMENT,)) -> None:
        self.endpoint = endpoint
        self.deployments = set(deployments)
        self.realtime_deployments = set(realtime_deployments)
        self.sync = SyncEndpoints(clock_start)
        self.drift = drift
        self.files: dict[str, dict] = {}
        self.batches: dict[str, dict] = {}
        self.keys_seen: set[str] = set()
        self.auth_headers: set[str] = set()
        self.calls: list[tuple[str, str]] = []  # (method, path and query)
        self.violations: list[str] = []
        self.unconvertible: set[str] = set()  # custom_ids whose next result line is not Azure's shape
        self._clock = itertools.count(clock_start)
        self._ids = itertools.count(1)

    # backend

    def now(self) -> int:
        return next(self._clock)

    def _uuid(self) -> str:
        return str(uuid.UUID(int=next(self._ids)))

    def add_file(self, content: bytes, filename: str, purpose: str, expires_after: int | None = None) -> dict:
        # Azure's uploads get hex IDs, its result files UUIDs (the batch guide's examples)
        file_id = f"file-{self._uuid().replace('-', '')}" if purpose != "batch_output" else f"file-{self._uuid()}"
        created = self.now()
        self.files[file_id] = {
            "id": file_id, "object": "file", "bytes": len(content), "created_at": created, "filename": filename,
            "purpose": purpose, "status": "processed", "status_details": None,
            "expires_at": created + expires_after if expires_after else None, "_content": content,
        }
        return self.files[file_id]

    def get_file(self, file_id: str) -> dict:
        if file_id not in self.files:
            raise FakeError(404, "fileNotFound", f"File with id '{file_id}' was not found.")
        return self.files[file_id]

    def create_batch(self, body: dict, dated: bool) -> dict:
        unknown = set(body) - BATCH_FIELDS
        if unknown:
            raise FakeError(400, "invalid_request", f"Unrecognized request argument supplied: {sorted(unknown)[0]}")
        source = self.get_file(body.get("input_file_id", ""))
        if source["purpose"] != "batch":
            raise FakeError(400, "invalid_request", "The input file must have purpose batch.")
        if body.get("endpoint") not in (DATED_ENDPOINTS if dated else V1_ENDPOINTS):
            raise FakeError(400, "invalid_request", f"Invalid endpoint: {body.get('endpoint')!r}.")
        batch_id = f"batch_{self._uuid()}"
        now = self.now()
        self.batches[batch_id] = {
            "id": batch_id, "object": "batch", "endpoint": body["endpoint"], "errors": None,
            "input_file_id": source["id"], "completion_window": body["completion_window"], "status": "validating",
            "output_file_id": None, "error_file_id": None, "created_at": now, "in_progress_at": None,
            "expires_at": now + 86400, "finalizing_at": None, "completed_at": None, "failed_at": None,
            "expired_at": None, "cancelling_at": None, "cancelled_at": None,
            "request_counts": {"total": 0, "completed": 0, "failed": 0}, "metadata": body.get("metadata"),
        }
        return self.batches[batch_id]

    def get_batch(self, batch_id: str) -> dict:
        if batch_id not in self.batches:
            raise FakeError(404, "batchNotFound", f"Batch with id '{batch_id}' was not found.")
        return self.batches[batch_id]

    def poll_batch(self, batch_id: str) -> dict:
        batch = self.get_batch(batch_id)
        if batch["status"] == "cancelling":
            batch.update(status="cancelled", cancelled_at=self.now())
            self._complete(batch, cancelled=True)
        elif batch["status"] == "validating":
            problem = self._validation_problem(batch)
            if problem:
                batch.update(status="failed", failed_at=self.now(), errors={"object": "list", "data": [
                    {"code": problem[0], "message": problem[1]}]})
            else:
                batch.update(status="in_progress", in_progress_at=self.now())
        elif batch["status"] in STEPS[1:-1]:
            batch["status"] = STEPS[STEPS.index(batch["status"]) + 1]
            batch[f"{batch['status']}_at"] = self.now()
            if batch["status"] == "completed":
                self._complete(batch)
        return batch

    def finish(self, batch_id: str) -> dict:
        batch = self.get_batch(batch_id)
        while batch["status"] not in ("completed", "failed", "cancelled"):
            self.poll_batch(batch_id)
        return batch

    def cancel_batch(self, batch_id: str) -> dict:
        batch = self.get_batch(batch_id)
        if batch["status"] in ("completed", "failed", "expired", "cancelled"):
            raise FakeError(400, "invalid_request", f"Cannot cancel a batch with status '{batch['status']}'.")
        batch.update(status="cancelling", cancelling_at=self.now())
        return batch

    def _validation_problem(self, batch: dict) -> tuple[str, str] | None:
        if batch["completion_window"] != "24h":
            return "invalid_request", "The completion window must be 24h."
        content = self.files[batch["input_file_id"]]["_content"]
        if content.startswith(b"\xef\xbb\xbf"):
            return "invalid_json_line", "A valid model deployment name couldn't be extracted from the input file."
        lines = [line for line in content.decode().split("\n") if line.strip()]
        if not lines:
            return "empty_file", "The input file is empty."
        if len(lines) > MAX_TASKS:
            return "too_many_tasks", f"The input file has more than {MAX_TASKS} requests."
        seen, models = set(), set()
        for number, raw in enumerate(lines, start=1):
            try:
                line = json.loads(raw)
            except ValueError:
                return "invalid_json_line", f"Line {number} is not valid JSON."
            if line.get("custom_id") in seen:
                return "duplicate_custom_id", f"Duplicate custom_id on line {number}."
            seen.add(line.get("custom_id"))
            if line.get("url") != batch["endpoint"]:
                return "url_mismatch", f"The url on line {number} does not match the batch endpoint."
            models.add((line.get("body") or {}).get("model"))
        if len(models) > 1:
            return "model_mismatch", "Every line must name the same deployment."
        if not models <= self.deployments:
            return "model_not_found", f"The deployment {sorted(map(str, models))[0]!r} was not found."
        return None

    def _complete(self, batch: dict, cancelled: bool = False) -> None:
        lines = [json.loads(line) for line in self.files[batch["input_file_id"]]["_content"].decode().split("\n")
                 if line.strip()]
        output, errors = [], []
        for line in lines if not cancelled else []:
            body, custom_id = line["body"], line["custom_id"]
            request_id = self._uuid()
            if custom_id in self.unconvertible:  # not Azure's shape: no status_code
                self.unconvertible.discard(custom_id)
                output.append({"custom_id": custom_id, "response": {"body": {"oops": True}, "request_id": request_id}})
            elif _question(body) == "FAIL":
                errors.append({"custom_id": custom_id, "response": {"body": {"error": {
                    "code": "content_filter", "message": "The response was filtered due to the prompt triggering "
                    "Azure OpenAI's content management policy."}}, "request_id": request_id, "status_code": 400},
                    "error": None})
            elif not line["url"].endswith("chat/completions"):  # responses, embeddings: OpenAI's bodies
                path = line["url"].rsplit("/", 1)[-1]
                reply = getattr(SyncEndpoints, "_" + path)(body, _question(body), len(output), batch["created_at"])
                output.append({"custom_id": custom_id, "response": {"body": reply, "request_id": request_id,
                                                                    "status_code": 200}, "error": None})
            else:
                output.append({"custom_id": custom_id, "response": {"body": {
                    "choices": [{"content_filter_results": FILTER, "finish_reason": "stop", "index": 0,
                                 "logprobs": None, "message": {"content": f"Answer to: {_question(body)}",
                                                               "role": "assistant"}}],
                    "created": batch["created_at"], "id": f"chatcmpl-{request_id[:8]}", "model": "gpt-4o-2024-08-06",
                    "object": "chat.completion",
                    "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": FILTER}],
                    "system_fingerprint": "fp_a9bfe9d51d",
                    "usage": {"completion_tokens": 5, "prompt_tokens": 10, "total_tokens": 15}},
                    "request_id": request_id, "status_code": 200}, "error": None})
        name = batch["id"]
        batch["output_file_id"] = self.add_file(_jsonl(output), f"{name}_output.jsonl", "batch_output")["id"]
        # Azure writes an error file even when nothing failed (an empty one)
        batch["error_file_id"] = self.add_file(_jsonl(errors), f"{name}_error.jsonl", "batch_output")["id"]
        batch["request_counts"] = {"total": len(lines), "completed": len(output), "failed": len(errors)}

    # replies, as Azure shapes them

    def _batch_reply(self, batch: dict, *, dated: bool, version: str | None, listed: bool = False) -> dict:
        reply = _public(batch)
        if not self.drift:
            return reply
        if not listed:
            reply["endpoint"] = None
        for name in ("output_file_id", "error_file_id"):
            reply[name] = reply[name] or ""
        if batch["status"] == "validating":
            reply["request_counts"] = {"total": None, "completed": None, "failed": None}
        if dated and version and version.endswith("-preview"):
            reply["status"] = reply["status"].capitalize()
            for name, value in reply.items():
                if name.endswith("_at") and isinstance(value, int):
                    reply[name] = _iso(value)
        return reply

    # HTTP layer

    def register(self, rsps: responses.RequestsMock) -> FakeAzure:
        base = re.escape(self.endpoint)
        routes = [
            ("POST", r"/files", self._upload),
            ("GET", r"/files", self._list_files),
            ("GET", r"/files/([^/?]+)/content", self._content),
            ("GET", r"/files/([^/?]+)", self._retrieve_file),
            ("DELETE", r"/files/([^/?]+)", self._delete_file),
            ("POST", r"/batches", self._create_batch),
            ("GET", r"/batches", self._list_batches),
            ("GET", r"/batches/([^/?]+)", self._retrieve_batch),
            ("POST", r"/batches/([^/?]+)/cancel", self._cancel),
        ]
        for method, path, handler in routes:
            pattern = rf"^{base}/openai(/v1)?{path}(\?.*)?$"
            rsps.add_callback(method, re.compile(pattern), callback=self._wrap(handler, pattern))
        sync = [rf"^{base}/openai/v1/(?P<path>chat/completions|embeddings|responses|completions)(\?.*)?$",
                rf"^{base}/openai/deployments/(?P<deployment>[^/?]+)/(?P<path>chat/completions|embeddings|completions)"
                rf"(\?.*)?$",
                rf"^{base}/openai/(?P<path>responses)(\?.*)?$"]
        for pattern in sync:
            rsps.add_callback("POST", re.compile(pattern), callback=self._sync(pattern))
        return self

    def _sync(self, pattern: str):
        """A real-time endpoint on either API form (see the module docstring)."""
        def callback(request):
            self.calls.append((request.method, request.path_url))
            match = re.match(pattern, request.url)
            dated = "/openai/v1/" not in request.url
            path = match["path"]
            try:
                self._authenticate(request, dated)
                if dated and not dict(request.params).get("api-version"):
                    raise FakeError(404, "404", "Resource not found")
                body = json.loads(request.body)
                self._checked(partial(openai_types.check_sync_request, path), body)
                deployment = match.groupdict().get("deployment") or body.get("model")
                if deployment not in self.realtime_deployments:
                    raise FakeError(404, "DeploymentNotFound", "The API deployment for this resource does not exist.")
                reply, typed = self.sync.answer(path, body)
                if typed:
                    self._checked(partial(openai_types.check_sync_reply, path), reply)
            except SyncFailure as failure:
                return failure.status, {"Content-Type": "application/json", **failure.headers}, json.dumps(
                    {"error": {"code": failure.code, "message": failure.message}})
            except FakeError as error:
                return error.status, {"Content-Type": "application/json"}, json.dumps(
                    {"error": {"code": error.code, "message": error.message}})
            if self.drift and path == "chat/completions":  # Azure's content filter annotations (§3.8)
                reply["prompt_filter_results"] = [{"prompt_index": 0, "content_filter_results": FILTER}]
                for choice in reply["choices"]:
                    choice["content_filter_results"] = FILTER
            return 200, {"Content-Type": "application/json", "apim-request-id": self._uuid()}, json.dumps(reply)
        return callback

    def _wrap(self, handler, pattern):
        def callback(request):
            self.calls.append((request.method, request.path_url))
            match = re.match(pattern, request.url)
            dated = match[1] is None
            version = dict(request.params).get("api-version")
            try:
                self._authenticate(request, dated)
                if dated and not version:
                    raise FakeError(404, "404", "Resource not found")
                if not dated and version not in (None, "v1", "preview"):
                    raise FakeError(400, "BadRequest", f"API version {version!r} is not supported on /openai/v1.")
                reply = handler(request, *match.groups()[1:-1], dated=dated, version=version)
                if not self.drift:
                    self._checked(openai_types.check_reply, reply)
                return 200, {"Content-Type": "application/json"}, json.dumps(reply)
            except _Raw as raw:
                return 200, {"Content-Type": "application/octet-stream"}, raw.content
            except FakeError as error:
                return error.status, {"Content-Type": "application/json"}, json.dumps(
                    {"error": {"code": error.code, "message": error.message}})
        return callback

    def _authenticate(self, request, dated: bool) -> None:
        key = request.headers.get("api-key")
        if key:
            self.auth_headers.add("api-key")
        elif not dated and request.headers.get("Authorization", "").startswith("Bearer "):
            key = request.headers["Authorization"][len("Bearer "):]
            self.auth_headers.add("Authorization")
        if not key:
            raise FakeError(401, "401", "Access denied due to invalid subscription key or wrong API endpoint.")
        self.keys_seen.add(key)

    def _checked(self, check, value) -> None:
        try:
            check(value)
        except AssertionError as error:
            self.violations.append(str(error))
            raise FakeError(400, "invalid_request", f"Invalid request: {error}") from None

    def _upload(self, request, *, dated: bool, version: str | None):
        body = request.body if isinstance(request.body, bytes) else b"".join(request.body)
        form_request = Request.from_values(input_stream=io.BytesIO(body), content_length=len(body),
                                           content_type=request.headers["Content-Type"], method="POST")
        fields = set(form_request.form) | set(form_request.files)
        self._checked(openai_types.check_upload, dict(form_request.form))
        unknown = fields - UPLOAD_FIELDS
        if unknown:
            raise FakeError(400, "invalid_request", f"Unrecognized request argument supplied: {sorted(unknown)[0]}")
        purpose = form_request.form.get("purpose")
        if purpose not in PURPOSES:
            raise FakeError(400, "invalid_request", f"Invalid purpose {purpose!r}.")
        upload = form_request.files["file"]
        if purpose == "batch" and not upload.headers.get("Content-Type"):
            raise FakeError(400, "invalid_request", "The file part needs a Content-Type.")
        seconds = form_request.form.get("expires_after[seconds]")
        added = self.add_file(upload.read(), upload.filename, purpose, int(seconds) if seconds else None)
        return _public(added)

    def _list_files(self, request, *, dated: bool, version: str | None):
        params = dict(request.params)
        items = sorted(self.files.values(), key=lambda f: f["created_at"], reverse=params.get("order") != "asc")
        if "purpose" in params:
            items = [f for f in items if f["purpose"] == params["purpose"]]
        return _paged(items, params, default_limit=10000, shape=_public)

    def _retrieve_file(self, request, file_id, *, dated: bool, version: str | None):
        return _public(self.get_file(file_id))

    def _delete_file(self, request, file_id, *, dated: bool, version: str | None):
        self.get_file(file_id)
        del self.files[file_id]
        return {"id": file_id, "object": "file", "deleted": True}

    def _content(self, request, file_id, *, dated: bool, version: str | None):
        raise _Raw(self.get_file(file_id)["_content"])

    def _create_batch(self, request, *, dated: bool, version: str | None):
        body = json.loads(request.body)
        endpoint = body.get("endpoint")
        self._checked(openai_types.check_batch_create,
                      {**body, "endpoint": f"/v1{endpoint}"} if dated and isinstance(endpoint, str) else body)
        return self._batch_reply(self.create_batch(body, dated), dated=dated, version=version)

    def _list_batches(self, request, *, dated: bool, version: str | None):
        items = sorted(self.batches.values(), key=lambda b: b["created_at"], reverse=True)
        return _paged(items, dict(request.params), default_limit=20,
                      shape=lambda b: self._batch_reply(b, dated=dated, version=version, listed=True))

    def _retrieve_batch(self, request, batch_id, *, dated: bool, version: str | None):
        return self._batch_reply(self.poll_batch(batch_id), dated=dated, version=version)

    def _cancel(self, request, batch_id, *, dated: bool, version: str | None):
        if request.body:
            raise FakeError(400, "invalid_request", "Cancel takes no body.")
        return self._batch_reply(self.cancel_batch(batch_id), dated=dated, version=version)


class _Raw(Exception):
    def __init__(self, content: bytes) -> None:
        self.content = content


def _question(body: dict) -> str:
    messages = body.get("messages") or [{"content": body.get("input", "")}]
    content = messages[-1].get("content")
    return content if isinstance(content, str) else json.dumps(content)


def _public(item: dict) -> dict:
    return {k: v for k, v in item.items() if not k.startswith("_")}


def _paged(items: list[dict], params: dict, default_limit: int, shape) -> dict:
    if "after" in params:
        item_ids = [item["id"] for item in items]
        if params["after"] not in item_ids:
            raise FakeError(400, "invalid_request", f"Invalid 'after': {params['after']}")
        items = items[item_ids.index(params["after"]) + 1:]
    limit = int(params.get("limit", default_limit))
    page = [shape(item) for item in items[:limit]]
    return {"object": "list", "data": page, "first_id": page[0]["id"] if page else None,
            "last_id": page[-1]["id"] if page else None, "has_more": len(items) > limit}


def _jsonl(lines: list[dict]) -> bytes:
    return "".join(json.dumps(line) + "\n" for line in lines).encode()


# The provider contract test's view of this fake (tests/fakes/contract.py)


class _Script:
    def __init__(self, fake: FakeAzure) -> None:
        self.fake = fake

    def next_batch_has_an_unconvertible_line(self, custom_id: str) -> None:
        self.fake.unconvertible.add(custom_id)

    def finish(self, batch_id: str) -> None:
        self.fake.finish(ids.decode_batch(batch_id, "azure").native)


@pytest.fixture
def azure_fake(rsps):
    """The fake Azure resource at AZURE_OPENAI_ENDPOINT (v1 API unless a test sets AZURE_OPENAI_API_VERSION)."""
    fake = FakeAzure().register(rsps)
    yield fake
    assert fake.violations == []


@pytest.fixture
def azure_contract(azure_fake) -> ContractFake:
    return ContractFake(provider="azure", script=_Script(azure_fake), model=DEPLOYMENT)


def _iso(unix: int) -> str:
    """A time as Azure's dated preview API writes it: ISO 8601 with seven fractional digits."""
    return datetime.fromtimestamp(unix, UTC).isoformat().replace("+00:00", ".1234567+00:00")
