"""A fast fake upstream on loopback for the benchmarks: one asyncio process, stdlib HTTP/1.1 keep-alive.

Three modes:

- `fast` (default): OpenAI files, uploads (parts counted, not kept) and batches (and
  `POST /v1/chat/completions`) answered from byte templates, so the fake costs a few microseconds
  per call and is never the bottleneck. `POST /v1/files` counts the body (Content-Length or chunked)
  without keeping it; `GET /v1/files/<id>/content` sends `--content` with `sendfile`.
  Gemini's resumable upload (providers.md §C.1) is there too: `POST /upload/v1beta/files` with
  `X-Goog-Upload-Command: start` answers an `X-Goog-Upload-URL` on this server, and `upload, finalize`
  to it counts the bytes and answers `{"file": {...}}` with the name asked for at start.
- `fake`: any of the project's `responses`-based fakes (`tests/fakes/*.py`) served for real: their
  registered callbacks are matched against the incoming URL and called with a `requests`-shaped
  request object. Used for the batch lifecycle. Bodies are kept (they are small there).
- `bedrock`: the Bedrock job fake (tests/fakes/bedrock.py) and S3 (moto) behind one port: the job
  calls go to the fake, everything else to moto. The fake's own S3 reads and writes go to moto on a
  second, untimed port, so `handler_seconds` counts each request the gateway makes exactly once.

`--sample-checks N` (fake mode): the served fake's per-line SDK-type checks (`SAMPLED_CHECKS`: a
Gemini input or result line, an Anthropic request's params or result line) run on the first N lines and then on every
N-th one. Those pydantic checks cost ~1 ms a line, which would make a 1,000,000-line batch take
most of an hour in the fake alone (bench/million.py); every line the gateway sends is still parsed
and answered, and the fakes themselves (what the test suite runs) are unchanged.

`GET /_stats` answers `{"requests", "handler_seconds"}`: the time spent inside the fake, so a caller
can split wall time into fake time and everything else. `POST /_reset` zeroes it.

Run: `python bench/fake_upstream.py --port 9001 [--content FILE]
     [--mode fake --fake MODULE:CLASS [--base /v1] [--fake-kwargs JSON]] [--mode bedrock [--fake-kwargs JSON]]`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import json
import os
import re
import sys
import time
from urllib.parse import parse_qsl, urlsplit

CREATED = 1_700_000_000
FILE_TEMPLATE = json.dumps({
    "id": "@ID@", "object": "file", "bytes": 123456, "created_at": CREATED, "filename": "batch.jsonl",
    "purpose": "batch", "status": "processed", "expires_at": None, "status_details": None,
}).encode()


CHAT_TEMPLATE = json.dumps({
    "id": "chatcmpl-fast", "object": "chat.completion", "created": 1_700_000_000, "model": "fast-model",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop",
                 "logprobs": None}],
    "usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6},
}).encode()


def _batch(batch_id: str) -> dict:
    return {
        "id": batch_id, "object": "batch", "endpoint": "/v1/chat/completions", "errors": None,
        "input_file_id": "file-abc123", "completion_window": "24h", "status": "completed",
        "output_file_id": "file-out123", "error_file_id": None, "created_at": CREATED,
        "in_progress_at": CREATED + 1, "expires_at": CREATED + 86400, "finalizing_at": CREATED + 2,
        "completed_at": CREATED + 3, "failed_at": None, "expired_at": None, "cancelling_at": None,
        "cancelled_at": None, "request_counts": {"total": 100, "completed": 95, "failed": 5},
        "metadata": {"customer_id": "user_123", "batch_description": "Nightly eval job"},
        "model": "gpt-4o-mini", "usage": {"input_tokens": 1500, "input_tokens_details": {"cached_tokens": 0},
                                          "output_tokens": 500, "output_tokens_details": {"reasoning_tokens": 0},
                                          "total_tokens": 2000},
    }


BATCH_TEMPLATE = json.dumps(_batch("@ID@")).encode()


def _batch_list(limit: int) -> bytes:
    data = [_batch(f"batch_{i:06d}abc") for i in range(limit)]
    return json.dumps({"object": "list", "data": data, "first_id": data[0]["id"] if data else None,
                       "last_id": data[-1]["id"] if data else None, "has_more": True}).encode()


class Stats:
    requests = 0
    handler_seconds = 0.0


class Reply:
    """What a handler answers: status, headers, and either bytes or a file to sendfile."""

    def __init__(self, status: int, body: bytes = b"", content_type: str = "application/json",
                 path: str | None = None, headers: dict | None = None) -> None:
        self.status, self.body, self.content_type, self.path = status, body, content_type, path
        self.headers = headers or {}


GEMINI_CREATED = "2025-01-01T00:00:00.000000Z"
SMALL_BODY = 64 * 1024  # request bodies up to this size are kept even in fast mode (JSON control calls)

REASONS = {200: "OK", 201: "Created", 204: "No Content", 400: "Bad Request", 404: "Not Found",
           500: "Internal Server Error"}


class FastOpenAI:
    """Answers from templates; keeps nothing."""

    keep_body = False

    def __init__(self, content: str | None) -> None:
        self.content = content
        self.lists: dict[int, bytes] = {}
        self.gemini_uploads: dict[str, dict] = {}
        self.uploads: dict[str, dict] = {}  # the Uploads API: what create was told, per upload

    def __call__(self, method: str, target: str, headers: dict, body: bytes, size: int) -> Reply:
        path, _, query = target.partition("?")
        if path == "/upload/v1beta/files" and method == "POST":
            return self.gemini_upload(target, headers, body, size)
        parts = path.split("/")  # ['', 'v1', 'files', id, 'content']
        if len(parts) < 3 or parts[1] != "v1":
            return Reply(404, b'{"error":{"message":"no route","type":"invalid_request_error"}}')
        kind = parts[2]
        if kind == "chat" and method == "POST" and path == "/v1/chat/completions":
            return Reply(200, CHAT_TEMPLATE)  # a gateway-run batch's line (bench/gateway_run.py)
        if kind == "files":
            if method == "POST" and len(parts) == 3:
                return Reply(200, FILE_TEMPLATE.replace(b"@ID@", b"file-upload1").replace(
                    b"123456", str(size).encode()))
            if method == "GET" and len(parts) == 4:
                return Reply(200, FILE_TEMPLATE.replace(b"@ID@", parts[3].encode()))
            if method == "GET" and len(parts) == 5 and parts[4] == "content" and self.content:
                return Reply(200, content_type="application/octet-stream", path=self.content)
        if kind == "uploads" and method == "POST":
            return self.upload_call(parts[3:], body, size)
        if kind == "batches" and method == "GET":
            if len(parts) == 4:
                return Reply(200, BATCH_TEMPLATE.replace(b"@ID@", parts[3].encode()))
            if len(parts) == 3:
                limit = int(dict(parse_qsl(query)).get("limit", 20))
                if limit not in self.lists:
                    self.lists[limit] = _batch_list(limit)
                return Reply(200, self.lists[limit])
        return Reply(404, b'{"error":{"message":"no route","type":"invalid_request_error"}}')


    def upload_call(self, rest: list[str], body: bytes, size: int) -> Reply:
        """OpenAI's Uploads API: create, add a part (counted, not kept), complete."""
        if not rest:
            number = len(self.uploads) + 1
            upload = {"id": f"upload_fast{number}", "object": "upload", "created_at": CREATED,
                      "expires_at": CREATED + 3600, "status": "pending", "file": None, **json.loads(body)}
            upload.pop("mime_type", None)
            self.uploads[upload["id"]] = upload
            return Reply(200, json.dumps(upload).encode())
        upload = self.uploads.get(rest[0])
        if upload is None:
            return Reply(404, b'{"error":{"message":"no such upload","type":"invalid_request_error"}}')
        if rest[1:] == ["parts"]:
            upload["received"] = upload.get("received", 0) + size
            part = {"id": f"part_{upload['received']}", "object": "upload.part", "created_at": CREATED,
                    "upload_id": upload["id"]}
            return Reply(200, json.dumps(part).encode())
        if rest[1:] == ["complete"]:
            received = upload.pop("received", 0)
            file = json.loads(FILE_TEMPLATE.replace(b"@ID@", b"file-chunked1"))
            file.update(bytes=upload["bytes"], filename=upload["filename"], purpose=upload["purpose"])
            upload.update(status="completed", file=file)
            if received < upload["bytes"]:  # parts are multipart bodies: a little more than their data
                return Reply(400, b'{"error":{"message":"parts hold fewer bytes","type":"invalid_request_error"}}')
            return Reply(200, json.dumps(upload).encode())
        return Reply(404, b'{"error":{"message":"no route","type":"invalid_request_error"}}')

    def gemini_upload(self, target: str, headers: dict, body: bytes, size: int) -> Reply:
        """Gemini's resumable upload, start then one `upload, finalize` (§C.1)."""
        command = headers.get("X-Goog-Upload-Command", "")
        if command == "start":
            meta = json.loads(body or b"{}").get("file", {})
            upload_id = f"u{len(self.gemini_uploads) + 1}"
            self.gemini_uploads[upload_id] = {
                "name": meta.get("name") or f"files/bench{len(self.gemini_uploads) + 1:06d}",
                "displayName": meta.get("displayName") or "upload",
                "mimeType": headers.get("X-Goog-Upload-Header-Content-Type", "application/octet-stream"),
            }
            url = f"http://{headers.get('Host')}/upload/v1beta/files?upload_id={upload_id}&upload_protocol=resumable"
            return Reply(200, b"", headers={"X-Goog-Upload-URL": url, "X-Goog-Upload-Status": "active"})
        if command == "upload, finalize":
            session = self.gemini_uploads.pop(dict(parse_qsl(target.partition("?")[2])).get("upload_id", ""), None)
            if session is None:
                return Reply(404, b'{"error":{"code":404,"message":"No such upload.","status":"NOT_FOUND"}}')
            file = {**session, "sizeBytes": str(size), "createTime": GEMINI_CREATED, "updateTime": GEMINI_CREATED,
                    "expirationTime": "2025-01-03T00:00:00.000000Z", "sha256Hash": "ZmFrZQ==",
                    "uri": f"http://{headers.get('Host')}/v1beta/{session['name']}", "state": "ACTIVE",
                    "source": "UPLOADED"}
            return Reply(200, json.dumps({"file": file}).encode(), headers={"X-Goog-Upload-Status": "final"})
        return Reply(400, b'{"error":{"code":400,"message":"bad upload command","status":"INVALID_ARGUMENT"}}')


