"""Upstream calls to the Gemini API (Generative Language API v1beta, providers.md §C).

Every call goes through `blueprints.common.http.call` with the `x-goog-api-key` header; Gemini's
`{"error": {"code", "message", "status"}}` replies are parsed by `gemini_error`.
"""

from __future__ import annotations

from typing import BinaryIO
from urllib.parse import urlsplit

import requests
from flask import current_app

from blueprints.common import auth, http
from blueprints.gemini import NAME
from errors import UpstreamError

API_VERSION = "v1beta"
PAGE_SIZE = 100  # the largest page Gemini's list calls serve


def gemini_error(response: requests.Response) -> tuple[str, str | None, str | None]:
    """Message and code (the rpc status name, e.g. INVALID_ARGUMENT) of a Gemini error reply."""
    message, code = http.default_error(response)[:2]
    try:
        body = response.json()
    except ValueError:
        return message, code, None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and isinstance(error.get("status"), str):
        code = error["status"]
    return message, code, None


def _base() -> str:
    return current_app.config["GEMINI_BASE_URL"]


def _url(path: str) -> str:
    return f"{_base()}/{API_VERSION}/{path}"


def _headers(extra: dict | None = None) -> dict:
    return {"x-goog-api-key": auth.provider_key(NAME), **(extra or {})}


def _call(method: str, url: str, **kwargs) -> requests.Response:
    headers = _headers(kwargs.pop("headers", None))
    return http.call(NAME, method, url, error_parser=gemini_error, headers=headers, **kwargs)


def _json(response: requests.Response, creates: bool = False) -> dict:
    with response:
        return http.json_body(response, NAME, creates=creates)


def is_unsupported_mime_type(error: UpstreamError) -> bool:
    return error.status == 400 and "unsupported mime type" in error.message.lower()


def start_upload(name: str, display_name: str, size: int, mime_type: str) -> str:
    """Start a resumable upload (§C.1 step 1); returns the session URL."""
    response = _call(
        "POST", f"{_base()}/upload/{API_VERSION}/files",
        headers={
            "X-Goog-Upload-Protocol": "resumable",
            "X-Goog-Upload-Command": "start",
            "X-Goog-Upload-Header-Content-Length": str(size),
            "X-Goog-Upload-Header-Content-Type": mime_type,
        },
        json={"file": {"name": name, "displayName": display_name}},
    )
    with response:
        upload_url = response.headers.get("x-goog-upload-url")
    if not upload_url:
        raise UpstreamError(NAME, 502, "the upload start reply has no X-Goog-Upload-URL")
    return upload_url


def finish_upload(upload_url: str, body: BinaryIO, size: int) -> dict:
    """Send the bytes and finalize (§C.1 step 2, single shot); returns the File."""
    headers = {
        "Content-Length": str(size),
        "X-Goog-Upload-Offset": "0",
        "X-Goog-Upload-Command": "upload, finalize",
    }
    base = urlsplit(_base())
    target = urlsplit(upload_url)
    # The session URL authenticates the upload; the key is sent only back to Gemini's own host.
    if (target.scheme, target.netloc) == (base.scheme, base.netloc):
        headers = _headers(headers)
    response = http.call(NAME, "POST", upload_url, creates=True, error_parser=gemini_error,
                         headers=headers, data=body)
    return _json(response, creates=True)["file"]


def get_file(name: str) -> dict:
    return _json(_call("GET", _url(name)))


def list_files(page_token: str | None) -> dict:
    params = {"pageSize": PAGE_SIZE, **({"pageToken": page_token} if page_token else {})}
    return _json(_call("GET", _url("files"), params=params))


def delete_file(name: str) -> None:
    _call("DELETE", _url(name)).close()


def download_file(name: str) -> requests.Response:
    """A streamed download of a generated file (batch results); the caller closes it."""
    return _call("GET", _url(f"{name}:download"), params={"alt": "media"}, stream=True)


def create_batch(model: str, batch: dict, *, embeddings: bool = False) -> dict:
    """`models/{model}:batchGenerateContent`, or `:asyncBatchEmbedContent` for an embeddings batch (the
    method google-genai's `batches.create_embeddings` calls): not idempotent, so never replayed."""
    method = "asyncBatchEmbedContent" if embeddings else "batchGenerateContent"
    return _json(_call("POST", _url(f"models/{model}:{method}"), creates=True, json={"batch": batch}), creates=True)


def get_batch(name: str) -> dict:
    return _json(_call("GET", _url(name)))


def list_batches(page_token: str | None) -> dict:
    params = {"pageSize": PAGE_SIZE, **({"pageToken": page_token} if page_token else {})}
    return _json(_call("GET", _url("batches"), params=params))


def cancel_batch(name: str) -> None:
    _call("POST", _url(f"{name}:cancel")).close()


def generate_content(model: str, request: dict, *, operation: str | None = None) -> dict:
    """`models/{model}:generateContent` (the synchronous API, one GenerateContentRequest): the
    GenerateContentResponse. A POST, so `http.call` never replays it; the caller decides retries.
    `operation` names the call in the upstream metrics."""
    return _json(_call("POST", _url(f"models/{model}:generateContent"), json=request, operation=operation))


def batch_embed_contents(model: str, requests: list[dict], *, operation: str | None = None) -> dict:
    """`models/{model}:batchEmbedContents` (the synchronous API, what google-genai's `embed_content` calls):
    each request gets `model` (the method requires it per request); answers `{embeddings: [{values}]}` in
    request order. A POST, so never replayed here."""
    body = {"requests": [{"model": f"models/{model}", **request} for request in requests]}
    return _json(_call("POST", _url(f"models/{model}:batchEmbedContents"), json=body, operation=operation))
