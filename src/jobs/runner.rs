//! Runs jobs as tokio tasks and sends their tagged answers back.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tracing::instrument::WithSubscriber as _;

use super::{
    account, acmedns, certs, inventory, issue, propagation, server, Context, Event, Job, JobId,
    Slot, Tagged,
};
use crate::dns::parent;
use crate::ops::blocking;

struct Task {
    slot: Slot,
    handle: JoinHandle<()>,
    /// For jobs that stop cleanly: send `true` to ask.
    cancel: Option<watch::Sender<bool>>,
    /// For jobs that ask the operator (the manual solver): the answers.
    answers: Option<mpsc::UnboundedSender<bool>>,
}

/// Spawns jobs; owns their tasks.
pub struct Runner {
    ctx: Arc<Context>,
    tx: mpsc::UnboundedSender<Tagged>,
    tasks: HashMap<JobId, Task>,
}

impl Runner {
    /// A runner and the channel its answers arrive on. Answers are few and every one counts
    /// (a lost "finished" would leave the UI waiting), so the channel is unbounded; the
    /// number of jobs bounds it.
    #[must_use]
    pub fn new(ctx: Arc<Context>) -> (Self, mpsc::UnboundedReceiver<Tagged>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let runner = Self {
            ctx,
            tx,
            tasks: HashMap::new(),
        };
        (runner, rx)
    }

    /// Start `job` as `id`, aborting a running job of the same slot (its answer would be stale).
    pub fn start(&mut self, id: JobId, job: Job) {
        self.tasks.retain(|_, task| !task.handle.is_finished());
        let slot = job.slot();
        let superseded: Vec<JobId> = self
            .tasks
            .iter()
            .filter(|(_, task)| task.slot == slot)
            .map(|(id, _)| *id)
            .collect();
        for old in superseded {
            if let Some(task) = self.tasks.remove(&old) {
                tracing::debug!(job = old.0, ?slot, "superseded");
                task.handle.abort();
            }
        }
        tracing::debug!(job = id.0, what = %job.label(), "job started");
        let (cancel_tx, cancel_rx) = watch::channel(false);
        let cancel = job.cancels_gracefully().then_some(cancel_tx);
        let (answers_tx, answers_rx) = mpsc::unbounded_channel();
        let answers = matches!(job, Job::Issue { .. }).then_some(answers_tx);
        let reply = Reply {
            id,
            tx: self.tx.clone(),
        };
        let ctx = Arc::clone(&self.ctx);
        let signals = Signals {
            cancel: cancel_rx,
            answers: answers_rx,
        };
        let work = tokio::spawn(run(ctx, job, reply.clone(), signals).with_current_subscriber());
        // A panicking job must still answer, or the UI would wait for it forever.
        let handle = tokio::spawn(
            async move {
                if let Err(e) = work.await {
                    if e.is_panic() {
                        reply.send(Event::Panicked(format!("job {} panicked", id.0)));
                    }
                }
            }
            .with_current_subscriber(),
        );
        self.tasks.insert(
            id,
            Task {
                slot,
                handle,
                cancel,
                answers,
            },
        );
    }

    /// Stop a job: cleanly when it supports that (it then answers), otherwise by aborting it.
    pub fn cancel(&mut self, id: JobId) {
        let graceful = self
            .tasks
            .get(&id)
            .and_then(|task| task.cancel.as_ref())
            .is_some_and(|cancel| cancel.send(true).is_ok());
        if !graceful {
            if let Some(task) = self.tasks.remove(&id) {
                task.handle.abort();
            }
        }
    }

    /// Answer a job's question (the manual solver's "are the records there?").
    pub fn answer(&mut self, id: JobId, yes: bool) {
        if let Some(answers) = self.tasks.get(&id).and_then(|t| t.answers.as_ref()) {
            // A job that ended no longer asks.
            let _ = answers.send(yes);
        }
    }

    /// Ask every job to stop, give clean stoppers up to `grace`, abort the rest.
    pub async fn shutdown(mut self, grace: Duration) {
        let mut waiting = Vec::new();
        for (_, task) in self.tasks.drain() {
            match task.cancel {
                Some(cancel) if cancel.send(true).is_ok() => waiting.push(task.handle),
                _ => task.handle.abort(),
            }
        }
        if waiting.is_empty() {
            return;
        }
        let aborts: Vec<_> = waiting.iter().map(JoinHandle::abort_handle).collect();
        if tokio::time::timeout(grace, futures::future::join_all(waiting))
            .await
            .is_err()
        {
            aborts.iter().for_each(tokio::task::AbortHandle::abort);
        }
    }
}

/// Sends answers tagged with the job's id.
#[derive(Clone)]
struct Reply {
    id: JobId,
    tx: mpsc::UnboundedSender<Tagged>,
}

impl Reply {
    fn send(&self, event: Event) {
        // The receiver is gone only when the UI is closing.
        let _ = self.tx.send(Tagged { id: self.id, event });
    }
}

