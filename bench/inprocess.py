"""The gateway's own CPU cost per request, in one process: no server, no client, no network.

The WSGI app is called directly (a prebuilt environ, the body iterated and closed as a server would),
with the upstream stubbed at `requests`' HTTPAdapter.send, so what is left is the app's own work: the
request log and metrics, Flask, auth, routing, schemas, `http.call`. Log lines go to /dev/null
through the configured handlers. CPU time (`process_time`) per request, the lowest of several runs:
on a shared machine the lowest is the figure least disturbed by others.

With `--compare TREE` the same runs are made from another copy of the project (e.g. the commit before
a change, `git archive HEAD~3 | tar -x -C /tmp/before`), interleaved run by run (which goes first
alternates), each tree in its own subprocess.

Run: `.venv/bin/python bench/inprocess.py [--requests 3000] [--rounds 5] [--compare TREE]`.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PATHS = ("/healthz", "/openai/v1/files/file-abc", "/openai/v1/batches/batch_abc")
FILE = {"id": "file-abc", "object": "file", "bytes": 10, "created_at": 1700000000, "filename": "a.jsonl",
        "purpose": "batch", "status": "processed"}
BATCH = {"id": "batch_abc", "object": "batch", "endpoint": "/v1/chat/completions", "input_file_id": "file-1",
         "completion_window": "24h", "status": "in_progress", "created_at": 1700000000}


def measure(tree: Path, requests_per_run: int) -> dict[str, float]:
    """CPU µs per request for each path, the app imported from `tree` (run in a fresh process)."""
    sys.path.insert(0, str(tree))
    os.chdir(tree)
    from unittest import mock

    import requests
    from werkzeug.test import EnvironBuilder

    from app import create_app

    app = create_app({"TESTING": True, "API_KEYS": [], "OPENAI_BASE_URL": "https://openai.fake/v1",
                      "FILE_STORE": "/tmp/deepintshield-bench-store"})
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(open(os.devnull, "w"))  # noqa: SIM115 (kept open for the process)
    bodies = {"files": json.dumps(FILE).encode(), "batches": json.dumps(BATCH).encode()}

    def send(adapter, request, **kwargs):
        response = requests.Response()
        response.status_code = 200
        response._content = bodies["files" if "/files/" in request.url else "batches"]
        response.headers["Content-Type"] = "application/json"
        response.request, response.url = request, request.url
        return response

    def start_response(status, headers, exc_info=None):
        return lambda data: None

    def run(path: str, count: int) -> float:
        environ = EnvironBuilder(path=path, headers={"Authorization": "Bearer sk-bench"}).get_environ()
        started = time.process_time()
        for _ in range(count):
            call = dict(environ)
            call["wsgi.input"] = io.BytesIO(b"")
            body = app(call, start_response)
            for _chunk in body:
                pass
            body.close()
        return (time.process_time() - started) / count * 1e6

    with mock.patch("requests.adapters.HTTPAdapter.send", send):
        for path in PATHS:
            run(path, 200)  # warm up: imports, caches, pools
        return {path: run(path, requests_per_run) for path in PATHS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000, help="requests per path per run")
    parser.add_argument("--rounds", type=int, default=5, help="runs per tree (interleaved with --compare)")
    parser.add_argument("--compare", type=Path, metavar="TREE", help="another copy of the project to compare with")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(measure(args.worker, args.requests)))
        return
    trees = {"this tree": ROOT} | ({"compared": args.compare.resolve()} if args.compare else {})
    best: dict[str, dict[str, float]] = {name: {} for name in trees}
    for round_number in range(args.rounds):
        order = list(trees.items())
        for name, tree in order if round_number % 2 == 0 else reversed(order):  # no tree always goes first
            output = subprocess.run([sys.executable, __file__, "--worker", str(tree), "--requests", str(args.requests)],
                                    capture_output=True, text=True, check=True).stdout
            for path, micros in json.loads(output.splitlines()[-1]).items():
                best[name][path] = min(micros, best[name].get(path, float("inf")))
    print(f"CPU µs per request, lowest of {args.rounds} runs of {args.requests}:")
    print(f"{'path':36}" + "".join(f"{name:>14}" for name in trees) + ("    difference" if args.compare else ""))
    for path in PATHS:
        row = f"{path:36}" + "".join(f"{best[name][path]:14.1f}" for name in trees)
        if args.compare:
            row += f"{best['this tree'][path] - best['compared'][path]:+14.1f}"
        print(row)


if __name__ == "__main__":
    main()
