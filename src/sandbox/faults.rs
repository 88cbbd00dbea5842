//! Faults on demand, on the sandbox's real servers: a secondary that lags or serves a stale
//! value (the hook updates `ns2` late or never), a server that stops answering (SIGSTOP),
//! and a broken acme-dns CNAME. Each is switched on and off from the command line or the
//! dashboard's sandbox menu; their state lives in files under `faults/`.

use std::path::Path;
use std::process::Command;

use super::procs;
use super::world::{Layout, ACME_ZONE, TXT_TTL, ZONE};
use super::SandboxError;

/// One fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// `ns2` gets every record this many seconds late.
    Lag(u64),
    /// `ns2` stops answering (it is paused).
    Silent,
    /// `ns2` keeps serving the values it had (records reach `ns1` only).
    Stale,
    /// `_acme-challenge.api.sandbox.test` points at the wrong acme-dns name.
    BrokenCname,
    /// The CA rejects this percentage of good nonces (Pebble restarts with it, and the
    /// account is registered again).
    NonceReject(u8),
}

impl Fault {
    /// Every fault, for menus (lag with its default of 8 s).
    pub const ALL: [Fault; 5] = [
        Fault::Lag(8),
        Fault::Silent,
        Fault::Stale,
        Fault::BrokenCname,
        Fault::NonceReject(30),
    ];

    /// Its name in menus and flags.
    #[must_use]
    pub fn label(self) -> String {
        match self {
            Fault::Lag(secs) => format!("ns2 lags {secs} s behind"),
            Fault::Silent => "ns2 stops answering".into(),
            Fault::Stale => "ns2 serves a stale value".into(),
            Fault::BrokenCname => "break the acme-dns CNAME of api.sandbox.test".into(),
            Fault::NonceReject(pct) => {
                format!("the CA rejects {pct} % of nonces (restarts Pebble)")
            }
        }
    }

    fn file(self) -> &'static str {
        match self {
            Fault::Lag(_) => "lag",
            Fault::Silent => "silent",
            Fault::Stale => "stale",
            Fault::BrokenCname => "broken-cname",
            Fault::NonceReject(_) => "nonce-reject",
        }
    }
}

/// The faults switched on.
#[must_use]
pub fn active(layout: &Layout) -> Vec<Fault> {
    let dir = layout.faults();
    let on = |f: Fault| dir.join(f.file()).exists();
    let number = |f: Fault| {
        std::fs::read_to_string(dir.join(f.file()))
            .ok()
            .and_then(|t| t.trim().parse::<u64>().ok())
            .unwrap_or(0)
    };
    let mut faults = Vec::new();
    if on(Fault::Lag(0)) {
        faults.push(Fault::Lag(number(Fault::Lag(0))));
    }
    faults.extend(
        [Fault::Silent, Fault::Stale, Fault::BrokenCname]
            .into_iter()
            .filter(|f| on(*f)),
    );
    if on(Fault::NonceReject(0)) {
        let pct = u8::try_from(number(Fault::NonceReject(0)).min(100)).unwrap_or(100);
        faults.push(Fault::NonceReject(pct));
    }
    faults
}

/// Switch `fault` on (`true`) or off.
///
/// # Errors
/// A file, a signal or a knotc call failed.
pub fn switch(layout: &Layout, fault: Fault, on: bool) -> Result<(), SandboxError> {
    let dir = layout.faults();
    std::fs::create_dir_all(&dir).map_err(|e| SandboxError::io(&dir, &e))?;
    let marker = dir.join(fault.file());
    if let Fault::NonceReject(pct) = fault {
        return restart_ca(layout, if on { pct } else { 0 });
    }
    match fault {
        Fault::Silent => signal(layout.ns_pids.get(1).copied(), on)?,
        Fault::BrokenCname => point_cname(layout, on)?,
        Fault::Lag(_) | Fault::Stale | Fault::NonceReject(_) => {}
    }
    if on {
        let text = match fault {
            Fault::Lag(secs) => secs.to_string(),
            _ => String::new(),
        };
        std::fs::write(&marker, text).map_err(|e| SandboxError::io(&marker, &e))
    } else {
        match std::fs::remove_file(&marker) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(SandboxError::io(&marker, &e))
            }
            _ => Ok(()),
        }
    }
}

