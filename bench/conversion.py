"""Conversion (issue 6, item 3): OpenAI batch lines to each provider's format and provider result
lines back to OpenAI output lines, on one core, as the gateway runs them.

Each row runs the gateway's own line pipeline on 64 KiB byte chunks: `jsonl.split_lines` ->
`jsonl.numbered_objects` (json parse) -> `BatchInputCheck` (input direction) -> the translator ->
`jsonl.dumps`. The `json round trip` row (parse + check + dump, no translation) is the baseline in
the same run. Lines/s is the median of `--repeats` timed runs; peak memory is measured separately
with tracemalloc at two sizes (inputs generated lazily, outputs counted and dropped), so "flat in
the number of lines" shows as equal peaks. A translator module or function that does not exist
yet shows as "not available". Each row is marked against `TARGET` (150,000 lines/s, issue 16).

How "memory flat" is measured: the input rows keep the file's custom_ids for the uniqueness rule
(`translators/seen_ids.py`), which holds the newest `EXACT` = 65,536 IDs as strings and older
ones as 8-byte digests. Below 65,536 lines the peak therefore grows by ~100 B per line (the
string set filling up) and stops growing there, so the two sizes must both lie past it: the
default is 70,000 vs 140,000 lines (what is left is the 8 bytes per older ID, by design; the
memory pass traces every allocation, so a full run takes minutes on a loaded machine). Smaller
`--memory-lines` show the set filling up, not a leak.

Run: `.venv/bin/python bench/conversion.py [--lines 50000] [--repeats 3]`.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import itertools
import json
import os
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import data  # noqa: E402
from translators import jsonl, typed_lines  # noqa: E402

CREATED = 1_700_000_000
MAX_TOKENS = 4096
TARGET = 150_000  # lines/s, each way (issue 16)
CHUNK = 64 * 1024
# Peak growth per line that still counts as flat: the 8-byte digest an input row keeps per custom_id
# older than the newest 65,536 (seen_ids.py), plus measuring noise. A leak of one object per line is ~50+.
FLAT_BYTES = 12
ANSWER = ("The printing press, invented by Johannes Gutenberg around 1440, made books cheap enough for "
          "ordinary people. For example, Luther's pamphlets spread across Europe in weeks.")
CLAUDE = "anthropic.claude-3-5-sonnet-20240620-v1:0"
NOVA = "amazon.nova-pro-v1:0"


def _function(module: str, name: str) -> Callable | None:
    try:
        return getattr(importlib.import_module(f"translators.{module}"), name)
    except (ImportError, AttributeError):
        return None


# Provider result lines, shaped like the providers' result files (providers.md §B.3, §C.7, §D.7).


def _claude_message(i: int) -> dict:
    return {"id": f"msg_01{i:020d}", "type": "message", "role": "assistant", "model": "claude-3-5-sonnet-20240620",
            "content": [{"type": "text", "text": ANSWER}], "stop_reason": "end_turn", "stop_sequence": None,
            "usage": {"input_tokens": 42, "output_tokens": 48, "cache_creation_input_tokens": 0,
                      "cache_read_input_tokens": 0}}


def anthropic_result(i: int) -> dict:
    return {"custom_id": f"request-{i:07d}", "result": {"type": "succeeded", "message": _claude_message(i)}}


def gemini_result(i: int) -> dict:
    return {"key": f"request-{i:07d}", "response": {
        "candidates": [{"content": {"parts": [{"text": ANSWER}], "role": "model"}, "finishReason": "STOP",
                        "avgLogprobs": -0.12, "index": 0}],
        "usageMetadata": {"promptTokenCount": 42, "candidatesTokenCount": 48, "totalTokenCount": 90,
                          "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 42}]},
        "modelVersion": "gemini-2.0-flash-001", "responseId": f"resp{i:012d}"}}


def bedrock_claude_result(i: int) -> dict:
    line = data.openai_line(i)
    return {"recordId": line["custom_id"], "modelInput": {
        "anthropic_version": "bedrock-2023-05-31", "max_tokens": 256, "system": data.SYSTEM,
        "messages": [{"role": "user", "content": line["body"]["messages"][1]["content"]}]},
        "modelOutput": _claude_message(i)}


def bedrock_converse_result(i: int) -> dict:
    line = data.openai_line(i)
    return {"recordId": line["custom_id"], "modelInput": {
        "system": [{"text": data.SYSTEM}], "inferenceConfig": {"maxTokens": 256},
        "messages": [{"role": "user", "content": [{"text": line["body"]["messages"][1]["content"]}]}]},
        "modelOutput": {"output": {"message": {"role": "assistant", "content": [{"text": ANSWER}]}},
                        "stopReason": "end_turn", "usage": {"inputTokens": 42, "outputTokens": 48,
                                                            "totalTokens": 90},
                        "metrics": {"latencyMs": 812}}}


# The other endpoints' lines (/v1/responses, /v1/completions, /v1/embeddings) and results, and Vertex's
# own shapes (its input lines carry the custom_id twice, its result rows echo the request; its
# embedding jobs take bare instances): blueprints/vertex/translate.py.

RESPONSES, COMPLETIONS, EMBEDDINGS = "/v1/responses", "/v1/completions", "/v1/embeddings"
TITAN = "amazon.titan-embed-text-v2:0"
DIMENSIONS = 256  # embedding vectors in the result rows (Titan V2's smallest size; Gemini's are larger)
VECTOR = [round(((k * 7919) % 2000) / 1000 - 1, 6) for k in range(DIMENSIONS)]
VERTEX_JOB = "projects/bench/locations/us-central1/batchPredictionJobs/1234567890"


def _user_text(i: int) -> str:
    return data.openai_line(i)["body"]["messages"][1]["content"]


def responses_line(i: int, model: str = "gpt-4o-mini") -> dict:
    return {"custom_id": f"request-{i:07d}", "method": "POST", "url": RESPONSES, "body": {
        "model": model, "instructions": data.SYSTEM, "input": _user_text(i), "max_output_tokens": 256,
        "temperature": 0.2}}


def completions_line(i: int, model: str = "gpt-4o-mini") -> dict:
    return {"custom_id": f"request-{i:07d}", "method": "POST", "url": COMPLETIONS, "body": {
        "model": model, "prompt": _user_text(i), "max_tokens": 256, "temperature": 0.2}}


def embeddings_line(i: int, model: str = "text-embedding-3-small") -> dict:
    return {"custom_id": f"request-{i:07d}", "method": "POST", "url": EMBEDDINGS,
            "body": {"model": model, "input": _user_text(i)}}


def gemini_embedding_result(i: int) -> dict:
    return {"key": f"request-{i:07d}#0/1", "response": {"embedding": {"values": VECTOR}, "tokenCount": 31}}


def titan_result(i: int) -> dict:
    return {"recordId": f"request-{i:07d}", "modelInput": {"inputText": _user_text(i)},
            "modelOutput": {"embedding": VECTOR, "inputTextTokenCount": 31}}


def _vertex():
    try:
        return importlib.import_module("blueprints.vertex.translate")
    except ImportError:
        return None


def vertex_result(i: int) -> dict:
    """A Vertex batch prediction result row: status, the echoed request (with the custom_id labels), response."""
    vertex = _vertex()
    line = vertex.input_line(data.openai_line(i)) if vertex else {"request": {}}
    return {"status": "", "processed_time": "2025-01-01T00:00:00.000Z", **line,
            "response": gemini_result(i)["response"]}


def vertex_embedding_result(i: int) -> dict:
    return {"instance": {"content": _user_text(i), "custom_id": f"cid-request-{i:07d}#0/1"},
            "predictions": [{"embeddings": {"values": VECTOR, "statistics": {"token_count": 31, "truncated": False}}}],
            "status": ""}


def _grouped(convert: Callable[[dict, int], dict], as_result: Callable[[dict], dict] | None = None,
             ) -> Callable[[dict], dict]:
    """An embeddings result converter as the gateway runs it on a one-text line: `group_embeddings` gathers
    the line's results (one here), then `convert(group, number)`."""
    group_embeddings = _function("gemini_endpoints", "group_embeddings")
    counter = iter(range(1, 1 << 62))

    def translate(obj: dict) -> dict:
        number = next(counter)
        record = as_result(obj) if as_result else obj
        return convert(next(group_embeddings([(number, record)]))[1], number)

    return translate


