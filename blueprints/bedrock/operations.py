"""The nine Files/Batch operations on Bedrock: S3 objects as files, model invocation jobs as batches.

Where things live (all derived from IDs, nothing stored by the gateway):
- an upload: `s3://<bucket>/<prefix>/<time key>-<filename>.jsonl`, ID `encode_file(region/bucket/key)`;
- a batch's converted input: `<input dir>/_bedrock/<token16>/<input name>`, and beside it the
  client's custom_ids in record order, `<input dir>/_bedrock/<token16>/ids/<input name>`
  (translators.bedrock): read back when results are converted, at most one custom_id per record
  (Bedrock's records-per-file quota, DEEPINTSHIELD_BEDROCK_MAX_RECORDS) in memory;
- a batch: the job ARN; its results: `<output_s3_uri>/<jobId>/*.jsonl.out` + `manifest.json.out`.

Every operation spends the gateway's own AWS credentials, so without `DEEPINTSHIELD_API_KEYS` they
are served only to loopback clients: `require_trusted_client` is the provider's guard, which the
dispatcher runs once before any operation.
"""

from __future__ import annotations

import ipaddress
import itertools
import logging
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import timedelta

from flask import current_app, request

from blueprints.bedrock import NAME, client
from blueprints.common import aws, filestore, mapping
from blueprints.common import claude as claude_rules
from blueprints.common.streams import Content, Upload, primed
from blueprints.dispatcher import ids
from errors import APIError, BadRequest, NotFound
from schemas.requests import BatchQuery, FileQuery, GcsLocation, NewBatch, NewFile, Options, S3Location
from translators import batch_output, fast_results
from translators import bedrock as tr
from translators import openai_shapes as shapes
from translators.jsonl import (
    BEDROCK,
    CHAT_COMPLETIONS,
    OPENAI,
    BatchInputCheck,
    TypedLine,
    check_each,
    checked_chunks,
    line_format,
    numbered_objects,
    parse_line,
    split_lines,
    translated_lines,
)
from translators.typed_lines import ChatLine

log = logging.getLogger("deepintshield")

JSONL = "application/jsonl"
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
_UPLOAD_NAME = re.compile(r"^[0-9a-f]{24}-(.+)$")  # filestore.new_key() + "-" + filename


# Guards and locations


def require_trusted_client() -> None:
    """Without gateway keys, anyone reaching the gateway would spend its AWS credentials: loopback only."""
    if current_app.config.get("API_KEYS"):
        return  # auth.authenticate already checked the client's key
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        address = None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    if address is None or not address.is_loopback:
        raise APIError(401, "Bedrock runs on the gateway's own AWS credentials; with no DEEPINTSHIELD_API_KEYS "
                            "set it is served to loopback clients only.", code="loopback_only")


def _bucket_allowed(bucket: str) -> bool:
    allowed = current_app.config.get("BEDROCK_ALLOWED_BUCKETS") or []
    return not allowed or bucket in allowed


def check_bucket(bucket: str, param: str) -> None:
    """A bucket outside DEEPINTSHIELD_BEDROCK_ALLOWED_BUCKETS is a 403, before any S3 call."""
    if not _bucket_allowed(bucket):
        raise APIError(403, f"Bucket {bucket!r} is not allowed on this gateway "
                            "(DEEPINTSHIELD_BEDROCK_ALLOWED_BUCKETS).", param=param, code="bucket_not_allowed")


def _check_s3_uri(uri: str, param: str) -> None:
    """A 400 for an S3 URI Bedrock's job would refuse (botocore's S3Uri), before anything is written."""
    problem = aws.S3_URI.problem(uri)
    if problem:
        raise BadRequest(f"{param}: {uri!r} cannot be a Bedrock job's S3 location ({problem}: the bucket, then "
                         "keys of letters, digits and -!_*'(). between single slashes; no + = , @ or //; at most "
                         f"{aws.S3_URI.max} characters).", param=param, code="invalid_s3_uri")


def _max_records() -> int:
    return int(current_app.config.get("BEDROCK_MAX_RECORDS", 50_000))


def _default_region() -> str:
    return current_app.config["BEDROCK_REGION"]


