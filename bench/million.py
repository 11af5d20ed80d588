"""A 1,000,000-line batch per provider (issue 16 (d)): upload, conversion, create, poll, results conversion
and download, with the wall time split into client / gateway / fake, and the gateway workers' peak RSS growth.

The machinery is bench/lifecycle.py's (its `workflow` with the real OpenAI SDK against the gateway under
gunicorn, and the stateful fakes of tests/fakes/ served over HTTP by `fake_upstream.py`); each provider
gets its own fake(s) and its own gateway so its RSS growth is its own. One untimed 100-line run first
(lifecycle's warm-up), then one timed run of `--lines` lines.

Where the provider's own limit, which the gateway enforces at upload, is below `--lines`, that provider
runs at its limit and the table says "(provider limit)": OpenAI 50,000 requests per file
(DEEPINTSHIELD_OPENAI_MAX_BATCH_REQUESTS) and Bedrock 50,000 records per input file
(DEEPINTSHIELD_BEDROCK_MAX_RECORDS). Anthropic takes the whole file: the gateway splits it into Message
Batches of at most 100,000 requests / 256 MiB (blueprints/anthropic/operations.py) behind one batch ID.
Gemini takes it whole too (one converted file, one batch).

The served fakes check every line against the SDK types with pydantic (~1 ms a line), which alone would
take most of an hour for 1M lines; they run here with `--sample-checks 1000` (the first 1,000 lines and
every 1,000th after are checked; every line is still parsed and answered). The fake's time is printed
apart from the gateway's either way. Vertex and Azure are not run: lifecycle.py has no fake for them.

Targets: the batch completes with exactly one output line per request; worker peak RSS growth < 64 MB
(issue 16 (a)'s bound, the file is streamed). Lines/s end to end and per gateway second are printed.

Run: `.venv/bin/python bench/million.py [--lines 1000000] [--providers anthropic gemini openai bedrock]`.
Smoke test: `--lines 2000`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))  # the gateway's settings (its per-file caps)

import data  # noqa: E402
import harness  # noqa: E402
import lifecycle  # noqa: E402

PROVIDERS = ("openai", "anthropic", "gemini", "bedrock")
# The gateway's caps on requests per batch file (the providers' own limits), as its settings default them.
LIMIT_SETTINGS = {"openai": ("blueprints.openai", "OPENAI_MAX_BATCH_REQUESTS"),
                  "bedrock": ("blueprints.bedrock", "BEDROCK_MAX_RECORDS")}
SAMPLE_CHECKS = 1000
RSS_GROWTH_MB = 64.0


def limit(provider: str) -> int | None:
    """The gateway's default cap on requests per batch file for `provider` (None: no cap)."""
    if provider not in LIMIT_SETTINGS:
        return None
    import importlib

    module, name = LIMIT_SETTINGS[provider]
    return int(importlib.import_module(module).PROVIDER.settings[name].load_default) or None


def _rss(master_pid: int) -> dict[int, int]:
    return {pid: harness.status_kb(pid, "VmRSS") for pid in harness.workers(master_pid)}


