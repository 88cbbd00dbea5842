//! The acme-dns wizard: register an account (server, allow-from) or import a credentials
//! file; then the CNAME to create in copy-ready forms, and a live check that turns each
//! authoritative address green as the record appears.

use std::path::PathBuf;
use std::time::Duration;

use crossterm::event::KeyEvent;

use crate::jobs::acmedns::{self, Delegation, ImportRequest, RegisterRequest};
use crate::jobs::propagation::Target;
use crate::jobs::{Job, JobId};
use crate::tui::action::Action;
use crate::tui::form::{Field, Form};
use crate::tui::screens::dashboard;
use crate::tui::state::State;
use crate::tui::update::{Effect, Nav};
use crate::tui::watch::Watch;

/// What the wizard does.
pub const MODES: [&str; 2] = [
    "register a new acme-dns account",
    "import a credentials file (goacmedns, certbot)",
];
/// The forms of the record that can be copied.
pub const FORMS: [&str; 3] = ["zone file line", "name in the zone", "CNAME target"];
/// Time between rounds of the live check.
pub const WATCH_EVERY: Duration = Duration::from_secs(5);

/// Where the wizard is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stage {
    /// Filling in.
    Edit,
    /// Registering or importing.
    Working(JobId),
    /// Saved: the records to create, which one is shown, which form is highlighted.
    Done {
        /// Every delegation saved.
        delegations: Vec<Delegation>,
        /// The one shown (and checked).
        shown: usize,
        /// Index into [`FORMS`].
        form: usize,
    },
}

/// The wizard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcmeDnsWizard {
    /// The fields.
    pub form: Form,
    /// Where it is.
    pub stage: Stage,
    /// The last failure.
    pub error: Option<String>,
    /// The live check of the shown delegation.
    pub watch: Option<Watch>,
}

impl AcmeDnsWizard {
    /// A new wizard; `server` pre-fills the URL (an acme-dns server already in use).
    #[must_use]
    pub fn new(server: Option<&str>) -> Self {
        let modes = MODES.iter().map(|m| (*m).to_owned()).collect();
        let mut wizard = Self {
            form: Form::new(vec![
                Field::choice("mode", "Action", modes, 0),
                Field::text("domain", "Domain", ""),
                Field::text("server", "Server URL", server.unwrap_or("https://")),
                Field::text("allow_from", "Allow from", ""),
                Field::check("insecure", "Allow plain http to a remote server", false),
                Field::check("use", "Use acme-dns for this domain's certificates", true),
            ]),
            stage: Stage::Edit,
            error: None,
            watch: None,
        };
        wizard.form.focus = 1;
        wizard.validate();
        wizard
    }

    /// The wizard showing an existing registration, its live check to be started.
    #[must_use]
    pub fn existing(delegation: Delegation) -> Self {
        let mut wizard = Self::new(Some(&delegation.server));
        wizard.watch = Some(live(&delegation));
        wizard.stage = Stage::Done {
            delegations: vec![delegation],
            shown: 0,
            form: 0,
        };
        wizard
    }

    fn importing(&self) -> bool {
        self.form.choice("mode") == 1
    }

    /// Show the fields of the chosen mode; check them; set inline errors.
    pub fn validate(&mut self) {
        let importing = self.importing();
        let has_file = self.form.field("file").is_some();
        if importing && !has_file {
            self.form
                .fields
                .retain(|f| f.id != "domain" && f.id != "allow_from");
            let mut file = Field::text("file", "Credentials file", "");
            file.note = Some("JSON from lego/acme-dns-client or certbot-dns-acmedns".into());
            self.form.fields.insert(1, file);
            if let Some(server) = self.form.field_mut("server") {
                server.note = Some("needed for certbot files; replaces the URLs of others".into());
            }
        } else if !importing && has_file {
            self.form.fields.retain(|f| f.id != "file");
            self.form
                .fields
                .insert(1, Field::text("domain", "Domain", ""));
            self.form
                .fields
                .insert(3, Field::text("allow_from", "Allow from", ""));
            if let Some(server) = self.form.field_mut("server") {
                server.note = None;
            }
        }
        let insecure = self.form.checked("insecure");
        let server = self.form.text("server").trim().to_owned();
        let server_error = match (importing, server.as_str()) {
            (true, "" | "https://") => None,
            _ => acmedns::validate("example.com", &server, &[], insecure)
                .err()
                .map(|e| e.to_string()),
        };
        self.form.set_error("server", server_error);
        if importing {
            let empty = self.form.text("file").trim().is_empty();
            self.form
                .set_error("file", empty.then(|| "the file to import".to_owned()));
        } else {
            let domain = self.form.text("domain").trim().to_owned();
            let domain_error = match domain.as_str() {
                "" => Some("the domain whose _acme-challenge is delegated".to_owned()),
                d => acmedns::validate(d, "https://a.example", &[], false)
                    .err()
                    .map(|e| e.to_string()),
            };
            self.form.set_error("domain", domain_error);
            let networks = split(self.form.text("allow_from"));
            let cidr_error =
                acmedns::validate("example.com", "https://a.example", &networks, false)
                    .err()
                    .map(|e| e.to_string());
            self.form.set_error("allow_from", cidr_error);
            if let Some(field) = self.form.field_mut("allow_from") {
                field.note = Some("CIDRs allowed to update the record; empty: anywhere".into());
            }
        }
    }

