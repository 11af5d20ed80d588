"""The nine Files/Batch operations for `provider=anthropic` (docs/provider-interface.md).

Files: Anthropic batches take no file input, so `purpose=batch` files are kept in the gateway's
file store (namespace "anthropic": `blueprints/common/storedfiles.py`), checked line by line as
they arrive. Batches: inline `requests` or a stored file are translated item by
item into temporary `{"requests": [...]}` bodies, split at Anthropic's per-batch limits, and only
then submitted, so a bad line never leaves half a batch upstream. A batch made of several Message
Batches gets one gateway ID over their comma-joined IDs. Output and error files are the batch's
`results_url` converted line by line while it streams to the client; nothing is held whole.

Endpoints: `/v1/chat/completions`, `/v1/responses` and `/v1/completions` (`translate.TO_PARAMS`);
`/v1/embeddings` is a 400 at upload and at create (Anthropic has no embeddings model). A Message
Batch does not remember which endpoint its requests came from, so a batch's native ID carries it
(`~responses`, `~completions`; none for chat, as before) and its results are converted to that
endpoint's reply (`translate.FROM_MESSAGE`).
"""

from __future__ import annotations

import functools
import itertools
import logging
import tempfile
from collections.abc import Iterable, Iterator
from typing import IO

from flask import current_app, stream_with_context

from blueprints.anthropic import NAME, client
from blueprints.common import auth, claude, mapping, storedfiles, streams
from blueprints.common.storeduploads import StoredUploads
from blueprints.common.streams import Content, Upload
from blueprints.dispatcher import ids
from errors import APIError, BadRequest, NotFound, UpstreamError
from schemas.requests import BatchQuery, FileQuery, NewBatch, NewFile, Options
from translators import anthropic as translate
from translators import batch_output, fast_results, jsonl
from translators import openai_shapes as shapes
from translators.typed_lines import ChatLine, decode_chat_lines

log = logging.getLogger("deepintshield")

NAMESPACE = NAME
JSONL = storedfiles.JSONL
RESULTS_RETENTION = 29 * 86400  # Anthropic keeps results 29 days after creation (§B.5)
# The endpoint a batch's native ID names after `~` (chat, the first endpoint, is named by no suffix,
# so chat batch IDs are the same as before endpoints were recorded).
ENDPOINT_SUFFIX = {translate.RESPONSES: "responses", translate.COMPLETIONS: "completions"}
_SUFFIX_ENDPOINT = {suffix: endpoint for endpoint, suffix in ENDPOINT_SUFFIX.items()}
_OPEN, _CLOSE, _COMMA = b'{"requests":[', b"]}", b","


def _config(key: str) -> int:
    return int(current_app.config[key])


# Files


def create_file(new: NewFile, upload: Upload) -> dict:
    """Store a `purpose=batch` JSONL file, checking every line as it streams in."""
    if new.purpose != "batch":
        raise BadRequest("Anthropic files can only be batch input files (purpose=batch).", param="purpose")
    if not auth.gateway_keys_enabled():
        client.verify_key()  # the store takes files only for keys Anthropic accepts
    return storedfiles.create(NAMESPACE, new, upload,
                              _LineCheck(_config("ANTHROPIC_DEFAULT_MAX_TOKENS"), None, None))


def list_files(query: FileQuery) -> dict:
    return storedfiles.listing(NAMESPACE, query)


def retrieve_file(ref: ids.ResourceId, options: Options) -> dict:
    if ref.kind == "file":
        return storedfiles.retrieve(NAMESPACE, ref.native)
    parts = _ended_parts(ref)
    size = sum(len(chunk) for chunk in _converted(parts, ref.kind, ref.native))
    return shapes.file_object(
        id=ids.encode_file(NAME, ref.native, ref.kind), bytes=size, created_at=translate.ended_at(parts),
        filename=_result_filename(ref), purpose="batch_output",
        expires_at=min(translate.to_unix(p["created_at"]) for p in parts) + RESULTS_RETENTION,
    )


