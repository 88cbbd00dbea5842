//! `certpilot timer install|remove [--user|--system] [--print] [--every HOURS]`: a systemd
//! service + timer pair that runs `renew --all`.
//!
//! The units hold paths and flags only (no secret: keys and credentials stay in the keyring,
//! which the service opens as the user it runs as).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::{Env, Failure, Outcome};
use crate::cli::{GlobalArgs, TimerArgs, TimerCommand};
use crate::fsutil::{self, Mode};

/// The service unit's file name.
const SERVICE: &str = "certpilot-renew.service";
/// The timer unit's file name.
const TIMER: &str = "certpilot-renew.timer";
/// The longest interval accepted: a week (certificates may soon live 45 days).
const MAX_HOURS: u32 = 168;

pub(super) fn run(env: &Env, cmd: &TimerCommand) -> Outcome {
    match cmd {
        TimerCommand::Install(args) => install(env, args),
        TimerCommand::Remove(args) => remove(args),
    }
}

/// Where the units go and how systemctl is called for them.
struct Scope {
    system: bool,
    dir: PathBuf,
}

impl Scope {
    fn of(args: &TimerArgs) -> Result<Self, Failure> {
        if args.system {
            return Ok(Self {
                system: true,
                dir: PathBuf::from("/etc/systemd/system"),
            });
        }
        let config = std::env::var_os("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
            .ok_or_else(|| {
                Failure::Usage("neither XDG_CONFIG_HOME nor HOME is set; pass --system".into())
            })?;
        Ok(Self {
            system: false,
            dir: config.join("systemd/user"),
        })
    }

    /// `systemctl` or `systemctl --user`, followed by `args`, as the operator would type it.
    fn command_line(&self, args: &[&str]) -> String {
        let mut line = vec!["systemctl"];
        if !self.system {
            line.push("--user");
        }
        line.extend_from_slice(args);
        line.join(" ")
    }

    fn enable_hint(&self) -> String {
        format!(
            "{} && {}",
            self.command_line(&["daemon-reload"]),
            self.command_line(&["enable", "--now", TIMER])
        )
    }
}

fn install(env: &Env, args: &TimerArgs) -> Outcome {
    if args.every == 0 || args.every > MAX_HOURS {
        return Err(Failure::Usage(format!(
            "--every must be between 1 and {MAX_HOURS} hours"
        )));
    }
    let scope = Scope::of(args)?;
    let exe = std::env::current_exe()
        .map_err(|e| Failure::Failed(format!("cannot find the certpilot binary: {e}")))?;
    let exec = exec_start(&exe, &env.global);
    let environment: Vec<String> = std::env::var("CERTPILOT_KEYRING_SERVICE")
        .ok()
        .map(|s| format!("CERTPILOT_KEYRING_SERVICE={s}"))
        .into_iter()
        .collect();
    let service = render_service(&exec, &environment, scope.system);
    let timer = render_timer(args.every);
    let (service_path, timer_path) = (scope.dir.join(SERVICE), scope.dir.join(TIMER));
    if args.print {
        out!(
            "# {}\n{service}\n# {}\n{timer}",
            service_path.display(),
            timer_path.display()
        );
        return Ok(());
    }
    std::fs::create_dir_all(&scope.dir)
        .map_err(|e| Failure::Failed(format!("{}: {e}", scope.dir.display())))?;
    for (path, text) in [(&service_path, &service), (&timer_path, &timer)] {
        fsutil::write_atomic(path, text.as_bytes(), Mode::Public)
            .map_err(|e| Failure::Failed(format!("{}: {e}", path.display())))?;
    }
    let wrote = format!(
        "wrote {} and {}",
        service_path.display(),
        timer_path.display()
    );
    if args.no_enable {
        outln!("{wrote}; enable with: {}", scope.enable_hint());
        return Ok(());
    }
    enable(&scope, &wrote, args.every)
}

/// Reload systemd and start the timer; on failure the message says what to run by hand.
fn enable(scope: &Scope, wrote: &str, every: u32) -> Outcome {
    let Some(systemctl) = find_systemctl() else {
        return Err(Failure::Failed(format!(
            "{wrote}, but systemctl is not on PATH; to enable the timer run: {}",
            scope.enable_hint()
        )));
    };
    for step in [&["daemon-reload"][..], &["enable", "--now", TIMER][..]] {
        systemctl_run(&systemctl, scope, step).map_err(|why| {
            Failure::Failed(format!(
                "{wrote}, but {why}; once that is fixed run: {}",
                scope.enable_hint()
            ))
        })?;
    }
    outln!(
        "{wrote}; {TIMER} enabled (renew --all every {every} h); see {}",
        scope.command_line(&["list-timers", TIMER])
    );
    Ok(())
}

fn remove(args: &TimerArgs) -> Outcome {
    let scope = Scope::of(args)?;
    let paths = [scope.dir.join(SERVICE), scope.dir.join(TIMER)];
    // An enable that systemctl could not undo would leave this link dangling.
    let wants = scope.dir.join("timers.target.wants").join(TIMER);
    if args.print {
        for path in &paths {
            outln!("would delete {}", path.display());
        }
        return Ok(());
    }
    if !paths.iter().any(|p| p.exists()) {
        outln!("no certpilot timer units in {}", scope.dir.display());
        return Ok(());
    }
    let systemctl = find_systemctl();
    let mut problems = Vec::new();
    match &systemctl {
        Some(sc) => {
            if let Err(why) = systemctl_run(sc, &scope, &["disable", "--now", TIMER]) {
                problems.push(why);
            }
        }
        None => problems.push("systemctl is not on PATH".to_owned()),
    }
    for path in paths.iter().chain([&wants]) {
        match std::fs::remove_file(path) {
            Ok(()) => outln!("deleted {}", path.display()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Failure::Failed(format!("{}: {e}", path.display()))),
        }
    }
    if let Some(sc) = &systemctl {
        if let Err(why) = systemctl_run(sc, &scope, &["daemon-reload"]) {
            problems.push(why);
        }
    }
    if problems.is_empty() {
        return Ok(());
    }
    Err(Failure::Failed(format!(
        "units deleted, but {}; if the timer is still loaded run: {} && {}",
        problems.join("; "),
        scope.command_line(&["stop", TIMER]),
        scope.command_line(&["daemon-reload"])
    )))
}

/// `systemctl` on PATH, if any.
fn find_systemctl() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("systemctl"))
        .find(|p| p.is_file())
}

