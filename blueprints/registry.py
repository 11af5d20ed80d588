"""The providers the gateway serves, one line each. Everything else reads this list.

A provider is one package (exporting `PROVIDER`, see `blueprints/common/provider.py`), one line here,
one fake in `tests/fakes/`, and its docs; the contract test (`tests/test_provider_contract.py`) covers
it without edits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from blueprints.anthropic import PROVIDER as ANTHROPIC
from blueprints.bedrock import PROVIDER as BEDROCK
from blueprints.common.provider import Provider
from blueprints.gemini import PROVIDER as GEMINI
from blueprints.openai import PROVIDER as OPENAI
from blueprints.vertex import PROVIDER as VERTEX

PROVIDERS: dict[str, Provider] = {provider.name: provider for provider in (OPENAI, ANTHROPIC, GEMINI, BEDROCK, VERTEX)}
DEFAULT = OPENAI.name  # the provider of a request that names none

if TYPE_CHECKING:  # the type checker holds every provider's operations module to the Operations protocol
    from blueprints.anthropic import operations as _anthropic
    from blueprints.bedrock import operations as _bedrock
    from blueprints.common.provider import Operations
    from blueprints.gemini import operations as _gemini
    from blueprints.openai import operations as _openai
    from blueprints.vertex import operations as _vertex

    _CHECKED: tuple[Operations, ...] = (_openai, _anthropic, _gemini, _bedrock, _vertex)


def get(name: str) -> Provider:
    return PROVIDERS[name]


def by_code(code: str) -> Provider:
    return next(provider for provider in PROVIDERS.values() if provider.code == code)
