"""What clients may send: upload form, batch body, list queries, and the gateway-only fields.

Each schema loads into a small dataclass the provider operations take. `provider` is taken out by
the dispatcher before loading. The other gateway-only fields (`storage_config`, `model`,
`output_s3_uri`, `role_arn`, `requests`, `execution`, `webhook_url`) are consumed here and never
forwarded upstream. Unknown
keys are a 400 naming the key (`unknown = RAISE`): a misspelt `provder` must not silently route to
OpenAI.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from marshmallow import RAISE, Schema, ValidationError, fields, post_load, validate, validates_schema

UPLOAD_PURPOSES = ("assistants", "batch", "fine-tune", "vision", "user_data", "evals")
# The Uploads API's limits (OpenAI's, documented in the SDK): bytes per upload, bytes per part, and
# seconds from create to expiry. A provider with tighter ones checks those itself. The SDK's default
# part is 64 MiB exactly, so the part limit is binary; so is the upload's (the doc says "8 GB").
MAX_UPLOAD_BYTES = 8 * 1024**3
MAX_PART_BYTES = 64 * 1024**2
UPLOAD_LIFETIME = 3600
MAX_WEBHOOK_URL = 2048  # characters of a `webhook_url`
BATCH_ENDPOINTS = (
    "/v1/responses",
    "/v1/chat/completions",
    "/v1/embeddings",
    "/v1/completions",
    "/v1/moderations",
    "/v1/images/generations",
    "/v1/images/edits",
    "/v1/videos",
)


@dataclass(frozen=True)
class S3Location:
    bucket: str
    region: str | None = None
    prefix: str = ""


@dataclass(frozen=True)
class GcsLocation:
    bucket: str
    prefix: str = ""


@dataclass(frozen=True)
class Options:
    """Gateway-only fields a request may carry, whatever the operation."""

    storage: S3Location | GcsLocation | None = None  # `storage_config.s3` or `storage_config.gcs`
    model: str | None = None
    output_s3_uri: str | None = None
    role_arn: str | None = None


@dataclass(frozen=True)
class ExpiresAfter:
    anchor: str
    seconds: int


@dataclass(frozen=True)
class NewFile:
    purpose: str
    expires_after: ExpiresAfter | None
    options: Options


@dataclass(frozen=True)
class NewUpload:
    bytes: int
    filename: str
    mime_type: str
    purpose: str
    expires_after: ExpiresAfter | None  # of the resulting file
    options: Options


@dataclass(frozen=True)
class CompleteUpload:
    part_ids: list[str]  # in the file's order
    md5: str | None
    options: Options


@dataclass(frozen=True)
class FileQuery:
    purpose: str | None
    limit: int | None
    order: str
    after: str | None
    options: Options


@dataclass(frozen=True)
class NewBatch:
    input_file_id: str
    endpoint: str
    completion_window: str
    metadata: dict[str, str] | None
    output_expires_after: ExpiresAfter | None
    requests: list[dict] | None
    options: Options = field(default_factory=Options)
    execution: str = "provider"  # or "gateway": run by the gateway through the provider's real-time API
    webhook_url: str | None = None  # where to POST the batch's end (blueprints/webhooks checks it)


@dataclass(frozen=True)
class BatchQuery:
    limit: int
    after: str | None
    options: Options


class S3Schema(Schema):
    class Meta:
        unknown = RAISE

    # `metadata` examples: what the OpenAPI description (/docs) shows.
    bucket = fields.String(required=True, validate=validate.Regexp(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\Z"),
                           metadata={"example": "your-s3-bucket"})
    region = fields.String(load_default=None, validate=validate.Regexp(r"^[a-z]{2}(-[a-z]+)+-[0-9]\Z"),
                           metadata={"example": "us-west-2"})
    prefix = fields.String(load_default="", validate=validate.Regexp(r"^[A-Za-z0-9!_*'().+=,@/-]{0,512}\Z"),
                           metadata={"example": "batch-input"})

    @post_load
    def make(self, data: dict, **kwargs) -> S3Location:
        return S3Location(data["bucket"], data["region"], data["prefix"].strip("/"))


class GcsSchema(Schema):
    class Meta:
        unknown = RAISE

    # Cloud Storage bucket names: 3-63 lowercase letters, digits, `-`, `_` and `.` (dotted names up to 222
    # in all, which the gateway does not take); prefixes as S3's, without the characters paths would escape.
    bucket = fields.String(required=True, validate=validate.Regexp(r"^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]\Z"),
                           metadata={"example": "your-gcs-bucket"})
    prefix = fields.String(load_default="", validate=validate.Regexp(r"^[A-Za-z0-9!_*'().+=,@/-]{0,512}\Z"),
                           metadata={"example": "batch-input"})

    @post_load
    def make(self, data: dict, **kwargs) -> GcsLocation:
        return GcsLocation(data["bucket"], data["prefix"].strip("/"))


class StorageConfigSchema(Schema):
    """Where a provider keeps files: exactly one of `s3` (Bedrock) or `gcs` (Vertex AI)."""

    EXACTLY_ONE = True  # what the OpenAPI description says of it (blueprints/docs/openapi.py)

    class Meta:
        unknown = RAISE

    s3 = fields.Nested(S3Schema)
    gcs = fields.Nested(GcsSchema)

    @validates_schema
    def one(self, data: dict, **kwargs) -> None:
        if len(data) != 1:
            raise ValidationError("give exactly one of s3 or gcs")


class ExpiresAfterSchema(Schema):
    class Meta:
        unknown = RAISE

    anchor = fields.String(required=True, validate=validate.Equal("created_at"))
    seconds = fields.Integer(required=True, validate=validate.Range(min=3600, max=2_592_000))

    @post_load
    def make(self, data: dict, **kwargs) -> ExpiresAfter:
        return ExpiresAfter(**data)


class GatewaySchema(Schema):
    """The gateway-only fields every request may carry."""

    class Meta:
        unknown = RAISE  # our request bodies: a misspelt key is a 400, not silently ignored

    storage_config = fields.Nested(StorageConfigSchema, load_default=None)
    model = fields.String(load_default=None, validate=validate.Length(min=1, max=256),
                          metadata={"example": "anthropic.claude-3-sonnet-20240229-v1:0"})
    output_s3_uri = fields.String(
        load_default=None, validate=validate.Regexp(r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?\Z"),
        metadata={"example": "s3://your-s3-bucket/batch-output/"},
    )
    role_arn = fields.String(load_default=None, validate=validate.Regexp(r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+\Z"),
                             metadata={"example": "arn:aws:iam::123456789012:role/BedrockBatch"})

    @staticmethod
    def options(data: dict) -> Options:
        """The gateway-only fields (a provider's schema leaves out those it does not take)."""
        storage = data.pop("storage_config", None)
        return Options(
            storage=next(iter(storage.values())) if storage else None,
            model=data.pop("model", None),
            output_s3_uri=data.pop("output_s3_uri", None),
            role_arn=data.pop("role_arn", None),
        )


class ResourceQuerySchema(GatewaySchema):
    """Query (or body) of retrieve, delete, content and cancel."""

    @post_load
    def make(self, data: dict, **kwargs) -> Options:
        return self.options(data)


class UploadFormSchema(GatewaySchema):
    purpose = fields.String(required=True, validate=validate.OneOf(UPLOAD_PURPOSES))
    expires_after = fields.Nested(ExpiresAfterSchema, load_default=None)

    @post_load
    def make(self, data: dict, **kwargs) -> NewFile:
        return NewFile(data["purpose"], data["expires_after"], self.options(data))


class CreateUploadSchema(GatewaySchema):
    """`POST /uploads`: one file to come in parts."""

    bytes = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=MAX_UPLOAD_BYTES))
    filename = fields.String(required=True, validate=validate.Length(min=1, max=255))
    mime_type = fields.String(required=True, validate=validate.Length(min=1, max=255))
    purpose = fields.String(required=True, validate=validate.OneOf(UPLOAD_PURPOSES))
    expires_after = fields.Nested(ExpiresAfterSchema, load_default=None)

    @post_load
    def make(self, data: dict, **kwargs) -> NewUpload:
        return NewUpload(data["bytes"], data["filename"], data["mime_type"], data["purpose"], data["expires_after"],
                         self.options(data))


