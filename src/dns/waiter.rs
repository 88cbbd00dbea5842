//! Waiting for challenge records before answering the CA, in the mode the operator chose
//! (`--propagation`): every authoritative address (the default), the configured resolvers
//! only, a fixed wait, or not at all. Polls with backoff, never a fixed sleep.

use std::collections::HashMap;
use std::fmt::{self, Write as _};
use std::net::IpAddr;
use std::str::FromStr;
use std::time::{Duration, Instant};

use super::expect::Expectation;
use super::propagation::{Prober, ProberError};
use super::report::PropagationReport;
use super::visibility::{Checker, VisibilityError};

/// First pause between two rounds; it grows by half each round up to [`MAX_DELAY`].
const FIRST_DELAY: Duration = Duration::from_millis(500);
/// Longest pause between two rounds.
const MAX_DELAY: Duration = Duration::from_secs(10);

/// How to decide that challenge records are visible.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Every address of every authoritative server of every zone on the path.
    #[default]
    Authoritative,
    /// Only the configured resolvers (split horizon, firewalled networks).
    Recursive,
    /// A fixed wait, no checking.
    Wait(Duration),
    /// Do not wait at all.
    Skip,
}

/// Why waiting failed or could not start.
#[derive(Debug, thiserror::Error)]
pub enum WaitError {
    /// `--propagation` is not one of the modes.
    #[error("--propagation {0:?}: choose authoritative, recursive, wait=SECONDS or skip")]
    BadMode(String),
    /// The resolvers could not be set up.
    #[error(transparent)]
    Setup(#[from] ProberError),
    /// Zone discovery fails in a way waiting cannot fix.
    #[error("{0}")]
    Discovery(String),
    /// The timeout passed before every address served the records.
    #[error("after {}s the records are not on every authoritative server: {}{}",
        .waited.as_secs(), .report.verdict(), hint_lines(.report))]
    NotPropagated {
        /// The last round.
        report: Box<PropagationReport>,
        /// How long we waited.
        waited: Duration,
    },
    /// Recursive mode: the resolvers never served the records.
    #[error(transparent)]
    Recursive(#[from] VisibilityError),
    /// One authoritative address has not answered for the dead-server bound: waiting the
    /// whole propagation timeout would not help.
    #[error("{server} ({address}) has not answered for {}s: it is down or unreachable from here; fix it, or pass --ignore-server {server} to go on without it (the CA may still pick it and fail){}",
        .silent_for.as_secs(), hint_lines(.report))]
    DeadServer {
        /// The server's host name.
        server: String,
        /// The silent address.
        address: std::net::IpAddr,
        /// How long it has been silent.
        silent_for: Duration,
        /// The last round.
        report: Box<PropagationReport>,
    },
}

fn hint_lines(report: &PropagationReport) -> String {
    report.all_hints().fold(String::new(), |mut out, h| {
        let _ = write!(out, "\nhint: {h}");
        out
    })
}

impl FromStr for Mode {
    type Err = WaitError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || WaitError::BadMode(text.to_owned());
        match text.trim() {
            "authoritative" => Ok(Mode::Authoritative),
            "recursive" => Ok(Mode::Recursive),
            "skip" => Ok(Mode::Skip),
            other => {
                let seconds = other.strip_prefix("wait=").ok_or_else(bad)?;
                seconds
                    .parse::<u64>()
                    .map(|s| Mode::Wait(Duration::from_secs(s)))
                    .map_err(|_| bad())
            }
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mode::Authoritative => f.write_str("authoritative"),
            Mode::Recursive => f.write_str("recursive"),
            Mode::Wait(d) => write!(f, "wait={}", d.as_secs()),
            Mode::Skip => f.write_str("skip"),
        }
    }
}

/// Waits for records in one [`Mode`].
#[derive(Debug, Clone)]
pub struct Waiter {
    mode: Mode,
    prober: Option<Prober>,
    checker: Option<Checker>,
    dead_after: Duration,
    resolvers: Vec<String>,
    port: u16,
}

