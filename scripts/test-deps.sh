#!/usr/bin/env bash
# Install the system packages the test suite needs (Debian 12 / Ubuntu). Idempotent: when every
# tool is already there it only checks and returns; otherwise it installs with apt-get,
# refreshing the package lists only when the first attempt fails (fresh or stale lists).
set -euo pipefail

# Packages the tests use:
#   pebble             /usr/bin/pebble + pebble-challtestsrv (the ACME test CA)
#   gnome-keyring      the Secret Service; dbus for dbus-run-session / dbus-daemon / dbus-send;
#   dbus-x11           is there so apt satisfies gnome-keyring's "dbus-session-bus" dependency
#                      with it instead of dbus-user-session, which would pull in systemd
#   keyutils           keyctl (a fresh session keyring per run)
#   libdbus-1-dev pkg-config   build the keyring crate's D-Bus client
#   knot knot-dnsutils an authoritative DNS server (zone cut discovery) + kdig
#   unbound            the recursive resolver Pebble validates through in the acme-dns
#                      end-to-end test (it follows _acme-challenge CNAMEs)
#   tmux               the real-terminal tests
#   systemd            systemd-analyze verifies the timer units (no running systemd needed)
#   curl python3 python3-pip ca-certificates util-linux (flock)   helpers
#   postgresql         initdb/postgres (in /usr/lib/postgresql/*/bin) + pg_isready: the acme-dns
#                      server's shared database in its HA tests (tests/acmedns_postgres.rs)
packages=(
    pebble gnome-keyring dbus dbus-x11 keyutils libdbus-1-dev pkg-config
    knot knot-dnsutils unbound tmux curl python3 python3-pip ca-certificates util-linux systemd
    postgresql
)
commands=(
    pebble pebble-challtestsrv gnome-keyring-daemon dbus-run-session dbus-daemon dbus-send
    keyctl pkg-config knotd knotc kdig unbound tmux curl python3 flock systemd-analyze
    pg_isready
)

# pyacmedns (PyPI) is the acme-dns client no one here wrote (tests/acmedns_server.rs). It goes
# into target/pydeps, not into the system's Python; the test puts that on PYTHONPATH. A failed
# install only warns: the test then skips, or fails when CI=true.
pydeps="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/target/pydeps"
install_python_deps() {
    command -v python3 >/dev/null 2>&1 || return 0
    if PYTHONPATH="$pydeps" python3 -c 'import pyacmedns' >/dev/null 2>&1; then
        return 0
    fi
    echo "test-deps: installing pyacmedns into $pydeps"
    python3 -m pip install --quiet --disable-pip-version-check --break-system-packages --target "$pydeps" pyacmedns ||
        echo "test-deps: WARNING: pip could not install pyacmedns" >&2
}

# certbot with the certbot-dns-acmedns plugin (PyPI), for tests/acmedns_certbot.rs: a foreign
# ACME client issuing through Pebble via certpilot's acme-dns server. It gets its own target
# directory so its pinned, older libraries never shadow what the pyacmedns test imports.
# The pins: the plugin's only release (0.1.0) implements certbot's zope interfaces, which
# certbot 2.0 removed; acme 1.x gets the josepy, pyOpenSSL and cryptography of its time (it
# uses josepy 1's ComparableX509 and pyOpenSSL's X509Req, since dropped); certbot 1.x finds
# plugins through pkg_resources, which setuptools 82 dropped and which older releases (69
# tried) cannot match with zope.interface's normalized dist-info name.
certbot_deps="$(dirname "$pydeps")/pydeps-certbot"
install_certbot() {
    command -v python3 >/dev/null 2>&1 || return 0
    if PYTHONPATH="$certbot_deps" python3 -W ignore -c \
        'import certbot.main, certbot_dns_acmedns.dns_acmedns, pkg_resources' >/dev/null 2>&1; then
        return 0
    fi
    echo "test-deps: installing certbot 1.32 + certbot-dns-acmedns into $certbot_deps"
    rm -rf "$certbot_deps"
    python3 -m pip install --quiet --disable-pip-version-check --break-system-packages \
        --no-warn-conflicts --root-user-action=ignore \
        --target "$certbot_deps" certbot==1.32.0 acme==1.32.0 'josepy<2' 'pyOpenSSL<24' \
        'cryptography<42' 'setuptools>=80,<81' certbot-dns-acmedns==0.1.0 ||
        echo "test-deps: WARNING: pip could not install certbot + certbot-dns-acmedns" >&2
}

missing=()
for command in "${commands[@]}"; do
    # sbin is not on every user's PATH, but knotd lives there.
    if ! PATH="$PATH:/usr/sbin:/sbin" command -v "$command" >/dev/null 2>&1; then
        missing+=("$command")
    fi
done
if command -v pkg-config >/dev/null 2>&1 && ! pkg-config --exists dbus-1; then
    missing+=("dbus-1.pc")
fi
if [[ ! -s /etc/ssl/certs/ca-certificates.crt ]]; then
    missing+=("ca-certificates.crt")
fi
if [[ ${#missing[@]} -eq 0 ]]; then
    install_python_deps
    install_certbot
    echo "test-deps: all test tools present"
    exit 0
fi
echo "test-deps: missing ${missing[*]}; installing: ${packages[*]}"

if ! command -v apt-get >/dev/null 2>&1; then
    echo "test-deps: no apt-get here; install the equivalents of: ${packages[*]}" >&2
    exit 1
fi
sudo=()
if [[ $(id -u) -ne 0 ]]; then
    if ! command -v sudo >/dev/null 2>&1; then
        echo "test-deps: need root (or sudo) to install: ${packages[*]}" >&2
        exit 1
    fi
    sudo=(sudo)
fi

export DEBIAN_FRONTEND=noninteractive
install() {
    "${sudo[@]}" apt-get install -y --no-install-recommends "${packages[@]}"
}
if ! install; then
    echo "test-deps: install failed; refreshing the package lists and retrying"
    "${sudo[@]}" apt-get update
    install
fi
install_python_deps
install_certbot
echo "test-deps: done"
