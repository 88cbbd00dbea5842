#!/usr/bin/env bash
# Benchmark (not a test): one propagation check round of 100 names on 2 authoritative servers.
#
# Builds the tests' delegation tree on 127.0.40.0/24 with knotd (needs root for port 53):
# `test.` on .1 (the configured resolver: discovery follows its referrals) delegating
# `example.test.` to ns1 (.2) and ns2 (.3), each serving `_acme-challenge.hN.example.test`
# TXT for N in 0..99. Then times `certpilot check bench --json` on a certificate with those 100
# names (discovery + every address asked, in one process) and prints wall time, the round's
# own time and the DNS questions sent, next to the target (<= 200 ms wall on 2 cores).
#   scripts/bench-propagation.sh      env: RUNS (default 10), BIN (default: release build),
#                                     NET (third octet, default 40), KEEP=1 keeps the temp dir
set -euo pipefail
export LC_ALL=C # EPOCHREALTIME and printf must use '.' as the decimal point

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUNS=${RUNS:-10} NET=${NET:-40} TARGET_MS=200
PATH="$PATH:/usr/sbin:/sbin"
log() { echo "bench-propagation: $*" >&2; }
die() { log "$*"; exit 1; }

command -v knotd >/dev/null && command -v knotc >/dev/null || die "knotd/knotc missing (scripts/test-deps.sh)"
[[ $(id -u) -eq 0 ]] || die "needs root to bind 127.0.$NET.x:53"
if [[ -z ${BIN:-} ]]; then
    log "building the release binary"
    (cd "$repo" && cargo build --release --quiet --bin certpilot)
    BIN=$repo/target/release/certpilot
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/certpilot-bench-dns.XXXXXX")
pids=()
cleanup() {
    local status=$?
    ((${#pids[@]})) && { kill "${pids[@]}" 2>/dev/null || true; wait "${pids[@]}" 2>/dev/null || true; }
    if [[ ${KEEP:-} == 1 ]]; then log "kept $tmp"; else rm -rf "$tmp"; fi
    exit "$status"
}
trap cleanup EXIT

# zone FILE ORIGIN: SOA header; records follow on stdin.
zone() {
    { printf '$ORIGIN %s.\n$TTL 60\n@ SOA ns.invalid. hostmaster.invalid. 1 60 60 600 60\n' "$2"; cat; } >"$1"
}

# knot NAME ADDRESS ZONE: one knotd in the foreground, serving ZONE from $tmp/NAME/.
knot() {
    local dir=$tmp/$1
    mkdir -p "$dir"
    cat >"$dir/knot.conf" <<EOF
server:
  rundir: "$dir"
  listen: $2@53
  udp-workers: 1
  tcp-workers: 1
  background-workers: 1
control:
  listen: "$dir/knot.sock"
database:
  storage: "$dir"
template:
  - id: default
    storage: "$dir"
    file: "$tmp/%s.zone"
    journal-content: none
zone:
  - domain: $3.
EOF
    knotd -c "$dir/knot.conf" >"$dir/knot.log" 2>&1 &
    pids+=($!)
}

ip() { echo "127.0.$NET.$1"; }

zone "$tmp/test.zone" test <<EOF
@ NS ns
ns A $(ip 1)
example NS ns1.example
example NS ns2.example
ns1.example A $(ip 2)
ns2.example A $(ip 3)
EOF
{
    printf '@ NS ns1\n@ NS ns2\nns1 A %s\nns2 A %s\n' "$(ip 2)" "$(ip 3)"
    for i in $(seq 0 99); do printf '_acme-challenge.h%d TXT "token-%d"\n' "$i" "$i"; done
} | zone "$tmp/example.test.zone" example.test

knot parent "$(ip 1)" test
knot ns1 "$(ip 2)" example.test
knot ns2 "$(ip 3)" example.test

mkdir -p "$tmp/work"
{
    printf '[certificates.bench]\nnames = ['
    for i in $(seq 0 99); do printf '%s"h%d.example.test"' "$([[ $i -gt 0 ]] && echo ', ')" "$i"; done
    printf ']\n\n[domains."example.test"]\nsolver = "manual"\n'
} >"$tmp/work/certpilot.toml"

check() { "$BIN" --dir "$tmp/work" --resolver "$(ip 1)" check bench --json; }

log "waiting for the servers"
deadline=$((SECONDS + 15))
until check >"$tmp/ready.json" 2>/dev/null; do
    ((SECONDS < deadline)) || { cat "$tmp"/*/knot.log >&2; die "the tree did not come up"; }
    sleep 0.1
done

walls=() rounds=() queries=0
for _ in $(seq "$RUNS"); do
    start=$EPOCHREALTIME
    check >"$tmp/run.json" || die "check failed: $(head -c 2000 "$tmp/run.json")"
    end=$EPOCHREALTIME
    walls+=("$(awk -v s="$start" -v e="$end" 'BEGIN {printf "%.1f", (e - s) * 1000}')")
    read -r round queries < <(python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
assert r["propagated"] and len(r["names"]) == 100
print(r["elapsed_ms"], r["queries"])' "$tmp/run.json")
    rounds+=("$round")
done

stats() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {printf "min %.1f  median %.1f  max %.1f", a[1], a[int((NR+1)/2)], a[NR]}'; }
median=$(printf '%s\n' "${walls[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
echo "one check round, 100 names x 2 servers (+ discovery through a referring parent), $RUNS runs, $(nproc) cores"
echo "  wall (process start to exit), ms: $(stats "${walls[@]}")"
echo "  round inside the process, ms:     $(stats "${rounds[@]}")"
echo "  DNS questions sent per round:     $queries"
if awk -v m="$median" -v t="$TARGET_MS" 'BEGIN {exit !(m <= t)}'; then
    echo "  target <= $TARGET_MS ms wall: met (median $median ms)"
else
    echo "  target <= $TARGET_MS ms wall: MISSED (median $median ms)"
    exit 1
fi
