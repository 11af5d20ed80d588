#!/usr/bin/env bash
# Every benchmark in turn, each printing its table; copies go to bench/results/ (git-ignored).
# Usage: bench/run_all.sh            (from the project root; needs `wrk` for item 1, else a slower fallback)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
mkdir -p bench/results
echo "machine: $(nproc) cores, $(uname -sr), load average: $(cut -d' ' -f1-3 /proc/loadavg)"
for script in overhead streaming conversion lifecycle; do
    echo
    echo "== bench/$script.py"
    "$PY" "bench/$script.py" --json "bench/results/$script.json" | tee "bench/results/$script.txt"
done
