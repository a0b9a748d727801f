# Sourced by build-storefront.sh and build-admin.sh: both apps compile into one wasm-release
# target dir with the same RUSTFLAGS and profile, so the dependencies they share (leptos,
# web-sys, wasm-bindgen, ...) compile once, not once per app: the larger part of a first run's
# frontend build. Needs ROOT.
#
# A target dir of its own: these RUSTFLAGS differ from the tests', and cargo would otherwise
# rebuild every dependency each time the builds take turns.
WASM_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}/storefront"

# Unpack every locked crate first, so the path remapping below names the registry's source
# folder on a fresh machine too (else the first build's flags differ from the next one's, and
# the next one rebuilds everything).
cargo fetch --locked --manifest-path "$ROOT/Cargo.toml" --quiet

# erase_components and target-cpu=mvp: see build-frontend.sh. split_pages turns the
# storefront's screens into split points (the admin has none); --emit-relocs keeps what
# wasm-split-cli needs to cut the storefront apart, and so does keeping the symbols
# (CARGO_PROFILE_WASM_RELEASE_STRIP=false; strip happens in wasm-opt instead, for the admin too).
# Panic locations carry source paths; they are written relative (`tachys-0.2.19/src/…` rather
# than `/root/.cargo/registry/src/index.crates.io-…/tachys-0.2.19/src/…`): 0.2 KB less brotli
# in the first download, and the build no longer embeds the builder's directories.
REMAP="--remap-path-prefix=$ROOT/="
for src in "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/; do
    REMAP="$REMAP --remap-path-prefix=$src="
done
RUSTC_COMMIT="$(rustc -vV | sed -n 's/^commit-hash: //p')"
if [ -n "$RUSTC_COMMIT" ]; then
    REMAP="$REMAP --remap-path-prefix=/rustc/$RUSTC_COMMIT/="
fi
WASM_RUSTFLAGS="${RUSTFLAGS:+$RUSTFLAGS }--cfg erase_components -C target-cpu=mvp --cfg split_pages -C link-args=--emit-relocs $REMAP"

# cargo build of one wasm-release binary with those settings: wasm_cargo_build PACKAGE.
wasm_cargo_build() {
    RUSTFLAGS="$WASM_RUSTFLAGS" CARGO_PROFILE_WASM_RELEASE_STRIP=false CARGO_TARGET_DIR="$WASM_TARGET_DIR" \
        cargo build -p "$1" --bin "$1" --target wasm32-unknown-unknown --profile wasm-release
}

# The post-link tool (tools/wasm-build: wasm-split and wasm-bindgen from their libraries, one
# small binary instead of two `cargo install`s; its Cargo.toml says why). A target dir of its own
# as well: it is a host program, and the wasm RUSTFLAGS above must not reach it.
WASM_BUILD_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}/wasm-build"
WASM_BUILD="$WASM_BUILD_TARGET_DIR/release/wasm-build"

# Builds (or finds up to date) $WASM_BUILD.
build_wasm_build() {
    env -u RUSTFLAGS CARGO_TARGET_DIR="$WASM_BUILD_TARGET_DIR" \
        cargo build --release --locked --quiet -p wasm-build --manifest-path "$ROOT/Cargo.toml"
}
