#!/usr/bin/env bash
# Load benchmark (not a test) for certpilot's acme-dns server on loopback, release build:
# registers ACCOUNTS accounts, runs ACCOUNTS x UPDATES concurrent /update calls (each account's
# in order) while DNS workers query the TXT records over UDP, then QUERIES queries alone, then
# checks that every account serves exactly the last two values written to it ("nothing lost").
# Prints updates/s, queries/s over UDP and TCP (one TCP connection per worker), p50/p99
# latency of each, and the server's peak memory (VmHWM, binary mode); exits 1 when a value, a
# registration, an update or a query was lost. 1,000 concurrent clients: CONCURRENCY=1000
# ACCOUNTS=1000.
#
#   scripts/bench-acmedns.sh     env: ACCOUNTS (40), UPDATES (6 per account), CONCURRENCY (16
#                                HTTP workers; a quarter as many DNS workers during updates),
#                                QUERIES (20000), TCP_QUERIES (20000), HTTP_TIMEOUT (60 s
#                                per request; raise it at bcrypt cost 10 with 1,000 clients),
#                                REQUEST_TIMEOUT (certpilot's [http] request_timeout_secs, 30:
#                                a request queued longer gets 408; the genuine server has none),
#                                BCRYPT_COST (10, the reference server's),
#                                MODE=auto|binary|inprocess (auto: `certpilot acme-dns serve`
#                                as a child process when the binary builds, else in-process),
#                                KEEP=1 keeps the temp dir, PROFILE=release|debug (debug:
#                                quick and much slower; never quote its figures as the speed),
#                                SERVER=certpilot|genuine (genuine: the reference acme-dns,
#                                built by scripts/genuine-acme-dns.sh, at GENUINE_BIN, default
#                                target/genuine-acme-dns/bin/acme-dns; same driver, same
#                                loopback; its bcrypt cost is fixed at 10).
set -euo pipefail
export LC_ALL=C

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ACCOUNTS=${ACCOUNTS:-40} UPDATES=${UPDATES:-6} CONCURRENCY=${CONCURRENCY:-16}
QUERIES=${QUERIES:-20000} BCRYPT_COST=${BCRYPT_COST:-10} MODE=${MODE:-auto}
TCP_QUERIES=${TCP_QUERIES:-20000} HTTP_TIMEOUT=${HTTP_TIMEOUT:-60}
REQUEST_TIMEOUT=${REQUEST_TIMEOUT:-30} PROFILE=${PROFILE:-release}
SERVER=${SERVER:-certpilot}
GENUINE_BIN=${GENUINE_BIN:-$repo/target/genuine-acme-dns/bin/acme-dns}
case $SERVER in
certpilot) ;;
genuine)
    MODE=genuine
    if [[ ! -x $GENUINE_BIN ]]; then
        echo "bench-acmedns: no $GENUINE_BIN (build it: scripts/genuine-acme-dns.sh)" >&2
        exit 2
    fi
    # acme-dns hashes with bcrypt.GenerateFromPassword(..., 10), not configurable.
    if [[ $BCRYPT_COST != 10 ]]; then
        echo "bench-acmedns: the genuine server's bcrypt cost is 10; run with BCRYPT_COST=10" >&2
        exit 2
    fi
    ;;
*) echo "bench-acmedns: SERVER=certpilot|genuine" >&2; exit 2 ;;
esac
profile_flag=(--release)
[[ $PROFILE == release ]] || profile_flag=()
# Thousands of sockets on both sides: use the hard descriptor limit (the server raises its own).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
tmp=$(mktemp -d "${TMPDIR:-/tmp}/certpilot-bench-acmedns.XXXXXX")
server_pid=""

log() { echo "bench-acmedns: $*" >&2; }
die() { log "$*"; exit 1; }

