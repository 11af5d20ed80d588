"""Call overhead (issue 6, item 1): the same calls made directly against a fast fake upstream and
through the gateway in its production config (gunicorn, `gunicorn.conf.py`), side by side.

For `files.retrieve`, `batches.retrieve` and `batches.list` at concurrency 1 and 16: p50/p99 latency
and requests/s, each the median of `--repeats` interleaved runs (direct, gateway, direct, ...), so
machine noise hits both sides alike. Also the RSS of each gunicorn worker, fresh and idle after load.

Run: `.venv/bin/python bench/overhead.py [--seconds 3] [--repeats 3]` (uses `wrk` when installed).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # noqa: E402

CALLS = [
    ("files.retrieve", "/files/file-abc123"),
    ("batches.retrieve", "/batches/batch_abc123"),
    ("batches.list", "/batches?limit=20"),
]
TARGETS = {"added_p50_c1_ms": 0.6, "rps_c16": 2500.0, "p99_c16_ms": 25.0, "idle_rss_mb": 60.0}  # issue 16


def rss_mb(pids: list[int], field: str = "VmRSS") -> list[float]:
    return [harness.status_kb(pid, field) / 1024 for pid in pids]


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="length of one load run")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved runs per figure (median)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16])
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--compare", type=Path, metavar="TREE",
                        help="also run the gateway from this copy of the project (a candidate change), interleaved")
    args = parser.parse_args()
    headers = {"Authorization": f"Bearer {harness.KEY}"}

    with harness.Processes() as procs:
        fake = harness.start_fake(procs)
        gateway, master = harness.start_gateway(procs, {"OPENAI_BASE_URL": fake + "/v1"})
        pids = harness.workers(master.pid)
        other = None
        if args.compare:
            other, _ = harness.start_gateway(procs, {"OPENAI_BASE_URL": fake + "/v1"}, "candidate", args.compare)
        time.sleep(1.0)
        fresh = rss_mb(pids)
        for _, path in CALLS:  # warm every worker's imports, pools and caches
            for origin in filter(None, (gateway, other)):
                harness.load(f"{origin}/openai/v1{path}", 4, 1, headers)

        rows, figures = [], {"calls": {}}
        for name, path in CALLS:
            for conns in args.concurrency:
                direct_runs, gateway_runs, other_runs = [], [], []
                for _ in range(args.repeats):
                    direct_runs.append(harness.load(f"{fake}/v1{path}", conns, args.seconds, headers))
                    gateway_runs.append(harness.load(f"{gateway}/openai/v1{path}", conns, args.seconds, headers))
                    if other:
                        other_runs.append(harness.load(f"{other}/openai/v1{path}", conns, args.seconds, headers))
                d, g = harness.median_of(direct_runs), harness.median_of(gateway_runs)
                errors = sum(r["errors"] for r in direct_runs + gateway_runs)
                if errors:
                    print(f"warning: {errors} failed requests in {name} c={conns}:\n"
                          + procs.log_tail("gateway"), file=sys.stderr)
                added = statistics.median(gr["p50"] - dr["p50"] for dr, gr in zip(direct_runs, gateway_runs,
                                                                                  strict=True))
                figures["calls"][f"{name}@{conns}"] = {"direct": d, "gateway": g, "added_p50": added}
                rows.append([name, conns, f"{d['p50']:.2f}", f"{g['p50']:.2f}", f"{added:.2f}",
                             f"{d['p99']:.2f}", f"{g['p99']:.2f}", f"{d['rps']:,.0f}", f"{g['rps']:,.0f}",
                             f"{g['rps'] / d['rps']:.0%}", errors])
                if other:
                    o = harness.median_of(other_runs)
                    speedup = statistics.median(b["rps"] / a["rps"] for a, b in zip(gateway_runs, other_runs,
                                                                                      strict=True))
                    figures["calls"][f"{name}@{conns}"]["candidate"] = o
                    rows[-1] += [f"{o['p50']:.2f}", f"{o['p99']:.2f}", f"{o['rps']:,.0f}", f"{speedup:.2f}x"]
        time.sleep(1.0)
        idle = rss_mb(pids)
        peak = rss_mb(pids, "VmHWM")

    print(f"\nCall overhead: direct = fast fake upstream, gateway = gunicorn ({len(pids)} workers) -> fake; "
          f"median of {args.repeats} x {args.seconds:g}s runs ({'wrk' if harness.have_wrk() else 'own load'})\n")
    extra = ["p50 cand ms", "p99 cand ms", "req/s cand", "cand/gw req/s"] if other else []
    print(harness.table(["call", "conc", "p50 direct ms", "p50 gw ms", "added p50 ms", "p99 direct ms",
                         "p99 gw ms", "req/s direct", "req/s gw", "gw/direct", "errors", *extra], rows))
    print("\nGateway worker RSS (MB): fresh " + ", ".join(f"{v:.1f}" for v in fresh)
          + " | idle after load " + ", ".join(f"{v:.1f}" for v in idle)
          + " | peak " + ", ".join(f"{v:.1f}" for v in peak))

    c1 = [v for k, v in figures["calls"].items() if k.endswith("@1")]
    c16 = [v for k, v in figures["calls"].items() if k.endswith("@16")]
    checks = []
    if c1:
        worst = max(v["added_p50"] for v in c1)
        checks.append(("added p50 latency at c=1", f"<= {TARGETS['added_p50_c1_ms']} ms",
                       f"{worst:.2f} ms (worst call)", worst <= TARGETS["added_p50_c1_ms"]))
    if c16:
        low = min(v["gateway"]["rps"] for v in c16)
        p99 = max(v["gateway"]["p99"] for v in c16)
        checks.append(("gateway req/s at c=16", f">= {TARGETS['rps_c16']:,.0f}", f"{low:,.0f} (worst call)",
                       low >= TARGETS["rps_c16"]))
        checks.append(("gateway p99 at c=16", f"<= {TARGETS['p99_c16_ms']} ms", f"{p99:.1f} ms (worst call)",
                       p99 <= TARGETS["p99_c16_ms"]))
    checks.append(("idle RSS per worker", f"< {TARGETS['idle_rss_mb']} MB", f"{max(idle):.1f} MB",
                   max(idle) < TARGETS["idle_rss_mb"]))
    print("\n" + harness.table(["target", "goal", "measured", "met"],
                               [[a, b, c, "yes" if ok else "NO"] for a, b, c, ok in checks]))
    figures.update(rss_fresh=fresh, rss_idle=idle, rss_peak=peak, checks=checks)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2))
    return figures


if __name__ == "__main__":
    main()
