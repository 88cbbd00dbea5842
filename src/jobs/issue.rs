//! Issuance from the UI: the same engine as `certpilot issue`, its steps forwarded as events,
//! and a cancel that leaves no challenge records behind.
//!
//! Dropping the engine's future skips its own cleanup, so a cancel is cooperative: before the
//! order exists nothing needs undoing; while the solvers publish, the job waits for them to
//! finish (so it knows every value) and then drops the engine; once records are published it
//! drops the engine and removes them through the same solvers; after validation the engine
//! has already removed them.

use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::{mpsc, watch};

use super::{Context, Event};
use crate::acme::{self, IssueError, Progress, Step};
use crate::ops;
use crate::solver::{manual, ChallengeRecord, SolverError};

/// A successful issuance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issued {
    /// Serial, hex.
    pub serial: String,
    /// Expiry.
    pub not_after: OffsetDateTime,
    /// Wall time.
    pub elapsed: Duration,
    /// What the deploy step did, as `; …` for the end of the result line (empty when no
    /// export target or deploy hook is configured). A failed hook does not undo the issuance.
    pub deploy: String,
    /// The export or the deploy hook failed.
    pub deploy_failed: bool,
}

/// A failed or cancelled issuance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueFailure {
    /// What went wrong, verbatim (the CA's problem document included).
    pub message: String,
    /// What to do about it, when certpilot knows.
    pub hint: Option<String>,
    /// The operator cancelled.
    pub cancelled: bool,
}

impl IssueFailure {
    fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            hint: None,
            cancelled: false,
        }
    }
}

/// Where the engine is, as far as cleanup is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Phase {
    /// No order yet: nothing to undo.
    Start,
    /// The solvers are publishing: wait for them before stopping.
    Publishing,
    /// Records are published and not yet removed (the journal lists them).
    Published,
    /// The CA validated: the engine removes the records and finishes on its own (a cancel
    /// now would throw away a certificate the CA is issuing).
    Clean,
}

/// Issue `cert`, sending [`Event::IssueProgress`] through `reply`; a `true` on `cancel`
/// stops it cleanly.
///
/// # Errors
/// Why it failed (the CA's problem document verbatim, with a hint), or that it was cancelled
/// (and whether the records were removed).
pub async fn run(
    ctx: Arc<Context>,
    cert: String,
    reply: impl Fn(Event) + Send + Sync,
    signals: Signals,
) -> Result<Issued, IssueFailure> {
    let Signals { cancel, answers } = signals;
    let ops::issue::Prepared {
        context: issue_ctx,
        account,
        account_name,
        lock: _lock,
    } = prepare(&ctx, &cert).await?;
    let config = Arc::clone(&issue_ctx.config);
    let (step_tx, mut step_rx) = mpsc::unbounded_channel::<Progress>();
    let report = move |progress: Progress| {
        // The receiver lives until the engine is dropped.
        let _ = step_tx.send(progress);
    };
    let (ask_tx, mut asks) = mpsc::unbounded_channel();
    let confirm = operator(ask_tx, answers, cancel.clone());
    let engine = manual::confirming(
        Arc::clone(&confirm),
        acme::issue(&issue_ctx, &account, &account_name, &cert, &report),
    );
    let ended = Box::pin(drive(
        engine,
        &mut step_rx,
        &mut asks,
        &reply,
        cancel.clone(),
    ))
    .await;
    let asked_to_stop = *cancel.borrow();
    match ended {
        Ended::Finished(Ok(outcome)) => {
            // Still under the certificate's lock, as in the CLI.
            let (store, keys) = (&issue_ctx.store, &issue_ctx.keystore);
            let deployed =
                crate::deploy::deploy(&issue_ctx.state_dir, &config, store, keys, &cert).await;
            Ok(Issued {
                serial: outcome.meta.serial,
                not_after: outcome.meta.not_after,
                elapsed: outcome.elapsed,
                deploy: deployed.summary_suffix(),
                deploy_failed: deployed.failure().is_some(),
            })
        }
        // The operator declined the manual records: the engine has removed what it published.
        Ended::Finished(Err(IssueError::Solver(SolverError::Cancelled))) if asked_to_stop => {
            Err(IssueFailure {
                cancelled: true,
                ..IssueFailure::new("cancelled; the order was abandoned")
            })
        }
        Ended::Finished(Err(e)) => Err(failure(&e)),
        Ended::Cancelled => {
            // The engine's journal lists what it published (and any key it stored): undo
            // that through the same solvers. Manual solvers must not print over the screen.
            let discarded =
                manual::confirming(confirm, acme::recovery::discard(&issue_ctx, &cert)).await;
            Err(cancelled(&discarded))
        }
    }
}

/// What the UI can tell a running issuance.
pub struct Signals {
    /// `true`: stop cleanly.
    pub cancel: watch::Receiver<bool>,
    /// The operator's answers to the manual solver (`true`: the records are there).
    pub answers: mpsc::UnboundedReceiver<bool>,
}

