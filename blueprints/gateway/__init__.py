"""Batches the gateway runs itself, line by line, through a provider's real-time API.

When a provider's batch API cannot take a job (Bedrock below its record minimum; the
OpenAI-compatible servers of `DEEPINTSHIELD_CHAT_ENDPOINTS`, which have none) or the client asks for
it (`extra_body={"execution": "gateway"}`), the batch becomes a *job*:
- `operations.py` (web): checks every line at create (the batch rules and the provider's own
  `Realtime.prepare`, so a bad line is a 400 naming it before anything runs), keeps a copy of the
  input in the file store cut into chunks, records the job and queues it; answers retrieve, list,
  cancel and the result files in OpenAI's shapes.
- `queue.py`: the task queue (huey on the same SQLite file or Redis as the job store); the worker
  process (`python -m worker`) consumes it.
- `runner.py` (worker): leases chunks, runs their lines with retries and shared rate limits,
  records each result line, and finalizes the job into output and error files.
- `store.py`: the job state both sides share (SQLite or Redis).

IDs: a job's native ID is `gw-<24 hex>` (newest first in key order), encoded with its provider's
code like every other ID (`batch_dsb_…` for a Bedrock job; OpenAI, whose own IDs pass through, uses
its name as the code), so follow-up calls need no `provider`.
"""

from __future__ import annotations

import re

JOB_PREFIX = "gw-"
JOB_ID = re.compile(r"^gw-[0-9a-f]{24}$")
NAMESPACE = "gateway"  # the file store namespace of job inputs and result files


def is_job(native: str) -> bool:
    return bool(JOB_ID.match(native))
