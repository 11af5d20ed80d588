"""Watching batches created with a webhook, and posting their end: the web side registers, the worker does the rest.

A *watch* (in the gateway's job store, `store.Watch`) is due at a time. Each minute the worker's
sweep claims up to `SWEEP_LIMIT` due watches (moving them a `LEASE` ahead, so no other worker takes
them) and queues one task each; a task lost with its worker leaves the watch due again when the
lease runs out. A task either:
- *polls* the batch (its provider's `retrieve_batch` with the client's key, or the job store for a
  gateway-run batch) and, while it runs, makes the watch due again later: every minute in the
  batch's first quarter hour, every 5 minutes to its second hour, then every 15 (`poll_wait`),
  giving up after `WATCH_SECONDS` or `POLL_ERRORS` refusals in a row (a key revoked, a batch deleted);
- or, once the batch has ended, *delivers*: the event is built once and kept, then POSTed (see
  `urls.post`) until the receiver answers 2xx, after `DELIVERY_WAITS` (Standard Webhooks'
  schedule: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h: eight attempts over about 27 hours). The
  watch is dropped only after a 2xx (or the last attempt), so a worker dying between the POST and
  that leaves it to post again: at least once, with the same event ID.
A gateway-run batch's finalizer calls `batch_ended`, which delivers at once instead of waiting for a poll.
"""

from __future__ import annotations

import logging
import time

from flask import current_app, g

from blueprints import registry
from blueprints.common import auth, filestore
from blueprints.dispatcher import ids
from blueprints.gateway import keys
from blueprints.gateway.queue import queue
from blueprints.gateway.store import ENDED, Job, JobStore, Watch, store_for
from blueprints.webhooks import events, urls
from errors import APIError, BadRequest, UpstreamError
from schemas.requests import GcsLocation, NewBatch, Options, S3Location

log = logging.getLogger("deepintshield.webhooks")

SWEEP_LIMIT = 200  # watches a sweep hands out (the rest are due at the next)
LEASE = 300.0  # seconds a claimed watch is its task's (a poll and a POST are each bounded well below)
FIRST_POLL = 60.0  # seconds after the create
WATCH_SECONDS = 8 * 24 * 3600  # a batch not ended by then is no longer watched (Bedrock's longest job: 7 days)
POLL_ERRORS = 20  # refusals in a row (4xx) after which a watch is given up
DELIVERY_WAITS = (5, 300, 1800, 7200, 18000, 36000, 36000)  # seconds before each retry of a failed POST


def now() -> float:
    return time.time()


def _store() -> JobStore:
    return store_for(current_app.config["QUEUE"])


# The web side


def check(new: NewBatch) -> None:
    """Before a create: BadRequest naming `webhook_url` unless its webhook can be sent."""
    if new.webhook_url is None:
        return
    config = current_app.config
    if not config["WEBHOOK_SECRET"]:
        raise BadRequest("This gateway sends no webhooks (DEEPINTSHIELD_WEBHOOK_SECRET is unset).",
                         param="webhook_url", code="webhooks_not_configured")
    urls.check_url(new.webhook_url, bool(config["WEBHOOK_ALLOW_LOCAL"]))


def register(provider: str, new: NewBatch, batch: dict) -> None:
    """After a create: watch `batch` for its end. Never raises: the batch exists, and an error now
    would make the SDK create it again (the failure is logged instead)."""
    if new.webhook_url is None:
        return
    try:
        t = now()
        watch_id = batch["id"]
        storage = new.options.storage
        record = {
            "provider": provider, "url": new.webhook_url, "created_at": int(t), "polls": 0, "poll_errors": 0,
            "attempts": 0, "event": None,
            # the client's key, for the worker's looks at a provider's batch (a gateway-run one needs none)
            "key": None if auth.gateway_keys_enabled() or ids.decode_batch(watch_id, provider).gateway_run
            else keys.seal(auth.bearer_token(), watch_id),
            "storage": {"s3": vars(storage)} if isinstance(storage, S3Location)
            else {"gcs": vars(storage)} if isinstance(storage, GcsLocation) else None,
        }
        due = t if batch.get("status") in ENDED else t + FIRST_POLL
        _store().add_watch(Watch(watch_id, filestore.store().owner, due, record))
    except Exception:
        current_app.logger.exception("could not register a batch's webhook", extra={"batch": batch.get("id")})


# The worker side


def sweep() -> int:
    """Queue a task for each due watch (at most `SWEEP_LIMIT`); how many were queued."""
    store, t = _store(), now()
    queued = 0
    for watch_id in store.due_watches(t, SWEEP_LIMIT):
        claimed = store.claim_watch(watch_id, t + LEASE, t)
        if claimed is not None:
            queue().watch(watch_id, claimed.due)
            queued += 1
    return queued


