"""The nine Files/Batch operations on Vertex AI: Cloud Storage objects as files, Gemini batch prediction
jobs as batches (providers-next.md §1, §2).

Where things live (all derived from IDs and the job itself; the gateway stores nothing):
- an upload: `gs://<bucket>/<prefix>/<time key>-<filename>` (`storage_config.gcs`, else the configured
  default), ID `encode_file(bucket/object)`; the object's custom metadata keeps the filename and purpose;
- a batch's work folder beside its input file, `<dir>/_vertex/<token>/`: the converted input (same
  file name), `metadata.json` when the client gave metadata, and the job's `output/` prefix, under
  which Vertex writes `prediction-model-<time>/predictions.jsonl` (`outputInfo.gcsOutputDirectory`);
- a batch: the job's resource name `projects/<p>/locations/<l>/batchPredictionJobs/<id>`, so retrieve
  and cancel need no project or location setting; the job's labels hold the number of requests.

Results are read from the job's own output folder only, converted row by row while they stream
(`batch_output.converted_lines`), in the order Vertex wrote them. Rows do not come back in input
order, so each carries its custom_id (translate.py); once the rows are through, the converted input
is read again and every request no row answered becomes an error line (`batch_cancelled` for a
cancelled job, else `batch_expired`): the custom_ids seen are held meanwhile, at most one per request
(DEEPINTSHIELD_VERTEX_MAX_BATCH_REQUESTS). An embeddings job has one row per input text
(translate.py): its rows are gathered per request (`gemini_endpoints.group_embeddings`, holding the
requests whose texts are partly in meanwhile: rows of one request sit together unless Vertex shards
the output between them), and the unanswered are counted per request, not per text.

Listing batches is stateless: Vertex pages with tokens, the SDK with `after`, so each page walks the
job list from the start up to `after` (only the gateway's jobs: label filter), as for Gemini.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import time
from collections.abc import Callable, Iterator, Sequence

from flask import current_app

from blueprints.common import filestore, mapping, streams
from blueprints.common.streams import Content, Upload
from blueprints.dispatcher import ids
from blueprints.vertex import NAME, client
from blueprints.vertex import translate as tr
from errors import APIError, BadRequest, NotFound
from schemas.requests import BatchQuery, FileQuery, GcsLocation, NewBatch, NewFile, Options
from translators import batch_output, jsonl
from translators import gemini_endpoints as endpoints

log = logging.getLogger("deepintshield")

JSONL = "application/jsonl"
MAX_METADATA_BYTES = 64 * 1024
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
_LIST_FILTER = f"labels.{tr.JOB_LABEL_REQUESTS}:*"  # the jobs the gateway created


# Locations


def _bucket_allowed(bucket: str) -> bool:
    allowed = current_app.config.get("VERTEX_ALLOWED_BUCKETS") or []
    return not allowed or bucket in allowed


def _check_bucket(bucket: str, param: str) -> None:
    """A bucket outside DEEPINTSHIELD_VERTEX_ALLOWED_BUCKETS is a 403, before any Cloud Storage call."""
    if not _bucket_allowed(bucket):
        raise APIError(403, f"Bucket {bucket!r} is not allowed on this gateway (DEEPINTSHIELD_VERTEX_ALLOWED_BUCKETS).",
                       param=param, code="bucket_not_allowed")


def _location(options: Options) -> GcsLocation:
    """The request's `storage_config.gcs`, else the configured default bucket and prefix."""
    storage = options.storage
    if storage is not None and not isinstance(storage, GcsLocation):
        raise BadRequest("Vertex AI files live in Cloud Storage: storage_config takes gcs, not s3.",
                         param="storage_config.s3", code="unsupported_parameter")
    if storage is None:
        bucket = current_app.config.get("VERTEX_DEFAULT_BUCKET")
        if not bucket:
            raise BadRequest("Vertex AI files live in Cloud Storage: pass storage_config.gcs.bucket (no default "
                             "bucket is configured).", param="storage_config")
        storage = GcsLocation(bucket, (current_app.config.get("VERTEX_DEFAULT_PREFIX") or "").strip("/"))
    _check_bucket(storage.bucket, "storage_config.gcs.bucket")
    return storage


