//! The DNS provider wizard: map a domain to `rfc2136` or `powerdns`, test the credentials
//! (a harmless record added and removed), and save only when the test passed.

use std::path::PathBuf;

use crossterm::event::KeyEvent;

use crate::config::DomainConfig;
use crate::domain::names;
use crate::jobs::provider::ProviderRequest;
use crate::jobs::{Job, JobId};
use crate::tui::action::Action;
use crate::tui::form::{Field, Form};
use crate::tui::screens::dashboard;
use crate::tui::state::State;
use crate::tui::update::{Effect, Nav};

/// The providers offered, in the order of the kind field.
pub const KINDS: [&str; 2] = [
    "rfc2136 (TSIG dynamic update)",
    "powerdns (PowerDNS HTTP API)",
];
/// TSIG algorithms offered.
pub const ALGORITHMS: [&str; 3] = ["hmac-sha256", "hmac-sha384", "hmac-sha512"];

/// Where the wizard is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stage {
    /// Filling in the form.
    Editing,
    /// The credentials test (and save) runs.
    Testing(JobId),
    /// Tested and saved: the test's words.
    Done(String),
}

/// The wizard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderWizard {
    /// The fields.
    pub form: Form,
    /// Where it is.
    pub stage: Stage,
    /// Why the last test failed (with the provider's hint).
    pub error: Option<String>,
}

impl ProviderWizard {
    /// A wizard for `domain` (the selected one), or an empty domain field.
    #[must_use]
    pub fn new(domain: Option<&str>) -> Self {
        let kinds = KINDS.iter().map(|k| (*k).to_owned()).collect();
        let fields = vec![
            Field::text("domain", "Domain", domain.unwrap_or_default()),
            Field::choice("kind", "Provider", kinds, 0),
        ];
        let mut wizard = Self {
            form: Form::new(fields),
            stage: Stage::Editing,
            error: None,
        };
        wizard.validate();
        wizard
    }

    /// A wizard for the domain of `row`, its rfc2136 or powerdns settings filled in (secrets
    /// stay in the keyring: their file fields are left empty).
    #[must_use]
    pub fn editing(row: &crate::jobs::inventory::DomainRow) -> Self {
        let mut wizard = Self::new(Some(&row.domain));
        match &row.config {
            Some(DomainConfig::PowerDns {
                api_url, server_id, ..
            }) => {
                wizard.form.set_choice("kind", 1);
                wizard.validate();
                wizard.form.set_text("api_url", api_url);
                wizard.form.set_text("server_id", server_id);
            }
            Some(DomainConfig::Rfc2136 {
                server,
                tsig_name,
                tsig_algorithm,
                zone,
            }) => {
                wizard
                    .form
                    .set_text("server", server.as_deref().unwrap_or_default());
                wizard.form.set_text("tsig_name", tsig_name);
                let algorithm = ALGORITHMS.iter().position(|a| a == tsig_algorithm);
                wizard.form.set_choice("algorithm", algorithm.unwrap_or(0));
                wizard
                    .form
                    .set_text("zone", zone.as_deref().unwrap_or_default());
            }
            _ => {}
        }
        wizard.validate();
        wizard.form.focus_on("kind");
        wizard
    }

    /// Whether the powerdns fields are shown.
    #[must_use]
    pub fn is_powerdns(&self) -> bool {
        self.form.choice("kind") == 1
    }

    /// Rebuild the provider's fields (keeping what was typed) and mark the errors.
    pub fn validate(&mut self) {
        let old = std::mem::take(&mut self.form.fields);
        let keep = |id: &str, make: Field| old.iter().find(|f| f.id == id).cloned().unwrap_or(make);
        let mut fields: Vec<Field> = old.iter().take(2).cloned().collect();
        if Self::is_powerdns_in(&fields) {
            fields.push(keep(
                "api_url",
                Field::text("api_url", "  API URL", "http://127.0.0.1:8081"),
            ));
            fields.push(keep(
                "server_id",
                Field::text("server_id", "  Server id", "localhost"),
            ));
            fields.push(keep(
                "key_file",
                Field::text("key_file", "  API key file", ""),
            ));
        } else {
            let algorithms = ALGORITHMS.iter().map(|a| (*a).to_owned()).collect();
            fields.push(keep("server", Field::text("server", "  Server", "")));
            fields.push(keep(
                "tsig_name",
                Field::text("tsig_name", "  TSIG key name", ""),
            ));
            fields.push(keep(
                "algorithm",
                Field::choice("algorithm", "  Algorithm", algorithms, 0),
            ));
            fields.push(keep(
                "secret_file",
                Field::text("secret_file", "  Secret file", ""),
            ));
            fields.push(keep("zone", Field::text("zone", "  Zone", "")));
        }
        let focused = old
            .get(self.form.focus)
            .map(|f| f.id.clone())
            .unwrap_or_default();
        self.form.fields = fields;
        self.form.focus_on(&focused);
        self.mark_errors();
    }

