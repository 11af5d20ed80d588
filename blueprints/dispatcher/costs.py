"""The gateway's cost objects: what an ended batch cost (`GET /batches/{id}/cost`) and an estimate of an
input file before it is submitted (`POST /batches/estimate`). The views are in `routes.py`; the
pricing is `translators.cost`, the counting `translators.usage` / `translators.estimate`.

A cost is priced from the batch's usage per model (`blueprints.common.usage.by_model`): nothing is
read but the batch and its kept usage record. An estimate streams the input file once through the
provider's own `file_content`, bounded like the usage sums (`DEEPINTSHIELD_USAGE_SCAN_BYTES` /
`_SECONDS`): a file past either is a 400 rather than a guess from part of it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from types import ModuleType

from flask import current_app

from blueprints.common import usage
from blueprints.common.provider import Operations
from blueprints.dispatcher import ids
from errors import BadRequest
from schemas.cost import EstimateRequest
from translators import cost, jsonl
from translators import estimate as estimating


def _discount(provider: str, gateway_run: bool) -> float:
    return cost.discount_for(provider, current_app.config.get("BATCH_DISCOUNTS") or {}, gateway_run=gateway_run)


def batch_cost(batch: dict, ref: ids.ResourceId, gateway_record: dict | None) -> dict:
    """The `batch.cost` object of `batch` (already filled with its usage where known)."""
    discount = _discount(ref.provider, ref.gateway_run)
    per_model = usage.by_model(batch, ref, gateway_record)
    priced = cost.costs(per_model, ref.provider, discount) if per_model is not None else \
        {"input_cost": None, "output_cost": None, "total_cost": None, "models": [], "unpriced_models": []}
    return {"object": "batch.cost", "batch_id": batch["id"], "status": batch["status"], "provider": ref.provider,
            "model": batch.get("model"), "currency": cost.CURRENCY, "usage": batch.get("usage"),
            "batch_discount": discount, "prices_source": cost.SOURCE, **priced}


def estimate(provider: str, request: EstimateRequest, operations: Operations | ModuleType) -> dict:
    """The `batch.estimate` object of an input file, read once."""
    ref = ids.decode_file(request.input_file_id, provider)
    if ref.kind != "file":
        raise BadRequest("input_file_id must be an uploaded file, not a batch's result file.",
                         param="input_file_id")
    config = current_app.config
    max_bytes, deadline = int(config["USAGE_SCAN_BYTES"]), time.monotonic() + float(config["USAGE_SCAN_SECONDS"])
    content = operations.file_content(ref, request.options)
    counted = estimating.Estimate(request.endpoint, request.model)
    try:
        if content.length is not None and content.length > max_bytes:
            raise _too_large(max_bytes)
        for number, line in jsonl.numbered_objects(jsonl.split_lines(_bounded(content.chunks, max_bytes))):
            counted.add(line)
            if number % 1000 == 0 and time.monotonic() > deadline:
                raise BadRequest("The input file takes too long to read for an estimate "
                                 "(DEEPINTSHIELD_USAGE_SCAN_SECONDS).", param="input_file_id",
                                 code="file_too_large")
    finally:
        usage.close(content)
    discount = _discount(provider, request.execution == "gateway")
    low = cost.costs({model: {"input_tokens": kept["input_tokens"], "cached_tokens": 0, "output_tokens": 0}
                      for model, kept in counted.by_model.items()}, provider, discount)
    high = cost.costs({model: {"input_tokens": kept["input_tokens"], "cached_tokens": 0,
                               "output_tokens": kept["output_tokens_max"]}
                       for model, kept in counted.by_model.items()}, provider, discount)
    lows = {entry["model"]: entry for entry in low["models"]}
    highs = {entry["model"]: entry for entry in high["models"]}
    unbounded = counted.lines_without_max_output > 0
    return {
        "object": "batch.estimate", "input_file_id": request.input_file_id, "endpoint": request.endpoint,
        "provider": provider, "method": estimating.METHOD, "lines": counted.lines,
        "input_tokens": counted.input_tokens, "output_tokens_max": None if unbounded else counted.output_tokens_max,
        "lines_without_max_output": counted.lines_without_max_output, "currency": cost.CURRENCY,
        "batch_discount": discount, "prices_source": cost.SOURCE, "min_cost": low["total_cost"],
        "max_cost": None if unbounded else high["total_cost"],
        "models": [{"model": model, "lines": kept["lines"], "input_tokens": kept["input_tokens"],
                    "output_tokens_max": kept["output_tokens_max"], "price_model": lows[model]["price_model"],
                    "min_cost": lows[model]["total_cost"], "max_cost": highs[model]["total_cost"]}
                   for model, kept in sorted(counted.by_model.items())],
        "unpriced_models": low["unpriced_models"],
    }


def _bounded(chunks: Iterator[bytes], max_bytes: int) -> Iterator[bytes]:
    read = 0
    for chunk in chunks:
        read += len(chunk)
        if read > max_bytes:
            raise _too_large(max_bytes)
        yield chunk


def _too_large(max_bytes: int) -> BadRequest:
    return BadRequest(f"The input file is larger than {max_bytes} bytes (DEEPINTSHIELD_USAGE_SCAN_BYTES) to "
                      "estimate.", param="input_file_id", code="file_too_large")
