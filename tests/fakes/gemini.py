"""A stateful fake of the Gemini Files and Batch API (v1beta) on `responses` (providers.md §C).

Backend methods hold the rules; the `_on_*` callbacks only parse and render. What it models:
- resumable upload: `start` answers `X-Goog-Upload-URL`, `upload, finalize` stores the bytes and
  creates the File (the client may choose `name`); chosen MIME types can be refused with
  400 "Unsupported MIME type" (`unsupported_mime_types`); an upload that looks like a batch input
  file (first line `{key, request}`) has every line checked as it arrives;
- files list (page tokens, newest first) / get / delete / download (generated files only);
- batches: create from a file of `{key, request}` lines or inline requests, state advancing on each
  GET (PENDING -> RUNNING -> SUCCEEDED), `batchStats` as strings with zeros omitted, a generated
  `responsesFile` with success lines and error lines (a request whose text contains "FAIL" fails
  with a google.rpc.Status), `:cancel` (CANCELLED on the next GET), list with page tokens;
  `scripted[key]` replaces the generated result of request `key` (a result line as a dict, or, for
  a results file, raw bytes written as they are);
- embeddings: `:asyncBatchEmbedContent` batches from a file of `{key, request: EmbedContentRequest}` lines
  (results `{key, response: {embedding: {values}, tokenCount}}`), and the synchronous
  `:batchEmbedContents` (an embedding per request, deterministic values);
- `models/{model}:generateContent` (the synchronous API, for gateway-run batches): the same deterministic
  answer a batch request gets (`responseId` `resp-gc<n>`); a request whose text contains "FAIL" is
  refused with 400 INVALID_ARGUMENT; `realtime_errors[text]` lists errors (`FakeError`, e.g. 429
  RESOURCE_EXHAUSTED or 500 INTERNAL) answered in turn to the calls whose text is `text`, before
  they succeed; `generated` records `(model, request)` of each call answered;
- every call must carry `x-goog-api-key: <api_key>`.

Checked against the official types (tests/contracts/genai_types.py), in every test run: every request
the gateway sends (upload start/finish headers and body, batch create body, each `{key, request}` line
of an input file, each inline request and each generateContent request) and every reply the fake
sends (Files, Operations, list pages, result lines, GenerateContentResponses, error bodies). A request
that breaks them gets 400 INVALID_ARGUMENT, as Gemini answers; a reply that breaks them is not sent
(500 INTERNAL). Both are recorded in `violations`, which `assert_no_violations` (the fixtures'
teardown, via `checked_fakes`) turns into a failure.
Values a newer Gemini may send are exempt only where a test says so: `unchecked` holds batch and
file names, and result keys, whose replies deliberately go beyond the SDK types.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from google.genai import types

from tests.contracts import genai_types as contract
from tests.fakes import fake_base
from tests.fakes.contract import ContractFake

GEMINI_BASE = fake_base("gemini")

STATE_PREFIX = "BATCH_STATE_"
_EPOCH = 1_735_689_600  # 2025-01-01T00:00:00Z


class FakeError(Exception):
    def __init__(self, code: int, status: str, message: str) -> None:
        super().__init__(message)
        self.code, self.status, self.message = code, status, message

    def body(self) -> str:
        body = {"error": {"code": self.code, "message": self.message, "status": self.status}}
        contract.check_error_reply(body)
        return json.dumps(body)


class BrokenRaw(io.RawIOBase):
    """A body that breaks after `after` bytes, as a dropped connection does."""

    def __init__(self, data: bytes, after: int) -> None:
        self._data, self._after, self._offset = data, after, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self._offset >= self._after:
            raise ConnectionResetError("connection reset by peer (fake)")
        size = min(len(buffer), self._after - self._offset)
        buffer[:size] = self._data[self._offset:self._offset + size]
        self._offset += size
        return size


def _time(seconds: int) -> str:
    return datetime.fromtimestamp(_EPOCH + seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S") + ".123456789Z"


def public(obj: dict) -> dict:
    """The wire form of a stored object: keys starting with "_" are the fake's own."""
    return {k: v for k, v in obj.items() if not k.startswith("_")}


