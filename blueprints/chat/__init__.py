"""OpenAI-compatible servers with no Files/Batch API (vLLM, Ollama, llama.cpp, TGI), declared by configuration.

`DEEPINTSHIELD_CHAT_ENDPOINTS="vllm=http://localhost:8000/v1,ollama=http://localhost:11434/v1"` makes
each `name` a provider whose every batch the gateway runs itself (`gateway_only`), line by line through
the server's `/v1/chat/completions`, `/v1/embeddings` and `/v1/responses` (`realtime.py`). Its files
live in the gateway's file store (namespace = the name, owned by the caller's key); its batches and
their result files are the gateway-run core's (`blueprints/gateway`): `operations.py`.

Declared like the OpenAI-compatible batch APIs (`blueprints/openai/compatible.py`, same parsing and name
rules: `blueprints/common/declarations.py`), read by `blueprints/registry.py` at startup:
- IDs carry the code `e<name>` (`file-dsevllmf_…`, `batch_dsevllm_…`);
- the key is `<NAME>_API_KEY` in gateway-key mode, sent as a bearer key; unset, calls carry no
  `Authorization` (self-hosted servers often take none: `optional_key`). In passthrough mode the
  client's bearer key is sent;
- a batch may give `model` (extra_body): it replaces every line's `body.model`, so a file written for
  one model runs on whatever name the server serves it under;
- a name that is a built-in provider's, or also declared in `DEEPINTSHIELD_OPENAI_COMPATIBLE`, is not
  registered and stops startup with a line naming it (`problems`, run by `config.check`).

Importing this needs neither Flask nor an SDK (gunicorn's master reads it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from blueprints.common.declarations import from_environment, key_setting
from blueprints.common.provider import Provider
from configfields import Text

if TYPE_CHECKING:
    from blueprints.common.provider import Operations, Realtime
    from blueprints.common.uploads import UploadOperations

VARIABLE = "DEEPINTSHIELD_CHAT_ENDPOINTS"
# The lines (and batches) these servers run: OpenAI's synchronous endpoints they implement.
ENDPOINTS = ("/v1/chat/completions", "/v1/embeddings", "/v1/responses")
_ID = r"[A-Za-z0-9_-]{1,256}"  # stored files' generated keys; the gateway-run core's batch IDs


@dataclass(frozen=True)
class ChatEndpoint(Provider):
    """A server declared in `DEEPINTSHIELD_CHAT_ENDPOINTS`: stored files, gateway-run batches, its base URL."""

    url: str = ""

    @property
    def operations(self) -> Operations:  # one set of operations per declared server, not a module
        return _operations(self.name)

    @property
    def upload_operations(self) -> UploadOperations:  # its parts in the file store, like its files
        return _uploads(self.name)

    @property
    def realtime_module(self) -> Realtime:  # bound to this server's base URL (`self.realtime` names its code)
        return _realtime(self.name, self.url)


def provider(name: str, url: str) -> ChatEndpoint:
    """The provider a declaration `name=url` makes."""
    key = key_setting(name)
    return ChatEndpoint(
        name=name,
        code=f"e{name}",
        file_pattern=_ID,
        batch_pattern=_ID,
        operations_module="blueprints.chat.operations",  # the code behind `operations`
        credential=key,
        optional_key=True,
        options=frozenset({"model"}),
        settings={key: Text(key, "", f"the gateway's key for `{name}` (declared in {VARIABLE}; gateway-key "
                                     "mode only; unset: no key is sent)", secret=True)},
        realtime="blueprints.chat.realtime",
        gateway_only=True,
        url=url,
    )


def declared(environ: Mapping[str, str], taken: Mapping[str, Provider]) -> dict[str, ChatEndpoint]:
    """The providers `environ` declares, without those whose name is in `taken` (built-in providers and
    the declared OpenAI-compatible ones). A declaration that does not parse declares none here; loading
    the settings reports it."""
    return {name: provider(name, url) for name, url in from_environment(environ, VARIABLE).items()
            if name not in taken}


def problems(settings: Mapping[str, Any]) -> list[str]:
    """Startup: declared names that are taken already (they were not registered)."""
    from blueprints import registry  # imported when checked: the registry imports this module
    from blueprints.openai import compatible

    lines = []
    compatible_names = set(settings.get("OPENAI_COMPATIBLE") or {})
    for name in sorted(settings.get("CHAT_ENDPOINTS") or {}):
        if name in registry.BUILT_IN:
            lines.append(f"{VARIABLE}: {name!r} is a built-in provider; declare the server under another name")
        elif name in compatible_names:
            lines.append(f"{VARIABLE}: {name!r} is also declared in {compatible.VARIABLE}; declare the server "
                         "under another name")
    return lines


@cache
def _operations(name: str) -> Operations:
    from blueprints.chat import operations  # imported on first use, as any provider's operations

    return operations.ChatOperations(name)


@cache
def _uploads(name: str) -> UploadOperations:
    from blueprints.common.storeduploads import StoredUploads  # imported on first use (it needs Flask)

    return StoredUploads(name)


@cache
def _realtime(name: str, url: str) -> Realtime:
    from blueprints.chat import realtime  # imported on first use (it needs Flask)

    return realtime.ChatRealtime(name, url)
