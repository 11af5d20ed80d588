"""The user document's end-to-end snippets (../shared/seed/), one per provider, as written there, and
the one way to run them: against a gateway's base URL, with nothing else changed but test options.

Used by the provider tests (the snippets through the real SDK, strict, against the fakes) and by
`make demo`. The document must run unchanged apart from the base URL; `run` also swaps the
placeholder API key for the one a fake expects and shortens the sleeps between polls (the fakes
finish in a few polls), and, for tests, turns on the SDK's strict response validation.
"""

from __future__ import annotations

import time

SEED_BASE_URL = "http://localhost:8080/openai"
SEED_KEYS = ('api_key="your-openai-api-key"', 'api_key="your-api-key"', 'api_key="your-anthropic-api-key"')

# The end-to-end snippets, as the document has them (indentation restored where its page lost it).
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




def run(provider: str, base_url: str, *, api_key: str | None = None, strict: bool = False,
        max_sleep: float = 0.3, as_provider: str | None = None) -> dict:
    """Run `provider`'s snippet against `base_url` (e.g. `http://127.0.0.1:8080`); its variables afterwards.

    `api_key` replaces the document's placeholder key; `strict` adds the SDK's strict response
    validation and no retries (what the tests want); sleeps are cut to `max_sleep` seconds.
    `as_provider` runs the snippet's workflow with another provider name in its `provider = "…"`
    line (the OpenAI snippet on a server declared in `DEEPINTSHIELD_CHAT_ENDPOINTS`, say).
    """
    code = SNIPPETS[provider].replace(SEED_BASE_URL, f"{base_url}/openai")
    if as_provider is not None:
        code = code.replace(f'provider = "{provider}"', f'provider = "{as_provider}"', 1)
    if api_key is not None:
        for placeholder in SEED_KEYS:
            code = code.replace(placeholder, f"api_key={api_key!r}")
    if strict:
        code = code.replace(f'base_url="{base_url}/openai",',
                            f'base_url="{base_url}/openai", _strict_response_validation=True, max_retries=0,')
    scope: dict = {"__name__": "__seed__"}
    real_sleep = time.sleep
    time.sleep = lambda seconds: real_sleep(min(seconds, max_sleep))
    try:
        exec(compile(code, f"<seed snippet: {provider}>", "exec"), scope)  # noqa: S102 (the user document's code)
    finally:
        time.sleep = real_sleep
    return scope