/// How long one authoritative address may stay silent before waiting ends (the default of
/// `settings.dead_server_timeout`).
pub const DEAD_SERVER_TIMEOUT: Duration = Duration::from_secs(60);

impl Waiter {
    /// A waiter in `mode` using `resolvers` (`IP[:PORT]`; the system's when empty).
    ///
    /// # Errors
    /// A resolver is not an address (or none can be found) in the modes that ask them.
    pub fn new(mode: Mode, resolvers: &[String]) -> Result<Self, WaitError> {
        let (prober, checker) = match mode {
            Mode::Authoritative => (Some(Prober::new(resolvers)?), None),
            Mode::Recursive => (None, Some(Checker::new(resolvers)?)),
            Mode::Wait(_) | Mode::Skip => (None, None),
        };
        Ok(Self {
            mode,
            prober,
            checker,
            dead_after: DEAD_SERVER_TIMEOUT,
            resolvers: resolvers.to_vec(),
            port: 53,
        })
    }

    /// The waiter a run uses, for both front ends: `mode` (`--propagation`, authoritative
    /// unless given) on `resolvers`, with the settings' dead-server bound, leaving out the
    /// servers the operator named (`--ignore-server` and `settings.ignore_servers`).
    ///
    /// # Errors
    /// A bad mode or resolver.
    pub fn for_run(
        mode: Option<&str>,
        resolvers: &[String],
        settings: &crate::config::Settings,
        ignored: &[String],
    ) -> Result<Self, WaitError> {
        let mode = mode.map_or(Ok(Mode::default()), str::parse)?;
        let mut waiter = Self::new(mode, resolvers)?;
        let ignored: Vec<String> = ignored
            .iter()
            .chain(&settings.ignore_servers)
            .cloned()
            .collect();
        let port = settings.authoritative_port;
        waiter.prober = waiter.prober.map(|p| p.ignoring(&ignored).on_port(port));
        waiter.dead_after = Duration::from_secs(settings.dead_server_timeout.max(1));
        waiter.port = port;
        Ok(waiter)
    }

    /// End the wait when one address stays silent this long.
    #[must_use]
    pub fn with_dead_after(mut self, bound: Duration) -> Self {
        self.dead_after = bound;
        self
    }

    /// An authoritative-mode waiter around an existing prober (other timeouts, tests).
    #[must_use]
    pub fn authoritative(prober: Prober) -> Self {
        Self {
            mode: Mode::Authoritative,
            checker: None,
            dead_after: DEAD_SERVER_TIMEOUT,
            resolvers: prober.resolvers().iter().map(ToString::to_string).collect(),
            port: prober.options().port,
            prober: Some(prober),
        }
    }

    /// The mode.
    #[must_use]
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The CNAME chain of a challenge name (see [`Prober::cname_chain`]), in every mode: a
    /// solver writes at its end. `[owner]` when the resolvers cannot be used.
    pub async fn cname_chain(&self, owner: &str) -> Vec<String> {
        let prober = match &self.prober {
            Some(prober) => prober.clone(),
            None => match Prober::new(&self.resolvers) {
                Ok(prober) => prober.on_port(self.port),
                Err(_) => return vec![owner.trim_end_matches('.').to_owned()],
            },
        };
        prober.cname_chain(owner).await
    }

