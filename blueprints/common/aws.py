"""boto3 clients (one per service and region per worker, their calls timed and counted in `metrics`
through botocore's event hooks), AWS error mapping, and string rules read from botocore's service
models (so a value we send fits what the service validates).

boto3 and botocore are imported on first use, not with this module: they cost each worker ~13 MB and
~0.2 s at start, and only Bedrock and an S3 file store call them. botocore's exceptions and
`UPLOAD` are looked up on first access (`__getattr__`); an `except aws.ClientError` clause reads it only
when an exception reaches it, and by then botocore raised it, so it is loaded.
"""

from __future__ import annotations

import functools
import re
import time
from typing import TYPE_CHECKING

from flask import current_app

import metrics
from errors import APIError, BadRequest, UpstreamError

if TYPE_CHECKING:
    from boto3.s3.transfer import TransferConfig

    UPLOAD: TransferConfig

MB = 1024 * 1024


def _upload_config() -> TransferConfig:
    from boto3.s3.transfer import TransferConfig

    # Measured in style.md §7: threads read up to 10 parts ahead; without them memory stays ~ one part.
    # 5 MiB is S3's smallest part: a 200 MB upload grew the worker by 45 MB with it, 64 MB with 8 MiB parts.
    return TransferConfig(multipart_threshold=5 * MB, multipart_chunksize=5 * MB, use_threads=False)


_EXCEPTIONS = ("ClientError", "BotoCoreError", "ConnectTimeoutError", "ReadTimeoutError", "EndpointConnectionError")


def __getattr__(name: str):
    """botocore's exceptions and `UPLOAD`: made on first access, then module attributes like any other."""
    if name in _EXCEPTIONS:
        value = getattr(_exceptions(), name)
    elif name == "UPLOAD":
        value = _upload_config()
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def _exceptions():
    import botocore.exceptions

    return botocore.exceptions

# AWS error code -> the status the client gets. Each agrees with the `httpStatusCode` botocore's
# bedrock, bedrock-runtime and s3 models declare (tests/test_bedrock_aws.py), except where noted.
AWS_STATUS = {
    "ValidationException": 400,
    "InvalidRequest": 400,
    "InvalidArgument": 400,  # S3, not in botocore's model: 400 in S3's error-code list
    "InvalidBucketName": 400,  # S3, not in botocore's model: 400 in S3's error-code list
    "AccessDeniedException": 403,
    "AccessDenied": 403,
    "ResourceNotFoundException": 404,
    "NoSuchKey": 404,
    "NoSuchBucket": 404,
    "NoSuchUpload": 404,
    "404": 404,  # HEAD of a missing object: no body, so botocore names the error by its status
    "NotFound": 404,  # HEAD of a missing bucket
    # 400 in botocore: a final answer. (A 409 or 429 would make the SDK retry a create that cannot succeed.)
    "ConflictException": 400,
    "ServiceQuotaExceededException": 400,
    "ThrottlingException": 429,
    "SlowDown": 429,  # S3, not in botocore's model (503 "reduce your request rate"): a rate limit, so 429
    "InternalServerException": 502,  # 500 in botocore: the provider failed, which the gateway answers 502
    "ServiceUnavailableException": 502,  # 503 in botocore: likewise
}


def client(service: str, region: str | None = None, *, provider: str = "bedrock", retries: int = 3):
    """A boto3 client for `service` in `region`, created on first use in this worker.

    boto3 reads `AWS_ENDPOINT_URL_<SERVICE>` itself, so tests and S3-compatible stores work. A region
    botocore does not know (nor `DEEPINTSHIELD_AWS_REGIONS` allows) is a 400 before a client exists,
    and the cache is bounded: region names come from clients. `provider` names the client's calls in
    the upstream metrics (`filestore` for the gateway's own S3 store). `retries` is how often botocore
    retries a throttled or failed call (0: never, for callers that decide retries themselves, as the
    worker of a gateway-run batch does for each line).
    """
    if region is not None and region not in known_regions():
        raise BadRequest(f"Unknown AWS region {region!r}.", param="region", code="unknown_region")
    return _client(service, region, provider, retries)


@functools.lru_cache(maxsize=32)
def _client(service: str, region: str | None, provider: str = "bedrock", retries: int = 3):
    # botocore's `max_attempts` counts the retries after the first attempt (`total_max_attempts`: all of them).
    import boto3
    from botocore.config import Config

    config = Config(retries={"max_attempts": retries, "mode": "standard"}, connect_timeout=5, read_timeout=120)
    made = boto3.client(service, region_name=region, config=config)
    _instrument(made.meta.events, provider)
    return made


# Upstream metrics for every call a boto3 client makes, through botocore's event hooks. The request
# context dict is the same object in before-call and after-call(-error) of one API call.
_STARTED = "deepintshield_started"


