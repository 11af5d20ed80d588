"""The Files API over files the gateway keeps for a provider in its file store.

For providers whose batches take no uploaded file (Anthropic) or that have no Files API at all (the
servers declared in `DEEPINTSHIELD_CHAT_ENDPOINTS`), `purpose=batch` files live in the file store
(`filestore.py`): the namespace is the provider's name, the owner the caller's key, and the stored
file's generated key is the native ID inside its gateway ID (`file-ds<code>f_…`). Each provider
checks its own lines (the `check` it gives `create`) and serves its batches' result files itself;
everything else about a stored file is the same for all of them, here: expiry (`expires_after`,
enforced whenever the file is read), listing in either order, retrieval, deletion and content.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from blueprints.common import filestore
from blueprints.common.streams import Content, Upload
from blueprints.dispatcher import ids
from errors import BadRequest, NotFound
from schemas.requests import FileQuery, NewFile
from translators import jsonl
from translators import openai_shapes as shapes

JSONL = "application/jsonl"


def create(provider: str, new: NewFile, upload: Upload, check: Callable[[int, dict], dict]) -> dict:
    """Store an uploaded batch file, `check` seeing every line as it streams in (a bad line stores nothing)."""
    extra = {"expires_after": new.expires_after.seconds} if new.expires_after else {}
    stored = filestore.store().put(provider, filestore.new_key(), jsonl.checked_chunks(upload.chunks, check),
                                   upload.filename, "batch", extra)
    return file_object(provider, stored)


def listing(provider: str, query: FileQuery) -> dict:
    """A page of the caller's stored files (all `purpose=batch`), newest first unless `order=asc`."""
    if query.purpose not in (None, "batch"):
        return {"data": [], "has_more": False}
    limit = query.limit or 10_000
    after = key_of(provider, query.after, "after") if query.after else None
    store = filestore.store()
    if query.order == "desc":  # the store's own order
        page, has_more = store.list(provider, after, limit)
    else:
        everything = _all_stored(store, provider)[::-1]
        if after:
            everything = everything[next((i + 1 for i, f in enumerate(everything) if f.key == after),
                                         len(everything)):]
        page, has_more = everything[:limit], len(everything) > limit
    now = time.time()
    return {"data": [file_object(provider, f) for f in page if not _expired(f, now)], "has_more": has_more}


def retrieve(provider: str, key: str) -> dict:
    return file_object(provider, stored(provider, key))


def delete(provider: str, key: str) -> dict:
    if not filestore.store().delete(provider, key):
        raise NotFound(f"No such file: {ids.encode_file(provider, key)!r}.")
    return {"id": ids.encode_file(provider, key), "object": "file", "deleted": True}


def content(provider: str, key: str) -> Content:
    found = stored(provider, key)
    return Content(filestore.store().open(provider, key), JSONL, found.bytes, found.filename)


def lines(provider: str, key: str) -> Iterator[bytes]:
    """A stored file's lines (blank ones included), read as they are needed."""
    return jsonl.split_lines(filestore.store().open(provider, key))


def stored(provider: str, key: str) -> filestore.StoredFile:
    """The caller's stored file `key`; 404 if there is none, or it expired (it is then deleted)."""
    found = filestore.store().get(provider, key)
    if _expired(found, time.time()):
        filestore.store().delete(provider, key)
        raise NotFound(f"No such file: {ids.encode_file(provider, key)!r} (it expired).")
    return found


def key_of(provider: str, file_id: str, param: str) -> str:
    """The stored file's key behind a gateway file ID the client gave in `param` (a result file's is a 400)."""
    ref = ids.decode_file(file_id, provider)
    if ref.kind != "file":
        raise BadRequest(f"{file_id!r} is a batch result file, not a stored file.", param=param)
    return ref.native


def file_object(provider: str, found: filestore.StoredFile) -> dict:
    seconds = found.extra.get("expires_after")
    return shapes.file_object(
        id=ids.encode_file(provider, found.key), bytes=found.bytes, created_at=found.created_at,
        filename=found.filename, purpose=found.purpose,
        expires_at=found.created_at + int(seconds) if seconds else None,
    )


def _expired(found: filestore.StoredFile, now: float) -> bool:
    seconds = found.extra.get("expires_after")
    return bool(seconds) and now >= found.created_at + int(seconds)


def _all_stored(store: filestore.OwnedStore, provider: str) -> list[filestore.StoredFile]:
    found: list[filestore.StoredFile] = []
    after = None
    while True:
        page, more = store.list(provider, after, 1000)
        found.extend(page)
        if not more or not page:
            return found
        after = page[-1].key
