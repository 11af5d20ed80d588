"""The worker side of gateway-run batches: lease a chunk, run its lines, record them, finalize the job.

`drive(job_id)` (a queue task) claims chunks of the job one after another until none is left or
the provider's concurrency cap (`DEEPINTSHIELD_GATEWAY_CONCURRENCY`, counted across all workers) is
reached, queueing one more drive each time it takes a chunk while others wait, so a job spreads
over the free worker threads. Each line:
- is skipped if its result is already recorded (a rerun of a dead worker's chunk);
- goes through the provider's `Realtime.prepare` and `send`, after the shared rate limits;
- is retried on 408, 429, 5xx and timeouts, waiting `Retry-After` or an exponential backoff (both
  capped by `DEEPINTSHIELD_GATEWAY_RETRY_WAIT`), up to `DEEPINTSHIELD_GATEWAY_LINE_ATTEMPTS` calls;
- ends as exactly one result line: an output line with the provider's reply, or an error line with
  the provider's status and message.
A chunk's lease is renewed while its lines run, and a cancel or the end of the completion window
stops a chunk between lines (the line in flight finishes and is kept).

When every chunk is done, or the job is stopping and nobody holds a chunk, the finalizer (holding
the `FINALIZE` lease) writes the output and error files into the file store in input order (lines
that never ran get `batch_cancelled` / `batch_expired` error lines), sums their usage, and ends the
job (and posts its webhook, if it has one: blueprints/webhooks). `sweep()` (every minute, and when
a worker starts) queues a drive for each job with work nobody holds, so nothing waits on a task lost
with a killed worker.
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
from collections.abc import Callable, Iterator

import msgspec
from flask import current_app, g

from blueprints import registry
from blueprints.common import filestore
from blueprints.common.provider import LineRequest, Realtime
from blueprints.gateway import NAMESPACE, keys, limits
from blueprints.gateway.queue import queue
from blueprints.gateway.store import ENDED, FINALIZE, Job, JobStore, store_for
from blueprints.webhooks import watches
from errors import APIError, UpstreamError
from translators import batch_output, jsonl
from translators import openai_shapes as shapes

log = logging.getLogger("deepintshield.gateway")
_decode = msgspec.json.Decoder().decode
_encode = msgspec.json.Encoder().encode
STATUS_CHECK_SECONDS = 1.0  # how often a running chunk looks for a cancel or the deadline
BLOCK = 1000  # result lines fetched at a time while finalizing


def job_store() -> JobStore:
    return store_for(current_app.config["QUEUE"])


def now() -> float:
    return time.time()


def drive(job_id: str) -> None:
    store = job_store()
    job = store.get(job_id)
    if job is None or job.status in ENDED:
        return
    spec = registry.PROVIDERS.get(job.provider)
    realtime = spec.realtime_module if spec is not None else None
    if realtime is None:  # its server is no longer declared: fail it once, rather than retry it every sweep
        store.update(job_id, status="failed", ended_at=int(now()), key=None,
                     never_ran=int(job.record["total"]) - job.completed - job.failed,
                     errors=shapes.batch_errors("provider_not_configured",
                                                f"Provider {job.provider} is no longer configured."))
        return
    if job.status == "validating":
        store.update(job_id, expect=("validating",), status="in_progress", in_progress_at=int(now()))
    config = current_app.config
    lease, cap = float(config["GATEWAY_LEASE"]), int(config["GATEWAY_CONCURRENCY"])
    while True:
        job = store.get(job_id)
        if job is None or _stopping(store, job):
            break
        index = store.claim(job_id, job.provider, now() + lease, cap, now())
        if index is None:
            break
        progress = store.progress(job_id, now())
        if progress.claimable and (not cap or progress.live < cap):
            queue().drive(job_id)  # more work than hands: one more drive, which may do the same
        finished = False
        try:
            finished = _run_chunk(store, job, index, realtime)
        finally:
            store.release(job_id, index, done=finished)
    finalize_if_ready(job_id)
    sweep(idle_only=True)  # capacity this drive frees may be what another job waits for


def sweep(idle_only: bool = False) -> None:
    """Queue a drive for each unfinished job with work nobody holds (or a finalization due)."""
    store, t = job_store(), now()
    for job_id in store.active():
        job = store.get(job_id)
        if job is None:
            continue
        _stopping(store, job)
        progress = store.progress(job_id, t)
        if (progress.claimable and (progress.live == 0 or not idle_only)) or _ready(store, job, t):
            queue().drive(job_id)


def _stopping(store: JobStore, job: Job) -> bool:
    """True once a job is cancelled or past its completion window (noted as its ending)."""
    if job.status == "cancelling" or job.record.get("ending"):
        return True
    if now() >= job.record["expires_at"]:
        store.update(job.id, ending="expired")
        job.record["ending"] = "expired"
        return True
    return False


def _ready(store: JobStore, job: Job, t: float) -> bool:
    progress = store.progress(job.id, t)
    stopping = job.status == "cancelling" or bool(job.record.get("ending")) or t >= job.record["expires_at"]
    return job.status not in ENDED and (progress.done == progress.chunks or (stopping and progress.live == 0))


# Lines


def _run_chunk(store: JobStore, job: Job, index: int, realtime: Realtime) -> bool:
    """Run the chunk's lines not yet recorded; False if the job stopped before all of them ran."""
    record = job.record
    offsets, first = record["offsets"], index * int(record["chunk_lines"])
    data = filestore.OwnedStore(filestore.backend(), job.owner).read_range(
        NAMESPACE, record["input_key"], offsets[index], offsets[index + 1])
    lines = [line for line in data.split(b"\n") if line]
    recorded = store.results(job.id, first, first + len(lines) - 1)
    lease = float(current_app.config["GATEWAY_LEASE"])
    renew_at = checked_at = time.monotonic()

    def keep_alive() -> None:  # renew the lease a third of the way through it
        nonlocal renew_at
        if time.monotonic() >= renew_at:
            store.renew(job.id, index, now() + lease)
            renew_at = time.monotonic() + lease / 3

    _use_key(job)
    for offset, raw in enumerate(lines):
        number = first + offset
        if number in recorded:
            continue
        if time.monotonic() - checked_at >= STATUS_CHECK_SECONDS:
            checked_at = time.monotonic()
            current = store.get(job.id)
            if current is None or _stopping(store, current):
                return False
        keep_alive()
        ok, line = run_line(job, number, _decode(raw), realtime, keep_alive)
        store.record(job.id, number, ok, _encode(line))
    return True


