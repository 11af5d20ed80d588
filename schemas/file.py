"""OpenAI FileObject, FileDeleted and the file list page."""

from marshmallow import EXCLUDE, Schema, fields, validate

from schemas.error import provider_errors_field

FILE_PURPOSES = (
    "assistants",
    "assistants_output",
    "batch",
    "batch_output",
    "fine-tune",
    "fine-tune-results",
    "vision",
    "user_data",
    "evals",
)
FILE_STATUSES = ("uploaded", "processed", "error")


class FileObjectSchema(Schema):
    class Meta:
        unknown = EXCLUDE  # providers add fields; the client gets OpenAI's

    id = fields.String(required=True)
    object = fields.String(load_default="file", validate=validate.Equal("file"))
    bytes = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))
    created_at = fields.Integer(required=True, strict=True)
    filename = fields.String(required=True)
    purpose = fields.String(required=True, validate=validate.OneOf(FILE_PURPOSES))
    status = fields.String(load_default="processed", validate=validate.OneOf(FILE_STATUSES))
    expires_at = fields.Integer(load_default=None, allow_none=True, strict=True)
    status_details = fields.String(load_default=None, allow_none=True)


class FileDeletedSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    id = fields.String(required=True)
    object = fields.String(load_default="file", validate=validate.Equal("file"))
    deleted = fields.Boolean(required=True)


class FileListSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    object = fields.String(load_default="list", validate=validate.Equal("list"))
    data = fields.List(fields.Nested(FileObjectSchema), required=True)
    first_id = fields.String(load_default=None, allow_none=True)
    last_id = fields.String(load_default=None, allow_none=True)
    has_more = fields.Boolean(required=True)
    provider_errors = provider_errors_field()
