"""The upstream session's leaner request preparation (blueprints/common/http.py `_Session`): the same
request on the wire as requests' own Session prepares, and its URL cache is bounded."""

from __future__ import annotations

import pytest
import requests

from blueprints.common import http

CASES = [
    ("GET", "https://api.openai.com/v1/files/file-abc", {}),
    ("GET", "https://api.openai.com/v1/files/file-abc", {}),  # the second time from the cache
    ("GET", "https://api.openai.com/v1/batches", {"params": {"limit": 20, "after": "batch_1"}}),
    ("GET", "https://host.example/v1beta/files?pageSize=100", {"params": {"pageToken": "a b/c"}}),
    ("GET", "https://bücher.example/ä path/x y?q=ü", {}),
    ("POST", "https://api.openai.com/v1/batches", {"json": {"input_file_id": "file-1"}, "headers": {"X-A": "1"}}),
    ("POST", "https://api.openai.com/v1/files",
     {"files": {"file": ("a.jsonl", b"{}\n")}, "data": {"purpose": "batch"}}),
    ("DELETE", "https://user:pw@api.example/v1/files/f", {}),
    ("GET", "https://api.openai.com/v1/x", {"cookies": {"c": "1"}}),
]


def _plain() -> requests.Session:
    s = requests.Session()
    s.trust_env = False
    return s


def _wire(prepared: requests.PreparedRequest) -> tuple:
    body = prepared.body
    if isinstance(body, bytes) and b"--" in body[:2]:  # multipart: the boundary is random
        boundary = body[2:body.index(b"\r\n")]
        body = body.replace(boundary, b"B")
        headers = {k: v.replace(boundary.decode(), "B") for k, v in prepared.headers.items()}
    else:
        headers = dict(prepared.headers)
    return prepared.method, prepared.url, headers, body


@pytest.mark.parametrize(("method", "url", "kwargs"), CASES)
def test_prepares_what_requests_prepares(method, url, kwargs):
    lean, plain = http._Session(), _plain()
    lean.trust_env = False
    for s in (lean, plain):
        s.cookies.set("sticky", "abc", domain="api.openai.com")  # a cookie an upstream set earlier
    ours = lean.prepare_request(requests.Request(method, url, **kwargs))
    theirs = plain.prepare_request(requests.Request(method, url, **kwargs))
    assert _wire(ours) == _wire(theirs)
    assert type(ours) is http._Prepared


def test_bad_urls_fail_alike_and_are_not_kept():
    lean = http._Session()
    lean.trust_env = False
    for url in ("api.openai.com/v1/files", "https://", "http://[::1"):
        with pytest.raises(requests.RequestException) as ours:
            lean.prepare_request(requests.Request("GET", url))
        with pytest.raises(requests.RequestException) as theirs:
            _plain().prepare_request(requests.Request("GET", url))
        assert type(ours.value) is type(theirs.value)
        assert url not in http._prepared_urls


def test_the_url_cache_is_bounded(monkeypatch):
    monkeypatch.setattr(http, "PREPARED_URLS", 10)
    monkeypatch.setattr(http, "_prepared_urls", {})
    lean = http._Session()
    lean.trust_env = False
    for n in range(35):
        lean.prepare_request(requests.Request("GET", f"https://api.openai.com/v1/files/file-{n}"))
        assert len(http._prepared_urls) <= 10


@pytest.mark.parametrize(("proxies", "stream", "verify", "cert"), [
    ({}, None, None, None),
    ({}, True, False, "c.pem"),
    ({"https": "http://proxy:3128"}, False, "/ca.pem", None),
])
def test_environment_settings_merge_as_requests_merges(proxies, stream, verify, cert):
    lean, plain = http._Session(), _plain()
    lean.trust_env = False
    for s in (lean, plain):
        s.verify = "/bundle.pem"
    url = "https://api.openai.com/v1/files"
    assert (lean.merge_environment_settings(url, dict(proxies), stream, verify, cert)
            == plain.merge_environment_settings(url, dict(proxies), stream, verify, cert))


def test_session_headers_are_not_changed_by_a_call():
    lean = http._Session()
    lean.trust_env = False
    before = dict(lean.headers)
    prepared = lean.prepare_request(requests.Request("GET", "https://api.openai.com/v1/files"))
    prepared.headers["Authorization"] = "Bearer x"
    assert dict(lean.headers) == before
