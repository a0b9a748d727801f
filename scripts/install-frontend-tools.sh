#!/usr/bin/env bash
# Installs what building the storefront and the admin needs, skipping whatever is already there:
#   the wasm32-unknown-unknown target, wasm-opt (Debian binaryen 108; frontend/index.html and
#   build-frontend.sh say how release builds stay within what it handles) and brotli.
# The wasm post-link steps (split, bindgen) are not installed: tools/wasm-build is built from the
# workspace (scripts/wasm-flags.sh), because `cargo install` of wasm-bindgen-cli and
# wasm-split-cli took over 7 CPU-minutes of a first run.
# Trunk is not among them either: the release builds run without it (scripts/build-storefront.sh,
# scripts/build-admin.sh), and installing it was 5.6 minutes of a first run. --trunk adds it and
# the wasm-bindgen CLI it runs (at exactly the version Cargo.lock pins), for `trunk serve` (hot
# reload, README).
# With --browsers it also installs what the e2e suite needs: Chromium + chromedriver (Debian
# packages; Playwright never downloads browsers here), Node.js if it is missing, and an emoji
# font so screenshots show Stars prices' ⭐ as a phone would.
#
#   scripts/install-frontend-tools.sh              # build tools only
#   scripts/install-frontend-tools.sh --trunk      # build tools + trunk 0.21 and wasm-bindgen-cli (dev server)
#   scripts/install-frontend-tools.sh --browsers   # build tools + e2e browser
#   scripts/install-frontend-tools.sh --only-browsers
#   scripts/install-frontend-tools.sh --quick      # the same as no option (kept for old callers)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CARGO_BIN="${CARGO_HOME:-$HOME/.cargo}/bin"
export PATH="$CARGO_BIN:$PATH"

TRUNK_SERIES="0.21"

log() { printf '[install-frontend-tools] %s\n' "$*" >&2; }
die() { printf '[install-frontend-tools] error: %s\n' "$*" >&2; exit 1; }

usage() {
    # The comment block at the top of this file.
    awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"
}

# --- apt, updating the package lists only when an install actually needs them -------------
APT_UPDATED=0
apt_install() {
    command -v apt-get >/dev/null 2>&1 ||
        die "need the Debian package(s) $*, but apt-get is not available: install them by hand"
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null 2>&1 || die "installing $* needs root (or sudo)"
        sudo=(sudo)
    fi
    # Fresh containers ship without package lists; otherwise try without an update first.
    if [ "$APT_UPDATED" -eq 0 ] && ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
        log "apt-get update (no package lists yet)"
        "${sudo[@]}" apt-get update
        APT_UPDATED=1
    fi
    log "apt-get install -y $*"
    if ! "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@"; then
        [ "$APT_UPDATED" -eq 0 ] || die "apt-get install $* failed"
        log "apt-get install failed; updating package lists and retrying"
        "${sudo[@]}" apt-get update
        APT_UPDATED=1
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@"
    fi
}

# --- Rust-side tools -----------------------------------------------------------------------
ensure_wasm_target() {
    command -v rustup >/dev/null 2>&1 || die "rustup not found: install Rust from https://rustup.rs"
    if rustup target list --installed | grep -qx 'wasm32-unknown-unknown'; then
        log "ok: wasm32-unknown-unknown target"
    else
        log "rustup target add wasm32-unknown-unknown"
        rustup target add wasm32-unknown-unknown
    fi
}

ensure_trunk() {
    local have=""
    if command -v trunk >/dev/null 2>&1; then
        have="$(trunk --version 2>/dev/null | awk '{print $2}')"
    fi
    case "$have" in
        "$TRUNK_SERIES".*) log "ok: trunk $have" ;;
        *)
            log "installing trunk ^$TRUNK_SERIES (found: ${have:-none}); this takes several minutes"
            cargo install trunk --version "^$TRUNK_SERIES" --locked
            ;;
    esac
}

# The wasm-bindgen CLI must match the wasm-bindgen crate in Cargo.lock exactly.
wasm_bindgen_lock_version() {
    awk '
        $0 == "name = \"wasm-bindgen\"" { found = 1; next }
        found && /^version = / { gsub(/^version = "|"$/, ""); print; exit }
        /^\[\[package\]\]/ { found = 0 }
    ' "$ROOT/Cargo.lock"
}

ensure_wasm_bindgen() {
    local want have=""
    want="$(wasm_bindgen_lock_version)"
    [ -n "$want" ] || die "no wasm-bindgen package in $ROOT/Cargo.lock (is the frontend crate in the workspace?)"
    if command -v wasm-bindgen >/dev/null 2>&1; then
        have="$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')"
    fi
    if [ "$have" = "$want" ]; then
        log "ok: wasm-bindgen $have (matches Cargo.lock)"
    else
        log "installing wasm-bindgen-cli $want (found: ${have:-none}); this takes a few minutes"
        cargo install wasm-bindgen-cli --version "$want"
    fi
}

ensure_wasm_opt() {
    if command -v wasm-opt >/dev/null 2>&1; then
        log "ok: $(wasm-opt --version)"
    else
        apt_install binaryen
    fi
}

ensure_brotli() {
    if command -v brotli >/dev/null 2>&1; then
        log "ok: brotli"
    else
        apt_install brotli
    fi
}

# --- e2e -----------------------------------------------------------------------------------
ensure_browsers() {
    local missing=()
    command -v chromium >/dev/null 2>&1 || missing+=(chromium)
    command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
    command -v node >/dev/null 2>&1 || missing+=(nodejs)
    command -v npm >/dev/null 2>&1 || missing+=(npm)
    if ! { command -v fc-list >/dev/null 2>&1 && fc-list | grep -qi 'emoji'; }; then
        missing+=(fonts-noto-color-emoji)
    fi
    # Without a metric-compatible text font Chromium falls back to one that spaces digits and
    # words very widely, and the screenshots the e2e run saves are unusable.
    if ! { command -v fc-list >/dev/null 2>&1 && fc-list | grep -qi 'Liberation Sans'; }; then
        missing+=(fonts-liberation2)
    fi
    if [ "${#missing[@]}" -eq 0 ]; then
        log "ok: chromium, chromedriver, node $(node --version), emoji and text fonts"
    else
        apt_install "${missing[@]}"
    fi
}

main() {
    local build=1 browsers=0 trunk=0
    for arg in "$@"; do
        case "$arg" in
            --browsers) browsers=1 ;;
            --only-browsers) build=0; browsers=1 ;;
            --trunk) trunk=1 ;;
            --quick) ;;
            -h|--help) usage; exit 0 ;;
            *) die "unknown option: $arg (try --help)" ;;
        esac
    done
    if [ "$build" -eq 1 ]; then
        ensure_wasm_target
        ensure_wasm_opt
        ensure_brotli
        if [ "$trunk" -eq 1 ]; then
            # The two cargo installs (minutes each on a fresh machine) side by side.
            ensure_wasm_bindgen &
            local bindgen=$!
            ensure_trunk
            wait "$bindgen" || die "installing wasm-bindgen-cli failed (output above)"
        fi
    fi
    if [ "$browsers" -eq 1 ]; then
        ensure_browsers
    fi
}

main "$@"
