"""What a provider's Uploads API (OpenAI's `POST /uploads…`) looks like to the dispatcher, and the
rules every implementation shares.

A provider names its implementation in `Provider.uploads`: OpenAI's is a pass-through
(`blueprints/openai/uploads.py`); the providers whose files the gateway keeps keep the parts in the
file store too (`storeduploads.py`); Bedrock stages them in the user's bucket (`blueprints/bedrock/uploads.py`).
The rules and shapes they share are here. Every one holds parts to `MAX_PART_BYTES` while they stream in,
so no part is ever held whole in memory, and answers with OpenAI's Upload / UploadPart objects.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Protocol

from errors import APIError, BadRequest
from schemas import requests
from schemas.requests import CompleteUpload, NewUpload, Options

if TYPE_CHECKING:
    from blueprints.common.streams import Upload
    from blueprints.dispatcher.ids import ResourceId


# Read when a part comes in (not bound as a default), so a test can lower it.
MAX_PART_BYTES: int = requests.MAX_PART_BYTES
PART_PREFIX = "part_"


def now() -> int:
    """One clock for every upload's `created_at` / expiry (tests move it past an upload's expiry)."""
    return int(time.time())


class UploadOperations(Protocol):
    """The four calls of the Uploads API; `ref` is the decoded upload ID (`ids.decode_upload`)."""

    def create_upload(self, new: NewUpload) -> dict: ...
    def add_part(self, ref: ResourceId, part: Upload, options: Options) -> dict: ...
    def complete_upload(self, ref: ResourceId, done: CompleteUpload) -> dict: ...
    def cancel_upload(self, ref: ResourceId, options: Options) -> dict: ...


def capped(chunks: Iterable[bytes], limit: int | None = None) -> Iterator[bytes]:
    """Pass a part's chunks on; past `limit` bytes (default `MAX_PART_BYTES`), a 400 naming the `data`
    field (nothing more is read)."""
    limit = MAX_PART_BYTES if limit is None else limit
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise BadRequest(f"A part may hold at most {limit} bytes; this one is larger.", param="data",
                             code="part_too_large")
        yield chunk


def check_part_ids(part_ids: list[str]) -> None:
    """Each part at most once: a part listed twice would put its bytes in the file twice."""
    seen: set[str] = set()
    for index, part_id in enumerate(part_ids):
        if part_id in seen:
            raise BadRequest(f"part_ids lists {part_id!r} twice.", param=f"part_ids[{index}]",
                             code="duplicate_part")
        seen.add(part_id)


def part_key(part_id: str, index: int) -> str:
    """The key inside a `part_<key>` ID the gateway issued; anything else is a 400 naming `part_ids[index]`."""
    key = part_id[len(PART_PREFIX):] if part_id.startswith(PART_PREFIX) else ""
    if not key or not key.replace("_", "").replace("-", "").isalnum():
        raise BadRequest(f"{part_id!r} is no part ID this gateway issued.", param=f"part_ids[{index}]",
                         code="unknown_part")
    return key


def unknown_part(part_id: str, index: int) -> BadRequest:
    return BadRequest(f"{part_id!r} is no part of this upload.", param=f"part_ids[{index}]", code="unknown_part")


def size_mismatch(total: int, declared: int) -> BadRequest:
    return BadRequest(f"The listed parts hold {total} bytes; the upload was created for {declared}.",
                      param="part_ids", code="upload_size_mismatch")


def not_pending(upload_id: str, status: str) -> BadRequest:
    """A call on an upload that is completed, cancelled or expired: a 400 `upload_<status>`."""
    return BadRequest(f"The upload {upload_id!r} is {status}; it takes no more parts or calls.", param="upload_id",
                      code=f"upload_{status}")


def md5_checked(chunks: Iterable[bytes], expected: str) -> Iterator[bytes]:
    """The chunks, then a 400 if their MD5 (lowercase hex) is not `expected`: raised before the stream ends,
    so whatever stores it keeps nothing."""
    digest = hashlib.md5(usedforsecurity=False)
    for chunk in chunks:
        digest.update(chunk)
        yield chunk
    if digest.hexdigest() != expected.strip().lower():
        raise APIError(400, f"The parts' MD5 is {digest.hexdigest()}, not {expected!r}.", param="md5",
                       code="md5_mismatch")


def upload_object(upload_id: str, *, declared: int, created_at: int, expires_at: int, filename: str, purpose: str,
                  status: str, file: dict | None) -> dict:
    """OpenAI's Upload object; a pending upload past its `expires_at` shows as expired."""
    if status == "pending" and now() >= expires_at:
        status = "expired"
    return {"id": upload_id, "object": "upload", "bytes": declared, "created_at": created_at,
            "expires_at": expires_at, "filename": filename, "purpose": purpose, "status": status, "file": file}