class CompleteUploadSchema(GatewaySchema):
    """`POST /uploads/{id}/complete`: the parts in the file's order, and optionally the file's MD5."""

    # Each part once (a part listed twice would be in the file twice: a 400 naming the repeat).
    part_ids = fields.List(fields.String(validate=validate.Length(min=1, max=1024)), required=True,
                           validate=validate.Length(max=10_000), metadata={"uniqueItems": True})
    md5 = fields.String(load_default=None, validate=validate.Length(min=1, max=128))

    @post_load
    def make(self, data: dict, **kwargs) -> CompleteUpload:
        return CompleteUpload(data["part_ids"], data["md5"], self.options(data))


class FileQuerySchema(GatewaySchema):
    purpose = fields.String(load_default=None)
    limit = fields.Integer(load_default=None, validate=validate.Range(min=1, max=10_000))
    order = fields.String(load_default="desc", validate=validate.OneOf(("asc", "desc")))
    after = fields.String(load_default=None, validate=validate.Length(min=1))

    @post_load
    def make(self, data: dict, **kwargs) -> FileQuery:
        return FileQuery(data["purpose"], data["limit"], data["order"], data["after"], self.options(data))


class BatchQuerySchema(GatewaySchema):
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
    after = fields.String(load_default=None, validate=validate.Length(min=1))

    @post_load
    def make(self, data: dict, **kwargs) -> BatchQuery:
        return BatchQuery(data["limit"], data["after"], self.options(data))


