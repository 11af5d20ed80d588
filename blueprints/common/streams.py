"""Streamed bodies handed from provider operations to the dispatcher, and the upload they read."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

# Chunk size for relaying a stored or upstream body: per-chunk costs (Python calls, small writes)
# dominated downloads at 64 KiB; 1 MiB chunks stay a small, fixed amount of memory per transfer.
RELAY_CHUNK = 1024 * 1024


class FileBody:
    """The chunks of an open local file, read as they are asked for; `file` is there for a server that
    can send the file itself.

    gunicorn hands a WSGI file wrapper to `sendfile(2)` (`PacedSocket.sendfile` in our worker), so
    a stored file goes from the page cache to the socket without passing through Python; any other
    consumer iterates. `close()` closes the file whether or not it was read.
    """

    def __init__(self, file: BinaryIO, chunk: int = RELAY_CHUNK) -> None:
        self.file = file
        self._chunk = chunk

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        data = self.file.read(self._chunk)
        if not data:
            self.close()
            raise StopIteration
        return data

    def close(self) -> None:
        self.file.close()


@dataclass
class Content:
    """A file body to stream back to the client, chunk by chunk."""

    chunks: Iterator[bytes]
    content_type: str = "application/octet-stream"
    length: int | None = None
    filename: str | None = None
    on_close: Callable[[], None] | None = None


@dataclass
class Upload:
    """The file part of a multipart upload, still unread: `chunks` yields its bytes once."""

    filename: str
    content_type: str
    chunks: Iterator[bytes]
    size_hint: int | None = None  # the request's Content-Length: an upper bound, not the file size
    extra: dict = field(default_factory=dict)


class ChunkReader:
    """A `read()`-able file object over a chunk iterator (for boto3's `upload_fileobj`).

    Holds at most one requested read plus one chunk; counts the bytes it handed out.
    """

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._buffer = bytearray()
        self.size = 0

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._buffer) < size:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._buffer += chunk
        if size < 0 or size >= len(self._buffer):
            data = bytes(self._buffer)
            self._buffer.clear()
        else:
            data = bytes(self._buffer[:size])
            del self._buffer[:size]
        self.size += len(data)
        return data


class Watched:
    """Wraps a body iterator handed to an HTTP client, remembering an error raised while it is read.

    A validation error raised mid-upload reaches us wrapped (or replaced) by the HTTP client's own
    exception; `error` keeps the original so the client gets the 400 that names the bad line.
    """

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = chunks
        self.error: Exception | None = None

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self._chunks
        except Exception as error:
            self.error = error
            raise


def primed(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """Run a stream up to its first chunk now, while the response can still be an HTTP error.

    An upstream that fails before the first byte then gets its own status; once bytes have gone
    out, an error can only break the connection, which the client's read reports (never a short
    body that looks complete).
    """
    first = next(chunks, None)
    return iter(()) if first is None else itertools.chain([first], chunks)
