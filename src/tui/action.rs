//! What the user can ask for, and the one keymap table that maps keys to it.
//!
//! The key handler, the status-bar hints and the help overlay all read [`KEYMAP`], so they can
//! never disagree about which key does what.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

/// Something the user asked the dashboard to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Select the next row.
    MoveDown,
    /// Select the previous row.
    MoveUp,
    /// Select the first row.
    MoveFirst,
    /// Select the last row.
    MoveLast,
    /// Read the certificate inventory again.
    Reload,
    /// Show or hide the help overlay.
    ToggleHelp,
    /// Close the help overlay if it is open, otherwise quit.
    Back,
    /// Leave the dashboard.
    Quit,
}

/// One key, with the modifiers that must be held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    /// The key itself.
    pub code: KeyCode,
    /// Modifiers that must be held (Shift is ignored for characters).
    pub modifiers: KeyModifiers,
}

impl Key {
    /// A key pressed on its own.
    #[must_use]
    pub const fn plain(code: KeyCode) -> Self {
        Self {
            code,
            modifiers: KeyModifiers::NONE,
        }
    }

    /// A key pressed with Ctrl.
    #[must_use]
    pub const fn ctrl(code: KeyCode) -> Self {
        Self {
            code,
            modifiers: KeyModifiers::CONTROL,
        }
    }

    /// Whether a terminal key event is this key.
    #[must_use]
    pub fn matches(&self, event: &KeyEvent) -> bool {
        // Shift is part of the character itself (`G`, `?`), so only Ctrl and Alt must agree.
        let relevant = KeyModifiers::CONTROL | KeyModifiers::ALT;
        self.code == event.code && (event.modifiers & relevant) == self.modifiers
    }

    /// How the key is written in hints and in the help overlay.
    #[must_use]
    pub fn label(&self) -> String {
        let name = match self.code {
            KeyCode::Char(' ') => "Space".to_owned(),
            KeyCode::Char(c) => c.to_string(),
            KeyCode::Up => "↑".to_owned(),
            KeyCode::Down => "↓".to_owned(),
            KeyCode::Left => "←".to_owned(),
            KeyCode::Right => "→".to_owned(),
            KeyCode::Home => "Home".to_owned(),
            KeyCode::End => "End".to_owned(),
            KeyCode::Esc => "Esc".to_owned(),
            KeyCode::Enter => "Enter".to_owned(),
            KeyCode::F(n) => format!("F{n}"),
            other => format!("{other:?}"),
        };
        if self.modifiers.contains(KeyModifiers::CONTROL) {
            format!("Ctrl-{name}")
        } else {
            name
        }
    }
}

/// One row of the keymap: the keys, what they do, and how to describe it.
#[derive(Debug, Clone, Copy)]
pub struct Binding {
    /// Every key that triggers the action; the first is the one shown in hints.
    pub keys: &'static [Key],
    /// The action.
    pub action: Action,
    /// Short word for the status bar, or `None` to list it only in the help overlay.
    pub hint: Option<&'static str>,
    /// Sentence for the help overlay.
    pub help: &'static str,
}

impl Binding {
    /// All keys of this binding, joined for display (`j/↓`).
    #[must_use]
    pub fn keys_label(&self) -> String {
        self.keys
            .iter()
            .map(Key::label)
            .collect::<Vec<_>>()
            .join("/")
    }
}