def _file_location(ref: ids.ResourceId, param: str = "id") -> tuple[str, str]:
    """`(bucket, object)` of an uploaded file's ID; the bucket must be allowed."""
    bucket, name = ref.native.split("/", 1)
    _check_bucket(bucket, param)
    return bucket, name


def _file_id(bucket: str, name: str) -> str:
    return ids.encode_file(NAME, f"{bucket}/{name}")


def _object_name(prefix: str, filename: str) -> str:
    """A new object name that sorts before older uploads (filestore's key) and never overwrites one."""
    base = _UNSAFE_NAME.sub("-", filename).strip(".-")[:200] or "upload"
    name = f"{filestore.new_key()}-{base}"
    return f"{prefix}/{name}" if prefix else name


def project_and_location() -> tuple[str, str]:
    """The configured project (a 400 without one) and location that new batches (and gateway-run lines) use."""
    project = current_app.config.get("VERTEX_PROJECT")
    if not project:
        raise APIError(400, "The gateway has no Vertex AI project configured (DEEPINTSHIELD_VERTEX_PROJECT).",
                       param="provider", code="provider_not_configured")
    return project, current_app.config.get("VERTEX_LOCATION") or "us-central1"


def _max_requests() -> int | None:
    return int(current_app.config.get("VERTEX_MAX_BATCH_REQUESTS", 200_000)) or None


# Files


class _InputCheck(jsonl.BatchInputCheck):
    """The shared batch-file rules for OpenAI lines (one url: the batch's `endpoint`, else the first line's),
    plus what Vertex needs of each line: a body the
    Gemini conversion takes and a custom_id the labels can carry (`converts`: tried here; at create the
    conversion itself tells). The model the lines name, if any, must be one (a job runs one model)
    unless the request names it."""

    def __init__(self, *, model_given: bool, converts: bool, endpoint: str | None = None) -> None:
        super().__init__((jsonl.OPENAI,), endpoint, _max_requests())
        self.model_given, self.converts = model_given, converts
        self.model: str | None = None

    def __call__(self, number: int, obj: dict) -> dict:
        super().__call__(number, obj)
        if self.converts:
            try:
                tr.input_line(obj)
            except BadRequest as error:
                raise BadRequest(f"Line {number}: {error.message}", param=f"line {number}", code=error.code) \
                    from None
        model = obj["body"].get("model")
        if not self.model_given and isinstance(model, str):
            if self.model is None:
                self.model = model
            elif model != self.model:
                raise BadRequest(f"Line {number} uses model {model!r} but earlier lines use {self.model!r}; a Vertex "
                                 "AI batch runs one model (pass `model` to choose it).",
                                 param=f"line {number}: body.model")
        return obj

    check_block = None  # type: ignore[assignment]  # every line is converted: no block fast path

    def plan_block(self, parsed: Sequence[jsonl.TypedLine]) -> Callable[[], None] | None:
        """The rules of `__call__` over a typed block (`jsonl.translated_blocks`), recording nothing until the
        returned commit runs: the shared rules (`_plan`) and the one-model rule. None, so that the block goes
        line by line and the 400 names the line, when the block breaks either, and whenever the conversion is
        tried here (`converts`: the caller's fast translator does that at create)."""
        if self.converts:
            return None
        commit = self._plan(parsed)
        if commit is None:
            return None
        model = self.model
        if not self.model_given:
            for line in parsed:
                named = line.body.model  # type: ignore[attr-defined]  # a typed_lines.ChatBody
                if type(named) is str:
                    if model is None:
                        model = named
                    elif named != model:
                        return None
        if model is self.model:
            return commit

        def commit_with_model() -> None:
            commit()
            self.model = model

        return commit_with_model


