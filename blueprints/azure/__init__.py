"""The Azure OpenAI provider: files and batches on an Azure OpenAI resource (providers-next.md §3).

Azure's Files and Batch API is OpenAI's with Azure's own rules, so it is the OpenAI provider's code
(`blueprints.openai.operations.OpenAIShaped`) over Azure's client description (`client.py`): the
resource's `/openai/v1/` API, or the dated `/openai/…?api-version=…` one when
`AZURE_OPENAI_API_VERSION` is set; the key in an `api-key` header. Azure's batch-file rules are
checked at upload (`lines.py`). Its IDs look like OpenAI's, so they are encoded with the code `z`:
follow-up calls find Azure without `provider`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from blueprints.common.provider import Provider
from configfields import CommaList, Integer, Setting, Size, Text, Url, at_least

NAME = "azure"
_ID = r"[A-Za-z0-9_-]{1,256}"  # file-…, batch_… (Azure's have hyphens: batch_6caaf24d-54a5-…)
V1_URLS = ["/v1/chat/completions", "/v1/responses"]  # the v1 API's batch lines (Azure's batch guide)
DATED_URLS = ["/chat/completions"]  # the dated API's (its AzureOpenAI samples)


class ApiVersion(Setting):
    form, noun, expected = "YYYY-MM-DD[-preview]", "an API version", "a version like 2024-10-21 or 2025-04-01-preview"

    @classmethod
    def parse(cls, text: str) -> str:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}(-preview)?", text):
            raise ValueError
        return text


def check(settings: Mapping[str, Any]) -> list[str]:
    """Startup: the endpoint is a resource's root, and each batch line URL is one of the gateway's endpoints."""
    from schemas.requests import BATCH_ENDPOINTS

    problems = []
    endpoint = settings.get("AZURE_OPENAI_ENDPOINT") or ""
    if re.search(r"/openai(/v1)?$", urlsplit(endpoint).path):
        problems.append(f"AZURE_OPENAI_ENDPOINT: {endpoint!r} ends in the API path; expected the resource's URL "
                        "like https://<resource>.openai.azure.com (the gateway adds /openai/v1 or /openai)")
    for url in settings.get("AZURE_OPENAI_BATCH_URLS") or []:
        if url not in BATCH_ENDPOINTS and f"/v1{url}" not in BATCH_ENDPOINTS:
            problems.append(f"DEEPINTSHIELD_AZURE_OPENAI_BATCH_URLS: {url!r} is not a batch endpoint; expected "
                            f"one of {', '.join(BATCH_ENDPOINTS)}, with or without /v1")
    return problems


PROVIDER = Provider(
    name=NAME,
    code="z",
    file_pattern=_ID,
    batch_pattern=_ID,
    operations_module="blueprints.azure.operations",
    realtime="blueprints.azure.realtime",
    credential="AZURE_OPENAI_API_KEY",
    base_url="AZURE_OPENAI_ENDPOINT",
    in_use=lambda settings: bool(settings.get("AZURE_OPENAI_ENDPOINT")),  # no default resource
    settings={
        "AZURE_OPENAI_ENDPOINT": Url("AZURE_OPENAI_ENDPOINT", "", "your Azure OpenAI resource, like "
                                    "`https://<resource>.openai.azure.com`"),
        "AZURE_OPENAI_API_KEY": Text("AZURE_OPENAI_API_KEY", "", "the gateway's Azure OpenAI key, sent as `api-key` "
                                     "(gateway-key mode only)", secret=True),
        "AZURE_OPENAI_API_VERSION": ApiVersion("AZURE_OPENAI_API_VERSION", "", "empty: Azure's v1 API "
                                               "(`/openai/v1/…`); a version: the dated API "
                                               "(`/openai/…?api-version=…`)"),
        "AZURE_OPENAI_BATCH_URLS": CommaList("DEEPINTSHIELD_AZURE_OPENAI_BATCH_URLS", [], "the `url`s an Azure batch "
                                             "line may have (every line the same one; sent as the batch endpoint)",
                                             shown=f"`{','.join(V1_URLS)}` (v1 API), `{','.join(DATED_URLS)}` "
                                                   "(dated API)"),
        "AZURE_OPENAI_MAX_BATCH_REQUESTS": Integer("DEEPINTSHIELD_AZURE_OPENAI_MAX_BATCH_REQUESTS", 50_000,
                                                   "requests per Azure batch file (`0`: none)", validate=[at_least(0)]),
        "AZURE_OPENAI_MAX_BATCH_BYTES": Size("DEEPINTSHIELD_AZURE_OPENAI_MAX_BATCH_BYTES", 200_000_000,
                                             "largest Azure batch file (Azure's 200 MB)", validate=[at_least(1)],
                                             shown="`200MB`"),
    },
    check=check,
)
