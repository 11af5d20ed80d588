"""The Uploads API for providers whose files the gateway keeps (Anthropic, declared chat servers).

Everything lives in the file store (`filestore.py`), owned by the caller's key like the files
themselves, so another key's upload is a 404 and no other state is kept:

- the upload: an empty stored object in namespace `<provider>.uploads` whose metadata holds what
  create was told (`bytes`, `mime_type`, `expires_at`), its `status`, and once completed its file's key;
- each part: a stored object in namespace `<provider>.uploads.<upload key>`, its ID `part_<key>`.
  A part a client sent twice (its reply was lost) is simply another part: only those `complete`
  lists count, and it removes every part, listed or not, as does `cancel` or finding it expired.

`complete` streams the listed parts in order, hashing them for `md5`, through the provider's own
`create_file`, so the file gets exactly the checks (the batch JSONL rules) and storage of an upload
through `POST /files`; a bad line is its 400 naming the line, and nothing is stored.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from blueprints import registry
from blueprints.common import filestore, uploads
from blueprints.common.streams import Upload
from blueprints.dispatcher import ids
from blueprints.dispatcher.ids import ResourceId
from errors import BadRequest, NotFound
from schemas.requests import UPLOAD_LIFETIME, CompleteUpload, ExpiresAfter, NewFile, NewUpload, Options


class StoredUploads:
    """The Uploads API of `provider`, whose files take only the purposes `purposes`."""

    def __init__(self, provider: str, purposes: tuple[str, ...] = ("batch",)) -> None:
        self.provider = provider
        self.purposes = purposes
        self.records = f"{provider}.uploads"

    def _parts(self, key: str) -> str:
        return f"{self.records}.{key}"

    def create_upload(self, new: NewUpload) -> dict:
        if new.purpose not in self.purposes:
            raise BadRequest(f"{self.provider} keeps only {' and '.join(self.purposes)} files (purpose="
                             f"{new.purpose!r}).", param="purpose")
        now = uploads.now()
        extra = {"declared": new.bytes, "mime_type": new.mime_type, "created": now,
                 "expires_at": now + UPLOAD_LIFETIME, "status": "pending",
                 "file_expires_after": new.expires_after.seconds if new.expires_after else None}
        record = filestore.store().put(self.records, filestore.new_key(), [], new.filename, new.purpose, extra)
        return self._object(record)

    def add_part(self, ref: ResourceId, part: Upload, options: Options) -> dict:
        record = self._pending(ref)
        store = filestore.store()
        key = filestore.new_key()
        chunks = uploads.capped(part.chunks, min(uploads.MAX_PART_BYTES, record.extra["declared"]))
        stored = store.put(self._parts(ref.native), key, chunks, "part", "upload_part")
        if self._record(ref).extra["status"] != "pending":  # completed or cancelled while this part came in
            store.delete(self._parts(ref.native), key)
            self._pending(ref)
        return {"id": uploads.PART_PREFIX + key, "object": "upload.part", "created_at": stored.created_at,
                "upload_id": ids.encode_upload(self.provider, ref.native)}

    def complete_upload(self, ref: ResourceId, done: CompleteUpload) -> dict:
        record = self._record(ref)
        if record.extra["status"] == "completed":  # a retried complete whose answer was lost
            return self._object(record)
        record = self._pending(ref)
        uploads.check_part_ids(done.part_ids)
        keys = [uploads.part_key(part_id, index) for index, part_id in enumerate(done.part_ids)]
        store, namespace = filestore.store(), self._parts(ref.native)
        total = 0
        for index, key in enumerate(keys):
            try:
                total += store.get(namespace, key).bytes
            except NotFound:
                raise uploads.unknown_part(done.part_ids[index], index) from None
        declared = record.extra["declared"]
        if total != declared:
            raise uploads.size_mismatch(total, declared)
        chunks: Iterator[bytes] = itertools.chain.from_iterable(store.open(namespace, key) for key in keys)
        if done.md5 is not None:
            chunks = uploads.md5_checked(chunks, done.md5)
        seconds = record.extra.get("file_expires_after")
        new = NewFile(record.purpose, ExpiresAfter("created_at", int(seconds)) if seconds else None, done.options)
        file = registry.get(self.provider).operations.create_file(
            new, Upload(record.filename, record.extra["mime_type"], chunks, size_hint=declared))
        self._drop_parts(ref.native)
        record = self._update(record, status="completed", file=file)
        return self._object(record)

    def cancel_upload(self, ref: ResourceId, options: Options) -> dict:
        record = self._record(ref)
        if record.extra["status"] == "cancelled":
            return self._object(record)
        record = self._pending(ref)
        self._drop_parts(ref.native)
        return self._object(self._update(record, status="cancelled"))

    # The records

    def _record(self, ref: ResourceId) -> filestore.StoredFile:
        try:
            return filestore.store().get(self.records, ref.native)
        except NotFound:
            raise NotFound(f"No such upload: {ids.encode_upload(self.provider, ref.native)!r}.") from None

    def _pending(self, ref: ResourceId) -> filestore.StoredFile:
        """The upload, if parts may still be added and it may be completed; else a 400 saying why not."""
        record = self._record(ref)
        status = record.extra["status"]
        if status == "pending" and uploads.now() >= record.extra["expires_at"]:
            self._drop_parts(ref.native)
            record, status = self._update(record, status="expired"), "expired"
        if status != "pending":
            raise uploads.not_pending(ids.encode_upload(self.provider, ref.native), status)
        return record

    def _update(self, record: filestore.StoredFile, **changes) -> filestore.StoredFile:
        return filestore.store().put(self.records, record.key, [], record.filename, record.purpose,
                                     {**record.extra, **changes})

    def _drop_parts(self, key: str) -> None:
        store, namespace = filestore.store(), self._parts(key)
        while True:
            page, _ = store.list(namespace, None, 1000)
            if not page:
                return
            for part in page:
                store.delete(namespace, part.key)

    def _object(self, record: filestore.StoredFile) -> dict:
        extra = record.extra
        return uploads.upload_object(
            ids.encode_upload(self.provider, record.key), declared=extra["declared"], created_at=extra["created"],
            expires_at=extra["expires_at"], filename=record.filename, purpose=record.purpose,
            status=extra["status"], file=extra.get("file"))
