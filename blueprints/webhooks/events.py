"""The event a webhook POST carries, and its Standard Webhooks signature headers. Pure functions.

The body is the event OpenAI sends for its own batches (`openai.types.webhooks`:
`{"id": "evt_…", "object": "event", "type": "batch.completed", "created_at", "data": {"id"}}`),
with the whole Batch object added as `data.batch` (the SDK's models keep extra fields, so
`unwrap(...).data.batch` holds it). The headers are Standard Webhooks': `webhook-id` (the event
ID, the same on every retry), `webhook-timestamp` (seconds, of this attempt) and
`webhook-signature: v1,<base64 of HMAC-SHA256("{id}.{timestamp}.{body}")>`, keyed with the bytes
the `whsec_…` secret's base64 stands for.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

EVENT_TYPES = {status: f"batch.{status}" for status in ("completed", "failed", "expired", "cancelled")}


def event_id(watch_id: str) -> str:
    """The event's ID, derived from the batch's: a batch ends once, so it has one event, whoever posts it."""
    return "evt_" + hashlib.sha256(f"batch-ended:{watch_id}".encode()).hexdigest()[:32]


def event_body(batch: dict, event: str, created_at: int) -> str:
    """The event for an ended `batch` (its Batch object) as the JSON text every attempt posts."""
    return json.dumps({"id": event, "object": "event", "type": EVENT_TYPES[batch["status"]], "created_at": created_at,
                       "data": {"id": batch["id"], "batch": batch}}, separators=(",", ":"), ensure_ascii=False)


def signed_headers(event: str, body: str, secret: str, timestamp: int) -> dict[str, str]:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signature = base64.b64encode(hmac.new(key, f"{event}.{timestamp}.{body}".encode(), hashlib.sha256).digest())
    return {"webhook-id": event, "webhook-timestamp": str(timestamp), "webhook-signature": f"v1,{signature.decode()}"}