/// How long the sandbox may take to restart Pebble and register the account again.
const RESTART_WITHIN: std::time::Duration = std::time::Duration::from_secs(60);

/// Record the nonce rejection Pebble runs with (0: the marker goes).
///
/// # Errors
/// The marker cannot be written.
pub fn mark_nonce_reject(layout: &Layout, pct: u8) -> Result<(), SandboxError> {
    let dir = layout.faults();
    std::fs::create_dir_all(&dir).map_err(|e| SandboxError::io(&dir, &e))?;
    let marker = dir.join(Fault::NonceReject(0).file());
    if pct == 0 {
        return match std::fs::remove_file(&marker) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(SandboxError::io(&marker, &e))
            }
            _ => Ok(()),
        };
    }
    crate::fsutil::write_atomic(
        &marker,
        pct.to_string().as_bytes(),
        crate::fsutil::Mode::Private,
    )
    .map_err(|e| SandboxError::io(&marker, &e))
}

/// The nonce rejection asked for (0 without a marker).
#[must_use]
pub fn wanted_nonce_reject(layout: &Layout) -> u8 {
    active(layout)
        .into_iter()
        .find_map(|f| match f {
            Fault::NonceReject(pct) => Some(pct),
            _ => None,
        })
        .unwrap_or(0)
}

/// Where the sandbox process reports a finished restart: `ok` or the reason it failed.
#[must_use]
pub fn restart_report(layout: &Layout) -> std::path::PathBuf {
    layout.faults().join("restart.done")
}