def rows() -> list[tuple[str, str, Callable[[int], dict] | None, Callable[[dict], dict] | None, bool]]:
    """(direction, name, line maker, translate or None when missing, check input lines)."""
    batch_request = _function("anthropic", "batch_request")
    result_line = _function("anthropic", "result_line")
    batch_line = _function("gemini", "batch_line")
    gemini_output = _function("gemini", "output_line")
    to_record = _function("bedrock", "to_record")
    bedrock_output = _function("bedrock", "output_line")
    counter = iter(range(1, 1 << 62))

    def claude_line(i: int) -> dict:
        return data.openai_line(i, CLAUDE)

    def nova_line(i: int) -> dict:
        return data.openai_line(i, NOVA)

    def _identity(obj: dict) -> dict:
        return obj

    return [
        ("OpenAI -> provider", "json round trip (baseline)", data.openai_line, _identity, True),
        ("OpenAI -> provider", "Anthropic requests", data.openai_line,
         batch_request and (lambda o: batch_request(o, default_max_tokens=MAX_TOKENS)), True),
        ("OpenAI -> provider", "Gemini lines", data.openai_line, batch_line, True),
        ("OpenAI -> provider", "Bedrock records (Claude)", claude_line,
         to_record and (lambda o: to_record(o, record_id="R0000000001", claude=True,
                                                 default_max_tokens=MAX_TOKENS)), True),
        ("OpenAI -> provider", "Bedrock records (Converse)", nova_line,
         to_record and (lambda o: to_record(o, record_id="R0000000001", claude=False,
                                                 default_max_tokens=MAX_TOKENS)), True),
        ("provider -> OpenAI", "json round trip (baseline)", anthropic_result, _identity, False),
        ("provider -> OpenAI", "Anthropic results", anthropic_result,
         result_line and (lambda o: result_line(o, batch_id="msgbatch_01bench", created=CREATED)), False),
        ("provider -> OpenAI", "Gemini results", gemini_result,
         gemini_output and (lambda o: gemini_output(o, number=next(counter), batch="batches/bench",
                                                    model="gemini-2.0-flash", created=CREATED)), False),
        ("provider -> OpenAI", "Bedrock results (Claude)", bedrock_claude_result,
         bedrock_output and (lambda o: bedrock_output(o, job_id="bench12345678", model=CLAUDE, created=CREATED)),
         False),
        ("provider -> OpenAI", "Bedrock results (Converse)", bedrock_converse_result,
         bedrock_output and (lambda o: bedrock_output(o, job_id="bench12345678", model=NOVA, created=CREATED)),
         False),
        *endpoint_rows(),
    ]


