"""The Uploads API on Bedrock: parts staged in the user's bucket, completed into an ordinary Bedrock file
(the S3 object `POST /files` with provider bedrock makes, in the same bucket and prefix).

Stateless like the rest of Bedrock: the bucket is the source of truth. An upload is a staging folder
inside the storage prefix, `<prefix>/_uploads/<token>/` (a sub-folder, so `list_files`, which lists the
`.jsonl` objects directly under the prefix, never shows it), holding

- `upload.json`: what create was told (`bytes`, `filename`, `mime_type`, `purpose`), `created`,
  `expires_at`, `status`, and once completed the file object;
- `parts/<key>`: each part as it streamed in, its ID `part_<key>`.

The upload ID carries `region/bucket/<prefix>/_uploads/<token>`, so any worker serves the next call.
The semantics are the file store's (`blueprints/common/storeduploads.py`): a part sent twice is just
another part, only those `complete` lists count, and complete, cancel or finding the upload expired
removes every part. `complete` streams the listed parts in order through the checks of `POST /files`
(`operations.checked`, plus `md5`) and then assembles the file server-side (UploadPartCopy, no bytes
re-sent) when every part but the last holds S3's 5 MiB part minimum, else streams the checked parts
up again as `POST /files` does. A failed check stores nothing.
"""

from __future__ import annotations

import collections
import itertools
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass

from blueprints.bedrock import NAME, client, operations
from blueprints.common import filestore, uploads
from blueprints.common.streams import Upload
from blueprints.dispatcher import ids
from blueprints.dispatcher.ids import ResourceId
from errors import APIError, NotFound
from schemas.requests import UPLOAD_LIFETIME, CompleteUpload, NewUpload, Options, S3Location

log = logging.getLogger("deepintshield")

STAGING = "_uploads"
RECORD = "upload.json"
MIN_COPY_PART = 5 * 1024**2  # S3's minimum for every part of a multipart upload but the last
_FOLDER = re.compile(rf"^(?:(?P<prefix>.+)/)?{STAGING}/(?P<token>[0-9a-f]{{24}})$")
_STATUSES = ("pending", "completed", "cancelled", "expired")


@dataclass(frozen=True)
class _Staging:
    """Where one upload lives: `s3://<bucket>/<folder>/`, inside the storage prefix `prefix`."""

    region: str
    bucket: str
    prefix: str
    folder: str

    @classmethod
    def of(cls, ref: ResourceId) -> _Staging:
        """The staging folder an upload ID names; an ID no upload can have is a 404."""
        region, bucket, folder = ref.native.split("/", 2)
        match = _FOLDER.fullmatch(folder)
        if not match:
            raise NotFound(f"No such upload: {ids.encode_upload(NAME, ref.native)!r}.", param="upload_id")
        operations.check_bucket(bucket, "upload_id")
        return cls(region, bucket, match["prefix"] or "", folder)

    @property
    def upload_id(self) -> str:
        return ids.encode_upload(NAME, f"{self.region}/{self.bucket}/{self.folder}")

    @property
    def record(self) -> str:
        return f"{self.folder}/{RECORD}"

    @property
    def parts(self) -> str:
        return f"{self.folder}/parts/"

    def part(self, key: str) -> str:
        return self.parts + key


