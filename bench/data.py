"""Realistic OpenAI batch input lines and files for the benchmarks (deterministic, no randomness)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

CACHE = Path(tempfile.gettempdir()) / "deepintshield-bench"
SYSTEM = "You are a helpful assistant that answers in one short paragraph."
TOPICS = ["the history of the printing press", "how vaccines train the immune system",
          "why the sky is blue", "the rules of chess castling", "what a hash table is"]


LINE_BYTES = 450  # the size of `openai_line` without padding
FILLER = ("Background for this request: keep the explanation concrete, define every new word, and "
          "prefer everyday comparisons over technical terms. ")


def openai_line(number: int, model: str = "gpt-4o-mini", line_bytes: int = LINE_BYTES) -> dict:
    """One chat-completions batch request, about `line_bytes` bytes as JSON (450 at the least)."""
    topic = TOPICS[number % len(TOPICS)]
    context = (FILLER * (1 + max(0, line_bytes - LINE_BYTES) // len(FILLER)))[: max(0, line_bytes - LINE_BYTES)]
    return {
        "custom_id": f"request-{number:07d}",
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": {
            "model": model,
            "messages": [
                {"role": "system", "content": SYSTEM},
                {"role": "user", "content": f"Request {number}: explain {topic} to a curious twelve-year-old, "
                                            "with one concrete example and no more than five sentences." + context},
            ],
            "max_tokens": 256,
            "temperature": 0.2,
        },
    }


def openai_lines(count: int, model: str = "gpt-4o-mini") -> list[bytes]:
    return [json.dumps(openai_line(i, model)).encode() for i in range(count)]


def batch_file(size_mb: int, line_bytes: int = LINE_BYTES) -> Path:
    """A `purpose=batch` JSONL file of (just over) `size_mb` MiB with lines of about `line_bytes` bytes,
    cached in the temp directory."""
    CACHE.mkdir(exist_ok=True)
    shape = "" if line_bytes == LINE_BYTES else f"-{line_bytes}B"
    path = CACHE / f"batch-{size_mb}MiB{shape}.jsonl"
    target = size_mb * 1024 * 1024
    if path.exists() and path.stat().st_size >= target:
        return path
    partial = path.with_suffix(".part")
    with open(partial, "wb") as out:
        written, number = 0, 0
        while written < target:
            block = b"".join(json.dumps(openai_line(n, line_bytes=line_bytes)).encode() + b"\n"
                             for n in range(number, number + 1_000))
            out.write(block)
            written += len(block)
            number += 1_000
    partial.rename(path)
    return path


def small_batch_file(lines: int = 100) -> Path:
    """A small `purpose=batch` file (warm-ups)."""
    return lines_file(lines)


def lines_file(count: int, model: str = "gpt-4o-mini") -> Path:
    """A `purpose=batch` file of exactly `count` request lines for `model`, cached."""
    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"batch-{count}lines-{model.replace(':', '_').replace('/', '_')}.jsonl"
    if not path.exists():
        partial = path.with_suffix(".part")
        with open(partial, "wb") as out:
            for start in range(0, count, 10_000):
                out.write(b"".join(json.dumps(openai_line(n, model)).encode() + b"\n"
                                   for n in range(start, min(count, start + 10_000))))
        partial.rename(path)
    return path
