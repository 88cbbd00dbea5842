//! What the user can ask for. Every action has a name that `keys.toml` can bind (see
//! [`crate::tui::keymap`]), a short hint for the status bar and a sentence for the help.

/// Declares [`Action`] from one table: each variant with its `keys.toml` name, its status-bar
/// hint and its help sentence, in the order the help and the palette list them. Nothing else
/// lists the actions, so a new one cannot be missing from the keymap, the help or the palette.
macro_rules! actions {
    ($($(#[doc = $doc:expr])* $variant:ident = ($name:expr, $hint:expr, $help:expr),)*) => {
        /// Something the user asked the UI to do; what it means depends on the screen.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Action {
            $($(#[doc = $doc])* $variant,)*
        }

        impl Action {
            /// Every action, in the order the help lists them.
            pub const ALL: &'static [Action] = &[$(Action::$variant,)*];

            /// The name used in `keys.toml`.
            #[must_use]
            pub fn name(self) -> &'static str {
                match self {
                    $(Action::$variant => $name,)*
                }
            }

            /// One or two words for the status bar.
            #[must_use]
            pub fn hint(self) -> &'static str {
                match self {
                    $(Action::$variant => $hint,)*
                }
            }

            /// A sentence for the help overlay and the palette.
            #[must_use]
            pub fn help(self) -> &'static str {
                match self {
                    $(Action::$variant => $help,)*
                }
            }
        }
    };
}

actions! {
    /// Next row or field.
    MoveDown = ("down", "down", "Next row or field"),
    /// Previous row or field.
    MoveUp = ("up", "up", "Previous row or field"),
    /// First row.
    MoveFirst = ("first", "first", "First row"),
    /// Last row.
    MoveLast = ("last", "last", "Last row"),
    /// One page down.
    PageDown = ("page_down", "page down", "One page down"),
    /// One page up.
    PageUp = ("page_up", "page up", "One page up"),
    /// Previous column (propagation matrix).
    MoveLeft = ("left", "left", "Previous column (matrix)"),
    /// Next column (propagation matrix).
    MoveRight = ("right", "right", "Next column (matrix)"),
    /// Open the selection, or go on to the next step.
    Open = ("open", "open", "Open the selection / next step"),
    /// Close the overlay or screen; cancel a running issuance.
    Back = ("back", "back", "Back; cancels a running issuance"),
    /// Switch between panes, or to the next field.
    SwitchPane = ("switch_pane", "pane", "Switch pane / next field"),
    /// Filter the certificates.
    Filter = ("filter", "filter", "Filter certificates by name"),
    /// Sort the certificates by the next key (urgency, days left, name, status).
    Sort = ("sort", "sort", "Sort by urgency / days left / name / status"),
    /// Reverse the certificates' order.
    ReverseSort = ("reverse_sort", "reverse", "Reverse the sort order"),
    /// The command palette: every action with its key, filtered by typing.
    Palette = ("palette", "commands", "Command palette: run any action by name"),
    /// The ACME accounts: list, remove, register again.
    Accounts = ("accounts", "accounts", "ACME accounts: list, remove, register again"),
    /// Add a certificate (or, in the domains pane, an acme-dns registration).
    Add = ("add", "add", "Add a certificate (domains pane: acme-dns)"),
    /// Register an ACME account.
    AddAccount = ("add_account", "account", "Register an ACME account"),
    /// The embedded acme-dns server (start it, delegate its zone, register domains).
    AcmeDnsServer = ("acme_dns_server", "server", "Run the acme-dns server (d there stops it)"),
    /// The sandbox's fault menu (only inside `certpilot sandbox`).
    Sandbox = ("sandbox", "faults", "Sandbox faults (in certpilot sandbox)"),
    /// Edit the selected certificate.
    Edit = ("edit", "edit", "Edit the selected certificate (domains pane: its solver)"),
    /// Delete the selected certificate (asks first).
    Delete = ("delete", "delete", "Delete the selected certificate (domains pane: its solver)"),
    /// Issue or renew the selected certificate.
    Issue = ("issue", "issue", "Issue or renew the selected certificate"),
    /// Check DNS propagation of the selection's challenge records.
    Check = ("check", "check", "Check DNS propagation (domains pane: re-check)"),
    /// Copy the record on screen to the clipboard (OSC 52).
    Copy = ("copy", "copy", "Copy the record to the clipboard"),
    /// Reload from disk, or check again.
    Refresh = ("refresh", "refresh", "Reload / check again"),
    /// Show or hide the log pane.
    ToggleLog = ("toggle_log", "log", "Show or hide the log pane"),
    /// Switch to the next theme.
    NextTheme = ("next_theme", "theme", "Switch to the next theme"),
    /// Show or hide the help overlay.
    Help = ("help", "help", "Show or hide this help"),
    /// Leave certpilot (asks first while work is running).
    Quit = ("quit", "quit", "Quit (asks first while work is running)"),
}

impl Action {
    /// The action called `name` in `keys.toml`.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Action> {
        Action::ALL.iter().copied().find(|a| a.name() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_round_trip() {
        let mut names: Vec<_> = Action::ALL.iter().map(|a| a.name()).collect();
        for &action in Action::ALL {
            assert_eq!(Action::from_name(action.name()), Some(action));
        }
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Action::ALL.len());
        assert_eq!(Action::from_name("nope"), None);
    }
}
