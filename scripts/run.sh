#!/usr/bin/env bash
# Build certpilot (release) and run it with the given arguments: the README's "run" command.
# Installs the one system library the build needs (libdbus-1-dev, for the Secret Service
# client) when it is missing; needs a Rust toolchain (rustup) for cargo.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null 2>&1 && [[ -f $HOME/.cargo/env ]]; then
    # shellcheck source=/dev/null
    . "$HOME/.cargo/env"
fi
if ! command -v cargo >/dev/null 2>&1; then
    echo "run.sh: cargo not found; install Rust first: https://rustup.rs" >&2
    exit 1
fi
if ! pkg-config --exists dbus-1 2>/dev/null; then
    sudo=()
    [[ $(id -u) -eq 0 ]] || sudo=(sudo)
    echo "run.sh: installing libdbus-1-dev and pkg-config (needed to build the keyring client)" >&2
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y --no-install-recommends libdbus-1-dev pkg-config ||
        { "${sudo[@]}" apt-get update && DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y --no-install-recommends libdbus-1-dev pkg-config; }
fi
cargo build --release --quiet --bin certpilot
exec target/release/certpilot "$@"