/// What a running job can hear from the UI besides its start.
struct Signals {
    cancel: watch::Receiver<bool>,
    answers: mpsc::UnboundedReceiver<bool>,
}

async fn run(ctx: Arc<Context>, job: Job, reply: Reply, signals: Signals) {
    let Signals { cancel, answers } = signals;
    let event = match job {
        Job::LoadInventory => {
            let result = blocking(move || inventory::load(&ctx, OffsetDateTime::now_utc())).await;
            Event::InventoryLoaded(shared(result))
        }
        Job::LoadDetail { name } => {
            let result =
                blocking(move || inventory::detail(&ctx, &name, OffsetDateTime::now_utc())).await;
            Event::DetailLoaded(shared(result.map(Box::new)))
        }
        Job::LoadProfiles => Event::ProfilesLoaded(crate::ops::profiles::load_all(&ctx).await),
        Job::FetchDirectory {
            directory,
            ca_bundle,
        } => Event::DirectoryFetched(shared(
            account::fetch_directory(&ctx, &directory, ca_bundle.as_deref()).await,
        )),
        Job::RegisterAccount(request) => {
            Event::AccountRegistered(shared(account::register(&ctx, request).await))
        }
        Job::SaveCertificate(request) => {
            Event::CertificateSaved(shared(crate::ops::certificates::save(&ctx, &request).await))
        }
        Job::DeleteCertificate { name, purge } => Event::CertificateDeleted(shared(
            blocking(move || certs::delete(&ctx, &name, purge)).await,
        )),
        Job::RemoveAccount { name } => {
            let removed = blocking(move || account::remove(&ctx, &name)).await;
            Event::AccountRemoved(shared(removed))
        }
        Job::LoadAccounts => {
            Event::AccountsLoaded(shared(blocking(move || super::accounts::load(&ctx)).await))
        }
        Job::RemoveDomain { domain } => Event::DomainRemoved(shared(
            blocking(move || super::domains::remove(&ctx, &domain)).await,
        )),
        Job::SwitchFault { root, index, on } => Event::FaultSwitched(shared(
            blocking(move || switch_fault(&root, index, on)).await,
        )),
        Job::Issue { cert } => {
            let progress = reply.clone();
            let signals = issue::Signals { cancel, answers };
            let result = Box::pin(issue::run(
                ctx,
                cert,
                move |event| progress.send(event),
                signals,
            ))
            .await;
            Event::IssueFinished(result)
        }
        Job::AcmeDnsRegister(request) => {
            Event::AcmeDnsSaved(shared(acmedns::register(&ctx, request).await))
        }
        Job::AcmeDnsImport(request) => {
            Event::AcmeDnsSaved(shared(acmedns::import_file(&ctx, request).await))
        }
        Job::SaveProvider(request) => {
            Event::ProviderSaved(shared(super::provider::save(&ctx, request).await))
        }
        Job::CheckPropagation { target, .. } => {
            let probes = reply.clone();
            let result = propagation::check(&ctx, &target, move |e| probes.send(e)).await;
            Event::PropagationChecked(shared(result.map(Box::new)))
        }
        Job::RunAcmeDnsServer(request) => {
            // The form opens with these settings next time.
            if let Err(e) = super::server_form::save(&ctx.paths.state, &request) {
                tracing::warn!(error = %e, "acme-dns server form not saved");
            }
            let started = reply.clone();
            let result = server::run(&ctx, &request, move |e| started.send(e), cancel).await;
            Event::ServerStopped(shared(result))
        }
        Job::CheckParentRecords { records } => {
            let result = match ctx.config() {
                Ok(config) => parent::check(&config.settings.resolvers, &records)
                    .await
                    .map_err(crate::ops::Error::from),
                Err(e) => Err(e.into()),
            };
            Event::ParentChecked(shared(result))
        }
        Job::RegisterOnServer { url, domains } => {
            Event::ServerRegistered(shared(server::register_all(&ctx, &url, &domains).await))
        }
    };
    tracing::debug!(job = reply.id.0, "job finished");
    reply.send(event);
}

/// Switch a sandbox fault on the sandbox's real servers.
fn switch_fault(
    root: &std::path::Path,
    index: usize,
    on: bool,
) -> Result<(usize, bool), crate::ops::Error> {
    let fault = *crate::sandbox::Fault::ALL
        .get(index)
        .ok_or_else(|| crate::ops::Error::Invalid(format!("no sandbox fault number {index}")))?;
    let layout = crate::sandbox::Layout::load(root)?;
    crate::sandbox::faults::switch(&layout, fault, on)?;
    tracing::info!(fault = %fault.label(), on, "sandbox fault switched");
    Ok((index, on))
}

/// An operation's typed error, as the event carries it to the TUI.
fn shared<T>(result: Result<T, crate::ops::Error>) -> Result<T, crate::ops::Shared> {
    result.map_err(crate::ops::Shared::from)
}
