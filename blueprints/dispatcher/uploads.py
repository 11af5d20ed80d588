"""Pass-through multipart parsing of `POST /files`: fields first, then the file as a chunk stream.

Reads `request.stream` with python-multipart's push parser before anything touches
`request.form`/`files`, so the upload is never spooled whole: the small fields are collected, and
the file part's bytes are handed on as they arrive. The OpenAI SDK sends plain fields first and the
file last. A client that sends the file before `purpose` gets it spooled to a temporary file (the
only way to know the purpose first); a field after the file part is a 400.

Bounded: at most `MAX_PARTS` parts, `MAX_FIELD_BYTES` per plain field and `MAX_FORM_BYTES` for all
of them; a `purpose=batch` file's lines are held to `DEEPINTSHIELD_MAX_LINE_BYTES` as they arrive.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator

from flask import Request, current_app
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser
from werkzeug.datastructures import Headers
from werkzeug.http import parse_options_header
from werkzeug.sansio.multipart import Data, Epilogue, Field, File

from blueprints.common.streams import Upload
from errors import APIError, BadRequest
from translators.jsonl import line_too_long

CHUNK = 2 * 1024 * 1024  # per read of the request body: fewer, larger reads are much cheaper in gunicorn
MAX_FIELD_BYTES = 64 * 1024  # a plain form field; enforced while collecting it
MAX_FORM_BYTES = 256 * 1024  # all plain fields together
MAX_PARTS = 64  # the SDK sends fewer than a dozen
MAX_HEADER_BYTES = 8 * 1024  # one part header line (the filename is in it)
MAX_FILENAME = 255
SPOOL_IN_MEMORY = 8 * 1024 * 1024


class _Parser:
    """The body as werkzeug's multipart events (`Field`, `File`, `Data`, `Epilogue`), parsed by
    python-multipart: its boundary search runs at about 2.5x the speed of werkzeug's decoder, which
    was a large part of an upload's cost per byte (issue 16)."""

    def __init__(self, request: Request) -> None:
        mimetype, options = parse_options_header(request.headers.get("Content-Type", ""))
        boundary = options.get("boundary")
        if mimetype != "multipart/form-data" or not boundary:
            raise BadRequest("Uploads must be multipart/form-data with a boundary.", param="file")
        self.stream = request.stream
        self.form_bytes = 0
        self._pending: list = []  # events the last write produced
        self._parts = 0
        self._ended = False
        self._header: list[bytes] = [b"", b""]
        self._headers: Headers = Headers()
        self._multipart = MultipartParser(boundary.encode(), callbacks={
            "on_part_begin": self._part_begin, "on_header_field": self._header_field,
            "on_header_value": self._header_value, "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished, "on_part_data": self._part_data,
            "on_part_end": self._part_end, "on_end": self._end,
        }, max_header_count=16, max_header_size=MAX_HEADER_BYTES)

    def events(self) -> Iterator:
        while True:
            data = self.stream.read(CHUNK)
            try:
                if data:
                    self._multipart.write(data)
                else:
                    self._multipart.finalize()
            except MultipartParseError as error:  # the parser's word for a malformed body
                if "Maximum header" in str(error):
                    raise APIError(413, "A multipart part header is too large.", param="file",
                                   code="too_many_parts") from None
                raise BadRequest(f"Malformed multipart body: {error}.", param="file") from None
            pending, self._pending = self._pending, []
            yield from pending
            if self._ended:
                return
            if not data:
                raise BadRequest("The multipart body ended before its closing boundary.", param="file")

    # python-multipart's callbacks, turned into events

    def _part_begin(self) -> None:
        self._parts += 1
        if self._parts > MAX_PARTS:
            raise APIError(413, f"The upload has more than {MAX_PARTS} parts.", param="file", code="too_many_parts")
        self._headers = Headers()

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._header[0] += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._header[1] += data[start:end]

    def _header_end(self) -> None:
        name, value = (part.decode("latin-1") for part in self._header)
        self._headers.add(name, value)
        self._header = [b"", b""]

    def _headers_finished(self) -> None:
        _, disposition = parse_options_header(self._headers.get("Content-Disposition", ""))
        name = disposition.get("name", "")
        if "filename" in disposition:
            self._pending.append(File(name=name, filename=disposition["filename"], headers=self._headers))
        else:
            self._pending.append(Field(name=name, headers=self._headers))

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if end > start:
            self._pending.append(Data(data=data[start:end], more_data=True))

    def _part_end(self) -> None:
        self._pending.append(Data(data=b"", more_data=False))

    def _end(self) -> None:
        self._ended = True
        self._pending.append(Epilogue(data=b""))