def delete_file(ref: ids.ResourceId, options: Options) -> dict:
    if ref.kind != "file":
        raise BadRequest("A batch's output and error files are read from its Message Batch and cannot be "
                         "deleted on their own.", param="file_id")
    return storedfiles.delete(NAMESPACE, ref.native)


def file_content(ref: ids.ResourceId, options: Options) -> Content:
    if ref.kind == "file":
        return storedfiles.content(NAMESPACE, ref.native)
    parts = _ended_parts(ref)
    chunks = _converted(parts, ref.kind, ref.native)
    # Primed here, in the view, so an upstream error before the first byte is still an HTTP error;
    # the later parts' results are fetched while streaming, which needs the request's context.
    # `on_close` also closes the upstream reply when the client goes away mid-download.
    return Content(stream_with_context(streams.primed(chunks)), JSONL, None, _result_filename(ref),
                   on_close=chunks.close)


def _result_filename(ref: ids.ResourceId) -> str:
    return f"{ids.encode_batch(NAME, ref.native)}_{'output' if ref.kind == 'output' else 'errors'}.jsonl"


def _ended_parts(ref: ids.ResourceId) -> list[dict]:
    """The Message Batches behind a result file; 404 until all of them ended."""
    parts = [client.get_batch(native) for native in _upstream_ids(ref.native)]
    if any(translate.processing_status(p) != translate.ENDED for p in parts):
        raise NotFound(f"Batch {ids.encode_batch(NAME, ref.native)!r} has not ended; its results do not exist yet.")
    if any(not p.get("results_url") for p in parts):
        raise NotFound(f"The results of batch {ids.encode_batch(NAME, ref.native)!r} are no longer available.")
    return parts


def _converted(parts: list[dict], kind: str, native: str) -> Iterator[bytes]:
    """The output (`kind="output"`) or error lines of ended Message Batches, converted as they stream
    to the reply of the endpoint `native` (the batch's native ID) names.

    Every results line becomes exactly one OpenAI line (`batch_output.converted_chunks`); a line the
    translator cannot read keeps Anthropic's own line in the error file. Non-blank lines are numbered
    from 1 across the parts in order, so an unparsable line's stand-in `custom_id` (`line-<n>`) is
    unique within the batch. A results stream that breaks raises: the download fails, never ends short.
    """
    created = translate.ended_at(parts)
    endpoint = _endpoint(native)
    numbers = itertools.count(1)
    # Typed fast path for blocks of plain text replies (translators/fast_results.py); others line by line.
    fast = fast_results.anthropic_chat(created) if endpoint == translate.CHAT_COMPLETIONS else None

    def lines() -> Iterator[dict | batch_output.Encoded]:
        for part in parts:
            chunks = client.results(part["results_url"])
            try:
                yield from batch_output.converted_chunks(
                    chunks, fast, functools.partial(_convert, batch_id=part["id"], created=created, endpoint=endpoint),
                    functools.partial(_identify, batch_id=part["id"]), provider=NAME, numbers=numbers)
            finally:
                chunks.close()

    return batch_output.jsonl_chunks(lines(), successes=kind == "output")


def _convert(line: dict, number: int, *, batch_id: str, created: int | None, endpoint: str) -> dict:
    return translate.result_line(line, batch_id=batch_id, created=created, endpoint=endpoint)


def _identify(line: dict | None, number: int, *, batch_id: str) -> tuple[str, str]:
    """The `custom_id` and request ID for the error line of a results line that did not convert."""
    custom_id = line.get("custom_id") if line is not None else None
    if not isinstance(custom_id, str):
        custom_id = f"line-{number}"
    return custom_id, translate.result_request_id(batch_id, custom_id)


# Batches


