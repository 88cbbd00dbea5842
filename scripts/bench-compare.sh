# Sourced by scripts/bench.sh (uses its helpers and $tmp, $bin, $repo, pids): certpilot next
# to certbot 5 on the same Pebble and the same knot DNS tree, both publishing through the
# same knotc hook (scripts/bench-knot-hook.sh: certpilot's batch contract, certbot's manual
# hooks), and certpilot behind a proxy that adds 50 ms to every CA request.
#   compare: 1x1, 10x5 (forced renew of 10 certificates), 1x100, RUNS times each; ratios and where
#            the time goes (hooks from the hook's own log, certpilot's phases from its
#            progress lines).
#   latency: 1x100 and 10x5 through the delaying proxy (median of RUNS).
# CA_MAX_REQUESTS sets certpilot's settings.ca_max_requests (unset: certpilot's default).
# The knot tree uses 127.0.190.1:53 (needs root); certbot 5 is installed from PyPI into
# target/pydeps-certbot5 on first use.

knot_hook=$repo/scripts/bench-knot-hook.sh
certbot5=$repo/target/pydeps-certbot5
KNOT_ADDR=127.0.190.1

# knotd authoritative for example.test. on $KNOT_ADDR:53 (NS ns1.example.test. -> itself).
start_knot() {
    local dir=$tmp/knot i
    mkdir -p "$dir"
    cat >"$dir/example.test.zone" <<ZONE
\$ORIGIN example.test.
\$TTL 60
@ SOA ns1 hostmaster 1 60 60 600 60
@ NS ns1
ns1 A $KNOT_ADDR
ZONE
    cat >"$dir/knot.conf" <<CONF
server:
  rundir: "$dir"
  listen: $KNOT_ADDR@53
control:
  listen: "$dir/knot.sock"
database:
  storage: "$dir"
log:
  - target: stderr
    any: warning
template:
  - id: default
    storage: "$dir"
    file: "%s.zone"
    zonefile-sync: -1
    journal-content: changes
zone:
  - domain: example.test.
CONF
    knotd -c "$dir/knot.conf" 2>"$dir/knot.log" & pids+=($!)
    for i in $(seq 200); do
        knotc -s "$dir/knot.sock" zone-status example.test. >/dev/null 2>&1 && break
        kill -0 "${pids[-1]}" 2>/dev/null || { cat "$dir/knot.log" >&2; die "knotd exited during startup"; }
        ((i < 200)) || die "knotd did not load example.test. within 20 s"
        sleep 0.1
    done
    export BENCH_ZONE=example.test. BENCH_KNOT_SOCK=$dir/knot.sock
}

install_certbot5() {
    PYTHONPATH=$certbot5 python3 -c 'import certbot.main' >/dev/null 2>&1 && return 0
    log "installing certbot 5 into $certbot5 (PyPI)"
    python3 -m pip install --quiet --disable-pip-version-check --break-system-packages \
        --target "$certbot5" 'certbot>=5,<6' >&2 || die "pip could not install certbot 5"
}

# Commands are built into CMD (an array), so /usr/bin/time can run them.
# cb ARGS...: certbot 5 with its own config/work/log dirs, trusting the bench CA.
cb() {
    CMD=(env "PYTHONPATH=$certbot5" "REQUESTS_CA_BUNDLE=$tmp/ca.pem" python3 -c
        'import sys; from certbot.main import main; sys.exit(main())' "$@"
        --config-dir "$tmp/certbot/conf" --work-dir "$tmp/certbot/work"
        --logs-dir "$tmp/certbot/logs" --non-interactive --server "$DIRECTORY")
}

# cb_issue NAME DOMAINS...: one certificate through the manual hooks (knotc).
cb_issue() {
    local name=$1 d args=()
    shift
    for d in "$@"; do args+=(-d "$d"); done
    cb certonly --cert-name "$name" --key-type ecdsa --manual --preferred-challenges dns \
        --manual-auth-hook "$knot_hook certbot-auth" \
        --manual-cleanup-hook "$knot_hook certbot-cleanup" "${args[@]}"
}

