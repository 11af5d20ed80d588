"""Webhooks: one signed POST to the client's URL when a batch created with `webhook_url` ends.

A client adds `webhook_url` to a batch create (`extra_body={"webhook_url": "https://…"}`, every
provider takes it). The route checks the URL before the batch is created (`urls.py`: https, a
public address unless `DEEPINTSHIELD_WEBHOOK_ALLOW_LOCAL`) and, once it is, records a *watch* in the
gateway's job store (`watches.py`; SQLite or Redis, as gateway-run batches). The worker
(`python -m worker`) then:
- polls the batch's provider with backoff (gateway-run batches are read from the job store, and
  their finalizer makes the watch due at once), with the client's key sealed as gateway-run jobs
  keep it (`blueprints/gateway/keys.py`) in passthrough mode;
- once the batch has ended, posts one event (`events.py`: the shape OpenAI's own batch webhooks
  have, plus the Batch object in `data.batch`), signed the Standard Webhooks way that
  `openai.OpenAI().webhooks.unwrap` verifies, and retries it with backoff until a 2xx: at least
  once, always with the same event ID and body, so a receiver can drop a repeat.
"""