def create_file(new: NewFile, upload: Upload) -> dict:
    """Stream the upload into a new Cloud Storage object (a batch file checked line by line on the way)."""
    if new.expires_after is not None:
        raise BadRequest("expires_after is not supported for Vertex AI files: Cloud Storage objects stay until "
                         "deleted (use a bucket lifecycle rule).", param="expires_after",
                         code="unsupported_parameter")
    location = _location(new.options)
    name = _object_name(location.prefix, upload.filename)
    chunks: Iterator[bytes] = upload.chunks
    content_type = upload.content_type or "application/octet-stream"
    if new.purpose == "batch":
        chunks = jsonl.checked_chunks(chunks, _InputCheck(model_given=True, converts=True))
        content_type = JSONL
    obj = client.upload(location.bucket, name, chunks, content_type=content_type,
                        metadata={"filename": upload.filename, "purpose": new.purpose})
    file_id = _file_id(location.bucket, name)
    try:
        return tr.file_object(obj, file_id=file_id)
    except mapping.UNMAPPABLE:  # the object exists: answer from what we know, not with a 5xx the SDK retries
        size = str(obj.get("size", ""))
        return {"id": file_id, "object": "file", "bytes": int(size) if size.isdigit() else 0,
                "created_at": int(time.time()), "filename": upload.filename, "purpose": new.purpose,
                "status": "processed", "expires_at": None, "status_details": None}


def _file_object(bucket: str, obj: dict) -> dict:
    return mapping.mapped(NAME, "object", tr.file_object, obj, file_id=_file_id(bucket, obj["name"]))


def list_files(query: FileQuery) -> dict:
    """The files in the location's folder (not its sub-folders), newest first (the names' time keys)."""
    location = _location(query.options)
    after = None
    if query.after:
        bucket, after = _file_location(ids.decode_file(query.after, NAME), "after")
        if bucket != location.bucket:
            raise BadRequest("after names a file in another bucket than this listing.", param="after")
    limit = query.limit or 10_000
    folder = f"{location.prefix}/" if location.prefix else ""
    data: list[dict] = []
    for obj in client.list_objects(location.bucket, folder, start_after=after, folder_only=True,
                                   page_size=min(client.LIST_PAGE, limit + 1)):
        if obj.get("name", "").endswith("/"):
            continue  # a folder placeholder
        file = _file_object(location.bucket, obj)
        if query.purpose and file["purpose"] != query.purpose:
            continue
        if len(data) == limit:
            return {"data": data, "has_more": True}
        data.append(file)
    return {"data": data, "has_more": False}


def _no_such_file(ref: ids.ResourceId) -> str:
    return f"No such file: {ids.encode_file(NAME, ref.native, ref.kind)!r}."


def retrieve_file(ref: ids.ResourceId, options: Options) -> dict:
    if ref.kind == "file":
        bucket, name = _file_location(ref)
        return _file_object(bucket, client.get_object(bucket, name, missing=_no_such_file(ref)))
    job, bucket, directory = _results(ref)
    size = sum(int(obj.get("size") or 0) for obj in _result_objects(bucket, directory))
    return mapping.mapped(NAME, "job", tr.results_file_object, job,
                          file_id=ids.encode_file(NAME, ref.native, ref.kind), kind=ref.kind, size=size)


def delete_file(ref: ids.ResourceId, options: Options) -> dict:
    if ref.kind != "file":
        raise BadRequest("A batch's output and error files are its job's output folder in Cloud Storage; delete "
                         "the objects there.", param="file_id")
    bucket, name = _file_location(ref)
    client.delete_object(bucket, name, missing=_no_such_file(ref))
    return {"id": ids.encode_file(NAME, ref.native), "object": "file", "deleted": True}


def file_content(ref: ids.ResourceId, options: Options) -> Content:
    if ref.kind == "file":
        bucket, name = _file_location(ref)
        obj = client.get_object(bucket, name, missing=_no_such_file(ref))
        size = str(obj.get("size", ""))
        return Content(client.download(bucket, name, missing=_no_such_file(ref)),
                       obj.get("contentType") or "application/octet-stream",
                       length=int(size) if size.isdigit() else None,
                       filename=(obj.get("metadata") or {}).get("filename") or tr.upload_filename(name))
    job, bucket, folder = _results(ref)
    chunks = batch_output.jsonl_chunks(_result_lines(job, bucket, folder), successes=ref.kind == "output")
    return Content(streams.primed(chunks), JSONL, filename=f"batch_{tr.job_id(job['name'])}_{ref.kind}.jsonl",
                   on_close=chunks.close)


