"""The OpenAI error body: `{"error": {"message", "type", "param", "code"}}`."""

from marshmallow import EXCLUDE, RAISE, Schema, fields


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


class ProviderErrorDetailSchema(Schema):
    """A provider's error inside a list page (the same four fields as an error reply)."""

    class Meta:
        unknown = EXCLUDE

    message = fields.String(required=True)
    type = fields.String(required=True)
    param = fields.String(load_default=None, allow_none=True)
    code = fields.String(load_default=None, allow_none=True)


class ProviderErrorSchema(Schema):
    """One entry of a `?provider=all` list's `provider_errors`: a provider that could not be listed."""

    class Meta:
        unknown = EXCLUDE

    provider = fields.String(required=True)
    error = fields.Nested(ProviderErrorDetailSchema, required=True)


def provider_errors_field() -> fields.List:
    """The `provider_errors` field of a list page: only a `?provider=all` list has it (OpenAI's has not)."""
    return fields.List(fields.Nested(ProviderErrorSchema), metadata={
        "description": "Only with `provider=all`: the providers this page could not list (upstream error, "
                       "timeout, no key in passthrough, deeper than DEEPINTSHIELD_LIST_ALL_MAX_PAGES); their "
                       "items are not in `data`. Empty when every provider answered."})
