"""The Uploads API on OpenAI itself: each call relayed to `/v1/uploads…`, parts streamed as they arrive.

OpenAI's upload and part IDs are the gateway's (its provider has no ID code), and its replies are
OpenAI's objects, so nothing is rewritten. Only OpenAI is served this way: whether Azure OpenAI or a
declared compatible host has the Uploads API is not known, and those are a 400 (`Provider.uploads`).
"""

from __future__ import annotations

from collections.abc import Callable

from blueprints.common import uploads
from blueprints.common.multipart import multipart_body
from blueprints.common.streams import Upload, Watched
from blueprints.dispatcher.ids import ResourceId
from blueprints.openai import client as clients
from schemas.requests import CompleteUpload, NewUpload, Options


class RelayedUploads:
    """The four Uploads calls over one OpenAI-shaped API whose IDs are the gateway's."""

    def __init__(self, client: Callable[[], clients.Client]) -> None:
        self.client = client

    def create_upload(self, new: NewUpload) -> dict:
        body: dict = {"bytes": new.bytes, "filename": new.filename, "mime_type": new.mime_type,
                      "purpose": new.purpose}
        if new.expires_after:
            body["expires_after"] = {"anchor": new.expires_after.anchor, "seconds": new.expires_after.seconds}
        return self.client().call_json("POST", "uploads", creates=True, json=body)

    def add_part(self, ref: ResourceId, part: Upload, options: Options) -> dict:
        watched = Watched(uploads.capped(part.chunks))
        content_type, body = multipart_body([], part.filename, part.content_type, watched, file_field="data")
        try:
            return self.client().call_json("POST", "uploads", ref.native, "parts", creates=True, data=body,
                                           headers={"Content-Type": content_type})
        except Exception:
            if watched.error is not None:  # the part's own fault (too large), not OpenAI's
                raise watched.error from None
            raise

    def complete_upload(self, ref: ResourceId, done: CompleteUpload) -> dict:
        uploads.check_part_ids(done.part_ids)
        body: dict = {"part_ids": done.part_ids}
        if done.md5 is not None:
            body["md5"] = done.md5
        return self.client().call_json("POST", "uploads", ref.native, "complete", creates=True, json=body)

    def cancel_upload(self, ref: ResourceId, options: Options) -> dict:
        return self.client().call_json("POST", "uploads", ref.native, "cancel")


OPENAI = RelayedUploads(clients.openai)
