"""Routes for files, uploads and batches. Each view: read params, pick the provider, load, call, dump.

IDs may arrive with raw `/` from old SDKs (`batches/xyz`, job ARNs), so ID routes use `<path:>` (batch IDs
`<batch:>`: the same, but never `estimate`).
Batches the gateway runs itself (`blueprints/gateway`) are routed here too: a create with
`execution: "gateway"` or for a provider without a batch API, and every ID of such a batch (or of
its result files), go to the gateway's operations after the provider's guard. A create with
`webhook_url` has it checked first and watched once the batch exists (blueprints/webhooks).
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from types import ModuleType

from flask import Blueprint, Response, current_app, g, jsonify, request
from marshmallow import Schema, ValidationError
from werkzeug.routing import PathConverter
from werkzeug.wsgi import wrap_file

import metrics
from blueprints import crosslist, registry
from blueprints.common import auth, usage
from blueprints.common.provider import GATEWAY_FIELDS, Operations, Provider
from blueprints.common.streams import RELAY_CHUNK, FileBody
from blueprints.common.uploads import UploadOperations
from blueprints.dispatcher import costs, ids
from blueprints.dispatcher.forms import unflatten
from blueprints.dispatcher.uploads import read_upload
from blueprints.gateway import operations as gateway
from blueprints.webhooks import watches
from errors import APIError, BadRequest, first_error_path
from schemas.batch import BatchListSchema, BatchSchema
from schemas.cost import BatchCostSchema, BatchEstimateSchema, EstimateRequestSchema
from schemas.fast import fast_loader
from schemas.file import FileDeletedSchema, FileListSchema, FileObjectSchema
from schemas.requests import (
    BatchQuerySchema,
    CompleteUploadSchema,
    CreateBatchSchema,
    CreateUploadSchema,
    FileQuerySchema,
    ResourceQuerySchema,
    UploadFormSchema,
)
from schemas.upload import UploadPartSchema, UploadSchema
from translators import jsonl

log = logging.getLogger("deepintshield")

bp = Blueprint("openai_api", __name__)
bp.before_request(auth.authenticate)


class BatchIdConverter(PathConverter):
    """A batch ID as `<path:>` takes it, except `estimate`: that path is `POST /batches/estimate`, so a
    GET there is a 405 naming POST, not a retrieve of a batch nobody could have been given."""

    regex = r"(?!estimate(?:/|$))[^/].*?"


# Before the routes that use it (a blueprint runs its registration steps in order).
bp.record_once(lambda state: state.app.url_map.converters.setdefault("batch", BatchIdConverter))

# Schemas are built once: building one costs more than a load (they hold no per-call state).
FILE = FileObjectSchema()
FILE_LIST = FileListSchema()
FILE_DELETED = FileDeletedSchema()
BATCH = BatchSchema()
BATCH_LIST = BatchListSchema()
UPLOAD = UploadSchema()
UPLOAD_PART = UploadPartSchema()
BATCH_COST = BatchCostSchema()
BATCH_ESTIMATE = BatchEstimateSchema()
ESTIMATE_REQUEST = EstimateRequestSchema()
# What `_render` loads replies with: each schema's own load, with a fast path for well-formed input.
LOADERS = {schema: fast_loader(schema) for schema in (FILE, FILE_LIST, FILE_DELETED, BATCH, BATCH_LIST, UPLOAD,
                                                      UPLOAD_PART, BATCH_COST, BATCH_ESTIMATE)}


@functools.cache
def request_schema(kind: type[Schema], provider: str) -> Schema:
    """`kind` as `provider` takes it: the gateway-only fields it does not take are left out, so they
    are unknown keys (the schemas refuse those), the same way for every provider."""
    foreign = (GATEWAY_FIELDS - registry.get(provider).options) & set(kind._declared_fields)
    return kind(exclude=tuple(sorted(foreign)))


def _load(kind: type[Schema], provider: str, params: dict):
    try:
        return request_schema(kind, provider).load(params)
    except ValidationError as error:
        messages = error.normalized_messages()
        foreign = sorted(name for name in messages if name in GATEWAY_FIELDS - registry.get(provider).options)
        if foreign:  # another provider's option: one refusal, whichever provider
            raise BadRequest(f"{foreign[0]} is not used by provider {provider}.", param=foreign[0],
                             code="unsupported_parameter") from None
        raise


def _query_params() -> dict:
    return unflatten(request.args.items(multi=True))


def _body_params() -> dict:
    """The JSON body, if any: bodiless POST/DELETE with a JSON content type are fine.

    Bounded: at most `DEEPINTSHIELD_MAX_JSON_BYTES` (a 413 past it, read no further), and nesting and
    object/array counts within `jsonl.decode_bounded`'s limits (checked before it is built in memory).
    """
    if not request.content_length and not request.headers.get("Transfer-Encoding"):
        return {}
    if request.mimetype not in ("application/json", ""):
        raise BadRequest(f"Expected a JSON body, got {request.mimetype!r}.")
    limit = int(current_app.config["MAX_JSON_BYTES"])
    if (request.content_length or 0) > limit:
        raise _json_too_large(limit)
    raw = request.stream.read(limit + 1)
    if len(raw) > limit:
        raise _json_too_large(limit)
    try:
        body = jsonl.decode_bounded(raw) if raw.strip() else {}
    except ValueError:
        raise BadRequest("The request body is not valid JSON.") from None
    except jsonl.TooComplex as error:
        raise BadRequest(f"The request body {error}.", code="json_too_complex") from None
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object.")
    return body


def _merged(query: dict, body: dict) -> dict:
    """The query's and the body's parameters as one; a name given in both must say the same in both.

    Otherwise one of them would be dropped unread: `?provider=bedrock` beside a body naming openai
    must not quietly run on OpenAI. A JSON `null` is a value not given.
    """
    merged = dict(query)
    for name, value in body.items():
        if name in query and value is not None and query[name] != value:
            raise BadRequest(f"Parameter {name!r} is given differently in the query string and the body.",
                             param=name, code="conflicting_parameter")
        if value is not None or name not in query:
            merged[name] = value
    return merged


def _json_too_large(limit: int) -> APIError:
    return APIError(413, f"The JSON body is larger than {limit} bytes (DEEPINTSHIELD_MAX_JSON_BYTES); upload "
                         "large batches as a file.", code="body_too_large")


@functools.cache
def all_schema(kind: type[Schema]) -> Schema:
    """A list query for every provider (`provider=all`): no provider's own options (each would be
    another provider's foreign field), so those are unknown keys, refused like any."""
    return kind(exclude=tuple(sorted(GATEWAY_FIELDS & set(kind._declared_fields))))


