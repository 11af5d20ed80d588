"""OpenAI Batch and the batch list page."""

from marshmallow import EXCLUDE, Schema, fields, validate

from schemas.error import provider_errors_field

BATCH_STATUSES = (
    "validating",
    "failed",
    "in_progress",
    "finalizing",
    "completed",
    "expired",
    "cancelling",
    "cancelled",
)
TIMESTAMPS = (
    "in_progress_at",
    "expires_at",
    "finalizing_at",
    "completed_at",
    "failed_at",
    "expired_at",
    "cancelling_at",
    "cancelled_at",
)


def _optional_int() -> fields.Integer:
    return fields.Integer(load_default=None, allow_none=True, strict=True)


class RequestCountsSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    total = fields.Integer(required=True, strict=True)
    completed = fields.Integer(required=True, strict=True)
    failed = fields.Integer(required=True, strict=True)


class BatchErrorSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    code = fields.String(load_default=None, allow_none=True)
    message = fields.String(load_default=None, allow_none=True)
    param = fields.String(load_default=None, allow_none=True)
    line = fields.Integer(load_default=None, allow_none=True, strict=True)


class BatchErrorsSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    object = fields.String(load_default="list", validate=validate.Equal("list"))
    data = fields.List(fields.Nested(BatchErrorSchema), load_default=list)


class InputTokensDetailsSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    cached_tokens = fields.Integer(required=True, strict=True)


class OutputTokensDetailsSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    reasoning_tokens = fields.Integer(required=True, strict=True)


class BatchUsageSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    input_tokens = fields.Integer(required=True, strict=True)
    input_tokens_details = fields.Nested(InputTokensDetailsSchema, required=True)
    output_tokens = fields.Integer(required=True, strict=True)
    output_tokens_details = fields.Nested(OutputTokensDetailsSchema, required=True)
    total_tokens = fields.Integer(required=True, strict=True)


class BatchSchema(Schema):
    class Meta:
        unknown = EXCLUDE  # providers add fields; the client gets OpenAI's

    id = fields.String(required=True)
    object = fields.String(load_default="batch", validate=validate.Equal("batch"))
    endpoint = fields.String(required=True)
    model = fields.String(load_default=None, allow_none=True)
    errors = fields.Nested(BatchErrorsSchema, load_default=None, allow_none=True)
    input_file_id = fields.String(required=True)
    completion_window = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(BATCH_STATUSES))
    output_file_id = fields.String(load_default=None, allow_none=True)
    error_file_id = fields.String(load_default=None, allow_none=True)
    created_at = fields.Integer(required=True, strict=True)
    in_progress_at = _optional_int()
    expires_at = _optional_int()
    finalizing_at = _optional_int()
    completed_at = _optional_int()
    failed_at = _optional_int()
    expired_at = _optional_int()
    cancelling_at = _optional_int()
    cancelled_at = _optional_int()
    request_counts = fields.Nested(RequestCountsSchema, load_default=None, allow_none=True)
    usage = fields.Nested(BatchUsageSchema, load_default=None, allow_none=True)
    metadata = fields.Dict(
        keys=fields.String(), values=fields.String(), load_default=None, allow_none=True
    )


class BatchListSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    object = fields.String(load_default="list", validate=validate.Equal("list"))
    data = fields.List(fields.Nested(BatchSchema), required=True)
    first_id = fields.String(load_default=None, allow_none=True)
    last_id = fields.String(load_default=None, allow_none=True)
    has_more = fields.Boolean(required=True)
    provider_errors = provider_errors_field()
