//! Everything the UI shows, and nothing about how it is drawn. Changed only by
//! [`crate::tui::update::update`].

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use crate::jobs::logs::LogLine;
use crate::jobs::{Job, JobId, Slot};
use crate::tui::keymap::Keymap;
use crate::tui::screens::account::AccountWizard;
use crate::tui::screens::accounts::AccountsScreen;
use crate::tui::screens::acmedns::AcmeDnsWizard;
use crate::tui::screens::dashboard::Dashboard;
use crate::tui::screens::detail::DetailScreen;
use crate::tui::screens::editor::CertEditor;
use crate::tui::screens::issuance::Issuance;
use crate::tui::screens::jobs::JobsScreen;
use crate::tui::screens::palette::Palette;
use crate::tui::screens::propagation::PropagationScreen;
use crate::tui::screens::provider::ProviderWizard;
use crate::tui::screens::server::ServerPanel;
use crate::tui::update::Effect;
use crate::tui::watch::Watch;

pub use crate::tui::screens::dashboard::{by_urgency, urgency, LoadStatus, Pane, Urgency};

/// Frames of the spinner shown while work runs, advanced by ticks.
pub const SPINNER: &[&str] = &["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
/// Log lines kept for the log pane.
pub const LOG_LINES: usize = 500;
/// How long a notice stays in the status bar.
pub const NOTICE_FOR: Duration = Duration::from_secs(4);

/// A screen over the dashboard; the last one of [`State::stack`] is shown.
#[derive(Debug, Clone, PartialEq)]
pub enum Screen {
    /// One certificate in detail.
    Detail(DetailScreen),
    /// The account wizard.
    Account(AccountWizard),
    /// The certificate editor.
    Editor(CertEditor),
    /// Issuance progress of a certificate (its state is in [`State::issuances`]).
    Issuance {
        /// Certificate name.
        cert: String,
    },
    /// A propagation matrix.
    Propagation(PropagationScreen),
    /// The acme-dns wizard.
    AcmeDns(AcmeDnsWizard),
    /// The acme-dns server (its state is in [`State::server`]).
    Server,
    /// The DNS provider wizard (rfc2136, powerdns).
    Provider(ProviderWizard),
    /// The ACME accounts.
    Accounts(AccountsScreen),
    /// The jobs view: issuances of this session (their state is in [`State::issuances`]).
    Jobs(JobsScreen),
}

/// What the user is asked to confirm, and what happens on yes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirmed {
    /// Leave although work is running.
    Quit,
    /// Delete a certificate definition.
    Delete {
        /// Certificate name.
        name: String,
        /// Also its files and key.
        purge: bool,
    },
    /// Renew a certificate that is not due.
    Issue {
        /// Certificate name.
        cert: String,
    },
    /// Remove an ACME account (its key goes from the keyring).
    RemoveAccount {
        /// Account name.
        name: String,
    },
    /// Remove a domain's solver mapping.
    RemoveDomain {
        /// The domain.
        domain: String,
    },
    /// Cancel a running or queued issuance (its records are removed).
    CancelIssue {
        /// Certificate name.
        cert: String,
    },
    /// Renew or issue several certificates in the background.
    Bulk {
        /// Certificate names.
        certs: Vec<String>,
    },
}

/// A modal box over everything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Popup {
    /// Something failed.
    Error {
        /// One line.
        title: String,
        /// The whole message, verbatim.
        message: String,
    },
    /// A yes/no question; `alternative` is a third answer (key, label, action).
    Confirm {
        /// The question.
        question: String,
        /// More about it.
        detail: String,
        /// What `y` does.
        yes: Confirmed,
        /// Another answer, e.g. `p` to purge when deleting.
        alternative: Option<(char, String, Confirmed)>,
    },
    /// The sandbox's fault menu; `cursor` is the selected fault.
    Sandbox {
        /// Index into [`crate::sandbox::Fault::ALL`].
        cursor: usize,
    },
    /// The manual solver waits: create these records, then Enter (Esc cancels the order).
    Records {
        /// The certificate being issued.
        cert: String,
        /// Its issuance job, which waits for the answer.
        job: JobId,
        /// The records, one zone-file line each.
        lines: Vec<String>,
    },
}

/// A job the UI waits for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Running {
    /// Jobs of one slot supersede each other.
    pub slot: Slot,
    /// What it does.
    pub label: String,
    /// Whether quitting should ask.
    pub changes_state: bool,
}

/// The log pane.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LogPane {
    /// Shown?
    pub open: bool,
    /// Recent events, oldest first.
    pub lines: VecDeque<LogLine>,
    /// Lines scrolled back from the newest.
    pub scroll: usize,
}

/// The whole UI state.
#[derive(Debug, Clone, PartialEq)]
pub struct State {
    /// Keys to actions.
    pub keymap: Keymap,
    /// Terminal size (columns, rows), for paging and mouse hit tests.
    pub size: (u16, u16),
    /// Time since the UI started, from ticks (for elapsed times and countdowns).
    pub clock: Duration,
    /// The dashboard, always underneath.
    pub dashboard: Dashboard,
    /// Screens opened over the dashboard.
    pub stack: Vec<Screen>,
    /// Issuances of this session by certificate (running and finished).
    pub issuances: BTreeMap<String, Issuance>,
    /// The acme-dns server screen, once opened (the server outlives the screen).
    pub server: Option<ServerPanel>,
    /// The help overlay is open.
    pub help: bool,
    /// The log pane.
    pub log: LogPane,
    /// A modal popup.
    pub popup: Option<Popup>,
    /// A short message in the status bar and when it disappears.
    pub notice: Option<(String, Duration)>,
    /// Jobs whose answers are awaited; answers of other ids are stale and dropped.
    pub running: BTreeMap<JobId, Running>,
    /// The last job id handed out.
    pub last_job: u64,
    /// Spinner frame.
    pub spinner: usize,
    /// Names of the themes that can be switched to.
    pub themes: Vec<String>,
    /// Index of the current theme.
    pub theme: usize,
    /// Inside `certpilot sandbox`: its directory and which faults are on.
    pub sandbox: Option<SandboxFaults>,
    /// The command palette, when open (over everything but popups).
    pub palette: Option<Palette>,
    /// The acme-dns server form's settings from the last start (also of an earlier run).
    pub server_form: Option<crate::jobs::server::ServerRequest>,
}

