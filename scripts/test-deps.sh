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
#   bind9              named + tsig-keygen: RFC 2136 updates with an update-policy
#   pdns-server pdns-backend-sqlite3   PowerDNS Authoritative with its HTTP API (the test
#                      creates the sqlite3 database from the package's schema)
packages=(
    pebble gnome-keyring dbus dbus-x11 keyutils libdbus-1-dev pkg-config
    knot knot-dnsutils unbound tmux curl python3 python3-pip ca-certificates util-linux systemd
    bind9 pdns-server pdns-backend-sqlite3
)
commands=(
    pebble pebble-challtestsrv gnome-keyring-daemon dbus-run-session dbus-daemon dbus-send
    keyctl pkg-config knotd knotc kdig unbound tmux curl python3 flock systemd-analyze
    named tsig-keygen pdns_server
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

# Pebble 2.10 from Debian unstable (tests/ari_pebble.rs): Debian 12's Pebble 2.4 has neither
# ARI nor profiles. It is a static Go binary needing only libc, so the unstable package runs
# here. apt's own tools fetch it with a source list, lists directory and cache of their own
# below target/, from the Debian mirror this machine already uses (suite `unstable`); the
# machine's apt sources and installed packages are left alone. `dpkg -x` unpacks it into
# target/pebble-2.10 (usr/bin/pebble). With CI=true a failure here is a failure.
pebble_unstable="$(dirname "$pydeps")/pebble-2.10"
debian_mirror() {
    # deb822 files (URIs: …) and one-line lists (deb [opts] URI suite …); the first Debian
    # archive URI wins (not the security archive, whose layout has no unstable).
    local files=(/etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources)
    local file uri
    for file in "${files[@]}"; do
        [[ -r $file ]] || continue
        while read -r uri; do
            uri=${uri%/}
            if [[ $uri == */debian && $uri != *security* ]]; then
                echo "$uri"
                return 0
            fi
        done < <(sed -n -e 's/^[[:space:]]*URIs:[[:space:]]*//p' \
            -e 's/^[[:space:]]*deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]\+\).*/\2/p' "$file" |
            tr ' ' '\n')
    done
    return 1
}
install_pebble_unstable() {
    if [[ -x $pebble_unstable/usr/bin/pebble && -s $pebble_unstable/VERSION ]]; then
        return 0
    fi
    command -v apt-get >/dev/null 2>&1 && command -v dpkg >/dev/null 2>&1 || {
        echo "test-deps: no apt-get/dpkg here to fetch Debian unstable's pebble" >&2
        return 1
    }
    local mirror keyring=/usr/share/keyrings/debian-archive-keyring.gpg
    mirror=$(debian_mirror) || {
        echo "test-deps: no Debian mirror in /etc/apt/sources.list(.d)" >&2
        return 1
    }
    [[ -r $keyring ]] || {
        echo "test-deps: $keyring is missing (package debian-archive-keyring)" >&2
        return 1
    }
    local apt_dir="$pebble_unstable.apt"
    rm -rf "$apt_dir" "$pebble_unstable"
    mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/download"
    echo "deb [signed-by=$keyring] $mirror unstable main" >"$apt_dir/sources.list"
    local apt_opts=(
        -o "Dir::Etc::SourceList=$apt_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
        -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache"
        -o Dir::State::status=/dev/null -o Debug::NoLocking=1 -o APT::Sandbox::User="$(id -un)"
    )
    echo "test-deps: fetching pebble from Debian unstable into $pebble_unstable"
    apt-get -q "${apt_opts[@]}" update >/dev/null &&
        (cd "$apt_dir/download" && apt-get -q "${apt_opts[@]}" download pebble >/dev/null) || return 1
    local deb
    deb=$(find "$apt_dir/download" -name 'pebble_*.deb' | head -n 1)
    [[ -n $deb ]] && dpkg -x "$deb" "$pebble_unstable" || return 1
    dpkg-deb -f "$deb" Version >"$pebble_unstable/VERSION"
    rm -rf "$apt_dir"
    echo "test-deps: pebble $(cat "$pebble_unstable/VERSION") in $pebble_unstable"
}
get_pebble_unstable() {
    install_pebble_unstable && return 0
    if [[ ${CI:-} == true || ${CI:-} == 1 ]]; then
        echo "test-deps: could not get Debian unstable's pebble (required with CI=true)" >&2
        exit 1
    fi
    echo "test-deps: WARNING: no Debian unstable pebble; tests/ari_pebble.rs skips" >&2
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
if [[ ! -s /usr/share/doc/pdns-backend-sqlite3/schema.sqlite3.sql ]]; then
    missing+=("pdns-backend-sqlite3")
fi
if [[ ${#missing[@]} -eq 0 ]]; then
    install_python_deps
    install_certbot
    get_pebble_unstable
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
get_pebble_unstable
echo "test-deps: done"
