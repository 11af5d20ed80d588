"""What makes a provider: each provider package exports one `Provider`, listed in `blueprints/registry.py`.

Everything the rest of the gateway needs to know about a provider is here, read from that list:
- the ID scheme (`ids.py`): its one-letter code in encoded IDs and the shapes its native file and
  batch IDs may have;
- credentials (`auth.py`): the setting holding its key in gateway-key mode (and whether it may be unset);
- requests (`dispatcher`): which gateway-only fields it takes, so every other provider refuses a
  foreign one the same way; an optional guard run once before any of its operations;
- configuration (`config.py`): its own settings, merged into the one schema, and a startup check;
- its operations (the module the dispatcher calls), imported when first used. The `Operations`
  protocol describes them; `make test`'s type checker holds every provider's module to it.

Importing this module, and a provider package's `__init__`, needs neither Flask nor a provider SDK:
`config.py` reads the list in gunicorn's master.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from blueprints.common.streams import Content, Upload
    from blueprints.common.uploads import UploadOperations
    from blueprints.dispatcher.ids import ResourceId
    from configfields import Setting
    from schemas.requests import BatchQuery, FileQuery, NewBatch, NewFile, Options

# The request fields only the gateway reads (never sent upstream). A provider takes a subset.
GATEWAY_FIELDS = frozenset({"storage_config", "model", "output_s3_uri", "role_arn", "requests", "execution",
                            "webhook_url"})
# The gateway-only fields every provider takes (`webhook_url`: blueprints/webhooks).
EVERY_PROVIDER = frozenset({"webhook_url"})


class Operations(Protocol):
    """The nine Files/Batch operations a provider's `operations` module defines (docs/provider-interface.md)."""

    def create_file(self, new: NewFile, upload: Upload) -> dict: ...
    def list_files(self, query: FileQuery) -> dict: ...
    def retrieve_file(self, ref: ResourceId, options: Options) -> dict: ...
    def delete_file(self, ref: ResourceId, options: Options) -> dict: ...
    def file_content(self, ref: ResourceId, options: Options) -> Content: ...
    def create_batch(self, new: NewBatch) -> dict: ...
    def retrieve_batch(self, ref: ResourceId, options: Options) -> dict: ...
    def list_batches(self, query: BatchQuery) -> dict: ...
    def cancel_batch(self, ref: ResourceId, options: Options) -> dict: ...


@dataclass(frozen=True)
class LineRequest:
    """One line of a batch the gateway runs itself, as its provider's `Realtime` module gets it."""

    custom_id: str
    url: str  # the line's (and the batch's) endpoint: /v1/chat/completions, /v1/embeddings, /v1/responses, ...
    body: dict  # the OpenAI request body, as the line has it
    model: str | None = None  # the batch's `model` (extra_body), for providers that name it per batch
    region: str | None = None  # the batch's region (Bedrock: `storage_config.s3.region`), else the configured one


@dataclass(frozen=True)
class LineReply:
    """What the provider answered to one line, in OpenAI's shape for the line's endpoint."""

    body: dict  # e.g. a `chat.completion` object, with `usage` where the provider reports it
    request_id: str  # the provider's ID for the call (a response ID, a request ID header), else a generated one


class Realtime(Protocol):
    """A provider's synchronous API, one batch line at a time (the module named by `Provider.realtime`).

    `prepare` makes no call (it may read the settings: it always runs in the app): the provider's
    request for the line, or `BadRequest` naming what it would refuse; the gateway calls it for every
    line before a batch is accepted, and again in the worker. `send` makes the call: an
    `UpstreamError` (with `upstream_status`) for a provider error, which the worker retries on
    408/429/5xx and timeouts and otherwise writes to the error file. Neither retries by itself.
    """

    def prepare(self, line: LineRequest) -> dict: ...
    def send(self, prepared: dict, line: LineRequest) -> LineReply: ...