class BedrockUploads:
    """The four Uploads calls over staging folders in S3."""

    def create_upload(self, new: NewUpload) -> dict:
        operations.check_new_file(new.purpose, new.expires_after is not None)
        location = operations.storage_location(new.options)
        operations.new_file_key(location, new.filename)  # a prefix no file can live under: a 400 now, not at complete
        token = filestore.new_key()
        folder = f"{location.prefix}/{STAGING}/{token}" if location.prefix else f"{STAGING}/{token}"
        staging = _Staging(location.region or "", location.bucket, location.prefix, folder)  # region: filled in
        now = uploads.now()
        record = {"bytes": new.bytes, "filename": new.filename, "mime_type": new.mime_type, "purpose": new.purpose,
                  "created": now, "expires_at": now + UPLOAD_LIFETIME, "status": "pending", "file": None}
        client.put_json(staging.region, staging.bucket, staging.record, record)
        return _object(staging, record)

    def add_part(self, ref: ResourceId, part: Upload, options: Options) -> dict:
        staging = _Staging.of(ref)
        record = _pending(staging, _record(staging))
        key = filestore.new_key()
        chunks = uploads.capped(part.chunks, min(uploads.MAX_PART_BYTES, record["bytes"]))
        client.upload(staging.region, staging.bucket, staging.part(key), chunks)
        if _record(staging)["status"] != "pending":  # completed or cancelled while this part came in
            client.delete(staging.region, staging.bucket, staging.part(key))
            _pending(staging, _record(staging))
        return {"id": uploads.PART_PREFIX + key, "object": "upload.part", "created_at": uploads.now(),
                "upload_id": staging.upload_id}

    def complete_upload(self, ref: ResourceId, done: CompleteUpload) -> dict:
        staging = _Staging.of(ref)
        record = _record(staging)
        if record["status"] == "completed":  # a retried complete whose answer was lost
            _drop_parts(staging)  # what a clean-up that failed left
            return _object(staging, record)
        record = _pending(staging, record)
        uploads.check_part_ids(done.part_ids)
        keys = [uploads.part_key(part_id, index) for index, part_id in enumerate(done.part_ids)]
        found = _listed_parts(staging, set(keys))
        for index, key in enumerate(keys):
            if key not in found:
                raise uploads.unknown_part(done.part_ids[index], index)
        total = sum(found[key][0] for key in keys)
        if total != record["bytes"]:
            raise uploads.size_mismatch(total, record["bytes"])

        location = S3Location(staging.bucket, staging.region, staging.prefix)
        file_key = operations.new_file_key(location, record["filename"])
        chunks: Iterator[bytes] = itertools.chain.from_iterable(
            _part_chunks(staging, key, found[key][1]) for key in keys)
        if done.md5 is not None:
            chunks = uploads.md5_checked(chunks, done.md5)
        chunks = operations.checked(chunks)
        copied = [(staging.part(key), found[key][1]) for key in keys if found[key][0]]  # empty parts add nothing
        if copied and all(found[key][0] >= MIN_COPY_PART for key in keys[:-1] if found[key][0]):
            collections.deque(chunks, maxlen=0)  # every check first: nothing is written unless all of it passes
            client.copy_parts(staging.region, staging.bucket, file_key, copied)
        else:  # parts below S3's minimum cannot be copied as parts: the checked bytes go up again
            client.upload(staging.region, staging.bucket, file_key, chunks)
        file = operations.stored_file(staging.region, staging.bucket, file_key)

        record = {**record, "status": "completed", "file": file}
        try:  # the file exists: from here on, a failure is logged, never the answer
            _save(staging, record)
            _drop_parts(staging)  # after the record says completed, so a part arriving now removes itself
        except APIError as error:
            log.warning("bedrock upload %s: completed into %s, but its staging was not updated: %s",
                        staging.upload_id, file["id"], error.message)
        return _object(staging, record)

    def cancel_upload(self, ref: ResourceId, options: Options) -> dict:
        staging = _Staging.of(ref)
        record = _record(staging)
        if record["status"] != "cancelled":
            record = {**_pending(staging, record), "status": "cancelled"}
            _save(staging, record)
        _drop_parts(staging)
        return _object(staging, record)


# The record and the parts


def _record(staging: _Staging) -> dict:
    record = client.read_json(staging.region, staging.bucket, staging.record)
    if record is None or record.get("status") not in _STATUSES:
        raise NotFound(f"No such upload: {staging.upload_id!r}.", param="upload_id")
    return record


def _pending(staging: _Staging, record: dict) -> dict:
    """The upload, if parts may still be added and it may be completed; else a 400 saying why not.
    Found expired, it is marked so and its parts go."""
    status = record["status"]
    if status == "pending" and uploads.now() >= record["expires_at"]:
        status = "expired"
        _save(staging, {**record, "status": status})
        _drop_parts(staging)
    if status != "pending":
        raise uploads.not_pending(staging.upload_id, status)
    return record


def _save(staging: _Staging, record: dict) -> None:
    client.put_json(staging.region, staging.bucket, staging.record, record)


def _drop_parts(staging: _Staging) -> None:
    client.delete_under(staging.region, staging.bucket, staging.parts)


def _listed_parts(staging: _Staging, wanted: set[str]) -> dict[str, tuple[int, str]]:
    """`key -> (size, ETag)` of the wanted parts that exist (one listing per thousand parts; only the
    wanted ones are kept, so parts sent and never listed cost no memory)."""
    found = {}
    for item in client.list_objects(staging.region, staging.bucket, staging.parts):
        key = item["Key"][len(staging.parts):]
        if key in wanted:
            found[key] = (int(item["Size"]), item["ETag"])
    return found


def _part_chunks(staging: _Staging, key: str, etag: str) -> Iterator[bytes]:
    """A part's bytes, opened when reached; the part as listed (its ETag) or an error."""
    reply = client.open_object(staging.region, staging.bucket, staging.part(key), if_match=etag, param="part_ids",
                               missing=f"Part part_{key} was removed while the upload was completed.")
    yield from client.chunks(reply["Body"])


def _object(staging: _Staging, record: dict) -> dict:
    return uploads.upload_object(
        staging.upload_id, declared=record["bytes"], created_at=record["created"], expires_at=record["expires_at"],
        filename=record["filename"], purpose=record["purpose"], status=record["status"], file=record.get("file"))


UPLOADS = BedrockUploads()
