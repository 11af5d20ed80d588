"""Token usage of a batch, summed from its results (pure: no I/O).

Every result body the gateway writes into an output file reports its own `usage`: a chat.completion
or text_completion (`prompt_tokens`, `completion_tokens`, `prompt_tokens_details.cached_tokens`,
`completion_tokens_details.reasoning_tokens`), a Responses `response` (`input_tokens`,
`output_tokens`, `input_tokens_details`, `output_tokens_details`) or an embedding list
(`prompt_tokens` only). `Totals` adds them up per model, and `batch_usage` gives OpenAI's
`Batch.usage` from the numbers. `sum_output(lines)` is the one pass over an output file's lines;
error lines (and any line without a successful body) count nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import msgspec

NAMES = ("input_tokens", "cached_tokens", "output_tokens", "reasoning_tokens", "total_tokens")
# Distinct models kept apart per batch; the rest are summed under OTHER (a batch names one model in
# practice, and what is kept must stay small).
MAX_MODELS = 32
OTHER = "(other models)"
UNKNOWN = ""  # a body that names no model

_decode = msgspec.json.Decoder().decode


# What a line is read as: only the fields summed, so the rest of each body (the choices' text, an
# embedding's numbers) is skipped by the decoder rather than built. A line of another shape goes
# through the plain decoder instead.
class _Body(msgspec.Struct):
    model: object = None
    usage: object = None


class _Response(msgspec.Struct):
    status_code: object = None
    body: _Body | None = None


class _Line(msgspec.Struct):
    response: _Response | None = None
    error: object = None


_decode_line = msgspec.json.Decoder(_Line).decode


def zero() -> dict[str, int]:
    return dict.fromkeys(NAMES, 0)


def numbers(usage: object) -> dict[str, int]:
    """Token counts of a chat completion's, a response's, a text completion's or an embedding list's
    `usage`; anything missing, negative or not an integer counts 0."""
    counted = zero()
    if not isinstance(usage, Mapping):
        return counted
    details_in = usage.get("prompt_tokens_details") or usage.get("input_tokens_details") or {}
    details_out = usage.get("completion_tokens_details") or usage.get("output_tokens_details") or {}
    counted["input_tokens"] = _count(usage.get("prompt_tokens", usage.get("input_tokens")))
    counted["output_tokens"] = _count(usage.get("completion_tokens", usage.get("output_tokens")))
    counted["cached_tokens"] = _count(details_in.get("cached_tokens")) if isinstance(details_in, Mapping) else 0
    counted["reasoning_tokens"] = (_count(details_out.get("reasoning_tokens"))
                                   if isinstance(details_out, Mapping) else 0)
    counted["total_tokens"] = _count(usage.get("total_tokens")) or counted["input_tokens"] + counted["output_tokens"]
    return counted


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def batch_usage(counted: Mapping[str, int]) -> dict:
    """OpenAI's `Batch.usage` from summed numbers."""
    return {
        "input_tokens": counted["input_tokens"],
        "input_tokens_details": {"cached_tokens": counted["cached_tokens"]},
        "output_tokens": counted["output_tokens"],
        "output_tokens_details": {"reasoning_tokens": counted["reasoning_tokens"]},
        "total_tokens": counted["total_tokens"],
    }


class Totals:
    """Usage summed over result bodies, overall and per model (at most MAX_MODELS kept apart)."""

    def __init__(self) -> None:
        self.total = zero()
        self.by_model: dict[str, dict[str, int]] = {}
        self.lines = 0  # result bodies counted

    def add_body(self, body: object) -> None:
        """Count one successful result body (a chat.completion, response, embedding list, ...)."""
        if not isinstance(body, Mapping):
            return
        counted = numbers(body.get("usage"))
        model = body.get("model")
        model = model if isinstance(model, str) else UNKNOWN
        if model not in self.by_model and len(self.by_model) >= MAX_MODELS:
            model = OTHER
        kept = self.by_model.setdefault(model, zero())
        for name, value in counted.items():
            self.total[name] += value
            kept[name] += value
        self.lines += 1

    def add_line(self, line: bytes) -> None:
        """Count one output-file line (OpenAI batch output JSONL); error lines count nothing."""
        if not line.strip():
            return
        try:
            fast = _decode_line(line)
        except msgspec.ValidationError:  # valid JSON of another shape (a body that is not an object, ...)
            pass
        except msgspec.DecodeError:
            return  # the gateway wrote the file; an unreadable line is not a count
        else:
            if fast.response is not None and not fast.error and fast.response.status_code == 200 \
                    and fast.response.body is not None:
                self.add_body({"model": fast.response.body.model, "usage": fast.response.body.usage})
            return
        record = _decode(line)
        response = record.get("response") if isinstance(record, dict) else None
        if not isinstance(response, dict) or record.get("error") or response.get("status_code") != 200:
            return
        self.add_body(response.get("body"))

    def usage(self) -> dict:
        return batch_usage(self.total)

    def record(self) -> dict:
        """What is kept of the sums: OpenAI's `usage` and the numbers per model."""
        return {"usage": self.usage(), "by_model": {model: dict(kept) for model, kept in self.by_model.items()},
                "lines": self.lines}


def sum_output(lines: Iterable[bytes]) -> Totals:
    """The usage of an output file, from its lines (each a `bytes` line, as `jsonl.split_lines` gives)."""
    totals = Totals()
    for line in lines:
        totals.add_line(line)
    return totals