    fn is_powerdns_in(fields: &[Field]) -> bool {
        fields.iter().any(|f| {
            f.id == "kind"
                && matches!(
                    &f.input,
                    crate::tui::form::Input::Choice { selected: 1, .. }
                )
        })
    }

    fn mark_errors(&mut self) {
        let domain = self.form.text("domain").trim().to_owned();
        let domain_error = match names::normalize(&domain) {
            Err(e) => Some(e.to_string()),
            Ok(d) if d.starts_with("*.") => Some("without '*.': it covers the wildcard".into()),
            Ok(_) => None,
        };
        self.form.set_error("domain", domain_error);
        let empty = |form: &Form, id: &str, what: &str| {
            form.text(id).trim().is_empty().then(|| what.to_owned())
        };
        if self.is_powerdns() {
            let url = self.form.text("api_url").trim().to_owned();
            let url_error = crate::powerdns::client::api_root(&url)
                .err()
                .map(|e| e.to_string());
            self.form.set_error("api_url", url_error);
            let e = empty(&self.form, "key_file", "the file holding the API key");
            self.form.set_error("key_file", e);
        } else {
            let e = empty(&self.form, "tsig_name", "the key name the server knows");
            self.form.set_error("tsig_name", e);
            let e = empty(
                &self.form,
                "secret_file",
                "the file holding the base64 secret",
            );
            self.form.set_error("secret_file", e);
        }
        if let Some(f) = self.form.field_mut("server") {
            f.note = Some("HOST[:PORT]; empty: the zone's SOA primary".into());
        }
        if let Some(f) = self.form.field_mut("zone") {
            f.note = Some("empty: the zone each record lives in".into());
        }
    }

    /// The request to send, or `None` while a field shows an error.
    #[must_use]
    pub fn request(&self) -> Option<ProviderRequest> {
        if self.form.has_errors() {
            return None;
        }
        let text = |id: &str| self.form.text(id).trim().to_owned();
        let optional = |id: &str| Some(text(id)).filter(|t| !t.is_empty());
        let (config, file) = if self.is_powerdns() {
            let server_id = optional("server_id").unwrap_or_else(|| "localhost".into());
            let config = DomainConfig::PowerDns {
                api_url: text("api_url"),
                server_id,
            };
            (config, text("key_file"))
        } else {
            let algorithm = ALGORITHMS.get(self.form.choice("algorithm")).copied();
            let config = DomainConfig::Rfc2136 {
                server: optional("server"),
                tsig_name: text("tsig_name"),
                tsig_algorithm: algorithm.unwrap_or(ALGORITHMS[0]).to_owned(),
                zone: optional("zone").map(|z| z.trim_end_matches('.').to_ascii_lowercase()),
            };
            (config, text("secret_file"))
        };
        Some(ProviderRequest {
            domain: text("domain"),
            config,
            secret_file: PathBuf::from(file),
        })
    }
}

/// A key for the form; `true` when used.
pub fn on_key(wizard: &mut ProviderWizard, key: &KeyEvent) -> bool {
    if wizard.stage != Stage::Editing || !wizard.form.handle_key(key) {
        return false;
    }
    wizard.error = None;
    wizard.validate();
    true
}

/// An action in the wizard: Enter tests (and saves), then closes.
pub fn on_action(
    wizard: &mut ProviderWizard,
    state: &mut State,
    action: Action,
) -> (Nav, Vec<Effect>) {
    match (action, &wizard.stage) {
        (Action::Back, _) | (Action::Open, Stage::Done(_)) => return (Nav::Close, Vec::new()),
        (Action::MoveDown | Action::SwitchPane, Stage::Editing) => wizard.form.focus_next(),
        (Action::MoveUp, Stage::Editing) => wizard.form.focus_prev(),
        (Action::Open, Stage::Editing) => {
            if let Some(request) = wizard.request() {
                let (id, effect) = state.start(Job::SaveProvider(request));
                wizard.stage = Stage::Testing(id);
                wizard.error = None;
                return (Nav::Stay, vec![effect]);
            }
            wizard.error = Some("fix the marked fields first".to_owned());
            if let Some(i) = wizard.form.fields.iter().position(|f| f.error.is_some()) {
                wizard.form.focus = i;
            }
        }
        _ => {}
    }
    (Nav::Stay, Vec::new())
}

/// The test answered: done (and the dashboard reloads) or back to the form with the reason.
pub fn saved(
    wizard: &mut ProviderWizard,
    state: &mut State,
    result: Result<String, String>,
) -> Vec<Effect> {
    match result {
        Ok(words) => {
            wizard.stage = Stage::Done(words);
            dashboard::reload(state)
        }
        Err(message) => {
            wizard.stage = Stage::Editing;
            wizard.error = Some(message);
            Vec::new()
        }
    }
}
