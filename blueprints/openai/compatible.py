"""OpenAI-compatible batch APIs declared by configuration, served by the OpenAI provider's code.

`DEEPINTSHIELD_OPENAI_COMPATIBLE="groq=https://api.groq.com/openai/v1,other=https://host/v1"` makes
each `name` a provider: requests name it (`provider=groq`), its key is `<NAME>_API_KEY` in gateway-key
mode (the client's bearer key in passthrough mode), and its calls go to its base URL with OpenAI's
paths, bearer auth and batch-file rules (`operations.OpenAIShaped`). No code per host.

Providers known only at startup: `blueprints/registry.py` reads the declaration from the environment
when first imported, so everything that reads the registry sees them like built-in ones:
- the settings schema (`config.py`) holds each one's `<NAME>_API_KEY`;
- IDs: a declared provider's IDs are encoded with the code `c<name>` (`file-dscgroqf_…`,
  `batch_dscgroq_…`), so they route back to it without `provider` and stay valid whatever else is
  declared or in which order;
- names are lower-case letters and digits (1-32, starting with a letter), unique, and none may be a
  built-in provider's: a clash stops startup with a line naming it (`problems`, the OpenAI
  provider's startup check). The variable's parsing and these rules are shared with the servers
  declared in `DEEPINTSHIELD_CHAT_ENDPOINTS` (`blueprints/common/declarations.py`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache, partial
from typing import TYPE_CHECKING, Any

from blueprints.common.declarations import from_environment, key_setting
from blueprints.common.provider import Provider
from configfields import Text

if TYPE_CHECKING:
    from blueprints.common.provider import Operations, Realtime

VARIABLE = "DEEPINTSHIELD_OPENAI_COMPATIBLE"
_ID = r"[A-Za-z0-9_-]{1,256}"  # OpenAI-shaped hosts' file-… / batch_… IDs, as OpenAI's


@dataclass(frozen=True)
class Configured(Provider):
    """A provider declared in `DEEPINTSHIELD_OPENAI_COMPATIBLE`: OpenAI's operations over its base URL."""

    url: str = ""

    @property
    def operations(self) -> Operations:  # one set of operations per declared host, not a module
        return _operations(self.name, self.url)

    @property
    def realtime_module(self) -> Realtime:  # likewise its real-time calls, for the batches the gateway runs
        return _realtime(self.name, self.url)


def provider(name: str, url: str) -> Configured:
    """The provider a declaration `name=url` makes."""
    key = key_setting(name)
    return Configured(
        name=name,
        code=f"c{name}",
        file_pattern=_ID,
        batch_pattern=_ID,
        operations_module="blueprints.openai.operations",  # the code behind `operations`
        realtime="blueprints.openai.realtime",  # the code behind `realtime_module`
        credential=key,
        settings={key: Text(key, "", f"the gateway's key for `{name}` (declared in {VARIABLE}; gateway-key "
                                     "mode only)", secret=True)},
        url=url,
    )


def declared(environ: Mapping[str, str], taken: Mapping[str, Provider]) -> dict[str, Configured]:
    """The providers `environ` declares, without those whose name is in `taken` (built-in providers).

    A declaration that does not parse declares none here; loading the settings reports it.
    """
    return {name: provider(name, url) for name, url in from_environment(environ, VARIABLE).items()
            if name not in taken}


def problems(settings: Mapping[str, Any]) -> list[str]:
    """Startup: declared names that are built-in providers' (they were not registered)."""
    from blueprints import registry  # imported when checked: the registry imports this module

    clashes = sorted(set(settings.get("OPENAI_COMPATIBLE") or {}) & set(registry.BUILT_IN))
    return [f"{VARIABLE}: {name!r} is a built-in provider; declare the host under another name"
            for name in clashes]


@cache
def _operations(name: str, url: str) -> Operations:
    from blueprints.openai import client, operations  # imported on first use, as any provider's operations

    return operations.OpenAIShaped(name, partial(client.Client, name, url),
                                   operations.openai_lines("OPENAI_MAX_BATCH_REQUESTS"))


@cache
def _realtime(name: str, url: str) -> Realtime:
    from blueprints.openai import client, realtime  # imported on first use, as any provider's realtime module

    return realtime.OpenAIShapedRealtime(partial(client.Client, name, url))
