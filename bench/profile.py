"""Profile one gateway worker under load with py-spy and print where the time goes.

Starts the fast fake and the gateway (gunicorn, one worker), drives one scenario, samples the worker
with `py-spy record --format raw`, and prints the functions with the most inclusive and self time.
py-spy is a dev tool, not a project dependency: `.venv/bin/pip install py-spy`.

Run: `.venv/bin/python bench/profile.py {files.retrieve,batches.retrieve,batches.list,upload,download}`.
"""

from __future__ import annotations

import argparse
import collections
import shutil
import subprocess
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import data  # noqa: E402
import harness  # noqa: E402
import streaming  # noqa: E402

CALLS = {"files.retrieve": "/files/file-abc123", "batches.retrieve": "/batches/batch_abc123",
         "batches.list": "/batches?limit=20"}


def summarize(raw: Path, top: int) -> None:
    inclusive: collections.Counter = collections.Counter()
    own: collections.Counter = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue  # a frame label with spaces split over lines
        n = int(count)
        frames = [f.split(" (")[0] + " (" + f.split(" (")[-1].split(":")[0].split("/")[-1] + ")"
                  for f in stack.split(";") if f]
        total += n
        for frame in set(frames):
            inclusive[frame] += n
        own[frames[-1]] += n
    print(f"{total} samples\n\nmost inclusive time:")
    for frame, n in inclusive.most_common(top):
        print(f"  {n / total:6.1%}  {frame}")
    print("\nmost self time:")
    for frame, n in own.most_common(top):
        print(f"  {n / total:6.1%}  {frame}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", choices=[*CALLS, "upload", "download"])
    parser.add_argument("--seconds", type=int, default=6)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--size", type=int, default=200, help="MiB, for upload/download")
    parser.add_argument("--line-bytes", type=int, default=data.LINE_BYTES, help="bytes per line, for upload")
    args = parser.parse_args()
    pyspy = shutil.which("py-spy") or str(harness.ROOT / ".venv" / "bin" / "py-spy")
    with harness.Processes() as procs:
        path = data.batch_file(args.size, args.line_bytes)
        fake = harness.start_fake(procs, "--content", str(path))
        gateway, master = harness.start_gateway(procs, {"OPENAI_BASE_URL": fake + "/v1", "WEB_CONCURRENCY": "1",
                                                      **streaming.NO_CAPS})
        worker = harness.workers(master.pid)[0]
        headers = {"Authorization": f"Bearer {harness.KEY}"}
        if args.scenario in CALLS:
            harness.load(f"{gateway}/openai/v1{CALLS[args.scenario]}", 4, 1, headers)

            def drive() -> None:
                harness.load(f"{gateway}/openai/v1{CALLS[args.scenario]}", 16, args.seconds + 1, headers)
        elif args.scenario == "upload":
            def drive() -> None:
                streaming.upload(gateway + "/openai/v1/files", path, {"purpose": "batch"})
        else:
            def drive() -> None:
                streaming.download(gateway + "/openai/v1/files/file-big/content")
        raw = procs.logs / "profile.txt"
        spy = subprocess.Popen([pyspy, "record", "--pid", str(worker), "--duration", str(args.seconds),
                                "--rate", "500", "--gil", "--format", "raw", "--output", str(raw), "--nonblocking"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        thread = threading.Thread(target=drive)
        thread.start()
        thread.join()
        spy.wait(timeout=args.seconds + 30)
    summarize(raw, args.top)


if __name__ == "__main__":
    main()
