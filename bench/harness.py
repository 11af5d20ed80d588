"""Shared benchmark plumbing: free ports, child processes that always die, the gateway under gunicorn,
the fake upstream, RSS readings, `wrk` runs and plain-text tables.

Every child runs in its own session (process group); `Processes` kills exactly those groups on exit,
on error and on SIGTERM/SIGINT, so a failed run leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
PYTHON = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv").exists() else sys.executable
GUNICORN = str(ROOT / ".venv" / "bin" / "gunicorn") if (ROOT / ".venv").exists() else "gunicorn"
KEY = "sk-bench-not-a-real-key"
MB = 1024 * 1024


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                response.read()
                return
        except Exception:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not come up within {timeout:.0f}s") from None
            time.sleep(0.05)


class Processes:
    """Children started here, each in its own process group; all are killed when the block exits."""

    def __init__(self) -> None:
        self.children: list[subprocess.Popen] = []
        self.logs = Path(tempfile.mkdtemp(prefix="deepintshield-bench-"))

    def __enter__(self) -> Processes:
        def stop(signum, _frame):
            raise SystemExit(128 + signum)

        signal.signal(signal.SIGTERM, stop)
        return self

    def __exit__(self, *_exc) -> None:
        self.stop_all()

    def start(self, name: str, argv: Sequence[str], env: dict | None = None, cwd: Path = ROOT) -> subprocess.Popen:
        log = open(self.logs / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process group
        # A None value removes the variable from the child's environment.
        merged = {k: v for k, v in {**os.environ, **(env or {})}.items() if v is not None}
        child = subprocess.Popen(list(argv), cwd=cwd, env=merged, stdout=log,
                                 stderr=subprocess.STDOUT, start_new_session=True)
        child.log = log
        self.children.append(child)
        return child

    def stop(self, child: subprocess.Popen) -> None:
        if child.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGTERM)
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.pid, signal.SIGKILL)
                child.wait()
        child.log.close()
        if child in self.children:
            self.children.remove(child)

    def stop_all(self) -> None:
        for child in reversed(list(self.children)):
            self.stop(child)

    def log_tail(self, name: str, lines: int = 20) -> str:
        path = self.logs / f"{name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""


def start_fake(procs: Processes, *args: str, name: str = "fake", env: dict | None = None) -> str:
    """The fast fake upstream (or a served test fake); returns its origin URL."""
    port = free_port()
    procs.start(name, [PYTHON, str(BENCH / "fake_upstream.py"), "--port", str(port), *args], env=env)
    origin = f"http://127.0.0.1:{port}"
    try:
        wait_http(origin + "/_stats")
    except RuntimeError:
        raise RuntimeError(f"{name} did not start:\n" + procs.log_tail(name)) from None
    return origin


def aws_env(procs: Processes, region: str = "us-west-2") -> dict[str, str | None]:
    """Fake AWS credentials and an empty AWS config, so boto3 never finds real ones (moto ignores them)."""
    config = procs.logs / "aws-config"
    config.write_text("")
    return {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": None,
            "AWS_DEFAULT_REGION": region, "AWS_REGION": region, "AWS_PROFILE": None, "AWS_ENDPOINT_URL": None,
            "AWS_CONFIG_FILE": str(config), "AWS_SHARED_CREDENTIALS_FILE": str(config)}


def start_moto(procs: Processes, name: str = "moto") -> str:
    """A moto server (S3 and the rest, in memory) on loopback; returns its origin URL."""
    port = free_port()
    moto = str(ROOT / ".venv" / "bin" / "moto_server") if (ROOT / ".venv").exists() else "moto_server"
    procs.start(name, [moto, "-H", "127.0.0.1", "-p", str(port)], env=aws_env(procs))
    origin = f"http://127.0.0.1:{port}"
    try:
        wait_http(origin + "/moto-api/data.json")
    except RuntimeError:
        raise RuntimeError(f"{name} did not start:\n" + procs.log_tail(name)) from None
    return origin


def start_gateway(procs: Processes, env: dict, name: str = "gateway", cwd: Path = ROOT) -> tuple[str, subprocess.Popen]:
    """The gateway as production runs it: `gunicorn -c gunicorn.conf.py wsgi:app` in the project root
    (or in `cwd`, another copy of the project, to compare a change side by side)."""
    port = free_port()
    store = procs.logs / "filestore"
    child = procs.start(name, [GUNICORN, "-c", "gunicorn.conf.py", "wsgi:app"],
                        env={"PORT": str(port), "DEEPINTSHIELD_FILE_STORE": str(store), **env}, cwd=cwd)
    origin = f"http://127.0.0.1:{port}"
    try:
        wait_http(origin + "/healthz")
    except RuntimeError:
        raise RuntimeError("gateway did not start:\n" + procs.log_tail(name)) from None
    expected = int(env.get("WEB_CONCURRENCY", os.environ.get("WEB_CONCURRENCY", "2")))
    deadline = time.monotonic() + 20
    while len(workers(child.pid)) < expected and time.monotonic() < deadline:
        time.sleep(0.05)
    return origin, child


def workers(master_pid: int) -> list[int]:
    """The gunicorn worker PIDs of a master."""
    found = []
    for task in Path(f"/proc/{master_pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            found += [int(p) for p in (task / "children").read_text().split()]
    return found


def status_kb(pid: int, field: str) -> int:
    """A `/proc/<pid>/status` figure in kB (VmRSS, VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def fake_stats(origin: str, reset: bool = False) -> dict:
    request = urllib.request.Request(origin + ("/_reset" if reset else "/_stats"), method="POST" if reset else "GET")
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


# wrk


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(number) * _UNITS[unit]


def have_wrk() -> bool:
    return shutil.which("wrk") is not None


def wrk(url: str, connections: int, seconds: float, headers: dict | None = None) -> dict:
    """One `wrk` run: requests/s, p50 and p99 latency (ms), and the count of non-2xx replies."""
    argv = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency", "--timeout", "5s"]
    for name, value in (headers or {}).items():
        argv += ["-H", f"{name}: {value}"]
    out = subprocess.run([*argv, url], capture_output=True, text=True, check=True, timeout=seconds + 30).stdout
    result = {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1]),
        "p50": _ms(re.search(r"\s50%\s+(\S+)", out)[1]),
        "p99": _ms(re.search(r"\s99%\s+(\S+)", out)[1]),
        "errors": 0,
    }
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    sock = re.search(r"Socket errors:.*?timeout (\d+)", out)
    result["errors"] = (int(bad[1]) if bad else 0) + (int(sock[1]) if sock else 0)
    return result