def _s3(options: Options) -> S3Location | None:
    """The request's `storage_config.s3`; a `storage_config.gcs` (Vertex AI's) is a 400."""
    if isinstance(options.storage, GcsLocation):
        raise BadRequest("Bedrock files live in S3: storage_config takes s3, not gcs.", param="storage_config.gcs",
                         code="unsupported_parameter")
    return options.storage


def storage_location(options: Options) -> S3Location:
    """The request's `storage_config.s3`, else the configured default bucket/prefix; region filled in."""
    storage = _s3(options)
    if storage is None:
        bucket = current_app.config.get("BEDROCK_DEFAULT_BUCKET")
        if not bucket:
            raise BadRequest("Bedrock files live in S3: pass storage_config.s3.bucket (no default bucket is "
                             "configured).", param="storage_config")
        storage = S3Location(bucket, None, (current_app.config.get("BEDROCK_DEFAULT_PREFIX") or "").strip("/"))
    check_bucket(storage.bucket, "storage_config.s3.bucket")
    return S3Location(storage.bucket, storage.region or _default_region(), storage.prefix)


def _file_location(ref: ids.ResourceId, param: str = "id") -> tuple[str, str, str]:
    """`(region, bucket, key)` of an uploaded file's ID; the bucket must be allowed."""
    region, bucket, key = ref.native.split("/", 2)
    check_bucket(bucket, param)
    return region, bucket, key


def _job_location(ref: ids.ResourceId, options: Options) -> tuple[str, str]:
    """`(region, jobIdentifier)` of a batch ID (or of an output/error file ID)."""
    if ref.native.startswith("arn:"):
        return tr.arn_parts(ref.native)[0], ref.native
    storage = _s3(options)
    region = storage.region if storage and storage.region else _default_region()
    return region, ref.native


def _file_id(region: str, bucket: str, key: str) -> str:
    return ids.encode_file(NAME, f"{region}/{bucket}/{key}")


def _filename(key: str) -> str:
    name = key.rsplit("/", 1)[-1]
    match = _UPLOAD_NAME.fullmatch(name)
    return match[1] if match else name


def _upload_key(prefix: str, filename: str) -> str:
    """A new key that sorts before older uploads and never overwrites one; keeps to Bedrock's S3 URI alphabet."""
    name = _UNSAFE_NAME.sub("-", filename.rsplit("/", 1)[-1]).strip(".-") or "upload"
    name = name[:100]
    if not name.endswith(".jsonl"):
        name += ".jsonl"
    key = f"{filestore.new_key()}-{name}"
    return f"{prefix}/{key}" if prefix else key


def _job_uris(bucket: str, key: str) -> list[str]:
    """The S3 URIs a job made from the upload at `key` would use: the upload, and its converted
    records and custom_ids (the longest: a file that can be uploaded can be run)."""
    converted = tr.converted_key(key, "0" * 64)
    return [f"s3://{bucket}/{k}" for k in (key, converted, tr.custom_ids_key(converted))]


def default_location_problem(bucket: str, prefix: str) -> str | None:
    """Startup check (config.check): do the default bucket and prefix give job URIs Bedrock takes
    (botocore's S3Uri)? The problem as a line naming the variable, or None."""
    prefix = prefix.strip("/")
    problem = aws.S3_URI.problem(f"s3://{bucket}") if bucket else None
    if problem:
        return (f"DEEPINTSHIELD_BEDROCK_BUCKET: {bucket!r} is not a bucket Bedrock jobs can use ({problem}); "
                "expected 3-63 lowercase letters, digits, dots and hyphens")
    for uri in _job_uris(bucket or "example-bucket", _upload_key(prefix, "x" * 200)):
        problem = aws.S3_URI.problem(uri)
        if problem:
            return (f"DEEPINTSHIELD_BEDROCK_PREFIX: {prefix!r} cannot be part of a Bedrock job's S3 URI ({problem}); "
                    "expected letters, digits and -!_*'(). between single slashes, no + = , @, and room for the "
                    f"keys under it within {aws.S3_URI.max} characters")
    return None


def _file_object(region: str, bucket: str, key: str, head: dict) -> dict:
    return shapes.file_object(
        id=_file_id(region, bucket, key), bytes=int(head["ContentLength"] if "ContentLength" in head else head["Size"]),
        created_at=tr.unix(head["LastModified"]), filename=_filename(key), purpose="batch",
    )


