//! The account wizard: name, CA (staging first), email → the CA's terms (and EAB fields when
//! it needs them) → registration → the result.

use crossterm::event::KeyEvent;

use crate::acme::account::PRESETS;
use crate::jobs::account::{self, AccountRequest, DirectoryInfo, Registered};
use crate::jobs::{Job, JobId};
use crate::tui::action::Action;
use crate::tui::form::{Field, Form};
use crate::tui::state::{Confirmed, Popup, State};
use crate::tui::update::{Effect, Nav};

/// CA choices: (label, preset name). The last entry takes a URL.
pub const CAS: [(&str, &str); 6] = [
    (
        "Let's Encrypt staging (try this first)",
        "letsencrypt-staging",
    ),
    ("Let's Encrypt", "letsencrypt"),
    ("Google Trust Services staging", "google-staging"),
    ("Google Trust Services", "google"),
    ("ZeroSSL (needs EAB)", "zerossl"),
    ("Another CA: directory URL", ""),
];

/// Where the wizard is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stage {
    /// Name, CA and email being typed.
    Edit,
    /// The directory is being fetched.
    Fetching(JobId),
    /// Terms shown; EAB fields when required; agreeing is up to the operator.
    Review(DirectoryInfo),
    /// Registration runs.
    Registering(JobId, DirectoryInfo),
    /// Registered.
    Done(Registered),
}

/// The wizard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountWizard {
    /// The fields.
    pub form: Form,
    /// Where it is.
    pub stage: Stage,
    /// The last failure.
    pub error: Option<String>,
}

impl Default for AccountWizard {
    fn default() -> Self {
        Self::new()
    }
}

impl AccountWizard {
    /// A fresh wizard.
    #[must_use]
    pub fn new() -> Self {
        let cas = CAS.iter().map(|(label, _)| (*label).to_owned()).collect();
        let mut form = Form::new(vec![
            Field::text("name", "Account name", "default"),
            Field::choice("ca", "CA", cas, 0),
            Field::text("email", "Email", ""),
            Field::text("ca_bundle", "CA bundle", ""),
        ]);
        if let Some(field) = form.field_mut("email") {
            field.note = Some("optional; the CA writes here about expiry and problems".into());
        }
        if let Some(field) = form.field_mut("ca_bundle") {
            field.note = Some("optional: a PEM file of extra CAs to trust for the CA's TLS".into());
        }
        let mut wizard = Self {
            form,
            stage: Stage::Edit,
            error: None,
        };
        wizard.sync_fields();
        wizard
    }

    /// A wizard that registers the existing account `row` again (`account add NAME
    /// --replace`): its name, CA, contact and CA bundle filled in, "register it again" ticked.
    #[must_use]
    pub fn replacing(row: &crate::jobs::accounts::AccountRow) -> Self {
        let mut wizard = Self::new();
        let preset = PRESETS
            .iter()
            .find(|(_, url)| *url == row.directory)
            .map(|(name, _)| *name);
        let choice = CAS
            .iter()
            .position(|(_, p)| Some(*p) == preset)
            .unwrap_or(CAS.len() - 1);
        let form = &mut wizard.form;
        form.set_text("name", &row.name);
        form.set_choice("ca", choice);
        form.set_text("email", row.email.as_deref().unwrap_or_default());
        let bundle = row.ca_bundle.as_ref().map(|p| p.display().to_string());
        form.set_text("ca_bundle", bundle.as_deref().unwrap_or_default());
        wizard.sync_fields();
        if choice == CAS.len() - 1 {
            wizard.form.set_text("url", &row.directory);
        }
        wizard.toggle("replace", true, || {
            Field::check(
                "replace",
                "Register it again (new key; its certificates keep it)",
                true,
            )
        });
        wizard.form.focus_on("email");
        wizard
    }

    /// The CA bundle typed, if any.
    #[must_use]
    pub fn ca_bundle(&self) -> Option<std::path::PathBuf> {
        let text = self.form.text("ca_bundle").trim();
        (!text.is_empty()).then(|| std::path::PathBuf::from(text))
    }

