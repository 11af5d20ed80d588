"""Anthropic provider: OpenAI Files and Batch calls served by Anthropic Message Batches.

Anthropic batches take no file input, so uploaded batch files live in the gateway's file store
(namespace "anthropic") and are inlined into `POST /v1/messages/batches` at batch-create time.
Results are converted to OpenAI output/error lines while they stream to the client.
"""

from blueprints.common.provider import Provider
from configfields import CommaList, Date, Integer, MiB, Size, Text, Url, at_least
from translators.claude_models import NO_SAMPLING_MODELS, TEMPERATURE_AND_TOP_P_MODELS

NAME = "anthropic"
_MSGBATCH = r"msgbatch_[A-Za-z0-9_-]{1,128}"

PROVIDER = Provider(
    name=NAME,
    code="a",
    # Files live in the gateway's file store under a generated key.
    file_pattern=r"[A-Za-z0-9_-]{1,256}",
    # A batch split over several Message Batches is their comma-joined IDs; one made from a stored file
    # carries `@<file key>`, so its input_file_id can be given back; one of /v1/responses or
    # /v1/completions lines ends in `~responses` or `~completions` (how its results are converted).
    batch_pattern=rf"{_MSGBATCH}(,{_MSGBATCH})*(@[A-Za-z0-9_-]{{1,256}})?(~(responses|completions))?",
    passthrough_batch_pattern=_MSGBATCH,
    operations_module="blueprints.anthropic.operations",
    uploads="blueprints.anthropic.operations:uploads",
    realtime="blueprints.anthropic.realtime",
    credential="ANTHROPIC_API_KEY",
    base_url="ANTHROPIC_BASE_URL",
    options=frozenset({"model", "requests"}),
    settings={
        "ANTHROPIC_API_KEY": Text("ANTHROPIC_API_KEY", "", "the gateway's Anthropic key (gateway-key mode only)",
                                  secret=True),
        "ANTHROPIC_BASE_URL": Url("ANTHROPIC_BASE_URL", "https://api.anthropic.com", "Anthropic upstream"),
        "ANTHROPIC_VERSION": Date("DEEPINTSHIELD_ANTHROPIC_VERSION", "2023-06-01", "the `anthropic-version` sent "
                                  "(decides the sampling rules)"),
        "ANTHROPIC_DEFAULT_MAX_TOKENS": Integer("DEEPINTSHIELD_ANTHROPIC_DEFAULT_MAX_TOKENS", 4096, "`max_tokens` "
                                                "for chat bodies without one", validate=[at_least(1)]),
        "ANTHROPIC_NO_SAMPLING_MODELS": CommaList("DEEPINTSHIELD_ANTHROPIC_NO_SAMPLING_MODELS", NO_SAMPLING_MODELS,
                                                  "model globs that take no temperature/top_p/top_k (empty: none)",
                                                  empty=[]),
        "ANTHROPIC_TEMPERATURE_AND_TOP_P_MODELS": CommaList(
            "DEEPINTSHIELD_ANTHROPIC_TEMPERATURE_AND_TOP_P_MODELS", TEMPERATURE_AND_TOP_P_MODELS,
            "model globs that take temperature and top_p together (empty: none)", empty=[]),
        "ANTHROPIC_MAX_BATCH_REQUESTS": Integer("DEEPINTSHIELD_ANTHROPIC_MAX_BATCH_REQUESTS", 100_000, "requests per "
                                                "Anthropic Message Batch (larger files are split)",
                                                validate=[at_least(1)]),
        "ANTHROPIC_MAX_BATCH_BYTES": Size("DEEPINTSHIELD_ANTHROPIC_MAX_BATCH_BYTES", 256 * MiB, "bytes per Anthropic "
                                          "Message Batch (larger files are split)", validate=[at_least(1)]),
    },
)
