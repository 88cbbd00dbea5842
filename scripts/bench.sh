#!/usr/bin/env bash
# Benchmark (not a test): times certpilot's issuance against a private Pebble and its `list`
# over a large store, then prints a summary next to the targets.
#   scripts/bench.sh        env: NONCEREJECT (default 5, Pebble's badNonce %), PARALLEL
#                           (settings.parallel, default 4), RUNS (3), LIST_RUNS (20), KEEP=1
#                           keeps the temp dir (logs, workdirs); CERTPILOT_LOG is passed on.
set -euo pipefail
export LC_ALL=C # EPOCHREALTIME and printf must use '.' as the decimal point

# certpilot's keyutils store needs a session keyring of our own (and we must not fill the
# caller's): re-exec inside a fresh anonymous one.
if [[ -z ${CERTPILOT_BENCH_IN_SESSION:-} ]]; then
    export CERTPILOT_BENCH_IN_SESSION=1
    exec keyctl session - bash "$0" "$@"
fi

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
hook=$repo/tests/fixtures/challtest-hook.sh
bin=$repo/target/release/certpilot
NONCEREJECT=${NONCEREJECT:-5} PARALLEL=${PARALLEL:-4} RUNS=${RUNS:-3} LIST_RUNS=${LIST_RUNS:-20}
export CERTPILOT_KEYSTORE=keyutils CERTPILOT_KEYRING_SERVICE=certpilot-bench-$$
tmp=$(mktemp -d "${TMPDIR:-/tmp}/certpilot-bench.XXXXXX")
export CERTPILOT_CA_BUNDLE=$tmp/ca.pem
pids=()

log() { echo "bench: $*" >&2; }
die() { log "$*"; exit 1; }