def create_batch(new: NewBatch) -> dict:
    _check_batch_fields(new)
    max_tokens = _config("ANTHROPIC_DEFAULT_MAX_TOKENS")
    limits = (_config("ANTHROPIC_MAX_BATCH_REQUESTS"), _config("ANTHROPIC_MAX_BATCH_BYTES"))
    file_key = None
    if new.requests is not None:
        items = _inline_items(new.requests, max_tokens, new.options.model, new.endpoint)
    else:
        file_key = _file_key(new.input_file_id)
        items = _file_items(file_key, max_tokens, new.options.model, new.endpoint)
    with _Bodies(*limits) as bodies:
        for label, item in items:
            bodies.add(jsonl.dumps(item), label)
        parts = _submit(bodies.finish())
    native = _native(parts, file_key, new.endpoint)
    try:
        return _openai(parts, native)
    except UpstreamError:
        return mapping.created_batch(ids.encode_batch(NAME, native), new, "in_progress")


def retrieve_batch(ref: ids.ResourceId, options: Options) -> dict:
    parts = [client.get_batch(native) for native in _upstream_ids(ref.native)]
    return _openai(parts, ref.native)


def list_batches(query: BatchQuery) -> dict:
    after_id = None
    if query.after:
        after_id = _upstream_ids(ids.decode_batch(query.after, NAME).native)[-1]
    page = client.list_batches(query.limit, after_id)
    return {"data": [_openai([b], b["id"]) for b in page.get("data") or []],
            "has_more": bool(page.get("has_more"))}


def cancel_batch(ref: ids.ResourceId, options: Options) -> dict:
    """Cancel every Message Batch behind the ID; parts that already ended are left as they are."""
    parts = []
    refused: UpstreamError | None = None
    for native in _upstream_ids(ref.native):
        try:
            parts.append(client.cancel_batch(native))
        except UpstreamError as error:
            if error.status >= 500 or error.status in (401, 403, 404, 429):
                raise
            part = client.get_batch(native)
            if part["processing_status"] == "in_progress":
                raise
            refused = refused or error
            parts.append(part)
    if refused is not None and all(p["processing_status"] == "ended" and not p.get("cancel_initiated_at")
                                   for p in parts):
        raise BadRequest(f"Batch {ids.encode_batch(NAME, ref.native)!r} has already ended and cannot be "
                         "cancelled.", param="batch_id", code="batch_not_cancellable")
    return _openai(parts, ref.native)


def _native(parts: list[dict], file_key: str | None, endpoint: str) -> str:
    """A batch's native ID: `msgbatch_a[,msgbatch_b…][@<input file key>][~<endpoint>]`."""
    suffix = ENDPOINT_SUFFIX.get(endpoint)
    return (",".join(part["id"] for part in parts) + (f"@{file_key}" if file_key else "")
            + (f"~{suffix}" if suffix else ""))


def _upstream_ids(native: str) -> list[str]:
    """The Message Batch IDs behind a batch's native ID."""
    return native.partition("~")[0].partition("@")[0].split(",")


def _input_file_id(native: str) -> str:
    """The stored input file of a file-based batch, or "" for inline requests (a string, as OpenAI's)."""
    key = native.partition("~")[0].partition("@")[2]
    return ids.encode_file(NAME, key) if key else ""


def _endpoint(native: str) -> str:
    """The endpoint a batch's native ID names; chat when it names none (a Message Batch listed on its own)."""
    return _SUFFIX_ENDPOINT.get(native.partition("~")[2], translate.CHAT_COMPLETIONS)


def _openai(parts: list[dict], native: str) -> dict:
    """The OpenAI Batch for Message Batches; a reply the translator cannot map is a 502."""
    return mapping.mapped(
        NAME, "Message Batch", translate.openai_batch, parts, batch_id=ids.encode_batch(NAME, native),
        input_file_id=_input_file_id(native), output_file_id=ids.encode_file(NAME, native, "output"),
        error_file_id=ids.encode_file(NAME, native, "errors"), endpoint=_endpoint(native),
    )


