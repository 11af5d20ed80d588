"""Streaming (issue 6, item 2): a big `purpose=batch` JSONL uploaded and downloaded through the
gateway, against the same transfer done directly, plus the gateway workers' peak RSS growth.

The client is the same for both sides and costs almost nothing: the multipart head and tail are
written by hand and the file part goes out with `sendfile`; downloads are read into one reused
buffer. Direct = the fake upstream on its own (it counts the upload, `sendfile`s the download).
Each MB/s is the median of `--repeats` interleaved runs; the ratio is gateway/direct in that run.

Providers: `openai` (the fast fake). Rows for providers whose packages are not there are skipped.

Run: `.venv/bin/python bench/streaming.py [--sizes 50 200] [--repeats 3]`.
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

import data  # noqa: E402
import harness  # noqa: E402

TARGETS = {"rss_growth_mb": 64.0, "upload_ratio": 0.50, "download_ratio": 0.80}
BUFFER = 1024 * 1024


def upload(url: str, path: Path, fields: dict[str, str]) -> tuple[float, dict]:
    """POST `path` as multipart/form-data (fields first, as the OpenAI SDK sends them); (seconds, reply)."""
    parts = urlsplit(url)
    boundary = uuid.uuid4().hex
    head = "".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
                   for k, v in fields.items())
    head += (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{path.name}"\r\n'
             "Content-Type: application/jsonl\r\n\r\n")
    tail = f"\r\n--{boundary}--\r\n".encode()
    size = path.stat().st_size
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=300)
    started = time.perf_counter()
    conn.putrequest("POST", parts.path)
    conn.putheader("Authorization", f"Bearer {harness.KEY}")
    conn.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
    conn.putheader("Content-Length", str(len(head.encode()) + size + len(tail)))
    conn.endheaders(head.encode())
    with open(path, "rb") as file:
        conn.sock.sendfile(file)
    conn.send(tail)
    response = conn.getresponse()
    body = response.read()
    elapsed = time.perf_counter() - started
    conn.close()
    if response.status != 200:
        raise RuntimeError(f"upload to {url} answered {response.status}: {body[:500]!r}")
    return elapsed, json.loads(body)


def download(url: str) -> tuple[float, int]:
    """GET `url`, reading the body into one reused buffer; (seconds, bytes)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=300)
    buffer = memoryview(bytearray(BUFFER))
    started = time.perf_counter()
    conn.request("GET", parts.path + (f"?{parts.query}" if parts.query else ""),
                 headers={"Authorization": f"Bearer {harness.KEY}"})
    response = conn.getresponse()
    if response.status != 200:
        raise RuntimeError(f"download from {url} answered {response.status}: {response.read()[:500]!r}")
    total = 0
    while count := response.readinto(buffer):
        total += count
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed, total


def openai_rows(procs: harness.Processes, sizes: list[int], repeats: int) -> list[list]:
    rows = []
    largest = data.batch_file(max(sizes))
    fake = harness.start_fake(procs, "--content", str(largest))
    gateway, master = harness.start_gateway(procs, {"OPENAI_BASE_URL": fake + "/v1"})
    pids = harness.workers(master.pid)
    time.sleep(0.5)
    before = {pid: harness.status_kb(pid, "VmRSS") for pid in pids}
    for size in sorted(sizes):
        path = data.batch_file(size)
        mb = path.stat().st_size / harness.MB
        up_d, up_g, down_d, down_g = [], [], [], []
        for _ in range(repeats):
            up_d.append(upload(fake + "/v1/files", path, {"purpose": "batch"})[0])
            seconds, reply = upload(gateway + "/openai/v1/files", path, {"purpose": "batch"})
            up_g.append(seconds)
            if reply.get("bytes", 0) < path.stat().st_size:
                raise RuntimeError(f"the fake saw {reply.get('bytes')} bytes of {path.stat().st_size}")
        # Downloads serve the largest file; the figure is per byte.
        big = largest.stat().st_size / harness.MB
        for _ in range(repeats):
            down_d.append(download(fake + "/v1/files/file-big/content")[0])
            seconds, count = download(gateway + "/openai/v1/files/file-big/content")
            down_g.append(seconds)
            if count != largest.stat().st_size:
                raise RuntimeError(f"downloaded {count} bytes of {largest.stat().st_size}")
        growth = max((harness.status_kb(pid, "VmHWM") - before[pid]) / 1024 for pid in pids)
        up_ratio = statistics.median(d / g for d, g in zip(up_d, up_g, strict=True))
        down_ratio = statistics.median(d / g for d, g in zip(down_d, down_g, strict=True))
        rows.append({"provider": "openai", "size_mb": mb,
                     "up_direct": mb / statistics.median(up_d), "up_gw": mb / statistics.median(up_g),
                     "up_ratio": up_ratio, "down_mb": big,
                     "down_direct": big / statistics.median(down_d), "down_gw": big / statistics.median(down_g),
                     "down_ratio": down_ratio, "rss_growth": growth})
    procs.stop_all()
    return rows


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 200], help="file sizes in MiB")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    results = []
    with harness.Processes() as procs:
        results += openai_rows(procs, args.sizes, args.repeats)

    print(f"\nStreaming: MB/s direct vs through the gateway (median of {args.repeats}); "
          "ratio = median of per-run gateway/direct; RSS growth = worker VmHWM - RSS before\n")
    print(harness.table(
        ["provider", "upload MiB", "up direct MB/s", "up gw MB/s", "up gw/direct", "download MiB",
         "down direct MB/s", "down gw MB/s", "down gw/direct", "worker RSS growth MB"],
        [[r["provider"], f"{r['size_mb']:.0f}", r["up_direct"], r["up_gw"], f"{r['up_ratio']:.0%}",
          f"{r['down_mb']:.0f}", r["down_direct"], r["down_gw"], f"{r['down_ratio']:.0%}",
          f"{r['rss_growth']:.1f}"] for r in results]))
    checks = [
        ("peak RSS growth, any size", f"<= {TARGETS['rss_growth_mb']:.0f} MB",
         f"{max(r['rss_growth'] for r in results):.1f} MB",
         max(r["rss_growth"] for r in results) <= TARGETS["rss_growth_mb"]),
        ("upload vs direct", f">= {TARGETS['upload_ratio']:.0%}", f"{min(r['up_ratio'] for r in results):.0%}",
         min(r["up_ratio"] for r in results) >= TARGETS["upload_ratio"]),
        ("download vs direct", f">= {TARGETS['download_ratio']:.0%}",
         f"{min(r['down_ratio'] for r in results):.0%}",
         min(r["down_ratio"] for r in results) >= TARGETS["download_ratio"]),
    ]
    print("\n" + harness.table(["target", "goal", "measured (worst row)", "met"],
                               [[a, b, c, "yes" if ok else "NO"] for a, b, c, ok in checks]))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"rows": results, "checks": checks}, indent=2))
    return {"rows": results, "checks": checks}


if __name__ == "__main__":
    main()
