"""Upstream work per client request is bounded: Retry-After capped, retries not multiplied by the
SDK's, one time budget for all calls (page loops included), and a body that trickles is cut off."""

from __future__ import annotations

import http.server
import re
import threading
import time

import httpx2 as httpx
import openai
import pytest
import responses

from blueprints.common import http as upstream
from tests.conftest import GEMINI_BASE, OPENAI_BASE

AUTH = {"Authorization": "Bearer sk-test-key"}


def test_retry_after_is_capped_and_an_unreadable_one_is_ignored():
    retry = upstream._Retry()
    assert retry.parse_retry_after("21600") == upstream.RETRY_AFTER_CAP == 5
    assert retry.parse_retry_after("2") == 2
    assert retry.parse_retry_after("soon, maybe") == 0


@pytest.mark.parametrize("retry_after", ["1", "Wed, 21 Oct 2099 07:28:00 GMT", "not-a-date"])
def test_a_failing_upstream_is_asked_retries_plus_one_times_for_one_sdk_call(gateway, rsps, monkeypatch, retry_after):
    monkeypatch.setattr(upstream, "RETRY_AFTER_CAP", 0.01)
    rsps.add(responses.GET, f"{OPENAI_BASE}/files/file-abc", status=503, headers={"Retry-After": retry_after},
             json={"error": {"message": "busy", "type": "server_error"}})
    sdk = openai.OpenAI(base_url=f"{gateway}/openai", api_key="sk-test-key", max_retries=2, http_client=httpx.Client())
    started = time.monotonic()
    with pytest.raises(openai.APIStatusError) as caught:
        sdk.files.retrieve("file-abc")
    assert caught.value.status_code == 502
    assert caught.value.response.headers["x-should-retry"] == "false"
    assert len(rsps.calls) == 1 + 2  # the gateway's own retries (UPSTREAM_RETRIES=2), none from the SDK
    assert time.monotonic() - started < 3


def test_a_page_loop_that_never_ends_stops_at_the_budget(client, app, rsps):
    app.config["UPSTREAM_BUDGET"] = 0.5
    pages = re.compile(rf"{GEMINI_BASE}/v1beta/files.*")
    rsps.add_callback(responses.GET, pages, callback=lambda request: (
        200, {}, '{"files": [{"name": "files/other", "createTime": "2025-01-01T00:00:00Z"}], "nextPageToken": "more"}'))
    started = time.monotonic()
    response = client.get("/openai/v1/files", headers=AUTH,
                          query_string={"provider": "gemini", "after": "file-dsgf_ZmlsZXMvbmV2ZXI"})
    assert response.status_code == 504 and response.json["error"]["code"] == "upstream_budget_exceeded"
    assert time.monotonic() - started < 3


class _Trickle(http.server.BaseHTTPRequestHandler):
    closed = threading.Event()

    def do_GET(self):  # noqa: N802 (http.server's naming)
        self.send_response(200)
        self.send_header("Content-Type", "application/jsonl")
        self.send_header("Content-Length", "100000")
        self.end_headers()
        try:
            for _ in range(1000):
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(0.05)
        except OSError:
            pass
        finally:
            _Trickle.closed.set()

    def log_message(self, *args):
        pass


def test_a_trickling_body_is_cut_off_and_the_clients_read_fails(app, gateway, monkeypatch):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Trickle)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    app.config["OPENAI_BASE_URL"] = f"http://127.0.0.1:{server.server_port}/v1"
    app.config["UPSTREAM_MIN_RATE"] = 1000.0
    monkeypatch.setattr(upstream, "STALL_WINDOW", 0.5)
    upstream.session.cache_clear()
    sdk = openai.OpenAI(base_url=f"{gateway}/openai", api_key="sk-test-key", max_retries=0, http_client=httpx.Client())
    started = time.monotonic()
    try:
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError, openai.APIError)):
            sdk.files.content("file-abc").read()
        assert time.monotonic() - started < 5
        assert _Trickle.closed.wait(5)  # the upstream connection was dropped, not left trickling
    finally:
        server.shutdown()
