"""Chunked uploads (issue 14): `client.uploads.upload_file_chunked` of a large batch file (2 GiB by
default) through the gateway's Uploads API, against the same bytes sent directly, with the gateway
workers' peak RSS growth.

The client is the official `openai` SDK on both sides (64 MiB parts, sent one after another, as
`upload_file_chunked` does). What "direct" is per provider:

- `openai`: the same `upload_file_chunked` to the fast fake upstream (it counts each part and keeps
  nothing); through the gateway, every call is relayed to it.
- `anthropic`: Anthropic has no Uploads API and the gateway keeps its files: the parts go to the
  gateway's file store and `complete` streams them in order through the batch-JSONL check into the
  stored file. Direct = the OpenAI row's direct run (the SDK's own cost with a free upstream).
- `bedrock`: S3 in a moto server; direct = boto3's multipart `upload_fileobj` with 64 MiB parts.
  Through the gateway, each part is its own S3 object and `complete` checks the lines and assembles
  the file (server-side copies).
- `gemini`: direct = the fast fake's resumable upload of the same bytes; through the gateway, parts go
  to the file store and `complete` checks, converts and uploads every line to Gemini's Files API.

RSS growth = the largest rise of a worker's peak RSS (`VmHWM`) over its RSS once warm (small chunked
uploads until every worker has served one). The target: under 64 MB for any size.

Run: `.venv/bin/python bench/chunked_uploads.py [--size 2048] [--repeats 1] [--providers openai anthropic
bedrock gemini]`. Smoke test: `--size 20 --part-mb 8`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))

import data  # noqa: E402
import harness  # noqa: E402
import streaming  # noqa: E402

TARGET_RSS_MB = 64.0
REGION, BUCKET = "us-west-2", "bench-chunked"
PART_MB = 64
# 2 GiB of 5,000-byte lines is ~430,000 requests: past OpenAI's and Bedrock's per-file caps, which the
# benchmark lifts so the same bytes can be measured everywhere.
NO_CAPS = {"DEEPINTSHIELD_OPENAI_MAX_BATCH_REQUESTS": "0", "DEEPINTSHIELD_BEDROCK_MAX_RECORDS": "0"}


def sdk(base_url: str, provider: str | None = None):
    """The official client, strict, with the provider as a default query parameter (every call of
    `upload_file_chunked` then names it)."""
    from openai import OpenAI

    client = OpenAI(base_url=base_url, api_key=harness.KEY, max_retries=0, timeout=900,
                    _strict_response_validation=True)
    return client.with_options(default_query={"provider": provider}) if provider else client


def chunked(client, path: Path, part_bytes: int) -> float:
    """`upload_file_chunked` of `path`; seconds. Fails unless the upload completed with every byte."""
    started = time.perf_counter()
    upload = client.uploads.upload_file_chunked(file=path, mime_type="application/jsonl", purpose="batch",
                                                part_size=part_bytes)
    elapsed = time.perf_counter() - started
    if upload.status != "completed" or upload.file is None or upload.file.bytes != path.stat().st_size:
        raise RuntimeError(f"upload ended {upload.status} with {upload.file and upload.file.bytes} bytes "
                           f"of {path.stat().st_size}")
    return elapsed


def measure(gateway: str, master, provider: str, path: Path, part_bytes: int, repeats: int,
            direct: Callable[[], float], clean: Callable[[], None] = lambda: None) -> dict:
    client = sdk(gateway + "/openai/v1", provider)
    small = data.small_batch_file(400)
    pids, before = streaming._rss_before(master, lambda: (chunked(client, small, 16 * 1024), clean()))
    direct_runs, gateway_runs = [], []
    for _ in range(repeats):
        direct_runs.append(direct())
        gateway_runs.append(chunked(client, path, part_bytes))
        clean()
    mb = path.stat().st_size / harness.MB
    return {"provider": provider, "size_mb": mb, "direct": mb / statistics.median(direct_runs),
            "gateway": mb / statistics.median(gateway_runs),
            "ratio": statistics.median(d / g for d, g in zip(direct_runs, gateway_runs, strict=True)),
            "rss_growth": streaming._growth(pids, before)}


def openai_row(procs: harness.Processes, path: Path, part_bytes: int, repeats: int) -> dict:
    fake = harness.start_fake(procs)
    gateway, master = harness.start_gateway(procs, {"OPENAI_BASE_URL": fake + "/v1", **NO_CAPS})
    direct = sdk(fake + "/v1")
    return measure(gateway, master, "openai", path, part_bytes, repeats, lambda: chunked(direct, path, part_bytes))


def anthropic_row(procs: harness.Processes, path: Path, part_bytes: int, repeats: int) -> dict:
    fake = harness.start_fake(procs, name="anthropic-direct")
    # Gateway-key mode: the gateway keeps the file without asking Anthropic whether the key is good.
    gateway, master = harness.start_gateway(procs, {"DEEPINTSHIELD_API_KEYS": harness.KEY,
                                                    "ANTHROPIC_API_KEY": "sk-ant-bench"})
    store = procs.logs / "filestore"
    direct = sdk(fake + "/v1")

    def clean() -> None:  # the stored copies, so the disk holds one file at a time
        for stored in store.rglob("*.jsonl"):
            stored.unlink()

    return measure(gateway, master, "anthropic", path, part_bytes, repeats,
                   lambda: chunked(direct, path, part_bytes), clean)


def bedrock_row(procs: harness.Processes, path: Path, part_bytes: int, repeats: int) -> dict:
    import boto3
    from boto3.s3.transfer import TransferConfig

    moto = harness.start_moto(procs)
    env = harness.aws_env(procs, REGION)
    s3 = boto3.client("s3", region_name=REGION, endpoint_url=moto, aws_access_key_id="testing",
                      aws_secret_access_key="testing")
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    gateway, master = harness.start_gateway(procs, {
        **env, **NO_CAPS, "AWS_ENDPOINT_URL_S3": moto, "DEEPINTSHIELD_BEDROCK_REGION": REGION,
        "DEEPINTSHIELD_BEDROCK_BUCKET": BUCKET, "DEEPINTSHIELD_BEDROCK_PREFIX": "bench-gw"})
    config = TransferConfig(multipart_threshold=part_bytes, multipart_chunksize=part_bytes, use_threads=False)

    def direct() -> float:
        started = time.perf_counter()
        with open(path, "rb") as file:
            s3.upload_fileobj(file, BUCKET, "bench-direct/batch.jsonl", Config=config)
        return time.perf_counter() - started

    def clean() -> None:  # moto keeps objects in memory
        for item in s3.list_objects_v2(Bucket=BUCKET).get("Contents", []):
            s3.delete_object(Bucket=BUCKET, Key=item["Key"])

    return measure(gateway, master, "bedrock", path, part_bytes, repeats, direct, clean)


def gemini_row(procs: harness.Processes, path: Path, part_bytes: int, repeats: int) -> dict:
    fake = harness.start_fake(procs, name="gemini-fake")
    gateway, master = harness.start_gateway(procs, {"GEMINI_BASE_URL": fake})
    store = procs.logs / "filestore"

    def clean() -> None:
        for stored in store.rglob("*.jsonl"):
            stored.unlink()

    return measure(gateway, master, "gemini", path, part_bytes, repeats,
                   lambda: streaming.gemini_direct(fake, path), clean)


PROVIDERS = {"openai": openai_row, "anthropic": anthropic_row, "bedrock": bedrock_row, "gemini": gemini_row}


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=2048, help="file size in MiB")
    parser.add_argument("--part-mb", type=int, default=PART_MB)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--providers", nargs="+", choices=list(PROVIDERS), default=list(PROVIDERS))
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    path = data.batch_file(args.size, 5000)
    rows = []
    with harness.Processes() as procs:
        for provider in args.providers:
            rows.append(PROVIDERS[provider](procs, path, args.part_mb * harness.MB, args.repeats))
            procs.stop_all()

    size = path.stat().st_size / harness.MB
    print(f"\nChunked uploads (`upload_file_chunked`, {args.part_mb} MiB parts) of a {size:.0f}"
          f" MiB batch file: MB/s direct vs through the gateway (median of {args.repeats}); RSS growth = worker "
          "VmHWM - RSS once warm\n")
    print(harness.table(["provider", "MiB", "direct MB/s", "gateway MB/s", "gateway/direct", "worker RSS growth MB"],
                        [[r["provider"], f"{r['size_mb']:.0f}", r["direct"], r["gateway"], f"{r['ratio']:.0%}",
                          f"{r['rss_growth']:.1f}"] for r in rows]))
    worst = max(r["rss_growth"] for r in rows)
    checks = [("peak RSS growth of a worker", f"< {TARGET_RSS_MB:.0f} MB", f"{worst:.1f} MB", worst < TARGET_RSS_MB)]
    print("\n" + harness.table(["target", "goal", "measured (worst row)", "met"],
                               [[a, b, c, "yes" if ok else "NO"] for a, b, c, ok in checks]))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"rows": rows, "checks": checks}, indent=2))
    return {"rows": rows, "checks": checks}


if __name__ == "__main__":
    main()
