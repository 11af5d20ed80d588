"""A batch's token `usage`, computed once from its results and kept in the owner's file store.

OpenAI and Azure report `usage` on the Batch themselves: theirs is kept as it is. For every other
provider (and any batch the provider gives no usage for) the dispatcher calls `fill` on a batch that
has ended (completed, expired, cancelled, or failed with results): its output file (the OpenAI
batch-output JSONL the gateway already produces, read through the provider's own `file_content`)
is streamed once and summed (`translators.usage`), and the sums are kept in the file store
(namespace `usage`, key: a hash of the provider and batch ID, the numbers in the stored object's
metadata) so every later retrieve reads one small record instead of the results.

Choices:
- A list never reads results: its batches get usage from their kept record only (one small read
  for each ended batch that has no usage of its own; none at all for the rest).
- Bounded: a retrieve reads at most `DEEPINTSHIELD_USAGE_SCAN_BYTES` for at most
  `DEEPINTSHIELD_USAGE_SCAN_SECONDS`. An output file larger than the byte cap is recorded as such
  (usage stays null, and later retrieves do not try again unless the cap is raised); running out of
  time records nothing (a later retrieve tries again, e.g. once the upstream is faster).
- Concurrent first retrieves may both sum the file; both write the same record (a pure function of
  the ended batch's results, written by atomic rename or a single S3 put), so the outcome is the
  same whichever wins.
- Usage never fails a retrieve: a result file that cannot be read (gone, expired upstream) leaves
  `usage` null and is logged.
Gateway-run batches sum their usage while the finalizer writes their result files
(`blueprints/gateway/runner.py`), so nothing here runs for them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Iterable, Iterator
from types import ModuleType

from flask import current_app

from blueprints.common import filestore
from blueprints.common.provider import Operations
from blueprints.common.streams import Content
from blueprints.dispatcher import ids
from errors import APIError, NotFound
from translators import jsonl
from translators import usage as summing

log = logging.getLogger("deepintshield")

NAMESPACE = "usage"
# Statuses after which the results no longer change. `failed` counts: a batch can fail with partial results.
ENDED = ("completed", "expired", "cancelled", "failed")


def key_of(ref: ids.ResourceId) -> str:
    """The record's key: native batch IDs may hold `/` or `:` (Bedrock ARNs), store keys may not."""
    return hashlib.sha256(f"{ref.provider}\n{ref.native}".encode()).hexdigest()[:48]


def kept(ref: ids.ResourceId) -> dict | None:
    """The kept record of a batch's usage (`usage`, `by_model`, `lines`), or None."""
    try:
        stored = filestore.store().get(NAMESPACE, key_of(ref))
    except NotFound:
        return None
    return stored.extra


def _keep(ref: ids.ResourceId, record: dict) -> None:
    body = json.dumps(record).encode()
    filestore.store().put(NAMESPACE, key_of(ref), [body], filename="usage.json", purpose="batch_usage",
                          extra={"batch_id": ids.encode_batch(ref.provider, ref.native), **record})


def fill(batch: dict, ref: ids.ResourceId, operations: Operations | ModuleType, options: object, *,
         compute: bool = True) -> dict:
    """`batch` (the batch `ref` names) with `usage` set where it can be: the provider's own, else the
    kept record, else (when `compute`) summed from its output file now and kept. Changes and returns it."""
    if batch.get("usage") is not None or batch.get("status") not in ENDED or not batch.get("output_file_id"):
        return batch
    record = kept(ref)
    if record is not None and (record.get("usage") is not None or not _worth_retrying(record)):
        batch["usage"] = record.get("usage")
        return batch
    if compute:
        record = _summed(batch, ref, operations, options)
        if record is not None:
            batch["usage"] = record["usage"]
    return batch


def _worth_retrying(record: dict) -> bool:
    """A file found too large is summed again only once the byte cap has been raised past its size."""
    return int(record.get("too_large_at") or 0) < int(current_app.config["USAGE_SCAN_BYTES"])


class _Stop(Exception):
    def __init__(self, reason: str, at: int) -> None:
        super().__init__(reason)
        self.reason, self.at = reason, at


def _bounded(chunks: Iterable[bytes], max_bytes: int, deadline: float) -> Iterator[bytes]:
    read = 0
    for chunk in chunks:
        read += len(chunk)
        if read > max_bytes:
            raise _Stop("bytes", read)
        if time.monotonic() > deadline:
            raise _Stop("time", read)
        yield chunk


def _summed(batch: dict, ref: ids.ResourceId, operations: Operations | ModuleType, options: object) -> dict | None:
    """Sum the batch's output file and keep the record; None when it could not be done now."""
    provider = ref.provider
    config = current_app.config
    max_bytes, seconds = int(config["USAGE_SCAN_BYTES"]), float(config["USAGE_SCAN_SECONDS"])
    started = time.monotonic()
    try:
        output = ids.decode_file(batch["output_file_id"], provider)
        content = operations.file_content(output, options)  # type: ignore[arg-type]
    except APIError as error:
        log.warning("batch usage: the output file could not be read", extra={"provider": provider,
                    "status": error.status})
        return None
    try:
        if content.length is not None and content.length > max_bytes:
            raise _Stop("bytes", content.length)
        totals = summing.sum_output(jsonl.split_lines(_bounded(content.chunks, max_bytes, started + seconds)))
    except _Stop as stop:
        cap = "DEEPINTSHIELD_USAGE_SCAN_BYTES" if stop.reason == "bytes" else "DEEPINTSHIELD_USAGE_SCAN_SECONDS"
        log.warning("batch usage: output file past %s; usage left null", cap,
                    extra={"provider": provider, "bytes_read": stop.at})
        if stop.reason == "bytes":
            _keep(ref, {"usage": None, "too_large_at": max_bytes})
        return None
    except Exception as error:  # noqa: BLE001 the stream broke off (UpstreamError, a storage client's
        # own error), a line past the line cap: usage never fails a retrieve, a later one tries again
        log.warning("batch usage: reading the output file failed", exc_info=not isinstance(error, APIError),
                    extra={"provider": provider, "error_type": type(error).__name__})
        return None
    finally:
        close(content)
    record = totals.record()
    _keep(ref, record)
    log.info("batch usage summed", extra={"provider": provider, "lines": totals.lines,
                                          "seconds": round(time.monotonic() - started, 3)})
    return record


def close(content: Content) -> None:
    """Release a file body read only in part (or wholly) by the gateway itself."""
    stop = getattr(content.chunks, "close", None)
    if stop is not None:
        stop()  # a generator left half-read releases its upstream connection now
    if content.on_close is not None:
        content.on_close()


def by_model(batch: dict, ref: ids.ResourceId, gateway_record: dict | None = None) -> dict[str, dict] | None:
    """The batch's usage numbers per model, for pricing: a gateway-run job's, the kept record's, or
    (provider-reported usage) all of it under the batch's own model. None when it has no usage."""
    if batch.get("usage") is None:
        return None
    if gateway_record is not None and gateway_record.get("usage_by_model"):
        return gateway_record["usage_by_model"]
    record = kept(ref) if not ref.gateway_run else None
    if record is not None and record.get("by_model"):
        return record["by_model"]
    return {batch.get("model") or summing.UNKNOWN: summing.numbers(batch["usage"])}