def _is_batch_input(data: bytes) -> bool:
    """Whether an upload looks like a batch input file (its first line a `{key, request}` object):
    those are checked line by line as they arrive, whatever MIME type they went up as."""
    first = data.lstrip().split(b"\n", 1)[0]
    try:
        line = json.loads(first) if first else None
    except ValueError:
        return False
    return isinstance(line, dict) and "key" in line and "request" in line


def _texts(request: dict) -> str:
    turns = [request["content"]] if "content" in request else request.get("contents", [])
    return " ".join(part.get("text", "") for turn in turns for part in turn.get("parts", []))


def _is_embed(request: dict) -> bool:
    """Whether a request is an EmbedContentRequest (`content`) rather than a GenerateContentRequest (`contents`)."""
    return "content" in request


def _vector(text: str, dimensions: int | None) -> list[float]:
    """A deterministic embedding of `text` (8 values, or `outputDimensionality`)."""
    return [round((len(text) + i) / 100, 4) for i in range(dimensions or 8)]


class FakeGemini:
    def __init__(self, base: str = GEMINI_BASE, api_key: str = "sk-test-key", polls_until_running: int = 1,
                 polls_until_done: int = 2, unsupported_mime_types: tuple[str, ...] = (),
                 state_prefix: str = STATE_PREFIX, keep_uploads: bool = True,
                 break_downloads_after: int | None = None) -> None:
        self.base = base
        self.api_key = api_key
        self.polls_until_running = polls_until_running
        self.polls_until_done = polls_until_done
        self.unsupported_mime_types = set(unsupported_mime_types)
        self.state_prefix = state_prefix
        self.keep_uploads = keep_uploads  # False: count uploaded bytes without keeping them (memory tests)
        self.break_downloads_after = break_downloads_after  # bytes a download sends before the connection drops
        self.scripted: dict[str, dict | bytes] = {}  # request key -> its result line (see the module docstring)
        self.unchecked: set[str] = set()  # names and keys whose replies are deliberately off-spec
        self.violations: list[str] = []
        self.files: dict[str, dict] = {}
        self.uploads: dict[str, dict] = {}
        self.batches: dict[str, dict] = {}
        self.upload_starts: list[str] = []  # the MIME type of each upload start, in order
        self.list_calls = 0
        self.realtime_errors: dict[str, list[FakeError]] = {}  # request text -> errors answered in turn
        self.generated: list[tuple[str, dict]] = []  # (model, request) of each generateContent answered
        self._seq = 0

    # backend: files

    def _tick(self) -> int:
        self._seq += 1
        return self._seq

    def start_upload(self, size: int, mime_type: str, meta: dict) -> str:
        self.upload_starts.append(mime_type)
        if mime_type in self.unsupported_mime_types:
            raise FakeError(400, "INVALID_ARGUMENT", f"Unsupported MIME type: {mime_type}")
        name = meta.get("name") or f"files/up{self._tick():06d}"
        if not re.fullmatch(r"files/[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?", name):
            raise FakeError(400, "INVALID_ARGUMENT", f"Invalid file name {name!r}")
        if name in self.files:
            raise FakeError(409, "ALREADY_EXISTS", f"File {name} already exists.")
        upload_id = f"upload-{self._tick()}"
        self.uploads[upload_id] = {"name": name, "size": size, "mimeType": mime_type,
                                   "displayName": meta.get("displayName")}
        return f"{self.base}/upload/v1beta/files?upload_id={upload_id}&upload_protocol=resumable"

    def finish_upload(self, upload_id: str, headers, body) -> dict:
        session = self.uploads.pop(upload_id, None)
        if session is None:
            raise FakeError(404, "NOT_FOUND", "No such upload session.")
        data = bytearray()
        size = 0
        for chunk in iter(lambda: body.read(64 * 1024), b""):
            size += len(chunk)
            if self.keep_uploads:
                data += chunk
        contract.check_upload_finish(headers, size)
        offset = headers.get("X-Goog-Upload-Offset")
        if offset != "0" or size != session["size"]:
            raise FakeError(400, "INVALID_ARGUMENT", f"Expected {session['size']} bytes at offset 0, got "
                                                     f"{size} at {offset}.")
        if _is_batch_input(data):
            self._check_input(session["name"], data)
        file = self._add_file(session["name"], bytes(data), session["mimeType"], "UPLOADED", session["displayName"])
        file["sizeBytes"] = str(size)
        return file

    def _add_file(self, name: str, data: bytes, mime_type: str, source: str, display_name: str | None) -> dict:
        created = self._tick()
        file = {"name": name, "mimeType": mime_type, "sizeBytes": str(len(data)),
                "createTime": _time(created), "updateTime": _time(created),
                "expirationTime": _time(created + 48 * 3600), "sha256Hash": "ZmFrZQ==",
                "uri": f"{self.base}/v1beta/{name}", "state": "ACTIVE", "source": source,
                "_content": data, "_seq": created}
        if display_name:
            file["displayName"] = display_name
        if source == "GENERATED":
            file["downloadUri"] = f"{self.base}/download/v1beta/{name}:download?alt=media"
        self.files[name] = file
        return file

    def get_file(self, name: str) -> dict:
        if name not in self.files:
            raise FakeError(404, "NOT_FOUND", f"File {name} not found.")
        return self.files[name]

    def delete_file(self, name: str) -> None:
        self.get_file(name)
        del self.files[name]

    def download(self, name: str) -> bytes:
        file = self.get_file(name)
        if file["source"] != "GENERATED":
            raise FakeError(400, "FAILED_PRECONDITION", "Only generated files can be downloaded.")
        return file["_content"]

    def _page(self, items: list[dict], page_size: int, token: str | None) -> tuple[list[dict], str | None]:
        start = int(token or 0)
        size = min(page_size or 10, 100)
        rest = items[start:start + size]
        return rest, (str(start + size) if start + size < len(items) else None)

    def list_files(self, page_size: int, token: str | None) -> dict:
        self.list_calls += 1
        files = sorted(self.files.values(), key=lambda f: -f["_seq"])
        page, next_token = self._page(files, page_size, token)
        body: dict = {"files": [public(f) for f in page]}
        if next_token:
            body["nextPageToken"] = next_token
        return body

    # backend: batches

    def create_batch(self, model: str, body: dict, embeddings: bool = False) -> dict:
        contract.check_batch_create(body)  # also each inline request
        batch = body["batch"]
        config = batch["inputConfig"]
        if embeddings and "fileName" not in config:
            raise FakeError(400, "INVALID_ARGUMENT", "the gateway sends embeddings batches as files only")
        if "fileName" in config:
            lines = self.download_input(config["fileName"], embeddings)
        else:
            lines = [{"key": r["metadata"]["key"], "request": r["request"]} for r in config["requests"]["requests"]]
        created = self._tick()
        name = f"batches/fake{created:06d}"
        kind = contract.EMBED_BATCH_TYPE if embeddings else contract.BATCH_TYPE
        meta = {"@type": kind, "name": name, "displayName": batch.get("displayName", ""),
                "model": f"models/{model}", "state": self.state_prefix + "PENDING",
                "createTime": _time(created), "updateTime": _time(created),
                "batchStats": {"requestCount": str(len(lines)), "pendingRequestCount": str(len(lines))},
                "inputConfig": config}
        self.batches[name] = {"name": name, "metadata": meta, "_polls": 0, "_lines": lines, "_cancelled": False,
                              "_seq": created, "_inline": "requests" in config, "_embeddings": embeddings}
        return self.batches[name]

    def download_input(self, file_name: str, embeddings: bool = False) -> list[dict]:
        return self._check_input(file_name, self.get_file(file_name)["_content"], embeddings)

    @staticmethod
    def _check_input(file_name: str, data: bytes, embeddings: bool | None = None) -> list[dict]:
        """The `{key, request}` lines of a batch input file, each checked against the SDK types: all
        EmbedContentRequests for an embeddings batch, else all GenerateContentRequests (`None`: the first
        line tells, as an upload is checked before any batch names it)."""
        lines = []
        for number, raw in enumerate(data.split(b"\n"), start=1):
            if not raw.strip():
                continue
            try:
                line = json.loads(raw)
            except ValueError:
                raise FakeError(400, "INVALID_ARGUMENT", f"{file_name} line {number} is not JSON.") from None
            if embeddings is None:
                embeddings = isinstance(line, dict) and isinstance(line.get("request"), dict) and \
                    _is_embed(line["request"])
            contract.check_batch_line(line, f"{file_name} line {number}", embeddings)
            lines.append(line)
        return lines

    def get_batch(self, name: str) -> dict:
        batch = self._batch(name)
        if batch.get("done"):
            return batch
        batch["_polls"] += 1
        meta = batch["metadata"]
        meta["updateTime"] = _time(self._tick())
        if batch["_cancelled"]:
            # Cancellation takes effect one poll after the first look (Gemini has no "cancelling" state).
            batch["_cancel_polls"] += 1
            if batch["_cancel_polls"] > 1:
                self._finish(batch, "CANCELLED")
        elif batch["_polls"] >= self.polls_until_done:
            self._succeed(batch)
        elif batch["_polls"] >= self.polls_until_running:
            meta["state"] = self.state_prefix + "RUNNING"
        return batch

    def _batch(self, name: str) -> dict:
        if name not in self.batches:
            raise FakeError(404, "NOT_FOUND", f"Batch {name} not found.")
        return self.batches[name]

    def _finish(self, batch: dict, state: str) -> None:
        meta = batch["metadata"]
        meta["state"] = self.state_prefix + state
        meta["endTime"] = meta["updateTime"]
        batch["done"] = True

    def _succeed(self, batch: dict) -> None:
        results = [self.scripted.get(line["key"]) or self._result(line, batch["metadata"]["model"])
                   for line in batch["_lines"]]
        failed = sum(1 for r in results if not isinstance(r, dict) or "response" not in r)
        stats = {"requestCount": str(len(results))}
        if len(results) - failed:
            stats["successfulRequestCount"] = str(len(results) - failed)
        if failed:
            stats["failedRequestCount"] = str(failed)
        batch["metadata"]["batchStats"] = stats
        if batch["_inline"]:
            inlined = [{"metadata": {"key": r["key"]}, **{k: v for k, v in r.items() if k != "key"}}
                       for r in results]
            output = {"@type": contract.BATCH_OUTPUT_TYPE,
                      "inlinedResponses": {"inlinedResponses": inlined}}
        else:
            data = b"".join((r if isinstance(r, bytes) else json.dumps(r).encode()) + b"\n" for r in results)
            name = f"files/batch-{batch['name'].rpartition('/')[2]}"
            self._add_file(name, data, "application/jsonl", "GENERATED", None)
            output = {"@type": contract.EMBED_BATCH_OUTPUT_TYPE if batch["_embeddings"] else contract.BATCH_OUTPUT_TYPE,
                      "responsesFile": name}
        batch["response"] = output
        batch["metadata"]["output"] = output
        self._finish(batch, "SUCCEEDED")

    def _result(self, line: dict, model: str) -> dict:
        request = line["request"]
        text = _texts(request)
        if "FAIL" in text:
            # A google.rpc.Status: `code` is the google.rpc.Code number (3: INVALID_ARGUMENT).
            return {"key": line["key"], "error": {"code": 3, "message": "Request contains an invalid argument."}}
        if _is_embed(request):
            return {"key": line["key"], "response": {
                "embedding": {"values": _vector(text, request.get("outputDimensionality"))},
                "tokenCount": len(text.split())}}
        declarations = [d for tool in request.get("tools", []) for d in tool.get("functionDeclarations", [])]
        if declarations:
            parts = [{"functionCall": {"name": declarations[0]["name"], "args": {"query": text}}}]
        else:
            parts = [{"text": "Let me think.", "thought": True}, {"text": f"Answer: {text}"}]
        prompt = len(text.split())
        return {"key": line["key"], "response": {
            "candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": "STOP", "index": 0}],
            "usageMetadata": {"promptTokenCount": prompt, "candidatesTokenCount": 3, "thoughtsTokenCount": 2,
                              "totalTokenCount": prompt + 5},
            "modelVersion": model.removeprefix("models/") + "-001",
            "responseId": f"resp-{line['key']}",
        }}

    # backend: the synchronous API

    def generate(self, model: str, request: dict) -> dict:
        """One generateContent call: the GenerateContentResponse a batch request with this body would get."""
        contract.check_generate_content_request(request)
        text = _texts(request)
        if self.realtime_errors.get(text):
            raise self.realtime_errors[text].pop(0)
        result = self._result({"key": f"gc{self._tick():06d}", "request": request}, f"models/{model}")
        if "error" in result:  # the FAIL marker: refused as Gemini refuses an invalid request
            raise FakeError(400, "INVALID_ARGUMENT", result["error"]["message"])
        self.generated.append((model, request))
        return result["response"]

    def batch_embed(self, model: str, body: dict) -> dict:
        """One batchEmbedContents call: an embedding per request, in order (`usageMetadata` left out, as the
        REST reference makes it optional)."""
        contract.check_batch_embed_contents(body)
        if any(request["model"] != f"models/{model}" for request in body["requests"]):
            raise FakeError(400, "INVALID_ARGUMENT", "every request must name the model of the URL")
        texts = [_texts(request) for request in body["requests"]]
        if any("FAIL" in text for text in texts):
            raise FakeError(400, "INVALID_ARGUMENT", "Request contains an invalid argument.")
        self.generated.append((model, body))
        return {"embeddings": [{"values": _vector(text, request.get("outputDimensionality"))}
                               for text, request in zip(texts, body["requests"], strict=True)]}

    def cancel_batch(self, name: str) -> None:
        batch = self._batch(name)
        if batch.get("done"):
            raise FakeError(400, "FAILED_PRECONDITION", f"Batch {name} has already finished.")
        batch["_cancelled"] = True
        batch["_cancel_polls"] = 0

    def list_batches(self, page_size: int, token: str | None) -> dict:
        self.list_calls += 1
        batches = sorted(self.batches.values(), key=lambda b: -b["_seq"])
        page, next_token = self._page(batches, page_size, token)
        body: dict = {"operations": [public(b) for b in page]}
        if next_token:
            body["nextPageToken"] = next_token
        return body

    # checks (tests/contracts/genai_types.py)

    def assert_no_violations(self) -> None:
        assert not self.violations, "the Gemini fake saw requests or replies the SDK types refuse:\n" + \
            "\n".join(self.violations)

    def _checked_operation(self, operation: dict) -> dict:
        """An Operation as the checks see it: the unchecked inline results left out, and the docs'
        JOB_STATE_ spelling (`state_prefix`, which the SDK does not read) put back as BATCH_STATE_."""
        view = json.loads(json.dumps(operation))
        meta = view["metadata"]
        meta["state"] = STATE_PREFIX + meta["state"].removeprefix(self.state_prefix)
        for output in (view.get("response"), meta.get("output")):
            items = ((output or {}).get("inlinedResponses") or {}).get("inlinedResponses")
            if items:
                items[:] = [i for i in items if (i.get("metadata") or {}).get("key") not in self.unchecked]
        return view

    def _check_operation(self, operation: dict) -> None:
        if operation["name"] not in self.unchecked:
            contract.check_operation(self._checked_operation(operation))

    def _check_results(self, data: bytes) -> None:
        raw_lines = {v for k, v in self.scripted.items() if isinstance(v, bytes) and k in self.unchecked}
        for number, raw in enumerate(data.split(b"\n"), start=1):
            if not raw.strip() or raw in raw_lines:
                continue
            try:
                line = json.loads(raw)
            except ValueError:
                line = None
            if not isinstance(line, dict) or line.get("key") not in self.unchecked:
                contract.check_result_line(line, f"result line {number}")

    # HTTP layer

    def register(self, rsps: responses.RequestsMock) -> FakeGemini:
        b = re.escape(self.base)
        q = r"(\?.*)?$"
        routes = [
            ("POST", rf"^{b}/upload/v1beta/files{q}", self._on_upload),
            ("GET", rf"^{b}/v1beta/files{q}", self._on_list_files),
            ("GET", rf"^{b}/v1beta/files/([a-z0-9-]+):download{q}", self._on_download),
            ("GET", rf"^{b}/v1beta/files/([a-z0-9-]+){q}", self._on_get_file),
            ("DELETE", rf"^{b}/v1beta/files/([a-z0-9-]+){q}", self._on_delete_file),
            ("POST", rf"^{b}/v1beta/models/([A-Za-z0-9._-]+):batchGenerateContent{q}", self._on_create_batch),
            ("POST", rf"^{b}/v1beta/models/([A-Za-z0-9._-]+):generateContent{q}", self._on_generate),
            ("POST", rf"^{b}/v1beta/models/([A-Za-z0-9._-]+):asyncBatchEmbedContent{q}", self._on_create_embed_batch),
            ("POST", rf"^{b}/v1beta/models/([A-Za-z0-9._-]+):batchEmbedContents{q}", self._on_batch_embed),
            ("GET", rf"^{b}/v1beta/batches{q}", self._on_list_batches),
            ("GET", rf"^{b}/v1beta/batches/([a-z0-9-]+){q}", self._on_get_batch),
            ("POST", rf"^{b}/v1beta/batches/([a-z0-9-]+):cancel{q}", self._on_cancel),
        ]
        for method, pattern, handler in routes:
            regex = re.compile(pattern)
            rsps.add_callback(method, regex, callback=self._wrap(regex, handler))
        return self

    def _wrap(self, regex: re.Pattern, handler):
        def callback(request):
            if request.headers.get("x-goog-api-key") != self.api_key:
                return 400, {}, FakeError(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key."
                                          ).body()
            match = regex.match(request.url)
            try:
                return handler(request, *[g for g in match.groups() if g is not None and not g.startswith("?")])
            except FakeError as error:
                return error.code, {"Content-Type": "application/json"}, error.body()
            except contract.ContractViolation as violation:
                self.violations.append(f"{request.method} {request.url}: {violation}")
                return 400, {"Content-Type": "application/json"}, FakeError(400, "INVALID_ARGUMENT",
                                                                            str(violation)).body()
        return callback

    def _reply(self, body: dict, check: Callable[[dict], None] | None = None, name: str | None = None):
        """A 200 JSON reply, checked first unless `name` is unchecked; a reply that breaks the types is
        not sent."""
        if check is not None and name not in self.unchecked:
            try:
                check(body)
            except contract.ContractViolation as violation:
                self.violations.append(f"reply: {violation}")
                return 500, {}, FakeError(500, "INTERNAL", f"the fake's reply breaks the SDK types: {violation}"
                                          ).body()
        return 200, {"Content-Type": "application/json"}, json.dumps(body)

    @staticmethod
    def _query(request) -> dict:
        return {k: v[0] for k, v in parse_qs(urlsplit(request.url).query).items()}

    @staticmethod
    def _page_query(request) -> tuple[int, str | None]:
        query = FakeGemini._query(request)
        size = query.get("pageSize", "10")
        if not size.isdigit() or not 0 < int(size) <= 1000:
            raise FakeError(400, "INVALID_ARGUMENT", f"Invalid pageSize {size!r}.")
        return int(size), query.get("pageToken")

    @staticmethod
    def _stream(request):
        """The request body as a `read()`-able object (requests sends a file object as is)."""
        body = request.body
        if hasattr(body, "read"):
            return body
        return io.BytesIO(body.encode() if isinstance(body, str) else (body or b""))

    def _body(self, request) -> bytes:
        return self._stream(request).read()

    def _json(self, request) -> dict:
        try:
            body = json.loads(self._body(request) or b"{}")
        except ValueError:
            raise FakeError(400, "INVALID_ARGUMENT", "Invalid JSON payload received.") from None
        if not isinstance(body, dict):
            raise FakeError(400, "INVALID_ARGUMENT", "Invalid JSON payload received.")
        return body

    def _on_upload(self, request, *_):
        command = request.headers.get("X-Goog-Upload-Command", "")
        if command == "start":
            body = self._json(request)
            contract.check_upload_start(request.headers, body)
            url = self.start_upload(int(request.headers["X-Goog-Upload-Header-Content-Length"]),
                                    request.headers["X-Goog-Upload-Header-Content-Type"], body.get("file", {}))
            return 200, {"X-Goog-Upload-URL": url, "X-Goog-Upload-Status": "active"}, ""
        if command == "upload, finalize":
            upload_id = self._query(request).get("upload_id", "")
            file = self.finish_upload(upload_id, request.headers, self._stream(request))
            status, headers, body = self._reply({"file": public(file)}, lambda b: contract.check_file(b["file"]),
                                                file["name"])
            return status, {**headers, "X-Goog-Upload-Status": "final"}, body
        raise FakeError(400, "INVALID_ARGUMENT", f"Unsupported upload command {command!r}.")

    def _on_list_files(self, request, *_):
        body = self.list_files(*self._page_query(request))
        if any(f["name"] in self.unchecked for f in body["files"]):
            return self._reply(body)
        return self._reply(body, contract.check_file_list)

    def _on_download(self, request, file_id, *_):
        if self._query(request).get("alt") != "media":
            raise FakeError(400, "INVALID_ARGUMENT", "alt=media is required.")
        name = f"files/{file_id}"
        data = self.download(name)
        if name not in self.unchecked:
            try:
                self._check_results(data)
            except contract.ContractViolation as violation:
                self.violations.append(f"download {name}: {violation}")
                return 500, {}, FakeError(500, "INTERNAL", f"the fake's results break the SDK types: {violation}"
                                          ).body()
        if self.break_downloads_after is not None:
            data = io.BufferedReader(BrokenRaw(data, self.break_downloads_after))
        return 200, {"Content-Type": "application/octet-stream"}, data

    def _on_get_file(self, request, file_id, *_):
        file = public(self.get_file(f"files/{file_id}"))
        return self._reply(file, contract.check_file, file["name"])

    def _on_delete_file(self, request, file_id, *_):
        self.delete_file(f"files/{file_id}")
        return self._reply({})

    def _on_create_batch(self, request, model, *_):
        operation = public(self.create_batch(model, self._json(request)))
        return self._reply(operation, self._check_operation)

    def _on_create_embed_batch(self, request, model, *_):
        operation = public(self.create_batch(model, self._json(request), embeddings=True))
        return self._reply(operation, self._check_operation)

    def _on_batch_embed(self, request, model, *_):
        return self._reply(self.batch_embed(model, self._json(request)),
                           lambda body: contract.strict(types.EmbedContentResponse, body, "EmbedContentResponse"))

    def _on_generate(self, request, model, *_):
        return self._reply(self.generate(model, self._json(request)), contract.check_generate_content_response)

    def _on_list_batches(self, request, *_):
        body = self.list_batches(*self._page_query(request))

        def check(body: dict) -> None:
            listed = {**body, "operations": [self._checked_operation(o) for o in body["operations"]
                                             if o["name"] not in self.unchecked]}
            contract.check_operation_list(listed)

        return self._reply(body, check)

    def _on_get_batch(self, request, batch_id, *_):
        return self._reply(public(self.get_batch(f"batches/{batch_id}")), self._check_operation)

    def _on_cancel(self, request, batch_id, *_):
        if self._body(request):
            raise FakeError(400, "INVALID_ARGUMENT", "cancel takes no body.")
        self.cancel_batch(f"batches/{batch_id}")
        return self._reply({})


