"""The usual OpenAI chat-completions batch line as msgspec Structs: the typed fast path's input.

`decode_chat_lines` decodes a whole block of JSONL lines at once into `ChatLine`s. The types
describe ONLY the common shape (text messages, a few sampling fields): unknown keys are refused
(`forbid_unknown_fields`) and there is no free-form value anywhere, so anything unusual (and any
deep nesting) fails the decode, and the block goes the per-line way, which names the problem.

A field the body leaves out is `UNSET` (distinct from an explicit null): each translator's fast
path decides which values it translates exactly like its per-line path, and declines the rest.
Numbers keep their JSON type (`1` stays an int, `1.0` a float) so the output bytes match.
The Structs are not tracked by the cyclic GC (`gc=False`: they hold only strings, numbers and
lists of each other, so no cycle): a block makes thousands, and tracking them made the GC's
collections, which could free none of them, cost about as much as the translation.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, UnsetType

__all__ = ["UNSET", "ChatBody", "ChatLine", "Message", "TextPart", "UnsetType", "decode_chat_lines"]

Number = int | float


class TextPart(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    type: Literal["text"]
    text: str


class Message(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    role: str
    content: str | list[TextPart]


class ChatBody(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    messages: list[Message]
    model: str | None | UnsetType = UNSET
    max_tokens: int | None | UnsetType = UNSET
    max_completion_tokens: int | None | UnsetType = UNSET
    temperature: Number | None | UnsetType = UNSET
    top_p: Number | None | UnsetType = UNSET
    stop: str | list[str] | None | UnsetType = UNSET
    n: int | None | UnsetType = UNSET
    stream: bool | None | UnsetType = UNSET


class ChatLine(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    custom_id: Annotated[str, msgspec.Meta(min_length=1)]
    method: str
    url: str
    body: ChatBody


_decode = msgspec.json.Decoder(ChatLine).decode_lines


def decode_chat_lines(block: bytes) -> list[ChatLine] | None:
    """The lines of `block` (blank lines skipped) as `ChatLine`s; None if any line is not of that shape."""
    try:
        return _decode(block)
    except (msgspec.DecodeError, RecursionError):  # ValidationError is a DecodeError
        return None