    /// Wait until `expectations` are met or `timeout` passes. In authoritative mode every
    /// round's report goes to `progress`. Returns the time waited.
    ///
    /// # Errors
    /// The timeout passed first ([`WaitError::NotPropagated`] with the last round, or
    /// [`WaitError::Recursive`]), or discovery fails in a way waiting cannot fix.
    pub async fn wait(
        &self,
        expectations: &[Expectation],
        timeout: Duration,
        progress: &(dyn Fn(Box<PropagationReport>) + Send + Sync),
    ) -> Result<Duration, WaitError> {
        match (self.mode, &self.prober, &self.checker) {
            (Mode::Skip, ..) => Ok(Duration::ZERO),
            (Mode::Wait(pause), ..) => {
                // The operator asked for exactly this pause.
                tokio::time::sleep(pause).await;
                Ok(pause)
            }
            (Mode::Recursive, _, Some(checker)) => {
                let started = Instant::now();
                let waits = expectations
                    .iter()
                    .map(|e| checker.wait_visible(&e.owner, &e.txt, timeout));
                for result in futures::future::join_all(waits).await {
                    result?;
                }
                Ok(started.elapsed())
            }
            (_, Some(prober), _) => {
                let bounds = (timeout, self.dead_after);
                poll(prober, expectations, bounds, progress).await
            }
            _ => Err(WaitError::BadMode(self.mode.to_string())),
        }
    }
}

/// Rounds with growing pauses until propagated, a permanent error, an address silent for
/// the dead-server bound, or the deadline. `bounds`: (timeout, dead-server bound).
async fn poll(
    prober: &Prober,
    expectations: &[Expectation],
    (timeout, dead_after): (Duration, Duration),
    progress: &(dyn Fn(Box<PropagationReport>) + Send + Sync),
) -> Result<Duration, WaitError> {
    let started = Instant::now();
    let deadline = started + timeout;
    let mut delay = FIRST_DELAY;
    let mut silence = Silence::default();
    loop {
        let report = Box::new(prober.check(expectations).await);
        if let Some(error) = report.permanent_error() {
            return Err(WaitError::Discovery(error.to_owned()));
        }
        let propagated = report.propagated;
        progress(report.clone());
        if propagated {
            return Ok(started.elapsed());
        }
        let now = Instant::now();
        if let Some((server, address, silent_for)) = silence.update(&report, now, dead_after) {
            return Err(WaitError::DeadServer {
                server,
                address,
                silent_for,
                report,
            });
        }
        if now >= deadline {
            return Err(WaitError::NotPropagated {
                report,
                waited: started.elapsed(),
            });
        }
        tokio::time::sleep(delay.min(deadline - now)).await;
        delay = (delay * 3 / 2).min(MAX_DELAY);
    }
}

/// Since when each address has been silent (timeouts, unreachable) in every round.
#[derive(Default)]
struct Silence {
    since: HashMap<(String, IpAddr), Instant>,
}

