"""Vertex AI's upstream calls: Cloud Storage objects (files, job inputs and results) through the GCS JSON
API, and the `batchPredictionJobs` REST surface (providers-next.md §1.2, §2).

Everything goes through `blueprints.common.http.call` (one pooled session for the provider); Google's
`{"error": {"code", "message", "status"}}` replies are parsed by `google_error`.

Credentials (`access_token`): in passthrough mode the client's bearer key is a Google access token
(`gcloud auth print-access-token`), used for Vertex AI and Cloud Storage alike. With gateway keys the
gateway's own Application Default Credentials (google-auth: a service account file in
GOOGLE_APPLICATION_CREDENTIALS, gcloud's user credentials, or the metadata server) mint the token,
refreshed before it expires. With `STORAGE_EMULATOR_HOST` set, Cloud Storage calls go to that
emulator without credentials, as google-cloud-storage does.

Uploads are resumable uploads sent in `UPLOAD_CHUNK` pieces as the bytes arrive: at most one piece
is held, and the upload resumes from what the server says it persisted (a 308's `Range`), never
from what was sent.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import quote

import requests
from flask import current_app

from blueprints.common import auth, http
from blueprints.vertex import DEFAULT_BASE_URL, NAME
from errors import APIError, NotFound, UpstreamError

log = logging.getLogger("deepintshield")

API_VERSION = "v1"
GCS = "https://storage.googleapis.com"
GLOBAL_HOST = "https://aiplatform.googleapis.com"
SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)
UPLOAD_CHUNK = 32 * 256 * 1024  # 8 MiB: resumable pieces must be multiples of 256 KiB (but the last)
MAX_STALLS = 3  # pieces in a row the server may keep nothing of before the upload is given up
LIST_PAGE = 1000  # Cloud Storage's largest page
JOB_PAGE = 100
CREDENTIALS_RETRY = 60  # seconds before Application Default Credentials are looked for again after a miss
_RANGE = re.compile(r"bytes=0-(\d+)")


# Errors


def google_error(response: requests.Response) -> tuple[str, str | None, str | None]:
    """Message and code (the rpc status name, e.g. NOT_FOUND, when Google gives one) of an error reply."""
    message, code = http.default_error(response)[:2]
    try:
        body = response.json()
    except ValueError:
        return message, code, None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and isinstance(error.get("status"), str):
        code = error["status"]
    return message, code, None


# Credentials


class _Credentials:
    """The gateway's Application Default Credentials, loaded once per process and refreshed when stale."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.credentials: Any = None
        self.missed_at: float | None = None

    def token(self) -> str:
        import google.auth  # only in gateway-key mode: the import costs
        from google.auth import exceptions
        from google.auth.transport.requests import Request

        with self.lock:
            if self.credentials is None:
                if self.missed_at is not None and time.monotonic() - self.missed_at < CREDENTIALS_RETRY:
                    raise _not_configured()
                try:
                    self.credentials, _ = google.auth.default(scopes=SCOPES)
                except exceptions.DefaultCredentialsError:
                    self.missed_at = time.monotonic()
                    raise _not_configured() from None
            if not self.credentials.valid:
                session = http.session(NAME, current_app.config["UPSTREAM_RETRIES"])  # the one `http.call` uses
                try:
                    self.credentials.refresh(Request(session=session))
                except (exceptions.RefreshError, exceptions.TransportError) as error:
                    log.warning("vertex: refreshing the access token failed: %s", type(error).__name__)
                    raise UpstreamError(NAME, 502, "the gateway could not get a Google access token",
                                        code="upstream_auth_failed", type="upstream_error") from None
            return self.credentials.token

    def reset(self) -> None:
        with self.lock:
            self.credentials, self.missed_at = None, None


def _not_configured() -> APIError:
    return APIError(400, "The gateway has no Google credentials for vertex (Application Default Credentials: "
                         "GOOGLE_APPLICATION_CREDENTIALS or the metadata server).",
                    param="provider", code="provider_not_configured")


_CREDENTIALS = _Credentials()
reset_credentials = _CREDENTIALS.reset


def access_token() -> str:
    """The Google access token for this request: the client's own (passthrough) or the gateway's ADC."""
    if auth.gateway_keys_enabled():
        return _CREDENTIALS.token()
    return auth.provider_key(NAME)


def _call(method: str, url: str, *, gcs: bool = False, **kwargs) -> requests.Response:
    headers = dict(kwargs.pop("headers", None) or {})
    if not (gcs and _emulator()):
        headers["Authorization"] = f"Bearer {access_token()}"
    return http.call(NAME, method, url, error_parser=google_error, headers=headers, **kwargs)


