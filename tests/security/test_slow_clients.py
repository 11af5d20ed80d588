"""Slow clients against the real server (gunicorn with gunicorn.conf.py): 64 connections that trickle
their headers or bodies a byte at a time are cut off, and everyone else keeps being answered within a
second meanwhile. gunicorn's own errors come back as JSON."""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from tests.conftest import server_env

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(tmp_path_factory, **settings: str):
    port = _free_port()
    env = {**server_env(), "DEEPINTSHIELD_BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": "1",
           "DEEPINTSHIELD_HEADER_TIMEOUT": "2", "DEEPINTSHIELD_CLIENT_WINDOW": "1",
           "DEEPINTSHIELD_CLIENT_MIN_RATE": "500",
           "DEEPINTSHIELD_FILE_STORE": str(tmp_path_factory.mktemp("store")), "PYTHONUNBUFFERED": "1", **settings}
    process = subprocess.Popen([sys.executable, "-m", "gunicorn", "wsgi:app"], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # answered, not just accepted: the master accepts before its worker is up
        try:
            _probe(port)
            break
        except (OSError, AssertionError, http.client.HTTPException):
            time.sleep(0.1)
    else:
        process.kill()
        pytest.fail("gunicorn did not start: " + process.stderr.read().decode()[-2000:])
    yield port
    process.terminate()
    process.wait(timeout=20)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from _serve(tmp_path_factory)


@pytest.fixture(scope="module")
def store_server(tmp_path_factory):
    """A gateway with its own keys, so that a file kept in its store needs no call to Anthropic."""
    yield from _serve(tmp_path_factory, DEEPINTSHIELD_API_KEYS="gk-slow", ANTHROPIC_API_KEY="sk-ant-unused")


def _probe(port: int) -> float:
    started = time.monotonic()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    connection.request("GET", "/healthz")
    assert connection.getresponse().status == 200
    connection.close()
    return time.monotonic() - started


def _trickle(port: int, head: bytes, body: bytes, closed: list, stop: threading.Event) -> None:
    """Send `head` then `body` one byte every 0.2 s; record when the server cut us off."""
    sock = socket.create_connection(("127.0.0.1", port))
    started = time.monotonic()
    try:
        for byte in head + body:
            if stop.is_set():
                return
            sock.sendall(bytes([byte]))
            time.sleep(0.2)
        sock.settimeout(10)
        sock.recv(1)
    except OSError:
        pass
    else:
        try:  # the server answered (a 4xx): wait for it to close the connection too
            while sock.recv(4096):
                pass
        except OSError:
            pass
    finally:
        closed.append(time.monotonic() - started)
        sock.close()


def test_slow_clients_are_cut_off_and_others_are_still_answered(server):
    slow_head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Padding: " + b"a" * 200 + b"\r\n\r\n"
    slow_body_head = (b"POST /openai/v1/batches HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      b"Authorization: Bearer sk-x\r\nContent-Length: 5000\r\n\r\n")
    closed: list[float] = []
    stop = threading.Event()
    threads = [threading.Thread(target=_trickle, args=(server, slow_head, b"", closed, stop)) for _ in range(32)]
    threads += [threading.Thread(target=_trickle, args=(server, b"", b"", closed, stop))]  # connects, sends nothing
    for _ in range(31):
        # Headers at once, then a body that trickles.
        def body_trickler():
            sock = socket.create_connection(("127.0.0.1", server))
            sock.sendall(slow_body_head)
            _trickle_socket(sock, b"{" + b" " * 4999, closed, stop)
        threads.append(threading.Thread(target=body_trickler))
    for thread in threads:
        thread.start()
    try:
        probes = []
        for _ in range(15):
            time.sleep(0.3)
            probes.append(_probe(server))
        # A starved server never answers a probe (it times out at 2 s); a loaded machine can delay one
        # a little past a second now and then, but not the typical one.
        assert max(probes) < 1.5 and sorted(probes)[len(probes) // 2] < 0.25, probes
        for thread in threads:
            thread.join(timeout=15)
    finally:
        stop.set()
    assert len(closed) == 64
    assert max(closed) < 8, sorted(closed)  # header deadline 2 s, body window 1 s, with slack


def _trickle_socket(sock: socket.socket, body: bytes, closed: list, stop: threading.Event) -> None:
    started = time.monotonic()
    try:
        for byte in body:
            if stop.is_set():
                return
            sock.sendall(bytes([byte]))
            time.sleep(0.2)
    except OSError:
        pass
    finally:
        closed.append(time.monotonic() - started)
        sock.close()


@pytest.mark.parametrize("request_bytes, status", [
    (b"GARBAGE\r\n\r\n", 400),
    (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
    (b"GET / HTTP/1.1\r\n" + b"".join(b"X-%d: 1\r\n" % n for n in range(150)) + b"\r\n", 431),
])
def test_gunicorns_own_errors_are_json(server, request_bytes, status):
    with socket.create_connection(("127.0.0.1", server), timeout=5) as sock:
        sock.sendall(request_bytes)
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.split()[1] == str(status).encode(), head
    assert b"application/json" in head
    error = json.loads(body)["error"]
    assert set(error) == {"message", "type", "param", "code"}


def test_a_second_instance_on_the_same_port_refuses_to_start(server):
    env = server_env(DEEPINTSHIELD_BIND=f"127.0.0.1:{server}")
    result = subprocess.run([sys.executable, "-m", "gunicorn", "wsgi:app"], cwd=ROOT, env=env, capture_output=True,
                            timeout=30)
    assert result.returncode != 0
    assert b"already in use" in result.stderr + result.stdout


def _stored_batch_file(port: int, lines: int) -> tuple[str, bytes]:
    """Upload a batch file that the gateway keeps in its file store (provider=anthropic); its id and bytes."""
    body = b"".join(json.dumps({"custom_id": f"r{n}", "method": "POST", "url": "/v1/chat/completions", "body": {
        "model": "claude-3-5-haiku-latest", "max_tokens": 16,
        "messages": [{"role": "user", "content": f"line {n} " + "x" * 400}]}}).encode() + b"\n"
        for n in range(lines))
    reply = requests.post(f"http://127.0.0.1:{port}/openai/v1/files", headers={"Authorization": "Bearer gk-slow"},
                          data={"purpose": "batch", "provider": "anthropic"}, files={"file": ("b.jsonl", body)},
                          timeout=30)
    assert reply.status_code == 200, reply.text
    return reply.json()["id"], body


def test_a_stored_file_downloads_whole_by_sendfile_and_a_reader_too_slow_is_cut_off(store_server):
    server = store_server
    file_id, body = _stored_batch_file(server, 20_000)  # ~9 MB: more than the socket buffers hold
    url = f"http://127.0.0.1:{server}/openai/v1/files/{file_id}/content?provider=anthropic"
    reply = requests.get(url, headers={"Authorization": "Bearer gk-slow"}, timeout=30)
    assert reply.status_code == 200
    assert reply.headers["Content-Length"] == str(len(body))
    assert reply.content == body

    # A reader that stops reading: the sends wait on a full socket, and after a window without
    # progress (1 s here) the server gives up on it; everyone else is answered meanwhile.
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)  # a small window (not tiny: draining stays quick)
    sock.connect(("127.0.0.1", server))
    path = url.split(str(server), 1)[1]
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer gk-slow\r\n\r\n".encode())
    probes = []
    for _ in range(8):
        time.sleep(0.5)
        probes.append(_probe(server))
    assert sorted(probes)[len(probes) // 2] < 0.25, probes
    sock.settimeout(10)
    received = 0
    try:
        while chunk := sock.recv(1 << 20):
            received += len(chunk)
    except OSError:  # reset: also a cut
        pass
    finally:
        sock.close()
    assert received < len(body), "the stalled download was not cut off"
