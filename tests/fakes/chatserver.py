"""A real loopback OpenAI-compatible server WITHOUT Files/Batch API (what vLLM, Ollama, llama.cpp, TGI
serve), for the providers declared in `DEEPINTSHIELD_CHAT_ENDPOINTS`.

It serves `POST /v1/chat/completions`, `/v1/embeddings` and `/v1/responses` on 127.0.0.1 (werkzeug, in a
thread; port 0 picks a free one); every other path is a 404 (`/v1/files` above all: there is no batch
API). Replies are deterministic (a function of the request) and valid, strictly, as the `openai` SDK's
`ChatCompletion`, `CreateEmbeddingResponse` and `Response`; every request body is checked against the
SDK's param types, a violation is recorded in `violations` (and answered 400), and the `chat_server`
fixture fails the test at teardown if there was any.

Tests assert what ran with `calls` (a Counter keyed by each request's content: the last message's
text, the embedding input, the response input) and `keys_seen` (the bearer keys, None for none).
Scripted by content: "FAIL" is a 400; "RATE" a 429 with `Retry-After: 1` the first time a given content
is sent, then a success; "BOOM" a 500 the first time, then a success; "SLOW" waits 0.5 s first.
`latency` delays every reply; `request_ids=True` adds an `x-request-id` header to replies.

A test declares servers for its duration with `declare(monkeypatch, "vllm=" + chat_server.base_url)`.
Other processes (benchmarks): `python -m tests.fakes.chatserver --port 8000 [--latency 0.05]`.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import struct
import threading
import time
from collections import Counter
from collections.abc import Iterator

import pytest
from openai.types import CreateEmbeddingResponse
from openai.types.chat import ChatCompletion
from openai.types.chat.completion_create_params import CompletionCreateParams
from openai.types.embedding_create_params import EmbeddingCreateParams
from openai.types.responses import Response as ResponseObject
from openai.types.responses.response_create_params import ResponseCreateParams
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from blueprints import chat, registry
from tests.contracts import openai_types

CREATED = 1_700_000_000
SLOW_SECONDS = 0.5
DIMENSIONS = 8
_PARAMS = {"/v1/chat/completions": CompletionCreateParams, "/v1/embeddings": EmbeddingCreateParams,
           "/v1/responses": ResponseCreateParams}
_REPLIES = {"/v1/chat/completions": ChatCompletion, "/v1/embeddings": CreateEmbeddingResponse,
            "/v1/responses": ResponseObject}


class ChatServer:
    """The fake, served on 127.0.0.1:`port` (0: a free one) once started; `base_url` ends in /v1."""

    def __init__(self, port: int = 0, latency: float = 0.0, request_ids: bool = False) -> None:
        self.latency, self.request_ids = latency, request_ids
        self.calls: Counter[str] = Counter()
        self.keys_seen: set[str | None] = set()
        self.violations: list[str] = []
        self._failed_once: set[tuple[str, str]] = set()  # (script word, content) already failed
        self._lock = threading.Lock()
        self.server = make_server("127.0.0.1", port, self._wsgi, threaded=True, request_handler=_KeepAlive)
        self.base_url = f"http://127.0.0.1:{self.server.server_port}/v1"
        # a short poll interval keeps shutdown (once per test) quick
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> ChatServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.thread.join(timeout=5)

    # HTTP

    def _wsgi(self, environ, start_response):
        return self._answer(Request(environ))(environ, start_response)

    def _answer(self, request: Request) -> Response:
        if request.path not in _PARAMS:
            return _error(404, f"Unknown path {request.path!r} (this server has no Files or Batch API).")
        if request.method != "POST":
            return _error(405, f"{request.method} is not allowed on {request.path}.")
        auth = request.headers.get("Authorization")
        try:
            body = json.loads(request.get_data())
        except ValueError:
            return _error(400, "The body is not JSON.")
        if not isinstance(body, dict):
            return _error(400, "The body is not a JSON object.")
        try:
            openai_types.strict(_PARAMS[request.path], body, f"{request.path} body")
        except AssertionError as error:
            with self._lock:
                self.violations.append(str(error))
            return _error(400, f"Invalid request: {error}")
        content = _content(request.path, body)
        with self._lock:
            self.calls[content] += 1
            self.keys_seen.add(auth[len("Bearer "):] if auth and auth.startswith("Bearer ") else auth)
            first_rate = "RATE" in content and ("RATE", content) not in self._failed_once
            first_boom = "BOOM" in content and ("BOOM", content) not in self._failed_once
            if first_rate or first_boom:
                self._failed_once.add(("RATE" if first_rate else "BOOM", content))
        if self.latency:
            time.sleep(self.latency)
        if "SLOW" in content:
            time.sleep(SLOW_SECONDS)
        if "FAIL" in content:
            return _error(400, "The server refused this request (FAIL).", param="messages")
        if first_rate:
            return _error(429, "Rate limit reached; retry after 1 second.", headers={"Retry-After": "1"},
                          type_="rate_limit_error")
        if first_boom:
            return _error(500, "The server had an error (BOOM).", type_="server_error")
        reply = REPLY_MAKERS[request.path](body, content)
        try:  # what this fake answers must itself be what the SDK reads
            openai_types.strict(_REPLIES[request.path], reply, f"{request.path} reply")
        except AssertionError as error:
            with self._lock:
                self.violations.append(str(error))
            return _error(500, f"The fake's own reply is not the SDK's type: {error}")
        headers = {"x-request-id": f"req-{_digest(request.path, content)}"} if self.request_ids else {}
        return Response(json.dumps(reply), 200, content_type="application/json", headers=headers)


class _KeepAlive(WSGIRequestHandler):
    """HTTP/1.1: the gateway's pooled connections stay open, as a real server's do (and calls cost less)."""

    protocol_version = "HTTP/1.1"


def _error(status: int, message: str, *, param: str | None = None, type_: str = "invalid_request_error",
           headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps({"error": {"message": message, "type": type_, "param": param, "code": None}}),
                    status, content_type="application/json", headers=headers)


def _text(value: object) -> str:
    """The text of a message's content or an input: a string, or the text parts of a list, joined."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return " ".join(_text(part.get("text", part.get("content")) if isinstance(part, dict) else part)
                        for part in value)
    return json.dumps(value)