class _Registry:
    """Stands in for `responses.RequestsMock` when a fake registers its callbacks."""

    def __init__(self) -> None:
        self.routes: list[tuple[str, re.Pattern, object]] = []

    def add_callback(self, method, url, callback, content_type=None, **_kwargs) -> None:
        pattern = url if isinstance(url, re.Pattern) else re.compile(re.escape(url) + r"(\?.*)?$")
        self.routes.append((method, pattern, callback))

    def add_passthru(self, *_args, **_kwargs) -> None:
        pass


# Per-line checks of the served fakes that `--sample-checks` thins out: module -> function names
# (looked up as module attributes at call time, so replacing them here reaches every caller).
SAMPLED_CHECKS = {
    "tests.contracts.genai_types": ("check_batch_line", "check_result_line"),
    "tests.fakes.anthropic": ("check_result",),
    "tests.contracts.anthropic_types": ("check_params",),  # each request of a Message Batch create
}


def sample_checks(every: int) -> None:
    """Run each `SAMPLED_CHECKS` function on its first `every` calls, then on every `every`-th call."""
    for module_name, names in SAMPLED_CHECKS.items():
        module = sys.modules.get(module_name)
        for name in names if module is not None else ():
            check = getattr(module, name)
            calls = [0]

            def sampled(*args, _check=check, _calls=calls, **kwargs):
                _calls[0] += 1
                if _calls[0] <= every or _calls[0] % every == 0:
                    return _check(*args, **kwargs)
                return None

            setattr(module, name, sampled)


