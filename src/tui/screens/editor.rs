//! The certificate editor: name, names (checked as typed), key type, account, and a solver
//! for every domain that has none yet.

use std::path::PathBuf;

use crossterm::event::KeyEvent;

use crate::config::{DomainConfig, KeyType};
use crate::domain::names;
use crate::inventory::CertRow;
use crate::jobs::certs::CertRequest;
use crate::jobs::inventory::DomainRow;
use crate::jobs::{Job, JobId};
use crate::tui::action::Action;
use crate::tui::form::{Field, Form, Input};
use crate::tui::screens::dashboard::Dashboard;
use crate::tui::screens::profiles::{self, Offered};
use crate::tui::state::State;
use crate::tui::update::{Effect, Nav};

/// Solver options offered for a domain without one.
pub const SOLVERS: [&str; 2] = ["exec (a hook program)", "manual (asks on the terminal)"];
/// Shown in the account field when there is none.
pub const NO_ACCOUNT: &str = "(none yet: press Esc, then A to register one)";

/// The editor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertEditor {
    /// The certificate being edited; `None` for a new one.
    pub original: Option<String>,
    /// The fields.
    pub form: Form,
    /// Names already in use (a new certificate may not take one).
    pub taken: Vec<String>,
    /// Configured solver domains.
    pub domains: Vec<DomainRow>,
    /// Configured accounts.
    pub accounts: Vec<String>,
    /// The save whose answer is awaited.
    pub request: Option<JobId>,
    /// The CA profiles of each account; `None` while they are being read.
    pub profiles: Option<Offered>,
    /// The profile read whose answer is awaited.
    pub profiles_request: Option<JobId>,
    /// Why the last save failed.
    pub error: Option<String>,
}

impl CertEditor {
    /// An editor for `row`, or for a new certificate.
    #[must_use]
    pub fn new(row: Option<&CertRow>, dashboard: &Dashboard) -> Self {
        let mut fields = Vec::new();
        if row.is_none() {
            fields.push(Field::text("name", "Name", ""));
        }
        let names = row.map(|r| r.names.join(", ")).unwrap_or_default();
        fields.push(Field::text("names", "DNS names", &names));
        let key_types = KeyType::ALL.iter().map(|k| k.as_str().to_owned()).collect();
        let key_type = row
            .and_then(|r| KeyType::ALL.iter().position(|k| k.as_str() == r.key_type))
            .unwrap_or(0);
        fields.push(Field::choice("key_type", "Key type", key_types, key_type));
        let accounts = dashboard.accounts.clone();
        let (options, selected) = if accounts.is_empty() {
            (vec![NO_ACCOUNT.to_owned()], 0)
        } else {
            let at = row
                .and_then(|r| r.account.as_ref())
                .and_then(|a| accounts.iter().position(|x| x == a))
                .unwrap_or(0);
            (accounts.clone(), at)
        };
        let account = accounts.get(selected).map(String::as_str);
        fields.push(Field::choice("account", "Account", options, selected));
        let wanted = row.and_then(|r| r.profile.as_deref());
        fields.push(profiles::field(None, account, wanted));
        let mut editor = Self {
            original: row.map(|r| r.name.clone()),
            form: Form::new(fields),
            taken: dashboard.rows.iter().map(|r| r.name.clone()).collect(),
            domains: dashboard.domains.clone(),
            accounts,
            request: None,
            profiles: None,
            profiles_request: None,
            error: None,
        };
        editor.validate();
        editor
    }

    /// The editor opened over `state`, reading the CA profiles of the configured accounts.
    pub fn open(row: Option<&CertRow>, state: &mut State) -> (Self, Vec<Effect>) {
        let mut editor = Self::new(row, &state.dashboard);
        if editor.accounts.is_empty() {
            return (editor, Vec::new());
        }
        let (id, effect) = state.start(Job::LoadProfiles);
        editor.profiles_request = Some(id);
        (editor, vec![effect])
    }

    /// The CA profiles were read.
    pub fn profiles_loaded(&mut self, offered: Offered) {
        self.profiles_request = None;
        self.profiles = Some(offered);
        self.validate();
    }

    /// The certificate's name (typed, or the one edited).
    #[must_use]
    pub fn name(&self) -> String {
        self.original
            .clone()
            .unwrap_or_else(|| self.form.text("name").trim().to_owned())
    }

    /// The typed names, split on commas and spaces.
    #[must_use]
    pub fn names(&self) -> Vec<String> {
        split_names(self.form.text("names"))
    }