def checked_fakes(rsps: responses.RequestsMock) -> Iterator[Callable[..., FakeGemini]]:
    """For a fixture: yields `make(**options)`, which registers a FakeGemini on `rsps`; at teardown,
    every fake made must have seen no request or reply the SDK types refuse."""
    made: list[FakeGemini] = []

    def make(**options) -> FakeGemini:
        made.append(FakeGemini(**options).register(rsps))
        return made[-1]

    yield make
    for fake in made:
        fake.assert_no_violations()


# Results holding every value google-genai declares, and results beyond it (for scripted batches)


def _response(parts: list[dict], finish: str | None = "STOP", key: str = "r") -> dict:
    candidate: dict = {"content": {"role": "model", "parts": parts}, "index": 0}
    if finish is not None:
        candidate["finishReason"] = finish
    return {"candidates": [candidate],
            "usageMetadata": {"promptTokenCount": 4, "candidatesTokenCount": 2, "totalTokenCount": 6},
            "modelVersion": "gemini-2.5-flash-001", "responseId": f"resp-{key}"}


def declared_results() -> dict[str, dict]:
    """Request key -> a result line valid by the SDK types, together holding every FinishReason (with
    text, and with a function call), every BlockedReason, every google.rpc.Code error and every Part
    field of google-genai."""
    results: dict[str, dict] = {}
    for reason in contract.values(types.FinishReason):
        results[f"finish-{reason}"] = {"key": f"finish-{reason}", "response": _response(
            [{"text": f"ended by {reason}"}], reason, f"finish-{reason}")}
        results[f"call-{reason}"] = {"key": f"call-{reason}", "response": _response(
            [{"functionCall": {"name": "lookup", "args": {"q": reason}}}], reason, f"call-{reason}")}
    for reason in contract.values(types.BlockedReason):
        results[f"blocked-{reason}"] = {"key": f"blocked-{reason}", "response": {
            "promptFeedback": {"blockReason": reason}, "usageMetadata": {"promptTokenCount": 4},
            "responseId": f"resp-blocked-{reason}"}}
    for name, (code, _) in contract.RPC_CODES.items():
        if code:
            results[f"error-{name}"] = {"key": f"error-{name}", "error": {"code": code, "message": f"{name} here"}}
    parts = [{field: contract.example(annotation)} for field, annotation in contract.part_fields().items()]
    for part in parts:
        if "functionCall" in part:
            part["functionCall"] = {"name": "lookup", "args": {}}
        if "thought" in part:
            part["text"] = "a thought"
    results["every-part"] = {"key": "every-part", "response": _response(parts, "STOP", "every-part")}
    return results


