"""The nine OpenAI Files/Batch operations on Gemini (providers.md §C).

Files: an upload is streamed once; on the way the client's bytes go to the gateway file store
(namespace "gemini", key = the Gemini file ID, because Gemini never gives back an uploaded file) and,
for `purpose=batch`, each line is checked and converted to Gemini's `{key, request}` form into a
temporary file on disk (the resumable upload needs the size first). That file is then uploaded
under the name `files/<key>`, so the stored copy and the Gemini file share one ID.

Batch results: `output_file_id` / `error_file_id` name the batch itself; their content is made on
each read by streaming Gemini's `responsesFile` (or the inline responses) and converting line by
line (success lines to the output file, the rest to the error file). Nothing is buffered whole.
Every result gives exactly one line (`batch_output.converted_lines`): values newer than the
translator's tables fall back as translators/gemini.py documents, and a result it cannot read goes
to the error file with Gemini's own line in it. A batch state the translator does not know is
logged and never fails a retrieve or a list page.

Listing: the SDK pages with `after=<last ID it saw>`, Gemini with page tokens. To stay stateless
the gateway lists from Gemini's first page again and skips up to `after`: page k costs about
k * limit / 100 Gemini list calls. Items keep Gemini's order (`order` is not applied). If `after`
is no longer listed (deleted meanwhile), the call is a 400 asking to restart the listing.
"""

from __future__ import annotations

import functools
import json
import logging
import mimetypes
import re
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, BinaryIO

from flask import current_app

from blueprints.common import filestore, http, mapping, streams
from blueprints.common.storeduploads import StoredUploads
from blueprints.common.streams import Content, Upload
from blueprints.dispatcher import ids
from blueprints.gemini import NAME, client
from errors import APIError, BadRequest, NotFound, UpstreamError
from schemas.requests import UPLOAD_PURPOSES, BatchQuery, FileQuery, NewBatch, NewFile, Options
from translators import batch_output, fast_results, jsonl
from translators import gemini as translate
from translators import gemini_endpoints as endpoints
from translators import openai_shapes as shapes

log = logging.getLogger("deepintshield")

STORE = "gemini"  # file store namespace
MAX_INLINE_BYTES = 20 * 1024 * 1024  # Gemini's limit for inline batch requests
_MODEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


# Helpers


def _mapped(convert: Callable, *args, **kwargs):
    """Run a translator on a Gemini reply; a reply it cannot map is the provider's fault (502)."""
    return mapping.mapped(NAME, "reply", convert, *args, **kwargs)


def _encode_file(native: str, kind: str = "file") -> str:
    return ids.encode_file(NAME, native, kind)


_encode_batch = functools.partial(ids.encode_batch, NAME)


def _batch(operation: dict, cancelling_at: int | None = None) -> dict:
    if not translate.known_state(operation):
        log.warning("gemini batch %s has a state the gateway does not know: %r (status %s)",
                    operation.get("name"), (operation.get("metadata") or {}).get("state"),
                    translate.state(operation))
    return _mapped(translate.batch_object, operation, encode_batch=_encode_batch, encode_file=_encode_file,
                   cancelling_at=cancelling_at, endpoint=endpoints.batch_endpoint(operation))


def _key(name: str) -> str:
    return name.removeprefix("files/")


def _stored(name: str) -> filestore.StoredFile | None:
    try:
        return filestore.store().get(STORE, _key(name))
    except NotFound:
        return None


def _page_after(items: Iterable[tuple[str, dict]], after: str | None, limit: int,
                convert: Callable[[dict], dict], keep: Callable[[dict], bool] | None = None) -> tuple[list[dict], bool]:
    """Skip items up to the one named `after` (a native name), then convert and take `limit` kept items.

    Items before `after` are only compared by name, never converted (no file store lookups for them).
    """
    found = after is None
    page: list[dict] = []
    for name, item in items:
        if not found:
            found = name == after
            continue
        converted = convert(item)
        if keep is not None and not keep(converted):
            continue
        if len(page) == limit:
            return page, True
        page.append(converted)
    if not found:
        raise BadRequest(f"after: {after!r} is no longer listed by Gemini (deleted meanwhile?); "
                         "list again from the start.", param="after")
    return page, False


