"""Self-describing, URL-safe IDs for every resource the gateway hands out.

Scheme (all characters in `[A-Za-z0-9_-]`, so every SDK version sends them unchanged):

- A provider without an ID code (OpenAI) has its own `file-…` / `batch_…` IDs pass through, as do
  native batch IDs whose shape names their provider (Anthropic's `msgbatch_…`).
- Everything else is encoded: `file-ds<P><K>_<base64url(native)>` for files and
  `batch_ds<P>_<base64url(native)>` for batches, where `P` is the provider's code (`a` Anthropic,
  `g` Gemini, `b` Bedrock, `z` Azure: `blueprints/registry.py`; `c<name>` for an OpenAI-compatible
  host declared by configuration, so its IDs keep naming it whatever else is declared) and `K` the
  kind of file (`f` a stored or uploaded file, `o` a batch's output file, `e` a batch's error file).
  Codes are lower-case letters and digits, so the first `_` ends them (and the kind before it).
- Uploads (the Uploads API, `blueprints/uploads`) the same way: `upload_ds<P>_<base64url(native)>`,
  OpenAI's own `upload_…` passing through; the native is checked against the provider's upload
  pattern (its file pattern unless it names one: an upload becomes a file).

The provider can therefore be recovered from any ID the gateway issued for a non-OpenAI provider,
so `provider` is optional on follow-up calls. Natives (`files/x`, `batches/x`, a Bedrock job ARN,
`region/bucket/key`) are also accepted when the client names the provider. Every decoded native ID
is checked against the provider's pattern, so an ID can never steer a request to another upstream
path (`..`, slashes, query characters). An ID that is not a valid ID of the provider it names (or
of the provider the request names) is a 404, as OpenAI answers for every ID it does not know.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from blueprints import gateway, registry
from errors import NotFound

FILE_KINDS = {"file": "f", "output": "o", "errors": "e"}
_CODE_KINDS = {code: kind for kind, code in FILE_KINDS.items()}
# The code is looked up when decoding (an unknown one is no encoded ID), so providers declared at
# startup need nothing here.
_ENCODED_FILE = re.compile(r"^file-ds([a-z0-9]+)([foe])_([A-Za-z0-9_-]+)$")
_ENCODED_BATCH = re.compile(r"^batch_ds([a-z0-9]+)_([A-Za-z0-9_-]+)$")
_ENCODED_UPLOAD = re.compile(r"^upload_ds([a-z0-9]+)_([A-Za-z0-9_-]+)$")


class InvalidId(NotFound):
    """An ID that no resource of the named provider can have: a 404, like an ID nobody issued."""

    def __init__(self, message: str) -> None:
        super().__init__(message, param="id", code="invalid_id")


@dataclass(frozen=True)
class ResourceId:
    """A decoded gateway ID: which provider, what kind of resource, the provider's own ID."""

    provider: str
    kind: str  # "file", "output", "errors", "batch" or "upload"
    native: str

    @property
    def resource(self) -> str:
        return self.kind if self.kind in ("batch", "upload") else "file"

    @property
    def gateway_run(self) -> bool:
        """A batch the gateway runs itself (or one of its result files): `blueprints/gateway` serves it."""
        return self.kind not in ("file", "upload") and gateway.is_job(self.native)


