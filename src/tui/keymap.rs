//! The one keymap the key handler, the status-bar hints and the help overlay all read, so
//! they never disagree about which key does what.
//!
//! Defaults can be changed in `keys.toml` in the config directory (`themes/keys.example.toml`
//! lists every action with its default keys):
//!
//! ```toml
//! [keys]
//! quit = ["q", "ctrl-c"]   # one key or a list; a list replaces every default key
//! issue = "f6"
//! check = "f5"
//! ```
//!
//! Keys are a character (`a`, `G`, `?`), or `enter`, `esc`, `tab`, `backtab`, `space`,
//! `backspace`, `delete`, `insert`, `up`, `down`, `left`, `right`, `home`, `end`, `pageup`,
//! `pagedown`, `f1`…`f12`, with optional `ctrl-` / `alt-` prefixes.

use std::collections::BTreeMap;
use std::path::Path;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use serde::Deserialize;

use crate::tui::action::Action;

/// The file name in the config directory.
pub const FILE_NAME: &str = "keys.toml";

/// One key, with the modifiers that must be held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    /// The key itself.
    pub code: KeyCode,
    /// Ctrl and Alt (Shift is part of the character).
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

    /// A character key pressed on its own.
    #[must_use]
    pub const fn char(c: char) -> Self {
        Self::plain(KeyCode::Char(c))
    }

    /// A character key pressed with Ctrl.
    #[must_use]
    pub const fn ctrl(c: char) -> Self {
        Self {
            code: KeyCode::Char(c),
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

    /// How the key is written in hints, in the help and in `keys.toml`.
    #[must_use]
    pub fn label(&self) -> String {
        let name = match self.code {
            KeyCode::Char(' ') => "Space".to_owned(),
            KeyCode::Char(c) => c.to_string(),
            KeyCode::Up => "↑".to_owned(),
            KeyCode::Down => "↓".to_owned(),
            KeyCode::Left => "←".to_owned(),
            KeyCode::Right => "→".to_owned(),
            KeyCode::PageUp => "PgUp".to_owned(),
            KeyCode::PageDown => "PgDn".to_owned(),
            KeyCode::BackTab => "Shift-Tab".to_owned(),
            KeyCode::F(n) => format!("F{n}"),
            other => format!("{other:?}"),
        };
        let mut label = String::new();
        if self.modifiers.contains(KeyModifiers::CONTROL) {
            label.push_str("Ctrl-");
        }
        if self.modifiers.contains(KeyModifiers::ALT) {
            label.push_str("Alt-");
        }
        label + &name
    }

    /// Parse a key as written in `keys.toml`.
    ///
    /// # Errors
    /// A message saying what is wrong with `text`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut modifiers = KeyModifiers::NONE;
        let mut rest = text;
        loop {
            let lower = rest.to_ascii_lowercase();
            if rest.chars().count() > 1 && lower.starts_with("ctrl-") {
                modifiers |= KeyModifiers::CONTROL;
                rest = &rest[5..];
            } else if rest.chars().count() > 1 && lower.starts_with("alt-") {
                modifiers |= KeyModifiers::ALT;
                rest = &rest[4..];
            } else {
                break;
            }
        }
        let code = parse_code(rest).ok_or_else(|| {
            format!("{text:?} is not a key (a character, or a name such as enter, esc, f5)")
        })?;
        Ok(Self { code, modifiers })
    }
}

fn parse_code(text: &str) -> Option<KeyCode> {
    let mut chars = text.chars();
    if let (Some(c), None) = (chars.next(), chars.next()) {
        return Some(KeyCode::Char(c));
    }
    let lower = text.to_ascii_lowercase();
    Some(match lower.as_str() {
        "enter" | "return" => KeyCode::Enter,
        "esc" | "escape" => KeyCode::Esc,
        "tab" => KeyCode::Tab,
        "backtab" | "shift-tab" => KeyCode::BackTab,
        "space" => KeyCode::Char(' '),
        "backspace" => KeyCode::Backspace,
        "delete" | "del" => KeyCode::Delete,
        "insert" => KeyCode::Insert,
        "up" => KeyCode::Up,
        "down" => KeyCode::Down,
        "left" => KeyCode::Left,
        "right" => KeyCode::Right,
        "home" => KeyCode::Home,
        "end" => KeyCode::End,
        "pageup" => KeyCode::PageUp,
        "pagedown" => KeyCode::PageDown,
        f if f.starts_with('f') => {
            let n: u8 = f[1..].parse().ok()?;
            if !(1..=12).contains(&n) {
                return None;
            }
            KeyCode::F(n)
        }
        _ => return None,
    })
}

