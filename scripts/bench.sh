#!/usr/bin/env bash
# Benchmark (not a test): times certpilot's issuance against a private Pebble and its `list`
# over a large store, then prints a summary next to the targets. Scenarios: renew --all of
# 10 certificates x 5 names, one certificate of 100 names, renew --all of 50 certificates x 3
# names (total time, failures, peak memory), list over 1,000 stored certificates, and 10x5
# with half of all nonces rejected; and (scripts/bench-compare.sh) certpilot next to certbot 5
# on a knot DNS tree (1x1, 10x5, 1x100, ratios, where the time goes) and behind a proxy that
# adds 50 ms to every CA request.
#   scripts/bench.sh        env: ONLY (renew, big, fifty, list, nonce50, compare or latency: that scenario
#                           alone), NONCEREJECT (default 5, Pebble's badNonce %), PARALLEL
#                           (settings.parallel, default 4), RUNS (3), LIST_RUNS (20), KEEP=1
#                           keeps the temp dir (logs, workdirs); CERTPILOT_LOG is passed on;
#                           COMPARE_NONCEREJECT (0, Pebble's badNonce % for compare/latency),
#                           BENCH_BIN (a prebuilt certpilot: no release build).
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
bin=${BENCH_BIN:-$repo/target/release/certpilot} # BENCH_BIN: a prebuilt binary (no build)
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
    "$bin" "$@" >"$tmp/last.out" 2>"$tmp/last.err" || fail_cmd "$?" "$bin" "$@"
}

# timed CMD...: wall clock in T (s; bash's EPOCHREALTIME costs no process), peak RSS in RSS
# (KB, /usr/bin/time). Stdout goes to $OUT (default last.out), stderr to last.err.
timed() {
    local t0 t1 status=0
    t0=$EPOCHREALTIME
    /usr/bin/time -f %M -o "$tmp/rss" "$@" >"${OUT:-$tmp/last.out}" 2>"$tmp/last.err" || status=$?
    t1=$EPOCHREALTIME
    if ((status != 0)); then # SOFT=1: a failed run is a result (scenario d), shown, not fatal
        [[ ${SOFT:-0} == 1 ]] || fail_cmd "$status" "$@"
        log "command failed (exit $status), measured anyway:"
        grep -h 'FAILED\|^error' "$tmp/last.out" "$tmp/last.err" | sed 's/^/  | /' >&2 || true
    fi
    T=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", b - a }')
    RSS=$(tail -n 1 "$tmp/rss")
}

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

# start_servers REJECT% [DNS]: challtestsrv + Pebble on fresh ports; sets DIRECTORY, RESOLVER,
# CHALLTESTSRV. With DNS (IP:PORT), Pebble asks that server and no challtestsrv is started.
start_servers() {
    local dir=$tmp/servers-$1 dns cts acme mgmt http tls
    mkdir -p "$dir"
    # $(...) waits for python3 to exit, i.e. to release the ports (`< <(...)` would not).
    read -r dns cts acme mgmt http tls <<<"$(free_ports)"
    [[ -n ${tls:-} ]] || die "could not pick free ports"
    if [[ -n ${2:-} ]]; then
        start_pebble "$1" "$2" "$dir" "$acme" "$mgmt" "$http" "$tls"
        return
    fi
    pebble-challtestsrv -dns01 "127.0.0.1:$dns" -management "127.0.0.1:$cts" \
        -http01 "" -https01 "" -tlsalpn01 "" >"$dir/challtestsrv.log" 2>&1 & pids+=($!)
    wait_port "$cts" pebble-challtestsrv "$!" "$dir/challtestsrv.log"
    start_pebble "$1" "127.0.0.1:$dns" "$dir" "$acme" "$mgmt" "$http" "$tls"
    RESOLVER=127.0.0.1:$dns
    export CHALLTESTSRV=http://127.0.0.1:$cts
}

