#!/usr/bin/env bash
# Peak memory of the shop under N concurrent admin logins (wrong passwords, unknown and known
# emails), and whether the catalog keeps answering meanwhile. Used for docs/SECURITY.md.
#
#   bench/login_flood.sh [path/to/shop] [N]     # default: target/release/shop, 300
#
# Starts the binary on a fresh SQLite file on 127.0.0.1, sends N logins at once with curl's
# parallel mode, samples the catalog during the flood, and prints the process's peak resident
# memory (VmHWM) and the status codes seen. Only loopback traffic; stops by itself.
set -euo pipefail
BIN="${1:-target/release/shop}"
N="${2:-300}"
PORT="${PORT:-18181}"
DIR="$(mktemp -d)"
trap 'kill "$PID" 2>/dev/null || true; rm -rf "$DIR"' EXIT

env -i PATH="$PATH" HOME="$HOME" BIND_ADDR="127.0.0.1:$PORT" DATABASE_URL="sqlite://$DIR/shop.db" \
    SEED_DEMO=1 MEDIA_DIR="$DIR/media" DIST_DIR="$DIR/dist" RUST_LOG=error \
    ADMIN_EMAIL=owner@shop.test ADMIN_PASSWORD='correct horse battery' \
    RATE_LIMIT_PER_MINUTE=0 "$BIN" >"$DIR/log" 2>&1 &
PID=$!
for _ in $(seq 100); do
    curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
    sleep 0.1
done
echo "idle: $(grep VmRSS /proc/$PID/status)"

# One curl config with N requests: half to the real admin, half to unknown emails.
CFG="$DIR/curl.cfg"
for i in $(seq "$N"); do
    if [ $((i % 2)) -eq 0 ]; then email=owner@shop.test; else email="nobody$i@shop.test"; fi
    # Options in a curl config apply to every URL until `next` starts the next request.
    [ "$i" -gt 1 ] && echo next >>"$CFG"
    printf 'url = "http://127.0.0.1:%s/api/admin/login"\nrequest = "POST"\nheader = "Content-Type: application/json"\ndata = "{\\"email\\":\\"%s\\",\\"password\\":\\"wrong password %s\\"}"\noutput = "/dev/null"\nwrite-out = "%%{http_code}\\n"\n' \
        "$PORT" "$email" "$i" >>"$CFG"
done

# The catalog during the flood: 20 reads, 100 ms apart.
(
    for _ in $(seq 20); do
        curl -s -o /dev/null -w 'catalog %{http_code} %{time_total}s\n' "http://127.0.0.1:$PORT/api/products"
        sleep 0.1
    done
) >"$DIR/catalog" &
CAT=$!
start=$(date +%s.%N)
curl -s --parallel --parallel-immediate --parallel-max "$N" -K "$CFG" | sort | uniq -c | sed 's/^/logins: /'
end=$(date +%s.%N)
wait "$CAT"
echo "flood took $(echo "$end - $start" | bc) s"
sort "$DIR/catalog" | awk '{print $1, $2}' | uniq -c | sed 's/^/ /'
awk '{print $3}' "$DIR/catalog" | sort -n | tail -1 | sed 's/^/ slowest catalog read: /'
echo "peak: $(grep VmHWM /proc/$PID/status)"
echo "after: $(grep VmRSS /proc/$PID/status)"