cleanup() {
    local status=$?
    if [[ -n $server_pid ]]; then kill "$server_pid" 2>/dev/null || true; fi
    if [[ ${KEEP:-0} == 1 || $status != 0 ]]; then log "temp dir kept: $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

cd "$repo"
with_certpilot=$([[ $MODE == auto || $MODE == binary ]] && echo ' and certpilot' || true)
log "building ($PROFILE): the load driver$with_certpilot"
cargo build "${profile_flag[@]}" --quiet --example acmedns_load
if [[ $MODE != inprocess && $MODE != genuine ]]; then
    if cargo build "${profile_flag[@]}" --quiet --bin certpilot 2>"$tmp/build.err"; then
        MODE=binary
    elif [[ $MODE == binary ]]; then
        cat "$tmp/build.err" >&2
        die "certpilot does not build"
    else
        log "certpilot does not build; measuring in-process"
        MODE=inprocess
    fi
fi
load=("target/$PROFILE/examples/acmedns_load" --accounts "$ACCOUNTS" --updates "$UPDATES"
    --concurrency "$CONCURRENCY" --queries "$QUERIES" --tcp-queries "$TCP_QUERIES"
    --bcrypt-cost "$BCRYPT_COST" --http-timeout "$HTTP_TIMEOUT")

# One python3 call holds every port while picking, so none is picked twice; the DNS port must
# be free for UDP and TCP.
free_ports() {
    python3 - <<'PY'
import socket
held = []
while True:
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", 0))
    port, t = u.getsockname()[1], socket.socket()
    try:
        t.bind(("127.0.0.1", port)); held += [u, t]; break
    except OSError:
        u.close(); t.close()
s = socket.socket(); s.bind(("127.0.0.1", 0)); held.append(s)
print(port, s.getsockname()[1])
PY
}

# Bounded poll (20 s) until the server answers /health; fail early if it died.
wait_health() {
    local deadline=$((SECONDS + 20))
    until curl -fsS -o /dev/null "http://127.0.0.1:$1/health" 2>/dev/null; do
        kill -0 "$server_pid" 2>/dev/null || { cat "$tmp/server.log" >&2; die "server exited during startup"; }
        ((SECONDS < deadline)) || die "server not answering on port $1 after 20 s"
        sleep 0.05
    done
}

# (accounts, txt rows, integrity) of the server's database, read after it stopped; $2 names
# the accounts table (the genuine server calls it `records`).
db_report() {
    python3 - "$1" "${2:-accounts}" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
count = lambda t: db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
print(f"db_accounts={count(sys.argv[2])} db_txt_rows={count('txt')} "
      f"db_integrity={db.execute('PRAGMA integrity_check').fetchone()[0]}")
PY
}

# Loads the running server ($1 HTTP port, $2 DNS port), then reports its memory and stops it
# with SIGTERM; $3 is the exit status that counts as a clean stop.
load_and_stop() {
    "${load[@]}" --http "http://127.0.0.1:$1" --dns "127.0.0.1:$2" | tee "$tmp/result" || status=$?
    # Peak and current resident memory of the server after the load.
    awk '/^VmHWM|^VmRSS/ {printf "server_%s=%s_kB\n", tolower(substr($1, 1, length($1) - 1)), $2}' \
        "/proc/$server_pid/status" 2>/dev/null || true
    kill -TERM "$server_pid"
    server_status=0
    wait "$server_pid" || server_status=$?
    server_pid=""
    echo "server_exit_after_sigterm=$server_status"
    ((server_status == $3)) || { cat "$tmp/server.log" >&2; status=1; }
}

status=0
if [[ $MODE == genuine ]]; then
    read -r dns http <<<"$(free_ports)"
    # acme-dns v1.1's config.cfg keys (its types.go); plain HTTP API, SQLite, warnings only.
    cat >"$tmp/config.cfg" <<TOML
[general]
listen = "127.0.0.1:$dns"
protocol = "both"
domain = "auth.example.test"
nsname = "ns1.auth.example.test"
nsadmin = "hostmaster.auth.example.test"
records = ["auth.example.test. NS ns1.auth.example.test."]
debug = false
[database]
engine = "sqlite3"
connection = "$tmp/acme-dns.db"
[api]
ip = "127.0.0.1"
port = "$http"
tls = "none"
disable_registration = false
corsorigins = ["*"]
use_header = false
[logconfig]
loglevel = "warning"
logtype = "stdout"
logformat = "text"
TOML
    (cd "$tmp" && exec "$GENUINE_BIN" -c "$tmp/config.cfg") >"$tmp/server.log" 2>&1 &
    server_pid=$!
    wait_health "$http"
    log "genuine acme-dns (pid $server_pid): DNS 127.0.0.1:$dns, HTTP 127.0.0.1:$http"
    # It has no signal handler: SIGTERM kills it (128 + 15), which is its normal stop.
    load_and_stop "$http" "$dns" 143
    db_report "$tmp/acme-dns.db" records
elif [[ $MODE == binary ]]; then
    read -r dns http <<<"$(free_ports)"
    cat >"$tmp/server.toml" <<TOML
zone = "auth.example.test"
database = "acme-dns.db"
nameservers = ["ns1.auth.example.test"]
bcrypt_cost = $BCRYPT_COST
log_level = "warn"
[dns]
listen = ["127.0.0.1:$dns"]
[http]
listen = "127.0.0.1:$http"
request_timeout_secs = $REQUEST_TIMEOUT
[soa]
mname = "ns1.auth.example.test"
rname = "hostmaster.auth.example.test"
TOML
    CERTPILOT_LOG=warn "target/$PROFILE/certpilot" --dir "$tmp/certpilot" acme-dns serve \
        --config "$tmp/server.toml" >"$tmp/server.log" 2>&1 &
    server_pid=$!
    wait_health "$http"
    log "certpilot acme-dns serve (pid $server_pid): DNS 127.0.0.1:$dns, HTTP 127.0.0.1:$http"
    load_and_stop "$http" "$dns" 0
    db_report "$tmp/acme-dns.db"
else
    "${load[@]}" | tee "$tmp/result" || status=$?
fi

cores=$(nproc 2>/dev/null || echo '?')
log "done: mode=$MODE load_average=\"$(cut -d' ' -f1-3 /proc/loadavg)\" cores=$cores" \
    "accounts=$ACCOUNTS updates/account=$UPDATES concurrency=$CONCURRENCY" \
    "bcrypt_cost=$BCRYPT_COST server=$SERVER (exit $status)"
exit "$status"