def endpoint_rows() -> list[tuple[str, str, Callable[[int], dict] | None, Callable[[dict], dict] | None, bool]]:
    """The conversions of the other endpoints (and of Vertex), each as the blueprint calls it."""
    batch_request = _function("anthropic", "batch_request")
    result_line = _function("anthropic", "result_line")
    batch_lines = _function("gemini_endpoints", "batch_lines")
    gemini_output = _function("gemini_endpoints", "output_line")
    embedding_line = _function("gemini_endpoints", "embedding_line")
    to_record = _function("bedrock", "to_record")
    bedrock_output = _function("bedrock", "output_line")
    vertex = _vertex()
    counter = iter(range(1, 1 << 62))
    out: list = []

    def anthropic_request(endpoint: str):
        return batch_request and (lambda o: batch_request(o, default_max_tokens=MAX_TOKENS, endpoint=endpoint))

    def bedrock_record(claude: bool):
        return to_record and (lambda o: to_record(o, record_id="R0000000001", claude=claude,
                                                  default_max_tokens=MAX_TOKENS))

    def model_line(make, model):
        return lambda i: make(i, model)

    for name, make in (("/v1/responses", responses_line), ("/v1/completions", completions_line)):
        endpoint = RESPONSES if make is responses_line else COMPLETIONS
        out += [
            ("OpenAI -> provider", f"Anthropic requests ({name})", make, anthropic_request(endpoint), True),
            ("OpenAI -> provider", f"Gemini lines ({name})", make, batch_lines, True),
            ("OpenAI -> provider", f"Bedrock records (Claude, {name})", model_line(make, CLAUDE),
             bedrock_record(True), True),
            ("OpenAI -> provider", f"Bedrock records (Converse, {name})", model_line(make, NOVA),
             bedrock_record(False), True),
        ]
    out += [
        ("OpenAI -> provider", "Gemini lines (/v1/embeddings)", embeddings_line, batch_lines, True),
        ("OpenAI -> provider", "Bedrock records (Titan, /v1/embeddings)", model_line(embeddings_line, TITAN),
         bedrock_record(False), True),
        ("OpenAI -> provider", "Vertex lines (chat)", data.openai_line, vertex and vertex.input_line, True),
        ("OpenAI -> provider", "Vertex lines (/v1/responses)", responses_line, vertex and vertex.input_line, True),
        ("OpenAI -> provider", "Vertex lines (/v1/completions)", completions_line, vertex and vertex.input_line, True),
        ("OpenAI -> provider", "Vertex instances (/v1/embeddings)", embeddings_line, vertex and vertex.input_line,
         True),
    ]
    for name, endpoint in (("/v1/responses", RESPONSES), ("/v1/completions", COMPLETIONS)):
        out += [
            ("provider -> OpenAI", f"Anthropic results ({name})", anthropic_result,
             result_line and (lambda o, e=endpoint: result_line(o, batch_id="msgbatch_01bench", created=CREATED,
                                                                  endpoint=e)), False),
            ("provider -> OpenAI", f"Gemini results ({name})", gemini_result,
             gemini_output and (lambda o, e=endpoint: gemini_output(o, next(counter), url=e, batch="batches/bench",
                                                                    model="gemini-2.0-flash", created=CREATED)),
             False),
            ("provider -> OpenAI", f"Bedrock results (Claude, {name})", bedrock_claude_result,
             bedrock_output and (lambda o, e=endpoint: bedrock_output(o, job_id="bench12345678", model=CLAUDE,
                                                                      created=CREATED, endpoint=e)), False),
            ("provider -> OpenAI", f"Bedrock results (Converse, {name})", bedrock_converse_result,
             bedrock_output and (lambda o, e=endpoint: bedrock_output(o, job_id="bench12345678", model=NOVA,
                                                                      created=CREATED, endpoint=e)), False),
            ("provider -> OpenAI", f"Vertex results ({name})", vertex_result,
             vertex and (lambda o, e=endpoint: vertex.output_line(o, next(counter), job=VERTEX_JOB,
                                                                  model="gemini-2.0-flash", created=CREATED, url=e)),
             False),
        ]
    out += [
        ("provider -> OpenAI", "Vertex results (chat)", vertex_result,
         vertex and (lambda o: vertex.output_line(o, next(counter), job=VERTEX_JOB, model="gemini-2.0-flash",
                                                  created=CREATED)), False),
        ("provider -> OpenAI", f"Gemini results (/v1/embeddings, {DIMENSIONS}-d)", gemini_embedding_result,
         embedding_line and _grouped(lambda g, n: embedding_line(g, n, batch="batches/bench",
                                                                  model="gemini-embedding-001", created=CREATED))
         , False),
        ("provider -> OpenAI", f"Bedrock results (Titan, /v1/embeddings, {DIMENSIONS}-d)", titan_result,
         bedrock_output and (lambda o: bedrock_output(o, job_id="bench12345678", model=TITAN, created=CREATED,
                                                      endpoint=EMBEDDINGS)), False),
        ("provider -> OpenAI", f"Vertex results (/v1/embeddings, {DIMENSIONS}-d)", vertex_embedding_result,
         vertex and embedding_line and _grouped(
             lambda g, n: embedding_line(g, n, batch=VERTEX_JOB, model="text-embedding-005", created=CREATED,
                                         provider="Vertex AI"), vertex.embedding_result), False),
    ]
    return out


