#!/usr/bin/env bash
# Builds the genuine acme-dns (github.com/joohoi/acme-dns, Go; measured at tag v1.1, commit
# b7a0a8a, 2024-12-15) so that scripts/bench-acmedns.sh can load it beside certpilot's server
# (SERVER=genuine). Not a test and not part of the test suite.
#
#   scripts/genuine-acme-dns.sh SOURCE     SOURCE (or env ACMEDNS_SRC): an acme-dns work tree,
#                                          or a bare git dir of it (then ACMEDNS_REF, default
#                                          v1.1, is exported from it). This machine reaches
#                                          GitHub only through a mirror, so the source is given.
#   env: GENUINE_DIR (target/genuine-acme-dns), SUITE (unstable)
#
# Debian 12 ships Go 1.19, too old for acme-dns (go 1.22). Debian unstable packages Go and every
# dependency as source (-dev packages, usr/share/gocode/src/<import path>), and the Go module
# proxy is unreachable here, so: a private apt state under GENUINE_DIR (the machine's sources,
# lists and installed packages are not touched), `apt-get download` + `dpkg -x` into
# GENUINE_DIR/root, and a GOPATH-mode build (GO111MODULE=off) against those sources, offline.
# Debian's versions are newer than acme-dns's go.mod pins; the copied source gets a two-line
# local patch for the drift, scripts/genuine-acme-dns.patch (says what and why). SQLite comes
# from the system (libsqlite3-dev, Debian 12) through the `libsqlite3` build tag, because
# Debian's go-sqlite3 has the bundled amalgamation removed.
# Idempotent: downloads and the build are skipped when already done. Prints the binary's path.
set -euo pipefail
export LC_ALL=C

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SRC=${1:-${ACMEDNS_SRC:-}}
ACMEDNS_REF=${ACMEDNS_REF:-v1.1}
GENUINE_DIR=${GENUINE_DIR:-$repo/target/genuine-acme-dns}
SUITE=${SUITE:-unstable}
root=$GENUINE_DIR/root apt_dir=$GENUINE_DIR/apt debs=$GENUINE_DIR/debs
gopath=$GENUINE_DIR/gopath bin=$GENUINE_DIR/bin/acme-dns

log() { echo "genuine-acme-dns: $*" >&2; }
die() { log "$*"; exit 1; }

[[ -n $SRC ]] || die "usage: $0 ACME_DNS_SOURCE_DIR (or ACMEDNS_SRC=...)"
[[ -d $SRC ]] || die "no such directory: $SRC"
[[ -f /usr/include/sqlite3.h ]] || die "needs libsqlite3-dev (apt-get install libsqlite3-dev)"
command -v gcc >/dev/null || die "needs gcc (cgo, for go-sqlite3)"

# The Go packages acme-dns imports (main + non-test files), by their Debian names.
go_packages=(golang-go golang-github-miekg-dns-dev golang-github-julienschmidt-httprouter-dev
    golang-github-rs-cors-dev golang-github-mattn-go-sqlite3-dev golang-github-lib-pq-dev
    golang-github-google-uuid-dev golang-golang-x-crypto-dev golang-github-sirupsen-logrus-dev
    golang-github-burntsushi-toml-dev golang-github-caddyserver-certmagic-dev)

apt_opts=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
    -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache"
    -o Dir::State::status=/dev/null -o Debug::NoLocking=1 -o APT::Sandbox::User=root)

# Private apt state for SUITE; `apt-get update` only when it has no lists yet.
apt_lists() {
    mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
    echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg]" \
        "http://deb.debian.org/debian $SUITE main" >"$apt_dir/sources.list"
    if ! compgen -G "$apt_dir/lists/*_Packages*" >/dev/null; then
        log "apt-get update (private state, $SUITE)"
        nice -n 19 apt-get "${apt_opts[@]}" update -qq >&2
    fi
}

# Downloads the Go toolchain and the dependency closure (Go sources only: libc and the C
# libraries come from the system) and unpacks each .deb once into $root.
fetch_packages() {
    local wanted
    wanted=$(apt-cache "${apt_opts[@]}" depends --recurse --no-recommends --no-suggests \
        --no-conflicts --no-breaks --no-replaces --no-enhances "${go_packages[@]}" |
        grep -E '^golang-' | sort -u)
    mkdir -p "$debs" "$root"
    local missing=()
    for package in $wanted; do
        compgen -G "$debs/${package}_*.deb" >/dev/null || missing+=("$package")
    done
    if ((${#missing[@]})); then
        log "downloading ${#missing[@]} packages from Debian $SUITE"
        (cd "$debs" && nice -n 19 apt-get "${apt_opts[@]}" download -qq "${missing[@]}" >&2)
    fi
    for deb in "$debs"/*.deb; do
        [[ -e $deb.unpacked ]] && continue
        dpkg -x "$deb" "$root"
        touch "$deb.unpacked"
    done
}

# Copies acme-dns into the GOPATH (from a work tree, or exported from a bare git dir at
# ACMEDNS_REF) and applies scripts/genuine-acme-dns.patch.
patch_source() {
    local dest=$gopath/src/github.com/joohoi/acme-dns
    rm -rf "$dest" && mkdir -p "$dest"
    if [[ -f $SRC/HEAD && -d $SRC/objects ]]; then
        git --git-dir="$SRC" archive "$ACMEDNS_REF" | tar -x -C "$dest"
        git --git-dir="$SRC" rev-parse "$ACMEDNS_REF^{commit}" >"$dest/.commit"
    else
        cp -a "$SRC/." "$dest/"
        rm -rf "$dest/.git"
    fi
    patch -s -p1 -d "$dest" <"$repo/scripts/genuine-acme-dns.patch" >&2
    echo "$dest"
}

build() {
    local goroot dest
    goroot=$(ls -d "$root"/usr/lib/go-1.* | sort -V | tail -1)
    dest=$(patch_source)
    mkdir -p "$(dirname "$bin")" "$GENUINE_DIR/gocache"
    local what
    what=$(cat "$dest/.commit" 2>/dev/null || echo "$SRC")
    log "building $what with $("$goroot/bin/go" version)"
    (cd "$dest" && env GOROOT="$goroot" GOPATH="$gopath:$root/usr/share/gocode" \
        GO111MODULE=off GOTOOLCHAIN=local GOPROXY=off GOFLAGS=-buildvcs=false \
        GOCACHE="$GENUINE_DIR/gocache" CGO_ENABLED=1 PATH="$goroot/bin:$PATH" \
        nice -n 19 go build -tags libsqlite3 -trimpath -o "$bin.new" . >&2)
    mv "$bin.new" "$bin"
}

apt_lists
fetch_packages
# Rebuild only when the binary is missing or older than the source given or the patch.
patch_file=$repo/scripts/genuine-acme-dns.patch
newer=$(find "$SRC" "$patch_file" -newer "$bin" -print -quit 2>/dev/null || true)
if [[ ! -x $bin || -n $newer ]]; then
    build
fi
echo "$bin"