# Results


def _results(ref: ids.ResourceId) -> tuple[dict, str, str]:
    """The job behind an output/error file ID, and its output folder `(bucket, folder/)`; 404 without one."""
    job = client.get_job(ref.native)
    directory = tr.output_directory(job)
    if not directory:
        raise NotFound(f"Batch {ids.encode_batch(NAME, ref.native)} has no results (status {tr.status(job)}).")
    bucket, folder = tr.split_gs_uri(directory)
    _check_bucket(bucket, "file_id")
    return job, bucket, folder.rstrip("/") + "/"


def _result_objects(bucket: str, folder: str) -> Iterator[dict]:
    """Every `*.jsonl` object of an output folder, in name order (`predictions.jsonl`, or its shards)."""
    return (obj for obj in client.list_objects(bucket, folder) if obj.get("name", "").endswith(".jsonl"))


def _result_rows(bucket: str, folder: str) -> Iterator[tuple[int, bytes]]:
    """`(number, raw row)` for every non-blank row of the job's output files, numbered across them."""
    number = 0
    for obj in _result_objects(bucket, folder):
        chunks = client.download(bucket, obj["name"], missing="A result file vanished while listed.")
        for raw in jsonl.split_lines(chunks):
            if raw.strip():
                number += 1
                yield number, raw


def _result_lines(job: dict, bucket: str, folder: str) -> Iterator[dict]:
    """One OpenAI line per row (an unconvertible one to the error file, with its row), then one error line
    per submitted request no row answered. A download that breaks raises: never a short file."""
    name = job["name"]
    model = tr.model_name(job.get("model") or "")
    created = tr.timestamp(job.get("endTime") or job.get("updateTime") or job["createTime"]) or 0
    seen: set[str] = set()

    url = tr.job_endpoint(job)
    rows: Iterator[tuple[int, bytes | dict]]
    if url == endpoints.EMBEDDINGS:
        # One row per text: read as Gemini-style results, gathered into one OpenAI line per request.
        rows = endpoints.group_embeddings(_embedding_results(_result_rows(bucket, folder)))
        line_of = functools.partial(endpoints.embedding_line, batch=name, model=model, created=created,
                                    provider="Vertex AI")
        identify_row = functools.partial(endpoints.identify_group, batch=name)
    else:
        rows = _result_rows(bucket, folder)
        line_of = functools.partial(tr.output_line, job=name, model=model, created=created, url=url)
        identify_row = functools.partial(tr.identify, job=name)

    def convert(row: dict, number: int) -> dict:
        line = line_of(row, number)
        seen.add(line["custom_id"])
        return line

    def identify(row: dict | None, number: int) -> tuple[str, str]:
        custom_id, request_id = identify_row(row, number)
        seen.add(custom_id)
        return custom_id, request_id

    yield from batch_output.converted_lines(rows, convert, identify, provider=NAME)
    yield from _unanswered(job, seen)


def _embedding_results(rows: Iterator[tuple[int, bytes]]) -> Iterator[tuple[int, bytes | dict]]:
    """Embedding rows as Gemini-style results (`translate.embedding_result`); a row that cannot be read is
    passed on as it is, to become an unconvertible line with its own text."""
    for number, raw in rows:
        try:
            row = json.loads(raw)
            yield number, tr.embedding_result(row) if isinstance(row, dict) else raw
        except batch_output.CONVERSION_ERRORS:
            yield number, raw


