//! The acme-dns server screen (Kalm's flow): start the embedded server, show the two records
//! to create once in the parent zone and check them live, then one CNAME per acme-dns domain
//! registered on this server, with the live check of the selected one.
//!
//! The server runs as a job for as long as the UI runs (or until stopped here); leaving the
//! screen keeps it running, and its state lives in [`State::server`] so the screen comes back
//! as it was.

use std::path::PathBuf;
use std::time::Duration;

use crossterm::event::KeyEvent;

use crate::dns::parent::RecordCheck;
use crate::jobs::acmedns::Delegation;
use crate::jobs::propagation::Target;
use crate::jobs::server::{ServerInfo, ServerRequest};
use crate::jobs::{Job, JobId};
use crate::tui::action::Action;
use crate::tui::form::{Field, Form};
use crate::tui::state::{Screen, State};
use crate::tui::update::{Effect, Nav};
use crate::tui::watch::Watch;

mod answers;

pub use answers::{checked, registered, started, stopped, tick};

/// Time between checks of the parent zone's records, until both are served.
pub const CHECK_EVERY: Duration = Duration::from_secs(5);

/// Where the server is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stage {
    /// Filling in.
    Edit,
    /// The job is starting it.
    Starting(JobId),
    /// Listening.
    Running {
        /// The server's job (cancelled to stop it).
        job: JobId,
        /// What it listens on, and the records for the parent zone.
        info: ServerInfo,
    },
    /// Asked to stop.
    Stopping(JobId),
}

/// The screen's state, kept while the UI runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerPanel {
    /// The fields.
    pub form: Form,
    /// Where the server is.
    pub stage: Stage,
    /// The last failure.
    pub error: Option<String>,
    /// The last check of the parent zone's records.
    pub checks: Option<Result<Vec<RecordCheck>, String>>,
    /// The check running.
    pub check_job: Option<JobId>,
    /// When the next check starts (UI clock).
    pub next_check: Option<Duration>,
    /// The registration running.
    pub register_job: Option<JobId>,
    /// The CNAME of every acme-dns domain on this server.
    pub delegations: Vec<Delegation>,
    /// The selected row: the parent records first, then the CNAMEs.
    pub selected: usize,
    /// The live check of the selected CNAME.
    pub watch: Option<Watch>,
}

impl ServerPanel {
    /// A new form; `domains` pre-fills the acme-dns domains to register.
    #[must_use]
    pub fn new(domains: &[String]) -> Self {
        let mut file = Field::text("config_file", "Server config file", "");
        file.note = Some("optional: as for acme-dns serve --config; wins over the fields".into());
        let mut domains = Field::text("domains", "acme-dns domains", &domains.join(", "));
        domains.note = Some("registered on this server; each gets one CNAME".into());
        let mut panel = Self {
            form: Form::new(vec![
                file,
                Field::text("zone", "Challenge zone", ""),
                Field::text("nameserver", "Nameserver host", ""),
                Field::text("address", "Its public IP", ""),
                Field::text("dns_listen", "DNS listen", "0.0.0.0:53"),
                Field::text("http_listen", "HTTP API listen", "127.0.0.1:8053"),
                domains,
            ]),
            stage: Stage::Edit,
            error: None,
            checks: None,
            check_job: None,
            next_check: None,
            register_job: None,
            delegations: Vec::new(),
            selected: 0,
            watch: None,
        };
        panel.form.focus = 1;
        panel.validate();
        panel
    }

    /// Fill the form with the settings of an earlier start.
    pub fn restore(&mut self, saved: &ServerRequest) {
        let file = saved
            .config_file
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        let fields = [
            ("config_file", file.as_str()),
            ("zone", saved.zone.as_str()),
            ("nameserver", saved.nameserver.as_str()),
            ("address", saved.address.as_str()),
            ("dns_listen", saved.dns_listen.as_str()),
            ("http_listen", saved.http_listen.as_str()),
        ];
        for (id, value) in fields {
            self.form.set_text(id, value);
        }
        self.validate();
    }