stop_servers() {
    ((${#pids[@]})) || return 0
    kill "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
    pids=()
}

# keyring-rs links every key into root's persistent keyring too (kept for days): drop ours.
purge_keys() {
    local ring id
    ring=$(keyctl get_persistent @s 2>/dev/null) || return 0
    for id in $(keyctl rlist "$ring" 2>/dev/null); do
        if [[ $(keyctl rdescribe "$id" 2>/dev/null) == *"@$CERTPILOT_KEYRING_SERVICE" ]]; then
            keyctl invalidate "$id" 2>/dev/null || true
        fi
    done
}

cleanup() {
    local status=$?
    stop_servers
    purge_keys
    if [[ ${KEEP:-0} == 1 || $status != 0 ]]; then log "temp dir kept: $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

# A certpilot (or other) command failed: show what it said and stop.
fail_cmd() {
    local status=$1; shift
    log "FAILED (exit $status): ${*:1:12}$( (($# > 12)) && echo ' ...')"
    sed 's/^/  stdout| /' "$tmp/last.out" 2>/dev/null | tail -n 20 >&2 || true
    sed 's/^/  stderr| /' "$tmp/last.err" | tail -n 40 >&2
    die "stopping: a certpilot command failed (see above)"
}

# certpilot ARGS... (untimed setup step), stopping on failure.
cp_run() {
    local status=0
    "$bin" "$@" >"$tmp/last.out" 2>"$tmp/last.err" || status=$?
    ((status == 0)) || fail_cmd "$status" "$bin" "$@"
}

# timed CMD...: wall clock in T (s, from bash's EPOCHREALTIME: no extra process), peak RSS in
# RSS (KB, /usr/bin/time). Stdout goes to $OUT (default a file), stderr to last.err.
timed() {
    local t0 t1 status=0
    t0=$EPOCHREALTIME
    /usr/bin/time -f %M -o "$tmp/rss" "$@" >"${OUT:-$tmp/last.out}" 2>"$tmp/last.err" || status=$?
    t1=$EPOCHREALTIME
    ((status == 0)) || fail_cmd "$status" "$@"
    T=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", b - a }')
    RSS=$(tail -n 1 "$tmp/rss")
}

# stats FILE: "min median max" of the first column.
stats() {
    sort -g "$1" | awk '{ v[NR] = $1 } END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        print v[1], m, v[NR] }'
}
max_col2() { awk 'BEGIN { m = 0 } $2 > m { m = $2 } END { print m }' "$1"; }

# How many certificates of workdir $1 `list --json` reports as valid.
count_valid() {
    cp_run --dir "$1" list --json
    python3 -c 'import json, sys; print(sum(r["status"] == "valid" for r in json.load(open(sys.argv[1]))))' "$tmp/last.out"
}

# One python3 call picks every port while holding them all, so none is picked twice.
free_ports() {
    python3 - <<'PY'
import socket
held = []
while True:  # the DNS port must be free for UDP and TCP
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", 0))
    port, t = u.getsockname()[1], socket.socket()
    try:
        t.bind(("127.0.0.1", port)); held += [u, t]; break
    except OSError:
        u.close(); t.close()
for _ in range(5):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); held.append(s)
print(port, *(s.getsockname()[1] for s in held[2:]))
PY
}

# Throwaway CA + leaf for 127.0.0.1/localhost: Pebble serves HTTPS, certpilot verifies it.
make_tls() {
    (cd "$tmp" &&
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
            -subj "/CN=certpilot bench CA" -keyout ca.key -out ca.pem &&
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost \
            -keyout key.pem -out leaf.csr &&
        printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >leaf.ext &&
        openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
            -extfile leaf.ext -out cert.pem) >"$tmp/openssl.log" 2>&1 || { cat "$tmp/openssl.log" >&2; die "openssl failed"; }
}

# Bounded poll (20 s) until 127.0.0.1:$1 accepts connections; fail early if $3 (pid) died.
wait_port() {
    local deadline=$((SECONDS + 20))
    until (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; do
        kill -0 "$3" 2>/dev/null || { cat "$4" >&2; die "$2 exited during startup (log above)"; }
        ((SECONDS < deadline)) || die "$2 not listening on port $1 after 20 s"
        sleep 0.05
    done
}

# start_servers REJECT%: challtestsrv + Pebble on fresh ports; sets DIRECTORY, RESOLVER, CHALLTESTSRV.
start_servers() {
    local dir=$tmp/servers-$1 dns cts acme mgmt http tls
    mkdir -p "$dir"
    read -r dns cts acme mgmt http tls < <(free_ports)
    [[ -n ${tls:-} ]] || die "could not pick free ports"
    pebble-challtestsrv -dns01 "127.0.0.1:$dns" -management "127.0.0.1:$cts" \
        -http01 "" -https01 "" -tlsalpn01 "" >"$dir/challtestsrv.log" 2>&1 &
    pids+=($!)
    wait_port "$cts" pebble-challtestsrv "$!" "$dir/challtestsrv.log"
    cat >"$dir/pebble.json" <<JSON
{"pebble":{"listenAddress":"127.0.0.1:$acme","managementListenAddress":"127.0.0.1:$mgmt",
 "certificate":"$tmp/cert.pem","privateKey":"$tmp/key.pem","httpPort":$http,"tlsPort":$tls,
 "ocspResponderURL":"","externalAccountBindingRequired":false}}
JSON
    PEBBLE_VA_NOSLEEP=1 PEBBLE_AUTHZREUSE=0 PEBBLE_WFE_NONCEREJECT=$1 \
        pebble -config "$dir/pebble.json" -dnsserver "127.0.0.1:$dns" >"$dir/pebble.log" 2>&1 &
    pids+=($!)
    wait_port "$acme" pebble "$!" "$dir/pebble.log"
    DIRECTORY=https://127.0.0.1:$acme/dir RESOLVER=127.0.0.1:$dns
    export CHALLTESTSRV=http://127.0.0.1:$cts
}

# new_workdir TAG: fresh workdir in WD with settings.parallel, an account and the exec hook.
new_workdir() {
    WD=$tmp/wd-$1
    mkdir -p "$WD"
    printf '[settings]\nparallel = %s\n' "$PARALLEL" >"$WD/certpilot.toml"
    cp_run --dir "$WD" account add pebble --directory "$DIRECTORY" --email ops@example.test --agree-tos
    cp_run --dir "$WD" domain set example.test --solver exec --command "$hook"
}

# bench_renew TAG: `renew --all` of 10 certificates x 5 names; appends "secs rss_kb failures".
bench_renew() {
    local i j names
    new_workdir "$1"
    for i in $(seq 10); do
        names=()
        for j in $(seq 5); do names+=(--name "h$j.c$i.example.test"); done
        cp_run --dir "$WD" cert add "c$i" "${names[@]}"
    done
    timed "$bin" --dir "$WD" --resolver "$RESOLVER" renew --all
    cp "$tmp/last.err" "$WD/renew.progress" # per-step timings, for KEEP=1 inspection
    local valid failures
    valid=$(count_valid "$WD")
    failures=$((10 - valid))
    log "$1: renew --all 10x5 in $T s, peak RSS $RSS KB, $failures failure(s)"
    echo "$T $RSS $failures" >>"$tmp/$2.dat"
}

# bench_big TAG: one certificate with 100 names via `issue`; appends "secs rss_kb failures".
bench_big() {
    local i names=()
    new_workdir "$1"
    for i in $(seq 100); do names+=(--name "host$i.example.test"); done
    cp_run --dir "$WD" cert add big "${names[@]}"
    timed "$bin" --dir "$WD" --resolver "$RESOLVER" issue big
    cp "$tmp/last.err" "$WD/issue.progress"
    local valid failures
    valid=$(count_valid "$WD")
    failures=$((1 - valid))
    log "$1: issue 1x100 in $T s, peak RSS $RSS KB, $failures failure(s)"
    echo "$T $RSS $failures" >>"$tmp/big.dat"
}

# bench_list: 1,000 stored certificates cloned from a real one (chain + metadata of scenario
# a), no CA needed; times `list` and `list --json` LIST_RUNS times each.
bench_list() {
    local wd=$tmp/wd-list src=$tmp/wd-renew1/certificates/c1 mode i
    python3 - "$wd" "$src/c1.crt" "$src/c1.json" <<'PY'
import json, os, shutil, sys
wd, crt, meta = sys.argv[1], sys.argv[2], json.load(open(sys.argv[3]))
os.makedirs(os.path.join(wd, "certificates"))
with open(os.path.join(wd, "certpilot.toml"), "w") as f:
    f.write('[accounts.pebble]\ndirectory = "https://127.0.0.1:1/dir"\n')
    for i in range(1, 1001):
        f.write(f'\n[certificates.c{i}]\nnames = ["c{i}.example.test"]\naccount = "pebble"\n')
        d = os.path.join(wd, "certificates", f"c{i}")
        os.mkdir(d)
        shutil.copyfile(crt, os.path.join(d, f"c{i}.crt"))
        with open(os.path.join(d, f"c{i}.json"), "w") as m:
            json.dump(dict(meta, name=f"c{i}", names=[f"c{i}.example.test"]), m, indent=2)
PY
    local valid; valid=$(count_valid "$wd")
    ((valid == 1000)) || die "list --json sees $valid of 1000 synthetic certificates as valid"
    for mode in list list-json; do
        for i in $(seq "$LIST_RUNS"); do
            OUT=/dev/null timed "$bin" --dir "$wd" list $([[ $mode == list-json ]] && echo --json)
            echo "$T $RSS" >>"$tmp/$mode.dat"
        done
    done
    for i in $(seq "$LIST_RUNS"); do OUT=/dev/null timed true; echo "$T" >>"$tmp/overhead.dat"; done
}

# One summary line: LABEL FILE UNIT(s|ms) TARGET.
summary_line() {
    local min med max rss fails
    read -r min med max < <(stats "$2")
    rss=$(max_col2 "$2")
    fails=$(awk '{ f += $3 } END { print f + 0 }' "$2")
    awk -v l="$1" -v u="$3" -v min="$min" -v med="$med" -v rss="$rss" -v n="$(wc -l <"$2")" \
        -v f="$fails" -v t="$4" -v withf="$5" 'BEGIN { k = u == "ms" ? 1000 : 1; p = u == "ms" ? 1 : 2
        printf "%-34s median %.*f %s (min %.*f %s, n=%d)", l, p, med * k, u, p, min * k, u, n
        if (withf) printf ", %d failures", f
        printf ", peak RSS %.1f MB   [target %s]\n", rss / 1024, t }'
}

# ---- main ----
command -v cargo >/dev/null 2>&1 || { [[ -f $HOME/.cargo/env ]] && . "$HOME/.cargo/env"; }
[[ -x /usr/bin/time ]] || apt-get install -y time >&2 || die "/usr/bin/time missing and 'apt-get install time' failed"
for tool in pebble pebble-challtestsrv openssl python3 curl; do
    command -v "$tool" >/dev/null || die "$tool is not installed"
done
log "building (cargo build --release --bin certpilot)"
(cd "$repo" && cargo build --release --bin certpilot) || die "release build failed"
make_tls

start_servers "$NONCEREJECT"
for r in $(seq "$RUNS"); do bench_renew "renew$r" renew; done
for r in $(seq "$RUNS"); do bench_big "big$r"; done
bench_list
stop_servers
start_servers 50 # scenario d: half of all nonces rejected, to price badNonce retries
bench_renew nonce50 nonce50
stop_servers

read -r _ ovh _ < <(stats "$tmp/overhead.dat")
echo
echo "== certpilot bench: $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$repo" diff --quiet 2>/dev/null || echo '+dirty'), $(nproc) CPU(s), $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
echo "   settings.parallel = $PARALLEL, Pebble badNonce rate $NONCEREJECT% (PEBBLE_VA_NOSLEEP=1, AUTHZREUSE=0)"
summary_line "renew --all 10x5" "$tmp/renew.dat" s "<= 5 s" 1
summary_line "issue 1x100 names" "$tmp/big.dat" s "<= 2 s" 1
summary_line "list, 1,000 certs" "$tmp/list.dat" ms "<= 50 ms, <= 30 MB"
summary_line "list --json, 1,000 certs" "$tmp/list-json.dat" ms "<= 50 ms, <= 30 MB"
summary_line "renew --all 10x5, badNonce 50%" "$tmp/nonce50.dat" s "<= 5 s (at ${NONCEREJECT}%)" 1
printf '(each time includes ~%.1f ms of /usr/bin/time fork+exec overhead)\n' "$(awk -v o="$ovh" 'BEGIN { print o * 1000 }')"