# Files


def create_file(new: NewFile, upload: Upload) -> dict:
    """Stream a batch file to S3 after the shared batch-JSONL checks (OpenAI or Bedrock lines)."""
    check_new_file(new.purpose, new.expires_after is not None)
    location = storage_location(new.options)
    key = new_file_key(location, upload.filename)
    client.upload(location.region, location.bucket, key, checked(upload.chunks))
    return stored_file(location.region, location.bucket, key)


# The steps of a file upload, shared with the Uploads API (blueprints/bedrock/uploads.py): one set of rules.


def check_new_file(purpose: str, expires: bool) -> None:
    """A 400 for what a Bedrock file cannot be: anything but batch input, or one that expires."""
    if purpose != "batch":
        raise BadRequest(f"Bedrock files are batch input; purpose {purpose!r} is not supported.", param="purpose")
    if expires:
        raise BadRequest("expires_after is not supported for Bedrock files: S3 objects stay until deleted "
                         "(use a bucket lifecycle rule).", param="expires_after")


def new_file_key(location: S3Location, filename: str) -> str:
    """A new file's key under `location`, after checking that a job could use it and its ID can name it."""
    key = _upload_key(location.prefix, filename)
    # The filename part is made safe above; only the prefix (or its length) can break a URI.
    for uri in _job_uris(location.bucket, key):
        _check_s3_uri(uri, "storage_config.s3.prefix")
    try:  # a key the ID scheme cannot carry (`..` segments) could never be named again: refuse it first
        _file_id(location.region, location.bucket, key)
    except ids.InvalidId:
        raise BadRequest(f"Prefix {location.prefix!r} cannot hold gateway files (no '.' or '..' segments).",
                         param="storage_config.s3.prefix", code="invalid_s3_uri") from None
    return key