def _check_batch_fields(new: NewBatch) -> None:
    translate.check_endpoint(new.endpoint)
    if new.metadata:
        raise BadRequest("Anthropic Message Batches cannot keep metadata; leave it out.", param="metadata",
                         code="unsupported_parameter")
    if new.output_expires_after is not None:
        raise BadRequest("Anthropic keeps batch results for 29 days; output_expires_after cannot be set.",
                         param="output_expires_after", code="unsupported_parameter")
    if new.requests is not None and new.input_file_id:
        raise BadRequest("Give either input_file_id or requests, not both.", param="requests")
    if new.requests is None and not new.input_file_id:
        raise BadRequest("Give input_file_id (a file uploaded with provider=anthropic) or inline requests.",
                         param="input_file_id")
    if new.requests is not None and not new.requests:
        raise BadRequest("requests is empty; a batch needs at least one request.", param="requests")


def _file_key(input_file_id: str) -> str:
    return storedfiles.stored(NAMESPACE, storedfiles.key_of(NAME, input_file_id, "input_file_id")).key


def _with_model(item: dict, model: str | None, label: str) -> dict:
    try:
        translate.with_model(item["params"], model)
    except BadRequest as error:
        raise BadRequest(f"{label}: {error.message}", param=f"{label}.{error.param}") from None
    return item


def _inline_items(requests: list, max_tokens: int, model: str | None, endpoint: str) -> Iterator[tuple[str, dict]]:
    seen: set[str] = set()
    for index, raw in enumerate(requests):
        label = f"requests[{index}]"
        try:
            item = translate.batch_request(raw, default_max_tokens=max_tokens, sampling=_sampling(), model=model,
                                           endpoint=endpoint)
        except BadRequest as error:
            param = f"{label}.{error.param}" if error.param else label
            raise BadRequest(f"{label}: {error.message}", param=param, code=error.code) from None
        if item["custom_id"] in seen:
            raise BadRequest(f"{label}: custom_id {item['custom_id']!r} is used twice.",
                             param=f"{label}.custom_id", code="duplicate_custom_id")
        seen.add(item["custom_id"])
        yield label, _with_model(item, model, label)


def _sampling() -> translate.SamplingRules:
    return claude.sampling_rules(current_app.config["ANTHROPIC_VERSION"])


class _LineCheck:
    """The shared batch-file rules plus Anthropic's: custom_id pattern, and every line translatable.

    `model` is the batch's model for lines that name none, `endpoint` the batch's endpoint (both None
    at upload: not known yet; the first line's url then stands for the file, whose lines share one).
    """

    def __init__(self, max_tokens: int, model: str | None, endpoint: str | None) -> None:
        self.shared = jsonl.BatchInputCheck((jsonl.OPENAI, jsonl.ANTHROPIC), endpoint)
        self.max_tokens = max_tokens
        self.model = model
        self.endpoint = endpoint
        self.sampling = _sampling()

    def __call__(self, number: int, obj: dict) -> dict:
        self.shared(number, obj)
        url = obj.get("url")
        endpoint = self.endpoint or (url if isinstance(url, str) else translate.CHAT_COMPLETIONS)
        try:
            item = translate.batch_request(obj, default_max_tokens=self.max_tokens, sampling=self.sampling,
                                           model=self.model, endpoint=endpoint)
        except BadRequest as error:
            label = f"line {number}"
            param = f"{label}: {error.param}" if error.param else label
            raise BadRequest(f"Line {number}: {error.message}", param=param, code=error.code or "invalid_batch_line"
                             ) from None
        return item

    def check_block(self, number: int, block: bytes) -> int:
        """`jsonl.checked_chunks`' hook for a block of whole lines after line `number`: the typed way when
        the block takes it (`translate.fast_batch_requests`; only whether every line translates matters
        here, the items are dropped), else line by line through `__call__`, which names a bad line."""
        parsed = decode_chat_lines(block)
        if parsed:
            commit = self.shared.plan_block(parsed)
            if commit is not None and translate.fast_batch_requests(
                    parsed, default_max_tokens=self.max_tokens, sampling=self.sampling, model=self.model,
                    endpoint=self.endpoint or translate.CHAT_COMPLETIONS) is not None:
                commit()
                return number + block.count(b"\n")
        return jsonl.check_each(self, number, block.split(b"\n")[:-1])

    def finish(self) -> None:
        self.shared.finish()