/// The dashboard keymap, in the order the help overlay lists it.
pub const KEYMAP: &[Binding] = &[
    Binding {
        keys: &[Key::plain(KeyCode::Char('j')), Key::plain(KeyCode::Down)],
        action: Action::MoveDown,
        hint: Some("down"),
        help: "Select the next certificate",
    },
    Binding {
        keys: &[Key::plain(KeyCode::Char('k')), Key::plain(KeyCode::Up)],
        action: Action::MoveUp,
        hint: Some("up"),
        help: "Select the previous certificate",
    },
    Binding {
        keys: &[Key::plain(KeyCode::Char('g')), Key::plain(KeyCode::Home)],
        action: Action::MoveFirst,
        hint: None,
        help: "Select the first certificate",
    },
    Binding {
        keys: &[Key::plain(KeyCode::Char('G')), Key::plain(KeyCode::End)],
        action: Action::MoveLast,
        hint: None,
        help: "Select the last certificate",
    },
    Binding {
        keys: &[Key::plain(KeyCode::Char('r'))],
        action: Action::Reload,
        hint: Some("reload"),
        help: "Reload the certificate list",
    },
    Binding {
        keys: &[Key::plain(KeyCode::Char('?'))],
        action: Action::ToggleHelp,
        hint: Some("help"),
        help: "Show or hide this help",
    },
    Binding {
        keys: &[Key::plain(KeyCode::Esc)],
        action: Action::Back,
        hint: None,
        help: "Close this help, or quit",
    },
    Binding {
        keys: &[
            Key::plain(KeyCode::Char('q')),
            Key::ctrl(KeyCode::Char('c')),
        ],
        action: Action::Quit,
        hint: Some("quit"),
        help: "Quit certpilot",
    },
];

/// The first key bound to `action`, as shown in hints (`q` for [`Action::Quit`]).
#[must_use]
pub fn first_key_label(action: Action) -> String {
    KEYMAP
        .iter()
        .find(|binding| binding.action == action)
        .and_then(|binding| binding.keys.first())
        .map_or_else(String::new, Key::label)
}

/// The action bound to a key press, if any. Key releases and repeats of non-movement keys are
/// ignored so that terminals reporting release events do not trigger actions twice.
#[must_use]
pub fn action_for(event: &KeyEvent) -> Option<Action> {
    if event.kind == KeyEventKind::Release {
        return None;
    }
    KEYMAP
        .iter()
        .find(|binding| binding.keys.iter().any(|key| key.matches(event)))
        .map(|binding| binding.action)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, modifiers)
    }

    #[test]
    fn keys_map_to_actions() {
        let cases = [
            (
                KeyCode::Char('j'),
                KeyModifiers::NONE,
                Some(Action::MoveDown),
            ),
            (KeyCode::Down, KeyModifiers::NONE, Some(Action::MoveDown)),
            (KeyCode::Char('k'), KeyModifiers::NONE, Some(Action::MoveUp)),
            (KeyCode::Up, KeyModifiers::NONE, Some(Action::MoveUp)),
            (
                KeyCode::Char('G'),
                KeyModifiers::SHIFT,
                Some(Action::MoveLast),
            ),
            (
                KeyCode::Char('?'),
                KeyModifiers::SHIFT,
                Some(Action::ToggleHelp),
            ),
            (KeyCode::Char('r'), KeyModifiers::NONE, Some(Action::Reload)),
            (KeyCode::Char('q'), KeyModifiers::NONE, Some(Action::Quit)),
            (
                KeyCode::Char('c'),
                KeyModifiers::CONTROL,
                Some(Action::Quit),
            ),
            (KeyCode::Char('c'), KeyModifiers::NONE, None),
            (KeyCode::Char('r'), KeyModifiers::CONTROL, None),
            (KeyCode::Esc, KeyModifiers::NONE, Some(Action::Back)),
            (KeyCode::Char('x'), KeyModifiers::NONE, None),
        ];
        for (code, modifiers, expected) in cases {
            assert_eq!(
                action_for(&press(code, modifiers)),
                expected,
                "{code:?} {modifiers:?}"
            );
        }
    }

    #[test]
    fn releases_are_ignored() {
        let mut event = press(KeyCode::Char('q'), KeyModifiers::NONE);
        event.kind = KeyEventKind::Release;
        assert_eq!(action_for(&event), None);
    }

    #[test]
    fn every_action_has_a_binding_and_no_key_is_bound_twice() {
        let mut seen = Vec::new();
        for binding in KEYMAP {
            assert!(!binding.keys.is_empty());
            for key in binding.keys {
                assert!(!seen.contains(key), "{key:?} bound twice");
                seen.push(*key);
            }
        }
        assert_eq!(KEYMAP[0].keys_label(), "j/↓");
        assert_eq!(Key::ctrl(KeyCode::Char('c')).label(), "Ctrl-c");
        assert_eq!(first_key_label(Action::Quit), "q");
    }
}
