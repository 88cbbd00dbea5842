//! What the user can ask for. Every action has a name that `keys.toml` can bind (see
//! [`crate::tui::keymap`]), a short hint for the status bar and a sentence for the help.

/// Something the user asked the UI to do; what it means depends on the screen.
///
/// Its name in `keys.toml` (and the command palette) is derived here, once: the variant in
/// snake case unless a `serialize` attribute says otherwise ([`Action::name`]).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::VariantArray,
)]
#[strum(serialize_all = "snake_case")]
pub enum Action {
    /// Leave certpilot (asks first while work is running).
    Quit,
    /// Show or hide the help overlay.
    Help,
    /// Next row or field.
    #[strum(serialize = "down")]
    MoveDown,
    /// Previous row or field.
    #[strum(serialize = "up")]
    MoveUp,
    /// First row.
    #[strum(serialize = "first")]
    MoveFirst,
    /// Last row.
    #[strum(serialize = "last")]
    MoveLast,
    /// One page down.
    PageDown,
    /// One page up.
    PageUp,
    /// Open the selection, or go on to the next step.
    Open,
    /// Close the overlay or screen (a running issuance goes on in the background).
    Back,
    /// Switch between panes, or to the next field.
    SwitchPane,
    /// Filter the certificates.
    Filter,
    /// Add a certificate (or, in the domains pane, an acme-dns registration).
    Add,
    /// Register an ACME account.
    AddAccount,
    /// Edit the selected certificate.
    Edit,
    /// Delete the selected certificate (asks first).
    Delete,
    /// Issue or renew the selected certificate.
    Issue,
    /// Check DNS propagation of the selection's challenge records.
    Check,
    /// Copy the record on screen to the clipboard (OSC 52).
    Copy,
    /// Reload from disk, or check again.
    Refresh,
    /// Show or hide the log pane.
    ToggleLog,
    /// Switch to the next theme.
    NextTheme,
    /// The embedded acme-dns server (start it, delegate its zone, register domains).
    AcmeDnsServer,
    /// The sandbox's fault menu (only inside `certpilot sandbox`).
    Sandbox,
    /// Mark or unmark the selected certificate for [`Action::RenewMarked`].
    Mark,
    /// Renew or issue the marked certificates, or every due one when none is marked (asks
    /// first); they run in the background.
    RenewMarked,
    /// The jobs view: running, waiting and finished issuances of this session.
    Jobs,
    /// Cancel the running issuance on screen or selected in the jobs view (asks first).
    CancelJob,
    /// Order a new certificate again from a finished issuance screen (asks first).
    Reissue,
    /// The command palette: every action with its key, filtered by typing.
    Palette,
    /// The ACME accounts: list, remove, register again.
    Accounts,
    /// Sort the certificates by the next key (urgency, days left, name, status).
    Sort,
    /// Reverse the certificates' order.
    ReverseSort,
    /// Previous column (propagation matrix).
    #[strum(serialize = "left")]
    MoveLeft,
    /// Next column (propagation matrix).
    #[strum(serialize = "right")]
    MoveRight,
}

impl Action {
    /// Every action, in the order the help lists them.
    pub const ALL: [Action; 35] = [
        Action::MoveDown,
        Action::MoveUp,
        Action::MoveFirst,
        Action::MoveLast,
        Action::PageDown,
        Action::PageUp,
        Action::MoveLeft,
        Action::MoveRight,
        Action::Open,
        Action::Back,
        Action::SwitchPane,
        Action::Filter,
        Action::Sort,
        Action::ReverseSort,
        Action::Palette,
        Action::Accounts,
        Action::Add,
        Action::AddAccount,
        Action::AcmeDnsServer,
        Action::Sandbox,
        Action::Edit,
        Action::Delete,
        Action::Issue,
        Action::Mark,
        Action::RenewMarked,
        Action::Jobs,
        Action::CancelJob,
        Action::Reissue,
        Action::Check,
        Action::Copy,
        Action::Refresh,
        Action::ToggleLog,
        Action::NextTheme,
        Action::Help,
        Action::Quit,
    ];

