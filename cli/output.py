"""How the command line shows things: tables for people (stdout), JSON for scripts (`--json`), and
the few fields of a Batch worth a column. Progress and notes go to stderr, never here."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import click
from openai.types import Batch

from cli.client import provider_of

_TIMES = ("created_at", "in_progress_at", "expires_at", "finalizing_at", "completed_at", "failed_at",
          "expired_at", "cancelling_at", "cancelled_at")


def when(timestamp: int | None) -> str:
    """A Unix time as UTC ISO 8601 (seconds), or "" for none."""
    if timestamp is None:
        return ""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def flatten(value: Any, prefix: str = "") -> list[tuple[str, str]]:
    """Rows `(dotted.key, value)` of a JSON value, nested objects spelt out (`usage.input_tokens`)."""
    if isinstance(value, Mapping):
        rows: list[tuple[str, str]] = []
        for key, item in value.items():
            rows.extend(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return rows
    if isinstance(value, list) and value and all(isinstance(item, Mapping) for item in value):
        return [row for index, item in enumerate(value) for row in flatten(item, f"{prefix}[{index}]")]
    shown = "" if value is None else value if isinstance(value, str) else json.dumps(value)
    return [(prefix, shown)]


def batch_rows(batch: Batch) -> list[tuple[str, str]]:
    """The rows of `status`: the Batch field by field (times readable), its usage if present."""
    data = batch.model_dump(mode="json", exclude_none=True)
    for key in _TIMES:
        if key in data:
            data[key] = when(data[key])
    usage = data.pop("usage", None)
    rows = flatten(data)
    return rows + flatten(usage, "usage") if usage else rows


def progress(batch: Batch) -> str:
    """`done/total` of a batch's requests (done = completed + failed), or "" before they are counted."""
    counts = batch.request_counts
    if counts is None:
        return ""
    return f"{counts.completed + counts.failed}/{counts.total}"


def batch_line(batch: Batch, provider: str | None) -> list[str]:
    """One row of `list`; `provider` given (the list's own), else read from the batch or its ID."""
    listed = provider or getattr(batch, "provider", None) or provider_of(batch.id) or "openai"
    return [batch.id, str(listed), batch.status, batch.endpoint, progress(batch), when(batch.created_at)]


def provider_errors(errors: Iterable[Any]) -> list[str]:
    """One line per entry of a `provider=all` list's `provider_errors`: provider, code, message."""
    lines = []
    for entry in errors:
        entry = entry if isinstance(entry, Mapping) else {"error": {"message": str(entry)}}
        found = entry.get("error")
        error: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
        code = f" ({error['code']})" if error.get("code") else ""
        lines.append(f"{entry.get('provider', '?')} not listed{code}: {error.get('message', '')}".rstrip(": "))
    return lines


LIST_HEADERS = ["id", "provider", "status", "endpoint", "requests", "created"]


def table(rows: Iterable[Sequence[str]], headers: Sequence[str] | None = None) -> None:
    """Print aligned columns on stdout (the last column unpadded)."""
    lines = [list(headers)] if headers else []
    lines += [list(row) for row in rows]
    if not lines:
        return
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]) - 1)]
    for line in lines:
        cells = [cell.ljust(width) for cell, width in zip(line, widths, strict=False)] + line[len(widths):]
        click.echo("  ".join(cells).rstrip())


def as_json(value: Any) -> None:
    """Print `value` (a JSON value or an SDK model) as indented JSON on stdout."""
    if hasattr(value, "model_dump"):
        value = value.model_dump(mode="json")
    click.echo(json.dumps(value, indent=2))