/// The manual solver's callback: hand the records to [`drive`] (which shows them as
/// [`Event::RecordsToCreate`]) and wait for the operator's answer; a cancel is a no.
fn operator(
    asks: mpsc::UnboundedSender<Vec<ChallengeRecord>>,
    answers: mpsc::UnboundedReceiver<bool>,
    cancel: watch::Receiver<bool>,
) -> manual::Confirm {
    let answers = Arc::new(tokio::sync::Mutex::new(answers));
    Arc::new(move |records| {
        let asks = asks.clone();
        let answers = Arc::clone(&answers);
        let mut cancel = cancel.clone();
        Box::pin(async move {
            // One question at a time: the engine publishes every solver's group at once, so
            // with two manual domains the second popup must wait until the first is answered.
            let mut answers = answers.lock().await;
            if asks.send(records).is_err() {
                return false;
            }
            tokio::select! {
                answer = answers.recv() => answer.unwrap_or(false),
                _ = cancel.wait_for(|c| *c) => false,
            }
        })
    })
}

/// Everything before the engine, through the same operation as `certpilot issue`.
async fn prepare(ctx: &Arc<Context>, cert: &str) -> Result<ops::issue::Prepared, IssueFailure> {
    ops::issue::prepare(ctx, cert).await.map_err(|e| {
        let hint = match &e {
            ops::Error::Locked(_) => {
                Some("another certpilot run is working on it; wait for it to finish")
            }
            ops::Error::Invalid(_) => Some("add an account with A, then pick it in the editor (e)"),
            ops::Error::Issue(issue) => return failure(issue),
            _ => None,
        };
        IssueFailure {
            hint: hint.map(str::to_owned),
            ..IssueFailure::new(e.to_string())
        }
    })
}

enum Ended<T> {
    Finished(T),
    Cancelled,
}

/// Poll the engine, forward its steps, and stop at a safe point once cancelled.
async fn drive<F, T>(
    engine: F,
    steps: &mut mpsc::UnboundedReceiver<Progress>,
    asks: &mut mpsc::UnboundedReceiver<Vec<ChallengeRecord>>,
    reply: &(impl Fn(Event) + Send + Sync),
    mut cancel: watch::Receiver<bool>,
) -> Ended<T>
where
    F: std::future::Future<Output = T>,
{
    tokio::pin!(engine);
    let mut phase = Phase::Start;
    let mut cancelling = false;
    loop {
        tokio::select! {
            biased;
            Some(progress) = steps.recv() => {
                phase = advance(phase, &progress.step);
                reply(Event::IssueProgress { step: progress.step, elapsed: progress.elapsed });
                if cancelling && phase.can_stop() {
                    return Ended::Cancelled;
                }
            }
            Some(records) = asks.recv() => reply(Event::RecordsToCreate(records)),
            result = &mut engine => {
                // Steps reported just before the end are still queued.
                while let Ok(progress) = steps.try_recv() {
                    reply(Event::IssueProgress { step: progress.step, elapsed: progress.elapsed });
                }
                return Ended::Finished(result);
            }
            _ = cancel.changed(), if !cancelling => {
                cancelling = true;
                tracing::info!(phase = ?phase, "issuance cancel requested");
                if phase.can_stop() {
                    return Ended::Cancelled;
                }
            }
        }
    }
}

impl Phase {
    /// Whether dropping the engine now is safe: not while solvers publish (their values
    /// would be unknown) and not once the CA validated (the certificate is being issued).
    fn can_stop(&self) -> bool {
        matches!(self, Phase::Start | Phase::Published)
    }
}

fn advance(phase: Phase, step: &Step) -> Phase {
    match step {
        Step::OrderCreated { .. } => Phase::Publishing,
        Step::RecordsPublished { .. } => Phase::Published,
        Step::Validated | Step::Finalized | Step::Stored { .. } => Phase::Clean,
        _ => phase,
    }
}

/// What the operator is told after a cancel, from what undoing the journal did.
fn cancelled(discarded: &acme::recovery::Discarded) -> IssueFailure {
    let message = match discarded {
        acme::recovery::Discarded {
            records: 0,
            clean: true,
        } => "cancelled; no challenge records were left behind".to_owned(),
        acme::recovery::Discarded {
            records,
            clean: true,
        } => {
            format!("cancelled; {records} challenge record(s) removed")
        }
        acme::recovery::Discarded { clean: false, .. } => "cancelled, but removing the challenge \
            records failed (see the log); the next run tries again"
            .to_owned(),
    };
    IssueFailure {
        cancelled: true,
        ..IssueFailure::new(message)
    }
}