def chunks_of(make: Callable[[int], dict], count: int) -> Iterator[bytes]:
    """The JSONL of `count` lines as 64 KiB chunks, generated lazily (holds one chunk)."""
    pending = bytearray()
    for i in range(count):
        pending += json.dumps(make(i)).encode() + b"\n"
        if len(pending) >= CHUNK:
            yield bytes(pending)
            pending.clear()
    if pending:
        yield bytes(pending)


def pipeline(chunks: Iterable[bytes], translate: Callable[[dict], dict], check: bool) -> int:
    """Run the gateway's line pipeline; returns the number of output bytes (which are dropped).

    Input rows run `jsonl.translated_lines` with the translator's typed fast path (`fast=`), as the
    gateway does: blocks of usual lines go the typed way, the rest line by line.
    """
    rule = jsonl.BatchInputCheck((jsonl.OPENAI,)) if check else None
    fast = None
    if check:
        chunks = iter(chunks)
        first = next(chunks, b"")
        chunks = itertools.chain([first], chunks)
        fast = _fast_path(translate, first.split(b"\n", 1)[0])
    return sum(len(line) for line in jsonl.translated_lines(jsonl.split_lines(chunks), translate, rule, fast=fast))


_FAST_PATHS: dict[Callable, Callable | None] = {}


