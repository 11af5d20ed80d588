"""Every gateway setting with its default, read from the environment once per app."""

from __future__ import annotations

import os

from translators.anthropic import NO_SAMPLING_MODELS, TEMPERATURE_AND_TOP_P_MODELS

MB = 1024 * 1024


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def _float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value not in (None, "") else default


def _list(name: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]


def _list_or(name: str, default: tuple[str, ...]) -> list[str]:
    """A comma list; `default` only when the variable is unset (set and empty means none)."""
    return _list(name) if name in os.environ else list(default)


def from_environment() -> dict:
    """The settings for `create_app`, taken from the process environment."""
    return {
        # Client keys. Empty: passthrough mode, the client's bearer key is the provider key.
        "API_KEYS": _list("DEEPINTSHIELD_API_KEYS"),
        # Web origins whose pages may call the gateway from a browser (same-origin always may).
        "ALLOWED_ORIGINS": [origin.rstrip("/") for origin in _list("DEEPINTSHIELD_ALLOWED_ORIGINS")],
        # Provider keys used only when API_KEYS is set.
        "OPENAI_API_KEY": os.environ.get("OPENAI_API_KEY", ""),
        "ANTHROPIC_API_KEY": os.environ.get("ANTHROPIC_API_KEY", ""),
        "GEMINI_API_KEY": os.environ.get("GEMINI_API_KEY", ""),
        # Upstream base URLs, so tests and staging can point elsewhere.
        "OPENAI_BASE_URL": os.environ.get("OPENAI_BASE_URL", "https://api.openai.com/v1").rstrip("/"),
        "ANTHROPIC_BASE_URL": os.environ.get("ANTHROPIC_BASE_URL", "https://api.anthropic.com").rstrip("/"),
        "GEMINI_BASE_URL": os.environ.get(
            "GEMINI_BASE_URL", "https://generativelanguage.googleapis.com"
        ).rstrip("/"),
        # (connect, read) seconds for every upstream call.
        "UPSTREAM_TIMEOUT": (
            _float("DEEPINTSHIELD_CONNECT_TIMEOUT", 5.0),
            _float("DEEPINTSHIELD_READ_TIMEOUT", 120.0),
        ),
        "UPSTREAM_RETRIES": _int("DEEPINTSHIELD_UPSTREAM_RETRIES", 3),
        # Seconds all upstream calls of one client request may take together (retries and pages included).
        "UPSTREAM_BUDGET": _float("DEEPINTSHIELD_UPSTREAM_BUDGET", 300.0),
        # A streamed upstream body slower than this (bytes/s over 30 s) is cut off.
        "UPSTREAM_MIN_RATE": _float("DEEPINTSHIELD_UPSTREAM_MIN_RATE", 1024.0),
        # OpenAI's own upload limit; Werkzeug answers 413 past it without reading the body.
        "MAX_CONTENT_LENGTH": _int("DEEPINTSHIELD_MAX_UPLOAD_BYTES", 512 * MB),
        # A JSON request body (a batch create with inline requests): larger ones are a 413.
        "MAX_JSON_BYTES": _int("DEEPINTSHIELD_MAX_JSON_BYTES", 10 * MB),
        # One line of an uploaded batch file (one request, images inlined as base64 included).
        "MAX_LINE_BYTES": _int("DEEPINTSHIELD_MAX_LINE_BYTES", 16 * MB),
        # Requests per batch file (0: no cap): OpenAI's documented 50,000, Bedrock's default quota.
        "OPENAI_MAX_BATCH_REQUESTS": _int("DEEPINTSHIELD_OPENAI_MAX_BATCH_REQUESTS", 50_000),
        # Where the gateway keeps files a provider cannot give back (Anthropic, Gemini copies):
        # a local directory or s3://bucket/prefix.
        "FILE_STORE": os.environ.get("DEEPINTSHIELD_FILE_STORE", "./data/files"),
        # Keys the hash that names who owns a stored file; empty: a secret generated in the file store.
        "OWNER_SECRET": os.environ.get("DEEPINTSHIELD_OWNER_SECRET", ""),
        # Anthropic
        "ANTHROPIC_VERSION": os.environ.get("DEEPINTSHIELD_ANTHROPIC_VERSION", "2023-06-01"),
        "ANTHROPIC_DEFAULT_MAX_TOKENS": _int("DEEPINTSHIELD_ANTHROPIC_DEFAULT_MAX_TOKENS", 4096),
        # Which Claude models take which sampling parameters (translators/anthropic.py SamplingRules).
        "ANTHROPIC_NO_SAMPLING_MODELS": _list_or("DEEPINTSHIELD_ANTHROPIC_NO_SAMPLING_MODELS", NO_SAMPLING_MODELS),
        "ANTHROPIC_TEMPERATURE_AND_TOP_P_MODELS": _list_or("DEEPINTSHIELD_ANTHROPIC_TEMPERATURE_AND_TOP_P_MODELS",
                                                           TEMPERATURE_AND_TOP_P_MODELS),
        "ANTHROPIC_MAX_BATCH_REQUESTS": _int("DEEPINTSHIELD_ANTHROPIC_MAX_BATCH_REQUESTS", 100_000),
        "ANTHROPIC_MAX_BATCH_BYTES": _int("DEEPINTSHIELD_ANTHROPIC_MAX_BATCH_BYTES", 256 * MB),
        # Gemini
        "GEMINI_JSONL_MIME_TYPES": _list("DEEPINTSHIELD_GEMINI_JSONL_MIME_TYPES")
        or ["jsonl", "application/jsonl", "application/json", "text/plain"],
        # Bedrock
        "BEDROCK_ROLE_ARN": os.environ.get("DEEPINTSHIELD_BEDROCK_ROLE_ARN", ""),
        "BEDROCK_MIN_RECORDS": _int("DEEPINTSHIELD_BEDROCK_MIN_RECORDS", 100),
        "BEDROCK_MAX_RECORDS": _int("DEEPINTSHIELD_BEDROCK_MAX_RECORDS", 50_000),
        "BEDROCK_REGION": os.environ.get("DEEPINTSHIELD_BEDROCK_REGION")
        or os.environ.get("AWS_REGION")
        or os.environ.get("AWS_DEFAULT_REGION")
        or "us-east-1",
        "BEDROCK_DEFAULT_BUCKET": os.environ.get("DEEPINTSHIELD_BEDROCK_BUCKET", ""),
        "BEDROCK_DEFAULT_PREFIX": os.environ.get("DEEPINTSHIELD_BEDROCK_PREFIX", "deepintshield"),
        "BEDROCK_ALLOWED_BUCKETS": _list("DEEPINTSHIELD_BEDROCK_ALLOWED_BUCKETS"),
        # Regions a request may name; empty: every region botocore knows.
        "AWS_REGIONS": _list("DEEPINTSHIELD_AWS_REGIONS"),
    }