def _file_items(key: str, max_tokens: int, model: str | None, endpoint: str) -> Iterator[tuple[str, dict]]:
    """The stored file's lines as `(label, request item)`: blocks of usual chat lines the typed way
    (`jsonl.translated_blocks`, `translate.fast_batch_requests`), anything else line by line."""
    check = _LineCheck(max_tokens, model, endpoint)

    def step(number: int, obj: dict) -> dict:
        return _with_model(check(number, obj), model, f"line {number}")

    def fast(lines: list[ChatLine]) -> list[dict] | None:
        items = translate.fast_batch_requests(lines, default_max_tokens=max_tokens, sampling=check.sampling,
                                              model=model, endpoint=endpoint)
        for item in items or ():
            if "model" not in item["params"]:  # as `translate.with_model`
                if not model:
                    return None
                item["params"]["model"] = model
        return items

    for number, raws, outs, typed in jsonl.translated_blocks(storedfiles.lines(NAMESPACE, key), step,
                                                             plan=check.shared.plan_block, fast=fast):
        if typed:
            for line, item in zip(jsonl.block_numbers(number, raws), outs, strict=True):
                yield f"line {line}", item
        else:
            yield f"line {number + 1}", outs[0]
    check.finish()


class _Bodies:
    """`{"requests": [...]}` bodies in temporary files, a new one whenever the next item would pass
    Anthropic's per-batch request or byte limit. Holds one item in memory at a time."""

    def __init__(self, max_requests: int, max_bytes: int) -> None:
        self.max_requests, self.max_bytes = max_requests, max_bytes
        self.files: list[IO[bytes]] = []
        self.count = self.size = 0

    def __enter__(self) -> _Bodies:
        return self

    def __exit__(self, *exc) -> None:
        for body in self.files:
            body.close()

    def add(self, item: bytes, label: str) -> None:
        if len(_OPEN) + len(item) + len(_CLOSE) > self.max_bytes:
            raise BadRequest(f"{label} is larger than Anthropic's batch size limit ({self.max_bytes} bytes).",
                             param=label, code="request_too_large")
        if not self.files or self.count >= self.max_requests or self.size + 1 + len(item) > self.max_bytes:
            if self.files:
                self.files[-1].write(_CLOSE)
            self.files.append(tempfile.TemporaryFile())  # noqa: SIM115 closed in __exit__
            self.files[-1].write(_OPEN)
            self.count, self.size = 0, len(_OPEN) + len(_CLOSE)
        elif self.count:
            self.files[-1].write(_COMMA)
            self.size += 1
        self.files[-1].write(item)
        self.count += 1
        self.size += len(item)

    def finish(self) -> list[IO[bytes]]:
        if not self.files:
            raise BadRequest("The batch has no requests.", param="requests", code="empty_batch")
        self.files[-1].write(_CLOSE)
        for body in self.files:
            body.seek(0)
        return self.files


def _submit(bodies: Iterable[IO[bytes]]) -> list[dict]:
    """Create one Message Batch per body. If a later one fails, cancel those already created."""
    created: list[dict] = []
    for body in bodies:
        try:
            created.append(client.create_batch(body))
        except APIError as error:
            if not created:
                raise
            for part in created:
                try:
                    client.cancel_batch(part["id"])
                except APIError:
                    log.warning("could not cancel %s after a failed split create", part["id"])
            error.message += (f" ({len(created)} Message Batch(es) created before this one were cancelled: "
                              f"{', '.join(p['id'] for p in created)}.)")
            error.retryable = False
            raise
    return created


# Uploads (the Uploads API): parts in the file store, completed through `create_file` above

uploads = StoredUploads(NAME)
