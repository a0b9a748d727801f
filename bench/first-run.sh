#!/usr/bin/env bash
# Times the README's run command the way a new user meets it: a fresh clone of this repository
# (no target/), started with `scripts/run.sh`, until /healthz answers. For the figure in the
# README, run it on a quiet machine whose cargo `bin` holds only rustup's proxies and whose
# crates.io cache is empty (move ~/.cargo/registry aside), since both are part of a first run.
# Prints the wall time, the CPU time of the whole machine over that span (from /proc/stat, so
# run nothing else meanwhile) and the load average.
#   bench/first-run.sh [clone-dir]    (default /tmp/shop-first-run; it is deleted first)
set -euo pipefail
src="$(cd "$(dirname "$0")/.." && pwd)"
dir="${1:-/tmp/shop-first-run}"
port="${FIRST_RUN_PORT:-8099}"
rm -rf "$dir" && git clone -q "$src" "$dir" && cd "$dir"
cpu() { awk '/^cpu /{print $2+$3+$4+$6+$7+$8}' /proc/stat; }
c0=$(cpu); t0=$(date +%s.%N)
BIND_ADDR="127.0.0.1:$port" ./scripts/run.sh >"$dir/first-run.log" 2>&1 &
run=$!
trap 'kill "$run" 2>/dev/null || true' EXIT
until curl -sf "http://127.0.0.1:$port/healthz" >/dev/null; do
  sleep 1
  kill -0 "$run" 2>/dev/null || { echo "run.sh stopped; see $dir/first-run.log" >&2; exit 1; }
done
t1=$(date +%s.%N); c1=$(cpu)
awk -v w="$(echo "$t1 - $t0" | bc)" -v c="$(( (c1 - c0) / $(getconf CLK_TCK) ))" \
  'BEGIN { printf "first run: %.0f s (%.1f min) to /healthz, %d CPU-s\n", w, w / 60, c }'
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
