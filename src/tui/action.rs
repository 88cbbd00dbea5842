//! What the user can ask for. Every action has a name that `keys.toml` can bind (see
//! [`crate::tui::keymap`]), a short hint for the status bar and a sentence for the help.

/// Something the user asked the UI to do; what it means depends on the screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    /// Leave certpilot (asks first while work is running).
    Quit,
    /// Show or hide the help overlay.
    Help,
    /// Next row or field.
    MoveDown,
    /// Previous row or field.
    MoveUp,
    /// First row.
    MoveFirst,
    /// Last row.
    MoveLast,
    /// One page down.
    PageDown,
    /// One page up.
    PageUp,
    /// Open the selection, or go on to the next step.
    Open,
    /// Close the overlay or screen; cancel a running issuance.
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
    /// The command palette: every action with its key, filtered by typing.
    Palette,
    /// The ACME accounts: list, remove, register again.
    Accounts,
    /// Sort the certificates by the next key (urgency, days left, name, status).
    Sort,
    /// Reverse the certificates' order.
    ReverseSort,
    /// Previous column (propagation matrix).
    MoveLeft,
    /// Next column (propagation matrix).
    MoveRight,
}

impl Action {
    /// Every action, in the order the help lists them.
    pub const ALL: [Action; 30] = [
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
        Action::Check,
        Action::Copy,
        Action::Refresh,
        Action::ToggleLog,
        Action::NextTheme,
        Action::Help,
        Action::Quit,
    ];

    /// The name used in `keys.toml`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Action::Quit => "quit",
            Action::Help => "help",
            Action::MoveDown => "down",
            Action::MoveUp => "up",
            Action::MoveFirst => "first",
            Action::MoveLast => "last",
            Action::PageDown => "page_down",
            Action::PageUp => "page_up",
            Action::Open => "open",
            Action::Back => "back",
            Action::SwitchPane => "switch_pane",
            Action::Filter => "filter",
            Action::Add => "add",
            Action::AddAccount => "add_account",
            Action::Edit => "edit",
            Action::Delete => "delete",
            Action::Issue => "issue",
            Action::Check => "check",
            Action::Copy => "copy",
            Action::Refresh => "refresh",
            Action::ToggleLog => "toggle_log",
            Action::NextTheme => "next_theme",
            Action::AcmeDnsServer => "acme_dns_server",
            Action::Sandbox => "sandbox",
            Action::Palette => "palette",
            Action::Accounts => "accounts",
            Action::Sort => "sort",
            Action::ReverseSort => "reverse_sort",
            Action::MoveLeft => "left",
            Action::MoveRight => "right",
        }
    }

    /// The action called `name` in `keys.toml`.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.name() == name)
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
            Action::Back => "Back; cancels a running issuance",
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
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Action::ALL.len());
        assert_eq!(Action::from_name("nope"), None);
    }
}
