"""The Uploads API on Vertex AI: the parts wait in the user's bucket, beside the files they become.

The rules are `storeduploads.StagedUploads`'; this is where the parts wait (`BucketParts`), so a
Vertex deployment needs no file store and the bucket stays the only source of truth. An upload made
in `gs://<bucket>/<prefix>` (`storage_config.gcs`, else the configured default) is the folder
`<prefix>/_uploads/<key>/` (its native ID `<bucket>/<prefix>/_uploads/<key>`, so every call finds it
again from the ID alone):

- `upload.json`: what create was told (never rewritten);
- `parts/<key>`: each part as it came in (ID `part_<key>`), removed by complete, cancel or expiry;
- `completed` (the file object, as JSON), `cancelled` or `expired`: the upload's end, written once
  (`ifGenerationMatch=0`), so two racing calls cannot both end it.

`complete` streams the listed parts in order through `operations.create_file` into the upload's
folder, as `POST /files` would (checked and converted line by line; a GCS compose takes at most 32
components and would not check the lines). The listing of the folder the files live in skips the
`_uploads/` sub-folder. Parts of an upload nobody touches again stay until a lifecycle rule on
`<prefix>/_uploads/` removes them (the gateway removes them when it next sees the upload expired).
Access is the bucket's, as for the files: the caller's Google token, or the gateway's credentials
within DEEPINTSHIELD_VERTEX_ALLOWED_BUCKETS.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import time
from collections.abc import Iterable, Iterator

from blueprints.common import filestore
from blueprints.common.storeduploads import StagedUploads
from blueprints.vertex import NAME, client
from blueprints.vertex import translate as tr
from blueprints.vertex.operations import _check_bucket, _location
from errors import BadRequest, NotFound, UpstreamError
from schemas.requests import UPLOAD_PURPOSES, GcsLocation, NewFile, NewUpload, Options

FOLDER = "_uploads"
RECORD = "upload.json"
ENDS = ("completed", "cancelled", "expired")
_GONE = "absent"


def _split(native: str) -> tuple[str, str]:
    """`(bucket, folder)` of an upload's native ID, the bucket checked against the allow-list."""
    bucket, folder = native.split("/", 1)
    _check_bucket(bucket, "upload_id")
    return bucket, folder


class BucketParts:
    """An upload's record, parts and end as objects in its folder (see the module docstring)."""

    def create(self, new: NewUpload, record: dict) -> str:
        if new.expires_after is not None:
            raise BadRequest("expires_after is not supported for Vertex AI files: Cloud Storage objects stay until "
                             "deleted (use a bucket lifecycle rule).", param="expires_after",
                             code="unsupported_parameter")
        location = _location(new.options)
        folder = "/".join(filter(None, (location.prefix, FOLDER, filestore.new_key())))
        body = json.dumps({**record, "prefix": location.prefix}).encode()
        client.upload(location.bucket, f"{folder}/{RECORD}", [body], content_type="application/json")
        return f"{location.bucket}/{folder}"

    def record(self, native: str) -> dict:
        bucket, folder = _split(native)
        record = json.loads(b"".join(client.download(bucket, f"{folder}/{RECORD}", missing=_GONE)))
        ends = {obj["name"].rpartition("/")[2] for obj in client.list_objects(bucket, f"{folder}/", folder_only=True)}
        for status in ENDS:
            if status in ends:
                record["status"] = status
                if status == "completed":
                    record["file"] = json.loads(b"".join(client.download(bucket, f"{folder}/{status}", missing=_GONE)))
                break
        return record

    def set_status(self, native: str, record: dict, status: str, file: dict | None = None) -> dict:
        bucket, folder = _split(native)
        try:
            client.upload(bucket, f"{folder}/{status}", [json.dumps(file).encode()] if file else [],
                          content_type="application/json")
        except UpstreamError as error:
            if error.status != 412:  # another call ended it first: its end stands
                raise
            return self.record(native)
        return {**record, "status": status, "file": file}

    def put_part(self, native: str, chunks: Iterable[bytes]) -> tuple[str, int]:
        bucket, folder = _split(native)
        key = filestore.new_key()
        obj = client.upload(bucket, f"{folder}/parts/{key}", chunks, content_type="application/octet-stream")
        created = obj.get("timeCreated")
        return key, (tr.timestamp(created) if isinstance(created, str) else None) or int(time.time())

    def part_size(self, native: str, key: str) -> int:
        bucket, folder = _split(native)
        return int(client.get_object(bucket, f"{folder}/parts/{key}", missing=_GONE).get("size") or 0)

    def open_part(self, native: str, key: str) -> Iterator[bytes]:
        bucket, folder = _split(native)
        return client.download(bucket, f"{folder}/parts/{key}", missing=_GONE)

    def drop_part(self, native: str, key: str) -> None:
        bucket, folder = _split(native)
        with contextlib.suppress(NotFound):  # already gone: the end wanted
            client.delete_object(bucket, f"{folder}/parts/{key}", missing=_GONE)

    def drop_parts(self, native: str) -> None:
        bucket, folder = _split(native)
        for obj in list(client.list_objects(bucket, f"{folder}/parts/")):
            self.drop_part(native, obj["name"].rpartition("/")[2])

    def new_file(self, native: str, record: dict, options: Options) -> NewFile:
        """The file goes where the upload was made, whatever the complete call says."""
        bucket, _ = _split(native)
        storage = GcsLocation(bucket, record.get("prefix") or "")
        return NewFile(record["purpose"], None, dataclasses.replace(options, storage=storage))


# `create_file` takes every purpose (a non-batch file is stored as it comes).
uploads = StagedUploads(NAME, UPLOAD_PURPOSES, BucketParts())