def _json(response: requests.Response, creates: bool = False) -> dict:
    with response:
        return http.json_body(response, NAME, creates=creates)


@contextlib.contextmanager
def _missing(message: str, param: str | None = "id") -> Iterator[None]:
    """Turns an upstream 404 inside the block into `NotFound(message)` (naming what the client asked for)."""
    try:
        yield
    except UpstreamError as error:
        if error.status == 404:
            raise NotFound(message, param=param) from None
        raise


# Vertex AI batchPredictionJobs (providers-next.md §1.2)


def vertex_base(location: str) -> str:
    """The Vertex AI host serving `location`: the configured URL with `{location}` filled in (`global` has
    no regional host)."""
    base = current_app.config.get("VERTEX_BASE_URL") or DEFAULT_BASE_URL
    if location == "global" and base == DEFAULT_BASE_URL:
        return GLOBAL_HOST
    return base.replace("{location}", location)


def _location_of(name: str) -> str:
    return name.split("/")[3]  # projects/{p}/locations/{l}/...


def _job_url(name: str) -> str:
    return f"{vertex_base(_location_of(name))}/{API_VERSION}/{name}"


def _jobs_url(project: str, location: str) -> str:
    return f"{vertex_base(location)}/{API_VERSION}/projects/{project}/locations/{location}/batchPredictionJobs"


def create_job(project: str, location: str, job: dict) -> dict:
    """Not idempotent: never replayed (`creates`)."""
    return _json(_call("POST", _jobs_url(project, location), json=job, creates=True), creates=True)


def get_job(name: str) -> dict:
    with _missing(f"No such Vertex AI batch: {name!r}."):
        return _json(_call("GET", _job_url(name)))


def list_jobs(project: str, location: str, page_token: str | None, filter: str | None = None) -> dict:
    params: dict = {"pageSize": JOB_PAGE}
    if page_token:
        params["pageToken"] = page_token
    if filter:
        params["filter"] = filter
    return _json(_call("GET", _jobs_url(project, location), params=params))


def cancel_job(name: str) -> None:
    with _missing(f"No such Vertex AI batch: {name!r}."):
        _call("POST", f"{_job_url(name)}:cancel", json={}).close()


def generate_content(name: str, request: dict, *, operation: str | None = None) -> dict:
    """`{name}:generateContent` (the synchronous API, one GenerateContentRequest), where `name` is a full
    model resource name: `projects/{p}/locations/{l}/publishers/google/models/{m}`, or a tuned model's or
    endpoint's. Served by the host of the name's location. A POST, so never replayed here. `operation`
    names the call in the upstream metrics."""
    url = f"{vertex_base(_location_of(name))}/{API_VERSION}/{name}:generateContent"
    return _json(_call("POST", url, json=request, operation=operation))


# Cloud Storage (providers-next.md §2)


def _emulator() -> str:
    return current_app.config.get("VERTEX_STORAGE_EMULATOR_HOST") or ""


def _gcs() -> str:
    return _emulator() or GCS


def _object_url(bucket: str, name: str) -> str:
    return f"{_gcs()}/storage/v1/b/{quote(bucket, safe='')}/o/{quote(name, safe='')}"


def get_object(bucket: str, name: str, *, missing: str, param: str | None = "id") -> dict:
    with _missing(missing, param):
        return _json(_call("GET", _object_url(bucket, name), gcs=True))


def download(bucket: str, name: str, *, missing: str, param: str | None = "id") -> Iterator[bytes]:
    """An object's bytes, streamed in chunks (the response is closed when done or abandoned)."""
    with _missing(missing, param):
        response = _call("GET", _object_url(bucket, name), gcs=True, params={"alt": "media"}, stream=True)
    return http.streamed(response, provider=NAME)


def delete_object(bucket: str, name: str, *, missing: str) -> None:
    with _missing(missing):
        _call("DELETE", _object_url(bucket, name), gcs=True).close()


def list_objects(bucket: str, prefix: str, *, start_after: str | None = None, folder_only: bool = False,
                 page_size: int = LIST_PAGE) -> Iterator[dict]:
    """The objects under `prefix` in name order, page by page (`folder_only`: not those in sub-folders).

    `start_after` skips every name up to and including it (`startOffset` asks the server to; names
    are compared here too, for servers that ignore it).
    """
    params: dict = {"prefix": prefix, "maxResults": page_size}
    if folder_only:
        params["delimiter"] = "/"
    if start_after:
        params["startOffset"] = start_after
    url = f"{_gcs()}/storage/v1/b/{quote(bucket, safe='')}/o"
    while True:
        with _missing(f"No such bucket: {bucket!r}.", "storage_config.gcs.bucket"):
            page = _json(_call("GET", url, gcs=True, params=params))
        for item in page.get("items") or []:
            if start_after is None or item.get("name", "") > start_after:
                yield item
        token = page.get("nextPageToken")
        if not token:
            return
        params["pageToken"] = token