    /// Check every field, rebuild the solver fields, set inline errors and notes.
    pub fn validate(&mut self) {
        if self.original.is_none() {
            let name = self.name();
            let error = match names::validate_cert_name(&name) {
                Err(e) => Some(e.to_string()),
                Ok(()) if self.taken.contains(&name) => {
                    Some(format!("{name:?} already exists; edit it with e instead"))
                }
                Ok(()) => None,
            };
            self.form.set_error("name", error);
        }
        let raw = self.names();
        let (error, note) = check_names(&raw);
        if let Some(field) = self.form.field_mut("names") {
            field.error = error;
            field.note = note;
        }
        let account_error = self
            .accounts
            .is_empty()
            .then(|| "an account is needed to issue".to_owned());
        self.form.set_error("account", account_error);
        // The account may have changed: offer its CA's profiles, keeping the selection.
        let account = self
            .accounts
            .get(self.form.choice("account"))
            .map(String::as_str);
        let wanted = profiles::selected(&self.form);
        let field = profiles::field(self.profiles.as_ref(), account, wanted.as_deref());
        if let Some(old) = self.form.field_mut("profile") {
            *old = field;
        }
        self.rebuild_solvers(&raw);
    }

    /// One solver choice (and hook command) per domain no configured solver covers.
    fn rebuild_solvers(&mut self, raw: &[String]) {
        let groups = solver_groups(&self.domains, raw);
        let focused = self.form.focused_id().to_owned();
        let default_command = self
            .domains
            .iter()
            .find(|d| d.solver == "exec")
            .and_then(|d| d.target.clone())
            .unwrap_or_default();
        let old = std::mem::take(&mut self.form.fields);
        let mut fields: Vec<Field> = old
            .iter()
            .filter(|f| !f.id.contains(':'))
            .cloned()
            .collect();
        for (key, options) in &groups {
            fields.extend(solver_fields(key, options, &old, &default_command));
        }
        self.form.fields = fields;
        self.form.focus_on(&focused);
        self.form.focus = self
            .form
            .focus
            .min(self.form.fields.len().saturating_sub(1));
    }

    /// The request to save, or `None` while a field shows an error.
    #[must_use]
    pub fn request(&self) -> Option<CertRequest> {
        if self.form.has_errors() {
            return None;
        }
        let account = self.accounts.get(self.form.choice("account")).cloned();
        let key_type = KeyType::ALL
            .get(self.form.choice("key_type"))
            .copied()
            .unwrap_or_default();
        let solvers = self
            .form
            .fields
            .iter()
            .filter_map(|f| f.id.strip_prefix("solver:").map(|key| (key, f)))
            .map(|(key, field)| {
                let solver = match &field.input {
                    Input::Choice { selected: 0, .. } => DomainConfig::Exec {
                        command: PathBuf::from(self.form.text(&format!("command:{key}")).trim()),
                        batch: false,
                    },
                    _ => DomainConfig::Manual,
                };
                let domain = match self.form.field(&format!("domain:{key}")).map(|f| &f.input) {
                    Some(Input::Choice { options, selected }) => options
                        .get(*selected)
                        .cloned()
                        .unwrap_or_else(|| key.to_owned()),
                    _ => key.to_owned(),
                };
                (domain, solver)
            })
            .collect();
        Some(CertRequest {
            original: self.original.clone(),
            name: self.name(),
            names: self.names(),
            key_type,
            account,
            solvers,
            profile: profiles::selected(&self.form),
            ..CertRequest::default()
        })
    }
}

