//! The only bridge between the library and the terminal UI.
//!
//! The UI's pure `update` asks for work by returning a [`Job`] with a fresh [`JobId`]; the
//! [`Runner`] spawns it as a tokio task and every answer comes back as an [`Event`] inside a
//! [`Tagged`] message carrying that id, so the UI can drop answers of jobs it no longer waits
//! for. Jobs of one [`Job::slot`] supersede each other: starting one aborts the previous.
//! Nothing here draws, and nothing is shared with the UI but these messages.
//!
//! - [`context`]: the [`crate::session::Session`] jobs share with the CLI (overrides folded
//!   once). Jobs run the operations of [`crate::ops`]; they re-implement no workflow.
//! - [`inventory`]: the dashboard's rows and a certificate's detail (file I/O only).
//! - [`account`]: a CA's directory and terms, registering an account.
//! - [`acmedns`]: registering or importing acme-dns accounts.
//! - [`certs`]: saving and deleting certificate definitions.
//! - [`provider`]: mapping a domain to a DNS provider after testing its credentials.
//! - [`issue`]: the issuance engine with progress and a cancel that removes the records.
//! - [`propagation`]: one round of the propagation checker, answers streamed.
//! - [`server`], [`parent`]: the embedded acme-dns server run from the UI, and the check of
//!   the records that delegate its zone.
//! - [`logs`]: a tracing layer that forwards events to the UI's log pane.

pub mod account;
pub mod accounts;
pub mod acmedns;
pub mod certs;
pub mod context;
pub mod domains;
pub mod inventory;
pub mod issue;
pub mod logs;
pub mod profiles;
pub mod propagation;
pub mod provider;
mod runner;
pub mod server;
pub mod server_form;

use std::time::Duration;

pub use context::Context;
pub use runner::Runner;

use crate::acme::Step;
use crate::dns::parent;
use crate::solver::ChallengeRecord;

/// Identifies one started job; answers carry it back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct JobId(pub u64);

/// Work the UI asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Job {
    /// Read the configuration and the certificate store: [`Event::InventoryLoaded`].
    LoadInventory,
    /// Read one certificate's files: [`Event::DetailLoaded`].
    LoadDetail {
        /// Certificate name.
        name: String,
    },
    /// Read the certificate profiles each account's CA offers: [`Event::ProfilesLoaded`].
    LoadProfiles,
    /// Fetch a CA's directory (terms, EAB): [`Event::DirectoryFetched`].
    FetchDirectory {
        /// A preset name or an https URL.
        directory: String,
        /// Extra CA certificates trusted for its TLS (the account wizard's field).
        ca_bundle: Option<std::path::PathBuf>,
    },
    /// Register an account: [`Event::AccountRegistered`].
    RegisterAccount(account::AccountRequest),
    /// Add or replace a certificate definition: [`Event::CertificateSaved`].
    SaveCertificate(certs::CertRequest),
    /// Remove a certificate definition: [`Event::CertificateDeleted`].
    DeleteCertificate {
        /// Certificate name.
        name: String,
        /// Also delete its files and its key.
        purge: bool,
    },
    /// Issue or renew a certificate: [`Event::IssueProgress`] then [`Event::IssueFinished`].
    Issue {
        /// Certificate name.
        cert: String,
    },
    /// Register an acme-dns account: [`Event::AcmeDnsSaved`].
    AcmeDnsRegister(acmedns::RegisterRequest),
    /// Import acme-dns credentials: [`Event::AcmeDnsSaved`].
    AcmeDnsImport(acmedns::ImportRequest),
    /// One propagation round: [`Event::Probe`] per answer, then [`Event::PropagationChecked`].
    CheckPropagation {
        /// Who asks (one round per key runs at a time).
        key: String,
        /// What to check.
        target: propagation::Target,
    },
    /// Run the embedded acme-dns server until cancelled: [`Event::ServerStarted`], then
    /// [`Event::ServerStopped`].
    RunAcmeDnsServer(server::ServerRequest),
    /// Check the records that delegate the server's zone: [`Event::ParentChecked`].
    CheckParentRecords {
        /// The records to create once in the parent zone.
        records: Vec<parent::ParentRecord>,
    },
    /// Test a DNS provider's credentials and map a domain to it: [`Event::ProviderSaved`].
    SaveProvider(provider::ProviderRequest),
    /// Register the acme-dns domains on the running server: [`Event::ServerRegistered`].
    RegisterOnServer {
        /// The server's URL.
        url: String,
        /// Domains to add to the configured ones.
        domains: Vec<String>,
    },
    /// Remove an ACME account: [`Event::AccountRemoved`].
    RemoveAccount {
        /// Account name.
        name: String,
    },
    /// Read the accounts for the accounts view: [`Event::AccountsLoaded`].
    LoadAccounts,
    /// Remove a domain's solver mapping: [`Event::DomainRemoved`].
    RemoveDomain {
        /// The domain.
        domain: String,
    },
    /// Switch a sandbox fault on or off: [`Event::FaultSwitched`].
    SwitchFault {
        /// The sandbox directory.
        root: std::path::PathBuf,
        /// Index into [`crate::sandbox::Fault::ALL`].
        index: usize,
        /// On or off.
        on: bool,
    },
}