def _fast_path(translate: Callable[[dict], dict], sample: bytes) -> Callable | None:
    """The typed fast path that does what the row's `translate` does: the one candidate (the translators'
    fast functions with this bench's options) whose output bytes for the row's first line are `translate`'s.
    None for a row none matches (the baseline), which then runs line by line."""
    if translate not in _FAST_PATHS:
        _FAST_PATHS[translate] = None
        typed = typed_lines.decode_chat_lines(sample) if sample else None
        if typed:
            expected = jsonl.dumps(translate(json.loads(sample))) + b"\n"
            for candidate in _fast_candidates():
                out = candidate(typed) if candidate is not None else None
                if out is not None and jsonl.dumps_lines(out) == expected:
                    _FAST_PATHS[translate] = candidate
                    break
    return _FAST_PATHS[translate]


def _fast_candidates() -> list[Callable | None]:
    fast_requests = _function("anthropic", "fast_batch_requests")
    fast_records = _function("bedrock", "fast_records")
    fast_lines = _function("gemini", "fast_batch_lines")
    vertex = _vertex()
    return [
        fast_requests and (lambda lines: fast_requests(lines, default_max_tokens=MAX_TOKENS)),
        fast_lines,
        getattr(vertex, "vertex_fast_lines", None),
        *(fast_records and (lambda lines, claude=claude: fast_records(
            lines, record_ids=["R0000000001"] * len(lines), claude=claude, default_max_tokens=MAX_TOKENS))
          for claude in (True, False)),
    ]


def _result_setup(name: str) -> tuple | None:
    """(fast, convert, identify, provider, number_blank) as the gateway's call site for row `name` has them."""
    fast_results = importlib.import_module("translators.fast_results")
    if name == "Anthropic results":
        from translators import anthropic

        fast = getattr(fast_results, "anthropic_chat", None)
        return (fast and fast(CREATED),
                lambda line, n: anthropic.result_line(line, batch_id="msgbatch_01bench", created=CREATED),
                lambda line, n: (f"line-{n}", f"msgbatch_01bench_line-{n}"), "anthropic", False)
    if name == "Gemini results":
        from translators import gemini, gemini_endpoints

        fast = getattr(fast_results, "gemini_chat", None)
        context = {"batch": "batches/bench", "model": "gemini-2.0-flash", "created": CREATED}
        return (fast and fast(model=context["model"], created=CREATED),
                lambda line, n: gemini_endpoints.output_line(line, n, url=gemini_endpoints.CHAT_COMPLETIONS,
                                                             **context),
                lambda line, n: gemini.identify(line, n, batch="batches/bench"), "gemini", True)
    if name in ("Bedrock results (Claude)", "Bedrock results (Converse)"):
        from translators import bedrock

        fast = getattr(fast_results, "bedrock_chat", None)
        model = CLAUDE if "Claude" in name else NOVA
        return (fast and fast(job_id="bench12345678", model=model, created=CREATED, custom_ids=None),
                lambda record, n: bedrock.output_line(record, job_id="bench12345678", model=model, created=CREATED),
                lambda record, n: bedrock.result_identity(record, n, job_id="bench12345678"), "bedrock", False)
    return None


def result_pipeline(chunks: Iterable[bytes], name: str) -> int:
    """Run the gateway's result conversion for row `name` (`batch_output.converted_chunks` ->
    `jsonl_chunks`, the output file); returns the number of output bytes (which are dropped)."""
    from translators import batch_output

    fast, convert, identify, provider, number_blank = _result_setup(name)  # type: ignore[misc]
    lines = batch_output.converted_chunks(chunks, fast, convert, identify, provider=provider,
                                          number_blank=number_blank)
    return sum(len(chunk) for chunk in batch_output.jsonl_chunks(lines, successes=True))