/// The default keys of every action.
#[must_use]
pub fn default_keys(action: Action) -> Vec<Key> {
    use KeyCode as K;
    match action {
        Action::Quit => vec![Key::char('q'), Key::ctrl('c')],
        Action::Help => vec![Key::char('?'), Key::plain(K::F(1))],
        Action::MoveDown => vec![Key::char('j'), Key::plain(K::Down)],
        Action::MoveUp => vec![Key::char('k'), Key::plain(K::Up)],
        Action::MoveFirst => vec![Key::char('g'), Key::plain(K::Home)],
        Action::MoveLast => vec![Key::char('G'), Key::plain(K::End)],
        Action::PageDown => vec![Key::plain(K::PageDown), Key::ctrl('d')],
        Action::PageUp => vec![Key::plain(K::PageUp), Key::ctrl('u')],
        Action::Open => vec![Key::plain(K::Enter)],
        Action::Back => vec![Key::plain(K::Esc)],
        Action::SwitchPane => vec![Key::plain(K::Tab)],
        Action::Filter => vec![Key::char('/')],
        Action::Add => vec![Key::char('a')],
        Action::AddAccount => vec![Key::char('A')],
        Action::Edit => vec![Key::char('e')],
        Action::Delete => vec![Key::char('d')],
        Action::Issue => vec![Key::char('i')],
        Action::Check => vec![Key::char('c')],
        Action::Copy => vec![Key::char('y')],
        Action::Refresh => vec![Key::char('r')],
        Action::ToggleLog => vec![Key::char('l')],
        Action::NextTheme => vec![Key::char('t')],
        Action::AcmeDnsServer => vec![Key::char('S')],
        Action::Sandbox => vec![Key::char('F')],
        Action::Palette => vec![Key::char(':')],
        Action::Accounts => vec![Key::char('u')],
        Action::Sort => vec![Key::char('s')],
        Action::ReverseSort => vec![Key::char('o')],
        Action::MoveLeft => vec![Key::plain(K::Left)],
        Action::MoveRight => vec![Key::plain(K::Right)],
        Action::Mark => vec![Key::char(' ')],
        Action::RenewMarked => vec![Key::char('R')],
        Action::Jobs => vec![Key::char('J')],
        Action::CancelJob => vec![Key::char('x')],
        Action::Reissue => vec![Key::char('I')],
    }
}

/// Why `keys.toml` was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {message}")]
pub struct KeymapError {
    /// The file.
    pub file: String,
    /// What is wrong.
    pub message: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeysFile {
    #[serde(default)]
    keys: BTreeMap<String, OneOrMany>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

/// Keys per action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keymap {
    bindings: Vec<(Action, Vec<Key>)>,
}

impl Default for Keymap {
    fn default() -> Self {
        Self {
            bindings: Action::ALL
                .iter()
                .copied()
                .map(|a| (a, default_keys(a)))
                .collect(),
        }
    }
}

impl Keymap {
    /// The defaults with `keys.toml` from `config_dir` applied, when it exists.
    ///
    /// # Errors
    /// An unreadable or invalid file, naming it and the key at fault.
    pub fn load(config_dir: &Path) -> Result<Self, KeymapError> {
        let path = config_dir.join(FILE_NAME);
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::parse(&path.display().to_string(), &text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(KeymapError {
                file: path.display().to_string(),
                message: e.to_string(),
            }),
        }
    }

    /// The defaults with the `[keys]` table of `text` applied; `file` labels errors.
    ///
    /// # Errors
    /// Syntax errors, unknown actions, unparsable keys, and one key bound to two actions.
    pub fn parse(file: &str, text: &str) -> Result<Self, KeymapError> {
        let error = |message: String| KeymapError {
            file: file.to_owned(),
            message,
        };
        let parsed: KeysFile = toml::from_str(text).map_err(|e| error(e.message().to_owned()))?;
        let mut map = Self::default();
        for (name, keys) in parsed.keys {
            let action = Action::from_name(&name).ok_or_else(|| {
                let names: Vec<_> = Action::ALL.iter().map(|a| a.name()).collect();
                error(format!(
                    "unknown action `{name}`; actions are: {}",
                    names.join(", ")
                ))
            })?;
            let texts = match keys {
                OneOrMany::One(key) => vec![key],
                OneOrMany::Many(keys) => keys,
            };
            let keys = texts
                .iter()
                .map(|t| Key::parse(t).map_err(|m| error(format!("`{name}`: {m}"))))
                .collect::<Result<Vec<_>, _>>()?;
            if keys.is_empty() {
                return Err(error(format!("`{name}` has no key")));
            }
            if let Some(slot) = map.bindings.iter_mut().find(|(a, _)| *a == action) {
                slot.1 = keys;
            }
        }
        map.check_unique().map_err(error)?;
        Ok(map)
    }

    fn check_unique(&self) -> Result<(), String> {
        let mut seen: Vec<(Key, Action)> = Vec::new();
        for (action, keys) in &self.bindings {
            for key in keys {
                if let Some((_, other)) = seen.iter().find(|(k, _)| k == key) {
                    return Err(format!(
                        "key {} is bound to both `{}` and `{}`",
                        key.label(),
                        other.name(),
                        action.name()
                    ));
                }
                seen.push((*key, *action));
            }
        }
        Ok(())
    }

    /// The action bound to a key press. Releases are ignored, so terminals that report them
    /// do not trigger actions twice.
    #[must_use]
    pub fn action_for(&self, event: &KeyEvent) -> Option<Action> {
        if event.kind == KeyEventKind::Release {
            return None;
        }
        self.bindings
            .iter()
            .find(|(_, keys)| keys.iter().any(|key| key.matches(event)))
            .map(|(action, _)| *action)
    }