@dataclass(frozen=True)
class Provider:
    """One provider, as the rest of the gateway sees it."""

    name: str
    # The letter naming it in encoded IDs (`file-ds<code>…`, `batch_ds<code>_…`); None: its own IDs are
    # already URL-safe and unambiguous, and pass through unchanged (OpenAI's).
    code: str | None
    file_pattern: str  # what a native file ID (or a batch's, for its result files) may look like
    batch_pattern: str
    operations_module: str  # dotted path, imported on first use
    # Native batch IDs that pass through unencoded and name this provider by their shape (msgbatch_…).
    passthrough_batch_pattern: str | None = None
    credential: str | None = None  # the setting holding its key in gateway-key mode; None: none is needed
    # True: in gateway-key mode an unset `credential` means "call without a key" (self-hosted servers often
    # take none), not a 400; `auth.provider_key` then gives "".
    optional_key: bool = False
    base_url: str | None = None  # the setting holding its upstream's base URL (tests point it at a fake)
    options: frozenset[str] = frozenset()  # the gateway-only request fields it takes (GATEWAY_FIELDS)
    settings: Mapping[str, Setting] = field(default_factory=dict)  # config key -> setting, merged into config
    check: Callable[[Mapping[str, Any]], list[str]] | None = None  # startup: problems with its settings
    # "module:function" run once before each of its operations (may raise APIError); imported on first use.
    guard: str | None = None
    # The module that runs one batch line through its synchronous API (`Realtime`), for the batches the
    # gateway runs itself (`blueprints/gateway`); a provider with one takes `execution: "gateway"`.
    realtime: str | None = None
    # True: it has no batch API, so every batch it gets is run by the gateway (`DEEPINTSHIELD_CHAT_ENDPOINTS`).
    gateway_only: bool = False
    # Whether this deployment uses it, from the settings (the `?provider=all` lists include it only then,
    # `blueprints/crosslist`); None: whenever its key is there (gateway-key mode) or sent (passthrough).
    in_use: Callable[[Mapping[str, Any]], bool] | None = None
    # False: in passthrough the gateway's own credentials call it (Bedrock's AWS) and the client's key only
    # names who owns what the gateway keeps for it; True: the client's key is the provider key.
    client_key: bool = True
    # "module:attribute" naming its Uploads API (`blueprints/common/uploads.UploadOperations`), imported on
    # first use; None: `POST /uploads` for it is a 400 `unsupported_endpoint`.
    uploads: str | None = None
    # The native IDs of its uploads, when they are not file IDs (those whose file store key is no file ID of
    # theirs: Gemini's `files/…`); None: `file_pattern`.
    upload_pattern: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "options", self.options | EVERY_PROVIDER)
        if self.realtime:
            object.__setattr__(self, "options", self.options | {"execution"})
        if not self.options <= GATEWAY_FIELDS:
            raise ValueError(f"{self.name}: unknown gateway fields {sorted(self.options - GATEWAY_FIELDS)}")

    @cached_property
    def file_regex(self) -> re.Pattern[str]:
        return re.compile(rf"^(?:{self.file_pattern})$")

    @cached_property
    def upload_regex(self) -> re.Pattern[str]:
        return re.compile(rf"^(?:{self.upload_pattern})$") if self.upload_pattern else self.file_regex

    @cached_property
    def batch_regex(self) -> re.Pattern[str]:
        return re.compile(rf"^(?:{self.batch_pattern})$")

    @property
    def realtime_module(self) -> Realtime | None:
        if not self.realtime:
            return None
        module: Realtime = importlib.import_module(self.realtime)
        return module

    @property
    def operations(self) -> Operations:
        module: Operations = importlib.import_module(self.operations_module)
        return module

    @property
    def upload_operations(self) -> UploadOperations | None:
        if not self.uploads:
            return None
        module, _, attribute = self.uploads.partition(":")
        operations: UploadOperations = getattr(importlib.import_module(module), attribute)
        return operations

    def run_guard(self) -> None:
        if self.guard:
            module, _, function = self.guard.partition(":")
            getattr(importlib.import_module(module), function)()
