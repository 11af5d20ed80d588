"""The OpenAI error body: `{"error": {"message", "type", "param", "code"}}`."""

from marshmallow import RAISE, Schema, fields


class ErrorDetailSchema(Schema):
    class Meta:
        unknown = RAISE  # the SDK reads exactly these four keys

    message = fields.String(required=True)
    type = fields.String(required=True)
    param = fields.String(required=True, allow_none=True)
    code = fields.String(required=True, allow_none=True)


class ErrorSchema(Schema):
    class Meta:
        unknown = RAISE

    error = fields.Nested(ErrorDetailSchema, required=True)
