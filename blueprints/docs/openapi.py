"""The OpenAPI 3.1 description of the gateway's own surface, generated from the marshmallow schemas.

`description()` builds it once per process with apispec's marshmallow plugin. The objects the
gateway answers (schemas/file.py, schemas/batch.py, schemas/error.py) and the request schemas
(schemas/requests.py) become components; the operations are listed below, one `spec.path` per URL
rule. The API is described under `/openai/v1`; the `/openai` alias serves the same operations and
is only named, not repeated.

Nested gateway fields are described in the form the OpenAI SDK sends them: a JSON body keeps them
nested; a query string carries each as a `deepObject` parameter (`storage_config[s3][bucket]=…`);
the multipart upload has one form field per leaf under the same bracket name, with
`dependentRequired` saying which leaves come together.

tests/test_openapi.py holds the description to the app (valid OpenAPI 3.1, every URL rule and method
described); tests/test_openapi_fuzz.py fuzzes the app against it with the four provider fakes behind.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import Schema, fields

from blueprints import crosslist, registry
from blueprints.dispatcher import ids
from schemas.batch import BatchListSchema, BatchSchema
from schemas.cost import BatchCostSchema, BatchEstimateSchema, EstimateRequestSchema
from schemas.error import ErrorSchema
from schemas.file import FileDeletedSchema, FileListSchema, FileObjectSchema
from schemas.requests import (
    BatchQuerySchema,
    CompleteUploadSchema,
    CreateBatchSchema,
    CreateUploadSchema,
    FileQuerySchema,
    ResourceQuerySchema,
    StorageConfigSchema,
    UploadFormSchema,
)
from schemas.upload import UploadPartSchema, UploadSchema

API = "/openai/v1"
ALIAS = "/openai"
# Swagger UI's files that /docs serves (blueprints/docs/routes.py), named once for the route and here.
DOCS_ASSETS = ("swagger-ui.css", "index.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js",
               "favicon-32x32.png", "favicon-16x16.png")
ASSET_TYPES = {"css": "text/css", "js": "text/javascript", "png": "image/png"}
# The web console's files (blueprints/console/static; a test holds that folder to this list).
CONSOLE_ASSETS = ("console.css", "console.js")

INFO = f"""\
DeepintShield speaks the OpenAI Files and Batch API and runs the work on the provider each request
names: OpenAI, Anthropic, AWS Bedrock, Google Gemini, Google Vertex AI, Azure OpenAI, or an
OpenAI-compatible batch API declared in `DEEPINTSHIELD_OPENAI_COMPATIBLE`, or a server without a batch API
declared in `DEEPINTSHIELD_CHAT_ENDPOINTS`. Point the official `openai` SDK at
`<gateway>/openai` (or `<gateway>{API}`: both prefixes serve every operation below) and choose the
provider per call with `extra_body={{"provider": ...}}` (POST) or `extra_query={{"provider": ...}}` (GET).

**Gateway-only fields** (`provider`, `storage_config`, `model`, `output_s3_uri`, `role_arn`,
`requests`, `execution`, `webhook_url`) are consumed by the gateway and never forwarded. In a query
string or the upload form, nested values are sent the way the SDK flattens them: `storage_config[s3][bucket]=…`,
`expires_after[seconds]=…`. Unknown fields are a 400 naming the field; a gateway field the provider
does not take is a 400 `unsupported_parameter`, the same for every provider and operation. Which
provider takes which: {{_TAKES}}. A field may be given in the
query string or the body; given in both, it must have the same value there (a JSON `null` counts as
not given), else it is a 400 `conflicting_parameter`.

**Gateway-run batches.** A batch created with `execution: "gateway"`, a Bedrock batch below its
record minimum and every batch of a declared chat server are run by the gateway itself, line by line
through the provider's real-time API (at its real-time price), with the same Batch lifecycle and
result files; every `custom_id` is in exactly one of the output and error files.

**Webhooks.** A batch created with `webhook_url` (https, reaching a public address) gets one POST
when it ends: OpenAI's batch event (`batch.completed`, `batch.failed`, `batch.expired`,
`batch.cancelled`) with the Batch object in `data.batch`, signed with Standard Webhooks headers that
the SDK's `webhooks.unwrap` verifies, retried with backoff until a 2xx (the same `webhook-id` each time).

**IDs** the gateway returns are URL-safe and name their provider, so `provider` is optional on
follow-up calls; native IDs (`batches/x`, a Bedrock job ARN) are accepted when the provider is
named, and may then contain `/`. An ID that is not valid for its provider is a 404 `invalid_id`.

**Keys.** With `DEEPINTSHIELD_API_KEYS` set, every `{ALIAS}` request needs one of those keys as a
bearer token (401 otherwise) and the gateway uses its own provider keys. Without it (passthrough),
the client's bearer key is the provider key; Bedrock then serves loopback clients only.

