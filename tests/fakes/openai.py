"""A stateful fake of OpenAI's Files and Batch API (providers.md §A), served through `responses`.

Backend first (state and rules), then thin HTTP callbacks. Batches advance one step per retrieve:
validating -> in_progress -> finalizing -> completed; completion writes a real batch-output file
(and an error file for lines whose body asks for model "fail"). Like the real API, unknown form or
body fields are a 400 "Unrecognized request argument", so a leaked gateway field fails a test.
Every request is checked against the `openai` SDK's request types and every reply against its
reply types (tests/contracts/openai_types.py); violations are recorded in `violations` and the
`fake` fixtures assert there were none.

The synchronous endpoints (`POST /chat/completions`, `/embeddings`, `/responses`, `/completions`),
where the lines of a gateway-run batch go, answer as `tests/fakes/openai_sync.py` describes (a text
with "FAIL" is a 400, "RATE_LIMIT" a 429 with Retry-After once, "SERVER_ERROR" a 500), with an
`x-request-id` header.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import re
from functools import partial

import pytest
import responses
from werkzeug.wrappers import Request

from tests.contracts import openai_types
from tests.fakes.contract import ContractFake
from tests.fakes.openai_sync import PATHS, SyncEndpoints, SyncFailure, question

STEPS = ["validating", "in_progress", "finalizing", "completed"]
UPLOAD_FIELDS = {"purpose", "file", "expires_after[anchor]", "expires_after[seconds]"}
BATCH_FIELDS = {"input_file_id", "endpoint", "completion_window", "metadata", "output_expires_after"}


class FakeError(Exception):
    def __init__(self, status: int, message: str, param: str | None = None, code: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.param, self.code, self.headers = status, message, param, code, headers or {}


class FakeOpenAI:
    def __init__(self, base: str = "https://openai.fake/v1", clock_start: int = 1_700_000_000) -> None:
        self.base = base
        self.files: dict[str, dict] = {}
        self.batches: dict[str, dict] = {}
        self.uploads: dict[str, dict] = {}  # the Uploads API: each with its parts (`_parts`: id -> bytes)
        self.keys_seen: set[str] = set()
        self.calls: list[tuple[str, str]] = []
        self.violations: list[str] = []
        self.sync = SyncEndpoints(clock_start)
        self._clock = itertools.count(clock_start)
        self._ids = itertools.count(1)

    # backend

    def now(self) -> int:
        return next(self._clock)

    def add_file(self, content: bytes, filename: str, purpose: str) -> dict:
        file_id = f"file-{next(self._ids):06d}abc"
        self.files[file_id] = {
            "id": file_id, "object": "file", "bytes": len(content), "created_at": self.now(),
            "filename": filename, "purpose": purpose, "status": "processed",
            "expires_at": None, "status_details": None, "_content": content,
        }
        return self.files[file_id]

    def get_file(self, file_id: str) -> dict:
        if file_id not in self.files:
            raise FakeError(404, f"No such File object: {file_id}", "id")
        return self.files[file_id]

    def create_batch(self, body: dict) -> dict:
        unknown = set(body) - BATCH_FIELDS
        if unknown:
            raise FakeError(400, f"Unrecognized request argument supplied: {sorted(unknown)[0]}")
        source = self.get_file(body.get("input_file_id", ""))
        if source["purpose"] != "batch":
            raise FakeError(400, "The input file must have purpose batch", "input_file_id")
        batch_id = f"batch_{next(self._ids):06d}xyz"
        now = self.now()
        self.batches[batch_id] = {
            "id": batch_id, "object": "batch", "endpoint": body["endpoint"], "errors": None,
            "input_file_id": source["id"], "completion_window": body["completion_window"],
            "status": "validating", "output_file_id": None, "error_file_id": None,
            "created_at": now, "in_progress_at": None, "expires_at": now + 86400, "finalizing_at": None,
            "completed_at": None, "failed_at": None, "expired_at": None, "cancelling_at": None,
            "cancelled_at": None, "request_counts": {"total": 0, "completed": 0, "failed": 0},
            "metadata": body.get("metadata"), "model": None, "usage": None,
        }
        return self.batches[batch_id]

    def poll_batch(self, batch_id: str) -> dict:
        batch = self.get_batch(batch_id)
        if batch["status"] == "cancelling":
            batch.update(status="cancelled", cancelled_at=self.now())
        elif batch["status"] in STEPS[:-1]:
            batch["status"] = STEPS[STEPS.index(batch["status"]) + 1]
            batch[f"{batch['status']}_at"] = self.now()
            if batch["status"] == "completed":
                self._complete(batch)
        return batch

    def get_batch(self, batch_id: str) -> dict:
        if batch_id not in self.batches:
            raise FakeError(404, f"No batch found with id '{batch_id}'.", "id")
        return self.batches[batch_id]

    def cancel_batch(self, batch_id: str) -> dict:
        batch = self.get_batch(batch_id)
        if batch["status"] in ("completed", "failed", "expired", "cancelled"):
            raise FakeError(400, f"Cannot cancel a batch with status '{batch['status']}'.")
        batch.update(status="cancelling", cancelling_at=self.now())
        return batch

    def _complete(self, batch: dict) -> None:
        lines = self.files[batch["input_file_id"]]["_content"].decode().splitlines()
        output, errors = [], []
        for number, raw in enumerate(line for line in lines if line.strip()):
            request = json.loads(raw)
            body = request["body"]
            if body.get("model") == "fail":
                errors.append({"id": f"batch_req_{number}", "custom_id": request["custom_id"], "response": {
                    "status_code": 400, "request_id": f"req_{number}",
                    "body": {"error": {"message": "The model `fail` does not exist", "type": "invalid_request_error",
                                       "param": "model", "code": "model_not_found"}}}, "error": None})
                continue
            # Each line answered with the body its endpoint returns (the same typed replies as the
            # synchronous endpoints), so responses/embeddings/completions batches get their own shapes.
            path = request["url"].removeprefix("/v1/")
            reply = getattr(SyncEndpoints, "_" + path.replace("/", "_"))(
                body, question(path, body), number, batch["created_at"])
            output.append({"id": f"batch_req_{number}", "custom_id": request["custom_id"], "response": {
                "status_code": 200, "request_id": f"req_{number}", "body": reply}, "error": None})
        batch["output_file_id"] = self.add_file(_jsonl(output), f"{batch['id']}_output.jsonl", "batch_output")["id"]
        if errors:
            batch["error_file_id"] = self.add_file(_jsonl(errors), f"{batch['id']}_error.jsonl", "batch_output")["id"]
        batch["request_counts"] = {"total": len(output) + len(errors), "completed": len(output), "failed": len(errors)}
        batch["model"] = next((json.loads(x)["body"]["model"] for x in lines if x.strip()), None)

    # HTTP layer

    def register(self, rsps: responses.RequestsMock) -> None:
        base = re.escape(self.base)
        routes = [
            ("POST", rf"{base}/files$", self._upload),
            ("GET", rf"{base}/files(\?.*)?$", self._list_files),
            ("GET", rf"{base}/files/([^/?]+)/content$", self._content),
            ("GET", rf"{base}/files/([^/?]+)$", self._retrieve_file),
            ("DELETE", rf"{base}/files/([^/?]+)$", self._delete_file),
            ("POST", rf"{base}/batches$", self._create_batch),
            ("GET", rf"{base}/batches(\?.*)?$", self._list_batches),
            ("GET", rf"{base}/batches/([^/?]+)$", self._retrieve_batch),
            ("POST", rf"{base}/batches/([^/?]+)/cancel$", self._cancel),
            ("POST", rf"{base}/uploads$", self._create_upload),
            ("POST", rf"{base}/uploads/([^/?]+)/parts$", self._add_part),
            ("POST", rf"{base}/uploads/([^/?]+)/complete$", self._complete_upload),
            ("POST", rf"{base}/uploads/([^/?]+)/cancel$", self._cancel_upload),
        ]
        for method, pattern, handler in routes:
            rsps.add_callback(method, re.compile(pattern), callback=self._wrap(handler, pattern))
        for path in PATHS:
            rsps.add_callback("POST", re.compile(rf"{base}/{path}$"), callback=self._sync(path))

    def _authenticate(self, request) -> None:
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or len(auth) <= 7:
            raise FakeError(401, "You didn't provide an API key.")
        self.keys_seen.add(auth[7:])

    def _wrap(self, handler, pattern):
        def callback(request):
            self.calls.append((request.method, request.path_url))
            match = re.match(pattern, request.url)
            try:
                self._authenticate(request)
                reply = handler(request, *match.groups())
                self._checked(openai_types.check_reply, reply)
                return 200, {"Content-Type": "application/json"}, json.dumps(reply)
            except _Raw as raw:
                return 200, {"Content-Type": "application/octet-stream"}, raw.content
            except FakeError as error:
                return _error(error)
        return callback

    def _sync(self, path: str):
        """A synchronous endpoint: the body checked as the SDK types it, the scripted or typed reply."""
        def callback(request):
            self.calls.append((request.method, request.path_url))
            try:
                self._authenticate(request)
                body = json.loads(request.body)
                self._checked(partial(openai_types.check_sync_request, path), body)
                reply, typed = self.sync.answer(path, body)
                if typed:
                    self._checked(partial(openai_types.check_sync_reply, path), reply)
            except SyncFailure as failure:
                return _error(FakeError(failure.status, failure.message, code=failure.code, headers=failure.headers))
            except FakeError as error:
                return _error(error)
            return 200, {"Content-Type": "application/json", "x-request-id": f"req_{len(self.sync.calls):04d}"}, \
                json.dumps(reply)
        return callback

    def _checked(self, check, value) -> None:
        """Run a contract check; a violation is recorded and answered as OpenAI would (400)."""
        try:
            check(value)
        except AssertionError as error:
            self.violations.append(str(error))
            raise FakeError(400, f"Invalid request: {error}") from None

    def _upload(self, request):
        body = request.body if isinstance(request.body, bytes) else b"".join(request.body)
        form_request = Request.from_values(input_stream=io.BytesIO(body), content_length=len(body),
                                           content_type=request.headers["Content-Type"], method="POST")
        fields = set(form_request.form) | set(form_request.files)
        self._checked(openai_types.check_upload, dict(form_request.form))
        unknown = fields - UPLOAD_FIELDS
        if unknown:
            raise FakeError(400, f"Unrecognized request argument supplied: {sorted(unknown)[0]}")
        upload = form_request.files["file"]
        return _public(self.add_file(upload.read(), upload.filename, form_request.form["purpose"]))

    def _list_files(self, request, _query=None):
        params = dict(request.params)
        items = sorted(self.files.values(), key=lambda f: f["created_at"], reverse=params.get("order") != "asc")
        if "purpose" in params:
            items = [f for f in items if f["purpose"] == params["purpose"]]
        return _paged(items, params, default_limit=10000)

    def _retrieve_file(self, request, file_id):
        return _public(self.get_file(file_id))

    def _delete_file(self, request, file_id):
        self.get_file(file_id)
        del self.files[file_id]
        return {"id": file_id, "object": "file", "deleted": True}

    def _content(self, request, file_id):
        raise _Raw(self.get_file(file_id)["_content"])

    def _create_batch(self, request):
        body = json.loads(request.body)
        self._checked(openai_types.check_batch_create, body)
        return self.create_batch(body)

    def _list_batches(self, request, _query=None):
        items = sorted(self.batches.values(), key=lambda b: b["created_at"], reverse=True)
        return _paged(items, dict(request.params), default_limit=20)

    def _retrieve_batch(self, request, batch_id):
        return self.poll_batch(batch_id)

    def _cancel(self, request, batch_id):
        if request.body:
            raise FakeError(400, "Cancel takes no body.")
        return self.cancel_batch(batch_id)


    # Uploads API: 64 MiB parts at most, the listed parts must add up to `bytes`, an optional hex md5

    def _pending_upload(self, upload_id: str) -> dict:
        if upload_id not in self.uploads:
            raise FakeError(404, f"No such Upload: {upload_id}", "upload_id")
        upload = self.uploads[upload_id]
        if upload["status"] != "pending":
            raise FakeError(400, f"Upload {upload_id} is {upload['status']}.", "upload_id")
        return upload

    def _create_upload(self, request):
        body = json.loads(request.body)
        self._checked(openai_types.check_upload_create, body)
        upload_id = f"upload_{next(self._ids):06d}abc"
        now = self.now()
        self.uploads[upload_id] = {
            "id": upload_id, "object": "upload", "bytes": body["bytes"], "created_at": now, "expires_at": now + 3600,
            "filename": body["filename"], "purpose": body["purpose"], "status": "pending", "file": None,
            "_parts": {}}
        return _public(self.uploads[upload_id])

    def _add_part(self, request, upload_id):
        upload = self._pending_upload(upload_id)
        body = request.body if isinstance(request.body, bytes) else b"".join(request.body)
        form_request = Request.from_values(input_stream=io.BytesIO(body), content_length=len(body),
                                           content_type=request.headers["Content-Type"], method="POST")
        unknown = (set(form_request.form) | set(form_request.files)) - {"data"}
        if unknown or "data" not in form_request.files:
            raise FakeError(400, f"Unrecognized request argument supplied: {sorted(unknown or {'data?'})[0]}")
        data = form_request.files["data"].read()
        if len(data) > 64 * 1024 * 1024:
            raise FakeError(400, "A part may be at most 64 MB.", "data")
        part_id = f"part_{next(self._ids):06d}def"
        upload["_parts"][part_id] = data
        return {"id": part_id, "object": "upload.part", "created_at": self.now(), "upload_id": upload_id}

    def _complete_upload(self, request, upload_id):
        upload = self._pending_upload(upload_id)
        body = json.loads(request.body)
        self._checked(openai_types.check_upload_complete, body)
        missing = [part for part in body["part_ids"] if part not in upload["_parts"]]
        if missing:
            raise FakeError(400, f"No such part: {missing[0]}", "part_ids")
        content = b"".join(upload["_parts"][part] for part in body["part_ids"])
        if len(content) != upload["bytes"]:
            raise FakeError(400, f"The parts hold {len(content)} bytes, not {upload['bytes']}.", "part_ids")
        if "md5" in body and hashlib.md5(content).hexdigest() != body["md5"]:
            raise FakeError(400, "The md5 does not match.", "md5")
        upload.update(status="completed", _parts={},
                      file=_public(self.add_file(content, upload["filename"], upload["purpose"])))
        return _public(upload)

    def _cancel_upload(self, request, upload_id):
        upload = self._pending_upload(upload_id)
        upload.update(status="cancelled", _parts={})
        return _public(upload)


class _Raw(Exception):
    def __init__(self, content: bytes) -> None:
        self.content = content


def _public(item: dict) -> dict:
    return {k: v for k, v in item.items() if not k.startswith("_")}


def _paged(items: list[dict], params: dict, default_limit: int) -> dict:
    if "after" in params:
        ids = [item["id"] for item in items]
        if params["after"] not in ids:
            raise FakeError(400, f"Invalid 'after': {params['after']}", "after")
        items = items[ids.index(params["after"]) + 1:]
    limit = int(params.get("limit", default_limit))
    page = [_public(item) for item in items[:limit]]
    return {"object": "list", "data": page, "first_id": page[0]["id"] if page else None,
            "last_id": page[-1]["id"] if page else None, "has_more": len(items) > limit}


def _jsonl(lines: list[dict]) -> bytes:
    return "".join(json.dumps(line) + "\n" for line in lines).encode()


def _error(error: FakeError):
    types = {401: "invalid_request_error", 404: "invalid_request_error", 429: "requests", 500: "server_error"}
    return error.status, {"Content-Type": "application/json", **error.headers}, json.dumps({"error": {
        "message": error.message, "type": types.get(error.status, "invalid_request_error"),
        "param": error.param, "code": error.code}})


class _Script:
    """OpenAI's results are OpenAI's own and relayed as they are: nothing to script."""

    def next_batch_has_an_unconvertible_line(self, custom_id: str) -> None:
        raise NotImplementedError("the gateway relays OpenAI's result files unconverted")

    def finish(self, batch_id: str) -> None:
        pass  # a batch advances one step per retrieve


@pytest.fixture
def openai_contract(rsps):
    """The OpenAI fake for the provider contract test (tests/fakes/contract.py)."""
    fake = FakeOpenAI()
    fake.register(rsps)
    yield ContractFake("openai", _Script(), model="gpt-4o-mini", converts_results=False)
    assert fake.violations == []
