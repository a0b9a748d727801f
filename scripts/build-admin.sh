#!/usr/bin/env bash
# Release build of the merchant admin into dist/admin/, without Trunk: the same steps Trunk's
# `trunk build --release --config frontend/admin/Trunk.toml` ran (cargo -> wasm-bindgen
# --target web -> wasm-opt with frontend/admin/index.html's settings -> minified JS glue and CSS
# under content-hashed names, public URL /admin/), so the run and test commands need no Trunk:
# installing it took 5.6 of the 14 minutes of a first `./scripts/run.sh` on a 2-core machine.
# `trunk serve --config frontend/admin/Trunk.toml` (hot reload) reads the same index.html.
#
#   scripts/build-admin.sh            # compile and package (after build-storefront.sh: it empties dist/)
#   scripts/build-admin.sh compile    # only cargo (needs no tool but the wasm target)
#   scripts/build-admin.sh package    # only wasm-bindgen, wasm-opt, esbuild and dist/admin/
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
cd "$ROOT"
log() { printf '[build-admin] %s\n' "$*" >&2; }

PHASE="${1:-all}"
case "$PHASE" in all|compile|package) ;; *) log "error: unknown phase $PHASE (all, compile, package)"; exit 1 ;; esac

# The storefront's wasm-release target dir and RUSTFLAGS (scripts/wasm-flags.sh): the two apps'
# shared dependencies compile once.
# shellcheck source=scripts/wasm-flags.sh
. "$ROOT/scripts/wasm-flags.sh"
WASM="$WASM_TARGET_DIR/wasm32-unknown-unknown/wasm-release/admin.wasm"
WORK="$WASM_TARGET_DIR/admin-work"
DIST="$ROOT/dist/admin"
PUBLIC_URL="/admin"
PAGE="frontend/admin/index.html"

if [ "$PHASE" != package ]; then
    log "cargo build (wasm-release)"
    wasm_cargo_build admin
fi
[ "$PHASE" = compile ] && exit 0

[ -f "$WASM" ] || { log "error: no $WASM (run the compile phase first)"; exit 1; }
# The wasm-opt level and features stay where Trunk reads them (dev tools and docs point there).
OPT_LEVEL="$(sed -n 's/.*data-wasm-opt="\([^"]*\)".*/\1/p' "$PAGE")"
read -r -a OPT_PARAMS <<<"$(sed -n 's/.*data-wasm-opt-params="\([^"]*\)".*/\1/p' "$PAGE")"
[ -n "$OPT_LEVEL" ] && [ "${#OPT_PARAMS[@]}" -gt 0 ] || { log "error: no data-wasm-opt settings in $PAGE"; exit 1; }

rm -rf "$WORK"
mkdir -p "$WORK/bindgen" "$WORK/out"
# What the storefront's splitter needs and the admin does not (wasm-flags.sh keeps it for both
# builds), about 1.3 MB that wasm-opt would keep: the linker's relocations and symbols, the
# split marker, and Rust std's `target_features`, which would make wasm-bindgen emit reference
# types (scripts/wasm-drop-section.py says more).
python3 "$ROOT/scripts/wasm-drop-section.py" 'target_features,linking,reloc.*,__wasm_split_unstable' \
    "$WASM" "$WORK/input.wasm" 2>/dev/null
[ -x "$WASM_BUILD" ] || build_wasm_build
log "wasm-bindgen (tools/wasm-build)"
"$WASM_BUILD" bindgen --out-dir "$WORK/bindgen" --out-name admin "$WORK/input.wasm"
log "wasm-opt -O$OPT_LEVEL"
# binaryen 108 warns about the name-section parts newer linkers write; the names go anyway.
wasm-opt "-O$OPT_LEVEL" "${OPT_PARAMS[@]}" --strip-debug --strip-producers \
    "$WORK/bindgen/admin_bg.wasm" -o "$WORK/out/admin_bg.wasm" 2>&1 |
    { grep -v -e 'name subsection' -e 'in name section' >&2 || true; }
[ "${PIPESTATUS[0]}" -eq 0 ] || { log "error: wasm-opt failed"; exit 1; }

# esbuild (frontend/package.json, as for the storefront) minifies what Trunk's minify did.
if [ ! -x frontend/node_modules/.bin/esbuild ]; then
    command -v npm >/dev/null 2>&1 || { log "error: npm not found; install Node.js 20 with npm (README)"; exit 1; }
    log "npm ci (frontend build tools)"
    (cd frontend && npm ci --no-audit --no-fund --loglevel=error)
fi
ESBUILD=(frontend/node_modules/.bin/esbuild --minify --log-level=warning)
"${ESBUILD[@]}" --format=esm "$WORK/bindgen/admin.js" --outfile="$WORK/out/admin.js"
"${ESBUILD[@]}" frontend/admin/style.css --outfile="$WORK/out/style.css"

# Trunk-style names (`admin-<hash>.js`, `admin-<hash>_bg.wasm`, `style-<hash>.css`), which the
# backend serves as immutable (web.rs is_hashed_asset). The glue and the wasm are one pair, so
# they share the hash of both.
hash() { cat "$@" | sha256sum | cut -c1-16; }
APP="admin-$(hash "$WORK/out/admin.js" "$WORK/out/admin_bg.wasm")"
CSS="style-$(hash "$WORK/out/style.css").css"

rm -rf "$DIST"
mkdir -p "$DIST"
cp "$WORK/out/admin.js" "$DIST/$APP.js"
cp "$WORK/out/admin_bg.wasm" "$DIST/${APP}_bg.wasm"
cp "$WORK/out/style.css" "$DIST/$CSS"

# index.html: the stylesheet link points at the hashed copy; the Trunk-only rust link (a
# multi-line tag) and the comment above it give way to preloads and the module script that
# starts the app (the backend's CSP allows it by its SHA-256, web.rs content_security_policy).
awk -v css="$PUBLIC_URL/$CSS" -v app="$PUBLIC_URL/$APP" '
    /<link data-trunk rel="css"/ { print "  <link rel=\"stylesheet\" href=\"" css "\">"; next }
    /<!-- The same size-tuned/ { skip_comment = 1 }
    skip_comment { if (/-->/) skip_comment = 0; next }
    /<link data-trunk rel="rust"/ { skip_link = 1 }
    skip_link { if (/>/) skip_link = 0; next }
    /<\/head>/ {
        print "  <link rel=\"modulepreload\" href=\"" app ".js\">"
        print "  <link rel=\"preload\" href=\"" app "_bg.wasm\" as=\"fetch\" type=\"application/wasm\" crossorigin=\"anonymous\">"
        print "  <script type=\"module\">import init from \"" app ".js\"; init({ module_or_path: \"" app "_bg.wasm\" });</script>"
    }
    { print }
' "$PAGE" > "$DIST/index.html"
grep -q 'data-trunk' "$DIST/index.html" && { log "error: a Trunk tag is left in dist/admin/index.html"; exit 1; }
log "admin in dist/admin/ ($APP)"