def _walk(list_page: Callable[[str | None], dict], key: str) -> Iterator[tuple[str, dict]]:
    """Every item of a Gemini listing, following page tokens, as `(name, item)`."""
    token = None
    while True:
        page = list_page(token)
        for item in page.get(key) or []:
            yield item["name"], item
        token = page.get("nextPageToken")
        if not token:
            return


def _translated(number: int, obj: dict, translate_line: Callable[[dict], Any]) -> Any:
    """Translate one (checked) batch line; an untranslatable body is a 400 naming the line."""
    try:
        return translate_line(obj)
    except BadRequest as error:
        raise BadRequest(f"Line {number}: {error.message}", param=f"line {number}", code=error.code) from None


# Files


def _spooled_batch(chunks: Iterator[bytes], spool: BinaryIO) -> Iterator[bytes]:
    """Pass the client's bytes through (to the file store) while writing Gemini lines to `spool`.

    OpenAI-format lines are converted (§C.7; `gemini_endpoints.batch_lines`: the first line's url sets the
    file's endpoint, and an embeddings line becomes one Gemini line per input); a file already in
    Gemini's format is copied as is. Holds one block of lines (~64 KiB, `jsonl.BLOCK_BYTES`) at a time.
    """
    check = jsonl.BatchInputCheck((jsonl.OPENAI, jsonl.GEMINI))
    passed: list[bytes] = []

    def source() -> Iterator[bytes]:
        for chunk in chunks:
            passed.append(chunk)
            yield chunk

    def step(number: int, obj: dict) -> list[dict] | None:
        check(number, obj)
        if check.format == jsonl.GEMINI:
            return None  # already Gemini's: goes up as sent
        return _translated(number, obj, endpoints.batch_lines)

    # Blocks of usual chat lines go the typed way (`jsonl.translated_blocks`), anything else line by line.
    for _, raws, outs, typed in jsonl.translated_blocks(jsonl.split_lines(source()), step, plan=check.plan_block,
                                                        fast=translate.fast_batch_lines):
        if typed:
            spool.write(jsonl.dumps_lines(outs))
        elif outs[0] is None:
            spool.write(raws[0] + b"\n")
        else:
            for line in outs[0]:
                spool.write(jsonl.dumps(line) + b"\n")
        yield from passed
        passed.clear()
    yield from passed
    check.finish()


def _spooled(chunks: Iterator[bytes], spool: BinaryIO) -> Iterator[bytes]:
    for chunk in chunks:
        spool.write(chunk)
        yield chunk


def _mime_types(new: NewFile, upload: Upload) -> list[str]:
    if new.purpose == "batch":
        return list(current_app.config.get("GEMINI_JSONL_MIME_TYPES") or ["jsonl"])
    if upload.content_type and upload.content_type != "application/octet-stream":
        return [upload.content_type]
    return [mimetypes.guess_type(upload.filename)[0] or "application/octet-stream"]


def _upload(name: str, display_name: str, body: BinaryIO, size: int, mime_types: list[str]) -> dict:
    """Resumable upload of `body`; an "Unsupported MIME type" answer moves on to the next type."""
    for attempt, mime_type in enumerate(mime_types, start=1):
        body.seek(0)
        try:
            upload_url = client.start_upload(name, display_name, size, mime_type)
            return client.finish_upload(upload_url, body, size)
        except UpstreamError as error:
            if attempt == len(mime_types) or not client.is_unsupported_mime_type(error):
                raise
    raise AssertionError("unreachable: mime_types is never empty")


