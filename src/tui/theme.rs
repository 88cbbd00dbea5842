//! Themes: semantic style slots read from TOML. Views ask for a slot, never for a colour.
//!
//! A theme file sets every slot as an inline table:
//! `ok = { fg = "green", bg = "#282828", modifiers = ["bold"] }`. Colours are names
//! (`red`, `lightblue`, `darkgray`), `#rrggbb` or a 0-255 palette index.
//!
//! User files live in `themes/<name>.toml` under the config directory. A file named like a
//! built-in theme overrides single slots of it; any other name is a new theme whose missing
//! slots come from `default`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;

/// The themes compiled into the binary: (name, TOML source).
pub const BUILTIN: &[(&str, &str)] = &[
    ("default", include_str!("../../themes/default.toml")),
    ("light", include_str!("../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.toml"),
    ),
    ("gruvbox", include_str!("../../themes/gruvbox.toml")),
];

/// The names of every slot, in the order theme files list them.
pub const SLOTS: &[&str] = &[
    "ok",
    "warn",
    "error",
    "pending",
    "muted",
    "selection",
    "record",
    "title",
    "border",
    "text",
];

/// Resolved styles, one per semantic slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    /// Healthy: valid certificates, plenty of days left.
    pub ok: Style,
    /// Needs attention soon.
    pub warn: Style,
    /// Broken, expired or about to be.
    pub error: Style,
    /// Waiting for something (loading, not issued yet).
    pub pending: Style,
    /// Secondary text: hints, headers, empty bar cells.
    pub muted: Style,
    /// The selected row.
    pub selection: Style,
    /// DNS names and commands to copy.
    pub record: Style,
    /// Titles and key labels.
    pub title: Style,
    /// Borders of blocks and overlays.
    pub border: Style,
    /// Body text and the screen background.
    pub text: Style,
}

/// Why a theme could not be loaded.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ThemeError {
    /// No built-in theme has this name.
    #[error("unknown theme `{name}`; built-in themes: {available}")]
    Unknown {
        /// The requested name.
        name: String,
        /// Comma-separated list of built-in names.
        available: String,
    },
    /// The file is not valid TOML or a slot is not a table of `fg`/`bg`/`modifiers`.
    #[error("theme `{theme}`: {message}")]
    Syntax {
        /// Theme name.
        theme: String,
        /// The TOML parser's message (with line and column).
        message: String,
    },
    /// A slot name that certpilot does not know (likely a typo).
    #[error("theme `{theme}`: unknown slot `{key}`; slots are: {}", SLOTS.join(", "))]
    UnknownSlot {
        /// Theme name.
        theme: String,
        /// The offending key.
        key: String,
    },
    /// A user theme file could not be read.
    #[error("theme `{theme}`: {path}: {message}")]
    Io {
        /// Theme name.
        theme: String,
        /// The file.
        path: PathBuf,
        /// The OS error.
        message: String,
    },
    /// A slot is not set.
    #[error("theme `{theme}`: missing slot `{key}`")]
    MissingSlot {
        /// Theme name.
        theme: String,
        /// The slot that is missing.
        key: String,
    },
    /// A colour that cannot be parsed.
    #[error(
        "theme `{theme}`: `{key}` = \"{value}\" is not a colour \
         (use a name like \"red\", \"#rrggbb\" or a number 0-255)"
    )]
    Colour {
        /// Theme name.
        theme: String,
        /// Dotted key, e.g. `warn.fg`.
        key: String,
        /// The value found.
        value: String,
    },
    /// A modifier that does not exist.
    #[error(
        "theme `{theme}`: `{key}` has unknown modifier \"{value}\" \
         (use bold, dim, italic, underlined, reversed, crossed_out)"
    )]
    Modifier {
        /// Theme name.
        theme: String,
        /// Dotted key, e.g. `selection.modifiers`.
        key: String,
        /// The value found.
        value: String,
    },
}

/// One slot as written in the file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SlotSpec {
    fg: Option<String>,
    bg: Option<String>,
    #[serde(default)]
    modifiers: Vec<String>,
}