# cp ARGS...: certpilot on $WD, asking the knot tree.
cp_cmd() { CMD=("$bin" --dir "$WD" --resolver "$KNOT_ADDR" "$@"); }

# Run CMD untimed; stop on failure.
run_cmd() {
    export BENCH_HOOK_TIMES=$tmp/hooks-untimed.log
    "${CMD[@]}" >"$tmp/last.out" 2>"$tmp/last.err" || fail_cmd $? "${CMD[@]}"
}

# names N PREFIX: h1.PREFIX.example.test .. hN.PREFIX.example.test
names() { local j; for j in $(seq "$1"); do echo "h$j.$2.example.test"; done; }

# cp_workdir TAG DIRECTORY: a certpilot workdir with an account there and the batch hook.
# max_cache_wait = 0: the forced renewals follow the first issuance within the records' TTL,
# so the cache horizon would wait out a resolver cache (up to 60 s) that Pebble, asking knot
# directly, does not have; certbot does not wait either.
cp_workdir() {
    WD=$tmp/wd-$1 && mkdir -p "$WD"
    printf '[settings]\nparallel = %s\nmax_cache_wait = 0\n' "$PARALLEL" >"$WD/certpilot.toml"
    if [[ -n ${CA_MAX_REQUESTS:-} ]]; then
        printf 'ca_max_requests = %s\n' "$CA_MAX_REQUESTS" >>"$WD/certpilot.toml"
    fi
    cp_run --dir "$WD" account add pebble --directory "$2" --email ops@example.test --agree-tos
    cp_run --dir "$WD" domain set example.test --solver exec --command "$knot_hook" --batch
}

# cp_cert NAME COUNT: certificate NAME of COUNT names in $WD.
cp_cert() {
    local n args=()
    for n in $(names "$2" "$1"); do args+=(--name "$n"); done
    cp_run --dir "$WD" cert add "$1" "${args[@]}"
}

# breakdown TOOL: where the last timed run's time went, from the hook log and (certpilot)
# the progress lines: "[  1.23s] cert: step" per step, summed over certificates.
breakdown() {
    local hooks=$tmp/hooks.log
    awk -v tool="$1" -v wall="$T" '
        FILENAME ~ /hooks/ {
            kind = ($1 ~ /^(present|certbot-auth)/) ? "publish" : "cleanup"
            n[kind]++; r[kind] += $2; s[kind] += $4 - $3; next }
        /^\[ *[0-9.]+s\] [^:]+: / {
            t = $0; sub(/^\[ */, "", t); sub(/s\].*$/, "", t); t += 0
            c = $0; sub(/^\[[^]]*\] /, "", c); step = c; sub(/: .*$/, "", c); sub(/^[^:]*: /, "", step)
            last[c] = t
            if (step ~ /^account ready/) ph[c, 0] = t
            else if (step ~ /^order created/) ph[c, 1] = t
            else if (step ~ /published$/) ph[c, 2] = t
            else if (step ~ /^records visible/) ph[c, 3] = t
            else if (step ~ /^validated/) ph[c, 4] = t
            else if (step ~ /^certificate issued/) ph[c, 5] = t
            else if (step ~ /^stored/) ph[c, 6] = t
            certs[c] = 1 }
        END {
            printf "    %-9s wall %.2f s | hooks: publish %d call(s) for %d record(s) %.2f s, cleanup %d call(s) %.2f s\n",
                tool, wall, n["publish"], r["publish"], s["publish"], n["cleanup"], s["cleanup"]
            if (tool != "certpilot") exit
            for (c in certs) { k++; if (last[c] > maxl) maxl = last[c]
                ca1 += ph[c, 1] - ph[c, 0]; pub += ph[c, 2] - ph[c, 1]; dns += ph[c, 3] - ph[c, 2]
                ca2 += ph[c, 4] - ph[c, 3]; fin += ph[c, 5] - ph[c, 4]; sto += ph[c, 6] - ph[c, 5] }
            printf "              phases summed over %d cert(s):", k
            # One certificate: what precedes its first step is start-up, what follows its last
            # the rest of the cleanup, which runs alongside finalize, download and store (with
            # several, later certificates also wait for a parallel slot).
            if (k == 1) printf " start-up (process, keyring, directory, account) + cleanup after the last step %.2f s,", wall - maxl
            printf " order+authorizations %.2f s, publishing %.2f s, DNS checks %.2f s,", ca1, pub, dns
            printf " answer+validation %.2f s, keyring+finalize+download (cleanup alongside) %.2f s, store %.2f s\n", ca2, fin, sto }
    ' "$hooks" "$tmp/last.err" >>"$tmp/breakdown.txt"
    [[ $1 == certpilot ]] && key_breakdown
    return 0
}