class ServedFake:
    """Serves a `responses`-based fake: its callbacks see a `requests.PreparedRequest`."""

    keep_body = True

    def __init__(self, spec: str, base: str, kwargs: dict | None = None) -> None:
        import requests  # only this mode needs it

        self._prepared = requests.PreparedRequest
        module, _, name = spec.partition(":")
        sys.path.insert(0, os.getcwd())
        self.fake = getattr(importlib.import_module(module), name)(base=base, **(kwargs or {}))
        self.origin = base[: len(base) - len(urlsplit(base).path)] if urlsplit(base).path else base
        self.registry = _Registry()
        self.fake.register(self.registry)

    def __call__(self, method: str, target: str, headers: dict, body: bytes, size: int) -> Reply:
        url = self.origin + target
        request = self._prepared()
        request.prepare(method=method, url=url, headers=headers, data=body or None)
        request.params = {}
        for key, value in parse_qsl(urlsplit(target).query, keep_blank_values=True):
            request.params[key] = value if key not in request.params else [request.params[key], value]
        for route_method, pattern, callback in self.registry.routes:
            if route_method == method and pattern.match(url):
                status, out_headers, out = callback(request)
                out = out.encode() if isinstance(out, str) else out
                out_headers = dict(out_headers or {})
                content_type = out_headers.pop("Content-Type", "application/json")
                out_headers = {k: v for k, v in out_headers.items() if k.lower() != "content-length"}
                return Reply(status, out, content_type, headers=out_headers)
        return Reply(404, b'{"error":{"message":"no route in fake","type":"invalid_request_error"}}')


