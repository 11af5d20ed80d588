"""Every issue-16 target in one table, read from the `--json` files bench/run_all.sh leaves in bench/results/.

One row per figure: the issue's item, the figure, its goal, what was measured, pass/FAIL, and the script
(and results file) it comes from. A script whose results file is missing shows one "not run" row, so a
failed or skipped script cannot pass unnoticed. Figures without a goal (the 1M-line batch's time split)
are marked "info".

- (a) streaming through the gateway vs direct, per provider: `streaming.py` (lines of ~5,000 and ~450
  bytes), and `chunked_uploads.py` (worker RSS growth of the Uploads API);
- (b) conversion lines/s per conversion and memory flat in the number of lines: `conversion.py`;
- (c) per-call overhead: `overhead.py`;
- (d) a 1,000,000-line batch per provider: `million.py`.

Run: `.venv/bin/python bench/summary.py [--results bench/results] [--json FILE]` (run_all.sh runs it last).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # noqa: E402

# Goals that the scripts' JSON does not carry (kept equal to the scripts' own constants).
CONVERSION_TARGET = 150_000  # conversion.TARGET, lines/s
FLAT_BYTES = 12  # conversion.FLAT_BYTES, peak growth per line that still counts as flat

Row = tuple[str, str, str, str, object, str]  # item, figure, goal, measured, met (bool or a word), script


def _met(value: object) -> object:
    """A check's verdict as a bool (the scripts write True/False, "yes"/"NO" or "pass"/"FAIL")."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("yes", "pass", "no", "fail"):
        return value.lower() in ("yes", "pass")
    return value


def _checks(item: str, data: dict, script: str, prefix: str = "") -> Iterator[Row]:
    for target, goal, measured, met in data.get("checks", []):
        yield item, prefix + target, goal, measured, _met(met), script


def streaming(data: dict, script: str, shape: str) -> Iterator[Row]:
    yield from _checks("(a)", data, script, f"{shape}: ")


def conversion(data: list, script: str) -> Iterator[Row]:
    rows = data if isinstance(data, list) else data.get("rows", [])
    growth = []
    for r in rows:
        if "baseline" in r.get("name", ""):
            continue
        figure = f"{r['direction']}: {r['name']}"
        if not r.get("available", True):
            yield "(b)", figure, f">= {CONVERSION_TARGET:,} lines/s", "not available", False, script
            continue
        speed = r["lines_per_s"]
        yield "(b)", figure, f">= {CONVERSION_TARGET:,} lines/s", f"{speed:,.0f}", speed >= CONVERSION_TARGET, script
        if "growth_bytes_per_line" in r:
            growth.append((r["growth_bytes_per_line"], r["name"]))
    if growth:
        worst, name = max(growth)
        yield ("(b)", "memory flat in the number of lines", f"<= {FLAT_BYTES} B/line peak growth",
               f"{worst:.0f} B/line ({name})", worst <= FLAT_BYTES, script)


def overhead(data: dict, script: str) -> Iterator[Row]:
    yield from _checks("(c)", data, script)


def million(data: dict, script: str) -> Iterator[Row]:
    yield from _checks("(d)", data, script)
    for provider, r in data.get("providers", {}).items():
        t = r["total"]
        lines = f"{r['lines']:,} lines" + (" (provider limit)" if r.get("limited") else "")
        yield ("(d)", f"{provider}: {lines}, wall s (gateway / fake / client)", "-",
               f"{t['wall']:.1f} ({t['gateway']:.1f} / {t['fake']:.1f} / {t['client']:.1f}), "
               f"{r['lines'] / t['wall']:,.0f} lines/s", "info", script)


def chunked(data: dict, script: str) -> Iterator[Row]:
    yield from _checks("(a)", data, script, "Uploads API: ")


# results file (as run_all.sh names it) -> (script, reader)
SOURCES = {
    "streaming-long": ("streaming.py --line-bytes 5000",
                       lambda d, s: streaming(d, s, "~5,000 B lines")),
    "streaming-short": ("streaming.py", lambda d, s: streaming(d, s, "~450 B lines")),
    "chunked-uploads": ("chunked_uploads.py", chunked),
    "conversion": ("conversion.py", conversion),
    "overhead": ("overhead.py", overhead),
    "million": ("million.py", million),
}
ORDER = ("(a)", "(b)", "(c)", "(d)")


def collect(results: Path) -> list[Row]:
    rows: list[Row] = []
    for name, (script, read) in SOURCES.items():
        path = results / f"{name}.json"
        if not path.exists():
            rows.append(("-", f"{name}.json", "-", "not run (no results file)", False, script))
            continue
        try:
            rows += list(read(json.loads(path.read_text()), script))
        except (ValueError, KeyError, TypeError) as error:
            rows.append(("-", f"{name}.json", "-", f"unreadable ({error!r})", False, script))
    return sorted(rows, key=lambda r: ORDER.index(r[0]) if r[0] in ORDER else len(ORDER))


def main() -> list[Row]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=harness.BENCH / "results")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    rows = collect(args.results)
    word = {True: "pass", False: "FAIL"}
    print(f"\nIssue 16 targets, from {args.results}/*.json\n")
    print(harness.table(["item", "figure", "goal", "measured", "met", "script"],
                        [[i, f, g, m, word.get(ok, ok) if isinstance(ok, bool) else ok, s]
                         for i, f, g, m, ok, s in rows]))
    judged = [r for r in rows if isinstance(r[4], bool)]
    passed = sum(1 for r in judged if r[4])
    print(f"\n{passed} of {len(judged)} targets met"
          + ("" if passed == len(judged) else f"; FAIL: {len(judged) - passed}") + ".")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps([dict(zip(("item", "figure", "goal", "measured", "met", "script"), r,
                                                  strict=True)) for r in rows], indent=2))
    return rows


if __name__ == "__main__":
    main()
