#!/usr/bin/env bash
# The one test command (CI runs exactly this): formatting, clippy with warnings denied,
# every Rust test on SQLite and PostgreSQL, a short fuzz run of every parser of outside bytes,
# the release frontend build, the release binary against its own OpenAPI document
# (schemathesis), and the end-to-end
# browser tests in headless Chromium against the release binary.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "tools (wasm target, wasm-opt, brotli, chromium)"
./scripts/install-frontend-tools.sh --browsers

step "PostgreSQL at 127.0.0.1:5432"
if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  if command -v pg_ctlcluster >/dev/null 2>&1; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
    sleep 2
  fi
fi
if pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  echo "PostgreSQL is up: its tests run"
elif [ "${CI:-}" = "true" ]; then
  echo "CI=true and PostgreSQL is not reachable at 127.0.0.1:5432" >&2
  exit 1
else
  echo "PostgreSQL is not reachable: its tests will be skipped (they fail under CI=true)"
fi

step "cargo fmt --check"
cargo fmt --all -- --check

step "clippy (native crates, then the storefront and the admin for wasm32)"
cargo clippy -p shop -p shop-macros -p shared -p wasm-build --all-targets -- -D warnings
cargo clippy -p frontend -p web_common --target wasm32-unknown-unknown -- -D warnings
cargo clippy -p admin --target wasm32-unknown-unknown -- -D warnings

step "Rust tests (SQLite and PostgreSQL)"
cargo test -p shop -p shop-macros -p shared -p wasm-build
cargo test -p frontend
cargo test -p admin

step "fuzz: every parser of outside bytes, a short bounded run (fuzz/README.md)"
FUZZ_SECONDS="${FUZZ_SECONDS:-10}" ./scripts/fuzz.sh

step "release build: backend and frontend"
cargo build --release -p shop
./scripts/build-frontend.sh

step "the live shop against its OpenAPI document (schemathesis, bounded)"
./scripts/openapi-check.sh target/release/shop

step "end-to-end in headless Chromium"
(cd e2e && npm ci --no-audit --no-fund && npm test)
