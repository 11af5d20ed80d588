"""AWS Bedrock behind the OpenAI Files and Batch API.

Files are S3 objects (the file ID encodes `region/bucket/key`; the Uploads API stages parts beside
them, `uploads.py`); batches are Bedrock model invocation
jobs (the batch ID encodes the job ARN); a batch's output and error files are the job's own S3
output folder, converted to OpenAI batch-output lines as they stream out. The gateway keeps no state.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from blueprints.common.provider import Provider
from configfields import Bucket, CommaList, Integer, Region, RoleArn, Text, at_least

NAME = "bedrock"
DEFAULT_PREFIX = "deepintshield"
# S3 keys: no `.`/`..` segment, none of the characters that would need encoding in a path.
_S3_KEY = r"(?!(?:.*/)?\.\.?(?:/|$))[A-Za-z0-9!_*'().+=,@-][A-Za-z0-9!_*'().+=,@/-]{0,1023}"


def _check(settings: Mapping[str, Any]) -> list[str]:
    """Startup: the default region and bucket are allowed, and the default location is one jobs can use."""
    problems = []
    region, regions = settings.get("BEDROCK_REGION"), settings.get("AWS_REGIONS") or []
    if region and regions and region not in regions:
        problems.append(f"DEEPINTSHIELD_BEDROCK_REGION: the default region {region!r} is not in "
                        f"DEEPINTSHIELD_AWS_REGIONS; expected one of {', '.join(regions)}")
    bucket, prefix = settings.get("BEDROCK_DEFAULT_BUCKET") or "", settings.get("BEDROCK_DEFAULT_PREFIX") or ""
    allowed = settings.get("BEDROCK_ALLOWED_BUCKETS") or []
    if bucket and allowed and bucket not in allowed:
        problems.append(f"DEEPINTSHIELD_BEDROCK_BUCKET: {bucket!r} is not in DEEPINTSHIELD_BEDROCK_ALLOWED_BUCKETS; "
                        f"expected one of {', '.join(allowed)}")
    if bucket or prefix != DEFAULT_PREFIX:  # the defaults fit; checking them would load botocore in the master
        from blueprints.bedrock.operations import default_location_problem  # Flask and botocore: only if needed

        problem = default_location_problem(bucket, prefix)
        if problem:
            problems.append(problem)
    return problems


PROVIDER = Provider(
    name=NAME,
    code="b",
    file_pattern=rf"[a-z]{{2}}(-[a-z]+)+-\d/[a-z0-9][a-z0-9.-]{{1,61}}[a-z0-9]/{_S3_KEY}",  # region/bucket/key
    batch_pattern=r"arn:aws[a-z-]*:bedrock:[a-z0-9-]+:\d{12}:model-invocation-job/[a-z0-9]{12}|[a-z0-9]{12}",
    operations_module="blueprints.bedrock.operations",
    realtime="blueprints.bedrock.realtime",
    uploads="blueprints.bedrock.uploads:UPLOADS",
    credential=None,  # the server's own AWS credentials
    options=frozenset({"storage_config", "model", "output_s3_uri", "role_arn"}),
    guard="blueprints.bedrock.operations:require_trusted_client",
    # A deployment that uses Bedrock names a role for its jobs or a bucket for its files.
    in_use=lambda settings: bool(settings.get("BEDROCK_ROLE_ARN") or settings.get("BEDROCK_DEFAULT_BUCKET")),
    client_key=False,  # the gateway's own AWS credentials
    check=_check,
    settings={
        "BEDROCK_ROLE_ARN": RoleArn("DEEPINTSHIELD_BEDROCK_ROLE_ARN", "", "role for jobs (or `role_arn` per request)"),
        "BEDROCK_MIN_RECORDS": Integer("DEEPINTSHIELD_BEDROCK_MIN_RECORDS", 100, "minimum records per job",
                                       validate=[at_least(1)]),
        "BEDROCK_MAX_RECORDS": Integer("DEEPINTSHIELD_BEDROCK_MAX_RECORDS", 50_000, "records per input file "
                                       "(Bedrock's default quota; `0`: none)", validate=[at_least(0)]),
        "BEDROCK_REGION": Region("DEEPINTSHIELD_BEDROCK_REGION", None, "the default region of Bedrock requests",
                                 shown="`AWS_REGION`, `AWS_DEFAULT_REGION` or `us-east-1`"),
        "BEDROCK_DEFAULT_BUCKET": Bucket("DEEPINTSHIELD_BEDROCK_BUCKET", "", "default S3 bucket for Bedrock files "
                                         "(checked at startup against Bedrock's S3 URI rule)"),
        "BEDROCK_DEFAULT_PREFIX": Text("DEEPINTSHIELD_BEDROCK_PREFIX", DEFAULT_PREFIX, "key prefix in the default "
                                       "bucket (checked likewise; empty: the bucket's root)", empty=""),
        "BEDROCK_ALLOWED_BUCKETS": CommaList("DEEPINTSHIELD_BEDROCK_ALLOWED_BUCKETS", [], "allow-list; other buckets "
                                             "are a 403", of=Bucket, shown="empty (all)"),
    },
)