def _use_key(job: Job) -> None:
    sealed = job.record.get("key")
    g.client_key = keys.unseal(sealed, job.id) if sealed else ""


def run_line(job: Job, number: int, line: dict, realtime: Realtime,
             keep_alive: Callable[[], None] = lambda: None) -> tuple[bool, dict]:
    """One line through the provider, retried as the module docstring says: (ok, the result line)."""
    config = current_app.config
    custom_id = line["custom_id"]
    request = LineRequest(custom_id, line["url"], line["body"], job.record.get("model"), job.record.get("region"))
    fallback_id = f"{job.id[3:]}{number:08x}"
    try:
        prepared = realtime.prepare(request)
    except APIError as error:  # checked at create, so only a rule that changed since: the line's own error
        return False, _error_line(custom_id, fallback_id, error)
    model = request.model or str(request.body.get("model") or "")
    limit = limits.matching(config["GATEWAY_RATE_LIMITS"], job.provider, model)
    attempts = int(config["GATEWAY_LINE_ATTEMPTS"])
    for attempt in range(1, attempts + 1):
        _wait_for_rate(limit, keep_alive)
        try:
            reply = realtime.send(prepared, request)
        except APIError as error:
            if attempt < attempts and _retryable(error):
                _sleep(_retry_wait(error, attempt), keep_alive)
                continue
            return False, _error_line(custom_id, fallback_id, error)
        except Exception as error:  # a bug or an unforeseen reply: this line's error, not the batch's
            log.exception("gateway-run line failed", extra={"provider": job.provider, "job": job.id})
            return False, batch_output.http_error_line(
                custom_id, fallback_id, 500, f"The gateway could not run this line ({type(error).__name__}).",
                type="server_error", code="gateway_error")
        _charge_tokens(limit, reply.body)
        return True, batch_output.success_line(custom_id, reply.request_id or fallback_id, reply.body)
    raise AssertionError("unreachable")


