"""The web side of gateway-run batches: create, retrieve, list, cancel, and their result files.

Create reads the input once, as a stream: every line is checked (the shared batch rules, the
batch's endpoint, and the provider's own `Realtime.prepare`, so a line the provider would refuse is
a 400 naming it before anything runs) and written, re-encoded, to the job's copy in the file store,
whose byte offsets every `DEEPINTSHIELD_GATEWAY_CHUNK_LINES` lines cut it into chunks. Then the job
is recorded (`validating`) and a drive is queued. An identical create by the same owner within
`REPEAT_WINDOW` (an SDK retry after a timeout: the SDK sends no idempotency key) returns the job
the first one made instead of a second one.

The Batch object is OpenAI's, from the job: `request_counts` move while it runs; `output_file_id`
/ `error_file_id` appear once it has ended with such lines; `usage` sums the output lines' usage.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable, Iterator

from flask import current_app

from blueprints import registry
from blueprints.common import auth, filestore
from blueprints.common.provider import LineRequest
from blueprints.common.streams import Content
from blueprints.dispatcher import ids
from blueprints.gateway import JOB_PREFIX, NAMESPACE, keys
from blueprints.gateway.queue import queue
from blueprints.gateway.runner import job_store
from blueprints.gateway.store import ENDED, Job
from errors import APIError, BadRequest, NotFound
from schemas.requests import BatchQuery, NewBatch, Options
from translators import jsonl
from translators import openai_shapes as shapes

JSONL = "application/jsonl"
REPEAT_WINDOW = 600  # seconds in which an identical create returns the first job
WINDOW_SECONDS = {"24h": 24 * 3600}


def create_batch(provider: str, new: NewBatch, lines: Iterable[bytes] | None = None,
                 region: str | None = None) -> dict:
    """Check the input and queue it as a job. `lines`: the input's lines when the caller has already
    opened it (Bedrock, handing over a batch below its record minimum); else the input file is read
    through the provider's own `file_content`."""
    spec = registry.get(provider)
    realtime = spec.realtime_module
    if realtime is None:
        raise BadRequest(f"Provider {provider} cannot run batches through the gateway.", param="execution",
                         code="unsupported_parameter")
    if new.output_expires_after is not None:
        raise BadRequest("Results of gateway-run batches stay in the file store until deleted; "
                         "output_expires_after cannot be set.", param="output_expires_after",
                         code="unsupported_parameter")
    if not new.input_file_id:
        raise BadRequest("input_file_id is required for a gateway-run batch.", param="input_file_id")
    config = current_app.config
    # Bedrock: the input file's region (its hand-over passes it), else the one storage_config names
    region = region or getattr(new.options.storage, "region", None)
    owner = _owner()
    store = job_store()
    fingerprint = _fingerprint(owner, provider, new, region)
    repeated = _repeat(store, owner, provider, fingerprint)
    if repeated is not None:
        return batch_object(repeated)

    key = filestore.new_key()
    job_id = JOB_PREFIX + key
    if lines is None:
        ref = ids.decode_file(new.input_file_id, provider)
        if ref.kind != "file":
            raise BadRequest("input_file_id must be an uploaded file, not a batch's result file.",
                             param="input_file_id")
        lines = jsonl.split_lines(spec.operations.file_content(ref, new.options).chunks)
    chunk_lines = int(config["GATEWAY_CHUNK_LINES"])
    copy = _Copy(lines, new, realtime, chunk_lines, int(config["GATEWAY_MAX_LINES"]), region)
    owned = filestore.store()
    owned.put(NAMESPACE, f"{key}-input", copy.chunks(), filename="input.jsonl", purpose="batch")
    created = int(time.time())
    record = {
        "endpoint": new.endpoint, "model": new.options.model, "region": region, "input_file_id": new.input_file_id,
        "completion_window": new.completion_window, "metadata": new.metadata, "created_at": created,
        "expires_at": created + WINDOW_SECONDS.get(new.completion_window, 24 * 3600), "total": copy.count,
        "offsets": copy.offsets, "chunk_lines": chunk_lines, "input_key": f"{key}-input",
        "fingerprint": fingerprint, "execution": new.execution,
        "key": None if auth.gateway_keys_enabled() else keys.seal(auth.bearer_token(), job_id),
    }
    job = Job(job_id, provider, owner, "validating", record, chunks=len(copy.offsets) - 1)
    store.create(job)
    try:
        queue().drive(job_id)
    except Exception:  # the job exists: the sweep queues it; an error now would make the SDK create it again
        current_app.logger.exception("could not queue a gateway-run job; the sweep will")
    return batch_object(job)