    /// The keys of an action.
    #[must_use]
    pub fn keys(&self, action: Action) -> &[Key] {
        self.bindings
            .iter()
            .find(|(a, _)| *a == action)
            .map_or(&[], |(_, keys)| keys.as_slice())
    }

    /// The first key of an action as shown in hints (`q` for [`Action::Quit`]).
    #[must_use]
    pub fn label(&self, action: Action) -> String {
        self.keys(action)
            .first()
            .map_or_else(String::new, Key::label)
    }

    /// Every key of an action, joined for the help (`j/↓`).
    #[must_use]
    pub fn keys_label(&self, action: Action) -> String {
        let labels: Vec<String> = self.keys(action).iter().map(Key::label).collect();
        labels.join("/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, modifiers)
    }

    #[test]
    fn default_keys_map_to_actions() {
        let map = Keymap::default();
        let cases = [
            (
                KeyCode::Char('j'),
                KeyModifiers::NONE,
                Some(Action::MoveDown),
            ),
            (KeyCode::Down, KeyModifiers::NONE, Some(Action::MoveDown)),
            (
                KeyCode::Char('G'),
                KeyModifiers::SHIFT,
                Some(Action::MoveLast),
            ),
            (KeyCode::Char('?'), KeyModifiers::SHIFT, Some(Action::Help)),
            (
                KeyCode::Char('c'),
                KeyModifiers::CONTROL,
                Some(Action::Quit),
            ),
            (KeyCode::Char('c'), KeyModifiers::NONE, Some(Action::Check)),
            (KeyCode::Char('r'), KeyModifiers::CONTROL, None),
            (KeyCode::Esc, KeyModifiers::NONE, Some(Action::Back)),
            (
                KeyCode::Char('x'),
                KeyModifiers::NONE,
                Some(Action::CancelJob),
            ),
            (KeyCode::Char('z'), KeyModifiers::NONE, None),
        ];
        for (code, modifiers, expected) in cases {
            assert_eq!(
                map.action_for(&press(code, modifiers)),
                expected,
                "{code:?}"
            );
        }
        let mut release = press(KeyCode::Char('q'), KeyModifiers::NONE);
        release.kind = KeyEventKind::Release;
        assert_eq!(map.action_for(&release), None);
        assert!(map.check_unique().is_ok());
        assert_eq!(map.keys_label(Action::MoveDown), "j/↓");
        assert_eq!(map.label(Action::Quit), "q");
    }

    #[test]
    fn keys_parse() {
        let cases = [
            ("q", Key::char('q')),
            ("G", Key::char('G')),
            ("ctrl-c", Key::ctrl('c')),
            ("Ctrl-C", Key::ctrl('C')),
            ("f5", Key::plain(KeyCode::F(5))),
            ("enter", Key::plain(KeyCode::Enter)),
            ("space", Key::char(' ')),
            ("-", Key::char('-')),
            (
                "alt-x",
                Key {
                    code: KeyCode::Char('x'),
                    modifiers: KeyModifiers::ALT,
                },
            ),
        ];
        for (text, key) in cases {
            assert_eq!(Key::parse(text), Ok(key), "{text}");
        }
        for bad in ["", "f13", "ctrl-", "hyper-x", "enterr"] {
            assert!(Key::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn file_overrides_single_actions() {
        let map = Keymap::parse(
            "keys.toml",
            "[keys]\nissue = \"f6\"\ncheck = [\"f5\", \"C\"]\n",
        )
        .unwrap();
        assert_eq!(map.label(Action::Issue), "F6");
        assert_eq!(map.keys_label(Action::Check), "F5/C");
        assert_eq!(map.label(Action::Quit), "q");
        let i = press(KeyCode::Char('i'), KeyModifiers::NONE);
        assert_eq!(map.action_for(&i), None);
    }

    #[test]
    fn the_documented_example_is_the_default() {
        let example = include_str!("../../themes/keys.example.toml");
        let parsed = Keymap::parse("keys.example.toml", example).unwrap();
        assert_eq!(parsed, Keymap::default());
        for action in Action::ALL {
            assert!(
                example.contains(&format!("\n{} = ", action.name())),
                "{action:?} undocumented"
            );
        }
    }

    #[test]
    fn file_errors_name_the_problem() {
        let cases = [
            ("[keys]\nlaunch = \"x\"\n", "unknown action `launch`"),
            (
                "[keys]\nissue = \"hyper\"\n",
                "`issue`: \"hyper\" is not a key",
            ),
            (
                "[keys]\nissue = \"q\"\n",
                "bound to both `issue` and `quit`",
            ),
            ("[keys]\nissue = []\n", "`issue` has no key"),
            ("[keyz]\n", "unknown field"),
            ("[keys\n", "keys.toml"),
        ];
        for (text, needle) in cases {
            let err = Keymap::parse("keys.toml", text).unwrap_err().to_string();
            assert!(err.contains(needle), "{err:?} should mention {needle:?}");
            assert!(err.starts_with("keys.toml: "), "{err}");
        }
    }
}
