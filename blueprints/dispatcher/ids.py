"""Self-describing, URL-safe IDs for every resource the gateway hands out.

Scheme (all characters in `[A-Za-z0-9_-]`, so every SDK version sends them unchanged):

- OpenAI's own `file-…` / `batch_…` IDs and Anthropic's `msgbatch_…` pass through as they are.
- Everything else is encoded: `file-ds<P><K>_<base64url(native)>` for files and
  `batch_ds<P>_<base64url(native)>` for batches, where `P` names the provider (`a` Anthropic,
  `g` Gemini, `b` Bedrock) and `K` the kind of file (`f` a stored or uploaded file, `o` a batch's
  output file, `e` a batch's error file).

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

from errors import NotFound

PROVIDERS = ("openai", "anthropic", "gemini", "bedrock")
DEFAULT_PROVIDER = "openai"

_PROVIDER_CODES = {"anthropic": "a", "gemini": "g", "bedrock": "b"}
_CODE_PROVIDERS = {code: name for name, code in _PROVIDER_CODES.items()}
FILE_KINDS = {"file": "f", "output": "o", "errors": "e"}
_CODE_KINDS = {code: kind for kind, code in FILE_KINDS.items()}

_ENCODED_FILE = re.compile(r"^file-ds([agb])([foe])_([A-Za-z0-9_-]+)$")
_ENCODED_BATCH = re.compile(r"^batch_ds([agb])_([A-Za-z0-9_-]+)$")

_S3_KEY = r"(?!(?:.*/)?\.\.?(?:/|$))[A-Za-z0-9!_*'().+=,@-][A-Za-z0-9!_*'().+=,@/-]{0,1023}"
_BEDROCK_JOB_ARN = r"arn:aws[a-z-]*:bedrock:[a-z0-9-]+:\d{12}:model-invocation-job/[a-z0-9]{12}"
_MSGBATCH = r"msgbatch_[A-Za-z0-9_-]{1,128}"

# What a native ID of each provider may look like, per kind of resource.
NATIVE_PATTERNS: dict[tuple[str, str], re.Pattern[str]] = {
    ("openai", "file"): re.compile(r"^[A-Za-z0-9_-]{1,256}$"),
    ("openai", "batch"): re.compile(r"^[A-Za-z0-9_-]{1,256}$"),
    # Anthropic files live in the gateway's file store under a generated key; a batch the
    # gateway split over several Message Batches is their comma-joined IDs, and a batch made from
    # a stored file carries `@<file key>` so its input_file_id can be given back.
    ("anthropic", "file"): re.compile(r"^[A-Za-z0-9_-]{1,256}$"),
    ("anthropic", "batch"): re.compile(rf"^{_MSGBATCH}(,{_MSGBATCH})*(@[A-Za-z0-9_-]{{1,256}})?$"),
    ("gemini", "file"): re.compile(r"^files/[A-Za-z0-9_-]{1,128}$"),
    ("gemini", "batch"): re.compile(r"^batches/[A-Za-z0-9_-]{1,128}$"),
    # Bedrock files are S3 objects: region/bucket/key.
    ("bedrock", "file"): re.compile(rf"^[a-z]{{2}}(-[a-z]+)+-\d/[a-z0-9][a-z0-9.-]{{1,61}}[a-z0-9]/{_S3_KEY}$"),
    ("bedrock", "batch"): re.compile(rf"^({_BEDROCK_JOB_ARN}|[a-z0-9]{{12}})$"),
}


class InvalidId(NotFound):
    """An ID that no resource of the named provider can have: a 404, like an ID nobody issued."""

    def __init__(self, message: str) -> None:
        super().__init__(message, param="id", code="invalid_id")


@dataclass(frozen=True)
class ResourceId:
    """A decoded gateway ID: which provider, what kind of resource, the provider's own ID."""

    provider: str
    kind: str  # "file", "output", "errors" or "batch"
    native: str

    @property
    def resource(self) -> str:
        return "batch" if self.kind == "batch" else "file"


def _b64encode(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _b64decode(token: str) -> str:
    try:
        return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidId(f"Malformed ID token {token!r}.") from None


def _check_native(provider: str, resource: str, native: str, shown: str) -> str:
    if not NATIVE_PATTERNS[(provider, resource)].fullmatch(native):
        raise InvalidId(f"{shown!r} is not a valid {provider} {resource} ID.")
    return native


def encode_file(provider: str, native: str, kind: str = "file") -> str:
    """The gateway ID of a provider file (or of a batch's output/error file)."""
    resource = "batch" if kind in ("output", "errors") else "file"
    _check_native(provider, resource, native, native)
    if provider == "openai":
        if kind != "file":
            raise ValueError("OpenAI output files carry their own IDs")
        return native
    return f"file-ds{_PROVIDER_CODES[provider]}{FILE_KINDS[kind]}_{_b64encode(native)}"


def encode_batch(provider: str, native: str) -> str:
    """The gateway ID of a provider batch."""
    _check_native(provider, "batch", native, native)
    if provider == "openai" or (provider == "anthropic" and "," not in native and "@" not in native):
        return native
    return f"batch_ds{_PROVIDER_CODES[provider]}_{_b64encode(native)}"


def _agree(found: str, named: str | None, shown: str) -> str:
    if named and named != found:
        raise InvalidId(f"ID {shown!r} belongs to provider {found!r}, but the request names {named!r}.")
    return found


def decode_file(gateway_id: str, named_provider: str | None = None) -> ResourceId:
    """The provider, kind and native ID behind a file ID from the client."""
    match = _ENCODED_FILE.fullmatch(gateway_id)
    if match:
        provider = _agree(_CODE_PROVIDERS[match[1]], named_provider, gateway_id)
        kind = _CODE_KINDS[match[2]]
        native = _b64decode(match[3])
        _check_native(provider, "batch" if kind != "file" else "file", native, gateway_id)
        return ResourceId(provider, kind, native)
    provider = named_provider or DEFAULT_PROVIDER
    return ResourceId(provider, "file", _check_native(provider, "file", gateway_id, gateway_id))


def decode_batch(gateway_id: str, named_provider: str | None = None) -> ResourceId:
    """The provider and native ID behind a batch ID from the client."""
    match = _ENCODED_BATCH.fullmatch(gateway_id)
    if match:
        provider = _agree(_CODE_PROVIDERS[match[1]], named_provider, gateway_id)
        native = _check_native(provider, "batch", _b64decode(match[2]), gateway_id)
        return ResourceId(provider, "batch", native)
    if re.fullmatch(_MSGBATCH, gateway_id):
        provider = _agree("anthropic", named_provider, gateway_id)
        return ResourceId(provider, "batch", gateway_id)
    provider = named_provider or DEFAULT_PROVIDER
    return ResourceId(provider, "batch", _check_native(provider, "batch", gateway_id, gateway_id))