def _b64encode(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _b64decode(token: str) -> str:
    try:
        return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidId(f"Malformed ID token {token!r}.") from None


def _check_native(provider: str, resource: str, native: str, shown: str) -> str:
    spec = registry.get(provider)
    if resource == "batch" and spec.realtime and gateway.is_job(native):
        return native
    regex = {"batch": spec.batch_regex, "upload": spec.upload_regex}.get(resource, spec.file_regex)
    if not regex.fullmatch(native):
        raise InvalidId(f"{shown!r} is not a valid {provider} {resource} ID.")
    return native


def encode_file(provider: str, native: str, kind: str = "file") -> str:
    """The gateway ID of a provider file (or of a batch's output/error file)."""
    resource = "batch" if kind in ("output", "errors") else "file"
    _check_native(provider, resource, native, native)
    code = _code(provider, native)
    if code is None:
        if kind != "file":
            raise ValueError(f"{provider}'s output files carry their own IDs")
        return native
    return f"file-ds{code}{FILE_KINDS[kind]}_{_b64encode(native)}"


def encode_batch(provider: str, native: str) -> str:
    """The gateway ID of a provider batch."""
    _check_native(provider, "batch", native, native)
    spec, code = registry.get(provider), _code(provider, native)
    passthrough = spec.passthrough_batch_pattern
    if code is None or (passthrough and re.fullmatch(passthrough, native)):
        return native
    return f"batch_ds{code}_{_b64encode(native)}"


def _code(provider: str, native: str) -> str | None:
    """The code of `provider` in an encoded ID; a gateway-run job of a provider whose own IDs pass
    through (OpenAI) is encoded with the provider's name, since a job ID is no OpenAI ID."""
    spec = registry.get(provider)
    return spec.name if spec.code is None and gateway.is_job(native) else spec.code


def _agree(found: str, named: str | None, shown: str) -> str:
    if named and named != found:
        raise InvalidId(f"ID {shown!r} belongs to provider {found!r}, but the request names {named!r}.")
    return found


def decode_file(gateway_id: str, named_provider: str | None = None) -> ResourceId:
    """The provider, kind and native ID behind a file ID from the client."""
    match = _ENCODED_FILE.fullmatch(gateway_id)
    spec = registry.by_code(match[1]) if match else None
    if match and spec:
        provider = _agree(spec.name, named_provider, gateway_id)
        kind = _CODE_KINDS[match[2]]
        native = _b64decode(match[3])
        _check_native(provider, "batch" if kind != "file" else "file", native, gateway_id)
        return ResourceId(provider, kind, native)
    provider = named_provider or registry.DEFAULT
    return ResourceId(provider, "file", _check_native(provider, "file", gateway_id, gateway_id))


def decode_batch(gateway_id: str, named_provider: str | None = None) -> ResourceId:
    """The provider and native ID behind a batch ID from the client."""
    match = _ENCODED_BATCH.fullmatch(gateway_id)
    found = registry.by_code(match[1]) if match else None
    if match and found:
        provider = _agree(found.name, named_provider, gateway_id)
        native = _check_native(provider, "batch", _b64decode(match[2]), gateway_id)
        return ResourceId(provider, "batch", native)
    for spec in registry.PROVIDERS.values():  # a native ID whose shape names its provider (msgbatch_…)
        if spec.passthrough_batch_pattern and re.fullmatch(spec.passthrough_batch_pattern, gateway_id):
            return ResourceId(_agree(spec.name, named_provider, gateway_id), "batch", gateway_id)
    provider = named_provider or registry.DEFAULT
    return ResourceId(provider, "batch", _check_native(provider, "batch", gateway_id, gateway_id))


def encode_upload(provider: str, native: str) -> str:
    """The gateway ID of an upload (Uploads API); OpenAI's own pass through."""
    _check_native(provider, "upload", native, native)
    code = registry.get(provider).code
    return native if code is None else f"upload_ds{code}_{_b64encode(native)}"


def decode_upload(gateway_id: str, named_provider: str | None = None) -> ResourceId:
    """The provider and native ID behind an upload ID from the client (kind "upload")."""
    match = _ENCODED_UPLOAD.fullmatch(gateway_id)
    found = registry.by_code(match[1]) if match else None
    if match and found and found.code is not None:
        provider = _agree(found.name, named_provider, gateway_id)
        return ResourceId(provider, "upload", _check_native(provider, "upload", _b64decode(match[2]), gateway_id))
    provider = named_provider or registry.DEFAULT
    return ResourceId(provider, "upload", _check_native(provider, "upload", gateway_id, gateway_id))