/// The sandbox's faults as the dashboard knows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxFaults {
    /// The sandbox directory (its `sandbox.json` says where everything is).
    pub root: std::path::PathBuf,
    /// Per [`crate::sandbox::Fault::ALL`]: switched on.
    pub on: Vec<bool>,
}

impl Default for State {
    fn default() -> Self {
        Self::new()
    }
}

impl State {
    /// A state with the default keymap and theme, before anything is loaded.
    #[must_use]
    pub fn new() -> Self {
        Self::with(Keymap::default(), vec!["default".to_owned()], 0)
    }

    /// A state with this keymap and these themes.
    #[must_use]
    pub fn with(keymap: Keymap, themes: Vec<String>, theme: usize) -> Self {
        Self {
            keymap,
            size: (80, 24),
            clock: Duration::ZERO,
            dashboard: Dashboard::default(),
            stack: Vec::new(),
            issuances: BTreeMap::new(),
            server: None,
            help: false,
            log: LogPane::default(),
            popup: None,
            notice: None,
            running: BTreeMap::new(),
            last_job: 0,
            spinner: 0,
            themes,
            theme,
            sandbox: None,
            palette: None,
            server_form: None,
        }
    }

    /// Start `job`: a fresh id, superseding a running job of the same slot.
    pub fn start(&mut self, job: Job) -> (JobId, Effect) {
        self.last_job += 1;
        let id = JobId(self.last_job);
        let slot = job.slot();
        self.running.retain(|_, running| running.slot != slot);
        self.running.insert(
            id,
            Running {
                slot,
                label: job.label(),
                changes_state: job.changes_state(),
            },
        );
        (id, Effect::Start { id, job })
    }

    /// Whether any job runs (the spinner turns).
    #[must_use]
    pub fn busy(&self) -> bool {
        !self.running.is_empty()
    }

    /// Labels of running jobs that change something (quitting asks about these).
    #[must_use]
    pub fn work_in_progress(&self) -> Vec<String> {
        let queued = self
            .issuances
            .values()
            .filter(|i| i.queued && i.running())
            .map(|i| format!("issuing {} (queued)", i.cert));
        self.running
            .values()
            .filter(|r| r.changes_state)
            .map(|r| r.label.clone())
            .chain(queued)
            .collect()
    }

    /// Whether the app needs ticks (animation, elapsed times, notices, countdowns).
    #[must_use]
    pub fn needs_tick(&self) -> bool {
        self.busy()
            || self.notice.is_some()
            // "2 min ago" in the domains pane counts on while the dashboard shows.
            || (self.stack.is_empty() && !self.dashboard.checks.is_empty())
            || self.watches().any(|w| w.next.is_some())
            || self.server.as_ref().is_some_and(|s| s.next_check.is_some())
    }

    /// Every live matrix: on screens and in issuances.
    pub fn watches(&self) -> impl Iterator<Item = &Watch> {
        let screens = self.stack.iter().filter_map(|s| match s {
            Screen::Propagation(p) => Some(&p.watch),
            Screen::AcmeDns(w) => w.watch.as_ref(),
            _ => None,
        });
        let server = self.server.as_ref().and_then(|s| s.watch.as_ref());
        screens
            .chain(self.issuances.values().filter_map(|i| i.watch.as_ref()))
            .chain(server)
    }

    /// The watch whose round is job `id`.
    pub fn watch_for(&mut self, id: JobId) -> Option<&mut Watch> {
        let screens = self.stack.iter_mut().filter_map(|s| match s {
            Screen::Propagation(p) => Some(&mut p.watch),
            Screen::AcmeDns(w) => w.watch.as_mut(),
            _ => None,
        });
        let issuances = self.issuances.values_mut().filter_map(|i| i.watch.as_mut());
        let server = self.server.as_mut().and_then(|s| s.watch.as_mut());
        screens
            .chain(issuances)
            .chain(server)
            .find(|w| w.job == Some(id))
    }

    /// The spinner frame to draw.
    #[must_use]
    pub fn spinner_frame(&self) -> &'static str {
        SPINNER[self.spinner % SPINNER.len()]
    }

    /// The screen on top, `None` for the dashboard.
    #[must_use]
    pub fn screen(&self) -> Option<&Screen> {
        self.stack.last()
    }

    /// Show a notice in the status bar for a few seconds.
    pub fn notify(&mut self, text: impl Into<String>) {
        self.notice = Some((text.into(), self.clock + NOTICE_FOR));
    }

    /// Show an error popup.
    pub fn fail(&mut self, title: impl Into<String>, message: impl Into<String>) {
        self.popup = Some(Popup::Error {
            title: title.into(),
            message: message.into(),
        });
    }

    /// Add a log line, dropping the oldest beyond [`LOG_LINES`].
    pub fn push_log(&mut self, line: LogLine) {
        if self.log.lines.len() == LOG_LINES {
            self.log.lines.pop_front();
        }
        self.log.lines.push_back(line);
    }

    /// The current theme's name.
    #[must_use]
    pub fn theme_name(&self) -> &str {
        self.themes
            .get(self.theme)
            .map_or("default", String::as_str)
    }
}