def _content(path: str, body: dict) -> str:
    """What a request is about, the key of `calls` and of the scripts."""
    if path == "/v1/chat/completions":
        messages = body.get("messages") or [{}]
        return _text(messages[-1].get("content", ""))
    return _text(body.get("input", ""))


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:24]


def _tokens(text: str) -> int:
    return max(1, len(text.split()))


def _chat(body: dict, content: str) -> dict:
    answer = f"Answer to: {content}"
    prompt, completion = _tokens(content), _tokens(answer)
    return {"id": f"chatcmpl-{_digest('chat', body['model'], content)}", "object": "chat.completion",
            "created": CREATED, "model": body["model"],
            "choices": [{"index": 0, "message": {"role": "assistant", "content": answer},
                         "logprobs": None, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}}


def _vector(text: str) -> list[float]:
    """A deterministic unit-ish vector for `text`."""
    raw = hashlib.sha256(text.encode()).digest()
    return [round(value / 2**31, 6) for value in struct.unpack(f"<{DIMENSIONS}i", raw[:4 * DIMENSIONS])]


def _embeddings(body: dict, content: str) -> dict:
    inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
    texts = [_text(item) if isinstance(item, str) else json.dumps(item) for item in inputs]
    tokens = sum(_tokens(text) for text in texts)
    return {"object": "list", "model": body["model"],
            "data": [{"object": "embedding", "index": index, "embedding": _vector(text)}
                     for index, text in enumerate(texts)],
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}


def _response(body: dict, content: str) -> dict:
    answer = f"Answer to: {content}"
    prompt, completion = _tokens(content), _tokens(answer)
    digest = _digest("response", body["model"], content)
    return {"id": f"resp_{digest}", "object": "response", "created_at": CREATED, "model": body["model"],
            "status": "completed", "parallel_tool_calls": True, "tool_choice": "auto", "tools": [],
            "output": [{"type": "message", "id": f"msg_{digest}", "status": "completed", "role": "assistant",
                        "content": [{"type": "output_text", "text": answer, "annotations": []}]}],
            "usage": {"input_tokens": prompt, "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
                      "output_tokens": completion, "output_tokens_details": {"reasoning_tokens": 0},
                      "total_tokens": prompt + completion}}


REPLY_MAKERS = {"/v1/chat/completions": _chat, "/v1/embeddings": _embeddings, "/v1/responses": _response}


def declare(monkeypatch: pytest.MonkeyPatch, declaration: str) -> dict[str, chat.ChatEndpoint]:
    """Register the servers `declaration` (`name=URL,…`) declares, until the test ends (as startup would)."""
    declared = chat.declared({chat.VARIABLE: declaration}, taken=registry.BUILT_IN)
    for name, provider in declared.items():
        monkeypatch.setitem(registry.PROVIDERS, name, provider)
    return declared


@pytest.fixture
def chat_server() -> Iterator[ChatServer]:
    """The fake, started; after the test, nothing sent to it broke the SDK's param types."""
    with ChatServer() as server:
        yield server
    assert server.violations == [], "\n".join(server.violations)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.fakes.chatserver", description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: a free one)")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds every reply waits")
    parser.add_argument("--request-ids", action="store_true", help="answer with an x-request-id header")
    args = parser.parse_args(argv)
    server = ChatServer(args.port, args.latency, args.request_ids)
    print(server.base_url, flush=True)
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C ends it quietly
        server.server.serve_forever()


if __name__ == "__main__":
    main()
