"""Gateway-run batches end to end: lines per second through one and two worker processes, worker memory.

An OpenAI-compatible server with no batch API (`DEEPINTSHIELD_CHAT_ENDPOINTS="fast=…"`, the fast fake
of `fake_upstream.py`, a few microseconds per call) behind the gateway as production runs it
(gunicorn with `gunicorn.conf.py`) and `python -m worker` processes. For each case the OpenAI SDK
uploads an N-line file, creates the batch, and polls it until it is completed; then it downloads the
output and counts its lines. Printed per case:
- lines/s over the run (create to `completed`, finalizing included) and over the lines alone (create
  to the last line recorded, as `request_counts` shows it);
- peak RSS of each worker process (VmHWM) and its growth over the idle worker's, to show memory flat
  in the number of lines.

Targets (issue 13): at least 500 lines/s with one worker; memory flat in the number of lines.

Run: `python bench/gateway_run.py [--lines 10000 100000] [--workers 1 2] [--queue sqlite|redis]`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from openai import OpenAI

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # noqa: E402

TARGET_LINES_PER_SECOND = 500.0


def _input(path: Path, lines: int) -> None:
    with path.open("w") as handle:
        for number in range(lines):
            handle.write(json.dumps({"custom_id": f"req-{number}", "method": "POST", "url": "/v1/chat/completions",
                                     "body": {"model": "fast-model", "max_tokens": 8,
                                              "messages": [{"role": "user", "content": f"line {number}"}]}}) + "\n")


def _redis(procs: harness.Processes) -> str:
    port = harness.free_port()
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is not installed (apt-get install redis-server)")
    procs.start("redis", [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
    for _ in range(100):
        if subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True).returncode == 0:
            break
        time.sleep(0.05)
    return f"redis://127.0.0.1:{port}/0"


def run_case(lines: int, worker_count: int, queue: str) -> dict:
    folder = Path(tempfile.mkdtemp(prefix="gateway-run-bench-"))
    with harness.Processes() as procs:
        fake = harness.start_fake(procs)
        location = _redis(procs) if queue == "redis" else str(folder / "queue.db")
        env = {"DEEPINTSHIELD_CHAT_ENDPOINTS": f"fast={fake}/v1", "DEEPINTSHIELD_QUEUE": location,
               "DEEPINTSHIELD_FILE_STORE": str(folder / "files"), "WEB_CONCURRENCY": "1",
               "DEEPINTSHIELD_GATEWAY_CONCURRENCY": "0"}
        origin, _ = harness.start_gateway(procs, env)
        workers = [procs.start(f"worker{n}", [harness.PYTHON, "-m", "worker"], env=env) for n in range(worker_count)]
        time.sleep(1.5)  # the workers start and sweep
        idle = [harness.status_kb(worker.pid, "VmRSS") for worker in workers]
        path = folder / "input.jsonl"
        _input(path, lines)
        client = OpenAI(base_url=f"{origin}/openai", api_key="sk-bench", max_retries=0, timeout=600)
        with path.open("rb") as handle:
            uploaded = client.files.create(file=("input.jsonl", handle, "application/jsonl"), purpose="batch",
                                           extra_body={"provider": "fast"})
        started = time.monotonic()
        batch = client.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions",
                                      completion_window="24h", extra_body={"provider": "fast"})
        created = time.monotonic() - started
        lines_done_at = None
        while batch.status not in ("completed", "failed", "expired", "cancelled"):
            time.sleep(0.2)
            batch = client.batches.retrieve(batch.id)
            counts = batch.request_counts
            if lines_done_at is None and counts and counts.completed + counts.failed >= lines:
                lines_done_at = time.monotonic() - started
        ended = time.monotonic() - started
        peaks = [harness.status_kb(worker.pid, "VmHWM") for worker in workers]
        output = client.files.content(batch.output_file_id).read() if batch.output_file_id else b""
        client.close()
    shutil.rmtree(folder, ignore_errors=True)
    return {
        "lines": lines, "workers": worker_count, "queue": queue, "status": batch.status,
        "output_lines": output.count(b"\n"), "create_s": round(created, 2), "total_s": round(ended, 2),
        "lines_per_s": round(lines / ended), "run_lines_per_s": round(lines / (lines_done_at or ended)),
        "worker_peak_mb": [round(peak / 1024, 1) for peak in peaks],
        "worker_growth_mb": [round((peak - base) / 1024, 1) for peak, base in zip(peaks, idle, strict=True)],
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--queue", choices=("sqlite", "redis"), default="sqlite")
    parser.add_argument("--json", type=Path, help="also write the results here (bench/run_all.sh passes it)")
    args = parser.parse_args(argv)
    rows = []
    for workers in args.workers:
        for lines in args.lines:
            result = run_case(lines, workers, args.queue)
            print(json.dumps(result), flush=True)
            rows.append([result["queue"], workers, lines, result["status"], result["output_lines"], result["create_s"],
                         result["total_s"], result["lines_per_s"], result["run_lines_per_s"],
                         " / ".join(map(str, result["worker_peak_mb"])),
                         " / ".join(map(str, result["worker_growth_mb"]))])
    print(harness.table(["queue", "workers", "lines", "status", "output lines", "create s", "total s", "lines/s",
                         "lines/s (lines only)", "worker peak MB", "worker growth MB"], rows))
    print(f"target: >= {TARGET_LINES_PER_SECOND:.0f} lines/s with one worker; worker memory flat in the lines")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"rows": rows}, indent=2))


if __name__ == "__main__":
    main()