/// Run one systemctl step; the error names the command and what it said.
fn systemctl_run(systemctl: &Path, scope: &Scope, args: &[&str]) -> Result<(), String> {
    let mut cmd = Command::new(systemctl);
    if !scope.system {
        cmd.arg("--user");
    }
    let shown = scope.command_line(args);
    let output = cmd
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("`{shown}` could not run: {e}"))?;
    if output.status.success() {
        return Ok(());
    }
    let said = String::from_utf8_lossy(&output.stderr);
    let said = said
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    Err(format!(
        "`{shown}` failed ({}): {}",
        output.status,
        said.trim()
    ))
}

/// The `ExecStart=` command: this binary, the global options given to this run (made
/// absolute: the service does not start in the current directory), then `renew --all`.
fn exec_start(exe: &Path, global: &GlobalArgs) -> String {
    let absolute = |p: &Path| -> String {
        std::env::current_dir()
            .map_or_else(|_| p.to_path_buf(), |cwd| cwd.join(p))
            .display()
            .to_string()
    };
    let mut args = vec![absolute(exe)];
    if let Some(dir) = &global.dir {
        args.extend(["--dir".to_owned(), absolute(dir)]);
    }
    if let Some(store) = &global.keystore {
        args.extend(["--keystore".to_owned(), store.clone()]);
    }
    if let Some(bundle) = &global.ca_bundle {
        args.extend(["--ca-bundle".to_owned(), absolute(bundle)]);
    }
    for resolver in &global.resolvers {
        args.extend(["--resolver".to_owned(), resolver.clone()]);
    }
    if let Some(mode) = &global.propagation {
        args.extend(["--propagation".to_owned(), mode.clone()]);
    }
    if let Some(secs) = global.propagation_timeout {
        args.extend(["--propagation-timeout".to_owned(), secs.to_string()]);
    }
    if global.ca_timeout != crate::acme::ca_client::DEFAULT_TIMEOUT.as_secs() {
        args.extend(["--ca-timeout".to_owned(), global.ca_timeout.to_string()]);
    }
    args.extend(["renew".to_owned(), "--all".to_owned()]);
    args.iter().map(|a| quote(a)).collect::<Vec<_>>().join(" ")
}

