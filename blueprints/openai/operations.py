"""OpenAI files and batches: validated where the gateway adds rules, otherwise relayed as they are.

Uploads stream straight through (multipart in, multipart out, one chunk in memory), checked line
by line on the way when `purpose=batch`. `content` streams back. Replies go through the response
schemas in the dispatcher, so a strict SDK accepts them.
"""

from __future__ import annotations

from flask import current_app

from blueprints.common import http
from blueprints.common.multipart import multipart_body
from blueprints.common.streams import Content, Upload, Watched
from blueprints.dispatcher import ids
from blueprints.dispatcher.ids import ResourceId
from blueprints.openai import client
from errors import BadRequest
from schemas.requests import BatchQuery, FileQuery, NewBatch, NewFile, Options
from translators import jsonl


def create_file(new: NewFile, upload: Upload) -> dict:
    chunks = upload.chunks
    if new.purpose == "batch":
        cap = current_app.config["OPENAI_MAX_BATCH_REQUESTS"]
        chunks = jsonl.checked_chunks(chunks, jsonl.BatchInputCheck((jsonl.OPENAI,), max_requests=cap))
    fields = [("purpose", new.purpose)]
    if new.expires_after:
        fields += [("expires_after[anchor]", new.expires_after.anchor),
                   ("expires_after[seconds]", str(new.expires_after.seconds))]
    watched = Watched(chunks)
    content_type, body = multipart_body(fields, upload.filename, upload.content_type, watched)
    try:
        return client.call_json("POST", "files", creates=True, data=body, headers={"Content-Type": content_type})
    except Exception:
        if watched.error is not None:
            raise watched.error from None
        raise


def list_files(query: FileQuery) -> dict:
    params = {"purpose": query.purpose, "limit": query.limit, "order": query.order, "after": query.after}
    return client.call_json("GET", "files", params={k: v for k, v in params.items() if v is not None})


def retrieve_file(ref: ResourceId, options: Options) -> dict:
    return client.call_json("GET", "files", ref.native)


def delete_file(ref: ResourceId, options: Options) -> dict:
    return client.call_json("DELETE", "files", ref.native)


def file_content(ref: ResourceId, options: Options) -> Content:
    response = client.call("GET", "files", ref.native, "content", stream=True)
    length = response.headers.get("Content-Length")
    return Content(
        chunks=http.streamed(response, provider=client.NAME),
        content_type=response.headers.get("Content-Type", "application/octet-stream"),
        length=int(length) if length and "Content-Encoding" not in response.headers else None,
    )


def create_batch(new: NewBatch) -> dict:
    if not new.input_file_id:
        raise BadRequest("input_file_id is required for OpenAI batches.", param="input_file_id")
    ids.decode_file(new.input_file_id, "openai")  # a file issued for another provider is a 400
    body = {"input_file_id": new.input_file_id, "endpoint": new.endpoint,
            "completion_window": new.completion_window}
    if new.metadata is not None:
        body["metadata"] = new.metadata
    if new.output_expires_after is not None:
        body["output_expires_after"] = {"anchor": new.output_expires_after.anchor,
                                        "seconds": new.output_expires_after.seconds}
    return client.call_json("POST", "batches", creates=True, json=body)


def retrieve_batch(ref: ResourceId, options: Options) -> dict:
    return client.call_json("GET", "batches", ref.native)


def list_batches(query: BatchQuery) -> dict:
    params = {"limit": query.limit}
    if query.after:
        params["after"] = query.after
    return client.call_json("GET", "batches", params=params)


def cancel_batch(ref: ResourceId, options: Options) -> dict:
    return client.call_json("POST", "batches", ref.native, "cancel")