def checked(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The chunks of a new file, passed on while every line is checked; a bad one is a 400 naming it."""
    return checked_chunks(chunks, _InputCheck((OPENAI, BEDROCK), None, _max_records(), bodies=True))


def stored_file(region: str, bucket: str, key: str) -> dict:
    """The FileObject of a file just written."""
    head = client.head(region, bucket, key, missing=f"The upload of {key!r} vanished.")
    return _file_object(region, bucket, key, head)


def list_files(query: FileQuery) -> dict:
    """The `.jsonl` objects directly under the storage prefix, in key order (newest upload first).

    `after` becomes S3's `StartAfter`, so paging needs no server state.
    """
    if query.order != "desc":
        raise BadRequest("Bedrock files are listed in S3 key order, which is newest first for uploads; "
                         "order=asc is not supported.", param="order")
    location = storage_location(query.options)
    if query.purpose not in (None, "batch"):
        return {"data": [], "has_more": False}
    prefix = f"{location.prefix}/" if location.prefix else ""
    start_after = None
    if query.after:
        ref = ids.decode_file(query.after, NAME)
        bucket, key = ref.native.split("/", 2)[1:] if ref.kind == "file" else ("", "")
        if bucket != location.bucket or not key.startswith(prefix):
            raise BadRequest("after must be a file from the same bucket and prefix.", param="after")
        start_after = key
    limit = query.limit or 10_000
    files: list[dict] = []
    for item in client.list_objects(location.region, location.bucket, prefix, start_after=start_after,
                                    folder_only=True, page_size=min(1000, limit + 1)):
        if not item["Key"].endswith(".jsonl"):
            continue
        try:
            files.append(_file_object(location.region, location.bucket, item["Key"], item))
        except ids.InvalidId:
            continue  # a key the ID scheme cannot carry cannot be addressed by a client either
        if len(files) > limit:
            break
    return {"data": files[:limit], "has_more": len(files) > limit}


def retrieve_file(ref: ids.ResourceId, options: Options) -> dict:
    if ref.kind != "file":
        return _result_file(ref, options)
    region, bucket, key = _file_location(ref)
    head = client.head(region, bucket, key, missing=f"No such file: {ids.encode_file(NAME, ref.native)!r}.")
    return _file_object(region, bucket, key, head)


def delete_file(ref: ids.ResourceId, options: Options) -> dict:
    file_id = ids.encode_file(NAME, ref.native, ref.kind)
    if ref.kind != "file":
        raise BadRequest("A Bedrock batch's output and error files are views of the job's S3 output folder; "
                         "delete the objects there.", param="id")
    region, bucket, key = _file_location(ref)
    client.head(region, bucket, key, missing=f"No such file: {file_id!r}.")
    client.delete(region, bucket, key)
    return {"id": file_id, "object": "file", "deleted": True}


def file_content(ref: ids.ResourceId, options: Options) -> Content:
    if ref.kind != "file":
        job = _finished_job(ref, options)
        chunks = _result_chunks(job, errors=ref.kind == "errors")
        return Content(primed(chunks), JSONL, filename=_result_filename(job, ref.kind), on_close=chunks.close)
    region, bucket, key = _file_location(ref)
    reply = client.open_object(region, bucket, key, missing=f"No such file: {ids.encode_file(NAME, ref.native)!r}.")
    body = client.chunks(reply["Body"])
    return Content(body, JSONL, length=reply.get("ContentLength"), filename=_filename(key), on_close=body.close)


# Results: the job's output folder as OpenAI output / error files


def _finished_job(ref: ids.ResourceId, options: Options) -> dict:
    region, identifier = _job_location(ref, options)
    job = client.get_job(region, identifier)
    if not tr.has_results(job):
        raise NotFound(f"Batch {ids.encode_batch(NAME, job['jobArn'])!r} has no results yet "
                       f"(Bedrock status {job.get('status')}).")
    check_bucket(tr.job_output_prefix(job)[0], "id")
    return job


def _result_filename(job: dict, kind: str) -> str:
    return f"{tr.arn_parts(job['jobArn'])[1]}_{'output' if kind == 'output' else 'errors'}.jsonl"


def _result_chunks(job: dict, *, errors: bool) -> Iterator[bytes]:
    """The job's result records as OpenAI output (or error) lines, in JSONL chunks.

    One OpenAI line per record, whatever Bedrock wrote (`batch_output.converted_chunks`); an S3 read
    that breaks propagates, so the client's download fails rather than ending short.
    """
    region, job_id = tr.arn_parts(job["jobArn"])
    created = tr.unix(job.get("endTime") or job.get("lastModifiedTime") or job["submitTime"])
    custom_ids = _custom_ids(job)
    model = job["modelId"]
    endpoint = tr.tags_endpoint(client.job_tags(region, job["jobArn"]))

    def convert(record: dict, number: int) -> dict:
        return tr.output_line(record, job_id=job_id, model=model, created=created, custom_ids=custom_ids,
                              endpoint=endpoint)

    def identify(record: dict | None, number: int) -> tuple[str, str]:
        return tr.result_identity(record, number, job_id=job_id, custom_ids=custom_ids)

    # Blocks of plain text replies take the typed fast path (translators/fast_results.py); others line by line.
    fast = (fast_results.bedrock_chat(job_id=job_id, model=model, created=created, custom_ids=custom_ids)
            if endpoint == tr.CHAT_COMPLETIONS else None)
    numbers = itertools.count(1)  # non-blank lines, numbered across the result files

    def lines() -> Iterator[dict | batch_output.Encoded]:
        for chunks in _result_objects(job):
            yield from batch_output.converted_chunks(chunks, fast, convert, identify, provider=NAME, numbers=numbers)

    return batch_output.jsonl_chunks(lines(), successes=not errors)


def _result_objects(job: dict) -> Iterator[Iterator[bytes]]:
    """The byte chunks of each of the job's `.jsonl.out` files, in the order S3 lists them."""
    region = tr.arn_parts(job["jobArn"])[0]
    bucket, prefix = tr.job_output_prefix(job)
    for item in client.list_objects(region, bucket, prefix):
        if not item["Key"].endswith(".jsonl.out"):
            continue  # manifest.json.out and anything else
        reply = client.open_object(region, bucket, item["Key"], missing="A result file vanished while listed.")
        yield client.chunks(reply["Body"])


def _custom_ids(job: dict) -> list[str] | None:
    """The custom_ids written beside the job's converted input; None for a file used as uploaded, or
    when the sidecar is gone (results then carry their recordIds as custom_ids)."""
    region = tr.arn_parts(job["jobArn"])[0]
    bucket, key = tr.split_s3_uri(job["inputDataConfig"]["s3InputDataConfig"]["s3Uri"])
    sidecar = tr.custom_ids_key(key)
    if sidecar is None or not _bucket_allowed(bucket):
        return None
    try:
        reply = client.open_object(region, bucket, sidecar, missing="absent")
    except NotFound:
        log.warning("bedrock job %s: custom_id sidecar s3://%s/%s is missing; results keep their recordIds",
                    job["jobArn"], bucket, sidecar)
        return None
    try:
        return tr.parse_custom_ids(split_lines(client.chunks(reply["Body"])))
    except ValueError:
        log.warning("bedrock job %s: custom_id sidecar s3://%s/%s is unreadable; results keep their recordIds",
                    job["jobArn"], bucket, sidecar)
        return None


def _result_file(ref: ids.ResourceId, options: Options) -> dict:
    job = _finished_job(ref, options)
    size = sum(len(chunk) for chunk in _result_chunks(job, errors=ref.kind == "errors"))  # exact, streamed
    return shapes.file_object(
        id=ids.encode_file(NAME, ref.native, ref.kind), bytes=size, filename=_result_filename(job, ref.kind),
        created_at=tr.unix(job.get("endTime") or job.get("lastModifiedTime") or job["submitTime"]),
        purpose="batch_output",
    )


# Batches


class _InputCheck(BatchInputCheck):
    """The shared batch-file rules, plus Bedrock's recordId rule for lines already in Bedrock format.

    With `bodies` (an upload, where no model is known yet), OpenAI lines must use an endpoint Bedrock
    runs, and the bodies of the endpoints other than chat completions must translate for it
    (`tr.check_body`): a line Bedrock would refuse is a 400 naming it before anything is stored.
    """

    def __init__(self, formats, endpoint: str | None, max_requests: int | None, *, bodies: bool = False) -> None:
        super().__init__(formats, endpoint, max_requests)
        self.bodies = bodies

    def __call__(self, number: int, obj: dict) -> dict:
        super().__call__(number, obj)
        kind = line_format(obj)
        if kind == BEDROCK:
            problem = tr.record_id_problem(obj)
            if problem:
                raise BadRequest(f"Line {number} {problem}.", param=f"line {number}: recordId",
                                 code="invalid_batch_line")
        elif kind == OPENAI and self.bodies:
            self._check_body(number, obj)
        return obj

    def plan_block(self, parsed: Sequence[TypedLine]) -> Callable[[], None] | None:
        # Typed OpenAI lines need no rule beyond the shared ones unless bodies are checked (uploads).
        return None if self.bodies else self._plan(parsed)

    def _check_body(self, number: int, obj: dict) -> None:
        url = obj["url"]
        if url not in tr.ENDPOINTS:
            raise BadRequest(f"Line {number} has url {url!r}; Bedrock batches run {', '.join(tr.ENDPOINTS)}.",
                             param=f"line {number}: url", code="unsupported_endpoint")
        if url == CHAT_COMPLETIONS:
            return  # translated at create, as before: chat files keep the fast path
        try:
            tr.check_body(url, obj["body"], default_max_tokens=record_options("")["default_max_tokens"])
        except BadRequest as error:
            raise BadRequest(f"Line {number}: {error.message}", param=f"line {number}: body.{error.param}",
                             code=error.code) from None

    def check_block(self, number: int, block: bytes) -> int:
        """The fast path (which reads no bodies) only once the file is known to be chat completions."""
        if self.bodies and self.url != CHAT_COMPLETIONS:
            return check_each(self, number, block.split(b"\n")[:-1])
        return super().check_block(number, block)


class _OneModel:
    """The batch check plus Bedrock's one-model-per-job rule, when the model comes from the lines."""

    def __init__(self, check: BatchInputCheck, model: str) -> None:
        self.check, self.model = check, model

    def __call__(self, number: int, obj: dict) -> dict:
        self.check(number, obj)
        model = tr.line_model(obj)
        if model is not None and model != self.model:
            raise BadRequest(f"Line {number} uses model {model!r} but line 1 uses {self.model!r}; a Bedrock job runs "
                             "one model (pass `model` to choose it).", param=f"line {number}: body.model")
        return obj

    def plan_block(self, parsed: Sequence[ChatLine]) -> Callable[[], None] | None:
        """The typed fast path's rules: the shared ones, and every line's model (when it names one) this one."""
        if any(type(line.body.model) is str and line.body.model and line.body.model != self.model for line in parsed):
            return None
        return self.check.plan_block(parsed)

    def finish(self) -> None:
        self.check.finish()


SMALL_FILE_BYTES = 64 * 1024 * 1024  # past this much, a file is not read ahead: it goes the batch job way


def _small_file(region: str, bucket: str, key: str, minimum: int, file_id: str) -> list[bytes] | None:
    """The lines of an OpenAI-format input with fewer than `minimum` requests (held: there are fewer than
    `minimum`, within `SMALL_FILE_BYTES`); None for any other file, which becomes a batch job."""
    reply = client.open_object(region, bucket, key, missing=f"No such file: {file_id!r}.", param="input_file_id")
    body = client.chunks(reply["Body"])
    held: list[bytes] = []
    size = 0
    try:
        for number, raw in enumerate(split_lines(body), start=1):
            if not raw.strip():
                continue
            if not held and line_format(parse_line(raw, number)) != OPENAI:
                return None  # Bedrock's own records: the batch path checks (and counts) those
            held.append(raw)
            size += len(raw)
            if len(held) >= minimum or size > SMALL_FILE_BYTES:
                return None
    finally:
        body.close()
    return held or None


def _first_line(lines: Iterator[bytes]) -> tuple[list[bytes], int, dict | None]:
    """Read up to the first non-blank line: `(raw lines read, its number, parsed)`; `(…, 0, None)` if none."""
    seen: list[bytes] = []
    for raw in lines:
        seen.append(raw)
        if raw.strip():
            return seen, len(seen), parse_line(raw, len(seen))
    return seen, 0, None


def record_options(model: str) -> dict:
    """How OpenAI lines for `model` become its `modelInput` (`tr.to_record`'s keywords): the Claude body or a
    Converse request, the configured default `max_tokens` and Claude sampling rules. Gateway-run lines
    (`realtime.py`) are converted with the same."""
    return {"claude": tr.is_claude(model), "model": model, "sampling": claude_rules.sampling_rules(None),
            "default_max_tokens": int(current_app.config.get("ANTHROPIC_DEFAULT_MAX_TOKENS", 4096))}


def _convert(region: str, bucket: str, lines: Iterator[bytes], input_key: str, rule, model: str) -> list[str]:
    """Check and convert OpenAI lines into records at `input_key`; the custom_ids in record order.

    Held in memory until the sidecar is written: at most one per record, and `rule` stops the file
    at the records cap (DEEPINTSHIELD_BEDROCK_MAX_RECORDS), as it already does for its set of IDs.
    """
    options = record_options(model)
    custom_ids: list[str] = []

    def record(obj: dict) -> dict:
        custom_ids.append(obj["custom_id"])
        return tr.to_record(obj, record_id=tr.record_id(len(custom_ids)), **options)

    def fast(lines: list[ChatLine]) -> list[dict] | None:  # whole blocks of usual lines (typed_lines)
        start = len(custom_ids) + 1
        records = tr.fast_records(lines, record_ids=[tr.record_id(n) for n in range(start, start + len(lines))],
                                  **options)
        if records is not None:
            custom_ids.extend(line.custom_id for line in lines)
        return records

    client.upload(region, bucket, input_key, translated_lines(lines, record, rule, fast=fast))
    return custom_ids


def create_batch(new: NewBatch) -> dict:
    """Convert the input beside it (unless already in Bedrock format), check it, start the job."""
    if new.endpoint not in tr.ENDPOINTS:
        raise BadRequest(f"Bedrock batches support {', '.join(tr.ENDPOINTS)}, not {new.endpoint}.", param="endpoint")
    if new.output_expires_after is not None:
        raise BadRequest("Bedrock results stay in your bucket until deleted (use a lifecycle rule); "
                         "output_expires_after cannot be set.", param="output_expires_after",
                         code="unsupported_parameter")
    if not new.input_file_id:
        raise BadRequest("input_file_id is required for Bedrock.", param="input_file_id")
    ref = ids.decode_file(new.input_file_id, NAME)
    if ref.kind != "file":
        raise BadRequest("input_file_id must be an uploaded file, not a batch's output.", param="input_file_id")
    region, bucket, key = _file_location(ref, "input_file_id")
    if not key.endswith(".jsonl"):
        raise BadRequest("Bedrock reads only .jsonl objects.", param="input_file_id")
    minimum = int(current_app.config.get("BEDROCK_MIN_RECORDS", 100))
    small = _small_file(region, bucket, key, minimum, new.input_file_id)
    if small is not None:  # below Bedrock's minimum: the gateway runs it through bedrock-runtime instead
        from blueprints.gateway import operations as gateway

        return gateway.create_batch(NAME, new, lines=small, region=region)
    options = new.options
    role = options.role_arn or current_app.config.get("BEDROCK_ROLE_ARN")
    if not role:
        raise BadRequest("Pass role_arn (the IAM role Bedrock runs the job as); no DEEPINTSHIELD_BEDROCK_ROLE_ARN "
                         "is configured.", param="role_arn")
    output_uri = options.output_s3_uri or tr.default_output_uri(bucket, key)
    check_bucket(tr.split_s3_uri(output_uri)[0], "output_s3_uri")
    _check_s3_uri(output_uri, "output_s3_uri")
    tags = tr.metadata_to_tags(new.metadata) + tr.endpoint_tags(new.endpoint)

    reply = client.open_object(region, bucket, key, missing=f"No such file: {new.input_file_id!r}.",
                               param="input_file_id")
    body = client.chunks(reply["Body"])
    lines = split_lines(body)
    try:
        seen, number, first = _first_line(lines)
        lines = itertools.chain(seen, lines)
        check = _InputCheck((OPENAI, BEDROCK), new.endpoint, _max_records())
        if first is None:
            check.finish()  # an empty file: 400
        kind = line_format(first)
        if kind not in (OPENAI, BEDROCK):
            check(number, first)  # names the expected formats
        model = options.model or (tr.line_model(first) if kind == OPENAI else None)
        if not model:
            raise BadRequest("Pass model (the Bedrock model ID the job runs).", param="model")
        problem = aws.MODEL_ID.problem(model)
        if problem:
            raise BadRequest(f"model {model!r} is not a Bedrock model ID ({problem}).", param="model")
        tr.check_model(new.endpoint, model)
        token = tr.client_request_token({
            "input": ref.native, "model": model, "endpoint": new.endpoint, "output": output_uri, "role": role,
            "metadata": new.metadata, "window": new.completion_window,
        })
        if kind == BEDROCK:
            # Already Bedrock records: checked and counted, then used where they are.
            _check_s3_uri(f"s3://{bucket}/{key}", "input_file_id")
            for line_number, obj in numbered_objects(lines):
                check(line_number, obj)
            check.finish()
            input_key, ids_key, job_type = key, None, tr.record_invocation_type(first["modelInput"])
            custom_ids: list[str] = []
        else:
            input_key, job_type = tr.converted_key(key, token), tr.invocation_type(model, new.endpoint)
            ids_key = tr.custom_ids_key(input_key)
            for written in (input_key, ids_key):
                _check_s3_uri(f"s3://{bucket}/{written}", "input_file_id")
            rule = check if options.model else _OneModel(check, model)
            custom_ids = _convert(region, bucket, lines, input_key, rule, model)
    finally:
        body.close()

    if check.count < minimum:
        if input_key != key:
            client.delete(region, bucket, input_key)
        raise BadRequest(f"Bedrock needs at least {minimum} records per batch job; the file has {check.count}.",
                         param="input_file_id", code="too_few_records")
    if ids_key is not None:
        client.upload(region, bucket, ids_key, tr.custom_ids_chunks(custom_ids))

    params = {
        "jobName": tr.job_name(key, token),
        "roleArn": role,
        "clientRequestToken": token,
        "modelId": model,
        "inputDataConfig": {"s3InputDataConfig": {"s3InputFormat": "JSONL", "s3Uri": f"s3://{bucket}/{input_key}"}},
        "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": output_uri}},
        "timeoutDurationInHours": 24,
        "modelInvocationType": job_type,
    }
    if tags:
        params["tags"] = tags
    arn = client.create_job(region, **params)
    try:
        return _batch(client.get_job(region, arn), tags=tags)
    except APIError:
        # The job exists: answer with what we know rather than an error the SDK would retry.
        return mapping.created_batch(ids.encode_batch(NAME, arn), new, "validating", model=model,
                                     metadata=new.metadata)