def _retryable(error: APIError) -> bool:
    if isinstance(error, UpstreamError):
        status = error.upstream_status
        if status is None:  # no reply (a timeout, a connection that failed), or one the gateway could not read
            return error.code in ("upstream_timeout", "upstream_unreachable")
        return status in (408, 429) or status >= 500
    return False


def _retry_wait(error: APIError, attempt: int) -> float:
    cap = float(current_app.config["GATEWAY_RETRY_WAIT"])
    given = _retry_after((error.headers or {}).get("Retry-After"))
    wait = given if given is not None else 0.5 * 2 ** (attempt - 1) * (0.5 + random.random())
    return min(max(wait, 0.0), cap)


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        moment = email.utils.parsedate_to_datetime(value) if value else None
        return moment.timestamp() - now() if moment else None


def _error_line(custom_id: str, request_id: str, error: APIError) -> dict:
    status = getattr(error, "upstream_status", None) or error.status
    return batch_output.http_error_line(custom_id, request_id, status, error.message, type=error.type,
                                        code=error.code, param=error.param)


def _sleep(seconds: float, keep_alive: Callable[[], None]) -> None:
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        time.sleep(min(left, 1.0))
        keep_alive()


def _wait_for_rate(limit: limits.Limit | None, keep_alive: Callable[[], None]) -> None:
    if limit is None:
        return
    store = job_store()
    for key, per_minute, cost in ((limit.key("rpm"), limit.rpm, 1.0), (limit.key("tpm"), limit.tpm, 0.0)):
        if per_minute is None:
            continue
        while (wait := store.take(key, per_minute, cost, now())) > 0:
            _sleep(min(wait, 5.0), keep_alive)


def _charge_tokens(limit: limits.Limit | None, body: dict) -> None:
    if limit is None or limit.tpm is None:
        return
    tokens = _usage_numbers(body.get("usage"))["total_tokens"]
    if tokens:
        job_store().take(limit.key("tpm"), limit.tpm, float(tokens), now())


# Finalizing


def finalize_if_ready(job_id: str) -> None:
    store = job_store()
    job = store.get(job_id)
    t = now()
    if job is None or not _ready(store, job, t):
        return
    if not store.claim_chunk(job_id, FINALIZE, t + float(current_app.config["GATEWAY_LEASE"]), t):
        return  # another worker finalizes it
    try:
        _finalize(store, job)
    except BaseException:
        store.release(job_id, FINALIZE, done=False)
        raise
    store.release(job_id, FINALIZE, done=True)
    store.forget(job_id)
    filestore.OwnedStore(filestore.backend(), job.owner).delete(NAMESPACE, job.record["input_key"])
    ended = store.get(job_id)
    if ended is not None and ended.status in ENDED:
        watches.batch_ended(ended)


def _finalize(store: JobStore, job: Job) -> None:
    ending = "cancelled" if job.status == "cancelling" else job.record.get("ending") or "completed"
    if ending == "completed" and not store.update(job.id, expect=("in_progress", "validating"),
                                                   status="finalizing", finalizing_at=int(now())):
        current = store.get(job.id)  # cancelled meanwhile
        if current is None or current.status in ENDED:
            return
        job, ending = current, "cancelled" if current.status == "cancelling" else ending
    owned = filestore.OwnedStore(filestore.backend(), job.owner)
    record, batch_key = job.record, job.record["input_key"].removesuffix("-input")
    usage = {"input_tokens": 0, "cached_tokens": 0, "output_tokens": 0, "reasoning_tokens": 0, "total_tokens": 0}
    files: dict[str, object] = {}
    for kind, ok in (("output", True), ("errors", False)):
        lines = _result_lines(store, job, ok, ending, usage if ok else None)
        stored = owned.put(NAMESPACE, f"{batch_key}-{kind}", lines, filename=f"{kind}.jsonl",
                           purpose="batch_output")
        files[f"{kind}_bytes"] = stored.bytes
    current = store.get(job.id)
    counts = {"completed": current.completed if current else 0, "failed": current.failed if current else 0}
    never_ran = int(record["total"]) - counts["completed"] - counts["failed"]
    store.update(job.id, status=ending, ended_at=int(now()), usage=_batch_usage(usage), key=None,
                 has_output=counts["completed"] > 0, has_errors=counts["failed"] + never_ran > 0,
                 counts=counts, never_ran=never_ran, **files)


