"""OpenAI's Upload and UploadPart objects (the Uploads API), as the gateway answers with them."""

from marshmallow import EXCLUDE, Schema, fields, validate

from schemas.file import FileObjectSchema

UPLOAD_STATUSES = ("pending", "completed", "cancelled", "expired")


class UploadSchema(Schema):
    class Meta:
        unknown = EXCLUDE  # providers add fields; the client gets OpenAI's

    id = fields.String(required=True)
    object = fields.String(load_default="upload", validate=validate.Equal("upload"))
    bytes = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))
    created_at = fields.Integer(required=True, strict=True)
    expires_at = fields.Integer(required=True, strict=True)
    filename = fields.String(required=True)
    purpose = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(UPLOAD_STATUSES))
    file = fields.Nested(FileObjectSchema, load_default=None, allow_none=True)  # set once completed


class UploadPartSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    id = fields.String(required=True)
    object = fields.String(load_default="upload.part", validate=validate.Equal("upload.part"))
    created_at = fields.Integer(required=True, strict=True)
    upload_id = fields.String(required=True)