class _Copy:
    """The checked, re-encoded input lines as chunks for the file store, and where the chunks start."""

    def __init__(self, lines: Iterable[bytes], new: NewBatch, realtime, chunk_lines: int, max_lines: int,
                 region: str | None) -> None:
        self.lines, self.new, self.realtime, self.region = lines, new, realtime, region
        self.chunk_lines = chunk_lines
        self.check = jsonl.BatchInputCheck((jsonl.OPENAI,), endpoint=new.endpoint, max_requests=max_lines)
        self.offsets = [0]
        self.count = 0

    def chunks(self) -> Iterator[bytes]:
        encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
        size, block = 0, []
        for number, obj in jsonl.numbered_objects(self.lines):
            self.check(number, obj)
            request = LineRequest(obj["custom_id"], obj["url"], obj["body"], self.new.options.model, self.region)
            try:
                self.realtime.prepare(request)
            except APIError as error:
                raise BadRequest(f"Line {number}: {error.message}", param=f"line {number}",
                                 code=error.code or "invalid_line") from None
            data = encoder.encode({"custom_id": obj["custom_id"], "method": "POST", "url": obj["url"],
                                   "body": obj["body"]}).encode() + b"\n"
            block.append(data)
            size += len(data)
            self.count += 1
            if self.count % self.chunk_lines == 0:
                self.offsets.append(size)
            if len(block) >= 256:
                yield b"".join(block)
                block = []
        if block:
            yield b"".join(block)
        if self.count == 0:
            raise BadRequest("The input file has no requests.", param="input_file_id", code="empty_file")
        if self.offsets[-1] != size:
            self.offsets.append(size)


def _fingerprint(owner: str, provider: str, new: NewBatch, region: str | None) -> str:
    described = json.dumps([owner, provider, new.input_file_id, new.endpoint, new.completion_window, new.metadata,
                            new.options.model, region, new.execution], sort_keys=True)
    return hashlib.sha256(described.encode()).hexdigest()[:32]


def _repeat(store, owner: str, provider: str, fingerprint: str) -> Job | None:
    """The job an identical create made in the last `REPEAT_WINDOW` seconds, if any (newest first)."""
    cutoff = time.time() - REPEAT_WINDOW
    for job in store.list(provider, owner, None, 20):
        if job.record["created_at"] < cutoff:
            return None
        if job.record.get("fingerprint") == fingerprint:
            return job
    return None


def _job(ref: ids.ResourceId) -> Job:
    """The caller's job behind `ref` (a 404 for anyone else's, as for an ID nobody issued)."""
    job = job_store().get(ref.native)
    if job is None or job.owner != _owner() or job.provider != ref.provider:
        raise NotFound(f"No batch {ids.encode_batch(ref.provider, ref.native)!r}.")
    return job


def retrieve_batch(ref: ids.ResourceId, options: Options) -> dict:
    return batch_object(_job(ref))


def usage_by_model(ref: ids.ResourceId) -> dict | None:
    """The caller's job's usage per model (summed by the finalizer), for its cost."""
    return _job(ref).record.get("usage_by_model")