def _runner(direction: str, name: str) -> Callable | None:
    """The result pipeline for a provider -> OpenAI row the gateway runs through `converted_chunks`."""
    if direction != "provider -> OpenAI" or _result_setup(name) is None:
        return None
    return lambda chunks, translate, check: result_pipeline(chunks, name)


def throughput(make, translate, check: bool, lines: int, repeats: int, run=pipeline) -> tuple[float, int]:
    """(median lines/s, output bytes) over `repeats` runs on pre-built chunks."""
    chunks = list(chunks_of(make, lines))
    speeds, out = [], 0
    for _ in range(repeats):
        gc.collect()
        started = time.perf_counter()
        out = run(chunks, translate, check)
        speeds.append(lines / (time.perf_counter() - started))
    return statistics.median(speeds), out


def peak_memory(make, translate, check: bool, lines: int, run=pipeline) -> float:
    """Peak traced memory (MB) of the pipeline fed lazily: what a streamed conversion holds."""
    gc.collect()
    tracemalloc.start()
    try:
        run(chunks_of(make, lines), translate, check)
        return tracemalloc.get_traced_memory()[1] / 1024 / 1024
    finally:
        tracemalloc.stop()


def main() -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=50_000)
    parser.add_argument("--memory-lines", type=int, nargs=2, default=[70_000, 140_000],
                        help="the two sizes at which peak memory is measured (both past seen_ids.EXACT)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    results, table_rows = [], []
    baseline: dict[str, float] = {}
    for direction, name, make, translate, check in rows():
        if translate is None:
            table_rows.append([direction, name, "not available", "", "", "", "", "", ""])
            results.append({"direction": direction, "name": name, "available": False})
            continue
        run = _runner(direction, name) or pipeline
        speed, out = throughput(make, translate, check, args.lines, args.repeats, run)
        small, large = (peak_memory(make, translate, check, n, run) for n in args.memory_lines)
        per_line = (large - small) * 1024 * 1024 / (args.memory_lines[1] - args.memory_lines[0])
        if "baseline" in name:
            baseline[direction] = speed
        ratio = speed / baseline[direction] if direction in baseline else float("nan")
        results.append({"direction": direction, "name": name, "available": True, "lines_per_s": speed,
                        "vs_baseline": ratio, "out_bytes_per_line": out / args.lines,
                        "peak_mb_small": small, "peak_mb_large": large, "growth_bytes_per_line": per_line})
        results[-1]["meets_target"] = speed >= TARGET
        table_rows.append([direction, name, f"{speed:,.0f}", "pass" if speed >= TARGET else "FAIL",
                           f"{ratio:.0%}", f"{out / args.lines:.0f}", f"{small:.2f}", f"{large:.2f}",
                           f"{per_line:.0f}"])

    small_n, large_n = args.memory_lines
    print(f"\nConversion: {args.lines:,} lines, one core, median of {args.repeats}; "
          f"peak = tracemalloc peak of the streamed pipeline\n")
    print(f"load average {os.getloadavg()[0]:.2f} (the machine is shared: compare runs at similar load)\n")
    print(_table(["direction", "conversion", "lines/s", f">= {TARGET:,}", "vs json round trip", "out bytes/line",
                  f"peak MB @ {small_n:,}", f"peak MB @ {large_n:,}", "growth B/line"], table_rows))
    print("\nInput rows grow by the custom_id set of `BatchInputCheck` (the uniqueness rule): ~100 B per line up"
          " to 65,536 lines, then 8 B per older ID (seen_ids.py); the translators hold one line.")
    real = [r for r in results if r["available"] and "baseline" not in r["name"]]
    if real:
        slowest = min(real, key=lambda r: r["lines_per_s"])
        growth = max(r["growth_bytes_per_line"] for r in real)
        print("\n" + _table(["target", "goal", "measured", "met"], [
            ["lines/s each way (one core)", f">= {TARGET:,}", f"{slowest['lines_per_s']:,.0f} ({slowest['name']})",
             "yes" if slowest["lines_per_s"] >= TARGET else "NO"],
            ["memory flat in lines", f"peak growth <= {FLAT_BYTES} B/line", f"{growth:.0f} B/line worst",
             "yes" if growth <= FLAT_BYTES else "NO"],
        ]))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2))
    return results


def _table(headers, body) -> str:
    import harness

    return harness.table(headers, body)


if __name__ == "__main__":
    main()
