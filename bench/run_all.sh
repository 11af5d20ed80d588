#!/usr/bin/env bash
# Every benchmark in turn, each printing its table; copies go to bench/results/ (git-ignored).
# Usage: bench/run_all.sh            (from the project root; needs `wrk` for item 1, else a slower fallback)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
mkdir -p bench/results
echo "machine: $(nproc) cores, $(uname -sr), load average: $(cut -d' ' -f1-3 /proc/loadavg)"
run() {  # name, then the script's arguments
    local name=$1; shift
    echo
    echo "== bench/$*"
    "$PY" "bench/$1" "${@:2}" --json "bench/results/$name.json" | tee "bench/results/$name.txt"
}
run overhead overhead.py
# 200 MB as OpenAI allows it (50,000 requests at most: lines of ~5 KB), then as many short lines
run streaming-long streaming.py --line-bytes 5000
run streaming-short streaming.py
run conversion conversion.py
run lifecycle lifecycle.py
run gateway-run gateway_run.py
run chunked-uploads chunked_uploads.py
run million million.py
echo
echo "== bench/summary.py"
"$PY" bench/summary.py --json bench/results/summary.json | tee bench/results/summary.txt