impl Theme {
    /// Load a built-in theme by name, without colours when `no_color` is set.
    ///
    /// # Errors
    /// [`ThemeError::Unknown`] for a name that is not built in, or any parse error of the file.
    pub fn builtin(name: &str, no_color: bool) -> Result<Self, ThemeError> {
        let (_, source) = BUILTIN.iter().find(|(n, _)| *n == name).ok_or_else(|| {
            let available = BUILTIN
                .iter()
                .map(|(n, _)| *n)
                .collect::<Vec<_>>()
                .join(", ");
            ThemeError::Unknown {
                name: name.to_owned(),
                available,
            }
        })?;
        let theme = Self::parse(name, source)?;
        Ok(if no_color {
            theme.without_colours()
        } else {
            theme
        })
    }

    /// Parse a theme file. `name` only labels error messages.
    ///
    /// # Errors
    /// A [`ThemeError`] naming the theme and the key that is wrong.
    pub fn parse(name: &str, source: &str) -> Result<Self, ThemeError> {
        let theme = name.to_owned();
        let mut specs: BTreeMap<String, SlotSpec> =
            toml::from_str(source).map_err(|e| ThemeError::Syntax {
                theme: theme.clone(),
                message: e.to_string(),
            })?;
        if let Some(key) = specs.keys().find(|k| !SLOTS.contains(&k.as_str())) {
            return Err(ThemeError::UnknownSlot {
                theme,
                key: key.clone(),
            });
        }
        let mut slot = |key: &str| -> Result<Style, ThemeError> {
            let spec = specs.remove(key).ok_or_else(|| ThemeError::MissingSlot {
                theme: theme.clone(),
                key: key.to_owned(),
            })?;
            style_of(&theme, key, &spec)
        };
        Ok(Self {
            ok: slot("ok")?,
            warn: slot("warn")?,
            error: slot("error")?,
            pending: slot("pending")?,
            muted: slot("muted")?,
            selection: slot("selection")?,
            record: slot("record")?,
            title: slot("title")?,
            border: slot("border")?,
            text: slot("text")?,
        })
    }

    /// The same theme with every colour removed, for `NO_COLOR`. Modifiers stay, and the
    /// selection is reversed if it would otherwise be invisible.
    #[must_use]
    pub fn without_colours(self) -> Self {
        let strip = |style: Style| Style::default().add_modifier(style.add_modifier);
        let mut selection = strip(self.selection);
        if selection.add_modifier.is_empty() {
            selection = selection.add_modifier(Modifier::REVERSED);
        }
        Self {
            ok: strip(self.ok),
            warn: strip(self.warn),
            error: strip(self.error),
            pending: strip(self.pending),
            muted: strip(self.muted),
            selection,
            record: strip(self.record),
            title: strip(self.title),
            border: strip(self.border),
            text: strip(self.text),
        }
    }
}

impl Theme {
    /// Set the slots `source` names, keeping the others. `name` only labels errors.
    ///
    /// # Errors
    /// As [`Theme::parse`], except that missing slots are fine.
    pub fn overlay(mut self, name: &str, source: &str) -> Result<Self, ThemeError> {
        let specs: BTreeMap<String, SlotSpec> =
            toml::from_str(source).map_err(|e| ThemeError::Syntax {
                theme: name.to_owned(),
                message: e.to_string(),
            })?;
        for (key, spec) in &specs {
            let style = style_of(name, key, spec)?;
            let slot = match key.as_str() {
                "ok" => &mut self.ok,
                "warn" => &mut self.warn,
                "error" => &mut self.error,
                "pending" => &mut self.pending,
                "muted" => &mut self.muted,
                "selection" => &mut self.selection,
                "record" => &mut self.record,
                "title" => &mut self.title,
                "border" => &mut self.border,
                "text" => &mut self.text,
                _ => {
                    return Err(ThemeError::UnknownSlot {
                        theme: name.to_owned(),
                        key: key.clone(),
                    })
                }
            };
            *slot = style;
        }
        Ok(self)
    }