    fn job(&self) -> Job {
        let server = self.form.text("server").trim().to_owned();
        let allow_insecure_http = self.form.checked("insecure");
        let use_for_issuance = self.form.checked("use");
        if self.importing() {
            let server = (!server.is_empty() && server != "https://").then_some(server);
            Job::AcmeDnsImport(ImportRequest {
                path: PathBuf::from(self.form.text("file").trim()),
                server,
                allow_insecure_http,
                use_for_issuance,
            })
        } else {
            Job::AcmeDnsRegister(RegisterRequest {
                domain: self.form.text("domain").trim().to_owned(),
                server,
                allow_from: split(self.form.text("allow_from")),
                allow_insecure_http,
                use_for_issuance,
            })
        }
    }

    /// The text `y` copies now.
    #[must_use]
    pub fn copy_text(&self) -> Option<String> {
        let Stage::Done {
            delegations,
            shown,
            form,
        } = &self.stage
        else {
            return None;
        };
        let record = &delegations.get(*shown)?.record;
        Some(match form {
            0 => record.zone_line(),
            1 => record
                .relative_owner(&self.zone())
                .unwrap_or_else(|| record.owner.clone()),
            _ => record.target.clone(),
        })
    }

    /// The zone holding the shown domain: what the live check found, else the domain.
    #[must_use]
    pub fn zone(&self) -> String {
        let found = self.watch.as_ref().and_then(|w| {
            w.matrix
                .rows()
                .into_iter()
                .find(|row| row.hop == 0)
                .map(|row| row.zone.clone())
        });
        match (&self.stage, found) {
            (_, Some(zone)) => zone,
            (
                Stage::Done {
                    delegations, shown, ..
                },
                None,
            ) => delegations
                .get(*shown)
                .map(|d| d.record.domain.clone())
                .unwrap_or_default(),
            _ => String::new(),
        }
    }
}

fn split(text: &str) -> Vec<String> {
    text.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The live check of one delegation.
fn live(delegation: &Delegation) -> Watch {
    let target = Target::Delegation {
        domain: delegation.record.domain.clone(),
        target: delegation.record.target.clone(),
    };
    let mut watch = Watch::new("acme-dns", target, WATCH_EVERY);
    // Start at the next tick.
    watch.next = Some(Duration::ZERO);
    watch
}

/// A key for the form; `true` when used.
pub fn on_key(wizard: &mut AcmeDnsWizard, key: &KeyEvent) -> bool {
    if wizard.stage != Stage::Edit || !wizard.form.handle_key(key) {
        return false;
    }
    wizard.error = None;
    wizard.validate();
    true
}

/// An action in the wizard.
pub fn on_action(
    wizard: &mut AcmeDnsWizard,
    state: &mut State,
    action: Action,
) -> (Nav, Vec<Effect>) {
    if let Stage::Done {
        delegations,
        shown,
        form,
    } = &mut wizard.stage
    {
        match action {
            Action::SwitchPane => *form = (*form + 1) % FORMS.len(),
            Action::MoveDown | Action::MoveUp if delegations.len() > 1 => {
                let step = if action == Action::MoveDown {
                    1
                } else {
                    delegations.len() - 1
                };
                *shown = (*shown + step) % delegations.len();
                wizard.watch = Some(live(&delegations[*shown]));
            }
            Action::Copy => {
                let text = wizard.copy_text().unwrap_or_default();
                state.notify(format!("copied: {text}"));
                return (Nav::Stay, vec![Effect::Copy(text)]);
            }
            Action::Refresh | Action::Check => {
                if let Some(watch) = &mut wizard.watch {
                    return (Nav::Stay, vec![watch.start(state)]);
                }
            }
            Action::Back | Action::Open => return (Nav::Close, close(wizard, state)),
            _ => {}
        }
        return (Nav::Stay, Vec::new());
    }
    match action {
        Action::Back => return (Nav::Close, Vec::new()),
        Action::MoveDown | Action::SwitchPane => wizard.form.focus_next(),
        Action::MoveUp => wizard.form.focus_prev(),
        Action::Open if wizard.stage == Stage::Edit => {
            if wizard.form.has_errors() {
                wizard.error = Some("fix the marked fields first".into());
                return (Nav::Stay, Vec::new());
            }
            let (id, effect) = state.start(wizard.job());
            wizard.stage = Stage::Working(id);
            wizard.error = None;
            return (Nav::Stay, vec![effect]);
        }
        _ => {}
    }
    (Nav::Stay, Vec::new())
}

fn close(wizard: &mut AcmeDnsWizard, state: &mut State) -> Vec<Effect> {
    let id = wizard.watch.as_mut().and_then(|w| w.job.take());
    id.map(|id| {
        state.running.remove(&id);
        Effect::Cancel { id }
    })
    .into_iter()
    .collect()
}

/// The registration or import answered.
pub fn saved(
    wizard: &mut AcmeDnsWizard,
    state: &mut State,
    result: Result<Vec<Delegation>, String>,
) -> Vec<Effect> {
    match result {
        Ok(delegations) if !delegations.is_empty() => {
            wizard.watch = Some(live(&delegations[0]));
            wizard.stage = Stage::Done {
                delegations,
                shown: 0,
                form: 0,
            };
            dashboard::reload(state)
        }
        Ok(_) => {
            wizard.stage = Stage::Edit;
            wizard.error = Some("the file holds no account".into());
            Vec::new()
        }
        Err(e) => {
            wizard.stage = Stage::Edit;
            wizard.error = Some(e);
            Vec::new()
        }
    }
}