def read_upload(request: Request, file_field: str = "file",
                wait_for: str | None = "purpose") -> tuple[list[tuple[str, str]], Upload]:
    """The form fields (as `(name, value)` pairs) and the not-yet-read file part `file_field`.

    A file part that comes before the field `wait_for` is spooled until the fields after it are read
    (None: nothing needs waiting for, so fields after the file part are a 400, as for `POST /files`).
    An Uploads API part (`file_field="data"`) waits for nothing: its size is capped by its provider.
    """
    parser = _Parser(request)
    events = parser.events()
    fields: list[tuple[str, str]] = []
    for event in events:
        if isinstance(event, Field):
            fields.append((event.name, _field_value(events, event.name, parser)))
        elif isinstance(event, File):
            if event.name != file_field:
                raise BadRequest(f"Unexpected file part {event.name!r}; send the file as {file_field!r}.",
                                 param=event.name)
            if wait_for is None or any(name == wait_for for name, _ in fields):
                chunks = _file_chunks(events)
            else:
                chunks = _spool_then_collect(events, fields, parser)
                next(chunks)  # runs the spool: the fields after the file are now in `fields`
            if ("purpose", "batch") in fields:
                chunks = line_capped(chunks, int(current_app.config["MAX_LINE_BYTES"]))
            upload = Upload(
                filename=clean_filename(event.filename),
                content_type=event.headers.get("Content-Type", "application/octet-stream"),
                chunks=chunks,
                size_hint=request.content_length,
            )
            return fields, upload
        elif isinstance(event, Epilogue):
            break
    raise BadRequest(f"The upload has no {file_field!r} part.", param=file_field)


def clean_filename(name: str | None) -> str:
    """A filename safe to store and to echo in headers: no control characters, quotes or path, <= 255 chars."""
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if c.isprintable() and c not in '"\\;').strip()
    return name[:MAX_FILENAME] or "upload"


def line_capped(chunks: Iterator[bytes], max_line: int) -> Iterator[bytes]:
    """Pass chunks through; a JSONL line longer than `max_line` stops the upload with a 400 naming it.

    Costs two searches per chunk: a chunk shorter than the cap can only make a line too long at its
    ends, so lines inside it are measured only when a chunk is longer than the cap.
    """
    pending = 0  # bytes of the line not yet ended
    number = 1  # the line `pending` belongs to
    for chunk in chunks:
        first = chunk.find(b"\n")
        if first < 0:
            pending += len(chunk)
            if pending > max_line:
                raise line_too_long(number, max_line)
        else:
            if pending + first > max_line:
                raise line_too_long(number, max_line)
            if len(chunk) > max_line:
                for offset, line in enumerate(chunk.split(b"\n")[1:-1], start=1):
                    if len(line) > max_line:
                        raise line_too_long(number + offset, max_line)
            number += chunk.count(b"\n")
            pending = len(chunk) - chunk.rfind(b"\n") - 1
        yield chunk


def _field_value(events: Iterator, name: str, parser: _Parser) -> str:
    value = bytearray()
    for event in events:
        if not isinstance(event, Data):
            raise BadRequest(f"Malformed form field {name!r}.", param=name)
        value += event.data
        parser.form_bytes += len(event.data)
        if len(value) > MAX_FIELD_BYTES:
            raise APIError(413, f"Form field {name!r} is larger than {MAX_FIELD_BYTES} bytes.", param=name)
        if parser.form_bytes > MAX_FORM_BYTES:
            raise APIError(413, f"The form fields are larger than {MAX_FORM_BYTES} bytes together.", param=name)
        if not event.more_data:
            break
    try:
        return value.decode()
    except UnicodeDecodeError:
        raise BadRequest(f"Form field {name!r} is not UTF-8.", param=name) from None


def _file_data(events: Iterator) -> Iterator[bytes]:
    """The file part's bytes, up to the end of that part."""
    for event in events:
        if not isinstance(event, Data):
            return
        if event.data:
            yield event.data
        if not event.more_data:
            return


def _file_chunks(events: Iterator) -> Iterator[bytes]:
    """The file part's bytes; then checks that nothing but the end of the body follows."""
    yield from _file_data(events)
    for event in events:
        if isinstance(event, (Field, File)):
            raise BadRequest("Form fields must come before the file part (as the OpenAI SDK sends them).",
                             param=event.name)


def _spool_then_collect(events: Iterator, fields: list, parser: _Parser) -> Iterator[bytes | None]:
    """Spool the file, read the fields after it, then replay the file. Yields None first."""
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY) as spool:
        for chunk in _file_data(events):
            spool.write(chunk)
        for event in events:
            if isinstance(event, Field):
                fields.append((event.name, _field_value(events, event.name, parser)))
            elif isinstance(event, File):
                raise BadRequest("Send exactly one file part.", param=event.name)
        spool.seek(0)
        yield None
        while chunk := spool.read(CHUNK):
            yield chunk