def _input_file_id(job: dict) -> str:
    """The ID of the file the client uploaded, recovered from the job's (converted) input URI."""
    region = tr.arn_parts(job["jobArn"])[0]
    uri = job["inputDataConfig"]["s3InputDataConfig"]["s3Uri"]
    bucket, key = tr.split_s3_uri(uri)
    try:
        return _file_id(region, bucket, tr.original_key(key))
    except ids.InvalidId:
        return uri  # a job started outside the gateway on a key the ID scheme cannot carry


def _batch(job: dict, *, tags: list[dict] | None = None) -> dict:
    """A job (Get reply or List summary) as an OpenAI Batch, with its tags (metadata, endpoint: read
    when not given) and, if needed, its manifest."""
    return mapping.mapped(NAME, "job", _job_to_batch, job, tags)


def _job_to_batch(job: dict, tags: list[dict] | None) -> dict:
    arn = job["jobArn"]
    region = tr.arn_parts(arn)[0]
    if tags is None:
        tags = client.job_tags(region, arn)
    manifest = None
    if tr.has_results(job) and tr.request_counts(job) is None:
        bucket, prefix = tr.job_output_prefix(job)
        manifest = client.read_json(region, bucket, prefix + "manifest.json.out")
    return tr.job_to_batch(
        job, batch_id=ids.encode_batch(NAME, arn), input_file_id=_input_file_id(job),
        output_file_id=ids.encode_file(NAME, arn, "output"), error_file_id=ids.encode_file(NAME, arn, "errors"),
        metadata=tr.tags_to_metadata(tags), manifest=manifest, endpoint=tr.tags_endpoint(tags),
    )