def _load_all(kind: type[Schema], params: dict):
    del params["provider"]
    return all_schema(kind).load(params)


def _take_provider(params: dict) -> str | None:
    provider = params.pop("provider", None)
    if provider is None or provider == "":
        return None
    if not isinstance(provider, str) or provider not in registry.PROVIDERS:  # a JSON body may hold anything
        raise BadRequest(
            f"Unknown provider {provider!r}; use one of {', '.join(registry.PROVIDERS)}.",
            param="provider", code="unknown_provider",
        )
    return provider


def _use(provider: str) -> Operations:
    """The provider's operations, after its guard (run once per request, before anything is read)."""
    spec: Provider = registry.get(provider)
    g.provider = provider
    spec.run_guard()
    return spec.operations


def _render(schema: Schema, result: dict, *, created: bool = False) -> Response:
    """Validate a provider's OpenAI-shaped result through its schema and answer with what it loaded.

    `load` checks every field and fills the optional ones with null, so what it returns is the
    serialized object (the response schemas rename nothing); dumping it again would only repeat
    the work. A result that fails the schema is the provider mapping's fault (502), except after a
    create: the upstream object exists, so the client gets it anyway rather than a 5xx it would retry.
    """
    try:
        loaded = LOADERS[schema](result)
    except ValidationError as error:
        path, message = first_error_path(error.normalized_messages())
        if not created:
            raise APIError(502, f"The {g.get('provider')} reply does not map onto an OpenAI object: "
                                f"{path}: {message}", type="upstream_error") from None
        log.warning("created object failed its schema: %s: %s", path, message)
        return jsonify(schema.dump(result))
    return jsonify(loaded)


# Files


@bp.post("/files")
def create_file() -> Response:
    fields, upload = read_upload(request)
    params = _merged(_query_params(), unflatten(fields))
    provider = _take_provider(params) or registry.DEFAULT
    operations = _use(provider)
    new = _load(UploadFormSchema, provider, params)
    return _render(FILE, operations.create_file(new, upload), created=True)


