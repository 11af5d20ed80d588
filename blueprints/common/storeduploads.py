"""The Uploads API for providers whose uploads the gateway assembles itself: the rules here, the place
the parts wait in (`PartStore`) chosen by the provider.

`StagedUploads` is the API over any `PartStore`: an upload is a record (what create was told: `declared`
bytes, `mime_type`, `expires_at`, ..., its `status` and once completed its `file`) plus parts, each its
own object with ID `part_<key>`. A part a client sent twice (its reply was lost) is simply another
part: only those `complete` lists count, and it removes every part, listed or not, as does `cancel`
or finding the upload expired.

`complete` streams the listed parts in order, hashing them for `md5`, through the provider's own
`create_file`, so the file gets exactly the checks (the batch JSONL rules) and storage of an upload
through `POST /files`; a bad line is its 400 naming the line, and nothing is stored.

`StoredUploads` keeps everything in the file store (`filestore.py`; Anthropic, Gemini, declared chat
servers), owned by the caller's key like the files themselves, so another key's upload is a 404:
the record is an empty stored object in namespace `<provider>.uploads` whose metadata holds it, each
part a stored object in namespace `<provider>.uploads.<upload key>`. Vertex AI keeps them in the
user's bucket instead (`blueprints/vertex/uploads.py`).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from typing import Protocol

from blueprints import registry
from blueprints.common import filestore, uploads
from blueprints.common.streams import Upload
from blueprints.dispatcher import ids
from blueprints.dispatcher.ids import ResourceId
from errors import BadRequest, NotFound
from schemas.requests import UPLOAD_LIFETIME, CompleteUpload, ExpiresAfter, NewFile, NewUpload, Options


class PartStore(Protocol):
    """Where an upload's record and parts wait. `native` is the upload's native ID (what the gateway's
    upload ID encodes), a record a JSON-able dict holding at least `filename`, `purpose`, `declared`,
    `mime_type`, `created`, `expires_at`, `status` and `file`. Missing things raise `NotFound`."""

    def create(self, new: NewUpload, record: dict) -> str:
        """Keep a new upload's record; its native ID. May refuse what the provider's files cannot take (400)."""
        ...

    def record(self, native: str) -> dict: ...
    def set_status(self, native: str, record: dict, status: str, file: dict | None = None) -> dict: ...

    def put_part(self, native: str, chunks: Iterable[bytes]) -> tuple[str, int]:
        """Keep a part; its key and creation time."""
        ...

    def part_size(self, native: str, key: str) -> int: ...
    def open_part(self, native: str, key: str) -> Iterator[bytes]: ...
    def drop_part(self, native: str, key: str) -> None: ...
    def drop_parts(self, native: str) -> None: ...

    def new_file(self, native: str, record: dict, options: Options) -> NewFile:
        """What the completed upload's `create_file` is told (the record's purpose and file expiry)."""
        ...


class StagedUploads:
    """The Uploads API of `provider`, whose files take only the purposes `purposes`, parts in `parts`."""

    def __init__(self, provider: str, purposes: tuple[str, ...], parts: PartStore) -> None:
        self.provider = provider
        self.purposes = purposes
        self.parts = parts

    def create_upload(self, new: NewUpload) -> dict:
        if new.purpose not in self.purposes:
            raise BadRequest(f"{self.provider} keeps only {' and '.join(self.purposes)} files (purpose="
                             f"{new.purpose!r}).", param="purpose")
        now = uploads.now()
        record = {"filename": new.filename, "purpose": new.purpose, "declared": new.bytes,
                  "mime_type": new.mime_type, "created": now, "expires_at": now + UPLOAD_LIFETIME,
                  "status": "pending", "file": None,
                  "file_expires_after": new.expires_after.seconds if new.expires_after else None}
        return self._object(self.parts.create(new, record), record)

    def add_part(self, ref: ResourceId, part: Upload, options: Options) -> dict:
        record = self._pending(ref)
        chunks = uploads.capped(part.chunks, min(uploads.MAX_PART_BYTES, record["declared"]))
        key, created = self.parts.put_part(ref.native, chunks)
        if self._record(ref)["status"] != "pending":  # completed or cancelled while this part came in
            self.parts.drop_part(ref.native, key)
            self._pending(ref)
        return {"id": uploads.PART_PREFIX + key, "object": "upload.part", "created_at": created,
                "upload_id": ids.encode_upload(self.provider, ref.native)}

    def complete_upload(self, ref: ResourceId, done: CompleteUpload) -> dict:
        record = self._record(ref)
        if record["status"] == "completed":  # a retried complete whose answer was lost
            return self._object(ref.native, record)
        record = self._pending(ref)
        uploads.check_part_ids(done.part_ids)
        keys = [uploads.part_key(part_id, index) for index, part_id in enumerate(done.part_ids)]
        total = 0
        for index, key in enumerate(keys):
            try:
                total += self.parts.part_size(ref.native, key)
            except NotFound:
                raise uploads.unknown_part(done.part_ids[index], index) from None
        declared = record["declared"]
        if total != declared:
            raise uploads.size_mismatch(total, declared)
        chunks = itertools.chain.from_iterable(self.parts.open_part(ref.native, key) for key in keys)
        if done.md5 is not None:
            chunks = uploads.md5_checked(chunks, done.md5)
        file = registry.get(self.provider).operations.create_file(
            self.parts.new_file(ref.native, record, done.options),
            Upload(record["filename"], record["mime_type"], chunks, size_hint=declared))
        self.parts.drop_parts(ref.native)
        return self._object(ref.native, self.parts.set_status(ref.native, record, "completed", file))

    def cancel_upload(self, ref: ResourceId, options: Options) -> dict:
        record = self._record(ref)
        if record["status"] == "cancelled":
            return self._object(ref.native, record)
        record = self._pending(ref)
        self.parts.drop_parts(ref.native)
        return self._object(ref.native, self.parts.set_status(ref.native, record, "cancelled"))

    # The records

    def _record(self, ref: ResourceId) -> dict:
        try:
            return self.parts.record(ref.native)
        except NotFound:
            raise NotFound(f"No such upload: {ids.encode_upload(self.provider, ref.native)!r}.") from None

    def _pending(self, ref: ResourceId) -> dict:
        """The upload, if parts may still be added and it may be completed; else a 400 saying why not."""
        record = self._record(ref)
        status = record["status"]
        if status == "pending" and uploads.now() >= record["expires_at"]:
            self.parts.drop_parts(ref.native)
            record, status = self.parts.set_status(ref.native, record, "expired"), "expired"
        if status != "pending":
            raise uploads.not_pending(ids.encode_upload(self.provider, ref.native), status)
        return record

    def _object(self, native: str, record: dict) -> dict:
        return uploads.upload_object(
            ids.encode_upload(self.provider, native), declared=record["declared"], created_at=record["created"],
            expires_at=record["expires_at"], filename=record["filename"], purpose=record["purpose"],
            status=record["status"], file=record.get("file"))


class FileStoreParts:
    """Records and parts in the owner-scoped file store (the native ID is the record's key)."""

    def __init__(self, provider: str) -> None:
        self.records = f"{provider}.uploads"

    def _parts(self, native: str) -> str:
        return f"{self.records}.{native}"

    def create(self, new: NewUpload, record: dict) -> str:
        key = filestore.new_key()
        self._put(key, record)
        return key

    def _put(self, key: str, record: dict) -> dict:
        extra = {name: value for name, value in record.items() if name not in ("filename", "purpose")}
        filestore.store().put(self.records, key, [], record["filename"], record["purpose"], extra)
        return record

    def record(self, native: str) -> dict:
        stored = filestore.store().get(self.records, native)
        return {"file": None, **stored.extra, "filename": stored.filename, "purpose": stored.purpose}

    def set_status(self, native: str, record: dict, status: str, file: dict | None = None) -> dict:
        return self._put(native, {**record, "status": status, "file": file})

    def put_part(self, native: str, chunks: Iterable[bytes]) -> tuple[str, int]:
        key = filestore.new_key()
        stored = filestore.store().put(self._parts(native), key, chunks, "part", "upload_part")
        return key, stored.created_at

    def part_size(self, native: str, key: str) -> int:
        return filestore.store().get(self._parts(native), key).bytes

    def open_part(self, native: str, key: str) -> Iterator[bytes]:
        return filestore.store().open(self._parts(native), key)

    def drop_part(self, native: str, key: str) -> None:
        filestore.store().delete(self._parts(native), key)

    def drop_parts(self, native: str) -> None:
        store, namespace = filestore.store(), self._parts(native)
        while True:
            page, _ = store.list(namespace, None, 1000)
            if not page:
                return
            for part in page:
                store.delete(namespace, part.key)

    def new_file(self, native: str, record: dict, options: Options) -> NewFile:
        seconds = record.get("file_expires_after")
        return NewFile(record["purpose"], ExpiresAfter("created_at", int(seconds)) if seconds else None, options)


class StoredUploads(StagedUploads):
    """The Uploads API of a provider whose uploads wait in the file store."""

    def __init__(self, provider: str, purposes: tuple[str, ...] = ("batch",)) -> None:
        super().__init__(provider, purposes, FileStoreParts(provider))
