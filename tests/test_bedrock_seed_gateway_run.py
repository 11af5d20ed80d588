"""The seed's Bedrock snippet, unchanged, at Bedrock's real minimum of 100 records, on both queue engines.

Its two lines are too few for a Bedrock batch job, so the gateway runs them on bedrock-runtime
(the fake behind `AWS_ENDPOINT_URL_BEDROCK_RUNTIME`), with a worker in this process. The snippet
names no `role_arn` and none is configured: a gateway-run batch needs none.
"""

from __future__ import annotations

import json
import time

import pytest

from tests import seed
from tests.fakes.bedrock import REGION
from tests.gateway.redis_server import on_engine


@pytest.fixture(params=["sqlite", "redis"])
def test_config(request, test_config):
    return on_engine(request, {**test_config, "BEDROCK_REGION": REGION, "BEDROCK_MIN_RECORDS": 100,
                               "BEDROCK_ROLE_ARN": "", "BEDROCK_DEFAULT_BUCKET": "", "BEDROCK_ALLOWED_BUCKETS": []})


def test_the_seed_snippet_completes_with_results(gateway, bedrock_fake, bedrock_s3, gateway_worker, capsys):
    scope = seed.run("bedrock", gateway, strict=True)  # the document's snippet, as written
    client, batch, provider = scope["client"], scope["batch"], scope["provider"]
    out = capsys.readouterr().out
    assert "Created batch: batch_dsb_" in out and "workflow completed" in out
    deadline = time.monotonic() + 20
    while batch.status != "completed" and time.monotonic() < deadline:  # the snippet polls at most ten times
        time.sleep(0.05)
        batch = client.batches.retrieve(batch.id, extra_query={"provider": provider})
    assert batch.status == "completed" and batch.model == scope["model"]
    assert (batch.request_counts.total, batch.request_counts.completed, batch.request_counts.failed) == (2, 2, 0)
    assert batch.error_file_id is None and batch.usage.total_tokens > 0
    output = [json.loads(line) for line in client.files.content(batch.output_file_id).text.splitlines()]
    assert [line["custom_id"] for line in output] == ["req-1", "req-2"]
    assert all(line["response"]["body"]["object"] == "chat.completion" for line in output)
    # no batch job: one InvokeModel per line, with the Claude body a batch record would hold
    assert [operation for operation, _ in bedrock_fake.calls] == ["invoke", "invoke"]
