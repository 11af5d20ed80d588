"""The providers the gateway serves, one line each. Everything else reads this list.

A provider is one package (exporting `PROVIDER`, see `blueprints/common/provider.py`), one line here,
one fake in `tests/fakes/`, and its docs; the contract test (`tests/test_provider_contract.py`) covers
it without edits.

Beside the built-in ones, the hosts declared in `DEEPINTSHIELD_OPENAI_COMPATIBLE` are providers too
(`blueprints/openai/compatible.py`): read from the environment when this module is first imported,
at startup (gunicorn's master and every worker see the same environment), so the settings schema
(`config.py`) holds their keys, the ID scheme knows their codes, and requests may name them. A
declared name that is a built-in provider's is left out here and stops startup (the OpenAI
provider's check says why).

So are the servers declared in `DEEPINTSHIELD_CHAT_ENDPOINTS` (`blueprints/chat`: OpenAI-compatible
servers without a batch API, whose batches the gateway runs), read the same way; a name already taken
by a built-in or a declared OpenAI-compatible provider is left out and stops startup (`chat.problems`).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from blueprints import chat
from blueprints.anthropic import PROVIDER as ANTHROPIC
from blueprints.azure import PROVIDER as AZURE
from blueprints.bedrock import PROVIDER as BEDROCK
from blueprints.common.provider import Provider
from blueprints.gemini import PROVIDER as GEMINI
from blueprints.openai import PROVIDER as OPENAI
from blueprints.openai import compatible
from blueprints.vertex import PROVIDER as VERTEX

BUILT_IN: dict[str, Provider] = {provider.name: provider
                                 for provider in (OPENAI, ANTHROPIC, GEMINI, BEDROCK, VERTEX, AZURE)}
_COMPATIBLE = compatible.declared(os.environ, taken=BUILT_IN)
PROVIDERS: dict[str, Provider] = {**BUILT_IN, **_COMPATIBLE,
                                  **chat.declared(os.environ, taken={**BUILT_IN, **_COMPATIBLE})}
DEFAULT = OPENAI.name  # the provider of a request that names none

if TYPE_CHECKING:  # the type checker holds every provider's operations (and realtime) module to its protocol
    from blueprints.anthropic import operations as _anthropic
    from blueprints.anthropic import realtime as _anthropic_realtime
    from blueprints.azure import operations as _azure
    from blueprints.azure import realtime as _azure_realtime
    from blueprints.bedrock import operations as _bedrock
    from blueprints.bedrock import realtime as _bedrock_realtime
    from blueprints.chat.operations import ChatOperations
    from blueprints.chat.realtime import ChatRealtime
    from blueprints.common.provider import Operations, Realtime
    from blueprints.common.storeduploads import StoredUploads
    from blueprints.common.uploads import UploadOperations
    from blueprints.gemini import operations as _gemini
    from blueprints.gemini import realtime as _gemini_realtime
    from blueprints.openai import operations as _openai
    from blueprints.openai import realtime as _openai_realtime
    from blueprints.openai.operations import OpenAIShaped
    from blueprints.openai.realtime import OpenAIShapedRealtime
    from blueprints.openai.uploads import RelayedUploads
    from blueprints.vertex import operations as _vertex
    from blueprints.vertex import realtime as _vertex_realtime

    _CHECKED: tuple[Operations, ...] = (_openai, _anthropic, _gemini, _bedrock, _vertex, _azure)

    def _uploads(operations: RelayedUploads | StoredUploads) -> UploadOperations:  # each Uploads API
        return operations
    _REALTIME: tuple[Realtime, ...] = (_openai_realtime, _anthropic_realtime, _gemini_realtime, _bedrock_realtime,
                                       _vertex_realtime, _azure_realtime)

    def _realtime(module: OpenAIShapedRealtime | ChatRealtime) -> Realtime:  # declared hosts' and servers'
        return module

    def _configured(operations: OpenAIShaped) -> Operations:  # a declared host's operations
        return operations

    def _chat(operations: ChatOperations) -> Operations:  # a declared chat server's operations
        return operations


def get(name: str) -> Provider:
    return PROVIDERS[name]


def by_code(code: str) -> Provider | None:
    """The provider whose encoded IDs carry `code`; None if no provider has it. A provider without a code
    (OpenAI) is named by its name in the IDs of the batches the gateway runs for it (`ids._code`)."""
    return next((provider for provider in PROVIDERS.values()
                 if provider.code == code or (provider.code is None and provider.name == code)), None)