@bp.get("/files")
def list_files() -> Response:
    params = _query_params()
    if params.get("provider") == crosslist.ALL:
        return _render(FILE_LIST, crosslist.list_files(_load_all(FileQuerySchema, params)))
    provider = _take_provider(params) or registry.DEFAULT
    operations = _use(provider)
    query = _load(FileQuerySchema, provider, params)
    return _render(FILE_LIST, _page(operations.list_files(query)))


def _file_call(file_id: str, params: dict) -> tuple[Operations | ModuleType, ids.ResourceId, object]:
    named = _take_provider(params)
    ref = ids.decode_file(file_id, named)
    operations = _use(ref.provider)
    return gateway if ref.gateway_run else operations, ref, _load(ResourceQuerySchema, ref.provider, params)


@bp.get("/files/<path:file_id>")
def retrieve_file(file_id: str) -> Response:
    operations, ref, options = _file_call(file_id, _query_params())
    return _render(FILE, operations.retrieve_file(ref, options))


@bp.delete("/files/<path:file_id>")
def delete_file(file_id: str) -> Response:
    operations, ref, options = _file_call(file_id, _merged(_query_params(), _body_params()))
    return _render(FILE_DELETED, operations.delete_file(ref, options))


@bp.get("/files/<path:file_id>/content")
def file_content(file_id: str) -> Response:
    operations, ref, options = _file_call(file_id, _query_params())
    content = operations.file_content(ref, options)
    body = content.chunks
    if isinstance(body, FileBody) and content.length is not None:
        # A local file with a known length: the server may send it with sendfile(2).
        body = wrap_file(request.environ, body.file, RELAY_CHUNK)
    response = Response(body, content_type=content.content_type, direct_passthrough=True)
    if content.length is not None:
        response.content_length = content.length
    if content.filename:
        response.headers["Content-Disposition"] = f'attachment; filename="{content.filename}"'
    if content.on_close:
        response.call_on_close(content.on_close)
    return response


# Uploads (one large file in parts; `blueprints/common/uploads.py`)


def _uploads(provider: str) -> UploadOperations:
    """The provider's Uploads API, after its guard; a 400 for a provider without one."""
    _use(provider)
    operations = registry.get(provider).upload_operations
    if operations is None:
        raise BadRequest(f"Provider {provider} does not take the Uploads API; upload the file with POST /files.",
                         param="provider", code="unsupported_endpoint")
    return operations


def _upload_call(upload_id: str, params: dict) -> tuple[UploadOperations, ids.ResourceId]:
    ref = ids.decode_upload(upload_id, _take_provider(params))
    return _uploads(ref.provider), ref


@bp.post("/uploads")
def create_upload() -> Response:
    params = _merged(_query_params(), _body_params())
    provider = _take_provider(params) or registry.DEFAULT
    operations = _uploads(provider)
    new = _load(CreateUploadSchema, provider, params)
    return _render(UPLOAD, operations.create_upload(new), created=True)


@bp.post("/uploads/<path:upload_id>/parts")
def add_upload_part(upload_id: str) -> Response:
    fields, part = read_upload(request, file_field="data", wait_for=None)
    params = _merged(_query_params(), unflatten(fields))
    operations, ref = _upload_call(upload_id, params)
    options = _load(ResourceQuerySchema, ref.provider, params)
    return _render(UPLOAD_PART, operations.add_part(ref, part, options), created=True)


@bp.post("/uploads/<path:upload_id>/complete")
def complete_upload(upload_id: str) -> Response:
    params = _merged(_query_params(), _body_params())
    operations, ref = _upload_call(upload_id, params)
    done = _load(CompleteUploadSchema, ref.provider, params)
    return _render(UPLOAD, operations.complete_upload(ref, done), created=True)


@bp.post("/uploads/<path:upload_id>/cancel")
def cancel_upload(upload_id: str) -> Response:
    params = _merged(_query_params(), _body_params())
    operations, ref = _upload_call(upload_id, params)
    return _render(UPLOAD, operations.cancel_upload(ref, _load(ResourceQuerySchema, ref.provider, params)))


# Batches


def _input_provider(params: dict) -> str:
    """The provider a batch create or estimate names, else the one its input file's ID names (a file
    the gateway issued for another provider), else the default."""
    provider = _take_provider(params)
    if provider is not None:
        return provider
    input_file_id = params.get("input_file_id")
    return ids.decode_file(input_file_id).provider if isinstance(input_file_id, str) and input_file_id \
        else registry.DEFAULT