def create_file(new: NewFile, upload: Upload) -> dict:
    """Keep the client's bytes in the file store, upload (converted) lines to Gemini's Files API."""
    key = filestore.new_key()  # 24 lowercase hex digits: a valid Gemini file ID too
    name = f"files/{key}"
    store = filestore.store()
    with tempfile.TemporaryFile(prefix="gemini-upload-") as spool:
        spooled = _spooled_batch if new.purpose == "batch" else _spooled
        stored = store.put(STORE, key, spooled(upload.chunks, spool), upload.filename, new.purpose)
        size = spool.tell()
        try:
            file = _upload(name, upload.filename[:512], spool, size, _mime_types(new, upload))
        except BaseException:
            store.delete(STORE, key)
            raise
    try:
        return translate.file_object(file, file_id=_encode_file(file["name"]), filename=stored.filename,
                                     purpose=stored.purpose, size=stored.bytes)
    except (KeyError, ValueError, TypeError):
        # The Gemini file exists: answer from our copy rather than with a 5xx the SDK would retry.
        return shapes.file_object(id=_encode_file(name), bytes=stored.bytes, created_at=stored.created_at,
                                  filename=stored.filename, purpose=stored.purpose)


def _file_object(file: dict) -> dict:
    stored = _stored(file["name"])
    if stored is None:
        return _mapped(translate.file_object, file, file_id=_encode_file(file["name"]))
    return _mapped(translate.file_object, file, file_id=_encode_file(file["name"]), filename=stored.filename,
                   purpose=stored.purpose, size=stored.bytes)


def list_files(query: FileQuery) -> dict:
    after = ids.decode_file(query.after, NAME).native if query.after else None
    keep = (lambda f: f["purpose"] == query.purpose) if query.purpose else None
    data, has_more = _page_after(_walk(client.list_files, "files"), after, query.limit or 10_000, _file_object, keep)
    return {"data": data, "has_more": has_more}


def _results_operation(ref: ids.ResourceId) -> tuple[dict, dict]:
    operation = client.get_batch(ref.native)
    output = _mapped(translate.batch_output_of, operation)
    if not output:
        status = _batch(operation)["status"]
        raise NotFound(f"Batch {_encode_batch(ref.native)} has no results (status {status}).")
    return operation, output


def retrieve_file(ref: ids.ResourceId, options: Options) -> dict:
    if ref.kind == "file":
        return _file_object(client.get_file(ref.native))
    operation, output = _results_operation(ref)
    size = 0
    if output.get("responsesFile"):
        size = int(client.get_file(output["responsesFile"]).get("sizeBytes", "0"))
    return _mapped(translate.results_file_object, operation, file_id=_encode_file(ref.native, ref.kind),
                   kind=ref.kind, size=size)


def delete_file(ref: ids.ResourceId, options: Options) -> dict:
    gateway_id = _encode_file(ref.native, ref.kind)
    if ref.kind != "file":
        # Output and error files are one Gemini results file: deleting either deletes it.
        _, output = _results_operation(ref)
        if not output.get("responsesFile"):
            raise BadRequest("The results of an inline batch live in the batch itself and cannot be deleted.",
                             param="file_id")
        client.delete_file(output["responsesFile"])
        return {"id": gateway_id, "object": "file", "deleted": True}
    try:
        client.delete_file(ref.native)
        upstream_deleted = True
    except UpstreamError as error:
        if error.status != 404:
            raise
        upstream_deleted = False
    copy_deleted = filestore.store().delete(STORE, _key(ref.native))
    if not (upstream_deleted or copy_deleted):
        raise NotFound(f"No such file: {gateway_id}.")
    return {"id": gateway_id, "object": "file", "deleted": True}


def _uploaded_content(ref: ids.ResourceId) -> Content:
    store = filestore.store()
    key = _key(ref.native)
    try:
        stored = store.get(STORE, key)
        chunks = store.open(STORE, key)
    except NotFound:
        file = client.get_file(ref.native)  # 404 if Gemini has no such file either
        if file.get("source") == "GENERATED" or file.get("downloadUri"):
            return Content(http.streamed(client.download_file(ref.native), provider=NAME), "application/jsonl",
                           filename=file.get("displayName") or None)
        raise APIError(
            404,
            f"Gemini does not give back uploaded files, and the gateway holds no copy of {ref.native} "
            "(it was uploaded outside the gateway, or the stored copy was removed).",
            param="file_id", code="file_content_unavailable",
        ) from None
    content_type = "application/jsonl" if stored.purpose == "batch" else "application/octet-stream"
    return Content(chunks, content_type, length=stored.bytes, filename=stored.filename)