def cancel_batch(ref: ids.ResourceId, options: Options) -> dict:
    job = _job(ref)
    store = job_store()
    if store.update(job.id, expect=("validating", "in_progress"), status="cancelling",
                    cancelling_at=int(time.time())):
        queue().drive(job.id)  # finalizes it once no worker holds a chunk
    return batch_object(store.get(job.id) or job)


def list_batches(provider: str, query: BatchQuery) -> dict:
    """The caller's gateway-run batches on `provider`, newest first."""
    after = ids.decode_batch(query.after, provider).native if query.after else None
    jobs = job_store().list(provider, _owner(), after, query.limit + 1)
    return {"data": [batch_object(job) for job in jobs[: query.limit]], "has_more": len(jobs) > query.limit}


def owns_jobs(provider: str) -> bool:
    """Whether the caller has any gateway-run batch on `provider` (so a list must show them)."""
    try:
        owner = _owner()
    except APIError:
        return False
    return bool(job_store().list(provider, owner, None, 1))


def _owner() -> str:
    """Who owns the jobs of this request: the same keyed hash of the client's key as its stored files."""
    secret = current_app.config.get("OWNER_SECRET") or ""
    return auth.owner(secret.encode() if secret else filestore.backend().secret)


def batch_object(job: Job) -> dict:
    record = job.record
    status = job.status
    counts = {"total": int(record["total"]), "completed": job.completed, "failed": job.failed}
    if status in ENDED:
        counts["failed"] += int(record.get("never_ran") or 0)
    batch = shapes.batch(
        id=ids.encode_batch(job.provider, job.id), status=status, created_at=record["created_at"],
        input_file_id=record["input_file_id"], endpoint=record["endpoint"], model=record.get("model"),
        request_counts=counts, ended_at=record.get("ended_at"), in_progress_at=record.get("in_progress_at"),
        expires_at=record["expires_at"], cancelling_at=record.get("cancelling_at"),
        metadata=record.get("metadata"), usage=record.get("usage"), completion_window=record["completion_window"],
        errors=record.get("errors"),
        output_file_id=ids.encode_file(job.provider, job.id, "output") if record.get("has_output") else None,
        error_file_id=ids.encode_file(job.provider, job.id, "errors") if record.get("has_errors") else None,
    )
    batch["finalizing_at"] = record.get("finalizing_at")
    return batch


# Result files


def _result(ref: ids.ResourceId) -> tuple[Job, filestore.StoredFile]:
    job = _job(ids.ResourceId(ref.provider, "batch", ref.native))
    if not job.record.get("has_output" if ref.kind == "output" else "has_errors"):
        raise NotFound(f"No such file: {ids.encode_file(ref.provider, ref.native, ref.kind)!r}.")
    key = job.record["input_key"].removesuffix("-input") + f"-{ref.kind}"
    stored = filestore.store().get(NAMESPACE, key)
    return job, stored


def retrieve_file(ref: ids.ResourceId, options: Options) -> dict:
    job, stored = _result(ref)
    return shapes.file_object(id=ids.encode_file(ref.provider, ref.native, ref.kind), bytes=stored.bytes,
                              created_at=stored.created_at, filename=_filename(job, ref.kind),
                              purpose="batch_output")


def file_content(ref: ids.ResourceId, options: Options) -> Content:
    job, stored = _result(ref)
    return Content(filestore.store().open(NAMESPACE, stored.key), JSONL, stored.bytes, _filename(job, ref.kind))


def delete_file(ref: ids.ResourceId, options: Options) -> dict:
    job, stored = _result(ref)
    filestore.store().delete(NAMESPACE, stored.key)
    job_store().update(job.id, **{"has_output" if ref.kind == "output" else "has_errors": False})
    return {"id": ids.encode_file(ref.provider, ref.native, ref.kind), "object": "file", "deleted": True}


def _filename(job: Job, kind: str) -> str:
    return f"{ids.encode_batch(job.provider, job.id)}_{'output' if kind == 'output' else 'error'}.jsonl"