    /// Load theme `name`: the built-in one (or `default` for a user-only name) with the user
    /// file `<config_dir>/themes/<name>.toml` laid over it; colours removed for `no_color`.
    ///
    /// # Errors
    /// Unknown name (neither built in nor a user file), unreadable or invalid files.
    pub fn load(name: &str, config_dir: Option<&Path>, no_color: bool) -> Result<Self, ThemeError> {
        let user = config_dir.map(|dir| user_file(dir, name));
        let user_text = match &user {
            Some(path) => match std::fs::read_to_string(path) {
                Ok(text) => Some(text),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(e) => {
                    return Err(ThemeError::Io {
                        theme: name.to_owned(),
                        path: path.clone(),
                        message: e.to_string(),
                    })
                }
            },
            None => None,
        };
        let builtin = BUILTIN.iter().any(|(n, _)| *n == name);
        let base = match (builtin, &user_text) {
            (true, _) => Self::builtin(name, false)?,
            (false, Some(_)) => Self::builtin("default", false)?,
            (false, None) => return Self::builtin(name, no_color),
        };
        let theme = match &user_text {
            Some(text) => base.overlay(name, text)?,
            None => base,
        };
        Ok(if no_color {
            theme.without_colours()
        } else {
            theme
        })
    }
}

/// `<config_dir>/themes/<name>.toml`.
#[must_use]
pub fn user_file(config_dir: &Path, name: &str) -> PathBuf {
    config_dir.join("themes").join(format!("{name}.toml"))
}

/// Built-in theme names, then user themes found in `<config_dir>/themes/`, sorted.
#[must_use]
pub fn available(config_dir: Option<&Path>) -> Vec<String> {
    let mut names: Vec<String> = BUILTIN.iter().map(|(n, _)| (*n).to_owned()).collect();
    let mut user: Vec<String> = config_dir
        .and_then(|dir| std::fs::read_dir(dir.join("themes")).ok())
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let path = entry.path();
            let stem = path.file_stem()?.to_str()?.to_owned();
            (path.extension()? == "toml").then_some(stem)
        })
        .filter(|name| !names.contains(name))
        .collect();
    user.sort();
    names.extend(user);
    names
}

/// Whether the `NO_COLOR` convention asks for no colours (set and non-empty).
#[must_use]
pub fn no_color_from_env() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty())
}

fn style_of(theme: &str, slot: &str, spec: &SlotSpec) -> Result<Style, ThemeError> {
    let mut style = Style::default();
    if let Some(fg) = &spec.fg {
        style = style.fg(colour(theme, &format!("{slot}.fg"), fg)?);
    }
    if let Some(bg) = &spec.bg {
        style = style.bg(colour(theme, &format!("{slot}.bg"), bg)?);
    }
    for name in &spec.modifiers {
        style = style.add_modifier(modifier(name).ok_or_else(|| ThemeError::Modifier {
            theme: theme.to_owned(),
            key: format!("{slot}.modifiers"),
            value: name.clone(),
        })?);
    }
    Ok(style)
}

fn colour(theme: &str, key: &str, value: &str) -> Result<Color, ThemeError> {
    Color::from_str(value).map_err(|_| ThemeError::Colour {
        theme: theme.to_owned(),
        key: key.to_owned(),
        value: value.to_owned(),
    })
}