def _result_records(output: dict) -> Iterator[tuple[int, bytes | dict]]:
    """`(number, result)` for each result: raw lines of the results file, or the inline results."""
    if output.get("responsesFile"):
        lines = jsonl.split_lines(http.streamed(client.download_file(output["responsesFile"]), provider=NAME))
        yield from ((number, raw) for number, raw in enumerate(lines, start=1) if raw.strip())
    else:
        yield from enumerate(translate.inline_results(output), start=1)


def _results_file(name: str) -> Iterator[bytes]:
    """The bytes of a results file, downloaded once the first chunk is asked for (as `_result_records`)."""
    yield from http.streamed(client.download_file(name), provider=NAME)


def _converted_results(operation: dict, output: dict, successes: bool) -> Iterator[bytes]:
    """OpenAI output (or error) lines for a batch's results, in chunks (`batch_output.jsonl_chunks`).

    Every result gives one line (`batch_output.converted_lines`): one the translator cannot read goes
    to the error file with its own text. A results download that breaks raises: never a short file.
    """
    context = _mapped(translate.results_context, operation)
    url = endpoints.batch_endpoint(operation)
    if url == endpoints.CHAT_COMPLETIONS and output.get("responsesFile"):
        # A results file of a chat batch: blocks of plain text replies take the typed fast path
        # (translators/fast_results.py), the others go line by line as below, numbered the same way.
        chunks = _results_file(output["responsesFile"])
        fast = fast_results.gemini_chat(model=context["model"], created=context["created"])
        convert = functools.partial(endpoints.output_line, url=url, **context)
        identify = functools.partial(translate.identify, batch=context["batch"])
        converted = batch_output.converted_chunks(chunks, fast, convert, identify, provider=NAME, number_blank=True)
        return batch_output.jsonl_chunks(converted, successes=successes)
    records: Iterator[tuple[int, bytes | dict]] = _result_records(output)
    if url == endpoints.EMBEDDINGS:
        # One OpenAI line per group of results (one result per input of the line).
        records = endpoints.group_embeddings(records)
        convert = functools.partial(endpoints.embedding_line, **context)
        identify = functools.partial(endpoints.identify_group, batch=context["batch"])
    else:
        convert = functools.partial(endpoints.output_line, url=url, **context)
        identify = functools.partial(translate.identify, batch=context["batch"])
    lines = batch_output.converted_lines(records, convert, identify, provider=NAME)
    return batch_output.jsonl_chunks(lines, successes=successes)


def file_content(ref: ids.ResourceId, options: Options) -> Content:
    if ref.kind == "file":
        return _uploaded_content(ref)
    operation, output = _results_operation(ref)
    chunks = _converted_results(operation, output, successes=ref.kind == "output")
    suffix = ref.native.rpartition("/")[2]
    return Content(streams.primed(chunks), "application/jsonl", filename=f"batch_{suffix}_{ref.kind}.jsonl",
                   on_close=chunks.close)


# Batches


def model_name(value: str | None) -> str:
    """The batch's Gemini model (extra_body `model`, `models/` prefix optional), checked; 400 if missing or invalid."""
    if not value:
        raise BadRequest("Gemini batches need a model: pass it as extra_body={'model': ...}.", param="model")
    model = value.removeprefix("models/")
    if not _MODEL.fullmatch(model):
        raise BadRequest(f"{value!r} is not a valid Gemini model name.", param="model")
    return model


def _model(options: Options) -> str:
    return model_name(options.model)


def _inline_requests(requests: list[dict], endpoint: str) -> list[dict]:
    if endpoint == endpoints.EMBEDDINGS:
        # Inline embedding requests carry no per-request key in google-genai (`_EmbedContentBatch_to_mldev`):
        # results could not be matched to custom_ids.
        raise BadRequest("Gemini embeddings batches take an input file, not inline requests.", param="requests",
                         code="unsupported_parameter")
    check = jsonl.BatchInputCheck((jsonl.OPENAI,), endpoint)
    inline = [_translated(number, check(number, obj), endpoints.inline_request)
              for number, obj in enumerate(requests, start=1)]
    check.finish()
    return inline