def upload(bucket: str, name: str, chunks: Iterable[bytes], *, content_type: str,
           metadata: dict[str, str] | None = None) -> dict:
    """A resumable upload of `chunks` as a new object (never over an existing one); the object resource.

    Errors raised while producing `chunks` (a bad JSONL line) propagate unchanged, after the upload
    session is cancelled: no object is left behind.
    """
    resource: dict = {"name": name, "contentType": content_type}
    if metadata:
        resource["metadata"] = metadata
    with _missing(f"No such bucket: {bucket!r}.", "storage_config.gcs.bucket"):
        started = _call("POST", f"{_gcs()}/upload/storage/v1/b/{quote(bucket, safe='')}/o", gcs=True,
                        params={"uploadType": "resumable", "name": name, "ifGenerationMatch": "0"},
                        headers={"X-Upload-Content-Type": content_type}, json=resource, creates=True)
    with started:
        session = started.headers.get("Location")
    if not session:
        raise UpstreamError(NAME, 502, "the resumable upload start reply has no Location", retryable=False)
    try:
        return _send(session, chunks, content_type)
    except BaseException:
        _cancel_upload(session)
        raise


def _send(session: str, chunks: Iterable[bytes], content_type: str) -> dict:
    """Send the bytes in `UPLOAD_CHUNK` pieces, then the rest with the total; resume from what the server
    persisted. Holds at most one piece plus one incoming chunk."""
    pending = bytearray()
    offset = 0  # bytes the server has persisted
    stalls = 0  # pieces in a row of which the server kept nothing
    for chunk in chunks:
        pending += chunk
        while len(pending) >= UPLOAD_CHUNK:
            persisted = _put(session, bytes(memoryview(pending)[:UPLOAD_CHUNK]), offset, None, content_type)
            if not isinstance(persisted, int):
                raise UpstreamError(NAME, 502, "the resumable upload ended before its last piece", retryable=False)
            stalls = _progress(offset, persisted, stalls)
            del pending[:persisted - offset]
            offset = persisted
    total = offset + len(pending)
    while True:  # the last piece, again from where the server stopped if it kept less
        result = _put(session, bytes(pending), offset, total, content_type)
        if isinstance(result, dict):
            return result
        stalls = _progress(offset, result, stalls)
        del pending[:result - offset]
        offset = result


def _progress(offset: int, persisted: int, stalls: int) -> int:
    """The count of pieces in a row the server kept nothing of; past MAX_STALLS the upload is given up."""
    if persisted > offset:
        return 0
    if stalls + 1 > MAX_STALLS:
        raise UpstreamError(NAME, 502, "the resumable upload made no progress", retryable=False)
    return stalls + 1


def _put(session: str, data: bytes, first: int, total: int | None, content_type: str) -> int | dict:
    """One piece at byte `first` (`total` None: more follow): the object when done, else the bytes persisted."""
    size = "*" if total is None else str(total)
    span = f"bytes {first}-{first + len(data) - 1}/{size}" if data else f"bytes */{size}"
    # The session URI authenticates the upload: no credentials are sent with its pieces. A 308 is
    # "resume incomplete", never a redirect to follow.
    response = http.call(NAME, "PUT", session, error_parser=google_error, creates=True, data=data,
                         allow_redirects=False, headers={"Content-Range": span, "Content-Type": content_type})
    with response:
        if response.status_code == 308:  # Resume Incomplete: `Range` says what was persisted (absent: nothing)
            match = _RANGE.fullmatch(response.headers.get("Range", ""))
            persisted = int(match[1]) + 1 if match else 0
            if not first <= persisted <= first + len(data):
                raise UpstreamError(NAME, 502, "the resumable upload reported a range it was not sent",
                                    retryable=False)
            return persisted
        return http.json_body(response, NAME, creates=True)


def _cancel_upload(session: str) -> None:
    """Best effort: an unfinished session leaves no object, and expires on its own."""
    with contextlib.suppress(APIError):
        http.call(NAME, "DELETE", session, error_parser=google_error).close()