/// One word for systemd's command-line and `Environment=` parser: `%` (specifiers) and `$`
/// (variable expansion) doubled, anything else unusual inside C-style double quotes.
fn quote(word: &str) -> String {
    let escaped = word.replace('%', "%%").replace('$', "$$");
    let plain = !escaped.is_empty()
        && escaped
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-:=@+,%$".contains(c));
    if plain {
        return escaped;
    }
    format!("\"{}\"", escaped.replace('\\', "\\\\").replace('"', "\\\""))
}

fn render_service(exec: &str, environment: &[String], system: bool) -> String {
    let mut unit = String::from(
        "[Unit]\nDescription=Renew TLS certificates with certpilot (certpilot renew --all)\n",
    );
    if system {
        unit.push_str("Wants=network-online.target\nAfter=network-online.target\n");
    }
    unit.push_str("\n[Service]\nType=oneshot\n");
    for assignment in environment {
        let _ = writeln!(unit, "Environment={}", quote(assignment));
    }
    let _ = writeln!(unit, "ExecStart={exec}");
    unit
}

fn render_timer(every: u32) -> String {
    // OnCalendar survives reboots and, with Persistent=, catches up a missed run; it can only
    // express intervals that divide a day, so longer ones count from the last run instead.
    let schedule = if 24 % every == 0 {
        format!("OnCalendar=*-*-* 00/{every:02}:00:00\n")
    } else {
        format!("OnBootSec=15min\nOnUnitActiveSec={every}h\n")
    };
    format!(
        "[Unit]\nDescription=Run certpilot renew --all every {every} hours\n\n\
         [Timer]\n{schedule}RandomizedDelaySec=1h\nPersistent=true\nUnit={SERVICE}\n\n\
         [Install]\nWantedBy=timers.target\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_quoted_for_systemd() {
        let cases = [
            ("/usr/bin/certpilot", "/usr/bin/certpilot"),
            ("--all", "--all"),
            ("/srv/my certs", "\"/srv/my certs\""),
            ("100%", "100%%"),
            ("$HOME", "$$HOME"),
            ("a\"b", "\"a\\\"b\""),
            ("", "\"\""),
        ];
        for (word, want) in cases {
            assert_eq!(quote(word), want, "{word}");
        }
    }

    #[test]
    fn intervals_that_divide_a_day_use_the_calendar() {
        assert!(render_timer(12).contains("OnCalendar=*-*-* 00/12:00:00\n"));
        assert!(render_timer(1).contains("OnCalendar=*-*-* 00/01:00:00\n"));
        let long = render_timer(36);
        assert!(long.contains("OnUnitActiveSec=36h\n"), "{long}");
        assert!(!long.contains("OnCalendar"), "{long}");
        for every in [1, 5, 12, 24, 36] {
            let t = render_timer(every);
            assert!(t.contains("RandomizedDelaySec=1h\n") && t.contains("Persistent=true\n"));
        }
    }

    #[test]
    fn user_services_do_not_wait_for_a_system_target() {
        let user = render_service("/bin/certpilot renew --all", &[], false);
        let system = render_service("/bin/certpilot renew --all", &[], true);
        assert!(!user.contains("network-online"));
        assert!(system.contains("After=network-online.target"));
        assert!(system.contains("ExecStart=/bin/certpilot renew --all\n"));
    }
}
