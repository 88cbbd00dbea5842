#!/usr/bin/env bash
# Build certpilot (release) and run it with the given arguments: the README's "run" command.
# Installs the one system library the build needs (libdbus-1-dev, for the Secret Service
# client) when it is missing, and for `sandbox` the servers it runs (Pebble, knot, unbound);
# needs a Rust toolchain (rustup) for cargo.
set -euo pipefail
cd "$(dirname "$0")/.."

sudo=()
[[ $(id -u) -eq 0 ]] || sudo=(sudo)
apt_install() {
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y --no-install-recommends "$@" ||
        { "${sudo[@]}" apt-get update && DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y --no-install-recommends "$@"; }
}

if ! command -v cargo >/dev/null 2>&1 && [[ -f $HOME/.cargo/env ]]; then
    # shellcheck source=/dev/null
    . "$HOME/.cargo/env"
fi
if ! command -v cargo >/dev/null 2>&1; then
    echo "run.sh: cargo not found; install Rust first: https://rustup.rs" >&2
    exit 1
fi
if ! pkg-config --exists dbus-1 2>/dev/null; then
    echo "run.sh: installing libdbus-1-dev and pkg-config (needed to build the keyring client)" >&2
    apt_install libdbus-1-dev pkg-config
fi
if [[ ${1:-} == sandbox ]]; then
    missing=()
    for tool in pebble knotd knotc unbound flock; do
        command -v "$tool" >/dev/null 2>&1 || [[ -x /usr/sbin/$tool ]] || missing+=("$tool")
    done
    if ((${#missing[@]})); then
        echo "run.sh: installing the sandbox's servers (missing: ${missing[*]})" >&2
        apt_install pebble knot unbound util-linux
    fi
fi
cargo build --release --quiet --bin certpilot
exec target/release/certpilot "$@"
