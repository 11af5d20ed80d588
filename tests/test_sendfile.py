"""Stored-file downloads by sendfile(2): `PacedSocket.sendfile` (the gunicorn worker's client socket) on
gevent sockets, and the dispatcher handing a local stored file to the server's `wsgi.file_wrapper`."""

from __future__ import annotations

import io
import time

import gevent
import pytest
from gevent import socket as gsocket

from gunicorn_worker import PacedSocket

DATA = bytes(range(256)) * 40_000  # ~10 MB: more than the socket buffers hold


@pytest.fixture
def stored(tmp_path):
    path = tmp_path / "stored.jsonl"
    path.write_bytes(DATA)
    with open(path, "rb") as handle:
        yield handle


def _drain(sock) -> bytes:
    received = bytearray()
    while chunk := sock.recv(1 << 20):
        received += chunk
    return bytes(received)


def test_sendfile_sends_the_range_asked_for(stored):
    left, right = gsocket.socketpair()
    paced = PacedSocket(left, window=1.0, min_rate=500)
    reader = gevent.spawn(_drain, right)
    assert paced.sendfile(stored, offset=1000, count=len(DATA) - 2000) == len(DATA) - 2000
    left.close()
    assert reader.get(timeout=10) == DATA[1000:-1000]


def test_sendfile_to_the_end_of_the_file(stored):
    left, right = gsocket.socketpair()
    reader = gevent.spawn(_drain, right)
    assert PacedSocket(left, window=1.0, min_rate=500).sendfile(stored) == len(DATA)
    left.close()
    assert reader.get(timeout=10) == DATA


def test_a_reader_that_stops_reading_is_cut_off(stored):
    left, right = gsocket.socketpair()
    paced = PacedSocket(left, window=0.3, min_rate=500)
    started = time.monotonic()
    with pytest.raises(BrokenPipeError):
        paced.sendfile(stored)  # nobody reads `right`
    # one window in which the buffers filled (bytes moved), then one with nothing moved
    assert time.monotonic() - started < 3
    right.close()


def test_a_slow_but_steady_reader_is_served_whole(stored):
    left, right = gsocket.socketpair()
    paced = PacedSocket(left, window=0.2, min_rate=1000)

    def slow_reader() -> bytes:
        received = bytearray()
        while chunk := right.recv(1 << 20):
            received += chunk
            gevent.sleep(0.01)  # far above 1,000 B/s, far below what the socket could do
        return bytes(received)

    reader = gevent.spawn(slow_reader)
    assert paced.sendfile(stored) == len(DATA)
    left.close()
    assert reader.get(timeout=30) == DATA


def test_a_stored_download_goes_to_the_servers_file_wrapper(client, app):
    """A file in the gateway's store is handed to `wsgi.file_wrapper` whole (gunicorn then uses sendfile)."""
    body = b'{"custom_id": "r1", "method": "POST", "url": "/v1/chat/completions", "body": {"model": "m", ' \
           b'"max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}}\n'
    app.config["API_KEYS"] = ["gk-1"]
    app.config["ANTHROPIC_API_KEY"] = "sk-ant-unused"
    headers = {"Authorization": "Bearer gk-1"}
    created = client.post("/openai/v1/files", headers=headers, data={
        "purpose": "batch", "provider": "anthropic", "file": (io.BytesIO(body), "in.jsonl")})
    assert created.status_code == 200, created.json
    wrapped = []

    def file_wrapper(file, block_size=8192):
        wrapped.append(file)
        return iter(lambda: file.read(block_size), b"")

    reply = client.get(f"/openai/v1/files/{created.json['id']}/content", query_string={"provider": "anthropic"},
                       headers=headers, environ_base={"wsgi.file_wrapper": file_wrapper})
    assert reply.status_code == 200
    assert reply.data == body
    assert reply.headers["Content-Length"] == str(len(body))
    assert len(wrapped) == 1 and wrapped[0].name.endswith(".jsonl")