/// The engine's error with certpilot's hint. CA problems carry the CA's own hint already.
fn failure(e: &IssueError) -> IssueFailure {
    let hint = match e {
        IssueError::Visibility(_) => Some(
            "the resolvers do not serve the TXT value yet: check that the hook published it \
             and that the resolvers see the zone (press c to check propagation)",
        ),
        IssueError::Solver(_) => Some(
            "the solver could not publish the record: run the hook by hand \
             (HOOK present FQDN. VALUE) to see why",
        ),
        IssueError::Secrets(_) => {
            Some("the keyring is not reachable: pick a store with --keystore (see the README)")
        }
        IssueError::Config(_) => Some("fix the definition with e, or the solver mapping"),
        _ => None,
    };
    IssueFailure {
        hint: hint.map(str::to_owned),
        ..IssueFailure::new(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    fn record() -> ChallengeRecord {
        ChallengeRecord {
            identifier: "a.example.test".into(),
            fqdn: "_acme-challenge.a.example.test.".into(),
            value: "v".into(),
        }
    }

    fn progress(step: Step) -> Progress {
        Progress {
            cert: "a".into(),
            step,
            elapsed: Duration::ZERO,
        }
    }

    /// A fake engine: reports `steps` (each after `gap`), then never ends.
    async fn engine(tx: mpsc::UnboundedSender<Progress>, steps: Vec<Step>, gap: Duration) {
        for step in steps {
            tokio::time::sleep(gap).await;
            let _ = tx.send(progress(step));
        }
        std::future::pending::<()>().await;
    }

    /// Cancel at `cancel_at`; how many events were forwarded when the job stopped, or `None`
    /// when it did not stop (the fake engine never ends, so the test gives up after 1 s).
    async fn cancelled_after(steps: Vec<Step>, cancel_at: Duration) -> Option<usize> {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let (cancel_tx, cancel_rx) = watch::channel(false);
        let seen = Mutex::new(0);
        let reply = |_: Event| *seen.lock().unwrap() += 1;
        let fake = engine(tx, steps, Duration::from_millis(50));
        let cancel = async {
            tokio::time::sleep(cancel_at).await;
            cancel_tx.send(true).unwrap();
            std::future::pending::<()>().await;
        };
        let (_ask_tx, mut asks) = mpsc::unbounded_channel();
        let ended = tokio::select! {
            ended = drive(fake, &mut rx, &mut asks, &reply, cancel_rx) => Some(ended),
            () = cancel => unreachable!(),
            () = tokio::time::sleep(Duration::from_secs(1)) => None,
        };
        match ended {
            Some(Ended::Cancelled) => Some(*seen.lock().unwrap()),
            Some(Ended::Finished(())) => panic!("the fake engine never finishes"),
            None => None,
        }
    }

    #[tokio::test]
    async fn cancel_before_the_order_stops_at_once() {
        let steps = vec![
            Step::AccountReady,
            Step::OrderCreated {
                url: "u".into(),
                pending: 1,
            },
        ];
        assert_eq!(
            cancelled_after(steps, Duration::from_millis(75)).await,
            Some(1)
        );
    }

    #[tokio::test]
    async fn cancel_while_publishing_waits_for_the_records() {
        let steps = vec![
            Step::AccountReady,
            Step::OrderCreated {
                url: "u".into(),
                pending: 1,
            },
            Step::RecordsPublished {
                records: vec![record()],
            },
            Step::RecordsVisible,
        ];
        // Cancelled between OrderCreated (100 ms) and RecordsPublished (150 ms).
        assert_eq!(
            cancelled_after(steps, Duration::from_millis(120)).await,
            Some(3)
        );
    }

    #[tokio::test]
    async fn cancel_after_validation_lets_the_certificate_finish() {
        let steps = vec![
            Step::OrderCreated {
                url: "u".into(),
                pending: 1,
            },
            Step::RecordsPublished {
                records: vec![record()],
            },
            Step::Validated,
        ];
        assert_eq!(
            cancelled_after(steps, Duration::from_millis(175)).await,
            None
        );
    }

    #[tokio::test]
    async fn two_manual_groups_are_asked_one_after_the_other() {
        let (ask_tx, mut asks) = mpsc::unbounded_channel();
        let (answer_tx, answers) = mpsc::unbounded_channel();
        let (_cancel_tx, cancel) = watch::channel(false);
        let confirm = operator(ask_tx, answers, cancel);
        let first = tokio::spawn(confirm(vec![record()]));
        let second = tokio::spawn(confirm(vec![record(), record()]));
        let shown = asks.recv().await.unwrap();
        // The other group waits for the first answer instead of replacing the popup.
        let early = tokio::time::timeout(Duration::from_millis(100), asks.recv()).await;
        assert!(
            early.is_err(),
            "a second popup came before the first was answered"
        );
        answer_tx.send(true).unwrap();
        let next = asks.recv().await.unwrap();
        assert_ne!(shown.len(), next.len(), "each group was shown once");
        answer_tx.send(false).unwrap();
        let results = [first.await.unwrap(), second.await.unwrap()];
        // The group shown first got the first answer.
        let first_shown_was_first = shown.len() == 1;
        assert_eq!(
            results,
            if first_shown_was_first {
                [true, false]
            } else {
                [false, true]
            }
        );
    }

    #[test]
    fn hints_name_what_to_do() {
        let config = failure(&IssueError::Config("no solver".into()));
        assert_eq!(config.message, "no solver");
        assert!(config.hint.unwrap().contains("with e"));
        let busy = failure(&IssueError::Busy("web is busy".into()));
        assert_eq!(busy.hint, None);
    }
}
