"""Response schemas (what a strict SDK accepts) and request schemas (what we accept)."""

from __future__ import annotations

import pytest
from marshmallow import ValidationError

from schemas.batch import BatchListSchema, BatchSchema
from schemas.file import FileDeletedSchema, FileListSchema, FileObjectSchema
from schemas.requests import (
    BatchQuerySchema,
    CreateBatchSchema,
    FileQuerySchema,
    S3Location,
    UploadFormSchema,
)

BATCH = {"id": "batch_1", "endpoint": "/v1/chat/completions", "input_file_id": "", "completion_window": "24h",
         "status": "completed", "created_at": 1700000000,
         "request_counts": {"total": 2, "completed": 1, "failed": 1}, "metadata": {"k": "v"}}
FILE = {"id": "file-1", "bytes": 10, "created_at": 1700000000, "filename": "a.jsonl", "purpose": "batch"}


def test_batch_dump_has_every_field_and_validates():
    dumped = BatchSchema().dump(BatchSchema().load(BATCH))
    assert dumped["object"] == "batch" and dumped["output_file_id"] is None and dumped["errors"] is None
    assert {"in_progress_at", "cancelled_at", "usage", "model"} <= set(dumped)
    assert BatchSchema().validate(dumped) == {}


@pytest.mark.parametrize(
    "change",
    [{"status": "ended"}, {"created_at": "2024-01-01T00:00:00Z"}, {"input_file_id": None},
     {"request_counts": {"total": 3}}, {"metadata": {"k": 1}}, {"object": "message_batch"},
     {"completed_at": 1.5}],
)
def test_batch_shapes_a_strict_sdk_rejects_are_rejected(change):
    with pytest.raises(ValidationError):
        BatchSchema().load({**BATCH, **change})


def test_file_object_defaults_and_rejections():
    dumped = FileObjectSchema().dump(FileObjectSchema().load(FILE))
    assert dumped["object"] == "file" and dumped["status"] == "processed" and dumped["expires_at"] is None
    for change in ({"purpose": "batch_input"}, {"status": "active"}, {"bytes": "10"}):
        with pytest.raises(ValidationError):
            FileObjectSchema().load({**FILE, **change})
    assert FileDeletedSchema().load({"id": "file-1", "deleted": True})["object"] == "file"


def test_list_pages():
    page = FileListSchema().load({"data": [FILE], "has_more": False})
    assert page["object"] == "list" and page["first_id"] is None
    with pytest.raises(ValidationError):
        BatchListSchema().load({"object": "list", "data": None, "has_more": False})


def test_create_batch_body_loads_gateway_fields_into_options():
    new = CreateBatchSchema().load({
        "input_file_id": "file-1", "endpoint": "/v1/chat/completions", "completion_window": "24h",
        "model": "m", "output_s3_uri": "s3://bucket-1/out", "metadata": {"a": "b"},
        "role_arn": "arn:aws:iam::123456789012:role/batch",
    })
    assert new.options.model == "m" and new.options.output_s3_uri == "s3://bucket-1/out"
    assert new.metadata == {"a": "b"} and new.requests is None


@pytest.mark.parametrize(
    "change, param",
    [({"completion_window": "48h"}, "completion_window"), ({"endpoint": "/v1/nope"}, "endpoint"),
     ({"metadata": {str(n): "v" for n in range(17)}}, "metadata"), ({"metadata": {"k" * 65: "v"}}, "metadata"),
     ({"metadata": {"k": "v" * 513}}, "metadata"), ({"output_s3_uri": "http://x"}, "output_s3_uri"),
     # Digits are ASCII digits, as in the ECMA patterns of /openapi.json and botocore's RoleArn pattern;
     # Python's `\d` also took others, which then went on to AWS.
     ({"role_arn": "arn:aws:iam::١٢٣٤٥٦٧٨٩٠١٢:role/batch"}, "role_arn"),
     ({"storage_config": {"s3": {"bucket": "b-1", "region": "us-east-١"}}}, "storage_config"),
     ({"surprise": 1}, "surprise")],
)
def test_create_batch_body_rejections_name_the_field(change, param):
    body = {"input_file_id": "file-1", "endpoint": "/v1/chat/completions", "completion_window": "24h", **change}
    with pytest.raises(ValidationError) as caught:
        CreateBatchSchema().load(body)
    assert param in caught.value.normalized_messages()


def test_upload_form_with_storage_config():
    new = UploadFormSchema().load({"purpose": "batch", "storage_config": {"s3": {
        "bucket": "my-bucket", "region": "us-west-2", "prefix": "/batch-input/"}}})
    assert new.options.storage == S3Location("my-bucket", "us-west-2", "batch-input")
    with pytest.raises(ValidationError):
        UploadFormSchema().load({"purpose": "batch", "storage_config": {"s3": {"bucket": "B"}}})


def test_query_schemas_convert_and_bound():
    assert BatchQuerySchema().load({"limit": "10", "model": "anthropic.claude"}).limit == 10
    assert FileQuerySchema().load({}).order == "desc"
    for bad in ({"limit": "0"}, {"limit": "101"}):
        with pytest.raises(ValidationError):
            BatchQuerySchema().load(bad)