**Every provider at once.** `GET {API}/files?provider=all` and `GET {API}/batches?provider=all` list
the items of every provider this deployment uses (and the batches the gateway runs), newest first
(`created_at`, then ID), each with its own ID; `after` is an item's ID, as the SDK's auto-pagination
sends it. In passthrough each provider's key goes in its own `X-DeepintShield-Key-<provider>` header
(Bedrock needs none). A provider that cannot be listed is named in the page's `provider_errors`
instead of failing the page.

**Errors** are always `{{"error": {{"message", "type", "param", "code"}}}}`. A provider's own 4xx and
429 keep their status (the message names the provider); a provider failure is a 502, a timeout or a
spent upstream budget a 504. A 5xx answer to a POST carries `x-should-retry: false`. Every response
carries `x-request-id` (the client's own, if it sent a sane one).
"""


def _takes() -> str:
    """`provider: fields` for every registered provider, from the registry (the dispatcher's own rule)."""
    return "; ".join(f"`{provider.name}`: " + (", ".join(f"`{name}`" for name in sorted(provider.options)) or "none")
                     for provider in registry.PROVIDERS.values())


def _plugin_spec() -> tuple[APISpec, MarshmallowPlugin]:
    plugin = MarshmallowPlugin()
    spec = APISpec(
        title="DeepintShield",
        version="1",
        openapi_version="3.1.0",
        plugins=[plugin],
        info={"description": INFO.replace("{_TAKES}", _takes())},
        tags=[
            {"name": "Files", "description": "OpenAI's Files API, on the provider each request names."},
            {"name": "Batches", "description": "OpenAI's Batch API, on the provider each request names."},
            {"name": "Gateway", "description": "The gateway's own endpoints: health, this description, docs."},
        ],
    )
    plugin.converter.add_attribute_function(_dict_keys)
    return spec, plugin


def _dict_keys(converter: object, field: fields.Field, **kwargs: object) -> dict:
    """A Dict's key rules as `propertyNames` (apispec describes only its values)."""
    if isinstance(field, fields.Dict) and field.key_field is not None and field.key_field.validators:
        return {"propertyNames": converter.field2property(field.key_field)}
    return {}


# Parts of the description that no marshmallow schema holds: the provider choice (the dispatcher
# takes it out before loading) and the headers every response carries.

PROVIDER = {
    "type": "string",
    "enum": [*registry.PROVIDERS, ""],
    "description": f"The provider to run the call on; empty or absent: `{registry.DEFAULT}`, or the "
                   "provider an ID the gateway issued names.",
}

# A list's `provider`: also `all` (blueprints/crosslist), with its passthrough key headers.
LIST_PROVIDER = {
    "type": "string",
    "enum": [*registry.PROVIDERS, "", crosslist.ALL],
    "description": PROVIDER["description"] + f" `{crosslist.ALL}`: every provider this deployment uses, merged "
                   "newest first (no provider's own fields then; files: `order=desc` only, `limit` 100 unless "
                   "given); the providers it could not list are in `provider_errors`.",
}


def _key_headers() -> list[dict]:
    """The passthrough key headers of `provider=all`, one a provider."""
    def meaning(name: str, client_key: bool) -> str:
        if not client_key:
            return f"With `provider=all` in passthrough: optional ({name} runs on the gateway's credentials); " \
                   f"names the owner of its gateway-run batches."
        return f"With `provider=all` in passthrough: the {name} key (the bearer key of a {name} call); " \
               f"without it, {name} is named in `provider_errors`. Ignored with gateway keys."
    return [{"in": "header", "name": crosslist.KEY_HEADER.format(provider=name), "required": False,
             "schema": {"type": "string"}, "description": meaning(name, spec.client_key)}
            for name, spec in registry.PROVIDERS.items()]


HEADERS = {
    "RequestId": {
        "description": "The request's ID: the client's `x-request-id` if it is 1-128 of `[A-Za-z0-9._:-]`, "
                       "else a generated `req_…`. Also in the gateway's log line for the request.",
        "required": True,
        "schema": {"type": "string", "pattern": "^[A-Za-z0-9._:-]{1,128}$"},
    },
    "ShouldRetry": {
        "description": "`false` on a 5xx answer to a POST (a create may have happened upstream) and on a "
                       "5xx left after the gateway's own retries: the SDK must not replay the request.",
        "schema": {"type": "string", "enum": ["true", "false"]},
    },
    "RetryAfter": {
        "description": "The provider's own Retry-After, relayed with its 429.",
        "schema": {"type": "string"},
    },
    "WWWAuthenticate": {"description": "`Bearer`.", "schema": {"type": "string"}},
}

ERRORS = {
    400: ("BadRequest", "Invalid input: the message names the field (or the line of a batch file); also "
                        "a provider's 400, or a request a provider's types would refuse, found before "
                        "anything is sent."),
    401: ("Unauthorized", "No or a wrong gateway key (gateway-key mode), no bearer key for the provider "
                          "(passthrough), or the provider refused the key."),
    403: ("Forbidden", "A browser page of another origin, a bucket outside DEEPINTSHIELD_BEDROCK_ALLOWED_BUCKETS "
                       "or DEEPINTSHIELD_VERTEX_ALLOWED_BUCKETS, or the provider's 403."),
    404: ("NotFound", "No such object, or an ID that cannot belong to the provider (code `invalid_id`)."),
    409: ("Conflict", "The provider's own 409, relayed. (What an object's state forbids, like cancelling an "
                      "ended batch, is a 400: the SDK would retry a 409.)"),
    413: ("PayloadTooLarge", "A body, JSON body, form field or multipart form over the gateway's limits "
                             "(DEEPINTSHIELD_MAX_UPLOAD_BYTES, DEEPINTSHIELD_MAX_JSON_BYTES), or the provider's 413."),
    422: ("UnprocessableEntity", "The provider's 422."),
    429: ("RateLimited", "The provider's rate limit, with its Retry-After."),
    500: ("ServerError", "The gateway failed (a bug): type `server_error`, no details."),
    502: ("BadGateway", "The provider failed, could not be reached, or answered with something that is not "
                        "its documented shape."),
    504: ("GatewayTimeout", "The provider timed out, or the request's upstream budget "
                            "(DEEPINTSHIELD_UPSTREAM_BUDGET) was spent."),
}
API_ERRORS = tuple(ERRORS)  # what every /openai operation can answer besides its success


def _error_response(status: int) -> dict:
    name, text = ERRORS[status]
    headers = {"x-request-id": {"$ref": "#/components/headers/RequestId"}}
    if status >= 500:
        headers["x-should-retry"] = {"$ref": "#/components/headers/ShouldRetry"}
    if status == 429:
        headers["Retry-After"] = {"$ref": "#/components/headers/RetryAfter"}
    if status == 401:
        headers["WWW-Authenticate"] = {"$ref": "#/components/headers/WWWAuthenticate"}
    return {"description": text, "headers": headers,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _ok(description: str, content: dict) -> dict:
    return {"description": description, "headers": {"x-request-id": {"$ref": "#/components/headers/RequestId"}},
            "content": content}


def _json(ref: str) -> dict:
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}


def _api_responses(success: dict) -> dict:
    return {"200": success, **{str(status): {"$ref": f"#/components/responses/{ERRORS[status][0]}"}
                               for status in API_ERRORS}}


# Request parameters and bodies, from the request schemas


def _not_null(schema: dict) -> dict:
    """A field's JSON schema without `null`: a query string or form field cannot carry one."""
    schema = dict(schema)
    if isinstance(schema.get("type"), list):
        kinds = [kind for kind in schema["type"] if kind != "null"]
        schema["type"] = kinds[0] if len(kinds) == 1 else kinds
    if "anyOf" in schema:
        options = [option for option in schema.pop("anyOf") if option != {"type": "null"}]
        schema.update(options[0] if len(options) == 1 else {"anyOf": options})
    if schema.get("default", 0) is None:
        del schema["default"]
    return schema


def _exactly_one(schema: Schema) -> dict:
    """`storage_config`-like schemas take exactly one of their fields (`EXACTLY_ONE` in schemas/requests.py)."""
    return {"minProperties": 1, "maxProperties": 1} if getattr(schema, "EXACTLY_ONE", False) else {}


def _query_value(plugin: MarshmallowPlugin, field: fields.Field) -> dict:
    """A query parameter's schema: a nested schema inline (deepObject), nothing that could be null."""
    if isinstance(field, fields.Nested):
        nested = field.schema
        properties = {name: _query_value(plugin, inner) for name, inner in nested.fields.items()}
        required = [name for name, inner in nested.fields.items() if inner.required]
        return {"type": "object", "properties": properties, "required": required, "additionalProperties": False,
                **_exactly_one(nested)}
    return _not_null(plugin.converter.field2property(field))


def _query(plugin: MarshmallowPlugin, schema: type[Schema], provider: dict = PROVIDER) -> list[dict]:
    """The query parameters of a request schema, `provider` first; nested ones as deepObject."""
    params = [{"in": "query", "name": "provider", "schema": provider}]
    for name, field in schema().fields.items():
        param = {"in": "query", "name": name, "required": field.required, "schema": _query_value(plugin, field)}
        if isinstance(field, fields.Nested):
            param |= {"style": "deepObject", "explode": True}
        params.append(param)
    return params


def _form_fields(plugin: MarshmallowPlugin, schema: Schema, prefix: str = "",
                 exclusive: list | None = None) -> tuple[dict, list, dict]:
    """A schema flattened into bracket-named form fields: (properties, required, dependentRequired).

    A leaf is required when every schema above it is; the leaves under an optional nested schema
    require that schema's required leaves (`expires_after[seconds]` needs `expires_after[anchor]`).
    Of a schema that takes exactly one of its nested schemas, `exclusive` collects the required leaves
    of each (no two of them may come together).
    """
    properties: dict = {}
    required: list = []
    dependent: dict = {}
    if exclusive is not None and getattr(schema, "EXACTLY_ONE", False):
        exclusive.append([f"{prefix}[{name}][{leaf}]" for name, field in schema.fields.items()
                          if isinstance(field, fields.Nested)
                          for leaf, inner in field.schema.fields.items() if inner.required])
    for name, field in schema.fields.items():
        key = f"{prefix}[{name}]" if prefix else name
        if isinstance(field, fields.Nested):
            inner, inner_required, inner_dependent = _form_fields(plugin, field.schema, key, exclusive)
            properties |= inner
            dependent |= inner_dependent
            if field.required:
                required += inner_required
            else:
                for leaf in inner:
                    others = [other for other in inner_required if other != leaf]
                    if others:
                        dependent[leaf] = others
        else:
            properties[key] = _not_null(plugin.converter.field2property(field))
            if field.required:
                required.append(key)
    return properties, required, dependent


def _upload_form(plugin: MarshmallowPlugin) -> dict:
    exclusive: list[list[str]] = []
    properties, required, dependent = _form_fields(plugin, UploadFormSchema(), exclusive=exclusive)
    properties = {"provider": PROVIDER, **properties, "file": {
        "type": "string", "format": "binary",
        "description": "The file, as the last part. With `purpose=batch` it is a JSONL batch file: each line is "
                       "checked (and for Gemini converted) as it arrives, and a bad line is a 400 naming it."}}
    return {
        "type": "object",
        "description": "The form fields come before the file part, as the SDK sends them. At most 64 parts, "
                       "64 KiB per field and 256 KiB of fields.",
        "properties": properties,
        "required": [*required, "file"],
        "dependentRequired": dependent,
        "additionalProperties": False,
        **({"not": {"anyOf": [{"required": [a, b]} for leaves in exclusive for i, a in enumerate(leaves)
                              for b in leaves[i + 1:]]}} if any(len(leaves) > 1 for leaves in exclusive) else {}),
    }


def _with_provider(spec: APISpec, name: str) -> None:
    """Add the `provider` choice to a JSON request-body component (where it may also be `null`)."""
    provider = dict(PROVIDER, enum=[*PROVIDER["enum"], None], type=["string", "null"])
    component = spec.components.schemas[name]
    component["properties"] = {"provider": provider, **component["properties"]}


# Examples: the README's workflows, one per provider (Swagger UI offers them; the fuzzer starts from them)


def _chat_line(custom_id: str, model: str, text: str) -> str:
    return (f'{{"custom_id": "{custom_id}", "method": "POST", "url": "/v1/chat/completions", "body": '
            f'{{"model": "{model}", "max_tokens": 100, "messages": [{{"role": "user", "content": "{text}"}}]}}}}\n')


def _batch_file(model: str) -> str:
    return _chat_line("request-1", model, "Hello!") + _chat_line("request-2", model, "How are you?")


UPLOAD_EXAMPLES = {
    "openai": {"summary": "A batch file for OpenAI", "value": {
        "provider": "openai", "purpose": "batch", "file": _batch_file("gpt-4o-mini")}},
    "anthropic": {"summary": "A batch file for Anthropic (kept in the gateway's file store)", "value": {
        "provider": "anthropic", "purpose": "batch", "file": _batch_file("claude-sonnet-4-5")}},
    "gemini": {"summary": "A batch file for Gemini (converted to Gemini's lines as it arrives)", "value": {
        "provider": "gemini", "purpose": "batch", "file": _batch_file("gemini-2.5-flash")}},
    "bedrock": {"summary": "A batch file for Bedrock, into your S3 bucket", "value": {
        "provider": "bedrock", "purpose": "batch", "storage_config[s3][bucket]": "your-s3-bucket",
        "storage_config[s3][region]": "us-west-2", "storage_config[s3][prefix]": "batch-input",
        "file": _batch_file("anthropic.claude-3-sonnet-20240229-v1:0")}},
    "vertex": {"summary": "A batch file for Vertex AI, into your Cloud Storage bucket", "value": {
        "provider": "vertex", "purpose": "batch", "storage_config[gcs][bucket]": "your-gcs-bucket",
        "storage_config[gcs][prefix]": "batch-input", "file": _batch_file("gemini-2.5-flash")}},
    "azure": {"summary": "A batch file for Azure OpenAI (`model` is your Global-Batch deployment)", "value": {
        "provider": "azure", "purpose": "batch", "file": _batch_file("gpt-4o-batch")}},
}
_INLINE = [{"custom_id": "math-question", "params": {
    "model": "claude-3-sonnet-20240229", "max_tokens": 100,
    "messages": [{"role": "user", "content": "What is 15 * 7?"}]}}]
_CHAT = [{"custom_id": "request-1", "method": "POST", "url": "/v1/chat/completions", "body": {
    "model": "gemini-2.5-flash", "messages": [{"role": "user", "content": "Hello!"}]}}]
BATCH_EXAMPLES = {
    "openai": {"summary": "An OpenAI batch from an uploaded file", "value": {
        "provider": "openai", "input_file_id": "file-abc123", "endpoint": "/v1/chat/completions",
        "completion_window": "24h", "metadata": {"project": "demo"}}},
    "anthropic": {"summary": "An Anthropic Message Batch from inline requests", "value": {
        "provider": "anthropic", "input_file_id": "", "endpoint": "/v1/chat/completions",
        "completion_window": "24h", "requests": _INLINE}},
    "gemini": {"summary": "A Gemini batch from inline OpenAI batch lines", "value": {
        "provider": "gemini", "model": "gemini-2.5-flash", "input_file_id": "", "endpoint": "/v1/chat/completions",
        "completion_window": "24h", "requests": _CHAT}},
    "bedrock": {"summary": "A Bedrock model invocation job from a file uploaded with provider bedrock", "value": {
        "provider": "bedrock",
        "input_file_id": ids.encode_file("bedrock", "us-west-2/your-s3-bucket/batch-input/input.jsonl", "file"),
        "endpoint": "/v1/chat/completions", "completion_window": "24h",
        "model": "anthropic.claude-3-sonnet-20240229-v1:0",
        "output_s3_uri": "s3://your-s3-bucket/batch-output/",
        "role_arn": "arn:aws:iam::123456789012:role/BedrockBatch"}},
    "vertex": {"summary": "A Vertex AI batch prediction job from a file uploaded with provider vertex", "value": {
        "provider": "vertex", "input_file_id": ids.encode_file("vertex", "your-gcs-bucket/batch-input/input.jsonl"),
        "endpoint": "/v1/chat/completions", "completion_window": "24h", "model": "gemini-2.5-flash"}},
    "azure": {"summary": "An Azure OpenAI batch from a file uploaded with provider azure", "value": {
        "provider": "azure", "input_file_id": ids.encode_file("azure", "file-abc123"),
        "endpoint": "/v1/chat/completions", "completion_window": "24h"}},
}


# Links: which operation takes an ID another one returned (Swagger UI shows them; the fuzzer follows them)

_FILE_OPERATIONS = ("retrieveFile", "downloadFile", "deleteFile")


def _links(ids_at: dict[str, str], operations: tuple[str, ...], parameter: str) -> dict:
    return {f"{operation}From{name}": {"operationId": operation, "parameters": {parameter: f"$response.body#{pointer}"}}
            for name, pointer in ids_at.items() for operation in operations}


LINKS = {
    "createFile": _links({"Id": "/id"}, _FILE_OPERATIONS, "file_id"),
    "createBatch": {**_links({"Id": "/id"}, ("retrieveBatch", "cancelBatch"), "batch_id"),
                    **_links({"InputFile": "/input_file_id"}, ("retrieveFile", "downloadFile"), "file_id")},
    "retrieveBatch": _links({"OutputFile": "/output_file_id", "ErrorFile": "/error_file_id"},
                            ("retrieveFile", "downloadFile"), "file_id"),
    "listFiles": _links({"First": "/data/0/id"}, _FILE_OPERATIONS, "file_id"),
    "listBatches": _links({"First": "/data/0/id"}, ("retrieveBatch", "cancelBatch"), "batch_id"),
}


# Operations

LIST_ALL = ("With `provider=all`: every provider's items, newest first. A provider's list is read from its start "
            "for each page, at most DEEPINTSHIELD_LIST_ALL_MAX_PAGES pages of 100 (past that it is named in "
            "`provider_errors` with code `list_too_deep`); an `after` of a provider not listed, or no longer "
            "listed, is a 400 `invalid_cursor`.")


def _paths(spec: APISpec, plugin: MarshmallowPlugin) -> None:
    file_id = {"in": "path", "name": "file_id", "required": True, "schema": {"type": "string", "minLength": 1},
               "description": "A file ID the gateway returned, or a native one with `provider`."}
    batch_id = {"in": "path", "name": "batch_id", "required": True, "schema": {"type": "string", "minLength": 1},
                "description": "A batch ID the gateway returned, or a native one with `provider`."}
    options = _query(plugin, ResourceQuerySchema)
    options_body = {"required": False, "content": _json("GatewayOptions"),
                    "description": "The same gateway fields as the query, as JSON (the SDK's `extra_body`)."}

    def operation(operation_id: str, tag: str, summary: str, success: dict, params: list, **more) -> dict:
        if operation_id in LINKS:
            success = {**success, "links": LINKS[operation_id]}
        return {"operationId": operation_id, "tags": [tag], "summary": summary, "parameters": params,
                "responses": _api_responses(success), **more}

    file_ok = _ok("The file.", _json("FileObject"))
    batch_ok = _ok("The batch.", _json("Batch"))
    spec.path(f"{API}/files", operations={
        "post": operation(
            "createFile", "Files", "Upload a file", file_ok, options,
            requestBody={"required": True, "content": {"multipart/form-data": {
                "schema": _upload_form(plugin), "examples": UPLOAD_EXAMPLES}}},
            description="Streams the upload to the provider (OpenAI, Gemini, Bedrock's S3, Vertex AI's Cloud "
                        "Storage) or into the gateway's file store (Anthropic; a copy for Gemini). Bedrock and "
                        "Vertex AI need `storage_config` (`s3` / `gcs`) or the configured default bucket."),
        "get": operation("listFiles", "Files", "List files", _ok("A page of files.", _json("FileList")),
                         [*_query(plugin, FileQuerySchema, LIST_PROVIDER), *_key_headers()],
                         description=LIST_ALL),
    })
    spec.path(f"{API}/files/{{file_id}}", operations={
        "get": operation("retrieveFile", "Files", "Retrieve a file", file_ok, [file_id, *options]),
        "delete": operation("deleteFile", "Files", "Delete a file", _ok("Deleted.", _json("FileDeleted")),
                            [file_id, *options], requestBody=options_body),
    })
    content = {"schema": {"type": "string", "format": "binary"}}
    spec.path(f"{API}/files/{{file_id}}/content", operations={
        "get": operation(
            "downloadFile", "Files", "Download a file's content",
            {**_ok("The bytes, streamed: an uploaded file as it was sent, a batch's output or error file as "
                   "OpenAI batch-output JSONL (converted line by line from the provider's results). A stream "
                   "that breaks off after the first byte cuts the connection: never a short body.",
                   {"application/jsonl": content, "application/octet-stream": content}),
             "headers": {"x-request-id": {"$ref": "#/components/headers/RequestId"},
                         "Content-Disposition": {"description": "`attachment; filename=\"…\"` when the name is "
                                                                "known.", "schema": {"type": "string"}}}},
            [file_id, *options],
            description="OpenAI's files come with the content type OpenAI gives them (application/octet-stream)."),
    })
    spec.path(f"{API}/batches", operations={
        "post": operation(
            "createBatch", "Batches", "Create a batch", batch_ok, options,
            requestBody={"required": True, "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/CreateBatchRequest"}, "examples": BATCH_EXAMPLES}}},
            description="An SDK retry of a create finds the batch the first attempt made where the provider "
                        "allows it (Bedrock); a 5xx answer carries `x-should-retry: false`."),
        "get": operation("listBatches", "Batches", "List batches", _ok("A page of batches.", _json("BatchList")),
                         [*_query(plugin, BatchQuerySchema, LIST_PROVIDER), *_key_headers()],
                         description=LIST_ALL),
    })
    spec.path(f"{API}/batches/{{batch_id}}", operations={
        "get": operation("retrieveBatch", "Batches", "Retrieve a batch", batch_ok, [batch_id, *options]),
    })
    spec.path(f"{API}/batches/{{batch_id}}/cancel", operations={
        "post": operation("cancelBatch", "Batches", "Cancel a batch", batch_ok, [batch_id, *options],
                          requestBody=options_body),
    })
    spec.path(f"{API}/batches/{{batch_id}}/cost", operations={
        "get": operation(
            "batchCost", "Batches", "What a batch cost", _ok("The batch's cost.", _json("BatchCost")),
            [batch_id, *options],
            description="The batch's `usage` priced per model from the genai-prices table (real-time prices), "
                        "less the provider's batch discount (none for a gateway-run batch). Costs are null "
                        "until the batch has ended and its usage is known, or when a model's price is unknown "
                        "(`unpriced_models`). Reads nothing but the batch and its kept usage."),
    })
    spec.path(f"{API}/batches/estimate", operations={
        "post": operation(
            "estimateBatch", "Batches", "Estimate a batch before submitting it",
            _ok("The estimate.", _json("BatchEstimate")), [],
            requestBody={"required": True, "content": _json("EstimateBatchRequest")},
            description="Reads the input file once and counts about four characters a token (`method: "
                        "approximate`: no tokenizer, no provider call). The output side is the lines' "
                        "maximum output (`max_tokens`, `max_completion_tokens`, ...); `max_cost` is null "
                        "when a line sets none. A file past DEEPINTSHIELD_USAGE_SCAN_BYTES is a 400."),
    })
    _upload_paths(spec, operation, options)
    _gateway_paths(spec)


