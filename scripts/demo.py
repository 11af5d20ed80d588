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
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import harness  # noqa: E402  (the benchmarks' process plumbing: children that always die)

SEED_BASE_URL = "http://localhost:8080/openai"
REGION, BUCKET, ROLE = "us-west-2", "your-s3-bucket", "arn:aws:iam::123456789012:role/demo-batch"
FAKES = {"openai": ("tests.fakes.openai:FakeOpenAI", "/v1", {}),
         "anthropic": ("tests.fakes.anthropic:FakeAnthropic", "", {}),
         "gemini": ("tests.fakes.gemini:FakeGemini", "", {"api_key": "your-api-key"})}

# The user document's end-to-end snippets, as written there (base URL aside).
SNIPPETS = {
    "openai": '''
import time
from openai import OpenAI
client = OpenAI(
base_url="http://localhost:8080/openai",
api_key="your-openai-api-key"
)
# Configuration
provider = "openai"
# Step 1: Create OpenAI JSONL content
jsonl_content = \'\'\'{"custom_id": "req-1", "method": "POST", "url": "/v1/chat/completions", "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "What is 2+2?"}], "max_tokens": 100}}
{"custom_id": "req-2", "method": "POST", "url": "/v1/chat/completions", "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "What is the capital of France?"}], "max_tokens": 100}}\'\'\'
# Step 2: Upload file (uses OpenAI's native file storage)
print("Step 1: Uploading batch input file...")
uploaded_file = client.files.create(
file=("batch_e2e.jsonl", jsonl_content.encode(), "application/jsonl"),
purpose="batch",
extra_body={"provider": provider},
)
print(f" Uploaded file: {uploaded_file.id}")
# Step 3: Create batch
print("Step 2: Creating batch job...")
batch = client.batches.create(
input_file_id=uploaded_file.id,
endpoint="/v1/chat/completions",
completion_window="24h",
extra_body={"provider": provider},
)
print(f" Created batch: {batch.id}, status: {batch.status}")
# Step 4: Poll for completion
print("Step 3: Polling batch status...")
for i in range(10):
    batch = client.batches.retrieve(batch.id, extra_query={"provider": provider})
    print(f" Poll {i+1}: status = {batch.status}")
    if batch.status in ["completed", "failed", "expired", "cancelled"]:
        break
    if batch.request_counts:
        print(f" Completed: {batch.request_counts.completed}/{batch.request_counts.total}")
    time.sleep(5)
print(f"\\nSuccess! Batch {batch.id} workflow completed.")
''',
    "bedrock": '''
import time
from openai import OpenAI
client = OpenAI(
base_url="http://localhost:8080/openai",
api_key="your-api-key"
)
# Configuration
provider = "bedrock"
s3_bucket = "your-s3-bucket"
s3_region = "us-west-2"
model = "anthropic.claude-3-sonnet-20240229-v1:0"
# Step 1: Create JSONL content using OpenAI-style format (DeepintShield converts to Bedrock format internally)
jsonl_content = \'\'\'{"custom_id": "req-1", "method": "POST", "url": "/v1/chat/completions", "body": {"model": "anthropic.claude-3-sonnet-20240229-v1:0", "messages": [{"role": "user", "content": "What is 2+2?"}], "max_tokens": 100}}
{"custom_id": "req-2", "method": "POST", "url": "/v1/chat/completions", "body": {"model": "anthropic.claude-3-sonnet-20240229-v1:0", "messages": [{"role": "user", "content": "What is the capital of France?"}], "max_tokens": 100}}\'\'\'
# Step 2: Upload file
print("Step 1: Uploading batch input file...")
uploaded_file = client.files.create(
file=("batch_e2e.jsonl", jsonl_content.encode(), "application/jsonl"),
purpose="batch",
extra_body={
"provider": provider,
"storage_config": {
"s3": {"bucket": s3_bucket, "region": s3_region, "prefix": "batch-input"},
},
},
)
print(f" Uploaded file: {uploaded_file.id}")
# Step 3: Create batch
print("Step 2: Creating batch job...")
batch = client.batches.create(
input_file_id=uploaded_file.id,
endpoint="/v1/chat/completions",
completion_window="24h",
extra_body={
"provider": provider,
"model": model,
"output_s3_uri": f"s3://{s3_bucket}/batch-output",
},
)
print(f" Created batch: {batch.id}, status: {batch.status}")
# Step 4: Poll for completion
print("Step 3: Polling batch status...")
for i in range(10):
    batch = client.batches.retrieve(batch.id, extra_query={"provider": provider})
    print(f" Poll {i+1}: status = {batch.status}")
    if batch.status in ["completed", "failed", "expired", "cancelled"]:
        break
    if batch.request_counts:
        print(f" Completed: {batch.request_counts.completed}/{batch.request_counts.total}")
    time.sleep(5)
print(f"\\nSuccess! Batch {batch.id} workflow completed.")
''',
    "anthropic": '''
import time
from openai import OpenAI
client = OpenAI(
base_url="http://localhost:8080/openai",
api_key="your-anthropic-api-key"
)
provider = "anthropic"
# Step 1: Create inline requests
print("Step 1: Creating inline requests...")
requests = [
    {
        "custom_id": "math-question",
        "params": {
            "model": "claude-3-sonnet-20240229",
            "max_tokens": 100,
            "messages": [{"role": "user", "content": "What is 15 * 7?"}]
        }
    },
    {
        "custom_id": "geography-question",
        "params": {
            "model": "claude-3-sonnet-20240229",
            "max_tokens": 100,
            "messages": [{"role": "user", "content": "What is the largest ocean?"}]
        }
    }
]
print(f" Created {len(requests)} inline requests")
# Step 2: Create batch
print("Step 2: Creating batch job...")
batch = client.batches.create(
input_file_id="",
endpoint="/v1/chat/completions",
completion_window="24h",
extra_body={"provider": provider, "requests": requests},
)
print(f" Created batch: {batch.id}, status: {batch.status}")
# Step 3: Poll for completion
print("Step 3: Polling batch status...")
for i in range(10):
    batch = client.batches.retrieve(batch.id, extra_query={"provider": provider})
    print(f" Poll {i+1}: status = {batch.status}")
    if batch.status in ["completed", "failed", "expired", "cancelled", "ended"]:
        break
    time.sleep(5)
print(f"\\nSuccess! Batch {batch.id} workflow completed.")
''',
    "gemini": '''
import time
from openai import OpenAI
client = OpenAI(
base_url="http://localhost:8080/openai",
api_key="your-api-key"
)
# Configuration
provider = "gemini"
model = "gemini-1.5-flash"
# Step 1: Create JSONL content using OpenAI-style format (DeepintShield converts to Gemini format internally)
jsonl_content = \'\'\'{"custom_id": "req-1", "method": "POST", "url": "/v1/chat/completions", "body": {"model": "gemini-1.5-flash", "messages": [{"role": "user", "content": "What is 2+2?"}], "max_tokens": 100}}
{"custom_id": "req-2", "method": "POST", "url": "/v1/chat/completions", "body": {"model": "gemini-1.5-flash", "messages": [{"role": "user", "content": "What is the capital of France?"}], "max_tokens": 100}}\'\'\'
# Step 2: Upload file (uses Gemini's native file storage)
print("Step 1: Uploading batch input file...")
uploaded_file = client.files.create(
file=("batch_e2e.jsonl", jsonl_content.encode(), "application/jsonl"),
purpose="batch",
extra_body={"provider": provider},
)
print(f" Uploaded file: {uploaded_file.id}")
# Step 3: Create batch
print("Step 2: Creating batch job...")
batch = client.batches.create(
input_file_id=uploaded_file.id,
endpoint="/v1/chat/completions",
completion_window="24h",
extra_body={
"provider": provider,
"model": model,
},
)
print(f" Created batch: {batch.id}, status: {batch.status}")
# Step 4: Poll for completion
print("Step 3: Polling batch status...")
for i in range(10):
    batch = client.batches.retrieve(batch.id, extra_query={"provider": provider})
    print(f" Poll {i+1}: status = {batch.status}")
    if batch.status in ["completed", "failed", "expired", "cancelled"]:
        break
    if batch.request_counts:
        print(f" Completed: {batch.request_counts.completed}/{batch.request_counts.total}")
    time.sleep(5)
print(f"\\nSuccess! Batch {batch.id} workflow completed.")
''',
}


