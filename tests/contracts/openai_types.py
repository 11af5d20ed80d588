"""Strict checks against the official `openai` SDK types (test-only): what the gateway sends to
OpenAI, and what the OpenAI fake answers with: the Files/Batch API, and the synchronous endpoints a
gateway-run batch line is sent to."""

from __future__ import annotations

import openai.types
from openai.types import Batch, Completion, CreateEmbeddingResponse, FileDeleted, FileObject, Upload
from openai.types.batch_create_params import BatchCreateParams
from openai.types.chat import ChatCompletion
from openai.types.chat.completion_create_params import (
    CompletionCreateParamsNonStreaming as ChatCompletionCreateParams,
)
from openai.types.completion_create_params import CompletionCreateParamsNonStreaming as CompletionCreateParams
from openai.types.embedding_create_params import EmbeddingCreateParams
from openai.types.file_create_params import FileCreateParams
from openai.types.responses import Response
from openai.types.responses.response_create_params import ResponseCreateParamsNonStreaming as ResponseCreateParams
from openai.types.upload_complete_params import UploadCompleteParams
from openai.types.upload_create_params import UploadCreateParams
from openai.types.uploads import UploadPart

from tests.contracts import sdk_types


def strict(type_: object, value: object, what: str) -> object:
    return sdk_types.strict(openai.types, type_, value, what)


def check_batch_create(body: dict) -> None:
    """A `POST /batches` body."""
    strict(BatchCreateParams, body, "batch create body")


def check_upload(form: dict[str, str]) -> None:
    """The fields of a `POST /files` form (bracket-encoded as the SDK sends them), the file aside."""
    fields: dict = {"file": b""}
    for name, value in form.items():
        if name.startswith("expires_after[") and name.endswith("]"):
            key = name[len("expires_after["):-1]
            fields.setdefault("expires_after", {})[key] = int(value) if key == "seconds" else value
        else:
            fields[name] = value
    strict(FileCreateParams, fields, "upload form")


def check_upload_create(body: dict) -> None:
    """A `POST /uploads` body."""
    strict(UploadCreateParams, body, "upload create body")


def check_upload_complete(body: dict) -> None:
    """A `POST /uploads/{id}/complete` body."""
    strict(UploadCompleteParams, body, "upload complete body")


REPLY_TYPES = {"batch": Batch, "file": FileObject, "upload": Upload, "upload.part": UploadPart}


def check_reply(reply: dict) -> None:
    """A JSON reply of the Files/Batch API: one object, a deleted file, or a list page of them."""
    if reply.get("object") == "list":
        assert set(reply) == {"object", "data", "first_id", "last_id", "has_more"}, sorted(reply)
        for index, item in enumerate(reply["data"]):
            strict(REPLY_TYPES[item["object"]], item, f"list data[{index}]")
    elif reply.get("deleted") is not None:
        strict(FileDeleted, reply, "deleted file")
    else:
        strict(REPLY_TYPES[reply["object"]], reply, reply["object"])



# The synchronous endpoints a gateway-run batch line goes to: (request params, reply type) per path.
SYNC_TYPES: dict[str, tuple[object, object]] = {
    "chat/completions": (ChatCompletionCreateParams, ChatCompletion),
    "embeddings": (EmbeddingCreateParams, CreateEmbeddingResponse),
    "responses": (ResponseCreateParams, Response),
    "completions": (CompletionCreateParams, Completion),
}


def check_sync_request(path: str, body: dict) -> None:
    """A non-streaming `POST /<path>` body (`chat/completions`, `embeddings`, `responses`, `completions`)."""
    strict(SYNC_TYPES[path][0], body, f"{path} body")


def check_sync_reply(path: str, reply: dict) -> None:
    """The reply to a `POST /<path>`."""
    strict(SYNC_TYPES[path][1], reply, f"{path} reply")