/// Ask the sandbox process (Pebble's owner) to restart Pebble with `pct` % nonce rejection
/// and wait for its report. Only the owner may restart its child; the dashboard is
/// another process.
fn restart_ca(layout: &Layout, pct: u8) -> Result<(), SandboxError> {
    use rustix::process::{kill_process, Pid, Signal};
    let report = restart_report(layout);
    let _ = std::fs::remove_file(&report);
    mark_nonce_reject(layout, pct)?;
    let owner = i32::try_from(layout.owner)
        .ok()
        .and_then(Pid::from_raw)
        .ok_or_else(|| SandboxError::Start("the sandbox process is unknown".into()))?;
    kill_process(owner, Signal::USR1)
        .map_err(|e| SandboxError::Start(format!("the sandbox process {owner:?}: {e}")))?;
    let deadline = std::time::Instant::now() + RESTART_WITHIN;
    while std::time::Instant::now() < deadline {
        if let Ok(text) = std::fs::read_to_string(&report) {
            let text = text.trim();
            return if text == "ok" {
                Ok(())
            } else {
                Err(SandboxError::Start(format!("restarting Pebble: {text}")))
            };
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    Err(SandboxError::Start(format!(
        "the sandbox did not restart Pebble within {} s",
        RESTART_WITHIN.as_secs()
    )))
}

/// Pause or resume ns2.
fn signal(pid: Option<u32>, stop: bool) -> Result<(), SandboxError> {
    let pid = pid.ok_or_else(|| SandboxError::Start("ns2 is not running".into()))?;
    let sig = if stop { "-STOP" } else { "-CONT" };
    let status = Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .map_err(|e| SandboxError::Start(format!("kill {sig} {pid}: {e}")))?;
    status
        .success()
        .then_some(())
        .ok_or_else(|| SandboxError::Start(format!("kill {sig} {pid} failed")))
}

/// Point `_acme-challenge.api` at a wrong name (`broken`) or back at its registration.
fn point_cname(layout: &Layout, broken: bool) -> Result<(), SandboxError> {
    let config = crate::config::load(&layout.work().join("certpilot.toml"))
        .map_err(|e| SandboxError::Start(e.to_string()))?;
    let right = config
        .acme_dns
        .get(&format!("api.{ZONE}"))
        .map(|r| r.fulldomain.clone())
        .ok_or_else(|| SandboxError::Start(format!("api.{ZONE} has no acme-dns registration")))?;
    let target = if broken {
        format!("broken.{ACME_ZONE}")
    } else {
        right
    };
    let owner = format!("_acme-challenge.api.{ZONE}.");
    for ns in [1, 2] {
        knotc(&layout.knot_conf(ns), &["zone-begin", &format!("{ZONE}.")])?;
        // Absent the first time: unset may fail, set makes it right.
        let _ = knotc(
            &layout.knot_conf(ns),
            &["zone-unset", &format!("{ZONE}."), &owner, "CNAME"],
        );
        knotc(
            &layout.knot_conf(ns),
            &[
                "zone-set",
                &format!("{ZONE}."),
                &owner,
                &TXT_TTL.to_string(),
                "CNAME",
                &format!("{target}."),
            ],
        )?;
        knotc(&layout.knot_conf(ns), &["zone-commit", &format!("{ZONE}.")])?;
    }
    Ok(())
}

/// One knotc command against the server configured in `conf`.
///
/// # Errors
/// knotc is missing or the server refused.
pub fn knotc(conf: &Path, args: &[&str]) -> Result<(), SandboxError> {
    let program = procs::tool("knotc").ok_or_else(|| SandboxError::Missing("knotc".into()))?;
    let out = Command::new(program)
        .arg("-c")
        .arg(conf)
        .args(args)
        .output()
        .map_err(|e| SandboxError::Start(format!("knotc: {e}")))?;
    if out.status.success() {
        return Ok(());
    }
    Err(SandboxError::Start(format!(
        "knotc {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr).trim()
    )))
}

/// Stop the late updates a lagging ns2 still has pending (each runs in a session of its own,
/// listed in `faults/pending`).
pub fn stop_pending(layout: &Layout) {
    let pending = layout.faults().join("pending");
    let Ok(text) = std::fs::read_to_string(&pending) else {
        return;
    };
    for pid in text.lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
        if let Some(pid) = rustix::process::Pid::from_raw(pid) {
            // Already finished is fine: nothing to stop.
            let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
        }
    }
    let _ = std::fs::remove_file(pending);
}

/// The exec hook of the sandbox: writes TXT records through knotc to ns1 and (unless a fault
/// says otherwise) ns2, like a provider's API.
#[must_use]
pub fn hook_script(layout: &Layout) -> String {
    format!(
        r#"#!/bin/sh
# The sandbox's DNS hook (lego's exec contract): present|cleanup FQDN VALUE, written through
# knotc to ns1 and ns2. Faults (files in {faults}): lag (ns2 late), stale (ns2 never).
set -eu
action=$1 fqdn=$2 value=$3
update() {{
    conf=$1
    (
        flock 9
        knotc -c "$conf" zone-begin {zone}. >/dev/null
        if [ "$action" = present ]; then
            ok=0; knotc -c "$conf" zone-set {zone}. "$fqdn" {ttl} TXT "$value" >/dev/null || ok=1
        else
            ok=0; knotc -c "$conf" zone-unset {zone}. "$fqdn" TXT "$value" >/dev/null || ok=1
        fi
        if [ $ok = 0 ]; then knotc -c "$conf" zone-commit {zone}. >/dev/null
        else knotc -c "$conf" zone-abort {zone}. >/dev/null; [ "$action" = cleanup ]; fi
    ) 9>"$conf.lock"
}}
if [ "$action" = late ]; then
    # The lagging secondary's late update, in a session of its own (the sandbox stops it).
    sleep "$4"; action=$5; update '{ns2}'; exit 0
fi
update '{ns1}'
[ -e '{faults}/stale' ] && exit 0
lag=$(cat '{faults}/lag' 2>/dev/null || echo 0)
if [ "${{lag:-0}}" -gt 0 ]; then
    setsid "$0" late "$fqdn" "$value" "$lag" "$action" </dev/null >/dev/null 2>&1 &
    echo $! >>'{faults}/pending'
else
    update '{ns2}'
fi
"#,
        faults = layout.faults().display(),
        zone = ZONE,
        ttl = TXT_TTL,
        ns1 = layout.knot_conf(1).display(),
        ns2 = layout.knot_conf(2).display(),
    )
}
