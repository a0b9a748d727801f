#!/usr/bin/env bash
# The one run command: builds the storefront and the merchant admin (dist/, dist/admin/) and
# starts the whole shop on an embedded SQLite file with the demo catalog at
# http://127.0.0.1:8080: storefront at /, admin at /admin (dev login when no bot token is set).
# Installs what is missing (wasm target, wasm-opt, brotli; no Trunk) and builds tools/wasm-build
# and skips the rest.
set -euo pipefail
cd "$(dirname "$0")/.."

# The backend compiles while the frontend builds (and its tools install): on a fresh 2-core
# machine each leaves cores idle for long stretches (fat-LTO links, single-crate tails), so
# running them side by side shortens the first run (README, "Two commands").
cargo build --release -p shop &
SHOP=$!
trap 'kill "$SHOP" 2>/dev/null || true' EXIT
./scripts/build-frontend.sh
wait "$SHOP" || { echo "run.sh: building the backend failed (output above)" >&2; exit 1; }
trap - EXIT

export SEED_DEMO="${SEED_DEMO:-1}"
echo "==> the shop: http://${BIND_ADDR:-127.0.0.1:8080}  (admin: http://${BIND_ADDR:-127.0.0.1:8080}/admin)"
exec ./target/release/shop "$@"