/// Split typed names on commas and whitespace.
#[must_use]
pub fn split_names(text: &str) -> Vec<String> {
    text.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The error for a name list (every bad name), and a note showing normalised forms.
#[must_use]
pub fn check_names(raw: &[String]) -> (Option<String>, Option<String>) {
    if raw.is_empty() {
        return (
            Some("at least one DNS name, e.g. www.example.com".into()),
            None,
        );
    }
    let errors: Vec<String> = raw
        .iter()
        .filter_map(|n| names::normalize(n).err())
        .map(|e| e.to_string())
        .collect();
    if !errors.is_empty() {
        return (Some(errors.join("; ")), None);
    }
    match names::normalize_set(raw) {
        Err(e) => (Some(e.to_string()), None),
        Ok(normalized) => {
            let changed = normalized.iter().zip(raw).any(|(n, r)| n != r);
            let count = normalized.len();
            let note = if changed {
                format!("{count} name(s) → {}", normalized.join(", "))
            } else {
                format!("{count} name(s)")
            };
            (None, Some(note))
        }
    }
}

/// Uncovered names grouped by their last two labels, each with the domains the solver could
/// be mapped to (suffixes shared by every name of the group, shortest first).
#[must_use]
pub fn solver_groups(domains: &[DomainRow], raw: &[String]) -> Vec<(String, Vec<String>)> {
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    for name in raw.iter().filter_map(|n| names::normalize(n).ok()) {
        let base = names::base_domain(&name).to_owned();
        if covered(domains, &base) {
            continue;
        }
        let labels: Vec<&str> = base.split('.').collect();
        let key = labels[labels.len().saturating_sub(2)..].join(".");
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, bases)) => bases.push(base),
            None => groups.push((key, vec![base])),
        }
    }
    groups
        .into_iter()
        .map(|(key, bases)| {
            let labels: Vec<&str> = bases[0].split('.').collect();
            let options = (2..=labels.len())
                .map(|n| labels[labels.len() - n..].join("."))
                .filter(|suffix| {
                    bases.iter().all(|b| {
                        b == suffix
                            || b.strip_suffix(suffix.as_str())
                                .is_some_and(|r| r.ends_with('.'))
                    })
                })
                .collect();
            (key, options)
        })
        .collect()
}

/// The fields of one solver group, keeping what was already chosen or typed.
fn solver_fields(
    key: &str,
    options: &[String],
    old: &[Field],
    default_command: &str,
) -> Vec<Field> {
    let previous = |id: &str| old.iter().find(|f| f.id == id).cloned();
    let mut out = Vec::new();
    let domain_id = format!("domain:{key}");
    if options.len() > 1 {
        let field = previous(&domain_id)
            .filter(|f| matches!(&f.input, Input::Choice { options: o, .. } if o == options))
            .unwrap_or_else(|| Field::choice(&domain_id, "Solver domain", options.to_vec(), 0));
        out.push(field);
    }
    let solver_id = format!("solver:{key}");
    let solver = previous(&solver_id).unwrap_or_else(|| {
        let choices = SOLVERS.iter().map(|s| (*s).to_owned()).collect();
        let label = if options.len() > 1 {
            "  Solver".to_owned()
        } else {
            format!("Solver {key}")
        };
        let mut field = Field::choice(&solver_id, &label, choices, 0);
        field.note = Some(format!(
            "no solver covers {} yet",
            options.first().map_or(key, String::as_str)
        ));
        field
    });
    let exec = matches!(solver.input, Input::Choice { selected: 0, .. });
    out.push(solver);
    if exec {
        let command_id = format!("command:{key}");
        let mut command = previous(&command_id)
            .unwrap_or_else(|| Field::text(&command_id, "  Hook", default_command));
        let empty = matches!(&command.input, Input::Text(t) if t.value().trim().is_empty());
        command.error = empty.then(|| "the hook program to run".to_owned());
        out.push(command);
    }
    out
}

fn covered(domains: &[DomainRow], base: &str) -> bool {
    domains.iter().any(|d| {
        base == d.domain
            || base
                .strip_suffix(d.domain.as_str())
                .is_some_and(|rest| rest.ends_with('.'))
    })
}

/// A key for the editor's fields; `true` when used.
pub fn on_key(editor: &mut CertEditor, key: &KeyEvent) -> bool {
    if editor.request.is_some() || !editor.form.handle_key(key) {
        return false;
    }
    editor.error = None;
    editor.validate();
    true
}

/// An action in the editor.
pub fn on_action(editor: &mut CertEditor, state: &mut State, action: Action) -> (Nav, Vec<Effect>) {
    match action {
        Action::Back => return (Nav::Close, Vec::new()),
        Action::MoveDown | Action::SwitchPane => editor.form.focus_next(),
        Action::MoveUp => editor.form.focus_prev(),
        Action::Open if editor.request.is_none() => {
            if let Some(request) = editor.request() {
                let (id, effect) = state.start(Job::SaveCertificate(request));
                editor.request = Some(id);
                editor.error = None;
                return (Nav::Stay, vec![effect]);
            }
            editor.error = Some("fix the marked fields first".to_owned());
            if let Some(i) = editor.form.fields.iter().position(|f| f.error.is_some()) {
                editor.form.focus = i;
            }
        }
        _ => {}
    }
    (Nav::Stay, Vec::new())
}

/// The save answered: close on success (the caller reloads), else show why.
pub fn saved(editor: &mut CertEditor, result: &Result<String, crate::ops::Shared>) -> Nav {
    editor.request = None;
    match result {
        Ok(_) => Nav::Close,
        Err(error) => {
            editor.error = Some(error.to_string());
            Nav::Stay
        }
    }
}
