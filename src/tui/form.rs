//! Text inputs and small forms for the wizards and the editor. Pure: keys in, state out.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

/// One line of editable text with a cursor (counted in characters).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TextInput {
    value: String,
    cursor: usize,
}

impl TextInput {
    /// An input holding `value`, the cursor at its end.
    #[must_use]
    pub fn new(value: &str) -> Self {
        Self {
            value: value.to_owned(),
            cursor: value.chars().count(),
        }
    }

    /// The text.
    #[must_use]
    pub fn value(&self) -> &str {
        &self.value
    }

    /// The cursor position, in characters.
    #[must_use]
    pub fn cursor(&self) -> usize {
        self.cursor
    }

    fn byte_at(&self, chars: usize) -> usize {
        self.value
            .char_indices()
            .nth(chars)
            .map_or(self.value.len(), |(i, _)| i)
    }

    /// Apply an editing key; `true` when the key was used.
    pub fn handle(&mut self, key: &KeyEvent) -> bool {
        if key.kind == KeyEventKind::Release {
            return false;
        }
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let alt = key.modifiers.contains(KeyModifiers::ALT);
        let len = self.value.chars().count();
        match key.code {
            KeyCode::Char(c) if !ctrl && !alt => {
                let at = self.byte_at(self.cursor);
                self.value.insert(at, c);
                self.cursor += 1;
            }
            // Ctrl-U: clear to the start, as in a shell.
            KeyCode::Char('u') if ctrl => {
                let at = self.byte_at(self.cursor);
                self.value.drain(..at);
                self.cursor = 0;
            }
            KeyCode::Backspace if self.cursor > 0 => {
                let at = self.byte_at(self.cursor - 1);
                self.value.remove(at);
                self.cursor -= 1;
            }
            KeyCode::Delete if self.cursor < len => {
                let at = self.byte_at(self.cursor);
                self.value.remove(at);
            }
            KeyCode::Left => self.cursor = self.cursor.saturating_sub(1),
            KeyCode::Right => self.cursor = (self.cursor + 1).min(len),
            KeyCode::Home => self.cursor = 0,
            KeyCode::End => self.cursor = len,
            KeyCode::Backspace | KeyCode::Delete => {}
            _ => return false,
        }
        true
    }
}

/// What a field holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// Free text.
    Text(TextInput),
    /// One of several options (←/→ or Space to change).
    Choice {
        /// The options as shown.
        options: Vec<String>,
        /// The chosen one.
        selected: usize,
    },
    /// A checkbox (Space to toggle).
    Check(bool),
}

/// One labelled field, with an inline error or note under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// Identifies the field to its screen.
    pub id: String,
    /// Shown left of the value.
    pub label: String,
    /// The value.
    pub input: Input,
    /// Shown under the field in the error style.
    pub error: Option<String>,
    /// Shown under the field in the muted style (a preview, a hint).
    pub note: Option<String>,
    /// Shown as bullets (secrets).
    pub masked: bool,
}

impl Field {
    /// A text field.
    #[must_use]
    pub fn text(id: &str, label: &str, value: &str) -> Self {
        Self::new(id, label, Input::Text(TextInput::new(value)))
    }

    /// A choice field.
    #[must_use]
    pub fn choice(id: &str, label: &str, options: Vec<String>, selected: usize) -> Self {
        Self::new(id, label, Input::Choice { options, selected })
    }

    /// A checkbox.
    #[must_use]
    pub fn check(id: &str, label: &str, checked: bool) -> Self {
        Self::new(id, label, Input::Check(checked))
    }

    fn new(id: &str, label: &str, input: Input) -> Self {
        Self {
            id: id.to_owned(),
            label: label.to_owned(),
            input,
            error: None,
            note: None,
            masked: false,
        }
    }

    /// The same field with its value masked.
    #[must_use]
    pub fn masked(mut self) -> Self {
        self.masked = true;
        self
    }
}

/// Fields with one in focus.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Form {
    /// The fields, top to bottom.
    pub fields: Vec<Field>,
    /// Index of the focused field.
    pub focus: usize,
}

impl Form {
    /// A form focused on its first field.
    #[must_use]
    pub fn new(fields: Vec<Field>) -> Self {
        Self { fields, focus: 0 }
    }

    /// Focus the next field (wrapping).
    pub fn focus_next(&mut self) {
        if !self.fields.is_empty() {
            self.focus = (self.focus + 1) % self.fields.len();
        }
    }

    /// Focus the previous field (wrapping).
    pub fn focus_prev(&mut self) {
        if !self.fields.is_empty() {
            self.focus = (self.focus + self.fields.len() - 1) % self.fields.len();
        }
    }

    /// Focus the field `id`, if present.
    pub fn focus_on(&mut self, id: &str) {
        if let Some(i) = self.fields.iter().position(|f| f.id == id) {
            self.focus = i;
        }
    }

    /// The focused field's id.
    #[must_use]
    pub fn focused_id(&self) -> &str {
        self.fields.get(self.focus).map_or("", |f| f.id.as_str())
    }

    /// Whether the focused field takes typed characters.
    #[must_use]
    pub fn typing(&self) -> bool {
        matches!(
            self.fields.get(self.focus).map(|f| &f.input),
            Some(Input::Text(_))
        )
    }

