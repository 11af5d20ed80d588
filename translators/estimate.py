"""An approximate token count of a batch input file, before it is submitted (pure: no I/O).

Approximate, and labelled so: about four characters a token (OpenAI's rule of thumb for English
text), counted over the text a request sends (every string in its body but names like `model`,
`role` or `type`, and inline `data:` URLs, whose images are priced by size, not length). No
tokenizer is used: the gateway has none for most providers' models, and a provider's own counting
(Anthropic's count_tokens) is one call per line, which no bounded request can make for a large file.
The output side is the most a line may produce: its `max_completion_tokens`, `max_tokens`,
`max_output_tokens` (or Gemini's `generationConfig.maxOutputTokens`, Bedrock's
`inferenceConfig.maxTokens`); a line with none is counted in `lines_without_max_output`, and the
maximum is then unknown. Embeddings produce no output tokens.

Lines may be OpenAI batch lines (`{custom_id, method, url, body}`) or a provider's native ones
(Anthropic `params`, Gemini `request`, Bedrock `modelInput`).
"""

from __future__ import annotations

from collections.abc import Mapping

CHARS_PER_TOKEN = 4
METHOD = "approximate"
# Keys whose values are names or switches, not text the model reads.
_NOT_TEXT = frozenset({"model", "role", "type", "custom_id", "method", "url", "id", "tool_call_id", "detail",
                       "format", "encoding_format", "tool_choice", "service_tier", "reasoning_effort",
                       "stop_reason", "mime_type", "mimeType", "media_type"})
_OUTPUT_CAPS = ("max_completion_tokens", "max_tokens", "max_output_tokens")
_NESTED_CAPS = (("generationConfig", "maxOutputTokens"), ("generation_config", "max_output_tokens"),
                ("inferenceConfig", "maxTokens"))
_BODIES = ("body", "params", "request", "modelInput")
NO_OUTPUT_ENDPOINTS = ("/v1/embeddings", "/v1/moderations")


def text_chars(value: object, depth: int = 0) -> int:
    """Characters of text in a request body (what the model reads)."""
    if depth > 64:
        return 0
    if isinstance(value, str):
        return 0 if value.startswith("data:") else len(value)
    if isinstance(value, Mapping):
        return sum(text_chars(item, depth + 1) for key, item in value.items() if key not in _NOT_TEXT)
    if isinstance(value, list):
        return sum(text_chars(item, depth + 1) for item in value)
    return 0


def output_cap(body: Mapping) -> int | None:
    """The most output tokens a request allows, where it says."""
    for name in _OUTPUT_CAPS:
        value = body.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
    for outer, inner in _NESTED_CAPS:
        config = body.get(outer)
        if isinstance(config, Mapping):
            value = config.get(inner)
            if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
                return value
    return None


class Estimate:
    """Token counts summed over input lines, overall and per model."""

    def __init__(self, endpoint: str, model: str | None = None) -> None:
        self.endpoint, self.model = endpoint, model
        self.lines = 0
        self.input_tokens = 0
        self.output_tokens_max = 0
        self.lines_without_max_output = 0
        self.by_model: dict[str, dict[str, int]] = {}

    def add(self, line: Mapping) -> None:
        body = next((line[name] for name in _BODIES if isinstance(line.get(name), Mapping)), line)
        model = self.model or (body.get("model") if isinstance(body.get("model"), str) else None) or ""
        tokens = -(-text_chars(body) // CHARS_PER_TOKEN)  # ceiling: a short line is still a token
        if self.endpoint in NO_OUTPUT_ENDPOINTS:
            cap: int | None = 0
        else:
            cap = output_cap(body)
        kept = self.by_model.setdefault(model, {"lines": 0, "input_tokens": 0, "output_tokens_max": 0})
        kept["lines"] += 1
        kept["input_tokens"] += tokens
        self.lines += 1
        self.input_tokens += tokens
        if cap is None:
            self.lines_without_max_output += 1
        else:
            kept["output_tokens_max"] += cap
            self.output_tokens_max += cap