def off_spec_results() -> dict[str, dict | bytes]:
    """Request key -> a result beyond the SDK types: values a newer Gemini may send, and lines the
    gateway cannot convert (one that keeps its key; one that is not JSON, whose key is lost)."""
    return {
        "new-finish": {"key": "new-finish", "response": _response([{"text": "ok"}], "BRAND_NEW_REASON", "new-finish")},
        "new-block": {"key": "new-block", "response": {"promptFeedback": {"blockReason": "BRAND_NEW_BLOCK"}}},
        "new-part": {"key": "new-part", "response": _response(
            [{"hologram": {"depth": 3}}, {"text": "still here"}], "STOP", "new-part")},
        "new-code": {"key": "new-code", "error": {"code": 42, "message": "a code newer than code.proto"}},
        "unconvertible": {"key": "unconvertible", "response": {"candidates": "not a list"}},
        "not-json": b'{"key": "not-json", "response": {"candidates": [',
    }


class _ContractScript:
    def __init__(self, fake: FakeGemini) -> None:
        self.fake = fake

    def next_batch_has_an_unconvertible_line(self, custom_id: str) -> None:
        self.fake.scripted[custom_id] = {"key": custom_id, "response": {"candidates": "not a list"}}
        self.fake.unchecked.add(custom_id)  # off the google-genai types on purpose

    def finish(self, batch_id: str) -> None:
        pass  # a batch succeeds after `polls_until_done` reads


@pytest.fixture
def gemini_contract(rsps):
    """The Gemini fake for the provider contract test (tests/fakes/contract.py)."""
    with contextlib.contextmanager(checked_fakes)(rsps) as make:
        fake = make()
        yield ContractFake("gemini", _ContractScript(fake), model="gemini-2.5-flash",
                           create_body={"model": "gemini-2.5-flash"})