# start_pebble REJECT% DNS DIR ACME MGMT HTTP TLS: Pebble asking DNS; sets DIRECTORY.
start_pebble() {
    local dir=$3 acme=$4 mgmt=$5 http=$6 tls=$7
    cat >"$dir/pebble.json" <<JSON
{"pebble":{"listenAddress":"127.0.0.1:$acme","managementListenAddress":"127.0.0.1:$mgmt",
 "certificate":"$tmp/cert.pem","privateKey":"$tmp/key.pem","httpPort":$http,"tlsPort":$tls,
 "ocspResponderURL":"","externalAccountBindingRequired":false}}
JSON
    PEBBLE_VA_NOSLEEP=1 PEBBLE_AUTHZREUSE=0 PEBBLE_WFE_NONCEREJECT=$1 \
        pebble -config "$dir/pebble.json" -dnsserver "$2" >"$dir/pebble.log" 2>&1 & pids+=($!)
    wait_port "$acme" pebble "$!" "$dir/pebble.log"
    DIRECTORY=https://127.0.0.1:$acme/dir
}

# new_workdir TAG: fresh workdir in WD with settings.parallel, an account and the exec hook.
new_workdir() {
    WD=$tmp/wd-$1 && mkdir -p "$WD"
    printf '[settings]\nparallel = %s\n' "$PARALLEL" >"$WD/certpilot.toml"
    cp_run --dir "$WD" account add pebble --directory "$DIRECTORY" --email ops@example.test --agree-tos
    cp_run --dir "$WD" domain set example.test --solver exec --command "$hook"
}

# bench_issue TAG DAT CERTS NAMES: CERTS certificates c1.. of NAMES names each, obtained with
# `renew --all` (or `issue c1` for one); appends "secs rss_kb failures" to DAT.
bench_issue() {
    local tag=$1 dat=$tmp/$2.dat certs=$3 i j valid names cmd=(renew --all)
    new_workdir "$tag"
    for i in $(seq "$certs"); do
        names=()
        for j in $(seq "$4"); do names+=(--name "h$j.c$i.example.test"); done
        cp_run --dir "$WD" cert add "c$i" "${names[@]}"
    done
    ((certs > 1)) || cmd=(issue c1)
    timed "$bin" --dir "$WD" --resolver "$RESOLVER" --propagation recursive "${cmd[@]}"
    cp "$tmp/last.err" "$WD/progress.log" # per-step timings, for KEEP=1 inspection
    valid=$(count_valid "$WD")
    log "$tag: ${cmd[*]} ${certs}x$4 in $T s, peak RSS $RSS KB, $((certs - valid)) failure(s)"
    echo "$T $RSS $((certs - valid))" >>"$dat"
}

# bench_list: 1,000 stored certificates cloned from a real one (chain + metadata of scenario
# a), no CA needed; times `list` and `list --json` LIST_RUNS times each.
bench_list() {
    local wd=$tmp/wd-list src=$tmp/wd-renew1/certificates/c1 i valid
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
    valid=$(count_valid "$wd")
    ((valid == 1000)) || die "list --json sees $valid of 1000 synthetic certificates as valid"
    for i in $(seq "$LIST_RUNS"); do
        OUT=/dev/null timed "$bin" --dir "$wd" list && echo "$T $RSS" >>"$tmp/list.dat"
        OUT=/dev/null timed "$bin" --dir "$wd" list --json && echo "$T $RSS" >>"$tmp/list-json.dat"
        OUT=/dev/null timed true && echo "$T" >>"$tmp/overhead.dat"
    done
}

# summary LABEL DAT UNIT(s|ms) TIME_TARGET [RSS_TARGET_MB]: min/median time, worst peak RSS and
# failures (third column, when recorded) of DAT's runs, judged against the targets.
summary() {
    sort -g "$2" | awk -v l="$1" -v u="$3" -v tt="$4" -v rt="${5:-0}" '
        { v[NR] = $1; if ($2 > rss) rss = $2; if (NF > 2) { hasf = 1; f += $3 } }
        END { k = u == "ms" ? 1000 : 1; p = u == "ms" ? 1 : 2; rss /= 1024
            med = (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) * k
            printf "%-31s median %.*f %s (min %.*f %s, n=%d)", l, p, med, u, p, v[1] * k, u, NR
            if (hasf) printf ", %d failures", f
            printf ", peak RSS %.1f MB | target <= %s %s", rss, tt, u
            if (rt) printf ", <= %s MB", rt
            print (med <= tt && (!rt || rss <= rt) && !f) ? ": met" : ": MISSED" }'
}