    /// The preset name or URL to fetch.
    #[must_use]
    pub fn directory(&self) -> String {
        match CAS.get(self.form.choice("ca")) {
            Some((_, preset)) if !preset.is_empty() => (*preset).to_owned(),
            _ => self.form.text("url").trim().to_owned(),
        }
    }

    /// Show the URL field only for "another CA", and the EAB and agree fields on review.
    fn sync_fields(&mut self) {
        let other = self.form.choice("ca") == CAS.len() - 1;
        let preset_url = CAS
            .get(self.form.choice("ca"))
            .and_then(|(_, preset)| PRESETS.iter().find(|(name, _)| name == preset))
            .map(|(_, url)| (*url).to_owned());
        if let Some(field) = self.form.field_mut("ca") {
            field.note = preset_url;
        }
        let has_url = self.form.field("url").is_some();
        if other && !has_url {
            let mut url = Field::text("url", "Directory URL", "https://");
            url.note = Some("the CA's ACME directory (https://…/directory)".into());
            self.form.fields.insert(2, url);
        } else if !other && has_url {
            self.form.fields.retain(|f| f.id != "url");
        }
        let review = matches!(self.stage, Stage::Review(_));
        let eab = matches!(&self.stage, Stage::Review(info) if info.eab_required);
        self.toggle("eab_kid", eab, || Field::text("eab_kid", "EAB key id", ""));
        self.toggle("eab_hmac", eab, || {
            Field::text("eab_hmac", "EAB HMAC key", "").masked()
        });
        self.toggle("agree", review, || {
            Field::check("agree", "I agree to the terms of service above", false)
        });
        self.form.focus = self
            .form
            .focus
            .min(self.form.fields.len().saturating_sub(1));
    }

    fn toggle(&mut self, id: &str, wanted: bool, make: impl FnOnce() -> Field) {
        let present = self.form.field(id).is_some();
        if wanted && !present {
            self.form.fields.push(make());
        } else if !wanted && present {
            self.form.fields.retain(|f| f.id != id);
        }
    }

    /// Whether a job runs for the wizard.
    #[must_use]
    pub fn waiting(&self) -> bool {
        matches!(self.stage, Stage::Fetching(_) | Stage::Registering(..))
    }
}

/// A key for the wizard's fields; `true` when used.
pub fn on_key(wizard: &mut AccountWizard, key: &KeyEvent) -> bool {
    if wizard.waiting() || matches!(wizard.stage, Stage::Done(_)) {
        return false;
    }
    let focused = wizard.form.focused_id().to_owned();
    if !wizard.form.handle_key(key) {
        return false;
    }
    // Changing what was fetched means fetching again.
    if matches!(focused.as_str(), "ca" | "url" | "ca_bundle")
        && matches!(wizard.stage, Stage::Review(_))
    {
        wizard.stage = Stage::Edit;
    }
    wizard.error = None;
    wizard.sync_fields();
    true
}

/// An action in the wizard.
pub fn on_action(
    wizard: &mut AccountWizard,
    state: &mut State,
    action: Action,
) -> (Nav, Vec<Effect>) {
    match action {
        Action::Back => return (Nav::Close, Vec::new()),
        Action::MoveDown | Action::SwitchPane => wizard.form.focus_next(),
        Action::MoveUp => wizard.form.focus_prev(),
        Action::Open => return submit(wizard, state),
        _ => {}
    }
    (Nav::Stay, Vec::new())
}