    /// The name used in `keys.toml` (derived from the variant, see the enum).
    #[must_use]
    pub fn name(self) -> &'static str {
        self.into()
    }

    /// The action called `name` in `keys.toml`.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Action> {
        name.parse().ok()
    }

    /// One or two words for the status bar.
    #[must_use]
    pub fn hint(self) -> &'static str {
        match self {
            Action::Quit => "quit",
            Action::Help => "help",
            Action::MoveDown => "down",
            Action::MoveUp => "up",
            Action::MoveFirst => "first",
            Action::MoveLast => "last",
            Action::PageDown => "page down",
            Action::PageUp => "page up",
            Action::Open => "open",
            Action::Back => "back",
            Action::SwitchPane => "pane",
            Action::Filter => "filter",
            Action::Add => "add",
            Action::AddAccount => "account",
            Action::Edit => "edit",
            Action::Delete => "delete",
            Action::Issue => "issue",
            Action::Check => "check",
            Action::Copy => "copy",
            Action::Refresh => "refresh",
            Action::ToggleLog => "log",
            Action::NextTheme => "theme",
            Action::AcmeDnsServer => "server",
            Action::Sandbox => "faults",
            Action::Mark => "mark",
            Action::RenewMarked => "renew marked",
            Action::Jobs => "jobs",
            Action::CancelJob => "cancel",
            Action::Reissue => "re-issue",
            Action::Palette => "commands",
            Action::Accounts => "accounts",
            Action::Sort => "sort",
            Action::ReverseSort => "reverse",
            Action::MoveLeft => "left",
            Action::MoveRight => "right",
        }
    }

    /// A sentence for the help overlay.
    #[must_use]
    pub fn help(self) -> &'static str {
        match self {
            Action::Quit => "Quit (asks first while work is running)",
            Action::Help => "Show or hide this help",
            Action::MoveDown => "Next row or field",
            Action::MoveUp => "Previous row or field",
            Action::MoveFirst => "First row",
            Action::MoveLast => "Last row",
            Action::PageDown => "One page down",
            Action::PageUp => "One page up",
            Action::Open => "Open the selection / next step",
            Action::Back => "Back; a running issuance goes on in the background",
            Action::SwitchPane => "Switch pane / next field",
            Action::Filter => "Filter certificates by name",
            Action::Add => "Add a certificate (domains pane: acme-dns)",
            Action::AddAccount => "Register an ACME account",
            Action::Edit => "Edit the selected certificate (domains pane: its solver)",
            Action::Delete => "Delete the selected certificate (domains pane: its solver)",
            Action::Issue => "Issue or renew the selected certificate",
            Action::Check => "Check DNS propagation (domains pane: re-check)",
            Action::Copy => "Copy the record to the clipboard",
            Action::Refresh => "Reload / check again",
            Action::ToggleLog => "Show or hide the log pane",
            Action::NextTheme => "Switch to the next theme",
            Action::AcmeDnsServer => "Run the acme-dns server (d there stops it)",
            Action::Sandbox => "Sandbox faults (in certpilot sandbox)",
            Action::Mark => "Mark / unmark the selected certificate",
            Action::RenewMarked => "Renew marked (or all due) certificates in background",
            Action::Jobs => "Jobs view: running and finished issuances",
            Action::CancelJob => "Cancel the running issuance (asks first)",
            Action::Reissue => "Issue again from a finished issuance (asks first)",
            Action::Palette => "Command palette: run any action by name",
            Action::Accounts => "ACME accounts: list, remove, register again",
            Action::Sort => "Sort by urgency / days left / name / status",
            Action::ReverseSort => "Reverse the sort order",
            Action::MoveLeft => "Previous column (matrix)",
            Action::MoveRight => "Next column (matrix)",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_round_trip() {
        let mut names: Vec<_> = Action::ALL.iter().map(|a| a.name()).collect();
        for action in Action::ALL {
            assert_eq!(Action::from_name(action.name()), Some(action));
        }
        // The help's order lists every variant.
        assert_eq!(
            Action::ALL.len(),
            <Action as strum::VariantArray>::VARIANTS.len()
        );
        assert_eq!(Action::MoveDown.name(), "down");
        assert_eq!(Action::AcmeDnsServer.name(), "acme_dns_server");
        assert_eq!(Action::RenewMarked.name(), "renew_marked");
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Action::ALL.len());
        assert_eq!(Action::from_name("nope"), None);
    }
}
