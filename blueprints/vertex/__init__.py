"""Google Vertex AI behind the OpenAI Files and Batch API: Cloud Storage objects as files, Gemini
`batchPredictionJobs` as batches (providers-next.md §1, §2).

Files are objects in a Cloud Storage bucket (the file ID encodes `bucket/object`); batches are
batch prediction jobs (the batch ID encodes the job's resource name, so its project and location
come back with it); a batch's output and error files are the job's own output folder, converted to
OpenAI batch-output lines as they stream out. The gateway keeps no state. `client.py` holds the
upstream calls, `operations.py` the nine operations, `translate.py` the (pure) shape conversions.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from blueprints.common.provider import Provider
from configfields import CommaList, Integer, Invalid, Setting, Text, Url, at_least

NAME = "vertex"
DEFAULT_PREFIX = "deepintshield"
DEFAULT_BASE_URL = "https://{location}-aiplatform.googleapis.com"
# Cloud Storage bucket names (without the dotted 222-character form) and the object names the gateway
# serves: no `.`/`..` segment, none of the characters a path or a query would need escaped.
BUCKET = r"[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]"
OBJECT = r"(?!(?:.*/)?\.\.?(?:/|$))[A-Za-z0-9!_*'().+=,@-][A-Za-z0-9!_*'().+=,@/-]{0,1023}"
PREFIX = re.compile(r"[A-Za-z0-9!_*'().+=,@/-]{0,512}")
PROJECT = r"[a-z][a-z0-9-]{4,28}[a-z0-9]"
LOCATION = r"[a-z]+(?:-[a-z]+)*\d*"


class GcsBucket(Setting):
    form, noun = "GCS bucket", "a Cloud Storage bucket name"
    expected = ("3-63 lowercase letters, digits, dots, hyphens and underscores, starting and ending with a "
                "letter or digit")

    @classmethod
    def parse(cls, text: str) -> str:
        if not re.fullmatch(BUCKET, text) or ".." in text:
            raise ValueError
        return text


class Project(Setting):
    form, noun = "GCP project ID", "a Google Cloud project ID"
    expected = "6-30 lowercase letters, digits and hyphens, starting with a letter"

    @classmethod
    def parse(cls, text: str) -> str:
        if not re.fullmatch(PROJECT, text):
            raise ValueError
        return text


class Location(Setting):
    form, noun, expected = "Vertex AI location", "a Vertex AI location", "a region like us-central1, or global"

    @classmethod
    def parse(cls, text: str) -> str:
        if not re.fullmatch(LOCATION, text):
            raise ValueError
        return text


class RegionalUrl(Url):
    """An http(s) URL that may hold `{location}` in its host (the regional Vertex AI endpoints)."""

    form = "http(s) URL, `{location}` allowed"

    @classmethod
    def parse(cls, text: str) -> str:
        probe = text.replace("{location}", "us-central1")
        if "{" in probe or "}" in probe:
            raise Invalid("only {location} may stand in braces")
        Url.parse(probe)
        return text.rstrip("/")


def _check(settings: Mapping[str, Any]) -> list[str]:
    """Startup: the default bucket is allowed and the default prefix is one the gateway can name objects in."""
    problems = []
    bucket, allowed = settings.get("VERTEX_DEFAULT_BUCKET") or "", settings.get("VERTEX_ALLOWED_BUCKETS") or []
    if bucket and allowed and bucket not in allowed:
        problems.append(f"DEEPINTSHIELD_VERTEX_BUCKET: {bucket!r} is not in DEEPINTSHIELD_VERTEX_ALLOWED_BUCKETS; "
                        f"expected one of {', '.join(allowed)}")
    prefix = settings.get("VERTEX_DEFAULT_PREFIX") or ""
    if not PREFIX.fullmatch(prefix) or any(part in (".", "..") for part in prefix.split("/")):
        problems.append(f"DEEPINTSHIELD_VERTEX_PREFIX: {prefix!r} is not a prefix the gateway can use; expected "
                        "letters, digits and !_*'().+=,@- between slashes, no '.' or '..' segment")
    return problems


PROVIDER = Provider(
    name=NAME,
    code="v",
    file_pattern=rf"{BUCKET}/{OBJECT}",  # bucket/object
    batch_pattern=rf"projects/(?:{PROJECT}|\d{{1,20}})/locations/{LOCATION}/batchPredictionJobs/\d{{1,20}}",
    operations_module="blueprints.vertex.operations",
    realtime="blueprints.vertex.realtime",
    credential=None,  # passthrough: the client's Google access token; gateway keys: Application Default Credentials
    base_url="VERTEX_BASE_URL",
    options=frozenset({"storage_config", "model"}),
    uploads="blueprints.vertex.uploads:uploads",  # parts in the bucket (blueprints/vertex/uploads.py)
    check=_check,
    in_use=lambda settings: bool(settings.get("VERTEX_PROJECT")),  # listing (and creating) needs the project
    settings={
        "VERTEX_PROJECT": Project("DEEPINTSHIELD_VERTEX_PROJECT", "", "Google Cloud project that runs Vertex AI "
                                  "batches (needed to create and list them)"),
        "VERTEX_LOCATION": Location("DEEPINTSHIELD_VERTEX_LOCATION", "us-central1", "Vertex AI location of new "
                                    "batches (retrieve and cancel use the one in the batch ID)"),
        "VERTEX_BASE_URL": RegionalUrl("DEEPINTSHIELD_VERTEX_BASE_URL", DEFAULT_BASE_URL, "Vertex AI upstream "
                                       "(`{location}` becomes the job's location; `global`: "
                                       "https://aiplatform.googleapis.com)"),
        "VERTEX_DEFAULT_BUCKET": GcsBucket("DEEPINTSHIELD_VERTEX_BUCKET", "", "default Cloud Storage bucket for "
                                           "Vertex AI files (else `storage_config.gcs` per request)"),
        "VERTEX_DEFAULT_PREFIX": Text("DEEPINTSHIELD_VERTEX_PREFIX", DEFAULT_PREFIX, "object name prefix in the "
                                      "default bucket (empty: the bucket's root)", empty=""),
        "VERTEX_ALLOWED_BUCKETS": CommaList("DEEPINTSHIELD_VERTEX_ALLOWED_BUCKETS", [], "allow-list; other buckets "
                                            "are a 403", of=GcsBucket, shown="empty (all)"),
        "VERTEX_MAX_BATCH_REQUESTS": Integer("DEEPINTSHIELD_VERTEX_MAX_BATCH_REQUESTS", 200_000, "requests per "
                                             "Vertex AI batch file (Google's quoted cap; `0`: none)",
                                             validate=[at_least(0)]),
        "VERTEX_STORAGE_EMULATOR_HOST": Url("STORAGE_EMULATOR_HOST", "", "a Cloud Storage emulator to use instead "
                                            "of https://storage.googleapis.com (google-cloud-storage's variable: "
                                            "scheme included; no credentials are sent to it)", shown="unset"),
    },
)