    /// What the form asks for.
    #[must_use]
    pub fn request(&self) -> ServerRequest {
        let file = self.form.text("config_file").trim();
        ServerRequest {
            config_file: (!file.is_empty()).then(|| PathBuf::from(file)),
            zone: self.form.text("zone").trim().to_owned(),
            nameserver: self.form.text("nameserver").trim().to_owned(),
            address: self.form.text("address").trim().to_owned(),
            dns_listen: self.form.text("dns_listen").trim().to_owned(),
            http_listen: self.form.text("http_listen").trim().to_owned(),
        }
    }

    /// Mark the field at fault (a config file is read by the job, not here).
    pub fn validate(&mut self) {
        let request = self.request();
        let error = match &request.config_file {
            Some(_) => None,
            None => request.config(PathBuf::new()).err(),
        };
        let fields = [
            ("zone", "zone:"),
            ("nameserver", "nameserver:"),
            ("address", "public IP"),
            ("dns_listen", "DNS listen"),
            ("http_listen", "HTTP listen"),
        ];
        for (id, prefix) in fields {
            let mine = error.as_ref().filter(|e| e.starts_with(prefix)).cloned();
            self.form.set_error(id, mine);
        }
    }

    /// The extra domains typed in the form.
    #[must_use]
    pub fn domains(&self) -> Vec<String> {
        self.form
            .text("domains")
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// The server's job while it runs (or stops).
    #[must_use]
    pub fn job(&self) -> Option<JobId> {
        match &self.stage {
            Stage::Starting(job) | Stage::Running { job, .. } | Stage::Stopping(job) => Some(*job),
            Stage::Edit => None,
        }
    }

    /// The records for the parent zone while running.
    #[must_use]
    pub fn info(&self) -> Option<&ServerInfo> {
        match &self.stage {
            Stage::Running { info, .. } => Some(info),
            _ => None,
        }
    }

    /// Rows on the running screen: parent records, then CNAMEs.
    #[must_use]
    pub fn rows(&self) -> usize {
        self.info().map_or(0, |i| i.records.len()) + self.delegations.len()
    }

    /// The zone-file line of row `index`.
    #[must_use]
    pub fn line(&self, index: usize) -> Option<String> {
        let records = self
            .info()
            .map(|i| i.records.as_slice())
            .unwrap_or_default();
        match records.get(index) {
            Some(record) => Some(record.zone_line()),
            None => self
                .delegations
                .get(index - records.len())
                .map(|d| d.record.zone_line()),
        }
    }

    /// The check of parent record `index`, once known.
    #[must_use]
    pub fn check(&self, index: usize) -> Option<&RecordCheck> {
        match &self.checks {
            Some(Ok(checks)) => checks.get(index),
            _ => None,
        }
    }

    /// Select row `index` (clamped); a CNAME row gets the live check.
    pub fn select(&mut self, index: usize) {
        self.selected = index.min(self.rows().saturating_sub(1));
        let parents = self.info().map_or(0, |i| i.records.len());
        let delegation = self
            .selected
            .checked_sub(parents)
            .and_then(|i| self.delegations.get(i));
        let target = delegation.map(|d| Target::Delegation {
            domain: d.record.domain.clone(),
            target: d.record.target.clone(),
        });
        if self.watch.as_ref().map(|w| &w.target) != target.as_ref() {
            self.watch = target.map(|target| {
                let mut watch = Watch::new("acme-dns-server", target, CHECK_EVERY);
                watch.next = Some(Duration::ZERO);
                watch
            });
        }
    }
}

/// `S` on the dashboard: the screen, as it was left.
pub fn open(state: &mut State) {
    if state.server.is_none() {
        let domains: Vec<String> = state
            .dashboard
            .domains
            .iter()
            .filter(|d| d.solver == "acme-dns")
            .map(|d| d.domain.clone())
            .collect();
        let mut panel = ServerPanel::new(&domains);
        if let Some(saved) = &state.server_form {
            panel.restore(saved);
        }
        state.server = Some(panel);
    }
    state.stack.push(Screen::Server);
}

/// A key for the form; `true` when used.
pub fn on_key(state: &mut State, key: &KeyEvent) -> bool {
    let Some(panel) = &mut state.server else {
        return false;
    };
    if panel.stage != Stage::Edit || !panel.form.handle_key(key) {
        return false;
    }
    panel.error = None;
    panel.validate();
    true
}

/// An action on the screen.
pub fn on_action(state: &mut State, action: Action) -> (Nav, Vec<Effect>) {
    let Some(mut panel) = state.server.take() else {
        return (Nav::Close, Vec::new());
    };
    let result = match panel.stage {
        Stage::Edit => on_form(&mut panel, state, action),
        Stage::Running { .. } => on_running(&mut panel, state, action),
        Stage::Starting(_) | Stage::Stopping(_) => (
            if action == Action::Back {
                Nav::Close
            } else {
                Nav::Stay
            },
            Vec::new(),
        ),
    };
    state.server = Some(panel);
    result
}

fn on_form(panel: &mut ServerPanel, state: &mut State, action: Action) -> (Nav, Vec<Effect>) {
    match action {
        Action::Back => return (Nav::Close, Vec::new()),
        Action::MoveDown | Action::SwitchPane => panel.form.focus_next(),
        Action::MoveUp => panel.form.focus_prev(),
        Action::Open => {
            if panel.form.has_errors() {
                panel.error = Some("fix the marked fields first".into());
                return (Nav::Stay, Vec::new());
            }
            state.server_form = Some(panel.request());
            let (id, effect) = state.start(Job::RunAcmeDnsServer(panel.request()));
            panel.stage = Stage::Starting(id);
            panel.error = None;
            return (Nav::Stay, vec![effect]);
        }
        _ => {}
    }
    (Nav::Stay, Vec::new())
}

fn on_running(panel: &mut ServerPanel, state: &mut State, action: Action) -> (Nav, Vec<Effect>) {
    match action {
        Action::Back => {
            let key = state.keymap.label(Action::AcmeDnsServer);
            state.notify(format!("the acme-dns server keeps running; {key} shows it"));
            return (Nav::Close, Vec::new());
        }
        Action::MoveDown => panel.select(panel.selected + 1),
        Action::MoveUp => panel.select(panel.selected.saturating_sub(1)),
        Action::Copy => {
            if let Some(line) = panel.line(panel.selected) {
                state.notify(format!("copied: {line}"));
                return (Nav::Stay, vec![Effect::Copy(line)]);
            }
        }
        Action::Refresh | Action::Check => {
            let mut effects = vec![check_now(panel, state)];
            if let Some(watch) = &mut panel.watch {
                effects.push(watch.start(state));
            }
            return (Nav::Stay, effects);
        }
        Action::Delete => {
            let Some(job) = panel.job() else {
                return (Nav::Stay, Vec::new());
            };
            panel.stage = Stage::Stopping(job);
            let mut effects = vec![Effect::Cancel { id: job }];
            effects.extend(forget_checks(panel, state));
            return (Nav::Stay, effects);
        }
        _ => {}
    }
    (Nav::Stay, Vec::new())
}

/// Start checking the parent zone's records now.
fn check_now(panel: &mut ServerPanel, state: &mut State) -> Effect {
    let records = panel.info().map(|i| i.records.clone()).unwrap_or_default();
    let (id, effect) = state.start(Job::CheckParentRecords { records });
    panel.check_job = Some(id);
    panel.next_check = None;
    effect
}

/// Stop every check of a server that goes away.
fn forget_checks(panel: &mut ServerPanel, state: &mut State) -> Vec<Effect> {
    let jobs = [
        panel.check_job.take(),
        panel.register_job.take(),
        panel.watch.take().and_then(|w| w.job),
    ];
    panel.next_check = None;
    jobs.into_iter()
        .flatten()
        .map(|id| {
            state.running.remove(&id);
            Effect::Cancel { id }
        })
        .collect()
}