def batch_ended(job: Job) -> None:
    """A gateway-run batch has just ended: post its webhook now, if it has one (never raises)."""
    try:
        store, t = _store(), now()
        watch_id = ids.encode_batch(job.provider, job.id)
        if store.nudge_watch(watch_id, t):
            claimed = store.claim_watch(watch_id, t + LEASE, t)
            if claimed is not None:
                handle(watch_id, claimed.due)
    except Exception:
        log.exception("could not post a gateway-run batch's webhook; the sweep will", extra={"job": job.id})


def handle(watch_id: str, token: float) -> None:
    """The task for a claimed watch (`token`: the claim's lease, so a stale task does nothing)."""
    store = _store()
    watch = store.get_watch(watch_id)
    if watch is None or watch.due != token:
        return
    if watch.record.get("event") is None and not _poll(store, watch):
        return
    _deliver(store, watch)


def _poll(store: JobStore, watch: Watch) -> bool:
    """Look at the batch: True (its event now in the record) once it has ended; else schedule the next look."""
    record, t = watch.record, now()
    try:
        batch = _retrieve(watch)
    except Exception as error:
        # A provider's refusal (4xx but 408/429) counts towards giving up, and so does anything that is
        # no provider error (a bug, a key that no longer unseals); a provider's failure or timeout does not.
        status = (error.upstream_status if isinstance(error, UpstreamError)
                  else error.status if isinstance(error, APIError) else None)
        refused = status is None and not isinstance(error, UpstreamError) or (
            status is not None and 400 <= status < 500 and status not in (408, 429))
        errors = int(record["poll_errors"]) + 1 if refused else 0
        log.warning("could not look at a watched batch (%s)", type(error).__name__,
                    extra={"batch": watch.id, "upstream_status": status})
        if errors >= POLL_ERRORS or status == 404 or t - record["created_at"] > WATCH_SECONDS:
            return _give_up(store, watch, "its batch cannot be read")
        store.set_watch(watch.id, t + poll_wait(t - record["created_at"]), poll_errors=errors)
        return False
    if batch["status"] not in ENDED:
        if t - record["created_at"] > WATCH_SECONDS:
            return _give_up(store, watch, "its batch has not ended")
        store.set_watch(watch.id, t + poll_wait(t - record["created_at"]), polls=int(record["polls"]) + 1,
                        poll_errors=0)
        return False
    event = events.event_id(watch.id)
    body = events.event_body(batch, event, int(batch.get(f"{batch['status']}_at") or t))
    record.update(event=event, body=body, key=None)  # the key is no longer needed: drop it
    store.set_watch(watch.id, watch.due, event=event, body=body, key=None)
    return True


def poll_wait(age: float) -> float:
    """Seconds to the next look at a batch `age` seconds old."""
    return 60.0 if age < 900 else 300.0 if age < 7200 else 900.0


def _retrieve(watch: Watch) -> dict:
    """The watched batch's Batch object, as its owner would get it."""
    from blueprints.gateway import operations as gateway  # the web side's Batch objects of jobs

    record = watch.record
    ref = ids.decode_batch(watch.id, record["provider"])
    if ref.gateway_run:
        job = _store().get(ref.native)
        if job is None:
            raise APIError(404, "The gateway-run batch is gone.")
        return gateway.batch_object(job)
    sealed = record.get("key")
    g.client_key = keys.unseal(sealed, watch.id) if sealed else ""
    storage = record.get("storage") or {}
    options = Options(storage=S3Location(**storage["s3"]) if "s3" in storage
                      else GcsLocation(**storage["gcs"]) if "gcs" in storage else None)
    return registry.get(ref.provider).operations.retrieve_batch(ref, options)


def _deliver(store: JobStore, watch: Watch) -> None:
    record, config = watch.record, current_app.config
    secret = config["WEBHOOK_SECRET"]
    t = now()
    attempts = int(record["attempts"]) + 1
    status = None
    if secret:  # unset since the create: kept until a secret is set again, retried like a failed POST
        # the signing time is the real one (receivers refuse one 5 minutes off), not the schedule's clock
        headers = events.signed_headers(record["event"], record["body"], secret, int(time.time()))
        status = urls.post(record["url"], record["body"], headers, float(config["WEBHOOK_TIMEOUT"]),
                           bool(config["WEBHOOK_ALLOW_LOCAL"]))
    if status is not None and 200 <= status < 300:
        store.drop_watch(watch.id)
        log.info("webhook delivered", extra={"batch": watch.id, "attempts": attempts})
        return
    log.warning("webhook not delivered", extra={"batch": watch.id, "attempts": attempts, "receiver_status": status})
    if attempts > len(DELIVERY_WAITS):
        _give_up(store, watch, "its receiver did not accept it")
        return
    store.set_watch(watch.id, t + DELIVERY_WAITS[attempts - 1], attempts=attempts)


def _give_up(store: JobStore, watch: Watch, why: str) -> bool:
    log.warning("webhook given up: %s", why, extra={"batch": watch.id})
    store.drop_watch(watch.id)
    return False