    /// Give a key to the focused field; `true` when it was used.
    pub fn handle_key(&mut self, key: &KeyEvent) -> bool {
        if key.code == KeyCode::BackTab {
            self.focus_prev();
            return true;
        }
        let Some(field) = self.fields.get_mut(self.focus) else {
            return false;
        };
        match &mut field.input {
            Input::Text(input) => input.handle(key),
            Input::Choice { options, selected } => {
                let n = options.len().max(1);
                match key.code {
                    KeyCode::Right | KeyCode::Char(' ') => *selected = (*selected + 1) % n,
                    KeyCode::Left => *selected = (*selected + n - 1) % n,
                    _ => return false,
                }
                true
            }
            Input::Check(checked) => {
                if key.code == KeyCode::Char(' ') {
                    *checked = !*checked;
                    return true;
                }
                false
            }
        }
    }

    /// The field `id`.
    #[must_use]
    pub fn field(&self, id: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.id == id)
    }

    /// The field `id`, to change.
    pub fn field_mut(&mut self, id: &str) -> Option<&mut Field> {
        self.fields.iter_mut().find(|f| f.id == id)
    }

    /// The text of field `id` (empty for other kinds or a missing field).
    #[must_use]
    pub fn text(&self, id: &str) -> &str {
        match self.field(id).map(|f| &f.input) {
            Some(Input::Text(input)) => input.value(),
            _ => "",
        }
    }

    /// Replace the text of field `id` (a text field), the cursor at its end.
    pub fn set_text(&mut self, id: &str, value: &str) {
        if let Some(Input::Text(input)) = self.field_mut(id).map(|f| &mut f.input) {
            *input = TextInput::new(value);
        }
    }

    /// Choose option `index` of field `id` (a choice field), when it exists.
    pub fn set_choice(&mut self, id: &str, index: usize) {
        if let Some(Input::Choice { options, selected }) = self.field_mut(id).map(|f| &mut f.input)
        {
            if index < options.len() {
                *selected = index;
            }
        }
    }

    /// The chosen option of field `id`.
    #[must_use]
    pub fn choice(&self, id: &str) -> usize {
        match self.field(id).map(|f| &f.input) {
            Some(Input::Choice { selected, .. }) => *selected,
            _ => 0,
        }
    }

    /// Whether checkbox `id` is ticked.
    #[must_use]
    pub fn checked(&self, id: &str) -> bool {
        matches!(self.field(id).map(|f| &f.input), Some(Input::Check(true)))
    }

    /// Set or clear the inline error of field `id`.
    pub fn set_error(&mut self, id: &str, error: Option<String>) {
        if let Some(field) = self.field_mut(id) {
            field.error = error;
        }
    }

    /// The field drawn on line `line` of the form (each field takes one line, plus one for
    /// its error or note), for mouse clicks.
    #[must_use]
    pub fn field_at(&self, line: usize) -> Option<usize> {
        let mut at = 0;
        for (index, field) in self.fields.iter().enumerate() {
            at += 1 + usize::from(field.error.is_some() || field.note.is_some());
            if line < at {
                return Some(index);
            }
        }
        None
    }

    /// Whether any field shows an error.
    #[must_use]
    pub fn has_errors(&self) -> bool {
        self.fields.iter().any(|f| f.error.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn text_input_edits_at_the_cursor() {
        let mut input = TextInput::new("ab");
        for code in [
            KeyCode::Left,
            KeyCode::Char('é'),
            KeyCode::End,
            KeyCode::Char('c'),
            KeyCode::Home,
            KeyCode::Delete,
            KeyCode::Right,
            KeyCode::Backspace,
        ] {
            assert!(input.handle(&key(code)), "{code:?}");
        }
        assert_eq!(input.value(), "bc");
        assert_eq!(input.cursor(), 0);
        let mut input = TextInput::new("abc");
        input.handle(&KeyEvent::new(KeyCode::Left, KeyModifiers::NONE));
        input.handle(&KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL));
        assert_eq!((input.value(), input.cursor()), ("c", 0));
        assert!(!input.handle(&key(KeyCode::Enter)));
        assert!(!input.handle(&KeyEvent::new(KeyCode::Char('x'), KeyModifiers::CONTROL)));
    }

    #[test]
    fn form_focus_choice_and_check() {
        let mut form = Form::new(vec![
            Field::text("name", "Name", ""),
            Field::choice("kind", "Kind", vec!["a".into(), "b".into(), "c".into()], 0),
            Field::check("ok", "Agree", false),
        ]);
        assert!(form.typing());
        assert!(form.handle_key(&key(KeyCode::Char('x'))));
        assert_eq!(form.text("name"), "x");
        form.focus_next();
        assert!(!form.typing());
        form.handle_key(&key(KeyCode::Left));
        assert_eq!(form.choice("kind"), 2);
        form.handle_key(&key(KeyCode::Char(' ')));
        assert_eq!(form.choice("kind"), 0);
        assert!(!form.handle_key(&key(KeyCode::Char('z'))));
        form.focus_next();
        form.handle_key(&key(KeyCode::Char(' ')));
        assert!(form.checked("ok"));
        form.focus_next();
        assert_eq!(form.focused_id(), "name");
        form.handle_key(&key(KeyCode::BackTab));
        assert_eq!(form.focused_id(), "ok");
        form.set_error("name", Some("bad".into()));
        assert!(form.has_errors());
    }
}
