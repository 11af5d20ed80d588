"""Google Gemini behind the OpenAI Files and Batch API: Files API uploads, Gemini batch jobs.

`client.py` holds the upstream calls (Generative Language API v1beta), `operations.py` the nine
operations the dispatcher calls, `translators/gemini.py` the shape conversions.
"""

from blueprints.common.provider import Provider
from configfields import CommaList, MimeType, Text, Url

NAME = "gemini"

PROVIDER = Provider(
    name=NAME,
    code="g",
    file_pattern=r"files/[A-Za-z0-9_-]{1,128}",
    batch_pattern=r"batches/[A-Za-z0-9_-]{1,128}",
    operations_module="blueprints.gemini.operations",
    realtime="blueprints.gemini.realtime",
    credential="GEMINI_API_KEY",
    base_url="GEMINI_BASE_URL",
    options=frozenset({"model", "requests"}),
    uploads="blueprints.gemini.operations:uploads",  # parts in the file store, completed through create_file
    upload_pattern=r"[A-Za-z0-9_-]{1,128}",  # the file store key of its record (no `files/` name)
    settings={
        "GEMINI_API_KEY": Text("GEMINI_API_KEY", "", "the gateway's Gemini key (gateway-key mode only)", secret=True),
        "GEMINI_BASE_URL": Url("GEMINI_BASE_URL", "https://generativelanguage.googleapis.com", "Gemini upstream"),
        "GEMINI_JSONL_MIME_TYPES": CommaList("DEEPINTSHIELD_GEMINI_JSONL_MIME_TYPES",
                                             ["jsonl", "application/jsonl", "application/json", "text/plain"],
                                             "MIME types tried in order on upload", of=MimeType),
    },
)
