"""One line of a gateway-run Azure batch through the resource's synchronous API (the `Realtime` protocol).

The OpenAI-shaped implementation (`blueprints/openai/realtime.py`) over Azure's client description
(`client.py`: `api-key` header; the v1 API, or the dated one with `api-version`). How a real-time
call is addressed differs with the API form (providers-next.md §3.1, and the `openai` SDK's
`lib/azure.py` that §3.1 cites as S11):
- v1 API: OpenAI's paths under `{endpoint}/openai/v1/` (`…/chat/completions`), with `body.model`
  naming the deployment (the plain OpenAI client, §3.1 "Client");
- dated API: completions, chat completions and embeddings are deployment-scoped,
  `{endpoint}/openai/deployments/{deployment}/chat/completions?api-version=…`, the deployment being
  `body.model` (the SDK's `_deployments_endpoints`); other calls (`/responses`), like files and
  batches, are not (`{endpoint}/openai/responses?api-version=…`).
Either way each line's `body.model` names a deployment (§3.3), one that serves real-time calls: a
Global-Batch deployment takes batch jobs only.
"""

from __future__ import annotations

from flask import current_app

from blueprints.azure import client
from blueprints.openai.realtime import OpenAIShapedRealtime, openai_path

# The endpoints the dated API addresses under a deployment (the `openai` SDK's `_deployments_endpoints`).
DEPLOYMENT_ENDPOINTS = frozenset({"/v1/completions", "/v1/chat/completions", "/v1/embeddings"})


def route(endpoint: str, body: dict) -> tuple[str, ...]:
    """The path under the client's base URL (`…/openai/v1` or, dated, `…/openai`)."""
    path = openai_path(endpoint, body)
    if current_app.config["AZURE_OPENAI_API_VERSION"] and endpoint in DEPLOYMENT_ENDPOINTS:
        return ("deployments", body["model"], *path)
    return path


AZURE = OpenAIShapedRealtime(client.client, route, model_names="the name of your Azure deployment")

prepare = AZURE.prepare
send = AZURE.send