impl Silence {
    /// Take a round's results; the first address silent for `bound` or longer, if any.
    fn update(
        &mut self,
        report: &PropagationReport,
        now: Instant,
        bound: Duration,
    ) -> Option<(String, IpAddr, Duration)> {
        let results = report
            .names
            .iter()
            .flat_map(|n| &n.hops)
            .flat_map(|h| &h.results);
        let mut silent_now = Vec::new();
        for r in results {
            let key = (r.server.clone(), r.address);
            if r.status.is_silent() {
                silent_now.push(key);
            } else {
                self.since.remove(&key);
            }
        }
        self.since.retain(|key, _| silent_now.contains(key));
        for key in silent_now {
            self.since.entry(key).or_insert(now);
        }
        self.since
            .iter()
            .map(|((server, ip), since)| (server, ip, now.saturating_duration_since(*since)))
            .filter(|(_, _, silent)| *silent >= bound)
            .max_by_key(|(_, _, silent)| *silent)
            .map(|(server, ip, silent)| (server.clone(), *ip, silent))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::probe::Status;

    #[test]
    fn modes_parse_and_print_back() {
        let cases = [
            ("authoritative", Some(Mode::Authoritative)),
            ("recursive", Some(Mode::Recursive)),
            ("skip", Some(Mode::Skip)),
            ("wait=90", Some(Mode::Wait(Duration::from_secs(90)))),
            ("wait=0", Some(Mode::Wait(Duration::ZERO))),
            ("wait=", None),
            ("wait=-1", None),
            ("wait=1m", None),
            ("Authoritative", None),
            ("", None),
        ];
        for (text, want) in cases {
            let got = text.parse::<Mode>().ok();
            assert_eq!(got, want, "{text:?}");
            if let Some(mode) = got {
                assert_eq!(mode.to_string().parse::<Mode>().unwrap(), mode);
            }
        }
        let err = "often".parse::<Mode>().unwrap_err().to_string();
        assert!(
            err.contains("authoritative, recursive, wait=SECONDS or skip"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn skip_and_wait_do_not_ask_anybody() {
        let nothing = |_: Box<PropagationReport>| panic!("no report expected");
        let skip = Waiter::new(Mode::Skip, &[]).unwrap();
        assert_eq!(
            skip.wait(&[], Duration::from_secs(1), &nothing)
                .await
                .unwrap(),
            Duration::ZERO
        );
        let pause = Duration::from_millis(30);
        let wait = Waiter::new(Mode::Wait(pause), &["not an address".into()]).unwrap();
        let started = Instant::now();
        assert_eq!(
            wait.wait(&[], Duration::from_secs(1), &nothing)
                .await
                .unwrap(),
            pause
        );
        assert!(started.elapsed() >= pause);
    }

    fn round(statuses: &[(&str, Status)]) -> PropagationReport {
        use crate::dns::expect::Expectation;
        use crate::dns::probe::{HopRule, ProbeResult};
        use crate::dns::report::{HopReport, NameReport};
        use crate::dns::zone::Zone;
        let results = statuses
            .iter()
            .map(|(ip, status)| ProbeResult {
                server: format!("ns-{ip}"),
                address: ip.parse().unwrap(),
                status: *status,
                values: Vec::new(),
                cname: None,
                ttl: None,
                serial: None,
                primary: None,
                negative_ttl: None,
                rtt_us: None,
                tcp: false,
                beside_cname: false,
                detail: None,
            })
            .collect();
        let mut name = NameReport::new(&Expectation::new("_acme-challenge.a.test", vec![], None));
        name.hops.push(HopReport {
            name: "_acme-challenge.a.test".into(),
            zone: Zone {
                apex: "a.test".into(),
                servers: Vec::new(),
            },
            rule: HopRule::Txt { values: Vec::new() },
            leads_to: None,
            results,
        });
        PropagationReport::new(vec![name], Vec::new(), 0, 0)
    }

    #[test]
    fn an_address_silent_in_every_round_for_the_bound_is_named() {
        let bound = Duration::from_secs(60);
        let start = Instant::now();
        let at = |s: u64| start + Duration::from_secs(s);
        let mut silence = Silence::default();
        let (a, b) = ("192.0.2.1", "192.0.2.2");
        let silent_a = round(&[(a, Status::Timeout), (b, Status::Missing)]);
        let both_answer = round(&[(a, Status::Missing), (b, Status::Missing)]);
        let silent_b = round(&[(a, Status::Missing), (b, Status::Unreachable)]);
        assert_eq!(silence.update(&silent_a, at(0), bound), None);
        assert_eq!(silence.update(&silent_a, at(59), bound), None);
        // One answer resets its clock.
        assert_eq!(silence.update(&both_answer, at(61), bound), None);
        assert_eq!(silence.update(&silent_a, at(70), bound), None);
        assert_eq!(silence.update(&silent_b, at(80), bound), None);
        assert_eq!(silence.update(&silent_b, at(139), bound), None);
        let dead = silence.update(&silent_b, at(140), bound).unwrap();
        assert_eq!(
            (
                dead.0.as_str(),
                dead.1.to_string().as_str(),
                dead.2.as_secs()
            ),
            ("ns-192.0.2.2", b, 60)
        );
    }

    #[test]
    fn bad_resolvers_are_setup_errors() {
        for mode in [Mode::Authoritative, Mode::Recursive] {
            let err = Waiter::new(mode, &["dns.example".into()]).unwrap_err();
            assert!(err.to_string().contains("\"dns.example\""), "{mode}: {err}");
        }
    }
}
