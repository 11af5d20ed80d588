"""Bedrock's upstream calls: S3 objects (files, results), the `bedrock` job control plane, and the
`bedrock-runtime` model calls of gateway-run batches (InvokeModel, Converse).

All through `blueprints.common.aws.client` (one boto3 client per service and region per worker;
boto3 honours `AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL_BEDROCK` / `AWS_ENDPOINT_URL_BEDROCK_RUNTIME`).
Every AWS error leaves here as an `APIError` via `aws.aws_error`; a missing object or job can be
turned into a `NotFound` with a message that names what the client asked for.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, cast

from blueprints.common import aws
from blueprints.common.streams import RELAY_CHUNK, ChunkReader
from errors import NotFound, UpstreamError

if TYPE_CHECKING:
    from botocore.model import Shape

log = logging.getLogger("deepintshield")

NAME = "bedrock"
MAX_MANIFEST_BYTES = 1024 * 1024


@contextmanager
def upstream(*, creates: bool = False, missing: str | None = None, param: str | None = "id"):
    """Map boto3 errors raised inside the block; a 404 becomes `NotFound(missing)` when given."""
    try:
        yield
    except aws.ClientError as error:
        if missing and aws.AWS_STATUS.get(str(error.response.get("Error", {}).get("Code"))) == 404:
            raise NotFound(missing, param=param) from None
        raise aws.aws_error(error, NAME, creates=creates) from None
    except aws.BotoCoreError as error:
        raise aws.aws_error(error, NAME, creates=creates) from None


def s3(region: str):
    return aws.client("s3", region)


def bedrock(region: str):
    return aws.client("bedrock", region)


# S3


def head(region: str, bucket: str, key: str, *, missing: str, param: str | None = "id") -> dict:
    with upstream(missing=missing, param=param):
        return s3(region).head_object(Bucket=bucket, Key=key)


def open_object(region: str, bucket: str, key: str, *, missing: str, param: str | None = "id",
                if_match: str | None = None):
    """The object's `get_object` reply; its `Body` streams and must be closed by the caller. With
    `if_match` (an ETag), an object changed since is an error rather than other bytes."""
    extra = {"IfMatch": if_match} if if_match else {}
    with upstream(missing=missing, param=param):
        return s3(region).get_object(Bucket=bucket, Key=key, **extra)


def chunks(body, size: int = RELAY_CHUNK) -> Iterator[bytes]:
    """A streamed S3 body in chunks; closes it when done or abandoned."""
    try:
        with upstream():
            yield from body.iter_chunks(size)
    finally:
        body.close()


def upload(region: str, bucket: str, key: str, data: Iterable[bytes]) -> int:
    """Stream `data` to S3 (multipart past one part, `aws.UPLOAD`; one part in memory); the bytes written.

    Errors raised while producing `data` (a bad JSONL line) propagate unchanged, and boto3 aborts
    the multipart upload, so no partial object is left behind.
    """
    reader = ChunkReader(data)
    with upstream():
        s3(region).upload_fileobj(reader, bucket, key, ExtraArgs={"ContentType": "application/jsonl"},
                                  Config=aws.UPLOAD)
    return reader.size


def put_json(region: str, bucket: str, key: str, value: dict) -> None:
    """A small JSON object (an Uploads API record), written whole."""
    with upstream():
        s3(region).put_object(Bucket=bucket, Key=key, Body=json.dumps(value).encode(),
                              ContentType="application/json")


def copy_parts(region: str, bucket: str, key: str, sources: list[tuple[str, str]]) -> None:
    """Assemble `key` from the objects `sources` (`(key, ETag)`, in order) in the same bucket, server-side:
    a multipart upload of UploadPartCopy parts, each copied only if it still has that ETag. Every
    source but the last must hold at least 5 MiB (S3's part minimum). On any failure the multipart
    upload is aborted, so nothing is left at `key`."""
    service = s3(region)
    with upstream():
        upload_id = service.create_multipart_upload(Bucket=bucket, Key=key,
                                                    ContentType="application/jsonl")["UploadId"]
    try:
        with upstream():
            parts = []
            for number, (source, etag) in enumerate(sources, start=1):
                reply = service.upload_part_copy(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number,
                                                 CopySource={"Bucket": bucket, "Key": source},
                                                 CopySourceIfMatch=etag)
                parts.append({"PartNumber": number, "ETag": reply["CopyPartResult"]["ETag"]})
            service.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id,
                                              MultipartUpload={"Parts": parts})
    except BaseException:
        try:
            service.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
        except (aws.ClientError, aws.BotoCoreError):  # the copy's own error is the one to report
            log.warning("s3://%s/%s: could not abort multipart upload %s", bucket, key, upload_id)
        raise


def delete(region: str, bucket: str, key: str) -> None:
    with upstream():
        s3(region).delete_object(Bucket=bucket, Key=key)


def delete_under(region: str, bucket: str, prefix: str) -> None:
    """Delete every object under `prefix`, a thousand per call."""
    service = s3(region)
    while True:
        with upstream():
            found = service.list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=1000).get("Contents", [])
            if not found:
                return
            service.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": item["Key"]} for item in found],
                                                          "Quiet": True})


def list_objects(region: str, bucket: str, prefix: str, *, start_after: str | None = None,
                 folder_only: bool = False, page_size: int = 1000) -> Iterator[dict]:
    """The objects under `prefix` in key order (`Contents` items), page by page.

    `folder_only` lists the prefix like a folder: objects in sub-"folders" are left out.
    """
    kwargs: dict = {"Bucket": bucket, "Prefix": prefix, "PaginationConfig": {"PageSize": page_size}}
    if start_after:
        kwargs["StartAfter"] = start_after
    if folder_only:
        kwargs["Delimiter"] = "/"
    with upstream():
        for page in s3(region).get_paginator("list_objects_v2").paginate(**kwargs):
            yield from page.get("Contents", [])


def read_json(region: str, bucket: str, key: str) -> dict | None:
    """A small JSON object (a job's `manifest.json.out`), or None when it does not exist."""
    try:
        with upstream(missing="absent"):
            reply = s3(region).get_object(Bucket=bucket, Key=key)
    except NotFound:
        return None
    body = reply["Body"]
    try:
        with upstream():
            data = body.read(MAX_MANIFEST_BYTES)  # a manifest is a few hundred bytes
    finally:
        body.close()
    try:
        value = json.loads(data)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


# Model invocation jobs


def create_job(region: str, **params) -> str:
    """`create_model_invocation_job`; the new (or, for a repeated token, existing) job's ARN."""
    with upstream(creates=True):
        return bedrock(region).create_model_invocation_job(**params)["jobArn"]


def get_job(region: str, identifier: str) -> dict:
    with upstream(missing=f"No such Bedrock batch: {identifier!r}."):
        return bedrock(region).get_model_invocation_job(jobIdentifier=identifier)


def stop_job(region: str, identifier: str) -> None:
    with upstream(missing=f"No such Bedrock batch: {identifier!r}."):
        bedrock(region).stop_model_invocation_job(jobIdentifier=identifier)


def list_jobs(region: str, *, submitted_before: datetime | None = None, page_size: int = 100) -> Iterator[dict]:
    """Job summaries, newest first, page by page."""
    kwargs: dict = {"sortBy": "CreationTime", "sortOrder": "Descending", "PaginationConfig": {"PageSize": page_size}}
    if submitted_before is not None:
        kwargs["submitTimeBefore"] = submitted_before
    with upstream():
        for page in bedrock(region).get_paginator("list_model_invocation_jobs").paginate(**kwargs):
            yield from page.get("invocationJobSummaries", [])


def job_tags(region: str, arn: str) -> list[dict]:
    with upstream(missing=f"No such Bedrock batch: {arn!r}."):
        return bedrock(region).list_tags_for_resource(resourceARN=arn).get("tags", [])


# bedrock-runtime: one model call per line of a gateway-run batch


def runtime(region: str):
    """A bedrock-runtime client without botocore's retries: the worker of a gateway-run batch decides them."""
    return aws.client("bedrock-runtime", region, retries=0)


@contextmanager
def _model_call():
    """`upstream()` for a model call, with timeouts as `http.call` reports them (504 `upstream_timeout`,
    no provider status): the call may still have run, and a worker tells a timeout by them."""
    with upstream():
        try:
            yield
        except (aws.ConnectTimeoutError, aws.ReadTimeoutError):
            raise UpstreamError(NAME, 504, "timed out", code="upstream_timeout") from None


def _reply_json(data: bytes) -> dict:
    try:
        value = json.loads(data)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise UpstreamError(NAME, 502, "answered with a body that is not a JSON object", code="upstream_error",
                            type="upstream_error")
    return value


def invoke_model(region: str, model_id: str, body: dict) -> tuple[dict, str | None]:
    """`InvokeModel` with a model-native JSON body (Claude's Messages body): the model's JSON answer and
    Bedrock's request ID."""
    with _model_call():
        reply = runtime(region).invoke_model(modelId=model_id, body=json.dumps(body).encode(),
                                             contentType="application/json", accept="application/json")
        stream = reply["body"]
        try:
            data = stream.read()  # a model's answer: small, and the whole of it is needed
        finally:
            stream.close()
    return _reply_json(data), reply.get("ResponseMetadata", {}).get("RequestId")


def converse(region: str, model_id: str, request: dict) -> tuple[dict, str | None]:
    """`Converse` with a ConverseRequest in its JSON wire form (no `modelId`): the ConverseResponse and
    Bedrock's request ID."""
    shape = aws.service_model("bedrock-runtime").operation_model("Converse").input_shape
    params = cast(dict, boto3_params(shape, request))  # a structure's dict stays a dict
    with _model_call():
        reply = runtime(region).converse(modelId=model_id, **params)
    metadata = reply.pop("ResponseMetadata", {})
    return reply, metadata.get("RequestId")


def boto3_params(shape: Shape, value: object) -> object:
    """A value in the service's JSON wire form, as a batch record holds it, as boto3 takes it: blobs
    (images, documents) as bytes, not base64 text, which boto3 would encode a second time."""
    if shape.metadata.get("document"):
        return value  # free-form JSON (tool inputs, schemas): nothing in it is a blob
    if shape.type_name == "blob" and isinstance(value, str):
        return base64.b64decode(value)
    if shape.type_name == "structure" and isinstance(value, dict):
        return {key: boto3_params(shape.members[key], item) if key in shape.members else item
                for key, item in value.items()}
    if shape.type_name == "list" and isinstance(value, list):
        return [boto3_params(shape.member, item) for item in value]
    if shape.type_name == "map" and isinstance(value, dict):
        return {key: boto3_params(shape.value, item) for key, item in value.items()}
    return value