def run_provider(provider: str, lines: int) -> dict:
    """One provider's fake(s) and gateway, the warm-up, then one timed `lines`-line workflow."""
    from openai import OpenAI

    with harness.Processes() as procs:
        origins, env = lifecycle.start_fakes(procs, [provider], ("--sample-checks", str(SAMPLE_CHECKS)))
        env["DEEPINTSHIELD_BEDROCK_MIN_RECORDS"] = str(min(lifecycle.WARM_UP_LINES, lines))
        gateway, master = harness.start_gateway(procs, env)
        with OpenAI(base_url=f"{gateway}/openai", api_key=harness.KEY, max_retries=0, timeout=1800,
                    _strict_response_validation=True) as client:
            model = lifecycle.MODELS[provider]
            lifecycle.workflow(client, provider, data.lines_file(lifecycle.WARM_UP_LINES, model), origins[provider])
            path = data.lines_file(lines, model)
            before = _rss(master.pid)
            started = time.perf_counter()
            steps, facts = lifecycle.workflow(client, provider, path, origins[provider])
            wall = time.perf_counter() - started
            growth = max((harness.status_kb(pid, "VmHWM") - kb) / 1024 for pid, kb in before.items())
    total = {key: sum(steps[s][key] for s in lifecycle.STEPS) for key in ("wall", "client", "gateway", "fake")}
    return {"lines": lines, "file_mb": path.stat().st_size / harness.MB, "steps": steps, "total": total,
            "wall": wall, "output_lines": facts["output_lines"], "polls": facts["polls"],
            "counts": facts["counts"].model_dump() if facts["counts"] else None, "rss_growth_mb": growth}


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000, help="request lines per batch (capped at a "
                                                                     "provider's limit)")
    parser.add_argument("--providers", nargs="+", choices=PROVIDERS, default=list(PROVIDERS))
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    results: dict[str, dict] = {}
    for provider in args.providers:
        lines = min(args.lines, limit(provider) or args.lines)
        results[provider] = run_provider(provider, lines)
        results[provider]["limited"] = lines < args.lines
        t = results[provider]["total"]
        print(f"{provider}: {lines:,} lines, {results[provider]['output_lines']:,} output lines, "
              f"wall {t['wall']:.1f} s "
              f"(gateway {t['gateway']:.1f}, fake {t['fake']:.1f}, client {t['client']:.1f}), worker RSS growth "
              f"{results[provider]['rss_growth_mb']:.1f} MB", flush=True)  # kept should a later provider fail

    print(f"\n{args.lines:,}-line batch per provider: upload (with conversion), create, poll, download of the "
          "converted results, with the OpenAI SDK through gunicorn; one run; seconds\n")
    rows = []
    for provider, r in results.items():
        for step in lifecycle.STEPS:
            t = r["steps"][step]
            rows.append([provider, step + (f" ({r['polls']} polls)" if step == "poll" else ""), f"{t['wall']:.1f}",
                         f"{t['client']:.1f}", f"{t['gateway']:.1f}", f"{t['fake']:.1f}",
                         f"{t['gateway'] / t['wall']:.0%}" if t["wall"] else "-"])
    print(harness.table(["provider", "step", "wall s", "client s", "gateway s", "fake s", "gateway share"], rows))

    checks, summary = [], []
    for provider, r in results.items():
        t = r["total"]
        label = f"{r['lines']:,}" + (" (provider limit)" if r["limited"] else "")
        complete = r["output_lines"] == r["lines"]
        small = r["rss_growth_mb"] < RSS_GROWTH_MB
        r["meets_target"] = complete and small
        summary.append([provider, label, f"{r['file_mb']:.0f}", f"{t['wall']:.1f}", f"{t['gateway']:.1f}",
                        f"{t['fake']:.1f}", f"{t['client']:.1f}", f"{t['gateway'] / t['wall']:.0%}",
                        f"{r['lines'] / t['wall']:,.0f}", f"{r['lines'] / t['gateway']:,.0f}" if t["gateway"] else "-",
                        f"{r['output_lines']:,}", f"{r['rss_growth_mb']:.1f}"])
        checks.append([f"{provider}: one output line per request", f"{r['lines']:,}", f"{r['output_lines']:,}",
                       complete])
        checks.append([f"{provider}: worker peak RSS growth", f"< {RSS_GROWTH_MB:.0f} MB",
                       f"{r['rss_growth_mb']:.1f} MB", small])
    print("\n" + harness.table(["provider", "lines", "file MiB", "wall s", "gateway s", "fake s", "client s",
                                "gateway share", "lines/s end to end", "lines/s of gateway time", "output lines",
                                "worker RSS growth MB"], summary))
    print("\n" + harness.table(["target", "goal", "measured", "met"],
                               [[a, b, c, "pass" if ok else "FAIL"] for a, b, c, ok in checks]))
    print(f"\nclient = CPU time of the SDK process; fake = time in the fake's handlers (Bedrock: job fake + moto S3; "
          f"per-line SDK-type checks sampled 1 in {SAMPLE_CHECKS}); gateway = wall - client - fake (it also holds "
          "loopback transfer and scheduling). RSS growth = worker VmHWM after the run - VmRSS before it.")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"lines": args.lines, "providers": results, "checks": checks}, indent=2))
    return results


if __name__ == "__main__":
    main()
