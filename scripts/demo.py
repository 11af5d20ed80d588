"""`make demo`: the gateway working end to end with no provider accounts.

Starts the project's stateful provider fakes (tests/fakes/, served over loopback HTTP by
bench/fake_upstream.py: OpenAI, Anthropic and Gemini, and Bedrock's job API with S3 in moto), starts
the gateway under gunicorn with its production config pointed at them, then runs the user document's
end-to-end snippet for every provider exactly as written, except for the base URL (the demo's
gateway listens on a free port) and the 5-second sleeps between polls (shortened: the fakes finish
in a few polls). After each workflow it downloads the batch's output file and prints it.

Two things differ from real providers, and the demo says so when they matter: the fakes answer
instantly, and Bedrock's minimum of 100 records per job is lowered to 1 (the seed's Bedrock snippet
submits 2 records; against real Bedrock the gateway answers that with a 400).
"""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import harness  # noqa: E402  (the benchmarks' process plumbing: children that always die)

sys.path.insert(0, str(ROOT))
from tests import seed  # noqa: E402  (the user document's snippets)

REGION, BUCKET, ROLE = "us-west-2", "your-s3-bucket", "arn:aws:iam::123456789012:role/demo-batch"
FAKES = {"openai": ("tests.fakes.openai:FakeOpenAI", "/v1", {}),
         "anthropic": ("tests.fakes.anthropic:FakeAnthropic", "", {}),
         "gemini": ("tests.fakes.gemini:FakeGemini", "", {"api_key": "your-api-key"})}

def start(procs: harness.Processes) -> str:
    """The four fakes and the gateway pointed at them; returns the gateway's origin."""
    env: dict = {"DEEPINTSHIELD_BEDROCK_ROLE_ARN": ROLE, "DEEPINTSHIELD_BEDROCK_REGION": REGION,
                 "DEEPINTSHIELD_QUEUE": str(procs.logs / "queue.db"),
                 "DEEPINTSHIELD_FILE_STORE": str(procs.logs / "filestore")}
    for provider, (spec, base, kwargs) in FAKES.items():
        origin = harness.start_fake(procs, "--mode", "fake", "--fake", spec, "--base", base,
                                    "--fake-kwargs", json.dumps(kwargs), name=f"{provider}-fake")
        env[f"{provider.upper()}_BASE_URL"] = origin + base
    aws = harness.aws_env(procs, REGION)
    bedrock = harness.start_fake(procs, "--mode", "bedrock", "--fake-kwargs",
                                 json.dumps({"region": REGION, "min_records": 1, "polls_per_step": 1}),
                                 name="bedrock-fake", env=aws)
    env.update(aws, AWS_ENDPOINT_URL_S3=bedrock, AWS_ENDPOINT_URL_BEDROCK=bedrock,
               AWS_ENDPOINT_URL_BEDROCK_RUNTIME=bedrock)
    import boto3

    boto3.client("s3", region_name=REGION, endpoint_url=bedrock, aws_access_key_id="testing",
                 aws_secret_access_key="testing").create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    origin, _ = harness.start_gateway(procs, env)
    procs.start("worker", [harness.PYTHON, "-m", "worker"], env=env)  # runs Bedrock's two-line batch
    return origin


def run(provider: str, origin: str) -> None:
    """One seed snippet, then the batch's output file, printed."""
    scope = seed.run(provider, origin)
    client, batch = scope["client"], scope["batch"]
    print(f" Output file {batch.output_file_id}:")
    content = client.files.content(batch.output_file_id, extra_query={"provider": provider}).read().decode()
    for line in content.splitlines():
        result = json.loads(line)
        answer = result["response"]["body"]["choices"][0]["message"]["content"]
        print(f"   {result['custom_id']}: {answer!r}")


def main() -> int:
    print(textwrap.dedent(__doc__).strip().splitlines()[0])
    with harness.Processes() as procs:
        print("Starting the provider fakes and the gateway (gunicorn, gunicorn.conf.py)...")
        origin = start(procs)
        print(f"Gateway on {origin}/openai, logs in {procs.logs}\n")
        for provider in ("openai", "anthropic", "gemini", "bedrock"):
            print(f"=== {provider}: the user document's end-to-end snippet ===")
            if provider == "bedrock":
                print("(Two records are below Bedrock's minimum of 100: the gateway runs them on bedrock-runtime.)")
            run(provider, origin)
            print()
    print("Done: four providers, one client, one workflow.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
