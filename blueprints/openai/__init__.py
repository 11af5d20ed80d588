"""The OpenAI provider: files and batches passed through to OpenAI's own API.

Its code also serves the OpenAI-compatible hosts declared in `DEEPINTSHIELD_OPENAI_COMPATIBLE`
(`compatible.py`) and Azure OpenAI (`blueprints/azure`): the same operations over another client
description (`client.Client`).
"""

from blueprints.common.declarations import Declarations
from blueprints.common.provider import Provider
from blueprints.openai.compatible import VARIABLE, problems
from configfields import Integer, Text, Url, at_least

NAME = "openai"
_ID = r"[A-Za-z0-9_-]{1,256}"

PROVIDER = Provider(
    name=NAME,
    code=None,  # OpenAI's own file-… / batch_… IDs are the gateway's
    file_pattern=_ID,
    batch_pattern=_ID,
    operations_module="blueprints.openai.operations",
    realtime="blueprints.openai.realtime",
    credential="OPENAI_API_KEY",
    base_url="OPENAI_BASE_URL",
    settings={
        "OPENAI_API_KEY": Text("OPENAI_API_KEY", "", "the gateway's OpenAI key (gateway-key mode only)", secret=True),
        "OPENAI_BASE_URL": Url("OPENAI_BASE_URL", "https://api.openai.com/v1", "OpenAI upstream"),
        "OPENAI_MAX_BATCH_REQUESTS": Integer("DEEPINTSHIELD_OPENAI_MAX_BATCH_REQUESTS", 50_000, "requests per OpenAI "
                                             "batch file (OpenAI's cap; also the declared compatible hosts'; `0`: "
                                             "none)", validate=[at_least(0)]),
        "OPENAI_COMPATIBLE": Declarations(VARIABLE, dict, "OpenAI-compatible batch APIs served as providers of "
                                          "these names (each one's key in `<NAME>_API_KEY`), read at startup",
                                          shown="none"),
    },
    check=problems,
    uploads="blueprints.openai.uploads:OPENAI",
)
