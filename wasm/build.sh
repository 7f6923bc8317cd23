#!/usr/bin/env bash
# Builds the crypto core for the browser: static/speakup-crypto.wasm, from src/crypto (the same
# source the server compiles) via the `wasm/` crate.
#
#   wasm/build.sh           rebuild and replace static/speakup-crypto.wasm
#   wasm/build.sh --check   rebuild and fail unless the result equals the committed file byte for
#                           byte (CI: the served module is the one this source produces), after
#                           linting the wasm crate for its target
#
# The build is reproducible: paths are remapped so neither the checkout's location nor the cargo
# home ends up in the module, there is no debug info, and one codegen unit with LTO.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
mode=${1:-build}
case "$mode" in build|--check) ;; *) echo "usage: wasm/build.sh [--check]" >&2; exit 2 ;; esac

rustup target list --installed | grep -qx wasm32-unknown-unknown \
    || rustup target add wasm32-unknown-unknown

target_dir=${CARGO_TARGET_DIR:-$root/target}
cargo_home=${CARGO_HOME:-$HOME/.cargo}
rustc_sysroot=$(rustc --print sysroot)
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="--cfg getrandom_backend=\"custom\" \
--remap-path-prefix=$root=/speakup \
--remap-path-prefix=$cargo_home=/cargo \
--remap-path-prefix=$rustc_sysroot=/rustc-sysroot"
if [ "$mode" = "--check" ]; then
    cargo clippy --locked --quiet -p speakup-crypto-wasm --target wasm32-unknown-unknown \
        --profile wasm -- -D warnings
fi
cargo build --locked --quiet -p speakup-crypto-wasm --target wasm32-unknown-unknown --profile wasm
built="$target_dir/wasm32-unknown-unknown/wasm/speakup_crypto_wasm.wasm"
committed=static/speakup-crypto.wasm

if [ "$mode" = "--check" ]; then
    if ! cmp -s "$built" "$committed"; then
        echo "static/speakup-crypto.wasm does not match a rebuild from source:" >&2
        sha256sum "$built" "$committed" >&2
        echo "run wasm/build.sh and commit the result" >&2
        exit 1
    fi
    echo "static/speakup-crypto.wasm matches the source ($(wc -c <"$committed") bytes)"
else
    cp "$built" "$committed"
    echo "wrote $committed ($(wc -c <"$committed") bytes, sha384 $(openssl dgst -sha384 -binary "$committed" | base64 -w0))"
fi
