"""Files to and from the gateway with a byte progress bar on stderr, in bounded memory.

Up: a file up to `part_size` goes in one `files.create`, read through `WindowReader`, which moves the
bar as the SDK's HTTP client reads it (64 KiB at a time, with a Content-Length, rewound on a retry).
A larger one goes through the Uploads API (`uploads.create`, one `uploads.parts.create` per part, each
part streamed from its window of the file, then `uploads.complete`); a provider without an Uploads API
(the gateway answers `unsupported_endpoint` before any byte is sent) gets the one-request upload.
Down: `files.with_streaming_response.content`, written chunk by chunk to `<target>.part`, renamed at
the end so a broken download never leaves a file that looks whole.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, cast

import click
import httpx2
import openai
from openai import OpenAI
from openai.types import FileObject

from cli.client import named

if TYPE_CHECKING:  # click's progress bar class, for the annotations only
    from click._termui_impl import ProgressBar

# OpenAI's largest Uploads part (the gateway's too): files past it go up in parts of this size.
PART_SIZE = 64 * 1024 * 1024
CHUNK = 64 * 1024
MIME = "application/jsonl"


def _forever() -> Iterator[int]:
    while True:
        yield 0


def byte_bar(length: int | None, label: str) -> ProgressBar[int]:
    """A progress bar over bytes on stderr; with no known length it shows the count only."""
    if length is None:  # click needs an iterable without a length hint for a bar of unknown length
        return click.progressbar(_forever(), label=label, file=sys.stderr, show_pos=True)
    return click.progressbar(length=length, label=label, file=sys.stderr, show_pos=True, show_percent=True)


class WindowReader(io.RawIOBase):
    """Bytes `start` to `start + length` of an open binary file, read-only and seekable within that
    window (so the HTTP client can size it and rewind it on a retry), moving `bar` by each byte read
    for the first time."""

    def __init__(self, file: BinaryIO, start: int, length: int, bar: ProgressBar[int]) -> None:
        super().__init__()
        self._file, self._start, self._length, self._bar = file, start, length, bar
        self._pos = 0
        self._reported = 0  # the furthest byte shown on the bar: a retry's re-read does not count twice

    def binary(self) -> BinaryIO:
        """This reader as the binary file the SDK's signatures name (it reads like one)."""
        return cast(BinaryIO, self)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._pos, os.SEEK_END: self._length}[whence]
        self._pos = min(max(base + offset, 0), self._length)
        return self._pos

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        wanted = min(len(buffer), self._length - self._pos)
        if wanted <= 0:
            return 0
        self._file.seek(self._start + self._pos)
        data = self._file.read(wanted)
        buffer[: len(data)] = data
        self._pos += len(data)
        if self._pos > self._reported:
            self._bar.update(self._pos - self._reported)
            self._reported = self._pos
        return len(data)


def upload(client: OpenAI, path: Path, provider: str | None, *, part_size: int = PART_SIZE,
           fields: dict[str, Any] | None = None) -> FileObject:
    """Upload `path` as a batch input file for `provider` (with the gateway `fields` a provider takes at
    upload, e.g. `storage_config`), with a progress bar; its FileObject."""
    size = path.stat().st_size
    body = {**named(provider), **(fields or {})}
    with path.open("rb") as file, byte_bar(size, f"Uploading {path.name}") as bar:
        if size > part_size:
            uploaded = _upload_in_parts(client, file, path.name, size, body, part_size, bar)
            if uploaded is not None:
                return uploaded
        reader = WindowReader(file, 0, size, bar).binary()
        return client.files.create(file=(path.name, reader, MIME), purpose="batch", extra_body=body)


def _upload_in_parts(client: OpenAI, file: BinaryIO, name: str, size: int, body: dict[str, Any],
                     part_size: int, bar: ProgressBar[int]) -> FileObject | None:
    """The Uploads API, one part per `part_size` bytes; None if the provider has no Uploads API."""
    try:
        started = client.uploads.create(bytes=size, filename=name, mime_type=MIME, purpose="batch",
                                        extra_body=body)
    except openai.BadRequestError as error:
        if error.code != "unsupported_endpoint":
            raise
        click.echo(f"\n{body.get('provider') or 'This provider'} takes no Uploads API; sending the file in one "
                   "request.", err=True)
        return None
    try:  # the upload ID names its provider (upload_ds<code>_…, or OpenAI's own): parts need no provider
        part_ids = []
        for offset in range(0, size, part_size):
            part = WindowReader(file, offset, min(part_size, size - offset), bar).binary()
            part_ids.append(client.uploads.parts.create(started.id, data=part).id)
        completed = client.uploads.complete(started.id, part_ids=part_ids)
    except BaseException:
        with suppress(openai.APIError):  # nothing left behind; the error that stopped us is the one to show
            client.uploads.cancel(started.id)
        raise
    if completed.file is None:
        raise click.ClickException(f"Upload {completed.id} ended {completed.status} without a file.")
    return completed.file


def download(client: OpenAI, file_id: str, target: Path, provider: str | None) -> int:
    """Stream file `file_id` into `target` with a progress bar; the number of bytes written."""
    partial = target.with_name(target.name + ".part")
    written = 0
    try:
        with client.files.with_streaming_response.content(file_id, extra_query=named(provider)) as response:
            length = response.headers.get("content-length")
            encoded = response.headers.get("content-encoding", "identity") != "identity"
            total = int(length) if length and length.isdigit() and not encoded else None
            with partial.open("wb") as out, byte_bar(total, f"Downloading {target.name}") as bar:
                for chunk in response.iter_bytes(CHUNK):
                    out.write(chunk)
                    bar.update(len(chunk))
                    written += len(chunk)
        partial.replace(target)
    except OSError as error:  # the local side: a folder that is not there, a full disk
        raise click.ClickException(f"Cannot write {target}: {error.strerror or error}") from error
    except httpx2.HTTPError as error:  # the stream broke off (the SDK wraps only the request, not the body)
        raise click.ClickException(f"The download of {file_id} broke off after {written} bytes ({error!r}); "
                                   f"nothing was written to {target}.") from error
    finally:
        partial.unlink(missing_ok=True)
    return written