@bp.post("/batches")
def create_batch() -> Response:
    params = _merged(_query_params(), _body_params())
    provider = _input_provider(params)
    operations = _use(provider)
    new = _load(CreateBatchSchema, provider, params)
    watches.check(new)
    if new.execution == "gateway" or registry.get(provider).gateway_only:
        created = gateway.create_batch(provider, new)
    else:
        created = operations.create_batch(new)
    watches.register(provider, new, created)
    metrics.batch_created(provider)
    return _render(BATCH, created, created=True)


@bp.get("/batches")
def list_batches() -> Response:
    params = _query_params()
    if params.get("provider") == crosslist.ALL:
        return _render(BATCH_LIST, crosslist.list_batches(_load_all(BatchQuerySchema, params)))
    provider = _take_provider(params) or registry.DEFAULT
    operations = _use(provider)
    query = _load(BatchQuerySchema, provider, params)
    page = _batches(provider, operations, query)
    for batch in page["data"]:  # usage from kept records only: a list never reads results
        try:
            ref = ids.decode_batch(batch["id"], provider)
        except (APIError, KeyError, TypeError):  # not ours to judge here: the schema does
            continue
        if not ref.gateway_run:
            usage.fill(batch, ref, operations, None, compute=False)
    return _render(BATCH_LIST, _page(page))


def _batches(provider: str, operations: Operations, query) -> dict:
    """A page of the provider's batches: the gateway-run ones first (newest first), then its own.

    The cursor says where the page is: after a gateway-run batch, the rest of those (and then the
    provider's from its start); after one of the provider's, the provider's own. Each batch is
    listed once, and a client that owns no gateway-run batch sees exactly the provider's list.
    """
    if registry.get(provider).gateway_only:
        return gateway.list_batches(provider, query)
    after = ids.decode_batch(query.after, provider) if query.after else None
    if (after is not None and not after.gateway_run) or not gateway.owns_jobs(provider):
        return operations.list_batches(query)
    page = gateway.list_batches(provider, query)
    if page["has_more"] or len(page["data"]) == query.limit:
        return {"data": page["data"], "has_more": True}
    rest = operations.list_batches(dataclasses.replace(query, after=None, limit=query.limit - len(page["data"])))
    return {"data": page["data"] + rest["data"], "has_more": bool(rest.get("has_more"))}


def _batch_call(batch_id: str, params: dict) -> tuple[Operations | ModuleType, ids.ResourceId, object]:
    named = _take_provider(params)
    ref = ids.decode_batch(batch_id, named)
    operations = _use(ref.provider)
    return gateway if ref.gateway_run else operations, ref, _load(ResourceQuerySchema, ref.provider, params)


def _retrieved(operations: Operations | ModuleType, ref: ids.ResourceId, options) -> dict:
    """The batch, with its usage summed from its results (once, then kept) when the provider gives none."""
    batch = operations.retrieve_batch(ref, options)
    if not ref.gateway_run and isinstance(batch, dict):  # gateway-run: summed when it was finalized
        usage.fill(batch, ref, operations, options)
    return batch


@bp.get("/batches/<batch:batch_id>")
def retrieve_batch(batch_id: str) -> Response:
    operations, ref, options = _batch_call(batch_id, _query_params())
    return _render(BATCH, _retrieved(operations, ref, options))


@bp.post("/batches/estimate")
def estimate_batch() -> Response:
    params = _merged(_query_params(), _body_params())
    provider = _input_provider(params)
    operations = _use(provider)
    return _render(BATCH_ESTIMATE, costs.estimate(provider, ESTIMATE_REQUEST.load(params), operations))


@bp.get("/batches/<batch:batch_id>/cost")
def batch_cost(batch_id: str) -> Response:
    operations, ref, options = _batch_call(batch_id, _query_params())
    batch = _retrieved(operations, ref, options)
    gateway_record = {"usage_by_model": gateway.usage_by_model(ref)} if ref.gateway_run else None
    return _render(BATCH_COST, costs.batch_cost(batch, ref, gateway_record))


@bp.post("/batches/<batch:batch_id>/cancel")
def cancel_batch(batch_id: str) -> Response:
    operations, ref, options = _batch_call(batch_id, _merged(_query_params(), _body_params()))
    return _render(BATCH, operations.cancel_batch(ref, options))


def _page(result: dict) -> dict:
    """Fill a provider's `{"data", "has_more"}` page with OpenAI's list fields."""
    data = result["data"]
    return {
        "object": "list",
        "data": data,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
        "has_more": bool(result.get("has_more")),
    }
