"""A stateful fake of the Gemini Files and Batch API (v1beta) on `responses` (providers.md §C).

Backend methods hold the rules; the `_on_*` callbacks only parse and render. What it models:
- resumable upload: `start` answers `X-Goog-Upload-URL`, `upload, finalize` stores the bytes and
  creates the File (the client may choose `name`); chosen MIME types can be refused with
  400 "Unsupported MIME type" (`unsupported_mime_types`);
- files list (page tokens, newest first) / get / delete / download (generated files only);
- batches: create from a file of `{key, request}` lines or inline requests, state advancing on each
  GET (PENDING -> RUNNING -> SUCCEEDED), `batchStats` as strings with zeros omitted, a generated
  `responsesFile` with success lines and error lines (a request whose text contains "FAIL" fails),
  `:cancel` (CANCELLED on the next GET), list with page tokens;
- every call must carry `x-goog-api-key: <api_key>`.
"""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import responses

from tests.conftest import GEMINI_BASE

STATE_PREFIX = "BATCH_STATE_"
_EPOCH = 1_735_689_600  # 2025-01-01T00:00:00Z
_BATCH_TYPE = "type.googleapis.com/google.ai.generativelanguage.v1beta.GenerateContentBatch"


class FakeError(Exception):
    def __init__(self, code: int, status: str, message: str) -> None:
        super().__init__(message)
        self.code, self.status, self.message = code, status, message

    def body(self) -> str:
        return json.dumps({"error": {"code": self.code, "message": self.message, "status": self.status}})


