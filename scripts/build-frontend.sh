#!/usr/bin/env bash
# Builds the storefront into dist/ and the merchant admin into dist/admin/ (release,
# [profile.wasm-release], wasm-opt -Os; two bundles, so the storefront's download does not
# grow with the admin; no Trunk: build-storefront.sh and build-admin.sh) and writes
# precompressed .br and .gz siblings that the backend serves per Accept-Encoding. Installs
# missing build tools (not browsers) and builds the post-link tool (tools/wasm-build) while
# cargo compiles the apps. Prints both first-load sizes.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
cd "$ROOT"

log() { printf '[build-frontend] %s\n' "$*" >&2; }

# The tools first, in the foreground (the wasm target, which cargo needs, wasm-opt and brotli;
# apt may ask for a sudo password). Then the post-link tool (tools/wasm-build, about 3
# CPU-minutes on a fresh machine; it replaced `cargo install`s of wasm-bindgen-cli and
# wasm-split-cli that took over 7) in the background while cargo compiles both apps, which
# need none of it. Only the packaging waits for it.
"$ROOT/scripts/install-frontend-tools.sh"
# shellcheck source=scripts/wasm-flags.sh
. "$ROOT/scripts/wasm-flags.sh"
build_wasm_build &
TOOLS=$!
# Should a compile fail, the tool's build stops too (its child first: cargo).
trap 'kill "$TOOLS" $(pgrep -P "$TOOLS" 2>/dev/null) 2>/dev/null || true' EXIT

# Leptos type-erases component views under this cfg (AnyView instead of one nested generic
# type per page): measured 206.4 -> 184.7 KB brotli for the storefront's wasm, same behaviour
# (e2e suite green). Only the wasm-release build sees it, so clippy/tests keep their cache.
#
# `-C target-cpu=mvp` turns off the reference-types (and multivalue) features that Rust enables
# by default for wasm32. Without them wasm-bindgen keeps its JS objects in a JS-side heap instead
# of an exported externref table, which Debian's binaryen 108 (our wasm-opt) rewrites wrongly;
# with them off, wasm-opt runs (frontend/index.html) and the app works in older WebViews too.
# Measured with wasm-opt -Os: first load 191.0 -> 187.7 KB brotli (docs/PERFORMANCE.md).
# build-storefront.sh and build-admin.sh each add both flags to their cargo build.
#
# The storefront: its screens split into chunks loaded on demand (scripts/build-storefront.sh
# says why that is not Trunk). The admin: scripts/build-admin.sh, the steps Trunk ran, so no
# Trunk install is needed.
log "compiling storefront and admin (wasm-release) while tools/wasm-build builds"
"$ROOT/scripts/build-storefront.sh" compile
"$ROOT/scripts/build-admin.sh" compile
log "waiting for tools/wasm-build"
wait "$TOOLS" || { log "error: building tools/wasm-build failed (output above)"; exit 1; }
trap - EXIT

# The storefront empties dist/, so the admin is packaged after it.
log "storefront -> dist/ (split build)"
"$ROOT/scripts/build-storefront.sh" package
log "admin -> dist/admin/"
"$ROOT/scripts/build-admin.sh" package

DIST="$ROOT/dist"
[ -f "$DIST/index.html" ] || { log "error: the build produced no $DIST/index.html"; exit 1; }
[ -f "$DIST/admin/index.html" ] || { log "error: the build produced no $DIST/admin/index.html"; exit 1; }

log "precompressing (brotli -q 11, gzip -9)"
find "$DIST" -type f \( -name '*.wasm' -o -name '*.js' -o -name '*.css' -o -name '*.html' \) -print0 |
    while IFS= read -r -d '' f; do
        brotli -q 11 -f -o "$f.br" -- "$f"
        gzip -9 -k -n -f -- "$f"
    done

# What a browser downloads on first open: the page, the CSS, the JS glue and the WASM (brotli).
# For the storefront that is the main module and the split loader, not the screens' chunks.
first_load() {
    local label="$1" total=0 size f
    shift
    for f in "$@"; do
        size=$(stat -c %s "$f.br")
        total=$((total + size))
        printf '  %-48s %8d B raw  %8d B br\n' "${f#"$DIST"/}" "$(stat -c %s "$f")" "$size" >&2
    done
    awk -v b="$total" -v l="$label" 'BEGIN { printf "[build-frontend] %s first load (brotli): %.1f KB (%d bytes; 1 KB = 1024 B)\n", l, b / 1024, b }' >&2
}
first_load storefront "$DIST"/index.html "$DIST"/*.css "$DIST"/shop-*/frontend.js \
    "$DIST"/shop-*/__wasm_split.js "$DIST"/shop-*/frontend_bg.wasm
mapfile -d '' ADMIN_FILES < <(find "$DIST/admin" -maxdepth 1 -type f \( -name 'index.html' -o -name '*.js' -o -name '*.wasm' -o -name '*.css' \) -print0 | sort -z)
first_load admin "${ADMIN_FILES[@]}"
