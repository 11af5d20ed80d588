"""How Azure OpenAI is reached (providers-next.md §3.1-3.2): the settings made into a `Client`.

- `AZURE_OPENAI_API_VERSION` empty: the v1 API, `{endpoint}/openai/v1/files`, no `api-version`.
- set: the dated API, `{endpoint}/openai/files?api-version=…` on every call (files and batches are
  never deployment-scoped).
The key goes in an `api-key` header: the gateway's `AZURE_OPENAI_API_KEY` in gateway-key mode, the
client's bearer key in passthrough mode. No client header is passed on.
"""

from __future__ import annotations

from flask import current_app

from blueprints.azure import DATED_URLS, NAME, V1_URLS
from blueprints.openai.client import Client
from blueprints.openai.replies import client_endpoint
from errors import APIError


def client() -> Client:
    config = current_app.config
    endpoint = config["AZURE_OPENAI_ENDPOINT"]
    if not endpoint:
        raise APIError(400, "The gateway has no Azure OpenAI resource configured (AZURE_OPENAI_ENDPOINT).",
                       param="provider", code="provider_not_configured")
    version = config["AZURE_OPENAI_API_VERSION"]
    if version:
        return Client(NAME, f"{endpoint}/openai", key_header="api-key", key_scheme="",
                      query=(("api-version", version),))
    return Client(NAME, f"{endpoint}/openai/v1", key_header="api-key", key_scheme="")


def batch_urls() -> list[str]:
    """The `url`s a batch line may have: the setting's, else those of the configured API form."""
    configured = current_app.config["AZURE_OPENAI_BATCH_URLS"]
    return list(configured or (DATED_URLS if current_app.config["AZURE_OPENAI_API_VERSION"] else V1_URLS))


def endpoints() -> dict[str, str]:
    """Batch endpoint as the client names it (`/v1/chat/completions`) -> as Azure's API form takes it.

    Azure wants the batch `endpoint` and the lines' `url` to agree (its `url_mismatch` error), so a
    batch is created with the line spelling: `/chat/completions` on the dated API.
    """
    return {client_endpoint(url) or url: url for url in batch_urls()}