def _check_metadata(metadata: dict | None) -> None:
    """OpenAI's limit on pairs (the field itself holds keys to 64 characters and values to 512)."""
    if metadata is not None and len(metadata) > 16:
        raise ValidationError("at most 16 pairs", "metadata")


class CreateBatchSchema(GatewaySchema):
    input_file_id = fields.String(required=True)  # "" is allowed: Anthropic inline `requests`
    endpoint = fields.String(required=True, validate=validate.OneOf(BATCH_ENDPOINTS))
    completion_window = fields.String(required=True, validate=validate.Equal("24h"))
    metadata = fields.Dict(keys=fields.String(validate=validate.Length(max=64)),
                           values=fields.String(validate=validate.Length(max=512)),
                           load_default=None, allow_none=True, metadata={"maxProperties": 16})
    output_expires_after = fields.Nested(ExpiresAfterSchema, load_default=None, allow_none=True)
    requests = fields.List(fields.Dict(), load_default=None, allow_none=True)
    # "gateway": the gateway runs the batch line by line through the provider's real-time API (at its
    # real-time price) instead of the provider's batch API. Left out for providers without one.
    execution = fields.String(load_default="provider", validate=validate.OneOf(("provider", "gateway")),
                              metadata={"example": "gateway"})
    # Where the gateway POSTs a signed event when the batch ends (blueprints/webhooks: an https URL
    # reaching a public address; the address rules need the settings, so the route checks them).
    webhook_url = fields.String(load_default=None, allow_none=True,
                                validate=validate.Length(min=1, max=MAX_WEBHOOK_URL),
                                metadata={"example": "https://example.com/hooks/batches"})

    @validates_schema
    def check(self, data: dict, **kwargs) -> None:
        _check_metadata(data.get("metadata"))

    @post_load
    def make(self, data: dict, **kwargs) -> NewBatch:
        options = self.options(data)
        return NewBatch(
            input_file_id=data["input_file_id"],
            endpoint=data["endpoint"],
            completion_window=data["completion_window"],
            metadata=data["metadata"],
            output_expires_after=data["output_expires_after"],
            requests=data.get("requests"),  # left out of the schema for providers that take none
            options=options,
            execution=data.get("execution", "provider"),
            webhook_url=data.get("webhook_url"),
        )