def _instrument(events, provider: str) -> None:
    events.register("before-call", _call_started)
    events.register("after-call", functools.partial(_call_answered, provider))
    events.register("after-call-error", functools.partial(_call_failed, provider))


def _call_started(context: dict, **_) -> None:
    context[_STARTED] = time.perf_counter()


def _elapsed(context: dict) -> float:
    started = context.get(_STARTED)
    return time.perf_counter() - started if started is not None else 0.0


def _call_answered(provider: str, http_response, parsed: dict, model, context: dict, **_) -> None:
    """After any reply, error replies included (botocore raises their ClientError after this hook)."""
    metrics.observe_upstream(provider, model.name, _elapsed(context))
    retries = ((parsed or {}).get("ResponseMetadata") or {}).get("RetryAttempts") or 0
    if retries:
        metrics.upstream_retries(provider, retries)
    if http_response.status_code >= 300 and http_response.status_code != 304:
        metrics.upstream_error(provider, str(http_response.status_code))


def _call_failed(provider: str, exception: Exception, context: dict, event_name: str, **_) -> None:
    """After a call that got no reply at all (after botocore's own retries)."""
    metrics.observe_upstream(provider, event_name.rpartition(".")[2], _elapsed(context))
    exceptions = _exceptions()
    if isinstance(exception, (exceptions.ConnectTimeoutError, exceptions.ReadTimeoutError)):
        reason = "timeout"
    elif isinstance(exception, exceptions.EndpointConnectionError):
        reason = "unreachable"
    else:
        reason = "connection"
    metrics.upstream_error(provider, reason)


def reset_clients() -> None:
    """Forget every cached client (tests switch endpoints and credentials between apps)."""
    _client.cache_clear()


def known_regions() -> frozenset[str]:
    """The regions a client may name: `DEEPINTSHIELD_AWS_REGIONS`, else every region of botocore's partitions."""
    configured = current_app.config.get("AWS_REGIONS")
    return frozenset(configured) if configured else _botocore_regions()


@functools.cache
def _botocore_regions() -> frozenset[str]:
    import botocore.session

    session = botocore.session.get_session()
    return frozenset(region for partition in session.get_available_partitions()
                     for service in ("s3", "bedrock") for region in session.get_available_regions(service, partition))


def aws_error(error: Exception, provider: str = "bedrock", *, creates: bool = False) -> APIError:
    """The client-facing error for a boto3 exception."""
    exceptions = _exceptions()
    if isinstance(error, exceptions.ClientError):
        details = error.response.get("Error", {})
        code = str(details.get("Code", "Unknown"))
        status = AWS_STATUS.get(code)
        if status is None:
            http = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 502)
            status = http if http in (400, 401, 403, 404, 429) else 502
        return UpstreamError(provider, status, details.get("Message") or code, code=code,
                             retryable=False if creates and status >= 500 else None,
                             upstream_status=error.response.get("ResponseMetadata", {}).get("HTTPStatusCode"))
    if isinstance(error, exceptions.EndpointConnectionError):
        return UpstreamError(provider, 502, "unreachable", code="upstream_unreachable")
    if isinstance(error, exceptions.BotoCoreError):
        return UpstreamError(provider, 502, type(error).__name__, code="upstream_error",
                             retryable=False if creates else None)
    raise error


# Values checked against the service model before they are sent


class StringRule:
    """A botocore string shape's `pattern` (matched whole), `min` and `max` length.

    Read from the service model on first use (a worker that never checks one never loads botocore).
    """

    def __init__(self, service: str, shape: str) -> None:
        self.service, self.shape = service, shape

    @functools.cached_property
    def _rule(self) -> tuple[re.Pattern, int, int]:
        metadata = service_model(self.service).shape_for(self.shape).metadata
        return re.compile(metadata["pattern"]), metadata.get("min", 0), metadata.get("max", 1 << 31)

    @property
    def pattern(self) -> re.Pattern:
        return self._rule[0]

    @property
    def min(self) -> int:
        return self._rule[1]

    @property
    def max(self) -> int:
        return self._rule[2]

    def problem(self, value: str) -> str | None:
        """Why `value` does not fit the shape, or None when it does."""
        if not self.min <= len(value) <= self.max:
            return f"{len(value)} characters, outside {self.min}-{self.max}"
        if not self.pattern.fullmatch(value):
            return f"it does not match botocore's {self.shape} pattern"
        return None


@functools.cache
def service_model(service: str):
    """botocore's service model for `service` (read from the installed botocore's data)."""
    import botocore.session

    return botocore.session.get_session().get_service_model(service)


def string_rule(service: str, shape: str) -> StringRule:
    return StringRule(service, shape)


# Bedrock's S3 URIs (job input and output) and model IDs, read from botocore on first use.
S3_URI = string_rule("bedrock", "S3Uri")
MODEL_ID = string_rule("bedrock", "ModelId")
