"""Files and batches on an OpenAI-shaped API: OpenAI's own, Azure OpenAI's, a configured compatible host.

`OpenAIShaped` is the nine operations over one such API, given how to reach it (a `client.Client`,
built per request from the settings), how a batch file is checked on its way up, and which batch
endpoints the API takes under which spelling. This module's own functions are OpenAI's.

Uploads stream straight through (multipart in, multipart out, one chunk in memory), checked line
by line on the way when `purpose=batch`. Replies go through the response schemas in the dispatcher,
so a strict SDK accepts them.

What differs with the provider's ID scheme (`blueprints/registry.py`):
- OpenAI (no ID code): its IDs are the gateway's, and everything is relayed as it is, result files
  included (`content` streams back byte for byte).
- A provider with an ID code (Azure, configured hosts): its IDs are encoded, so follow-up calls find
  it without `provider`; replies are normalised into OpenAI's objects (`replies.py`); and a batch
  that offers results gets the gateway's output and error files, each converted from all of the
  provider's result lines (`converted_lines`): the provider's output file, then its error file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping

from flask import current_app, stream_with_context

from blueprints import registry
from blueprints.common import http, mapping, streams
from blueprints.common.multipart import multipart_body
from blueprints.common.streams import Content, Upload, Watched
from blueprints.dispatcher import ids
from blueprints.dispatcher.ids import ResourceId
from blueprints.openai import client as clients
from blueprints.openai import replies
from errors import BadRequest, NotFound
from schemas.requests import BatchQuery, FileQuery, NewBatch, NewFile, Options
from translators import batch_output, jsonl
from translators import openai_shapes as shapes

JSONL = "application/jsonl"

# A purpose=batch upload's chunks -> the same chunks, checked line by line as they pass.
UploadCheck = Callable[[Iterable[bytes]], Iterator[bytes]]


def openai_lines(setting: str) -> UploadCheck:
    """The shared OpenAI batch-file rules, with the request cap in the config key `setting` (0: none)."""
    def check(chunks: Iterable[bytes]) -> Iterator[bytes]:
        cap = int(current_app.config[setting])
        return jsonl.checked_chunks(chunks, jsonl.BatchInputCheck((jsonl.OPENAI,), max_requests=cap))
    return check


class OpenAIShaped:
    """The nine operations (docs/provider-interface.md) over one OpenAI-shaped Files and Batch API."""

    def __init__(self, name: str, client: Callable[[], clients.Client], upload_check: UploadCheck,
                 endpoints: Callable[[], Mapping[str, str]] | None = None) -> None:
        self.name = name
        self.client = client  # the upstream for this request
        self.upload_check = upload_check
        # The batch endpoints the API takes: the client's spelling (`/v1/…`) -> the upstream's. None: any
        # endpoint the request schema takes, as it is. The first is the default of a batch whose
        # reply has none.
        self.endpoints = endpoints

    @property
    def relayed(self) -> bool:
        """Whether the provider's own IDs are the gateway's (OpenAI): then nothing is rewritten."""
        return registry.get(self.name).code is None

    # Files

    def create_file(self, new: NewFile, upload: Upload) -> dict:
        chunks = self.upload_check(upload.chunks) if new.purpose == "batch" else upload.chunks
        fields = [("purpose", new.purpose)]
        if new.expires_after:
            fields += [("expires_after[anchor]", new.expires_after.anchor),
                       ("expires_after[seconds]", str(new.expires_after.seconds))]
        watched = Watched(chunks)
        content_type, body = multipart_body(fields, upload.filename, upload.content_type or JSONL, watched)
        try:
            reply = self.client().call_json("POST", "files", creates=True, data=body,
                                            headers={"Content-Type": content_type})
        except Exception:
            if watched.error is not None:
                raise watched.error from None
            raise
        return self._file(reply, created=True)

    def list_files(self, query: FileQuery) -> dict:
        after = self._native_file(query.after) if query.after else None
        params = {"purpose": query.purpose, "limit": query.limit, "order": query.order, "after": after}
        reply = self.client().call_json("GET", "files", params={k: v for k, v in params.items() if v is not None})
        if self.relayed:
            return reply
        listed = mapping.mapped(self.name, "file list", _listed, reply, self._file_or_none)
        return {"data": listed, "has_more": bool(reply.get("has_more"))}

    def retrieve_file(self, ref: ResourceId, options: Options) -> dict:
        if ref.kind != "file":
            return self._result_file(ref)
        return self._file(self.client().call_json("GET", "files", ref.native))

    def delete_file(self, ref: ResourceId, options: Options) -> dict:
        if ref.kind != "file":
            batch = self.client().call_json("GET", "batches", ref.native)
            sources = [ids.encode_file(self.name, file_id) for file_id in _result_sources(batch)]
            raise BadRequest(f"The {ref.kind} file of a {self.name} batch is converted from the provider's own "
                             f"result files; delete those instead: {', '.join(sources) or 'none is left'}.",
                             param="file_id", code="derived_file")
        reply = self.client().call_json("DELETE", "files", ref.native)
        if self.relayed:
            return reply
        return {"id": ids.encode_file(self.name, ref.native), "object": "file", "deleted": bool(reply.get("deleted"))}

    def file_content(self, ref: ResourceId, options: Options) -> Content:
        if ref.kind != "file":
            batch = self.client().call_json("GET", "batches", ref.native)
            chunks = batch_output.jsonl_chunks(self._converted(batch), successes=ref.kind == "output")
            # Primed here, in the view, so an upstream error before the first byte is still an HTTP
            # error; the error file is fetched while streaming, which needs the request's context.
            return Content(stream_with_context(streams.primed(chunks)), JSONL, None,
                           f"{ids.encode_batch(self.name, ref.native)}_{ref.kind}.jsonl", on_close=chunks.close)
        response = self.client().call("GET", "files", ref.native, "content", stream=True)
        length = response.headers.get("Content-Length")
        return Content(
            chunks=http.streamed(response, provider=self.name),
            content_type=response.headers.get("Content-Type", "application/octet-stream"),
            length=int(length) if length and "Content-Encoding" not in response.headers else None,
        )

    # Batches

    def create_batch(self, new: NewBatch) -> dict:
        if not new.input_file_id:
            raise BadRequest(f"input_file_id is required for {self.name} batches.", param="input_file_id")
        source = ids.decode_file(new.input_file_id, self.name)  # a file issued for another provider is a 404
        if source.kind != "file":
            raise BadRequest(f"{new.input_file_id!r} is a batch's {source.kind} file; upload the input as a file.",
                             param="input_file_id")
        body = {"input_file_id": source.native, "endpoint": self._upstream_endpoint(new.endpoint),
                "completion_window": new.completion_window}
        if new.metadata is not None:
            body["metadata"] = new.metadata
        if new.output_expires_after is not None:
            body["output_expires_after"] = {"anchor": new.output_expires_after.anchor,
                                            "seconds": new.output_expires_after.seconds}
        reply = self.client().call_json("POST", "batches", creates=True, json=body)
        if self.relayed:
            return reply
        try:
            return replies.batch_object(self.name, reply, endpoint=new.endpoint)
        except mapping.UNMAPPABLE:  # it exists upstream: answer with what is known rather than a 5xx
            native = reply.get("id")
            if not isinstance(native, str):
                raise
            return mapping.created_batch(ids.encode_batch(self.name, native), new, "validating",
                                         metadata=new.metadata)

    def retrieve_batch(self, ref: ResourceId, options: Options) -> dict:
        return self._batch(self.client().call_json("GET", "batches", ref.native))

    def list_batches(self, query: BatchQuery) -> dict:
        params: dict = {"limit": query.limit}
        if query.after:
            params["after"] = ids.decode_batch(query.after, self.name).native
        reply = self.client().call_json("GET", "batches", params=params)
        if self.relayed:
            return reply
        listed = mapping.mapped(self.name, "batch list", _listed, reply, self._batch)
        return {"data": listed, "has_more": bool(reply.get("has_more"))}

    def cancel_batch(self, ref: ResourceId, options: Options) -> dict:
        return self._batch(self.client().call_json("POST", "batches", ref.native, "cancel"))

    # Replies

    def _file(self, reply: dict, *, created: bool = False) -> dict:
        if self.relayed:
            return reply
        file = mapping.mapped(self.name, "file", replies.file_object, self.name, reply)
        if file is None:
            if created:  # just uploaded and already being deleted: say what the provider said
                raise NotFound(f"The {self.name} file {reply.get('id')!r} is being deleted.")
            raise NotFound(f"No such file: {ids.encode_file(self.name, str(reply.get('id')))!r} (deleted).")
        return file

    def _file_or_none(self, reply: dict) -> dict | None:
        return replies.file_object(self.name, reply)

    def _batch(self, reply: dict) -> dict:
        if self.relayed:
            return reply
        return mapping.mapped(self.name, "batch", replies.batch_object, self.name, reply,
                              endpoint=self._default_endpoint())

    def _native_file(self, gateway_id: str) -> str:
        return gateway_id if self.relayed else ids.decode_file(gateway_id, self.name).native

    def _upstream_endpoint(self, endpoint: str) -> str:
        if self.endpoints is None:
            return endpoint
        endpoints = self.endpoints()
        if endpoint not in endpoints:
            raise BadRequest(f"{self.name} batches take endpoint {' or '.join(map(repr, endpoints))}, not "
                             f"{endpoint!r}.", param="endpoint", code="unsupported_endpoint")
        return endpoints[endpoint]

    def _default_endpoint(self) -> str:
        return next(iter(self.endpoints()), jsonl.CHAT_COMPLETIONS) if self.endpoints else jsonl.CHAT_COMPLETIONS

    # Result files

    def _result_file(self, ref: ResourceId) -> dict:
        """The FileObject of a batch's output or error file (its size is that of the converted lines)."""
        batch = self.client().call_json("GET", "batches", ref.native)
        if not _result_sources(batch):
            raise NotFound(f"The batch {ids.encode_batch(self.name, ref.native)!r} has no results yet.")
        lines = batch_output.jsonl_chunks(self._converted(batch), successes=ref.kind == "output")
        ended = next((batch.get(name) for name in shapes.ENDED_AT.values() if batch.get(name)), None)
        created = mapping.mapped(self.name, "batch", replies.to_unix, ended or batch.get("created_at"))
        return shapes.file_object(
            id=ids.encode_file(self.name, ref.native, ref.kind), bytes=sum(len(chunk) for chunk in lines),
            created_at=created or 0, filename=f"{ids.encode_batch(self.name, ref.native)}_{ref.kind}.jsonl",
            purpose="batch_output")

    def _converted(self, batch: dict) -> Iterator[dict]:
        """The gateway's lines for every result line of the provider's output file, then its error file."""
        sources = _result_sources(batch)
        if not sources:
            raise NotFound(f"The batch {batch.get('id')!r} has no results yet.")
        return batch_output.converted_lines(self._records(sources), replies.result_line, replies.identify,
                                            provider=self.name)

    def _records(self, sources: list[str]) -> Iterator[tuple[int, bytes]]:
        number = 0
        for file_id in sources:
            response = self.client().call("GET", "files", file_id, "content", stream=True)
            for raw in jsonl.split_lines(http.streamed(response, provider=self.name)):
                number += 1
                if raw.strip():
                    yield number, raw


def _result_sources(batch: dict) -> list[str]:
    """The provider's result files of a batch: its output file, then its error file ("" is none)."""
    return [file_id for file_id in (batch.get("output_file_id"), batch.get("error_file_id"))
            if isinstance(file_id, str) and file_id]


def _listed(reply: dict, convert: Callable[[dict], dict | None]) -> list[dict]:
    return [item for item in (convert(entry) for entry in reply["data"]) if item is not None]


# OpenAI's own operations

OPENAI = OpenAIShaped(clients.NAME, clients.openai, openai_lines("OPENAI_MAX_BATCH_REQUESTS"))

create_file = OPENAI.create_file
list_files = OPENAI.list_files
retrieve_file = OPENAI.retrieve_file
delete_file = OPENAI.delete_file
file_content = OPENAI.file_content
create_batch = OPENAI.create_batch
retrieve_batch = OPENAI.retrieve_batch
list_batches = OPENAI.list_batches
cancel_batch = OPENAI.cancel_batch