def _result_lines(store: JobStore, job: Job, ok: bool, ending: str, usage: dict | None) -> Iterator[bytes]:
    """The job's output (ok) or error lines in input order, as JSONL chunks; usage summed on the way."""
    owned = filestore.OwnedStore(filestore.backend(), job.owner)
    code = "batch_cancelled" if ending == "cancelled" else "batch_expired"
    number, block, pending = 0, [], []
    for raw in jsonl.split_lines(owned.open(NAMESPACE, job.record["input_key"])):
        if not raw:
            continue
        pending.append(raw)
        if len(pending) == BLOCK:
            block = _block(store, job, number, pending, ok, code, usage)
            number += len(pending)
            pending = []
            if block:
                yield b"".join(block)
    if pending:
        block = _block(store, job, number, pending, ok, code, usage)
        if block:
            yield b"".join(block)


def _block(store: JobStore, job: Job, first: int, raws: list[bytes], ok: bool, code: str,
           usage: dict | None) -> list[bytes]:
    results = store.results(job.id, first, first + len(raws) - 1)
    out = []
    for offset, raw in enumerate(raws):
        number = first + offset
        found = results.get(number)
        if found is None:
            if not ok:  # never ran: cancelled or expired before its turn
                custom_id = _decode(raw)["custom_id"]
                out.append(_encode(batch_output.failure_line(custom_id, f"{job.id[3:]}{number:08x}", code)) + b"\n")
            continue
        line_ok, data = found
        if line_ok == ok:
            out.append(data + b"\n")
            if usage is not None:
                body = ((_decode(data).get("response") or {}).get("body")) or {}
                for name, value in _usage_numbers(body.get("usage")).items():
                    usage[name] += value
    return out


def _usage_numbers(usage: object) -> dict[str, int]:
    """Token counts of a chat completion's, a response's or an embedding list's `usage`."""
    numbers = {"input_tokens": 0, "cached_tokens": 0, "output_tokens": 0, "reasoning_tokens": 0, "total_tokens": 0}
    if not isinstance(usage, dict):
        return numbers

    def number(value: object) -> int:
        return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0

    details_in = usage.get("prompt_tokens_details") or usage.get("input_tokens_details") or {}
    details_out = usage.get("completion_tokens_details") or usage.get("output_tokens_details") or {}
    numbers["input_tokens"] = number(usage.get("prompt_tokens", usage.get("input_tokens")))
    numbers["output_tokens"] = number(usage.get("completion_tokens", usage.get("output_tokens")))
    numbers["cached_tokens"] = number(details_in.get("cached_tokens")) if isinstance(details_in, dict) else 0
    numbers["reasoning_tokens"] = number(details_out.get("reasoning_tokens")) if isinstance(details_out, dict) else 0
    numbers["total_tokens"] = number(usage.get("total_tokens")) or numbers["input_tokens"] + numbers["output_tokens"]
    return numbers


def _batch_usage(usage: dict[str, int]) -> dict:
    """OpenAI's `Batch.usage` from the summed numbers."""
    return {
        "input_tokens": usage["input_tokens"],
        "input_tokens_details": {"cached_tokens": usage["cached_tokens"]},
        "output_tokens": usage["output_tokens"],
        "output_tokens_details": {"reasoning_tokens": usage["reasoning_tokens"]},
        "total_tokens": usage["total_tokens"],
    }