def _upload_paths(spec: APISpec, operation, options: list[dict]) -> None:
    """The Uploads API: one large file in parts (OpenAI; Anthropic, Bedrock, Gemini, Vertex AI, chat servers)."""
    upload_id = {"in": "path", "name": "upload_id", "required": True, "schema": {"type": "string", "minLength": 1},
                 "description": "An upload ID the gateway returned."}
    upload_ok = _ok("The upload.", _json("Upload"))
    spec.path(f"{API}/uploads", operations={"post": operation(
        "createUpload", "Uploads", "Start a file upload in parts", upload_ok, options,
        requestBody={"required": True, "content": _json("CreateUploadRequest")},
        description="At most 8 GiB; it expires an hour after it is created. Providers without the Uploads API "
                    "answer 400 `unsupported_endpoint`; a `purpose` or `expires_after` the provider's files do not "
                    "take (Anthropic and chat servers keep `batch` files only; Vertex AI files never expire) is a "
                    "400.")})
    spec.path(f"{API}/uploads/{{upload_id}}/parts", operations={"post": operation(
        "addUploadPart", "Uploads", "Add a part", _ok("The part.", _json("UploadPart")), [upload_id, *options],
        requestBody={"required": True, "content": {"multipart/form-data": {"schema": {
            "type": "object", "required": ["data"], "additionalProperties": False, "properties": {
                "provider": PROVIDER,
                "data": {"type": "string", "format": "binary", "description": "The part's bytes (at most 64 MiB), "
                                                                              "as the last part."}}}}}})})
    spec.path(f"{API}/uploads/{{upload_id}}/complete", operations={"post": operation(
        "completeUpload", "Uploads", "Complete an upload", upload_ok, [upload_id, *options],
        requestBody={"required": True, "content": _json("CompleteUploadRequest")},
        description="The listed parts, in order, must add up to the upload's `bytes`; a batch file's lines are "
                    "checked as for `POST /files`. The answer's `file` is the new file.")})
    spec.path(f"{API}/uploads/{{upload_id}}/cancel", operations={"post": operation(
        "cancelUpload", "Uploads", "Cancel an upload", upload_ok, [upload_id, *options],
        requestBody={"required": False, "content": _json("GatewayOptions"),
                     "description": "The same gateway fields as the query, as JSON."})})