def _unanswered(job: dict, seen: set[str]) -> Iterator[dict]:
    """Error lines for the requests of the job's (converted) input that no row answered."""
    uris = ((job.get("inputConfig") or {}).get("gcsSource") or {}).get("uris") or []
    try:
        bucket, name = tr.split_gs_uri(uris[0])
    except (IndexError, ValueError, TypeError):
        return
    if not _bucket_allowed(bucket):
        return
    code = batch_output.CANCELLED if tr.status(job) == "cancelled" else batch_output.EXPIRED
    message = f"Vertex AI wrote no result for this request (the job ended {job.get('state')})."
    missing = 0
    try:
        for raw in jsonl.split_lines(client.download(bucket, name, missing="absent")):
            try:
                custom_id = tr.request_custom_id(json.loads(raw)) if raw.strip() else None
            except (ValueError, KeyError, TypeError, AttributeError):
                continue
            if custom_id is not None and custom_id not in seen:
                seen.add(custom_id)
                missing += 1
                yield batch_output.failure_line(custom_id, f"{tr.job_id(job['name'])}-missing-{missing}", code, message)
    except NotFound:
        log.warning("vertex job %s: its input gs://%s/%s is gone; requests without a result are not listed",
                    job["name"], bucket, name)


# Batches


_UNSET: dict = {}


def _batch(job: dict, *, metadata: dict | None = _UNSET, cancelling_at: int | None = None) -> dict:
    """A job as an OpenAI Batch, with the metadata kept beside its input (read only when it has some)."""
    if not tr.known_state(job):
        log.warning("vertex job %s has a state the gateway does not know: %r", job.get("name"), job.get("state"))
    if metadata is _UNSET:
        metadata = _metadata(job)
    name = job.get("name", "")
    return mapping.mapped(NAME, "job", tr.job_to_batch, job, batch_id=ids.encode_batch(NAME, name),
                          input_file_id=_input_file_id(job), output_file_id=ids.encode_file(NAME, name, "output"),
                          error_file_id=ids.encode_file(NAME, name, "errors"), metadata=metadata,
                          cancelling_at=cancelling_at)


def _input_uri(job: dict) -> str:
    return (((job.get("inputConfig") or {}).get("gcsSource") or {}).get("uris") or [""])[0]


def _input_file_id(job: dict) -> str:
    """The ID of the file the client uploaded, recovered from the job's (converted) input URI."""
    uri = _input_uri(job)
    try:
        bucket, name = tr.split_gs_uri(uri)
        return _file_id(bucket, tr.original_name(name))
    except (ValueError, ids.InvalidId):
        return uri  # a job made outside the gateway, on an input the ID scheme cannot carry


def _metadata(job: dict) -> dict | None:
    if (job.get("labels") or {}).get(tr.JOB_LABEL_METADATA) != "1":
        return None
    try:
        bucket, name = tr.split_gs_uri(_input_uri(job))
        if not _bucket_allowed(bucket):
            return None
        data = b"".join(client.download(bucket, tr.metadata_name(name), missing="absent"))[:MAX_METADATA_BYTES]
        value = json.loads(data)
    except (ValueError, NotFound):
        log.warning("vertex job %s: its metadata.json is missing or unreadable", job.get("name"))
        return None
    return value if isinstance(value, dict) else None


def model_path(model: str, param: str = "model") -> str:
    """`model` as a job (or a generateContent call) names it (`translate.model_path`); a 400 naming `param` if
    it cannot run Gemini requests."""
    try:
        return tr.model_path(model)
    except ValueError as error:
        raise BadRequest(f"model {model!r} cannot run a Vertex AI Gemini batch ({error}).", param=param) from None


def _model(options: Options) -> str | None:
    return model_path(options.model) if options.model else None