class Connection(asyncio.Protocol):
    def __init__(self, handler) -> None:
        self.handler = handler
        self.buffer = bytearray()
        self.state = "head"
        self.busy = False

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if not self.busy:
            self._process()

    def _process(self) -> None:
        buf = self.buffer
        while not self.busy:
            if self.state == "head":
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    return
                lines = bytes(buf[:end]).decode("latin-1").split("\r\n")
                del buf[: end + 4]
                self.method, self.target, _ = lines[0].split(" ", 2)
                self.headers = {}
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    self.headers[name.strip().title()] = value.strip()
                self.body = bytearray()
                self.size = 0
                declared = int(self.headers.get("Content-Length", "0") or 0)
                self.keep = self.handler.keep_body or 0 < declared <= SMALL_BODY
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    self.state = "chunk-size"
                else:
                    self.remaining = int(self.headers.get("Content-Length", "0") or 0)
                    self.state = "body"
            elif self.state == "body":
                take = min(self.remaining, len(buf))
                self._take(take)
                self.remaining -= take
                if self.remaining:
                    return
                self._dispatch()
            elif self.state == "chunk-size":
                end = buf.find(b"\r\n")
                if end < 0:
                    return
                self.remaining = int(bytes(buf[:end]).split(b";")[0], 16)
                del buf[: end + 2]
                self.state = "chunk-data" if self.remaining else "trailer"
            elif self.state == "chunk-data":
                take = min(self.remaining, len(buf))
                self._take(take)
                self.remaining -= take
                if self.remaining:
                    return
                self.state = "chunk-end"
            elif self.state == "chunk-end":
                if len(buf) < 2:
                    return
                del buf[:2]
                self.state = "chunk-size"
            elif self.state == "trailer":
                end = buf.find(b"\r\n")
                if end < 0:
                    return
                del buf[: end + 2]
                if end == 0:
                    self._dispatch()

    def _take(self, count: int) -> None:
        if self.keep:
            self.body += self.buffer[:count]
        self.size += count
        del self.buffer[:count]

    def _dispatch(self) -> None:
        self.state = "head"
        started = time.perf_counter()
        if self.target.startswith("/_"):
            reply = self._control()
        else:
            Stats.requests += 1
            try:
                reply = self.handler(self.method, self.target, self.headers, bytes(self.body), self.size)
            except Exception as error:  # a fake bug must show, not hang the client
                reply = Reply(500, json.dumps({"error": {"message": repr(error), "type": "server_error"}}).encode())
        head = [f"HTTP/1.1 {reply.status} {REASONS.get(reply.status, 'Status')}",
                f"Content-Type: {reply.content_type}"]
        head += [f"{k}: {v}" for k, v in reply.headers.items()]
        if reply.path:
            length = os.path.getsize(reply.path)
            head.append(f"Content-Length: {length}")
            self.transport.write(("\r\n".join(head) + "\r\n\r\n").encode())
            self.busy = True
            asyncio.get_running_loop().create_task(self._sendfile(reply.path, started))
            return
        head.append(f"Content-Length: {len(reply.body)}")
        self.transport.write(("\r\n".join(head) + "\r\n\r\n").encode() + reply.body)
        Stats.handler_seconds += time.perf_counter() - started

    def _control(self) -> Reply:
        if self.target.startswith("/_reset"):
            Stats.requests, Stats.handler_seconds = 0, 0.0
        return Reply(200, json.dumps({"requests": Stats.requests, "handler_seconds": Stats.handler_seconds}).encode())

    async def _sendfile(self, path: str, started: float) -> None:
        try:
            with open(path, "rb") as file:
                await asyncio.get_running_loop().sendfile(self.transport, file)
        except (ConnectionError, RuntimeError):
            self.transport.close()
            return
        Stats.handler_seconds += time.perf_counter() - started
        self.busy = False
        self._process()