def _gateway_paths(spec: APISpec) -> None:
    """The gateway's own endpoints: no key, no provider."""

    def plain(operation_id: str, summary: str, success: dict, **more) -> dict:
        return {"operationId": operation_id, "tags": ["Gateway"], "summary": summary, "security": [],
                "responses": {"200": success}, **more}

    spec.path("/healthz", operations={"get": plain(
        "healthz", "Liveness: the process answers", _ok("Alive.", {"application/json": {"schema": {
            "type": "object", "properties": {"status": {"const": "ok"}}, "required": ["status"],
            "additionalProperties": False}}}))})
    checks = {"type": "object", "additionalProperties": {"type": "string"},
              "description": "Each check's result: `ok`, or what went wrong."}
    not_ready = {"description": "A check failed; the error names it, and every check's result is beside it.",
                 "headers": {"x-request-id": {"$ref": "#/components/headers/RequestId"}},
                 "content": {"application/json": {"schema": {
                     "type": "object", "required": ["error", "checks"], "additionalProperties": False,
                     "properties": {"error": {"$ref": "#/components/schemas/Error"}, "checks": checks}}}}}
    ready = _ok("Ready.", {"application/json": {"schema": {
        "type": "object", "properties": {"status": {"const": "ready"}, "checks": checks},
        "required": ["status", "checks"], "additionalProperties": False}}})
    spec.path("/readyz", operations={"get": {
        **plain("readyz", "Readiness: configuration loaded, the file store takes a write and gives it back", ready),
        "responses": {"200": ready, "503": not_ready}}})
    spec.path("/version", operations={"get": plain(
        "version", "The gateway's release, and the commit when the platform says", _ok("The version.", {
            "application/json": {"schema": {
                "type": "object", "required": ["version", "commit"], "additionalProperties": False,
                "properties": {"version": {"type": "string"}, "commit": {"type": ["string", "null"]}}}}}))})
    spec.path("/metrics", operations={"get": {
        "operationId": "metrics", "tags": ["Gateway"], "security": [{"bearer": []}, {}],  # a key, or none
        "summary": "Prometheus metrics, summed over all workers",
        "description": "Needs DEEPINTSHIELD_METRICS_KEY when it is set, else a gateway key when gateway keys "
                       "are set; open in passthrough mode.",
        "responses": {"200": _ok("The metrics, in Prometheus' text format.", {
            "text/plain": {"schema": {"type": "string"}}}),
            "401": {"$ref": "#/components/responses/Unauthorized"},
            "403": {"$ref": "#/components/responses/Forbidden"}}}})
    spec.path("/openapi.json", operations={"get": plain(
        "openapi", "This description (OpenAPI 3.1)", _ok("The description.", {"application/json": {
            "schema": {"type": "object", "required": ["openapi", "info", "paths"]}}}))})
    spec.path("/docs", operations={"get": plain(
        "docs", "This description, rendered (Swagger UI, served by the gateway)",
        _ok("The docs page.", {"text/html": {"schema": {"type": "string"}}}))})
    asset = _ok("The file.", {kind: {"schema": {"type": "string"}} for kind in sorted(set(ASSET_TYPES.values()))})
    spec.path("/docs/{asset}", operations={"get": {
        **plain("docsAsset", "A file of the docs page", asset),
        "parameters": [{"in": "path", "name": "asset", "required": True,
                        "schema": {"type": "string", "enum": list(DOCS_ASSETS)}}],
        "responses": {"200": asset, "404": {"$ref": "#/components/responses/NotFound"}},
    }})
    _console_paths(spec, plain)


