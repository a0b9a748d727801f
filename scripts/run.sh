#!/usr/bin/env bash
# The one run command: builds the storefront and the merchant admin (dist/, dist/admin/) and
# starts the whole shop on an embedded SQLite file with the demo catalog at
# http://127.0.0.1:8080: storefront at /, admin at /admin (dev login when no bot token is set).
# Installs what is missing (wasm target, trunk, wasm-bindgen-cli, wasm-opt) and skips the rest.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/build-frontend.sh
cargo build --release -p shop

export SEED_DEMO="${SEED_DEMO:-1}"
echo "==> the shop: http://${BIND_ADDR:-127.0.0.1:8080}  (admin: http://${BIND_ADDR:-127.0.0.1:8080}/admin)"
exec ./target/release/shop "$@"