/// Which jobs supersede each other: starting a job aborts the running one of the same slot
/// (gitui's `AsyncGitNotification`: one variant per kind, never a string matched in tables).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Slot {
    /// [`Job::LoadInventory`].
    Inventory,
    /// [`Job::LoadDetail`].
    Detail,
    /// [`Job::LoadProfiles`].
    Profiles,
    /// [`Job::FetchDirectory`] and [`Job::RegisterAccount`].
    Account,
    /// [`Job::SaveCertificate`] and [`Job::DeleteCertificate`].
    Certs,
    /// [`Job::Issue`] of one certificate: issuances of different certificates run side by side.
    Issue(String),
    /// [`Job::CheckPropagation`] for one asker.
    Propagation(String),
    /// [`Job::AcmeDnsRegister`] and [`Job::AcmeDnsImport`].
    AcmeDns,
    /// [`Job::RunAcmeDnsServer`].
    AcmeDnsServer,
    /// [`Job::CheckParentRecords`].
    ServerParent,
    /// [`Job::RegisterOnServer`].
    ServerRegister,
    /// [`Job::SwitchFault`].
    Sandbox,
    /// [`Job::RemoveAccount`].
    AccountRemove,
    /// [`Job::SaveProvider`].
    Provider,
    /// [`Job::LoadAccounts`].
    Accounts,
    /// [`Job::RemoveDomain`].
    DomainRemove,
}

impl Job {
    /// Jobs with the same slot supersede each other.
    #[must_use]
    pub fn slot(&self) -> Slot {
        match self {
            Job::LoadInventory => Slot::Inventory,
            Job::LoadDetail { .. } => Slot::Detail,
            Job::LoadProfiles => Slot::Profiles,
            Job::FetchDirectory { .. } | Job::RegisterAccount(_) => Slot::Account,
            Job::SaveCertificate(_) | Job::DeleteCertificate { .. } => Slot::Certs,
            Job::Issue { cert } => Slot::Issue(cert.clone()),
            Job::CheckPropagation { key, .. } => Slot::Propagation(key.clone()),
            Job::AcmeDnsRegister(_) | Job::AcmeDnsImport(_) => Slot::AcmeDns,
            Job::RunAcmeDnsServer(_) => Slot::AcmeDnsServer,
            Job::CheckParentRecords { .. } => Slot::ServerParent,
            Job::RegisterOnServer { .. } => Slot::ServerRegister,
            Job::SwitchFault { .. } => Slot::Sandbox,
            Job::RemoveAccount { .. } => Slot::AccountRemove,
            Job::SaveProvider(_) => Slot::Provider,
            Job::LoadAccounts => Slot::Accounts,
            Job::RemoveDomain { .. } => Slot::DomainRemove,
        }
    }

    /// Whether the job changes something, so quitting while it runs asks first.
    #[must_use]
    pub fn changes_state(&self) -> bool {
        matches!(
            self,
            Job::RegisterAccount(_)
                | Job::AcmeDnsRegister(_)
                | Job::AcmeDnsImport(_)
                | Job::SaveCertificate(_)
                | Job::DeleteCertificate { .. }
                | Job::Issue { .. }
                | Job::RunAcmeDnsServer(_)
                | Job::RemoveAccount { .. }
                | Job::RegisterOnServer { .. }
                | Job::SaveProvider(_)
                | Job::RemoveDomain { .. }
        )
    }