def create_batch(new: NewBatch) -> dict:
    """Convert the uploaded file into the batch's work folder (checked line by line), then start the job."""
    if new.endpoint not in tr.ENDPOINT_LABELS:
        raise BadRequest(f"Vertex AI batches support {', '.join(tr.ENDPOINT_LABELS)}, not {new.endpoint}.",
                         param="endpoint")
    if new.output_expires_after is not None:
        raise BadRequest("Vertex AI results stay in your bucket until deleted (use a lifecycle rule); "
                         "output_expires_after cannot be set.", param="output_expires_after",
                         code="unsupported_parameter")
    if not new.input_file_id:
        raise BadRequest("input_file_id is required for Vertex AI.", param="input_file_id")
    client.access_token()  # a missing or unusable credential is an error before any work
    ref = ids.decode_file(new.input_file_id, NAME)
    if ref.kind != "file":
        raise BadRequest("input_file_id must be an uploaded file, not a batch's output.", param="input_file_id")
    bucket, name = _file_location(ref, "input_file_id")
    project, location = project_and_location()
    model = _model(new.options)

    token = filestore.new_key()
    converted = tr.converted_name(name, token)
    check = _InputCheck(model_given=model is not None, converts=False, endpoint=new.endpoint)
    lines = jsonl.split_lines(client.download(bucket, name, missing=f"No such file: {new.input_file_id!r}.",
                                              param="input_file_id"))
    client.upload(bucket, converted, jsonl.translated_lines(lines, tr.input_line, check, fast=tr.vertex_fast_lines),
                  content_type=JSONL)
    written = [converted]
    try:
        if model is None:
            if check.model is None:
                raise BadRequest("Pass model (the Gemini model the batch runs); the lines name none.", param="model")
            model = model_path(check.model, "line 1: body.model")
        labels = {tr.JOB_LABEL_REQUESTS: str(check.count)}
        if new.endpoint != endpoints.CHAT_COMPLETIONS:  # chat jobs keep the labels they always had
            labels[tr.JOB_LABEL_ENDPOINT] = tr.ENDPOINT_LABELS[new.endpoint]
        if new.metadata:
            written.append(tr.metadata_name(converted))
            client.upload(bucket, written[-1], [json.dumps(new.metadata).encode()], content_type="application/json")
            labels[tr.JOB_LABEL_METADATA] = "1"
        work = tr.work_dir(name, token)
        job = client.create_job(project, location, {
            "displayName": f"deepintshield-{token}",
            "model": model,
            "inputConfig": {"instancesFormat": "jsonl", "gcsSource": {"uris": [f"gs://{bucket}/{converted}"]}},
            "outputConfig": {"predictionsFormat": "jsonl",
                             "gcsDestination": {"outputUriPrefix": f"gs://{bucket}/{work}/output"}},
            "labels": labels,
        })
    except BaseException:
        for leftover in written:  # best effort: nothing runs on them
            try:
                client.delete_object(bucket, leftover, missing="absent")
            except APIError:
                log.warning("vertex: could not remove gs://%s/%s after a failed create", bucket, leftover)
        raise
    try:
        return _batch(job, metadata=new.metadata)
    except APIError:
        if not isinstance(job.get("name"), str):
            raise APIError(502, "Vertex AI created a batch but did not name it.", type="upstream_error",
                           retryable=False) from None
        # The job exists: answer with what we know rather than an error the SDK would retry.
        return mapping.created_batch(ids.encode_batch(NAME, job["name"]), new, "validating",
                                     model=tr.model_name(model), metadata=new.metadata)


def retrieve_batch(ref: ids.ResourceId, options: Options) -> dict:
    return _batch(client.get_job(ref.native))


def cancel_batch(ref: ids.ResourceId, options: Options) -> dict:
    """Ask Vertex to cancel (best effort: the job may still end otherwise); an ended job is answered as it is."""
    job = client.get_job(ref.native)
    if tr.status(job) not in tr.IN_FLIGHT:
        return _batch(job)
    client.cancel_job(ref.native)
    return _batch(client.get_job(ref.native), cancelling_at=int(time.time()))


def _jobs(project: str, location: str) -> Iterator[dict]:
    """The gateway's jobs in Vertex's list order, following page tokens."""
    token = None
    while True:
        page = client.list_jobs(project, location, token, _LIST_FILTER)
        yield from page.get("batchPredictionJobs") or []
        token = page.get("nextPageToken")
        if not token:
            return


def list_batches(query: BatchQuery) -> dict:
    after = ids.decode_batch(query.after, NAME).native if query.after else None
    found = after is None
    page: list[dict] = []
    for job in _jobs(*project_and_location()):
        if not found:
            found = job.get("name") == after
            continue
        if len(page) == query.limit:
            return {"data": page, "has_more": True}
        page.append(_batch(job))
    if not found:
        raise BadRequest(f"after: {query.after!r} is no longer listed by Vertex AI (deleted meanwhile?); list again "
                         "from the start.", param="after")
    return {"data": page, "has_more": False}