def _console_paths(spec: APISpec, plain: Callable[..., dict]) -> None:
    """The web console (blueprints/console): a page, its two files, and the providers it offers."""
    spec.path("/console", operations={"get": plain(
        "console", "The web console: a page that calls this API from the browser with the keys typed into it",
        _ok("The console page.", {"text/html": {"schema": {"type": "string"}}}))})
    files = _ok("The file.", {kind: {"schema": {"type": "string"}} for kind in ("text/css", "text/javascript")})
    spec.path("/console/static/{filename}", operations={"get": {
        **plain("consoleAsset", "A file of the console page", files),
        "parameters": [{"in": "path", "name": "filename", "required": True,
                        "schema": {"type": "string", "enum": list(CONSOLE_ASSETS)}}],
        "responses": {"200": files, "404": {"$ref": "#/components/responses/NotFound"}},
    }})
    provider = {"type": "object", "additionalProperties": False,
                "required": ["name", "code", "endpoints", "models", "model_option", "gateway_only"],
                "properties": {"name": {"type": "string"}, "code": {"type": "string"},
                               "endpoints": {"type": "array", "items": {"type": "string"}},
                               "models": {"type": "array", "items": {"type": "string"},
                                          "description": "Suggestions only: any model name may be sent."},
                               "model_option": {"type": "boolean",
                                                "description": "Takes `model` on the batch create."},
                               "gateway_only": {"type": "boolean"}}}
    spec.path("/console/config.json", operations={"get": plain(
        "consoleConfig", "The providers the console offers and the batch endpoints each runs",
        _ok("The console's configuration.", {"application/json": {"schema": {
            "type": "object", "additionalProperties": False, "required": ["mode", "default_provider", "providers"],
            "properties": {"mode": {"enum": ["passthrough", "gateway-key"]}, "default_provider": {"type": "string"},
                           "providers": {"type": "array", "items": provider}}}}}))})