# shellcheck source=scripts/bench-compare.sh
. "$repo/scripts/bench-compare.sh"

# ---- main ----
command -v cargo >/dev/null 2>&1 || { [[ -f $HOME/.cargo/env ]] && . "$HOME/.cargo/env"; }
[[ -x /usr/bin/time ]] || apt-get install -y time >&2 || die "/usr/bin/time missing and 'apt-get install time' failed"
for tool in pebble pebble-challtestsrv openssl python3 curl; do command -v "$tool" >/dev/null || die "$tool is not installed"; done
if [[ -z ${BENCH_BIN:-} ]]; then
    log "building (cargo build --release --bin certpilot)"
    (cd "$repo" && cargo build --release --bin certpilot) || die "release build failed"
fi
make_tls
load_before=$(cut -d ' ' -f 1-3 /proc/loadavg)

# ONLY=fifty runs just the issue-6 scenario (renew --all of 50 certificates x 3 names).
want() { [[ -z ${ONLY:-} || ${ONLY:-} == "$1" ]]; }
start_servers "$NONCEREJECT"
if want renew; then for r in $(seq "$RUNS"); do bench_issue "renew$r" renew 10 5; done; fi
if want big; then for r in $(seq "$RUNS"); do bench_issue "big$r" big 1 100; done; fi
if want fifty; then for r in $(seq "$RUNS"); do bench_issue "fifty$r" fifty 50 3; done; fi
if want list; then
    [[ -d $tmp/wd-renew1 ]] || bench_issue renew1 renew 10 5
    bench_list
fi
stop_servers
if want nonce50; then
    start_servers 50 # scenario d: half of all nonces rejected, to price badNonce retries
    SOFT=1 bench_issue nonce50 nonce50 10 5
    stop_servers
fi
if want compare || want latency; then
    start_knot
    # certbot's client retries a rejected nonce once, so Pebble's 5 % badNonce fails its
    # 100-name orders now and then: the comparison runs without (COMPARE_NONCEREJECT).
    start_servers "${COMPARE_NONCEREJECT:-0}" "$KNOT_ADDR:53"
    if want compare; then bench_compare; fi
    if want latency; then bench_latency; fi
    stop_servers
fi

echo
echo "== certpilot bench, $(git -C "$repo" describe --always --dirty 2>/dev/null || echo '?'): $(nproc) CPU(s), $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
echo "   load average before $load_before, after $(cut -d ' ' -f 1-3 /proc/loadavg) (other work on the machine skews times)"
echo "   settings.parallel = $PARALLEL, Pebble badNonce rate $NONCEREJECT% (VA_NOSLEEP=1, AUTHZREUSE=0)"
report() { [[ -s $2 ]] && summary "$@"; return 0; }
report "renew --all 10x5" "$tmp/renew.dat" s 5
report "issue 1x100 names" "$tmp/big.dat" s 2
report "renew --all 50x3" "$tmp/fifty.dat" s 15
report "list, 1,000 certs" "$tmp/list.dat" ms 50 30
report "list --json, 1,000 certs" "$tmp/list-json.dat" ms 50 30
report "renew --all 10x5, badNonce 50%" "$tmp/nonce50.dat" s 5
report_compare
report_latency
if [[ -s $tmp/breakdown.txt ]]; then
    echo
    echo "== where the time goes (hooks: from the hook's own log; certpilot phases: its progress lines)"
    cat "$tmp/breakdown.txt"
fi
[[ -s $tmp/overhead.dat ]] && awk 'NR == 1 || $1 < m { m = $1 } END { printf "(times include ~%.1f ms of /usr/bin/time fork+exec: its minimum for `true`)\n", m * 1000 }' "$tmp/overhead.dat"
failed=$(cat "$tmp"/*.dat | awk '{ f += $3 } END { print f + 0 }')
((failed == 0)) || die "$failed certificate(s) were not issued (see the FAILED lines above)"