# key_breakdown: from the run's log lines (run.log), summed over certificates: waiting for
# the key generated during validation, storing it in the keyring, finalize + download.
key_breakdown() {
    awk '
        function secs(ts) { split(substr(ts, 12, 15), p, ":"); return p[1] * 3600 + p[2] * 60 + p[3] }
        { c = $0; if (!sub(/.* cert="?/, "", c)) next; sub(/["[:space:]].*/, "", c); t = secs($1) }
        /step=validated/ { v[c] = t } /key generated/ { g[c] = t } /key stored/ { s[c] = t }
        /step=certificate issued/ { i[c] = t }
        END { for (c in s) { kg += g[c] - v[c]; kr += s[c] - g[c]; fd += i[c] - s[c] }
            printf "              of which: waiting for key generation %.3f s, keyring %.3f s, finalize+download %.2f s\n", kg, kr, fd }
    ' "$tmp/run.log" >>"$tmp/breakdown.txt"
}

# run_timed TOOL DAT: CMD timed, with a fresh hook log; "secs rss" to DAT.
run_timed() {
    local tool=$1 dat=$2
    local lines=0
    : >"$tmp/hooks.log"
    export BENCH_HOOK_TIMES=$tmp/hooks.log
    [[ -f $WD/state/certpilot.log ]] && lines=$(wc -l <"$WD/state/certpilot.log")
    timed "${CMD[@]}"
    tail -n +"$((lines + 1))" "$WD/state/certpilot.log" >"$tmp/run.log" 2>/dev/null || : >"$tmp/run.log"
    echo "$T $RSS" >>"$tmp/$dat.dat"
    echo "  $dat:" >>"$tmp/breakdown.txt"
    breakdown "$tool"
}

bench_compare() {
    local r i
    install_certbot5
    mkdir -p "$tmp/certbot"
    cb register --agree-tos --register-unsafely-without-email && run_cmd
    cp_workdir cmp "$DIRECTORY"
    # 10x5 first (renew covers every certificate): ten certificates issued untimed, then all
    # ten renewed (forced) in one run.
    for i in $(seq 10); do cp_cert "r$i" 5; done
    cp_cmd renew --all && run_cmd
    for i in $(seq 10); do
        # shellcheck disable=SC2046 # one argument per name
        cb_issue "cbr$i" $(names 5 "cbr$i") && run_cmd
    done
    for r in $(seq "$RUNS"); do
        cp_cmd renew --all --force && run_timed certpilot cp-10x5
        cb renew --force-renewal && run_timed certbot cb-10x5
    done
    for r in $(seq "$RUNS"); do
        cp_cert "one$r" 1
        cp_cmd issue "one$r" && run_timed certpilot cp-1x1
        cb_issue "cbone$r" "h1.cbone$r.example.test" && run_timed certbot cb-1x1
    done
    for r in $(seq "$RUNS"); do
        cp_cert "big$r" 100
        cp_cmd issue "big$r" && run_timed certpilot cp-1x100
        # shellcheck disable=SC2046
        cb_issue "cbbig$r" $(names 100 "cbbig$r") && run_timed certbot cb-1x100
    done
}

