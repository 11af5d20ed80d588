"""Batches on a server with no batch API, end to end, on both queue engines (SQLite and a real Redis).

The seed's OpenAI workflow, with its provider line naming a declared server (`vllm`), through the
real SDK in strict mode against the gateway on a loopback port; the server is the loopback fake of
`tests/fakes/chatserver.py`. Then the promise that matters most: a worker process killed with
SIGKILL in the middle of a 10,000-line batch loses nothing and duplicates nothing.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests import seed
from tests.conftest import server_env
from tests.fakes.chatserver import declare
from tests.gateway.redis_server import on_engine

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(params=["sqlite", "redis"])
def test_config(request, test_config):
    """Every test here on both engines: the embedded SQLite file and a real Redis."""
    return on_engine(request, test_config)


@pytest.fixture
def vllm(monkeypatch, chat_server):
    declare(monkeypatch, f"vllm={chat_server.base_url}")
    return chat_server


def _lines(sdk, file_id: str | None) -> list[dict]:
    if not file_id:
        return []
    return [json.loads(line) for line in sdk.files.content(file_id).read().splitlines() if line]


def _wait(sdk, batch_id: str, seconds: float):
    deadline = time.monotonic() + seconds
    batch = sdk.batches.retrieve(batch_id)
    while batch.status not in ("completed", "failed", "expired", "cancelled"):
        assert time.monotonic() < deadline, f"still {batch.status}: {batch.request_counts}"
        time.sleep(0.1)
        batch = sdk.batches.retrieve(batch_id)
    return batch


def test_the_seed_workflow_runs_on_a_server_without_a_batch_api(gateway, vllm, gateway_worker, sdk, capsys):
    scope = seed.run("openai", gateway, api_key="sk-test-key", strict=True, as_provider="vllm")
    batch = _wait(sdk, scope["batch"].id, 20)  # the snippet polls ten times; the batch may still be finishing
    assert "Created batch: batch_dsevllm_" in capsys.readouterr().out
    assert batch.status == "completed" and batch.request_counts.completed == 2
    output = _lines(sdk, batch.output_file_id)
    assert [line["custom_id"] for line in output] == ["req-1", "req-2"]
    assert all(line["response"]["body"]["object"] == "chat.completion" for line in output)
    assert vllm.calls["What is 2+2?"] == 1 and vllm.keys_seen == {"sk-test-key"}  # passthrough: the client's key


def test_embeddings_and_responses_lines(vllm, gateway_worker, sdk):
    for url, body in (("/v1/embeddings", {"model": "m", "input": "embed me"}),
                      ("/v1/responses", {"model": "m", "input": "respond"})):
        lines = [json.dumps({"custom_id": f"{url}-{n}", "method": "POST", "url": url, "body": body | {"user": str(n)}})
                 for n in range(3)]
        uploaded = sdk.files.create(file=("in.jsonl", "\n".join(lines).encode()), purpose="batch",
                                    extra_body={"provider": "vllm"})
        batch = sdk.batches.create(input_file_id=uploaded.id, endpoint=url, completion_window="24h",
                                   extra_body={"provider": "vllm"})
        done = _wait(sdk, batch.id, 20)
        assert done.status == "completed" and done.request_counts.completed == 3
        bodies = [line["response"]["body"] for line in _lines(sdk, done.output_file_id)]
        assert {body["object"] for body in bodies} == {"list" if url == "/v1/embeddings" else "response"}
        assert done.usage is not None and done.usage.input_tokens > 0


def test_a_line_the_server_refuses_is_an_error_line_and_429s_are_waited_out(vllm, gateway_worker, sdk):
    texts = ["fine", "FAIL here", "RATE limited"]
    lines = [json.dumps({"custom_id": f"c{n}", "method": "POST", "url": "/v1/chat/completions",
                         "body": {"model": "m", "messages": [{"role": "user", "content": text}]}})
             for n, text in enumerate(texts)]
    uploaded = sdk.files.create(file=("in.jsonl", "\n".join(lines).encode()), purpose="batch",
                                extra_body={"provider": "vllm"})
    batch = sdk.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h",
                               extra_body={"provider": "vllm"})
    done = _wait(sdk, batch.id, 20)
    (error,) = _lines(sdk, done.error_file_id)
    assert error["custom_id"] == "c1" and error["response"]["status_code"] == 400
    assert "refused" in error["response"]["body"]["error"]["message"]
    assert vllm.calls["RATE limited"] == 2  # the 429, then the success after Retry-After
    assert sorted(line["custom_id"] for line in _lines(sdk, done.output_file_id)) == ["c0", "c2"]


def _worker(app, chat_url: str) -> subprocess.Popen:
    env = server_env(DEEPINTSHIELD_QUEUE=app.config["QUEUE"], DEEPINTSHIELD_FILE_STORE=app.config["FILE_STORE"],
                     DEEPINTSHIELD_CHAT_ENDPOINTS=f"vllm={chat_url}", DEEPINTSHIELD_GATEWAY_LEASE="3",
                     DEEPINTSHIELD_WORKER_THREADS="8")
    return subprocess.Popen([sys.executable, "-m", "worker"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)


def test_a_worker_killed_mid_batch_loses_and_duplicates_nothing(app, vllm, sdk, request):
    # 10,000 lines on the embedded engine; fewer on Redis, where the same code paths run (suite time)
    total = 10_000 if request.node.callspec.params["test_config"] == "sqlite" else 3_000
    app.config["GATEWAY_CHUNK_LINES"] = 50
    lines = "\n".join(json.dumps({"custom_id": f"id-{n}", "method": "POST", "url": "/v1/chat/completions",
                                  "body": {"model": "m", "messages": [{"role": "user", "content": f"line {n}"}]}})
                      for n in range(total))
    uploaded = sdk.files.create(file=("big.jsonl", lines.encode()), purpose="batch", extra_body={"provider": "vllm"})
    batch = sdk.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h",
                               extra_body={"provider": "vllm"})
    first = _worker(app, vllm.base_url)
    second = None
    try:
        deadline = time.monotonic() + 120
        while sdk.batches.retrieve(batch.id).request_counts.completed < total // 5:
            assert time.monotonic() < deadline and first.poll() is None
            time.sleep(0.05)
        os.killpg(first.pid, signal.SIGKILL)  # mid-chunk, mid-line: no chance to clean up
        first.wait()
        killed_at = sdk.batches.retrieve(batch.id).request_counts.completed
        assert killed_at < total
        second = _worker(app, vllm.base_url)
        done = _wait(sdk, batch.id, 180)
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
    assert done.status == "completed"
    output, errors = _lines(sdk, done.output_file_id), _lines(sdk, done.error_file_id)
    assert errors == [] and len(output) == total
    assert [line["custom_id"] for line in output] == [f"id-{n}" for n in range(total)]  # each once, in order
    assert (done.request_counts.completed, done.request_counts.failed) == (total, 0)
    ran = [vllm.calls[f"line {n}"] for n in range(total)]
    assert min(ran) == 1
    assert sum(ran) - total <= 8  # a line that ran twice is one the killed worker was calling: at most its threads
