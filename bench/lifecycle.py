"""Batch lifecycle (issue 6, item 4): the seed's whole workflow per provider, timed step by step.

For each provider: upload a `--lines`-line batch file, create the batch, poll until it completes,
download the output file and count its lines, all with the real OpenAI SDK (strict validation)
against the gateway under gunicorn with its production config (`gunicorn.conf.py`).

Upstreams are the project's stateful fakes (tests/fakes/) served over real HTTP on loopback by
`fake_upstream.py`: `--mode fake` for OpenAI, Anthropic and Gemini, `--mode bedrock` for Bedrock
(the job fake plus S3 in moto behind one port). The fakes advance a batch on each poll, so polling
runs without sleeping.

Each step's wall time is split three ways:
- fake: time inside the fake's handlers (its `/_stats`; for Bedrock this includes moto's S3 work);
- client: CPU time of this process (the OpenAI SDK building requests and reading replies);
- gateway: the rest (gateway work, plus loopback transfer and scheduling on a shared machine).
Every figure is the median over `--repeats` runs, after one untimed 100-line run per provider.

Anthropic takes the file-based flow (upload with provider=anthropic, create with input_file_id):
the file stays in the gateway's file store and goes to Anthropic as inline requests at create.

Run: `.venv/bin/python bench/lifecycle.py [--lines 10000] [--repeats 3] [--providers openai anthropic gemini bedrock]`.
Smoke test: `--lines 500 --repeats 1`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import data  # noqa: E402
import harness  # noqa: E402

PROVIDERS = ("openai", "anthropic", "gemini", "bedrock")
MODELS = {"openai": "gpt-4o-mini", "anthropic": "claude-3-5-haiku-20241022", "gemini": "gemini-1.5-flash",
          "bedrock": "anthropic.claude-3-sonnet-20240229-v1:0"}
FAKES = {"openai": ("tests.fakes.openai:FakeOpenAI", "/v1", {}),
         "anthropic": ("tests.fakes.anthropic:FakeAnthropic", "", {}),
         "gemini": ("tests.fakes.gemini:FakeGemini", "", {"api_key": harness.KEY})}
TERMINAL = ("completed", "failed", "expired", "cancelled")
STEPS = ("upload", "create", "poll", "download")
REGION = "us-west-2"
BUCKET = "bench-lifecycle"
ROLE = "arn:aws:iam::123456789012:role/x"
MAX_POLLS = 50
WARM_UP_LINES = 100


def start_fakes(procs: harness.Processes, providers: list[str],
                fake_args: tuple[str, ...] = ()) -> tuple[dict[str, str], dict]:
    """One fake process per provider; returns their origins and the gateway environment pointing at them.
    `fake_args` go to the served fakes of `--mode fake` (e.g. `--sample-checks N`, bench/million.py)."""
    origins, env = {}, {}
    for provider in providers:
        if provider == "bedrock":
            aws = harness.aws_env(procs, REGION)
            origin = harness.start_fake(procs, "--mode", "bedrock", "--fake-kwargs", json.dumps({"region": REGION}),
                                        name="bedrock-fake", env=aws)
            env.update(aws)
            env.update({"AWS_ENDPOINT_URL_S3": origin, "AWS_ENDPOINT_URL_BEDROCK": origin,
                        "DEEPINTSHIELD_BEDROCK_REGION": REGION, "DEEPINTSHIELD_BEDROCK_ROLE_ARN": ROLE})
            _create_bucket(origin)
        else:
            spec, base, kwargs = FAKES[provider]
            origin = harness.start_fake(procs, "--mode", "fake", "--fake", spec, "--base", base,
                                        "--fake-kwargs", json.dumps(kwargs), *fake_args, name=f"{provider}-fake")
            env[f"{provider.upper()}_BASE_URL"] = origin + base
        origins[provider] = origin
    return origins, env


def _create_bucket(origin: str) -> None:
    import boto3

    s3 = boto3.client("s3", region_name=REGION, endpoint_url=origin, aws_access_key_id="testing",
                      aws_secret_access_key="testing")
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})


def fake_seconds(origin: str) -> tuple[float, int]:
    stats = harness.fake_stats(origin)
    return stats["handler_seconds"], stats["requests"]


class Steps:
    """Times steps against one fake: wall, client CPU and fake handler time."""

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.times: dict[str, dict] = {}

    def run(self, name: str, action):
        harness.fake_stats(self.origin, reset=True)
        cpu, started = time.process_time(), time.perf_counter()
        result = action()
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        fake, calls = fake_seconds(self.origin)
        self.times[name] = {"wall": wall, "client": cpu, "fake": fake,
                            "gateway": max(0.0, wall - cpu - fake), "calls": calls}
        return result


def workflow(client, provider: str, path: Path, origin: str) -> tuple[dict, dict]:
    """The seed's end-to-end snippet for `provider`; (step times, facts to check)."""
    steps = Steps(origin)
    upload_body: dict = {"provider": provider}
    create_body: dict = {"provider": provider}
    if provider in ("gemini", "bedrock"):
        create_body["model"] = MODELS[provider]
    if provider == "bedrock":
        upload_body["storage_config"] = {"s3": {"bucket": BUCKET, "region": REGION, "prefix": "batch-input"}}
        create_body["output_s3_uri"] = f"s3://{BUCKET}/batch-output"
    query = {"provider": provider}

    def upload():
        with open(path, "rb") as file:
            return client.files.create(file=(path.name, file, "application/jsonl"), purpose="batch",
                                       extra_body=upload_body)

    uploaded = steps.run("upload", upload)
    batch = steps.run("create", lambda: client.batches.create(
        input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h", extra_body=create_body))

    def poll():
        current, polls = batch, 0
        while current.status not in TERMINAL:
            if polls == MAX_POLLS:
                raise RuntimeError(f"{provider}: batch still {current.status} after {MAX_POLLS} polls")
            current = client.batches.retrieve(current.id, extra_query=query)
            polls += 1
        return current, polls

    done, polls = steps.run("poll", poll)
    if done.status != "completed" or not done.output_file_id:
        raise RuntimeError(f"{provider}: batch ended {done.status} (errors: {done.errors})")

    def download():
        lines, last = 0, b"\n"
        with client.files.with_streaming_response.content(done.output_file_id, extra_query=query) as response:
            for chunk in response.iter_bytes():
                lines += chunk.count(b"\n")
                last = chunk[-1:] or last
        return lines + (last != b"\n")

    lines = steps.run("download", download)
    return steps.times, {"polls": polls, "output_lines": lines, "counts": done.request_counts}


def median_steps(runs: list[dict]) -> dict:
    return {step: {key: statistics.median(run[step][key] for run in runs) for key in runs[0][step]}
            for step in STEPS}


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=10_000, help="request lines in the batch file")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--providers", nargs="+", choices=PROVIDERS, default=list(PROVIDERS))
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    from openai import OpenAI

    results: dict[str, dict] = {}
    with harness.Processes() as procs:
        origins, env = start_fakes(procs, args.providers)
        env["DEEPINTSHIELD_BEDROCK_MIN_RECORDS"] = str(min(WARM_UP_LINES, args.lines))
        gateway, _master = harness.start_gateway(procs, env)
        with OpenAI(base_url=f"{gateway}/openai", api_key=harness.KEY, max_retries=0, timeout=300,
                    _strict_response_validation=True) as client:
            for provider in args.providers:
                # One untimed small run first: the worker's first use of a provider (imports, boto3's S3
                # model, sessions, the store directory) is not part of a batch's cost.
                workflow(client, provider, data.lines_file(WARM_UP_LINES, MODELS[provider]), origins[provider])
                path = data.lines_file(args.lines, MODELS[provider])
                runs, facts = [], {}
                for _ in range(args.repeats):
                    times, facts = workflow(client, provider, path, origins[provider])
                    if facts["output_lines"] != args.lines:
                        raise RuntimeError(f"{provider}: {facts['output_lines']} output lines for {args.lines} "
                                           f"requests (counts {facts['counts']})")
                    runs.append(times)
                results[provider] = {"steps": median_steps(runs), "polls": facts["polls"],
                                     "output_lines": facts["output_lines"]}

    print(f"\nBatch lifecycle: {args.lines:,} lines per batch, the seed workflow with the OpenAI SDK through "
          f"gunicorn; median of {args.repeats}; ms\n")
    rows = []
    for provider, result in results.items():
        steps = result["steps"]
        for step in STEPS:
            t = steps[step]
            rows.append([provider, step + (f" ({result['polls']} polls)" if step == "poll" else ""),
                         t["wall"] * 1000, t["client"] * 1000, t["gateway"] * 1000, t["fake"] * 1000,
                         f"{t['gateway'] / t['wall']:.0%}" if t["wall"] else "-", int(t["calls"])])
        total = {key: sum(steps[s][key] for s in STEPS) for key in ("wall", "client", "gateway", "fake", "calls")}
        rows.append([provider, f"total ({result['output_lines']:,} output lines)", total["wall"] * 1000,
                     total["client"] * 1000, total["gateway"] * 1000, total["fake"] * 1000,
                     f"{total['gateway'] / total['wall']:.0%}", int(total["calls"])])
        result["total"] = total
    print(harness.table(["provider", "step", "wall ms", "client ms", "gateway ms", "fake ms", "gateway share",
                         "fake calls"], rows))
    print("\nclient = CPU time of the SDK process; fake = time in the fake's handlers (Bedrock: job fake + moto S3); "
          "gateway = wall - client - fake.")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"lines": args.lines, "repeats": args.repeats, "providers": results},
                                        indent=2))
    return results


if __name__ == "__main__":
    main()
