"""What the console offers for each provider: the batch endpoints it runs and a few model names to suggest.

Read from the tables the providers' own code checks against (so a provider that learns an endpoint
shows it here unchanged); a provider with none of its own (an OpenAI-compatible host declared by
configuration) takes OpenAI's list, a declared chat server its servers' list. Model names are only
suggestions for a free-text field: the page never restricts them.
"""

from __future__ import annotations

from blueprints import chat, registry
from blueprints.common.provider import Provider
from schemas.requests import BATCH_ENDPOINTS


def endpoints(spec: Provider) -> list[str]:
    """The batch endpoints `spec` runs, as a client names them (`/v1/chat/completions`)."""
    if spec.gateway_only:
        return list(chat.ENDPOINTS)
    if spec.name == "anthropic":
        from translators import anthropic
        return list(anthropic.TO_PARAMS)
    if spec.name == "gemini":
        from translators import gemini_endpoints
        return list(gemini_endpoints.ENDPOINTS)
    if spec.name == "vertex":
        from blueprints.vertex import translate
        return list(translate.ENDPOINT_LABELS)
    if spec.name == "bedrock":
        from translators import bedrock
        return list(bedrock.ENDPOINTS)
    if spec.name == "azure":
        from blueprints.azure import client
        return list(client.endpoints())  # those of the configured API form (needs the app)
    return list(BATCH_ENDPOINTS)


# Suggestions only (the README's and the providers' current names); any other name may be typed.
MODELS: dict[str, list[str]] = {
    "openai": ["gpt-4o-mini", "gpt-4.1-mini", "gpt-4o", "text-embedding-3-small"],
    "anthropic": ["claude-3-5-haiku-20241022", "claude-sonnet-4-5", "claude-haiku-4-5"],
    "gemini": ["gemini-2.5-flash", "gemini-2.5-pro", "gemini-embedding-001"],
    "vertex": ["gemini-2.5-flash", "gemini-2.5-pro"],
    "bedrock": ["anthropic.claude-3-5-haiku-20241022-v1:0", "amazon.titan-embed-text-v2:0"],
}


def providers(gateway_keys: bool, settings: dict) -> list[dict]:
    """Each provider the gateway serves, in the registry's order. In gateway-key mode only those the
    gateway can call (its key set, or none needed): the others would answer 400 to every request."""
    listed = []
    for name, spec in registry.PROVIDERS.items():
        if gateway_keys and spec.credential and not spec.optional_key and not settings.get(spec.credential):
            continue
        listed.append({
            "name": name,
            "code": spec.code or name,  # the code in its encoded IDs (OpenAI's gateway-run jobs: its name)
            "endpoints": endpoints(spec),
            "models": MODELS.get(name, []),
            "model_option": "model" in spec.options,  # takes `model` on the batch create (extra_body)
            "gateway_only": spec.gateway_only,
        })
    return listed
