"""What a provider's Uploads API (OpenAI's `POST /uploads…`) looks like to the dispatcher, and the
rules every implementation shares.

A provider names its implementation in `Provider.uploads`: OpenAI's is a pass-through
(`blueprints/openai/uploads.py`); the providers whose files the gateway keeps keep the parts in the
file store too (`storeduploads.py`). Every one holds parts to `MAX_PART_BYTES` while they stream in,
so no part is ever held whole in memory, and answers with OpenAI's Upload / UploadPart objects.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Protocol

from errors import BadRequest
from schemas import requests
from schemas.requests import CompleteUpload, NewUpload, Options

if TYPE_CHECKING:
    from blueprints.common.streams import Upload
    from blueprints.dispatcher.ids import ResourceId


# Read when a part comes in (not bound as a default), so a test can lower it.
MAX_PART_BYTES: int = requests.MAX_PART_BYTES


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