fn modifier(name: &str) -> Option<Modifier> {
    Some(match name.to_ascii_lowercase().as_str() {
        "bold" => Modifier::BOLD,
        "dim" => Modifier::DIM,
        "italic" => Modifier::ITALIC,
        "underlined" | "underline" => Modifier::UNDERLINED,
        "reversed" | "reverse" => Modifier::REVERSED,
        "crossed_out" => Modifier::CROSSED_OUT,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r##"
        ok = { fg = "green" }
        warn = { fg = "#ffaa00", modifiers = ["bold"] }
        error = { fg = "9" }
        pending = {}
        muted = { fg = "darkgray" }
        selection = { bg = "blue" }
        record = {}
        title = { modifiers = ["bold"] }
        border = {}
        text = { bg = "black" }
    "##;

    #[test]
    fn every_builtin_parses_and_sets_the_key_slots() {
        for (name, _) in BUILTIN {
            let theme = Theme::builtin(name, false).unwrap_or_else(|e| panic!("{e}"));
            for style in [theme.ok, theme.warn, theme.error, theme.selection] {
                assert_ne!(style, Style::default(), "{name}: a key slot is unstyled");
            }
        }
    }

    #[test]
    fn parses_colours_and_modifiers() {
        let theme = Theme::parse("t", MINIMAL).unwrap();
        assert_eq!(theme.ok.fg, Some(Color::Green));
        assert_eq!(theme.warn.fg, Some(Color::Rgb(0xff, 0xaa, 0x00)));
        assert!(theme.warn.add_modifier.contains(Modifier::BOLD));
        assert_eq!(theme.error.fg, Some(Color::Indexed(9)));
        assert_eq!(theme.selection.bg, Some(Color::Blue));
    }

    #[test]
    fn no_color_strips_colours_but_keeps_modifiers() {
        for (name, _) in BUILTIN {
            let theme = Theme::builtin(name, true).unwrap();
            for style in [
                theme.ok,
                theme.warn,
                theme.error,
                theme.pending,
                theme.muted,
                theme.selection,
                theme.record,
                theme.title,
                theme.border,
                theme.text,
            ] {
                assert_eq!((style.fg, style.bg), (None, None), "{name}");
            }
            assert!(
                !theme.selection.add_modifier.is_empty(),
                "{name}: selection invisible"
            );
        }
        let theme = Theme::parse("t", MINIMAL).unwrap().without_colours();
        assert!(theme.warn.add_modifier.contains(Modifier::BOLD));
        assert!(theme.selection.add_modifier.contains(Modifier::REVERSED));
    }

    #[test]
    fn errors_name_the_key() {
        let cases = [
            (
                MINIMAL.replace("\"#ffaa00\"", "\"orangeish\""),
                "`warn.fg` = \"orangeish\"",
            ),
            (
                MINIMAL.replace("bg = \"black\"", "bg = \"nope\""),
                "`text.bg`",
            ),
            (
                MINIMAL.replace(
                    "[\"bold\"] }\n        error",
                    "[\"blink2\"] }\n        error",
                ),
                "`warn.modifiers`",
            ),
            (MINIMAL.replace("record = {}", ""), "missing slot `record`"),
            (
                MINIMAL.replace("border = {}", "boarder = {}"),
                "unknown slot `boarder`",
            ),
            (
                MINIMAL.replace("muted = { fg", "muted = { colour"),
                "unknown field `colour`",
            ),
            (
                MINIMAL.replace("pending = {}", "pending = \"blue\""),
                "pending",
            ),
            ("ok = {".to_owned(), "theme `t`"),
        ];
        for (source, needle) in cases {
            let err = Theme::parse("t", &source).unwrap_err().to_string();
            assert!(err.contains(needle), "{err:?} should mention {needle:?}");
            assert!(err.starts_with("theme `t`"), "{err}");
        }
    }

    #[test]
    fn user_files_override_single_slots_and_add_themes() {
        let dir = tempfile::tempdir().unwrap();
        let themes = dir.path().join("themes");
        std::fs::create_dir(&themes).unwrap();
        std::fs::write(themes.join("gruvbox.toml"), "ok = { fg = \"blue\" }\n").unwrap();
        std::fs::write(themes.join("mine.toml"), "warn = { fg = \"magenta\" }\n").unwrap();
        std::fs::write(themes.join("broken.toml"), "okay = {}\n").unwrap();
        let gruvbox = Theme::load("gruvbox", Some(dir.path()), false).unwrap();
        let builtin = Theme::builtin("gruvbox", false).unwrap();
        assert_eq!(gruvbox.ok.fg, Some(Color::Blue));
        assert_eq!(gruvbox.warn, builtin.warn);
        let mine = Theme::load("mine", Some(dir.path()), false).unwrap();
        assert_eq!(mine.warn.fg, Some(Color::Magenta));
        assert_eq!(mine.ok, Theme::builtin("default", false).unwrap().ok);
        let err = Theme::load("broken", Some(dir.path()), false).unwrap_err();
        assert!(err.to_string().contains("unknown slot `okay`"), "{err}");
        assert!(Theme::load("nope", Some(dir.path()), false).is_err());
        let no_colour = Theme::load("mine", Some(dir.path()), true).unwrap();
        assert_eq!(no_colour.warn.fg, None);
        assert_eq!(
            available(Some(dir.path())),
            [
                "default",
                "light",
                "high-contrast",
                "gruvbox",
                "broken",
                "mine"
            ]
        );
    }

    #[test]
    fn unknown_theme_lists_builtins() {
        let err = Theme::builtin("solarised", false).unwrap_err().to_string();
        assert_eq!(
            err,
            "unknown theme `solarised`; built-in themes: default, light, high-contrast, gruvbox"
        );
    }
}
