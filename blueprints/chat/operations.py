"""The nine Files/Batch operations for a server declared in `DEEPINTSHIELD_CHAT_ENDPOINTS`.

Such a server has no Files or Batch API, so: uploaded `purpose=batch` files are kept in the gateway's
file store (`blueprints/common/storedfiles.py`, namespace = the provider's name), checked line by line
as they arrive (the shared batch-file rules, and a url the server runs: `ENDPOINTS`); every batch, and
its output and error files, are the gateway-run core's (`blueprints/gateway/operations.py`), which
runs the lines through `realtime.py`. One `ChatOperations` per declared server (its name is all they need).
"""

from __future__ import annotations

from blueprints.chat import ENDPOINTS
from blueprints.common import storedfiles
from blueprints.common.streams import Content, Upload
from blueprints.dispatcher.ids import ResourceId
from errors import BadRequest
from schemas.requests import BatchQuery, FileQuery, NewBatch, NewFile, Options
from translators import jsonl


class Lines(jsonl.BatchInputCheck):
    """The shared batch-file rules for OpenAI lines, plus: the file's url is one these servers run."""

    def __init__(self) -> None:
        super().__init__((jsonl.OPENAI,))

    def __call__(self, number: int, obj: dict) -> dict:
        super().__call__(number, obj)
        if obj["url"] not in ENDPOINTS:
            raise BadRequest(f"Line {number} has url {obj['url']!r}; a server without a batch API runs "
                             f"{', '.join(ENDPOINTS)}.", param=f"line {number}: url", code="invalid_batch_line")
        return obj

    def check_block(self, number: int, block: bytes) -> int:
        # The shared rules keep every line on the first one's url: once that is a served one, whole blocks
        # at a time; before, line by line, so the first line's url is checked here.
        if self.url in ENDPOINTS:
            return super().check_block(number, block)
        return jsonl.check_each(self, number, block.split(b"\n")[:-1])


class ChatOperations:
    """The operations of the declared server `name`."""

    def __init__(self, name: str) -> None:
        self.name = name

    # Files: the uploads in the file store; a batch's result files from the gateway-run core

    def create_file(self, new: NewFile, upload: Upload) -> dict:
        if new.purpose != "batch":
            raise BadRequest(f"{self.name} has no Files API: the gateway keeps only batch input files for it "
                             "(purpose=batch).", param="purpose")
        return storedfiles.create(self.name, new, upload, Lines())

    def list_files(self, query: FileQuery) -> dict:
        return storedfiles.listing(self.name, query)

    def retrieve_file(self, ref: ResourceId, options: Options) -> dict:
        if ref.kind == "file":
            return storedfiles.retrieve(self.name, ref.native)
        from blueprints.gateway import operations as gateway

        return gateway.retrieve_file(ref, options)

    def delete_file(self, ref: ResourceId, options: Options) -> dict:
        if ref.kind == "file":
            return storedfiles.delete(self.name, ref.native)
        from blueprints.gateway import operations as gateway

        return gateway.delete_file(ref, options)

    def file_content(self, ref: ResourceId, options: Options) -> Content:
        if ref.kind == "file":
            return storedfiles.content(self.name, ref.native)
        from blueprints.gateway import operations as gateway

        return gateway.file_content(ref, options)

    # Batches: all run by the gateway (imported when used: the core needs its task queue)

    def create_batch(self, new: NewBatch) -> dict:
        from blueprints.gateway import operations as gateway

        return gateway.create_batch(self.name, new)

    def retrieve_batch(self, ref: ResourceId, options: Options) -> dict:
        from blueprints.gateway import operations as gateway

        return gateway.retrieve_batch(ref, options)

    def list_batches(self, query: BatchQuery) -> dict:
        from blueprints.gateway import operations as gateway

        return gateway.list_batches(self.name, query)

    def cancel_batch(self, ref: ResourceId, options: Options) -> dict:
        from blueprints.gateway import operations as gateway

        return gateway.cancel_batch(ref, options)
