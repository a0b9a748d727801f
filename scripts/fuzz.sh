#!/usr/bin/env bash
# A short, bounded fuzz run of every parser that reads outside bytes (fuzz/README.md): builds
# the cargo-fuzz targets once, then runs each for FUZZ_SECONDS (default 10) and fails on the
# first crash, leaving the input under fuzz/artifacts/<target>/ to turn into a regression test.
#   scripts/fuzz.sh               all targets, 10 s each
#   FUZZ_SECONDS=60 scripts/fuzz.sh stripe paypal
# Only stable Rust is installed: RUSTC_BOOTSTRAP=1 lets cargo-fuzz pass its -Z flags.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
export RUSTC_BOOTSTRAP=1
# The fuzz build has its own flags (coverage instrumentation): its own target dir, so it never
# invalidates the workspace's artifacts.
unset CARGO_TARGET_DIR

SECONDS_EACH="${FUZZ_SECONDS:-10}"
log() { printf '[fuzz] %s\n' "$*" >&2; }

if ! command -v cargo-fuzz >/dev/null 2>&1; then
  log "installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi

mapfile -t TARGETS < <(if [ "$#" -gt 0 ]; then printf '%s\n' "$@"; else cargo fuzz list; fi)

# No sanitizer: the shop is safe Rust, so AddressSanitizer finds nothing a panic would not and
# halves the speed. --dev: fuzz/Cargo.toml's dev profile (opt-level 1, overflow checks and
# debug assertions on) compiles much faster than a release build, which is most of the cost.
FLAGS=(--sanitizer none --dev)
start=$(date +%s)
log "building ${#TARGETS[@]} targets"
cargo fuzz build "${FLAGS[@]}"
log "built in $(( $(date +%s) - start )) s"

for t in "${TARGETS[@]}"; do
  mkdir -p "corpus/$t" "seeds/$t"
  log "$t: ${SECONDS_EACH} s"
  # -rss_limit_mb: a decoder that tries to allocate without bound is a finding, not an OOM kill.
  # A slow input (-timeout, seconds) is reported but does not fail the run: in this unoptimised
  # build a legal upload (a JPEG declaring 3328x8199 px, within the upload limits) takes ~40 s,
  # and CI must not turn red by chance. Panics and OOMs fail it.
  # corpus/<target> (not committed) grows from run to run; seeds/<target> holds small valid
  # inputs that get each run past the first checks at once.
  cargo fuzz run "${FLAGS[@]}" "$t" "corpus/$t" "seeds/$t" -- \
    -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 -timeout=60 -timeout_exitcode=0 \
    -print_final_stats=0 \
    2> >(grep -E 'Done|ERROR|panicked|SUMMARY|crash-|timeout-|oom-' >&2 || true) ||
    { log "$t FAILED: see fuzz/artifacts/$t/ and the output above"; exit 1; }
done
log "all ${#TARGETS[@]} targets ran ${SECONDS_EACH} s each without a crash ($(( $(date +%s) - start )) s in all)"