def retrieve_batch(ref: ids.ResourceId, options: Options) -> dict:
    return _batch(client.get_job(*_job_location(ref, options)))


def cancel_batch(ref: ids.ResourceId, options: Options) -> dict:
    """Stop the job (a job already stopping or stopped is answered as it is)."""
    region, identifier = _job_location(ref, options)
    job = client.get_job(region, identifier)
    if job.get("status") not in ("Stopping", "Stopped"):
        client.stop_job(region, job["jobArn"])
        job = client.get_job(region, job["jobArn"])
    return _batch(job)


def list_batches(query: BatchQuery) -> dict:
    """Jobs newest first, filtered by `model` when given.

    `after` is resolved without server state: the jobs are listed again from that job's submit
    time and everything up to and including it is skipped.
    """
    options = query.options
    storage = _s3(options)
    region = storage.region if storage and storage.region else _default_region()
    after_arn = after_time = None
    if query.after:
        ref = ids.decode_batch(query.after, NAME)
        after_region, identifier = _job_location(ref, options)
        if after_region != region:
            raise BadRequest("after names a batch in another region than this listing.", param="after")
        after_job = client.get_job(region, identifier)
        after_arn, after_time = after_job["jobArn"], after_job["submitTime"]
    summaries = client.list_jobs(
        region, submitted_before=after_time + timedelta(seconds=1) if after_time else None,
        page_size=min(1000, max(query.limit + 1, 10)),
    )
    page: list[dict] = []
    skipping = after_arn is not None
    for summary in summaries:
        if skipping:
            if summary["jobArn"] == after_arn:
                skipping = False
                continue
            if summary["submitTime"] >= after_time:
                continue  # newer than (or as old as) the cursor: already shown
            skipping = False  # the cursor job is not listed any more: start below its time
        if options.model and summary["modelId"] != options.model:
            continue
        page.append(summary)
        if len(page) > query.limit:
            break
    return {"data": [_batch(job) for job in page[: query.limit]], "has_more": len(page) > query.limit}
