#!/usr/bin/env bash
# Release build of the storefront into dist/, with its screens split into wasm chunks that
# load on demand (frontend/src/pages/lazy.rs). Called by scripts/build-frontend.sh.
#
# Trunk 0.21 cannot split a wasm (trunk issue #1022), so release builds run the same steps as
# cargo-leptos does: cargo (with relocations kept) -> wasm-split -> wasm-bindgen -> wasm-opt
# per chunk, and this script writes dist/index.html from frontend/index.html itself. Everything
# the app loads goes into one folder named by its content hash (dist/shop-<hash>/), so the
# backend can cache it as immutable and a page that is still open after a deploy keeps loading
# chunks that match its main module. `trunk serve` (dev) builds without the split and is
# unaffected.
#
#   scripts/build-storefront.sh            # compile and package
#   scripts/build-storefront.sh compile    # only cargo (needs no tool but the wasm target), so
#                                          # build-frontend.sh can run it while tools install
#   scripts/build-storefront.sh package    # only wasm-split, wasm-bindgen, wasm-opt, esbuild, dist/
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
cd "$ROOT"
log() { printf '[build-storefront] %s\n' "$*" >&2; }

PHASE="${1:-all}"
case "$PHASE" in all|compile|package) ;; *) log "error: unknown phase $PHASE (all, compile, package)"; exit 1 ;; esac

# The wasm-release target dir and RUSTFLAGS, shared with the admin (scripts/wasm-flags.sh).
# shellcheck source=scripts/wasm-flags.sh
. "$ROOT/scripts/wasm-flags.sh"
TARGET_DIR="$WASM_TARGET_DIR"
WORK="$TARGET_DIR/split-work"
DIST="$ROOT/dist"
# The post-MVP features Rust's precompiled std uses; see frontend/index.html and
# build-frontend.sh for why reference types stay off.
WASM_OPT_FEATURES=(--enable-bulk-memory --enable-sign-ext --enable-nontrapping-float-to-int --enable-mutable-globals)

if [ "$PHASE" != package ]; then
    log "cargo build (wasm-release, split points on)"
    wasm_cargo_build frontend
fi
[ "$PHASE" = compile ] && exit 0

rm -rf "$WORK"
mkdir -p "$WORK/split" "$WORK/bindgen" "$WORK/out"
python3 "$ROOT/scripts/wasm-drop-section.py" target_features \
    "$TARGET_DIR/wasm32-unknown-unknown/wasm-release/frontend.wasm" "$WORK/input.wasm"

[ -x "$WASM_BUILD" ] || build_wasm_build
log "wasm-split (tools/wasm-build)"
"$WASM_BUILD" split --out-name frontend "$WORK/input.wasm" "$WORK/split"
log "wasm-bindgen (tools/wasm-build)"
# --keep-lld-exports: the chunks import the main module's memory, table and functions.
"$WASM_BUILD" bindgen --keep-lld-exports --no-demangle \
    --out-dir "$WORK/bindgen" --out-name frontend "$WORK/split/frontend.wasm"

# binaryen 108 warns about the name-section parts newer linkers write; the names go anyway.
wasm_opt() {
    wasm-opt -Os "${WASM_OPT_FEATURES[@]}" --strip-debug --strip-producers "$@" 2>&1 |
        { grep -v -e 'name subsection' -e 'in name section' >&2 || true; }
    return "${PIPESTATUS[0]}"
}
log "wasm-opt -Os (main module and $(find "$WORK/split" -name '*.wasm' ! -name frontend.wasm | wc -l) chunks)"
wasm_opt "$WORK/bindgen/frontend_bg.wasm" -o "$WORK/out/frontend_bg.wasm"
for chunk in "$WORK"/split/*.wasm; do
    [ "$(basename "$chunk")" = frontend.wasm ] && continue
    wasm_opt "$chunk" -o "$WORK/out/$(basename "$chunk")"
done
# esbuild (frontend/package.json, pinned by its lock) minifies the JS glue, the split loader and
# the CSS: 3 KB less brotli on the first load (docs/PERFORMANCE.md). The five identical
# `"./__wasm_split.js"` keys are wasm-bindgen's import object, one per chunk import.
if [ ! -x frontend/node_modules/.bin/esbuild ]; then
    command -v npm >/dev/null 2>&1 || { log "error: npm not found; install Node.js 20 with npm (README)"; exit 1; }
    log "npm ci (frontend build tools)"
    (cd frontend && npm ci --no-audit --no-fund --loglevel=error)
fi
ESBUILD=(frontend/node_modules/.bin/esbuild --minify --log-level=warning --log-override:duplicate-object-key=silent)
log "esbuild --minify (JS glue, split loader)"
"${ESBUILD[@]}" --format=esm "$WORK/bindgen/frontend.js" --outfile="$WORK/out/frontend.js"
"${ESBUILD[@]}" --format=esm "$WORK/split/__wasm_split.js" --outfile="$WORK/out/__wasm_split.js"

hash() { cat "$@" | sha256sum | cut -c1-16; }
APP="shop-$(hash "$WORK"/out/*)"
CSS="style-$(hash frontend/style.css).css"

rm -rf "$DIST"
mkdir -p "$DIST/$APP"
cp "$WORK"/out/* "$DIST/$APP/"
"${ESBUILD[@]}" frontend/style.css --outfile="$DIST/$CSS"

# index.html: the page Trunk would write. Its stylesheet link points at the hashed copy; the
# Trunk-only rust link (a multi-line tag) and the comment above it give way to a preload of the
# main module and its wasm and the module script that starts the app.
awk -v css="/$CSS" -v app="/$APP" '
    /<link data-trunk rel="css"/ { print "  <link rel=\"stylesheet\" href=\"" css "\">"; next }
    /<!-- Dev builds:/ { skip_comment = 1 }
    skip_comment { if (/-->/) skip_comment = 0; next }
    /<link data-trunk rel="rust"/ { skip_link = 1 }
    skip_link { if (/>/) skip_link = 0; next }
    /<\/head>/ {
        print "  <link rel=\"modulepreload\" href=\"" app "/frontend.js\">"
        print "  <link rel=\"modulepreload\" href=\"" app "/__wasm_split.js\">"
        print "  <link rel=\"preload\" href=\"" app "/frontend_bg.wasm\" as=\"fetch\" type=\"application/wasm\" crossorigin=\"anonymous\">"
        print "  <script type=\"module\">import init from \"" app "/frontend.js\"; init({ module_or_path: \"" app "/frontend_bg.wasm\" });</script>"
    }
    { print }
' frontend/index.html > "$DIST/index.html"
grep -q 'data-trunk' "$DIST/index.html" && { log "error: a Trunk tag is left in dist/index.html"; exit 1; }
log "storefront in dist/ ($APP: main module + $(find "$DIST/$APP" -name '*.wasm' ! -name frontend_bg.wasm | wc -l) chunks)"