def start(procs: harness.Processes) -> str:
    """The four fakes and the gateway pointed at them; returns the gateway's origin."""
    env: dict = {"DEEPINTSHIELD_BEDROCK_MIN_RECORDS": "1", "DEEPINTSHIELD_BEDROCK_ROLE_ARN": ROLE,
                 "DEEPINTSHIELD_BEDROCK_REGION": REGION}
    for provider, (spec, base, kwargs) in FAKES.items():
        origin = harness.start_fake(procs, "--mode", "fake", "--fake", spec, "--base", base,
                                    "--fake-kwargs", json.dumps(kwargs), name=f"{provider}-fake")
        env[f"{provider.upper()}_BASE_URL"] = origin + base
    aws = harness.aws_env(procs, REGION)
    bedrock = harness.start_fake(procs, "--mode", "bedrock", "--fake-kwargs",
                                 json.dumps({"region": REGION, "min_records": 1, "polls_per_step": 1}),
                                 name="bedrock-fake", env=aws)
    env.update(aws, AWS_ENDPOINT_URL_S3=bedrock, AWS_ENDPOINT_URL_BEDROCK=bedrock)
    import boto3

    boto3.client("s3", region_name=REGION, endpoint_url=bedrock, aws_access_key_id="testing",
                 aws_secret_access_key="testing").create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    origin, _ = harness.start_gateway(procs, env)
    return origin


def run(provider: str, origin: str) -> None:
    """One seed snippet, then the batch's output file, printed."""
    code = SNIPPETS[provider].replace(SEED_BASE_URL, f"{origin}/openai")
    scope: dict = {"__name__": "__seed__"}
    real_sleep = time.sleep
    time.sleep = lambda seconds: real_sleep(min(seconds, 0.3))  # the fakes finish in a few polls
    try:
        exec(compile(code, f"<seed snippet: {provider}>", "exec"), scope)  # noqa: S102 (our own document's code)
    finally:
        time.sleep = real_sleep
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
                print("(Bedrock's minimum of 100 records per job is lowered to 1 for this demo.)")
            run(provider, origin)
            print()
    print("Done: four providers, one client, one workflow.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