def serve_bedrock(port: int, kwargs: dict) -> None:
    """The Bedrock job fake and moto S3 on `port` (timed), moto alone on a second port for the fake itself.

    Threaded werkzeug servers, like the project's tests; needs AWS credentials in the environment
    (any value: moto does not check them).
    """
    import threading

    from moto.moto_server.werkzeug_app import MotoRequestHandler
    from moto.server import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import make_server

    sys.path.insert(0, os.getcwd())
    from tests.fakes.bedrock import FakeBedrock, make_app

    moto = DomainDispatcherApplication(create_backend_app)
    inner = make_server("127.0.0.1", 0, moto, threaded=True, request_handler=MotoRequestHandler)
    threading.Thread(target=inner.serve_forever, daemon=True).start()
    backend = FakeBedrock(f"http://127.0.0.1:{inner.server_port}", **kwargs)
    jobs = make_app(backend)
    lock = threading.Lock()
    job_paths = ("/model-invocation-job", "/listTagsForResource", "/model/")  # /model/: bedrock-runtime

    def app(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_"):
            with lock:
                if path.startswith("/_reset"):
                    Stats.requests, Stats.handler_seconds = 0, 0.0
                body = json.dumps({"requests": Stats.requests, "handler_seconds": Stats.handler_seconds}).encode()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        started = time.perf_counter()
        target = jobs if path.startswith(job_paths) else moto
        # Materialised inside the timer: a streamed reply's production counts as fake time.
        chunks = list(target(environ, start_response))
        with lock:
            Stats.requests += 1
            Stats.handler_seconds += time.perf_counter() - started
        return chunks

    outer = make_server("127.0.0.1", port, app, threaded=True, request_handler=MotoRequestHandler)
    print(f"fake bedrock + S3 on 127.0.0.1:{port} (fake's own S3 on {inner.server_port})", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        outer.serve_forever()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--content", help="file served for GET /v1/files/<id>/content (fast mode)")
    parser.add_argument("--mode", choices=("fast", "fake", "bedrock"), default="fast")
    parser.add_argument("--fake", help="MODULE:CLASS of a responses-based fake (fake mode)")
    parser.add_argument("--base", default="", help="the fake's base URL, or a path on this server such as /v1 "
                                                   "(fake mode; default: this server's origin)")
    parser.add_argument("--fake-kwargs", default="{}", help="JSON object of keyword arguments for the fake")
    parser.add_argument("--sample-checks", type=int, default=0, metavar="N",
                        help="fake mode: run the fake's per-line SDK-type checks on the first N lines, then every "
                             "N-th (default 0: every line)")
    args = parser.parse_args(argv)
    kwargs = json.loads(args.fake_kwargs)
    if args.mode == "bedrock":
        serve_bedrock(args.port, kwargs)
        return
    base = args.base if args.base.startswith("http") else f"http://127.0.0.1:{args.port}{args.base}"
    handler = FastOpenAI(args.content) if args.mode == "fast" else ServedFake(args.fake, base, kwargs)
    if args.sample_checks > 0:
        sample_checks(args.sample_checks)

    async def serve() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: Connection(handler), "127.0.0.1", args.port, backlog=1024)
        print(f"fake upstream on 127.0.0.1:{args.port} ({args.mode})", flush=True)
        async with server:
            await server.serve_forever()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())


if __name__ == "__main__":
    main()
