#!/usr/bin/env bash
# The test command: installs what the tests need, builds them, then runs the whole suite
# (`cargo test`, every target) in a prepared environment:
#   - a private D-Bus session bus (dbus-run-session, with no activatable services, so nothing
#     can start a daemon against the real user's files) running a fresh, unlocked
#     gnome-keyring whose HOME, XDG_DATA_HOME and XDG_RUNTIME_DIR are temporary directories;
#   - a fresh kernel session keyring (keyctl session) for the keyutils store;
#   - CERTPILOT_TEST_ENV=1, so tests know the environment is prepared.
# Arguments go to `cargo test`, e.g.  scripts/test.sh keyring   or   scripts/test.sh -- --nocapture
# The exit status is cargo test's. With CI=true, tests whose environment is missing fail
# instead of skipping.
set -euo pipefail

stage=${CERTPILOT_TEST_STAGE:-outer}
log() { echo "test.sh: $*" >&2; }

if [[ $stage == outer ]]; then
    self="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
    cd "$(dirname "$self")/.."
    bash scripts/test-deps.sh
    if ! command -v cargo >/dev/null 2>&1 && [[ -f $HOME/.cargo/env ]]; then
        # shellcheck source=/dev/null
        . "$HOME/.cargo/env"
    fi

    started=$SECONDS
    log "building the tests (cargo test --no-run)"
    status=0
    cargo test --no-run "$@" || status=$?
    if ((status != 0)); then
        log "build failed (cargo test --no-run exit $status)"
        exit "$status"
    fi
    log "built in $((SECONDS - started)) s"

    work=$(mktemp -d "${TMPDIR:-/tmp}/certpilot-test.XXXXXX")
    trap 'rm -rf "$work"' EXIT
    mkdir -m 700 "$work/home" "$work/runtime" "$work/bus"
    # A session bus like the stock one, minus <servicedir>: no D-Bus activation, so a keyring
    # daemon that dies cannot be replaced behind our back by one using the real HOME.
    cat >"$work/bus.conf" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <keep_umask/>
  <listen>unix:dir=$work/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
CONF

    inner=(bash "$self" "$@")
    if keyctl session - true >/dev/null 2>&1; then
        inner=(keyctl session - "${inner[@]}")
    else
        log "WARNING: keyctl cannot join a new session keyring here; keyutils tests use the current one"
    fi
    CERTPILOT_TEST_STAGE=inner CERTPILOT_TEST_WORK=$work \
        dbus-run-session --config-file="$work/bus.conf" -- "${inner[@]}" || status=$?
    exit "$status"
fi

# Inner stage: inside the private bus and the new session keyring.
work=${CERTPILOT_TEST_WORK:?}
keyring_pid=""
cleanup() {
    # The daemon also exits when the bus goes away; stopping it here keeps the order tidy.
    if [[ -n $keyring_pid ]]; then kill "$keyring_pid" 2>/dev/null || true; fi
}
trap cleanup EXIT

bus_call() {
    dbus-send --session --print-reply=literal "$@" 2>/dev/null
}

start_keyring() {
    # The password unlocks (and on first use creates) the "login" collection, which
    # gnome-keyring makes the default alias: keyring entries are created there.
    printf '%s' "certpilot-test-$$" |
        env HOME="$work/home" XDG_DATA_HOME="$work/home/.local/share" \
            XDG_CONFIG_HOME="$work/home/.config" XDG_RUNTIME_DIR="$work/runtime" \
            gnome-keyring-daemon --unlock --components=secrets --daemonize >/dev/null || return 1
    local deadline=$((SECONDS + 10))
    # NameHasOwner asks the bus, never the (absent) service, so it cannot trigger activation.
    until bus_call --dest=org.freedesktop.DBus /org/freedesktop/DBus \
        org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets | grep -q true; do
        if ((SECONDS > deadline)); then return 1; fi
        sleep 0.1
    done
    keyring_pid=$(bus_call --dest=org.freedesktop.DBus /org/freedesktop/DBus \
        org.freedesktop.DBus.GetConnectionUnixProcessID string:org.freedesktop.secrets |
        awk '{print $NF}')
    local alias locked
    alias=$(bus_call --dest=org.freedesktop.secrets /org/freedesktop/secrets \
        org.freedesktop.Secret.Service.ReadAlias string:default | tr -d ' ')
    if [[ -z $alias || $alias == / ]]; then
        log "gnome-keyring has no default collection"
        return 1
    fi
    locked=$(bus_call --dest=org.freedesktop.secrets "$alias" org.freedesktop.DBus.Properties.Get \
        string:org.freedesktop.Secret.Collection string:Locked)
    if [[ $locked != *false* ]]; then
        log "gnome-keyring's default collection $alias is locked"
        return 1
    fi
    log "gnome-keyring (pid $keyring_pid) serves an unlocked default collection $alias"
}

if ! start_keyring; then
    log "WARNING: no usable Secret Service; its tests skip (or fail with CI=true)"
fi
log "keyutils session keyring: $(keyctl show @s 2>/dev/null | sed -n 2p | awk '{print $1, $NF}')"
export CERTPILOT_TEST_ENV=1

# Run every test binary even after one fails, so the summary covers the whole suite.
fail_fast=(--no-fail-fast)
for arg in "$@"; do
    [[ $arg == -- ]] && break
    [[ $arg == --no-fail-fast ]] && fail_fast=()
done

started=$SECONDS
output="$work/cargo-test.out"
status=0
cargo test "${fail_fast[@]}" "$@" 2>&1 | tee "$output" || status=${PIPESTATUS[0]}

# One line over every test binary, shaped like cargo's own per-binary summaries.
awk -v secs=$((SECONDS - started)) -v status="$status" '
    /^test result: / {
        binaries++
        for (i = 1; i <= NF; i++) {
            n = $i + 0
            if ($(i + 1) ~ /^passed/) passed += n
            if ($(i + 1) ~ /^failed/) failed += n
            if ($(i + 1) ~ /^ignored/) ignored += n
            if ($(i + 1) ~ /^filtered/) filtered += n
        }
    }
    END {
        verdict = (status == 0 && failed == 0) ? "ok" : "FAILED"
        printf "\ntest result (all %d test binaries): %s. %d passed; %d failed; %d ignored; %d filtered out; finished in %d s (cargo test exit %d)\n",
            binaries, verdict, passed, failed, ignored, filtered, secs, status
    }' "$output"
exit "$status"