fn submit(wizard: &mut AccountWizard, state: &mut State) -> (Nav, Vec<Effect>) {
    let name = wizard.form.text("name").trim().to_owned();
    let email = wizard.form.text("email").trim().to_owned();
    match wizard.stage.clone() {
        Stage::Edit => {
            if let Err(e) = account::validate(&name, &email, None) {
                wizard.error = Some(e.to_string());
                return (Nav::Stay, Vec::new());
            }
            if state.dashboard.accounts.contains(&name) && wizard.form.checked("remove") {
                state.popup = Some(Popup::Confirm {
                    question: format!("Remove account {name}?"),
                    detail: format!(
                        "Its key is deleted from the keyring (the CA is not told). Certificates \
                         that use it must move first: `certpilot account remove {name} --reassign OTHER`."
                    ),
                    yes: Confirmed::RemoveAccount { name },
                    alternative: None,
                });
                return (Nav::Close, Vec::new());
            }
            if state.dashboard.accounts.contains(&name) && !wizard.form.checked("replace") {
                // The way back when the CA forgot the account: register again, same name.
                wizard.toggle("replace", true, || {
                    Field::check(
                        "replace",
                        "Register it again (new key; its certificates keep it)",
                        false,
                    )
                });
                wizard.toggle("remove", true, || {
                    Field::check("remove", "Remove it instead (asks first)", false)
                });
                wizard.form.focus_on("replace");
                wizard.error = Some(format!(
                    "account {name:?} exists: tick \"register it again\" (Space) to replace it \
                     at the CA, e.g. after it answered accountDoesNotExist, or \"remove it\"; \
                     or choose another name"
                ));
                return (Nav::Stay, Vec::new());
            }
            let directory = wizard.directory();
            let ca_bundle = wizard.ca_bundle();
            let (id, effect) = state.start(Job::FetchDirectory {
                directory,
                ca_bundle,
            });
            wizard.stage = Stage::Fetching(id);
            wizard.error = None;
            (Nav::Stay, vec![effect])
        }
        Stage::Review(info) => {
            if !wizard.form.checked("agree") {
                wizard.error = Some("read the terms, then tick the box with Space".into());
                wizard.form.focus_on("agree");
                return (Nav::Stay, Vec::new());
            }
            let eab = info.eab_required.then(|| {
                (
                    wizard.form.text("eab_kid").trim().to_owned(),
                    wizard.form.text("eab_hmac").trim().to_owned(),
                )
            });
            if let Some((kid, hmac)) = &eab {
                let problem = if kid.is_empty() || hmac.is_empty() {
                    Some("this CA needs both EAB fields from your account on its website".into())
                } else {
                    account::validate(&name, &email, Some(hmac))
                        .err()
                        .map(|e| e.to_string())
                };
                if problem.is_some() {
                    wizard.error = problem;
                    return (Nav::Stay, Vec::new());
                }
            }
            let request = AccountRequest {
                name,
                url: info.url.clone(),
                email: (!email.is_empty()).then_some(email),
                eab,
                terms: info.terms.clone(),
                replace: wizard.form.checked("replace"),
                ca_bundle: wizard.ca_bundle(),
            };
            let (id, effect) = state.start(Job::RegisterAccount(request));
            wizard.stage = Stage::Registering(id, info);
            wizard.error = None;
            (Nav::Stay, vec![effect])
        }
        Stage::Done(_) => (Nav::Close, Vec::new()),
        Stage::Fetching(_) | Stage::Registering(..) => (Nav::Stay, Vec::new()),
    }
}

/// The directory answered.
pub fn fetched(wizard: &mut AccountWizard, result: Result<DirectoryInfo, String>) {
    match result {
        Ok(info) => {
            wizard.stage = Stage::Review(info);
            wizard.sync_fields();
            let next = if wizard.form.field("eab_kid").is_some() {
                "eab_kid"
            } else {
                "agree"
            };
            wizard.form.focus_on(next);
        }
        Err(e) => {
            wizard.stage = Stage::Edit;
            wizard.error = Some(e);
        }
    }
}

/// The registration answered.
pub fn registered(wizard: &mut AccountWizard, result: Result<Registered, String>) {
    match (result, wizard.stage.clone()) {
        (Ok(done), _) => wizard.stage = Stage::Done(done),
        (Err(e), Stage::Registering(_, info)) => {
            wizard.stage = Stage::Review(info);
            wizard.error = Some(e);
        }
        (Err(e), _) => wizard.error = Some(e),
    }
}
