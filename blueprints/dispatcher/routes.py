"""Routes for files and batches. Each view: read params, pick the provider, load, call, dump.

IDs may arrive with raw `/` from old SDKs (`batches/xyz`, job ARNs), so ID routes use `<path:>`.
"""

from __future__ import annotations

import importlib
import logging
from types import ModuleType

from flask import Blueprint, Response, current_app, g, jsonify, request
from marshmallow import Schema, ValidationError

import metrics
from blueprints.common import auth
from blueprints.dispatcher import ids
from blueprints.dispatcher.forms import unflatten
from blueprints.dispatcher.uploads import read_upload
from errors import APIError, BadRequest, first_error_path
from schemas.batch import BatchListSchema, BatchSchema
from schemas.fast import fast_loader
from schemas.file import FileDeletedSchema, FileListSchema, FileObjectSchema
from schemas.requests import (
    BatchQuerySchema,
    CreateBatchSchema,
    FileQuerySchema,
    ResourceQuerySchema,
    UploadFormSchema,
)
from translators import jsonl

log = logging.getLogger("deepintshield")

bp = Blueprint("openai_api", __name__)
bp.before_request(auth.authenticate)

# Schemas are built once: building one costs more than a load (they hold no per-call state).
FILE = FileObjectSchema()
FILE_LIST = FileListSchema()
FILE_DELETED = FileDeletedSchema()
BATCH = BatchSchema()
BATCH_LIST = BatchListSchema()
UPLOAD_FORM = UploadFormSchema()
FILE_QUERY = FileQuerySchema()
BATCH_QUERY = BatchQuerySchema()
CREATE_BATCH = CreateBatchSchema()
RESOURCE_QUERY = ResourceQuerySchema()
# What `_render` loads replies with: each schema's own load, with a fast path for well-formed input.
LOADERS = {schema: fast_loader(schema) for schema in (FILE, FILE_LIST, FILE_DELETED, BATCH, BATCH_LIST)}


def operations(provider: str) -> ModuleType:
    """The operations module of a provider package."""
    return importlib.import_module(f"blueprints.{provider}.operations")


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


def _take_provider(params: dict) -> str | None:
    provider = params.pop("provider", None)
    if provider is None or provider == "":
        return None
    if provider not in ids.PROVIDERS:
        raise BadRequest(
            f"Unknown provider {provider!r}; use one of {', '.join(ids.PROVIDERS)}.",
            param="provider", code="unknown_provider",
        )
    return provider


def _use(provider: str) -> ModuleType:
    g.provider = provider
    return operations(provider)


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
    provider = _take_provider(params) or ids.DEFAULT_PROVIDER
    new = UPLOAD_FORM.load(params)
    return _render(FILE, _use(provider).create_file(new, upload), created=True)


@bp.get("/files")
def list_files() -> Response:
    params = _query_params()
    provider = _take_provider(params) or ids.DEFAULT_PROVIDER
    query = FILE_QUERY.load(params)
    return _render(FILE_LIST, _page(_use(provider).list_files(query)))


def _file_call(file_id: str, params: dict) -> tuple[ids.ResourceId, object]:
    named = _take_provider(params)
    ref = ids.decode_file(file_id, named)
    options = RESOURCE_QUERY.load(params)
    return ref, options


@bp.get("/files/<path:file_id>")
def retrieve_file(file_id: str) -> Response:
    ref, options = _file_call(file_id, _query_params())
    return _render(FILE, _use(ref.provider).retrieve_file(ref, options))


@bp.delete("/files/<path:file_id>")
def delete_file(file_id: str) -> Response:
    ref, options = _file_call(file_id, _merged(_query_params(), _body_params()))
    return _render(FILE_DELETED, _use(ref.provider).delete_file(ref, options))


@bp.get("/files/<path:file_id>/content")
def file_content(file_id: str) -> Response:
    ref, options = _file_call(file_id, _query_params())
    content = _use(ref.provider).file_content(ref, options)
    response = Response(content.chunks, content_type=content.content_type, direct_passthrough=True)
    if content.length is not None:
        response.content_length = content.length
    if content.filename:
        response.headers["Content-Disposition"] = f'attachment; filename="{content.filename}"'
    if content.on_close:
        response.call_on_close(content.on_close)
    return response


# Batches


@bp.post("/batches")
def create_batch() -> Response:
    params = _merged(_query_params(), _body_params())
    named = _take_provider(params)
    new = CREATE_BATCH.load(params)
    provider = named
    if provider is None:
        # A file the gateway issued for another provider names its provider.
        provider = ids.decode_file(new.input_file_id).provider if new.input_file_id else ids.DEFAULT_PROVIDER
    created = _use(provider).create_batch(new)
    metrics.batch_created(provider)
    return _render(BATCH, created, created=True)


@bp.get("/batches")
def list_batches() -> Response:
    params = _query_params()
    provider = _take_provider(params) or ids.DEFAULT_PROVIDER
    query = BATCH_QUERY.load(params)
    return _render(BATCH_LIST, _page(_use(provider).list_batches(query)))


def _batch_call(batch_id: str, params: dict) -> tuple[ids.ResourceId, object]:
    named = _take_provider(params)
    ref = ids.decode_batch(batch_id, named)
    return ref, RESOURCE_QUERY.load(params)


@bp.get("/batches/<path:batch_id>")
def retrieve_batch(batch_id: str) -> Response:
    ref, options = _batch_call(batch_id, _query_params())
    return _render(BATCH, _use(ref.provider).retrieve_batch(ref, options))


@bp.post("/batches/<path:batch_id>/cancel")
def cancel_batch(batch_id: str) -> Response:
    ref, options = _batch_call(batch_id, _merged(_query_params(), _body_params()))
    return _render(BATCH, _use(ref.provider).cancel_batch(ref, options))


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
