#!/bin/sh
# DNS hook for scripts/bench.sh: writes TXT records into knotd's zone $BENCH_ZONE through
# knotc (control socket $BENCH_KNOT_SOCK), one zone transaction per call, and appends
# "MODE RECORDS START END" (epoch seconds) to $BENCH_HOOK_TIMES.
#   certpilot, single record:  hook present|cleanup FQDN. VALUE
#   certpilot, batch:          hook present-batch|cleanup-batch   (FQDN. VALUE lines on stdin)
#   certbot manual hooks:      hook certbot-auth|certbot-cleanup  (CERTBOT_DOMAIN, CERTBOT_VALIDATION)
# knot allows one open transaction per zone, so calls are serialized with flock, as most DNS
# back ends serialize updates.
set -eu
start=$(date +%s.%N)
mode=$1
case $mode in
present | cleanup) records="$2 $3" ;;
present-batch | cleanup-batch) records=$(cat) ;;
certbot-auth | certbot-cleanup) records="_acme-challenge.${CERTBOT_DOMAIN#\*.}. $CERTBOT_VALIDATION" ;;
*) echo "unknown mode $mode" >&2; exit 2 ;;
esac
case $mode in present* | certbot-auth) op=zone-set ttl=60 ;; *) op=zone-unset ttl= ;; esac
count=$(printf '%s\n' "$records" | grep -c .)
out=$(
    {
        echo "zone-begin $BENCH_ZONE"
        printf '%s\n' "$records" | while read -r fqdn value; do
            [ -n "$fqdn" ] && echo "$op $BENCH_ZONE $fqdn $ttl TXT \"$value\""
        done
        echo "zone-commit $BENCH_ZONE"
    } | flock "$BENCH_KNOT_SOCK.lock" knotc -s "$BENCH_KNOT_SOCK" 2>&1
)
case $out in *error*)
    echo "$out" >&2
    knotc -s "$BENCH_KNOT_SOCK" zone-abort "$BENCH_ZONE" >/dev/null 2>&1 || true
    exit 1
    ;;
esac
echo "$mode $count $start $(date +%s.%N)" >>"$BENCH_HOOK_TIMES"
