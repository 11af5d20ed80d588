"""Azure's rules for a batch file, checked while it streams up (pure: no HTTP, no settings).

Besides the shared OpenAI batch-file rules (`jsonl.BatchInputCheck`: unique `custom_id`, `POST`,
one `url` for every line, a `body` object, the request cap), Azure's batch guide
(providers-next.md §3.3-3.4, §3.9) asks for:
- a `url` its API form takes: `/v1/chat/completions` or `/v1/responses` on the v1 API,
  `/chat/completions` on the dated one (configurable: `DEEPINTSHIELD_AZURE_OPENAI_BATCH_URLS`);
- a `body.model` naming a Global-Batch deployment, the same one on every line;
- no UTF-8 byte order mark (Azure refuses it with a message about deployment names);
- at most 200 MB.
Each is a 400 naming the line before anything reaches Azure.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

import msgspec

from errors import BadRequest
from translators import jsonl

BOM = b"\xef\xbb\xbf"


class _Body(msgspec.Struct):
    model: str = ""


class _Line(msgspec.Struct):
    url: str
    body: _Body


_decode_lines = msgspec.json.Decoder(_Line).decode_lines


class AzureLines(jsonl.BatchInputCheck):
    """`jsonl.BatchInputCheck` for OpenAI lines, plus Azure's `url` and deployment rules."""

    def __init__(self, urls: Sequence[str], max_requests: int | None = None) -> None:
        super().__init__((jsonl.OPENAI,), max_requests=max_requests)
        self.urls = tuple(urls)
        self.deployment: str | None = None  # the `model` of the first line: every line's

    def __call__(self, number: int, obj: dict) -> dict:
        super().__call__(number, obj)
        if obj["url"] not in self.urls:
            raise _line_error(number, f"has url {obj['url']!r}; Azure's batch API here takes "
                                      f"{' or '.join(map(repr, self.urls))}", "url")
        model = obj["body"].get("model")
        if not isinstance(model, str) or not model:
            raise _line_error(number, "needs body.model: the name of your Global-Batch deployment", "body.model")
        if self.deployment is None:
            self.deployment = model
        elif model != self.deployment:
            raise _line_error(number, f"names deployment {model!r}, but earlier lines {self.deployment!r}: an Azure "
                                      "batch runs on one deployment", "body.model")
        return obj

    def check_block(self, number: int, block: bytes) -> int:
        """Whole lines at once when they keep Azure's rules (else line by line, to name the one that does not)."""
        try:
            parsed = _decode_lines(block)
        except (msgspec.DecodeError, RecursionError):
            parsed = None
        if parsed:
            deployment = self.deployment or parsed[0].body.model
            if deployment and all(p.url in self.urls and p.body.model == deployment for p in parsed):
                self.deployment = deployment
                return super().check_block(number, block)
        return jsonl.check_each(self, number, block.split(b"\n")[:-1])


def checked(chunks: Iterable[bytes], urls: Sequence[str], max_requests: int | None, max_bytes: int) -> Iterator[bytes]:
    """`chunks` passed through while Azure's rules are checked on every line."""
    return jsonl.checked_chunks(_sized(chunks, max_bytes), AzureLines(urls, max_requests))


def _sized(chunks: Iterable[bytes], max_bytes: int) -> Iterator[bytes]:
    """The chunks, refusing a leading byte order mark and a file past `max_bytes`."""
    total, head = 0, b""
    for chunk in chunks:
        if len(head) < len(BOM):
            head += chunk[:len(BOM) - len(head)]
            if head == BOM:
                raise BadRequest("Line 1 starts with a UTF-8 byte order mark, which Azure refuses; save the file "
                                 "as UTF-8 without BOM.", param="line 1", code="invalid_batch_line")
        total += len(chunk)
        if total > max_bytes:
            raise BadRequest(f"The batch file is larger than Azure's {max_bytes} bytes "
                             "(DEEPINTSHIELD_AZURE_OPENAI_MAX_BATCH_BYTES).", param="file", code="file_too_large")
        yield chunk


def _line_error(number: int, text: str, field: str) -> BadRequest:
    return BadRequest(f"Line {number} {text}.", param=f"line {number}: {field}", code="invalid_batch_line")