def _file_endpoint(name: str) -> str | None:
    """The url of the first line of an uploaded batch file (its stored copy); None if the gateway holds
    no copy or the file is in Gemini's own format."""
    store = filestore.store()
    try:
        chunks = store.open(STORE, _key(name))
    except NotFound:
        return None
    lines = jsonl.numbered_objects(jsonl.split_lines(chunks))
    try:
        first = next(lines, None)
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    if first is None or jsonl.line_format(first[1]) != jsonl.OPENAI:
        return None
    url = first[1].get("url")
    return url if isinstance(url, str) else None


def _check_file_endpoint(name: str, endpoint: str) -> None:
    """The batch's endpoint must be its lines' url (the shared JSONL rule; the upload checked the lines agree)."""
    url = _file_endpoint(name)
    if url is not None and url != endpoint:
        raise BadRequest(f"The input file's lines are {url} requests, but the batch endpoint is {endpoint}.",
                         param="endpoint", code="invalid_batch_line")


def create_batch(new: NewBatch) -> dict:
    model = _model(new.options)
    if new.endpoint not in endpoints.ENDPOINTS:
        raise BadRequest(f"Gemini batches support {', '.join(endpoints.ENDPOINTS)}, not {new.endpoint}.",
                         param="endpoint")
    # Gemini batches have nowhere to keep these; refusing beats silently dropping them.
    if new.metadata:
        raise BadRequest("Gemini batches cannot keep metadata; leave it out.", param="metadata",
                         code="unsupported_parameter")
    if new.output_expires_after is not None:
        raise BadRequest("Gemini deletes batch results after 48 hours; output_expires_after cannot be set.",
                         param="output_expires_after", code="unsupported_parameter")
    if new.requests:
        input_config: dict = {"requests": {"requests": _inline_requests(new.requests, new.endpoint)}}
        if len(json.dumps(input_config)) > MAX_INLINE_BYTES:
            raise BadRequest("Inline requests must total less than 20 MB; upload a file instead.", param="requests")
        display_name = endpoints.display_name(new.endpoint, "inline")
    elif new.input_file_id:
        ref = ids.decode_file(new.input_file_id, NAME)
        if ref.kind != "file":
            raise BadRequest("input_file_id must name an uploaded file, not a batch's results.",
                             param="input_file_id")
        _check_file_endpoint(ref.native, new.endpoint)
        input_config = {"fileName": ref.native}
        display_name = endpoints.display_name(new.endpoint, _key(ref.native))
    else:
        raise BadRequest("Give input_file_id or inline requests.", param="input_file_id")
    operation = client.create_batch(model, {"displayName": display_name, "inputConfig": input_config},
                                    embeddings=new.endpoint == endpoints.EMBEDDINGS)
    try:
        return translate.batch_object(operation, encode_batch=_encode_batch, encode_file=_encode_file,
                                      endpoint=new.endpoint)
    except mapping.UNMAPPABLE:
        if "name" not in operation:
            raise APIError(502, "Gemini created a batch but did not name it.", type="upstream_error",
                           retryable=False) from None
        return mapping.created_batch(_encode_batch(operation["name"]), new, "validating", model=model)


def retrieve_batch(ref: ids.ResourceId, options: Options) -> dict:
    return _batch(client.get_batch(ref.native))


def list_batches(query: BatchQuery) -> dict:
    after = ids.decode_batch(query.after, NAME).native if query.after else None
    data, has_more = _page_after(_walk(client.list_batches, "operations"), after, query.limit, _batch)
    return {"data": data, "has_more": has_more}


def cancel_batch(ref: ids.ResourceId, options: Options) -> dict:
    client.cancel_batch(ref.native)
    return _batch(client.get_batch(ref.native), cancelling_at=int(time.time()))


# Uploads: parts in the file store; `create_file` takes every purpose, so the Uploads API does too.
uploads = StoredUploads(NAME, UPLOAD_PURPOSES)