# The delaying proxy in front of Pebble; PROXY_DIRECTORY is its directory URL.
start_delay_proxy() {
    local proxy=$repo/target/release/examples/ca_delay_proxy
    if [[ -n ${BENCH_BIN:-} ]]; then # prebuilt: the proxy example of the same profile
        proxy=$(dirname "$BENCH_BIN")/examples/ca_delay_proxy
    else
        log "building the delaying CA proxy (cargo build --release --example ca_delay_proxy)"
        (cd "$repo" && cargo build --release --example ca_delay_proxy) >&2 || die "proxy build failed"
    fi
    mkfifo "$tmp/proxy.in"
    exec 7<>"$tmp/proxy.in"
    "$proxy" "$DIRECTORY" "$tmp/ca.pem" "$1" \
        <"$tmp/proxy.in" >"$tmp/proxy.out" 2>"$tmp/proxy.err" & pids+=($!)
    local i
    for i in $(seq 100); do
        PROXY_DIRECTORY=$(sed -n 's/^directory=//p' "$tmp/proxy.out")
        [[ -n $PROXY_DIRECTORY ]] && return 0
        sleep 0.1
    done
    die "the delaying proxy did not start: $(cat "$tmp/proxy.err")"
}

# The most requests the proxy handled at once since the last call.
proxy_peak() {
    local before
    before=$(wc -l <"$tmp/proxy.out")
    echo >&7
    for _ in $(seq 100); do (($(wc -l <"$tmp/proxy.out") > before)) && break; sleep 0.05; done
    tail -n 1 "$tmp/proxy.out"
}

bench_latency() {
    local r i
    start_delay_proxy 50
    cp_workdir lat "$PROXY_DIRECTORY"
    for r in $(seq "$RUNS"); do
        cp_cert "lbig$r" 100
        proxy_peak >/dev/null
        cp_cmd issue "lbig$r" && run_timed certpilot lat-1x100
        echo "    CA proxy: $(proxy_peak)" >>"$tmp/breakdown.txt"
    done
    for r in $(seq "$RUNS"); do
        for i in $(seq 10); do cp_cert "l$r-$i" 5; done
        cp_cmd renew --all && run_timed certpilot lat-10x5
        echo "    CA proxy: $(proxy_peak)" >>"$tmp/breakdown.txt"
    done
}

# ratio LABEL CERTPILOT_DAT CERTBOT_DAT GOAL: medians and their ratio against the goal.
ratio() {
    local a b
    a=$(median "$tmp/$2.dat") b=$(median "$tmp/$3.dat")
    awk -v l="$1" -v a="$a" -v b="$b" -v g="$4" 'BEGIN {
        printf "%-24s certpilot %.2f s, certbot %.2f s, ratio %.3f | goal <= %s: %s\n",
            l, a, b, a / b, g, (a / b <= g) ? "met" : "MISSED" }'
}

median() { sort -g "$1" | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

report_compare() {
    [[ -s $tmp/cp-1x1.dat ]] || return 0
    echo
    echo "== certpilot (batch knotc hook) vs certbot 5 (manual hooks), same Pebble (badNonce ${COMPARE_NONCEREJECT:-0} %) and knot tree, medians of $RUNS"
    ratio "1 x 1" cp-1x1 cb-1x1 0.10
    ratio "10 x 5 (renew)" cp-10x5 cb-10x5 0.08
    ratio "1 x 100" cp-1x100 cb-1x100 0.15
}

report_latency() {
    [[ -s $tmp/lat-1x100.dat ]] || return 0
    echo
    echo "== certpilot with 50 ms added to every CA request (median of $RUNS)"
    summary "1 x 100, 50 ms CA" "$tmp/lat-1x100.dat" s 2.5 40
    summary "10 x 5 renew --all, 50 ms CA" "$tmp/lat-10x5.dat" s 3
}
