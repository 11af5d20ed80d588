"""Metrics and logs under the real server: gunicorn with gunicorn.conf.py and two workers
(`WEB_CONCURRENCY=2`) as a subprocess, an OpenAI stand-in on loopback.

`/metrics` sums over both workers; every line on stderr (gunicorn's banner and worker lines, the app's,
the access lines) is one JSON object, the access, retry and error lines carry the request ID (a traceback
as a field), the banner says where the server listens, no key appears, and the metrics directory is gone
after the server exits."""

from __future__ import annotations

import http.client
import json
import signal
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import server_env

ROOT = Path(__file__).resolve().parents[1]
SECRET = "sk-observe-secret-0123456789"
HEALTHZ_REQUESTS = 40
KEYED_REQUESTS = 5


class _Upstream(BaseHTTPRequestHandler):
    """OpenAI as it answers a bad key (echoing part of it, as OpenAI does), and an upstream that is down."""

    def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
        if self.path.endswith("/content"):  # a download that breaks off after 1 MiB of 4
            self.send_response(200)
            self.send_header("Content-Type", "application/jsonl")
            self.send_header("Content-Length", str(4 * 1024 * 1024))
            self.end_headers()
            self.wfile.write(b"x" * (1024 * 1024))
            self.wfile.flush()
            self.close_connection = True
        elif self.path.endswith("/retry-me"):
            self._reply(503, {"error": {"message": "overloaded"}}, {"Retry-After": "0"})
        else:
            key = self.headers.get("Authorization", "").removeprefix("Bearer ")
            self._reply(401, {"error": {"message": f"Incorrect API key provided: {key}.", "type":
                                        "invalid_request_error", "param": None, "code": "invalid_api_key"}})

    def _reply(self, status: int, body: dict, headers: dict | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        for name, value in {"Content-Type": "application/json", "Content-Length": str(len(data)),
                            **(headers or {})}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:
        pass


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(port: int, path: str, headers: dict | None = None) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)  # a new connection each time
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def _sample(exposition: str, name: str, **labels: str) -> float:
    return sum(sample.value for family in text_string_to_metric_families(exposition) for sample in family.samples
               if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()))


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """Start the server, drive it, stop it; yields (port, final /metrics text, stderr lines, metrics parent dir)."""
    upstream = ThreadingHTTPServer(("127.0.0.1", 0), _Upstream)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    port = _free_port()
    parent = tmp_path_factory.mktemp("metrics")
    env = {**server_env(), "DEEPINTSHIELD_BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": "2",
           "DEEPINTSHIELD_FILE_STORE": str(tmp_path_factory.mktemp("store")), "PYTHONUNBUFFERED": "1",
           "OPENAI_BASE_URL": f"http://127.0.0.1:{upstream.server_port}/v1", "DEEPINTSHIELD_UPSTREAM_RETRIES": "1",
           "PROMETHEUS_MULTIPROC_DIR": str(parent)}
    for name in ("PORT", "DEEPINTSHIELD_API_KEYS", "DEEPINTSHIELD_METRICS_KEY"):
        env.pop(name, None)
    process = subprocess.Popen([sys.executable, "-m", "gunicorn", "wsgi:app"], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(process.stderr), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 30
        while sum("Worker listening at" in line for line in list(lines)) < 2:
            if time.monotonic() > deadline or process.poll() is not None:
                pytest.fail("gunicorn did not start: " + "".join(lines)[-3000:])
            time.sleep(0.05)
        for _ in range(HEALTHZ_REQUESTS):
            assert _get(port, "/healthz")[0] == 200
        for _ in range(KEYED_REQUESTS):
            status, body = _get(port, "/openai/v1/files/file-abc", {"Authorization": f"Bearer {SECRET}"})
            assert status == 401 and SECRET in body.decode()  # the provider's message, relayed to its client
        assert _get(port, "/openai/v1/batches/retry-me", {"Authorization": f"Bearer {SECRET}",
                                                          "x-request-id": "retry-1"})[0] == 502
        with pytest.raises(http.client.IncompleteRead):  # the gateway cuts the connection: never a short body
            _get(port, "/openai/v1/files/file-abc/content", {"Authorization": f"Bearer {SECRET}",
                                                            "x-request-id": "broken-1"})
        # A request is counted once its response is closed, just after its last byte reached the client.
        deadline = time.monotonic() + 10
        while True:
            exposition = _get(port, "/metrics")[1].decode()
            done = _sample(exposition, "deepintshield_requests_total", route="/openai/v1/batches/<batch:batch_id>")
            if done == 1 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
    finally:
        process.send_signal(signal.SIGINT)  # quick shutdown (on_exit still runs)
        process.wait(timeout=30)
        reader.join(timeout=5)
        upstream.shutdown()
    yield port, process.pid, exposition, lines, parent


def test_metrics_sum_over_both_workers(run):
    _, _, exposition, lines, _ = run
    healthz = [json.loads(line) for line in lines if '"route":"/healthz"' in line]
    assert len(healthz) == HEALTHZ_REQUESTS and len({line["pid"] for line in healthz}) == 2  # both served
    assert _sample(exposition, "deepintshield_requests_total", route="/healthz", method="GET",
                   provider="none", status="200") == HEALTHZ_REQUESTS
    assert _sample(exposition, "deepintshield_request_duration_seconds_count", route="/healthz") == HEALTHZ_REQUESTS
    route = "/openai/v1/files/<path:file_id>"
    assert _sample(exposition, "deepintshield_requests_total", route=route, provider="openai",
                   status="401") == KEYED_REQUESTS
    assert _sample(exposition, "deepintshield_upstream_errors_total", provider="openai", reason="401") == KEYED_REQUESTS
    assert _sample(exposition, "deepintshield_upstream_errors_total", provider="openai", reason="503") == 1
    assert _sample(exposition, "deepintshield_upstream_retries_total", provider="openai") == 1
    assert _sample(exposition, "deepintshield_upstream_duration_seconds_count", provider="openai",
                   operation="retrieve_file") == KEYED_REQUESTS
    assert _sample(exposition, "deepintshield_sent_bytes_total", provider="none") >= HEALTHZ_REQUESTS * 15


def test_every_line_is_json_with_request_ids_and_the_banner_says_where_it_listens(run):
    port, master, _, lines, _ = run
    entries = [json.loads(line) for line in lines]  # fails on any line that is not one JSON object
    messages = [entry["message"] for entry in entries]
    assert f"Listening at: http://127.0.0.1:{port} ({master})" in messages
    assert messages.count(f"Worker listening at: http://127.0.0.1:{port}") == 2
    access = [entry for entry in entries if entry["logger"] == "deepintshield.access"]
    assert len(access) >= HEALTHZ_REQUESTS + KEYED_REQUESTS + 2
    assert all(entry["request_id"] and entry["bytes_out"] > 0 for entry in access)
    assert all(entry["complete"] is True for entry in access if entry["request_id"] != "broken-1")
    assert not any(entry["logger"] == "gunicorn.access" for entry in entries)  # one access line per request
    retry = [entry for entry in entries if entry["message"] == "retrying an upstream call"]
    assert [(entry["request_id"], entry["provider"], entry["upstream_status"]) for entry in retry] == [
        ("retry-1", "openai", 503)]
    # The download that broke off: the access line says so, gunicorn's report has the traceback as a field.
    broken = [entry for entry in entries if entry.get("request_id") == "broken-1"]
    assert [entry["complete"] for entry in broken if entry["logger"] == "deepintshield.access"] == [False]
    report = [entry for entry in broken if entry["logger"] == "gunicorn.error"]
    assert report and "UpstreamError" in report[0]["traceback"]


def test_no_key_in_the_logs(run):
    _, _, _, lines, _ = run
    assert SECRET not in "".join(lines)


def test_the_metrics_directory_is_removed_when_the_server_exits(run):
    _, _, _, _, parent = run
    assert list(parent.iterdir()) == []