def _time(seconds: int) -> str:
    return datetime.fromtimestamp(_EPOCH + seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S") + ".123456789Z"


def public(obj: dict) -> dict:
    """The wire form of a stored object: keys starting with "_" are the fake's own."""
    return {k: v for k, v in obj.items() if not k.startswith("_")}


def _texts(request: dict) -> str:
    return " ".join(part.get("text", "") for turn in request.get("contents", []) for part in turn.get("parts", []))


class FakeGemini:
    def __init__(self, base: str = GEMINI_BASE, api_key: str = "sk-test-key", polls_until_running: int = 1,
                 polls_until_done: int = 2, unsupported_mime_types: tuple[str, ...] = (),
                 state_prefix: str = STATE_PREFIX, keep_uploads: bool = True) -> None:
        self.base = base
        self.api_key = api_key
        self.polls_until_running = polls_until_running
        self.polls_until_done = polls_until_done
        self.unsupported_mime_types = set(unsupported_mime_types)
        self.state_prefix = state_prefix
        self.keep_uploads = keep_uploads  # False: count uploaded bytes without keeping them (memory tests)
        self.files: dict[str, dict] = {}
        self.uploads: dict[str, dict] = {}
        self.batches: dict[str, dict] = {}
        self.upload_starts: list[str] = []  # the MIME type of each upload start, in order
        self.list_calls = 0
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

    def finish_upload(self, upload_id: str, offset: str, body) -> dict:
        session = self.uploads.pop(upload_id, None)
        if session is None:
            raise FakeError(404, "NOT_FOUND", "No such upload session.")
        data = bytearray()
        size = 0
        for chunk in iter(lambda: body.read(64 * 1024), b""):
            size += len(chunk)
            if self.keep_uploads:
                data += chunk
        if offset != "0" or size != session["size"]:
            raise FakeError(400, "INVALID_ARGUMENT", f"Expected {session['size']} bytes at offset 0, got "
                                                     f"{size} at {offset}.")
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

    def create_batch(self, model: str, batch: dict) -> dict:
        config = batch.get("inputConfig") or {}
        if "fileName" in config:
            lines = self.download_input(config["fileName"])
        elif "requests" in config:
            lines = [{"key": r["metadata"]["key"], "request": r["request"]} for r in config["requests"]["requests"]]
        else:
            raise FakeError(400, "INVALID_ARGUMENT", "inputConfig is required.")
        created = self._tick()
        name = f"batches/fake{created:06d}"
        meta = {"@type": _BATCH_TYPE, "name": name, "displayName": batch.get("displayName", ""),
                "model": f"models/{model}", "state": self.state_prefix + "PENDING",
                "createTime": _time(created), "updateTime": _time(created),
                "batchStats": {"requestCount": str(len(lines)), "pendingRequestCount": str(len(lines))},
                "inputConfig": config}
        self.batches[name] = {"name": name, "metadata": meta, "_polls": 0, "_lines": lines, "_cancelled": False,
                              "_seq": created, "_inline": "requests" in config}
        return self.batches[name]

    def download_input(self, file_name: str) -> list[dict]:
        file = self.get_file(file_name)
        lines = []
        for number, raw in enumerate(file["_content"].split(b"\n"), start=1):
            if not raw.strip():
                continue
            line = json.loads(raw)
            if not isinstance(line.get("key"), str) or "contents" not in line.get("request", {}):
                raise FakeError(400, "INVALID_ARGUMENT", f"Line {number} is not a {{key, request}} line.")
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
        results = [self._result(line, batch["metadata"]["model"]) for line in batch["_lines"]]
        failed = sum(1 for r in results if "error" in r)
        stats = {"requestCount": str(len(results))}
        if len(results) - failed:
            stats["successfulRequestCount"] = str(len(results) - failed)
        if failed:
            stats["failedRequestCount"] = str(failed)
        batch["metadata"]["batchStats"] = stats
        if batch["_inline"]:
            inlined = [{"metadata": {"key": r.pop("key")}, **r} for r in results]
            output = {"@type": "type.googleapis.com/google.ai.generativelanguage.v1beta.GenerateContentBatchOutput",
                      "inlinedResponses": {"inlinedResponses": inlined}}
        else:
            data = b"".join(json.dumps(r).encode() + b"\n" for r in results)
            name = f"files/batch-{batch['name'].rpartition('/')[2]}"
            self._add_file(name, data, "application/jsonl", "GENERATED", None)
            output = {"@type": "type.googleapis.com/google.ai.generativelanguage.v1beta.GenerateContentBatchOutput",
                      "responsesFile": name}
        batch["response"] = output
        batch["metadata"]["output"] = output
        self._finish(batch, "SUCCEEDED")

    def _result(self, line: dict, model: str) -> dict:
        request = line["request"]
        text = _texts(request)
        if "FAIL" in text:
            return {"key": line["key"], "error": {"code": 400, "message": "Request contains an invalid argument.",
                                                  "status": "INVALID_ARGUMENT"}}
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
        return callback

    @staticmethod
    def _query(request) -> dict:
        return {k: v[0] for k, v in parse_qs(urlsplit(request.url).query).items()}

    @staticmethod
    def _stream(request):
        """The request body as a `read()`-able object (requests sends a file object as is)."""
        body = request.body
        if hasattr(body, "read"):
            return body
        return io.BytesIO(body.encode() if isinstance(body, str) else (body or b""))

    def _body(self, request) -> bytes:
        return self._stream(request).read()

    def _on_upload(self, request, *_):
        command = request.headers.get("X-Goog-Upload-Command", "")
        if command == "start":
            if request.headers.get("X-Goog-Upload-Protocol") != "resumable":
                raise FakeError(400, "INVALID_ARGUMENT", "Only resumable uploads are supported.")
            meta = json.loads(self._body(request) or b"{}").get("file", {})
            url = self.start_upload(int(request.headers["X-Goog-Upload-Header-Content-Length"]),
                                    request.headers["X-Goog-Upload-Header-Content-Type"], meta)
            return 200, {"X-Goog-Upload-URL": url, "X-Goog-Upload-Status": "active"}, ""
        if command == "upload, finalize":
            upload_id = self._query(request).get("upload_id", "")
            file = self.finish_upload(upload_id, request.headers.get("X-Goog-Upload-Offset", ""),
                                      self._stream(request))
            return 200, {"X-Goog-Upload-Status": "final"}, json.dumps({"file": public(file)})
        raise FakeError(400, "INVALID_ARGUMENT", f"Unsupported upload command {command!r}.")

    def _on_list_files(self, request, *_):
        query = self._query(request)
        return 200, {}, json.dumps(self.list_files(int(query.get("pageSize", 10)), query.get("pageToken")))

    def _on_download(self, request, file_id, *_):
        if self._query(request).get("alt") != "media":
            raise FakeError(400, "INVALID_ARGUMENT", "alt=media is required.")
        return 200, {"Content-Type": "application/octet-stream"}, self.download(f"files/{file_id}")

    def _on_get_file(self, request, file_id, *_):
        return 200, {}, json.dumps(public(self.get_file(f"files/{file_id}")))

    def _on_delete_file(self, request, file_id, *_):
        self.delete_file(f"files/{file_id}")
        return 200, {}, "{}"

    def _on_create_batch(self, request, model, *_):
        body = json.loads(self._body(request))
        return 200, {}, json.dumps(public(self.create_batch(model, body["batch"])))

    def _on_list_batches(self, request, *_):
        query = self._query(request)
        return 200, {}, json.dumps(self.list_batches(int(query.get("pageSize", 10)), query.get("pageToken")))

    def _on_get_batch(self, request, batch_id, *_):
        return 200, {}, json.dumps(public(self.get_batch(f"batches/{batch_id}")))

    def _on_cancel(self, request, batch_id, *_):
        self.cancel_batch(f"batches/{batch_id}")
        return 200, {}, "{}"