# The whole description


def _build() -> dict:
    spec, plugin = _plugin_spec()
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer", "description": (
        "A gateway key (DEEPINTSHIELD_API_KEYS) or, in passthrough mode, the provider's own key.")})
    for name, header in HEADERS.items():
        spec.components.header(name, header)
    for status, (name, _) in ERRORS.items():
        spec.components.response(name, _error_response(status))
    for name, schema in (("Error", ErrorSchema), ("FileObject", FileObjectSchema), ("FileList", FileListSchema),
                         ("FileDeleted", FileDeletedSchema), ("Batch", BatchSchema), ("BatchList", BatchListSchema),
                         ("Upload", UploadSchema), ("UploadPart", UploadPartSchema), ("BatchCost", BatchCostSchema),
                         ("BatchEstimate", BatchEstimateSchema)):
        spec.components.schema(name, schema=schema)
    responses = set(spec.components.schemas)  # these and the schemas nested in them: what the gateway answers
    spec.components.schema("CreateBatchRequest", schema=CreateBatchSchema)
    spec.components.schema("GatewayOptions", schema=ResourceQuerySchema)
    spec.components.schema("CreateUploadRequest", schema=CreateUploadSchema)
    spec.components.schema("CompleteUploadRequest", schema=CompleteUploadSchema)
    spec.components.schema("EstimateBatchRequest", schema=EstimateRequestSchema)
    _with_provider(spec, "EstimateBatchRequest")
    _with_provider(spec, "CreateBatchRequest")
    _with_provider(spec, "CreateUploadRequest")
    _with_provider(spec, "CompleteUploadRequest")
    _with_provider(spec, "GatewayOptions")
    _paths(spec, plugin)
    description = spec.to_dict()
    description["components"]["schemas"][plugin.schema_name_resolver(StorageConfigSchema)] |= \
        _exactly_one(StorageConfigSchema)
    description["security"] = [{"bearer": []}]
    for name in responses:
        _every_key_present(description["components"]["schemas"][name])
    return _ecma_patterns(description)


def _every_key_present(schema: dict) -> None:
    """The gateway answers with every field of its objects (null where it has no value), but for the
    `provider_errors` of a list page, which only a `provider=all` list has (OpenAI's lists do not)."""
    schema["required"] = [name for name in schema["properties"] if name != "provider_errors"]


def _ecma_patterns(node: object) -> object:
    """Python's `\\Z` (end of string) is `$` in the ECMA regular expressions JSON Schema uses."""
    if isinstance(node, dict):
        return {key: (value.replace("\\Z", "$") if key == "pattern" and isinstance(value, str)
                      else _ecma_patterns(value)) for key, value in node.items()}
    if isinstance(node, list):
        return [_ecma_patterns(item) for item in node]
    return node


@functools.cache
def _description() -> dict:
    return _build()


def description() -> dict:
    """The OpenAPI description (a fresh copy: callers may change it)."""
    return copy.deepcopy(_description())