def own_load(url: str, connections: int, seconds: float, headers: dict | None = None) -> dict:
    """A fallback load generator (threads over keep-alive `http.client`) for machines without wrk.

    Slower than wrk: at high rates it can become the bottleneck, which the README says.
    """
    import http.client
    import threading
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds

    def worker() -> None:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
        mine = []
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            conn.request("GET", target, headers=headers or {})
            response = conn.getresponse()
            response.read()
            mine.append((time.perf_counter() - started) * 1000)
            if response.status >= 300:
                errors[0] += 1
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {"rps": len(latencies) / elapsed, "p50": latencies[len(latencies) // 2],
            "p99": latencies[int(len(latencies) * 0.99)], "errors": errors[0]}


def load(url: str, connections: int, seconds: float, headers: dict | None = None) -> dict:
    return (wrk if have_wrk() else own_load)(url, connections, seconds, headers)


def median_of(runs: list[dict]) -> dict:
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


# tables


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table (readable as plain text too)."""
    cells = [[str(h) for h in headers]] + [[_cell(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |" for row in cells]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.2f}"
    return str(value)


@contextlib.contextmanager
def timer() -> Iterator[list[float]]:
    box: list[float] = []
    started = time.perf_counter()
    try:
        yield box
    finally:
        box.append(time.perf_counter() - started)