    /// What the job does, for the status bar and the quit question.
    #[must_use]
    pub fn label(&self) -> String {
        match self {
            Job::LoadInventory => "reading certificates".to_owned(),
            Job::LoadDetail { name } => format!("reading {name}"),
            Job::LoadProfiles => "reading the CAs' profiles".to_owned(),
            Job::FetchDirectory { .. } => "fetching the CA's directory".to_owned(),
            Job::RegisterAccount(request) => format!("registering account {}", request.name),
            Job::SaveCertificate(request) => format!("saving {}", request.name),
            Job::DeleteCertificate { name, .. } => format!("deleting {name}"),
            Job::Issue { cert } => format!("issuing {cert}"),
            Job::CheckPropagation { .. } => "checking propagation".to_owned(),
            Job::AcmeDnsRegister(r) => format!("registering {} on acme-dns", r.domain),
            Job::AcmeDnsImport(_) => "importing acme-dns credentials".to_owned(),
            Job::RunAcmeDnsServer(_) => "acme-dns server".to_owned(),
            Job::CheckParentRecords { .. } => "checking the parent zone".to_owned(),
            Job::RegisterOnServer { .. } => "registering on the acme-dns server".to_owned(),
            Job::SwitchFault { index, on, .. } => format!(
                "switching {} {}",
                crate::sandbox::Fault::ALL
                    .get(*index)
                    .map(|f| f.label())
                    .unwrap_or_default(),
                if *on { "on" } else { "off" }
            ),
            Job::SaveProvider(r) => format!("testing the DNS provider of {}", r.domain),
            Job::RemoveAccount { name } => format!("removing account {name}"),
            Job::LoadAccounts => "reading accounts".to_owned(),
            Job::RemoveDomain { domain } => format!("removing the solver of {domain}"),
        }
    }

    /// Whether a cancel asks the job to stop cleanly instead of aborting it.
    #[must_use]
    pub fn cancels_gracefully(&self) -> bool {
        matches!(self, Job::Issue { .. } | Job::RunAcmeDnsServer(_))
    }
}

/// A job's answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The dashboard's data.
    InventoryLoaded(Result<inventory::Inventory, crate::ops::Shared>),
    /// One certificate's detail.
    DetailLoaded(Result<Box<inventory::CertDetail>, crate::ops::Shared>),
    /// The CA profiles of each account (name → its CA's profiles, or why not).
    ProfilesLoaded(profiles::Offered),
    /// A CA's directory metadata.
    DirectoryFetched(Result<account::DirectoryInfo, crate::ops::Shared>),
    /// An account was registered (or why not).
    AccountRegistered(Result<account::Registered, crate::ops::Shared>),
    /// A certificate definition was saved: its name.
    CertificateSaved(Result<String, crate::ops::Shared>),
    /// An account was removed: its name.
    AccountRemoved(Result<String, crate::ops::Shared>),
    /// A sandbox fault was switched: (index, on).
    FaultSwitched(Result<(usize, bool), crate::ops::Shared>),
    /// A certificate definition was removed: its name.
    CertificateDeleted(Result<String, crate::ops::Shared>),
    /// The issuance reached a step.
    IssueProgress {
        /// The step.
        step: Step,
        /// Time since the issuance started.
        elapsed: Duration,
    },
    /// The issuance ended.
    IssueFinished(Result<issue::Issued, issue::IssueFailure>),
    /// acme-dns registrations were saved (or why not).
    AcmeDnsSaved(Result<Vec<acmedns::Delegation>, crate::ops::Shared>),
    /// A propagation round discovered a zone or heard from an address.
    Probe(crate::dns::ProbeEvent),
    /// A propagation round ended.
    PropagationChecked(Result<Box<crate::dns::PropagationReport>, crate::ops::Shared>),
    /// The manual solver waits for the operator to create these records and confirm
    /// (answered with [`Runner::answer`]).
    RecordsToCreate(Vec<ChallengeRecord>),
    /// The embedded acme-dns server is listening.
    ServerStarted(server::ServerInfo),
    /// The server stopped (or could not start: why).
    ServerStopped(Result<(), crate::ops::Shared>),
    /// The parent zone's records were checked.
    ParentChecked(Result<Vec<parent::RecordCheck>, crate::ops::Shared>),
    /// The acme-dns domains are registered on the running server.
    ServerRegistered(Result<Vec<acmedns::Delegation>, crate::ops::Shared>),
    /// A DNS provider mapping was tested and saved (the test's words), or why not.
    ProviderSaved(Result<String, crate::ops::Shared>),
    /// The accounts for the accounts view.
    AccountsLoaded(Result<Vec<accounts::AccountRow>, crate::ops::Shared>),
    /// A domain's solver mapping was removed: the domain.
    DomainRemoved(Result<String, crate::ops::Shared>),
    /// The job's task panicked; the message says where.
    Panicked(String),
}

impl Event {
    /// Whether this is the job's last answer.
    #[must_use]
    pub fn is_final(&self) -> bool {
        !matches!(
            self,
            Event::IssueProgress { .. }
                | Event::Probe(_)
                | Event::RecordsToCreate(_)
                | Event::ServerStarted(_)
        )
    }
}

/// An answer with the id of the job that sent it.
#[derive(Debug, Clone, PartialEq)]
pub struct Tagged {
    /// The job.
    pub id: JobId,
    /// Its answer.
    pub event: Event,
}
