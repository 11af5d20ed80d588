"""Streamed multipart/form-data bodies for relaying an upload without holding it in memory."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\r", "").replace("\n", "")


def multipart_body(
    fields: Iterable[tuple[str, str]], filename: str, file_type: str, chunks: Iterable[bytes],
    file_field: str = "file",
) -> tuple[str, Iterator[bytes]]:
    """(Content-Type header, body chunks): the plain fields, then one `file_field` part streamed from `chunks`.

    The body is a generator, so requests sends it chunked; nothing is buffered beyond one chunk.
    """
    boundary = uuid.uuid4().hex
    head = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{_quote(name)}"\r\n\r\n{value}\r\n'
        for name, value in fields
    ]
    head.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{_quote(file_field)}"; '
        f'filename="{_quote(filename)}"\r\n'
        f"Content-Type: {_quote(file_type)}\r\n\r\n"
    )

    def body() -> Iterator[bytes]:
        yield "".join(head).encode()
        yield from chunks
        yield f"\r\n--{boundary}--\r\n".encode()

    return f"multipart/form-data; boundary={boundary}", body()
